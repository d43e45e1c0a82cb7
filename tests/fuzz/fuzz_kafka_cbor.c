/* fuzz_kafka_cbor.c - the kafka input's reading of a message it did not
 * write: the format detection (the first byte of the input is taken as
 * the length of a ttlog-format header, the next bytes as the header and
 * the rest as the value) and the cbor event map's decoder
 * (agent/inputs/input_kafka_decode.c). Checked: detection answers a
 * format or -1; the decoder answers 0 or -1, its error says "cbor: ...";
 * a decoded event's strings (message, keys, string values, origin
 * strings) lie inside the message or inside the scratch, its level is a
 * level and its fields within the limit. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "input_kafka.h"
#include "kafka_conf.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static int inside(const char *p, size_t len, const char *base, size_t n)
{
	return len == 0 || (p != NULL && p >= base && p <= base + n &&
			    len <= n && (size_t)(p - base) <= n - len);
}

static void check_str(const char *p, size_t len, const char *m, size_t n,
		      const struct ttlog__scratch *s)
{
	check(inside(p, len, m, n) || inside(p, len, s->p, s->len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttlog__origin_str org[TTLOG__ORIGIN_NFIELDS];
	struct ttlog__scratch s = {0};
	struct ttlog__in_event ev;
	char err[256] = "";
	size_t hlen = size > 0 ? data[0] % 16 : 0;
	const char *hdr = (const char *)data + 1;
	char *copy;
	int f, r;

	if (size == 0 || hlen > size - 1)
		return 0;
	size -= 1 + hlen;
	/* An exact-size copy, so that reading past the end is caught. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, hdr + hlen, size);
	f = ttlog__kafka_detect(TTLOG_KAFKA_FMT_AUTO, hlen ? hdr : NULL, hlen,
				copy, size);
	check(f == -1 || f == TTLOG__KAFKA_FMT_RAW ||
	      (f >= TTLOG_KAFKA_FMT_JSON && f <= TTLOG_KAFKA_FMT_SYSLOG));
	memset(org, 0, sizeof(org));
	memset(&ev, 0, sizeof(ev));
	r = ttlog__kafka_cbor_decode(copy, size, &ev, org, &s, err,
				     sizeof(err));
	check(r == 0 || r == -1);
	if (r < 0) {
		check(strncmp(err, "cbor: ", 6) == 0);
	} else {
		check(ev.level >= TTLOG_LEVEL_TRACE &&
		      ev.level <= TTLOG_LEVEL_FATAL);
		check(ev.nfields <= TTLOG__IN_MAX_FIELDS);
		check_str(ev.msg, ev.msg_len, copy, size, &s);
		for (uint32_t i = 0; i < ev.nfields; i++) {
			const struct ttlog__in_field *fl = &ev.fields[i];
			check_str(fl->key, fl->key_len, copy, size, &s);
			if (fl->type == TTLOG_TYPE_STR)
				check_str(fl->v.str.ptr, fl->v.str.len, copy,
					  size, &s);
		}
		for (size_t i = 0; i < TTLOG__ORIGIN_NFIELDS; i++)
			check_str(org[i].p, org[i].len, copy, size, &s);
	}
	free(s.p);
	free(copy);
	return 0;
}
