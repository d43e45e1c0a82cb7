/*
 * wire.c - the native protocol's messages (docs/native-protocol.md):
 * framing, the hello, and the fixed-layout DATA, ACK, HEARTBEAT and CLOSE
 * bodies. Everything here works on caller buffers; nothing allocates.
 *
 * Integers on the wire are big-endian. The hello is the only CBOR
 * message; it is read with the bounds-checked reader of cbor_read.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "byteorder.h"
#include "cbor_read.h"
#include "errf.h"
#include "utf8.h"
#include "wire.h"

/* The smallest max_frame a hello may announce: below it not even the
 * fixed messages would fit comfortably, so the value is a mistake. */
#define MIN_FRAME 64

/*
 * Copies untrusted text into dst (cap bytes, NUL-terminated), at most max
 * bytes of it: control characters (C0, DEL, C1) and bytes that are not
 * valid UTF-8 become '?', and the text is cut at a character boundary, so
 * the copy is safe to print in a log line.
 */
static void copy_clean(char *dst, size_t cap, size_t max,
		       const unsigned char *s, size_t n)
{
	size_t o = 0, i = 0;

	if (cap == 0)
		return;
	if (max > cap - 1)
		max = cap - 1;
	while (i < n) {
		uint32_t cp;
		size_t k = ttlog__utf8_next(s + i, n - i, &cp);
		int bad = k == 0 || cp < 0x20 || (cp >= 0x7F && cp < 0xA0);
		size_t w = bad ? 1 : k;

		if (o + w > max)
			break;
		if (bad)
			dst[o] = '?';
		else
			memcpy(dst + o, s + i, k);
		o += w;
		i += k ? k : 1;
	}
	dst[o] = '\0';
}

/* ------------------------------------------------------------------ */
/* Framing                                                              */
/* ------------------------------------------------------------------ */

void ttlog__wire_put_header(unsigned char out[TTLOG_WIRE_HDR], uint8_t type,
			    size_t body_len)
{
	/* The length counts the type byte and the body. Callers keep
	 * messages under max_frame, far below 4 GiB. */
	ttlog__put_be32(out, (uint32_t)(body_len + 1));
	out[4] = type;
}

int ttlog__wire_next(const unsigned char *buf, size_t avail, size_t max_frame,
		     struct ttlog__wire_msg *m, size_t *used, char *err,
		     size_t errlen)
{
	uint64_t len, total;

	/* The length alone decides the errors, so they show as soon as its
	 * 4 bytes are in, however the stream was cut. */
	if (avail < 4)
		return 0;
	len = ttlog__get_be32(buf);
	if (len == 0) {
		ttlog__errf(
			err, errlen,
			"message with length 0 (it must count its type byte)");
		return -1;
	}
	total = 4 + len;
	if (total > max_frame) {
		ttlog__errf(err, errlen,
			    "message of %" PRIu64
			    " bytes is over the limit of %zu",
			    total, max_frame);
		return -1;
	}
	if (avail < total)
		return 0;
	m->type = buf[4];
	m->body = buf + TTLOG_WIRE_HDR;
	m->len = (size_t)(len - 1);
	*used = (size_t)total;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Hello                                                                */
/* ------------------------------------------------------------------ */

/* A bounded CBOR writer for the hello. */
struct out {
	unsigned char *p;
	size_t len, cap;
	int full;
};

static void w_head(struct out *o, unsigned major, uint64_t v)
{
	unsigned char b[9];
	size_t n;

	if (v < 24) {
		b[0] = (unsigned char)(major << 5 | v);
		n = 1;
	} else if (v <= 0xFF) {
		b[0] = (unsigned char)(major << 5 | 24);
		n = 2;
	} else if (v <= 0xFFFF) {
		b[0] = (unsigned char)(major << 5 | 25);
		n = 3;
	} else if (v <= 0xFFFFFFFFu) {
		b[0] = (unsigned char)(major << 5 | 26);
		n = 5;
	} else {
		b[0] = (unsigned char)(major << 5 | 27);
		n = 9;
	}
	ttlog__put_be_n(b + 1, v, (unsigned)(n - 1));
	if (o->cap - o->len < n) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, b, n);
	o->len += n;
}

