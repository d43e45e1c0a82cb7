/*
 * file.c - the file listener: appends each batch to a file as text lines,
 * JSON lines or LZ4 frames of CBOR (docs/file-format.md), rotates it by
 * size and age, and makes it durable by the configured fsync policy.
 *
 *   listeners:
 *     - name: app-log
 *       type: file
 *       path: /var/log/app/app.log
 *       format: text          # text | json | binary
 *       rotate: {size: 100MiB, interval: 1d, keep: 7}
 *       fsync: interval       # never | interval | every_batch
 *       fsync_interval: 1s
 *       mode: "0640"
 *
 * A batch's bytes are written whole or, when a write fails part way, the
 * rest is written before anything else: the writer offers the same batch
 * again after RETRY, and the offset reached is kept here, so a failure
 * neither loses nor repeats a byte. Rotation, reopening and the switch to
 * a new file happen only between two batches.
 *
 * A path that is a FIFO or a character device is written without blocking
 * (file_open.c): when it is full, the batch is answered RETRY like a
 * failed write, but without an error (a reader that is slow is not a
 * failure), and the rest of a torn batch goes out from the host's watch
 * as soon as there is room. A regular file is written as it is: a disk
 * write does not return EAGAIN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file_internal.h"

#define OPT(field) offsetof(struct ttlog__file_options, field)

static const struct ttlog_option_value file_formats[] = {
	{"text", TTLOG__FILE_TEXT},
	{"json", TTLOG__FILE_JSON},
	{"binary", TTLOG__FILE_BINARY},
	{NULL, 0}};

static const struct ttlog_option_value file_fsyncs[] = {
	{"never", TTLOG__FILE_FSYNC_NEVER},
	{"interval", TTLOG__FILE_FSYNC_INTERVAL},
	{"every_batch", TTLOG__FILE_FSYNC_EVERY_BATCH},
	{NULL, 0}};

static const struct ttlog_option_spec file_options[] = {
	{TTLOG_OPTION_STRING, "path", NULL, OPT(path),
	 "the file to append to; rotated files are PATH.1 (newest) to "
	 "PATH.KEEP; missing parent directories are created (0750)",
	 NULL, TTLOG_OPTION_REQUIRED},
	{TTLOG_OPTION_ENUM_VALUES, "format", "text", OPT(format),
	 "text: one line per event; json: one JSON object per line; binary: "
	 "each batch as an LZ4 frame of CBOR (lz4 -dc gives a CBOR sequence)",
	 TTLOG_OPTION_VALUES(file_formats), 0},
	{TTLOG_OPTION_SIZE, "rotate.size", "100MiB", OPT(rotate_size),
	 "rotate before a batch would take the file past this size; 0: never",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "rotate.interval", "0", OPT(rotate_interval_ms),
	 "rotate once the file's first event is older than this; 0: never",
	 NULL, 0},
	{TTLOG_OPTION_INT, "rotate.keep", "7", OPT(rotate_keep),
	 "rotated files kept (0 to 10000); older ones are deleted", NULL, 0},
	{TTLOG_OPTION_ENUM_VALUES, "fsync", "interval", OPT(fsync),
	 "when written data is forced to disk (also on flush and shutdown "
	 "unless never)",
	 TTLOG_OPTION_VALUES(file_fsyncs), 0},
	{TTLOG_OPTION_DURATION, "fsync_interval", "1s", OPT(fsync_interval_ms),
	 "with fsync: interval, at most one fsync per this long", NULL, 0},
	{TTLOG_OPTION_STRING, "mode", "0640", OPT(mode),
	 "permissions of a file the listener creates, in octal (the umask "
	 "applies)",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "dir_mode", "0750", OPT(dir_mode),
	 "permissions of a directory the listener creates, in octal (the "
	 "umask applies)",
	 NULL, 0},
	{TTLOG_OPTION_INT, "max_open_files", "64", OPT(max_open_files),
	 "with ${service}, ${fields.NAME} or %Y %m %d %H in path (a file per "
	 "value; $${...} in ttlog.yaml): files kept open at once (1 to "
	 "65536); the least recently written one is closed to open another",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "idle_close", "5m", OPT(idle_close_ms),
	 "with ${...} or %Y in path: a file not written to for this long is "
	 "closed; 0: only when max_open_files needs room",
	 NULL, 0},
	{0},
};

/* ------------------------------------------------------------------ */
/* Reporting, time, fsync                                               */
/* ------------------------------------------------------------------ */

