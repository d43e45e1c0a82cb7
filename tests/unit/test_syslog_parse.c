/* test_syslog_parse.c - the syslog input's parser and TCP framing: the
 * RFC 5424 and RFC 3164 examples of the RFCs themselves, structured data,
 * NILVALUEs, timestamps, the sloppy forms accepted, every error with its
 * message, and octet-counted / LF / NUL framing fed whole and byte by
 * byte. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "parse_internal.h"
#include "testutil.h"

/* Every message is parsed from an exact-size heap copy, so that a read
 * past its end shows under ASan and valgrind; the copy and the scratch
 * live until the next parse (the event points into both). */
static char *g_buf;
static struct ttlog__scratch g_s;
static struct ttlog__in_event g_ev;
static char g_err[160];

/* 2026-12-01T00:00:00Z: RFC 3164 times fall in 2026 unless later. */
#define NOW ((time_t)1796083200)

static int parse_n(const char *m, size_t len, time_t now)
{
	free(g_buf);
	g_buf = malloc(len ? len : 1);
	assert_non_null(g_buf);
	memcpy(g_buf, m, len);
	g_err[0] = '\0';
	return ttlog__syslog_parse_at(g_buf, len, now, &g_ev, &g_s, g_err,
				      sizeof(g_err));
}

static const struct ttlog__in_event *ok_at(const char *m, time_t now)
{
	int r = parse_n(m, strlen(m), now);
	if (r != 0)
		print_message("  err: %s\n", g_err);
	assert_int_equal(r, 0);
	assert_string_equal(g_ev.source, "syslog");
	return &g_ev;
}

static const struct ttlog__in_event *ok(const char *m)
{
	return ok_at(m, NOW);
}

static void bad(const char *m, const char *want)
{
	assert_int_equal(parse_n(m, strlen(m), NOW), -1);
	assert_string_equal(g_err, want);
}

static const struct ttlog__in_field *get(const struct ttlog__in_event *ev,
					 const char *key)
{
	for (uint32_t i = 0; i < ev->nfields; i++)
		if (ev->fields[i].key_len == strlen(key) &&
		    memcmp(ev->fields[i].key, key, strlen(key)) == 0)
			return &ev->fields[i];
	return NULL;
}

static void str_is(const struct ttlog__in_event *ev, const char *key,
		   const char *want)
{
	const struct ttlog__in_field *f = get(ev, key);

	if (f == NULL)
		fail_msg("no field %s", key);
	assert_int_equal(f->type, TTLOG_TYPE_STR);
	assert_int_equal(f->v.str.len, strlen(want));
	assert_memory_equal(f->v.str.ptr, want, strlen(want));
}

static void u64_is(const struct ttlog__in_event *ev, const char *key,
		   uint64_t want)
{
	const struct ttlog__in_field *f = get(ev, key);

	if (f == NULL)
		fail_msg("no field %s", key);
	assert_int_equal(f->type, TTLOG_TYPE_U64);
	assert_int_equal(f->v.u64, want);
}

static void msg_is(const struct ttlog__in_event *ev, const char *want)
{
	assert_int_equal(ev->msg_len, strlen(want));
	assert_memory_equal(ev->msg, want, strlen(want));
}

static uint64_t utc_ns(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s};
	return (uint64_t)timegm(&tm) * 1000000000u;
}

static void test_syslog_5424_rfc_example_1_no_sd_and_bom(void **state)
{
	(void)state;
	const struct ttlog__in_event *ev =
		ok("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - "
		   "ID47 - \xEF\xBB\xBF'su root' failed for lonvick on "
		   "/dev/pts/8");
	u64_is(ev, "facility", 4);
	u64_is(ev, "severity", 2);
	assert_int_equal(ev->level, TTLOG_LEVEL_FATAL);
	assert_int_equal(ev->time_ns, 1065910455003000000ull);
	str_is(ev, "host", "mymachine.example.com");
	str_is(ev, "app", "su");
	assert_null(get(ev, "procid"));
	str_is(ev, "msgid", "ID47");
	assert_int_equal(ev->nfields, 5);
	assert_false(ev->truncated);
	msg_is(ev, "'su root' failed for lonvick on /dev/pts/8");
}

