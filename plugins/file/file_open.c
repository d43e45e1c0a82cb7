/*
 * file_open.c - opening the log file safely: the mode option, missing
 * parent directories, and refusing anything but a regular file (or a FIFO
 * or character device, written without blocking) reached without
 * following a symbolic link at the last step.
 *
 * The path comes from the configuration only. Refusing a symbolic link
 * keeps someone who can write into the log directory from pointing the
 * file at, say, /etc/shadow and having a process that runs as root append
 * to it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file_internal.h"

#define OPEN_FLAGS (O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC)

int ttlog__file_parse_mode(const char *s, mode_t *out)
{
	unsigned v = 0;

	if (s == NULL || *s == 0)
		return TTLOG_EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return TTLOG_EINVAL;
		v = v * 8 + (unsigned)(*s - '0');
		if (v > 0777)
			return TTLOG_EINVAL;
	}
	*out = (mode_t)v;
	return 0;
}

int ttlog__file_refuse_kind(mode_t m, char *why, size_t whylen)
{
	const char *what = S_ISDIR(m)		      ? "a directory"
			   : S_ISFIFO(m)	      ? "a FIFO"
			   : S_ISSOCK(m)	      ? "a socket"
			   : S_ISCHR(m) || S_ISBLK(m) ? "a device"
						      : NULL;

	if (S_ISLNK(m))
		snprintf(why, whylen,
			 "is a symbolic link; refusing to follow it (give "
			 "the path of the file itself)");
	else if (what != NULL)
		snprintf(why, whylen, "is %s, not a regular file", what);
	else
		snprintf(why, whylen, "is not a regular file");
	return TTLOG_EINVAL;
}

/* Creates each missing directory above the last component. */
static int make_parents(const char *path, mode_t dir_mode, char *why,
			size_t whylen)
{
	char *p = strdup(path);
	int rc = 0;

	if (p == NULL) {
		snprintf(why, whylen, "out of memory");
		return TTLOG_ENOMEM;
	}
	for (char *s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = 0;
		if (mkdir(p, dir_mode) != 0 && errno != EEXIST) {
			rc = -errno;
			snprintf(why, whylen, "cannot create directory %s: %s",
				 p, strerror(errno));
			break;
		}
		*s = '/';
	}
	free(p);
	return rc;
}

/* Age from the file system's creation time, or -1 when it has none. */
static int64_t file_age_ms(int fd)
{
	struct statx sx;
	struct timespec now;
	int64_t born, age;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) != 0 ||
	    !(sx.stx_mask & STATX_BTIME))
		return -1;
	clock_gettime(CLOCK_REALTIME, &now);
	born = (int64_t)sx.stx_btime.tv_sec * 1000 +
	       sx.stx_btime.tv_nsec / 1000000;
	age = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - born;
	return age < 0 ? 0 : age;
}

/*
 * A FIFO or character device (a terminal, /dev/null) the configuration
 * names. Our own description, opened O_NONBLOCK, so neither the open (a
 * FIFO waits for a reader) nor a write (a FIFO nobody reads) can hold the
 * writer thread, and no other process's view of it changes. Accepting
 * them opens nothing new to someone who can write into the log
 * directory: they could as well put a regular file of their own there;
 * devices need root to make.
 */
static int open_stream(const char *path, uint64_t *size, int64_t *age_ms,
		       char *why, size_t whylen)
{
	struct stat st;
	int fd, rc;

	do
		fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY |
					O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		rc = -errno;
		if (errno == ENXIO) {
			snprintf(why, whylen,
				 "is a FIFO that nobody has open for "
				 "reading: start its reader first");
			return TTLOG_EINVAL; /* refused, as a wrong kind */
		} else if (errno == ELOOP)
			return ttlog__file_refuse_kind(S_IFLNK, why, whylen);
		else
			snprintf(why, whylen, "cannot open it: %s",
				 strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !ttlog__file_is_stream(st.st_mode)) {
		close(fd);
		snprintf(why, whylen, "was replaced while being opened");
		return TTLOG_EINVAL;
	}
	*size = 0;
	*age_ms = -1;
	return fd;
}

