/*
 * test_cxx.cpp - the logging macros from C++, through the real library into
 * a capturing listener: every value type arrives with the type and value
 * it has when C logs it (every_type.h, logged from both languages), the
 * level gate, and what only C++ callers do (templates, lambdas, strings,
 * enums, a plugin entry point). Built as C++17 and as C++20, without
 * exceptions or RTTI (tests/cxx/CMakeLists.txt). A plain main with one
 * table of tests: cmocka's header does not declare C linkage.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

#include "every_type.h"

/* ---- checks ---- */

static const char *current_test;
static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: %s: failed: %s\n", __FILE__,   \
				__LINE__, current_test, #cond);                \
			failures++;                                            \
		}                                                              \
	} while (0)

/* ---- a listener that keeps a copy of every event ---- */

struct cap_field {
	std::string key;
	int type;
	int64_t i64;
	uint64_t u64;
	double f64;
	bool b;
	std::string str;
};

struct cap_event {
	int level;
	std::string msg;
	std::vector<cap_field> fields;

	/* The field named key; fails the test and returns an empty field
	 * when there is none. */
	const cap_field &operator[](const char *key) const
	{
		static const cap_field none = {"", 0, 0, 0, 0.0, false, ""};
		for (const cap_field &f : fields)
			if (f.key == key)
				return f;
		fprintf(stderr, "%s: event \"%s\" has no field %s\n",
			current_test, msg.c_str(), key);
		failures++;
		return none;
	}
};

/* Written by the writer thread in consume(); read by the test after
 * ttlog_flush() or ttlog_shutdown(), which order the two. */
static std::vector<cap_event> events;

static int capture_create(const void *options, void **state)
{
	*state = const_cast<void *>(options);
	return 0;
}

static int capture_consume(void *, struct ttlog_batch *b)
{
	for (size_t i = 0; i < ttlog_batch_count(b); i++) {
		struct ttlog_event e;
		struct ttlog_field_iter it;
		struct ttlog_field f;
		cap_event x;

		if (ttlog_batch_event(b, i, &e) != 0)
			return TTLOG_LISTENER_ERROR;
		x.level = e.level;
		x.msg = e.msg;
		ttlog_field_iter_init(&it, &e);
		while (ttlog_field_next(&it, &f)) {
			cap_field c = {f.key, f.type, 0, 0, 0.0, false, ""};
			switch (f.type) {
			case TTLOG_TYPE_I64:
				c.i64 = f.v.i64;
				break;
			case TTLOG_TYPE_U64:
				c.u64 = f.v.u64;
				break;
			case TTLOG_TYPE_F64:
				c.f64 = f.v.f64;
				break;
			case TTLOG_TYPE_BOOL:
				c.b = f.v.b;
				break;
			case TTLOG_TYPE_STR:
				c.str.assign(f.v.str.ptr, f.v.str.len);
				break;
			}
			x.fields.push_back(c);
		}
		events.push_back(x);
	}
	return TTLOG_LISTENER_OK;
}

static void capture_destroy(void *)
{
}

static struct ttlog_listener_api make_capture_api()
{
	struct ttlog_listener_api a = {};
	a.abi_version = TTLOG_LISTENER_ABI_VERSION;
	a.struct_size = sizeof(struct ttlog_listener_api);
	a.name = "capture";
	a.create = capture_create;
	a.consume = capture_consume;
	a.destroy = capture_destroy;
	return a;
}

static const struct ttlog_listener_api capture_api = make_capture_api();

/* The entry point a plugin written in C++ defines; the loader finds it by
 * its C name (test_entry_point_has_c_linkage). */
TTLOG_LISTENER_ENTRY(capture_api)

static int capture_start(enum ttlog_level level)
{
	static struct ttlog_listener_config l;
	struct ttlog_options o;

	events.clear();
	l.api = &capture_api;
	l.options = &events;
	l.name = "capture";
	ttlog_options_init(&o);
	o.level = level;
	o.listeners = &l;
	o.nlisteners = 1;
	return ttlog_init(&o);
}

