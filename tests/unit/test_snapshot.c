/* test_snapshot.c - the flight recorder: its LZ4 frame writer checked by
 * liblz4, snapshot files read back by the lz4 command and python's cbor2
 * (not by ttlog's own reader), the history's bound, periodic snapshots,
 * retention, an unwritable directory, and snapshots taken while two
 * threads log at full speed. Crashes are tested with real processes in
 * tests/integration/test_snapshot.py. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lz4frame.h>

#include "testutil.h"

#include "lz4w_internal.h"
#include <ttlog/ttlog.h>

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static char *make_dir(void)
{
	char tmpl[] = "/tmp/ttlog-snap-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void remove_dir(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void start(const char *dir, void (*tune)(struct ttlog_options *))
{
	struct ttlog_options o;

	ttlog_options_init(&o);
	o.service = "unit test";
	o.snapshot_dir = dir;
	if (tune != NULL)
		tune(&o);
	assert_int_equal(ttlog_init(&o), 0);
}

/* The snapshot files of the test service in dir, sorted by name. */
static size_t list_snapshots(const char *dir, char names[][256], size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (strncmp(de->d_name, "unit_test-", 10) != 0 || len < 7 ||
		    strcmp(de->d_name + len - 7, ".ttsnap") != 0)
			continue;
		assert_true(n < max);
		snprintf(names[n++], 256, "%s", de->d_name);
	}
	closedir(d);
	qsort(names, n, 256, (int (*)(const void *, const void *))strcmp);
	return n;
}

/* Decodes a snapshot with the lz4 command and cbor2 and prints:
 *   HEAD trigger reason service pid nstrings omitted
 *   EV tid level msg seq      (one per event; seq "-" when absent)
 *   END n                     (the trailer's count, checked)
 * Strings are resolved through the header's table; spaces become "_". */
static const char decode_script[] =
	"import io, subprocess, sys, cbor2\n"
	"raw = subprocess.run(['lz4', '-dc', sys.argv[1]], check=True,\n"
	"                     capture_output=True).stdout\n"
	"f = io.BytesIO(raw)\n"
	"dec = cbor2.CBORDecoder(f)\n"
	"h = dec.decode()\n"
	"assert h['format'] == 'ttlog-snapshot' and h['v'] == 1\n"
	"s = h['strings']\n"
	"ref = lambda r: s[r] if isinstance(r, int) else r\n"
	"w = lambda x: str(x).replace(' ', '_')\n"
	"print('HEAD', h['trigger'], w(h['reason']), w(h['service']),\n"
	"      h['pid'], len(s), h['omitted'])\n"
	"n = 0\n"
	"while True:\n"
	"    e = dec.decode()\n"
	"    if isinstance(e, dict):\n"
	"        assert e['end'] == n, (e, n)\n"
	"        assert f.tell() == len(raw), 'bytes after the trailer'\n"
	"        print('END', n)\n"
	"        break\n"
	"    t, tid, level, msg, file, line, flags, *kv = e\n"
	"    assert len(kv) % 2 == 0\n"
	"    fl = {ref(k): v for k, v in zip(kv[0::2], kv[1::2])}\n"
	"    print('EV', tid, level, w(ref(msg)), fl.get('seq', '-'))\n"
	"    n += 1\n";

static char *decode(const char *dir, const char *name)
{
	char cmd[sizeof(decode_script) + 1024];
	char *out;
	size_t len;
	int status;

	snprintf(cmd, sizeof(cmd), "%s -c \"%s\" '%s/%s'", TTLOG_TEST_PYTHON3,
		 decode_script, dir, name);
	out = run_capture(cmd, &len, &status);
	if (status != 0)
		fail_msg("cbor2 could not read %s/%s:\n%s", dir, name, out);
	return out;
}

/* Counts the EV lines of out and checks that, per tid, seq values go up by
 * one (or, with gaps_ok, only go up: events a full ring dropped are
 * missing, never repeated or reordered); returns the number of events,
 * *last the last seq of `tid` (or -1). */
