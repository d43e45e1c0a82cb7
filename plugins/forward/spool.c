/*
 * spool.c - the forwarder's disk spool (interface in spool.h, format in
 * docs/spool.md).
 *
 * In memory the spool keeps an index of its segments (first seq from the
 * name, last good seq, record and event counts, size), built at open by
 * reading every segment once. Appends go to the newest segment only;
 * acknowledgements and the size cap delete whole segments from the old
 * end. Everything that reads records (the scan at open, the reader that
 * feeds the sender, the count of a partly acknowledged segment that the
 * cap deletes, and ttlog__spool_scan() for the fuzzer) goes through one
 * buffered cursor and one record parser, step(), so that all of them
 * agree on what is a record and what is skipped.
 *
 * Counting corruption: the scan at open counts every skipped region once.
 * Each segment remembers how far its corruption has been counted, so that
 * the reader, which passes the same bad bytes again after every rewind,
 * does not count them a second time; the counters therefore say how much
 * is damaged, not how often it was read.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "byteorder.h"
#include "errf.h"
#include "spool.h"

#define REC_HDR 12  /* magic, body length, CRC of the body */
#define BODY_HDR 16 /* seq, flags, count */
#define REC_MIN (REC_HDR + BODY_HDR)
#define MAX_BODY (256u << 20)
#define NAME_DIGITS 20
#define NAME_LEN (NAME_DIGITS + 4) /* digits and ".seg" */
#define ID_LEN 16
#define ACKED_LEN 12
#define FILE_CHUNK (256u << 10) /* smallest read from a segment */
#define SCAN_CHUNK 256		/* small, so the fuzzer crosses refills */

static const unsigned char magic[4] = {'T', 'S', 'R', '1'};

/* ------------------------------------------------------------------ */
/* CRC-32C                                                              */
/* ------------------------------------------------------------------ */

/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), eight bytes per
 * step: table k gives the CRC contribution of a byte followed by k zero
 * bytes, so the eight lookups of one 64-bit word are independent of each
 * other and the CPU overlaps them. The tables are filled once per process.
 */
static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int b = 0; b < 8; b++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			crc_tab[k][i] = (crc_tab[k - 1][i] >> 8) ^
					crc_tab[0][crc_tab[k - 1][i] & 0xff];
}

/* Continues crc (0 to start) over n bytes. */
static uint32_t crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	while (n >= 8) {
		uint32_t lo = crc ^ ttlog__get_le32(p),
			 hi = ttlog__get_le32(p + 4);
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		      crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^
		      crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
		      crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n-- > 0)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ------------------------------------------------------------------ */
/* the record parser                                                    */
/* ------------------------------------------------------------------ */

enum { ST_END, ST_REC, ST_SKIP, ST_MORE };

/* The offset of the first magic in p[from, avail), 0 when there is none
 * (from is at least 1). */
static size_t find_magic(const unsigned char *p, size_t from, size_t avail)
{
	while (from + 4 <= avail) {
		const unsigned char *t =
			memchr(p + from, magic[0], avail - from);
		if (t == NULL)
			return 0;
		from = (size_t)(t - p);
		if (from + 4 <= avail && memcmp(t, magic, 4) == 0)
			return from;
		from++;
	}
	return 0;
}

static int plausible_len(uint32_t blen)
{
	return blen >= BODY_HDR && blen <= MAX_BODY;
}

/*
 * Looks at the data from p: avail bytes are at hand, remain (>= avail)
 * are left to the end of the data. prev is the last good seq before p.
 * Returns ST_END (nothing left), ST_REC (a good record of *n bytes, in
 * *rec), ST_SKIP (*n >= 1 bad bytes to pass over) or ST_MORE (decide with
 * *n bytes at hand; avail < *n <= remain). Every byte ends up in exactly
 * one record or skip, so the loop over it always finishes.
 */
