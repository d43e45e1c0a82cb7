/* TEMPORARY (not committed): stand-ins until i18-state and i18-ml land. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "byteorder.h"
#include "crc32c.h"
#include "ckpt.h"
#include "multiline_internal.h"

int ttlog__ckpt_parse(const void *buf, size_t len, ttlog__ckpt_fn fn, void *arg,
		      char *err, size_t errlen)
{
	const unsigned char *b = buf;
	size_t o = 16;
	if (len < 16 || memcmp(b, "TTLOGCKP", 8) != 0) {
		snprintf(err, errlen, "offset 0: bad magic");
		return -1;
	}
	uint32_t n = ttlog__get_be32(b + 12);
	for (uint32_t i = 0; i < n; i++) {
		if (len - o < 8) {
			snprintf(err, errlen, "offset %zu: short", o);
			return -1;
		}
		uint32_t kl = ttlog__get_be32(b + o),
			 vl = ttlog__get_be32(b + o + 4);
		if (len - o - 8 < (size_t)kl + vl + 4) {
			snprintf(err, errlen, "offset %zu: short", o);
			return -1;
		}
		struct ttlog__ckpt_rec r = {(const char *)b + o + 8, kl,
					    b + o + 8 + kl, vl};
		int rc = fn(arg, &r);
		if (rc)
			return rc;
		o += 8 + kl + vl + 4;
	}
	return 0;
}

int ttlog__ckpt_load(const char *path, ttlog__ckpt_fn fn, void *arg, char *err,
		     size_t errlen)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = malloc(1 << 24);
	ssize_t n = read(fd, buf, 1 << 24);
	close(fd);
	int rc =
		n < 0 ? -1
		      : ttlog__ckpt_parse(buf, (size_t)n, fn, arg, err, errlen);
	free(buf);
	return rc;
}

int ttlog__ckpt_save(const char *path, const struct ttlog__ckpt_rec *recs,
		     size_t n, int sync, char *err, size_t errlen)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	unsigned char h[16];
	memcpy(h, "TTLOGCKP", 8);
	ttlog__put_be32(h + 8, 1);
	ttlog__put_be32(h + 12, (uint32_t)n);
	fwrite(h, 1, 16, f);
	for (size_t i = 0; i < n; i++) {
		unsigned char l[8], c[4];
		ttlog__put_be32(l, (uint32_t)recs[i].key_len);
		ttlog__put_be32(l + 4, (uint32_t)recs[i].val_len);
		fwrite(l, 1, 8, f);
		fwrite(recs[i].key, 1, recs[i].key_len, f);
		fwrite(recs[i].val, 1, recs[i].val_len, f);
		ttlog__put_be32(c, 0);
		fwrite(c, 1, 4, f);
	}
	fflush(f);
	if (sync)
		fsync(fileno(f));
	fclose(f);
	return rename(tmp, path);
}

int ttlog__ml_preset(const char *name, struct ttlog__ml_opts *o)
{
	(void)name;
	(void)o;
	return -1;
}
int ttlog__ml_rule_new(const struct ttlog__ml_opts *o,
		       struct ttlog__ml_rule **out, char *err, size_t errlen)
{
	(void)o;
	*out = NULL;
	snprintf(err, errlen, "multiline not available");
	return -1;
}
void ttlog__ml_rule_free(struct ttlog__ml_rule *r)
{
	(void)r;
}
struct ttlog__ml *ttlog__ml_new(const struct ttlog__ml_rule *r)
{
	(void)r;
	return NULL;
}
void ttlog__ml_free(struct ttlog__ml *m)
{
	(void)m;
}
int ttlog__ml_feed(struct ttlog__ml *m, const char *line, size_t len,
		   uint64_t now_ms, uint64_t end_off, ttlog__ml_emit_fn fn,
		   void *arg)
{
	(void)m;
	(void)line;
	(void)len;
	(void)now_ms;
	(void)end_off;
	(void)fn;
	(void)arg;
	return -1;
}
int ttlog__ml_flush(struct ttlog__ml *m, uint64_t now_ms, int force,
		    ttlog__ml_emit_fn fn, void *arg)
{
	(void)m;
	(void)now_ms;
	(void)force;
	(void)fn;
	(void)arg;
	return 0;
}
size_t ttlog__ml_pending(const struct ttlog__ml *m)
{
	(void)m;
	return 0;
}
