/*
 * file_rotate.c - rotation by size and by age, keeping the newest files:
 * PATH is written, PATH.1 is the newest rotated file, PATH.KEEP the
 * oldest kept.
 *
 * Rotation happens only between two batches (never with a torn batch
 * pending), so every event is in exactly one file, whole. A rotation that
 * fails leaves the files as they were, as far as it got, and writing goes
 * on into PATH; the next attempt waits TTLOG__FILE_ROTATE_RETRY_MS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "file_internal.h"

static char *rotated(struct ttlog__file *f, int which, unsigned i)
{
	char *s = f->name + (which ? f->name_cap : 0);

	snprintf(s, f->name_cap, "%s.%u", f->path, i);
	return s;
}

/* Moves PATH.(keep-1) ... PATH.1 up by one, then PATH to PATH.1; each
 * rename replaces its target, which drops the oldest, PATH.keep. Stops at
 * the first failure: going on could rename a file over one that was not
 * moved out of the way. */
static int shift(struct ttlog__file *f, char *why, size_t whylen)
{
	const char *name;

	if (f->keep == 0) {
		if (unlink(f->path) != 0 && errno != ENOENT) {
			snprintf(why, whylen, "cannot remove it: %s",
				 strerror(errno));
			return -1;
		}
		return 0;
	}
	for (unsigned i = f->keep - 1; i >= 1; i--) {
		const char *from = rotated(f, 0, i), *to = rotated(f, 1, i + 1);
		if (rename(from, to) != 0 && errno != ENOENT) {
			snprintf(why, whylen, "cannot rename %s to %s: %s",
				 from, to, strerror(errno));
			return -1;
		}
	}
	name = rotated(f, 0, 1);
	if (rename(f->path, name) != 0) {
		snprintf(why, whylen, "cannot rename it to %s: %s", name,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Makes the renames durable, when the policy cares about durability. */
static void sync_dir(struct ttlog__file *f)
{
	int fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && fsync(fd) == 0) {
		close(fd);
		return;
	}
	atomic_fetch_add_explicit(&f->c.fsync_errors, 1, memory_order_relaxed);
	ttlog__file_report(f, TTLOG_LEVEL_WARN, "fsync",
			   "fsync of directory %s failed: %s; the rotation may "
			   "not survive a crash (not retried)",
			   f->dir, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void rotate(struct ttlog__file *f, int64_t now)
{
	char why[1024];

	/* The old file's last bytes, before its descriptor goes. */
	if (f->fsync_policy != TTLOG__FILE_FSYNC_NEVER && f->dirty)
		(void)ttlog__file_sync(f, now);
	if (shift(f, why, sizeof(why)) != 0) {
		atomic_fetch_add_explicit(&f->c.open_errors, 1,
					  memory_order_relaxed);
		if (!f->rotate_failing)
			ttlog__file_report(f, TTLOG_LEVEL_ERROR, "rotation",
					   "rotation failed: %s; writing on "
					   "to the same file",
					   why);
		f->rotate_failing = 1;
		f->rotate_retry_ms = now + TTLOG__FILE_ROTATE_RETRY_MS;
		return;
	}
	atomic_fetch_add_explicit(&f->c.rotations, 1, memory_order_relaxed);
	f->rotate_now = 0;
	if (f->rotate_failing)
		ttlog__file_report(f, TTLOG_LEVEL_INFO, "rotation",
				   "rotating again");
	f->rotate_failing = 0;
	close(f->fd);
	f->fd = -1;
	f->size = 0;
	f->born_set = 0;
	f->dirty = 0;
	if (f->fsync_policy != TTLOG__FILE_FSYNC_NEVER)
		sync_dir(f);
	/* On failure fd stays -1 and consume() tries again before each
	 * batch, answering RETRY meanwhile: the writer's queue holds the
	 * events, nothing goes into a file that is no longer PATH. */
	(void)ttlog__file_open_current(f, now);
}

void ttlog__file_maybe_rotate(struct ttlog__file *f, size_t len, int64_t now)
{
	int by_size, by_time;

	if (f->fd < 0 || f->stream || f->pending.b != NULL ||
	    f->reopen_wanted || f->size == 0 || now < f->rotate_retry_ms)
		return;
	/* Before the batch that would pass the limit, so that files stay
	 * within rotate.size unless one batch alone is larger. */
	by_size = f->rotate_size > 0 && f->size + len > f->rotate_size;
	by_time = f->rotate_ms > 0 && f->born_set &&
		  now - f->born_ms >= (int64_t)f->rotate_ms;
	if (by_size || by_time || f->rotate_now)
		rotate(f, now);
}

void ttlog__file_arm_rotate(struct ttlog__file *f, int64_t now)
{
	int64_t due, delay;

	if (f->rotate_ev == NULL)
		return;
	/* Only arm for a rotation maybe_rotate() would do when the timer
	 * fires; anything else would wake the loop again at once, forever.
	 * consume() re-arms after each batch. */
	if (!f->born_set || f->size == 0 || f->fd < 0 || f->stream ||
	    f->pending.b != NULL || f->reopen_wanted) {
		f->host->timer_stop(f->rotate_ev);
		return;
	}
	due = f->born_ms + (int64_t)f->rotate_ms;
	if (due < f->rotate_retry_ms)
		due = f->rotate_retry_ms;
	delay = due > now ? due - now : 0;
	(void)f->host->timer_start(f->rotate_ev, (uint64_t)delay, 0);
}

static void on_rotate_timer(void *arg)
{
	struct ttlog__file *f = arg;
	int64_t now = ttlog__file_now_ms();

	ttlog__file_maybe_rotate(f, 0, now);
	ttlog__file_arm_rotate(f, now);
}

int ttlog__file_rotate_start(struct ttlog__file *f, int64_t now)
{
	if (f->rotate_ms == 0)
		return 0;
	f->rotate_ev = f->host->timer_new(f->host, on_rotate_timer, f);
	if (f->rotate_ev == NULL)
		return TTLOG_ENOMEM;
	ttlog__file_arm_rotate(f, now);
	return 0;
}
