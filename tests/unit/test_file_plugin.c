/*
 * test_file_plugin.c - the file listener plugin (plugins/file), loaded with
 * dlopen as the registry loads it: its option table, the three formats,
 * rotation by size (under load) and by time, fsync policies, reopen after
 * an external rename, refused paths and options, and write errors retried
 * without losing or repeating a byte.
 *
 * Some tests run the plugin through ttlog_init as an in-process listener;
 * others call its callbacks directly on batches built with the writer's
 * internal API, which makes exact byte comparisons possible. Write errors
 * come from RLIMIT_FSIZE (the tests run as root, so permissions cannot
 * make a write fail): a write past the limit stops short, then fails with
 * EFBIG.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cbor.h>
#include <lz4frame.h>

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

#include "plugin_load.h"
#include "testutil.h"

#include "batch_internal.h"
#include "file_internal.h"
#include "host_internal.h"
#include "plugin_host.h"

static void *handle;
static const struct ttlog_listener_api *api;
/* The plugin's table with create() wrapped, to see the state ttlog_init
 * creates (its counters come first). */
static struct ttlog_listener_api wrapped;
static struct ttlog__file *live;
/* live's event count when the writer destroyed it. */
static uint64_t live_events_at_destroy;
/* Hosts of the listeners a test creates directly, freed by teardown
 * after the listeners are gone. */
static struct ttlog__plugin_host *hosts[64];
static size_t nhosts;
static char dir[256];
static struct rlimit fsize_saved;

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static int wrap_create(const void *options, const struct ttlog_host *host,
		       void **state)
{
	int rc = api->create2(options, host, state);
	live = rc == 0 ? *state : NULL;
	return rc;
}

static void wrap_destroy(void *state)
{
	if (state != NULL && state == live)
		live_events_at_destroy = atomic_load(&live->c.events);
	api->destroy(state);
}

/* A host as the writer makes one, for a listener created directly: its
 * reports reach stderr as "ttlog: listener f: WHAT: PATH: ...". */
static const struct ttlog_host *test_host(void)
{
	assert_true(nhosts < sizeof(hosts) / sizeof(hosts[0]));
	hosts[nhosts] = ttlog__plugin_host_new("f");
	assert_non_null(hosts[nhosts]);
	return ttlog__plugin_host_api(hosts[nhosts++]);
}