/* True when both fields carry the same type and the same bits. */
static bool same_value(const cap_field &a, const cap_field &b)
{
	if (a.key != b.key || a.type != b.type)
		return false;
	switch (a.type) {
	case TTLOG_TYPE_I64:
		return a.i64 == b.i64;
	case TTLOG_TYPE_U64:
		return a.u64 == b.u64;
	case TTLOG_TYPE_F64:
		return memcmp(&a.f64, &b.f64, sizeof(a.f64)) == 0;
	case TTLOG_TYPE_BOOL:
		return a.b == b.b;
	case TTLOG_TYPE_STR:
		return a.str == b.str;
	}
	return false;
}

/* TTLOG_TYPE_I64 or _U64: how C's _Generic sees an integer type T. */
template <typename T> static int int_type()
{
	return std::is_signed<T>::value ? TTLOG_TYPE_I64 : TTLOG_TYPE_U64;
}

/* The value of an integer field of either type. */
static int64_t int_value(const cap_field &f)
{
	return f.type == TTLOG_TYPE_U64 ? static_cast<int64_t>(f.u64) : f.i64;
}

/* ---- tests ---- */

static void test_every_type_arrives_as_it_does_from_c()
{
	CHECK(capture_start(TTLOG_LEVEL_TRACE) == 0);
	every_type_log_c();
	every_type_log("c++");
	CHECK(ttlog_flush() == 0);
	CHECK(events.size() == 4);
	if (events.size() != 4)
		return;
	for (size_t k = 0; k < 2; k++) {
		const cap_event &c = events[k], &cxx = events[k + 2];
		CHECK(c.msg == cxx.msg);
		CHECK(c.level == cxx.level);
		CHECK(c["lang"].str == "c");
		CHECK(cxx["lang"].str == "c++");
		CHECK(c.fields.size() == cxx.fields.size());
		for (size_t i = 1; i < c.fields.size() && i < cxx.fields.size();
		     i++)
			if (!same_value(c.fields[i], cxx.fields[i])) {
				fprintf(stderr,
					"%s: \"%s\" field %zu differs: from C "
					"%s of type %d, from C++ %s of type "
					"%d\n",
					current_test, c.msg.c_str(), i,
					c.fields[i].key.c_str(),
					c.fields[i].type,
					cxx.fields[i].key.c_str(),
					cxx.fields[i].type);
				failures++;
			}
	}
	CHECK(events[0].fields.size() == EVERY_TYPE_FIELDS);
	CHECK(events[1].fields.size() == EVERY_TYPEDEF_FIELDS);
}

