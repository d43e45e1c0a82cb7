/*
 * tail_file.c - one file the tail input follows: what makes it the same
 * file (device, inode and the CRC-32C of its first bytes), cutting what
 * is read into lines under a size limit, and reading it in quanta until
 * it is finished (renamed away or deleted, and quiet for rotate_wait).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ttlog/ttlog.h>

#include "byteorder.h"
#include "crc32c.h"
#include "input_internal.h"
#include "multiline_internal.h"
#include "tail_internal.h"

/* ---- identity ---- */

void ttlog__tail_pos_encode(const struct ttlog__tail_pos *p,
			    unsigned char out[TTLOG__TAIL_POS_LEN])
{
	out[0] = 1;
	ttlog__put_be64(out + 1, p->dev);
	ttlog__put_be64(out + 9, p->ino);
	ttlog__put_be32(out + 17, p->fp_len);
	ttlog__put_be32(out + 21, p->fp_crc);
	ttlog__put_be64(out + 25, p->off);
}

int ttlog__tail_pos_decode(const void *v, size_t len, struct ttlog__tail_pos *p)
{
	const unsigned char *b = v;

	if (len != TTLOG__TAIL_POS_LEN || b[0] != 1)
		return -1;
	p->dev = ttlog__get_be64(b + 1);
	p->ino = ttlog__get_be64(b + 9);
	p->fp_len = ttlog__get_be32(b + 17);
	p->fp_crc = ttlog__get_be32(b + 21);
	p->off = ttlog__get_be64(b + 25);
	return p->fp_len <= TTLOG__TAIL_FP_MAX ? 0 : -1;
}

/* The CRC-32C of the first n bytes of fd: 0, or -1 (short or failed). */
static int crc_head(int fd, uint32_t n, uint32_t *crc)
{
	unsigned char b[TTLOG__TAIL_FP_MAX];
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, b + got, n - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	ttlog__crc32c_init();
	*crc = ttlog__crc32c(0, b, n);
	return 0;
}

int ttlog__tail_fingerprint(int fd, uint64_t size, uint32_t *len, uint32_t *crc)
{
	uint32_t n =
		size < TTLOG__TAIL_FP_MAX ? (uint32_t)size : TTLOG__TAIL_FP_MAX;

	if (crc_head(fd, n, crc) != 0)
		return -1;
	*len = n;
	return 0;
}

int ttlog__tail_same(const struct ttlog__tail_pos *p, int fd, uint64_t dev,
		     uint64_t ino, uint64_t size)
{
	uint32_t crc;

	if (p->dev != dev || p->ino != ino || size < p->fp_len)
		return 0;
	return crc_head(fd, p->fp_len, &crc) == 0 && crc == p->fp_crc;
}

/* ---- lines ---- */

void ttlog__tail_lines_init(struct ttlog__tail_lines *l, size_t max,
			    uint64_t off)
{
	memset(l, 0, sizeof(*l));
	l->max = max;
	l->start = l->done = off;
}

void ttlog__tail_lines_destroy(struct ttlog__tail_lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}

void ttlog__tail_lines_reset(struct ttlog__tail_lines *l, uint64_t off)
{
	l->len = 0;
	l->skipping = 0;
	l->start = l->done = off;
}

/* Keeps n more bytes of the partial line; the caller made sure they fit
 * under max. 0, or -1 out of memory. */
