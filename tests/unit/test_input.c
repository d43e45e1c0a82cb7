/* test_input.c - the agent's inputs on real loopback sockets: syslog over
 * UDP and TCP (both framings), JSON lines over TCP and a unix socket,
 * malformed messages and broken framing, the connection and size limits,
 * the idle timeout, back-pressure, stop, and the refusals of start. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent_internal.h"
#include "registry_internal.h"
#include "capture.h"
#include "host_internal.h"
#include "lib_internal.h"
#include "testutil.h"

/* The inputs' source id: far from any thread id, so that the agent's own
 * warnings (logged from the writer thread) are told apart. */
#define ID 3000000000u
#define DEADLINE_MS 10000

static struct capture cap;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The capture listener asks for back-pressure (queue.when_full: block),
 * so that the inputs pause while it answers RETRY. */
static void setup_lib(void)
{
	capture_reset(&cap);
	assert_int_equal(capture_start_queue(&cap, 0, TTLOG_LEVEL_INFO,
					     TTLOG_QUEUE_BLOCK),
			 0);
}

/* ---- running things on the writer thread ---- */

struct run {
	struct ttlog__input_opts o;
	struct ttlog__input *in;
	char err[256];
	int rc;
};

static int do_start(struct event_base *base, void *arg)
{
	struct run *r = arg;
	r->rc = ttlog__input_start(base, ttlog__host_writer(), &r->o, ID,
				   &r->in, r->err, sizeof(r->err));
	return 0;
}

static int do_stop(struct event_base *base, void *arg)
{
	(void)base;
	ttlog__input_stop(arg);
	return 0;
}

/* What the test looks at, read on the writer thread: it owns the
 * capture and the input's counters. */
struct snap {
	struct ttlog__input *in;
	struct ttlog__input_stats st;
	size_t n;     /* captured events from inputs */
	size_t warns; /* "input closed a connection" events */
};

static int do_snap(struct event_base *base, void *arg)
{
	struct snap *s = arg;
	(void)base;
	if (s->in != NULL)
		ttlog__input_get_stats(s->in, &s->st);
	s->n = s->warns = 0;
	for (size_t i = 0; i < cap.n; i++) {
		if (cap.ev[i].tid == ID)
			s->n++;
		else if (strcmp(cap.ev[i].msg, "input closed a connection") ==
			 0)
			s->warns++;
	}
	return 0;
}

static struct snap snap(struct ttlog__input *in)
{
	struct snap s;
	memset(&s, 0, sizeof(s));
	s.in = in;
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_snap, &s),
			 0);
	return s;
}

/* Waits, flushing, until cond (over the snapshot `s`) holds; fails the
 * test after DEADLINE_MS. */
#define WAIT_FOR(inp, cond)                                                    \
	do {                                                                   \
		uint64_t until_ = now_ms() + DEADLINE_MS;                      \
		for (;;) {                                                     \
			s = snap(inp);                                         \
			if (cond)                                              \
				break;                                         \
			if (now_ms() > until_)                                 \
				fail_msg("timed out waiting for %s (events "   \
					 "%llu, captured %zu)",                \
					 #cond,                                \
					 (unsigned long long)s.st.events,      \
					 s.n);                                 \
			ttlog_flush();                                         \
			usleep(1000);                                          \
		}                                                              \
	} while (0)

static void opts(struct run *r, const char *name, int type, const char *listen)
{
	memset(r, 0, sizeof(*r));
	r->o.name = (char *)name;
	r->o.type = type;
	r->o.listen = (char *)listen;
	r->o.max_message = 64 * 1024;
	r->o.max_buffer = 32u << 20;
	r->o.max_connections = 1024;
	r->o.idle_timeout_ms = 0;
	r->o.pause_backlog = 32u << 20;
}

/* A port that was free a moment ago: bind 127.0.0.1:0 and read it. */
static int probe_port(int type)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, type, 0);
	int port;

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Starts an input on 127.0.0.1 and a free port, retrying when another
 * process took the port between the probe and the bind. */
static struct ttlog__input *start_on_port(struct run *r, const char *scheme,
					  int *port)
{
	static char listen[64];
	for (int tries = 0; tries < 20; tries++) {
		*port = probe_port(strcmp(scheme, "udp") == 0 ? SOCK_DGRAM
							      : SOCK_STREAM);
		snprintf(listen, sizeof(listen), "%s://127.0.0.1:%d", scheme,
			 *port);
		r->o.listen = listen;
		assert_int_equal(
			ttlog__host_call(ttlog__host_writer(), do_start, r), 0);
		if (r->rc == 0)
			return r->in;
		if (strstr(r->err, "Address already in use") == NULL)
			fail_msg("start %s: %s", listen, r->err);
	}
	fail_msg("no free port found");
	return NULL;
}

static void stop(struct ttlog__input *in)
{
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_stop, in),
			 0);
}