static int step(const unsigned char *p, size_t avail, uint64_t remain,
		uint64_t prev, size_t *n, struct ttlog__spool_rec *rec)
{
	uint32_t blen;
	size_t total, j;

	if (remain == 0)
		return ST_END;
	if (avail < REC_HDR) {
		if (remain >= REC_HDR) {
			*n = REC_HDR;
			return ST_MORE;
		}
		if (avail < remain) {
			*n = (size_t)remain;
			return ST_MORE;
		}
		*n = avail; /* a few bytes at the end: no room for a record */
		return ST_SKIP;
	}
	if (memcmp(p, magic, 4) != 0)
		goto bad;
	blen = ttlog__get_le32(p + 4);
	if (!plausible_len(blen))
		goto bad;
	total = REC_HDR + (size_t)blen;
	if (avail < total) {
		if (remain >= total) {
			*n = total;
			return ST_MORE;
		}
		goto bad; /* runs past the end: torn, or a damaged length */
	}
	if (crc32c(0, p + REC_HDR, blen) != ttlog__get_le32(p + 8)) {
		/* The length is believed (and the whole record skipped) when
		 * it leads exactly to the end of the data or to another
		 * plausible header; otherwise it may be the damaged field,
		 * and the next magic is searched from the next byte. */
		if (remain == total) {
			*n = total;
			return ST_SKIP;
		}
		if (remain < (uint64_t)total + 8)
			goto bad;
		if (avail < total + 8) {
			*n = total + 8;
			return ST_MORE;
		}
		if (memcmp(p + total, magic, 4) == 0 &&
		    plausible_len(ttlog__get_le32(p + total + 4))) {
			*n = total;
			return ST_SKIP;
		}
		goto bad;
	}
	rec->seq = ttlog__get_le64(p + 12);
	rec->flags = ttlog__get_le32(p + 20);
	rec->count = ttlog__get_le32(p + 24);
	rec->payload = p + REC_MIN;
	rec->len = blen - BODY_HDR;
	*n = total;
	/* Intact but out of order: its extent is known, skip it whole. */
	return rec->seq > prev ? ST_REC : ST_SKIP;
bad:
	j = find_magic(p, 1, avail);
	if (j > 0)
		*n = j;
	else if (avail == remain)
		*n = avail;
	else
		*n = avail - 3; /* keep what may be the start of a magic */
	return ST_SKIP;
}

/* ------------------------------------------------------------------ */
/* the buffered cursor                                                  */
/* ------------------------------------------------------------------ */

/* Reads records from a file (fd >= 0) or a memory image, through one
 * buffer that grows to the largest record met. */
struct cursor {
	int fd;
	const unsigned char *mem;
	uint64_t size; /* end of the data, as far as known */
	uint64_t off;  /* data offset of buf[0] */
	unsigned char *buf;
	size_t cap, len, pos;
	size_t chunk;
	uint64_t prev;	   /* last good seq passed */
	uint64_t good_end; /* offset just past the last good record */
	int in_garbage;	   /* the last thing passed was a skip */
};

/* Where skipped bytes are counted; mark (may be NULL) is the offset
 * below which they have been counted already. */
struct counters {
	uint64_t *records, *bytes, *mark;
};

static void cursor_start(struct cursor *c, int fd, const unsigned char *mem,
			 uint64_t size, uint64_t first)
{
	c->fd = fd;
	c->mem = mem;
	c->size = size;
	c->off = 0;
	c->len = c->pos = 0;
	c->prev = first > 0 ? first - 1 : 0;
	c->good_end = 0;
	c->in_garbage = 0;
}

/* Makes at least need bytes available from pos; fewer only at the real
 * end of the data (then size is corrected). 0 or -1 with errno. */
static int cursor_fill(struct cursor *c, size_t need)
{
	if (c->pos > 0) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->off += c->pos;
		c->len -= c->pos;
		c->pos = 0;
	}
	if (c->cap < need || c->cap < c->chunk) {
		size_t nc = c->cap ? c->cap : c->chunk;
		while (nc < need || nc < c->chunk)
			nc *= 2;
		unsigned char *b = realloc(c->buf, nc);
		if (b == NULL) {
			errno = ENOMEM;
			return -1;
		}
		c->buf = b;
		c->cap = nc;
	}
	while (c->len < need) {
		uint64_t at = c->off + c->len;
		size_t room = c->cap - c->len;
		ssize_t r;
		if (c->fd >= 0) {
			r = pread(c->fd, c->buf + c->len, room, (off_t)at);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
		} else {
			uint64_t left = at < c->size ? c->size - at : 0;
			r = (ssize_t)(left < room ? left : room);
			memcpy(c->buf + c->len, c->mem + at, (size_t)r);
		}
		if (r == 0) {
			c->size = at; /* shorter than it was */
			break;
		}
		c->len += (size_t)r;
		if (c->off + c->len > c->size)
			c->size = c->off + c->len; /* grew meanwhile */
	}
	return 0;
}

static void count_skip(struct cursor *c, const struct counters *k, uint64_t at,
		       size_t n)
{
	if (k != NULL && (k->mark == NULL || at >= *k->mark)) {
		if (!c->in_garbage && k->records != NULL)
			(*k->records)++;
		if (k->bytes != NULL)
			*k->bytes += n;
	}
	if (k != NULL && k->mark != NULL && at + n > *k->mark)
		*k->mark = at + n;
	c->in_garbage = 1;
}

/* The next good record: 1 (rec valid until the next call), 0 at the end
 * of the data, -1 on a read error (errno). */