static void test_syslog_5424_rfc_example_2_offset_and_micros(void **state)
{
	(void)state;
	const struct ttlog__in_event *ev =
		ok("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc "
		   "8710 - - %% It's time to make the do-nuts.");
	u64_is(ev, "facility", 20);
	u64_is(ev, "severity", 5);
	assert_int_equal(ev->level, TTLOG_LEVEL_INFO);
	assert_int_equal(ev->time_ns, 1061727255000003000ull);
	str_is(ev, "host", "192.0.2.1");
	str_is(ev, "app", "myproc");
	str_is(ev, "procid", "8710");
	assert_null(get(ev, "msgid"));
	assert_int_equal(ev->nfields, 5);
	msg_is(ev, "%% It's time to make the do-nuts.");
}

static void test_syslog_5424_rfc_example_3_sd_and_msg(void **state)
{
	(void)state;
	const struct ttlog__in_event *ev =
		ok("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com "
		   "evntslog - ID47 [exampleSDID@32473 iut=\"3\" "
		   "eventSource=\"Application\" eventID=\"1011\"] "
		   "\xEF\xBB\xBF"
		   "An application event log entry...");
	str_is(ev, "app", "evntslog");
	assert_null(get(ev, "procid"));
	str_is(ev, "exampleSDID@32473.iut", "3");
	str_is(ev, "exampleSDID@32473.eventSource", "Application");
	str_is(ev, "exampleSDID@32473.eventID", "1011");
	assert_int_equal(ev->nfields, 8);
	msg_is(ev, "An application event log entry...");
}

static void test_syslog_5424_rfc_example_4_two_sd_elements_no_msg(void **state)
{
	(void)state;
	const struct ttlog__in_event *ev =
		ok("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com "
		   "evntslog - ID47 [exampleSDID@32473 iut=\"3\" "
		   "eventSource=\"Application\" eventID=\"1011\"]"
		   "[examplePriority@32473 class=\"high\"]");
	str_is(ev, "exampleSDID@32473.eventID", "1011");
	str_is(ev, "examplePriority@32473.class", "high");
	/* In order, after the header fields. */
	assert_int_equal(ev->nfields, 9);
	assert_int_equal(ev->fields[8].key_len,
			 strlen("examplePriority@32473.class"));
	assert_int_equal(ev->msg_len, 0);
}

static void test_syslog_5424_sd_values_are_unescaped(void **state)
{
	(void)state;
	const struct ttlog__in_event *ev =
		ok("<14>1 - - - - - [x@1 q=\"say \\\"hi\\\"\" "
		   "b=\"back\\\\slash\" c=\"br\\]acket\" d=\"keep\\n\" "
		   "e=\"raw]ok\" f=\"\" q=\"dup\"] m");
	str_is(ev, "x@1.b", "back\\slash");
	str_is(ev, "x@1.c", "br]acket");
	str_is(ev, "x@1.d", "keep\\n");
	str_is(ev, "x@1.e", "raw]ok");
	str_is(ev, "x@1.f", "");
	/* A repeated param keeps its last value, in its first place. */
	assert_int_equal(ev->nfields, 8);
	assert_memory_equal(ev->fields[2].key, "x@1.q", 5);
	str_is(ev, "x@1.q", "dup");
	assert_int_equal(ev->duplicate_keys, 1);
	assert_memory_equal(ev->dup_key, "x@1.q", 5);
	msg_is(ev, "m");
	/* Both values unescaped: the last one stands, whole. */
	ev = ok("<14>1 - - - - - [x@1 q=\"a\\\"b\" q=\"c\\]d\"]");
	str_is(ev, "x@1.q", "c]d");
	assert_int_equal(ev->nfields, 3);
}

static void test_syslog_5424_nilvalues_mean_absent(void **state)
{
	(void)state;
	const struct ttlog__in_event *ev = ok("<15>1 - - - - - -");
	assert_int_equal(ev->time_ns, 0);
	assert_int_equal(ev->nfields, 2);
	assert_int_equal(ev->level, TTLOG_LEVEL_DEBUG);
	assert_int_equal(ev->msg_len, 0);
	/* A "-" that is the message is the message. */
	msg_is(ok("<15>1 - - - - - - -"), "-");
}

