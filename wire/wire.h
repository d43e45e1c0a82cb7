/*
 * wire.h - the native ttlog protocol (docs/native-protocol.md): message
 * framing, the hello, DATA/ACK/HEARTBEAT/CLOSE bodies. Decoding a DATA
 * payload back into events is in wire_payload.h (the receiving side only).
 *
 * Shared by the forward plugin (the sending side) and the agent's `ttlog`
 * input (the receiving side); linked into both as the static library
 * ttlog_wire. Pure functions over byte buffers: no I/O, no globals, so the
 * fuzz targets can drive every parser directly.
 *
 * Every parser takes untrusted bytes: it never reads past `len`, never
 * allocates more than the limits it is given allow, and reports what was
 * wrong in `err` (a sentence without a trailing period, e.g.
 * "hello: field \"max_frame\" is not an unsigned integer").
 */
#ifndef TTLOG_WIRE_H
#define TTLOG_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Each side starts its stream with these 4 bytes, then messages. */
#define TTLOG_WIRE_MAGIC "TTLG"
#define TTLOG_WIRE_MAGIC_LEN 4

/* Protocol versions this build speaks. */
#define TTLOG_WIRE_VERSION_MIN 1
#define TTLOG_WIRE_VERSION_MAX 1

/* A message: u32 length (big-endian; the bytes after it: the type byte and
 * the body, so >= 1), u8 type, body. */
#define TTLOG_WIRE_HDR 5

enum ttlog__wire_type {
	TTLOG_WIRE_HELLO = 0x01,
	TTLOG_WIRE_DATA = 0x02,
	TTLOG_WIRE_ACK = 0x03,
	TTLOG_WIRE_HEARTBEAT = 0x04,
	TTLOG_WIRE_CLOSE = 0x05,
};
/* Types at or above this value may be ignored by a peer that does not
 * know them; an unknown type below it is a protocol error. */
#define TTLOG_WIRE_IGNORABLE 0x40

/* The largest message accepted before the peer's hello has been read. */
#define TTLOG_WIRE_HELLO_MAX 65536

/* DATA body: u64 seq, u32 flags, u32 event count, then the payload. */
#define TTLOG_WIRE_DATA_FIXED 16
#define TTLOG_WIRE_DATA_LZ4 0x1u    /* payload is CBOR in one LZ4 frame */
#define TTLOG_WIRE_DATA_RESENT 0x2u /* sent before on another connection */

/* CLOSE codes (u16). */
enum ttlog__wire_close {
	TTLOG_WIRE_CLOSE_NORMAL = 0,	 /* shutting down */
	TTLOG_WIRE_CLOSE_PROTOCOL = 1,	 /* malformed message, bad sequence */
	TTLOG_WIRE_CLOSE_VERSION = 2,	 /* no common protocol version */
	TTLOG_WIRE_CLOSE_TOO_LARGE = 3,	 /* message over the announced max */
	TTLOG_WIRE_CLOSE_LIMIT = 4,	 /* connections, unacked bytes */
	TTLOG_WIRE_CLOSE_TIMEOUT = 5,	 /* no heartbeat */
	TTLOG_WIRE_CLOSE_OVERLOADED = 6, /* try another endpoint */
};

#define TTLOG_WIRE_ID_LEN 16
#define TTLOG_WIRE_REASON_MAX 1024

enum ttlog__wire_role {
	TTLOG_WIRE_SENDER = 0,
	TTLOG_WIRE_RECEIVER = 1,
};

/* A hello: a CBOR map (see the spec for keys); strings are NUL-terminated
 * copies, cut to the array size. */
struct ttlog__wire_hello {
	uint32_t version_min, version_max; /* receiver: both = chosen */
	int role;			   /* enum ttlog__wire_role */
	uint8_t id[TTLOG_WIRE_ID_LEN];	   /* the instance id of this side */
	char service[128];
	char host[256];
	char software[64];  /* "ttlog 0.1.0" */
	uint64_t max_frame; /* largest message this side accepts */
	/* Receiver: unacknowledged DATA bytes it accepts on the connection
	 * (the sender stops sending past it). Sender: 0. */
	uint64_t window;
	/* Receiver: the highest seq it has delivered for the sender's id
	 * (0 if it does not know the id); the sender may skip frames up to
	 * it. Sender: 0. */
	uint64_t last_seq;
	/* Heartbeat interval this side uses, ms (0: none). */
	uint64_t heartbeat_ms;
	/* Sender: the lowest seq it still holds unacknowledged, or its next
	 * seq when it holds none; frames below it that the receiver never
	 * delivered are lost. Receiver: not sent. 0 when absent (a peer that
	 * predates the key): nothing is known. */
	uint64_t oldest;
};

