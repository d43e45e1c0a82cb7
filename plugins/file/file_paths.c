/*
 * file_paths.c - a path made from each event: one file per service, per
 * day, per anything the event says.
 *
 *   path: /var/log/ttlog/$${service}/%Y-%m-%d.jsonl   # ttlog.yaml
 *
 * The path is a template (<ttlog/template.h>) compiled with
 * TTLOG_TEMPLATE_PATH, so every value an event brings is one file name
 * component that cannot be "..", contain '/' or start with '.': senders
 * choose files only inside the directories the path's own text names.
 * Dates are the event's time in UTC; at midnight the next event simply
 * names a new file, and the old one is closed when it has been idle for
 * idle_close or when max_open_files needs its place (the least recently
 * written file goes first). Missing directories are made with dir_mode.
 *
 * A batch is encoded once (text or JSON lines: one line per event) and
 * each run of consecutive events with the same path is one write. A write
 * that fails part way keeps the batch, as for a single file: the offset
 * reached is remembered and the writer's next offer goes on from there,
 * so nothing is lost or repeated. A file that cannot be opened (a path
 * too long, a directory where the file should be) cannot be mended by
 * retrying and must not stall every other file: its events are dropped,
 * counted (path_drops, and the host's lost count) and reported once per
 * episode.
 *
 * Rotation by size or time does not apply: the date patterns are the
 * rotation (file_check refuses rotate.interval, and rotate.size unless it
 * is 0 or its default). Binary format is refused: its LZ4 frame holds a
 * whole batch, which cannot be split between files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ttlog/template.h>

#include "file_internal.h"

#define DEFAULT_MAX_OPEN 64
#define DEFAULT_ROTATE_SIZE (100ull << 20) /* rotate.size's default */

struct slot {
	char *path; /* NULL: free */
	size_t cap;
	uint64_t hash;
	int fd;
	int dirty;	 /* written since its last fsync */
	uint64_t used;	 /* the tick of its last write, for LRU */
	int64_t last_ms; /* its last write, for idle_close */
};

struct ttlog__file_paths {
	struct ttlog_template *t;
	struct slot *slot;
	size_t nslots, nopen;
	uint64_t tick;
	uint64_t idle_ms;
	char *name, *next; /* the paths of the run's first and next event */
	size_t name_cap, next_cap;
	struct ttlog_host_timer *idle_ev;
	int path_failing; /* one report per episode of unopenable files */
};

