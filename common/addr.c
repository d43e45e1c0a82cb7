/*
 * addr.c - see addr.h. The error sentences are part of the interface:
 * people read them, and the tests of every caller look for their words.
 */
#include "addr.h"
#include "errf.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *prefix, *form;
} schemes[] = {
	[TTLOG__ADDR_BARE] = {"", "HOST:PORT"},
	[TTLOG__ADDR_TCP] = {"tcp://", "tcp://HOST:PORT"},
	[TTLOG__ADDR_TLS] = {"tls://", "tls://HOST:PORT"},
	[TTLOG__ADDR_UDP] = {"udp://", "udp://HOST:PORT"},
	[TTLOG__ADDR_UNIX] = {"unix://", "unix:///path"},
	[TTLOG__ADDR_UNIXGRAM] = {"unixgram://", "unixgram:///path"},
};
#define NSCHEMES (sizeof(schemes) / sizeof(schemes[0]))

/* "expected tcp://HOST:PORT, udp://HOST:PORT or unix:///path": the forms
 * the caller accepts, so that the message never offers one it refuses. */
static void expected(char *err, size_t errlen, const char *s, unsigned flags,
		     const char *what)
{
	char list[160] = "";
	size_t used = 0, n = 0, left = 0;

	for (size_t i = 0; i < NSCHEMES; i++)
		left += (flags >> i) & 1u;
	for (size_t i = 0; i < NSCHEMES; i++) {
		if (!((flags >> i) & 1u))
			continue;
		n++;
		int w = snprintf(list + used, sizeof(list) - used, "%s%s",
				 n == 1	     ? ""
				 : n == left ? " or "
					     : ", ",
				 schemes[i].form);
		if (w > 0 && (size_t)w < sizeof(list) - used)
			used += (size_t)w;
	}
	ttlog__errf(err, errlen, "%s: %s; expected %s", s, what, list);
}

static int parse_port(const char *p, unsigned flags, struct ttlog__addr *a)
{
	size_t n = strlen(p);
	unsigned long v = 0;

	if (n == 0 || n > 5 || strspn(p, "0123456789") != n)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(p[i] - '0');
	if (v > 65535 || (v == 0 && !(flags & TTLOG__ADDR_PORT0)))
		return -1;
	a->port_num = (unsigned)v;
	snprintf(a->port, sizeof(a->port), "%lu", v);
	return 0;
}

int ttlog__addr_parse(const char *s, unsigned flags, struct ttlog__addr *a,
		      char *err, size_t errlen)
{
	const char *rest = NULL, *host, *colon;
	size_t hlen, i;

	memset(a, 0, sizeof(*a));
	if (s == NULL || *s == 0) {
		ttlog__errf(err, errlen, "an address is empty");
		return -1;
	}
	for (i = 1; i < NSCHEMES; i++) {
		if (strncmp(s, schemes[i].prefix, strlen(schemes[i].prefix)) ==
		    0)
			break;
	}
	if (i < NSCHEMES && (flags & (1u << i))) {
		a->scheme = (enum ttlog__addr_scheme)i;
		rest = s + strlen(schemes[i].prefix);
	} else if (i == NSCHEMES && strstr(s, "://") == NULL &&
		   (flags & TTLOG__ADDR_ALLOW_BARE)) {
		a->scheme = TTLOG__ADDR_BARE;
		rest = s;
	} else {
		expected(err, errlen, s, flags, "unknown scheme");
		return -1;
	}

	if (a->scheme == TTLOG__ADDR_UNIX ||
	    a->scheme == TTLOG__ADDR_UNIXGRAM) {
		if (rest[0] != '/') {
			ttlog__errf(err, errlen,
				    "%s: %s needs an absolute path (%s)", s,
				    schemes[a->scheme].prefix,
				    a->scheme == TTLOG__ADDR_UNIX
					    ? "unix:///run/ttlog.sock"
					    : "unixgram:///run/ttlog/log");
			return -1;
		}
		if (strlen(rest) > TTLOG__ADDR_PATH_MAX) {
			ttlog__errf(err, errlen,
				    "%s: path too long for a unix socket (at "
				    "most %d bytes)",
				    s, TTLOG__ADDR_PATH_MAX);
			return -1;
		}
		strcpy(a->path, rest);
		return 0;
	}

	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');
		if (close == NULL || close[1] != ':') {
			ttlog__errf(err, errlen, "%s: expected [ADDR]:PORT", s);
			return -1;
		}
		host = rest + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
		a->bracketed = 1;
	} else {
		colon = strrchr(rest, ':');
		if (colon == NULL) {
			ttlog__errf(err, errlen,
				    "%s: expected HOST:PORT (missing :PORT)",
				    s);
			return -1;
		}
		host = rest;
		hlen = (size_t)(colon - rest);
		if (memchr(host, ':', hlen) != NULL) {
			ttlog__errf(err, errlen,
				    "%s: write an IPv6 address in brackets "
				    "([::1]:PORT)",
				    s);
			return -1;
		}
	}
	if (hlen == 0 || hlen >= sizeof(a->host)) {
		ttlog__errf(err, errlen,
			    "%s: expected HOST:PORT (missing or too long HOST)",
			    s);
		return -1;
	}
	if (parse_port(colon + 1, flags, a) != 0) {
		ttlog__errf(err, errlen,
			    "%s: PORT must be a number; port must be %s..65535",
			    s, flags & TTLOG__ADDR_PORT0 ? "0" : "1");
		return -1;
	}
	memcpy(a->host, host, hlen);
	a->host[hlen] = 0;
	return 0;
}
