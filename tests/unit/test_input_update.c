/*
 * test_input_update.c - an agent input across a reload (input_update.c):
 * the key that makes it the same input, and changes that are checked
 * before and applied in place after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent_internal.h"
#include "input_internal.h"
#include "testutil.h"

static struct ttlog__input_opts opts(const char *name, int type,
				     const char *listen)
{
	struct ttlog__input_opts o;

	memset(&o, 0, sizeof(o));
	o.name = (char *)name;
	o.type = type;
	o.listen = (char *)listen;
	o.max_message = 64 * 1024;
	o.max_connections = 1024;
	o.max_frame = 16u << 20;
	o.max_buffer = 32u << 20;
	o.window = 32u << 20;
	return o;
}

static void key_of(const char *listen, int type, char *key, size_t len)
{
	struct ttlog__input_opts o = opts("k", type, listen);
	assert_int_equal(ttlog__input_key(&o, key, len), 0);
}

static void test_key_is_the_socket_not_the_scheme(void **state)
{
	char a[300], b[300];
	struct ttlog__input_opts o = opts("k", TTLOG__INPUT_JSONL, "nonsense");
	(void)state;

	key_of("tcp://127.0.0.1:5514", TTLOG__INPUT_JSONL, a, sizeof(a));
	key_of("tls://127.0.0.1:5514", TTLOG__INPUT_SYSLOG, b, sizeof(b));
	assert_string_equal(a, b); /* TLS is per connection; type may change */
	key_of("udp://127.0.0.1:5514", TTLOG__INPUT_SYSLOG, b, sizeof(b));
	assert_string_not_equal(a, b);
	key_of("tcp://localhost:5514", TTLOG__INPUT_JSONL, b, sizeof(b));
	assert_string_not_equal(a, b); /* compared as written */
	key_of("unix:///run/x.sock", TTLOG__INPUT_JSONL, a, sizeof(a));
	assert_string_equal(a, "unix /run/x.sock");
	key_of(NULL, TTLOG__INPUT_STDIN, a, sizeof(a));
	assert_string_equal(a, "stdin");
	assert_int_equal(ttlog__input_key(&o, a, sizeof(a)), -1);
}

struct fixture {
	char dir[64], listen[128];
	struct event_base *base;
	struct ttlog__input *in;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ttlog__input_opts o;
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/ttlog-upd-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->listen, sizeof(f->listen), "unix://%s/s", f->dir);
	f->base = event_base_new();
	o = opts("a", TTLOG__INPUT_JSONL, f->listen);
	assert_int_equal(ttlog__input_prepare(f->base, NULL, &o, 7, &f->in, err,
					      sizeof(err)),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ttlog__input_remove(f->in);
	event_base_free(f->base);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_refused_update_leaves_the_input_as_it_was(void **state)
{
	struct fixture *f = *state;
	struct ttlog__input_update *u = (void *)1;
	struct ttlog__input_opts o = opts("b", TTLOG__INPUT_JSONL, f->listen);
	char err[256] = "";

	o.max_message = 0;
	assert_int_not_equal(
		ttlog__input_update_prepare(f->in, &o, &u, err, sizeof(err)),
		0);
	assert_null(u);
	assert_non_null(strstr(err, "max_message"));
	o.max_message = 1024;
	o.tls_cert = "/nonexistent/cert.pem";
	assert_int_not_equal(
		ttlog__input_update_prepare(f->in, &o, &u, err, sizeof(err)),
		0);
	assert_non_null(strstr(err, "tls"));
	assert_string_equal(f->in->name, "a");
	assert_int_equal(f->in->max_message, 64 * 1024);
	assert_null(f->in->tls);
}

static void test_update_applies_in_place_on_the_same_socket(void **state)
{
	struct fixture *f = *state;
	struct evconnlistener *lis = f->in->lis;
	struct ttlog__input_update *u;
	struct ttlog__input_opts o = opts("b", TTLOG__INPUT_SYSLOG, f->listen);
	char err[256];

	o.max_connections = 7;
	o.idle_timeout_ms = 1500;
	o.max_message = 1024;
	assert_int_equal(
		ttlog__input_update_prepare(f->in, &o, &u, err, sizeof(err)),
		0);
	ttlog__input_update_apply(f->in, u);
	assert_ptr_equal(f->in->lis, lis);
	assert_int_equal(f->in->id, 7); /* the source id stays */
	assert_string_equal(f->in->name, "b");
	assert_int_equal(f->in->type, TTLOG__INPUT_SYSLOG);
	assert_int_equal(f->in->max_connections, 7);
	assert_int_equal(f->in->idle_timeout_ms, 1500);
	assert_int_equal(f->in->max_message, 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_is_the_socket_not_the_scheme),
		cmocka_unit_test_setup_teardown(
			test_refused_update_leaves_the_input_as_it_was, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_update_applies_in_place_on_the_same_socket, setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