static size_t check_sequence_gaps(const char *out, long tid, long *last,
				  int gaps_ok)
{
	size_t n = 0;
	long prev[64][2];
	size_t nprev = 0;
	const char *p = out;

	*last = -1;
	while ((p = strstr(p, "\nEV ")) != NULL) {
		long t, level, seq;
		char msg[128];
		p++;
		if (sscanf(p, "EV %ld %ld %127s %ld", &t, &level, msg, &seq) !=
		    4) {
			p++;
			continue;
		}
		size_t k;
		for (k = 0; k < nprev && prev[k][0] != t; k++)
			;
		if (k == nprev) {
			assert_true(nprev < 64);
			prev[nprev][0] = t;
			prev[nprev++][1] = seq - 1;
		}
		if (gaps_ok ? seq <= prev[k][1] : seq != prev[k][1] + 1)
			fail_msg("tid %ld: seq %ld after %ld", t, seq,
				 prev[k][1]);
		prev[k][1] = seq;
		if (t == tid)
			*last = seq;
		n++;
	}
	return n;
}

static size_t check_sequence(const char *out, long tid, long *last)
{
	return check_sequence_gaps(out, tid, last, 0);
}

/* Waits (polling the counters, with a deadline) until `n` snapshots have
 * been written. */
static void wait_written(uint64_t n)
{
	struct ttlog_snapshot_stats st;
	struct timespec ts = {0, 5000000};

	for (int i = 0; i < 4000; i++) {
		ttlog_snapshot_stats(&st);
		if (st.written >= n)
			return;
		nanosleep(&ts, NULL);
	}
	fail_msg("%llu snapshots after 20 s, waited for %llu",
		 (unsigned long long)st.written, (unsigned long long)n);
}

/* ------------------------------------------------------------------ */
/* The LZ4 frame writer                                                 */
/* ------------------------------------------------------------------ */

static unsigned char *lz4_decompress(const unsigned char *src, size_t n,
				     size_t *out_len)
{
	LZ4F_dctx *dc;
	size_t cap = 1 << 16, len = 0;
	unsigned char *out = malloc(cap);

	assert_int_equal(LZ4F_isError(LZ4F_createDecompressionContext(
				 &dc, LZ4F_VERSION)),
			 0);
	while (n > 0) {
		size_t dst = cap - len, used = n;
		size_t r =
			LZ4F_decompress(dc, out + len, &dst, src, &used, NULL);
		if (LZ4F_isError(r))
			fail_msg("liblz4: %s", LZ4F_getErrorName(r));
		len += dst;
		src += used;
		n -= used;
		if (cap - len < (1 << 16)) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		if (r == 0) /* frame complete, checksum verified */
			break;
	}
	assert_int_equal(n, 0);
	LZ4F_freeDecompressionContext(dc);
	*out_len = len;
	return out;
}