static int group_setup(void **state)
{
	(void)state;
	api = test_load_listener(TTLOG_FILE_PLUGIN, &handle);
	wrapped = *api;
	wrapped.create2 = wrap_create;
	wrapped.destroy = wrap_destroy;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return dlclose(handle);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ttlog-file-XXXXXX");
	assert_non_null(mkdtemp(dir));
	umask(022);
	getrlimit(RLIMIT_FSIZE, &fsize_saved);
	signal(SIGXFSZ, SIG_IGN);
	live = NULL;
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	ttlog_shutdown();
	while (nhosts > 0)
		ttlog__plugin_host_free(hosts[--nhosts]);
	setrlimit(RLIMIT_FSIZE, &fsize_saved);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* dir/NAME, or dir/NAME.N when n > 0; a static buffer per slot. */
static char *at(int slot, const char *name, unsigned n)
{
	static char buf[8][512];
	if (n > 0)
		snprintf(buf[slot], sizeof(buf[slot]), "%s/%s.%u", dir, name,
			 n);
	else
		snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", dir, name);
	return buf[slot];
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* The file's bytes (NUL-terminated, malloc'd), or NULL if it is missing. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *d = NULL;
	size_t n = 0, cap = 0, r;

	if (f == NULL)
		return NULL;
	do {
		if (cap - n < 4096) {
			cap = cap ? 2 * cap : 8192;
			d = realloc(d, cap + 1);
			assert_non_null(d);
		}
		r = fread(d + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	if (d == NULL)
		d = malloc(1);
	d[n] = 0;
	if (len)
		*len = n;
	return d;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static uint64_t get(_Atomic uint64_t *c)
{
	return atomic_load(c);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Waits for a condition for up to 10 s, polling. */
#define WAIT_UNTIL(cond)                                                       \
	do {                                                                   \
		for (int w_ = 0; w_ < 2000 && !(cond); w_++)                   \
			sleep_ms(5);                                           \
		if (!(cond))                                                   \
			fail_msg("timed out waiting for %s", #cond);           \
	} while (0)

static int stderr_saved = -1;

static void stderr_begin(void)
{
	int fd = open(at(7, "stderr.txt", 0), O_WRONLY | O_CREAT | O_TRUNC,
		      0600);
	assert_true(fd >= 0);
	fflush(stderr);
	stderr_saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static char *stderr_end(void)
{
	fflush(stderr);
	dup2(stderr_saved, STDERR_FILENO);
	close(stderr_saved);
	return slurp(at(7, "stderr.txt", 0), NULL);
}

static void opts_init(struct ttlog__file_options *o, char *path, int format)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->format = format;
	o->rotate_keep = 7;
	o->fsync = TTLOG__FILE_FSYNC_NEVER;
	o->fsync_interval_ms = 1000;
	o->mode = "0640";
}

/* Starts the library with the plugin as its only listener. */
static void start_lib(const struct ttlog__file_options *fo,
		      size_t batch_max_events)
{
	static struct ttlog_listener_config l;
	struct ttlog_options o;

	l.api = &wrapped;
	l.options = fo;
	l.name = "file";
	ttlog_options_init(&o);
	o.ring_bytes = 8u << 20; /* holds every test's events: no drops */
	if (batch_max_events)
		o.batch_max_events = batch_max_events;
	o.listeners = &l;
	o.nlisteners = 1;
	assert_int_equal(ttlog_init(&o), 0);
	assert_non_null(live);
}

static void *create_ok(const struct ttlog__file_options *o)
{
	void *st = NULL;
	assert_int_equal(api->create2(o, test_host(), &st), 0);
	assert_non_null(st);
	return st;
}

/* ---- batches built directly ---- */

static const char *const ev_keys[] = {"n", "pad", NULL};
static const uint8_t ev_types[] = {TTLOG_TYPE_I64, TTLOG_TYPE_STR, 0};
static struct ttlog_callsite ev_cs = {
	"event", "t.c", 7, TTLOG_LEVEL_INFO, 2, ev_keys, ev_types, {0, 0}};

/* Events n = first ... first + count - 1, each about 90 bytes of text. */
static struct ttlog_batch *make_batch(uint64_t seq, int first, int count)
{
	static const char pad[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	struct ttlog_batch *b = ttlog__batch_new(4096, 1u << 20, seq);
	unsigned char v[64];
	uint32_t plen = sizeof(pad) - 1;

	assert_non_null(b);
	for (int i = first; i < first + count; i++) {
		int64_t n = i;
		memcpy(v, &n, 8);
		memcpy(v + 8, &plen, 4);
		memcpy(v + 12, pad, plen);
		assert_int_equal(ttlog__batch_add(b, &ev_cs,
						  1700000000000000000ull +
							  (uint64_t)i * 1000,
						  42, 0, v, 12 + plen),
				 0);
	}
	return b;
}

static const char *enc_of(struct ttlog_batch *b, enum ttlog_encoding e,
			  size_t *len)
{
	const void *d;
	assert_int_equal(ttlog_batch_encode(b, e, &d, len), 0);
	return d;
}

/* Asserts that the file holds exactly the given batches' encodings. */
static void assert_file_is(const char *path, enum ttlog_encoding e,
			   struct ttlog_batch **bs, size_t nb)
{
	size_t len, want = 0, off = 0;
	char *got = slurp(path, &len);

	assert_non_null(got);
	for (size_t i = 0; i < nb; i++) {
		size_t n;
		enc_of(bs[i], e, &n);
		want += n;
	}
	assert_int_equal(len, want);
	for (size_t i = 0; i < nb; i++) {
		size_t n;
		const char *d = enc_of(bs[i], e, &n);
		assert_memory_equal(got + off, d, n);
		off += n;
	}
	free(got);
}

/* ---- reading binary files ---- */

/* Decompresses a concatenation of LZ4 frames with liblz4's frame API. */
static unsigned char *lz4f_decode(const char *data, size_t len, size_t *out)
{
	LZ4F_dctx *dc;
	size_t cap = 1 << 16, n = 0, in = 0, hint = 1;
	unsigned char *buf = malloc(cap);

	assert_false(LZ4F_isError(
		LZ4F_createDecompressionContext(&dc, LZ4F_VERSION)));
	while (in < len) {
		size_t src = len - in, dst;
		if (cap - n < 1 << 16) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		dst = cap - n;
		hint = LZ4F_decompress(dc, buf + n, &dst, data + in, &src,
				       NULL);
		if (LZ4F_isError(hint))
			fail_msg("LZ4F_decompress: %s",
				 LZ4F_getErrorName(hint));
		in += src;
		n += dst;
	}
	assert_int_equal(hint, 0); /* the last frame is complete */
	LZ4F_freeDecompressionContext(dc);
	*out = n;
	return buf;
}

static const cbor_item_t *map_get(const cbor_item_t *m, const char *key)
{
	struct cbor_pair *p = cbor_map_handle(m);
	for (size_t i = 0; i < cbor_map_size(m); i++)
		if (cbor_isa_string(p[i].key) &&
		    cbor_string_length(p[i].key) == strlen(key) &&
		    memcmp(cbor_string_handle(p[i].key), key, strlen(key)) == 0)
			return p[i].value;
	return NULL;
}

/* Walks a CBOR sequence of batch maps; returns the number of events and
 * checks that the batches' seq increase. Each event's value "n" (when
 * present) must equal *next_n, which then advances. */
static size_t cbor_events(const unsigned char *d, size_t len, size_t *batches,
			  int64_t *next_n)
{
	size_t off = 0, events = 0;
	uint64_t last_seq = 0;

	*batches = 0;
	while (off < len) {
		struct cbor_load_result r;
		cbor_item_t *it = cbor_load(d + off, len - off, &r);
		const cbor_item_t *v, *seq, *ev;

		assert_int_equal(r.error.code, CBOR_ERR_NONE);
		assert_true(cbor_isa_map(it));
		v = map_get(it, "v");
		seq = map_get(it, "seq");
		ev = map_get(it, "events");
		assert_non_null(v);
		assert_int_equal(cbor_get_int(v), 3);
		assert_non_null(seq);
		assert_true(cbor_get_int(seq) > last_seq);
		last_seq = cbor_get_int(seq);
		assert_non_null(ev);
		for (size_t i = 0; i < cbor_array_size(ev); i++) {
			cbor_item_t *e = cbor_array_get(ev, i);
			/* [time, tid, callsite, flags, origin, n, ...] */
			if (next_n != NULL && cbor_array_size(e) >= 6) {
				cbor_item_t *n = cbor_array_get(e, 5);
				assert_int_equal(cbor_get_int(n), *next_n);
				++*next_n;
				cbor_decref(&n);
			}
			cbor_decref(&e);
		}
		events += cbor_array_size(ev);
		++*batches;
		off += r.read;
		cbor_decref(&it);
	}
	return events;
}

/* `lz4 -dc FILE`: the CBOR sequence the command-line tool reads back. */
static unsigned char *lz4_cli(const char *path, size_t *len)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "lz4 -dcq '%s' > '%s.dec'", path, path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s.dec", path);
	return (unsigned char *)slurp(cmd, len);
}

/* ------------------------------------------------------------------ */
/* The plugin's table                                                   */
/* ------------------------------------------------------------------ */

static void test_file_table_declares_every_option_at_its_offset(void **s)
{
	static const struct {
		enum ttlog_option_type type;
		const char *key, *def, *choices;
		size_t offset;
		unsigned flags;
	} want[] = {
		{TTLOG_OPTION_STRING, "path", NULL, NULL,
		 offsetof(struct ttlog__file_options, path),
		 TTLOG_OPTION_REQUIRED},
		{TTLOG_OPTION_ENUM_VALUES, "format", "text", "text|json|binary",
		 offsetof(struct ttlog__file_options, format), 0},
		{TTLOG_OPTION_SIZE, "rotate.size", "100MiB", NULL,
		 offsetof(struct ttlog__file_options, rotate_size), 0},
		{TTLOG_OPTION_DURATION, "rotate.interval", "0", NULL,
		 offsetof(struct ttlog__file_options, rotate_interval_ms), 0},
		{TTLOG_OPTION_INT, "rotate.keep", "7", NULL,
		 offsetof(struct ttlog__file_options, rotate_keep), 0},
		{TTLOG_OPTION_ENUM_VALUES, "fsync", "interval",
		 "never|interval|every_batch",
		 offsetof(struct ttlog__file_options, fsync), 0},
		{TTLOG_OPTION_DURATION, "fsync_interval", "1s", NULL,
		 offsetof(struct ttlog__file_options, fsync_interval_ms), 0},
		{TTLOG_OPTION_STRING, "mode", "0640", NULL,
		 offsetof(struct ttlog__file_options, mode), 0},
		{TTLOG_OPTION_STRING, "dir_mode", "0750", NULL,
		 offsetof(struct ttlog__file_options, dir_mode), 0},
		{TTLOG_OPTION_INT, "max_open_files", "64", NULL,
		 offsetof(struct ttlog__file_options, max_open_files), 0},
		{TTLOG_OPTION_DURATION, "idle_close", "5m", NULL,
		 offsetof(struct ttlog__file_options, idle_close_ms), 0},
	};
	const struct ttlog_option_spec *t = api->options;
	size_t i;
	(void)s;

	assert_int_equal(api->abi_version >> 16, TTLOG_LISTENER_ABI_MAJOR);
	assert_int_equal(api->struct_size, sizeof(struct ttlog_listener_api));
	assert_string_equal(api->name, "file");
	assert_int_equal(api->options_size, sizeof(struct ttlog__file_options));
	assert_null(api->create);
	assert_null(api->start);
	assert_non_null(api->create2);
	assert_non_null(api->start2);
	assert_non_null(api->flush);
	assert_non_null(api->reopen);
	for (i = 0; t[i].type != TTLOG_OPTION_END; i++) {
		assert_true(i < sizeof(want) / sizeof(want[0]));
		assert_int_equal(t[i].type, want[i].type);
		assert_string_equal(t[i].key, want[i].key);
		if (want[i].def == NULL)
			assert_null(t[i].default_value);
		else
			assert_string_equal(t[i].default_value, want[i].def);
		if (want[i].choices != NULL) {
			/* The names in order, joined as help prints them,
			 * and each value is its position in the old form. */
			const struct ttlog_option_value *v =
				ttlog_option_values(&t[i]);
			char names[128] = "";
			assert_non_null(v);
			for (int k = 0; v[k].name != NULL; k++) {
				assert_int_equal(v[k].value, k);
				if (k)
					strcat(names, "|");
				strcat(names, v[k].name);
			}
			assert_string_equal(names, want[i].choices);
		}
		assert_int_equal(t[i].offset, want[i].offset);
		assert_int_equal(t[i].flags, want[i].flags);
		assert_non_null(t[i].description);
	}
	assert_int_equal(i, sizeof(want) / sizeof(want[0]));
	assert_null(t[i].key);
}

/* ------------------------------------------------------------------ */
/* Formats                                                              */
/* ------------------------------------------------------------------ */

static void log_three(void)
{
	TTLOG_INFO("request done", TTLOG_KV("id", 42), TTLOG_KV("path", "/a b"),
		   TTLOG_KV("ms", 1.5));
	TTLOG_WARN("slow", TTLOG_KV("ok", (bool)false));
	TTLOG_ERROR("it broke", TTLOG_KV("code", -1));
}

static void test_file_text_lines_are_exact_apart_from_the_time(void **s)
{
	static const char *const want[] = {
		" INFO request done id=42 path=\"/a b\" ms=1.5",
		" WARN slow ok=false", " ERROR it broke code=-1"};
	struct ttlog__file_options o;
	char *text, *line, *save = NULL;
	int n = 0;
	(void)s;

	opts_init(&o, at(0, "app.log", 0), TTLOG__FILE_TEXT);
	start_lib(&o, 0);
	log_three();
	assert_int_equal(ttlog_shutdown(), 0);
	text = slurp(at(0, "app.log", 0), NULL);
	assert_non_null(text);
	assert_int_equal(text[strlen(text) - 1], '\n');
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save), n++) {
		/* 2026-11-25T20:31:38.123456Z */
		assert_true(n < 3);
		assert_true(strlen(line) > 27);
		assert_int_equal(line[4], '-');
		assert_int_equal(line[10], 'T');
		assert_int_equal(line[19], '.');
		assert_int_equal(line[26], 'Z');
		assert_string_equal(line + 27, want[n]);
	}
	assert_int_equal(n, 3);
	free(text);
}

static void test_file_json_lines_hold_message_and_fields(void **s)
{
	struct ttlog__file_options o;
	char *text;
	(void)s;

	opts_init(&o, at(0, "app.jsonl", 0), TTLOG__FILE_JSON);
	start_lib(&o, 0);
	log_three();
	assert_int_equal(ttlog_shutdown(), 0);
	text = slurp(at(0, "app.jsonl", 0), NULL);
	assert_non_null(text);
	assert_int_equal(count_of(text, "\n"), 3);
	assert_int_equal(count_of(text, "{\"time\":\""), 3);
	/* This process's origin (its host name, then service "ttlog"),
	 * then the message and the log call's source. */
	assert_non_null(strstr(text, "\"level\":\"INFO\",\"host\":\""));
	assert_non_null(strstr(text,
			       "\",\"service\":\"ttlog\",\"msg\":\"request "
			       "done\",\"tid\":"));
	assert_non_null(strstr(text, ",\"id\":42,\"path\":\"/a b\",\"ms\":"
				     "1.5}\n"));
	assert_non_null(strstr(text, "\"service\":\"ttlog\",\"msg\":\"slow\""));
	assert_non_null(strstr(text, ",\"ok\":false}\n"));
	assert_non_null(strstr(text, "\"msg\":\"it broke\""));
	assert_non_null(strstr(text, ",\"code\":-1}\n"));
	free(text);
}

static void test_file_binary_is_lz4_frames_of_cbor_batches(void **s)
{
	struct ttlog__file_options o;
	size_t len, clen, flen, batches, nb2;
	char *raw;
	unsigned char *cli, *lib;
	uint64_t lib_batches;
	(void)s;

	opts_init(&o, at(0, "app.bin", 0), TTLOG__FILE_BINARY);
	start_lib(&o, 0);
	/* Three batches: a flush between each. */
	for (int i = 0; i < 3; i++) {
		log_three();
		ttlog_flush();
	}
	lib_batches = get(&live->c.batches);
	assert_int_equal(get(&live->c.events), 9);
	assert_int_equal(ttlog_shutdown(), 0);
	raw = slurp(at(0, "app.bin", 0), &len);
	assert_non_null(raw);
	assert_memory_equal(raw, "\x04\x22\x4d\x18", 4); /* LZ4 frame magic */
	/* Read back by liblz4 and by the lz4 command, identically. */
	lib = lz4f_decode(raw, len, &flen);
	cli = lz4_cli(at(0, "app.bin", 0), &clen);
	assert_non_null(cli);
	assert_int_equal(clen, flen);
	assert_memory_equal(cli, lib, flen);
	assert_int_equal(cbor_events(lib, flen, &batches, NULL), 9);
	assert_int_equal(batches, lib_batches);
	assert_true(batches >= 3);
	assert_int_equal(cbor_events(cli, clen, &nb2, NULL), 9);
	free(raw);
	free(cli);
	free(lib);
}

/* ------------------------------------------------------------------ */
/* Rotation                                                             */
/* ------------------------------------------------------------------ */

struct producer {
	pthread_t th;
	int t;
	long n;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	for (long i = 0; i < p->n; i++)
		TTLOG_INFO("load", TTLOG_KV("t", p->t), TTLOG_KV("seq", i));
	return NULL;
}

/* Logs n events from each of nt threads (1 or 2), with 64-event batches
 * so that there are many batches to rotate between. */
static void run_load(struct ttlog__file_options *o, int nt, long n)
{
	struct producer p[2];
	struct ttlog_stats st;

	start_lib(o, 64);
	for (int t = 0; t < nt; t++) {
		p[t].t = t;
		p[t].n = n;
		pthread_create(&p[t].th, NULL, produce, &p[t]);
	}
	for (int t = 0; t < nt; t++)
		pthread_join(p[t].th, NULL);
	ttlog_flush();
	ttlog_stats(&st);
	/* A drop would make a gap the file listener did not cause. */
	assert_int_equal(st.dropped_ring_full, 0);
	assert_int_equal(st.produced, (uint64_t)nt * (uint64_t)n);
}

/* Reads one file's "t=T seq=N" lines, checking each thread's numbers go
 * up by exactly one from next[t]; the first number seen per thread is
 * accepted when next[t] < 0. Returns the number of lines. */
/* Lines of the listener's own reports (the host's log) read_seqs() found
 * between the load lines. */
static long read_reports;

static long read_seqs(const char *path, long next[2])
{
	char *text = slurp(path, NULL), *line, *save = NULL;
	long lines = 0;
	size_t newlines;

	assert_non_null(text);
	assert_true(text[0] == 0 || text[strlen(text) - 1] == '\n');
	newlines = count_of(text, "\n");
	read_reports = 0;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save), lines++) {
		const char *p = strstr(line, " INFO load t=");
		int t;
		long seq;
		if (p == NULL &&
		    strstr(line, " listener report listener=file ") != NULL) {
			read_reports++;
			continue;
		}
		assert_non_null(p);
		assert_int_equal(sscanf(p, " INFO load t=%d seq=%ld", &t, &seq),
				 2);
		assert_true(t == 0 || t == 1);
		if (next[t] < 0)
			next[t] = seq;
		if (seq != next[t])
			fail_msg("%s: thread %d: seq %ld where %ld was due",
				 path, t, seq, next[t]);
		next[t]++;
	}
	assert_int_equal(lines, newlines); /* no empty line either */
	free(text);
	return lines - read_reports;
}

static void
test_file_rotation_by_size_under_load_keeps_every_event_once(void **s)
{
	struct ttlog__file_options o;
	long n = (long)test_scaled(20000, 1000), next[2] = {0, 0}, total = 0;
	uint64_t rot;
	(void)s;

	opts_init(&o, at(0, "load.log", 0), TTLOG__FILE_TEXT);
	o.rotate_size = 16 * 1024;
	o.rotate_keep = 1000;
	run_load(&o, 2, n);
	rot = get(&live->c.rotations);
	assert_int_equal(get(&live->c.open_errors), 0);
	assert_int_equal(ttlog_shutdown(), 0);
	assert_true(rot >= 3);
	assert_true(rot < 1000);
	/* Exactly the rotated files, oldest (highest number) first. */
	assert_false(exists(at(0, "load.log", (unsigned)rot + 1)));
	for (unsigned i = (unsigned)rot; i >= 1; i--) {
		struct stat st;
		assert_int_equal(stat(at(0, "load.log", i), &st), 0);
		assert_true(st.st_size > 0);
		/* 64 events of ~50 bytes never fill 16 KiB: no batch
		 * alone passes the limit, so no file does. */
		assert_true(st.st_size <= 16 * 1024);
		total += read_seqs(at(0, "load.log", i), next);
	}
	total += read_seqs(at(0, "load.log", 0), next);
	assert_int_equal(next[0], n);
	assert_int_equal(next[1], n);
	assert_int_equal(total, 2 * n);
}

static void test_file_rotation_keeps_only_the_newest_keep_files(void **s)
{
	static const int64_t keeps[] = {3, 0};
	long n = (long)test_scaled(20000, 2000);
	(void)s;

	for (size_t k = 0; k < 2; k++) {
		struct ttlog__file_options o;
		long next[2] = {-1, -1}, total = 0;
		unsigned keep = (unsigned)keeps[k];
		uint64_t rot;
		char name[32];

		snprintf(name, sizeof(name), "keep%u.log", keep);
		opts_init(&o, at(0, name, 0), TTLOG__FILE_TEXT);
		o.rotate_size = 8 * 1024;
		o.rotate_keep = keeps[k];
		/* One thread: with two, the kept files might hold only the
		 * thread that finished last. */
		run_load(&o, 1, n);
		rot = get(&live->c.rotations);
		assert_int_equal(ttlog_shutdown(), 0);
		assert_true(rot > keep + 2);
		for (unsigned i = keep; i >= 1; i--)
			total += read_seqs(at(0, name, i), next);
		assert_false(exists(at(0, name, keep + 1)));
		total += read_seqs(at(0, name, 0), next);
		/* The newest events, up to the last, without a gap; the
		 * oldest went with the deleted files. */
		assert_int_equal(next[0], n);
		assert_int_equal(next[1], -1);
		assert_true(total < n);
		assert_true(total > 0);
	}
}

static void test_file_rotation_by_time_on_the_timer(void **s)
{
	struct ttlog__file_options o;
	char *a, *b;
	(void)s;

	opts_init(&o, at(0, "timed.log", 0), TTLOG__FILE_TEXT);
	o.rotate_interval_ms = 50;
	o.rotate_keep = 5;
	start_lib(&o, 0);
	TTLOG_INFO("first");
	ttlog_flush();
	/* Nothing more is written: the timer rotates. The counter moves
	 * once the renames are done. */
	WAIT_UNTIL(get(&live->c.rotations) == 1);
	assert_true(exists(at(0, "timed.log", 1)));
	assert_false(exists(at(0, "timed.log", 2)));
	TTLOG_INFO("second");
	ttlog_flush();
	WAIT_UNTIL(get(&live->c.rotations) == 2);
	assert_true(exists(at(0, "timed.log", 2)));
	/* An empty file is not rotated, however old. */
	sleep_ms(250);
	assert_int_equal(get(&live->c.rotations), 2);
	assert_int_equal(ttlog_shutdown(), 0);
	a = slurp(at(0, "timed.log", 2), NULL);
	b = slurp(at(0, "timed.log", 1), NULL);
	assert_non_null(strstr(a, " INFO first\n"));
	assert_null(strstr(a, "second"));
	assert_non_null(strstr(b, " INFO second\n"));
	assert_null(strstr(b, "first"));
	free(a);
	free(b);
	a = slurp(at(0, "timed.log", 0), NULL);
	assert_string_equal(a, "");
	free(a);
}

static void test_file_rotation_by_time_at_the_next_write(void **s)
{
	struct ttlog__file_options o;
	struct ttlog_batch *b[3] = {make_batch(1, 0, 3), make_batch(2, 3, 3),
				    make_batch(3, 6, 3)};
	struct ttlog__file *f;
	(void)s;

	/* No start(), so no timer: only consume() can notice the age. */
	opts_init(&o, at(0, "age.log", 0), TTLOG__FILE_TEXT);
	o.rotate_interval_ms = 60000;
	f = create_ok(&o);
	assert_int_equal(api->consume(f, b[0]), TTLOG_LISTENER_OK);
	assert_int_equal(api->consume(f, b[1]), TTLOG_LISTENER_OK);
	api->destroy(f);
	assert_false(exists(at(0, "age.log", 1)));
	assert_file_is(at(0, "age.log", 0), TTLOG_ENCODING_TEXT, b, 2);

	opts_init(&o, at(0, "age2.log", 0), TTLOG__FILE_TEXT);
	o.rotate_interval_ms = 50;
	f = create_ok(&o);
	assert_int_equal(api->consume(f, b[0]), TTLOG_LISTENER_OK);
	sleep_ms(80); /* the time that must pass, not a wait for an event */
	assert_int_equal(api->consume(f, b[1]), TTLOG_LISTENER_OK);
	assert_int_equal(get(&f->c.rotations), 1);
	api->destroy(f);
	assert_file_is(at(0, "age2.log", 1), TTLOG_ENCODING_TEXT, b, 1);
	assert_file_is(at(0, "age2.log", 0), TTLOG_ENCODING_TEXT, b + 1, 1);
	for (int i = 0; i < 3; i++)
		ttlog_batch_unref(b[i]);
}

static void test_file_failed_rotation_writes_on_and_tries_later(void **s)
{
	struct ttlog__file_options o;
	struct ttlog_batch *b[4] = {make_batch(1, 0, 2), make_batch(2, 2, 2),
				    make_batch(3, 4, 2), make_batch(4, 6, 2)};
	struct ttlog__file *f;
	size_t n;
	char *err;
	int fd;
	(void)s;

	/* PATH.1 is a directory with something in it: no rename can
	 * replace it. */
	assert_int_equal(mkdir(at(0, "f.log.1", 0), 0700), 0);
	fd = open(at(1, "f.log.1/x", 0), O_WRONLY | O_CREAT, 0600);
	close(fd);
	enc_of(b[0], TTLOG_ENCODING_TEXT, &n);
	opts_init(&o, at(0, "f.log", 0), TTLOG__FILE_TEXT);
	o.rotate_size = n + 1; /* every batch after the first rotates */
	o.rotate_keep = 1;
	f = create_ok(&o);
	stderr_begin();
	assert_int_equal(api->consume(f, b[0]), TTLOG_LISTENER_OK);
	assert_int_equal(api->consume(f, b[1]), TTLOG_LISTENER_OK);
	assert_int_equal(get(&f->c.open_errors), 1);
	/* The next attempt waits a second: none for this batch. */
	assert_int_equal(api->consume(f, b[2]), TTLOG_LISTENER_OK);
	assert_int_equal(get(&f->c.open_errors), 1);
	assert_int_equal(get(&f->c.rotations), 0);
	assert_file_is(at(0, "f.log", 0), TTLOG_ENCODING_TEXT, b, 3);
	assert_int_equal(unlink(at(1, "f.log.1/x", 0)), 0);
	assert_int_equal(rmdir(at(0, "f.log.1", 0)), 0);
	sleep_ms(TTLOG__FILE_ROTATE_RETRY_MS + 100);
	assert_int_equal(api->consume(f, b[3]), TTLOG_LISTENER_OK);
	err = stderr_end();
	assert_int_equal(get(&f->c.rotations), 1);
	assert_int_equal(count_of(err, "f.log: rotation failed: cannot rename "
				       "it to "),
			 1);
	assert_int_equal(count_of(err, "f.log: rotating again"), 1);
	free(err);
	api->destroy(f);
	assert_file_is(at(0, "f.log", 1), TTLOG_ENCODING_TEXT, b, 3);
	assert_file_is(at(0, "f.log", 0), TTLOG_ENCODING_TEXT, b + 3, 1);
	for (int i = 0; i < 4; i++)
		ttlog_batch_unref(b[i]);
}

/* ------------------------------------------------------------------ */
/* fsync                                                                */
/* ------------------------------------------------------------------ */

static void test_file_fsync_every_batch_syncs_each_batch(void **s)
{
	struct ttlog__file_options o;
	(void)s;

	opts_init(&o, at(0, "sync.log", 0), TTLOG__FILE_TEXT);
	o.fsync = TTLOG__FILE_FSYNC_EVERY_BATCH;
	start_lib(&o, 0);
	/* No ttlog_flush: flush() would sync too. Each event is a batch of
	 * its own, drained by the writer's timer. */
	for (int i = 0; i < 5; i++) {
		TTLOG_INFO("one", TTLOG_KV("i", i));
		WAIT_UNTIL(get(&live->c.fsyncs) == (uint64_t)i + 1);
		assert_int_equal(get(&live->c.batches), i + 1);
	}
	/* Nothing is left unsynced for flush() to do. */
	ttlog_flush();
	assert_int_equal(get(&live->c.fsyncs), 5);
	assert_int_equal(get(&live->c.fsync_errors), 0);
}

static void test_file_fsync_never_does_not_sync_even_on_flush(void **s)
{
	struct ttlog__file_options o;
	(void)s;

	opts_init(&o, at(0, "nosync.log", 0), TTLOG__FILE_TEXT);
	start_lib(&o, 0);
	for (int i = 0; i < 3; i++) {
		TTLOG_INFO("one", TTLOG_KV("i", i));
		ttlog_flush();
	}
	assert_int_equal(get(&live->c.batches), 3);
	assert_true(get(&live->c.bytes) > 0);
	assert_int_equal(get(&live->c.fsyncs), 0);
}

static void test_file_fsync_interval_syncs_on_flush_and_on_the_timer(void **s)
{
	struct ttlog__file_options o;
	(void)s;

	/* A long interval: only flush() syncs, and only dirty data. */
	opts_init(&o, at(0, "isync.log", 0), TTLOG__FILE_TEXT);
	o.fsync = TTLOG__FILE_FSYNC_INTERVAL;
	o.fsync_interval_ms = 3600 * 1000;
	start_lib(&o, 0);
	TTLOG_INFO("one");
	ttlog_flush();
	assert_int_equal(get(&live->c.batches), 1);
	assert_int_equal(get(&live->c.fsyncs), 1);
	ttlog_flush();
	assert_int_equal(get(&live->c.fsyncs), 1);
	TTLOG_INFO("two");
	ttlog_flush();
	assert_int_equal(get(&live->c.fsyncs), 2);
	assert_int_equal(ttlog_shutdown(), 0);

	/* A short one: the data is synced without any flush. */
	opts_init(&o, at(0, "tsync.log", 0), TTLOG__FILE_TEXT);
	o.fsync = TTLOG__FILE_FSYNC_INTERVAL;
	o.fsync_interval_ms = 50;
	start_lib(&o, 0);
	TTLOG_INFO("one");
	WAIT_UNTIL(get(&live->c.fsyncs) == 1);
	TTLOG_INFO("two");
	WAIT_UNTIL(get(&live->c.fsyncs) == 2);
	assert_int_equal(get(&live->c.batches), 2);
}

/* The writer's batch numbers, read on its thread. */
struct numbers {
	uint64_t dispatched, durable;
};

static int read_numbers(struct event_base *base, void *arg)
{
	struct numbers *n = arg;
	(void)base;
	n->dispatched = ttlog__host_dispatched(ttlog__host_writer());
	n->durable = ttlog__host_durable(ttlog__host_writer());
	return 0;
}

static struct numbers numbers_now(void)
{
	struct numbers n;
	assert_int_equal(
		ttlog__host_call(ttlog__host_writer(), read_numbers, &n), 0);
	return n;
}

/* Durable (what the tail and journal inputs save their place up to):
 * fsync: never and every_batch at once when written; interval only
 * after the fsync that covers the batch. */
static void test_file_durable_follows_the_fsync_policy(void **s)
{
	struct ttlog__file_options o;
	struct numbers n;
	(void)s;

	opts_init(&o, at(0, "dnever.log", 0), TTLOG__FILE_TEXT);
	o.fsync = TTLOG__FILE_FSYNC_NEVER;
	start_lib(&o, 0);
	TTLOG_INFO("one");
	WAIT_UNTIL(get(&live->c.batches) == 1);
	n = numbers_now();
	assert_true(n.dispatched > 0);
	assert_int_equal(n.durable, n.dispatched);
	assert_int_equal(ttlog_shutdown(), 0);

	opts_init(&o, at(0, "dint.log", 0), TTLOG__FILE_TEXT);
	o.fsync = TTLOG__FILE_FSYNC_INTERVAL;
	o.fsync_interval_ms = 3600 * 1000;
	start_lib(&o, 0);
	TTLOG_INFO("one");
	WAIT_UNTIL(get(&live->c.batches) == 1);
	n = numbers_now();
	assert_true(n.dispatched > 0);
	assert_int_equal(get(&live->c.fsyncs), 0);
	assert_int_equal(n.durable, n.dispatched - 1); /* written, not synced */
	ttlog_flush();				       /* syncs */
	assert_int_equal(get(&live->c.fsyncs), 1);
	n = numbers_now();
	assert_int_equal(n.durable, n.dispatched);
}

/* ------------------------------------------------------------------ */
/* Opening: reopen, refusals, directories, modes                        */
/* ------------------------------------------------------------------ */

static void test_file_reopen_follows_an_external_rename(void **s)
{
	struct ttlog__file_options o;
	struct ttlog_batch *b[3] = {make_batch(1, 0, 4), make_batch(2, 4, 4),
				    make_batch(3, 8, 4)};
	void *f;
	(void)s;

	opts_init(&o, at(0, "r.log", 0), TTLOG__FILE_TEXT);
	f = create_ok(&o);
	assert_int_equal(api->consume(f, b[0]), TTLOG_LISTENER_OK);
	/* logrotate: rename, then tell the listener. */
	assert_int_equal(rename(at(0, "r.log", 0), at(1, "r.log.old", 0)), 0);
	assert_int_equal(api->reopen(f), 0);
	assert_int_equal(get(&((struct ttlog__file *)f)->c.reopens), 1);
	assert_int_equal(api->consume(f, b[1]), TTLOG_LISTENER_OK);
	/* A reopen that is refused keeps writing to the open file. */
	assert_int_equal(rename(at(0, "r.log", 0), at(2, "r.log.2nd", 0)), 0);
	assert_int_equal(symlink(at(1, "r.log.old", 0), at(0, "r.log", 0)), 0);
	stderr_begin();
	assert_int_equal(api->reopen(f), TTLOG_EINVAL);
	char *err = stderr_end();
	assert_non_null(strstr(err, "r.log: is a symbolic link"));
	free(err);
	assert_int_equal(api->consume(f, b[2]), TTLOG_LISTENER_OK);
	api->destroy(f);
	assert_file_is(at(1, "r.log.old", 0), TTLOG_ENCODING_TEXT, b, 1);
	assert_file_is(at(2, "r.log.2nd", 0), TTLOG_ENCODING_TEXT, b + 1, 2);
	for (int i = 0; i < 3; i++)
		ttlog_batch_unref(b[i]);
}

/* create() must fail with TTLOG_EINVAL and say why on stderr. */
static void assert_refused(const struct ttlog__file_options *o, const char *why)
{
	void *st = (void *)&st;
	char *err;

	stderr_begin();
	int rc = api->create2(o, test_host(), &st);
	err = stderr_end();
	assert_int_equal(rc, TTLOG_EINVAL);
	assert_null(st);
	if (strstr(err, why) == NULL ||
	    strncmp(err, "ttlog: listener f: ", 19) != 0)
		fail_msg("expected \"%s\" in: %s", why, err);
	free(err);
}

static void test_file_refuses_symlinks_and_what_is_not_a_file(void **s)
{
	struct ttlog__file_options o;
	char *text;
	int fd;
	(void)s;

	fd = open(at(0, "real", 0), O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, "precious\n", 9), 9);
	close(fd);
	assert_int_equal(symlink(at(0, "real", 0), at(1, "link", 0)), 0);
	opts_init(&o, at(1, "link", 0), TTLOG__FILE_TEXT);
	assert_refused(&o, "link: is a symbolic link; refusing to follow it");
	text = slurp(at(0, "real", 0), NULL);
	assert_string_equal(text, "precious\n");
	free(text);

	/* A dangling link: O_CREAT would have created its target. */
	assert_int_equal(symlink(at(2, "target", 0), at(1, "dangling", 0)), 0);
	opts_init(&o, at(1, "dangling", 0), TTLOG__FILE_TEXT);
	assert_refused(&o, "is a symbolic link");
	assert_false(exists(at(2, "target", 0)));

	assert_int_equal(mkdir(at(0, "adir", 0), 0700), 0);
	opts_init(&o, at(0, "adir", 0), TTLOG__FILE_TEXT);
	assert_refused(&o, "adir: is a directory, not a regular file");

	/* A FIFO with no reader would block a plain open for writing;
	 * one with a reader is taken (test_file_fifo.c). */
	assert_int_equal(mkfifo(at(0, "fifo", 0), 0600), 0);
	opts_init(&o, at(0, "fifo", 0), TTLOG__FILE_TEXT);
	assert_refused(&o, "fifo: is a FIFO that nobody has open for reading");

	opts_init(&o, at(3, "x/", 0), TTLOG__FILE_TEXT);
	assert_refused(&o, "names a directory");
}