static void test_every_type_keeps_its_type_and_value()
{
	CHECK(capture_start(TTLOG_LEVEL_INFO) == 0);
	every_type_log("c++");
	CHECK(ttlog_flush() == 0);
	CHECK(events.size() == 2);
	if (events.size() != 2)
		return;
	const cap_event &e = events[0];
	CHECK(e.msg == "every type");
	CHECK(e.level == TTLOG_LEVEL_INFO);
	static const struct {
		const char *key;
		int type;
	} types[] = {{"lang", TTLOG_TYPE_STR}, {"c", TTLOG_TYPE_I64},
		     {"sc", TTLOG_TYPE_I64},   {"uc", TTLOG_TYPE_U64},
		     {"s", TTLOG_TYPE_I64},    {"us", TTLOG_TYPE_U64},
		     {"i", TTLOG_TYPE_I64},    {"u", TTLOG_TYPE_U64},
		     {"l", TTLOG_TYPE_I64},    {"ul", TTLOG_TYPE_U64},
		     {"ll", TTLOG_TYPE_I64},   {"ull", TTLOG_TYPE_U64},
		     {"f", TTLOG_TYPE_F64},    {"d", TTLOG_TYPE_F64},
		     {"ld", TTLOG_TYPE_F64},   {"b", TTLOG_TYPE_BOOL},
		     {"buf", TTLOG_TYPE_STR},  {"lit", TTLOG_TYPE_STR},
		     {"null", TTLOG_TYPE_STR}, {"bytes", TTLOG_TYPE_STR},
		     {"nan", TTLOG_TYPE_F64},  {"inf", TTLOG_TYPE_F64}};
	CHECK(e.fields.size() == sizeof(types) / sizeof(types[0]));
	for (size_t k = 0; k < e.fields.size() && k < 22; k++) {
		CHECK(e.fields[k].key == types[k].key);
		CHECK(e.fields[k].type == types[k].type);
	}
	CHECK(e["c"].i64 == 'x');
	CHECK(e["sc"].i64 == -5);
	CHECK(e["uc"].u64 == 250);
	CHECK(e["s"].i64 == -30000);
	CHECK(e["us"].u64 == 65000);
	CHECK(e["i"].i64 == INT32_MIN);
	CHECK(e["u"].u64 == UINT32_MAX);
	CHECK(e["l"].i64 == INT64_MIN);
	CHECK(e["ul"].u64 == UINT64_MAX);
	CHECK(e["ll"].i64 == INT64_MAX);
	CHECK(e["ull"].u64 == 1);
	CHECK(e["f"].f64 == 0.5);
	CHECK(e["d"].f64 == 0.0 && std::signbit(e["d"].f64));
	CHECK(e["ld"].f64 == 1.25);
	CHECK(e["b"].b);
	CHECK(e["buf"].str == "mutable");
	CHECK(e["lit"].str == "literal");
	CHECK(e["null"].str == "(null)");
	CHECK(e["bytes"].str == std::string("a\0b\0", 4));
	CHECK(std::isnan(e["nan"].f64));
	CHECK(std::isinf(e["inf"].f64) && e["inf"].f64 < 0);
}

static void test_every_typedef_keeps_its_type_and_value()
{
	CHECK(capture_start(TTLOG_LEVEL_WARN) == 0);
	every_type_log("c++");
	CHECK(ttlog_flush() == 0);
	CHECK(events.size() == 1); /* "every type" is INFO */
	if (events.size() != 1)
		return;
	const cap_event &e = events[0];
	CHECK(e.msg == "every typedef");
	CHECK(e.level == TTLOG_LEVEL_WARN);
	CHECK(e.fields.size() == EVERY_TYPEDEF_FIELDS);
	CHECK(e["i8"].type == TTLOG_TYPE_I64 && e["i8"].i64 == INT8_MIN);
	CHECK(e["u8"].type == TTLOG_TYPE_U64 && e["u8"].u64 == UINT8_MAX);
	CHECK(e["i16"].type == TTLOG_TYPE_I64 && e["i16"].i64 == INT16_MIN);
	CHECK(e["u16"].type == TTLOG_TYPE_U64 && e["u16"].u64 == UINT16_MAX);
	CHECK(e["i32"].type == TTLOG_TYPE_I64 && e["i32"].i64 == -32);
	CHECK(e["u32"].type == TTLOG_TYPE_U64 && e["u32"].u64 == 32);
	CHECK(e["i64"].type == TTLOG_TYPE_I64 && e["i64"].i64 == -64);
	CHECK(e["u64"].type == TTLOG_TYPE_U64 && e["u64"].u64 == 64);
	CHECK(e["sz"].type == TTLOG_TYPE_U64 && e["sz"].u64 == SIZE_MAX);
	CHECK(e["pd"].type == TTLOG_TYPE_I64 && e["pd"].i64 == -1);
	CHECK(e["ci"].type == TTLOG_TYPE_I64 && e["ci"].i64 == -7);
	CHECK(e["vu"].type == TTLOG_TYPE_U64 && e["vu"].u64 == 8);
	CHECK(e["cc"].type == TTLOG_TYPE_I64 && e["cc"].i64 == 'y');
	CHECK(e["ccp"].type == TTLOG_TYPE_STR && e["ccp"].str == "const");
	/* An enum object as its underlying type (unsigned int with gcc and
	 * clang when no enumerator is negative), as C does. */
	CHECK(e["small"].type ==
	      int_type<std::underlying_type<every_small>::type>());
	CHECK(int_value(e["small"]) == 7);
	CHECK(e["neg"].type == TTLOG_TYPE_I64 && e["neg"].i64 == -3);
	CHECK(e["wc"].type == int_type<wchar_t>());
	CHECK(int_value(e["wc"]) == 'w');
	CHECK(e["c16"].type == TTLOG_TYPE_U64 && e["c16"].u64 == 0xffff);
	CHECK(e["c32"].type == TTLOG_TYPE_U64 && e["c32"].u64 == 0x10ffff);
	CHECK(e["no"].type == TTLOG_TYPE_BOOL && !e["no"].b);
	CHECK(e["promoted"].type == TTLOG_TYPE_I64 && e["promoted"].i64 == 251);
}