static void test_lz4w_frames_are_read_by_liblz4(void **state)
{
	static const size_t sizes[] = {0,     1,     15,    16,	    17,
				       65535, 65536, 65537, 200000, 1 << 20};
	struct ttlog__lz4w w;
	(void)state;

	assert_int_equal(ttlog__lz4w_init(&w), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int kind = 0; kind < 2; kind++) {
			size_t n = sizes[i], got_len, file_len;
			unsigned char *data = malloc(n + 1), *file, *got;
			char path[] = "/tmp/ttlog-lz4w-XXXXXX";
			int fd = mkstemp(path);
			uint32_t x = 12345;

			assert_true(fd >= 0);
			for (size_t k = 0; k < n; k++) {
				x = x * 1103515245u + 12345u;
				/* random bytes, or text that compresses */
				data[k] =
					kind ? (unsigned char)(x >> 24)
					     : (unsigned char)("ttlog "[k % 6]);
			}
			ttlog__lz4w_begin(&w, fd);
			/* In uneven pieces, across block boundaries. */
			for (size_t off = 0; off < n;) {
				size_t piece = 1 + (off * 7919) % 40000;
				if (piece > n - off)
					piece = n - off;
				ttlog__lz4w_put(&w, data + off, piece);
				off += piece;
			}
			assert_int_equal(ttlog__lz4w_end(&w), 0);
			file_len = (size_t)lseek(fd, 0, SEEK_END);
			assert_int_equal(file_len, w.bytes);
			file = malloc(file_len + 1);
			assert_int_equal(pread(fd, file, file_len, 0),
					 (ssize_t)file_len);
			close(fd);
			unlink(path);
			got = lz4_decompress(file, file_len, &got_len);
			assert_int_equal(got_len, n);
			if (n > 0)
				assert_memory_equal(got, data, n);
			if (kind == 0 && n >= 65536)
				assert_true(file_len < n / 4); /* compressed */
			free(got);
			free(file);
			free(data);
		}
	}
	ttlog__lz4w_free(&w);
}

static void test_xxh32_known_values(void **state)
{
	struct ttlog__xxh32 h;
	(void)state;

	/* The published value for the empty input, seed 0. */
	ttlog__xxh32_init(&h);
	assert_int_equal(ttlog__xxh32_digest(&h), 0x02CC5D05u);
	/* Fed whole or byte by byte: the same digest. */
	static const char text[] = "the quick brown fox jumps over ttlog";
	uint32_t whole;
	ttlog__xxh32_update(&h, text, sizeof(text) - 1);
	whole = ttlog__xxh32_digest(&h);
	ttlog__xxh32_init(&h);
	for (size_t i = 0; i < sizeof(text) - 1; i++)
		ttlog__xxh32_update(&h, text + i, 1);
	assert_int_equal(ttlog__xxh32_digest(&h), whole);
}

/* ------------------------------------------------------------------ */
/* Snapshots                                                            */
/* ------------------------------------------------------------------ */

static void test_requested_snapshot_is_read_by_cbor2(void **state)
{
	char *dir = make_dir();
	struct ttlog_snapshot_stats st;
	char names[8][256];
	char *out;
	long last;
	(void)state;

	start(dir, NULL);
	for (int i = 0; i < 100; i++)
		TTLOG_INFO("step done", TTLOG_KV("seq", i),
			   TTLOG_KV("ms", 0.5 * i), TTLOG_KV("ok", i % 2 == 0),
			   TTLOG_KV("who", "caf\xC3\xA9"),
			   TTLOG_KV_STR("raw", "\xFF\x00", 2));
	TTLOG_WARN("last words");
	assert_int_equal(ttlog_snapshot("by the test"), 0);
	assert_int_equal(ttlog_snapshot_stats(&st), 0);
	assert_int_equal(st.written, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.events, 101);
	assert_int_equal(list_snapshots(dir, names, 8), 1);
	assert_string_equal(names[0], st.last_file);
	assert_non_null(strstr(names[0], "-request.ttsnap"));

	out = decode(dir, names[0]);
	char head[128];
	snprintf(head, sizeof(head), "HEAD request by_the_test unit_test %d ",
		 (int)getpid());
	assert_non_null(strstr(out, head));
	/* msg, file, 5 keys and the second message: 8 strings. */
	assert_non_null(strstr(out, " 8 0\n"));
	assert_int_equal(check_sequence(out, (long)gettid(), &last), 100);
	assert_int_equal(last, 99);
	assert_non_null(strstr(out, "EV"));
	assert_non_null(strstr(out, " 3 last_words -\nEND 101\n"));
	free(out);
	assert_int_equal(ttlog_shutdown(), 0);
	/* Off after shutdown. */
	assert_int_equal(ttlog_snapshot("late"), TTLOG_ENOTRUNNING);
	remove_dir(dir);
	free(dir);
}

