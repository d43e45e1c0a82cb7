/*
 * snapshot.c - the flight recorder (snapshot_internal.h,
 * docs/snapshot-format.md): its set-up from the options, the writer's
 * side (the stretches a crash handler waits for, a requested or periodic
 * snapshot), retention of old files and the statistics. What the parts
 * share is in snapshot_state.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "snapshot_state.h"

#define DEFAULT_HISTORY (4u << 20)
#define DEFAULT_KEEP 10u
#define DEFAULT_MAX_BYTES (256ull << 20)

struct ttlog__snap_state ttlog__snap = {.dirfd = -1,
					.stats_mu = PTHREAD_MUTEX_INITIALIZER};

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
	size_t ls = strlen(ttlog__snap.name_svc), ln = strlen(name);
	static const char sfx[] = ".ttsnap";

	return ln > ls + 1 + sizeof(sfx) - 1 &&
	       strncmp(name, ttlog__snap.name_svc, ls) == 0 &&
	       name[ls] == '-' && name[ls + 1] >= '0' && name[ls + 1] <= '9' &&
	       strcmp(name + ln - (sizeof(sfx) - 1), sfx) == 0;
}

static void retention(void)
{
	struct found *f = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	struct dirent *de;
	int fd = ttlog__snap.dirfd >= 0 ? dup(ttlog__snap.dirfd) : -1;
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
		    fstatat(ttlog__snap.dirfd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) ||
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
		int over = total > ttlog__snap.max_bytes && i > 0;
		if ((i >= ttlog__snap.keep || over) &&
		    unlinkat(ttlog__snap.dirfd, f[i].name, 0) == 0)
			total -= f[i].bytes;
	}
	for (size_t i = 0; i < n; i++)
		free(f[i].name);
	free(f);
}

/* ------------------------------------------------------------------ */
/* The writer's side                                                    */
/* ------------------------------------------------------------------ */

void ttlog__snap_nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void ttlog__snap_enter(void)
{
	if (!ttlog__snap.on)
		return;
	for (;;) {
		atomic_fetch_add(&ttlog__snap.busy, 1);
		if (!atomic_load(&ttlog__snap.crashing))
			return;
		atomic_fetch_sub(&ttlog__snap.busy, 1);
		while (atomic_load(&ttlog__snap.crashing))
			ttlog__snap_nap_ms(1);
	}
}

void ttlog__snap_leave(void)
{
	if (ttlog__snap.on)
		atomic_fetch_sub(&ttlog__snap.busy, 1);
}