static int tcp_connect(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		assert_true(k > 0);
		p += k;
		n -= (size_t)k;
	}
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* True when the peer closed fd within the deadline (read gives 0 or a
 * reset); data that arrives first is skipped. */
static int closed_by_peer(int fd)
{
	uint64_t until = now_ms() + DEADLINE_MS;
	char buf[256];

	while (now_ms() < until) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t k = recv(fd, buf, sizeof(buf), 0);
		if (k == 0 || (k < 0 && errno == ECONNRESET))
			return 1;
	}
	return 0;
}

/* Where the captured events from inputs are, in order (writer thread).
 * Indices, not pointers: the capture grows while the library runs. */
struct found {
	size_t n;
	size_t idx[512];
};
/* The i-th one, once the library is shut down. */
#define EV(f, i) ((const struct captured *)&cap.ev[(f).idx[i]])

static int do_find(struct event_base *base, void *arg)
{
	struct found *f = arg;
	(void)base;
	f->n = 0;
	for (size_t i = 0; i < cap.n && f->n < 512; i++)
		if (cap.ev[i].tid == ID)
			f->idx[f->n++] = i;
	return 0;
}

/* Read after ttlog_shutdown() (the writer has stopped) or while no input
 * runs, so that the capture does not change under the test. */
static const struct ttlog_field *field(const struct captured *e,
				       const char *key)
{
	for (unsigned i = 0; i < e->nfields; i++)
		if (strcmp(e->keys[i], key) == 0)
			return &e->f[i];
	return NULL;
}

static void assert_str_field(const struct captured *e, const char *key,
			     const char *want)
{
	const struct ttlog_field *f = field(e, key);
	if (f == NULL)
		fail_msg("no field %s in \"%s\"", key, e->msg);
	assert_int_equal(f->type, TTLOG_TYPE_STR);
	assert_string_equal(f->v.str.ptr, want);
}

/* ---- syslog ---- */

static void test_syslog_over_udp_one_message_per_datagram(void **state)
{
	struct run r;
	struct snap s;
	struct ttlog__input *in;
	struct sockaddr_in sa;
	struct found f;
	char big[400];
	int port, fd;
	(void)state;

	setup_lib();
	opts(&r, "udp", TTLOG__INPUT_SYSLOG, NULL);
	r.o.max_message = 300;
	in = start_on_port(&r, "udp", &port);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	send_str(fd, "<165>1 2003-10-11T22:14:15.003Z db1 app 42 ID47 "
		     "[ex@1 k=\"v\"] disk full\n");
	send_str(fd, "<13>Oct 11 22:14:15 web2 nginx[7]: started");
	send_str(fd, "no pri at all"); /* malformed */
	memset(big, 'x', sizeof(big));
	memcpy(big, "<13>", 4);
	send_all(fd, big, sizeof(big)); /* over max_message */
	WAIT_FOR(in, s.st.events == 2 && s.st.malformed == 1 &&
			     s.st.dropped == 1 && s.n == 2);
	assert_int_equal(s.st.bytes, strlen("<165>1 2003-10-11T22:14:15.003Z "
					    "db1 app 42 ID47 [ex@1 k=\"v\"] "
					    "disk full\n") +
					     strlen("<13>Oct 11 22:14:15 web2 "
						    "nginx[7]: started") +
					     13 + sizeof(big));
	assert_int_equal(s.st.connections, 0);
	assert_int_equal(s.st.paused, 0);
	stop(in);
	close(fd);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_find, &f),
			 0);
	assert_int_equal(ttlog_shutdown(), 0);
	assert_int_equal(f.n, 2);
	assert_string_equal(EV(f, 0)->msg, "disk full");
	assert_int_equal(EV(f, 0)->level, TTLOG_LEVEL_INFO); /* severity 5 */
	assert_true(EV(f, 0)->time_ns == 1065910455003000000ull);
	assert_string_equal(EV(f, 0)->origin[0], "db1");
	assert_null(field(EV(f, 0), "host")); /* the origin, not a field */
	assert_str_field(EV(f, 0), "ex@1.k", "v");
	assert_string_equal(EV(f, 1)->msg, "started");
	assert_string_equal(EV(f, 1)->origin[0], "web2");
	assert_string_equal(EV(f, 1)->origin[1], "nginx");
	assert_string_equal(EV(f, 1)->origin[2], r.o.name);
	assert_null(field(EV(f, 1), "app"));
	capture_reset(&cap);
}

