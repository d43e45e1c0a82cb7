/*
 * test_spool.c - the forwarder's disk spool (plugins/shared/spool*.c):
 * records round-trip across many segments, a reopened spool keeps its id,
 * seq and acknowledgement, acknowledgements delete segments, rewind, a
 * reader following a writer, both overflow policies with exact dropped
 * counts, damaged files of every kind (each bad record skipped and
 * counted once, every other one read), a writer killed with SIGKILL, the
 * lock (also from a forked child), the fsync policies, write errors,
 * refused directories, the modes of created files, and the in-memory
 * scanner.
 *
 * Files are damaged by hand at offsets computed from the record format
 * (12-byte header, 16-byte body header, payload). A CRC-32C written here
 * bit by bit checks the spool's table-driven one from the outside. The
 * tests run as root, so a directory that cannot be written is tried from
 * a forked child that has dropped to nobody; write errors come from
 * RLIMIT_FSIZE (a write past it stops short, then fails with EFBIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "spool.h"

#define REC_OVERHEAD 28 /* 12-byte header + 16-byte body header */
#define NOBODY 65534

static char base[64];
static char sdir[128];

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/ttlog-spool-XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(sdir, sizeof(sdir), "%s/s", base);
	umask(022);
	signal(SIGXFSZ, SIG_IGN);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	chmod(base, 0700);
	assert_int_equal(nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	return 0;
}