static void w_raw(struct out *o, const void *p, size_t n)
{
	if (o->cap - o->len < n) {
		o->full = 1;
		return;
	}
	if (n > 0)
		memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void w_key(struct out *o, const char *name)
{
	size_t n = strlen(name);
	w_head(o, TTLOG__CBOR_TEXT, n);
	w_raw(o, name, n);
}

static void w_uint(struct out *o, const char *name, uint64_t v)
{
	w_key(o, name);
	w_head(o, TTLOG__CBOR_UINT, v);
}

/* A string member of the hello struct: a text string when it is UTF-8
 * (always, for what ttlog puts there), else a byte string. */
static void w_str(struct out *o, const char *name, const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap - 1);
	size_t n = nul != NULL ? (size_t)(nul - s) : cap - 1;
	int text = ttlog__utf8_valid((const unsigned char *)s, n);

	w_key(o, name);
	w_head(o, text ? TTLOG__CBOR_TEXT : TTLOG__CBOR_BYTES, n);
	w_raw(o, s, n);
}

size_t ttlog__wire_hello_encode(const struct ttlog__wire_hello *h,
				unsigned char *out, size_t cap)
{
	struct out o = {out, TTLOG_WIRE_HDR, cap, 0};

	if (cap < TTLOG_WIRE_HDR)
		return 0;
	/* "oldest" only in a sender's hello: older peers skip the key. */
	w_head(&o, TTLOG__CBOR_MAP, h->role == TTLOG_WIRE_RECEIVER ? 11 : 12);
	w_uint(&o, "v_min", h->version_min);
	w_uint(&o, "v_max", h->version_max);
	w_uint(&o, "role", (uint64_t)(h->role == TTLOG_WIRE_RECEIVER));
	w_key(&o, "id");
	w_head(&o, TTLOG__CBOR_BYTES, TTLOG_WIRE_ID_LEN);
	w_raw(&o, h->id, TTLOG_WIRE_ID_LEN);
	w_str(&o, "service", h->service, sizeof(h->service));
	w_str(&o, "host", h->host, sizeof(h->host));
	w_str(&o, "software", h->software, sizeof(h->software));
	w_uint(&o, "max_frame", h->max_frame);
	w_uint(&o, "window", h->window);
	w_uint(&o, "last_seq", h->last_seq);
	w_uint(&o, "heartbeat_ms", h->heartbeat_ms);
	if (h->role != TTLOG_WIRE_RECEIVER)
		w_uint(&o, "oldest", h->oldest);
	if (o.full)
		return 0;
	ttlog__wire_put_header(out, TTLOG_WIRE_HELLO, o.len - TTLOG_WIRE_HDR);
	return o.len;
}

enum hello_key {
	K_V_MIN,
	K_V_MAX,
	K_ROLE,
	K_ID,
	K_SERVICE,
	K_HOST,
	K_SOFTWARE,
	K_MAX_FRAME,
	K_WINDOW,
	K_LAST_SEQ,
	K_HEARTBEAT_MS,
	K_OLDEST,
	K_COUNT
};

static const char *const hello_keys[K_COUNT] = {
	"v_min",   "v_max",    "role",	       "id",
	"service", "host",     "software",     "max_frame",
	"window",  "last_seq", "heartbeat_ms", "oldest"};

#define REQUIRED                                                               \
	((1u << K_V_MIN) | (1u << K_V_MAX) | (1u << K_ROLE) | (1u << K_ID) |   \
	 (1u << K_MAX_FRAME))

static int hello_key_find(const struct ttlog__cbor_item *it)
{
	for (int k = 0; k < K_COUNT; k++)
		if (ttlog__cbor_is(it, hello_keys[k], strlen(hello_keys[k])))
			return k;
	return -1;
}

static int hello_bad_cbor(struct ttlog__cbor *c, char *err, size_t errlen)
{
	ttlog__errf(err, errlen, "hello: bad CBOR: %s at offset %zu", c->why,
		    c->at);
	return -1;
}

/* Reads the value of key k into h. */
static int hello_value(struct ttlog__cbor *c, int k,
		       struct ttlog__wire_hello *h, char *err, size_t errlen)
{
	struct ttlog__cbor_item v;
	const char *name = hello_keys[k];

