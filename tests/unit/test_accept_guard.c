/*
 * test_accept_guard.c - accept errors without a busy loop
 * (agent/net/accept_guard.c): a listener whose process is out of
 * descriptors is paused with a growing back-off, the connections waiting
 * in its backlog are shed through the spare descriptor (their peers see
 * the end at once), and accepting resumes, at the shortest back-off
 * again, once descriptors are free.
 *
 * The process's soft RLIMIT_NOFILE is lowered to the descriptors it has
 * open, and the holes below it are filled, so that accept() fails with
 * EMFILE for real.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "testutil.h"

#include "accept_guard.h"

#define CLIENTS 5
#define FILL_MAX 4096

struct fix {
	struct event_base *base;
	struct evconnlistener *lis;
	struct ttlog__accept_guard g;
	uint64_t errors, shed, accepted;
	int port;
	int fill[FILL_MAX];
	int nfill;
	struct rlimit was;
};

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int len, void *arg)
{
	struct fix *f = arg;
	(void)l;
	(void)sa;
	(void)len;
	ttlog__accept_guard_ok(&f->g);
	f->accepted++;
	close(fd);
}

static void on_error(struct evconnlistener *l, void *arg)
{
	struct fix *f = arg;
	(void)l;
	f->errors++;
	f->shed += ttlog__accept_guard_error(&f->g, "test", 0);
}

static int client(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* True when the peer of fd closed it (EOF or reset) within 5 s. */
static int ended(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char b;

	return poll(&p, 1, 5000) == 1 && read(fd, &b, 1) <= 0;
}

/* Lowers the soft limit to the highest descriptor open + 1 and fills
 * the free ones below it: the next descriptor the process asks for
 * fails with EMFILE. */
static void exhaust(struct fix *f)
{
	struct rlimit rl;
	int top = dup(0);

	assert_true(top >= 0);
	close(top);
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0 && fd > top)
			top = fd;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &f->was), 0);
	rl = f->was;
	rl.rlim_cur = (rlim_t)top + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (f->nfill < FILL_MAX) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			assert_int_equal(errno, EMFILE);
			break;
		}
		f->fill[f->nfill++] = fd;
	}
}

static void restore(struct fix *f)
{
	while (f->nfill > 0)
		close(f->fill[--f->nfill]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &f->was), 0);
}

/* Runs the loop a step at a time until cond holds (5 s at most), and
 * stops right after the step that made it hold: a timer that step added
 * has not fired yet. */
#define LOOP_UNTIL(f, cond)                                                    \
	do {                                                                   \
		for (int i_ = 0; i_ < 5000 && !(cond); i_++) {                 \
			event_base_loop((f)->base,                             \
					EVLOOP_ONCE | EVLOOP_NONBLOCK);        \
			if (!(cond))                                           \
				usleep(1000);                                  \
		}                                                              \
		assert_true(cond);                                             \
	} while (0)

static void test_out_of_descriptors_pauses_sheds_and_resumes(void **state)
{
	static struct fix f;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int c[CLIENTS], late;
	unsigned first;
	uint64_t errors;
	/* Under valgrind (tests/CMakeLists.txt sets TTLOG_TEST_SCALE), the
	 * limit is emulated: the kernel still accepts, and valgrind closes
	 * the new descriptor past the limit and reports EMFILE. That
	 * connection's peer sees the end all the same, but the guard never
	 * had it to count. */
	const uint64_t valgrind = getenv("TTLOG_TEST_SCALE") != NULL;
	(void)state;

	memset(&f, 0, sizeof(f));
	f.base = event_base_new();
	assert_non_null(f.base);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f.lis = evconnlistener_new_bind(f.base, on_accept, &f,
					LEV_OPT_CLOSE_ON_FREE |
						LEV_OPT_CLOSE_ON_EXEC |
						LEV_OPT_DISABLED,
					16, (struct sockaddr *)&a, sizeof(a));
	assert_non_null(f.lis);
	evconnlistener_set_error_cb(f.lis, on_error);
	assert_int_equal(ttlog__accept_guard_init(&f.g, f.base, f.lis), 0);
	assert_int_equal(getsockname(evconnlistener_get_fd(f.lis),
				     (struct sockaddr *)&a, &alen),
			 0);
	f.port = ntohs(a.sin_port);
	/* Connections wait in the backlog; then no descriptor is left. */
	for (int i = 0; i < CLIENTS; i++)
		c[i] = client(f.port);
	late = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(late >= 0);
	exhaust(&f);
	evconnlistener_enable(f.lis);
	LOOP_UNTIL(&f, f.errors >= 1);
	/* Paused, not spinning: a timer will enable the listener again. */
	assert_int_equal(f.g.backoff_ms, 10);
	assert_true(evtimer_pending(f.g.timer, NULL));
	/* Every waiting connection is accepted with the spare descriptor
	 * and closed (one that completed its handshake late, at a later
	 * try): none was served, each peer sees the end. */
	LOOP_UNTIL(&f, f.shed >= CLIENTS - valgrind);
	assert_int_equal(f.shed, CLIENTS - valgrind);
	assert_int_equal(f.accepted, 0);
	for (int i = 0; i < CLIENTS; i++) {
		assert_true(ended(c[i]));
		close(c[i]);
	}
	/* Still out of descriptors at the next try: a longer back-off. The
	 * closed clients gave descriptors back; take them again. */
	restore(&f);
	a.sin_port = htons((uint16_t)f.port);
	assert_int_equal(connect(late, (struct sockaddr *)&a, sizeof(a)), 0);
	exhaust(&f);
	errors = f.errors;
	first = f.g.backoff_ms;
	LOOP_UNTIL(&f, f.errors > errors);
	assert_int_equal(f.g.backoff_ms, 2 * first);
	assert_int_equal(f.shed, valgrind ? CLIENTS - 1 : CLIENTS + 1);
	assert_true(ended(late));
	close(late);
	/* Descriptors free again: the next connection is accepted, and the
	 * back-off starts over. */
	restore(&f);
	late = client(f.port);
	LOOP_UNTIL(&f, f.accepted == 1);
	assert_int_equal(f.g.backoff_ms, 0);
	close(late);
	ttlog__accept_guard_destroy(&f.g);
	evconnlistener_free(f.lis);
	event_base_free(f.base);
	ttlog__fd_reserve_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_out_of_descriptors_pauses_sheds_and_resumes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