static void test_snapshot_without_a_directory_is_refused(void **state)
{
	(void)state;
	assert_int_equal(ttlog_init(NULL), 0);
	assert_int_equal(ttlog_snapshot("x"), TTLOG_EINVAL);
	assert_int_equal(ttlog_shutdown(), 0);
}

static void small_history(struct ttlog_options *o)
{
	o->snapshot_history_bytes = 64 << 10;
	o->batch_max_events = 256;
}

static void test_history_keeps_the_most_recent_events(void **state)
{
	char *dir = make_dir();
	struct ttlog_snapshot_stats st;
	char names[4][256];
	uint64_t n = test_scaled(50000, 5000);
	char *out;
	long last;
	size_t got;
	(void)state;

	start(dir, small_history);
	for (uint64_t i = 0; i < n; i++) {
		TTLOG_INFO("tick", TTLOG_KV("seq", i));
		if (i % 1000 == 999)
			ttlog_flush(); /* the ring never fills */
	}
	assert_int_equal(ttlog_snapshot("bounded"), 0);
	ttlog_snapshot_stats(&st);
	assert_true(st.history_bytes <= 64 << 10);
	assert_true(st.history_events > 0);
	assert_int_equal(list_snapshots(dir, names, 4), 1);
	out = decode(dir, names[0]);
	got = check_sequence(out, (long)gettid(), &last);
	/* The newest events, without a gap, up to the last one logged. */
	assert_int_equal(last, (long)n - 1);
	assert_true(got < n);
	assert_true(got >= 1000);
	assert_int_equal(got, st.events);
	free(out);
	ttlog_shutdown();
	remove_dir(dir);
	free(dir);
}

static void keep_three(struct ttlog_options *o)
{
	o->snapshot_keep = 3;
}

static void test_retention_keeps_the_newest(void **state)
{
	char *dir = make_dir();
	char names[16][256], other[512];
	FILE *f;
	(void)state;

	/* Another service's snapshot in the same directory stays. */
	snprintf(other, sizeof(other),
		 "%s/other-20200101T000000.000Z-1-1-request.ttsnap", dir);
	f = fopen(other, "w");
	assert_non_null(f);
	fclose(f);
	start(dir, keep_three);
	char made[6][256];
	for (int i = 0; i < 6; i++) {
		struct ttlog_snapshot_stats st;
		TTLOG_INFO("round", TTLOG_KV("seq", i));
		assert_int_equal(ttlog_snapshot("round"), 0);
		ttlog_snapshot_stats(&st);
		snprintf(made[i], sizeof(made[i]), "%s", st.last_file);
	}
	/* Exactly the three written last. */
	assert_int_equal(list_snapshots(dir, names, 16), 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(names[i], made[3 + i]);
	assert_int_equal(access(other, F_OK), 0);
	ttlog_shutdown();
	remove_dir(dir);
	free(dir);
}

static uint64_t limit_bytes;
static void small_budget(struct ttlog_options *o)
{
	o->snapshot_keep = 100;
	o->snapshot_max_bytes = limit_bytes;
}

static void test_retention_by_bytes_keeps_the_newest(void **state)
{
	char *dir = make_dir();
	char names[16][256], path[600];
	struct stat sb;
	uint64_t total = 0;
	struct ttlog_snapshot_stats st;
	size_t n;
	(void)state;

	/* First measure one snapshot of 200 events, then allow about two. */
	start(dir, NULL);
	for (int i = 0; i < 200; i++)
		TTLOG_INFO("fill", TTLOG_KV("seq", i));
	assert_int_equal(ttlog_snapshot("measure"), 0);
	assert_int_equal(list_snapshots(dir, names, 16), 1);
	snprintf(path, sizeof(path), "%s/%s", dir, names[0]);
	assert_int_equal(stat(path, &sb), 0);
	ttlog_shutdown();
	limit_bytes = (uint64_t)sb.st_size * 5 / 2;
	unlink(path);

	start(dir, small_budget);
	for (int i = 0; i < 200; i++)
		TTLOG_INFO("fill", TTLOG_KV("seq", i));
	for (int i = 0; i < 5; i++)
		assert_int_equal(ttlog_snapshot("fill"), 0);
	n = list_snapshots(dir, names, 16);
	assert_true(n >= 1 && n < 5);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		assert_int_equal(stat(path, &sb), 0);
		total += (uint64_t)sb.st_size;
	}
	assert_true(total <= limit_bytes);
	ttlog_snapshot_stats(&st);
	assert_string_equal(names[n - 1], st.last_file); /* the newest */
	ttlog_shutdown();
	remove_dir(dir);
	free(dir);
}

