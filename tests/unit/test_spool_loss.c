/*
 * test_spool_loss.c - what the disk spool (plugins/shared/spool*.c)
 * counts and reports as lost: the size cap deleting records no memory
 * holds (lost) or that the caller still holds (held, lost only when the
 * caller lets them go or dies), damaged records counted in records,
 * events and bytes once per damaged segment, a gap found at open, and
 * every total kept in the `stats` file across a restart without being
 * counted twice.
 *
 * Records are 228 bytes (28 of header, 200 of payload) and carry 100 +
 * seq events; with segment_bytes 1024 a segment holds 5 records, so
 * segment k (from 0) holds seqs 5k+1 .. 5k+5.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "spool.h"

#define PAYLOAD 200
#define REC (28 + PAYLOAD)
#define MAX_REPORTS 64

static char base[64];
static char sdir[128];

static struct ttlog__spool_loss reports[MAX_REPORTS];
static char report_segs[MAX_REPORTS][64], report_why[MAX_REPORTS][128];
static int nreports;

static void on_loss(void *arg, const struct ttlog__spool_loss *l)
{
	(void)arg;
	assert_true(nreports < MAX_REPORTS);
	reports[nreports] = *l;
	snprintf(report_segs[nreports], sizeof(report_segs[0]), "%s",
		 l->segment ? l->segment : "");
	reports[nreports].segment = report_segs[nreports];
	snprintf(report_why[nreports], sizeof(report_why[0]), "%s",
		 l->reason ? l->reason : "");
	reports[nreports].reason = report_why[nreports];
	nreports++;
}

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
	snprintf(base, sizeof(base), "/tmp/ttlog-sloss-XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(sdir, sizeof(sdir), "%s/s", base);
	nreports = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	return 0;
}

static uint32_t count_of(uint64_t seq)
{
	return (uint32_t)(100 + seq);
}

/* The events of seqs from..to. */
static uint64_t events(uint64_t from, uint64_t to)
{
	uint64_t n = 0;
	for (uint64_t q = from; q <= to; q++)
		n += count_of(q);
	return n;
}

static struct ttlog__spool *open_spool(uint64_t max)
{
	struct ttlog__spool_opts o = {sdir,
				      max,
				      1024,
				      TTLOG_SPOOL_FSYNC_NEVER,
				      TTLOG_SPOOL_DROP_OLDEST,
				      on_loss,
				      NULL};
	struct ttlog__spool *s = NULL;
	char err[512] = "";

