/*
 * test_forward_plugin.c - the forward plugin, loaded with dlopen as the
 * registry loads it: its option table, create() refusing every bad
 * combination with a message that names the option (and the file), and
 * the spool shared by two instances of one listener across a reload
 * (fwd_spool.c: attach, reference count, handover, rollback). The
 * connections themselves are tested with real processes in
 * tests/integration/test_forward.py.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ttlog/listener.h>

#include "batch_internal.h"
#include "forward_internal.h"
#include "plugin_host.h"
#include "spool_internal.h"
#include "testutil.h"

static const struct ttlog_listener_api *api;
static char certs[] = "/tmp/ttlog-fwd-certs-XXXXXX";
static char spooldir[] = "/tmp/ttlog-fwd-spool-XXXXXX";

/* The plugin resolves ttlog_* from this program: make sure the static
 * library's objects it needs are linked in. */
typedef void (*any_fn)(void);
any_fn volatile ttlog_test_keep[] = {
	(any_fn)ttlog_shutdown, (any_fn)ttlog_batch_encode,
	(any_fn)ttlog_batch_event, (any_fn)ttlog_field_next};

static int setup(void **state)
{
	ttlog_listener_entry_fn entry;
	void *handle;
	char cmd[512];
	(void)state;

	handle = dlopen(TTLOG_FORWARD_PLUGIN, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL)
		fail_msg("dlopen %s: %s", TTLOG_FORWARD_PLUGIN, dlerror());
	*(void **)&entry = dlsym(handle, TTLOG_LISTENER_ENTRY_SYMBOL);
	assert_non_null(entry);
	api = entry();
	assert_non_null(mkdtemp(certs));
	assert_non_null(mkdtemp(spooldir));
	snprintf(cmd, sizeof(cmd), "bash %s %s", TTLOG_TEST_CERTS_SCRIPT,
		 certs);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", certs, spooldir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Options as the registry leaves them before a section is applied: every
 * default of the table (the tests set what they need on top). */
static void defaults(struct fwd_options *o)
{
	memset(o, 0, sizeof(*o));
	o->endpoints = "tcp://127.0.0.1:5171";
	o->service = "";
	o->connect_timeout_ms = 10000;
	o->write_timeout_ms = 30000;
	o->ack_timeout_ms = 30000;
	o->heartbeat_ms = 10000;
	o->drain_timeout_ms = 5000;
	o->reconnect_initial_ms = 200;
	o->reconnect_max_ms = 30000;
	o->window_bytes = 64u << 20;
	o->compress = 1;
	o->tls_verify = 1;
	o->spool_max_bytes = 1u << 30;
	o->spool_segment_bytes = 64u << 20;
	o->spool_fsync_interval_ms = 1000;
	o->syslog_app_name = "ttlog";
	o->syslog_sd_id = "fields@32473";
	o->syslog_facility = 1;
}

/* Standard error goes to a file between capture_start() and
 * capture_end(), which returns what was written in text. */
struct capture {
	char path[32];
	int fd, saved;
};

static void capture_start(struct capture *c)
{
	snprintf(c->path, sizeof(c->path), "/tmp/ttlog-fwd-err-XXXXXX");
	c->fd = mkstemp(c->path);
	c->saved = dup(2);
	assert_true(c->fd >= 0 && c->saved >= 0);
	fflush(stderr);
	dup2(c->fd, 2);
}

static void capture_end(struct capture *c, char *text, size_t cap)
{
	ssize_t n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	lseek(c->fd, 0, SEEK_SET);
	n = read(c->fd, text, cap - 1);
	text[n > 0 ? n : 0] = 0;
	close(c->fd);
	unlink(c->path);
}

/* One instance of the listener `name`, as the writer creates it: create2()
 * with its own host, stderr captured in text. On success the caller ends
 * it with drop(). */
struct inst {
	struct ttlog__plugin_host *host;
	struct fwd *f;
};

static int create_named(const char *name, const struct fwd_options *o,
			struct inst *in, char *text, size_t cap)
{
	struct capture c;
	void *state = NULL;
	int rc;

	in->host = ttlog__plugin_host_new(name);
	assert_non_null(in->host);
	capture_start(&c);
	rc = api->create2(o, ttlog__plugin_host_api(in->host), &state);
	capture_end(&c, text, cap);
	in->f = state;
	if (rc != 0) {
		ttlog__plugin_host_free(in->host);
		in->host = NULL;
	}
	return rc;
}

static void drop(struct inst *in)
{
	api->destroy(in->f);
	ttlog__plugin_host_free(in->host);
	in->f = NULL;
	in->host = NULL;
}

/* Runs create2() (with a host as the writer makes one) with stderr
 * captured; returns its result and the text. */
static int create_captured(const struct fwd_options *o, char *text, size_t cap)
{
	struct inst in;
	int rc = create_named("up", o, &in, text, cap);

	if (rc == 0)
		drop(&in);
	return rc;
}

static void expect_refusal(const struct fwd_options *o, const char *want)
{
	char text[2048];
	int rc = create_captured(o, text, sizeof(text));

	if (rc != TTLOG_ECONFIG || strstr(text, want) == NULL)
		fail_msg("create: rc %d, stderr \"%s\" lacks \"%s\"", rc, text,
			 want);
}

/* check() (ABI 1.3) refuses it too, with the same words, before any
 * create(). */
static void expect_refusal_checked(const struct fwd_options *o,
				   const char *want)
{
	char err[1024] = "";
	int rc = api->check(o, err, sizeof(err));

	if (rc != TTLOG_ECONFIG || strstr(err, want) == NULL)
		fail_msg("check: rc %d, \"%s\" lacks \"%s\"", rc, err, want);
	expect_refusal(o, want);
}

static void test_table_and_abi(void **state)
{
	const struct ttlog_option_spec *s;
	size_t n = 0;
	int spool = 0, pins = 0, endpoints = 0;
	(void)state;

	assert_int_equal(api->abi_version, TTLOG_LISTENER_ABI_VERSION);
	assert_string_equal(api->name, "forward");
	assert_int_equal(api->options_size, sizeof(struct fwd_options));
	assert_non_null(api->metrics);
	assert_non_null(api->draining);
	for (s = api->options; s->type != TTLOG_OPTION_END; s++, n++) {
		assert_true(s->offset < sizeof(struct fwd_options));
		assert_non_null(s->description);
		spool += strcmp(s->key, "spool.dir") == 0;
		pins += strcmp(s->key, "tls.pin_sha256") == 0;
		endpoints += strcmp(s->key, "endpoints") == 0 &&
			     (s->flags & TTLOG_OPTION_REQUIRED);
	}
	assert_true(n > 30);
	assert_int_equal(spool + pins + endpoints, 3);
}

static void test_endpoint_errors_name_the_entry(void **state)
{
	struct fwd_options o;
	static const struct {
		const char *endpoints, *want;
	} cases[] = {
		{"tls://collector", "tls://collector: expected HOST:PORT"},
		{"ftp://x:21", "ftp://x:21: unknown scheme"},
		{"unix://relative.sock", "unix:// needs an absolute path"},
		{"tcp://h:0", "port must be 1..65535"},
		{"tcp://h:70000", "port must be 1..65535"},
		{"tcp://h:12x", "port must be 1..65535"},
		{"[::1:99", "expected [ADDR]:PORT"},
		{" , ", "no endpoint given"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		defaults(&o);
		o.endpoints = (char *)cases[i].endpoints;
		expect_refusal_checked(&o, cases[i].want);
	}
}

static void test_good_endpoints_and_defaults(void **state)
{
	struct fwd_options o;
	char text[2048], ca[600];
	(void)state;

	defaults(&o);
	snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
	o.endpoints = "collector:5171, tcp://[::1]:5172,unix:///run/x.sock";
	o.tls_ca_file = ca;
	assert_int_equal(create_captured(&o, text, sizeof(text)), 0);
	assert_string_equal(text, "");
}

static void test_option_combinations_are_refused(void **state)
{
	struct fwd_options o;
	char ca[600], cert[600], missing[600];
	(void)state;

	snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
	snprintf(cert, sizeof(cert), "%s/client.pem", certs);
	snprintf(missing, sizeof(missing), "%s/nope.pem", certs);

	defaults(&o);
	o.endpoints = "tls://localhost:1";
	o.tls_cert = cert;
	expect_refusal_checked(&o, "tls.cert and tls.key: set both or neither");

	defaults(&o);
	o.endpoints = "tls://localhost:1";
	o.tls_ca_file = missing;
	expect_refusal_checked(&o, "nope.pem: no such file");

	defaults(&o);
	o.endpoints = "tls://localhost:1";
	o.tls_ca_file = ca;
	o.tls_pins = "12:34";
	expect_refusal_checked(&o, "not a SHA-256 fingerprint");

	defaults(&o);
	o.format = FWD_SYSLOG;
	o.spool_dir = spooldir;
	expect_refusal_checked(&o, "spool.dir: only format ttlog has a spool");

	defaults(&o);
	o.spool_dir = spooldir;
	o.spool_max_bytes = 1u << 20;
	o.spool_segment_bytes = 1u << 20;
	expect_refusal(&o, "spool.max_bytes (1048576) must be larger");

	defaults(&o);
	o.syslog_facility = 24;
	expect_refusal_checked(&o, "syslog.facility: 24 is not in 0..23");
}

/* check() refuses an http:// endpoint by name, passes a good
 * configuration, and makes no spool directory. */
static void test_check_creates_nothing(void **state)
{
	struct fwd_options o;
	char err[1024] = "", ca[600], spool[600];
	struct stat st;
	(void)state;

	defaults(&o);
	o.endpoints = "tcp://127.0.0.1:1, http://127.0.0.1:8080";
	assert_int_equal(api->check(&o, err, sizeof(err)), TTLOG_ECONFIG);
	assert_non_null(strstr(err, "endpoints: http://127.0.0.1:8080: the "
				    "forward listener does not speak HTTP"));

	defaults(&o);
	snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
	snprintf(spool, sizeof(spool), "%s/not/yet", spooldir);
	o.endpoints = "tls://localhost:1";
	o.tls_ca_file = ca;
	o.spool_dir = spool;
	err[0] = 0;
	assert_int_equal(api->check(&o, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(stat(spool, &st), -1);
}

static void test_verify_off_is_a_warning(void **state)
{
	struct fwd_options o;
	char text[2048];
	(void)state;

	defaults(&o);
	o.endpoints = "tls://localhost:1";
	o.tls_verify = 0;
	assert_int_equal(create_captured(&o, text, sizeof(text)), 0);
	assert_non_null(strstr(text, "WARNING: tls.verify is off"));
	/* Plain TCP has nothing to verify and says nothing. */
	o.endpoints = "tcp://127.0.0.1:1";
	assert_int_equal(create_captured(&o, text, sizeof(text)), 0);
	assert_string_equal(text, "");
}

static void test_spool_keeps_its_identity(void **state)
{
	struct fwd_options o;
	char text[2048], idpath[600];
	unsigned char id1[16], id2[16];
	int fd;
	(void)state;

	defaults(&o);
	o.spool_dir = spooldir;
	assert_int_equal(create_captured(&o, text, sizeof(text)), 0);
	snprintf(idpath, sizeof(idpath), "%s/id", spooldir);
	fd = open(idpath, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, id1, 16), 16);
	close(fd);
	/* A second forwarder on the same spool, while the first one is
	 * gone: the same id (the collector's de-duplication relies on it). */
	assert_int_equal(create_captured(&o, text, sizeof(text)), 0);
	fd = open(idpath, O_RDONLY);
	assert_int_equal(read(fd, id2, 16), 16);
	close(fd);
	assert_memory_equal(id1, id2, 16);
}

/* ---- the spool across a reload (fwd_spool.c) ---- */

static const char *const n_keys[] = {"n", NULL};
static const uint8_t n_types[] = {TTLOG_TYPE_I64, 0};
static struct ttlog_callsite n_cs = {"n", "t.c",  1,	   TTLOG_LEVEL_INFO,
				     1,	  n_keys, n_types, {0, 0}};

/* Offers a batch of one event to the instance; its answer. */
static int offer1(struct fwd *f, int64_t n)
{
	struct ttlog_batch *b = ttlog__batch_new(4, 4096, (uint64_t)n);
	int rc;

	assert_non_null(b);
	assert_int_equal(ttlog__batch_add(b, &n_cs, 1700000000000000000ull, 1,
					  0, &n, sizeof(n)),
			 0);
	rc = api->consume(f, b);
	ttlog_batch_unref(b);
	return rc;
}

/* A fresh spool directory under spooldir; dir holds 600 bytes. */
static void spool_options(struct fwd_options *o, char *dir, const char *leaf)
{
	defaults(o);
	o->endpoints = "tcp://127.0.0.1:1"; /* never started: never used */
	snprintf(dir, 600, "%s/%s", spooldir, leaf);
	o->spool_dir = dir;
}

/* Whether the spool's LOCK is held (by anyone, this process included:
 * flock locks belong to the open file). */
static int locked(const char *dir)
{
	char path[700];
	int fd, held;

	snprintf(path, sizeof(path), "%s/LOCK", dir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	held = flock(fd, LOCK_EX | LOCK_NB) != 0;
	close(fd); /* releases it when it was taken here */
	return held;
}

/* f alone has the spool in dir, and sends from it. */
static void assert_sole_owner(struct fwd *f, const char *dir)
{
	assert_false(f->spool_waiting);
	assert_int_equal(f->spool_ref->refs, 1);
	assert_ptr_equal(f->spool_ref->owner, f);
	assert_null(f->spool_ref->heir);
	assert_true(locked(dir));
}

static void test_spool_reload_hands_over_to_the_new_instance(void **state)
{
	struct fwd_options o, o2;
	struct inst a, b, c;
	struct capture cap;
	char dir[600], dir2[620], text[2048];
	(void)state;

	spool_options(&o, dir, "handover");
	assert_int_equal(create_named("up", &o, &a, text, sizeof(text)), 0);
	assert_int_equal(a.f->spool_ref->refs, 1);
	for (int i = 1; i <= 3; i++)
		assert_int_equal(offer1(a.f, i), TTLOG_LISTENER_OK);
	assert_int_equal(a.f->last_seq, 3);

	/* The reload's new instance: other spool options, the directory
	 * spelled differently. It attaches and waits. */
	o2 = o;
	snprintf(dir2, sizeof(dir2), "%s/.", dir);
	o2.spool_dir = dir2;
	o2.spool_max_bytes = 2ull << 30;
	o2.spool_fsync = TTLOG_SPOOL_FSYNC_ALWAYS;
	o2.ack_timeout_ms = 1234;
	assert_int_equal(create_named("up", &o2, &b, text, sizeof(text)), 0);
	assert_string_equal(text, "");
	assert_ptr_equal(b.f->spool, a.f->spool);
	assert_ptr_equal(b.f->spool_ref, a.f->spool_ref);
	assert_int_equal(b.f->spool_ref->refs, 2);
	assert_ptr_equal(b.f->spool_ref->owner, a.f);
	assert_ptr_equal(b.f->spool_ref->heir, b.f);
	assert_true(b.f->spool_waiting);
	assert_memory_equal(b.f->id, a.f->id, sizeof(a.f->id));
	/* Until the old one goes, the new one takes nothing and the old one
	 * goes on appending. */
	assert_int_equal(offer1(b.f, 100), TTLOG_LISTENER_RETRY);
	assert_int_equal(offer1(a.f, 4), TTLOG_LISTENER_OK);
	/* A writer that lets a replaced listener drain need not wait for
	 * the old one: its frames are in the spool the new one sends. */
	assert_int_equal(api->draining(a.f), 0);
	assert_int_equal(api->draining(b.f), 0);
	assert_int_equal(a.f->last_seq, 4);
	assert_int_equal(a.f->spool->o.max_bytes, 1u << 30);
	/* A third instance of the same name is one too many. */
	assert_int_equal(create_named("up", &o, &c, text, sizeof(text)),
			 TTLOG_ECONFIG);
	assert_non_null(strstr(text, "in use by listener \"up\""));

	/* The old one is destroyed: the new one owns the spool, with its
	 * options, the same id and the seq where the old one stopped. */
	a.f->st.frames_sent = 7; /* as if it had sent 1 to 3 */
	a.f->max_sent = 3;
	capture_start(&cap);
	drop(&a);
	capture_end(&cap, text, sizeof(text));
	assert_non_null(strstr(text, "spool handed over"));
	assert_non_null(strstr(text, "with 4 frames (about 4 events) not "
				     "acknowledged"));
	assert_sole_owner(b.f, dir);
	assert_int_equal(b.f->last_seq, 4);
	assert_int_equal(b.f->acked, 0);
	assert_int_equal(b.f->next_send, 1);
	assert_int_equal(b.f->max_sent, 3);	  /* 4 goes as a first send */
	assert_int_equal(b.f->st.frames_sent, 7); /* counters go on */
	assert_int_equal(b.f->spool->o.max_bytes, 2ull << 30);
	assert_int_equal(b.f->spool->o.fsync, TTLOG_SPOOL_FSYNC_ALWAYS);
	assert_int_equal(offer1(b.f, 5), TTLOG_LISTENER_OK);
	assert_int_equal(b.f->last_seq, 5);
	drop(&b);
	assert_false(locked(dir));
}

static void test_spool_failed_reload_leaves_the_owner(void **state)
{
	struct fwd_options o;
	struct inst a, b;
	char dir[600], text[2048];
	(void)state;

	spool_options(&o, dir, "rollback");
	assert_int_equal(create_named("up", &o, &a, text, sizeof(text)), 0);
	assert_int_equal(offer1(a.f, 1), TTLOG_LISTENER_OK);
	assert_int_equal(create_named("up", &o, &b, text, sizeof(text)), 0);
	assert_int_equal(a.f->spool_ref->refs, 2);
	/* The reload fails after the new instance was made: it goes first,
	 * and nothing moved. */
	drop(&b);
	assert_sole_owner(a.f, dir);
	assert_int_equal(api->draining(a.f), 1); /* its own frames again */
	assert_int_equal(offer1(a.f, 2), TTLOG_LISTENER_OK);
	assert_int_equal(a.f->last_seq, 2);
	/* A later reload hands over as usual. */
	assert_int_equal(create_named("up", &o, &b, text, sizeof(text)), 0);
	drop(&a);
	assert_false(b.f->spool_waiting);
	assert_int_equal(b.f->last_seq, 2);
	drop(&b);
	assert_false(locked(dir));
}

static void test_spool_two_listeners_cannot_share_a_dir(void **state)
{
	struct fwd_options o;
	struct inst a, b;
	char dir[600], text[2048], want[700];
	(void)state;

	spool_options(&o, dir, "shared");
	assert_int_equal(create_named("up", &o, &a, text, sizeof(text)), 0);
	assert_int_equal(create_named("other", &o, &b, text, sizeof(text)),
			 TTLOG_ECONFIG);
	snprintf(want, sizeof(want),
		 "spool %s: in use by listener \"up\" (each forward listener "
		 "needs its own spool.dir)",
		 dir);
	if (strstr(text, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", text, want);
	assert_int_equal(a.f->spool_ref->refs, 1);
	drop(&a);
	/* Once the first one is gone, the directory is free. */
	assert_int_equal(create_named("other", &o, &b, text, sizeof(text)), 0);
	assert_int_equal(b.f->spool_ref->refs, 1);
	drop(&b);
}

static void test_spool_left_behind_is_said_once(void **state)
{
	struct fwd_options o;
	struct inst a;
	struct capture cap;
	char dir[600], text[2048];
	(void)state;

	/* A reload that changes spool.dir (or removes the listener): the old
	 * directory keeps its frames, and the log says how many. */
	spool_options(&o, dir, "left");
	assert_int_equal(create_named("up", &o, &a, text, sizeof(text)), 0);
	for (int i = 1; i <= 3; i++)
		assert_int_equal(offer1(a.f, i), TTLOG_LISTENER_OK);
	capture_start(&cap);
	drop(&a);
	capture_end(&cap, text, sizeof(text));
	assert_non_null(strstr(text, "spool closed: 3 frames (about 3 events) "
				     "not acknowledged by tcp://127.0.0.1:1 "
				     "stay in spool"));
	assert_non_null(strstr(text, dir));
	assert_false(locked(dir));

	/* At shutdown, after the drain gave up: the same line, once. */
	assert_int_equal(create_named("up", &o, &a, text, sizeof(text)), 0);
	assert_int_equal(a.f->last_seq, 3); /* it found them */
	a.f->drain_timeout_ms = 0;
	capture_start(&cap);
	assert_int_equal(api->draining(a.f), 0);
	drop(&a);
	capture_end(&cap, text, sizeof(text));
	assert_non_null(strstr(text, "spool closed: 3 frames"));
	assert_null(strstr(strstr(text, "spool closed") + 1, "spool closed"));
	assert_null(strstr(text, "shutting down"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_and_abi),
		cmocka_unit_test(test_endpoint_errors_name_the_entry),
		cmocka_unit_test(test_good_endpoints_and_defaults),
		cmocka_unit_test(test_option_combinations_are_refused),
		cmocka_unit_test(test_check_creates_nothing),
		cmocka_unit_test(test_verify_off_is_a_warning),
		cmocka_unit_test(test_spool_keeps_its_identity),
		cmocka_unit_test(
			test_spool_reload_hands_over_to_the_new_instance),
		cmocka_unit_test(test_spool_failed_reload_leaves_the_owner),
		cmocka_unit_test(test_spool_two_listeners_cannot_share_a_dir),
		cmocka_unit_test(test_spool_left_behind_is_said_once),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
