/*
 * test_input_check.c - ttlog__input_check() (agent/inputs/input_check.c):
 * what an input's start refuses, found without starting it, each refusal
 * with its reason; TLS files loaded and the context freed or handed over;
 * nothing bound or created; and at load time, the entry's FILE:LINE:COL.
 */
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "agent_internal.h"
#include "config_internal.h"
#include "registry_internal.h"
#include "testutil.h"

static char dir[64];

static char *P(const char *name)
{
	static char bufs[8][160];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

static int group_setup(void **state)
{
	char cmd[512];
	(void)state;

	snprintf(dir, sizeof(dir), "/tmp/ttlog-incheck-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "bash '%s' '%s/certs'",
		 TTLOG_TEST_CERTS_SCRIPT, dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];
	(void)state;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* An input with the option table's defaults. */
static struct ttlog__input_opts opts(int type, const char *listen)
{
	struct ttlog__input_opts o;

	memset(&o, 0, sizeof(o));
	o.name = "in";
	o.type = type;
	o.listen = (char *)(uintptr_t)listen;
	o.max_message = 65536;
	o.max_frame = 16u << 20;
	o.max_buffer = 32u << 20;
	o.window = 32u << 20;
	return o;
}

static void expect_refused(const struct ttlog__input_opts *o, const char *want)
{
	char err[1024] = "";

	assert_int_equal(ttlog__input_check(o, NULL, NULL, err, sizeof(err)),
			 TTLOG_EINVAL);
	if (strstr(err, want) == NULL)
		fail_msg("%s: got \"%s\", wanted \"%s\"",
			 o->listen ? o->listen : "(no listen)", err, want);
	/* The caller names the input: the reason does not repeat it. */
	assert_null(strstr(err, "input in"));
}

static void test_input_check_refuses_what_start_refuses(void **st)
{
	struct ttlog__input_opts o;
	(void)st;

	o = opts(TTLOG__INPUT_SYSLOG, "127.0.0.1:5514");
	expect_refused(&o, "127.0.0.1:5514: unknown scheme; expected "
			   "tcp://HOST:PORT");
	o = opts(TTLOG__INPUT_TTLOG, "udp://127.0.0.1:5514");
	expect_refused(&o, "udp://127.0.0.1:5514: ttlog needs a stream");
	o = opts(TTLOG__INPUT_JSONL, "udp://127.0.0.1:5514");
	expect_refused(&o, "jsonl needs a stream");
	o = opts(TTLOG__INPUT_SYSLOG, "tls://127.0.0.1:5514");
	expect_refused(&o, "tls://127.0.0.1:5514: tls:// needs tls.cert and "
			   "tls.key");
	o.tls_cert = P("certs/server.pem");
	expect_refused(&o, "tls:// needs tls.cert and tls.key");
	o = opts(TTLOG__INPUT_SYSLOG, "tcp://127.0.0.1:5514");
	o.tls_key = P("certs/server.key");
	expect_refused(&o, "tls.cert or tls.key is set but the input does "
			   "not listen on tls://");
	o = opts(TTLOG__INPUT_SYSLOG, "tcp://127.0.0.1:0");
	expect_refused(&o, "PORT");
	o = opts(TTLOG__INPUT_SYSLOG, NULL);
	expect_refused(&o, "type syslog needs `listen`");
	o = opts(TTLOG__INPUT_STDIN, "tcp://127.0.0.1:5514");
	expect_refused(&o, "remove `listen`");
	o = opts(TTLOG__INPUT_TTLOG, "tcp://127.0.0.1:5514");
	o.max_frame = 1024;
	expect_refused(&o, "max_frame must be from 64KiB to 1GiB");
	o = opts(TTLOG__INPUT_SYSLOG, "tcp://127.0.0.1:5514");
	o.max_message = 0;
	expect_refused(&o, "max_message must be");
	o = opts(TTLOG__INPUT_SYSLOG, "tcp://127.0.0.1:5514");
	o.receive_buffer = 1 << 20;
	expect_refused(&o, "tcp://127.0.0.1:5514: receive_buffer is for "
			   "udp:// inputs");
	o = opts(TTLOG__INPUT_STDIN, NULL);
	o.receive_buffer = 1 << 20;
	expect_refused(&o, "receive_buffer is for udp:// inputs");
	o = opts(TTLOG__INPUT_SYSLOG, "udp://127.0.0.1:5514");
	o.receive_buffer = 4095;
	expect_refused(&o, "receive_buffer must be from 4KiB to 1GiB");
	o.receive_buffer = ((uint64_t)1 << 30) + 1;
	expect_refused(&o, "receive_buffer must be from 4KiB to 1GiB");
}

static void test_input_check_loads_the_tls_files(void **st)
{
	struct ttlog__input_opts o =
		opts(TTLOG__INPUT_JSONL, "tls://127.0.0.1:5514");
	struct ttlog__addr a;
	SSL_CTX *ctx = NULL;
	char err[1024] = "";
	(void)st;

	o.tls_cert = P("certs/server.pem");
	o.tls_key = P("certs/server.key");
	assert_int_equal(ttlog__input_check(&o, NULL, NULL, err, sizeof(err)),
			 0);
	/* The context start uses is the one the check built. */
	assert_int_equal(ttlog__input_check(&o, &a, &ctx, err, sizeof(err)), 0);
	assert_non_null(ctx);
	assert_int_equal(a.scheme, TTLOG__ADDR_TLS);
	assert_string_equal(a.port, "5514");
	SSL_CTX_free(ctx);

	o.tls_key = P("certs/client.key");
	expect_refused(&o, "do not match");
	o.tls_key = P("certs/none.key");
	expect_refused(&o, "no such file");
	o.tls_key = P("certs/server.key");
	o.tls_cert = P("nowhere/server.pem");
	expect_refused(&o, "nowhere/server.pem: no such file");
	o.tls_cert = P("certs/server.pem");
	o.tls_ca_file = P("nowhere/ca.pem");
	o.tls_client_auth = 2;
	expect_refused(&o, "tls.ca_file");
	/* A refused check hands out no context. */
	ctx = (SSL_CTX *)(uintptr_t)1;
	assert_int_equal(ttlog__input_check(&o, NULL, &ctx, err, sizeof(err)),
			 TTLOG_EINVAL);
	assert_null(ctx);
}

static void test_input_check_binds_nothing(void **st)
{
	char url[256];
	struct ttlog__input_opts o;
	struct stat sb;
	char err[1024];
	(void)st;

	snprintf(url, sizeof(url), "unix://%s", P("in.sock"));
	o = opts(TTLOG__INPUT_SYSLOG, url);
	assert_int_equal(ttlog__input_check(&o, NULL, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(lstat(P("in.sock"), &sb), -1);
}

/* The `inputs:` list of a configuration held in memory. */
static const struct ttlog__cfg_node *load_inputs(const char *body,
						 struct ttlog__cfg_doc **doc,
						 struct ttlog__diag *d)
{
	const struct ttlog__cfg_node *in;

	*doc = ttlog__cfg_load_string("agent.yaml", body, strlen(body), d);
	assert_non_null(*doc);
	in = ttlog__cfg_get(ttlog__cfg_root(*doc), "inputs");
	assert_non_null(in);
	return in;
}

static void test_input_check_at_names_the_entry(void **st)
{
	static const char body[] = "inputs:\n"
				   "  - name: fine\n"
				   "  - name: udp-native\n";
	struct ttlog__diag d = {0};
	struct ttlog__cfg_doc *doc;
	const struct ttlog__cfg_node *in = load_inputs(body, &doc, &d);
	struct ttlog__input_opts o;
	(void)st;

	o = opts(TTLOG__INPUT_SYSLOG, "tcp://127.0.0.1:5514");
	assert_int_equal(
		ttlog__input_check_at(&o, in->vals[0], "inputs[0]", &d), 0);
	assert_string_equal(o.where, "agent.yaml:2");
	assert_int_equal(d.n, 0);
	o = opts(TTLOG__INPUT_TTLOG, "udp://127.0.0.1:5514");
	o.name = "udp-native";
	assert_int_equal(
		ttlog__input_check_at(&o, in->vals[1], "inputs[1]", &d), -1);
	assert_string_equal(o.where, "agent.yaml:3");
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msgs[0], "agent.yaml:3:5: inputs[1] "
					  "(udp-native): udp://127.0.0.1:5514: "
					  "ttlog needs a stream"));
	ttlog__diag_free(&d);
	ttlog__cfg_free(doc);
}

/* mode, owner and group: octal modes up to 0777, names and numeric ids,
 * each refusal naming its key; and only where there is a socket file. */
static void test_input_check_socket_file_mode_owner_group(void **st)
{
	struct ttlog__input_opts o =
		opts(TTLOG__INPUT_SYSLOG, "unixgram:///run/ttlog/log");
	struct ttlog__input_perm p;
	const char *key = NULL;
	char err[1024] = "";
	(void)st;

	assert_int_equal(
		ttlog__input_perm_resolve(&o, &p, &key, err, sizeof(err)), 0);
	assert_false(p.has_mode || p.has_owner || p.has_group);
	o.mode = "0660";
	o.owner = "root";
	o.group = "65534";
	assert_int_equal(ttlog__input_check(&o, NULL, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(
		ttlog__input_perm_resolve(&o, &p, &key, err, sizeof(err)), 0);
	assert_true(p.has_mode && p.has_owner && p.has_group);
	assert_int_equal(p.mode, 0660);
	assert_int_equal(p.uid, 0);
	assert_int_equal(p.gid, 65534);
	o.mode = "777";
	assert_int_equal(
		ttlog__input_perm_resolve(&o, &p, &key, err, sizeof(err)), 0);
	assert_int_equal(p.mode, 0777);

	o.mode = "0800";
	expect_refused(&o, "mode: \"0800\" is not an octal mode");
	o.mode = "1777"; /* sticky and set-id bits mean nothing here */
	expect_refused(&o, "mode: \"1777\" is not an octal mode");
	o.mode = "";
	expect_refused(&o, "is not an octal mode");
	o.mode = "-1";
	assert_int_equal(
		ttlog__input_perm_resolve(&o, &p, &key, err, sizeof(err)),
		TTLOG_EINVAL);
	assert_string_equal(key, "mode");
	o.mode = NULL;
	o.owner = "no-such-user-ttlog";
	expect_refused(&o, "owner: no user \"no-such-user-ttlog\"");
	assert_int_equal(
		ttlog__input_perm_resolve(&o, &p, &key, err, sizeof(err)),
		TTLOG_EINVAL);
	assert_string_equal(key, "owner");
	o.owner = "4294967295"; /* (uid_t)-1 means "unchanged" to chown */
	expect_refused(&o, "owner: no user \"4294967295\"");
	o.owner = NULL;
	o.group = "no-such-group-ttlog";
	expect_refused(&o, "group: no group \"no-such-group-ttlog\"");
	assert_int_equal(
		ttlog__input_perm_resolve(&o, &p, &key, err, sizeof(err)),
		TTLOG_EINVAL);
	assert_string_equal(key, "group");

	/* Not on a socket without a file. */
	o = opts(TTLOG__INPUT_SYSLOG, "tcp://127.0.0.1:5514");
	o.owner = "root";
	expect_refused(&o, "tcp://127.0.0.1:5514: owner is for unix:// and "
			   "unixgram:// inputs");
	o = opts(TTLOG__INPUT_SYSLOG, "udp://127.0.0.1:5514");
	o.mode = "0600";
	expect_refused(&o, "mode is for unix:// and unixgram:// inputs");
	o = opts(TTLOG__INPUT_STDIN, NULL);
	o.group = "root";
	expect_refused(&o, "group: is for unix:// and unixgram:// inputs");
	/* A datagram socket reads syslog, and its queue is no SO_RCVBUF. */
	o = opts(TTLOG__INPUT_JSONL, "unixgram:///run/ttlog/log");
	expect_refused(&o, "jsonl needs a stream");
	o = opts(TTLOG__INPUT_SYSLOG, "unixgram:///run/ttlog/log");
	o.receive_buffer = 1 << 20;
	expect_refused(&o, "receive_buffer is for udp:// inputs (a unix "
			   "datagram socket");
}

/* At load, a bad owner is reported where its value is written. */
static void test_input_check_at_points_at_the_key(void **st)
{
	static const char body[] = "inputs:\n"
				   "  - name: u\n"
				   "    owner: nobody-here-ttlog\n"
				   "  - name: t\n"
				   "    mode: '0600'\n";
	struct ttlog__diag d = {0};
	struct ttlog__cfg_doc *doc;
	const struct ttlog__cfg_node *in = load_inputs(body, &doc, &d);
	struct ttlog__input_opts o;
	(void)st;

	o = opts(TTLOG__INPUT_SYSLOG, "unix:///run/u.sock");
	o.name = "u";
	o.owner = "nobody-here-ttlog";
	assert_int_equal(
		ttlog__input_check_at(&o, in->vals[0], "inputs[0]", &d), -1);
	o = opts(TTLOG__INPUT_SYSLOG, "tcp://127.0.0.1:5514");
	o.name = "t";
	o.mode = "0600";
	assert_int_equal(
		ttlog__input_check_at(&o, in->vals[1], "inputs[1]", &d), -1);
	assert_int_equal(d.n, 2);
	assert_non_null(strstr(d.msgs[0], "agent.yaml:3:12: inputs[0] (u): "
					  "owner: no user"));
	assert_non_null(strstr(d.msgs[1], "agent.yaml:5:11: inputs[1] (t): "
					  "tcp://127.0.0.1:5514: mode is for"));
	ttlog__diag_free(&d);
	ttlog__cfg_free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_input_check_refuses_what_start_refuses),
		cmocka_unit_test(test_input_check_loads_the_tls_files),
		cmocka_unit_test(test_input_check_binds_nothing),
		cmocka_unit_test(test_input_check_at_names_the_entry),
		cmocka_unit_test(test_input_check_socket_file_mode_owner_group),
		cmocka_unit_test(test_input_check_at_points_at_the_key),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