/* The reference CRC-32C, one bit at a time. */
static uint32_t ref_crc(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	while (n-- > 0) {
		c ^= *p++;
		for (int b = 0; b < 8; b++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The payload of record seq: bytes that step by 7, so that "TSR1" (steps
 * of -1, -1, -33) never occurs in one and a resync cannot stop inside. */
static void fill_payload(unsigned char *p, size_t len, uint64_t seq)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seq * 31 + i * 7);
}

static uint32_t count_of(uint64_t seq)
{
	return (uint32_t)seq;
}

static uint32_t flags_of(uint64_t seq)
{
	return (uint32_t)(seq & 3);
}

/* A record image as the spool writes it (for forging records). */
static size_t make_record(unsigned char *out, uint64_t seq, size_t len)
{
	memcpy(out, "TSR1", 4);
	put32(out + 4, (uint32_t)(16 + len));
	put64(out + 12, seq);
	put32(out + 20, flags_of(seq));
	put32(out + 24, count_of(seq));
	fill_payload(out + 28, len, seq);
	put32(out + 8, ref_crc(out + 12, 16 + len));
	return REC_OVERHEAD + len;
}

static struct ttlog__spool_opts opts(uint64_t seg, uint64_t max, int fsync,
				     int overflow)
{
	struct ttlog__spool_opts o = {sdir,	max,  seg, fsync,
				      overflow, NULL, NULL};
	return o;
}

static struct ttlog__spool *open_ok(const struct ttlog__spool_opts *o)
{
	struct ttlog__spool *s = NULL;
	char err[512] = "";

	if (ttlog__spool_open(o, &s, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	assert_non_null(s);
	return s;
}

static struct ttlog__spool *open_plain(void)
{
	struct ttlog__spool_opts o =
		opts(1024, 1u << 20, TTLOG_SPOOL_FSYNC_NEVER,
		     TTLOG_SPOOL_DROP_OLDEST);
	return open_ok(&o);
}

static void append_ok(struct ttlog__spool *s, uint64_t seq, size_t len)
{
	unsigned char *p = malloc(len ? len : 1);
	char err[512] = "";

	assert_non_null(p);
	fill_payload(p, len, seq);
	if (ttlog__spool_append(s, seq, flags_of(seq), count_of(seq), p, len,
				err, sizeof(err)) != 0)
		fail_msg("append %llu: %s", (unsigned long long)seq, err);
	free(p);
}

static void append_range(struct ttlog__spool *s, uint64_t from, uint64_t to,
			 size_t len)
{
	for (uint64_t q = from; q <= to; q++)
		append_ok(s, q, len);
}

/* Checks one record against what append_ok() wrote for its seq. */
static void check_rec(const struct ttlog__spool_rec *r, size_t len)
{
	unsigned char *want = malloc(len ? len : 1);

	assert_non_null(want);
	fill_payload(want, len, r->seq);
	assert_int_equal(r->len, len);
	assert_int_equal(r->flags, flags_of(r->seq));
	assert_int_equal(r->count, count_of(r->seq));
	if (len > 0 && memcmp(r->payload, want, len) != 0)
		fail_msg("record %llu: payload differs",
			 (unsigned long long)r->seq);
	free(want);
}

static int next_ok(struct ttlog__spool *s, struct ttlog__spool_rec *r)
{
	char err[512] = "";
	int rc = ttlog__spool_next(s, r, err, sizeof(err));

	if (rc < 0)
		fail_msg("next: %s", err);
	return rc;
}

/* Reads from the reader's position to the end: every seq of [from, to]
 * except those in skip[] (ends with 0), each with a payload of len. */
static void expect_records(struct ttlog__spool *s, uint64_t from, uint64_t to,
			   const uint64_t *skip, size_t len)
{
	struct ttlog__spool_rec r;

	for (uint64_t q = from; q <= to; q++) {
		bool skipped = false;
		for (const uint64_t *k = skip; k && *k; k++)
			skipped |= *k == q;
		if (skipped)
			continue;
		if (next_ok(s, &r) != 1)
			fail_msg("record %llu missing", (unsigned long long)q);
		if (r.seq != q)
			fail_msg("record %llu where %llu was due",
				 (unsigned long long)r.seq,
				 (unsigned long long)q);
		check_rec(&r, len);
	}
	assert_int_equal(next_ok(s, &r), 0);
	assert_int_equal(next_ok(s, &r), 0);
}

static struct ttlog__spool_stats stats(struct ttlog__spool *s)
{
	struct ttlog__spool_stats st;
	ttlog__spool_get_stats(s, &st);
	return st;
}

static void seg_path(char *out, size_t n, uint64_t first)
{
	snprintf(out, n, "%s/%020llu.seg", sdir, (unsigned long long)first);
}

static void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (len > 0)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static off_t size_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/*
 * The spool most corruption tests start from: records 1..40 with 100-byte
 * payloads (128 bytes each) in segments of 1024 bytes, i.e. eight records
 * each, in files 1, 9, 17, 25 and 33.
 */
#define C_LEN 100
#define C_REC (REC_OVERHEAD + C_LEN)

static void make_forty(void)
{
	struct ttlog__spool *s = open_plain();
	append_range(s, 1, 40, C_LEN);
	assert_int_equal(stats(s).segments, 5);
	ttlog__spool_close(s);
}

/* Byte offset of record seq in its segment. */
static size_t off_of(uint64_t seq)
{
	return (size_t)((seq - 1) % 8) * C_REC;
}

static uint64_t seg_of(uint64_t seq)
{
	return (seq - 1) / 8 * 8 + 1;
}

/* Changes bytes [at, at + n) of record seq's segment to v[]. */
static void poke(uint64_t seq, size_t at, const void *v, size_t n)
{
	char path[256];
	size_t len;
	unsigned char *b;

	seg_path(path, sizeof(path), seg_of(seq));
	b = read_whole_file(path, &len);
	assert_true(off_of(seq) + at + n <= len);
	memcpy(b + off_of(seq) + at, v, n);
	spit(path, b, len);
	free(b);
}

/* Inserts n bytes of v[] before record seq in its segment. */
static void insert_before(uint64_t seq, const void *v, size_t n)
{
	char path[256];
	size_t len, at = off_of(seq);
	unsigned char *b, *o;

	seg_path(path, sizeof(path), seg_of(seq));
	b = read_whole_file(path, &len);
	o = malloc(len + n);
	assert_non_null(o);
	memcpy(o, b, at);
	memcpy(o + at, v, n);
	memcpy(o + at + n, b + at, len - at);
	spit(path, o, len + n);
	free(o);
	free(b);
}

/* Opens the damaged spool, reads everything twice (the second time must
 * not count again) and checks the counters. */
static void expect_damage(const uint64_t *missing, uint64_t last, uint64_t crec,
			  uint64_t cbytes)
{
	struct ttlog__spool *s = open_plain();
	struct ttlog__spool_stats st;

	ttlog__spool_rewind(s, 0);
	expect_records(s, 1, last, missing, C_LEN);
	st = stats(s);
	assert_int_equal(st.corrupt_records, crec);
	assert_int_equal(st.corrupt_bytes, cbytes);
	ttlog__spool_rewind(s, 0);
	expect_records(s, 1, last, missing, C_LEN);
	st = stats(s);
	assert_int_equal(st.corrupt_records, crec);
	assert_int_equal(st.corrupt_bytes, cbytes);
	ttlog__spool_close(s);
}

/* ------------------------------------------------------------------ */
/* Round trips                                                          */
/* ------------------------------------------------------------------ */

static size_t varied_len(uint64_t seq)
{
	return (size_t)((seq * 37) % 700);
}

static void test_spool_round_trip_across_many_segments(void **state)
{
	(void)state;
	struct ttlog__spool_opts o =
		opts(4096, 1u << 20, TTLOG_SPOOL_FSYNC_NEVER,
		     TTLOG_SPOOL_DROP_OLDEST);
	struct ttlog__spool *s = open_ok(&o);
	struct ttlog__spool_rec r;
	struct ttlog__spool_stats st;
	uint64_t n = 600, bytes = 0;

	assert_int_equal(ttlog__spool_last_seq(s), 0);
	assert_int_equal(ttlog__spool_acked(s), 0);
	assert_int_equal(next_ok(s, &r), 0);
	for (uint64_t q = 1; q <= n; q++) {
		append_ok(s, q, varied_len(q));
		bytes += REC_OVERHEAD + varied_len(q);
	}
	st = stats(s);
	assert_int_equal(st.appended, n);
	assert_int_equal(st.records, n);
	assert_int_equal(st.bytes, bytes);
	assert_true(st.segments > 40);
	assert_int_equal(st.corrupt_records + st.write_errors, 0);
	assert_int_equal(ttlog__spool_last_seq(s), n);
	ttlog__spool_rewind(s, 0);
	for (uint64_t q = 1; q <= n; q++) {
		assert_int_equal(next_ok(s, &r), 1);
		assert_int_equal(r.seq, q);
		check_rec(&r, varied_len(q));
	}
	assert_int_equal(next_ok(s, &r), 0);
	ttlog__spool_close(s);
}

static void test_spool_records_over_the_read_chunk_round_trip(void **state)
{
	(void)state;
	struct ttlog__spool_opts o =
		opts(1u << 20, 64u << 20, TTLOG_SPOOL_FSYNC_NEVER,
		     TTLOG_SPOOL_DROP_OLDEST);
	struct ttlog__spool *s = open_ok(&o);
	static const size_t lens[] = {3u << 20, 10, 700u << 10, 0, 1u << 20};

	for (size_t i = 0; i < 5; i++)
		append_ok(s, i + 1, lens[i]);
	ttlog__spool_close(s);
	s = open_ok(&o);
	for (size_t i = 0; i < 5; i++) {
		struct ttlog__spool_rec r;
		assert_int_equal(next_ok(s, &r), 1);
		assert_int_equal(r.seq, i + 1);
		check_rec(&r, lens[i]);
	}
	assert_int_equal(stats(s).corrupt_records, 0);
	ttlog__spool_close(s);
}

static void test_spool_reopen_keeps_id_seq_and_records(void **state)
{
	(void)state;
	struct ttlog__spool *s = open_plain();
	uint8_t id[16], zero[16] = {0};
	char path[256];

	memcpy(id, ttlog__spool_id(s), 16);
	assert_memory_not_equal(id, zero, 16);
	append_range(s, 1, 50, C_LEN);
	ttlog__spool_close(s);
	snprintf(path, sizeof(path), "%s/id", sdir);
	assert_int_equal(size_of(path), 16);

	s = open_plain();
	assert_memory_equal(ttlog__spool_id(s), id, 16);
	assert_int_equal(ttlog__spool_last_seq(s), 50);
	assert_int_equal(ttlog__spool_acked(s), 0);
	assert_int_equal(stats(s).records, 50);
	assert_int_equal(stats(s).appended, 0);
	expect_records(s, 1, 50, NULL, C_LEN);
	append_range(s, 51, 60, C_LEN);
	ttlog__spool_close(s);

	s = open_plain();
	assert_memory_equal(ttlog__spool_id(s), id, 16);
	assert_int_equal(ttlog__spool_last_seq(s), 60);
	expect_records(s, 1, 60, NULL, C_LEN);
	assert_int_equal(stats(s).corrupt_records, 0);
	ttlog__spool_close(s);

	/* Another directory, another id. */
	snprintf(sdir, sizeof(sdir), "%s/t", base);
	s = open_plain();
	assert_memory_not_equal(ttlog__spool_id(s), id, 16);
	ttlog__spool_close(s);
}

static void test_spool_ack_deletes_segments_and_survives_reopen(void **state)
{
	(void)state;
	struct ttlog__spool *s = open_plain();
	unsigned char *b;
	char path[256];
	size_t len;

	append_range(s, 1, 80, C_LEN);
	assert_int_equal(stats(s).segments, 10);
	/* 1-8 and 9-16 go, 17-24 holds 21 and stays. */
	assert_int_equal(ttlog__spool_ack(s, 20), 0);
	assert_int_equal(ttlog__spool_acked(s), 20);
	assert_int_equal(stats(s).segments, 8);
	assert_int_equal(stats(s).records, 60);
	assert_int_equal(stats(s).bytes, 64 * C_REC);
	seg_path(path, sizeof(path), 1);
	assert_int_equal(access(path, F_OK), -1);
	seg_path(path, sizeof(path), 17);
	assert_int_equal(access(path, F_OK), 0);
	/* Going back is ignored. */
	assert_int_equal(ttlog__spool_ack(s, 5), 0);
	assert_int_equal(ttlog__spool_acked(s), 20);
	ttlog__spool_rewind(s, 20);
	expect_records(s, 21, 80, NULL, C_LEN);
	ttlog__spool_close(s);

	/* `acked` is the seq and its CRC-32C, little-endian. */
	snprintf(path, sizeof(path), "%s/acked", sdir);
	b = read_whole_file(path, &len);
	assert_int_equal(len, 12);
	assert_int_equal(get64(b), 20);
	assert_int_equal(b[8] | b[9] << 8 | b[10] << 16 | (uint32_t)b[11] << 24,
			 ref_crc(b, 8));
	free(b);

	s = open_plain();
	assert_int_equal(ttlog__spool_acked(s), 20);
	assert_int_equal(ttlog__spool_last_seq(s), 80);
	assert_int_equal(stats(s).segments, 8);
	/* A new spool's reader starts after the acknowledged ones. */
	expect_records(s, 21, 80, NULL, C_LEN);
	/* Everything, the segment being written included. */
	assert_int_equal(ttlog__spool_ack(s, 80), 0);
	assert_int_equal(stats(s).segments, 0);
	assert_int_equal(stats(s).bytes, 0);
	assert_int_equal(stats(s).records, 0);
	append_ok(s, 81, C_LEN);
	assert_int_equal(stats(s).segments, 1);
	seg_path(path, sizeof(path), 81);
	assert_int_equal(access(path, F_OK), 0);
	/* Above the last seq: only up to it. */
	assert_int_equal(ttlog__spool_ack(s, 1000), 0);
	assert_int_equal(ttlog__spool_acked(s), 81);
	ttlog__spool_close(s);

	/* Nothing left on disk, yet the seq goes on from the acked one. */
	s = open_plain();
	assert_int_equal(stats(s).segments, 0);
	assert_int_equal(ttlog__spool_last_seq(s), 81);
	{
		char err[256];
		assert_int_equal(ttlog__spool_append(s, 81, 0, 1, "x", 1, err,
						     sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "not above"));
	}
	append_ok(s, 82, C_LEN);
	expect_records(s, 82, 82, NULL, C_LEN);
	ttlog__spool_close(s);
}

static void test_spool_rewind_positions_after_a_seq(void **state)
{
	(void)state;
	struct ttlog__spool *s = open_plain();
	struct ttlog__spool_rec r;

	append_range(s, 1, 100, C_LEN);
	ttlog__spool_rewind(s, 37);
	expect_records(s, 38, 100, NULL, C_LEN);
	ttlog__spool_rewind(s, 0);
	expect_records(s, 1, 100, NULL, C_LEN);
	ttlog__spool_rewind(s, 100);
	assert_int_equal(next_ok(s, &r), 0);
	ttlog__spool_rewind(s, UINT64_MAX);
	assert_int_equal(next_ok(s, &r), 0);
	/* Segment boundaries: 8 is the last of a file, 9 the first. */
	ttlog__spool_rewind(s, 8);
	assert_int_equal(next_ok(s, &r), 1);
	assert_int_equal(r.seq, 9);
	ttlog__spool_rewind(s, 7);
	assert_int_equal(next_ok(s, &r), 1);
	assert_int_equal(r.seq, 8);
	/* Backwards after reading on, and forwards within a segment. */
	for (int i = 0; i < 50; i++)
		assert_int_equal(next_ok(s, &r), 1);
	assert_int_equal(r.seq, 58);
	ttlog__spool_rewind(s, 10);
	assert_int_equal(next_ok(s, &r), 1);
	assert_int_equal(r.seq, 11);
	ttlog__spool_rewind(s, 14);
	assert_int_equal(next_ok(s, &r), 1);
	assert_int_equal(r.seq, 15);
	ttlog__spool_rewind(s, 90);
	expect_records(s, 91, 100, NULL, C_LEN);
	/* After an ack: rewinding before it finds only what is left. */
	assert_int_equal(ttlog__spool_ack(s, 50), 0);
	ttlog__spool_rewind(s, 0);
	expect_records(s, 49, 100, NULL, C_LEN);
	ttlog__spool_close(s);
}

static void test_spool_reader_follows_a_writer(void **state)
{
	(void)state;
	struct ttlog__spool_opts o =
		opts(2048, 1u << 20, TTLOG_SPOOL_FSYNC_NEVER,
		     TTLOG_SPOOL_DROP_OLDEST);
	struct ttlog__spool *s = open_ok(&o);
	struct ttlog__spool_rec r;
	uint64_t written = 0, read = 0;

	/* Appends of 1 to 7 records, each followed by reading to the end;
	 * the reader waits at the end of the newest file and sees the
	 * appends, also across new files. */
	for (int round = 0; round < 120; round++) {
		int k = round % 7 + 1;
		for (int i = 0; i < k; i++) {
			written++;
			append_ok(s, written, varied_len(written));
		}
		while (next_ok(s, &r) == 1) {
			read++;
			assert_int_equal(r.seq, read);
			check_rec(&r, varied_len(read));
		}
		assert_int_equal(read, written);
		/* Sometimes everything is acknowledged, the file being read
		 * and written included: the next one is new. */
		if (round % 25 == 24) {
			assert_int_equal(ttlog__spool_ack(s, written), 0);
			assert_int_equal(stats(s).segments, 0);
		} else if (round % 10 == 9) {
			assert_int_equal(ttlog__spool_ack(s, written - 3), 0);
		}
	}
	assert_true(written > 400);
	assert_int_equal(stats(s).corrupt_records, 0);
	ttlog__spool_close(s);
}

/* ------------------------------------------------------------------ */
/* The size cap                                                         */
/* ------------------------------------------------------------------ */

static uint64_t sum(uint64_t from, uint64_t to)
{
	uint64_t t = 0;
	for (uint64_t q = from; q <= to; q++)
		t += count_of(q);
	return t;
}

static void test_spool_drop_oldest_counts_exactly(void **state)
{
	(void)state;
	/* Four files of eight records fill the cap exactly. */
	struct ttlog__spool_opts o =
		opts(8 * C_REC, 32 * C_REC, TTLOG_SPOOL_FSYNC_NEVER,
		     TTLOG_SPOOL_DROP_OLDEST);
	struct ttlog__spool *s = open_ok(&o);
	struct ttlog__spool_stats st;
	struct ttlog__spool_rec r;

	append_range(s, 1, 32, C_LEN);
	st = stats(s);
	assert_int_equal(st.bytes, 32 * C_REC);
	assert_int_equal(st.dropped_records, 0);
	/* 1-3 acknowledged; the reader is inside the first file. */
	assert_int_equal(ttlog__spool_ack(s, 3), 0);
	ttlog__spool_rewind(s, 3);
	assert_int_equal(next_ok(s, &r), 1);
	assert_int_equal(r.seq, 4);

	/* 33 needs a new file and room: 1-8 go, 4-8 unacknowledged. */
	append_ok(s, 33, C_LEN);
	st = stats(s);
	assert_int_equal(st.dropped_records, 5);
	assert_int_equal(st.dropped_events, sum(4, 8));
	assert_int_equal(st.segments, 4);
	assert_int_equal(st.bytes, 25 * C_REC);
	/* The reader's file is gone: it goes on with the next one. */
	assert_int_equal(next_ok(s, &r), 1);
	assert_int_equal(r.seq, 9);
	append_range(s, 34, 40, C_LEN);
	assert_int_equal(stats(s).dropped_records, 5);
	assert_int_equal(stats(s).bytes, 32 * C_REC);
	/* 41: 9-16 go, all unacknowledged. */
	append_ok(s, 41, C_LEN);
	st = stats(s);
	assert_int_equal(st.dropped_records, 13);
	assert_int_equal(st.dropped_events, sum(4, 16));
	assert_true(st.bytes <= o.max_bytes);
	assert_int_equal(st.records, 25);
	expect_records(s, 17, 41, NULL, C_LEN);
	ttlog__spool_close(s);

	/* What is on disk agrees after a reopen. */
	s = open_ok(&o);
	assert_int_equal(stats(s).bytes, 25 * C_REC);
	expect_records(s, 17, 41, NULL, C_LEN);
	ttlog__spool_close(s);
}

static void
test_spool_drop_oldest_when_only_the_current_file_is_left(void **state)
{
	(void)state;
	/* Records of 628 bytes: one fits under segment_bytes, two do not
	 * fit under the cap. */
	struct ttlog__spool_opts o = opts(1024, 1100, TTLOG_SPOOL_FSYNC_NEVER,
					  TTLOG_SPOOL_DROP_OLDEST);
	struct ttlog__spool *s = open_ok(&o);
	struct ttlog__spool_stats st;
	char path[256];

	append_ok(s, 1, 600);
	append_ok(s, 2, 600);
	st = stats(s);
	assert_int_equal(st.dropped_records, 1);
	assert_int_equal(st.dropped_events, 1);
	assert_int_equal(st.segments, 1);
	assert_int_equal(st.bytes, 628);
	seg_path(path, sizeof(path), 1);
	assert_int_equal(access(path, F_OK), -1);
	seg_path(path, sizeof(path), 2);
	assert_int_equal(size_of(path), 628);
	append_ok(s, 3, 600);
	assert_int_equal(stats(s).dropped_records, 2);
	expect_records(s, 3, 3, NULL, 600);
	/* A record that can never fit is an error, not a drop. */
	{
		char err[256];
		static unsigned char big[2000];
		assert_int_equal(ttlog__spool_append(s, 4, 0, 1, big,
						     sizeof(big), err,
						     sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "max_bytes"));
	}
	ttlog__spool_close(s);
}

static void test_spool_drop_newest_returns_full(void **state)
{
	(void)state;
	struct ttlog__spool_opts o =
		opts(8 * C_REC, 32 * C_REC, TTLOG_SPOOL_FSYNC_NEVER,
		     TTLOG_SPOOL_DROP_NEWEST);
	struct ttlog__spool *s = open_ok(&o);
	unsigned char p[C_LEN];
	char err[256] = "";
	struct ttlog__spool_stats st;

	append_range(s, 1, 32, C_LEN);
	fill_payload(p, C_LEN, 33);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ttlog__spool_append(s, 33, 1, 33, p, C_LEN,
						     err, sizeof(err)),
				 TTLOG_SPOOL_FULL);
	st = stats(s);
	assert_int_equal(ttlog__spool_last_seq(s), 32);
	assert_int_equal(st.bytes, 32 * C_REC);
	assert_int_equal(st.segments, 4);
	assert_int_equal(st.dropped_records + st.write_errors, 0);
	assert_int_equal(st.appended, 32);
	/* Acknowledging part of the first file frees nothing yet. */
	assert_int_equal(ttlog__spool_ack(s, 7), 0);
	assert_int_equal(
		ttlog__spool_append(s, 33, 1, 33, p, C_LEN, err, sizeof(err)),
		TTLOG_SPOOL_FULL);
	assert_int_equal(ttlog__spool_ack(s, 8), 0);
	append_range(s, 33, 40, C_LEN);
	assert_int_equal(stats(s).dropped_records, 0);
	ttlog__spool_rewind(s, 8);
	expect_records(s, 9, 40, NULL, C_LEN);
	ttlog__spool_close(s);
}

/* ------------------------------------------------------------------ */
/* Damaged files                                                        */
/* ------------------------------------------------------------------ */

static void test_spool_flipped_payload_byte_skips_one_record(void **state)
{
	(void)state;
	static const uint64_t missing[] = {12, 0};
	unsigned char v;
	char path[256];
	size_t len;
	unsigned char *b;

	make_forty();
	seg_path(path, sizeof(path), 9);
	b = read_whole_file(path, &len);
	v = b[off_of(12) + REC_OVERHEAD + 40] ^ 0x10;
	free(b);
	poke(12, REC_OVERHEAD + 40, &v, 1);
	/* The length still leads to the next header: exactly one record. */
	expect_damage(missing, 40, 1, C_REC);
}

static void test_spool_zeroed_length_skips_one_record(void **state)
{
	(void)state;
	static const uint64_t missing[] = {20, 0};
	static const unsigned char zero[4] = {0};

	make_forty();
	poke(20, 4, zero, 4);
	expect_damage(missing, 40, 1, C_REC);
}

static void test_spool_impossible_lengths_skip_one_record(void **state)
{
	(void)state;
	static const uint64_t missing[] = {3, 30, 0};
	unsigned char huge[4], past[4];

	/* Over 256 MiB, and plausible but past the end of the file. */
	put32(huge, 0xFFFFFFF0u);
	put32(past, 100000);
	make_forty();
	poke(3, 4, huge, 4);
	poke(30, 4, past, 4);
	expect_damage(missing, 40, 2, 2 * C_REC);
}

static void test_spool_torn_tail_is_cut_and_appends_go_on(void **state)
{
	(void)state;
	static const uint64_t missing[] = {40, 0};
	struct ttlog__spool *s;
	char path[256];

	make_forty();
	seg_path(path, sizeof(path), 33);
	assert_int_equal(truncate(path, 8 * C_REC - 50), 0);
	s = open_plain();
	assert_int_equal(ttlog__spool_last_seq(s), 39);
	assert_int_equal(stats(s).corrupt_records, 1);
	assert_int_equal(stats(s).corrupt_bytes, C_REC - 50);
	assert_int_equal(size_of(path), 7 * C_REC);
	expect_records(s, 1, 40, missing, C_LEN);
	append_ok(s, 40, C_LEN);
	append_ok(s, 41, C_LEN);
	ttlog__spool_close(s);
	/* Nothing corrupt any more. */
	s = open_plain();
	expect_records(s, 1, 41, NULL, C_LEN);
	/* The loss of 40 stays counted (the `stats` file), once. */
	assert_int_equal(stats(s).corrupt_records, 1);
	assert_int_equal(stats(s).corrupt_bytes, C_REC - 50);
	ttlog__spool_close(s);
}

static void test_spool_torn_header_at_the_tail_is_cut(void **state)
{
	(void)state;
	struct ttlog__spool *s;
	char path[256];

	/* Only 5 bytes of a header after the last record. */
	make_forty();
	seg_path(path, sizeof(path), 33);
	insert_before(40, "TSR1\x80", 5);
	assert_int_equal(truncate(path, 7 * C_REC + 5), 0);
	s = open_plain();
	assert_int_equal(ttlog__spool_last_seq(s), 39);
	assert_int_equal(stats(s).corrupt_bytes, 5);
	assert_int_equal(size_of(path), 7 * C_REC);
	ttlog__spool_close(s);
}

static void test_spool_garbage_between_records_is_skipped(void **state)
{
	(void)state;
	unsigned char junk[77];

	memset(junk, 0xAA, sizeof(junk));
	make_forty();
	insert_before(6, junk, sizeof(junk));
	/* And a partial magic, which must not hide the real one after. */
	insert_before(14, "TSR", 3);
	expect_damage(NULL, 40, 2, sizeof(junk) + 3);
}

static void test_spool_damage_in_the_newest_file_keeps_the_rest(void **state)
{
	(void)state;
	static const uint64_t missing[] = {35, 0};
	unsigned char v = 0xFF;
	struct ttlog__spool *s;
	char path[256];

	make_forty();
	poke(35, 8, &v, 1); /* the CRC field */
	seg_path(path, sizeof(path), 33);
	expect_damage(missing, 40, 1, C_REC);
	/* Not cut: good records follow the bad one. */
	assert_int_equal(size_of(path), 8 * C_REC);
	s = open_plain();
	append_ok(s, 41, C_LEN);
	ttlog__spool_close(s);
	s = open_plain();
	expect_records(s, 1, 41, missing, C_LEN);
	ttlog__spool_close(s);
}

static void test_spool_out_of_order_record_is_skipped(void **state)
{
	(void)state;
	unsigned char rec[C_REC];

	/* An intact record whose seq is not above the one before it, and
	 * one below the file's name. */
	make_forty();
	make_record(rec, 4, C_LEN);
	insert_before(6, rec, sizeof(rec));
	make_record(rec, 2, C_LEN);
	insert_before(9, rec, sizeof(rec));
	expect_damage(NULL, 40, 2, 2 * C_REC);
}

static void test_spool_random_segment_is_skipped(void **state)
{
	(void)state;
	static const uint64_t missing[] = {17, 18, 19, 20, 21, 22, 23, 24, 0};
	unsigned char junk[8 * C_REC];
	struct ttlog__spool *s;
	char path[256];

	srand(7);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)rand();
	make_forty();
	seg_path(path, sizeof(path), 17);
	spit(path, junk, sizeof(junk));
	s = open_plain();
	assert_int_equal(stats(s).corrupt_bytes, sizeof(junk));
	assert_true(stats(s).corrupt_records >= 1);
	/* Nothing readable in it: deleted. */
	assert_int_equal(stats(s).segments, 4);
	assert_int_equal(access(path, F_OK), -1);
	expect_records(s, 1, 40, missing, C_LEN);
	ttlog__spool_close(s);
}

static void test_spool_empty_segment_files_are_ignored(void **state)
{
	(void)state;
	struct ttlog__spool *s;
	char path[256];

	make_forty();
	seg_path(path, sizeof(path), 12);
	spit(path, "", 0);
	seg_path(path, sizeof(path), 100);
	spit(path, "", 0);
	/* And files that are not segments. */
	snprintf(path, sizeof(path), "%s/123.seg", sdir);
	spit(path, "x", 1);
	snprintf(path, sizeof(path), "%s/0000000000000000000x.seg", sdir);
	spit(path, "x", 1);
	s = open_plain();
	assert_int_equal(stats(s).segments, 5);
	assert_int_equal(ttlog__spool_last_seq(s), 40);
	expect_records(s, 1, 40, NULL, C_LEN);
	assert_int_equal(stats(s).corrupt_records, 0);
	append_ok(s, 41, C_LEN);
	ttlog__spool_close(s);
	s = open_plain();
	expect_records(s, 1, 41, NULL, C_LEN);
	ttlog__spool_close(s);
	assert_int_equal(access(path, F_OK), 0);
}

static void test_spool_bad_acked_file_means_zero(void **state)
{
	(void)state;
	struct ttlog__spool *s;
	char path[256];
	unsigned char b[12];

	make_forty();
	s = open_plain();
	assert_int_equal(ttlog__spool_ack(s, 10), 0);
	ttlog__spool_close(s);
	/* Zero length: 9-16 are still there (9 and 10 sent again). */
	snprintf(path, sizeof(path), "%s/acked", sdir);
	assert_int_equal(truncate(path, 0), 0);
	s = open_plain();
	assert_int_equal(ttlog__spool_acked(s), 0);
	/* No frame is lost by it: nothing counted as a lost record. */
	assert_int_equal(stats(s).corrupt_records, 0);
	expect_records(s, 9, 40, NULL, C_LEN);
	assert_int_equal(ttlog__spool_ack(s, 12), 0);
	ttlog__spool_close(s);
	/* A bad CRC. */
	put64(b, 30);
	put32(b + 8, ref_crc(b, 8) ^ 1);
	spit(path, b, sizeof(b));
	s = open_plain();
	assert_int_equal(ttlog__spool_acked(s), 0);
	assert_int_equal(stats(s).corrupt_records, 0);
	assert_int_equal(stats(s).corrupt_bytes, 0);
	expect_records(s, 9, 40, NULL, C_LEN);
	ttlog__spool_close(s);
	/* The right CRC: believed. */
	put32(b + 8, ref_crc(b, 8));
	spit(path, b, sizeof(b));
	s = open_plain();
	assert_int_equal(ttlog__spool_acked(s), 30);
	assert_int_equal(stats(s).corrupt_records, 0);
	expect_records(s, 31, 40, NULL, C_LEN);
	ttlog__spool_close(s);
}

static void test_spool_bad_id_file_is_an_error(void **state)
{
	(void)state;
	struct ttlog__spool_opts o = opts(1024, 4096, 0, 0);
	struct ttlog__spool *s = open_ok(&o);
	char path[256], err[512];

	ttlog__spool_close(s);
	snprintf(path, sizeof(path), "%s/id", sdir);
	assert_int_equal(truncate(path, 7), 0);
	assert_int_equal(ttlog__spool_open(&o, &s, err, sizeof(err)), -1);
	assert_null(s);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "short"));
	spit(path, "0123456789abcdefg", 17);
	assert_int_equal(ttlog__spool_open(&o, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	/* A symbolic link is not followed, even to a good id (kept inside
	 * the test's directory). */
	{
		char target[256];
		snprintf(target, sizeof(target), "%s/other-id", base);
		spit(target, "0123456789abcdef", 16);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(symlink(target, path), 0);
		assert_int_equal(ttlog__spool_open(&o, &s, err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, path));
		assert_int_equal(unlink(path), 0);
	}
	/* The lock was released each time. */
	spit(path, "0123456789abcdef", 16);
	s = open_ok(&o);
	assert_memory_equal(ttlog__spool_id(s), "0123456789abcdef", 16);
	ttlog__spool_close(s);
}

/* ------------------------------------------------------------------ */
/* Lock, fsync, errors, modes                                           */
/* ------------------------------------------------------------------ */

static void test_spool_second_open_is_refused_by_the_lock(void **state)
{
	(void)state;
	struct ttlog__spool *s = open_plain(), *t = NULL;
	struct ttlog__spool_opts o = opts(1024, 1u << 20, 0, 0);
	char err[512], pid[32];
	pid_t child;
	int status;

	append_ok(s, 1, 10);
	assert_int_equal(ttlog__spool_open(&o, &t, err, sizeof(err)), -1);
	assert_null(t);
	assert_non_null(strstr(err, sdir));
	/* Held by this very process: a reload that changed a forward
	 * listener; the message says what to do. */
	assert_non_null(strstr(err, "in use by another listener of this "
				    "process"));
	snprintf(pid, sizeof(pid), "pid %ld in LOCK", (long)getpid());

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char e2[512] = "";
		int rc = ttlog__spool_open(&o, &t, e2, sizeof(e2));
		/* The parent's copy (memory only: the lock stays with the
		 * parent's descriptor), so valgrind sees no leak here. */
		ttlog__spool_close(s);
		_exit(rc == -1 && t == NULL &&
				      strstr(e2, "locked by another") != NULL &&
				      strstr(e2, pid) != NULL
			      ? 0
			      : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* The first one is unharmed, and the lock goes with it. */
	append_ok(s, 2, 10);
	ttlog__spool_close(s);
	s = open_ok(&o);
	expect_records(s, 1, 2, NULL, 10);
	ttlog__spool_close(s);
}

/* A child appends as fast as it can and says which seqs it has been told
 * are taken; it is killed with SIGKILL in the middle. Every one of those
 * is then in the spool, in order, and appends go on after the last. */
static void test_spool_survives_sigkill_of_the_writer(void **state)
{
	(void)state;
	struct ttlog__spool_opts o =
		opts(256u << 10, 64u << 20, TTLOG_SPOOL_FSYNC_NEVER,
		     TTLOG_SPOOL_DROP_OLDEST);
	struct ttlog__spool *s;
	uint64_t told = 0, q;
	int fds[2], status;
	pid_t child;

	assert_int_equal(pipe(fds), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		static unsigned char p[70000];
		struct ttlog__spool *c = NULL;
		char err[256];
		close(fds[0]);
		if (ttlog__spool_open(&o, &c, err, sizeof(err)) != 0)
			_exit(1);
		for (q = 1;; q++) {
			size_t len = 1000 + (size_t)(q * 7919) % 60000;
			fill_payload(p, len, q);
			if (ttlog__spool_append(c, q, flags_of(q), count_of(q),
						p, len, err,
						sizeof(err)) != 0 ||
			    write(fds[1], &q, sizeof(q)) != sizeof(q))
				_exit(2);
		}
	}
	close(fds[1]);
	while (told < 300)
		assert_int_equal(read(fds[0], &told, sizeof(told)),
				 sizeof(told));
	assert_int_equal(kill(child, SIGKILL), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	while (read(fds[0], &q, sizeof(q)) == sizeof(q))
		told = q;
	close(fds[0]);

	/* The lock went with the child. */
	s = open_ok(&o);
	assert_true(ttlog__spool_last_seq(s) >= told);
	assert_true(stats(s).corrupt_records <= 1); /* a torn tail at most */
	for (q = 1; q <= ttlog__spool_last_seq(s); q++) {
		struct ttlog__spool_rec r;
		assert_int_equal(next_ok(s, &r), 1);
		assert_int_equal(r.seq, q);
		check_rec(&r, 1000 + (size_t)(q * 7919) % 60000);
	}
	append_ok(s, q, 10);
	ttlog__spool_close(s);
}

static void test_spool_fsync_policies_round_trip(void **state)
{
	(void)state;
	for (int pol = TTLOG_SPOOL_FSYNC_NEVER; pol <= TTLOG_SPOOL_FSYNC_ALWAYS;
	     pol++) {
		struct ttlog__spool_opts o =
			opts(2048, 1u << 20, pol, TTLOG_SPOOL_DROP_OLDEST);
		struct ttlog__spool *s;
		char dir[128];

		snprintf(dir, sizeof(dir), "%s/p%d", base, pol);
		o.dir = dir;
		s = open_ok(&o);
		for (uint64_t q = 1; q <= 60; q++) {
			append_ok(s, q, varied_len(q));
			if (q % 10 == 0)
				assert_int_equal(ttlog__spool_sync(s), 0);
		}
		assert_int_equal(ttlog__spool_ack(s, 20), 0);
		assert_int_equal(ttlog__spool_sync(s), 0);
		assert_int_equal(stats(s).fsync_errors, 0);
		ttlog__spool_close(s);
		s = open_ok(&o);
		assert_int_equal(ttlog__spool_acked(s), 20);
		for (uint64_t q = 21; q <= 60; q++) {
			struct ttlog__spool_rec r;
			assert_int_equal(next_ok(s, &r), 1);
			assert_int_equal(r.seq, q);
			check_rec(&r, varied_len(q));
		}
		ttlog__spool_close(s);
	}
}

static void test_spool_write_error_cuts_the_partial_record(void **state)
{
	(void)state;
	struct ttlog__spool *s = open_plain();
	unsigned char p[C_LEN];
	struct rlimit saved, r;
	char err[512] = "", path[256];
	off_t before;

	append_range(s, 1, 3, C_LEN);
	seg_path(path, sizeof(path), 1);
	before = size_of(path);
	fill_payload(p, C_LEN, 4);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	/* Room for 50 bytes of the record: a short write. */
	r = saved;
	r.rlim_cur = (rlim_t)before + 50;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &r), 0);
	assert_int_equal(ttlog__spool_append(s, 4, flags_of(4), count_of(4), p,
					     C_LEN, err, sizeof(err)),
			 -1);
	/* No room at all: the write fails outright. */
	r.rlim_cur = (rlim_t)before;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &r), 0);
	assert_int_equal(ttlog__spool_append(s, 4, flags_of(4), count_of(4), p,
					     C_LEN, err, sizeof(err)),
			 -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	assert_non_null(strstr(err, sdir));
	assert_non_null(strstr(err, "write"));
	assert_int_equal(size_of(path), before);
	assert_int_equal(stats(s).write_errors, 2);
	assert_int_equal(ttlog__spool_last_seq(s), 3);
	/* The same record again, then on. */
	append_range(s, 4, 12, C_LEN);
	expect_records(s, 1, 12, NULL, C_LEN);
	assert_int_equal(stats(s).corrupt_records, 0);
	ttlog__spool_close(s);
	s = open_plain();
	expect_records(s, 1, 12, NULL, C_LEN);
	assert_int_equal(stats(s).corrupt_records, 0);
	ttlog__spool_close(s);
}