static void every_30ms(struct ttlog_options *o)
{
	o->snapshot_interval_ms = 30;
}

static void test_periodic_snapshots(void **state)
{
	char *dir = make_dir();
	char names[16][256];
	char *out;
	size_t n;
	(void)state;

	start(dir, every_30ms);
	TTLOG_INFO("before the timer", TTLOG_KV("seq", 0));
	wait_written(3);
	ttlog_shutdown();
	n = list_snapshots(dir, names, 16);
	assert_true(n >= 3);
	assert_non_null(strstr(names[0], "-periodic.ttsnap"));
	out = decode(dir, names[n - 1]);
	assert_non_null(strstr(out, "HEAD periodic periodic unit_test"));
	assert_non_null(strstr(out, "before_the_timer 0\n"));
	free(out);
	remove_dir(dir);
	free(dir);
}

/* Run as a child process: an unprivileged user cannot write into a 0555
 * directory (root can, so root's child becomes nobody first). */
static int unwritable_child(const char *dir)
{
	struct ttlog_snapshot_stats st;
	struct ttlog_options o;
	int rc;

	if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
		return 10;
	ttlog_options_init(&o);
	o.service = "unit test";
	o.snapshot_dir = dir;
	if (ttlog_init(&o) != 0)
		return 11;
	TTLOG_INFO("nowhere to go");
	rc = ttlog_snapshot("denied");
	ttlog_snapshot_stats(&st);
	if (rc != -EACCES)
		return 12;
	if (st.failed != 1 || st.written != 0)
		return 13;
	if (strstr(st.last_error, "create") == NULL ||
	    strstr(st.last_error, "ermission denied") == NULL)
		return 14;
	/* Still logging, and a second try is counted again. */
	TTLOG_INFO("still here");
	(void)ttlog_snapshot("denied again");
	ttlog_snapshot_stats(&st);
	if (st.failed != 2)
		return 15;
	ttlog_shutdown();
	return 0;
}