static uint64_t hash_of(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

int ttlog__file_paths_check(const struct ttlog__file_options *o, int *constant,
			    char **out, char *err, size_t errlen)
{
	struct ttlog_template *t = NULL;
	char why[256];
	int64_t n;
	int rc;

	*constant = 1;
	if (out != NULL)
		*out = NULL;
	rc = ttlog_template_compile(o->path,
				    TTLOG_TEMPLATE_PATH | TTLOG_TEMPLATE_DATE,
				    &t, why, sizeof(why));
	if (rc != 0) {
		snprintf(err, errlen,
			 "%s: path: %s (\"$${\" in ttlog.yaml "
			 "is a template's \"${\"; \"%%%%\" is a '%%')",
			 o->path, why);
		return rc;
	}
	*constant = ttlog_template_is_constant(t);
	if (*constant) {
		n = ttlog_template_expand(t, NULL, 0, NULL, 0);
		if (out != NULL && n >= 0) {
			*out = malloc((size_t)n + 1);
			if (*out != NULL)
				ttlog_template_expand(t, NULL, 0, *out,
						      (size_t)n + 1);
		}
		ttlog_template_free(t);
		if (out != NULL && *out == NULL) {
			snprintf(err, errlen, "%s: out of memory", o->path);
			return TTLOG_ENOMEM;
		}
		return 0;
	}
	ttlog_template_free(t);
	if (o->format == TTLOG__FILE_BINARY)
		rc = snprintf(err, errlen,
			      "%s: format: binary cannot be used with a "
			      "templated path (a frame holds a whole batch); "
			      "use text or json",
			      o->path);
	else if (o->rotate_interval_ms != 0)
		rc = snprintf(err, errlen,
			      "%s: rotate.interval: not with a templated path "
			      "(use a date pattern such as %%Y-%%m-%%d in it)",
			      o->path);
	else if (o->rotate_size != 0 && o->rotate_size != DEFAULT_ROTATE_SIZE)
		rc = snprintf(err, errlen,
			      "%s: rotate.size: not with a templated path "
			      "(files are not rotated by size; use a date "
			      "pattern such as %%Y-%%m-%%d-%%H in it)",
			      o->path);
	else
		return 0;
	return TTLOG_EINVAL;
}

int ttlog__file_paths_new(struct ttlog__file *f,
			  const struct ttlog__file_options *o)
{
	struct ttlog__file_paths *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return TTLOG_ENOMEM;
	f->paths = p;
	p->nslots = o->max_open_files > 0 ? (size_t)o->max_open_files
					  : DEFAULT_MAX_OPEN;
	p->idle_ms = o->idle_close_ms;
	p->slot = calloc(p->nslots, sizeof(*p->slot));
	p->name_cap = 256;
	p->name = malloc(p->name_cap);
	if (p->slot == NULL || p->name == NULL ||
	    ttlog_template_compile(o->path,
				   TTLOG_TEMPLATE_PATH | TTLOG_TEMPLATE_DATE,
				   &p->t, NULL, 0) != 0)
		return TTLOG_ENOMEM; /* destroy() frees what was made */
	for (size_t i = 0; i < p->nslots; i++)
		p->slot[i].fd = -1;
	return 0;
}

/* ---- open files ---- */

static int sync_slot(struct ttlog__file *f, struct slot *s)
{
	int rc = 0;

	if (!s->dirty)
		return 0;
	s->dirty = 0;
	/* Never retried, as for a single file (ttlog__file_sync). */
	if (fdatasync(s->fd) != 0) {
		rc = -errno;
		atomic_fetch_add_explicit(&f->c.fsync_errors, 1,
					  memory_order_relaxed);
		if (!f->fsync_failing)
			ttlog__file_report(f, TTLOG_LEVEL_ERROR, "fsync",
					   "%s: fsync failed: %s; what was "
					   "written since the last successful "
					   "fsync may not be on disk (not "
					   "retried)",
					   s->path, ttlog_strerror(rc));
		f->fsync_failing = 1;
		return rc;
	}
	atomic_fetch_add_explicit(&f->c.fsyncs, 1, memory_order_relaxed);
	f->fsync_failing = 0;
	return 0;
}

/* Closes s, syncing it first unless fsync is never; counted in `why`. */
static void close_slot(struct ttlog__file *f, struct slot *s,
		       _Atomic uint64_t *why)
{
	if (f->fsync_policy != TTLOG__FILE_FSYNC_NEVER)
		(void)sync_slot(f, s);
	close(s->fd);
	s->fd = -1;
	s->dirty = 0;
	s->path[0] = 0;
	f->paths->nopen--;
	atomic_fetch_sub_explicit(&f->c.open_files, 1, memory_order_relaxed);
	if (why != NULL)
		atomic_fetch_add_explicit(why, 1, memory_order_relaxed);
}

static void close_idle(struct ttlog__file *f, int64_t now)
{
	struct ttlog__file_paths *p = f->paths;

	if (p->idle_ms == 0)
		return;
	for (size_t i = 0; i < p->nslots; i++)
		if (p->slot[i].fd >= 0 &&
		    now - p->slot[i].last_ms >= (int64_t)p->idle_ms)
			close_slot(f, &p->slot[i], &f->c.idle_closes);
}

/* The open file for p->name, opened (evicting the least recently written
 * one when all slots are taken) if need be. NULL when it cannot be
 * opened (reported once per episode). */
static struct slot *slot_for(struct ttlog__file *f, int64_t now)
{
	struct ttlog__file_paths *p = f->paths;
	uint64_t h = hash_of(p->name);
	size_t len = strlen(p->name), i, victim = 0, empty = p->nslots;
	struct slot *s;
	char why[512];
	uint64_t size;
	int64_t age;
	int stream, fd;

	for (i = 0; i < p->nslots; i++) {
		s = &p->slot[i];
		if (s->fd >= 0 && s->hash == h && strcmp(s->path, p->name) == 0)
			return s;
		if (s->fd < 0 && empty == p->nslots)
			empty = i;
		if (s->fd >= 0 && s->used < p->slot[victim].used)
			victim = i;
	}
	if (empty == p->nslots) {
		close_slot(f, &p->slot[victim], &f->c.evictions);
		empty = victim;
	}
	s = &p->slot[empty];
	if (s->cap <= len) {
		char *np = realloc(s->path, len + 1);
		if (np == NULL)
			return NULL;
		s->path = np;
		s->cap = len + 1;
	}
	fd = ttlog__file_open(p->name, f->mode, f->dir_mode, &size, &age,
			      &stream, why, sizeof(why));
	if (fd >= 0 && stream) {
		/* A FIFO needs the single-file machinery (non-blocking,
		 * torn writes); not worth having per event. */
		close(fd);
		fd = TTLOG_EINVAL;
		snprintf(why, sizeof(why), "is a FIFO or device, not a file");
	}
	if (fd < 0) {
		atomic_fetch_add_explicit(&f->c.open_errors, 1,
					  memory_order_relaxed);
		if (!p->path_failing)
			ttlog__file_report(f, TTLOG_LEVEL_ERROR, "open",
					   "%s: %s; its events are dropped "
					   "(counted)",
					   p->name, why);
		p->path_failing = 1;
		return NULL;
	}
	if (p->path_failing)
		ttlog__file_report(f, TTLOG_LEVEL_INFO, "open",
				   "files open again");
	p->path_failing = 0;
	memcpy(s->path, p->name, len + 1);
	s->hash = h;
	s->fd = fd;
	s->dirty = 0;
	s->last_ms = now;
	p->nopen++;
	atomic_fetch_add_explicit(&f->c.open_files, 1, memory_order_relaxed);
	return s;
}

/* Expands the path of event i into *buf (of *cap bytes, grown as
 * needed: the only allocation). 0, or -1 out of memory. */
static int name_of(struct ttlog__file_paths *p, struct ttlog_batch *b, size_t i,
		   char **buf, size_t *cap)
{
	int64_t n = ttlog_template_expand(p->t, b, i, *buf, *cap);

	if (n < 0)
		return -1;
	if ((size_t)n >= *cap) {
		char *np = realloc(*buf, (size_t)n + 1);
		if (np == NULL)
			return -1;
		*buf = np;
		*cap = (size_t)n + 1;
		ttlog_template_expand(p->t, b, i, *buf, *cap);
	}
	return 0;
}

/* ---- writing ---- */

/* Writes data[*done..end) to s. 0 or -errno; *done tells how far. */
static int write_run(struct ttlog__file *f, struct slot *s,
		     const unsigned char *data, size_t *done, size_t end,
		     int64_t now)
{
	size_t start = *done;
	int rc = ttlog__file_write_all(s->fd, data, end, done);

	if (*done > start) {
		atomic_fetch_add_explicit(&f->c.bytes, *done - start,
					  memory_order_relaxed);
		s->dirty = 1;
		s->used = ++f->paths->tick;
		s->last_ms = now;
		if (!f->dirty) {
			f->dirty = 1;
			ttlog__file_arm_fsync(f, now);
		}
	}
	return rc;
}

/* Writes events from f->pending.event (at byte f->pending.done) to the
 * end of the batch. 0, or a failed write's error (progress kept). */
static int write_events(struct ttlog__file *f, int64_t now)
{
	struct ttlog__file_paths *p = f->paths;
	struct ttlog_batch *b = f->pending.b;
	const unsigned char *data = f->pending.data;
	size_t n = ttlog_batch_count(b), len = f->pending.len;

	while (f->pending.event < n) {
		size_t i = f->pending.event, end, k, run;
		const unsigned char *nl;
		struct slot *s;
		uint64_t h;
		int rc;

		if (name_of(p, b, i, &p->name, &p->name_cap) != 0)
			return -ENOMEM;
		h = hash_of(p->name);
		/* The run: the events after i that name the same file (the
		 * hash stops most different ones without comparing). */
		run = f->pending.done;
		nl = memchr(data + run, '\n', len - run);
		end = nl ? (size_t)(nl - data) + 1 : len;
		for (k = i + 1; k < n && end < len; k++) {
			if (name_of(p, b, k, &p->next, &p->next_cap) != 0)
				return -ENOMEM;
			if (hash_of(p->next) != h ||
			    strcmp(p->next, p->name) != 0)
				break;
			nl = memchr(data + end, '\n', len - end);
			end = nl ? (size_t)(nl - data) + 1 : len;
		}
		s = slot_for(f, now);
		if (s == NULL) {
			uint64_t lost = k - i;
			atomic_fetch_add_explicit(&f->c.path_drops, lost,
						  memory_order_relaxed);
			if (TTLOG_HOST_HAS(f->host, lost))
				f->host->lost(f->host, lost,
					      "its file could not be opened");
			f->pending.done = end;
			f->pending.event = k;
			continue;
		}
		rc = write_run(f, s, data, &f->pending.done, end, now);
		if (rc != 0) {
			/* The event whose line the write stopped in. */
			for (; run < f->pending.done; run++)
				f->pending.event += data[run] == '\n';
			return rc;
		}
		f->pending.event = k;
	}
	return 0;
}

int ttlog__file_paths_consume(struct ttlog__file *f, struct ttlog_batch *b,
			      int64_t now)
{
	enum ttlog_encoding enc = f->format == TTLOG__FILE_JSON
					  ? TTLOG_ENCODING_JSONL
					  : TTLOG_ENCODING_TEXT;
	int rc, same = 0;

	close_idle(f, now);
	if (f->pending.b != NULL) {
		/* A batch torn by a failed write goes on first (the writer
		 * offers it again, or has dropped it from a full queue). */
		same = f->pending.b == b &&
		       f->pending.seq == ttlog_batch_seq(b);
		rc = write_events(f, now);
		if (rc != 0) {
			ttlog__file_write_failed(
				f, "write failed", rc, f->pending.seq,
				f->pending.done, f->pending.len);
			return TTLOG_LISTENER_RETRY;
		}
		ttlog__file_batch_done(f, f->pending.b, now);
		ttlog_batch_unref(f->pending.b);
		memset(&f->pending, 0, sizeof(f->pending));
		if (same)
			return TTLOG_LISTENER_OK;
	}
	if (f->reopen_wanted) {
		ttlog__file_paths_close_all(f, now);
		f->reopen_wanted = 0;
	}
	rc = ttlog_batch_encode(b, enc, (const void **)&f->pending.data,
				&f->pending.len);
	if (rc != 0) {
		ttlog__file_write_failed(f, "cannot encode the batch", rc,
					 ttlog_batch_seq(b), 0, 0);
		memset(&f->pending, 0, sizeof(f->pending));
		return rc == TTLOG_ENOMEM ? TTLOG_LISTENER_RETRY
					  : TTLOG_LISTENER_ERROR;
	}
	f->pending.b = b;
	f->pending.seq = ttlog_batch_seq(b);
	rc = write_events(f, now);
	if (rc != 0) {
		ttlog__file_write_failed(f, "write failed", rc, f->pending.seq,
					 f->pending.done, f->pending.len);
		if (f->pending.done == 0) {
			/* Nothing written: the writer keeps the batch. */
			memset(&f->pending, 0, sizeof(f->pending));
			return TTLOG_LISTENER_RETRY;
		}
		ttlog_batch_ref(b); /* the rest is ours to finish */
		return TTLOG_LISTENER_RETRY;
	}
	memset(&f->pending, 0, sizeof(f->pending));
	ttlog__file_batch_done(f, b, now);
	return TTLOG_LISTENER_OK;
}

int ttlog__file_paths_sync(struct ttlog__file *f, int64_t now)
{
	struct ttlog__file_paths *p = f->paths;
	int rc = 0;

	for (size_t i = 0; i < p->nslots; i++)
		if (p->slot[i].fd >= 0) {
			int r = sync_slot(f, &p->slot[i]);
			if (rc == 0)
				rc = r;
		}
	f->dirty = 0;
	f->synced_ms = now;
	return rc;
}

void ttlog__file_paths_close_all(struct ttlog__file *f, int64_t now)
{
	struct ttlog__file_paths *p = f->paths;

	(void)now;
	for (size_t i = 0; i < p->nslots; i++)
		if (p->slot[i].fd >= 0)
			close_slot(f, &p->slot[i], NULL);
	atomic_fetch_add_explicit(&f->c.reopens, 1, memory_order_relaxed);
}

void ttlog__file_paths_metrics(void *state, ttlog_metric_emit_fn emit,
			       void *ctx)
{
	struct ttlog__file *f = state;
	struct ttlog_metric m = {0};

	if (f->paths == NULL) /* a single file reports as it always did */
		return;
	m.name = "open_files";
	m.help = "files of the templated path open now";
	m.kind = TTLOG_METRIC_GAUGE;
	m.value = (double)atomic_load(&f->c.open_files);
	emit(ctx, &m);
	m.kind = TTLOG_METRIC_COUNTER;
	m.name = "evictions";
	m.help = "files closed to stay within max_open_files";
	m.value = (double)atomic_load(&f->c.evictions);
	emit(ctx, &m);
	m.name = "idle_closes";
	m.help = "files closed after idle_close without a write";
	m.value = (double)atomic_load(&f->c.idle_closes);
	emit(ctx, &m);
	m.name = "path_drops";
	m.help = "events dropped because their file could not be opened";
	m.value = (double)atomic_load(&f->c.path_drops);
	emit(ctx, &m);
}

static void on_idle_timer(void *arg)
{
	close_idle(arg, ttlog__file_now_ms());
}

int ttlog__file_paths_start(struct ttlog__file *f)
{
	struct ttlog__file_paths *p = f->paths;
	uint64_t every;

	if (p->idle_ms == 0)
		return 0;
	p->idle_ev = f->host->timer_new(f->host, on_idle_timer, f);
	if (p->idle_ev == NULL)
		return TTLOG_ENOMEM;
	/* Checked four times per idle_close: a file closes at most a
	 * quarter late. */
	every = p->idle_ms / 4 ? p->idle_ms / 4 : 1;
	return f->host->timer_start(p->idle_ev, every, 1) == 0 ? 0
							       : TTLOG_ENOMEM;
}

void ttlog__file_paths_free(struct ttlog__file *f)
{
	struct ttlog__file_paths *p = f->paths;
	int64_t now = ttlog__file_now_ms();

	if (f->pending.b != NULL) {
		if (write_events(f, now) != 0)
			ttlog__file_report(f, TTLOG_LEVEL_ERROR, "write",
					   "closing with batch %llu written "
					   "only up to byte %zu of %zu",
					   (unsigned long long)f->pending.seq,
					   f->pending.done, f->pending.len);
		ttlog_batch_unref(f->pending.b);
		memset(&f->pending, 0, sizeof(f->pending));
	}
	f->host->timer_free(p->idle_ev);
	for (size_t i = 0; i < p->nslots; i++) {
		if (p->slot != NULL && p->slot[i].fd >= 0)
			close_slot(f, &p->slot[i], NULL);
		if (p->slot != NULL)
			free(p->slot[i].path);
	}
	free(p->slot);
	free(p->name);
	free(p->next);
	ttlog_template_free(p->t);
	free(p);
	f->paths = NULL;
}
