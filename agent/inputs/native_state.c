/*
 * native_state.c - a `ttlog` input's sender table on disk, so that
 * de-duplication by (sender id, seq) survives a restart of the collector
 * (docs/durability.md, "Collector de-duplication").
 *
 * The file is the in-memory table itself: a header, then one fixed-size
 * slot per table entry at the entry's index, so that loading it rebuilds
 * the same open-addressing table (same probes, same evictions). A slot
 * holds the sender id, `taken` (the highest seq whose events every
 * listener has taken: announced in our hello, frames up to it are never
 * written again) and `accepted` (the highest seq handed to the listeners,
 * written *before* its events are). After a crash, frames in
 * (taken, accepted] may or may not be in the output: when the sender
 * resends them they are written again and counted as possible duplicates.
 *
 * Each slot is written with one pwrite() and carries a checksum, so a
 * torn slot (power loss) reads as damaged: counted, said once, and that
 * sender starts again from nothing known (its frames may be duplicated,
 * never lost). The file is fdatasync()ed at most once a second while it
 * changes, and when the input stops.
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

#include <event2/event.h>

#include <ttlog/ttlog.h>

#include "byteorder.h"
#include "crc32c.h"
#include "errf.h"
#include "input_internal.h"

#define STATE_MAGIC "TTLOGSND"
#define STATE_VERSION 1u
#define STATE_HDR 64u
#define SLOT_BYTES 64u
#define SLOT_LIVE 0x534c4f54u /* "SLOT" */
#define SYNC_EVERY_MS 1000

static off_t slot_off(size_t k)
{
	return (off_t)(STATE_HDR + k * SLOT_BYTES);
}

/* Slot layout: u32 live, u32 CRC-32C of bytes 8..63, id[16], u64 taken,
 * u64 accepted, zero padding. */
static void slot_encode(const struct ttlog__native_sender *s,
			unsigned char out[SLOT_BYTES])
{
	memset(out, 0, SLOT_BYTES);
	ttlog__put_be32(out, SLOT_LIVE);
	memcpy(out + 8, s->id, 16);
	ttlog__put_be64(out + 24, s->last_seq);
	ttlog__put_be64(out + 32, s->accepted_seq);
	ttlog__put_be32(out + 4, ttlog__crc32c(0, out + 8, SLOT_BYTES - 8));
}

static void state_failed(struct ttlog__input *in, const char *what, int err)
{
	char why[600];

	in->st.state_errors++;
	if (in->state_failing)
		return;
	in->state_failing = 1;
	snprintf(why, sizeof(why),
		 "%s %s: %s; de-duplication across restarts is not kept "
		 "until it works again (frames may be delivered twice after "
		 "a restart)",
		 what, in->state_path, strerror(err));
	TTLOG_ERROR("input: sender state not saved",
		    TTLOG_KV("input", (const char *)in->name),
		    TTLOG_KV("reason", (const char *)why));
}

static void on_sync(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__input *in = arg;
	(void)fd;
	(void)what;

	in->state_sync_armed = 0;
	if (in->state_fd >= 0 && in->state_dirty) {
		in->state_dirty = 0;
		if (fdatasync(in->state_fd) != 0)
			state_failed(in, "fdatasync", errno);
	}
}

void ttlog__native_state_put(struct ttlog__input *in, size_t k)
{
	unsigned char slot[SLOT_BYTES];
	struct timeval tv = {SYNC_EVERY_MS / 1000,
			     (SYNC_EVERY_MS % 1000) * 1000};

	if (in->state_fd < 0)
		return;
	slot_encode(&in->senders[k], slot);
	if (pwrite(in->state_fd, slot, sizeof(slot), slot_off(k)) !=
	    (ssize_t)sizeof(slot)) {
		state_failed(in, "cannot write", errno ? errno : EIO);
		return;
	}
	if (in->state_failing) {
		in->state_failing = 0;
		TTLOG_INFO("input: sender state saved again",
			   TTLOG_KV("input", (const char *)in->name),
			   TTLOG_KV("file", (const char *)in->state_path));
	}
	in->state_dirty = 1;
	if (!in->state_sync_armed && in->state_sync != NULL &&
	    event_add(in->state_sync, &tv) == 0)
		in->state_sync_armed = 1;
}

/* Reads the slots back into in->senders. Returns 0, or -1 with err when
 * the file is not a sender table of this layout. */
