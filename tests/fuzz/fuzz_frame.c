/* fuzz_frame.c - a receiver's view of a stream: arbitrary bytes are cut
 * into messages by ttlog__wire_next() (with a small max_frame, so that
 * the limit is reached), and every message goes to the parser of its type
 * (HELLO, DATA and its payload, ACK, HEARTBEAT, CLOSE); every other
 * parser must refuse a message of a type that is not its own. Each body
 * is handed over as an exact-size copy so that a read past it is caught.
 * Invariants are checked with abort(), so that libFuzzer reports them. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"
#include "wire_payload.h"

#define MAX_FRAME 4096
#define MAX_DECODED (256u << 10)

static void check(int ok)
{
	if (!ok)
		abort();
}

static int on_event(void *arg, const struct ttlog__in_event *ev)
{
	size_t *n = arg;

	check(ev->nfields <= TTLOG__IN_MAX_FIELDS);
	check(ev->level >= 0 && ev->level <= 5);
	(*n)++;
	return 0;
}

static void hello(const struct ttlog__wire_msg *m)
{
	struct ttlog__wire_hello h, again;
	unsigned char out[TTLOG_WIRE_HELLO_CAP];
	struct ttlog__wire_msg back;
	size_t n, used;
	char err[256];

	if (ttlog__wire_hello_parse(m->body, m->len, &h, err, sizeof(err)) !=
	    0) {
		check(err[0] != '\0');
		return;
	}
	check(h.version_min >= 1 && h.version_min <= h.version_max);
	n = ttlog__wire_hello_encode(&h, out, sizeof(out));
	check(n > 0);
	check(ttlog__wire_next(out, n, n, &back, &used, err, sizeof(err)) == 1);
	check(ttlog__wire_hello_parse(back.body, back.len, &again, err,
				      sizeof(err)) == 0);
	check(memcmp(&h, &again, sizeof(h)) == 0);
}

static void data(const struct ttlog__wire_msg *m, struct ttlog__wire_scratch *s)
{
	const unsigned char *payload;
	size_t plen, nev = 0, passed;
	uint64_t seq;
	uint32_t flags, count;
	char err[256];
	int r;

	if (ttlog__wire_data_parse(m, &seq, &flags, &count, &payload, &plen,
				   err, sizeof(err)) != 0) {
		check(err[0] != '\0');
		return;
	}
	check(seq != 0);
	check(payload == m->body + TTLOG_WIRE_DATA_FIXED);
	check(plen == m->len - TTLOG_WIRE_DATA_FIXED);
	r = ttlog__wire_payload_decode(payload, plen, flags, MAX_DECODED, s,
				       on_event, &nev, &passed, err,
				       sizeof(err));
	check(r == 0 || r == -1);
	check(passed == nev);
}

static void u64(const struct ttlog__wire_msg *m)
{
	uint64_t v;
	char err[256];
	int r = ttlog__wire_u64_parse(m, &v, err, sizeof(err));

	check((r == 0) == (m->len == 8));
}

static void close_msg(const struct ttlog__wire_msg *m)
{
	char reason[TTLOG_WIRE_REASON_MAX + 1], again[sizeof(reason)];
	unsigned char out[TTLOG_WIRE_HDR + 2 + TTLOG_WIRE_REASON_MAX];
	struct ttlog__wire_msg back;
	uint16_t code, code2;
	size_t n, used;
	char err[256];

	if (ttlog__wire_close_parse(m, &code, reason, sizeof(reason), err,
				    sizeof(err)) != 0) {
		check(m->len < 2);
		return;
	}
	check(strlen(reason) <= TTLOG_WIRE_REASON_MAX);
	for (const char *p = reason; *p != '\0'; p++)
		check((unsigned char)*p >= 0x20 && *p != 0x7F);
	/* A cleaned reason goes through unchanged. */
	n = ttlog__wire_close_encode(out, sizeof(out), code, reason);
	check(n == TTLOG_WIRE_HDR + 2 + strlen(reason));
	check(ttlog__wire_next(out, n, sizeof(out), &back, &used, err,
			       sizeof(err)) == 1);
	check(ttlog__wire_close_parse(&back, &code2, again, sizeof(again), err,
				      sizeof(err)) == 0);
	check(code2 == code && strcmp(again, reason) == 0);
}

/* Parsers of the other types refuse the message. */
static void wrong_type(const struct ttlog__wire_msg *m)
{
	const unsigned char *payload;
	size_t plen;
	uint64_t v;
	uint32_t flags, count;
	uint16_t code;
	char reason[16], err[256];

	if (m->type != TTLOG_WIRE_DATA)
		check(ttlog__wire_data_parse(m, &v, &flags, &count, &payload,
					     &plen, err, sizeof(err)) == -1);
	if (m->type != TTLOG_WIRE_ACK && m->type != TTLOG_WIRE_HEARTBEAT)
		check(ttlog__wire_u64_parse(m, &v, err, sizeof(err)) == -1);
	if (m->type != TTLOG_WIRE_CLOSE)
		check(ttlog__wire_close_parse(m, &code, reason, sizeof(reason),
					      err, sizeof(err)) == -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t size)
{
	struct ttlog__wire_scratch s = {0};
	size_t off = 0;

	while (off < size) {
		struct ttlog__wire_msg m, copy;
		size_t used, less, left = size - off;
		char err[256];
		int r;

		err[0] = '\0';
		r = ttlog__wire_next(buf + off, left, MAX_FRAME, &m, &used, err,
				     sizeof(err));
		check(r >= -1 && r <= 1);
		if (r < 0) {
			check(err[0] != '\0');
			break;
		}
		if (r == 0) {
			check(left < TTLOG_WIRE_HDR ||
			      left < 4 + ((size_t)buf[off] << 24 |
					  (size_t)buf[off + 1] << 16 |
					  (size_t)buf[off + 2] << 8 |
					  buf[off + 3]));
			break;
		}
		check(used >= TTLOG_WIRE_HDR && used <= left &&
		      used <= MAX_FRAME);
		check(m.body == buf + off + TTLOG_WIRE_HDR &&
		      m.len == used - TTLOG_WIRE_HDR && m.type == buf[off + 4]);
		/* One byte less is "more needed", never an error. */
		check(ttlog__wire_next(buf + off, used - 1, MAX_FRAME, &copy,
				       &less, err, sizeof(err)) == 0);

		unsigned char *body = malloc(m.len ? m.len : 1);
		if (body == NULL)
			break;
		if (m.len > 0)
			memcpy(body, m.body, m.len);
		copy = m;
		copy.body = body;
		switch (m.type) {
		case TTLOG_WIRE_HELLO:
			hello(&copy);
			break;
		case TTLOG_WIRE_DATA:
			data(&copy, &s);
			break;
		case TTLOG_WIRE_ACK:
		case TTLOG_WIRE_HEARTBEAT:
			u64(&copy);
			break;
		case TTLOG_WIRE_CLOSE:
			close_msg(&copy);
			break;
		default:
			break;
		}
		wrong_type(&copy);
		free(body);
		off += used;
	}
	ttlog__wire_scratch_free(&s);
	return 0;
}