int ttlog__file_open(const char *path, mode_t mode, mode_t dir_mode,
		     uint64_t *size, int64_t *age_ms, int *stream, char *why,
		     size_t whylen)
{
	struct stat st;
	int fd, rc, flags;

	*stream = 0;
	/* lstat first for a clear message; O_NOFOLLOW and the fstat below
	 * close the race with a file replaced in between. */
	if (lstat(path, &st) == 0) {
		if (ttlog__file_is_stream(st.st_mode)) {
			*stream = 1;
			return open_stream(path, size, age_ms, why, whylen);
		}
		if (!S_ISREG(st.st_mode))
			return ttlog__file_refuse_kind(st.st_mode, why, whylen);
	} else if (errno == ENOENT) {
		rc = make_parents(path, dir_mode, why, whylen);
		if (rc != 0)
			return rc;
	} else {
		rc = -errno;
		snprintf(why, whylen, "cannot look it up: %s", strerror(errno));
		return rc;
	}
	/* O_NONBLOCK so that a FIFO put there after the lstat cannot block
	 * the writer thread in open(); it is cleared once the file is known
	 * to be regular. */
	do
		fd = open(path, OPEN_FLAGS | O_NONBLOCK, mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		rc = -errno;
		if (errno == ELOOP)
			return ttlog__file_refuse_kind(S_IFLNK, why, whylen);
		if (errno == ENXIO) /* a FIFO without reader, a device */
			return ttlog__file_refuse_kind(0, why, whylen);
		snprintf(why, whylen, "cannot open it: %s", strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		snprintf(why, whylen, "cannot stat it: %s", strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ttlog__file_refuse_kind(st.st_mode, why, whylen);
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
		rc = -errno;
		snprintf(why, whylen, "fcntl: %s", strerror(errno));
		close(fd);
		return rc;
	}
	*size = (uint64_t)st.st_size;
	*age_ms = st.st_size > 0 ? file_age_ms(fd) : -1;
	return fd;
}

/* The last n bytes of the file open as fd, read through a second
 * descriptor (fd is write-only) checked to be the same file. */
static int read_tail(const struct ttlog__file *f, void *buf, size_t n)
{
	struct stat a, b;
	int rfd = open(f->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int rc = -1;

	if (rfd < 0)
		return -1;
	if (fstat(f->fd, &a) == 0 && fstat(rfd, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino && f->size >= n &&
	    pread(rfd, buf, n, (off_t)(f->size - n)) == (ssize_t)n)
		rc = 0;
	close(rfd);
	return rc;
}

/*
 * A file that does not end where a record ends was torn: a crash in the
 * middle of a write, or a batch that could not be completed before
 * shutdown. Appending after it would spoil what follows too, so: a line
 * file gets the newline that ends the torn line; a binary file, which
 * cannot be mended that way (lz4 -dc stops at a torn frame), is rotated
 * away before the first batch, which sets it aside without deleting it.
 */
static void check_tail(struct ttlog__file *f)
{
	unsigned char t[8];

	if (f->size == 0)
		return;
	if (f->format != TTLOG__FILE_BINARY) {
		if (read_tail(f, t, 1) != 0 || t[0] == '\n' ||
		    write(f->fd, "\n", 1) != 1)
			return;
		f->size++;
		f->dirty = 1;
		atomic_fetch_add_explicit(&f->c.bytes, 1, memory_order_relaxed);
		ttlog__file_report(f, TTLOG_LEVEL_WARN, "open",
				   "the file ended inside a line "
				   "(torn by a crash or a failed "
				   "write); a newline was added "
				   "to end it");
		return;
	}
	/* Every frame the encoder writes ends with an end mark (four zero
	 * bytes) and the content checksum. Bytes that look like that may
	 * still end a torn frame, by chance, but bytes that do not are
	 * certainly torn. */
	if (f->size >= sizeof(t)) {
		if (read_tail(f, t, sizeof(t)) != 0)
			return;
		if (memcmp(t, "\0\0\0\0", 4) == 0)
			return;
	}
	if (f->keep == 0) {
		ttlog__file_report(f, TTLOG_LEVEL_WARN, "open",
				   "the file ends inside an LZ4 frame "
				   "(torn by a crash or a failed "
				   "write); with rotate.keep 0 it "
				   "cannot be set aside, so readers "
				   "must skip the torn frame");
		return;
	}
	f->rotate_now = 1;
	ttlog__file_report(f, TTLOG_LEVEL_WARN, "open",
			   "the file ends inside an LZ4 frame (torn "
			   "by a crash or a failed write); it is "
			   "rotated before the first batch, so that "
			   "new frames start a clean file");
}

int ttlog__file_open_current(struct ttlog__file *f, int64_t now)
{
	char why[512];
	uint64_t size = 0;
	int64_t age = -1;
	int stream = 0;
	int fd = ttlog__file_open(f->path, f->mode, f->dir_mode, &size, &age,
				  &stream, why, sizeof(why));

	if (fd < 0) {
		atomic_fetch_add_explicit(&f->c.open_errors, 1,
					  memory_order_relaxed);
		if (!f->open_failing)
			ttlog__file_report(f, TTLOG_LEVEL_ERROR, "open", "%s",
					   why);
		f->open_failing = 1;
		return fd;
	}
	if (f->open_failing)
		ttlog__file_report(f, TTLOG_LEVEL_INFO, "open", "opened again");
	f->open_failing = 0;
	if (f->fd >= 0) {
		/* The old file's last bytes, before its descriptor goes. */
		if (f->fsync_policy != TTLOG__FILE_FSYNC_NEVER && f->dirty)
			(void)ttlog__file_sync(f, now);
		close(f->fd);
	}
	f->fd = fd;
	f->stream = stream;
	f->size = size;
	/* A file found with data counts its age from its creation when the
	 * file system knows it, so restarts do not postpone rotation. */
	f->born_set = size > 0;
	f->born_ms = age >= 0 ? now - age : now;
	f->dirty = 0;
	f->synced_ms = now;
	f->rotate_now = 0;
	if (!stream)
		check_tail(f);
	return 0;
}

int ttlog__file_reopen_now(struct ttlog__file *f, int64_t now)
{
	int rc = ttlog__file_open_current(f, now);

	if (rc != 0) {
		/* Writing goes on into the old file, if there is one. */
		f->reopen_wanted = 1;
		return rc;
	}
	f->reopen_wanted = 0;
	atomic_fetch_add_explicit(&f->c.reopens, 1, memory_order_relaxed);
	ttlog__file_arm_rotate(f, now);
	return 0;
}