static void test_syslog_5424_timestamps_fraction_and_offsets(void **state)
{
	static const struct {
		const char *ts;
		uint64_t ns;
	} cases[] = {
		{"2003-10-11T22:14:15Z", 1065910455000000000ull},
		{"2003-10-11T22:14:15.1Z", 1065910455100000000ull},
		{"2003-10-11T22:14:15.123456789Z", 1065910455123456789ull},
		{"2003-10-11T22:14:15.1234567899Z", 1065910455123456789ull},
		{"2003-10-11T22:14:15+05:30", 1065890655000000000ull},
		{"2003-10-11t22:14:15.5-00:00", 1065910455500000000ull},
		{"2003-10-11T22:14:15z", 1065910455000000000ull},
		{"2016-12-31T23:59:60Z", 1483228800000000000ull},
		{"2024-02-29T00:00:00Z", 1709164800000000000ull},
		{"1970-01-01T00:00:00Z", 0},
	};
	char m[128];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(m, sizeof(m), "<13>1 %s h a - - - x", cases[i].ts);
		assert_int_equal(ok(m)->time_ns, cases[i].ns);
		msg_is(&g_ev, "x");
	}
	assert_int_equal(ok("<13>1 2026-12-01T00:00:00Z - - - - -")->time_ns,
			 utc_ns(2026, 12, 1, 0, 0, 0));
}

static void test_syslog_5424_bad_timestamps_are_refused(void **state)
{
	static const char *const bad_ts[] = {
		"2003-13-11T22:14:15Z",	 "2003-02-29T22:14:15Z",
		"2003-10-11T24:14:15Z",	 "2003-10-11T22:14:15",
		"2003-10-11T22:14:15.Z", "2003-10-11T22:14:15+5:30",
		"1969-12-31T23:59:59Z",	 "1970-01-01T00:00:00+00:01",
		"2003-10-11T22:14:15ZZ", "Oct 11 22:14:15",
	};
	char m[128];
	(void)state;

	for (size_t i = 0; i < sizeof(bad_ts) / sizeof(bad_ts[0]); i++) {
		snprintf(m, sizeof(m), "<13>1 %s h a - - -", bad_ts[i]);
		bad(m, "byte 6: invalid TIMESTAMP (expected '-' or RFC 3339 "
		       "such as 2003-10-11T22:14:15.003Z)");
	}
}

static void test_syslog_5424_errors_name_the_field_and_byte(void **state)
{
	(void)state;
	bad("<13>1 ", "byte 6: expected TIMESTAMP");
	bad("<13>1 - host app", "byte 16: expected a space before PROCID");
	bad("<13>1 -  host a p m", "byte 8: expected HOSTNAME");
	bad("<13>1 - h a p m [x@1",
	    "byte 20: unterminated SD-ELEMENT (expected ']')");
	bad("<13>1 - h a p m [x@1 a=\"1\"",
	    "byte 26: unterminated SD-ELEMENT (expected ']')");
	bad("<13>1 - h a p m [x@1 a=\"1]",
	    "byte 26: unterminated PARAM-VALUE (expected '\"')");
	bad("<13>1 - h a p m [x@1 a=\"1\\\"]",
	    "byte 28: unterminated PARAM-VALUE (expected '\"')");
	bad("<13>1 - h a p m [x@1 a=1]",
	    "byte 22: expected '=\"' after PARAM-NAME");
	bad("<13>1 - h a p m [x@1 =\"1\"]", "byte 21: invalid PARAM-NAME");
	bad("<13>1 - h a p m [x@1 a=\"1\"b=\"2\"]",
	    "byte 26: expected ' ' or ']' in SD-ELEMENT");
	bad("<13>1 - h a p m [] x",
	    "byte 17: invalid SD-ID (1 to 32 printable characters but '=', "
	    "']', '\"')");
	/* 33 characters is one too many (RFC 5424 SD-NAME). */
	bad("<13>1 - h a p m [abcdefghijabcdefghijabcdefghijabc]",
	    "byte 17: invalid SD-ID (1 to 32 printable characters but '=', "
	    "']', '\"')");
	str_is(ok("<13>1 - h a p m [abcdefghijabcdefghijabcdefghijab k=\"v\"]"),
	       "abcdefghijabcdefghijabcdefghijab.k", "v");
}

static void test_syslog_5424_sloppy_forms_are_accepted(void **state)
{
	(void)state;
	/* No space between SD and MSG. */
	msg_is(ok("<13>1 - h a p m [x@1 a=\"1\"]hello"), "hello");
	str_is(&g_ev, "x@1.a", "1");
	msg_is(ok("<13>1 - h a p m -hello"), "hello");
	/* The message ends after MSGID. */
	assert_int_equal(ok("<13>1 - h a p m")->nfields, 6);
	assert_int_equal(g_ev.msg_len, 0);
	/* No SD at all: MSG where SD belongs. */
	msg_is(ok("<13>1 - h a p m hello world"), "hello world");
	/* Extra spaces between params. */
	str_is(ok("<13>1 - h a p m [x@1  a=\"1\"  b=\"2\" ] m"), "x@1.b", "2");
}

