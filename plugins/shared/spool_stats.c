/*
 * spool_stats.c - the spool's loss accounting (docs/spool.md, "Losses"):
 * what the size cap deleted, split into records lost (in no memory) and
 * records still held in the caller's memory; damaged records; and the
 * `stats` file that carries the totals, the held records and how far
 * each segment's damage was counted across a restart, so that a loss is
 * counted once, whatever happens to the process.
 *
 * The file is text, one "key value..." per line, ending with a line
 * "crc XXXXXXXX" (CRC-32C of everything before it). It is replaced
 * atomically: written to stats.tmp, synced unless fsync is never, and
 * renamed over `stats`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool_internal.h"

#define STATS_MAX (1u << 20)
#define STATS_HEAD "ttlog spool stats 1\n"

/* The totals the file keeps, by name. */
#define TOTALS(X)                                                              \
	X(dropped_records)                                                     \
	X(dropped_events)                                                      \
	X(corrupt_records)                                                     \
	X(corrupt_bytes)                                                       \
	X(corrupt_events)                                                      \
	X(corrupt_estimated)                                                   \
	X(gap_records)

static void report(struct ttlog__spool *s, const struct ttlog__spool_loss *l)
{
	if (s->on_loss != NULL)
		s->on_loss(s->loss_arg, l);
}

static void gone(struct ttlog__spool *s, uint64_t hi)
{
	if (hi > s->gone_hi)
		s->gone_hi = hi;
}

/* ------------------------------------------------------------------ */
/* the file                                                             */
/* ------------------------------------------------------------------ */

static int held_push(struct ttlog__spool *s, const struct ttlog__spool_held *h)
{
	if (s->nheld == s->heldcap) {
		size_t nc = s->heldcap ? 2 * s->heldcap : 8;
		struct ttlog__spool_held *n = realloc(s->held, nc * sizeof(*n));
		if (n == NULL)
			return -1;
		s->held = n;
		s->heldcap = nc;
	}
	s->held[s->nheld++] = *h;
	return 0;
}

static int mark_push(struct ttlog__spool *s, uint64_t first, uint64_t counted)
{
	struct ttlog__spool_mark *n =
		realloc(s->marks, (s->nmarks + 1) * sizeof(*n));
	if (n == NULL)
		return -1;
	s->marks = n;
	s->marks[s->nmarks++] = (struct ttlog__spool_mark){first, counted};
	return 0;
}

