/*
 * test_journal_fields.c - a journal entry's fields as an event
 * (agent/inputs/journal_fields.c) and the check of `match` terms, without
 * a journal: the fields are given as sd_journal_enumerate_data() gives
 * them, "NAME=value".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "input_journal.h"

struct entry {
	const void *data[100];
	size_t len[100];
	size_t n;
	char bufs[100][80];
};

static void add(struct entry *e, const char *f)
{
	e->data[e->n] = f;
	e->len[e->n++] = strlen(f);
}

/* A field with bytes that need not be a C string. */
static void add_bytes(struct entry *e, const char *f, size_t n)
{
	e->data[e->n] = f;
	e->len[e->n++] = n;
}

static struct ttlog__in_event ev;
static struct ttlog__origin_str org[TTLOG__ORIGIN_NFIELDS];
static struct ttlog__journal_skips sk;

static void map(struct entry *e, uint64_t rt, size_t max)
{
	memset(org, 0, sizeof(org));
	memset(&sk, 0, sizeof(sk));
	ttlog__journal_map(&ev, e->data, e->len, e->n, rt, max, org, &sk);
}

/* The value of string field key, or NULL. */
static char *field(const char *key)
{
	static char out[256];

	for (uint32_t i = 0; i < ev.nfields; i++)
		if (ev.fields[i].key_len == strlen(key) &&
		    memcmp(ev.fields[i].key, key, strlen(key)) == 0) {
			assert_int_equal(ev.fields[i].type, TTLOG_TYPE_STR);
			snprintf(out, sizeof(out), "%.*s",
				 (int)ev.fields[i].v.str.len,
				 ev.fields[i].v.str.ptr);
			return out;
		}
	return NULL;
}

static int org_is(int k, const char *s)
{
	return org[k].p != NULL && org[k].len == strlen(s) &&
	       memcmp(org[k].p, s, org[k].len) == 0;
}

static void test_message_level_origin_and_fields(void **st)
{
	struct entry e = {0};
	(void)st;

	add(&e, "MESSAGE=disk full");
	add(&e, "PRIORITY=3");
	add(&e, "_HOSTNAME=web1");
	add(&e, "_SYSTEMD_UNIT=nginx.service");
	add(&e, "SYSLOG_IDENTIFIER=nginx");
	add(&e, "_PID=42");
	add(&e, "__CURSOR=s=1");
	map(&e, 1700000000123456u, 1024);
	assert_int_equal(ev.msg_len, 9);
	assert_memory_equal(ev.msg, "disk full", 9);
	assert_true(ev.msg_varies);
	assert_int_equal(ev.level, TTLOG_LEVEL_ERROR);
	assert_true(ev.time_ns == 1700000000123456000u);
	assert_string_equal(ev.source, "journal");
	assert_true(org_is(TTLOG__ORIGIN_HOST, "web1"));
	assert_true(org_is(TTLOG__ORIGIN_SERVICE, "nginx.service"));
	assert_string_equal(field("_PID"), "42");
	assert_string_equal(field("SYSLOG_IDENTIFIER"), "nginx");
	assert_null(field("MESSAGE"));
	assert_null(field("PRIORITY"));
	assert_null(field("_HOSTNAME"));
	assert_null(field("__CURSOR"));
	assert_false(ev.truncated);
}

static void test_identifier_names_service_without_unit(void **st)
{
	struct entry e = {0};
	(void)st;

	add(&e, "SYSLOG_IDENTIFIER=cron");
	add(&e, "MESSAGE=x");
	map(&e, 0, 1024);
	assert_true(org_is(TTLOG__ORIGIN_SERVICE, "cron"));
	assert_null(org[TTLOG__ORIGIN_HOST].p);
	assert_true(ev.time_ns == 0);
}