static int evaluations;
static int side_effect()
{
	return ++evaluations;
}

static void test_level_gate_filters_before_evaluating()
{
	evaluations = 0;
	/* Before init the gate is closed. */
	TTLOG_FATAL("before init", TTLOG_KV("n", side_effect()));
	CHECK(!TTLOG_ENABLED(TTLOG_LEVEL_FATAL));
	CHECK(evaluations == 0);

	CHECK(capture_start(TTLOG_LEVEL_WARN) == 0);
	CHECK(!TTLOG_ENABLED(TTLOG_LEVEL_INFO));
	CHECK(TTLOG_ENABLED(TTLOG_LEVEL_WARN));
	TTLOG_TRACE("filtered", TTLOG_KV("n", side_effect()));
	TTLOG_DEBUG("filtered", TTLOG_KV("n", side_effect()));
	TTLOG_INFO("filtered", TTLOG_KV("n", side_effect()),
		   TTLOG_KV("m", side_effect()));
	CHECK(evaluations == 0);
	TTLOG_WARN("warn", TTLOG_KV("n", side_effect()));
	TTLOG_ERROR("error", TTLOG_KV("n", side_effect()));
	TTLOG_FATAL("fatal", TTLOG_KV("n", side_effect()));
	CHECK(evaluations == 3);
	ttlog_set_level(TTLOG_LEVEL_TRACE);
	CHECK(TTLOG_ENABLED(TTLOG_LEVEL_TRACE));
	TTLOG_TRACE("trace", TTLOG_KV("n", side_effect()));
	TTLOG_DEBUG("debug", TTLOG_KV("n", side_effect()));
	TTLOG_INFO("info", TTLOG_KV("n", side_effect()));
	CHECK(evaluations == 6);
	ttlog_set_level(TTLOG_LEVEL_OFF);
	CHECK(!TTLOG_ENABLED(TTLOG_LEVEL_FATAL));
	TTLOG_FATAL("off", TTLOG_KV("n", side_effect()));
	CHECK(evaluations == 6);
	CHECK(ttlog_flush() == 0);

	static const struct {
		const char *msg;
		int level;
	} want[] = {{"warn", TTLOG_LEVEL_WARN},	  {"error", TTLOG_LEVEL_ERROR},
		    {"fatal", TTLOG_LEVEL_FATAL}, {"trace", TTLOG_LEVEL_TRACE},
		    {"debug", TTLOG_LEVEL_DEBUG}, {"info", TTLOG_LEVEL_INFO}};
	CHECK(events.size() == 6);
	for (size_t k = 0; k < events.size() && k < 6; k++) {
		CHECK(events[k].msg == want[k].msg);
		CHECK(events[k].level == want[k].level);
		CHECK(events[k]["n"].type == TTLOG_TYPE_I64);
		CHECK(events[k]["n"].i64 == static_cast<int64_t>(k + 1));
	}
}

