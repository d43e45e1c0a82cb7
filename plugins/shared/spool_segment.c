/*
 * spool_segment.c - the spool's segment files and their index in memory
 * (first seq from the name, last good seq, record and event counts,
 * size), built at open by reading every segment once. Appends go to the
 * newest segment only; acknowledgements and the size cap delete whole
 * segments from the old end.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"
#include "spool_internal.h"

/* ------------------------------------------------------------------ */
/* the index                                                            */
/* ------------------------------------------------------------------ */

void ttlog__spool_seg_name(char *buf, uint64_t first)
{
	snprintf(buf, TTLOG__SPOOL_NAME_LEN + 1, "%020llu.seg",
		 (unsigned long long)first);
}

/* Parses NNNNNNNNNNNNNNNNNNNN.seg; 0 for any other name. */
static int parse_name(const char *name, uint64_t *first)
{
	uint64_t v = 0;

	if (strlen(name) != TTLOG__SPOOL_NAME_LEN ||
	    strcmp(name + TTLOG__SPOOL_NAME_DIGITS, ".seg"))
		return 0;
	for (int i = 0; i < TTLOG__SPOOL_NAME_DIGITS; i++) {
		unsigned d = (unsigned)(name[i] - '0');
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*first = v;
	return 1;
}

static int seg_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct ttlog__spool_seg *)a)->first;
	uint64_t y = ((const struct ttlog__spool_seg *)b)->first;
	return x < y ? -1 : x > y;
}

static struct ttlog__spool_seg *seg_push(struct ttlog__spool *s, uint64_t first)
{
	if (s->nsegs == s->segcap) {
		size_t nc = s->segcap ? s->segcap * 2 : 16;
		struct ttlog__spool_seg *n = realloc(s->segs, nc * sizeof(*n));
		if (n == NULL)
			return NULL;
		s->segs = n;
		s->segcap = nc;
	}
	struct ttlog__spool_seg *g = &s->segs[s->nsegs++];
	memset(g, 0, sizeof(*g));
	g->first = first;
	g->last = first > 0 ? first - 1 : 0;
	g->gen = ++s->gen;
	return g;
}

/* The index of segment (first, gen), or nsegs. */
size_t ttlog__spool_seg_find(const struct ttlog__spool *s, uint64_t first,
			     uint64_t gen)
{
	for (size_t i = 0; i < s->nsegs; i++)
		if (s->segs[i].first == first && s->segs[i].gen == gen)
			return i;
	return s->nsegs;
}

/* Deletes segment i (file and index entry); 0 or -1 with errno (the
 * entry goes anyway, so that a stuck file cannot stall the cap). */
int ttlog__spool_seg_delete(struct ttlog__spool *s, size_t i)
{
	char name[TTLOG__SPOOL_NAME_LEN + 1];
	int rc = 0;

	if (i == s->nsegs - 1) {
		/* The newest one: it can no longer take appends. */
		if (s->wfd >= 0)
			close(s->wfd);
		s->wfd = -1;
		s->wdirty = 0;
		s->can_reuse = 0;
	}
	ttlog__spool_seg_name(name, s->segs[i].first);
	if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT) {
		s->st.write_errors++;
		rc = -1;
	}
	s->bytes -= s->segs[i].bytes;
	memmove(&s->segs[i], &s->segs[i + 1],
		(s->nsegs - i - 1) * sizeof(s->segs[0]));
	s->nsegs--;
	return rc;
}

