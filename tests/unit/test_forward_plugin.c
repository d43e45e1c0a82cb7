/*
 * test_forward_plugin.c - the forward plugin, loaded with dlopen as the
 * registry loads it: its option table, and create() refusing every bad
 * combination with a message that names the option (and the file). The
 * connections themselves are tested with real processes in
 * tests/integration/test_forward.py.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ttlog/listener.h>

#include "forward_internal.h"
#include "plugin_host.h"
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

/* Runs create2() (with a host as the writer makes one) with stderr
 * captured; returns its result and the text. */
static int create_captured(const struct fwd_options *o, char *text, size_t cap)
{
	char path[] = "/tmp/ttlog-fwd-err-XXXXXX";
	int fd = mkstemp(path), saved = dup(2), rc;
	struct ttlog__plugin_host *host = ttlog__plugin_host_new("up");
	void *state = NULL;
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	assert_non_null(host);
	fflush(stderr);
	dup2(fd, 2);
	rc = api->create2(o, ttlog__plugin_host_api(host), &state);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (rc == 0)
		api->destroy(state);
	ttlog__plugin_host_free(host);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, text, cap - 1);
	text[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
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
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