/* Parses the file's text (NUL-terminated, CRC checked); 0 or -1. */
static int parse(struct ttlog__spool *s, char *text)
{
	char *save = NULL;

	if (strncmp(text, STATS_HEAD, strlen(STATS_HEAD)) != 0)
		return -1;
	for (char *l = strtok_r(text + strlen(STATS_HEAD), "\n", &save);
	     l != NULL; l = strtok_r(NULL, "\n", &save)) {
		char key[32];
		uint64_t a, b, c, d;
		int n = sscanf(
			l, "%31s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
			key, &a, &b, &c, &d);
		if (n < 2)
			return -1;
#define LOAD(f)                                                                \
	if (strcmp(key, #f) == 0) {                                            \
		s->st.f = a;                                                   \
		continue;                                                      \
	}
		TOTALS(LOAD)
#undef LOAD
		if (strcmp(key, "gone_hi") == 0) {
			s->gone_hi = a;
		} else if (strcmp(key, "held") == 0 && n == 5) {
			struct ttlog__spool_held h = {a, b, c, d};
			if (h.lo > h.hi || held_push(s, &h) != 0)
				return -1;
		} else if (strcmp(key, "counted") == 0 && n == 3) {
			if (mark_push(s, a, b) != 0)
				return -1;
		} /* other keys: a newer version's, ignored */
	}
	return 0;
}

void ttlog__spool_stats_load(struct ttlog__spool *s)
{
	char *buf = malloc(STATS_MAX + 1), *crcl;
	ssize_t n = -1;
	unsigned crc;
	int fd;

	fd = openat(s->dirfd, "stats", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		free(buf);
		return; /* a new spool, or one from before the file */
	}
	if (fd >= 0 && buf != NULL)
		n = read(fd, buf, STATS_MAX + 1);
	if (fd >= 0)
		close(fd);
	if (n > 0 && n <= (ssize_t)STATS_MAX) {
		buf[n] = '\0';
		crcl = strstr(buf, "\ncrc ");
		if (crcl != NULL && sscanf(crcl + 5, "%8x", &crc) == 1 &&
		    ttlog__crc32c(0, (unsigned char *)buf,
				  (size_t)(crcl - buf + 1)) == crc) {
			crcl[1] = '\0';
			if (parse(s, buf) == 0) {
				free(buf);
				return;
			}
		}
	}
	free(buf);
	/* Unreadable: the totals start again from 0, which is said. */
	memset(&s->st, 0, sizeof(s->st));
	s->nheld = 0;
	s->nmarks = 0;
	s->gone_hi = 0;
	s->st.write_errors++;
	report(s, &(struct ttlog__spool_loss){
			  .kind = TTLOG_SPOOL_LOSS_DAMAGE,
			  .segment = "stats",
			  .reason = "the loss counters of earlier runs are "
				    "unreadable and start again from 0"});
}

void ttlog__spool_stats_save(struct ttlog__spool *s)
{
	char *buf;
	size_t cap = 512 + 96 * (s->nheld + s->nsegs), len = 0;
	int fd, ok;

	buf = malloc(cap);
	if (buf == NULL) {
		s->st.write_errors++;
		return;
	}
	/* The lines are bounded (numbers of 20 digits at most), so cap
	 * holds them; a longer text would only be refused below. */
#define PUT(...)                                                               \
	do {                                                                   \
		if (len < cap)                                                 \
			len += (size_t)snprintf(buf + len, cap - len,          \
						__VA_ARGS__);                  \
	} while (0)
	PUT("%s", STATS_HEAD);
#define SAVE(f) PUT(#f " %" PRIu64 "\n", s->st.f);
	TOTALS(SAVE)
#undef SAVE
	PUT("gone_hi %" PRIu64 "\n", s->gone_hi);
	for (size_t i = 0; i < s->nheld; i++)
		PUT("held %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
		    s->held[i].lo, s->held[i].hi, s->held[i].records,
		    s->held[i].events);
	for (size_t i = 0; i < s->nsegs; i++)
		if (s->segs[i].counted > 0)
			PUT("counted %" PRIu64 " %" PRIu64 "\n",
			    s->segs[i].first, s->segs[i].counted);
	PUT("crc %08x\n",
	    (unsigned)ttlog__crc32c(0, (unsigned char *)buf, len));
#undef PUT
	fd = openat(s->dirfd, "stats.tmp",
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0600);
	ok = fd >= 0 && len < cap && write(fd, buf, len) == (ssize_t)len &&
	     (s->o.fsync == TTLOG_SPOOL_FSYNC_NEVER || fdatasync(fd) == 0);
	if (fd >= 0)
		close(fd);
	if (ok)
		ok = renameat(s->dirfd, "stats.tmp", s->dirfd, "stats") == 0;
	if (!ok)
		s->st.write_errors++;
	free(buf);
}

uint64_t ttlog__spool_stats_mark(const struct ttlog__spool *s, uint64_t first)
{
	for (size_t i = 0; i < s->nmarks; i++)
		if (s->marks[i].first == first)
			return s->marks[i].counted;
	return 0;
}

/* ------------------------------------------------------------------ */
/* losses                                                               */
/* ------------------------------------------------------------------ */

static const char *damage_reason(unsigned r, char *buf, size_t cap)
{
	static const char *const names[] = {"bad record header", "CRC mismatch",
					    "cut short", "seq out of order"};
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < 4; i++)
		if (r & (1u << i))
			len += (size_t)snprintf(buf + len, cap - len, "%s%s",
						len ? ", " : "", names[i]);
	return buf;
}

void ttlog__spool_stats_damage(struct ttlog__spool *s, uint64_t first,
			       const struct ttlog__spool_damage *d, double avg)
{
	char name[TTLOG__SPOOL_NAME_LEN + 1], why[96];
	uint64_t guess = (uint64_t)((double)d->unknown * avg + 0.5);

	if (d->records == 0)
		return;
	ttlog__spool_seg_name(name, first);
	s->st.corrupt_records += d->records;
	s->st.corrupt_bytes += d->bytes;
	s->st.corrupt_events += d->events + guess;
	s->st.corrupt_estimated += d->unknown;
	gone(s, d->seq_hi);
	report(s,
	       &(struct ttlog__spool_loss){
		       .kind = TTLOG_SPOOL_LOSS_DAMAGE,
		       .segment = name,
		       .offset = d->offset,
		       .records = d->records,
		       .events = d->events + guess,
		       .bytes = d->bytes,
		       .estimated = d->unknown,
		       .seq_lo = d->seq_lo,
		       .seq_hi = d->seq_hi,
		       .reason = damage_reason(d->reasons, why, sizeof(why))});
}

void ttlog__spool_stats_dropped(struct ttlog__spool *s, uint64_t first,
				uint64_t records, uint64_t events, uint64_t lo,
				uint64_t hi, int held)
{
	char name[TTLOG__SPOOL_NAME_LEN + 1];

	if (records == 0)
		return;
	gone(s, hi);
	if (held) {
		struct ttlog__spool_held h = {lo, hi, records, events};
		struct ttlog__spool_held *t =
			s->nheld > 0 ? &s->held[s->nheld - 1] : NULL;
		/* The cap deletes in seq order: one run grows, which keeps
		 * the file small whatever the window's size. */
		if (t != NULL && t->hi + 1 == lo) {
			t->hi = hi;
			t->records += records;
			t->events += events;
			return;
		}
		if (held_push(s, &h) == 0)
			return;
		/* No memory to remember them: counted as lost now rather
		 * than risk never counting them. */
	}
	ttlog__spool_seg_name(name, first);
	s->st.dropped_records += records;
	s->st.dropped_events += events;
	report(s, &(struct ttlog__spool_loss){.kind = TTLOG_SPOOL_LOSS_CAP,
					      .segment = name,
					      .records = records,
					      .events = events,
					      .seq_lo = lo,
					      .seq_hi = hi});
}

