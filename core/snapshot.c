/*
 * snapshot.c - the flight recorder: a bounded history of recent batches
 * and snapshot files of it (snapshot_internal.h, docs/snapshot-format.md).
 *
 * The history is the last batches the writer dispatched, each held by a
 * reference, up to a size in bytes: no copy, and the events keep the call
 * sites their batch owns. A snapshot merges that history with the records
 * still in the threads' rings by timestamp, in two passes over the same
 * data: the first collects the strings (messages, files, keys) into the
 * header's table, the second writes the events that refer to them.
 *
 * The same code writes every snapshot, so the crash path is the tested
 * path. It is async-signal-safe: every buffer (the LZ4 block buffers and
 * state, the string table, the merge cursors) is allocated at start; the
 * file is made with openat/write/fdatasync/renameat/fsync on a directory
 * descriptor opened at start; names and messages are formatted by hand.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch_internal.h"
#include "cbor_internal.h"
#include "civil_time.h"
#include "clock_internal.h"
#include "lib_internal.h"
#include "lz4w_internal.h"
#include "snapshot_internal.h"
#include "utf8.h"

#define DEFAULT_HISTORY (4u << 20)
#define DEFAULT_KEEP 10u
#define DEFAULT_MAX_BYTES (256ull << 20)
#define HIST_SLOTS 4096	 /* batches held at most */
#define TABLE_CAP 16384	 /* string table slots (a power of two) */
#define MAX_STRINGS 8192 /* strings in the table; others go inline */
#define MAX_RINGS 1024	 /* rings read; the records of others omitted */
#define ALT_STACK (128u << 10)
#define CRASH_WAIT_MS 2000 /* for the writer to leave what it changes */
#define NAME_MAX_LEN 200

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NCRASH (sizeof(crash_signals) / sizeof(crash_signals[0]))

struct slot {
	struct ttlog_batch *b;
	size_t bytes;
};

/* An event as a snapshot reads it, from the history or a ring. */
struct sev {
	uint64_t t;
	uint32_t tid;
	uint8_t flags;
	int own; /* msg is the event's own, not the call site's */
	const struct ttlog_callsite *cs;
	const char *msg;
	size_t msg_len;
	const unsigned char *vals;
};

/* One source of events in time order: the history, or one ring. */
struct cursor {
	const struct ttlog__ring *ring; /* NULL: the history */
	uint64_t pos, end;		/* ring positions */
	size_t slot, ev;		/* history position */
	struct sev e;			/* the current event */
};

struct tentry {
	const char *s;
	uint32_t idx;
};

static struct {
	int on;
	int on_crash;
	char dir[PATH_MAX];
	int dirfd;
	char service[256]; /* as configured, for the header */
	char name_svc[64]; /* [A-Za-z0-9._-] only, for file names */
	char host[256];
	size_t hist_max;
	uint32_t keep, interval_ms;
	uint64_t max_bytes;
	const struct ttlog__clock *clock;

	/* History: a ring buffer of slots, oldest at hhead. */
	struct slot *hist;
	size_t hhead, hn;
	_Atomic size_t hbytes, hevents; /* also read by ttlog_snapshot_stats */

	/* Set aside at start for the writing of a snapshot. */
	struct ttlog__lz4w lz;
	struct tentry *table;
	const char **strs;
	uint32_t nstrs;
	struct cursor *cur;
	struct cursor **heap;
	size_t ncur;
	uint64_t omitted_now;
	char name[NAME_MAX_LEN + 16];
	char tmp[NAME_MAX_LEN + 32];
	const char *err_step;
	int err_no;

	int writer_tid;
	_Atomic int busy, crashing, in_crash, writing;
	_Atomic uint64_t seq, written, failed, sync_failed, omitted,
		last_events;
	struct sigaction old[NCRASH];
	int installed;
	pthread_mutex_t stats_mu; /* last_file, last_error */
	char last_file[256];
	char last_error[256];
} S = {.dirfd = -1, .stats_mu = PTHREAD_MUTEX_INITIALIZER};

/* ------------------------------------------------------------------ */
/* Text without stdio (the crash path)                                  */
/* ------------------------------------------------------------------ */

/* Appends s to dst (capacity cap, NUL-terminated); returns the length. */
static size_t cat(char *dst, size_t len, size_t cap, const char *s)
{
	while (*s != 0 && len + 1 < cap)
		dst[len++] = *s++;
	dst[len] = 0;
	return len;
}

