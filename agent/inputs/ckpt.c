/*
 * ckpt.c - the state file of the tail and journal inputs (ckpt.h): a
 * header and checksummed records, replaced whole by write, sync, rename.
 *
 * The reader is written for files that a power cut, a full disk or a
 * person may have damaged: every length is checked against the limits and
 * against the bytes that are left before anything is read through it, and
 * nothing is allocated from a length found in the file. A file is checked
 * completely before the callback sees its first record, so a damaged file
 * is never half used (ckpt.h allows either; callers get the stronger
 * guarantee for free because the walk costs little next to the I/O).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byteorder.h"
#include "ckpt.h"
#include "crc32c.h"
#include "errf.h"

#define CKPT_MAGIC "TTLOGCKP"
#define CKPT_VERSION 1u
#define CKPT_HDR 16u
/* u32 key length, u32 value length ... u32 CRC-32C: a record's overhead. */
#define REC_HEAD 8u
#define REC_OVERHEAD 12u

/* Checks the header and every record of buf; when fn is not NULL, hands
 * the records to it (only called once the whole file checked out). */
static int walk(const unsigned char *buf, size_t len, ttlog__ckpt_fn fn,
		void *arg, char *err, size_t errlen)
{
	uint32_t count;
	size_t off = CKPT_HDR;

	if (len < CKPT_HDR)
		return ttlog__errf(err, errlen,
				   "offset %zu: file ends inside the %u-byte "
				   "header",
				   len, CKPT_HDR);
	if (memcmp(buf, CKPT_MAGIC, 8) != 0)
		return ttlog__errf(err, errlen,
				   "offset 0: not a ttlog state file (no "
				   "\"%s\" magic)",
				   CKPT_MAGIC);
	if (ttlog__get_be32(buf + 8) != CKPT_VERSION)
		return ttlog__errf(err, errlen,
				   "offset 8: version %u is not supported "
				   "(this agent reads version %u)",
				   ttlog__get_be32(buf + 8), CKPT_VERSION);
	count = ttlog__get_be32(buf + 12);
	if (count > TTLOG__CKPT_MAX_RECORDS)
		return ttlog__errf(err, errlen,
				   "offset 12: record count %u is over the "
				   "limit of %u",
				   count, TTLOG__CKPT_MAX_RECORDS);
	for (uint32_t i = 0; i < count; i++) {
		size_t left = len - off, klen, vlen, body;
		struct ttlog__ckpt_rec r;

		if (left < REC_HEAD)
			return ttlog__errf(err, errlen,
					   "offset %zu: file ends inside the "
					   "head of record %u of %u",
					   len, i + 1, count);
		klen = ttlog__get_be32(buf + off);
		vlen = ttlog__get_be32(buf + off + 4);
		if (klen > TTLOG__CKPT_MAX_KEY)
			return ttlog__errf(err, errlen,
					   "offset %zu: key length %zu of "
					   "record %u is over the limit of %u",
					   off, klen, i + 1,
					   TTLOG__CKPT_MAX_KEY);
		if (vlen > TTLOG__CKPT_MAX_VALUE)
			return ttlog__errf(err, errlen,
					   "offset %zu: value length %zu of "
					   "record %u is over the limit of %u",
					   off + 4, vlen, i + 1,
					   TTLOG__CKPT_MAX_VALUE);
		/* Both lengths are bounded above, so this cannot wrap. */
		body = REC_HEAD + klen + vlen;
		if (left < body + 4)
			return ttlog__errf(err, errlen,
					   "offset %zu: file ends inside "
					   "record %u of %u (it needs %zu "
					   "bytes from offset %zu)",
					   len, i + 1, count, body + 4, off);
		if (ttlog__get_be32(buf + off + body) !=
		    ttlog__crc32c(0, buf + off, body))
			return ttlog__errf(err, errlen,
					   "offset %zu: checksum of record %u "
					   "does not match its bytes",
					   off + body, i + 1);
		if (fn != NULL) {
			int rc;

			r.key = (const char *)buf + off + REC_HEAD;
			r.key_len = klen;
			r.val = buf + off + REC_HEAD + klen;
			r.val_len = vlen;
			if ((rc = fn(arg, &r)) != 0)
				return rc;
		}
		off += body + 4;
	}
	if (off != len)
		return ttlog__errf(err, errlen,
				   "offset %zu: %zu bytes follow the %u "
				   "records the header counts",
				   off, len - off, count);
	return 0;
}

