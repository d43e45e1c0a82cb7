/*
 * nbwrite.h - writing to a descriptor the process shares with others
 * (its standard output or error, a FIFO) without ever blocking the
 * calling thread, and without changing how the others see it.
 *
 * Setting O_NONBLOCK on fd 1 would change the open file description that
 * the shell, the parent and every child share: a program writing the same
 * terminal after us would suddenly get EAGAIN. So each kind of target is
 * written its own way (ttlog__nbw_open() chooses):
 *   - a pipe, FIFO or character device (a terminal): a description of
 *     our own, opened through /proc/self/fd/N with O_NONBLOCK;
 *   - a socket: send() with MSG_DONTWAIT (a per-call flag) and
 *     MSG_NOSIGNAL;
 *   - a regular file (or anything else): write() as it is; a disk write
 *     does not return EAGAIN;
 *   - when /proc cannot be used (not mounted, EACCES after a change of
 *     user, ENXIO for a pipe nobody has open for reading): poll() for
 *     room first and write at most PIPE_BUF bytes a call. A pipe that
 *     reports room takes PIPE_BUF bytes without blocking; a terminal
 *     reporting room may still make a write wait briefly, which the
 *     writer's watchdog would then report.
 *
 * In ttlog_common (static, hidden visibility). Not async-signal-safe
 * (open() of /proc is, but the choice is made once, up front).
 */
#ifndef TTLOG_NBWRITE_H
#define TTLOG_NBWRITE_H

#include <stddef.h>
#include <sys/types.h>

enum ttlog__nbw_kind {
	TTLOG__NBW_PLAIN = 0, /* regular file: write() as it is */
	TTLOG__NBW_OWN = 1,   /* our own O_NONBLOCK description */
	TTLOG__NBW_SEND = 2,  /* socket: send(MSG_DONTWAIT) */
	TTLOG__NBW_POLL = 3   /* poll() first, PIPE_BUF bytes a call */
};

struct ttlog__nbw {
	int fd;	  /* what is written and what to watch for room */
	int kind; /* enum ttlog__nbw_kind */
	int own;  /* fd is ours to close (TTLOG__NBW_OWN) */
};

/*
 * Chooses how to write fd (borrowed: it stays open and unchanged) and
 * fills w. Never fails: the worst case is TTLOG__NBW_POLL.
 */
void ttlog__nbw_open(struct ttlog__nbw *w, int fd);

/* Closes the description ttlog__nbw_open() opened, if any. */
void ttlog__nbw_close(struct ttlog__nbw *w);

/*
 * Writes up to n bytes without blocking (EINTR is retried).
 * @return the bytes written (> 0, possibly fewer than n); or -1 with
 *         errno EAGAIN when nothing fits now, or another errno on error.
 */
ssize_t ttlog__nbw_write(const struct ttlog__nbw *w, const void *p, size_t n);

/*
 * One short text (a report line) to fd without blocking: as much of it
 * as fits now, the rest is dropped. For rare lines only: it opens and
 * closes a description for each call.
 * @return the bytes written, or -1 with errno.
 */
ssize_t ttlog__nbw_write_once(int fd, const void *p, size_t n);

/* Short name of the kind, for messages: "own", "send", ... */
const char *ttlog__nbw_kind_name(int kind);

#endif /* TTLOG_NBWRITE_H */
