/*
 * every_type.h - two events that carry a field of every type the logging
 * macros take, written in the subset of C and C++ both compile. The C++
 * test logs them from C++ (every_type_log) and from C (every_type_log_c,
 * in every_type_c.c) and requires the two to arrive the same.
 */
#ifndef TTLOG_TEST_EVERY_TYPE_H
#define TTLOG_TEST_EVERY_TYPE_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uchar.h>
#include <wchar.h>

#include <ttlog/ttlog.h>

#ifdef __cplusplus
extern "C" {
#endif
/* every_type_log("c"), compiled as C. */
void every_type_log_c(void);
#ifdef __cplusplus
}
#endif

enum every_small { EVERY_SMALL_A, EVERY_SMALL_B = 7 };
enum every_signed { EVERY_SIGNED_NEG = -3, EVERY_SIGNED_POS = 3 };

#define EVERY_TYPE_FIELDS 22
#define EVERY_TYPEDEF_FIELDS 22

/* Logs "every type" (the types of the C type map, as test_log.c does) and
 * "every typedef" (typedefs, qualifiers, enums, character types,
 * expressions), each with lang as its first field. */
static void every_type_log(const char *lang)
{
	char c = 'x';
	signed char sc = -5;
	unsigned char uc = 250;
	short s = -30000;
	unsigned short us = 65000;
	int i = INT32_MIN;
	unsigned u = UINT32_MAX;
	long l = INT64_MIN;
	unsigned long ul = UINT64_MAX;
	long long ll = INT64_MAX;
	unsigned long long ull = 1;
	float f = 0.5f;
	double d = -0.0;
	long double ld = 1.25L;
	bool b = true;
	char buf[] = "mutable";
	const char *null_str = NULL;

	TTLOG_INFO("every type", TTLOG_KV("lang", lang), TTLOG_KV("c", c),
		   TTLOG_KV("sc", sc), TTLOG_KV("uc", uc), TTLOG_KV("s", s),
		   TTLOG_KV("us", us), TTLOG_KV("i", i), TTLOG_KV("u", u),
		   TTLOG_KV("l", l), TTLOG_KV("ul", ul), TTLOG_KV("ll", ll),
		   TTLOG_KV("ull", ull), TTLOG_KV("f", f), TTLOG_KV("d", d),
		   TTLOG_KV("ld", ld), TTLOG_KV("b", b), TTLOG_KV("buf", buf),
		   TTLOG_KV("lit", "literal"), TTLOG_KV("null", null_str),
		   TTLOG_KV_STR("bytes", "a\0b\0", 4), TTLOG_KV("nan", NAN),
		   TTLOG_KV("inf", -INFINITY));

	int8_t i8 = INT8_MIN;
	uint8_t u8 = UINT8_MAX;
	int16_t i16 = INT16_MIN;
	uint16_t u16 = UINT16_MAX;
	int32_t i32 = -32;
	uint32_t u32 = 32;
	int64_t i64 = -64;
	uint64_t u64 = 64;
	size_t sz = SIZE_MAX;
	ptrdiff_t pd = -1;
	const int ci = -7;
	volatile unsigned vu = 8;
	const char cc = 'y';
	const char *const ccp = "const";
	enum every_small small = EVERY_SMALL_B;
	enum every_signed neg = EVERY_SIGNED_NEG;
	wchar_t wc = L'w';
	char16_t c16 = u'\xffff';
	char32_t c32 = U'\x10ffff';
	bool no = false;

	TTLOG_WARN("every typedef", TTLOG_KV("lang", lang), TTLOG_KV("i8", i8),
		   TTLOG_KV("u8", u8), TTLOG_KV("i16", i16),
		   TTLOG_KV("u16", u16), TTLOG_KV("i32", i32),
		   TTLOG_KV("u32", u32), TTLOG_KV("i64", i64),
		   TTLOG_KV("u64", u64), TTLOG_KV("sz", sz), TTLOG_KV("pd", pd),
		   TTLOG_KV("ci", ci), TTLOG_KV("vu", vu), TTLOG_KV("cc", cc),
		   TTLOG_KV("ccp", ccp), TTLOG_KV("small", small),
		   TTLOG_KV("neg", neg), TTLOG_KV("wc", wc),
		   TTLOG_KV("c16", c16), TTLOG_KV("c32", c32),
		   TTLOG_KV("no", no), TTLOG_KV("promoted", uc + 1));
}

#endif /* TTLOG_TEST_EVERY_TYPE_H */