static void test_syslog_3164_rfc_examples(void **state)
{
	(void)state;
	const struct ttlog__in_event *ev =
		ok("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for "
		   "lonvick on /dev/pts/8");
	assert_int_equal(ev->time_ns, utc_ns(2026, 10, 11, 22, 14, 15));
	u64_is(ev, "facility", 4);
	u64_is(ev, "severity", 2);
	str_is(ev, "host", "mymachine");
	str_is(ev, "app", "su");
	assert_null(get(ev, "procid"));
	assert_int_equal(ev->nfields, 4);
	msg_is(ev, "'su root' failed for lonvick on /dev/pts/8");

	bad("Use the BFG!", "missing <PRI> at byte 0");

	/* The time zone and year that follow the timestamp are not part of
	 * RFC 3164's grammar: "CST" reads as the host. */
	ev = ok("<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% "
		"It's time to make the do-nuts.  %%  Ingredients: Mix=OK");
	assert_int_equal(ev->time_ns, utc_ns(2026, 8, 24, 5, 34, 0));
	str_is(ev, "host", "CST");
	assert_null(get(ev, "app"));
	msg_is(ev, "1987 mymachine myproc[10]: %% It's time to make the "
		   "do-nuts.  %%  Ingredients: Mix=OK");

	/* No valid timestamp: all of it is the message. */
	ev = ok("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org "
		"10.1.2.3 sched[0]: That's All Folks!");
	assert_int_equal(ev->time_ns, 0);
	assert_int_equal(ev->level, TTLOG_LEVEL_FATAL);
	assert_int_equal(ev->nfields, 2);
	msg_is(ev, "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org "
		   "10.1.2.3 sched[0]: That's All Folks!");
}

static void test_syslog_3164_sloppy_forms(void **state)
{
	(void)state;
	/* No hostname: the first word is a tag. */
	const struct ttlog__in_event *ev =
		ok("<13>Oct  1 08:09:10 sshd[123]: Accepted key");
	assert_int_equal(ev->time_ns, utc_ns(2026, 10, 1, 8, 9, 10));
	assert_null(get(ev, "host"));
	str_is(ev, "app", "sshd");
	str_is(ev, "procid", "123");
	msg_is(ev, "Accepted key");
	/* Zero-padded and one-digit days, lower case month. */
	assert_int_equal(ok("<13>oct 01 08:09:10 h t: m")->time_ns,
			 utc_ns(2026, 10, 1, 8, 9, 10));
	assert_int_equal(ok("<13>Oct 1 08:09:10 h t: m")->time_ns,
			 utc_ns(2026, 10, 1, 8, 9, 10));
	str_is(&g_ev, "host", "h");
	/* TAG[PID] with or without a colon and a space after it. */
	msg_is(ok("<13>Oct 11 22:14:15 host app[7]:msg"), "msg");
	str_is(&g_ev, "procid", "7");
	msg_is(ok("<13>Oct 11 22:14:15 host app[7] msg"), "msg");
	str_is(&g_ev, "app", "app");
	/* NAME: needs a space after it, so that an IPv6 host stays a host
	 * and "tag:msg" stays text. */
	ev = ok("<13>Oct 11 22:14:15 fe80::1 cron: job");
	str_is(ev, "host", "fe80::1");
	str_is(ev, "app", "cron");
	msg_is(ev, "job");
	ev = ok("<13>Oct 11 22:14:15 host a:b c");
	str_is(ev, "host", "host");
	assert_null(get(ev, "app"));
	msg_is(ev, "a:b c");
	/* No timestamp but a tag; no timestamp and no tag. */
	ev = ok("<13>myapp: hello");
	assert_int_equal(ev->time_ns, 0);
	str_is(ev, "app", "myapp");
	msg_is(ev, "hello");
	ev = ok("<13>hello world");
	assert_int_equal(ev->nfields, 2);
	msg_is(ev, "hello world");
	/* Nothing after the PRI at all. */
	assert_int_equal(ok("<13>")->msg_len, 0);
	/* Several spaces, and an RFC 3339 time as rsyslog sends it. */
	ev = ok("<13>2003-10-11T22:14:15.003Z  host  app[1]: m");
	assert_int_equal(ev->time_ns, 1065910455003000000ull);
	str_is(ev, "host", "host");
	str_is(ev, "procid", "1");
	msg_is(ev, "m");
	/* Impossible dates are no timestamp. */
	ev = ok("<13>Feb 30 08:09:10 h t: m");
	assert_int_equal(ev->time_ns, 0);
	msg_is(ev, "Feb 30 08:09:10 h t: m");
	assert_int_equal(ok("<13>Oct 11 25:14:15 h t: m")->time_ns, 0);
}