/* For a forked child: 0 when opening dir fails naming want. */
static int open_fails_naming(const char *dir, const char *want)
{
	struct ttlog__spool_opts o = {dir, 4096, 1024, 0, 0, NULL, NULL};
	struct ttlog__spool *s = NULL;
	char err[512] = "";

	if (ttlog__spool_open(&o, &s, err, sizeof(err)) != -1 || s != NULL)
		return 1;
	if (strstr(err, want) == NULL) {
		fprintf(stderr, "error \"%s\" does not name %s\n", err, want);
		return 2;
	}
	if (strstr(err, "Permission denied") == NULL)
		return 3;
	return 0;
}

static void test_spool_unusable_directories_are_clear_errors(void **state)
{
	(void)state;
	struct ttlog__spool_opts o = opts(1024, 4096, 0, 0);
	struct ttlog__spool *s = NULL;
	char dir[256], ro[256], lock[300], err[512];
	pid_t child;
	int status;

	/* The parent must exist. */
	snprintf(dir, sizeof(dir), "%s/none/s", base);
	o.dir = dir;
	assert_int_equal(ttlog__spool_open(&o, &s, err, sizeof(err)), -1);
	assert_null(s);
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, "No such file"));
	/* A file where the directory should be. */
	snprintf(dir, sizeof(dir), "%s/file", base);
	spit(dir, "x", 1);
	assert_int_equal(ttlog__spool_open(&o, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, dir));
	/* Bad options. */
	o = opts(4096, 4096, 0, 0);
	assert_int_equal(ttlog__spool_open(&o, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "max_bytes"));

	/* A directory nobody may create in, and one nobody may write to,
	 * tried as nobody (root could do both). */
	snprintf(ro, sizeof(ro), "%s/ro", base);
	assert_int_equal(mkdir(ro, 0555), 0);
	snprintf(dir, sizeof(dir), "%s/ro/s", base);
	snprintf(lock, sizeof(lock), "%s/ro/LOCK", base);
	assert_int_equal(chmod(base, 0755), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int rc;
		if (geteuid() == 0 &&
		    (setgid(NOBODY) != 0 || setuid(NOBODY) != 0))
			_exit(10);
		rc = open_fails_naming(dir, dir);
		if (rc == 0)
			rc = open_fails_naming(ro, lock) ? 20 : 0;
		_exit(rc);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_spool_created_files_are_private(void **state)
{
	(void)state;
	struct ttlog__spool *s = open_plain();
	static const char *const names[] = {"", "/LOCK", "/id", "/acked",
					    "/00000000000000000001.seg"};
	char path[256];
	struct stat st;

	append_ok(s, 1, 10);
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s%s", sdir, names[i]);
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, i == 0 ? 0700 : 0600);
	}
	/* LOCK holds the pid. */
	{
		size_t len;
		char want[32];
		unsigned char *b;
		snprintf(path, sizeof(path), "%s/LOCK", sdir);
		b = read_whole_file(path, &len);
		snprintf(want, sizeof(want), "%ld\n", (long)getpid());
		assert_int_equal(len, strlen(want));
		assert_memory_equal(b, want, len);
		free(b);
	}
	ttlog__spool_close(s);
}