int ttlog__ckpt_parse(const void *buf, size_t len, ttlog__ckpt_fn fn, void *arg,
		      char *err, size_t errlen)
{
	int rc;

	if (buf == NULL && len > 0)
		return ttlog__errf(err, errlen, "offset 0: no buffer");
	ttlog__crc32c_init();
	rc = walk(buf, len, NULL, NULL, err, errlen);
	if (rc != 0 || fn == NULL)
		return rc;
	return walk(buf, len, fn, arg, err, errlen);
}

/* Reads the whole of fd (a regular file of st_size bytes) into *out. */
static int read_all(int fd, size_t size, unsigned char **out, size_t *got)
{
	unsigned char *p = malloc(size ? size : 1);
	size_t n = 0;

	if (p == NULL)
		return ENOMEM;
	while (n < size) {
		ssize_t r = read(fd, p + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(p);
			return e;
		}
		if (r == 0)
			break; /* shrank since fstat(): parse what is there */
		n += (size_t)r;
	}
	*out = p;
	*got = n;
	return 0;
}

int ttlog__ckpt_load(const char *path, ttlog__ckpt_fn fn, void *arg, char *err,
		     size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct stat st;
	char why[256];
	int fd, e, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return ttlog__errf(err, errlen, "%s: cannot open: %s", path,
				   strerror(errno));
	if (fstat(fd, &st) != 0) {
		e = errno;
		close(fd);
		return ttlog__errf(err, errlen, "%s: cannot stat: %s", path,
				   strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ttlog__errf(err, errlen, "%s: not a regular file", path);
	}
	/* The largest file the limits allow is far beyond any real state;
	 * the size is the file's own, not a length read from it. */
	if ((uintmax_t)st.st_size > SIZE_MAX - 1) {
		close(fd);
		return ttlog__errf(err, errlen, "%s: too large to read", path);
	}
	e = read_all(fd, (size_t)st.st_size, &buf, &len);
	close(fd);
	if (e != 0)
		return ttlog__errf(err, errlen, "%s: cannot read: %s", path,
				   strerror(e));
	rc = ttlog__ckpt_parse(buf, len, fn, arg, why, sizeof(why));
	if (rc == -1)
		ttlog__errf(err, errlen, "%s: %s", path, why);
	free(buf);
	return rc;
}

/* Lays out the n records as the file's bytes; *out is the caller's. */
static int encode(const char *path, const struct ttlog__ckpt_rec *recs,
		  size_t n, unsigned char **out, size_t *outlen, char *err,
		  size_t errlen)
{
	size_t total = CKPT_HDR, off = CKPT_HDR;
	unsigned char *p;

	if (n > TTLOG__CKPT_MAX_RECORDS)
		return ttlog__errf(err, errlen,
				   "%s: %zu records are over the limit of %u",
				   path, n, TTLOG__CKPT_MAX_RECORDS);
	for (size_t i = 0; i < n; i++) {
		const struct ttlog__ckpt_rec *r = &recs[i];
		if (r->key_len > TTLOG__CKPT_MAX_KEY ||
		    r->val_len > TTLOG__CKPT_MAX_VALUE)
			return ttlog__errf(err, errlen,
					   "%s: record %zu (key %zu bytes, "
					   "value %zu) is over the limits of "
					   "%u and %u bytes",
					   path, i + 1, r->key_len, r->val_len,
					   TTLOG__CKPT_MAX_KEY,
					   TTLOG__CKPT_MAX_VALUE);
		if ((r->key == NULL && r->key_len > 0) ||
		    (r->val == NULL && r->val_len > 0))
			return ttlog__errf(err, errlen,
					   "%s: record %zu has no bytes", path,
					   i + 1);
		if (SIZE_MAX - total < REC_OVERHEAD + r->key_len + r->val_len)
			return ttlog__errf(err, errlen, "%s: too large", path);
		total += REC_OVERHEAD + r->key_len + r->val_len;
	}
	if ((p = malloc(total)) == NULL)
		return ttlog__errf(err, errlen, "%s: out of memory", path);
	memcpy(p, CKPT_MAGIC, 8);
	ttlog__put_be32(p + 8, CKPT_VERSION);
	ttlog__put_be32(p + 12, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct ttlog__ckpt_rec *r = &recs[i];
		size_t body = REC_HEAD + r->key_len + r->val_len;

		ttlog__put_be32(p + off, (uint32_t)r->key_len);
		ttlog__put_be32(p + off + 4, (uint32_t)r->val_len);
		if (r->key_len > 0)
			memcpy(p + off + REC_HEAD, r->key, r->key_len);
		if (r->val_len > 0)
			memcpy(p + off + REC_HEAD + r->key_len, r->val,
			       r->val_len);
		ttlog__put_be32(p + off + body,
				ttlog__crc32c(0, p + off, body));
		off += body + 4;
	}
	*out = p;
	*outlen = total;
	return 0;
}

/* write() until all of it is out; 0 or an errno value. */
static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		if (w == 0)
			return EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* fsync()s the directory that holds path, so that the rename is on disk. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, e = 0;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return errno;
	if (fsync(fd) != 0)
		e = errno;
	close(fd);
	return e;
}