static void test_file_refuses_bad_options(void **s)
{
	static const char *const bad_modes[] = {
		"0800", "abc", "", "01000", "-640", "0640 ", "77777"};
	struct ttlog__file_options o;
	char *path = at(0, "never.log", 0);
	(void)s;

	opts_init(&o, NULL, TTLOG__FILE_TEXT);
	assert_refused(&o, "(no path): path: required");
	opts_init(&o, "", TTLOG__FILE_TEXT);
	assert_refused(&o, "path: required");
	for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		opts_init(&o, path, TTLOG__FILE_TEXT);
		o.mode = (char *)bad_modes[i];
		assert_refused(&o, "mode: \"");
	}
	opts_init(&o, path, 3);
	assert_refused(&o, "format: 3 is not one of");
	opts_init(&o, path, -1);
	assert_refused(&o, "format: -1");
	opts_init(&o, path, TTLOG__FILE_TEXT);
	o.fsync = 3;
	assert_refused(&o, "fsync: 3 is not one of");
	opts_init(&o, path, TTLOG__FILE_TEXT);
	o.rotate_keep = -1;
	assert_refused(&o, "rotate.keep: -1 is not between 0 and 10000");
	o.rotate_keep = 10001;
	assert_refused(&o, "rotate.keep: 10001");
	opts_init(&o, path, TTLOG__FILE_TEXT);
	o.fsync = TTLOG__FILE_FSYNC_INTERVAL;
	o.fsync_interval_ms = 0;
	assert_refused(&o, "fsync_interval: must be more than 0");
	opts_init(&o, path, TTLOG__FILE_TEXT);
	o.rotate_interval_ms = UINT64_MAX;
	assert_refused(&o, "rotate.interval: longer than 100 years");
	stderr_begin();
	assert_int_equal(api->create2(NULL, test_host(), &(void *){NULL}),
			 TTLOG_EINVAL);
	char *err = stderr_end();
	assert_non_null(strstr(err, "(no path): path: required"));
	free(err);
	/* Nothing was created by any refused attempt. */
	assert_false(exists(path));
	/* The edges of what is accepted. */
	opts_init(&o, path, TTLOG__FILE_BINARY);
	o.mode = "777";
	o.rotate_keep = 10000;
	o.fsync = TTLOG__FILE_FSYNC_EVERY_BATCH;
	o.fsync_interval_ms = 0;
	api->destroy(create_ok(&o));
	assert_true(exists(path));
}

