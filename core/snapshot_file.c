/*
 * snapshot_file.c - writing one snapshot file (docs/snapshot-format.md):
 * its name, the string table and the CBOR in an LZ4 frame. The events are
 * read in two passes over the same data: the first collects the strings
 * (messages, files, keys) into the header's table, the second writes the
 * events that refer to them.
 *
 * The same code writes every snapshot, so the crash path is the tested
 * path. It is async-signal-safe: every buffer (the LZ4 block buffers and
 * state, the string table, the merge cursors) is allocated at start; the
 * file is made with openat/write/fdatasync/renameat/fsync on a directory
 * descriptor opened at start; names and messages are formatted by hand.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch_internal.h"
#include "cbor_internal.h"
#include "civil_time.h"
#include "lib_internal.h"
#include "snapshot_state.h"
#include "utf8.h"

/* ------------------------------------------------------------------ */
/* Text without stdio (the crash path)                                  */
/* ------------------------------------------------------------------ */

size_t ttlog__snap_cat(char *dst, size_t len, size_t cap, const char *s)
{
	while (*s != 0 && len + 1 < cap)
		dst[len++] = *s++;
	dst[len] = 0;
	return len;
}

size_t ttlog__snap_cat_u64(char *dst, size_t len, size_t cap, uint64_t v,
			   int width)
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
	size_t len = 0, cap = sizeof(ttlog__snap.name);

	/* Async-signal-safe, as everything on the crash path. */
	ttlog__civil_from_days((int64_t)(sec / 86400), &y, &mo, &d);
	ttlog__snap.name[0] = 0;
	len = ttlog__snap_cat(ttlog__snap.name, len, cap, ttlog__snap.name_svc);
	len = ttlog__snap_cat(ttlog__snap.name, len, cap, "-");
	len = ttlog__snap_cat_u64(ttlog__snap.name, len, cap, (uint64_t)y, 4);
	len = ttlog__snap_cat_u64(ttlog__snap.name, len, cap, mo, 2);
	len = ttlog__snap_cat_u64(ttlog__snap.name, len, cap, d, 2);
	len = ttlog__snap_cat(ttlog__snap.name, len, cap, "T");
	len = ttlog__snap_cat_u64(ttlog__snap.name, len, cap, hms / 3600, 2);
	len = ttlog__snap_cat_u64(ttlog__snap.name, len, cap, hms / 60 % 60, 2);
	len = ttlog__snap_cat_u64(ttlog__snap.name, len, cap, hms % 60, 2);
	len = ttlog__snap_cat(ttlog__snap.name, len, cap, ".");
	len = ttlog__snap_cat_u64(ttlog__snap.name, len, cap,
				  now_ns / 1000000u % 1000, 3);
	len = ttlog__snap_cat(ttlog__snap.name, len, cap, "Z-");
	len = ttlog__snap_cat_u64(ttlog__snap.name, len, cap,
				  (uint64_t)getpid(), 1);
	len = ttlog__snap_cat(ttlog__snap.name, len, cap, "-");
	len = ttlog__snap_cat_u64(ttlog__snap.name, len, cap, n,
				  6); /* sorts as a number */
	len = ttlog__snap_cat(ttlog__snap.name, len, cap, "-");
	len = ttlog__snap_cat(ttlog__snap.name, len, cap, trigger);
	(void)ttlog__snap_cat(ttlog__snap.name, len, cap, ".ttsnap");
	len = ttlog__snap_cat(ttlog__snap.tmp, 0, sizeof(ttlog__snap.tmp), ".");
	len = ttlog__snap_cat(ttlog__snap.tmp, len, sizeof(ttlog__snap.tmp),
			      ttlog__snap.name);
	(void)ttlog__snap_cat(ttlog__snap.tmp, len, sizeof(ttlog__snap.tmp),
			      ".tmp");
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
	return (size_t)(h >> 7) & (TTLOG__SNAP_TABLE_CAP - 1);
}