/* ------------------------------------------------------------------ */
/* The in-memory scanner                                                */
/* ------------------------------------------------------------------ */

struct seen {
	uint64_t seqs[64];
	size_t n, bytes;
};

static void on_rec(void *arg, const struct ttlog__spool_rec *r)
{
	struct seen *v = arg;
	unsigned char want[4096];

	assert_true(v->n < 64);
	assert_true(r->len <= sizeof(want));
	fill_payload(want, r->len, r->seq);
	assert_memory_equal(r->payload, want, r->len);
	v->seqs[v->n++] = r->seq;
	v->bytes += REC_OVERHEAD + r->len;
}

static void test_spool_scan_in_memory(void **state)
{
	(void)state;
	unsigned char img[8192];
	size_t len = 0, at3;
	struct seen v = {0};
	uint64_t crec = 99, cbytes = 99;

	/* The spool's CRC is the reference one: a segment it wrote. */
	{
		static const unsigned char check[] = "123456789";
		assert_int_equal(ref_crc(check, 9), 0xE3069283u);
	}
	for (uint64_t q = 1; q <= 5; q++)
		len += make_record(img + len, q, (size_t)(q * 300));
	assert_int_equal(
		ttlog__spool_scan(img, len, on_rec, &v, &crec, &cbytes), 5);
	assert_int_equal(crec + cbytes, 0);
	assert_int_equal(v.bytes, len);
	/* Empty and NULL images. */
	assert_int_equal(ttlog__spool_scan(img, 0, NULL, NULL, &crec, &cbytes),
			 0);
	assert_int_equal(ttlog__spool_scan(NULL, 0, NULL, NULL, NULL, NULL), 0);
	/* Damage: a byte of record 3's payload, a torn tail, garbage in
	 * front. Every byte is either in a good record or counted. */
	at3 = 2 * REC_OVERHEAD + 300 + 600;
	img[at3 + REC_OVERHEAD + 5] ^= 1;
	memmove(img + 10, img, len);
	memset(img, 'T', 10);
	len = len + 10 - 100;
	memset(&v, 0, sizeof(v));
	assert_int_equal(
		ttlog__spool_scan(img, len, on_rec, &v, &crec, &cbytes), 3);
	assert_int_equal(v.seqs[0], 1);
	assert_int_equal(v.seqs[1], 2);
	assert_int_equal(v.seqs[2], 4);
	assert_int_equal(crec, 3);
	assert_int_equal(v.bytes + cbytes, len);
	/* Only garbage. */
	memset(img, 0, sizeof(img));
	assert_int_equal(
		ttlog__spool_scan(img, sizeof(img), NULL, NULL, &crec, &cbytes),
		0);
	assert_int_equal(crec, 1);
	assert_int_equal(cbytes, sizeof(img));
}