template <typename T> static void log_from_template(T value)
{
	TTLOG_INFO("template", TTLOG_KV("v", value));
}

struct widget {
	int id;
	void log() const
	{
		TTLOG_INFO("member", TTLOG_KV("id", id), TTLOG_KV("this", "w"));
	}
};

static void test_templates_lambdas_members_and_strings()
{
	CHECK(capture_start(TTLOG_LEVEL_INFO) == 0);
	log_from_template(-1);
	log_from_template(2.5);
	log_from_template("text");
	log_from_template(EVERY_SIGNED_POS);
	log_from_template(true);
	auto lambda = [](unsigned n) {
		TTLOG_INFO("lambda", TTLOG_KV("n", n));
	};
	lambda(9u);
	widget w = {42};
	w.log();
	const std::string s("a\0string", 8);
	TTLOG_INFO("std::string", TTLOG_KV("c_str", s.c_str()),
		   TTLOG_KV_STR("bytes", s.data(), s.size()),
		   TTLOG_KV_STR("head", s.data(), 1));
	CHECK(ttlog_flush() == 0);

	CHECK(events.size() == 8);
	if (events.size() != 8)
		return;
	CHECK(events[0]["v"].type == TTLOG_TYPE_I64 &&
	      events[0]["v"].i64 == -1);
	CHECK(events[1]["v"].type == TTLOG_TYPE_F64 &&
	      events[1]["v"].f64 == 2.5);
	CHECK(events[2]["v"].type == TTLOG_TYPE_STR &&
	      events[2]["v"].str == "text");
	CHECK(events[3]["v"].type == TTLOG_TYPE_I64 && events[3]["v"].i64 == 3);
	CHECK(events[4]["v"].type == TTLOG_TYPE_BOOL && events[4]["v"].b);
	CHECK(events[5].msg == "lambda");
	CHECK(events[5]["n"].type == TTLOG_TYPE_U64 && events[5]["n"].u64 == 9);
	CHECK(events[6].msg == "member");
	CHECK(events[6]["id"].i64 == 42 && events[6]["this"].str == "w");
	CHECK(events[7]["c_str"].str == "a");
	CHECK(events[7]["bytes"].str == s);
	CHECK(events[7]["head"].str == "a");
}

enum class scoped_u8 : uint8_t { one = 1 };
enum class scoped_i16 : int16_t { minus = -2 };

/* Where C++ differs from C by the language, not by the header: an
 * enumerator has its enum's type (an int in C), a comparison and true are
 * bool (ints in C before C23), and char8_t is a type of its own. */
static void test_cxx_types_follow_the_cxx_language()
{
	CHECK(capture_start(TTLOG_LEVEL_INFO) == 0);
	int one = 1;
	TTLOG_INFO("cxx", TTLOG_KV("enumerator", EVERY_SMALL_B),
		   TTLOG_KV("cmp", one < 2), TTLOG_KV("true", true),
		   TTLOG_KV("scoped_u8", scoped_u8::one),
		   TTLOG_KV("scoped_i16", scoped_i16::minus),
		   TTLOG_KV("char", 'c'));
#ifdef __cpp_char8_t
	char8_t c8 = u8'8';
	TTLOG_INFO("char8_t", TTLOG_KV("c8", c8));
#endif
	CHECK(ttlog_flush() == 0);
	CHECK(!events.empty());
	if (events.empty())
		return;
	const cap_event &e = events[0];
	CHECK(e["enumerator"].type ==
	      int_type<std::underlying_type<every_small>::type>());
	CHECK(e["cmp"].type == TTLOG_TYPE_BOOL && e["cmp"].b);
	CHECK(e["true"].type == TTLOG_TYPE_BOOL && e["true"].b);
	CHECK(e["scoped_u8"].type == TTLOG_TYPE_U64 && e["scoped_u8"].u64 == 1);
	CHECK(e["scoped_i16"].type == TTLOG_TYPE_I64 &&
	      e["scoped_i16"].i64 == -2);
	CHECK(e["char"].type == TTLOG_TYPE_I64 && e["char"].i64 == 'c');
#ifdef __cpp_char8_t
	CHECK(events.size() == 2);
	if (events.size() == 2)
		CHECK(events[1]["c8"].type == TTLOG_TYPE_U64 &&
		      events[1]["c8"].u64 == '8');
#else
	CHECK(events.size() == 1);
#endif
}