/* The part of h above floor: its records and (in proportion) events. */
static void held_above(const struct ttlog__spool_held *h, uint64_t floor,
		       uint64_t *records, uint64_t *events)
{
	uint64_t n;

	if (h->hi <= floor) {
		*records = *events = 0;
		return;
	}
	n = h->lo > floor ? h->records : h->hi - floor;
	if (n > h->records)
		n = h->records;
	*records = n;
	*events = n == h->records ? h->events
				  : (uint64_t)((double)h->events * (double)n /
						       (double)h->records +
					       0.5);
}

void ttlog__spool_stats_held(const struct ttlog__spool *s, uint64_t *records,
			     uint64_t *events)
{
	*records = *events = 0;
	for (size_t i = 0; i < s->nheld; i++) {
		uint64_t r, e;
		held_above(&s->held[i], s->acked, &r, &e);
		*records += r;
		*events += e;
	}
}

void ttlog__spool_stats_acked(struct ttlog__spool *s)
{
	size_t k = 0;

	for (size_t i = 0; i < s->nheld; i++)
		if (s->held[i].hi > s->acked)
			s->held[k++] = s->held[i];
	if (k != s->nheld) {
		s->nheld = k;
		ttlog__spool_stats_save(s);
	}
}

/* The held records above floor are lost: counted, reported, forgotten. */
static void release(struct ttlog__spool *s, uint64_t floor, const char *why)
{
	uint64_t records = 0, events = 0, lo = 0, hi = 0;
	size_t k = 0;

	if (floor < s->acked)
		floor = s->acked;
	for (size_t i = 0; i < s->nheld; i++) {
		struct ttlog__spool_held *h = &s->held[i];
		uint64_t r, e;
		held_above(h, floor, &r, &e);
		if (r > 0) {
			records += r;
			events += e;
			if (lo == 0)
				lo = h->lo > floor ? h->lo : floor + 1;
			hi = h->hi;
		}
		if (h->hi <= floor) {
			s->held[k++] = *h;
		} else if (h->lo <= floor) {
			/* The part below floor is still held. */
			h->records -= r;
			h->events -= e;
			h->hi = floor;
			s->held[k++] = *h;
		}
	}
	s->nheld = k;
	if (records == 0)
		return;
	s->st.dropped_records += records;
	s->st.dropped_events += events;
	report(s, &(struct ttlog__spool_loss){.kind = TTLOG_SPOOL_LOSS_HELD,
					      .segment = "",
					      .records = records,
					      .events = events,
					      .seq_lo = lo,
					      .seq_hi = hi,
					      .reason = why});
	ttlog__spool_stats_save(s);
}

void ttlog__spool_set_held(struct ttlog__spool *s, uint64_t hi)
{
	if (hi < s->held_hi)
		release(s, hi, "let go by the sender before acknowledgement");
	s->held_hi = hi;
}

void ttlog__spool_set_reporter(struct ttlog__spool *s, ttlog__spool_loss_fn fn,
			       void *arg)
{
	s->on_loss = fn;
	s->loss_arg = arg;
}

void ttlog__spool_stats_settle(struct ttlog__spool *s)
{
	uint64_t floor = s->acked > s->gone_hi ? s->acked : s->gone_hi;

	free(s->marks);
	s->marks = NULL;
	s->nmarks = 0;
	if (s->nheld > 0) {
		/* What the previous run held in memory died with it. */
		release(s, 0, "held in memory by the previous run");
	}
	if (s->acked_ok && s->nsegs > 0 && s->segs[0].first > floor + 1) {
		const struct ttlog__spool_seg *g = &s->segs[0];
		uint64_t n = g->first - floor - 1;
		double avg =
			g->records ? (double)g->events / (double)g->records : 0;
		s->st.gap_records += n;
		s->st.dropped_records += n;
		s->st.dropped_events += (uint64_t)((double)n * avg + 0.5);
		gone(s, g->first - 1);
		report(s, &(struct ttlog__spool_loss){
				  .kind = TTLOG_SPOOL_LOSS_GAP,
				  .segment = "",
				  .records = n,
				  .events = (uint64_t)((double)n * avg + 0.5),
				  .estimated = n,
				  .seq_lo = floor + 1,
				  .seq_hi = g->first - 1});
	}
	/* Always: the damage marks of this scan, and a file for a new
	 * spool, so that a later gap is known to be unexplained. */
	ttlog__spool_stats_save(s);
}