static void test_syslog_3164_year_and_local_time(void **state)
{
	time_t jan1 = (time_t)(utc_ns(2026, 1, 1, 0, 0, 0) / 1000000000u);
	(void)state;

	/* In January a December time is last year's. */
	assert_int_equal(ok_at("<13>Dec 31 23:00:00 h t: m", jan1)->time_ns,
			 utc_ns(2025, 12, 31, 23, 0, 0));
	/* Up to a day ahead stays this year (clocks disagree)... */
	assert_int_equal(ok_at("<13>Jan  2 00:00:00 h t: m", jan1)->time_ns,
			 utc_ns(2026, 1, 2, 0, 0, 0));
	/* ...a second more is last year's. */
	assert_int_equal(ok_at("<13>Jan  2 00:00:01 h t: m", jan1)->time_ns,
			 utc_ns(2025, 1, 2, 0, 0, 1));
	/* The timestamp is local time: one hour east of UTC. */
	setenv("TZ", "CET-1", 1);
	tzset();
	assert_int_equal(ok("<13>Oct 11 22:14:15 h t: m")->time_ns,
			 utc_ns(2026, 10, 11, 21, 14, 15));
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(ok("<13>Oct 11 22:14:15 h t: m")->time_ns,
			 utc_ns(2026, 10, 11, 22, 14, 15));
}

static void test_syslog_every_severity_and_facility(void **state)
{
	static const int want[8] = {
		TTLOG_LEVEL_FATAL, TTLOG_LEVEL_FATAL, TTLOG_LEVEL_FATAL,
		TTLOG_LEVEL_ERROR, TTLOG_LEVEL_WARN,  TTLOG_LEVEL_INFO,
		TTLOG_LEVEL_INFO,  TTLOG_LEVEL_DEBUG,
	};
	char m[32];
	(void)state;

	for (unsigned pri = 0; pri <= 191; pri++) {
		snprintf(m, sizeof(m), "<%u>1 - - - - - - x", pri);
		assert_int_equal(ok(m)->level, want[pri % 8]);
		u64_is(&g_ev, "facility", pri / 8);
		u64_is(&g_ev, "severity", pri % 8);
		snprintf(m, sizeof(m), "<%u>x", pri);
		assert_int_equal(ok(m)->level, want[pri % 8]);
	}
	/* Leading zeros are allowed. */
	u64_is(ok("<007>x"), "severity", 7);
}

static void test_syslog_bad_pri_is_refused(void **state)
{
	static const char three[] =
		"invalid <PRI> at byte 1: expected 1 to 3 digits and '>'";
	(void)state;
	bad("", "missing <PRI> at byte 0");
	bad(" <13>x", "missing <PRI> at byte 0");
	bad("<>x", three);
	bad("<1234>x", three);
	bad("<13", three);
	bad("<1a>x", three);
	bad("<192>x", "invalid <PRI> at byte 1: 192 is above 191");
	bad("<999>1 - - - - - -", "invalid <PRI> at byte 1: 999 is above 191");
}

static void test_syslog_bom_and_line_ends_are_trimmed(void **state)
{
	(void)state;
	msg_is(ok("<13>1 - - - - - - \xEF\xBB\xBFhi\r\n"), "hi");
	msg_is(ok("<13>1 - - - - - - hi\n"), "hi");
	msg_is(ok("<13>1 - - - - - - hi\n\n"), "hi");
	msg_is(ok("<13>Oct 11 22:14:15 h t: \xEF\xBB\xBFhi\n"), "hi");
	/* Only a BOM at the very start goes. */
	msg_is(ok("<13>1 - - - - - - a\xEF\xBB\xBF"), "a\xEF\xBB\xBF");
	msg_is(ok("<13>1 - - - - - - \xEF\xBB"), "\xEF\xBB");
	/* Line ends inside stay. */
	msg_is(ok("<13>1 - - - - - - a\nb\n"), "a\nb");
}