static void intern(const char *s)
{
	size_t i;

	for (i = table_slot(s); ttlog__snap.table[i].s != NULL;
	     i = (i + 1) & (TTLOG__SNAP_TABLE_CAP - 1))
		if (ttlog__snap.table[i].s == s)
			return;
	if (ttlog__snap.nstrs == TTLOG__SNAP_MAX_STRINGS)
		return; /* written inline */
	ttlog__snap.table[i].s = s;
	ttlog__snap.table[i].idx = ttlog__snap.nstrs;
	ttlog__snap.strs[ttlog__snap.nstrs++] = s;
}

static int lookup(const char *s, uint32_t *idx)
{
	for (size_t i = table_slot(s); ttlog__snap.table[i].s != NULL;
	     i = (i + 1) & (TTLOG__SNAP_TABLE_CAP - 1))
		if (ttlog__snap.table[i].s == s) {
			*idx = ttlog__snap.table[i].idx;
			return 1;
		}
	return 0;
}

/* The keys an event's origin is written under (the format has no origin
 * of its own: docs/snapshot-format.md). */
static const char key_host[] = "host", key_service[] = "service";

/* How many origin strings e carries: host and service, when set. */
static unsigned origin_fields(const struct ttlog__snap_ev *e)
{
	if (e->origin == NULL)
		return 0;
	return (e->origin->host[0] != 0) + (e->origin->service[0] != 0);
}

static void collect(const struct ttlog__snap_ev *e)
{
	if (!e->own)
		intern(e->cs->msg);
	intern(e->cs->file);
	for (unsigned k = 0; k < e->cs->nfields; k++)
		intern(e->cs->keys[k]);
	if (origin_fields(e) > 0) {
		intern(key_host);
		intern(key_service);
	}
}

/* ------------------------------------------------------------------ */
/* CBOR into the LZ4 frame                                              */
/* ------------------------------------------------------------------ */

static void em_head(unsigned mt, uint64_t v)
{
	unsigned char b[TTLOG__CBOR_HEAD_MAX];
	ttlog__lz4w_put(&ttlog__snap.lz, b, ttlog__cbor_head(b, mt, v));
}

