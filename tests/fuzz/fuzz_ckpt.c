/* fuzz_ckpt.c - the tail and journal inputs' state file reader,
 * ttlog__ckpt_parse(), on arbitrary bytes. Checked (abort() on a
 * violation, so that libFuzzer reports it):
 *   - every record handed out lies inside the input, within the limits
 *     of ckpt.h, after the record before it;
 *   - a parse that succeeds has accounted for every byte (header plus
 *     each record's lengths, key, value and CRC), so nothing was skipped;
 *   - a failure says "offset N: reason" with N inside the input, and no
 *     record was handed out before it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "fuzz.h"

struct state {
	const unsigned char *lo, *hi; /* the input */
	size_t at; /* offset just past the previous record (its CRC) */
	size_t n, bytes;
};

static void check(int ok)
{
	if (!ok)
		abort();
}

static int on_rec(void *arg, const struct ttlog__ckpt_rec *r)
{
	struct state *st = arg;
	const unsigned char *k = (const unsigned char *)r->key;
	const unsigned char *v = r->val;

	check(r->key_len <= TTLOG__CKPT_MAX_KEY);
	check(r->val_len <= TTLOG__CKPT_MAX_VALUE);
	check(k != NULL && v != NULL);
	check(k >= st->lo && k <= st->hi);
	check((size_t)(k - st->lo) == st->at + 8);
	check((size_t)(st->hi - k) >= r->key_len);
	check(v == k + r->key_len);
	check((size_t)(st->hi - v) >= r->val_len + 4);
	st->at = (size_t)(v - st->lo) + r->val_len + 4;
	st->bytes += 12 + r->key_len + r->val_len;
	st->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st = {data, data + size, 16, 0, 16};
	char err[256] = "";
	unsigned long long off;
	int rc;

	rc = ttlog__ckpt_parse(data, size, on_rec, &st, err, sizeof(err));
	if (rc == 0) {
		check(st.bytes == size);
		check(st.at == size);
	} else {
		check(rc == -1 && st.n == 0);
		check(sscanf(err, "offset %llu: ", &off) == 1 && off <= size);
	}
	return 0;
}