static void test_unwritable_directory_is_a_counted_error(void **state)
{
	char *dir = make_dir();
	int status;
	pid_t pid;
	(void)state;

	assert_int_equal(chmod(dir, 0555), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(unwritable_child(dir));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("child failed at check %d", WEXITSTATUS(status));
	remove_dir(dir);
	free(dir);
}

/* Two threads log as fast as they can while snapshots are taken. */
static atomic_int stop_logging;
static atomic_ulong progress[2];

static void *spin_logger(void *arg)
{
	long id = (long)(intptr_t)arg;
	uint64_t seq = 0;
	/* Under valgrind (which runs one thread at a time) the loggers let
	 * the writer in now and then; elsewhere they never pause. */
	uint64_t pause_every = getenv("TTLOG_TEST_SCALE") != NULL ? 64 : 0;

	while (!atomic_load(&stop_logging)) {
		TTLOG_INFO("spin", TTLOG_KV("seq", seq), TTLOG_KV("who", id),
			   TTLOG_KV("pad", "0123456789abcdef0123456789"));
		seq++;
		atomic_store(&progress[id], seq);
		if (pause_every != 0 && seq % pause_every == 0) {
			struct timespec ts = {0, 200000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void busy_history(struct ttlog_options *o)
{
	/* Small enough that a snapshot stays quick under TSan and valgrind,
	 * large enough to span many batches. */
	o->snapshot_history_bytes = 256 << 10;
	o->snapshot_interval_ms = 50;
	o->snapshot_keep = 1000;
	o->ring_bytes = 1 << 20;
}

static void test_snapshots_while_two_threads_log(void **state)
{
	char *dir = make_dir();
	char names[1024][256];
	pthread_t t[2];
	uint64_t moved = 0;
	size_t n;
	(void)state;

	start(dir, busy_history);
	atomic_store(&stop_logging, 0);
	for (long i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, spin_logger,
						(void *)(intptr_t)i),
				 0);
	wait_written(2); /* periodic ones, with the loggers going */
	for (int i = 0; i < 5; i++) {
		uint64_t before =
			atomic_load(&progress[0]) + atomic_load(&progress[1]);
		assert_int_equal(ttlog_snapshot("under load"), 0);
		/* The loggers went on while the snapshot was written. */
		moved += atomic_load(&progress[0]) + atomic_load(&progress[1]) -
			 before;
	}
	atomic_store(&stop_logging, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ttlog_shutdown();
	assert_true(moved > 0);

	n = list_snapshots(dir, names, 1024);
	assert_true(n >= 7);
	/* Each file whole, each thread's events in order without a gap
	 * (a periodic one taken before the loggers began may be empty). */
	size_t events = 0;
	for (size_t i = 0; i < n; i += (n > 6 ? n / 6 : 1)) {
		long last;
		char *out = decode(dir, names[i]);
		events += check_sequence_gaps(out, -1, &last, 1);
		assert_non_null(strstr(out, "END "));
		free(out);
	}
	assert_true(events > 0);
	remove_dir(dir);
	free(dir);
}

/* The same settings from ttlog.yaml (service.snapshot). */
static void test_snapshot_settings_from_yaml(void **state)
{
	char *dir = make_dir();
	char yaml[600], path[] = "/tmp/ttlog-snap-yaml-XXXXXX";
	char names[8][256];
	struct ttlog_snapshot_stats st;
	char *out;
	(void)state;

	snprintf(yaml, sizeof(yaml),
		 "service:\n  name: unit test\n  snapshot:\n"
		 "    dir: %s\n    history: 64KiB\n    keep: 2\n"
		 "    on_crash: false\n",
		 dir);
	write_temp(path, yaml, strlen(yaml));
	assert_int_equal(ttlog_init_from_file(path), 0);
	unlink(path);
	for (int i = 0; i < 3; i++) {
		TTLOG_INFO("from yaml", TTLOG_KV("seq", i));
		assert_int_equal(ttlog_snapshot("yaml"), 0);
	}
	ttlog_snapshot_stats(&st);
	assert_int_equal(st.written, 3);
	assert_int_equal(list_snapshots(dir, names, 8), 2); /* keep: 2 */
	assert_string_equal(names[1], st.last_file);
	out = decode(dir, names[1]);
	assert_non_null(strstr(out, "from_yaml 2\nEND 3\n"));
	free(out);
	ttlog_shutdown();
	remove_dir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lz4w_frames_are_read_by_liblz4),
		cmocka_unit_test(test_xxh32_known_values),
		cmocka_unit_test(test_requested_snapshot_is_read_by_cbor2),
		cmocka_unit_test(test_snapshot_without_a_directory_is_refused),
		cmocka_unit_test(test_history_keeps_the_most_recent_events),
		cmocka_unit_test(test_retention_keeps_the_newest),
		cmocka_unit_test(test_retention_by_bytes_keeps_the_newest),
		cmocka_unit_test(test_periodic_snapshots),
		cmocka_unit_test(test_unwritable_directory_is_a_counted_error),
		cmocka_unit_test(test_snapshots_while_two_threads_log),
		cmocka_unit_test(test_snapshot_settings_from_yaml),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
