/*
 * file_check.c - the file listener's options checked: what the option
 * table cannot say (ranges, combinations, the mode), for create() and for
 * check() (listener ABI 1.3), which also looks at the place the file will
 * be: an existing path must be a writable regular file, else the nearest
 * existing directory above it must let us create what is missing. It
 * reads the file system and changes nothing in it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_internal.h"

/* Fills err with "PATH: detail" and returns TTLOG_EINVAL. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int
bad(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", path, detail);
	return TTLOG_EINVAL;
}

/* Validates what the option table cannot (a test, or another host, fills
 * the struct without the registry). Reports the first problem. */
int ttlog__file_check_options(const struct ttlog__file_options *o, mode_t *mode,
			      char *err, size_t errlen)
{
	const char *path = o && o->path && o->path[0] ? o->path : "(no path)";
	size_t len;
	mode_t dm;

	if (o == NULL || o->path == NULL || o->path[0] == 0)
		return bad(err, errlen, path, "path: required, and not set");
	len = strlen(o->path);
	/* Room for ".10000" and a NUL within PATH_MAX (4096). */
	if (len > 4000)
		return bad(err, errlen, path, "path: longer than 4000 bytes");
	if (o->path[len - 1] == '/') {
		return bad(err, errlen, path,
			   "path: names a directory (ends "
			   "with '/'); give a file name");
	}
	if (o->format < 0 || o->format > TTLOG__FILE_BINARY)
		return bad(err, errlen, path,
			   "format: %d is not one of text, json, binary",
			   o->format);
	if (o->fsync < 0 || o->fsync > TTLOG__FILE_FSYNC_EVERY_BATCH)
		return bad(err, errlen, path,
			   "fsync: %d is not one of never, interval, "
			   "every_batch",
			   o->fsync);
	if (o->rotate_keep < 0 || o->rotate_keep > TTLOG__FILE_MAX_KEEP)
		return bad(err, errlen, path,
			   "rotate.keep: %lld is not between 0 and %d",
			   (long long)o->rotate_keep, TTLOG__FILE_MAX_KEEP);
	if (o->rotate_interval_ms > TTLOG__FILE_MAX_MS ||
	    o->fsync_interval_ms > TTLOG__FILE_MAX_MS)
		return bad(err, errlen, path, "%s: longer than 100 years",
			   o->rotate_interval_ms > TTLOG__FILE_MAX_MS
				   ? "rotate.interval"
				   : "fsync_interval");
	if (o->fsync == TTLOG__FILE_FSYNC_INTERVAL && o->fsync_interval_ms == 0)
		return bad(err, errlen, path,
			   "fsync_interval: must be more than 0 "
			   "with fsync: interval (or use "
			   "every_batch)");
	if (ttlog__file_parse_mode(o->mode ? o->mode : "0640", mode) != 0)
		return bad(err, errlen, path,
			   "mode: \"%s\" is not octal digits from 0 to "
			   "0777, such as \"0640\"",
			   o->mode);
	if (ttlog__file_parse_mode(o->dir_mode ? o->dir_mode : "0750", &dm) !=
	    0)
		return bad(err, errlen, path,
			   "dir_mode: \"%s\" is not octal digits from 0 to "
			   "0777, such as \"0750\"",
			   o->dir_mode);
	/* 0 is a struct filled without the option table: the default. */
	if (o->max_open_files < 0 || o->max_open_files > TTLOG__FILE_MAX_OPEN)
		return bad(err, errlen, path,
			   "max_open_files: %lld is not between 1 and %d",
			   (long long)o->max_open_files, TTLOG__FILE_MAX_OPEN);
	if (o->idle_close_ms > TTLOG__FILE_MAX_MS)
		return bad(err, errlen, path,
			   "idle_close: longer than 100 years");
	return 0;
}

static int check_parents(const char *path, const char *below, char *err,
			 size_t errlen);

/* Where the file will be: what create() would trip over, found by
 * looking only. */
static int check_place(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == 0) {
		char why[256];
		if (!S_ISREG(st.st_mode) &&
		    !ttlog__file_is_stream(st.st_mode)) {
			ttlog__file_refuse_kind(st.st_mode, why, sizeof(why));
			return bad(err, errlen, path, "%s", why);
		}
		if (access(path, W_OK) != 0)
			return bad(err, errlen, path, "cannot write to it: %s",
				   strerror(errno));
		return 0;
	}
	if (errno != ENOENT)
		return bad(err, errlen, path, "%s", strerror(errno));
	return check_parents(path, path, err, errlen);
}

/* The nearest directory above `below` that exists must let us make the
 * rest. Reports as `path`. */
static int check_parents(const char *path, const char *below, char *err,
			 size_t errlen)
{
	struct stat st;
	char *dir, *slash;
	int rc = 0;

	dir = strdup(below);
	if (dir == NULL)
		return bad(err, errlen, path, "out of memory");
	for (;;) {
		slash = strrchr(dir, '/');
		if (slash == NULL) {
			strcpy(dir, ".");
		} else if (slash == dir) {
			dir[1] = 0;
		} else {
			*slash = 0;
		}
		if (stat(dir, &st) == 0 || errno != ENOENT ||
		    strcmp(dir, ".") == 0 || strcmp(dir, "/") == 0)
			break;
	}
	if (stat(dir, &st) != 0)
		rc = bad(err, errlen, path, "%s: %s", dir, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rc = bad(err, errlen, path, "%s is not a directory", dir);
	else if (access(dir, W_OK | X_OK) != 0)
		rc = bad(err, errlen, path, "cannot create it in %s: %s", dir,
			 strerror(errno));
	free(dir);
	return rc;
}

int ttlog__file_check(const void *options, char *err, size_t errlen)
{
	const struct ttlog__file_options *o = options;
	char *fixed = NULL, *below;
	size_t cut;
	mode_t mode;
	int constant = 1;
	int rc = ttlog__file_check_options(o, &mode, err, errlen);

	if (rc == 0)
		rc = ttlog__file_paths_check(o, &constant, &fixed, err, errlen);
	if (rc != 0)
		return rc;
	if (constant) {
		rc = check_place(fixed, err, errlen);
		free(fixed);
		return rc;
	}
	/* A templated path: the directories its text spells out before
	 * the first value (a file inside them is made per event). */
	cut = strcspn(o->path, "$%");
	below = strndup(o->path, cut);
	if (below == NULL)
		return bad(err, errlen, o->path, "out of memory");
	rc = check_parents(o->path, below, err, errlen);
	free(below);
	return rc;
}