	if (ttlog__cbor_read(c, &v) != 0)
		return hello_bad_cbor(c, err, errlen);
	switch (k) {
	case K_ID:
		if (v.major != TTLOG__CBOR_BYTES) {
			ttlog__errf(err, errlen,
				    "hello: field \"id\" is not a byte string");
			return -1;
		}
		if (v.arg != TTLOG_WIRE_ID_LEN) {
			ttlog__errf(err, errlen,
				    "hello: field \"id\" is %" PRIu64
				    " bytes, not %d",
				    v.arg, TTLOG_WIRE_ID_LEN);
			return -1;
		}
		memcpy(h->id, v.str, TTLOG_WIRE_ID_LEN);
		return 0;
	case K_SERVICE:
	case K_HOST:
	case K_SOFTWARE:
		if (v.major != TTLOG__CBOR_TEXT &&
		    v.major != TTLOG__CBOR_BYTES) {
			ttlog__errf(err, errlen,
				    "hello: field \"%s\" is not a string",
				    name);
			return -1;
		}
		if (k == K_SERVICE)
			copy_clean(h->service, sizeof(h->service), SIZE_MAX,
				   v.str, (size_t)v.arg);
		else if (k == K_HOST)
			copy_clean(h->host, sizeof(h->host), SIZE_MAX, v.str,
				   (size_t)v.arg);
		else
			copy_clean(h->software, sizeof(h->software), SIZE_MAX,
				   v.str, (size_t)v.arg);
		return 0;
	default:
		break;
	}
	if (v.major != TTLOG__CBOR_UINT) {
		ttlog__errf(err, errlen,
			    "hello: field \"%s\" is not an unsigned integer",
			    name);
		return -1;
	}
	switch (k) {
	case K_V_MIN:
	case K_V_MAX:
		if (v.arg == 0 || v.arg > UINT32_MAX) {
			ttlog__errf(err, errlen,
				    "hello: field \"%s\" is %" PRIu64
				    ", not a version from 1 to 2^32 - 1",
				    name, v.arg);
			return -1;
		}
		if (k == K_V_MIN)
			h->version_min = (uint32_t)v.arg;
		else
			h->version_max = (uint32_t)v.arg;
		break;
	case K_ROLE:
		if (v.arg > 1) {
			ttlog__errf(err, errlen,
				    "hello: field \"role\" is %" PRIu64
				    ", not 0 (sender) or 1 (receiver)",
				    v.arg);
			return -1;
		}
		h->role = (int)v.arg;
		break;
	case K_MAX_FRAME:
		if (v.arg < MIN_FRAME) {
			ttlog__errf(err, errlen,
				    "hello: field \"max_frame\" is %" PRIu64
				    ", under the minimum of %d",
				    v.arg, MIN_FRAME);
			return -1;
		}
		h->max_frame = v.arg;
		break;
	case K_WINDOW:
		h->window = v.arg;
		break;
	case K_LAST_SEQ:
		h->last_seq = v.arg;
		break;
	case K_HEARTBEAT_MS:
		h->heartbeat_ms = v.arg;
		break;
	default: /* K_OLDEST */
		h->oldest = v.arg;
		break;
	}
	return 0;
}