static void test_syslog_more_than_64_fields_truncates(void **state)
{
	char m[2048];
	size_t n;
	(void)state;

	n = (size_t)snprintf(m, sizeof(m), "<13>1 - - - - - [x@1");
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(m + n, sizeof(m) - n, " p%d=\"v\\\\%d\"",
				      i, i);
	snprintf(m + n, sizeof(m) - n, "] tail");
	const struct ttlog__in_event *ev = ok(m);
	assert_int_equal(ev->nfields, TTLOG__IN_MAX_FIELDS);
	assert_true(ev->truncated);
	str_is(ev, "x@1.p0", "v\\0");
	str_is(ev, "x@1.p61", "v\\61");
	assert_null(get(ev, "x@1.p62"));
	msg_is(ev, "tail");
	/* 64 exactly is not truncated. */
	n = (size_t)snprintf(m, sizeof(m), "<13>1 - - - - - [x@1");
	for (int i = 0; i < 62; i++)
		n += (size_t)snprintf(m + n, sizeof(m) - n, " p%d=\"v\"", i);
	snprintf(m + n, sizeof(m) - n, "]");
	assert_int_equal(ok(m)->nfields, TTLOG__IN_MAX_FIELDS);
	assert_false(g_ev.truncated);
}

/* Thousands of repeats of one long param with escaped values: one field,
 * the last value, and the scratch holds no key twice (ASan and valgrind
 * see any write past it). A repeat past the field limit still replaces. */
static void test_syslog_repeated_params_take_no_room(void **state)
{
	static char m[200000];
	size_t n;
	(void)state;

	n = (size_t)snprintf(m, sizeof(m),
			     "<13>1 - - - - - [abcdefghij"
			     "klmnopqrstuvwxyz012345");
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(m + n, sizeof(m) - n, " p%d=\"v\"", i);
	for (int i = 0; i < 3000; i++)
		n += (size_t)snprintf(m + n, sizeof(m) - n,
				      " ABCDEFGHIJKLMNOPQRSTUVWXYZ012345="
				      "\"\\\"%d\" p0=\"w\\]%d\"",
				      i, i);
	snprintf(m + n, sizeof(m) - n, "] tail");
	const struct ttlog__in_event *ev = ok(m);
	assert_int_equal(ev->nfields, TTLOG__IN_MAX_FIELDS);
	assert_true(ev->truncated);
	str_is(ev, "abcdefghijklmnopqrstuvwxyz012345.p0", "w]2999");
	assert_int_equal(ev->duplicate_keys, 3000);
	msg_is(ev, "tail");
	/* 64 keys and the unescaped values, not 6000 more keys. */
	assert_true(g_s.len < 32 * 1024);
}

static void test_syslog_scratch_is_reused_and_err_may_be_null(void **state)
{
	struct ttlog__scratch s = {0};
	struct ttlog__in_event ev;
	static const char m[] = "<13>1 - - - - - [a@1 k=\"\\\"\"] x";
	(void)state;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(
			ttlog__syslog_parse(m, sizeof(m) - 1, &ev, &s, NULL, 0),
			0);
		assert_int_equal(ev.fields[2].v.str.len, 1);
		assert_int_equal(ev.fields[2].v.str.ptr[0], '"');
		assert_true(ev.fields[2].v.str.ptr >= s.p &&
			    ev.fields[2].v.str.ptr < s.p + s.len);
	}
	assert_int_equal(ttlog__syslog_parse("x", 1, &ev, &s, NULL, 0), -1);
	ttlog__scratch_destroy(&s);
	assert_null(s.p);
}

/* Frames buf (len bytes, from an exact-size heap copy) with max_msg. */
static int frame(const char *buf, size_t len, size_t max_msg, char *out,
		 size_t *consumed)
{
	char *b = malloc(len ? len : 1);
	const char *m = NULL;
	size_t ml = 0;
	int r;

	assert_non_null(b);
	memcpy(b, buf, len);
	g_err[0] = '\0';
	*consumed = 12345;
	r = ttlog__syslog_frame(b, len, max_msg, &m, &ml, consumed, g_err,
				sizeof(g_err));
	if (r == 1) {
		assert_true(m >= b && m + ml <= b + len);
		memcpy(out, m, ml);
		out[ml] = '\0';
	}
	free(b);
	return r;
}

