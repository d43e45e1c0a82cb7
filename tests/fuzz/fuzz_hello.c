/* fuzz_hello.c - the hello parser: arbitrary bytes as a HELLO body. A
 * hello that parses must be sane (versions ordered and non-zero, a known
 * role, strings NUL-terminated inside their arrays with no control
 * characters), and must come back identical after encoding it again and
 * parsing the result: nothing the parser accepts is lost or changed by
 * the encoder. abort() on any violation, so that libFuzzer reports it. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_str(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);

	check(nul != NULL);
	for (const unsigned char *p = (const unsigned char *)s;
	     p < (const unsigned char *)nul; p++)
		check(*p >= 0x20 && *p != 0x7F);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttlog__wire_hello h, again;
	unsigned char out[TTLOG_WIRE_HELLO_CAP];
	struct ttlog__wire_msg m;
	size_t n, used;
	char err[256];

	err[0] = '\0';
	if (ttlog__wire_hello_parse(data, size, &h, err, sizeof(err)) != 0) {
		check(err[0] != '\0' && strlen(err) < sizeof(err));
		return 0;
	}
	check(h.version_min >= 1 && h.version_min <= h.version_max);
	check(h.role == TTLOG_WIRE_SENDER || h.role == TTLOG_WIRE_RECEIVER);
	check(h.max_frame >= 64);
	check_str(h.service, sizeof(h.service));
	check_str(h.host, sizeof(h.host));
	check_str(h.software, sizeof(h.software));

	/* "oldest" is a sender's key: a receiver's hello leaves it out. */
	if (h.role == TTLOG_WIRE_RECEIVER)
		h.oldest = 0;
	n = ttlog__wire_hello_encode(&h, out, sizeof(out));
	/* 602 bytes before the sender's "oldest" (7 bytes of key, 9 of
	 * value) was added. */
	check(n > TTLOG_WIRE_HDR && n <= 618);
	check(ttlog__wire_hello_encode(&h, out, n - 1) == 0);
	check(ttlog__wire_next(out, n, n, &m, &used, err, sizeof(err)) == 1);
	check(used == n && m.type == TTLOG_WIRE_HELLO);
	check(ttlog__wire_hello_parse(m.body, m.len, &again, err,
				      sizeof(err)) == 0);
	/* Both were zeroed first and filled the same way, padding too. */
	check(memcmp(&h, &again, sizeof(h)) == 0);
	return 0;
}