static void test_entry_point_has_c_linkage()
{
	void *sym = dlsym(RTLD_DEFAULT, TTLOG_LISTENER_ENTRY_SYMBOL);
	CHECK(sym != nullptr);
	if (sym == nullptr)
		return;
	ttlog_listener_entry_fn entry =
		reinterpret_cast<ttlog_listener_entry_fn>(sym);
	CHECK(entry() == &capture_api);
}

/* A thread logs in a loop while the main thread changes the level: first
 * between levels that filter its calls out, so nothing else orders the two
 * threads and the thread sanitizer (label "threaded") would report the
 * gate's read were it a plain one, then to one that lets them through.
 * Every call that passed the gate evaluated its field and was produced. */
static void test_gate_changes_while_another_thread_logs()
{
	std::atomic<bool> stop(false);
	std::atomic<uint64_t> spins(0), evaluated(0);
	struct ttlog_stats st;

	CHECK(capture_start(TTLOG_LEVEL_ERROR) == 0);
	std::thread t([&] {
		while (!stop.load()) {
			TTLOG_INFO("spin", TTLOG_KV("n", ++evaluated));
			spins.fetch_add(1, std::memory_order_relaxed);
		}
	});
	while (spins.load(std::memory_order_relaxed) == 0)
		std::this_thread::yield();
	for (int k = 0; k < 2000; k++)
		ttlog_set_level(k % 2 ? TTLOG_LEVEL_FATAL : TTLOG_LEVEL_ERROR);
	CHECK(evaluated.load() == 0);
	ttlog_set_level(TTLOG_LEVEL_INFO);
	while (evaluated.load() < 1000)
		std::this_thread::yield();
	stop.store(true);
	t.join();
	CHECK(ttlog_flush() == 0);
	CHECK(ttlog_stats(&st) == 0);
	CHECK(st.produced == evaluated.load());
	CHECK(st.delivered + st.dropped_ring_full == st.produced);
	CHECK(events.size() == st.delivered);
	for (size_t k = 1; k < events.size(); k++)
		if (events[k]["n"].u64 <= events[k - 1]["n"].u64) {
			CHECK(events[k]["n"].u64 > events[k - 1]["n"].u64);
			break;
		}
}

static const struct {
	const char *name;
	void (*fn)();
} tests[] = {
#define T(fn)                                                                  \
	{                                                                      \
#fn, fn                                                        \
	}
	T(test_every_type_arrives_as_it_does_from_c),
	T(test_every_type_keeps_its_type_and_value),
	T(test_every_typedef_keeps_its_type_and_value),
	T(test_level_gate_filters_before_evaluating),
	T(test_templates_lambdas_members_and_strings),
	T(test_cxx_types_follow_the_cxx_language),
	T(test_entry_point_has_c_linkage),
	T(test_gate_changes_while_another_thread_logs),
#undef T
};

int main()
{
	int failed_tests = 0;

	printf("C++ %ld\n", static_cast<long>(__cplusplus));
	for (const auto &t : tests) {
		int before = failures;
		current_test = t.name;
		t.fn();
		ttlog_shutdown();
		ttlog_set_level(TTLOG_LEVEL_INFO);
		events.clear();
		printf("%s %s\n", failures == before ? "ok    " : "FAILED",
		       t.name);
		if (failures != before)
			failed_tests++;
	}
	printf("%d of %zu tests failed\n", failed_tests,
	       sizeof(tests) / sizeof(tests[0]));
	return failed_tests ? 1 : 0;
}
