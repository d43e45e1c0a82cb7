/*
 * accept_guard.c - accept errors handled without a busy loop: the
 * listener paused with back-off, the backlog shed through a spare
 * descriptor, one line per episode (accept_guard.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include <ttlog/ttlog.h>

#include "accept_guard.h"

#define BACKOFF_MIN_MS 10u
#define BACKOFF_MAX_MS 1000u
/* One line per episode, and no more than one per this many seconds for
 * one socket: a flood that frees and takes descriptors in turn starts an
 * episode at every successful accept. */
#define LOG_EVERY_NS (10u * 1000000000ull)
/* Connections shed per error: enough to empty a typical backlog over a
 * few back-offs, few enough to keep the loop responsive. */
#define SHED_MAX 256

static int reserve_fd = -1;

int ttlog__fd_reserve_open(void)
{
	if (reserve_fd >= 0)
		return 0;
	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return reserve_fd >= 0 ? 0 : -errno;
}

void ttlog__fd_reserve_close(void)
{
	if (reserve_fd >= 0)
		close(reserve_fd);
	reserve_fd = -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void resume(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__accept_guard *g = arg;
	(void)fd;
	(void)what;

	/* Still out of descriptors: the next accept fails at once and the
	 * error callback pauses again, for twice as long. */
	evconnlistener_enable(g->lis);
}

int ttlog__accept_guard_init(struct ttlog__accept_guard *g,
			     struct event_base *base,
			     struct evconnlistener *lis)
{
	memset(g, 0, sizeof(*g));
	g->lis = lis;
	g->timer = evtimer_new(base, resume, g);
	(void)ttlog__fd_reserve_open();
	return g->timer != NULL ? 0 : -1;
}

void ttlog__accept_guard_destroy(struct ttlog__accept_guard *g)
{
	if (g->timer != NULL)
		event_free(g->timer);
	g->timer = NULL;
}

/* With the spare descriptor closed, the process has one to accept with:
 * each pending connection is accepted and closed at once, so that its
 * peer sees the end now instead of waiting in the backlog. */
static uint64_t shed(struct evconnlistener *lis)
{
	evutil_socket_t lfd = evconnlistener_get_fd(lis);
	uint64_t n = 0;

	if (reserve_fd < 0 || lfd < 0)
		return 0;
	close(reserve_fd);
	reserve_fd = -1;
	while (n < SHED_MAX) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			break; /* the backlog is empty (or another thread
				* took the descriptor) */
		close(fd);
		n++;
	}
	/* Fails if another thread took the descriptor meanwhile; then the
	 * next error or success tries again. */
	(void)ttlog__fd_reserve_open();
	return n;
}

static int out_of_descriptors(int e)
{
	return e == EMFILE || e == ENFILE;
}

uint64_t ttlog__accept_guard_error(struct ttlog__accept_guard *g,
				   const char *what, uint64_t open_conns)
{
	int e = errno;
	uint64_t now = now_ns(), n = 0;
	struct timeval tv;
	struct rlimit rl = {0, 0};

	evconnlistener_disable(g->lis);
	if (out_of_descriptors(e))
		n = shed(g->lis);
	else
		(void)ttlog__fd_reserve_open();
	if (g->backoff_ms == 0) {
		/* A new episode: one line, unless one went out lately. */
		uint64_t suppressed;
		if (ttlog__ratelimit_pass(&g->log, now, LOG_EVERY_NS,
					  &suppressed)) {
			(void)getrlimit(RLIMIT_NOFILE, &rl);
			if (out_of_descriptors(e))
				TTLOG_WARN("out of file descriptors: accepting "
					   "paused",
					   TTLOG_KV("socket", what),
					   TTLOG_KV("error", strerror(e)),
					   TTLOG_KV("connections", open_conns),
					   TTLOG_KV("rlimit_nofile",
						    (uint64_t)rl.rlim_cur),
					   TTLOG_KV("suppressed", suppressed));
			else
				TTLOG_WARN("accept failed: accepting paused",
					   TTLOG_KV("socket", what),
					   TTLOG_KV("error", strerror(e)),
					   TTLOG_KV("connections", open_conns),
					   TTLOG_KV("suppressed", suppressed));
		}
		g->backoff_ms = BACKOFF_MIN_MS;
	} else if (g->backoff_ms < BACKOFF_MAX_MS) {
		g->backoff_ms *= 2;
		if (g->backoff_ms > BACKOFF_MAX_MS)
			g->backoff_ms = BACKOFF_MAX_MS;
	}
	tv.tv_sec = (time_t)(g->backoff_ms / 1000);
	tv.tv_usec = (suseconds_t)(g->backoff_ms % 1000) * 1000;
	evtimer_add(g->timer, &tv);
	return n;
}

void ttlog__accept_guard_ok(struct ttlog__accept_guard *g)
{
	g->backoff_ms = 0;
	if (reserve_fd < 0)
		(void)ttlog__fd_reserve_open();
}
