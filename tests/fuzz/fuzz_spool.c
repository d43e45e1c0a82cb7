/* fuzz_spool.c - the spool's record scanner, ttlog__spool_scan(), on
 * arbitrary bytes taken as a segment file. It runs the same cursor and
 * parser as the spool's reader (with a small read buffer, so that records
 * straddle refills). Checked (abort() on a violation, so that libFuzzer
 * reports it):
 *   - every byte is either inside a good record or counted as corrupt;
 *   - good records come in increasing seq order, with seq above 0;
 *   - each good record's bytes occur in the input, in order and without
 *     overlapping the one before: the scanner makes nothing up;
 *   - the good records written out again form an image that scans to the
 *     same records with nothing corrupt. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "spool.h"

#define OVERHEAD 28

static void check(int ok)
{
	if (!ok)
		abort();
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

struct state {
	const uint8_t *data;
	size_t size;
	size_t at;	   /* end of the previous good record in data */
	uint64_t prev;	   /* its seq */
	size_t good_bytes; /* sum of the good records' sizes */
	size_t n;
	unsigned char *img; /* the good records, copied out */
	size_t img_len;
};

/* CRC-32C computed here independently of the spool's, a bit at a time
 * (inputs are small). */
static uint32_t crc32c_bits(uint32_t c, const unsigned char *p, size_t n)
{
	c = ~c;
	while (n-- > 0) {
		c ^= *p++;
		for (int b = 0; b < 8; b++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

static void on_rec(void *arg, const struct ttlog__spool_rec *r)
{
	struct state *st = arg;
	size_t total = OVERHEAD + r->len;
	unsigned char *rec = st->img + st->img_len;
	const uint8_t *p, *end = st->data + st->size;

	check(r->seq > st->prev && r->seq > 0);
	check(r->len <= st->size && total <= st->size);
	check(r->payload != NULL || r->len == 0);
	check(st->img_len + total <= st->size);
	st->prev = r->seq;
	st->good_bytes += total;
	st->n++;

	/* The record encoded again, CRC and all; it must occur in the
	 * input after the previous one. */
	memcpy(rec, "TSR1", 4);
	put32(rec + 4, (uint32_t)(16 + r->len));
	put64(rec + 12, r->seq);
	put32(rec + 20, r->flags);
	put32(rec + 24, r->count);
	if (r->len > 0)
		memcpy(rec + OVERHEAD, r->payload, r->len);
	put32(rec + 8, crc32c_bits(0, rec + 12, 16 + r->len));
	for (p = st->data + st->at; p + total <= end; p++) {
		p = memchr(p, 'T', (size_t)(end - p));
		if (p == NULL || p + total > end || memcmp(p, rec, total) == 0)
			break;
	}
	check(p != NULL && p + total <= end);
	st->at = (size_t)(p - st->data) + total;
	st->img_len += total;
}

struct again {
	size_t n;
	uint64_t prev;
};

static void on_again(void *arg, const struct ttlog__spool_rec *r)
{
	struct again *a = arg;
	check(r->seq > a->prev);
	a->prev = r->seq;
	a->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st = {data, size, 0, 0, 0, 0, NULL, 0};
	struct again a = {0, 0};
	uint64_t crec = 0, cbytes = 0;
	size_t good;

	st.img = malloc(size ? size : 1);
	if (st.img == NULL)
		return 0;
	good = ttlog__spool_scan(data, size, on_rec, &st, &crec, &cbytes);
	check(good == st.n);
	check(st.good_bytes + cbytes == size);
	/* Damage always counts at least one record. It may count more
	 * records than it has bytes: the records lost between two good
	 * ones are known from the gap in their seqs, and their bytes may be
	 * gone (a cut tail), so there is no upper bound from the bytes. */
	check((crec == 0) == (cbytes == 0));

	crec = cbytes = 1;
	check(ttlog__spool_scan(st.img, st.img_len, on_again, &a, &crec,
				&cbytes) == good);
	check(a.n == good && crec == 0 && cbytes == 0);
	free(st.img);
	return 0;
}