static int cursor_next(struct cursor *c, struct ttlog__spool_rec *rec,
		       const struct counters *k)
{
	for (;;) {
		uint64_t at = c->off + c->pos;
		uint64_t remain = c->size > at ? c->size - at : 0;
		size_t avail = c->len - c->pos, n = 0;
		/* No buffer yet before the first read. */
		const unsigned char *p = c->buf ? c->buf + c->pos : c->buf;
		if (avail > remain)
			avail = (size_t)remain;
		switch (step(p, avail, remain, c->prev, &n, rec)) {
		case ST_REC:
			c->pos += n;
			c->prev = rec->seq;
			c->good_end = at + n;
			c->in_garbage = 0;
			return 1;
		case ST_SKIP:
			count_skip(c, k, at, n);
			c->pos += n;
			break;
		case ST_MORE:
			if (cursor_fill(c, n) != 0)
				return -1;
			break;
		default: {
			struct stat st;
			if (c->fd < 0)
				return 0;
			/* A segment being appended to may have grown. */
			if (fstat(c->fd, &st) != 0)
				return -1;
			if ((uint64_t)st.st_size <= c->size)
				return 0;
			c->size = (uint64_t)st.st_size;
			break;
		}
		}
	}
}

size_t
ttlog__spool_scan(const unsigned char *data, size_t len,
		  void (*fn)(void *arg, const struct ttlog__spool_rec *rec),
		  void *arg, uint64_t *corrupt_records, uint64_t *corrupt_bytes)
{
	struct cursor c = {.chunk = SCAN_CHUNK};
	struct ttlog__spool_rec rec;
	uint64_t crec = 0, cbytes = 0;
	struct counters k = {&crec, &cbytes, NULL};
	size_t good = 0;

	pthread_once(&crc_once, crc_init);
	cursor_start(&c, -1, data, data != NULL ? len : 0, 0);
	while (cursor_next(&c, &rec, &k) == 1) {
		good++;
		if (fn != NULL)
			fn(arg, &rec);
	}
	free(c.buf);
	if (corrupt_records != NULL)
		*corrupt_records = crec;
	if (corrupt_bytes != NULL)
		*corrupt_bytes = cbytes;
	return good;
}

/* ------------------------------------------------------------------ */
/* the spool                                                            */
/* ------------------------------------------------------------------ */

struct seg {
	uint64_t first;	  /* seq in the name: no record in it is lower */
	uint64_t last;	  /* highest good seq; first - 1 when none */
	uint64_t records; /* good records */
	uint64_t events;  /* sum of their counts */
	uint64_t bytes;	  /* file size */
	uint64_t counted; /* corruption below this offset is counted */
	uint64_t gen;	  /* tells apart two files of the same name */
};

struct reader {
	struct cursor c;
	int open;     /* c.fd reads segment `cur` */
	uint64_t cur; /* its first seq and generation */
	uint64_t cur_gen;
	uint64_t want;	/* closed: go on with the first segment >= want */
	uint64_t floor; /* return only records above this */
};

struct ttlog__spool {
	struct ttlog__spool_opts o;
	char *dir;
	int dirfd, lockfd, ackfd;
	uint8_t id[ID_LEN];
	uint64_t acked, last_seq, bytes;
	uint64_t gen;	  /* of the last segment added to the index */
	struct seg *segs; /* by first, oldest first */
	size_t nsegs, segcap;
	int wfd;       /* the newest segment open for appending, or -1 */
	int can_reuse; /* the newest segment may be opened for appending */
	int wdirty;    /* written since its last fdatasync */
	int ack_dirty; /* `acked` rewritten since its last fdatasync */
	struct reader rd;
	struct ttlog__spool_stats st;
};

static void seg_name(char *buf, uint64_t first)
{
	snprintf(buf, NAME_LEN + 1, "%020llu.seg", (unsigned long long)first);
}

