/*
 * addr.h - the one parser of the addresses a person writes in the
 * configuration: "tcp://HOST:PORT", "tls://HOST:PORT", "udp://HOST:PORT",
 * "unix:///absolute/path", "unixgram:///absolute/path" (a datagram
 * socket), and where the caller allows it a bare
 * "HOST:PORT". HOST is a name, an IPv4 address or an [IPv6] address in
 * brackets; PORT is a decimal number.
 *
 * Each caller says which schemes it takes and whether port 0 ("any port")
 * means something to it; the parser knows nothing else of its callers.
 * It touches nothing but its arguments (no allocation, no name lookup).
 */
#ifndef TTLOG_ADDR_H
#define TTLOG_ADDR_H

#include <stddef.h>

enum ttlog__addr_scheme {
	TTLOG__ADDR_BARE, /* "HOST:PORT", the caller picks what it means */
	TTLOG__ADDR_TCP,
	TTLOG__ADDR_TLS,
	TTLOG__ADDR_UDP,
	TTLOG__ADDR_UNIX,
	TTLOG__ADDR_UNIXGRAM /* a unix datagram socket */
};

/* The flags of ttlog__addr_parse(): which schemes it accepts, and port 0. */
#define TTLOG__ADDR_ALLOW_BARE (1u << TTLOG__ADDR_BARE)
#define TTLOG__ADDR_ALLOW_TCP (1u << TTLOG__ADDR_TCP)
#define TTLOG__ADDR_ALLOW_TLS (1u << TTLOG__ADDR_TLS)
#define TTLOG__ADDR_ALLOW_UDP (1u << TTLOG__ADDR_UDP)
#define TTLOG__ADDR_ALLOW_UNIX (1u << TTLOG__ADDR_UNIX)
#define TTLOG__ADDR_ALLOW_UNIXGRAM (1u << TTLOG__ADDR_UNIXGRAM)
/* Port 0 is accepted (a listener binding "any free port"); without this
 * flag the port must be 1 to 65535. */
#define TTLOG__ADDR_PORT0 (1u << 8)

/* The longest unix socket path (sockaddr_un's sun_path less its NUL). */
#define TTLOG__ADDR_PATH_MAX 107

struct ttlog__addr {
	enum ttlog__addr_scheme scheme;
	char host[256]; /* without the brackets of an IPv6 address */
	char port[6];	/* the decimal port, "0" to "65535" */
	unsigned port_num;
	int bracketed; /* the host was [IPv6]: numeric, no name lookup */
	char path[TTLOG__ADDR_PATH_MAX + 1]; /* unix://, unixgram:// */
};

/*
 * Parses s (NUL-terminated) into *a, accepting only what flags allow.
 * @param s      the address as configured; borrowed, no reference kept
 * @param flags  TTLOG__ADDR_ALLOW_* of the accepted forms, | _PORT0
 * @param a      filled on success; undefined on failure
 * @param err    on failure, a sentence that quotes s and names the part
 *               that is wrong (scheme, HOST, PORT, brackets, path)
 * @return 0, or -1 with err filled.
 */
int ttlog__addr_parse(const char *s, unsigned flags, struct ttlog__addr *a,
		      char *err, size_t errlen);

#endif