static void test_file_creates_parents_with_modes_and_appends(void **s)
{
	struct ttlog__file_options o;
	struct ttlog_batch *b = make_batch(1, 0, 2);
	struct stat st;
	size_t len, n;
	char *text;
	const char *enc;
	int fd;
	(void)s;

	opts_init(&o, at(0, "a/b/c/app.log", 0), TTLOG__FILE_TEXT);
	api->destroy(create_ok(&o));
	assert_int_equal(stat(at(0, "a", 0), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(stat(at(0, "a/b/c", 0), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(stat(at(0, "a/b/c/app.log", 0), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_true(S_ISREG(st.st_mode));

	opts_init(&o, at(0, "private.log", 0), TTLOG__FILE_TEXT);
	o.mode = "0600";
	api->destroy(create_ok(&o));
	assert_int_equal(stat(at(0, "private.log", 0), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* An existing file is appended to, never truncated. */
	fd = open(at(0, "old.log", 0), O_WRONLY | O_CREAT, 0644);
	assert_int_equal(write(fd, "old line\n", 9), 9);
	close(fd);
	opts_init(&o, at(0, "old.log", 0), TTLOG__FILE_TEXT);
	void *f = create_ok(&o);
	assert_int_equal(api->consume(f, b), TTLOG_LISTENER_OK);
	api->destroy(f);
	text = slurp(at(0, "old.log", 0), &len);
	enc = enc_of(b, TTLOG_ENCODING_TEXT, &n);
	assert_int_equal(len, 9 + n);
	assert_memory_equal(text, "old line\n", 9);
	assert_memory_equal(text + 9, enc, n);
	free(text);
	ttlog_batch_unref(b);
}

static void write_bytes(const char *path, const void *d, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, d, n), (ssize_t)n);
	close(fd);
}

/* Creates the listener on a file an earlier run left, checking what it
 * reports, and writes batch b. */
static void resume_on(const char *path, int format, struct ttlog_batch *b,
		      const char *report)
{
	struct ttlog__file_options o;
	void *f;
	char *err;

	opts_init(&o, (char *)path, format);
	stderr_begin();
	f = create_ok(&o);
	assert_int_equal(api->consume(f, b), TTLOG_LISTENER_OK);
	api->destroy(f);
	err = stderr_end();
	if (report == NULL)
		assert_string_equal(err, "");
	else if (strstr(err, report) == NULL)
		fail_msg("expected \"%s\" in: %s", report, err);
	free(err);
}

static void test_file_torn_tail_of_an_earlier_run_is_not_appended_to(void **s)
{
	struct ttlog_batch *b[2] = {make_batch(1, 0, 3), make_batch(2, 3, 3)};
	size_t len, n0, n1;
	const char *e0 = enc_of(b[0], TTLOG_ENCODING_TEXT, &n0);
	const char *e1;
	char *text;
	(void)s;

	/* A text line torn by an earlier run is ended first. */
	write_bytes(at(0, "torn.log", 0), "whole\ntorn li", 13);
	resume_on(at(0, "torn.log", 0), TTLOG__FILE_TEXT, b[0],
		  "torn.log: the file ended inside a line");
	text = slurp(at(0, "torn.log", 0), &len);
	assert_int_equal(len, 14 + n0);
	assert_memory_equal(text, "whole\ntorn li\n", 14);
	assert_memory_equal(text + 14, e0, n0);
	free(text);

	/* A binary file ending inside a frame is set aside, whole. */
	write_bytes(at(0, "torn.bin", 0), "\x04\x22\x4d\x18torn", 8);
	resume_on(at(0, "torn.bin", 0), TTLOG__FILE_BINARY, b[0],
		  "torn.bin: the file ends inside an LZ4 frame");
	text = slurp(at(0, "torn.bin", 1), &len);
	assert_int_equal(len, 8);
	assert_memory_equal(text, "\x04\x22\x4d\x18torn", 8);
	free(text);
	assert_file_is(at(0, "torn.bin", 0), TTLOG_ENCODING_CBOR_LZ4, b, 1);

	/* Whole records are appended to, silently. */
	e1 = enc_of(b[0], TTLOG_ENCODING_CBOR_LZ4, &n1);
	write_bytes(at(0, "good.bin", 0), e1, n1);
	resume_on(at(0, "good.bin", 0), TTLOG__FILE_BINARY, b[1], NULL);
	assert_false(exists(at(0, "good.bin", 1)));
	assert_file_is(at(0, "good.bin", 0), TTLOG_ENCODING_CBOR_LZ4, b, 2);
	write_bytes(at(0, "good.log", 0), e0, n0);
	resume_on(at(0, "good.log", 0), TTLOG__FILE_TEXT, b[1], NULL);
	assert_file_is(at(0, "good.log", 0), TTLOG_ENCODING_TEXT, b, 2);
	ttlog_batch_unref(b[0]);
	ttlog_batch_unref(b[1]);
}

/* ------------------------------------------------------------------ */
/* Write errors                                                         */
/* ------------------------------------------------------------------ */

static void limit_file_size(rlim_t bytes)
{
	struct rlimit r = fsize_saved;
	r.rlim_cur = bytes;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &r), 0);
}

static void unlimit_file_size(void)
{
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &fsize_saved), 0);
}

static off_t size_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* One failure episode, in a given format: the torn batch is completed
 * from where it stopped once the disk takes data again. */
static void write_error_episode(int format, enum ttlog_encoding e,
				const char *name)
{
	struct ttlog__file_options o;
	struct ttlog_batch *b[2] = {make_batch(1, 0, 10),
				    make_batch(2, 10, 50)};
	struct ttlog__file *f;
	size_t l1, l2;
	rlim_t limit;
	char *err;

	enc_of(b[0], e, &l1);
	enc_of(b[1], e, &l2);
	opts_init(&o, at(0, name, 0), format);
	f = create_ok(&o);
	assert_int_equal(api->consume(f, b[0]), TTLOG_LISTENER_OK);
	assert_int_equal(size_of(at(0, name, 0)), l1);
	/* Room for part of the second batch, in the middle of an event. */
	limit = (rlim_t)(l1 + l2 / 2 + 3);
	limit_file_size(limit);
	stderr_begin();
	assert_int_equal(api->consume(f, b[1]), TTLOG_LISTENER_RETRY);
	assert_int_equal(get(&f->c.write_errors), 1);
	assert_int_equal(size_of(at(0, name, 0)), (off_t)limit);
	/* Still full: the same batch offered again, nothing more goes. */
	assert_int_equal(api->consume(f, b[1]), TTLOG_LISTENER_RETRY);
	assert_int_equal(get(&f->c.write_errors), 2);
	assert_int_equal(get(&f->c.batches), 1);
	assert_int_equal(size_of(at(0, name, 0)), (off_t)limit);
	unlimit_file_size();
	assert_int_equal(api->consume(f, b[1]), TTLOG_LISTENER_OK);
	err = stderr_end();
	assert_int_equal(get(&f->c.write_errors), 2);
	assert_int_equal(get(&f->c.batches), 2);
	assert_int_equal(get(&f->c.bytes), l1 + l2);
	/* Reported once when it began and once when it ended. */
	assert_int_equal(count_of(err, "ttlog: listener f: write: "), 2);
	assert_int_equal(count_of(err, "write failed: File too large"), 1);
	assert_int_equal(count_of(err, "writing again after 2 failed"), 1);
	free(err);
	api->destroy(f);
	assert_file_is(at(0, name, 0), e, b, 2);
	ttlog_batch_unref(b[0]);
	ttlog_batch_unref(b[1]);
}

static void test_file_write_error_resumes_the_torn_batch_exactly(void **s)
{
	size_t len, batches;
	int64_t next = 0;
	unsigned char *cbor;
	(void)s;

	write_error_episode(TTLOG__FILE_TEXT, TTLOG_ENCODING_TEXT, "t.log");
	write_error_episode(TTLOG__FILE_JSON, TTLOG_ENCODING_JSONL, "j.log");
	write_error_episode(TTLOG__FILE_BINARY, TTLOG_ENCODING_CBOR_LZ4,
			    "b.log");
	/* The binary file is still a clean sequence of frames. */
	cbor = lz4_cli(at(0, "b.log", 0), &len);
	assert_int_equal(cbor_events(cbor, len, &batches, &next), 60);
	assert_int_equal(batches, 2);
	assert_int_equal(next, 60);
	free(cbor);
}

static void test_file_torn_batch_is_finished_before_another(void **s)
{
	struct ttlog__file_options o;
	struct ttlog_batch *b[3] = {make_batch(1, 0, 5), make_batch(2, 5, 40),
				    make_batch(3, 45, 5)};
	struct ttlog__file *f;
	size_t l1, l2;
	(void)s;

	enc_of(b[0], TTLOG_ENCODING_TEXT, &l1);
	enc_of(b[1], TTLOG_ENCODING_TEXT, &l2);
	opts_init(&o, at(0, "w.log", 0), TTLOG__FILE_TEXT);
	f = create_ok(&o);
	assert_int_equal(api->consume(f, b[0]), TTLOG_LISTENER_OK);
	limit_file_size((rlim_t)(l1 + l2 / 3));
	stderr_begin();
	assert_int_equal(api->consume(f, b[1]), TTLOG_LISTENER_RETRY);
	/* A reopen now must wait: the rest of batch 2 belongs after its
	 * start, in the old file. */
	assert_int_equal(rename(at(0, "w.log", 0), at(1, "w.log.old", 0)), 0);
	assert_int_equal(api->reopen(f), 0);
	assert_int_equal(get(&f->c.reopens), 0);
	unlimit_file_size();
	/* The writer dropped batch 2 from its queue and offers batch 3. */
	assert_int_equal(api->consume(f, b[2]), TTLOG_LISTENER_OK);
	free(stderr_end());
	assert_int_equal(get(&f->c.reopens), 1);
	assert_int_equal(get(&f->c.batches), 3);
	api->destroy(f);
	assert_file_is(at(1, "w.log.old", 0), TTLOG_ENCODING_TEXT, b, 2);
	assert_file_is(at(0, "w.log", 0), TTLOG_ENCODING_TEXT, b + 2, 1);
	for (int i = 0; i < 3; i++)
		ttlog_batch_unref(b[i]);
}

static void test_file_write_error_through_the_writer_loses_nothing(void **s)
{
	struct ttlog__file_options o;
	struct ttlog_listener_stats ls;
	long next[2] = {0, -1};
	off_t before;
	(void)s;

	opts_init(&o, at(0, "wr.log", 0), TTLOG__FILE_TEXT);
	start_lib(&o, 0);
	for (long i = 0; i < 100; i++)
		TTLOG_INFO("load", TTLOG_KV("t", 0), TTLOG_KV("seq", i));
	ttlog_flush();
	before = size_of(at(0, "wr.log", 0));
	limit_file_size((rlim_t)before + 1000);
	stderr_begin();
	for (long i = 100; i < 600; i++)
		TTLOG_INFO("load", TTLOG_KV("t", 0), TTLOG_KV("seq", i));
	ttlog_flush();
	assert_true(get(&live->c.write_errors) >= 1);
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_true(ls.retries >= 1);
	assert_true(ls.queue_bytes > 0);
	assert_int_equal(size_of(at(0, "wr.log", 0)), before + 1000);
	unlimit_file_size();
	ttlog_flush();
	free(stderr_end());
	assert_int_equal(ttlog_listener_stats(0, &ls), 0);
	assert_int_equal(ls.queue_bytes, 0);
	assert_int_equal(ls.dropped_queue_full, 0);
	assert_int_equal(ttlog_shutdown(), 0);
	assert_int_equal(read_seqs(at(0, "wr.log", 0), next), 600);
	assert_int_equal(next[0], 600);
	/* The listener's reports of the episode ("write failed", "writing
	 * again") went through the library's log, into this same file once
	 * it could be written again; every event it wrote is a load line or
	 * one of those. */
	assert_true(read_reports >= 1 && read_reports <= 2);
	assert_int_equal(live_events_at_destroy, 600 + read_reports);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_file_table_declares_every_option_at_its_offset),
		T(test_file_text_lines_are_exact_apart_from_the_time),
		T(test_file_json_lines_hold_message_and_fields),
		T(test_file_binary_is_lz4_frames_of_cbor_batches),
		T(test_file_rotation_by_size_under_load_keeps_every_event_once),
		T(test_file_rotation_keeps_only_the_newest_keep_files),
		T(test_file_rotation_by_time_on_the_timer),
		T(test_file_rotation_by_time_at_the_next_write),
		T(test_file_failed_rotation_writes_on_and_tries_later),
		T(test_file_fsync_every_batch_syncs_each_batch),
		T(test_file_fsync_never_does_not_sync_even_on_flush),
		T(test_file_fsync_interval_syncs_on_flush_and_on_the_timer),
		T(test_file_durable_follows_the_fsync_policy),
		T(test_file_reopen_follows_an_external_rename),
		T(test_file_refuses_symlinks_and_what_is_not_a_file),
		T(test_file_refuses_bad_options),
		T(test_file_creates_parents_with_modes_and_appends),
		T(test_file_torn_tail_of_an_earlier_run_is_not_appended_to),
		T(test_file_write_error_resumes_the_torn_batch_exactly),
		T(test_file_torn_batch_is_finished_before_another),
		T(test_file_write_error_through_the_writer_loses_nothing),
#undef T
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
