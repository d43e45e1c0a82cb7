/*
 * spool.c - the forwarder's disk spool (interface in spool.h, format in
 * docs/spool.md): opening and closing a spool directory (its lock, `id`
 * and `acked` files), appending, acknowledging, syncing and the
 * statistics. The records are spool_record.c, the segment files
 * spool_segment.c, reading for the sender spool_reader.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include "spool_internal.h"

#define ACKED_LEN 12

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
				"this process (each forward listener needs "
				"its own spool.dir)",
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

	while (got < TTLOG__SPOOL_ID_LEN) {
		ssize_t r =
			getrandom(s->id + got, TTLOG__SPOOL_ID_LEN - got, 0);
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
	if (write(fd, s->id, TTLOG__SPOOL_ID_LEN) != TTLOG__SPOOL_ID_LEN ||
	    fsync(fd) != 0) {
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
	unsigned char buf[TTLOG__SPOOL_ID_LEN + 1];
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
	if (n < TTLOG__SPOOL_ID_LEN)
		return ttlog__errf(
			err, errlen,
			"spool %s/id: short file (%d bytes, %d expected)",
			s->dir, (int)n, TTLOG__SPOOL_ID_LEN);
	if (n > TTLOG__SPOOL_ID_LEN)
		return ttlog__errf(err, errlen,
				   "spool %s/id: longer than %d bytes", s->dir,
				   TTLOG__SPOOL_ID_LEN);
	memcpy(s->id, buf, TTLOG__SPOOL_ID_LEN);
	return 0;
}

static int write_acked(struct ttlog__spool *s)
{
	unsigned char b[ACKED_LEN];

	ttlog__put_le64(b, s->acked);
	ttlog__put_le32(b + 8, ttlog__crc32c(0, b, 8));
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
		s->acked_ok = 1;
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
	if (n == ACKED_LEN &&
	    ttlog__crc32c(0, b, 8) == ttlog__get_le32(b + 8)) {
		s->acked = ttlog__get_le64(b);
		s->acked_ok = 1;
	} else if (s->on_loss != NULL) {
		/* Nothing is lost (what the spool holds is sent again, as
		 * duplicates at worst), but it is said. */
		s->acked = 0;
		s->on_loss(s->loss_arg,
			   &(struct ttlog__spool_loss){
				   .kind = TTLOG_SPOOL_LOSS_DAMAGE,
				   .segment = "acked",
				   .bytes = (uint64_t)n,
				   .reason = "unreadable, taken as 0: every "
					     "frame in the spool is sent "
					     "again"});
	}
	return 0;
}

void ttlog__spool_close(struct ttlog__spool *s)
{
	if (s == NULL)
		return;
	/* The caller's memory goes with it: held records are lost. */
	if (s->dirfd >= 0 && s->nheld > 0)
		ttlog__spool_set_held(s, 0);
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
	free(s->held);
	free(s->marks);
	free(s->dir);
	free(s);
}

/* The options open() and set_opts() refuse; dir names the spool. */
static int check_opts(const char *dir, const struct ttlog__spool_opts *o,
		      char *err, size_t errlen)
{
	if (o->segment_bytes == 0 || o->max_bytes <= o->segment_bytes)
		return ttlog__errf(
			err, errlen,
			"spool %s: max_bytes (%llu) must be larger than "
			"segment_bytes (%llu), which must not be 0",
			dir, (unsigned long long)o->max_bytes,
			(unsigned long long)o->segment_bytes);
	if (o->fsync < TTLOG_SPOOL_FSYNC_NEVER ||
	    o->fsync > TTLOG_SPOOL_FSYNC_ALWAYS ||
	    o->overflow < TTLOG_SPOOL_DROP_OLDEST ||
	    o->overflow > TTLOG_SPOOL_DROP_NEWEST)
		return ttlog__errf(err, errlen,
				   "spool %s: bad fsync or overflow", dir);
	return 0;
}

int ttlog__spool_open(const struct ttlog__spool_opts *o,
		      struct ttlog__spool **out, char *err, size_t errlen)
{
	struct ttlog__spool *s;