static size_t cat_u64(char *dst, size_t len, size_t cap, uint64_t v, int width)
{
	char d[24];
	int n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 || n < width);
	while (n > 0 && len + 1 < cap)
		dst[len++] = d[--n];
	dst[len] = 0;
	return len;
}

/* <service>-YYYYMMDDTHHMMSS.mmmZ-<pid>-<n, 6 digits>-<trigger>.ttsnap */
static void make_names(uint64_t now_ns, uint64_t n, const char *trigger)
{
	uint64_t sec = now_ns / 1000000000u;
	unsigned mo, d, hms = (unsigned)(sec % 86400);
	int64_t y;
	size_t len = 0, cap = sizeof(S.name);

	/* Async-signal-safe, as everything on the crash path. */
	ttlog__civil_from_days((int64_t)(sec / 86400), &y, &mo, &d);
	S.name[0] = 0;
	len = cat(S.name, len, cap, S.name_svc);
	len = cat(S.name, len, cap, "-");
	len = cat_u64(S.name, len, cap, (uint64_t)y, 4);
	len = cat_u64(S.name, len, cap, mo, 2);
	len = cat_u64(S.name, len, cap, d, 2);
	len = cat(S.name, len, cap, "T");
	len = cat_u64(S.name, len, cap, hms / 3600, 2);
	len = cat_u64(S.name, len, cap, hms / 60 % 60, 2);
	len = cat_u64(S.name, len, cap, hms % 60, 2);
	len = cat(S.name, len, cap, ".");
	len = cat_u64(S.name, len, cap, now_ns / 1000000u % 1000, 3);
	len = cat(S.name, len, cap, "Z-");
	len = cat_u64(S.name, len, cap, (uint64_t)getpid(), 1);
	len = cat(S.name, len, cap, "-");
	len = cat_u64(S.name, len, cap, n, 6); /* sorts as a number */
	len = cat(S.name, len, cap, "-");
	len = cat(S.name, len, cap, trigger);
	(void)cat(S.name, len, cap, ".ttsnap");
	len = cat(S.tmp, 0, sizeof(S.tmp), ".");
	len = cat(S.tmp, len, sizeof(S.tmp), S.name);
	(void)cat(S.tmp, len, sizeof(S.tmp), ".tmp");
}

/* ------------------------------------------------------------------ */
/* History                                                              */
/* ------------------------------------------------------------------ */

static void hist_drop_oldest(void)
{
	struct slot *s = &S.hist[S.hhead];
	struct ttlog_batch *b = s->b;

	S.hbytes -= s->bytes;
	S.hevents -= b->n;
	S.hhead = (S.hhead + 1) % HIST_SLOTS;
	S.hn--;
	ttlog_batch_unref(b);
}

void ttlog__snap_history_add(struct ttlog_batch *b)
{
	size_t bytes;

	if (!S.on || b->n == 0)
		return;
	/* What the batch holds now: its values, events and owned call
	 * sites' table, before any listener adds an encoding. */
	bytes = ttlog__batch_bytes(b);
	ttlog__snap_enter();
	while (S.hn > 0 &&
	       (S.hn == HIST_SLOTS || S.hbytes + bytes > S.hist_max))
		hist_drop_oldest();
	ttlog_batch_ref(b);
	S.hist[(S.hhead + S.hn) % HIST_SLOTS] = (struct slot){b, bytes};
	S.hbytes += bytes;
	S.hevents += b->n;
	S.hn++; /* last: a crash handler on this thread sees a whole slot */
	ttlog__snap_leave();
}

/* ------------------------------------------------------------------ */
/* Events in time order                                                 */
/* ------------------------------------------------------------------ */