static int open_dir(void)
{
	if (ttlog__snap.dirfd >= 0)
		return 0;
	if (mkdir(ttlog__snap.dir, 0750) != 0 && errno != EEXIST)
		return -errno;
	ttlog__snap.dirfd =
		open(ttlog__snap.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return ttlog__snap.dirfd >= 0 ? 0 : -errno;
}

int ttlog__snap_write(const char *trigger, const char *reason)
{
	uint64_t nev = 0;
	int rc, placed = 0;

	if (!ttlog__snap.on)
		return TTLOG_EINVAL;
	ttlog__snap_enter();
	atomic_store(&ttlog__snap.writing, 1);
	rc = open_dir();
	if (rc != 0) {
		ttlog__snap.name[0] = 0;
		(void)ttlog__snap_fail("open the directory", -rc);
	} else
		rc = ttlog__snap_write_file(trigger, reason, 1, &nev, &placed);
	atomic_store(&ttlog__snap.writing, 0);
	ttlog__snap_leave();

	pthread_mutex_lock(&ttlog__snap.stats_mu);
	if (placed) {
		atomic_fetch_add(&ttlog__snap.written, 1);
		atomic_store(&ttlog__snap.last_events, nev);
		snprintf(ttlog__snap.last_file, sizeof(ttlog__snap.last_file),
			 "%s", ttlog__snap.name);
	} else {
		atomic_fetch_add(&ttlog__snap.failed, 1);
	}
	if (rc != 0)
		snprintf(ttlog__snap.last_error, sizeof(ttlog__snap.last_error),
			 "%.100s/%.90s: %s: %s", ttlog__snap.dir,
			 ttlog__snap.name, ttlog__snap.err_step,
			 strerror(ttlog__snap.err_no));
	pthread_mutex_unlock(&ttlog__snap.stats_mu);
	if (rc != 0)
		fprintf(stderr, "ttlog: snapshot %s/%s: %s: %s\n",
			ttlog__snap.dir, ttlog__snap.name, ttlog__snap.err_step,
			strerror(ttlog__snap.err_no));
	if (ttlog__snap.dirfd >= 0)
		retention();
	return rc;
}

/* ------------------------------------------------------------------ */
/* Set-up                                                               */
/* ------------------------------------------------------------------ */

int ttlog__snap_on(void)
{
	return ttlog__snap.on;
}

uint32_t ttlog__snap_interval_ms(void)
{
	return ttlog__snap.on ? ttlog__snap.interval_ms : 0;
}

void ttlog__snap_set_writer(int tid)
{
	ttlog__snap.writer_tid = tid;
}

static void release(void)
{
	while (ttlog__snap.hn > 0)
		ttlog__snap_hist_drop_oldest();
	free(ttlog__snap.hist);
	free(ttlog__snap.table);
	free(ttlog__snap.strs);
	free(ttlog__snap.cur);
	free(ttlog__snap.heap);
	ttlog__lz4w_free(&ttlog__snap.lz);
	ttlog__snap.hist = NULL;
	ttlog__snap.table = NULL;
	ttlog__snap.strs = NULL;
	ttlog__snap.cur = NULL;
	ttlog__snap.heap = NULL;
	if (ttlog__snap.dirfd >= 0)
		close(ttlog__snap.dirfd);
	ttlog__snap.dirfd = -1;
	ttlog__snap.on = 0;
}

int ttlog__snap_start(const struct ttlog_options *o,
		      const struct ttlog__clock *clock)
{
	size_t i;
	int rc;

	ttlog__snap.on = 0;
	if (o->snapshot_dir == NULL || o->snapshot_dir[0] == 0)
		return 0;
	if (strlen(o->snapshot_dir) >= sizeof(ttlog__snap.dir))
		return TTLOG_EINVAL;
	snprintf(ttlog__snap.dir, sizeof(ttlog__snap.dir), "%s",
		 o->snapshot_dir);
	snprintf(ttlog__snap.service, sizeof(ttlog__snap.service), "%s",
		 o->service ? o->service : "ttlog");
	for (i = 0; ttlog__snap.service[i] != 0 &&
		    i + 1 < sizeof(ttlog__snap.name_svc);
	     i++) {
		char c = ttlog__snap.service[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			 c == '-';
		ttlog__snap.name_svc[i] = ok ? c : '_';
	}
	ttlog__snap.name_svc[i] = 0;
	if (gethostname(ttlog__snap.host, sizeof(ttlog__snap.host)) != 0)
		snprintf(ttlog__snap.host, sizeof(ttlog__snap.host), "unknown");
	ttlog__snap.host[sizeof(ttlog__snap.host) - 1] = 0;
	ttlog__snap.hist_max = o->snapshot_history_bytes
				       ? o->snapshot_history_bytes
				       : DEFAULT_HISTORY;
	ttlog__snap.keep = o->snapshot_keep ? o->snapshot_keep : DEFAULT_KEEP;
	ttlog__snap.max_bytes = o->snapshot_max_bytes ? o->snapshot_max_bytes
						      : DEFAULT_MAX_BYTES;
	ttlog__snap.interval_ms = o->snapshot_interval_ms;
	ttlog__snap.on_crash = o->snapshot_on_crash;
	ttlog__snap.clock = clock;
	ttlog__snap.hhead = ttlog__snap.hn = 0;
	atomic_store(&ttlog__snap.hbytes, 0);
	atomic_store(&ttlog__snap.hevents, 0);
	atomic_store(&ttlog__snap.busy, 0);
	atomic_store(&ttlog__snap.crashing, 0);
	atomic_store(&ttlog__snap.in_crash, 0);
	atomic_store(&ttlog__snap.writing, 0);
	ttlog__snap.writer_tid = 0;
	/* Counters are per run, like ttlog_stats(); file names keep counting
	 * within the process, so they never repeat. */
	atomic_store(&ttlog__snap.written, 0);
	atomic_store(&ttlog__snap.failed, 0);
	atomic_store(&ttlog__snap.sync_failed, 0);
	atomic_store(&ttlog__snap.omitted, 0);
	atomic_store(&ttlog__snap.last_events, 0);
	pthread_mutex_lock(&ttlog__snap.stats_mu);
	ttlog__snap.last_file[0] = ttlog__snap.last_error[0] = 0;
	pthread_mutex_unlock(&ttlog__snap.stats_mu);
	ttlog__snap.hist =
		calloc(TTLOG__SNAP_HIST_SLOTS, sizeof(*ttlog__snap.hist));
	ttlog__snap.table =
		calloc(TTLOG__SNAP_TABLE_CAP, sizeof(*ttlog__snap.table));
	ttlog__snap.strs =
		calloc(TTLOG__SNAP_MAX_STRINGS, sizeof(*ttlog__snap.strs));
	/* The captured cursors, then as many working copies. */
	ttlog__snap.cur = calloc(2 * (TTLOG__SNAP_MAX_RINGS + 1),
				 sizeof(*ttlog__snap.cur));
	ttlog__snap.heap =
		calloc(TTLOG__SNAP_MAX_RINGS + 1, sizeof(*ttlog__snap.heap));
	if (ttlog__snap.hist == NULL || ttlog__snap.table == NULL ||
	    ttlog__snap.strs == NULL || ttlog__snap.cur == NULL ||
	    ttlog__snap.heap == NULL ||
	    ttlog__lz4w_init(&ttlog__snap.lz) != 0) {
		release();
		return TTLOG_ENOMEM;
	}
	ttlog__snap.on = 1;
	/* A directory that cannot be opened now is not fatal: every
	 * snapshot then fails, counted and reported, and tries again. */
	rc = open_dir();
	if (rc != 0)
		fprintf(stderr, "ttlog: snapshot directory %s: %s\n",
			ttlog__snap.dir, strerror(-rc));
	else
		retention();
	if (ttlog__snap.on_crash) {
		ttlog__snap_install();
		ttlog__snap_thread_enter();
	}
	return 0;
}

void ttlog__snap_stop(void)
{
	if (!ttlog__snap.on)
		return;
	ttlog__snap_uninstall();
	ttlog__snap_thread_exit();
	release();
}

void ttlog__snap_stats(struct ttlog_snapshot_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->written = atomic_load(&ttlog__snap.written);
	out->failed = atomic_load(&ttlog__snap.failed);
	out->sync_failed = atomic_load(&ttlog__snap.sync_failed);
	out->events = atomic_load(&ttlog__snap.last_events);
	out->omitted = atomic_load(&ttlog__snap.omitted);
	pthread_mutex_lock(&ttlog__snap.stats_mu);
	out->history_events = atomic_load(&ttlog__snap.hevents);
	out->history_bytes = atomic_load(&ttlog__snap.hbytes);
	snprintf(out->last_file, sizeof(out->last_file), "%s",
		 ttlog__snap.last_file);
	snprintf(out->last_error, sizeof(out->last_error), "%s",
		 ttlog__snap.last_error);
	pthread_mutex_unlock(&ttlog__snap.stats_mu);
}