static void frame_bad(const char *buf, size_t max_msg, const char *want)
{
	char out[256];
	size_t c;

	assert_int_equal(frame(buf, strlen(buf), max_msg, out, &c), -1);
	assert_string_equal(g_err, want);
}

static void test_syslog_frame_octet_counted(void **state)
{
	char out[256];
	size_t c;
	(void)state;

	assert_int_equal(frame("5 <1>ab7 <2>cdef", 16, 100, out, &c), 1);
	assert_string_equal(out, "<1>ab");
	assert_int_equal(c, 7);
	assert_int_equal(frame("7 <2>cdef", 9, 100, out, &c), 1);
	assert_string_equal(out, "<2>cdef");
	assert_int_equal(c, 9);
	/* The count may cover LF and NUL bytes: they are message bytes. */
	assert_int_equal(frame("6 <1>a\n\0", 8, 100, out, &c), 1);
	assert_int_equal(c, 8);
	assert_memory_equal(out, "<1>a\n\0", 6);
	/* Exactly max_msg is fine. */
	assert_int_equal(frame("3 <1>", 5, 3, out, &c), 1);
	/* Incomplete: digits only, no body, part of the body. */
	assert_int_equal(frame("12", 2, 100, out, &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(frame("12 ", 3, 100, out, &c), 0);
	assert_int_equal(frame("12 <13>1 - -", 12, 100, out, &c), 0);
	assert_int_equal(frame("", 0, 100, out, &c), 0);
	assert_int_equal(c, 0);
}

static void test_syslog_frame_bad_counts_are_errors(void **state)
{
	(void)state;
	frame_bad("12x <13>", 100,
		  "byte 2: expected a space after the octet count");
	frame_bad("0 ", 100,
		  "octet count starts with 0 at byte 0 "
		  "(expected 1 to 100)");
	frame_bad("012 <13>abcdefgh", 100,
		  "octet count starts with 0 at byte 0 (expected 1 to 100)");
	frame_bad("101 ", 100,
		  "octet count at byte 0 is above the largest "
		  "message accepted (100 bytes)");
	/* Refused as soon as the digits pass the limit, before the space
	 * arrives, and however many digits there are. */
	frame_bad("\r\n1000", 100,
		  "octet count at byte 2 is above the largest "
		  "message accepted (100 bytes)");
	frame_bad("99999999999999999999999999999999", 100,
		  "octet count at byte 0 is above the largest message "
		  "accepted (100 bytes)");
	frame_bad("x", 100,
		  "byte 0: expected an octet count or '<' to start a message");
	frame_bad("\r\n-", 100,
		  "byte 2: expected an octet count or '<' to start a message");
}

static void test_syslog_frame_lf_and_nul_terminated(void **state)
{
	char out[256];
	size_t c;
	(void)state;

	assert_int_equal(frame("<13>hi\n<14>yo\n", 14, 100, out, &c), 1);
	assert_string_equal(out, "<13>hi");
	assert_int_equal(c, 7);
	assert_int_equal(frame("<13>hi\0<14>", 11, 100, out, &c), 1);
	assert_string_equal(out, "<13>hi");
	assert_int_equal(c, 7);
	/* Whichever terminator comes first. */
	assert_int_equal(frame("<13>a\0b\n", 8, 100, out, &c), 1);
	assert_string_equal(out, "<13>a");
	assert_int_equal(frame("<13>a\nb\0", 8, 100, out, &c), 1);
	assert_string_equal(out, "<13>a");
	/* CR LF: the CR stays in the message (the parser trims it). */
	assert_int_equal(frame("<13>a\r\n", 7, 100, out, &c), 1);
	assert_string_equal(out, "<13>a\r");
	assert_int_equal(c, 7);
	/* Separators before a message are skipped and counted. */
	assert_int_equal(frame("\r\n\n \0<13>a\n", 11, 100, out, &c), 1);
	assert_string_equal(out, "<13>a");
	assert_int_equal(c, 11);
	assert_int_equal(frame("\r\n\0 ", 4, 100, out, &c), 0);
	assert_int_equal(c, 4);
	/* No terminator yet. */
	assert_int_equal(frame("<13>abc", 7, 100, out, &c), 0);
	assert_int_equal(c, 0);
}

static void test_syslog_frame_oversize_lf_message_is_an_error(void **state)
{
	char out[256];
	size_t c;
	(void)state;

	/* max_msg bytes and no terminator: more may come. */
	assert_int_equal(frame("<13>abcd", 8, 8, out, &c), 0);
	assert_int_equal(frame("<13>abcd\n", 9, 8, out, &c), 1);
	assert_string_equal(out, "<13>abcd");
	frame_bad("<13>abcde", 8,
		  "no line end within the largest message accepted (8 "
		  "bytes)");
	/* Also when the terminator is there but too late. */
	frame_bad("<13>abcde\n", 8,
		  "no line end within the largest message accepted (8 "
		  "bytes)");
}

static void test_syslog_frame_split_across_reads_byte_by_byte(void **state)
{
	static const char stream[] = "17 <13>1 - - - - - x"
				     "\r\n"
				     "<14>Oct 11 22:14:15 h t: two\n"
				     "<15>three\0"
				     "3 <1>"
				     "20 <13>1 - - - ";
	static const char *const want[] = {"<13>1 - - - - - x",
					   "<14>Oct 11 22:14:15 h t: two",
					   "<15>three", "<1>"};
	char buf[sizeof(stream)], out[256];
	size_t have = 0, got = 0, c;
	(void)state;

	for (size_t i = 0; i < sizeof(stream) - 1; i++) {
		buf[have++] = stream[i];
		for (;;) {
			int r = frame(buf, have, 64, out, &c);
			assert_true(r == 0 || r == 1);
			assert_true(c <= have);
			memmove(buf, buf + c, have - c);
			have -= c;
			if (r == 0)
				break;
			assert_true(got < 4);
			assert_string_equal(out, want[got]);
			got++;
			if (got == 1) {
				/* It parses, too. */
				assert_int_equal(parse_n(out, strlen(out), NOW),
						 0);
				msg_is(&g_ev, "x");
			}
		}
	}
	assert_int_equal(got, 4);
	/* The last message is incomplete and still held. */
	assert_int_equal(have, 15);
	assert_memory_equal(buf, "20 <13>1 - - - ", 15);
}

static int teardown(void **state)
{
	(void)state;
	free(g_buf);
	g_buf = NULL;
	ttlog__scratch_destroy(&g_s);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syslog_5424_rfc_example_1_no_sd_and_bom),
		cmocka_unit_test(
			test_syslog_5424_rfc_example_2_offset_and_micros),
		cmocka_unit_test(test_syslog_5424_rfc_example_3_sd_and_msg),
		cmocka_unit_test(
			test_syslog_5424_rfc_example_4_two_sd_elements_no_msg),
		cmocka_unit_test(test_syslog_5424_sd_values_are_unescaped),
		cmocka_unit_test(test_syslog_5424_nilvalues_mean_absent),
		cmocka_unit_test(
			test_syslog_5424_timestamps_fraction_and_offsets),
		cmocka_unit_test(test_syslog_5424_bad_timestamps_are_refused),
		cmocka_unit_test(
			test_syslog_5424_errors_name_the_field_and_byte),
		cmocka_unit_test(test_syslog_5424_sloppy_forms_are_accepted),
		cmocka_unit_test(test_syslog_3164_rfc_examples),
		cmocka_unit_test(test_syslog_3164_sloppy_forms),
		cmocka_unit_test(test_syslog_3164_year_and_local_time),
		cmocka_unit_test(test_syslog_every_severity_and_facility),
		cmocka_unit_test(test_syslog_bad_pri_is_refused),
		cmocka_unit_test(test_syslog_bom_and_line_ends_are_trimmed),
		cmocka_unit_test(test_syslog_more_than_64_fields_truncates),
		cmocka_unit_test(test_syslog_repeated_params_take_no_room),
		cmocka_unit_test(
			test_syslog_scratch_is_reused_and_err_may_be_null),
		cmocka_unit_test(test_syslog_frame_octet_counted),
		cmocka_unit_test(test_syslog_frame_bad_counts_are_errors),
		cmocka_unit_test(test_syslog_frame_lf_and_nul_terminated),
		cmocka_unit_test(
			test_syslog_frame_oversize_lf_message_is_an_error),
		cmocka_unit_test(
			test_syslog_frame_split_across_reads_byte_by_byte),
	};

	/* RFC 3164 times are local: pin the zone. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, teardown);
}