static void test_syslog_over_tcp_both_framings_split_and_joined(void **st)
{
	static const char *const want[] = {
		"split across two sends", "counted one", "lf one",
		"counted two with\nLF inside", "last without LF"};
	struct run r;
	struct snap s;
	struct ttlog__input *in;
	struct found f;
	char buf[512];
	int port, fd;
	(void)st;

	setup_lib();
	opts(&r, "tcp", TTLOG__INPUT_SYSLOG, NULL);
	in = start_on_port(&r, "tcp", &port);
	fd = tcp_connect(port);
	/* One LF-framed message in two sends, with a pause between. */
	send_str(fd, "<14>1 - h1 a - - - split across");
	WAIT_FOR(in, s.st.bytes == strlen("<14>1 - h1 a - - - split across"));
	assert_int_equal(s.st.events, 0);
	send_str(fd, " two sends\n");
	WAIT_FOR(in, s.st.events == 1);
	/* Three messages, mixed framings, in one send. */
	{
		const char *m1 = "<14>1 - h1 a - - - counted one";
		const char *m3 =
			"<14>1 - h1 a - - - counted two with\nLF inside";
		snprintf(buf, sizeof(buf),
			 "%zu %s<14>1 - h1 a - - - lf one\n"
			 "%zu %s\n",
			 strlen(m1), m1, strlen(m3), m3);
	}
	send_str(fd, buf);
	WAIT_FOR(in, s.st.events == 4);
	/* The peer closes after a last message without its LF. */
	send_str(fd, "<14>1 - h1 a - - - last without LF");
	close(fd);
	WAIT_FOR(in, s.st.events == 5 && s.st.connections == 0 && s.n == 5);
	assert_int_equal(s.st.accepted, 1);
	assert_int_equal(s.st.malformed, 0);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_find, &f),
			 0);
	stop(in);
	assert_int_equal(ttlog_shutdown(), 0);
	assert_int_equal(f.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(EV(f, i)->msg, want[i]);
		assert_string_equal(EV(f, i)->origin[0], "h1");
	}
	capture_reset(&cap);
}

static void test_malformed_message_is_counted_connection_survives(void **st)
{
	struct run r;
	struct snap s;
	struct ttlog__input *in;
	int port, fd;
	(void)st;

	setup_lib();
	opts(&r, "tcp", TTLOG__INPUT_SYSLOG, NULL);
	in = start_on_port(&r, "tcp", &port);
	fd = tcp_connect(port);
	send_str(fd, "<999>bad pri\n<14>1 - h a - - - good\n");
	WAIT_FOR(in, s.st.events == 1 && s.st.malformed == 1);
	send_str(fd, "<14>1 - h a - - - still here\n");
	WAIT_FOR(in, s.st.events == 2 && s.n == 2);
	assert_int_equal(s.st.connections, 1);
	assert_int_equal(s.st.malformed, 1);
	assert_int_equal(s.warns, 0);
	close(fd);
	stop(in);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&cap);
}

static void test_bad_octet_count_closes_the_connection(void **st)
{
	struct run r;
	struct snap s;
	struct ttlog__input *in;
	int port, fd, fd2;
	(void)st;

	setup_lib();
	opts(&r, "tcp", TTLOG__INPUT_SYSLOG, NULL);
	r.o.max_message = 1000;
	in = start_on_port(&r, "tcp", &port);
	fd = tcp_connect(port);
	fd2 = tcp_connect(port);
	WAIT_FOR(in, s.st.connections == 2);
	send_str(fd, "9999 <14>1 - h a - - - too long a count\n");
	assert_true(closed_by_peer(fd));
	WAIT_FOR(in, s.st.connections == 1 && s.warns == 1);
	assert_int_equal(s.st.malformed, 1);
	assert_int_equal(s.st.events, 0);
	/* Other connections go on. */
	send_str(fd2, "<14>1 - h a - - - other\n");
	WAIT_FOR(in, s.st.events == 1 && s.n == 1);
	/* A second broken sender within the second is not logged again:
	 * it is counted for the next warning. */
	close(fd);
	fd = tcp_connect(port);
	send_str(fd, "0 x\n");
	assert_true(closed_by_peer(fd));
	WAIT_FOR(in, s.st.malformed == 2 && s.st.connections == 1);
	ttlog_flush();
	s = snap(in);
	assert_int_equal(s.warns, 1);
	close(fd);
	close(fd2);
	stop(in);
	assert_int_equal(ttlog_shutdown(), 0);
	for (size_t i = 0; i < cap.n; i++) {
		const struct captured *e = &cap.ev[i];
		const struct ttlog_field *f;
		if (strcmp(e->msg, "input closed a connection") != 0)
			continue;
		assert_int_equal(e->level, TTLOG_LEVEL_WARN);
		assert_str_field(e, "input", "tcp");
		f = field(e, "reason");
		assert_non_null(f);
		if (strstr(f->v.str.ptr, "octet count") == NULL)
			fail_msg("reason: %s", f->v.str.ptr);
		f = field(e, "peer");
		assert_non_null(f);
		assert_non_null(strstr(f->v.str.ptr, "127.0.0.1:"));
		f = field(e, "suppressed");
		assert_non_null(f);
		assert_true(f->v.u64 == 0);
	}
	capture_reset(&cap);
}

