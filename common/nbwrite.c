/*
 * nbwrite.c - non-blocking writes to shared descriptors (see nbwrite.h for
 * why each kind of target is written the way it is).
 */
#define _GNU_SOURCE
#include "nbwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void ttlog__nbw_open(struct ttlog__nbw *w, int fd)
{
	struct stat st;
	char path[64];
	int own;

	w->fd = fd;
	w->own = 0;
	w->kind = TTLOG__NBW_PLAIN;
	if (fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return;
	if (S_ISSOCK(st.st_mode)) {
		w->kind = TTLOG__NBW_SEND;
		return;
	}
	/* A pipe, FIFO or character device: opening its /proc entry gives a
	 * new open file description of the same pipe or terminal, whose
	 * flags are ours alone. O_NOCTTY: a daemon without a terminal must
	 * not acquire one this way. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	do
		own = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	while (own < 0 && errno == EINTR);
	if (own >= 0) {
		w->fd = own;
		w->own = 1;
		w->kind = TTLOG__NBW_OWN;
		return;
	}
	w->kind = TTLOG__NBW_POLL;
}

void ttlog__nbw_close(struct ttlog__nbw *w)
{
	if (w->own && w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->own = 0;
}

ssize_t ttlog__nbw_write(const struct ttlog__nbw *w, const void *p, size_t n)
{
	struct pollfd pfd = {.fd = w->fd, .events = POLLOUT};
	ssize_t r;

	for (;;) {
		switch (w->kind) {
		case TTLOG__NBW_SEND:
			r = send(w->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			/* Not a socket send() can use (a socketpair is;
			 * some families are not): write as it is. */
			if (r < 0 && errno == ENOTSOCK)
				r = write(w->fd, p, n);
			break;
		case TTLOG__NBW_POLL:
			r = poll(&pfd, 1, 0);
			if (r == 0) {
				errno = EAGAIN;
				return -1;
			}
			if (r > 0)
				r = write(w->fd, p,
					  n < PIPE_BUF ? n : PIPE_BUF);
			break;
		default:
			r = write(w->fd, p, n);
		}
		if (r >= 0 || errno != EINTR)
			break;
	}
	if (r == 0 && n > 0) {
		errno = EAGAIN;
		return -1;
	}
	if (r < 0 && errno == EWOULDBLOCK)
		errno = EAGAIN;
	return r;
}

ssize_t ttlog__nbw_write_once(int fd, const void *p, size_t n)
{
	struct ttlog__nbw w;
	size_t done = 0;
	ssize_t r = 0;

	ttlog__nbw_open(&w, fd);
	while (done < n) {
		r = ttlog__nbw_write(&w, (const char *)p + done, n - done);
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	ttlog__nbw_close(&w);
	return done > 0 || r >= 0 ? (ssize_t)done : -1;
}

const char *ttlog__nbw_kind_name(int kind)
{
	switch (kind) {
	case TTLOG__NBW_OWN:
		return "a non-blocking description of its own";
	case TTLOG__NBW_SEND:
		return "send() with MSG_DONTWAIT";
	case TTLOG__NBW_POLL:
		return "poll() before each write of at most PIPE_BUF bytes";
	default:
		return "plain write()";
	}
}