	if (ttlog__spool_open(&o, &s, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	return s;
}

static void append_range(struct ttlog__spool *s, uint64_t from, uint64_t to)
{
	unsigned char p[PAYLOAD];
	char err[512] = "";

	for (uint64_t q = from; q <= to; q++) {
		/* Bytes that step by 7: no "TSR1" inside a payload. */
		for (size_t i = 0; i < sizeof(p); i++)
			p[i] = (unsigned char)(q * 31 + i * 7);
		if (ttlog__spool_append(s, q, 0, count_of(q), p, sizeof(p), err,
					sizeof(err)) != 0)
			fail_msg("append %llu: %s", (unsigned long long)q, err);
	}
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

static void flip(uint64_t first, off_t at)
{
	char path[256];
	unsigned char b;
	int fd;

	seg_path(path, sizeof(path), first);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0x5A;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	close(fd);
}

/* The seqs the reader returns, as a bit set (seqs below 64). */
static uint64_t readable(struct ttlog__spool *s)
{
	struct ttlog__spool_rec r;
	char err[256];
	uint64_t set = 0;

	ttlog__spool_rewind(s, 0);
	while (ttlog__spool_next(s, &r, err, sizeof(err)) == 1)
		set |= 1ull << r.seq;
	return set;
}

/* ------------------------------------------------------------------ */

static void test_spool_cap_counts_only_what_no_memory_holds(void **state)
{
	struct ttlog__spool *s;
	struct ttlog__spool_stats st;
	uint64_t f, lost_records = 0, next;
	(void)state;

	s = open_spool(4096);
	/* The caller holds 1..10 in memory. */
	ttlog__spool_set_held(s, 10);
	append_range(s, 1, 30);
	f = ttlog__spool_oldest(s);
	assert_true(f > 11); /* the cap deleted held and unheld records */
	st = stats(s);
	assert_int_equal(st.held_records, 10);
	assert_int_equal(st.held_events, events(1, 10));
	assert_int_equal(st.dropped_records, f - 11);
	assert_int_equal(st.dropped_events, events(11, f - 1));
	/* One report per deleted segment with unheld records, saying which
	 * file and which seqs, in order and without a hole. */
	next = 11;
	for (int i = 0; i < nreports; i++) {
		char want[32];
		assert_int_equal(reports[i].kind, TTLOG_SPOOL_LOSS_CAP);
		assert_int_equal(reports[i].seq_lo, next);
		snprintf(want, sizeof(want), "%020llu.seg",
			 (unsigned long long)(reports[i].seq_lo - 1) / 5 * 5 +
				 1);
		assert_string_equal(reports[i].segment, want);
		assert_int_equal(reports[i].events,
				 events(reports[i].seq_lo, reports[i].seq_hi));
		lost_records += reports[i].records;
		next = reports[i].seq_hi + 1;
	}
	assert_int_equal(next, f);
	assert_int_equal(lost_records, f - 11);

	/* Acknowledged: held records are delivered, not lost. */
	assert_int_equal(ttlog__spool_ack(s, 5), 0);
	assert_int_equal(stats(s).held_records, 5);
	assert_int_equal(ttlog__spool_ack(s, 10), 0);
	assert_int_equal(stats(s).held_records, 0);
	nreports = 0;
	ttlog__spool_set_held(s, 10);
	ttlog__spool_close(s);
	assert_int_equal(nreports, 0);

	/* The totals come back after a restart, and nothing more. */
	s = open_spool(4096);
	st = stats(s);
	assert_int_equal(st.dropped_records, f - 11);
	assert_int_equal(st.dropped_events, events(11, f - 1));
	assert_int_equal(st.held_records, 0);
	assert_int_equal(nreports, 0);
	ttlog__spool_close(s);
}

static void test_spool_held_records_are_lost_when_the_holder_dies(void **state)
{
	struct ttlog__spool *s;
	struct ttlog__spool_stats st;
	uint64_t f;
	pid_t pid;
	int status;
	(void)state;

	/* A child process holds 1..10 and dies without closing. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		s = open_spool(4096);
		ttlog__spool_set_held(s, 10);
		append_range(s, 1, 30);
		_exit(stats(s).held_records == 10 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	s = open_spool(4096);
	f = ttlog__spool_oldest(s);
	st = stats(s);
	assert_int_equal(st.dropped_records, f - 1);
	assert_int_equal(st.dropped_events, events(1, f - 1));
	assert_int_equal(st.held_records, 0);
	/* This open reports the held ones, once. */
	assert_int_equal(nreports, 1);
	assert_int_equal(reports[0].kind, TTLOG_SPOOL_LOSS_HELD);
	assert_int_equal(reports[0].records, 10);
	assert_int_equal(reports[0].events, events(1, 10));
	assert_int_equal(reports[0].seq_lo, 1);
	assert_int_equal(reports[0].seq_hi, 10);
	ttlog__spool_close(s);
	nreports = 0;
	s = open_spool(4096);
	assert_int_equal(stats(s).dropped_records, f - 1);
	assert_int_equal(nreports, 0);
	ttlog__spool_close(s);
}

static void test_spool_held_records_let_go_are_lost(void **state)
{
	struct ttlog__spool *s;
	uint64_t before;
	(void)state;

	s = open_spool(4096);
	ttlog__spool_set_held(s, 10);
	append_range(s, 1, 30);
	assert_int_equal(ttlog__spool_ack(s, 3), 0);
	before = stats(s).dropped_records;
	nreports = 0;
	/* A new owner holds nothing above the acknowledged seq (a
	 * handover): 4..10 are gone. */
	ttlog__spool_set_held(s, 3);
	assert_int_equal(nreports, 1);
	assert_int_equal(reports[0].kind, TTLOG_SPOOL_LOSS_HELD);
	assert_int_equal(reports[0].records, 7);
	assert_int_equal(reports[0].seq_lo, 4);
	assert_int_equal(reports[0].seq_hi, 10);
	assert_int_equal(stats(s).dropped_records, before + 7);
	assert_int_equal(stats(s).held_records, 0);
	ttlog__spool_close(s);
	assert_int_equal(nreports, 1); /* not again at the close */
}

static void test_spool_damage_is_counted_once_per_segment(void **state)
{
	struct ttlog__spool *s;
	struct ttlog__spool_stats st;
	char path[256];
	uint64_t est, want;
	(void)state;

	s = open_spool(1u << 20);
	append_range(s, 1, 15);
	ttlog__spool_close(s);
	/* Segment 1: a flipped byte in the payloads of records 2 and 3. */
	flip(1, REC + 100);
	flip(1, 2 * REC + 100);
	/* Segment 6: cut 30 bytes into record 9 (its header readable),
	 * record 10 gone entirely (its events estimated from 6..8). */
	seg_path(path, sizeof(path), 6);
	assert_int_equal(truncate(path, 3 * REC + 30), 0);
	s = open_spool(1u << 20);
	est = events(6, 8) / 3;
	st = stats(s);
	assert_int_equal(st.corrupt_records, 4);
	assert_int_equal(st.corrupt_bytes, 2 * REC + 30);
	assert_int_equal(st.corrupt_events, events(2, 3) + count_of(9) + est);
	assert_int_equal(st.corrupt_estimated, 1);
	assert_int_equal(nreports, 2);
	assert_string_equal(reports[0].segment, "00000000000000000001.seg");
	assert_int_equal(reports[0].offset, REC);
	assert_int_equal(reports[0].records, 2);
	assert_int_equal(reports[0].events, events(2, 3));
	assert_int_equal(reports[0].bytes, 2 * REC);
	assert_int_equal(reports[0].seq_lo, 2);
	assert_int_equal(reports[0].seq_hi, 3);
	assert_string_equal(reports[0].reason, "CRC mismatch");
	assert_string_equal(reports[1].segment, "00000000000000000006.seg");
	assert_int_equal(reports[1].offset, 3 * REC);
	assert_int_equal(reports[1].records, 2);
	assert_int_equal(reports[1].estimated, 1);
	assert_int_equal(reports[1].seq_lo, 9);
	assert_int_equal(reports[1].seq_hi, 10);
	assert_non_null(strstr(reports[1].reason, "cut short"));
	/* Every other record is read; passing the damage again (a rewind)
	 * counts nothing more. */
	want = 0;
	for (uint64_t q = 1; q <= 15; q++)
		if (q != 2 && q != 3 && q != 9 && q != 10)
			want |= 1ull << q;
	assert_int_equal(readable(s), want);
	assert_int_equal(readable(s), want);
	assert_int_equal(stats(s).corrupt_records, 4);
	ttlog__spool_close(s);

	/* Restarted: the same totals, the damage still on disk not counted
	 * or reported again. */
	nreports = 0;
	s = open_spool(1u << 20);
	st = stats(s);
	assert_int_equal(st.corrupt_records, 4);
	assert_int_equal(st.corrupt_bytes, 2 * REC + 30);
	assert_int_equal(st.corrupt_events, events(2, 3) + count_of(9) + est);
	assert_int_equal(nreports, 0);
	ttlog__spool_close(s);
}

static void test_spool_flipped_headers_count_their_events(void **state)
{
	struct ttlog__spool *s;
	struct ttlog__spool_stats st;
	(void)state;

	s = open_spool(1u << 20);
	append_range(s, 1, 10);
	ttlog__spool_close(s);
	flip(1, REC + 0);     /* record 2: its magic */
	flip(1, 3 * REC + 5); /* record 4: its length */
	flip(6, 2 * REC + 9); /* record 8: its CRC */
	s = open_spool(1u << 20);
	st = stats(s);
	assert_int_equal(st.corrupt_records, 3);
	assert_int_equal(st.corrupt_events,
			 count_of(2) + count_of(4) + count_of(8));
	assert_int_equal(st.corrupt_estimated, 0);
	assert_int_equal(st.corrupt_bytes, 3 * REC);
	assert_int_equal(nreports, 2);
	assert_int_equal(reports[0].records, 2);
	assert_non_null(strstr(reports[0].reason, "bad record header"));
	assert_int_equal(reports[1].records, 1);
	assert_string_equal(reports[1].reason, "CRC mismatch");
	ttlog__spool_close(s);
}

static void test_spool_gap_below_the_oldest_segment_is_counted(void **state)
{
	struct ttlog__spool *s;
	char path[256];
	(void)state;

	s = open_spool(1u << 20);
	append_range(s, 1, 15);
	ttlog__spool_close(s);
	/* Deleted with no record of it: a crash between the cap's delete
	 * and its count. */
	seg_path(path, sizeof(path), 1);
	assert_int_equal(unlink(path), 0);
	s = open_spool(1u << 20);
	assert_int_equal(stats(s).gap_records, 5);
	assert_int_equal(stats(s).dropped_records, 5);
	/* Estimated at the average of the oldest segment left. */
	assert_int_equal(stats(s).dropped_events, events(6, 10));
	assert_int_equal(nreports, 1);
	assert_int_equal(reports[0].kind, TTLOG_SPOOL_LOSS_GAP);
	assert_int_equal(reports[0].seq_lo, 1);
	assert_int_equal(reports[0].seq_hi, 5);
	assert_int_equal(reports[0].estimated, 5);
	ttlog__spool_close(s);
	nreports = 0;
	s = open_spool(1u << 20);
	assert_int_equal(stats(s).dropped_records, 5);
	assert_int_equal(nreports, 0);
	ttlog__spool_close(s);
}

static void test_spool_oldest_is_the_lowest_unacked_seq(void **state)
{
	struct ttlog__spool *s;
	(void)state;

	s = open_spool(1u << 20);
	assert_int_equal(ttlog__spool_oldest(s), 0);
	append_range(s, 1, 15);
	assert_int_equal(ttlog__spool_oldest(s), 1);
	assert_int_equal(ttlog__spool_ack(s, 3), 0);
	assert_int_equal(ttlog__spool_oldest(s), 4);
	assert_int_equal(ttlog__spool_ack(s, 15), 0);
	assert_int_equal(ttlog__spool_oldest(s), 0);
	ttlog__spool_close(s);
}

static void test_spool_damaged_stats_file_is_said(void **state)
{
	struct ttlog__spool *s;
	char path[256];
	FILE *f;
	(void)state;

	s = open_spool(4096);
	append_range(s, 1, 30); /* drops, counted */
	assert_true(stats(s).dropped_records > 0);
	ttlog__spool_close(s);
	snprintf(path, sizeof(path), "%s/stats", sdir);
	f = fopen(path, "r+");
	assert_non_null(f);
	fputs("garbage", f);
	fclose(f);
	nreports = 0;
	s = open_spool(4096);
	/* Said; the totals start from 0, and the records missing below the
	 * oldest segment are found again as a gap. */
	assert_int_equal(nreports, 2);
	assert_string_equal(reports[0].segment, "stats");
	assert_int_equal(reports[1].kind, TTLOG_SPOOL_LOSS_GAP);
	assert_int_equal(stats(s).dropped_records, ttlog__spool_oldest(s) - 1);
	assert_int_equal(stats(s).gap_records, ttlog__spool_oldest(s) - 1);
	ttlog__spool_close(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_spool_cap_counts_only_what_no_memory_holds),
		T(test_spool_held_records_are_lost_when_the_holder_dies),
		T(test_spool_held_records_let_go_are_lost),
		T(test_spool_damage_is_counted_once_per_segment),
		T(test_spool_flipped_headers_count_their_events),
		T(test_spool_gap_below_the_oldest_segment_is_counted),
		T(test_spool_oldest_is_the_lowest_unacked_seq),
		T(test_spool_damaged_stats_file_is_said),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