/* ---- JSON lines ---- */

static const char json_line[] =
	"{\"msg\":\"typed\",\"level\":\"warn\",\"s\":\"text\",\"i\":-5,"
	"\"u\":18446744073709551615,\"f\":1.5,\"b\":true,\"n\":null,"
	"\"o\":{\"a\":[1, 2]}}\n";

static void check_json_types(const struct captured *e)
{
	const struct ttlog_field *f;

	assert_string_equal(e->msg, "typed");
	assert_int_equal(e->level, TTLOG_LEVEL_WARN);
	assert_str_field(e, "s", "text");
	f = field(e, "i");
	assert_non_null(f);
	assert_int_equal(f->type, TTLOG_TYPE_I64);
	assert_true(f->v.i64 == -5);
	f = field(e, "u");
	assert_non_null(f);
	assert_int_equal(f->type, TTLOG_TYPE_U64);
	assert_true(f->v.u64 == UINT64_MAX);
	f = field(e, "f");
	assert_non_null(f);
	assert_int_equal(f->type, TTLOG_TYPE_F64);
	assert_true(f->v.f64 == 1.5);
	f = field(e, "b");
	assert_non_null(f);
	assert_int_equal(f->type, TTLOG_TYPE_BOOL);
	assert_true(f->v.b);
	assert_str_field(e, "n", "null");
	assert_str_field(e, "o", "{\"a\":[1,2]}");
}

static void test_jsonl_over_tcp_keeps_every_type(void **st)
{
	struct run r;
	struct snap s;
	struct ttlog__input *in;
	struct found f;
	int port, fd;
	(void)st;

	setup_lib();
	opts(&r, "json", TTLOG__INPUT_JSONL, NULL);
	in = start_on_port(&r, "tcp", &port);
	fd = tcp_connect(port);
	/* Split mid-line, then a bad line, a blank one and a CRLF one. */
	send_all(fd, json_line, 20);
	WAIT_FOR(in, s.st.bytes == 20);
	send_str(fd, json_line + 20);
	send_str(fd, "{\"msg\": oops}\n\n{\"msg\":\"crlf\"}\r\n");
	WAIT_FOR(in, s.st.events == 2 && s.st.malformed == 1 && s.n == 2);
	assert_int_equal(s.st.connections, 1);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_find, &f),
			 0);
	close(fd);
	stop(in);
	assert_int_equal(ttlog_shutdown(), 0);
	check_json_types(EV(f, 0));
	assert_string_equal(EV(f, 1)->msg, "crlf");
	assert_int_equal(EV(f, 1)->level, TTLOG_LEVEL_INFO);
	capture_reset(&cap);
}

static void test_jsonl_over_unix_socket_and_file_removed(void **st)
{
	struct run r;
	struct snap s;
	struct found f;
	struct sockaddr_un sun;
	struct stat sb;
	char dir[] = "/tmp/ttlog-input-XXXXXX", path[64], listen[80];
	int fd;
	(void)st;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/in.sock", dir);
	snprintf(listen, sizeof(listen), "unix://%s", path);
	setup_lib();

	/* A stale socket file (nobody listens) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	opts(&r, "unix", TTLOG__INPUT_JSONL, listen);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_start, &r),
			 0);
	if (r.rc != 0)
		fail_msg("%s", r.err);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	send_str(fd, json_line);
	WAIT_FOR(r.in, s.st.events == 1 && s.n == 1);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_find, &f),
			 0);

	/* A second input on the same path is refused while this one
	 * listens, and leaves the file alone. */
	{
		struct run r2;
		opts(&r2, "unix2", TTLOG__INPUT_JSONL, listen);
		assert_int_equal(
			ttlog__host_call(ttlog__host_writer(), do_start, &r2),
			0);
		assert_int_not_equal(r2.rc, 0);
		assert_non_null(strstr(r2.err, "Address already in use"));
		assert_int_equal(stat(path, &sb), 0);
	}
	close(fd);
	stop(r.in);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(errno, ENOENT);

	/* A file that is not a socket is never removed. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	opts(&r, "unix", TTLOG__INPUT_JSONL, listen);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_start, &r),
			 0);
	assert_int_not_equal(r.rc, 0);
	assert_non_null(strstr(r.err, "is not a socket"));
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	unlink(path);
	rmdir(dir);
	assert_int_equal(ttlog_shutdown(), 0);
	check_json_types(EV(f, 0));
	capture_reset(&cap);
}

/* ---- limits ---- */

static void test_max_connections_refuses_the_extra_one(void **st)
{
	struct run r;
	struct snap s;
	struct ttlog__input *in;
	int port, a, b, c, d;
	(void)st;

	setup_lib();
	opts(&r, "tcp", TTLOG__INPUT_SYSLOG, NULL);
	r.o.max_connections = 2;
	in = start_on_port(&r, "tcp", &port);
	a = tcp_connect(port);
	b = tcp_connect(port);
	WAIT_FOR(in, s.st.accepted == 2 && s.st.connections == 2);
	c = tcp_connect(port);
	assert_true(closed_by_peer(c));
	WAIT_FOR(in, s.st.refused == 1);
	assert_int_equal(s.st.connections, 2);
	assert_int_equal(s.st.accepted, 2);
	/* Room again once one goes. */
	close(a);
	WAIT_FOR(in, s.st.connections == 1);
	d = tcp_connect(port);
	send_str(d, "<14>1 - h a - - - fits\n");
	WAIT_FOR(in, s.st.events == 1 && s.st.accepted == 3);
	assert_int_equal(s.st.refused, 1);
	close(b);
	close(c);
	close(d);
	stop(in);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&cap);
}