int ttlog__wire_hello_parse(const unsigned char *body, size_t len,
			    struct ttlog__wire_hello *h, char *err,
			    size_t errlen)
{
	struct ttlog__cbor c;
	struct ttlog__cbor_item it;
	unsigned seen = 0;

	memset(h, 0, sizeof(*h));
	ttlog__cbor_init(&c, body, len);
	if (ttlog__cbor_read(&c, &it) != 0)
		return hello_bad_cbor(&c, err, errlen);
	if (it.major != TTLOG__CBOR_MAP) {
		ttlog__errf(err, errlen, "hello: the body is not a CBOR map");
		return -1;
	}
	/* A pair takes two bytes at least. */
	if (it.arg > ttlog__cbor_left(&c) / 2) {
		ttlog__errf(err, errlen,
			    "hello: a map of %" PRIu64 " pairs in %zu bytes",
			    it.arg, ttlog__cbor_left(&c));
		return -1;
	}
	for (uint64_t i = 0; i < it.arg; i++) {
		struct ttlog__cbor_item key;
		const unsigned char *at = c.p;
		int k;

		if (ttlog__cbor_read(&c, &key) != 0)
			return hello_bad_cbor(&c, err, errlen);
		if (key.major != TTLOG__CBOR_TEXT) {
			ttlog__errf(err, errlen,
				    "hello: a key is not a text string (offset "
				    "%zu)",
				    ttlog__cbor_offset(&c, at));
			return -1;
		}
		k = hello_key_find(&key);
		if (k < 0) {
			/* A newer peer's key: skipped, whatever it holds. */
			if (ttlog__cbor_skip(&c) != 0)
				return hello_bad_cbor(&c, err, errlen);
			continue;
		}
		if (seen & (1u << k)) {
			ttlog__errf(err, errlen,
				    "hello: field \"%s\" appears twice",
				    hello_keys[k]);
			return -1;
		}
		seen |= 1u << k;
		if (hello_value(&c, k, h, err, errlen) != 0)
			return -1;
	}
	if (ttlog__cbor_left(&c) != 0) {
		ttlog__errf(err, errlen,
			    "hello: %zu bytes after the map (offset %zu)",
			    ttlog__cbor_left(&c), ttlog__cbor_offset(&c, c.p));
		return -1;
	}
	for (int k = 0; k < K_COUNT; k++) {
		if ((REQUIRED & (1u << k)) && !(seen & (1u << k))) {
			ttlog__errf(err, errlen,
				    "hello: field \"%s\" is missing",
				    hello_keys[k]);
			return -1;
		}
	}
	if (h->version_min > h->version_max) {
		ttlog__errf(err, errlen,
			    "hello: v_min %" PRIu32 " is over v_max %" PRIu32,
			    h->version_min, h->version_max);
		return -1;
	}
	return 0;
}

uint32_t ttlog__wire_version_choose(uint32_t ours_min, uint32_t ours_max,
				    uint32_t peer_min, uint32_t peer_max,
				    char *err, size_t errlen)
{
	uint32_t lo = ours_min > peer_min ? ours_min : peer_min;
	uint32_t hi = ours_max < peer_max ? ours_max : peer_max;

	/* Version 0 does not exist: a range that holds only 0 holds
	 * nothing. */
	if (lo > hi || hi == 0) {
		ttlog__errf(err, errlen,
			    "peer speaks versions %" PRIu32 "..%" PRIu32
			    ", this build %" PRIu32 "..%" PRIu32,
			    peer_min, peer_max, ours_min, ours_max);
		return 0;
	}
	return hi;
}

/* ------------------------------------------------------------------ */
/* DATA, ACK, HEARTBEAT, CLOSE                                          */
/* ------------------------------------------------------------------ */

static const char *type_name(uint8_t type)
{
	switch (type) {
	case TTLOG_WIRE_HELLO:
		return "HELLO";
	case TTLOG_WIRE_DATA:
		return "DATA";
	case TTLOG_WIRE_ACK:
		return "ACK";
	case TTLOG_WIRE_HEARTBEAT:
		return "HEARTBEAT";
	case TTLOG_WIRE_CLOSE:
		return "CLOSE";
	default:
		return "unknown";
	}
}

void ttlog__wire_data_prefix(unsigned char out[TTLOG_WIRE_DATA_PREFIX],
			     uint64_t seq, uint32_t flags, uint32_t count,
			     size_t payload_len)
{
	ttlog__wire_put_header(out, TTLOG_WIRE_DATA,
			       TTLOG_WIRE_DATA_FIXED + payload_len);
	ttlog__put_be64(out + TTLOG_WIRE_HDR, seq);
	ttlog__put_be32(out + TTLOG_WIRE_HDR + 8, flags);
	ttlog__put_be32(out + TTLOG_WIRE_HDR + 12, count);
}