static int hold(struct ttlog__tail_lines *l, const char *p, size_t n)
{
	if (l->len + n > l->cap) {
		size_t cap = l->cap ? l->cap : 256;
		while (cap < l->len + n)
			cap *= 2;
		if (cap > l->max)
			cap = l->max;
		char *b = realloc(l->buf, cap);
		if (b == NULL)
			return -1;
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
	return 0;
}

long ttlog__tail_lines_feed(struct ttlog__tail_lines *l, const char *p,
			    size_t n, ttlog__tail_line_fn fn, void *arg)
{
	long cut = 0;

	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) : n;
		size_t take = nl ? seg + 1 : seg;

		if (l->skipping) {
			/* The rest of a cut line: nothing of it is kept. */
			if (nl != NULL) {
				l->skipping = 0;
				l->start += l->len + take;
				l->len = 0;
				l->done = l->start;
			} else {
				l->start += take;
			}
			p += take;
			n -= take;
			continue;
		}
		if (l->len + seg > l->max) {
			/* Too long: the first max bytes go out, flagged; the
			 * rest up to its end is dropped. The offset given is
			 * where the line began. */
			size_t room = l->len < l->max ? l->max - l->len : 0;
			if (l->len == 0) {
				fn(arg, p, l->max, 1, l->start);
			} else {
				if (hold(l, p, room) != 0)
					return -1;
				fn(arg, l->buf, l->len, 1, l->start);
			}
			cut++;
			l->start += l->len > 0 ? l->len - room : 0;
			l->len = 0;
			l->skipping = 1;
			/* Continue in the skipping branch from the start of
			 * this segment. */
			continue;
		}
		if (nl == NULL) {
			if (hold(l, p, seg) != 0) {
				l->len = 0;
				l->skipping = 1;
				return -1;
			}
			return cut;
		}
		uint64_t end = l->start + l->len + take;
		if (l->len == 0) {
			fn(arg, p, seg, 0, end);
		} else {
			if (hold(l, p, seg) != 0)
				return -1;
			fn(arg, l->buf, l->len, 0, end);
		}
		l->len = 0;
		l->start = l->done = end;
		p += take;
		n -= take;
	}
	return cut;
}

int ttlog__tail_lines_flush(struct ttlog__tail_lines *l, ttlog__tail_line_fn fn,
			    void *arg)
{
	if (l->skipping) {
		l->skipping = 0;
		l->done = l->start;
		return 0;
	}
	if (l->len == 0)
		return 0;
	uint64_t end = l->start + l->len;
	fn(arg, l->buf, l->len, 0, end);
	l->len = 0;
	l->start = l->done = end;
	return 1;
}

/* ---- positions waiting for their batch ---- */

void ttlog__tail_notes_add(struct ttlog__tail_file *f, uint64_t no,
			   uint64_t off)
{
	if (f->nnotes == TTLOG__TAIL_NOTES) {
		/* Full (the listeners are far behind): every other note goes,
		 * the oldest stays. The positions left are saved as their
		 * batches become durable, only with coarser steps; replacing
		 * the newest instead would push the last note's batch ahead
		 * for as long as reading goes on, and nothing past the notes
		 * before it would be saved. */
		size_t k = 0;
		for (size_t i = 0; i < f->nnotes; i += 2)
			f->notes[k++] = f->notes[i];
		f->nnotes = k;
	}
	f->notes[f->nnotes].no = no;
	f->notes[f->nnotes].off = off;
	f->nnotes++;
}

int ttlog__tail_notes_advance(struct ttlog__tail_file *f, uint64_t durable)
{
	size_t k = 0;

	while (k < f->nnotes && f->notes[k].no <= durable)
		k++;
	if (k == 0)
		return 0;
	f->durable_off = f->notes[k - 1].off;
	memmove(f->notes, f->notes + k, (f->nnotes - k) * sizeof(f->notes[0]));
	f->nnotes -= k;
	return 1;
}

/* ---- events ---- */

static void emit_event(struct ttlog__tail_file *f, const char *text, size_t len,
		       int cut)
{
	struct ttlog__tail *t = f->t;
	static const int types[] = {TTLOG__INPUT_TAIL, TTLOG__INPUT_JSONL,
				    TTLOG__INPUT_SYSLOG};

	ttlog__input_message_as(t->in, types[t->format], f->path, text, len,
				cut);
}

/* Counts the lines the joiner dropped since the last look (after an
 * event was cut at multiline.max_bytes): lost, so counted. */
static void ml_account(struct ttlog__tail_file *f)
{
	uint64_t d = ttlog__ml_dropped_lines(f->ml);

	if (d > f->ml_dropped_seen) {
		f->t->ml_dropped += d - f->ml_dropped_seen;
		f->t->in->st.dropped += d - f->ml_dropped_seen;
		f->ml_dropped_seen = d;
	}
}