	*out = NULL;
	if (o == NULL || o->dir == NULL || o->dir[0] == '\0')
		return ttlog__errf(err, errlen, "spool: no directory given");
	if (check_opts(o->dir, o, err, errlen) != 0)
		return -1;
	ttlog__crc32c_init();
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->dir = strdup(o->dir)) == NULL) {
		free(s);
		return ttlog__errf(err, errlen, "spool %s: out of memory",
				   o->dir);
	}
	s->o = *o;
	s->o.dir = s->dir;
	s->on_loss = o->on_loss;
	s->loss_arg = o->loss_arg;
	s->dirfd = s->lockfd = s->ackfd = s->wfd = -1;
	s->rd.c.fd = -1;
	s->rd.c.chunk = TTLOG__SPOOL_FILE_CHUNK;

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
	if (take_lock(s, err, errlen) != 0 || load_id(s, err, errlen) != 0)
		goto fail;
	ttlog__spool_stats_load(s);
	if (load_acked(s, err, errlen) != 0 ||
	    ttlog__spool_load_segments(s, err, errlen) != 0)
		goto fail;
	ttlog__spool_stats_settle(s);
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
	unsigned char h[TTLOG__SPOOL_REC_MIN];
	struct iovec iov[2];
	struct ttlog__spool_seg *g;
	uint64_t reclen, done = 0;

	if (seq <= s->last_seq)
		return ttlog__errf(
			err, errlen,
			"spool %s: seq %llu is not above the last one "
			"(%llu)",
			s->dir, (unsigned long long)seq,
			(unsigned long long)s->last_seq);
	if (len > TTLOG__SPOOL_MAX_BODY - TTLOG__SPOOL_BODY_HDR)
		return ttlog__errf(
			err, errlen,
			"spool %s: a record of %zu bytes is over the "
			"limit of %u",
			s->dir, len,
			TTLOG__SPOOL_MAX_BODY - TTLOG__SPOOL_BODY_HDR);
	reclen = TTLOG__SPOOL_REC_MIN + (uint64_t)len;
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
	if (ttlog__spool_seg_prepare(s, seq, err, errlen) != 0)
		return -1;
	while (s->bytes + reclen > s->o.max_bytes) {
		/* Never the segment being written: when it is the only one
		 * left, the record starts a new one and it goes too. */
		if (s->nsegs == 1) {
			if (ttlog__spool_seal(s, err, errlen) != 0 ||
			    ttlog__spool_seg_prepare(s, seq, err, errlen) != 0)
				return -1;
			if (s->nsegs == 1)
				break; /* the old one was empty */
		}
		ttlog__spool_drop_oldest(s);
	}
	g = &s->segs[s->nsegs - 1];

	ttlog__spool_rec_encode(h, seq, flags, count, payload, len);
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
			ttlog__spool_seal(s, NULL, 0);
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
		ttlog__spool_seal(s, NULL, 0);
		return ttlog__errf(err, errlen, "spool %s: fdatasync: %s",
				   s->dir, strerror(e));
	}
	s->wdirty = s->o.fsync != TTLOG_SPOOL_FSYNC_ALWAYS;
	g->bytes += reclen;
	g->records++;
	g->events += count;
	g->last = seq;
	if (g->lo == 0)
		g->lo = seq;
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
			ttlog__spool_seal(s, NULL, 0);
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
	ttlog__spool_stats_acked(s);
	for (size_t i = 0; i < s->nsegs;) {
		/* The newest one too: the next append starts a new one. */
		if (s->segs[i].last <= seq) {
			if (ttlog__spool_seg_delete(s, i) != 0)
				rc = -1;
		} else {
			i++;
		}
	}
	return rc;
}

void ttlog__spool_get_stats(const struct ttlog__spool *s,
			    struct ttlog__spool_stats *out)
{
	*out = s->st;
	ttlog__spool_stats_held(s, &out->held_records, &out->held_events);
	out->bytes = s->bytes;
	out->segments = s->nsegs;
	out->records = out->events = 0;
	for (size_t i = 0; i < s->nsegs; i++) {
		const struct ttlog__spool_seg *g = &s->segs[i];
		if (g->first > s->acked) {
			out->records += g->records;
			out->events += g->events;
		} else if (g->last > s->acked && g->records > 0) {
			/* Partly acknowledged: the index has no per-record
			 * counts, so its events are taken in proportion. */
			uint64_t n = g->last - s->acked;
			if (n > g->records)
				n = g->records;
			out->records += n;
			out->events += g->events / g->records * n +
				       g->events % g->records * n / g->records;
		}
	}
}

uint64_t ttlog__spool_oldest(const struct ttlog__spool *s)
{
	for (size_t i = 0; i < s->nsegs; i++) {
		const struct ttlog__spool_seg *g = &s->segs[i];
		if (g->records == 0 || g->last <= s->acked)
			continue;
		return g->lo > s->acked ? g->lo : s->acked + 1;
	}
	return 0;
}

int ttlog__spool_set_opts(struct ttlog__spool *s,
			  const struct ttlog__spool_opts *o, char *err,
			  size_t errlen)
{
	if (check_opts(s->dir, o, err, errlen) != 0)
		return -1;
	/* What was written under the old policy is made as durable as that
	 * policy promised before the new one applies. */
	(void)ttlog__spool_sync(s);
	s->o.max_bytes = o->max_bytes;
	s->o.segment_bytes = o->segment_bytes;
	s->o.fsync = o->fsync;
	s->o.overflow = o->overflow;
	return 0;
}

int ttlog__spool_dir_key(const struct ttlog__spool *s, uint64_t *dev,
			 uint64_t *ino)
{
	struct stat st;

	if (fstat(s->dirfd, &st) != 0)
		return -1;
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

const char *ttlog__spool_dir(const struct ttlog__spool *s)
{
	return s->dir;
}