static void em_str(const char *s, size_t n)
{
	em_head(ttlog__utf8_valid((const unsigned char *)s, n) ? TTLOG__MT_TSTR
							       : TTLOG__MT_BSTR,
		n);
	ttlog__lz4w_put(&ttlog__snap.lz, s, n);
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
		ttlog__lz4w_put(&ttlog__snap.lz, b,
				ttlog__cbor_i64(b, f->v.i64));
		break;
	case TTLOG_TYPE_U64:
		em_head(TTLOG__MT_UINT, f->v.u64);
		break;
	case TTLOG_TYPE_F64:
		ttlog__lz4w_put(&ttlog__snap.lz, b,
				ttlog__cbor_f64(b, f->v.f64));
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

static void emit(const struct ttlog__snap_ev *e)
{
	const struct ttlog_callsite *cs = e->cs;
	const unsigned char *p = e->vals;
	struct ttlog_field f = {0};

	em_head(TTLOG__MT_ARRAY, 7u + 2u * (cs->nfields + origin_fields(e)));
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
	if (e->origin != NULL && e->origin->host[0] != 0) {
		em_ref(key_host);
		em_str(e->origin->host, strlen(e->origin->host));
	}
	if (e->origin != NULL && e->origin->service[0] != 0) {
		em_ref(key_service);
		em_str(e->origin->service, strlen(e->origin->service));
	}
}

/* ------------------------------------------------------------------ */
/* Writing a file                                                       */
/* ------------------------------------------------------------------ */

int ttlog__snap_fail(const char *step, int err)
{
	ttlog__snap.err_step = step;
	ttlog__snap.err_no = err;
	return -err;
}

/*
 * Writes one snapshot; async-signal-safe. locked: see
 * ttlog__snap_capture(). Returns 0 or -errno, with ttlog__snap.err_step
 * naming the step. *placed says whether the file is in place under its
 * name: a failed sync is counted and reported like any failure, but the
 * file is kept (its bytes are in the page cache, readable, and checked by
 * their checksums).
 */
int ttlog__snap_write_file(const char *trigger, const char *reason, int locked,
			   uint64_t *nevents, int *placed)
{
	struct timespec ts;
	uint64_t now, n, nev;
	int fd, rc, sync_rc = 0;

	*placed = 0;
	ttlog__snap.err_step = NULL;
	ttlog__snap.err_no = 0;
	if (ttlog__snap.dirfd < 0)
		return ttlog__snap_fail("open the directory", ENOENT);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	n = atomic_fetch_add(&ttlog__snap.seq, 1) + 1;
	make_names(now, n, trigger);
	fd = openat(ttlog__snap.dirfd, ttlog__snap.tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		return ttlog__snap_fail("create", errno);

	ttlog__snap_capture(locked);
	memset(ttlog__snap.table, 0,
	       TTLOG__SNAP_TABLE_CAP * sizeof(*ttlog__snap.table));
	ttlog__snap.nstrs = 0;
	nev = ttlog__snap_each_event(collect);

	ttlog__lz4w_begin(&ttlog__snap.lz, fd);
	em_head(TTLOG__MT_MAP, 10);
	em_cstr("format");
	em_cstr("ttlog-snapshot");
	em_cstr("v");
	em_head(TTLOG__MT_UINT, 1);
	em_cstr("service");
	em_cstr(ttlog__snap.service);
	em_cstr("host");
	em_cstr(ttlog__snap.host);
	em_cstr("pid");
	em_head(TTLOG__MT_UINT, (uint64_t)getpid());
	em_cstr("trigger");
	em_cstr(trigger);
	em_cstr("reason");
	em_cstr(reason != NULL ? reason : "");
	em_cstr("time_ns");
	em_head(TTLOG__MT_UINT, now);
	em_cstr("strings");
	em_head(TTLOG__MT_ARRAY, ttlog__snap.nstrs);
	for (uint32_t i = 0; i < ttlog__snap.nstrs; i++)
		em_cstr(ttlog__snap.strs[i]);
	em_cstr("omitted");
	em_head(TTLOG__MT_UINT, ttlog__snap.omitted_now);
	(void)ttlog__snap_each_event(emit);
	em_head(TTLOG__MT_MAP, 1);
	em_cstr("end");
	em_head(TTLOG__MT_UINT, nev);
	rc = ttlog__lz4w_end(&ttlog__snap.lz);
	if (rc != 0) {
		close(fd);
		unlinkat(ttlog__snap.dirfd, ttlog__snap.tmp, 0);
		return ttlog__snap_fail("write", rc);
	}
	if (fdatasync(fd) != 0) {
		atomic_fetch_add(&ttlog__snap.sync_failed, 1);
		sync_rc = ttlog__snap_fail("fdatasync", errno);
	}
	if (close(fd) != 0 && errno != EINTR) {
		unlinkat(ttlog__snap.dirfd, ttlog__snap.tmp, 0);
		return ttlog__snap_fail("close", errno);
	}
	if (renameat(ttlog__snap.dirfd, ttlog__snap.tmp, ttlog__snap.dirfd,
		     ttlog__snap.name) != 0) {
		rc = errno;
		unlinkat(ttlog__snap.dirfd, ttlog__snap.tmp, 0);
		return ttlog__snap_fail("rename", rc);
	}
	*placed = 1;
	if (fsync(ttlog__snap.dirfd) != 0 && sync_rc == 0) {
		atomic_fetch_add(&ttlog__snap.sync_failed, 1);
		sync_rc = ttlog__snap_fail("fsync the directory", errno);
	}
	atomic_fetch_add(&ttlog__snap.omitted, ttlog__snap.omitted_now);
	*nevents = nev;
	return sync_rc;
}