static void ml_emit(void *arg, const char *text, size_t len, uint32_t lines,
		    int cut, uint64_t end_off)
{
	struct ttlog__tail_file *f = arg;

	(void)lines;
	if (cut)
		f->t->ml_cut++;
	/* A line cut at max_line inside it flags the event too. */
	if (f->ml_cut_end != 0 && end_off >= f->ml_cut_end) {
		cut = 1;
		f->ml_cut_end = 0;
	}
	emit_event(f, text, len, cut);
	f->hand_off = end_off;
}

static void on_line(void *arg, const char *line, size_t len, int cut,
		    uint64_t end_off)
{
	struct ttlog__tail_file *f = arg;

	if (f->ml == NULL) {
		emit_event(f, line, len, cut);
		f->hand_off = end_off;
		return;
	}
	if (cut)
		f->ml_cut_end = end_off;
	if (ttlog__ml_feed(f->ml, line, len, ttlog__tail_now_ms(), end_off,
			   ml_emit, f) != 0) {
		f->t->in->st.dropped++;
		ttlog__input_drop_warn(f->t->in, f->path,
				       "out of memory joining lines", line,
				       len);
	}
	ml_account(f);
}

/* ---- one file ---- */

struct ttlog__tail_file *ttlog__tail_file_open(struct ttlog__tail *t,
					       const char *path, int fd,
					       const struct ttlog__tail_pos *id,
					       uint64_t size)
{
	struct ttlog__tail_file *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->path = strdup(path)) == NULL) {
		free(f);
		return NULL;
	}
	if (t->ml_rule != NULL && (f->ml = ttlog__ml_new(t->ml_rule)) == NULL) {
		free(f->path);
		free(f);
		return NULL;
	}
	f->t = t;
	f->fd = fd;
	f->id = *id;
	f->size = size;
	f->hand_off = f->noted_off = f->durable_off = id->off;
	f->grew_ms = ttlog__tail_now_ms();
	ttlog__tail_lines_init(&f->lines, t->max_line, id->off);
	f->next = t->files;
	if (t->files != NULL)
		t->files->prev = f;
	t->files = f;
	t->nfiles++;
	return f;
}

/* The file shrank below what was read: copied and truncated in place, so
 * what it holds now is new and is read from its beginning. */
static void truncated(struct ttlog__tail_file *f, uint64_t size)
{
	struct ttlog__tail *t = f->t;
	uint64_t suppressed;

	t->truncations++;
	if (ttlog__ratelimit_pass(&t->trunc_rl, ttlog__input_now_ns(),
				  1000000000u, &suppressed))
		TTLOG_WARN("tail: file truncated; reading it again from its "
			   "start",
			   TTLOG_KV("input", (const char *)t->in->name),
			   TTLOG_KV("path", (const char *)f->path),
			   TTLOG_KV("offset", f->id.off),
			   TTLOG_KV("size", size),
			   TTLOG_KV("suppressed", suppressed));
	if (f->ml != NULL) {
		ttlog__ml_flush(f->ml, 0, 1, ml_emit, f);
		ml_account(f);
	}
	f->ml_cut_end = 0; /* offsets start again */
	f->id.off = 0;
	f->hand_off = 0;
	ttlog__tail_lines_reset(&f->lines, 0);
	f->id.fp_len = 0;
	f->id.fp_crc = 0;
}