int ttlog__spool_seg_open(const struct ttlog__spool *s, uint64_t first,
			  int flags)
{
	char name[TTLOG__SPOOL_NAME_LEN + 1];

	ttlog__spool_seg_name(name, first);
	return openat(s->dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/* fsync of the directory, so that a new file's name survives a crash. */
static int sync_dir(struct ttlog__spool *s, char *err, size_t errlen)
{
	if (fsync(s->dirfd) != 0) {
		s->st.fsync_errors++;
		return ttlog__errf(err, errlen,
				   "spool %s: fsync of the directory: %s",
				   s->dir, strerror(errno));
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* open: listing and scanning                                           */
/* ------------------------------------------------------------------ */

static int list_segments(struct ttlog__spool *s, char *err, size_t errlen)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		int er = errno;
		if (fd >= 0)
			close(fd);
		return ttlog__errf(err, errlen, "spool %s: %s", s->dir,
				   strerror(er));
	}
	while ((errno = 0, e = readdir(d)) != NULL) {
		uint64_t first;
		if (!parse_name(e->d_name, &first))
			continue;
		if (seg_push(s, first) == NULL) {
			closedir(d);
			return ttlog__errf(err, errlen,
					   "spool %s: out of memory", s->dir);
		}
	}
	if (errno != 0) {
		int er = errno;
		closedir(d);
		return ttlog__errf(err, errlen, "spool %s: %s", s->dir,
				   strerror(er));
	}
	closedir(d);
	if (s->nsegs > 1)
		qsort(s->segs, s->nsegs, sizeof(s->segs[0]), seg_cmp);
	return 0;
}

/*
 * Reads segment i whole to fill its index entry, counting what is
 * corrupt. The newest segment's tail after its last good record (a write
 * cut short by a crash, most likely) is cut off, so that appends go on
 * right after good data.
 */
static int scan_segment(struct ttlog__spool *s, size_t i, int newest, char *err,
			size_t errlen)
{
	struct ttlog__spool_seg *g = &s->segs[i];
	struct ttlog__spool_cursor *c = &s->rd.c;
	struct ttlog__spool_damage d = {0};
	struct ttlog__spool_counters k = {&d, &g->counted};
	struct ttlog__spool_rec rec;
	char name[TTLOG__SPOOL_NAME_LEN + 1];
	struct stat st;
	int fd, rc;

	ttlog__spool_seg_name(name, g->first);
	fd = ttlog__spool_seg_open(s, g->first, newest ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return ttlog__errf(err, errlen, "spool %s/%s: %s", s->dir, name,
				   strerror(errno));
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return ttlog__errf(err, errlen, "spool %s/%s: %s", s->dir, name,
				   strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ttlog__errf(err, errlen,
				   "spool %s/%s: not a regular file", s->dir,
				   name);
	}
	/* Damage an earlier run counted is not counted again. */
	g->counted = ttlog__spool_stats_mark(s, g->first);
	ttlog__spool_cursor_start(c, fd, NULL, (uint64_t)st.st_size, g->first);
	if (!newest)
		c->upper = s->segs[i + 1].first;
	while ((rc = ttlog__spool_cursor_next(c, &rec, &k)) == 1) {
		g->records++;
		g->events += rec.count;
		g->last = rec.seq;
		if (g->lo == 0)
			g->lo = rec.seq;
	}
	c->fd = -1; /* the reader's cursor was only borrowed */
	if (rc < 0) {
		int e = errno;
		close(fd);
		return ttlog__errf(err, errlen, "spool %s/%s: read: %s", s->dir,
				   name, strerror(e));
	}
	g->bytes = c->size;
	if (newest) {
		s->can_reuse = 1;
		if (c->good_end < g->bytes) {
			if (ftruncate(fd, (off_t)c->good_end) == 0 &&
			    (s->o.fsync == TTLOG_SPOOL_FSYNC_NEVER ||
			     fdatasync(fd) == 0)) {
				g->bytes = c->good_end;
				g->counted = g->bytes;
			} else {
				/* Left as it is; appends start a new file. */
				s->can_reuse = 0;
				s->st.write_errors++;
			}
		}
	}
	close(fd);
	s->bytes += g->bytes;
	/* Reported once per segment; a segment without a good record is
	 * estimated at its predecessor's average. */
	if (g->records == 0 && i > 0)
		g = &s->segs[i - 1];
	ttlog__spool_stats_damage(
		s, s->segs[i].first, &d,
		g->records ? (double)g->events / (double)g->records : 0);
	return 0;
}

int ttlog__spool_load_segments(struct ttlog__spool *s, char *err, size_t errlen)
{
	size_t i = 0;

	if (list_segments(s, err, errlen) != 0)
		return -1;
	while (i < s->nsegs) {
		int newest = i == s->nsegs - 1;
		struct ttlog__spool_seg *g;
		/* Wholly acknowledged when the next one starts at or below
		 * acked + 1: no need to read it. */
		if (!newest && s->segs[i + 1].first > 0 &&
		    s->segs[i + 1].first - 1 <= s->acked) {
			ttlog__spool_seg_delete(s, i);
			continue;
		}
		if (scan_segment(s, i, newest, err, errlen) != 0)
			return -1;
		g = &s->segs[i];
		/* Empty, only corrupt, or wholly acknowledged. */
		if (g->records == 0 || g->last <= s->acked) {
			ttlog__spool_seg_delete(s, i);
			continue;
		}
		i++;
	}
	s->last_seq = s->acked;
	for (i = 0; i < s->nsegs; i++)
		if (s->segs[i].last > s->last_seq)
			s->last_seq = s->segs[i].last;
	return 0;
}

/* ------------------------------------------------------------------ */
/* appending and the size cap                                           */
/* ------------------------------------------------------------------ */

/*
 * Ends appends to the newest segment: fdatasync if it has unsynced data
 * and the policy syncs at all (-1 if that fails: counted), close. A
 * segment left empty is deleted.
 */
int ttlog__spool_seal(struct ttlog__spool *s, char *err, size_t errlen)
{
	int rc = 0;

	if (s->wfd >= 0) {
		if (s->wdirty && s->o.fsync != TTLOG_SPOOL_FSYNC_NEVER &&
		    fdatasync(s->wfd) != 0) {
			s->st.fsync_errors++;
			rc = ttlog__errf(err, errlen, "spool %s: fdatasync: %s",
					 s->dir, strerror(errno));
		}
		close(s->wfd);
	}
	s->wfd = -1;
	s->wdirty = 0;
	s->can_reuse = 0;
	if (s->nsegs > 0 && s->segs[s->nsegs - 1].bytes == 0)
		ttlog__spool_seg_delete(s, s->nsegs - 1);
	return rc;
}

/* Makes wfd the segment the record for seq goes to. */
int ttlog__spool_seg_prepare(struct ttlog__spool *s, uint64_t seq, char *err,
			     size_t errlen)
{
	char name[TTLOG__SPOOL_NAME_LEN + 1];
	struct ttlog__spool_seg *g =
		s->nsegs > 0 ? &s->segs[s->nsegs - 1] : NULL;

	if (g != NULL && g->bytes < s->o.segment_bytes) {
		if (s->wfd >= 0)
			return 0;
		if (s->can_reuse) {
			s->wfd = ttlog__spool_seg_open(s, g->first,
						       O_WRONLY | O_APPEND);
			if (s->wfd >= 0)
				return 0;
			ttlog__spool_seg_name(name, g->first);
			s->can_reuse = 0;
			s->st.write_errors++;
			return ttlog__errf(err, errlen, "spool %s/%s: %s",
					   s->dir, name, strerror(errno));
		}
	}
	if (s->wfd >= 0 && ttlog__spool_seal(s, err, errlen) != 0)
		return -1;
	s->can_reuse = 0;
	ttlog__spool_seg_name(name, seq);
	if (seg_push(s, seq) == NULL)
		return ttlog__errf(err, errlen, "spool %s: out of memory",
				   s->dir);
	s->wfd = ttlog__spool_seg_open(s, seq,
				       O_WRONLY | O_APPEND | O_CREAT | O_EXCL);
	if (s->wfd < 0) {
		int e = errno;
		s->nsegs--;
		s->st.write_errors++;
		return ttlog__errf(err, errlen, "spool %s/%s: %s", s->dir, name,
				   strerror(e));
	}
	s->can_reuse = 1;
	if (s->o.fsync != TTLOG_SPOOL_FSYNC_NEVER &&
	    sync_dir(s, err, errlen) != 0) {
		/* Its name may not last; make it again next time. */
		ttlog__spool_seal(s, NULL, 0);
		return -1;
	}
	return 0;
}

/*
 * Segment g's records above acked, split at held: (acked, held] into
 * hr and he, above it into lr and le. Read from the file unless the index
 * says all (the file unreadable: an estimate from the index).
 */
static void count_split(struct ttlog__spool *s,
			const struct ttlog__spool_seg *g, uint64_t held,
			uint64_t *hr, uint64_t *he, uint64_t *lr, uint64_t *le)
{
	struct ttlog__spool_cursor c = {.chunk = TTLOG__SPOOL_FILE_CHUNK};
	struct ttlog__spool_rec rec;
	struct stat st;
	int fd, rc = -1;

	*hr = *he = *lr = *le = 0;
	if (held < s->acked)
		held = s->acked;
	if (g->last <= s->acked)
		return;
	if (g->lo > held || g->records == 0) {
		*lr = g->records;
		*le = g->events;
		return;
	}
	if (g->lo > s->acked && g->last <= held) {
		*hr = g->records;
		*he = g->events;
		return;
	}
	fd = ttlog__spool_seg_open(s, g->first, O_RDONLY);
	if (fd >= 0 && fstat(fd, &st) == 0) {
		ttlog__spool_cursor_start(&c, fd, NULL, (uint64_t)st.st_size,
					  g->first);
		while ((rc = ttlog__spool_cursor_next(&c, &rec, NULL)) == 1) {
			if (rec.seq <= s->acked)
				continue;
			if (rec.seq <= held) {
				(*hr)++;
				*he += rec.count;
			} else {
				(*lr)++;
				*le += rec.count;
			}
		}
	}
	if (fd >= 0)
		close(fd);
	free(c.buf);
	if (rc < 0) {
		/* Unreadable: in proportion to the seqs, from the index. */
		double per = (double)g->events / (double)g->records;
		uint64_t lo = g->lo > s->acked ? g->lo : s->acked + 1;
		*hr = held >= lo ? (held < g->last ? held : g->last) - lo + 1
				 : 0;
		*lr = g->last > held ? g->last - (held > lo ? held : lo - 1)
				     : 0;
		*he = (uint64_t)((double)*hr * per + 0.5);
		*le = (uint64_t)((double)*lr * per + 0.5);
	}
}

void ttlog__spool_drop_oldest(struct ttlog__spool *s)
{
	struct ttlog__spool_seg g = s->segs[0];
	uint64_t hr, he, lr, le, lo = g.lo > s->acked ? g.lo : s->acked + 1;

	count_split(s, &g, s->held_hi, &hr, &he, &lr, &le);
	/* Deleted first, counted after: a crash in between leaves a gap
	 * that the next open finds and counts (LOSS_GAP). */
	ttlog__spool_seg_delete(s, 0);
	if (hr > 0)
		ttlog__spool_stats_dropped(
			s, g.first, hr, he, lo,
			s->held_hi < g.last ? s->held_hi : g.last, 1);
	if (lr > 0)
		ttlog__spool_stats_dropped(
			s, g.first, lr, le,
			s->held_hi >= lo ? s->held_hi + 1 : lo, g.last, 0);
	if (hr + lr > 0)
		ttlog__spool_stats_save(s);
}
