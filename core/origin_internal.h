/*
 * origin_internal.h - where events came from (struct ttlog_origin), as
 * shared, immutable, reference-counted objects.
 *
 * Many events share one origin: every event of a program, of one
 * connection, of one syslog sender. So an event does not carry its
 * origin's strings; a batch keeps a table of the origins its events use
 * (one reference each) and every event an index into it, as with call
 * sites. Inputs make an origin once per connection or sender and hand the
 * same pointer with each event (struct ttlog__in_event.origin).
 */
#ifndef TTLOG_ORIGIN_INTERNAL_H
#define TTLOG_ORIGIN_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <ttlog/batch.h>

/* The six strings of an origin, in the order of struct ttlog_origin. */
enum {
	TTLOG__ORIGIN_HOST,
	TTLOG__ORIGIN_SERVICE,
	TTLOG__ORIGIN_INPUT,
	TTLOG__ORIGIN_PEER,
	TTLOG__ORIGIN_PEER_ID,
	TTLOG__ORIGIN_RELAY,
	TTLOG__ORIGIN_NFIELDS
};

/* Most distinct origins in one batch (an event's index is 16 bits): an
 * event with one more makes the batch full. */
#define TTLOG__BATCH_MAX_ORIGINS 65535u

/* Longest origin string kept; longer ones are cut (at a UTF-8 boundary). */
#define TTLOG__ORIGIN_MAX_FIELD 255

struct ttlog__origin {
	struct ttlog_origin pub; /* first: a ttlog__origin is a ttlog_origin */
	atomic_uint refs;
	uint64_t hash; /* of the six strings */
	/* The batch being built that lists this origin, and where (writer
	 * thread only, as struct ttlog_callsite's priv). */
	uint64_t epoch;
	uint32_t index;
	/* the strings follow */
};

/* One string given to ttlog__origin_new(): bytes and length. */
struct ttlog__origin_str {
	const char *p;
	size_t len;
};

/*
 * A new origin with one reference, its strings copied (NULL p means "");
 * control characters become '?' and strings are cut to
 * TTLOG__ORIGIN_MAX_FIELD bytes. NULL when out of memory.
 */
struct ttlog__origin *
ttlog__origin_new(const struct ttlog__origin_str s[TTLOG__ORIGIN_NFIELDS]);
/* The same with C strings (NULL means ""). */
struct ttlog__origin *ttlog__origin_make(const char *host, const char *service,
					 const char *input, const char *peer,
					 const char *peer_id,
					 const char *relay);
/* Whether o has exactly these strings (after the same cleaning). */
int ttlog__origin_equal(
	const struct ttlog__origin *o,
	const struct ttlog__origin_str s[TTLOG__ORIGIN_NFIELDS]);
/* The string i of o (TTLOG__ORIGIN_HOST ...). */
static inline const char *ttlog__origin_get(const struct ttlog_origin *o, int i)
{
	const char *const *f = &o->host;
	return f[i];
}

void ttlog__origin_ref(struct ttlog__origin *o);
void ttlog__origin_unref(struct ttlog__origin *o);

/*
 * The origin of this process's own events: service from
 * ttlog_options.service, host from gethostname(). Set by ttlog_init()
 * (ttlog__origin_self_set) and valid until ttlog_shutdown(); an empty
 * origin before. Events of batches built without an origin get this one.
 */
struct ttlog__origin *ttlog__origin_self(void);
int ttlog__origin_self_set(const char *service);
void ttlog__origin_self_clear(void);

/*
 * A small cache of origins for an input that sees many senders (syslog
 * HOSTNAME/APP-NAME, relayed batches): finds the origin with these strings
 * or makes one. The cache holds one reference to each entry; the result
 * is borrowed until the next call or ttlog__origin_cache_clear(). NULL
 * when out of memory.
 */
#define TTLOG__ORIGIN_CACHE_SLOTS 64
struct ttlog__origin_cache {
	struct ttlog__origin *slot[TTLOG__ORIGIN_CACHE_SLOTS];
};
struct ttlog__origin *ttlog__origin_cache_get(
	struct ttlog__origin_cache *c,
	const struct ttlog__origin_str s[TTLOG__ORIGIN_NFIELDS]);
void ttlog__origin_cache_clear(struct ttlog__origin_cache *c);

#endif /* TTLOG_ORIGIN_INTERNAL_H */
