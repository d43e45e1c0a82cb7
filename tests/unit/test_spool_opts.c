/*
 * test_spool_opts.c - what the forward plugin needs of an open spool to
 * hand it over across a reload (plugins/shared/spool.c): new options
 * applied to it (a smaller cap at the next append, bad values refused
 * with nothing changed), the directory's identity under two spellings,
 * and the count of unacknowledged events its log lines give. The rest of
 * the spool is test_spool.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#include "spool.h"

static char base[64], sdir[128];

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/ttlog-spool-opts-XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(sdir, sizeof(sdir), "%s/s", base);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd) == 0 ? 0 : -1;
}

static struct ttlog__spool *open_spool(uint64_t seg, uint64_t max, int overflow)
{
	struct ttlog__spool_opts o = {
		sdir, max, seg, TTLOG_SPOOL_FSYNC_NEVER, overflow, NULL, NULL};
	struct ttlog__spool *s = NULL;
	char err[256];

	if (ttlog__spool_open(&o, &s, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	return s;
}

/* Appends records seq first..last of `len` payload bytes and `count`
 * events each. */
static void append(struct ttlog__spool *s, uint64_t first, uint64_t last,
		   size_t len, uint32_t count)
{
	unsigned char payload[1024] = {0};
	char err[256];

	for (uint64_t q = first; q <= last; q++)
		if (ttlog__spool_append(s, q, 0, count, payload, len, err,
					sizeof(err)) != 0)
			fail_msg("append %llu: %s", (unsigned long long)q, err);
}

static void test_set_opts_applies_at_the_next_append(void **state)
{
	struct ttlog__spool *s =
		open_spool(4096, 1u << 20, TTLOG_SPOOL_DROP_NEWEST);
	struct ttlog__spool_opts o = {NULL,
				      8192,
				      2048,
				      TTLOG_SPOOL_FSYNC_ALWAYS,
				      TTLOG_SPOOL_DROP_NEWEST,
				      NULL,
				      NULL};
	struct ttlog__spool_stats st;
	unsigned char payload[1000] = {0};
	char err[256];
	(void)state;

	append(s, 1, 10, 1000, 1); /* about 10 KB: over the new cap */
	assert_int_equal(ttlog__spool_set_opts(s, &o, err, sizeof(err)), 0);
	/* Nothing already appended goes; the next record does not fit. */
	ttlog__spool_get_stats(s, &st);
	assert_int_equal(st.records, 10);
	assert_int_equal(ttlog__spool_append(s, 11, 0, 1, payload, 1000, err,
					     sizeof(err)),
			 TTLOG_SPOOL_FULL);
	/* Acknowledged records make room again. */
	assert_int_equal(ttlog__spool_ack(s, 10), 0);
	assert_int_equal(ttlog__spool_append(s, 11, 0, 1, payload, 1000, err,
					     sizeof(err)),
			 0);
	assert_int_equal(ttlog__spool_last_seq(s), 11);
	ttlog__spool_close(s);
}

static void test_set_opts_refuses_and_keeps_the_old_ones(void **state)
{
	struct ttlog__spool *s =
		open_spool(4096, 1u << 20, TTLOG_SPOOL_DROP_NEWEST);
	struct ttlog__spool_opts bad = {NULL,
					4096,
					4096,
					TTLOG_SPOOL_FSYNC_NEVER,
					TTLOG_SPOOL_DROP_NEWEST,
					NULL,
					NULL};
	char err[256];
	(void)state;

	assert_int_equal(ttlog__spool_set_opts(s, &bad, err, sizeof(err)), -1);
	assert_true(strncmp(err, "spool ", 6) == 0 &&
		    strncmp(err + 6, sdir, strlen(sdir)) == 0);
	assert_non_null(strstr(err, "max_bytes (4096) must be larger than "
				    "segment_bytes (4096)"));
	bad.max_bytes = 1u << 20;
	bad.overflow = 7;
	assert_int_equal(ttlog__spool_set_opts(s, &bad, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad fsync or overflow"));
	/* The 1 MiB cap still holds: 20 KB go in. */
	append(s, 1, 20, 1000, 1);
	ttlog__spool_close(s);
}

static void test_dir_key_is_the_directory_not_its_spelling(void **state)
{
	struct ttlog__spool *s =
		open_spool(4096, 1u << 20, TTLOG_SPOOL_DROP_OLDEST);
	struct stat st;
	uint64_t dev, ino;
	char dotted[160];
	(void)state;

	assert_int_equal(ttlog__spool_dir_key(s, &dev, &ino), 0);
	snprintf(dotted, sizeof(dotted), "%s/../s/.", sdir);
	assert_int_equal(stat(dotted, &st), 0);
	assert_int_equal(dev, (uint64_t)st.st_dev);
	assert_int_equal(ino, (uint64_t)st.st_ino);
	assert_int_equal(stat(base, &st), 0);
	assert_true(ino != (uint64_t)st.st_ino);
	assert_string_equal(ttlog__spool_dir(s), sdir);
	ttlog__spool_close(s);
}

static void test_stats_count_unacknowledged_events(void **state)
{
	/* Segments of about 3 records (100-byte payloads). */
	struct ttlog__spool *s =
		open_spool(300, 1u << 20, TTLOG_SPOOL_DROP_OLDEST);
	struct ttlog__spool_stats st;
	(void)state;

	append(s, 1, 12, 100, 10);
	ttlog__spool_get_stats(s, &st);
	assert_true(st.segments >= 3);
	assert_int_equal(st.records, 12);
	assert_int_equal(st.events, 120);
	/* Acknowledged up to the middle of a segment: its rest counts. */
	assert_int_equal(ttlog__spool_ack(s, 5), 0);
	ttlog__spool_get_stats(s, &st);
	assert_int_equal(st.records, 7);
	assert_int_equal(st.events, 70);
	assert_int_equal(ttlog__spool_ack(s, 12), 0);
	ttlog__spool_get_stats(s, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.events, 0);
	ttlog__spool_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_set_opts_applies_at_the_next_append, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_set_opts_refuses_and_keeps_the_old_ones, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_dir_key_is_the_directory_not_its_spelling, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_stats_count_unacknowledged_events, setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