static void test_idle_timeout_closes_a_silent_connection(void **st)
{
	struct run r;
	struct snap s;
	struct ttlog__input *in;
	uint64_t t0;
	int port, fd;
	(void)st;

	setup_lib();
	opts(&r, "tcp", TTLOG__INPUT_SYSLOG, NULL);
	r.o.idle_timeout_ms = 300;
	in = start_on_port(&r, "tcp", &port);
	fd = tcp_connect(port);
	send_str(fd, "<14>1 - h a - - - hello\n");
	t0 = now_ms();
	WAIT_FOR(in, s.st.events == 1);
	assert_true(closed_by_peer(fd));
	/* Not before the timeout (counted from the last byte at most). */
	assert_true(now_ms() - t0 >= 250);
	WAIT_FOR(in, s.st.connections == 0 && s.warns == 1);
	close(fd);
	stop(in);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&cap);
}

static void test_message_over_max_message_closes_stream(void **st)
{
	struct run r;
	struct snap s;
	struct ttlog__input *in;
	char line[200];
	int port, fd;
	(void)st;

	setup_lib();
	opts(&r, "json", TTLOG__INPUT_JSONL, NULL);
	r.o.max_message = 100;
	in = start_on_port(&r, "tcp", &port);
	fd = tcp_connect(port);
	/* Exactly max_message bytes before the LF: accepted. */
	memset(line, 0, sizeof(line));
	strcpy(line, "{\"msg\":\"");
	memset(line + 8, 'a', 100 - 10);
	strcpy(line + 98, "\"}\n");
	assert_int_equal(strlen(line), 101);
	send_str(fd, line);
	WAIT_FOR(in, s.st.events == 1);
	/* One byte more, no LF yet: the line cannot fit, the stream is
	 * closed without waiting for the rest. */
	strcpy(line, "{\"msg\":\"");
	memset(line + 8, 'b', 150);
	line[158] = 0;
	send_str(fd, line);
	assert_true(closed_by_peer(fd));
	WAIT_FOR(in, s.st.connections == 0 && s.st.malformed == 1);
	assert_int_equal(s.st.events, 1);
	close(fd);

	/* Syslog, octet-counted past max_message: closed as well. */
	stop(in);
	opts(&r, "tcp", TTLOG__INPUT_SYSLOG, NULL);
	r.o.max_message = 100;
	in = start_on_port(&r, "tcp", &port);
	fd = tcp_connect(port);
	send_str(fd, "101 <14>");
	assert_true(closed_by_peer(fd));
	WAIT_FOR(in, s.st.malformed == 1 && s.st.connections == 0);
	close(fd);
	stop(in);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&cap);
}

/* ---- back-pressure and stop ---- */

/* Sends numbered messages on fd until the input pauses; returns how many
 * were sent. */
static int send_until_paused(struct ttlog__input *in, int fd)
{
	uint64_t until = now_ms() + DEADLINE_MS;
	char buf[8192];
	struct snap s;
	int seq = 0;

	for (;;) {
		size_t len = 0;
		for (int k = 0; k < 50; k++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
						"<14>1 - h a - - - seq %d "
						"padding padding padding\n",
						seq++);
		send_all(fd, buf, len);
		/* Let the input read it, so that each chunk is seen. */
		for (;;) {
			s = snap(in);
			if (s.st.paused || s.st.events == (uint64_t)seq)
				break;
			if (now_ms() > until)
				fail_msg("input neither read nor paused");
			ttlog_flush();
		}
		if (s.st.paused)
			return seq;
		if (now_ms() > until)
			fail_msg("input never paused");
	}
}

static int send_more(int fd, int seq, int n)
{
	char line[128];
	for (int k = 0; k < n; k++, seq++) {
		snprintf(line, sizeof(line), "<14>1 - h a - - - seq %d\n", seq);
		send_str(fd, line);
	}
	return seq;
}