static int state_load(struct ttlog__input *in, int fd, char *err, size_t errlen)
{
	unsigned char hdr[STATE_HDR], slot[SLOT_BYTES];
	uint64_t known = 0, damaged = 0, doubt = 0;
	ssize_t n = pread(fd, hdr, sizeof(hdr), 0);

	if (n == 0) {
		memset(hdr, 0, sizeof(hdr));
		memcpy(hdr, STATE_MAGIC, 8);
		ttlog__put_be32(hdr + 8, STATE_VERSION);
		ttlog__put_be32(hdr + 12, TTLOG__NATIVE_SENDERS);
		ttlog__put_be32(hdr + 16, SLOT_BYTES);
		if (pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr)) {
			ttlog__errf(err, errlen, "cannot write %s: %s",
				    in->state_path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (n != (ssize_t)sizeof(hdr) || memcmp(hdr, STATE_MAGIC, 8) != 0 ||
	    ttlog__get_be32(hdr + 8) != STATE_VERSION ||
	    ttlog__get_be32(hdr + 12) != TTLOG__NATIVE_SENDERS ||
	    ttlog__get_be32(hdr + 16) != SLOT_BYTES) {
		ttlog__errf(err, errlen,
			    "%s is not a sender state file of this version "
			    "(move it away to start without it)",
			    in->state_path);
		return -1;
	}
	for (size_t k = 0; k < TTLOG__NATIVE_SENDERS; k++) {
		struct ttlog__native_sender *s = &in->senders[k];
		n = pread(fd, slot, sizeof(slot), slot_off(k));
		if (n <= 0)
			break; /* the rest was never written */
		if (n != (ssize_t)sizeof(slot) ||
		    ttlog__get_be32(slot) != SLOT_LIVE) {
			/* Never used (zeros) or cut short. */
			if (n != (ssize_t)sizeof(slot) ||
			    ttlog__get_be32(slot) != 0)
				damaged++;
			continue;
		}
		if (ttlog__get_be32(slot + 4) !=
		    ttlog__crc32c(0, slot + 8, SLOT_BYTES - 8)) {
			damaged++;
			continue;
		}
		memcpy(s->id, slot + 8, 16);
		s->last_seq = ttlog__get_be64(slot + 24);
		s->accepted_seq = s->last_seq;
		s->doubt_to = ttlog__get_be64(slot + 32);
		if (s->doubt_to > s->last_seq)
			doubt++;
		else
			s->doubt_to = 0;
		s->live = 1;
		s->used = ++in->sender_tick;
		known++;
	}
	in->st.state_damaged += damaged;
	if (damaged > 0) {
		char why[600];
		snprintf(
			why, sizeof(why),
			"%s: %llu damaged sender records skipped; frames those "
			"senders resend are delivered again and not counted "
			"as duplicates",
			in->state_path, (unsigned long long)damaged);
		TTLOG_ERROR("input: sender state damaged",
			    TTLOG_KV("input", (const char *)in->name),
			    TTLOG_KV("reason", (const char *)why));
	}
	if (known > 0)
		TTLOG_INFO("input: sender state loaded",
			   TTLOG_KV("input", (const char *)in->name),
			   TTLOG_KV("file", (const char *)in->state_path),
			   TTLOG_KV("senders", known),
			   TTLOG_KV("in_doubt", doubt));
	return 0;
}

int ttlog__native_state_open(struct ttlog__input *in, const char *dir,
			     char *err, size_t errlen)
{
	int fd;

	in->state_fd = -1;
	if (dir == NULL)
		return 0;
	ttlog__crc32c_init();
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		ttlog__errf(err, errlen, "cannot create state_dir %s: %s", dir,
			    strerror(errno));
		return -1;
	}
	if (asprintf(&in->state_path, "%s/input-%s.senders", dir, in->name) <
	    0) {
		in->state_path = NULL;
		ttlog__errf(err, errlen, "out of memory");
		return -1;
	}
	fd = open(in->state_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		ttlog__errf(err, errlen, "cannot open %s: %s", in->state_path,
			    strerror(errno));
		return -1;
	}
	if (state_load(in, fd, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	in->state_sync = event_new(in->base, -1, 0, on_sync, in);
	if (in->state_sync == NULL) {
		close(fd);
		ttlog__errf(err, errlen, "out of memory");
		return -1;
	}
	in->state_fd = fd;
	return 0;
}

void ttlog__native_state_close(struct ttlog__input *in)
{
	if (in->state_sync != NULL)
		event_free(in->state_sync);
	in->state_sync = NULL;
	if (in->state_fd >= 0) {
		if (in->state_dirty && fdatasync(in->state_fd) != 0)
			state_failed(in, "fdatasync", errno);
		close(in->state_fd);
	}
	in->state_fd = -1;
	free(in->state_path);
	in->state_path = NULL;
}
