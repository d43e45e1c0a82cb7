/*
 * macros.c - every public macro expanded, in the subset of C and C++ that
 * both compile. check_headers.cmake compiles it as C11/C17 and as
 * C++17/C++20 with each compiler it finds, warnings as errors (and, as
 * C++, the casts and conversions C++ projects commonly warn about), so
 * that a macro which stops expanding cleanly in one language fails there.
 * It is compiled, never linked or run.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

enum macros_color { MACROS_RED, MACROS_BLUE };

int macros_every_level(int n);
int macros_every_level(int n)
{
	TTLOG_TRACE("trace");
	TTLOG_DEBUG("debug", TTLOG_KV("n", n));
	TTLOG_INFO("info", TTLOG_KV("n", n), TTLOG_KV("s", "literal"));
	TTLOG_WARN("warn", TTLOG_KV("d", 0.5));
	TTLOG_ERROR("error", TTLOG_KV("b", n > 1 && n < 5));
	TTLOG_FATAL("fatal", TTLOG_KV_STR("raw", "a\0b", 3));
	return TTLOG_ENABLED(TTLOG_LEVEL_WARN) ? 1 : 0;
}

int macros_every_type(const char *cs, char *s, size_t len);
int macros_every_type(const char *cs, char *s, size_t len)
{
	char c = 'c';
	signed char sc = -1;
	unsigned char uc = 1;
	short sh = -2;
	unsigned short us = 2;
	const int i = -3;
	unsigned u = 3;
	long l = -4;
	unsigned long ul = 4;
	long long ll = -5;
	unsigned long long ull = 5;
	int64_t i64 = -6;
	uint64_t u64 = 6;
	size_t sz = 7;
	float f = 1.5f;
	double d = 2.5;
	long double ld = 3.5;
	bool b = true;
	char buf[] = "buf";
	enum macros_color color = MACROS_BLUE;
	unsigned char bytes[4] = {1, 0, 2, 0};
	int n = 4;

	TTLOG_INFO("types", TTLOG_KV("c", c), TTLOG_KV("sc", sc),
		   TTLOG_KV("uc", uc), TTLOG_KV("sh", sh), TTLOG_KV("us", us),
		   TTLOG_KV("i", i), TTLOG_KV("u", u), TTLOG_KV("l", l),
		   TTLOG_KV("ul", ul), TTLOG_KV("ll", ll), TTLOG_KV("ull", ull),
		   TTLOG_KV("i64", i64), TTLOG_KV("u64", u64),
		   TTLOG_KV("sz", sz), TTLOG_KV("f", f), TTLOG_KV("d", d),
		   TTLOG_KV("ld", ld), TTLOG_KV("b", b), TTLOG_KV("cs", cs),
		   TTLOG_KV("s", s), TTLOG_KV("buf", buf),
		   TTLOG_KV("color", color), TTLOG_KV("nan", NAN),
		   TTLOG_KV_STR("bytes", bytes, n));
	TTLOG_INFO("strn", TTLOG_KV_STR("s", s, len));
	return 0;
}

static int macros_consume(void *state, struct ttlog_batch *batch)
{
	(void)state;
	(void)batch;
	return TTLOG_LISTENER_OK;
}

static void macros_destroy(void *state)
{
	(void)state;
}

static const struct ttlog_listener_api macros_api = {
	TTLOG_LISTENER_ABI_VERSION,
	sizeof(struct ttlog_listener_api),
	"macros",
	"every macro expanded",
	NULL,
	0,
	NULL,
	NULL,
	macros_consume,
	NULL,
	macros_destroy,
	NULL,
	NULL,
	NULL,
	{NULL, NULL, NULL, NULL, NULL, NULL},
	NULL,
	NULL,
	NULL};

TTLOG_LISTENER_ENTRY(macros_api)