/* Every sequence number from 0 to n - 1 exactly once, in order. */
static int do_check_seq(struct event_base *base, void *arg)
{
	int n = *(int *)arg, want = 0;
	(void)base;
	for (size_t i = 0; i < cap.n; i++) {
		int got;
		if (cap.ev[i].tid != ID)
			continue;
		if (sscanf(cap.ev[i].msg, "seq %d", &got) != 1 || got != want)
			return -1 - want;
		want++;
	}
	return want == n ? 0 : -1 - want;
}

static void test_backpressure_pauses_and_loses_nothing(void **st)
{
	struct run r;
	struct snap s;
	struct ttlog__input *in;
	uint64_t events;
	int port, fd, n;
	(void)st;

	setup_lib();
	opts(&r, "tcp", TTLOG__INPUT_SYSLOG, NULL);
	r.o.pause_backlog = 16 * 1024;
	in = start_on_port(&r, "tcp", &port);
	fd = tcp_connect(port);
	cap.answer = TTLOG_LISTENER_RETRY;
	n = send_until_paused(in, fd);
	/* Paused: what is sent now stays in the socket. The backlog cannot
	 * shrink while the listener answers RETRY. */
	n = send_more(fd, n, 100);
	s = snap(in);
	events = s.st.events;
	for (int k = 0; k < 20; k++)
		ttlog_flush();
	s = snap(in);
	assert_int_equal(s.st.paused, 1);
	assert_true(s.st.events == events);
	cap.answer = TTLOG_LISTENER_OK;
	WAIT_FOR(in, s.st.events == (uint64_t)n && s.n == (size_t)n &&
			     s.st.paused == 0);
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), do_check_seq, &n), 0);
	/* Reading goes on after the pause. */
	n = send_more(fd, n, 10);
	WAIT_FOR(in, s.n == (size_t)n);
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), do_check_seq, &n), 0);
	assert_int_equal(s.st.malformed, 0);
	close(fd);
	stop(in);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&cap);
}

/* A listener that drops when its queue is full (the default) never holds
 * the inputs up, however long it answers RETRY: everything is read. */
static void test_listener_that_drops_never_pauses_the_input(void **st)
{
	struct run r;
	struct snap s;
	struct ttlog__input *in;
	struct ttlog_listener_stats ls;
	int port, fd, n = 0;
	(void)st;

	capture_reset(&cap);
	assert_int_equal(capture_start(&cap, 0, TTLOG_LEVEL_INFO), 0);
	opts(&r, "tcp", TTLOG__INPUT_SYSLOG, NULL);
	r.o.pause_backlog = 16 * 1024;
	in = start_on_port(&r, "tcp", &port);
	fd = tcp_connect(port);
	cap.answer = TTLOG_LISTENER_RETRY;
	for (int k = 0; k < 20; k++) {
		n = send_more(fd, n, 100);
		WAIT_FOR(in, s.st.events == (uint64_t)n);
		assert_int_equal(s.st.paused, 0);
	}
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_true(ls.queue_bytes > 16 * 1024);
	cap.answer = TTLOG_LISTENER_OK;
	close(fd);
	stop(in);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&cap);
}

static void test_stop_delivers_what_is_buffered(void **st)
{
	struct run r;
	struct snap s;
	struct ttlog__input *in;
	int port, fd, n;
	(void)st;

	setup_lib();
	opts(&r, "tcp", TTLOG__INPUT_SYSLOG, NULL);
	r.o.pause_backlog = 16 * 1024;
	in = start_on_port(&r, "tcp", &port);
	fd = tcp_connect(port);
	cap.answer = TTLOG_LISTENER_RETRY;
	n = send_until_paused(in, fd);
	n = send_more(fd, n, 200);
	s = snap(in);
	assert_true(s.st.events < (uint64_t)n); /* still in the socket */
	stop(in);
	cap.answer = TTLOG_LISTENER_OK;
	WAIT_FOR(NULL, s.n == (size_t)n);
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), do_check_seq, &n), 0);
	close(fd);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&cap);
}

/* Connections the kernel completed but the loop never accepted: made and
 * stopped inside one writer callback, so the loop cannot accept them in
 * between. The stop must accept and drain them, not reset them. */
struct backlog {
	struct ttlog__input *in;
	int port, conns, lines;
};

static int do_connect_then_stop(struct event_base *base, void *arg)
{
	struct backlog *b = arg;
	char line[64];
	(void)base;

	for (int c = 0; c < b->conns; c++) {
		int fd = tcp_connect(b->port);
		for (int i = 0; i < b->lines; i++) {
			int len = snprintf(line, sizeof(line),
					   "<14>1 - h app - - - c%d line %d\n",
					   c, i);
			send_all(fd, line, (size_t)len);
		}
		close(fd);
	}
	ttlog__input_stop(b->in);
	return 0;
}