/* Parses NNNNNNNNNNNNNNNNNNNN.seg; 0 for any other name. */
static int parse_name(const char *name, uint64_t *first)
{
	uint64_t v = 0;

	if (strlen(name) != NAME_LEN || strcmp(name + NAME_DIGITS, ".seg"))
		return 0;
	for (int i = 0; i < NAME_DIGITS; i++) {
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
	uint64_t x = ((const struct seg *)a)->first;
	uint64_t y = ((const struct seg *)b)->first;
	return x < y ? -1 : x > y;
}

static struct seg *seg_push(struct ttlog__spool *s, uint64_t first)
{
	if (s->nsegs == s->segcap) {
		size_t nc = s->segcap ? s->segcap * 2 : 16;
		struct seg *n = realloc(s->segs, nc * sizeof(*n));
		if (n == NULL)
			return NULL;
		s->segs = n;
		s->segcap = nc;
	}
	struct seg *g = &s->segs[s->nsegs++];
	memset(g, 0, sizeof(*g));
	g->first = first;
	g->last = first > 0 ? first - 1 : 0;
	g->gen = ++s->gen;
	return g;
}

/* The index of segment (first, gen), or nsegs. */
static size_t seg_find(const struct ttlog__spool *s, uint64_t first,
		       uint64_t gen)
{
	for (size_t i = 0; i < s->nsegs; i++)
		if (s->segs[i].first == first && s->segs[i].gen == gen)
			return i;
	return s->nsegs;
}

/* Deletes segment i (file and index entry); 0 or -1 with errno (the
 * entry goes anyway, so that a stuck file cannot stall the cap). */
static int seg_delete(struct ttlog__spool *s, size_t i)
{
	char name[NAME_LEN + 1];
	int rc = 0;

	if (i == s->nsegs - 1) {
		/* The newest one: it can no longer take appends. */
		if (s->wfd >= 0)
			close(s->wfd);
		s->wfd = -1;
		s->wdirty = 0;
		s->can_reuse = 0;
	}
	seg_name(name, s->segs[i].first);
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

static int open_seg(const struct ttlog__spool *s, uint64_t first, int flags)
{
	char name[NAME_LEN + 1];

	seg_name(name, first);
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
/* open: lock, id, acked                                                */
/* ------------------------------------------------------------------ */

static int take_lock(struct ttlog__spool *s, char *err, size_t errlen)
{
	char pid[32];
	int n;

	s->lockfd = openat(s->dirfd, "LOCK",
			   O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0)
		return ttlog__errf(err, errlen, "spool %s/LOCK: %s", s->dir,
				   strerror(errno));
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		ssize_t r;
		if (e != EWOULDBLOCK)
			return ttlog__errf(err, errlen,
					   "spool %s/LOCK: flock: %s", s->dir,
					   strerror(e));
		r = pread(s->lockfd, pid, sizeof(pid) - 1, 0);
		pid[r > 0 ? r : 0] = '\0';
		pid[strspn(pid, "0123456789")] = '\0';
		if (pid[0] && strtol(pid, NULL, 10) == (long)getpid())
			return ttlog__errf(
				err, errlen,
				"spool %s: in use by another listener of "
				"this process (a forward listener with a "
				"spool cannot be changed by a reload: "
				"restart, or give it a new spool.dir)",
				s->dir);
		return ttlog__errf(
			err, errlen,
			"spool %s: locked by another process (pid %s in "
			"LOCK)",
			s->dir, pid[0] ? pid : "unknown");
	}
	/* The pid only tells a person who holds it; the lock is flock's. */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(s->lockfd, 0) != 0 ||
	    pwrite(s->lockfd, pid, (size_t)n, 0) != n)
		return ttlog__errf(err, errlen, "spool %s/LOCK: %s", s->dir,
				   strerror(errno));
	return 0;
}

static ssize_t read_all(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/*
 * A new id is written to id.tmp (O_EXCL), fsynced, and linked to `id`
 * (link never replaces a file), then the directory is fsynced: a crash at
 * any point leaves either no `id` or a complete one, never a short one
 * that would stop every later open.
 */
static int make_id(struct ttlog__spool *s, char *err, size_t errlen)
{
	size_t got = 0;
	int fd;

	while (got < ID_LEN) {
		ssize_t r = getrandom(s->id + got, ID_LEN - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ttlog__errf(err, errlen,
					   "spool %s: getrandom: %s", s->dir,
					   strerror(errno));
		got += (size_t)r;
	}
	if (unlinkat(s->dirfd, "id.tmp", 0) != 0 && errno != ENOENT)
		return ttlog__errf(err, errlen, "spool %s/id.tmp: %s", s->dir,
				   strerror(errno));
	fd = openat(s->dirfd, "id.tmp",
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ttlog__errf(err, errlen, "spool %s/id.tmp: %s", s->dir,
				   strerror(errno));
	if (write(fd, s->id, ID_LEN) != ID_LEN || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlinkat(s->dirfd, "id.tmp", 0);
		return ttlog__errf(err, errlen, "spool %s/id.tmp: %s", s->dir,
				   strerror(e));
	}
	close(fd);
	if (linkat(s->dirfd, "id.tmp", s->dirfd, "id", 0) != 0) {
		int e = errno;
		unlinkat(s->dirfd, "id.tmp", 0);
		return ttlog__errf(err, errlen, "spool %s/id: %s", s->dir,
				   strerror(e));
	}
	unlinkat(s->dirfd, "id.tmp", 0);
	if (fsync(s->dirfd) != 0)
		return ttlog__errf(err, errlen,
				   "spool %s: fsync of the directory: %s",
				   s->dir, strerror(errno));
	return 0;
}

static int load_id(struct ttlog__spool *s, char *err, size_t errlen)
{
	unsigned char buf[ID_LEN + 1];
	ssize_t n;
	int fd;

	fd = openat(s->dirfd, "id", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return make_id(s, err, errlen);
	if (fd < 0)
		return ttlog__errf(err, errlen, "spool %s/id: %s", s->dir,
				   strerror(errno));
	n = read_all(fd, buf, sizeof(buf));
	if (n < 0) {
		int e = errno;
		close(fd);
		return ttlog__errf(err, errlen, "spool %s/id: %s", s->dir,
				   strerror(e));
	}
	close(fd);
	if (n < ID_LEN)
		return ttlog__errf(
			err, errlen,
			"spool %s/id: short file (%d bytes, %d expected)",
			s->dir, (int)n, ID_LEN);
	if (n > ID_LEN)
		return ttlog__errf(err, errlen,
				   "spool %s/id: longer than %d bytes", s->dir,
				   ID_LEN);
	memcpy(s->id, buf, ID_LEN);
	return 0;
}

static int write_acked(struct ttlog__spool *s)
{
	unsigned char b[ACKED_LEN];

	ttlog__put_le64(b, s->acked);
	ttlog__put_le32(b + 8, crc32c(0, b, 8));
	if (pwrite(s->ackfd, b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		s->st.write_errors++;
		return -1;
	}
	s->ack_dirty = 1;
	if (s->o.fsync == TTLOG_SPOOL_FSYNC_ALWAYS) {
		s->ack_dirty = 0;
		if (fdatasync(s->ackfd) != 0) {
			s->st.fsync_errors++;
			return -1;
		}
	}
	return 0;
}

/* A missing, short or damaged `acked` means 0: everything still in the
 * spool is sent again (duplicates, never a loss). */
static int load_acked(struct ttlog__spool *s, char *err, size_t errlen)
{
	unsigned char b[ACKED_LEN + 1];
	ssize_t n;

	s->ackfd = openat(s->dirfd, "acked",
			  O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			  0600);
	if (s->ackfd >= 0) {
		s->acked = 0;
		if (write_acked(s) != 0)
			return ttlog__errf(err, errlen, "spool %s/acked: %s",
					   s->dir, strerror(errno));
		return 0;
	}
	if (errno != EEXIST)
		return ttlog__errf(err, errlen, "spool %s/acked: %s", s->dir,
				   strerror(errno));
	s->ackfd = openat(s->dirfd, "acked", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (s->ackfd < 0)
		return ttlog__errf(err, errlen, "spool %s/acked: %s", s->dir,
				   strerror(errno));
	n = read_all(s->ackfd, b, sizeof(b));
	if (n < 0)
		return ttlog__errf(err, errlen, "spool %s/acked: %s", s->dir,
				   strerror(errno));
	if (n == ACKED_LEN && crc32c(0, b, 8) == ttlog__get_le32(b + 8)) {
		s->acked = ttlog__get_le64(b);
	} else {
		s->acked = 0;
		s->st.corrupt_records++;
		s->st.corrupt_bytes += (uint64_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* open: segments                                                       */
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
	struct seg *g = &s->segs[i];
	struct cursor *c = &s->rd.c;
	struct counters k = {&s->st.corrupt_records, &s->st.corrupt_bytes,
			     &g->counted};
	struct ttlog__spool_rec rec;
	char name[NAME_LEN + 1];
	struct stat st;
	int fd, rc;

	seg_name(name, g->first);
	fd = open_seg(s, g->first, newest ? O_RDWR : O_RDONLY);
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
	cursor_start(c, fd, NULL, (uint64_t)st.st_size, g->first);
	while ((rc = cursor_next(c, &rec, &k)) == 1) {
		g->records++;
		g->events += rec.count;
		g->last = rec.seq;
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
	return 0;
}

static int load_segments(struct ttlog__spool *s, char *err, size_t errlen)
{
	size_t i = 0;

	if (list_segments(s, err, errlen) != 0)
		return -1;
	while (i < s->nsegs) {
		int newest = i == s->nsegs - 1;
		struct seg *g;
		/* Wholly acknowledged when the next one starts at or below
		 * acked + 1: no need to read it. */
		if (!newest && s->segs[i + 1].first > 0 &&
		    s->segs[i + 1].first - 1 <= s->acked) {
			seg_delete(s, i);
			continue;
		}
		if (scan_segment(s, i, newest, err, errlen) != 0)
			return -1;
		g = &s->segs[i];
		/* Empty, only corrupt, or wholly acknowledged. */
		if (g->records == 0 || g->last <= s->acked) {
			seg_delete(s, i);
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

void ttlog__spool_close(struct ttlog__spool *s)
{
	if (s == NULL)
		return;
	if (s->o.fsync != TTLOG_SPOOL_FSYNC_NEVER)
		(void)ttlog__spool_sync(s);
	if (s->wfd >= 0)
		close(s->wfd);
	if (s->rd.c.fd >= 0)
		close(s->rd.c.fd);
	if (s->ackfd >= 0)
		close(s->ackfd);
	if (s->lockfd >= 0)
		close(s->lockfd); /* releases the lock */
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->rd.c.buf);
	free(s->segs);
	free(s->dir);
	free(s);
}

int ttlog__spool_open(const struct ttlog__spool_opts *o,
		      struct ttlog__spool **out, char *err, size_t errlen)
{
	struct ttlog__spool *s;

	*out = NULL;
	if (o == NULL || o->dir == NULL || o->dir[0] == '\0')
		return ttlog__errf(err, errlen, "spool: no directory given");
	if (o->segment_bytes == 0 || o->max_bytes <= o->segment_bytes)
		return ttlog__errf(
			err, errlen,
			"spool %s: max_bytes (%llu) must be larger than "
			"segment_bytes (%llu), which must not be 0",
			o->dir, (unsigned long long)o->max_bytes,
			(unsigned long long)o->segment_bytes);
	if (o->fsync < TTLOG_SPOOL_FSYNC_NEVER ||
	    o->fsync > TTLOG_SPOOL_FSYNC_ALWAYS ||
	    o->overflow < TTLOG_SPOOL_DROP_OLDEST ||
	    o->overflow > TTLOG_SPOOL_DROP_NEWEST)
		return ttlog__errf(err, errlen,
				   "spool %s: bad fsync or overflow", o->dir);
	pthread_once(&crc_once, crc_init);
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->dir = strdup(o->dir)) == NULL) {
		free(s);
		return ttlog__errf(err, errlen, "spool %s: out of memory",
				   o->dir);
	}
	s->o = *o;
	s->o.dir = s->dir;
	s->dirfd = s->lockfd = s->ackfd = s->wfd = -1;
	s->rd.c.fd = -1;
	s->rd.c.chunk = FILE_CHUNK;

	if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
		ttlog__errf(err, errlen,
			    "spool %s: cannot create the directory: %s", s->dir,
			    strerror(errno));
		goto fail;
	}
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		ttlog__errf(err, errlen, "spool %s: %s", s->dir,
			    strerror(errno));
		goto fail;
	}
	if (take_lock(s, err, errlen) != 0 || load_id(s, err, errlen) != 0 ||
	    load_acked(s, err, errlen) != 0 ||
	    load_segments(s, err, errlen) != 0)
		goto fail;
	ttlog__spool_rewind(s, s->acked);
	*out = s;
	return 0;
fail:
	ttlog__spool_close(s);
	return -1;
}

/* ------------------------------------------------------------------ */
/* appending                                                            */
/* ------------------------------------------------------------------ */

const uint8_t *ttlog__spool_id(const struct ttlog__spool *s)
{
	return s->id;
}

uint64_t ttlog__spool_last_seq(const struct ttlog__spool *s)
{
	return s->last_seq;
}

uint64_t ttlog__spool_acked(const struct ttlog__spool *s)
{
	return s->acked;
}

/*
 * Ends appends to the newest segment: fdatasync if it has unsynced data
 * and the policy syncs at all (-1 if that fails: counted), close. A
 * segment left empty is deleted.
 */
static int seal(struct ttlog__spool *s, char *err, size_t errlen)
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
		seg_delete(s, s->nsegs - 1);
	return rc;
}

/* Makes wfd the segment the record for seq goes to. */
static int prepare_segment(struct ttlog__spool *s, uint64_t seq, char *err,
			   size_t errlen)
{
	char name[NAME_LEN + 1];
	struct seg *g = s->nsegs > 0 ? &s->segs[s->nsegs - 1] : NULL;

	if (g != NULL && g->bytes < s->o.segment_bytes) {
		if (s->wfd >= 0)
			return 0;
		if (s->can_reuse) {
			s->wfd = open_seg(s, g->first, O_WRONLY | O_APPEND);
			if (s->wfd >= 0)
				return 0;
			seg_name(name, g->first);
			s->can_reuse = 0;
			s->st.write_errors++;
			return ttlog__errf(err, errlen, "spool %s/%s: %s",
					   s->dir, name, strerror(errno));
		}
	}
	if (s->wfd >= 0 && seal(s, err, errlen) != 0)
		return -1;
	s->can_reuse = 0;
	seg_name(name, seq);
	if (seg_push(s, seq) == NULL)
		return ttlog__errf(err, errlen, "spool %s: out of memory",
				   s->dir);
	s->wfd = open_seg(s, seq, O_WRONLY | O_APPEND | O_CREAT | O_EXCL);
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
		seal(s, NULL, 0);
		return -1;
	}
	return 0;
}

/* How many of segment g's records (and events) are not acknowledged. */
static void count_unacked(struct ttlog__spool *s, const struct seg *g,
			  uint64_t *records, uint64_t *events)
{
	struct cursor c = {.chunk = FILE_CHUNK};
	struct ttlog__spool_rec rec;
	struct stat st;
	int fd, rc = -1;

	*records = *events = 0;
	if (g->last <= s->acked)
		return;
	if (g->first > s->acked) {
		*records = g->records;
		*events = g->events;
		return;
	}
	/* Partly acknowledged: read it to count exactly. */
	fd = open_seg(s, g->first, O_RDONLY);
	if (fd >= 0 && fstat(fd, &st) == 0) {
		cursor_start(&c, fd, NULL, (uint64_t)st.st_size, g->first);
		while ((rc = cursor_next(&c, &rec, NULL)) == 1)
			if (rec.seq > s->acked) {
				(*records)++;
				*events += rec.count;
			}
	}
	if (fd >= 0)
		close(fd);
	free(c.buf);
	if (rc < 0) {
		/* Unreadable: an estimate from the index. */
		uint64_t n = g->last - s->acked;
		*records = n < g->records ? n : g->records;
		*events = g->records ? (uint64_t)((double)g->events *
						  (double)*records /
						  (double)g->records)
				     : 0;
	}
}

static void drop_oldest(struct ttlog__spool *s)
{
	uint64_t r, e;

	count_unacked(s, &s->segs[0], &r, &e);
	s->st.dropped_records += r;
	s->st.dropped_events += e;
	seg_delete(s, 0);
}

/*
 * Writes the record (reclen bytes in iov) with one writev. Only when that
 * stops short (a signal, a file size limit, a full disk) is the rest
 * written, which then either completes the record or gives the real
 * error. *done: bytes written. 0 or -1 with errno.
 */
static int write_record(int fd, struct iovec *iov, int n, uint64_t reclen,
			uint64_t *done)
{
	while (*done < reclen) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		*done += (uint64_t)w;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int ttlog__spool_append(struct ttlog__spool *s, uint64_t seq, uint32_t flags,
			uint32_t count, const void *payload, size_t len,
			char *err, size_t errlen)
{
	unsigned char h[REC_MIN];
	struct iovec iov[2];
	struct seg *g;
	uint64_t reclen, done = 0;
	uint32_t crc;

	if (seq <= s->last_seq)
		return ttlog__errf(
			err, errlen,
			"spool %s: seq %llu is not above the last one "
			"(%llu)",
			s->dir, (unsigned long long)seq,
			(unsigned long long)s->last_seq);
	if (len > MAX_BODY - BODY_HDR)
		return ttlog__errf(
			err, errlen,
			"spool %s: a record of %zu bytes is over the "
			"limit of %u",
			s->dir, len, MAX_BODY - BODY_HDR);
	reclen = REC_MIN + (uint64_t)len;
	if (reclen > s->o.max_bytes)
		return ttlog__errf(
			err, errlen,
			"spool %s: a record of %llu bytes cannot fit in "
			"max_bytes (%llu)",
			s->dir, (unsigned long long)reclen,
			(unsigned long long)s->o.max_bytes);
	if (s->bytes + reclen > s->o.max_bytes &&
	    s->o.overflow == TTLOG_SPOOL_DROP_NEWEST)
		return TTLOG_SPOOL_FULL;
	if (prepare_segment(s, seq, err, errlen) != 0)
		return -1;
	while (s->bytes + reclen > s->o.max_bytes) {
		/* Never the segment being written: when it is the only one
		 * left, the record starts a new one and it goes too. */
		if (s->nsegs == 1) {
			if (seal(s, err, errlen) != 0 ||
			    prepare_segment(s, seq, err, errlen) != 0)
				return -1;
			if (s->nsegs == 1)
				break; /* the old one was empty */
		}
		drop_oldest(s);
	}
	g = &s->segs[s->nsegs - 1];

	memcpy(h, magic, 4);
	ttlog__put_le32(h + 4, (uint32_t)(BODY_HDR + len));
	ttlog__put_le64(h + 12, seq);
	ttlog__put_le32(h + 20, flags);
	ttlog__put_le32(h + 24, count);
	crc = crc32c(0, h + REC_HDR, BODY_HDR);
	crc = crc32c(crc, payload, len);
	ttlog__put_le32(h + 8, crc);
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)(uintptr_t)payload;
	iov[1].iov_len = len;
	if (write_record(s->wfd, iov, len > 0 ? 2 : 1, reclen, &done) != 0) {
		int e = errno;
		s->st.write_errors++;
		/* Cut the partial record off; if even that fails, leave it
		 * (readers skip it as a torn record) and start afresh. */
		if (done > 0 && ftruncate(s->wfd, (off_t)g->bytes) != 0) {
			g->bytes += done;
			s->bytes += done;
			seal(s, NULL, 0);
		}
		return ttlog__errf(err, errlen, "spool %s: write: %s", s->dir,
				   strerror(e));
	}
	if (s->o.fsync == TTLOG_SPOOL_FSYNC_ALWAYS && fdatasync(s->wfd) != 0) {
		/*
		 * Never fsync again and call the same data safe: after a
		 * failed fsync the kernel may have dropped the dirty pages
		 * or marked them clean, so a second fsync can succeed while
		 * the record never reached the disk. The record is cut off,
		 * the file is closed and the next append (the caller offers
		 * the batch again) writes it anew into a new segment.
		 */
		int e = errno;
		s->st.fsync_errors++;
		s->wdirty = 0;
		if (ftruncate(s->wfd, (off_t)g->bytes) != 0) {
			g->bytes += reclen;
			s->bytes += reclen;
		}
		seal(s, NULL, 0);
		return ttlog__errf(err, errlen, "spool %s: fdatasync: %s",
				   s->dir, strerror(e));
	}
	s->wdirty = s->o.fsync != TTLOG_SPOOL_FSYNC_ALWAYS;
	g->bytes += reclen;
	g->records++;
	g->events += count;
	g->last = seq;
	s->bytes += reclen;
	s->last_seq = seq;
	s->st.appended++;
	return 0;
}

int ttlog__spool_sync(struct ttlog__spool *s)
{
	int rc = 0;

	if (s->o.fsync == TTLOG_SPOOL_FSYNC_NEVER)
		return 0;
	if (s->wfd >= 0 && s->wdirty) {
		s->wdirty = 0;
		if (fdatasync(s->wfd) != 0) {
			/* Not retried (see append): later records go to a
			 * new segment. */
			s->st.fsync_errors++;
			seal(s, NULL, 0);
			rc = -1;
		}
	}
	if (s->ack_dirty) {
		s->ack_dirty = 0;
		if (fdatasync(s->ackfd) != 0) {
			s->st.fsync_errors++;
			rc = -1;
		}
	}
	return rc;
}

int ttlog__spool_ack(struct ttlog__spool *s, uint64_t seq)
{
	int rc;

	if (seq > s->last_seq)
		seq = s->last_seq; /* never above what was appended */
	if (seq <= s->acked)
		return 0;
	s->acked = seq;
	rc = write_acked(s);
	for (size_t i = 0; i < s->nsegs;) {
		/* The newest one too: the next append starts a new one. */
		if (s->segs[i].last <= seq) {
			if (seg_delete(s, i) != 0)
				rc = -1;
		} else {
			i++;
		}
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* reading                                                              */
/* ------------------------------------------------------------------ */

static void reader_close(struct reader *r)
{
	if (r->c.fd >= 0)
		close(r->c.fd);
	r->c.fd = -1;
	r->open = 0;
}

void ttlog__spool_rewind(struct ttlog__spool *s, uint64_t after)
{
	struct reader *r = &s->rd;
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
	struct reader *r = &s->rd;
	char name[NAME_LEN + 1];

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
			fd = open_seg(s, s->segs[i].first, O_RDONLY);
			if (fd < 0 && errno == ENOENT) {
				/* Gone behind our back: nothing to read. */
				r->want = s->segs[i].first + 1;
				continue;
			}
			seg_name(name, s->segs[i].first);
			if (fd < 0 || fstat(fd, &st) != 0) {
				int e = errno;
				if (fd >= 0)
					close(fd);
				return ttlog__errf(err, errlen,
						   "spool %s/%s: %s", s->dir,
						   name, strerror(e));
			}
			cursor_start(&r->c, fd, NULL, (uint64_t)st.st_size,
				     s->segs[i].first);
			r->open = 1;
			r->cur = s->segs[i].first;
			r->cur_gen = s->segs[i].gen;
		} else {
			i = seg_find(s, r->cur, r->cur_gen);
			if (i == s->nsegs) {
				/* Deleted (acknowledged or the size cap)
				 * while we were in it: on to the next. */
				reader_close(r);
				r->want = r->cur + 1;
				continue;
			}
		}
		struct counters k = {&s->st.corrupt_records,
				     &s->st.corrupt_bytes, &s->segs[i].counted};
		rc = cursor_next(&r->c, rec, &k);
		if (rc < 0) {
			int e = errno;
			seg_name(name, r->cur);
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

void ttlog__spool_get_stats(const struct ttlog__spool *s,
			    struct ttlog__spool_stats *out)
{
	*out = s->st;
	out->bytes = s->bytes;
	out->segments = s->nsegs;
	out->records = 0;
	for (size_t i = 0; i < s->nsegs; i++) {
		const struct seg *g = &s->segs[i];
		if (g->first > s->acked) {
			out->records += g->records;
		} else if (g->last > s->acked) {
			uint64_t n = g->last - s->acked;
			out->records += n < g->records ? n : g->records;
		}
	}
}