/* The scanner agrees with a file the spool wrote. */
static void test_spool_scan_reads_a_written_segment(void **state)
{
	(void)state;
	struct seen v = {0};
	uint64_t crec, cbytes;
	unsigned char *b;
	char path[256];
	size_t len;

	make_forty();
	seg_path(path, sizeof(path), 9);
	b = read_whole_file(path, &len);
	assert_int_equal(ttlog__spool_scan(b, len, on_rec, &v, &crec, &cbytes),
			 8);
	assert_int_equal(crec, 0);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(v.seqs[i], 9 + i);
	free(b);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_spool_round_trip_across_many_segments),
		T(test_spool_records_over_the_read_chunk_round_trip),
		T(test_spool_reopen_keeps_id_seq_and_records),
		T(test_spool_ack_deletes_segments_and_survives_reopen),
		T(test_spool_rewind_positions_after_a_seq),
		T(test_spool_reader_follows_a_writer),
		T(test_spool_drop_oldest_counts_exactly),
		T(test_spool_drop_oldest_when_only_the_current_file_is_left),
		T(test_spool_drop_newest_returns_full),
		T(test_spool_flipped_payload_byte_skips_one_record),
		T(test_spool_zeroed_length_skips_one_record),
		T(test_spool_impossible_lengths_skip_one_record),
		T(test_spool_torn_tail_is_cut_and_appends_go_on),
		T(test_spool_torn_header_at_the_tail_is_cut),
		T(test_spool_garbage_between_records_is_skipped),
		T(test_spool_damage_in_the_newest_file_keeps_the_rest),
		T(test_spool_out_of_order_record_is_skipped),
		T(test_spool_random_segment_is_skipped),
		T(test_spool_empty_segment_files_are_ignored),
		T(test_spool_bad_acked_file_means_zero),
		T(test_spool_bad_id_file_is_an_error),
		T(test_spool_second_open_is_refused_by_the_lock),
		T(test_spool_survives_sigkill_of_the_writer),
		T(test_spool_fsync_policies_round_trip),
		T(test_spool_write_error_cuts_the_partial_record),
		T(test_spool_unusable_directories_are_clear_errors),
		T(test_spool_created_files_are_private),
		T(test_spool_scan_in_memory),
		T(test_spool_scan_reads_a_written_segment),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
