/* unread_pipe.h - what the tests of listeners writing to a pipe or FIFO
 * nobody reads share: reading it later, the listener's balance, and
 * checking that what came out is whole lines, each event once. */
#ifndef TTLOG_UNREAD_PIPE_H
#define TTLOG_UNREAD_PIPE_H

#include <errno.h>

#include <ttlog/ttlog.h>

#include "testutil.h"

/* Reads what is in fd (O_NONBLOCK) now onto *buf (grown as needed);
 * returns the bytes read, 0 at its end, -1 when it is empty but open. */
static inline ssize_t read_some(int fd, char **buf, size_t *len, size_t *cap)
{
	ssize_t got = 0, n;

	for (;;) {
		if (*cap - *len < 65536) {
			*cap = 2 * *cap + 65536;
			*buf = realloc(*buf, *cap);
			assert_non_null(*buf);
		}
		n = read(fd, *buf + *len, *cap - *len);
		if (n > 0) {
			*len += (size_t)n;
			got += n;
			continue;
		}
		if (n == 0)
			return got;
		assert_true(errno == EAGAIN);
		return got > 0 ? got : -1;
	}
}

/* Every event offered was delivered or counted as dropped, and nothing
 * is held back. */
static inline int stats_balanced(const struct ttlog_listener_stats *st)
{
	return st->queue_bytes == 0 &&
	       st->events_out + st->dropped_queue_full + st->dropped_error ==
		       st->events_in;
}

/* buf holds JSON lines with a "seq" field (or the library's own lines
 * about the full queue): each line whole, the seqs strictly increasing
 * (nothing twice, nothing out of order). Returns the number of lines.
 * Modifies buf. */
static inline uint64_t assert_whole_seq_lines(char *buf, size_t len)
{
	uint64_t lines = 0;
	long last = -1;

	assert_true(len > 0 && buf[len - 1] == '\n');
	for (char *l = buf, *e; l < buf + len; l = e + 1) {
		char *q;
		long seq;
		e = memchr(l, '\n', (size_t)(buf + len - l));
		assert_non_null(e);
		*e = 0;
		assert_true(l[0] == '{' && e[-1] == '}');
		q = strstr(l, "\"seq\":");
		lines++;
		if (q == NULL) {
			/* The library's own line about the queue that
			 * dropped ("listener queue full", "... drained"). */
			assert_non_null(strstr(l, "listener queue"));
			continue;
		}
		seq = strtol(q + 6, NULL, 10);
		assert_true(seq > last);
		last = seq;
	}
	return lines;
}

/*
 * With listener 0 of a running library writing to a pipe or FIFO whose
 * read end rfd (O_NONBLOCK) is not read: logs n events ("n", seq=i),
 * checks that the listener pushed back (RETRY) and that its queue
 * dropped, counted; then reads rfd onto *buf until every event offered
 * is delivered or counted as dropped and the pipe stays quiet. *st is
 * the listener's final figures. The library keeps running.
 */
static inline void unread_pipe_log_then_read(int rfd, int n,
					     struct ttlog_listener_stats *st,
					     char **buf, size_t *len,
					     size_t *cap)
{
	int quiet = 0;

	for (int i = 0; i < n; i++) {
		TTLOG_INFO("n", TTLOG_KV("seq", i));
		if (i % 1000 == 999)
			ttlog_flush();
	}
	ttlog_flush();
	assert_int_equal(ttlog_listener_stats(0, st), 0);
	assert_true(st->events_in >= (uint64_t)n);
	assert_true(st->dropped_queue_full > 0);
	assert_true(st->retries > 0);
	while (quiet < 3) {
		ssize_t got = read_some(rfd, buf, len, cap);
		ttlog_flush();
		assert_int_equal(ttlog_listener_stats(0, st), 0);
		quiet = got < 0 && stats_balanced(st) ? quiet + 1 : 0;
	}
}

#endif /* TTLOG_UNREAD_PIPE_H */
