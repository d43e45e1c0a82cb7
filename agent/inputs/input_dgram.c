/*
 * input_dgram.c - syslog over UDP (RFC 5426) and over a unix datagram
 * socket (unixgram://, what syslog(3) and logger(1) write to /dev/log):
 * one message per datagram, read from a plain non-blocking socket. Datagram inputs never pause: a
 * sender cannot be slowed down, so holding back would only move the loss
 * into the kernel's buffer. What the kernel drops there (the buffer
 * full) is read from the socket's drop counter and counted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sock_diag.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>

#include <ttlog/ttlog.h>

#include "errf.h"
#include "input_internal.h"
#include "parse_internal.h"

/* Datagrams read per callback, so that a flood on one socket leaves the
 * loop time for the rest (the writer drains rings on the same loop). */
#define DGRAM_BUDGET 256

/* The receive buffer asked for when the input sets none. The kernel's
 * default (net.core.rmem_default, 208 KiB) holds a few hundred small
 * datagrams (each is charged its whole buffer, not its payload: about 830
 * bytes for a 100-byte message on loopback), so a pause of the writer
 * thread of a few milliseconds under a steady 100k datagrams/s loses
 * some. 4 MiB holds about 10,000, some 100 ms of that, and costs memory
 * only while datagrams wait. */
#define DGRAM_RECEIVE_BUFFER ((uint64_t)4 << 20)

/* Asks for the input's receive buffer. Past net.core.rmem_max the kernel
 * caps SO_RCVBUF silently; SO_RCVBUFFORCE goes past it for a process with
 * CAP_NET_ADMIN (root, before the agent drops to service.user). What the
 * kernel gives is logged when it is less than asked, once per ask. */
static void dgram_set_rcvbuf(struct ttlog__input *in)
{
	uint64_t want =
		in->receive_buffer ? in->receive_buffer : DGRAM_RECEIVE_BUFFER;
	int v = (int)want, got = 0;
	socklen_t len = sizeof(got);

	/* Linux doubles the value for its bookkeeping and reports that:
	 * half of what getsockopt() says is what was granted. */
	(void)setsockopt(in->ufd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (getsockopt(in->ufd, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0 &&
	    (uint64_t)got / 2 < want &&
	    setsockopt(in->ufd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) ==
		    0) {
		len = sizeof(got);
		(void)getsockopt(in->ufd, SOL_SOCKET, SO_RCVBUF, &got, &len);
	}
	if ((uint64_t)got / 2 < want)
		TTLOG_INFO("the kernel gave an input a smaller receive buffer "
			   "than asked: raise the sysctl net.core.rmem_max to "
			   "at least receive_buffer (or run as root)",
			   TTLOG_KV("input", (const char *)in->name),
			   TTLOG_KV("receive_buffer", want),
			   TTLOG_KV("given", (int64_t)got / 2),
			   TTLOG_KV("sysctl", "net.core.rmem_max"));
}

/* Counts what the kernel dropped since the last call. The socket's drop
 * counter (the `drops` column of /proc/net/udp) is read with SO_MEMINFO
 * after each read: the kernel drops only while the buffer is full, so a
 * drop is always followed by a read event, and the read that empties the
 * socket sees every drop before it. (SO_RXQ_OVFL would carry the counter
 * on the next datagram queued, so drops at the end of a burst would stay
 * unseen until another datagram came.) */
static void dgram_count_drops(struct ttlog__input *in)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);
	uint64_t now;
	uint32_t d;

	if (in->kdrops_unknown)
		return;
	if (getsockopt(in->ufd, SOL_SOCKET, SO_MEMINFO, mi, &len) != 0 ||
	    len <= SK_MEMINFO_DROPS * sizeof(mi[0])) {
		in->kdrops_unknown = 1;
		TTLOG_WARN("the kernel does not report an input's dropped "
			   "datagrams (SO_MEMINFO): they are not counted",
			   TTLOG_KV("input", (const char *)in->name));
		return;
	}
	/* Unsigned: the kernel's counter is 32 bits and wraps. */
	d = mi[SK_MEMINFO_DROPS] - in->kdrops_seen;
	if (d == 0)
		return;
	in->kdrops_seen = mi[SK_MEMINFO_DROPS];
	in->st.kernel_drops += d;
	in->st.dropped += d;
	in->kdrops_unlogged += d;
	/* At most a line a second: drops within a second of a line are
	 * reported with the next one (if no more come, only /metrics has
	 * them). */
	now = ttlog__input_now_ns();
	if (in->kdrops_log_ns != 0 && now - in->kdrops_log_ns < 1000000000u)
		return;
	TTLOG_WARN("the kernel dropped datagrams of an input: its receive "
		   "buffer was full (raise receive_buffer)",
		   TTLOG_KV("input", (const char *)in->name),
		   TTLOG_KV("datagrams", in->kdrops_unlogged),
		   TTLOG_KV("receive_buffer", in->receive_buffer
						      ? in->receive_buffer
						      : DGRAM_RECEIVE_BUFFER));
	in->kdrops_unlogged = 0;
	in->kdrops_log_ns = now;
}

