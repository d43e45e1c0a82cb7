/*
 * input_dgram.c - syslog over UDP (RFC 5426): one message per datagram,
 * read from a plain non-blocking socket. Datagram inputs never pause: a
 * sender cannot be slowed down, so holding back would only move the loss
 * into the kernel's buffer, where nobody counts it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include <ttlog/ttlog.h>

#include "errf.h"
#include "input_internal.h"
#include "parse_internal.h"

/* Datagrams read per callback, so that a flood on one socket leaves the
 * loop time for the rest (the writer drains rings on the same loop). */
#define DGRAM_BUDGET 256

static void dgram_read(struct ttlog__input *in, int budget)
{
	for (int i = 0; i < budget; i++) {
		ssize_t n = recv(in->ufd, in->dgram, in->max_message + 1,
				 MSG_DONTWAIT | MSG_TRUNC);
		size_t len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				in->st.errors++;
			return;
		}
		len = (size_t)n; /* MSG_TRUNC: the datagram's real size */
		in->st.bytes += len;
		if (len > in->max_message) {
			in->st.dropped++;
			ttlog__input_drop_warn(in, "udp",
					       "a datagram longer than "
					       "max_message",
					       in->dgram, in->max_message);
			continue;
		}
		/* Senders often end a datagram with a line end or a NUL,
		 * which is not part of the message. */
		while (len > 0 && (in->dgram[len - 1] == '\n' ||
				   in->dgram[len - 1] == '\r' ||
				   in->dgram[len - 1] == '\0'))
			len--;
		if (len == 0)
			continue;
		ttlog__input_message(in, "udp", in->dgram, len);
	}
}

static void on_dgram(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	dgram_read(arg, DGRAM_BUDGET);
	/* Nothing acknowledges a datagram. */
	ttlog__input_hand_on(arg, fd);
}

int ttlog__input_dgram_start(struct ttlog__input *in, int fd, char *err,
			     size_t errlen)
{
	in->ufd = fd;
	in->dgram = malloc(in->max_message + 1);
	in->uev = event_new(in->base, fd, EV_READ | EV_PERSIST, on_dgram, in);
	if (in->dgram == NULL || in->uev == NULL) {
		ttlog__errf(err, errlen, "%s: out of memory", in->listen);
		return TTLOG_ENOMEM;
	}
	return 0;
}

void ttlog__input_dgram_enable(struct ttlog__input *in)
{
	/* Adding a read event only fails on a bad descriptor or out of
	 * memory; the input then reads nothing and says so. */
	if (in->uev != NULL && event_add(in->uev, NULL) != 0) {
		in->st.errors++;
		ttlog__input_warn(in, "-", "cannot watch the socket");
	}
}

void ttlog__input_dgram_stop(struct ttlog__input *in)
{
	if (in->ufd >= 0 && in->dgram != NULL)
		/* What the kernel already holds, within a bound: a flood must not
		 * hold the stop up. */
		dgram_read(in, 16 * DGRAM_BUDGET);
	if (in->uev != NULL)
		event_free(in->uev);
	if (in->ufd >= 0)
		close(in->ufd);
	free(in->dgram);
	in->uev = NULL;
	in->ufd = -1;
	in->dgram = NULL;
}