long ttlog__tail_file_read(struct ttlog__tail_file *f, uint64_t now_ms)
{
	struct ttlog__tail *t = f->t;
	struct stat st;
	ssize_t n;

	if (f->fd < 0)
		return 0;
	if (fstat(f->fd, &st) != 0) {
		ttlog__tail_warn(t, f->path, "fstat", errno);
		return 0;
	}
	/* Shorter than what was read, or than its fingerprint, or other first
	 * bytes (truncated and written again past our offset between two
	 * looks): what it holds now is new. Checked when the size moved. */
	if ((uint64_t)st.st_size < f->id.off ||
	    (uint64_t)st.st_size < f->id.fp_len ||
	    ((uint64_t)st.st_size != f->size && f->id.fp_len > 0 &&
	     !ttlog__tail_same(&f->id, f->fd, f->id.dev, f->id.ino,
			       (uint64_t)st.st_size)))
		truncated(f, (uint64_t)st.st_size);
	f->size = (uint64_t)st.st_size;
	if (st.st_nlink == 0 && !f->gone) {
		f->gone = 1;
		f->grew_ms = now_ms;
	}
	if (f->size > f->id.off) {
		size_t want = f->size - f->id.off < TTLOG__TAIL_QUANTUM
				      ? (size_t)(f->size - f->id.off)
				      : TTLOG__TAIL_QUANTUM;
		do
			n = pread(f->fd, t->rbuf, want, (off_t)f->id.off);
		while (n < 0 && errno == EINTR);
	} else {
		n = 0;
	}
	if (n < 0) {
		ttlog__tail_warn(t, f->path, "read", errno);
		n = 0;
	}
	if (n > 0) {
		long cut;
		f->id.off += (uint64_t)n;
		f->grew_ms = now_ms;
		t->in->st.bytes += (uint64_t)n;
		/* A file shorter than the fingerprint is known by what it
		 * had; as it grows, so does its fingerprint. */
		if (f->id.fp_len < TTLOG__TAIL_FP_MAX && f->size > f->id.fp_len)
			(void)ttlog__tail_fingerprint(
				f->fd, f->size, &f->id.fp_len, &f->id.fp_crc);
		cut = ttlog__tail_lines_feed(&f->lines, t->rbuf, (size_t)n,
					     on_line, f);
		if (cut < 0) {
			t->in->st.dropped++;
			t->lines_cut++;
		} else {
			t->lines_cut += (uint64_t)cut;
		}
		if (f->ml == NULL && f->lines.done > f->hand_off)
			f->hand_off = f->lines.done; /* a skipped line's end */
		return n;
	}
	if (f->gone && now_ms - f->grew_ms >= t->rotate_wait_ms) {
		ttlog__tail_file_close(f);
		return -1;
	}
	return 0;
}

void ttlog__tail_file_close(struct ttlog__tail_file *f)
{
	struct ttlog__tail *t = f->t;

	if (f->fd < 0)
		return;
	/* Nobody will finish the last line now: it goes out as it is. */
	(void)ttlog__tail_lines_flush(&f->lines, on_line, f);
	if (f->ml != NULL) {
		ttlog__ml_flush(f->ml, 0, 1, ml_emit, f);
		ml_account(f);
		ttlog__ml_free(f->ml);
		f->ml = NULL;
	}
	if (f->ml == NULL && f->lines.done > f->hand_off)
		f->hand_off = f->lines.done;
	ttlog__tail_lines_destroy(&f->lines);
	close(f->fd);
	f->fd = -1;
	t->nfiles--;
	if (f->gone)
		t->rotations++;
}

void ttlog__tail_file_free(struct ttlog__tail_file *f)
{
	struct ttlog__tail *t = f->t;

	if (f->fd >= 0) {
		close(f->fd);
		t->nfiles--;
	}
	if (f->ml != NULL)
		ttlog__ml_free(f->ml);
	ttlog__tail_lines_destroy(&f->lines);
	if (f->prev != NULL)
		f->prev->next = f->next;
	else
		t->files = f->next;
	if (f->next != NULL)
		f->next->prev = f->prev;
	if (f->queued) {
		struct ttlog__tail_file **pp = &t->rq_head, *last = NULL;
		while (*pp != f) {
			last = *pp;
			pp = &(*pp)->rnext;
		}
		*pp = f->rnext;
		if (t->rq_tail == f)
			t->rq_tail = last;
	}
	free(f->path);
	free(f);
}

void ttlog__tail_file_ml_tick(struct ttlog__tail_file *f, uint64_t now_ms)
{
	if (f->ml != NULL && ttlog__ml_pending(f->ml) > 0) {
		(void)ttlog__ml_flush(f->ml, now_ms, 0, ml_emit, f);
		ml_account(f);
	}
}