static void test_stop_accepts_and_drains_the_backlog(void **st)
{
	struct run r;
	struct snap s;
	struct backlog b = {NULL, 0, 5, 40};
	(void)st;

	setup_lib();
	opts(&r, "tcp", TTLOG__INPUT_SYSLOG, NULL);
	b.in = start_on_port(&r, "tcp", &b.port);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(),
					  do_connect_then_stop, &b),
			 0);
	/* The input is gone (stop frees it): what counts is what arrived. */
	WAIT_FOR(NULL, s.n == (size_t)(b.conns * b.lines));
	ttlog_flush();
	s = snap(NULL);
	assert_int_equal(s.n, (size_t)(b.conns * b.lines));
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&cap);
}

/* ---- stdin ---- */

static void test_stdin_lines_become_events_until_eof(void **st)
{
	struct run r;
	struct snap s;
	struct found f;
	int p[2], saved;
	(void)st;

	assert_int_equal(pipe(p), 0);
	saved = dup(0);
	assert_int_equal(dup2(p[0], 0), 0);
	close(p[0]);
	setup_lib();
	opts(&r, "stdin", TTLOG__INPUT_STDIN, NULL);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_start, &r),
			 0);
	if (r.rc != 0)
		fail_msg("%s", r.err);
	assert_int_equal(write(p[1], "first line\nsec", 14), 14);
	WAIT_FOR(r.in, s.st.events == 1);
	assert_int_equal(write(p[1], "ond\r\n\nthird", 11), 11);
	close(p[1]);
	/* At EOF the unterminated last line counts; the input stops. */
	WAIT_FOR(r.in, s.st.events == 3 && s.st.connections == 0 && s.n == 3);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_find, &f),
			 0);
	stop(r.in);
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	assert_int_equal(ttlog_shutdown(), 0);
	assert_string_equal(EV(f, 0)->msg, "first line");
	assert_string_equal(EV(f, 1)->msg, "second");
	assert_string_equal(EV(f, 2)->msg, "third");
	assert_int_equal(EV(f, 2)->level, TTLOG_LEVEL_INFO);
	capture_reset(&cap);
}

/* ---- refusals ---- */

static void expect_refused(int type, const char *listen, const char *want)
{
	struct run r;
	opts(&r, "bad", type, listen);
	assert_int_equal(ttlog__host_call(ttlog__host_writer(), do_start, &r),
			 0);
	assert_int_not_equal(r.rc, 0);
	assert_null(r.in);
	if (strstr(r.err, want) == NULL)
		fail_msg("%s: got \"%s\", wanted \"%s\"", listen, r.err, want);
}

static void test_start_refuses_with_a_reason(void **st)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char where[64];
	int fd;
	(void)st;

	setup_lib();
	expect_refused(TTLOG__INPUT_JSONL, "udp://127.0.0.1:5514",
		       "jsonl needs a stream");
	expect_refused(TTLOG__INPUT_SYSLOG, "http://127.0.0.1:1",
		       "expected tcp://HOST:PORT");
	expect_refused(TTLOG__INPUT_SYSLOG, "tcp://127.0.0.1", "missing :PORT");
	expect_refused(TTLOG__INPUT_SYSLOG, "tcp://127.0.0.1:99999",
		       "PORT must be a number");
	expect_refused(TTLOG__INPUT_SYSLOG, "tcp://::1:5", "in brackets");
	expect_refused(TTLOG__INPUT_SYSLOG, "unix://relative.sock",
		       "absolute path");
	expect_refused(TTLOG__INPUT_SYSLOG, NULL, "needs `listen`");
	expect_refused(TTLOG__INPUT_SYSLOG, "tcp://no-such-host.invalid:5514",
		       "cannot resolve no-such-host.invalid");

	/* A port in use. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(where, sizeof(where), "tcp://127.0.0.1:%d",
		 ntohs(sa.sin_port));
	{
		char want[96];
		snprintf(want, sizeof(want), "%s: Address already in use",
			 where);
		expect_refused(TTLOG__INPUT_SYSLOG, where, want);
	}
	close(fd);
	assert_int_equal(ttlog_shutdown(), 0);
	capture_reset(&cap);
}

static void test_option_table_declares_every_key(void **st)
{
	static const char *const keys[] = {"name",
					   "type",
					   "listen",
					   "max_message",
					   "max_connections",
					   "idle_timeout",
					   "pause_backlog",
					   "tls.cert",
					   "tls.key",
					   "tls.ca_file",
					   "tls.ca_dir",
					   "tls.client_auth",
					   "tls.min_version",
					   "tls.ciphers",
					   "tls.ciphersuites",
					   "max_frame",
					   "window",
					   "max_buffer",
					   "hello_timeout",
					   "frame_timeout",
					   "receive_buffer",
					   "max_connections_per_peer",
					   "mode",
					   "owner",
					   "group",
					   "start_at",
					   "format",
					   "max_line",
					   "rotate_wait",
					   "watch",
					   "poll_interval",
					   "multiline.start",
					   "multiline.continuation",
					   "multiline.preset",
					   "multiline.timeout",
					   "multiline.max_bytes",
					   "brokers",
					   "client_id",
					   "tls.enabled",
					   "tls.ca",
					   "tls.verify",
					   "sasl.mechanism",
					   "sasl.username",
					   "sasl.password",
					   "properties"};
	const size_t nkeys = sizeof(keys) / sizeof(keys[0]);
	const struct ttlog_option_spec *o = ttlog__input_table.options;
	size_t n = 0;
	(void)st;

	assert_int_equal(ttlog__input_table.size,
			 sizeof(struct ttlog__input_opts));
	for (; o->type != TTLOG_OPTION_END; o++, n++) {
		assert_true(n < nkeys);
		assert_string_equal(o->key, keys[n]);
		assert_true(o->offset < sizeof(struct ttlog__input_opts));
	}
	assert_int_equal(n, nkeys);
	o = ttlog__input_table.options;
	/* The type's names, in order, each with its named value. */
	const struct ttlog_option_value *vals = ttlog_option_values(&o[1]);
	assert_non_null(vals);
	assert_string_equal(vals[0].name, "syslog");
	assert_int_equal(vals[0].value, TTLOG__INPUT_SYSLOG);
	assert_string_equal(vals[1].name, "jsonl");
	assert_int_equal(vals[1].value, TTLOG__INPUT_JSONL);
	assert_string_equal(vals[2].name, "stdin");
	assert_int_equal(vals[2].value, TTLOG__INPUT_STDIN);
	assert_string_equal(vals[3].name, "ttlog");
	assert_int_equal(vals[3].value, TTLOG__INPUT_TTLOG);
	assert_string_equal(vals[4].name, "tail");
	assert_int_equal(vals[4].value, TTLOG__INPUT_TAIL);
	assert_string_equal(vals[5].name, "journal");
	assert_int_equal(vals[5].value, TTLOG__INPUT_JOURNAL);
	assert_string_equal(vals[6].name, "kafka");
	assert_int_equal(vals[6].value, TTLOG__INPUT_KAFKA);
	assert_null(vals[7].name);
	assert_true(o[1].flags & TTLOG_OPTION_REQUIRED);
	assert_string_equal(o[3].default_value, "64KiB");
	assert_string_equal(o[6].default_value, "32MiB");
}