void ttlog__file_report(const struct ttlog__file *f, int level,
			const char *what, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	f->host->log(f->host, level, what, "%s: %s", f->path, detail);
}

int64_t ttlog__file_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Everything written so far is on disk (or, for a FIFO or device, with
 * the reader): the last batch written, and so every one before it, is
 * durable. */
static void durable_now(struct ttlog__file *f)
{
	if (!f->defer_durable || !f->unconfirmed)
		return;
	f->unconfirmed = 0;
	f->host->durable(f->host, f->written_seq);
}

int ttlog__file_sync(struct ttlog__file *f, int64_t now)
{
	int rc = 0;

	if (f->paths != NULL) {
		rc = ttlog__file_paths_sync(f, now);
		if (rc == 0)
			durable_now(f);
		return rc;
	}
	if (f->fd < 0 || f->stream) { /* a FIFO or device keeps nothing */
		durable_now(f);
		return 0;
	}
	/* fdatasync also writes the file size, which reading the data back
	 * needs; only timestamps are left out. */
	if (fdatasync(f->fd) != 0)
		rc = -errno;
	/* Never retried: after a failed fsync Linux may have marked the lost
	 * pages clean, so a second fsync could succeed and claim durability
	 * for data that is gone (PostgreSQL's "fsyncgate"). */
	f->dirty = 0;
	f->synced_ms = now;
	if (rc == 0) {
		durable_now(f);
		atomic_fetch_add_explicit(&f->c.fsyncs, 1,
					  memory_order_relaxed);
		if (f->fsync_failing)
			ttlog__file_report(f, TTLOG_LEVEL_INFO, "fsync",
					   "fsync succeeds again");
		f->fsync_failing = 0;
		return 0;
	}
	atomic_fetch_add_explicit(&f->c.fsync_errors, 1, memory_order_relaxed);
	if (!f->fsync_failing)
		ttlog__file_report(f, TTLOG_LEVEL_ERROR, "fsync",
				   "fsync failed: %s; what was written since "
				   "the last successful fsync may not be on "
				   "disk (not retried)",
				   ttlog_strerror(rc));
	f->fsync_failing = 1;
	return rc;
}

void ttlog__file_arm_fsync(struct ttlog__file *f, int64_t now)
{
	int64_t delay;

	if (f->fsync_ev == NULL || !f->dirty || f->fsync_armed)
		return;
	delay = f->synced_ms + (int64_t)f->fsync_ms - now;
	if (delay < 0)
		delay = 0;
	f->fsync_armed =
		f->host->timer_start(f->fsync_ev, (uint64_t)delay, 0) == 0;
}

static void on_fsync_timer(void *arg)
{
	struct ttlog__file *f = arg;
	int64_t now = ttlog__file_now_ms();

	f->fsync_armed = 0;
	if (f->dirty && now - f->synced_ms >= (int64_t)f->fsync_ms)
		(void)ttlog__file_sync(f, now);
	ttlog__file_arm_fsync(f, now);
}

/* ------------------------------------------------------------------ */
/* Writing batches                                                      */
/* ------------------------------------------------------------------ */