/* Loads the cursor's current event into c->e; 0 when it has none left. */
static int cursor_event(struct cursor *c)
{
	struct sev *e = &c->e;

	if (c->ring == NULL) {
		while (c->slot < S.hn) {
			const struct ttlog_batch *b =
				S.hist[(S.hhead + c->slot) % HIST_SLOTS].b;
			if (c->ev < b->n) {
				const struct ttlog__event *x = &b->ev[c->ev];
				e->t = x->time_ns;
				e->tid = x->tid;
				e->own = (x->flags & TTLOG__EVENT_OWN_MSG) != 0;
				e->flags = x->flags & TTLOG_EVENT_TRUNCATED;
				e->cs = b->cs[x->cs];
				e->vals = ttlog__event_bytes(
					b, x, &e->msg,
					e->own ? &e->msg_len : NULL);
				return 1;
			}
			c->slot++;
			c->ev = 0;
		}
		return 0;
	}
	const struct ttlog__ring *r = c->ring;
	while (c->pos < c->end) {
		const unsigned char *p = r->buf + (c->pos & r->mask);
		struct ttlog__rec_hdr h;
		uint64_t raw;

		memcpy(&h, p, sizeof(h));
		/* A record that cannot be one ends the ring's part. */
		if (h.size == 0 || h.size % 8 != 0 ||
		    h.size > c->end - c->pos ||
		    (c->pos & r->mask) + h.size > r->cap) {
			c->pos = c->end;
			return 0;
		}
		if (h.flags & TTLOG__REC_PAD) {
			c->pos += h.size;
			continue;
		}
		if (h.size < TTLOG__REC_FIXED) {
			c->pos = c->end;
			return 0;
		}
		memcpy(&raw, p + 8, 8);
		memcpy(&e->cs, p + 16, sizeof(e->cs));
		e->t = ttlog__clock_to_ns(S.clock, raw);
		e->tid = r->tid;
		e->own = 0;
		e->flags = (h.flags & TTLOG__REC_TRUNC) ? TTLOG_EVENT_TRUNCATED
							: 0;
		e->msg = e->cs->msg;
		e->msg_len = 0; /* not read: only an own message's is */
		e->vals = p + TTLOG__REC_FIXED;
		return 1;
	}
	return 0;
}

static void cursor_next(struct cursor *c)
{
	if (c->ring == NULL) {
		c->ev++;
		return;
	}
	struct ttlog__rec_hdr h;
	memcpy(&h, c->ring->buf + (c->pos & c->ring->mask), sizeof(h));
	c->pos += h.size;
}

/* Records of a ring part, for the omitted count. */
static uint64_t count_records(const struct ttlog__ring *r, uint64_t pos,
			      uint64_t end)
{
	struct cursor c = {.ring = r, .pos = pos, .end = end};
	uint64_t n = 0;

	while (cursor_event(&c)) {
		n++;
		cursor_next(&c);
	}
	return n;
}

/* Sets the cursors up: the history, and each ring from its tail to its
 * head as they are now. locked: the library lock may be taken (not in a
 * signal handler, where the list is read as it is). */
static void cursors_capture(int locked)
{
	const struct ttlog__ring *r;

	S.ncur = 0;
	S.omitted_now = 0;
	S.cur[S.ncur++] = (struct cursor){.ring = NULL};
	if (locked)
		pthread_mutex_lock(&ttlog__lib.lock);
	for (r = ttlog__lib.rings; r != NULL; r = r->next) {
		uint64_t tail =
			atomic_load_explicit(&r->tail, memory_order_acquire);
		uint64_t head =
			atomic_load_explicit(&r->head, memory_order_acquire);
		if (head == tail)
			continue;
		if (S.ncur == MAX_RINGS + 1) {
			S.omitted_now += count_records(r, tail, head);
			continue;
		}
		S.cur[S.ncur++] =
			(struct cursor){.ring = r, .pos = tail, .end = head};
	}
	if (locked)
		pthread_mutex_unlock(&ttlog__lib.lock);
}