/* Writes the image to tmp; on failure tmp is gone and err says why. */
static int write_tmp(const char *tmp, const unsigned char *img, size_t len,
		     int sync, char *err, size_t errlen)
{
	const char *what = "write";
	int fd, e;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ttlog__errf(err, errlen, "%s: cannot create: %s", tmp,
				   strerror(errno));
	e = write_all(fd, img, len);
	/* A failed fsync is not retried: the pages it could not write may
	 * already be marked clean, so a second call proves nothing. */
	if (e == 0 && sync && fsync(fd) != 0) {
		e = errno;
		what = "fsync";
	}
	/* close() can be where NFS reports a failed write. */
	if (close(fd) != 0 && e == 0) {
		e = errno;
		what = "close";
	}
	if (e != 0) {
		unlink(tmp);
		return ttlog__errf(err, errlen, "%s: %s: %s", tmp, what,
				   strerror(e));
	}
	return 0;
}

int ttlog__ckpt_save(const char *path, const struct ttlog__ckpt_rec *recs,
		     size_t n, int sync, char *err, size_t errlen)
{
	unsigned char *img = NULL;
	size_t len = 0;
	char *tmp = NULL;
	int e;

	ttlog__crc32c_init();
	if (encode(path, recs, n, &img, &len, err, errlen) != 0)
		return -1;
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		free(img);
		return ttlog__errf(err, errlen, "%s: out of memory", path);
	}
	if (write_tmp(tmp, img, len, sync, err, errlen) != 0) {
		free(img);
		free(tmp);
		return -1;
	}
	free(img);
	if (rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		ttlog__errf(err, errlen, "%s: cannot rename %s over it: %s",
			    path, tmp, strerror(e));
		free(tmp);
		return -1;
	}
	free(tmp);
	/* The new file is in place; only its survival of a power cut is
	 * in question when the directory cannot be synced. */
	if (sync && (e = sync_dir(path)) != 0)
		return ttlog__errf(err, errlen,
				   "%s: fsync of its directory: %s (the new "
				   "state may not survive a power cut)",
				   path, strerror(e));
	return 0;
}