/* A unix datagram has no sender address: the sender is named by the
 * credentials the kernel attaches (SO_PASSCRED), as a unix stream peer
 * is (input_accept.c). A UDP sender is just "udp". */
static void dgram_peer(const struct msghdr *mh, char *out, size_t n)
{
	const struct cmsghdr *cm;
	struct ucred cred;

	snprintf(out, n, "unix");
	for (cm = CMSG_FIRSTHDR(mh); cm != NULL;
	     cm = CMSG_NXTHDR((struct msghdr *)mh, (struct cmsghdr *)cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(cred))) {
			memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
			snprintf(out, n, "unix uid %u pid %d",
				 (unsigned)cred.uid, (int)cred.pid);
		}
}

/* One datagram into in->dgram: its real size (MSG_TRUNC), or -1. */
static ssize_t dgram_recv(struct ttlog__input *in, char *peer, size_t plen)
{
	/* Room for the credentials only: descriptors a sender passes
	 * (SCM_RIGHTS) find none and are never installed here. */
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov = {in->dgram, in->max_message + 1};
	struct msghdr mh;
	ssize_t n;

	if (!in->unixgram)
		return recv(in->ufd, in->dgram, in->max_message + 1,
			    MSG_DONTWAIT | MSG_TRUNC);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(in->ufd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
	if (n >= 0)
		dgram_peer(&mh, peer, plen);
	return n;
}

static void dgram_read(struct ttlog__input *in, int budget)
{
	char peer[80] = "udp";

	for (int i = 0; i < budget; i++) {
		ssize_t n = dgram_recv(in, peer, sizeof(peer));
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
			ttlog__input_drop_warn(in, peer,
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
		ttlog__input_message(in, peer, in->dgram, len);
	}
}

static void on_dgram(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	dgram_read(arg, DGRAM_BUDGET);
	dgram_count_drops(arg);
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
	/* A unix datagram socket's queue is counted in datagrams
	 * (net.unix.max_dgram_qlen), and its senders wait when it is full
	 * rather than lose one, so SO_RCVBUF has nothing to do there. */
	if (!in->unixgram) {
		dgram_set_rcvbuf(in);
		return 0;
	}
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0)
		TTLOG_INFO("an input cannot name the senders of its datagrams "
			   "(SO_PASSCRED): they are \"unix\"",
			   TTLOG_KV("input", (const char *)in->name));
	return 0;
}

void ttlog__input_dgram_update(struct ttlog__input *in)
{
	if (in->ufd >= 0 && !in->unixgram)
		dgram_set_rcvbuf(in);
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
	/* What the kernel already holds, within a bound: a flood must not
	 * hold the stop up. */
	if (in->ufd >= 0 && in->dgram != NULL) {
		dgram_read(in, 16 * DGRAM_BUDGET);
		dgram_count_drops(in);
	}
	if (in->uev != NULL)
		event_free(in->uev);
	if (in->ufd >= 0)
		close(in->ufd);
	free(in->dgram);
	in->uev = NULL;
	in->ufd = -1;
	in->dgram = NULL;
}