static void heap_down(struct cursor **h, size_t n, size_t i)
{
	for (;;) {
		size_t m = i, l = 2 * i + 1, r = l + 1;
		if (l < n && h[l]->e.t < h[m]->e.t)
			m = l;
		if (r < n && h[r]->e.t < h[m]->e.t)
			m = r;
		if (m == i)
			return;
		struct cursor *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Calls fn for every event, oldest first; returns how many. Each call
 * starts from the captured positions, so two calls see the same events. */
static uint64_t each_event(void (*fn)(const struct sev *))
{
	size_t n = 0;
	uint64_t count = 0;

	for (size_t i = 0; i < S.ncur; i++) {
		struct cursor *k = &S.cur[S.ncur + i]; /* the working copy */
		*k = S.cur[i];
		if (cursor_event(k))
			S.heap[n++] = k;
	}
	for (size_t i = n / 2; i-- > 0;)
		heap_down(S.heap, n, i);
	while (n > 0) {
		struct cursor *k = S.heap[0];
		fn(&k->e);
		count++;
		cursor_next(k);
		if (!cursor_event(k))
			S.heap[0] = S.heap[--n];
		heap_down(S.heap, n, 0);
	}
	return count;
}

/* ------------------------------------------------------------------ */
/* The string table                                                     */
/* ------------------------------------------------------------------ */

/* Strings are told apart by address: the call sites' literals, each once
 * per call site. */
static size_t table_slot(const char *s)
{
	uintptr_t h = (uintptr_t)s;
	h ^= h >> 17;
	h *= (uintptr_t)0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 7) & (TABLE_CAP - 1);
}

static void intern(const char *s)
{
	size_t i;

	for (i = table_slot(s); S.table[i].s != NULL;
	     i = (i + 1) & (TABLE_CAP - 1))
		if (S.table[i].s == s)
			return;
	if (S.nstrs == MAX_STRINGS)
		return; /* written inline */
	S.table[i].s = s;
	S.table[i].idx = S.nstrs;
	S.strs[S.nstrs++] = s;
}

static int lookup(const char *s, uint32_t *idx)
{
	for (size_t i = table_slot(s); S.table[i].s != NULL;
	     i = (i + 1) & (TABLE_CAP - 1))
		if (S.table[i].s == s) {
			*idx = S.table[i].idx;
			return 1;
		}
	return 0;
}

static void collect(const struct sev *e)
{
	if (!e->own)
		intern(e->cs->msg);
	intern(e->cs->file);
	for (unsigned k = 0; k < e->cs->nfields; k++)
		intern(e->cs->keys[k]);
}

/* ------------------------------------------------------------------ */
/* CBOR into the LZ4 frame                                              */
/* ------------------------------------------------------------------ */

static void em_head(unsigned mt, uint64_t v)
{
	unsigned char b[TTLOG__CBOR_HEAD_MAX];
	ttlog__lz4w_put(&S.lz, b, ttlog__cbor_head(b, mt, v));
}

static void em_str(const char *s, size_t n)
{
	em_head(ttlog__utf8_valid((const unsigned char *)s, n) ? TTLOG__MT_TSTR
							       : TTLOG__MT_BSTR,
		n);
	ttlog__lz4w_put(&S.lz, s, n);
}

static void em_cstr(const char *s)
{
	em_str(s, strlen(s));
}

static void em_ref(const char *s)
{
	uint32_t idx;

	if (lookup(s, &idx))
		em_head(TTLOG__MT_UINT, idx);
	else
		em_cstr(s);
}

static void em_value(const struct ttlog_field *f)
{
	unsigned char b[TTLOG__CBOR_HEAD_MAX];

	switch (f->type) {
	case TTLOG_TYPE_I64:
		ttlog__lz4w_put(&S.lz, b, ttlog__cbor_i64(b, f->v.i64));
		break;
	case TTLOG_TYPE_U64:
		em_head(TTLOG__MT_UINT, f->v.u64);
		break;
	case TTLOG_TYPE_F64:
		ttlog__lz4w_put(&S.lz, b, ttlog__cbor_f64(b, f->v.f64));
		break;
	case TTLOG_TYPE_BOOL:
		em_head(TTLOG__MT_SIMPLE, f->v.b ? 21 : 20);
		break;
	case TTLOG_TYPE_STR:
	default:
		em_str(f->v.str.ptr, f->v.str.len);
		break;
	}
}

static void emit(const struct sev *e)
{
	const struct ttlog_callsite *cs = e->cs;
	const unsigned char *p = e->vals;
	struct ttlog_field f = {0};

	em_head(TTLOG__MT_ARRAY, 7u + 2u * cs->nfields);
	em_head(TTLOG__MT_UINT, e->t);
	em_head(TTLOG__MT_UINT, e->tid);
	em_head(TTLOG__MT_UINT, cs->level);
	if (e->own)
		em_str(e->msg, e->msg_len);
	else
		em_ref(cs->msg);
	em_ref(cs->file);
	em_head(TTLOG__MT_UINT, cs->line);
	em_head(TTLOG__MT_UINT, e->flags);
	for (unsigned k = 0; k < cs->nfields; k++) {
		em_ref(cs->keys[k]);
		p = ttlog__value_decode(p, cs->types[k], &f);
		em_value(&f);
	}
}

/* ------------------------------------------------------------------ */
/* Writing a file                                                       */
/* ------------------------------------------------------------------ */

static int fail(const char *step, int err)
{
	S.err_step = step;
	S.err_no = err;
	return -err;
}

/*
 * Writes one snapshot; async-signal-safe. locked: see cursors_capture().
 * Returns 0 or -errno, with S.err_step naming the step. *placed says
 * whether the file is in place under its name: a failed sync is counted
 * and reported like any failure, but the file is kept (its bytes are in
 * the page cache, readable, and checked by their checksums).
 */
static int write_file(const char *trigger, const char *reason, int locked,
		      uint64_t *nevents, int *placed)
{
	struct timespec ts;
	uint64_t now, n, nev;
	int fd, rc, sync_rc = 0;

	*placed = 0;
	S.err_step = NULL;
	S.err_no = 0;
	if (S.dirfd < 0)
		return fail("open the directory", ENOENT);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	n = atomic_fetch_add(&S.seq, 1) + 1;
	make_names(now, n, trigger);
	fd = openat(S.dirfd, S.tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		return fail("create", errno);

	cursors_capture(locked);
	memset(S.table, 0, TABLE_CAP * sizeof(*S.table));
	S.nstrs = 0;
	nev = each_event(collect);

	ttlog__lz4w_begin(&S.lz, fd);
	em_head(TTLOG__MT_MAP, 10);
	em_cstr("format");
	em_cstr("ttlog-snapshot");
	em_cstr("v");
	em_head(TTLOG__MT_UINT, 1);
	em_cstr("service");
	em_cstr(S.service);
	em_cstr("host");
	em_cstr(S.host);
	em_cstr("pid");
	em_head(TTLOG__MT_UINT, (uint64_t)getpid());
	em_cstr("trigger");
	em_cstr(trigger);
	em_cstr("reason");
	em_cstr(reason != NULL ? reason : "");
	em_cstr("time_ns");
	em_head(TTLOG__MT_UINT, now);
	em_cstr("strings");
	em_head(TTLOG__MT_ARRAY, S.nstrs);
	for (uint32_t i = 0; i < S.nstrs; i++)
		em_cstr(S.strs[i]);
	em_cstr("omitted");
	em_head(TTLOG__MT_UINT, S.omitted_now);
	(void)each_event(emit);
	em_head(TTLOG__MT_MAP, 1);
	em_cstr("end");
	em_head(TTLOG__MT_UINT, nev);
	rc = ttlog__lz4w_end(&S.lz);
	if (rc != 0) {
		close(fd);
		unlinkat(S.dirfd, S.tmp, 0);
		return fail("write", rc);
	}
	if (fdatasync(fd) != 0) {
		atomic_fetch_add(&S.sync_failed, 1);
		sync_rc = fail("fdatasync", errno);
	}
	if (close(fd) != 0 && errno != EINTR) {
		unlinkat(S.dirfd, S.tmp, 0);
		return fail("close", errno);
	}
	if (renameat(S.dirfd, S.tmp, S.dirfd, S.name) != 0) {
		rc = errno;
		unlinkat(S.dirfd, S.tmp, 0);
		return fail("rename", rc);
	}
	*placed = 1;
	if (fsync(S.dirfd) != 0 && sync_rc == 0) {
		atomic_fetch_add(&S.sync_failed, 1);
		sync_rc = fail("fsync the directory", errno);
	}
	atomic_fetch_add(&S.omitted, S.omitted_now);
	*nevents = nev;
	return sync_rc;
}

/* ------------------------------------------------------------------ */
/* Retention (writer thread)                                            */
/* ------------------------------------------------------------------ */

struct found {
	char *name;
	uint64_t bytes;
};

static int by_name_desc(const void *a, const void *b)
{
	return strcmp(((const struct found *)b)->name,
		      ((const struct found *)a)->name);
}

/* Whether name is a snapshot of this service. */
static int ours(const char *name)
{
	size_t ls = strlen(S.name_svc), ln = strlen(name);
	static const char sfx[] = ".ttsnap";

	return ln > ls + 1 + sizeof(sfx) - 1 &&
	       strncmp(name, S.name_svc, ls) == 0 && name[ls] == '-' &&
	       name[ls + 1] >= '0' && name[ls + 1] <= '9' &&
	       strcmp(name + ln - (sizeof(sfx) - 1), sfx) == 0;
}

static void retention(void)
{
	struct found *f = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	struct dirent *de;
	int fd = S.dirfd >= 0 ? dup(S.dirfd) : -1;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (!ours(de->d_name) ||
		    fstatat(S.dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 32;
			struct found *t = realloc(f, nc * sizeof(*f));
			if (t == NULL)
				break;
			f = t;
			cap = nc;
		}
		f[n].name = strdup(de->d_name);
		if (f[n].name == NULL)
			break;
		f[n].bytes = (uint64_t)st.st_size;
		total += f[n].bytes;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(f, n, sizeof(*f), by_name_desc);
	/* Newest first: keep `keep`, then drop the oldest while over the
	 * byte limit, never the newest. */
	for (size_t i = n; i-- > 0;) {
		int over = total > S.max_bytes && i > 0;
		if ((i >= S.keep || over) &&
		    unlinkat(S.dirfd, f[i].name, 0) == 0)
			total -= f[i].bytes;
	}
	for (size_t i = 0; i < n; i++)
		free(f[i].name);
	free(f);
}

/* ------------------------------------------------------------------ */
/* The writer's side                                                    */
/* ------------------------------------------------------------------ */

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void ttlog__snap_enter(void)
{
	if (!S.on)
		return;
	for (;;) {
		atomic_fetch_add(&S.busy, 1);
		if (!atomic_load(&S.crashing))
			return;
		atomic_fetch_sub(&S.busy, 1);
		while (atomic_load(&S.crashing))
			nap_ms(1);
	}
}

void ttlog__snap_leave(void)
{
	if (S.on)
		atomic_fetch_sub(&S.busy, 1);
}

static int open_dir(void)
{
	if (S.dirfd >= 0)
		return 0;
	if (mkdir(S.dir, 0750) != 0 && errno != EEXIST)
		return -errno;
	S.dirfd = open(S.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return S.dirfd >= 0 ? 0 : -errno;
}

int ttlog__snap_write(const char *trigger, const char *reason)
{
	uint64_t nev = 0;
	int rc, placed = 0;

	if (!S.on)
		return TTLOG_EINVAL;
	ttlog__snap_enter();
	atomic_store(&S.writing, 1);
	rc = open_dir();
	if (rc != 0) {
		S.name[0] = 0;
		(void)fail("open the directory", -rc);
	} else
		rc = write_file(trigger, reason, 1, &nev, &placed);
	atomic_store(&S.writing, 0);
	ttlog__snap_leave();

	pthread_mutex_lock(&S.stats_mu);
	if (placed) {
		atomic_fetch_add(&S.written, 1);
		atomic_store(&S.last_events, nev);
		snprintf(S.last_file, sizeof(S.last_file), "%s", S.name);
	} else {
		atomic_fetch_add(&S.failed, 1);
	}
	if (rc != 0)
		snprintf(S.last_error, sizeof(S.last_error),
			 "%.100s/%.90s: %s: %s", S.dir, S.name, S.err_step,
			 strerror(S.err_no));
	pthread_mutex_unlock(&S.stats_mu);
	if (rc != 0)
		fprintf(stderr, "ttlog: snapshot %s/%s: %s: %s\n", S.dir,
			S.name, S.err_step, strerror(S.err_no));
	if (S.dirfd >= 0)
		retention();
	return rc;
}

/* ------------------------------------------------------------------ */
/* The crash path                                                       */
/* ------------------------------------------------------------------ */

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGFPE:
		return "SIGFPE";
	case SIGILL:
		return "SIGILL";
	case SIGABRT:
		return "SIGABRT";
	default:
		return "signal";
	}
}

/* One line to stderr, put together without stdio. */
static void say(const char *a, const char *b, const char *c, const char *d)
{
	char m[PATH_MAX + 2 * NAME_MAX_LEN];
	size_t len = cat(m, 0, sizeof(m), "ttlog: ");

	len = cat(m, len, sizeof(m), a);
	len = cat(m, len, sizeof(m), b);
	len = cat(m, len, sizeof(m), c);
	len = cat(m, len, sizeof(m), d);
	len = cat(m, len, sizeof(m), "\n");
	ssize_t w = write(STDERR_FILENO, m, len);
	(void)w;
}

static void crash_snapshot(int sig)
{
	uint64_t nev = 0;
	int rc, placed;

	atomic_store(&S.crashing, 1);
	/* The writer finishes what it is changing (it waits in
	 * ttlog__snap_enter() after that); unless it is the thread that
	 * crashed, or is stuck. */
	if ((int)gettid() != S.writer_tid)
		for (int i = 0; i < CRASH_WAIT_MS && atomic_load(&S.busy) > 0;
		     i++)
			nap_ms(1);
	if (atomic_load(&S.writing)) {
		/* The crash is in the middle of writing a snapshot, on this
		 * thread: its buffers are in use. */
		say("no crash snapshot: the crash happened while writing one",
		    "", "", "");
	} else {
		rc = write_file("crash", signal_name(sig), 0, &nev, &placed);
		if (placed) {
			atomic_fetch_add(&S.written, 1);
			atomic_store(&S.last_events, nev);
			say("crash snapshot ", S.dir, "/", S.name);
		} else {
			atomic_fetch_add(&S.failed, 1);
		}
		if (rc != 0) {
			char num[24];
			cat_u64(num, 0, sizeof(num), (uint64_t)S.err_no, 1);
			say("crash snapshot: ", S.err_step, ": errno ", num);
		}
	}
	atomic_store(&S.crashing, 0);
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	size_t k;
	(void)uc;

	if (atomic_exchange(&S.in_crash, 1) == 0)
		crash_snapshot(sig);
	else
		/* Another thread crashed too: let the first one finish its
		 * file before this one's default action ends the process. */
		for (int i = 0;
		     i < 2 * CRASH_WAIT_MS && atomic_load(&S.crashing); i++)
			nap_ms(1);
	for (k = 0; k < NCRASH && crash_signals[k] != sig; k++)
		;
	if (k < NCRASH)
		sigaction(sig, &S.old[k], NULL);
	errno = saved;
	/* A signal that was sent (kill, raise, abort) is sent again, to the
	 * previous disposition, once this handler returns; a fault happens
	 * again when the instruction is retried. */
	if (si == NULL || si->si_code <= 0)
		raise(sig);
}

static void install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (size_t k = 0; k < NCRASH; k++)
		sigaddset(&sa.sa_mask, crash_signals[k]);
	for (size_t k = 0; k < NCRASH; k++)
		sigaction(crash_signals[k], &sa, &S.old[k]);
	S.installed = 1;
}

static void uninstall(void)
{
	if (!S.installed)
		return;
	for (size_t k = 0; k < NCRASH; k++) {
		struct sigaction cur;
		/* Only where ours is still the handler: the application may
		 * have put its own in front since. */
		if (sigaction(crash_signals[k], NULL, &cur) == 0 &&
		    (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_crash)
			sigaction(crash_signals[k], &S.old[k], NULL);
	}
	S.installed = 0;
}

static _Thread_local void *tls_alt;

void ttlog__snap_thread_enter(void)
{
	stack_t cur, ss;
	void *p;

	if (!S.on || !S.on_crash || tls_alt != NULL)
		return;
	if (sigaltstack(NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE))
		return; /* the thread has one already */
	p = malloc(ALT_STACK);
	if (p == NULL)
		return;
	ss.ss_sp = p;
	ss.ss_size = ALT_STACK;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0) {
		free(p);
		return;
	}
	tls_alt = p;
}

void ttlog__snap_thread_exit(void)
{
	stack_t cur, off;

	if (tls_alt == NULL)
		return;
	if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == tls_alt &&
	    !(cur.ss_flags & SS_ONSTACK)) {
		memset(&off, 0, sizeof(off));
		off.ss_flags = SS_DISABLE;
		if (sigaltstack(&off, NULL) == 0) {
			free(tls_alt);
			tls_alt = NULL;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Set-up                                                               */
/* ------------------------------------------------------------------ */

int ttlog__snap_on(void)
{
	return S.on;
}

uint32_t ttlog__snap_interval_ms(void)
{
	return S.on ? S.interval_ms : 0;
}

void ttlog__snap_set_writer(int tid)
{
	S.writer_tid = tid;
}

static void release(void)
{
	while (S.hn > 0)
		hist_drop_oldest();
	free(S.hist);
	free(S.table);
	free(S.strs);
	free(S.cur);
	free(S.heap);
	ttlog__lz4w_free(&S.lz);
	S.hist = NULL;
	S.table = NULL;
	S.strs = NULL;
	S.cur = NULL;
	S.heap = NULL;
	if (S.dirfd >= 0)
		close(S.dirfd);
	S.dirfd = -1;
	S.on = 0;
}

int ttlog__snap_start(const struct ttlog_options *o,
		      const struct ttlog__clock *clock)
{
	size_t i;
	int rc;

	S.on = 0;
	if (o->snapshot_dir == NULL || o->snapshot_dir[0] == 0)
		return 0;
	if (strlen(o->snapshot_dir) >= sizeof(S.dir))
		return TTLOG_EINVAL;
	snprintf(S.dir, sizeof(S.dir), "%s", o->snapshot_dir);
	snprintf(S.service, sizeof(S.service), "%s",
		 o->service ? o->service : "ttlog");
	for (i = 0; S.service[i] != 0 && i + 1 < sizeof(S.name_svc); i++) {
		char c = S.service[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			 c == '-';
		S.name_svc[i] = ok ? c : '_';
	}
	S.name_svc[i] = 0;
	if (gethostname(S.host, sizeof(S.host)) != 0)
		snprintf(S.host, sizeof(S.host), "unknown");
	S.host[sizeof(S.host) - 1] = 0;
	S.hist_max = o->snapshot_history_bytes ? o->snapshot_history_bytes
					       : DEFAULT_HISTORY;
	S.keep = o->snapshot_keep ? o->snapshot_keep : DEFAULT_KEEP;
	S.max_bytes = o->snapshot_max_bytes ? o->snapshot_max_bytes
					    : DEFAULT_MAX_BYTES;
	S.interval_ms = o->snapshot_interval_ms;
	S.on_crash = o->snapshot_on_crash;
	S.clock = clock;
	S.hhead = S.hn = 0;
	atomic_store(&S.hbytes, 0);
	atomic_store(&S.hevents, 0);
	atomic_store(&S.busy, 0);
	atomic_store(&S.crashing, 0);
	atomic_store(&S.in_crash, 0);
	atomic_store(&S.writing, 0);
	S.writer_tid = 0;
	/* Counters are per run, like ttlog_stats(); file names keep counting
	 * within the process, so they never repeat. */
	atomic_store(&S.written, 0);
	atomic_store(&S.failed, 0);
	atomic_store(&S.sync_failed, 0);
	atomic_store(&S.omitted, 0);
	atomic_store(&S.last_events, 0);
	pthread_mutex_lock(&S.stats_mu);
	S.last_file[0] = S.last_error[0] = 0;
	pthread_mutex_unlock(&S.stats_mu);
	S.hist = calloc(HIST_SLOTS, sizeof(*S.hist));
	S.table = calloc(TABLE_CAP, sizeof(*S.table));
	S.strs = calloc(MAX_STRINGS, sizeof(*S.strs));
	/* The captured cursors, then as many working copies. */
	S.cur = calloc(2 * (MAX_RINGS + 1), sizeof(*S.cur));
	S.heap = calloc(MAX_RINGS + 1, sizeof(*S.heap));
	if (S.hist == NULL || S.table == NULL || S.strs == NULL ||
	    S.cur == NULL || S.heap == NULL || ttlog__lz4w_init(&S.lz) != 0) {
		release();
		return TTLOG_ENOMEM;
	}
	S.on = 1;
	/* A directory that cannot be opened now is not fatal: every
	 * snapshot then fails, counted and reported, and tries again. */
	rc = open_dir();
	if (rc != 0)
		fprintf(stderr, "ttlog: snapshot directory %s: %s\n", S.dir,
			strerror(-rc));
	else
		retention();
	if (S.on_crash) {
		install();
		ttlog__snap_thread_enter();
	}
	return 0;
}

void ttlog__snap_stop(void)
{
	if (!S.on)
		return;
	uninstall();
	ttlog__snap_thread_exit();
	release();
}

void ttlog__snap_stats(struct ttlog_snapshot_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->written = atomic_load(&S.written);
	out->failed = atomic_load(&S.failed);
	out->sync_failed = atomic_load(&S.sync_failed);
	out->events = atomic_load(&S.last_events);
	out->omitted = atomic_load(&S.omitted);
	pthread_mutex_lock(&S.stats_mu);
	out->history_events = atomic_load(&S.hevents);
	out->history_bytes = atomic_load(&S.hbytes);
	snprintf(out->last_file, sizeof(out->last_file), "%s", S.last_file);
	snprintf(out->last_error, sizeof(out->last_error), "%s", S.last_error);
	pthread_mutex_unlock(&S.stats_mu);
}