int ttlog__file_write_all(int fd, const unsigned char *p, size_t len,
			  size_t *done)
{
	while (*done < len) {
		ssize_t n = write(fd, p + *done, len - *done);
		if (n > 0) {
			*done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EWOULDBLOCK)
			return -EAGAIN;
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

/* Writes p[*done..len) to the file, with its accounting. */
static int write_rest(struct ttlog__file *f, const unsigned char *p, size_t len,
		      size_t *done, int64_t now)
{
	size_t start = *done;
	int rc = ttlog__file_write_all(f->fd, p, len, done);

	if (*done > start) {
		f->size += *done - start;
		atomic_fetch_add_explicit(&f->c.bytes, *done - start,
					  memory_order_relaxed);
		if (!f->born_set) {
			f->born_set = 1;
			f->born_ms = now;
		}
		if (!f->dirty && !f->stream) {
			f->dirty = 1;
			ttlog__file_arm_fsync(f, now);
		}
	}
	return rc;
}

void ttlog__file_write_failed(struct ttlog__file *f, const char *what, int err,
			      uint64_t seq, size_t done, size_t len)
{
	atomic_fetch_add_explicit(&f->c.write_errors, 1, memory_order_relaxed);
	f->episode_errors++;
	if (f->write_failing)
		return;
	f->write_failing = 1;
	ttlog__file_report(f, TTLOG_LEVEL_ERROR, "write",
			   "%s: %s; batch %llu (%zu of %zu bytes written) is "
			   "kept and retried",
			   what, ttlog_strerror(err), (unsigned long long)seq,
			   done, len);
}

/* Accounting once every byte of a batch is in the file. */
void ttlog__file_batch_done(struct ttlog__file *f, struct ttlog_batch *b,
			    int64_t now)
{
	atomic_fetch_add_explicit(&f->c.batches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&f->c.events, ttlog_batch_count(b),
				  memory_order_relaxed);
	if (f->write_failing)
		ttlog__file_report(f, TTLOG_LEVEL_INFO, "write",
				   "writing again after %llu failed attempts",
				   (unsigned long long)f->episode_errors);
	f->write_failing = 0;
	f->episode_errors = 0;
	f->written_seq = ttlog_batch_seq(b);
	f->unconfirmed = 1;
	if (f->fsync_policy == TTLOG__FILE_FSYNC_EVERY_BATCH ||
	    (f->fsync_policy == TTLOG__FILE_FSYNC_INTERVAL && f->dirty &&
	     now - f->synced_ms >= (int64_t)f->fsync_ms))
		(void)ttlog__file_sync(f, now);
	/* Nothing to sync (a FIFO or device: never dirty). */
	if (!f->dirty && !f->fsync_failing)
		durable_now(f);
}

static void on_room(int fd, unsigned events, void *arg);

/* Waits (on) or stops waiting for room on a FIFO or device; the watch
 * follows the descriptor across a reopen. Without start2() (a listener
 * driven directly) the writer's next offer tries again instead. */
static void room_watch(struct ttlog__file *f, int on)
{
	if (!f->stream || !f->started)
		return;
	if (f->room != NULL && f->room_fd != f->fd) {
		f->host->watch_free(f->room);
		f->room = NULL;
	}
	if (f->room == NULL && on && f->fd >= 0) {
		f->room = f->host->watch_new(f->host, f->fd, 0, on_room, f);
		f->room_fd = f->fd;
	}
	if (f->room != NULL)
		(void)f->host->watch_set(f->room, on ? TTLOG_HOST_WRITE : 0);
}

/* Writes the rest of the torn batch into the file that has its start. */
static int finish_pending(struct ttlog__file *f, int64_t now)
{
	int rc = write_rest(f, f->pending.data, f->pending.len,
			    &f->pending.done, now);

	if (rc == -EAGAIN) {
		room_watch(f, 1);
		return rc;
	}
	if (rc != 0) {
		ttlog__file_write_failed(f, "write failed", rc, f->pending.seq,
					 f->pending.done, f->pending.len);
		return rc;
	}
	room_watch(f, 0);
	ttlog__file_batch_done(f, f->pending.b, now);
	ttlog_batch_unref(f->pending.b);
	memset(&f->pending, 0, sizeof(f->pending));
	return 0;
}

static int write_batch(struct ttlog__file *f, struct ttlog_batch *b,
		       int64_t now)
{
	static const enum ttlog_encoding enc[] = {
		[TTLOG__FILE_TEXT] = TTLOG_ENCODING_TEXT,
		[TTLOG__FILE_JSON] = TTLOG_ENCODING_JSONL,
		[TTLOG__FILE_BINARY] = TTLOG_ENCODING_CBOR_LZ4,
	};
	const void *data;
	size_t len, done = 0;
	int rc;

	/* Between batches: the place to take up a wanted reopen, or to open
	 * the file a failed rotation left us without. */
	if ((f->fd < 0 || f->reopen_wanted) &&
	    ttlog__file_reopen_now(f, now) != 0 && f->fd < 0)
		return TTLOG_LISTENER_RETRY;
	rc = ttlog_batch_encode(b, enc[f->format], &data, &len);
	if (rc != 0) {
		ttlog__file_write_failed(f, "cannot encode the batch", rc,
					 ttlog_batch_seq(b), 0, 0);
		/* Out of memory may pass; nothing else will. */
		return rc == TTLOG_ENOMEM ? TTLOG_LISTENER_RETRY
					  : TTLOG_LISTENER_ERROR;
	}
	ttlog__file_maybe_rotate(f, len, now);
	if (f->fd < 0)
		return TTLOG_LISTENER_RETRY;
	rc = write_rest(f, data, len, &done, now);
	if (rc == -EAGAIN)
		room_watch(f, 1); /* a full FIFO: not a failure */
	else if (rc != 0)
		ttlog__file_write_failed(f, "write failed", rc,
					 ttlog_batch_seq(b), done, len);
	if (rc != 0) {
		/* With nothing written there is nothing to complete: the
		 * writer's queue keeps the batch. Part of it, though, is in
		 * the file now and only this listener can finish it. */
		if (done > 0) {
			ttlog_batch_ref(b);
			f->pending.b = b;
			f->pending.seq = ttlog_batch_seq(b);
			f->pending.data = data;
			f->pending.len = len;
			f->pending.done = done;
			/* A FIFO or device takes the batch: the reference
			 * is held and the rest goes before anything else,
			 * so the writer's queue, which may drop what is
			 * answered RETRY, never counts as dropped what is
			 * then written after all. */
			if (f->stream)
				return TTLOG_LISTENER_OK;
		}
		return TTLOG_LISTENER_RETRY;
	}
	ttlog__file_batch_done(f, b, now);
	return TTLOG_LISTENER_OK;
}

/* ------------------------------------------------------------------ */
/* Callbacks                                                            */
/* ------------------------------------------------------------------ */

/* The host's watch: the FIFO or device has room for the rest of a torn
 * batch. Batches answered RETRY meanwhile come on the writer's next
 * cycle. */
static void on_room(int fd, unsigned events, void *arg)
{
	struct ttlog__file *f = arg;
	(void)fd;
	(void)events;

	/* Done, or failed (reported): either way nothing to wait for. */
	if (f->pending.b == NULL ||
	    finish_pending(f, ttlog__file_now_ms()) != -EAGAIN)
		room_watch(f, 0);
}

static int file_consume(void *state, struct ttlog_batch *b)
{
	struct ttlog__file *f = state;
	int64_t now = ttlog__file_now_ms();
	int rc = TTLOG_LISTENER_OK, same = 0;

	if (f->paths != NULL) /* one file per expansion of the path */
		return ttlog__file_paths_consume(f, b, now);
	if (f->pending.b != NULL) {
		/* The writer offers the batch we tore first. If it offers
		 * another (it dropped ours from a full queue), ours is still
		 * finished first: its start is in the file already, and a
		 * torn record would spoil the file for every reader. */
		same = f->pending.b == b &&
		       f->pending.seq == ttlog_batch_seq(b);
		if (finish_pending(f, now) != 0)
			rc = TTLOG_LISTENER_RETRY;
	}
	if (rc == TTLOG_LISTENER_OK && !same)
		rc = write_batch(f, b, now);
	ttlog__file_arm_rotate(f, now);
	return rc;
}

static int file_flush(void *state)
{
	struct ttlog__file *f = state;

	if (f->fsync_policy == TTLOG__FILE_FSYNC_NEVER || !f->dirty)
		return 0;
	return ttlog__file_sync(f, ttlog__file_now_ms());
}

static int file_reopen(void *state)
{
	struct ttlog__file *f = state;

	if (f->paths != NULL) {
		/* Each file opens again when it is next written to; a torn
		 * batch finishes first (consume() closes them after it). */
		f->reopen_wanted = 1;
		if (f->pending.b == NULL)
			ttlog__file_paths_close_all(f, ttlog__file_now_ms());
		return 0;
	}
	f->reopen_wanted = 1;
	/* The start of a torn batch is in the old file and its rest must
	 * follow it there; consume() reopens once it is complete. */
	if (f->pending.b != NULL)
		return 0;
	return ttlog__file_reopen_now(f, ttlog__file_now_ms());
}

static int file_start(void *state, const struct ttlog_host *host)
{
	struct ttlog__file *f = state;
	int64_t now = ttlog__file_now_ms();

	(void)host; /* the one create2() gave, kept in f */
	f->started = 1;
	/* flush() is an fsync here, and fsync_interval already says how
	 * often to sync: no periodic flush from the library on top. */
	if (TTLOG_HOST_HAS(f->host, flush_every))
		f->host->flush_every(f->host, 0);
	if (f->fsync_policy == TTLOG__FILE_FSYNC_INTERVAL) {
		f->fsync_ev = f->host->timer_new(f->host, on_fsync_timer, f);
		if (f->fsync_ev == NULL) {
			ttlog__file_report(f, TTLOG_LEVEL_ERROR, "start",
					   "no memory for the fsync timer");
			return TTLOG_ENOMEM;
		}
		ttlog__file_arm_fsync(f, now);
	}
	if (f->paths != NULL && ttlog__file_paths_start(f) != 0) {
		ttlog__file_report(f, TTLOG_LEVEL_ERROR, "start",
				   "no memory for the idle timer");
		return TTLOG_ENOMEM;
	}
	if (ttlog__file_rotate_start(f, now) != 0) {
		ttlog__file_report(f, TTLOG_LEVEL_ERROR, "start",
				   "no memory for the rotation timer");
		return TTLOG_ENOMEM;
	}
	return 0;
}

/* A FIFO's torn batch was answered OK: what of it never went out is
 * said lost (the host adds it to the listener's losses). */
static void stream_lost(struct ttlog__file *f)
{
	const unsigned char *p = f->pending.data + f->pending.done;
	size_t left = f->pending.len - f->pending.done;
	uint64_t events = 0;

	if (f->format == TTLOG__FILE_BINARY)
		events = ttlog_batch_count(f->pending.b);
	else
		for (size_t i = 0; i < left; i++)
			events += p[i] == '\n';
	if (events > 0 && TTLOG_HOST_HAS(f->host, lost))
		f->host->lost(f->host, events,
			      "the FIFO took no more before the listener "
			      "closed");
}

static void file_destroy(void *state)
{
	struct ttlog__file *f = state;

	if (f == NULL)
		return;
	if (f->paths != NULL)
		ttlog__file_paths_free(f);
	if (f->pending.b != NULL) {
		/* One last try; the writer will not offer the batch again. */
		if (finish_pending(f, ttlog__file_now_ms()) != 0) {
			ttlog__file_report(f, TTLOG_LEVEL_ERROR, "write",
					   "closing with the last %zu bytes of "
					   "batch %llu unwritten: the file "
					   "ends inside a record",
					   f->pending.len - f->pending.done,
					   (unsigned long long)f->pending.seq);
			if (f->stream)
				stream_lost(f);
			ttlog_batch_unref(f->pending.b);
		}
	}
	if (f->room != NULL)
		f->host->watch_free(f->room);
	if (f->fd >= 0) {
		if (f->fsync_policy != TTLOG__FILE_FSYNC_NEVER && f->dirty)
			(void)ttlog__file_sync(f, ttlog__file_now_ms());
		close(f->fd);
	}
	/* The host would free the timers after destroy() too; freeing
	 * them here keeps a timer from outliving the state it points to. */
	f->host->timer_free(f->fsync_ev);
	f->host->timer_free(f->rotate_ev);
	free(f->path);
	free(f->dir);
	free(f->name);
	free(f);
}

/* ------------------------------------------------------------------ */
/* create()                                                             */
/* ------------------------------------------------------------------ */

static char *parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int file_create(const void *options, const struct ttlog_host *host,
		       void **state)
{
	const struct ttlog__file_options *o = options;
	struct ttlog__file *f;
	char err[600], *fixed = NULL;
	mode_t mode, dir_mode;
	int rc, constant = 1;

	if (state == NULL)
		return TTLOG_EINVAL;
	*state = NULL;
	rc = ttlog__file_check_options(o, &mode, err, sizeof(err));
	if (rc == 0)
		rc = ttlog__file_parse_mode(o->dir_mode ? o->dir_mode : "0750",
					    &dir_mode);
	if (rc == 0)
		rc = ttlog__file_paths_check(o, &constant, &fixed, err,
					     sizeof(err));
	if (rc != 0) {
		host->log(host, TTLOG_LEVEL_ERROR, "options", "%s", err);
		return rc;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		host->log(host, TTLOG_LEVEL_ERROR, "options", "%s: %s", o->path,
			  strerror(ENOMEM));
		free(fixed);
		return TTLOG_ENOMEM;
	}
	f->fd = -1;
	f->host = host;
	/* A constant path's "%%" and "$$" are one character: fixed is the
	 * name itself. A templated one keeps its text, for reports. */
	f->path = constant ? fixed : strdup(o->path);
	fixed = NULL;
	f->dir = f->path ? parent_dir(f->path) : NULL;
	f->name_cap = strlen(o->path) + 24;
	f->name = malloc(2 * f->name_cap); /* two names: rename from, to */
	if (f->path == NULL || f->dir == NULL || f->name == NULL) {
		host->log(host, TTLOG_LEVEL_ERROR, "options", "%s: %s", o->path,
			  strerror(ENOMEM));
		file_destroy(f);
		return TTLOG_ENOMEM;
	}
	f->format = o->format;
	f->fsync_policy = o->fsync;
	/* Written with write() is safe from a SIGKILL of the agent, which is
	 * what every policy's OK means; fsync: interval also promises the
	 * disk within fsync_interval, so its OK is confirmed only after the
	 * fsync that covers it (docs/durability.md). */
	f->defer_durable = o->fsync == TTLOG__FILE_FSYNC_INTERVAL &&
			   TTLOG_HOST_HAS(host, durable);
	if (f->defer_durable)
		host->defer_durable(host);
	f->rotate_size = o->rotate_size;
	f->rotate_ms = o->rotate_interval_ms;
	f->fsync_ms = o->fsync_interval_ms;
	f->keep = (unsigned)o->rotate_keep;
	f->mode = mode;
	f->dir_mode = dir_mode;
	if (!constant) {
		/* Files open as events name them; rotation is the path's. */
		f->rotate_size = 0;
		f->rotate_ms = 0;
		f->synced_ms = ttlog__file_now_ms();
		rc = ttlog__file_paths_new(f, o);
		if (rc != 0) {
			host->log(host, TTLOG_LEVEL_ERROR, "options", "%s: %s",
				  o->path, strerror(ENOMEM));
			file_destroy(f);
			return rc;
		}
		*state = f;
		return 0;
	}
	/* At creation a file that cannot be opened is a configuration error,
	 * reported now rather than at the first batch. */
	rc = ttlog__file_open_current(f, ttlog__file_now_ms());
	if (rc != 0) {
		file_destroy(f);
		return rc;
	}
	*state = f;
	return 0;
}

static const struct ttlog_listener_api file_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "file",
	.description = "appends batches to a file as text, JSON lines or "
		       "LZ4-compressed CBOR, with rotation and fsync policies",
	.options = file_options,
	.options_size = sizeof(struct ttlog__file_options),
	.consume = file_consume,
	.flush = file_flush,
	.destroy = file_destroy,
	.reopen = file_reopen,
	.create2 = file_create,
	.start2 = file_start,
	.check = ttlog__file_check,
	.metrics = ttlog__file_paths_metrics,
};

TTLOG_LISTENER_ENTRY(file_api)
