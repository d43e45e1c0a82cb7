/*
 * ckpt.h - a small state file of named records that is replaced whole:
 * where a tail input stands in each file it reads, where a journal input
 * stands in the journal (its cursor). Each save writes a new file next to
 * the old one, syncs it, renames it over the old one and syncs the
 * directory, so a reader (after a SIGKILL or a power cut) finds either
 * the previous state or the new one, never a mixture.
 *
 * Format (docs/inputs.md, "State files"): an 16-byte header (the magic
 * "TTLOGCKP", u32 version 1, u32 record count), then per record u32 key
 * length, u32 value length, the key, the value, and a CRC-32C of those
 * four, all integers big-endian. A file that does not parse is reported
 * with its path and the byte offset at fault, never half used.
 */
#ifndef TTLOG_CKPT_H
#define TTLOG_CKPT_H

#include <stddef.h>

/* Records are limited so that a damaged length cannot ask for gigabytes. */
#define TTLOG__CKPT_MAX_KEY 4096u
#define TTLOG__CKPT_MAX_VALUE 65536u
#define TTLOG__CKPT_MAX_RECORDS 1000000u

struct ttlog__ckpt_rec {
	const char *key; /* not NUL-terminated */
	size_t key_len;
	const void *val;
	size_t val_len;
};

/* Called once per record, in file order; the record is borrowed for the
 * call. A non-zero return stops the walk and is returned by the caller. */
typedef int (*ttlog__ckpt_fn)(void *arg, const struct ttlog__ckpt_rec *r);

/*
 * Parses a state file's bytes (the fuzz target's entry point too).
 * @return 0 after fn saw every record; fn's non-zero return; or -1 with
 *         err "offset N: reason" when the bytes are not a state file
 *         (fn may have seen the records before the damage: callers that
 *         must not half use a file collect and commit after 0).
 */
int ttlog__ckpt_parse(const void *buf, size_t len, ttlog__ckpt_fn fn, void *arg,
		      char *err, size_t errlen);

/*
 * Reads the state file at path.
 * @return 1 when there is no such file (nothing saved yet), 0 after fn
 *         saw every record, fn's non-zero return, or -1 with err naming
 *         the path and the reason (unreadable, damaged at offset N).
 */
int ttlog__ckpt_load(const char *path, ttlog__ckpt_fn fn, void *arg, char *err,
		     size_t errlen);

/*
 * Replaces the state file at path with n records: writes PATH.tmp,
 * fsync()s it when sync is non-zero, renames it over path, and then
 * fsync()s the directory when sync is non-zero. Without sync the new
 * state survives a SIGKILL of the agent (the page cache has it) but not
 * a power cut.
 * @return 0, or -1 with err naming the path and the failing call: the
 *         old file is then left as it was, except when only the final
 *         fsync() of the directory failed (the new file is in place but
 *         may not survive a power cut; err says so).
 */
int ttlog__ckpt_save(const char *path, const struct ttlog__ckpt_rec *recs,
		     size_t n, int sync, char *err, size_t errlen);

#endif /* TTLOG_CKPT_H */