static void test_priorities_map_like_syslog_severities(void **st)
{
	static const int want[] = {TTLOG_LEVEL_FATAL, TTLOG_LEVEL_FATAL,
				   TTLOG_LEVEL_FATAL, TTLOG_LEVEL_ERROR,
				   TTLOG_LEVEL_WARN,  TTLOG_LEVEL_INFO,
				   TTLOG_LEVEL_INFO,  TTLOG_LEVEL_DEBUG};
	char f[32];
	(void)st;

	for (int p = 0; p < 8; p++) {
		struct entry e = {0};
		snprintf(f, sizeof(f), "PRIORITY=%d", p);
		add(&e, f);
		map(&e, 0, 1024);
		assert_int_equal(ev.level, want[p]);
	}
	const char *bad[] = {"PRIORITY=8", "PRIORITY=", "PRIORITY=12",
			     "PRIORITY=x"};
	for (size_t i = 0; i < 4; i++) {
		struct entry e = {0};
		add(&e, bad[i]);
		map(&e, 0, 1024);
		assert_int_equal(ev.level, TTLOG_LEVEL_INFO);
	}
}

static void test_not_utf8_and_long_values_skipped_and_counted(void **st)
{
	struct entry e = {0};
	(void)st;

	add_bytes(&e, "BLOB=\xff\x00\x01", 8);
	add(&e, "LONG=0123456789abcdef");
	add(&e, "OK=fine");
	add_bytes(&e, "MESSAGE=\xc3", 9);
	map(&e, 0, 10);
	assert_null(field("BLOB"));
	assert_null(field("LONG"));
	assert_string_equal(field("OK"), "fine");
	assert_int_equal(sk.not_utf8, 2);
	assert_int_equal(sk.too_long, 1);
	assert_int_equal(ev.msg_len, 0);
}

static void test_long_message_cut_on_a_whole_character(void **st)
{
	struct entry e = {0};
	(void)st;

	/* "aé" is 3 bytes; cut at 2 keeps "a", not half of the é. */
	add(&e, "MESSAGE=a\xc3\xa9");
	map(&e, 0, 2);
	assert_int_equal(ev.msg_len, 1);
	assert_true(ev.truncated);
	assert_int_equal(sk.too_long, 1);
}

static void test_fields_past_the_limit_counted_first_repeat_kept(void **st)
{
	struct entry e = {0};
	(void)st;

	add(&e, "REPEAT=first");
	add(&e, "REPEAT=second");
	for (int i = 0; i < TTLOG__IN_MAX_FIELDS + 5; i++) {
		snprintf(e.bufs[i], sizeof(e.bufs[i]), "F%d=v", i);
		add(&e, e.bufs[i]);
	}
	map(&e, 0, 1024);
	assert_string_equal(field("REPEAT"), "first");
	assert_int_equal(ev.nfields, TTLOG__IN_MAX_FIELDS);
	assert_int_equal(sk.too_many, 6);
	assert_true(ev.truncated);
}

static void test_match_terms_checked(void **st)
{
	char err[256];
	const char *ok[] = {"_SYSTEMD_UNIT=a.service", "+", "PRIORITY=3",
			    "MESSAGE="};
	const char *lower[] = {"unit=a"};
	const char *digit[] = {"3X=a"};
	const char *noeq[] = {"PRIORITY"};
	const char *lead[] = {"+", "A=1"};
	const char *trail[] = {"A=1", "+"};
	const char *twice[] = {"A=1", "+", "+", "B=1"};
	(void)st;

	assert_int_equal(ttlog__journal_match_check(ok, 4, err, sizeof(err)),
			 0);
	assert_int_equal(ttlog__journal_match_check(lower, 1, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "match[0]: \"unit=a\""));
	assert_int_equal(ttlog__journal_match_check(digit, 1, err, sizeof(err)),
			 -1);
	assert_int_equal(ttlog__journal_match_check(noeq, 1, err, sizeof(err)),
			 -1);
	assert_int_equal(ttlog__journal_match_check(lead, 2, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "match[0]"));
	assert_int_equal(ttlog__journal_match_check(trail, 2, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "match[1]"));
	assert_int_equal(ttlog__journal_match_check(twice, 4, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "match[1]"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_level_origin_and_fields),
		cmocka_unit_test(test_identifier_names_service_without_unit),
		cmocka_unit_test(test_priorities_map_like_syslog_severities),
		cmocka_unit_test(
			test_not_utf8_and_long_values_skipped_and_counted),
		cmocka_unit_test(test_long_message_cut_on_a_whole_character),
		cmocka_unit_test(
			test_fields_past_the_limit_counted_first_repeat_kept),
		cmocka_unit_test(test_match_terms_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
