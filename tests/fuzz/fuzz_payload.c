/* fuzz_payload.c - the DATA payload decoder: the first input byte gives
 * the DATA flags (bit 0: the rest is an LZ4 frame), the rest is the
 * payload, decoded with a 1 MiB limit. Every event passed to the callback
 * is checked (abort() on a violation): its strings lie inside the payload
 * or the scratch buffers, the source is NUL-terminated inside the string
 * scratch, types and levels are in range. The payload is then decoded
 * again with the same scratch, which must give the same result, and once
 * more with a callback that stops at the first event. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"
#include "wire_payload.h"

#define MAX_DECODED (1u << 20)

static void check(int ok)
{
	if (!ok)
		abort();
}

struct ctx {
	const unsigned char *payload;
	size_t len;
	const struct ttlog__wire_scratch *s;
	int lz4;
	size_t seen;
	int stop;
	unsigned sum;
};

/* p[0..n) inside base[0..cap), touched byte by byte so that ASan and
 * valgrind see the memory is real. */
static void inside(struct ctx *c, const char *p, size_t n,
		   const unsigned char *base, size_t cap)
{
	const unsigned char *u = (const unsigned char *)p;

	check(p != NULL);
	if (n == 0)
		return;
	check(u >= base && u <= base + cap && n <= cap &&
	      (size_t)(u - base) <= cap - n);
	for (size_t i = 0; i < n; i++)
		c->sum += u[i];
}

static void in_cbor(struct ctx *c, const char *p, size_t n)
{
	if (c->lz4)
		inside(c, p, n, c->s->buf, c->s->cap);
	else
		inside(c, p, n, c->payload, c->len);
}

static int on_event(void *arg, const struct ttlog__in_event *ev)
{
	struct ctx *c = arg;
	const char *strs = c->s->strs;

	check(ev->level >= 0 && ev->level <= 5);
	check(ev->nfields <= TTLOG__IN_MAX_FIELDS);
	check(ev->truncated == 0 || ev->truncated == 1);
	in_cbor(c, ev->msg, ev->msg_len);
	check(ev->source >= strs && ev->source < strs + c->s->strs_cap);
	check(memchr(ev->source, '\0',
		     c->s->strs_cap - (size_t)(ev->source - strs)) != NULL);
	for (uint32_t i = 0; i < ev->nfields; i++) {
		const struct ttlog__in_field *f = &ev->fields[i];
		in_cbor(c, f->key, f->key_len);
		switch (f->type) {
		case TTLOG_TYPE_I64:
			check(f->v.i64 < 0);
			break;
		case TTLOG_TYPE_U64:
		case TTLOG_TYPE_F64:
			break;
		case TTLOG_TYPE_BOOL:
			check(f->v.b == 0 || f->v.b == 1);
			break;
		case TTLOG_TYPE_STR:
			in_cbor(c, f->v.str.ptr, f->v.str.len);
			break;
		default:
			check(0);
		}
	}
	c->seen++;
	return c->stop;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttlog__wire_scratch s = {0};
	struct ctx c;
	size_t n1, n2, n3;
	uint32_t flags;
	char err[256];
	int r1, r2, r3;

	if (size == 0)
		return 0;
	flags = data[0] & (TTLOG_WIRE_DATA_LZ4 | TTLOG_WIRE_DATA_RESENT);
	memset(&c, 0, sizeof(c));
	c.payload = data + 1;
	c.len = size - 1;
	c.s = &s;
	c.lz4 = (flags & TTLOG_WIRE_DATA_LZ4) != 0;

	err[0] = '\0';
	r1 = ttlog__wire_payload_decode(c.payload, c.len, flags, MAX_DECODED,
					&s, on_event, &c, &n1, err,
					sizeof(err));
	check(r1 == 0 || r1 == -1);
	check(n1 == c.seen);
	if (r1 != 0)
		check(err[0] != '\0' && strlen(err) < sizeof(err));

	/* The same again with the scratch as the first call left it. */
	c.seen = 0;
	r2 = ttlog__wire_payload_decode(c.payload, c.len, flags, MAX_DECODED,
					&s, on_event, &c, &n2, err,
					sizeof(err));
	check(r2 == r1 && n2 == n1 && c.seen == n1);

	/* A callback that stops at once. */
	c.seen = 0;
	c.stop = 9;
	r3 = ttlog__wire_payload_decode(c.payload, c.len, flags, MAX_DECODED,
					&s, on_event, &c, &n3, err,
					sizeof(err));
	if (n1 > 0)
		check(r3 == 9 && n3 == 1);
	else
		check(r3 == r1 && n3 == 0);
	ttlog__wire_scratch_free(&s);
	return 0;
}