/* One table names the input types: the `type:` option points at it, and
 * messages and metrics labels take their names from it. */
static void test_input_types_come_from_one_table(void **st)
{
	const struct ttlog_option_spec *o = ttlog__input_table.options;
	(void)st;

	assert_ptr_equal(ttlog_option_values(&o[1]), ttlog__input_types);
	for (const struct ttlog_option_value *t = ttlog__input_types;
	     t->name != NULL; t++)
		assert_string_equal(ttlog__input_type_name(t->value), t->name);
	assert_string_equal(ttlog__input_type_name(TTLOG__INPUT_JSONL),
			    "jsonl");
	assert_string_equal(ttlog__input_type_name(99), "?");
}

/* After a failed test: leave a stopped library for the next one. */
static int teardown(void **state)
{
	(void)state;
	ttlog_shutdown();
	capture_reset(&cap);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
			test_syslog_over_udp_one_message_per_datagram,
			teardown),
		cmocka_unit_test_teardown(
			test_syslog_over_tcp_both_framings_split_and_joined,
			teardown),
		cmocka_unit_test_teardown(
			test_malformed_message_is_counted_connection_survives,
			teardown),
		cmocka_unit_test_teardown(
			test_bad_octet_count_closes_the_connection, teardown),
		cmocka_unit_test_teardown(test_jsonl_over_tcp_keeps_every_type,
					  teardown),
		cmocka_unit_test_teardown(
			test_jsonl_over_unix_socket_and_file_removed, teardown),
		cmocka_unit_test_teardown(
			test_max_connections_refuses_the_extra_one, teardown),
		cmocka_unit_test_teardown(
			test_idle_timeout_closes_a_silent_connection, teardown),
		cmocka_unit_test_teardown(
			test_message_over_max_message_closes_stream, teardown),
		cmocka_unit_test_teardown(
			test_backpressure_pauses_and_loses_nothing, teardown),
		cmocka_unit_test_teardown(
			test_stop_accepts_and_drains_the_backlog, teardown),
		cmocka_unit_test_teardown(
			test_listener_that_drops_never_pauses_the_input,
			teardown),
		cmocka_unit_test_teardown(test_stop_delivers_what_is_buffered,
					  teardown),
		cmocka_unit_test_teardown(
			test_stdin_lines_become_events_until_eof, teardown),
		cmocka_unit_test_teardown(test_start_refuses_with_a_reason,
					  teardown),
		cmocka_unit_test_teardown(test_option_table_declares_every_key,
					  teardown),
		cmocka_unit_test_teardown(test_input_types_come_from_one_table,
					  teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