int ttlog__wire_data_parse(const struct ttlog__wire_msg *m, uint64_t *seq,
			   uint32_t *flags, uint32_t *count,
			   const unsigned char **payload, size_t *payload_len,
			   char *err, size_t errlen)
{
	const uint32_t known = TTLOG_WIRE_DATA_LZ4 | TTLOG_WIRE_DATA_RESENT;
	uint64_t s;
	uint32_t f;

	if (m->type != TTLOG_WIRE_DATA) {
		ttlog__errf(err, errlen,
			    "a %s message (type 0x%02x) is not DATA",
			    type_name(m->type), m->type);
		return -1;
	}
	if (m->len < TTLOG_WIRE_DATA_FIXED) {
		ttlog__errf(err, errlen, "DATA body of %zu bytes, under %d",
			    m->len, TTLOG_WIRE_DATA_FIXED);
		return -1;
	}
	s = ttlog__get_be64(m->body);
	f = ttlog__get_be32(m->body + 8);
	if (s == 0) {
		ttlog__errf(err, errlen, "DATA with seq 0 (seq counts from 1)");
		return -1;
	}
	if (f & ~known) {
		ttlog__errf(err, errlen,
			    "DATA %" PRIu64 ": unknown flags 0x%" PRIx32, s,
			    f & ~known);
		return -1;
	}
	*seq = s;
	*flags = f;
	*count = ttlog__get_be32(m->body + 12);
	*payload = m->body + TTLOG_WIRE_DATA_FIXED;
	*payload_len = m->len - TTLOG_WIRE_DATA_FIXED;
	return 0;
}

static void u64_encode(unsigned char out[TTLOG_WIRE_U64_MSG], uint8_t type,
		       uint64_t v)
{
	ttlog__wire_put_header(out, type, 8);
	ttlog__put_be64(out + TTLOG_WIRE_HDR, v);
}

void ttlog__wire_ack_encode(unsigned char out[TTLOG_WIRE_U64_MSG], uint64_t seq)
{
	u64_encode(out, TTLOG_WIRE_ACK, seq);
}

void ttlog__wire_heartbeat_encode(unsigned char out[TTLOG_WIRE_U64_MSG],
				  uint64_t value)
{
	u64_encode(out, TTLOG_WIRE_HEARTBEAT, value);
}

int ttlog__wire_u64_parse(const struct ttlog__wire_msg *m, uint64_t *v,
			  char *err, size_t errlen)
{
	if (m->type != TTLOG_WIRE_ACK && m->type != TTLOG_WIRE_HEARTBEAT) {
		ttlog__errf(
			err, errlen,
			"a %s message (type 0x%02x) is not ACK or HEARTBEAT",
			type_name(m->type), m->type);
		return -1;
	}
	if (m->len != 8) {
		ttlog__errf(err, errlen, "%s body of %zu bytes, not 8",
			    type_name(m->type), m->len);
		return -1;
	}
	*v = ttlog__get_be64(m->body);
	return 0;
}

size_t ttlog__wire_close_encode(unsigned char *out, size_t cap, uint16_t code,
				const char *reason)
{
	size_t n = reason != NULL ? strlen(reason) : 0;

	if (cap < TTLOG_WIRE_HDR + 2)
		return 0;
	if (n > TTLOG_WIRE_REASON_MAX)
		n = TTLOG_WIRE_REASON_MAX;
	if (n > cap - TTLOG_WIRE_HDR - 2)
		n = cap - TTLOG_WIRE_HDR - 2;
	/* Cut at a character boundary: never before a continuation byte. */
	if (reason != NULL && reason[n] != '\0')
		while (n > 0 && ((unsigned char)reason[n] & 0xC0u) == 0x80u)
			n--;
	ttlog__wire_put_header(out, TTLOG_WIRE_CLOSE, 2 + n);
	ttlog__put_be16(out + TTLOG_WIRE_HDR, code);
	if (n > 0)
		memcpy(out + TTLOG_WIRE_HDR + 2, reason, n);
	return TTLOG_WIRE_HDR + 2 + n;
}

int ttlog__wire_close_parse(const struct ttlog__wire_msg *m, uint16_t *code,
			    char *reason, size_t reason_cap, char *err,
			    size_t errlen)
{
	if (m->type != TTLOG_WIRE_CLOSE) {
		ttlog__errf(err, errlen,
			    "a %s message (type 0x%02x) is not CLOSE",
			    type_name(m->type), m->type);
		return -1;
	}
	if (m->len < 2) {
		ttlog__errf(err, errlen, "CLOSE body of %zu bytes, under 2",
			    m->len);
		return -1;
	}
	*code = ttlog__get_be16(m->body);
	/* A longer reason than the protocol allows is cut, not refused:
	 * the peer is leaving anyway, and its words may help. */
	copy_clean(reason, reason_cap, TTLOG_WIRE_REASON_MAX, m->body + 2,
		   m->len - 2);
	return 0;
}
