/*
 * spool_reader.c - reading the spool in seq order for the sender: one
 * segment open at a time, rewound to the first record above a seq, and
 * following appends to the newest segment and deletions behind its back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"
#include "spool_internal.h"

static void reader_close(struct ttlog__spool_reader *r)
{
	if (r->c.fd >= 0)
		close(r->c.fd);
	r->c.fd = -1;
	r->open = 0;
}

void ttlog__spool_rewind(struct ttlog__spool *s, uint64_t after)
{
	struct ttlog__spool_reader *r = &s->rd;
	size_t i = s->nsegs;

	/* The last segment named at or below after + 1 holds the first
	 * record above after, if any does; none: start at the oldest. */
	if (after < UINT64_MAX)
		while (i > 0 && s->segs[i - 1].first > after + 1)
			i--;
	/* Already in that segment and not past after: go on from here. */
	if (r->open && i > 0 && s->segs[i - 1].first == r->cur &&
	    s->segs[i - 1].gen == r->cur_gen && r->floor <= after) {
		r->floor = after;
		return;
	}
	reader_close(r);
	r->want = i > 0 ? s->segs[i - 1].first : 0;
	if (after == UINT64_MAX)
		r->want = UINT64_MAX;
	r->floor = after;
}

int ttlog__spool_next(struct ttlog__spool *s, struct ttlog__spool_rec *rec,
		      char *err, size_t errlen)
{
	struct ttlog__spool_reader *r = &s->rd;
	char name[TTLOG__SPOOL_NAME_LEN + 1];

	for (;;) {
		size_t i;
		int rc;
		if (!r->open) {
			struct stat st;
			int fd;
			for (i = 0; i < s->nsegs; i++)
				if (s->segs[i].first >= r->want)
					break;
			if (i == s->nsegs)
				return 0;
			fd = ttlog__spool_seg_open(s, s->segs[i].first,
						   O_RDONLY);
			if (fd < 0 && errno == ENOENT) {
				/* Gone behind our back: nothing to read. */
				r->want = s->segs[i].first + 1;
				continue;
			}
			ttlog__spool_seg_name(name, s->segs[i].first);
			if (fd < 0 || fstat(fd, &st) != 0) {
				int e = errno;
				if (fd >= 0)
					close(fd);
				return ttlog__errf(err, errlen,
						   "spool %s/%s: %s", s->dir,
						   name, strerror(e));
			}
			ttlog__spool_cursor_start(&r->c, fd, NULL,
						  (uint64_t)st.st_size,
						  s->segs[i].first);
			r->open = 1;
			r->cur = s->segs[i].first;
			r->cur_gen = s->segs[i].gen;
		} else {
			i = ttlog__spool_seg_find(s, r->cur, r->cur_gen);
			if (i == s->nsegs) {
				/* Deleted (acknowledged or the size cap)
				 * while we were in it: on to the next. */
				reader_close(r);
				r->want = r->cur + 1;
				continue;
			}
		}
		struct ttlog__spool_damage d = {0};
		struct ttlog__spool_counters k = {&d, &s->segs[i].counted};
		r->c.upper = i + 1 < s->nsegs ? s->segs[i + 1].first : 0;
		rc = ttlog__spool_cursor_next(&r->c, rec, &k);
		if (d.records > 0) {
			/* Damage past what the scan at open counted:
			 * written since (a write cut short that could not
			 * be cut off). */
			const struct ttlog__spool_seg *g = &s->segs[i];
			ttlog__spool_stats_damage(
				s, g->first, &d,
				g->records
					? (double)g->events / (double)g->records
					: 0);
			ttlog__spool_stats_save(s);
		}
		if (rc < 0) {
			int e = errno;
			ttlog__spool_seg_name(name, r->cur);
			return ttlog__errf(err, errlen, "spool %s/%s: read: %s",
					   s->dir, name, strerror(e));
		}
		if (rc > 0) {
			if (rec->seq <= r->floor)
				continue;
			r->floor = rec->seq;
			return 1;
		}
		if (i == s->nsegs - 1)
			return 0; /* stay: appends to it are read next time */
		reader_close(r);
		r->want = r->cur + 1;
	}
}
