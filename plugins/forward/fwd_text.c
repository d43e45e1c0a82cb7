/*
 * fwd_text.c - the forward listener's text formats, syslog (RFC 5424,
 * octet-counted as RFC 5425/6587 ask for a stream) and JSON lines: a batch
 * becomes whole messages in a pending buffer, fed to the connection as it
 * takes them, and dropped once the peer's TCP has acknowledged them.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

#include "forward_internal.h"

static int bounds_push(struct fwd *f, uint64_t end)
{
	if (f->blen == f->bcap) {
		uint64_t *n = ttlog__fwd_ring_grow(
			f->bounds, sizeof(*n), &f->bhead, f->blen, &f->bcap);
		if (n == NULL)
			return -1;
		f->bounds = n;
	}
	f->bounds[(f->bhead + f->blen) % f->bcap] = end;
	f->blen++;
	return 0;
}

/* Bytes handed to the socket that the peer's TCP has not acknowledged
 * yet (for TLS: ciphertext, which is more than the text it carries, so
 * the estimate errs on the side of sending again); UINT64_MAX when the
 * connection is not known to be healthy. */
static uint64_t socket_unacked(struct fwd *f)
{
	evutil_socket_t fd = bufferevent_getfd(f->bev);
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int q = 0;

	if (fd < 0)
		return UINT64_MAX;
	if (f->ep[f->cur].scheme != FWD_UNIX &&
	    (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	     ti.tcpi_state != TCP_ESTABLISHED))
		return UINT64_MAX;
	if (ioctl(fd, SIOCOUTQ, &q) != 0 || q < 0)
		return UINT64_MAX;
	return (uint64_t)q;
}

/* Drops from pend the whole messages the peer's TCP has acknowledged.
 * What stays is sent again, from a message boundary, after a reconnect:
 * only bytes the collector's kernel took and its program never read can
 * be lost (syslog and JSON lines have no acknowledgement of their own). */
void ttlog__fwd_text_confirm(struct fwd *f)
{
	uint64_t keep_from = f->pend_base, unacked, taken;

	if (f->bev == NULL || f->state != FWD_READY)
		return;
	unacked = socket_unacked(f);
	if (unacked == UINT64_MAX)
		return;
	unacked += evbuffer_get_length(bufferevent_get_output(f->bev));
	if (unacked > f->fed - f->pend_base)
		return;
	taken = f->fed - unacked;
	while (f->blen > 0 && f->bounds[f->bhead] <= taken) {
		keep_from = f->bounds[f->bhead];
		f->bhead = (f->bhead + 1) % f->bcap;
		f->blen--;
	}
	if (keep_from > f->pend_base) {
		evbuffer_drain(f->pend, (size_t)(keep_from - f->pend_base));
		f->pend_base = keep_from;
		ttlog__fwd_durable_check(f);
	}
}

/* Keys of this batch renamed to be PARAM-NAMEs (fmt.h): counted, and
 * reported at most once a minute, the key being borrowed from the batch
 * still at hand. */
static void renamed(struct fwd *f)
{
	uint64_t now = ttlog__fwd_now_ms();

	f->st.sd_renames += f->fbuf.renamed;
	if (f->rename_reported && now - f->rename_report_ms < 60000)
		return;
	f->rename_reported = 1;
	f->rename_report_ms = now;
	ttlog__fwd_report(f, TTLOG_LEVEL_WARN, "structured data key renamed",
			  "the key \"%.200s\" is no RFC 5424 PARAM-NAME (1 to "
			  "32 printable bytes but = ] \" ~) and is sent under "
			  "a renamed one (first bytes, '~', CRC-32C in hex); "
			  "%llu renames so far (forward_sd_renames_total)",
			  f->fbuf.renamed_key,
			  (unsigned long long)f->st.sd_renames);
}

int ttlog__fwd_text_consume(struct fwd *f, struct ttlog_batch *b)
{
	size_t n = ttlog_batch_count(b), nb = f->blen, before;
	uint64_t end;

	ttlog__fwd_text_confirm(f);
	before = evbuffer_get_length(f->pend);
	end = f->pend_base + before;
	if (before > 0 && before >= f->window_bytes)
		return TTLOG_LISTENER_RETRY;
	if (f->format == FWD_JSONL) {
		const char *data, *p, *nl;
		size_t len;
		if (ttlog_batch_encode(b, TTLOG_ENCODING_JSONL,
				       (const void **)&data, &len) != 0)
			return TTLOG_LISTENER_RETRY;
		for (p = data; p < data + len; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(data + len - p));
			if (nl == NULL)
				nl = data + len - 1;
			if (bounds_push(f, end + (uint64_t)(nl + 1 - data)) !=
			    0)
				goto nomem;
		}
		if (evbuffer_add(f->pend, data, len) != 0)
			goto nomem;
	} else {
		struct ttlog_event ev;
		f->fbuf.len = 0;
		f->fbuf.renamed = 0;
		for (size_t i = 0; i < n; i++) {
			if (ttlog_batch_event(b, i, &ev) != 0 ||
			    ttlog__fmt_syslog_event(&f->sfmt, &ev,
						    ttlog_batch_origin(b, i),
						    &f->fbuf) != 0 ||
			    bounds_push(f, end + f->fbuf.len) != 0)
				goto nomem;
		}
		if (evbuffer_add(f->pend, f->fbuf.p, f->fbuf.len) != 0)
			goto nomem;
		if (f->fbuf.renamed > 0)
			renamed(f);
	}
	if (f->state == FWD_READY)
		ttlog__fwd_pump(f);
	return TTLOG_LISTENER_OK;
nomem:
	/* Take back the bounds of this batch; nothing was added to pend. */
	f->blen = nb;
	return TTLOG_LISTENER_RETRY;
}

void ttlog__fwd_text_pump(struct fwd *f, struct evbuffer *out)
{
	char chunk[65536];
	size_t have = evbuffer_get_length(f->pend);

	while (f->fed < f->pend_base + have &&
	       evbuffer_get_length(out) < FWD_OUT_HIGH) {
		struct evbuffer_ptr pos;
		size_t off = (size_t)(f->fed - f->pend_base);
		ev_ssize_t n;
		if (evbuffer_ptr_set(f->pend, &pos, off, EVBUFFER_PTR_SET) != 0)
			break;
		n = evbuffer_copyout_from(f->pend, &pos, chunk, sizeof(chunk));
		if (n <= 0 || evbuffer_add(out, chunk, (size_t)n) != 0)
			break;
		f->fed += (uint64_t)n;
		f->st.bytes_sent += (uint64_t)n;
	}
}
