/*
 * syslog_frame.c - cutting syslog messages off a TCP stream (RFC 6587):
 * octet counting ("LEN SP MSG", what RFC 5425 and modern senders use) and
 * the older non-transparent framing, where a message ends at a line feed
 * (or a NUL, as some senders end it). Both are detected per message, by
 * its first byte, since a stream is allowed to mix them in practice.
 */
#include <string.h>

#include "errf.h"
#include "parse_internal.h"

/* buf starts with a digit at byte at of the caller's buffer. */
static int octet_counted(const char *buf, size_t len, size_t at, size_t max_msg,
			 const char **msg, size_t *msg_len, size_t *consumed,
			 char *err, size_t errlen)
{
	size_t i = 0, count = 0, d;

	if (buf[0] == '0') {
		ttlog__errf(err, errlen,
			    "octet count starts with 0 at byte %zu "
			    "(expected 1 to %zu)",
			    at, max_msg);
		return -1;
	}
	while (i < len && buf[i] >= '0' && buf[i] <= '9') {
		/* Checked before it grows, so no number of digits can
		 * overflow. */
		d = (size_t)(buf[i] - '0');
		if (max_msg < d || count > (max_msg - d) / 10) {
			ttlog__errf(err, errlen,
				    "octet count at byte %zu is above the "
				    "largest message accepted (%zu bytes)",
				    at, max_msg);
			return -1;
		}
		count = count * 10 + d;
		i++;
	}
	if (i == len)
		return 0;
	if (buf[i] != ' ') {
		ttlog__errf(err, errlen,
			    "byte %zu: expected a space after the octet "
			    "count",
			    at + i);
		return -1;
	}
	i++;
	if (len - i < count)
		return 0;
	*msg = buf + i;
	*msg_len = count;
	*consumed = i + count;
	return 1;
}

int ttlog__syslog_frame(const char *buf, size_t len, size_t max_msg,
			const char **msg, size_t *msg_len, size_t *consumed,
			char *err, size_t errlen)
{
	size_t skip = 0, k, limit;
	const char *lf, *nul;
	int r;

	while (skip < len && (buf[skip] == '\n' || buf[skip] == '\r' ||
			      buf[skip] == '\0' || buf[skip] == ' '))
		skip++;
	*consumed = skip;
	if (skip == len)
		return 0;
	buf += skip;
	len -= skip;
	if (buf[0] >= '0' && buf[0] <= '9') {
		r = octet_counted(buf, len, skip, max_msg, msg, msg_len,
				  consumed, err, errlen);
		if (r == 1)
			*consumed += skip;
		else
			*consumed = skip;
		return r;
	}
	if (buf[0] != '<') {
		ttlog__errf(err, errlen,
			    "byte %zu: expected an octet count or '<' to "
			    "start a message",
			    skip);
		return -1;
	}
	/* A message of max_msg bytes and its terminator. */
	limit = len <= max_msg ? len : max_msg + 1;
	lf = memchr(buf, '\n', limit);
	nul = memchr(buf, '\0', lf != NULL ? (size_t)(lf - buf) : limit);
	if (nul != NULL)
		lf = nul;
	if (lf == NULL) {
		if (len > max_msg) {
			ttlog__errf(err, errlen,
				    "no line end within the largest message "
				    "accepted (%zu bytes)",
				    max_msg);
			return -1;
		}
		return 0;
	}
	k = (size_t)(lf - buf);
	*msg = buf;
	*msg_len = k;
	*consumed = skip + k + 1;
	return 1;
}