/* Writes the 5-byte header of a message whose body is body_len bytes
 * (body_len + 1 must fit in 32 bits: messages stay under max_frame). */
void ttlog__wire_put_header(unsigned char out[TTLOG_WIRE_HDR], uint8_t type,
			    size_t body_len);

struct ttlog__wire_msg {
	uint8_t type;
	const unsigned char *body; /* points into the caller's buffer */
	size_t len;		   /* body bytes */
};

/*
 * Finds the next whole message at buf[0..avail).
 * @param max_frame  the largest total message (header + body) accepted.
 * @return 1: *m set, *used = bytes of the message (header included);
 *         0: more bytes are needed (nothing set);
 *        -1: error in err (length 0, or over max_frame: "message of N
 *            bytes is over the limit of M"). The stream cannot continue.
 */
int ttlog__wire_next(const unsigned char *buf, size_t avail, size_t max_frame,
		     struct ttlog__wire_msg *m, size_t *used, char *err,
		     size_t errlen);

/* The hello: the whole message (header included) into out. Returns its
 * length, or 0 when cap is too small (TTLOG_WIRE_HELLO_CAP always
 * suffices: 618 bytes with every string at its longest). */
#define TTLOG_WIRE_HELLO_CAP 640
size_t ttlog__wire_hello_encode(const struct ttlog__wire_hello *h,
				unsigned char *out, size_t cap);
/* Parses a HELLO body. Unknown keys are ignored (a newer peer may add
 * some); a missing required key, a wrong type, version_min > version_max
 * or an id of the wrong size is an error. Returns 0 or -1 with err. */
int ttlog__wire_hello_parse(const unsigned char *body, size_t len,
			    struct ttlog__wire_hello *h, char *err,
			    size_t errlen);
/*
 * Chooses the version both sides speak: the highest in the intersection
 * of [ours_min, ours_max] and [peer_min, peer_max]. Returns it, or 0 with
 * err ("peer speaks versions 2..3, this build 1..1").
 */
uint32_t ttlog__wire_version_choose(uint32_t ours_min, uint32_t ours_max,
				    uint32_t peer_min, uint32_t peer_max,
				    char *err, size_t errlen);

/* DATA: the header plus the fixed part (TTLOG_WIRE_HDR + 16 bytes); the
 * payload follows it on the stream, payload_len bytes. */
#define TTLOG_WIRE_DATA_PREFIX (TTLOG_WIRE_HDR + TTLOG_WIRE_DATA_FIXED)
void ttlog__wire_data_prefix(unsigned char out[TTLOG_WIRE_DATA_PREFIX],
			     uint64_t seq, uint32_t flags, uint32_t count,
			     size_t payload_len);
/* Parses a DATA body; the payload points into it. Returns 0 or -1. */
int ttlog__wire_data_parse(const struct ttlog__wire_msg *m, uint64_t *seq,
			   uint32_t *flags, uint32_t *count,
			   const unsigned char **payload, size_t *payload_len,
			   char *err, size_t errlen);

/* ACK (u64 seq: every DATA up to it is delivered) and HEARTBEAT (u64 of
 * the sender's choosing, echoed by nobody): whole messages, 13 bytes. */
#define TTLOG_WIRE_U64_MSG (TTLOG_WIRE_HDR + 8)
void ttlog__wire_ack_encode(unsigned char out[TTLOG_WIRE_U64_MSG],
			    uint64_t seq);
void ttlog__wire_heartbeat_encode(unsigned char out[TTLOG_WIRE_U64_MSG],
				  uint64_t value);
/* Parses an ACK or HEARTBEAT body. Returns 0 or -1. */
int ttlog__wire_u64_parse(const struct ttlog__wire_msg *m, uint64_t *v,
			  char *err, size_t errlen);

/* CLOSE: u16 code, then the reason (UTF-8, at most 1024 bytes; longer is
 * cut). Returns the whole message length written into out (cap >=
 * TTLOG_WIRE_HDR + 2 + 1024 always suffices). */
size_t ttlog__wire_close_encode(unsigned char *out, size_t cap, uint16_t code,
				const char *reason);
/* Parses a CLOSE body; the reason is copied NUL-terminated (control
 * characters replaced by '?'). Returns 0 or -1. */
int ttlog__wire_close_parse(const struct ttlog__wire_msg *m, uint16_t *code,
			    char *reason, size_t reason_cap, char *err,
			    size_t errlen);

#endif /* TTLOG_WIRE_H */
