/*
 * ttlog.h - the application API of libttlog.
 *
 *   #include <ttlog/ttlog.h>
 *
 *   struct ttlog_options o;
 *   ttlog_options_init(&o);
 *   ttlog_init(&o);
 *   TTLOG_INFO("request done", TTLOG_KV("id", id), TTLOG_KV("ms", 4.2));
 *   ttlog_shutdown();
 *
 * A log call checks one atomic level gate before it evaluates any argument,
 * then copies the arguments into a ring owned by the calling thread. It never
 * blocks, never takes a lock and never enters the kernel on its common path.
 * One writer thread drains the rings into batches and hands them to
 * listeners (see listener.h and batch.h).
 *
 * The header compiles as C11 and later and as C++17 and later (g++,
 * clang++), with the same macros: in C++ the field types come from a class
 * template instead of _Generic (see ttlog__kv below).
 */
#ifndef TTLOG_TTLOG_H
#define TTLOG_TTLOG_H

#ifdef __cplusplus
#include <type_traits>
#else
#include <stdatomic.h>
#include <stdbool.h>
#endif
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ttlog/export.h>
#include <ttlog/ttlog_macros.h>
#include <ttlog/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Severity levels, lowest first. TTLOG_LEVEL_OFF disables every level. */
enum ttlog_level {
	TTLOG_LEVEL_TRACE = 0,
	TTLOG_LEVEL_DEBUG = 1,
	TTLOG_LEVEL_INFO = 2,
	TTLOG_LEVEL_WARN = 3,
	TTLOG_LEVEL_ERROR = 4,
	TTLOG_LEVEL_FATAL = 5,
	TTLOG_LEVEL_OFF = 6
};

/* Types of field values as they travel through the ring and batches. */
enum ttlog_type {
	TTLOG_TYPE_I64 = 1,  /* every signed integer type */
	TTLOG_TYPE_U64 = 2,  /* every unsigned integer type */
	TTLOG_TYPE_F64 = 3,  /* float, double (long double is narrowed) */
	TTLOG_TYPE_BOOL = 4, /* bool */
	TTLOG_TYPE_STR = 5   /* bytes, copied; see TTLOG_KV_STR */
};

/*
 * Error codes. Functions return 0 on success and a negative TTLOG_E* code
 * (or -errno where the system said why) on failure; ttlog_strerror() names
 * both.
 */
#define TTLOG_ERRNO_MAP(X)                                                     \
	X(EINVAL, -1001, "invalid argument")                                   \
	X(ENOMEM, -1002, "out of memory")                                      \
	X(EALREADY, -1003, "ttlog is already initialised")                     \
	X(ENOTRUNNING, -1004, "ttlog is not initialised")                      \
	X(ESYSTEM, -1005, "system call failed")                                \
	X(ELISTENER, -1006, "a listener failed to start")                      \
	X(EABI, -1007, "incompatible ABI version")                             \
	X(EPLUGIN, -1008, "the plugin was refused")                            \
	X(ECONFIG, -1009, "the configuration has errors")

enum ttlog_errno {
#define TTLOG__ERRNO_ENUM(name, value, text) TTLOG_##name = (value),
	TTLOG_ERRNO_MAP(TTLOG__ERRNO_ENUM)
#undef TTLOG__ERRNO_ENUM
};

/*
 * Returns a static English description of a TTLOG_E* code or of a negative
 * errno value. Never NULL. Thread-safe.
 */
TTLOG_EXPORT const char *ttlog_strerror(int err);

/* Time source of event timestamps. */
enum ttlog_clock {
	TTLOG_CLOCK_AUTO = 0, /* TSC when invariant, else REALTIME */
	TTLOG_CLOCK_TSC = 1,  /* rdtsc, converted to wall time by the writer */
	TTLOG_CLOCK_REALTIME = 2, /* clock_gettime(CLOCK_REALTIME) per event */
	TTLOG_CLOCK_COARSE = 3 /* CLOCK_REALTIME_COARSE: cheap, ~4 ms steps */
};

struct ttlog_listener_api;

/* Defaults of ttlog_options.ring_bytes and of
 * ttlog_listener_config.queue_bytes (and of ttlog.yaml's ring_size and
 * queue.max_bytes), the one place they are set. In whole MiB so that the
 * configuration's option tables can spell them as text too. */
#define TTLOG_DEFAULT_RING_MIB 1
#define TTLOG_DEFAULT_QUEUE_MIB 64
#define TTLOG_DEFAULT_RING_BYTES (TTLOG_DEFAULT_RING_MIB * 1048576u)
#define TTLOG_DEFAULT_QUEUE_BYTES (TTLOG_DEFAULT_QUEUE_MIB * 1048576u)

/* What a listener's full queue drops. */
enum ttlog_queue_policy {
	TTLOG_QUEUE_DROP_OLDEST = 0, /* make room by dropping held batches */
	TTLOG_QUEUE_DROP_NEWEST = 1  /* drop the batch that does not fit */
};

/* One in-process listener handed to ttlog_init(). */
struct ttlog_listener_config {
	/* Borrowed; must stay valid until ttlog_shutdown() returns. */
	const struct ttlog_listener_api *api;
	/* Passed to api->create(); borrowed for the duration of create(). */
	const void *options;
	/* Name used in statistics and error messages; borrowed like api. */
	const char *name;
	/* Bytes of batches the listener may hold back with RETRY before the
	 * oldest is dropped and counted; 0 means the default
	 * (TTLOG_DEFAULT_QUEUE_BYTES, 64 MiB). */
	size_t queue_bytes;
	/* Events below this level are not offered (default TRACE: all). */
	enum ttlog_level level;
	enum ttlog_queue_policy queue_policy;
};

/*
 * Library options. Always start from ttlog_options_init(), which fills in
 * the defaults and struct_size, so that code built against an older header
 * keeps working when fields are appended.
 */
struct ttlog_options {
	uint32_t struct_size;
	/* Service name carried in encodings; borrowed during ttlog_init(). */
	const char *service;
	/* Minimum level logged (default INFO). */
	enum ttlog_level level;
	/* Bytes per thread ring, rounded up to a power of two (default
	 * TTLOG_DEFAULT_RING_BYTES, 1 MiB; minimum 4 KiB). A record larger
	 * than half of it is dropped. */
	size_t ring_bytes;
	/* String values longer than this are truncated and the event flagged
	 * (default 4096). */
	size_t max_value_bytes;
	/* How often the writer drains when nobody wakes it (default 20 ms). */
	uint32_t flush_interval_ms;
	/* Batch limits (defaults 8192 events, 1 MiB of records). */
	size_t batch_max_events;
	size_t batch_max_bytes;
	enum ttlog_clock clock;
	/* In-process listeners; the array is copied, entries borrowed. */
	const struct ttlog_listener_config *listeners;
	size_t nlisteners;

	/* The flight recorder (docs/snapshot-format.md). Fields from here on
	 * were added in 0.2; a caller built before them gets the defaults
	 * (through struct_size). */
	/* Directory for snapshots, copied during ttlog_init(); NULL (the
	 * default): no snapshots, no history kept, no signal handlers. */
	const char *snapshot_dir;
	/* Bytes of recent events the writer keeps for a snapshot (default
	 * 4 MiB). */
	size_t snapshot_history_bytes;
	/* A snapshot every that many milliseconds; 0 (default): none. */
	uint32_t snapshot_interval_ms;
	/* Retention: the newest `keep` snapshots of this service (default
	 * 10), and older ones removed while all take more than max_bytes
	 * (default 256 MiB). */
	uint32_t snapshot_keep;
	uint64_t snapshot_max_bytes;
	/* Write a snapshot when the process crashes (SIGSEGV, SIGBUS,
	 * SIGFPE, SIGILL, SIGABRT), then let the previous handler or the
	 * default action run (default true). */
	bool snapshot_on_crash;
};

/* Fills *o with the defaults. */
TTLOG_EXPORT void ttlog_options_init(struct ttlog_options *o);

/*
 * Starts the writer thread and the listeners.
 * @param o  options, or NULL for the defaults (no listeners); copied.
 * @return 0, TTLOG_EALREADY, TTLOG_EINVAL, TTLOG_ENOMEM, TTLOG_ELISTENER
 *         or -errno. On failure nothing is left running.
 * Not thread-safe against ttlog_shutdown().
 */
TTLOG_EXPORT int ttlog_init(const struct ttlog_options *o);

/*
 * Starts the library from a ttlog.yaml file: the service section and the
 * listeners, loaded as plugins (see conf/ttlog.yaml). Every problem is
 * printed to stderr as "ttlog: FILE:LINE:COL: KEY: what is wrong".
 * @return 0, TTLOG_ECONFIG (the file has errors; nothing started),
 *         TTLOG_EALREADY, or an error of ttlog_init().
 */
TTLOG_EXPORT int ttlog_init_from_file(const char *path);

/*
 * Stops logging, delivers every event logged before the call to the
 * listeners, flushes and destroys them, stops the writer, and returns only
 * then. Log calls made after it starts are ignored. Calls racing with it
 * from other threads may be lost (their thread's ring is kept until the
 * thread exits), so stop logging threads first for an exact account.
 * @return 0, or TTLOG_ENOTRUNNING.
 */
TTLOG_EXPORT int ttlog_shutdown(void);

/*
 * Blocks until every event logged before the call (by any thread) has been
 * drained and handed to the listeners, and the listeners were flushed.
 * Must not be called from a listener callback.
 * @return 0, or TTLOG_ENOTRUNNING.
 */
TTLOG_EXPORT int ttlog_flush(void);

/*
 * Flushes like ttlog_flush(), then asks every listener to close and reopen
 * its output files (after an external tool such as logrotate renamed
 * them). Returns once done. Safe to call from any thread but a listener
 * callback; not from a signal handler (call it from the code that handles
 * the signal).
 * @return 0, or TTLOG_ENOTRUNNING.
 */
TTLOG_EXPORT int ttlog_reopen(void);

/*
 * Writes a snapshot now: the recent events the writer kept plus everything
 * logged before the call, to the snapshot directory (see ttlog_options),
 * named <service>-<time>-<pid>-<n>-request.ttsnap. Returns once the file is
 * written, synced and renamed into place. reason (may be NULL) is recorded
 * in the file. Not from a listener callback or a signal handler.
 * @return 0, TTLOG_ENOTRUNNING, TTLOG_EINVAL (no snapshot_dir), or -errno
 *         of the step that failed (also counted, see ttlog_snapshot_stats).
 */
TTLOG_EXPORT int ttlog_snapshot(const char *reason);

/* Each *_stats() function below has the name of the struct it fills, as
 * stat() has; g++ -Wshadow takes that for a function hiding the struct's
 * constructor. */
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif

struct ttlog_snapshot_stats {
	uint64_t written;	 /* snapshot files written */
	uint64_t failed;	 /* attempts that wrote no file */
	uint64_t sync_failed;	 /* fsync/fdatasync failures (not retried) */
	uint64_t events;	 /* events in the last snapshot */
	uint64_t omitted;	 /* events left out of snapshots, in total */
	uint64_t history_events; /* events held for the next one now */
	uint64_t history_bytes;	 /* bytes held for the next one now */
	char last_file[256];	 /* name of the last file written, or "" */
	char last_error[256];	 /* why the last failure failed, or "" */
};
/* Fills *out. Thread-safe. @return 0, TTLOG_EINVAL (out NULL). */
TTLOG_EXPORT int ttlog_snapshot_stats(struct ttlog_snapshot_stats *out);

/* Sets the minimum level; takes effect at once for every thread.
 * Before ttlog_init() it sets the level init will use. */
TTLOG_EXPORT void ttlog_set_level(enum ttlog_level level);
/* The minimum level set now (what init will use while not running). */
TTLOG_EXPORT enum ttlog_level ttlog_get_level(void);
/* "TRACE" ... "FATAL", "OFF", or "?" for anything else. */
TTLOG_EXPORT const char *ttlog_level_name(enum ttlog_level level);

/* Library-wide counters. Every event a log call accepts, or an input of
 * ttlog-agent receives, is at any moment in a ring, delivered, or dropped:
 * produced + ingested = delivered + dropped_ring_full + dropped_too_large +
 * dropped_no_memory + dropped_invalid + filtered_level + (events in rings
 * and in the batch being built). */
struct ttlog_stats {
	uint64_t produced;	    /* log calls that passed the level gate */
	uint64_t delivered;	    /* events handed to the listener stage */
	uint64_t dropped_ring_full; /* the thread's ring had no room */
	uint64_t dropped_too_large; /* record larger than half a ring */
	uint64_t truncated;	    /* events with a truncated string value */
	uint64_t batches;	    /* batches built by the writer */
	uint64_t ring_bytes_used;   /* bytes in rings now (all threads) */
	uint64_t ring_bytes_total;  /* capacity of the rings now */
	uint64_t threads;	    /* rings registered now */
	uint64_t listener_dropped;  /* events dropped by listener queues */
	uint64_t dropped_no_memory; /* the writer could not allocate a batch */
	uint64_t ingested; /* events from outside (ttlog-agent's inputs) */
	/* Appended: ingested events refused as invalid (a level outside
	 * TRACE..FATAL, too many fields, no source). */
	uint64_t dropped_invalid;
	/* Appended: ingested events below the level set (service.level,
	 * ttlog_set_level()), left out as a program's own are. */
	uint64_t filtered_level;
};

/*
 * Fills *out with a consistent-enough view of the counters (each is read
 * atomically; the set is not a single snapshot). Thread-safe.
 * @return 0, TTLOG_EINVAL (out is NULL) or TTLOG_ENOTRUNNING (the counters
 *         of the last run are still returned).
 */
TTLOG_EXPORT int ttlog_stats(struct ttlog_stats *out);

/* Per-listener counters, index as in ttlog_options.listeners. */
struct ttlog_listener_stats {
	uint64_t events_in;  /* events offered to the listener */
	uint64_t events_out; /* events the listener accepted (OK) */
	uint64_t
		dropped_queue_full; /* dropped: RETRY backlog over queue_bytes */
	uint64_t dropped_error;	    /* dropped: consume() returned an error */
	uint64_t retries;	    /* consume() calls answered with RETRY */
	uint64_t queue_bytes;	    /* bytes held back now */
	/* Callbacks that held the writer thread longer than the watchdog's
	 * limit (3 s), each reported on standard error with the
	 * listener's name. */
	uint64_t stalls;
};
TTLOG_EXPORT int ttlog_listener_stats(size_t index,
				      struct ttlog_listener_stats *out);

#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* ------------------------------------------------------------------ */
/* Logging macros                                                       */
/* ------------------------------------------------------------------ */

/*
 * TTLOG_INFO("message literal", TTLOG_KV("key", value), ...) with up to 24
 * fields. The message and keys must be string literals: they are stored
 * once per call site, never per call. Nothing after the message is
 * evaluated when the level is disabled.
 */
#define TTLOG_TRACE(...) TTLOG__LOG(TTLOG_LEVEL_TRACE, __VA_ARGS__)
#define TTLOG_DEBUG(...) TTLOG__LOG(TTLOG_LEVEL_DEBUG, __VA_ARGS__)
#define TTLOG_INFO(...) TTLOG__LOG(TTLOG_LEVEL_INFO, __VA_ARGS__)
#define TTLOG_WARN(...) TTLOG__LOG(TTLOG_LEVEL_WARN, __VA_ARGS__)
#define TTLOG_ERROR(...) TTLOG__LOG(TTLOG_LEVEL_ERROR, __VA_ARGS__)
#define TTLOG_FATAL(...) TTLOG__LOG(TTLOG_LEVEL_FATAL, __VA_ARGS__)

/* A field whose type follows the value: integers, floats, bool, strings. */
#define TTLOG_KV(key, value) (key, value)
/* A field of len bytes at ptr, which need not be NUL-terminated and may
 * contain NULs; copied. */
#ifdef __cplusplus
#define TTLOG_KV_STR(key, ptr, len) (key, ::ttlog__strn_of((ptr), (len)))
#else
#define TTLOG_KV_STR(key, ptr, len)                                            \
	(key, ((struct ttlog_strn){(const char *)(ptr), (size_t)(len)}))
#endif

/* True when an event of this level would be logged now. */
#ifdef __cplusplus
#define TTLOG_ENABLED(level)                                                   \
	(static_cast<int>(level) >=                                            \
	 __atomic_load_n(&::ttlog__gate, __ATOMIC_RELAXED))
#else
#define TTLOG_ENABLED(level)                                                   \
	((int)(level) >=                                                       \
	 atomic_load_explicit(&ttlog__gate, memory_order_relaxed))
#endif

/* ---- internals used by the macros; not part of the stable API ---- */

struct ttlog_strn {
	const char *ptr;
	size_t len;
};

union ttlog__val {
	int64_t i;
	uint64_t u;
	double d;
	struct ttlog_strn s;
};

/* A call site: static storage generated by each macro use. The first
 * fields are constant; the writer thread owns `priv`. */
struct ttlog_callsite {
	const char *msg;
	const char *file;
	uint32_t line;
	uint8_t level;
	uint8_t nfields;
	const char *const *keys;
	const uint8_t *types;
	struct {
		uint64_t epoch;
		uint32_t index;
	} priv;
};

/*
 * Minimum level as an int; TTLOG_LEVEL_OFF while not running. The library
 * defines it as a C11 atomic_int, which C reads with atomic_load_explicit.
 * C++ has no _Atomic, and the standard does not promise std::atomic<int>
 * the layout of C's atomic_int, so C++ declares the same object as a plain
 * int and reads it with __atomic_load_n(..., __ATOMIC_RELAXED): what GCC's
 * <stdatomic.h> makes of atomic_load_explicit, the same single load on
 * every target, and an atomic access to the thread sanitizer. That holds
 * because atomic_int is lock-free with the size and alignment of int,
 * which core/log.c asserts. C++ code only ever reads the gate.
 */
#ifdef __cplusplus
#if !defined(__GNUC__) && !defined(__clang__)
#error "ttlog.h from C++ needs the __atomic builtins of g++ or clang++"
#endif
TTLOG_EXPORT extern int ttlog__gate;
#else
TTLOG_EXPORT extern atomic_int ttlog__gate;
#endif
TTLOG_EXPORT void ttlog__log(struct ttlog_callsite *cs,
			     const union ttlog__val *values);

static inline union ttlog__val ttlog__v_i64(int64_t x)
{
	union ttlog__val v;
	v.i = x;
	return v;
}
static inline union ttlog__val ttlog__v_u64(uint64_t x)
{
	union ttlog__val v;
	v.u = x;
	return v;
}
static inline union ttlog__val ttlog__v_f64(double x)
{
	union ttlog__val v;
	v.d = x;
	return v;
}
static inline union ttlog__val ttlog__v_bool(bool x)
{
	union ttlog__val v;
	v.u = x ? 1u : 0u;
	return v;
}
static inline union ttlog__val ttlog__v_cstr(const char *x)
{
	union ttlog__val v;
	v.s.ptr = x ? x : "(null)";
	v.s.len = strlen(v.s.ptr);
	return v;
}
static inline union ttlog__val ttlog__v_strn(struct ttlog_strn x)
{
	union ttlog__val v;
	v.s = x;
	if (v.s.ptr == NULL)
		v.s.len = 0;
	return v;
}

/*
 * The type map: which TTLOG_TYPE_* and which ttlog__v_* function a value of
 * each type gets. C selects them with _Generic, C++ with ttlog__kv (below);
 * change both together.
 */
#ifndef __cplusplus
/* clang-format off */
#define TTLOG__GENERIC(x, i64, u64, f64, b, str, strn)                         \
	_Generic((x),                                                          \
		char: i64, signed char: i64, short: i64, int: i64, long: i64,  \
		long long: i64,                                                \
		unsigned char: u64, unsigned short: u64, unsigned int: u64,    \
		unsigned long: u64, unsigned long long: u64,                   \
		float: f64, double: f64, long double: f64,                     \
		_Bool: b,                                                      \
		char *: str, const char *: str,                                \
		struct ttlog_strn: strn)
/* clang-format on */

#define TTLOG__TYPE_(k, v)                                                     \
	(uint8_t) TTLOG__GENERIC(v, TTLOG_TYPE_I64, TTLOG_TYPE_U64,            \
				 TTLOG_TYPE_F64, TTLOG_TYPE_BOOL,              \
				 TTLOG_TYPE_STR, TTLOG_TYPE_STR),
#define TTLOG__VAL_(k, v)                                                      \
	TTLOG__GENERIC(v, ttlog__v_i64, ttlog__v_u64, ttlog__v_f64,            \
		       ttlog__v_bool, ttlog__v_cstr, ttlog__v_strn)            \
	(v),
#define TTLOG__U8(x) (uint8_t)(x)
#else /* __cplusplus */
extern "C++" {
/*
 * ttlog__kv<T> is the C++ side of the type map, over the type of the value
 * with references, cv-qualifiers and array extents removed (std::decay:
 * what C's lvalue conversion does to _Generic's controlling expression).
 * decltype does not evaluate the value, as _Generic does not. Only the
 * types listed match, exactly: a value of another type does not compile
 * (as in C), where overloads would convert it by promotion rules C does not
 * share. ::kind is the TTLOG_TYPE_* code, ::val() the value, made by the
 * same ttlog__v_* functions as in C. Templates need C++ linkage, hence
 * the extern "C++" block inside the extern "C" one.
 */
template <typename T> struct ttlog__unsupported : ::std::false_type {
};
template <typename T, typename = void> struct ttlog__kv {
	static_assert(ttlog__unsupported<T>::value,
		      "TTLOG_KV: the value must be an integer, float, double, "
		      "bool, char * or const char * (bytes: TTLOG_KV_STR)");
};

template <typename T> struct ttlog__kv_i64 {
	static constexpr uint8_t kind = TTLOG_TYPE_I64;
	static union ttlog__val val(T x) noexcept
	{
		return ttlog__v_i64(static_cast<int64_t>(x));
	}
};
template <typename T> struct ttlog__kv_u64 {
	static constexpr uint8_t kind = TTLOG_TYPE_U64;
	static union ttlog__val val(T x) noexcept
	{
		return ttlog__v_u64(static_cast<uint64_t>(x));
	}
};
template <typename T> struct ttlog__kv_f64 {
	static constexpr uint8_t kind = TTLOG_TYPE_F64;
	static union ttlog__val val(T x) noexcept
	{
		return ttlog__v_f64(static_cast<double>(x));
	}
};

/* char counts as signed whatever its signedness, as in the C map. */
template <> struct ttlog__kv<char> : ttlog__kv_i64<char> {
};
template <> struct ttlog__kv<signed char> : ttlog__kv_i64<signed char> {
};
template <> struct ttlog__kv<short> : ttlog__kv_i64<short> {
};
template <> struct ttlog__kv<int> : ttlog__kv_i64<int> {
};
template <> struct ttlog__kv<long> : ttlog__kv_i64<long> {
};
template <> struct ttlog__kv<long long> : ttlog__kv_i64<long long> {
};
template <> struct ttlog__kv<unsigned char> : ttlog__kv_u64<unsigned char> {
};
template <> struct ttlog__kv<unsigned short> : ttlog__kv_u64<unsigned short> {
};
template <> struct ttlog__kv<unsigned int> : ttlog__kv_u64<unsigned int> {
};
template <> struct ttlog__kv<unsigned long> : ttlog__kv_u64<unsigned long> {
};
template <>
struct ttlog__kv<unsigned long long> : ttlog__kv_u64<unsigned long long> {
};
template <> struct ttlog__kv<float> : ttlog__kv_f64<float> {
};
template <> struct ttlog__kv<double> : ttlog__kv_f64<double> {
};
template <> struct ttlog__kv<long double> : ttlog__kv_f64<long double> {
};
template <> struct ttlog__kv<bool> {
	static constexpr uint8_t kind = TTLOG_TYPE_BOOL;
	static union ttlog__val val(bool x) noexcept
	{
		return ttlog__v_bool(x);
	}
};
template <> struct ttlog__kv<const char *> {
	static constexpr uint8_t kind = TTLOG_TYPE_STR;
	static union ttlog__val val(const char *x) noexcept
	{
		return ttlog__v_cstr(x);
	}
};
template <> struct ttlog__kv<char *> : ttlog__kv<const char *> {
};
template <> struct ttlog__kv<struct ttlog_strn> {
	static constexpr uint8_t kind = TTLOG_TYPE_STR;
	static union ttlog__val val(struct ttlog_strn x) noexcept
	{
		return ttlog__v_strn(x);
	}
};

/* Types that are typedefs of the types above in C, distinct in C++, log
 * as the typedef's target: wchar_t, char16_t (uint_least16_t), char32_t
 * (uint_least32_t), C23's char8_t (unsigned char). */
template <>
struct ttlog__kv<wchar_t>
    : ::std::conditional<::std::is_signed<wchar_t>::value,
			 ttlog__kv_i64<wchar_t>, ttlog__kv_u64<wchar_t>>::type {
};
template <> struct ttlog__kv<char16_t> : ttlog__kv_u64<char16_t> {
};
template <> struct ttlog__kv<char32_t> : ttlog__kv_u64<char32_t> {
};
#ifdef __cpp_char8_t
template <> struct ttlog__kv<char8_t> : ttlog__kv_u64<char8_t> {
};
#endif

/* An enum logs as its underlying type, the integer type C deems an enum
 * type compatible with (gcc and g++, clang and clang++ choose it by the
 * same rule). One difference stays: an enumerator is an int in C but has
 * its enum's type in C++, as a comparison is an int in C but a bool in
 * C++. */
template <typename T>
struct ttlog__kv<T, typename ::std::enable_if<::std::is_enum<T>::value>::type> {
	typedef typename ::std::underlying_type<T>::type base;
	static constexpr uint8_t kind = ttlog__kv<base>::kind;
	static union ttlog__val val(T x) noexcept
	{
		return ttlog__kv<base>::val(static_cast<base>(x));
	}
};

/* TTLOG_KV_STR's value: any object pointer and any length type, as C's
 * casts to const char * and size_t take them. */
template <typename N>
static inline struct ttlog_strn ttlog__strn_of(const void *ptr, N len) noexcept
{
	struct ttlog_strn s = {static_cast<const char *>(ptr),
			       static_cast<size_t>(len)};
	return s;
}
} /* extern "C++" */

#define TTLOG__KV(v) ::ttlog__kv<typename ::std::decay<decltype(v)>::type>
#define TTLOG__TYPE_(k, v) TTLOG__KV(v)::kind,
#define TTLOG__VAL_(k, v) TTLOG__KV(v)::val(v),
#define TTLOG__U8(x) static_cast<uint8_t>(x)
#endif /* __cplusplus */

#define TTLOG__KEY(kv) TTLOG__KEY_ kv
#define TTLOG__KEY_(k, v) "" k "",
#define TTLOG__TYPE(kv) TTLOG__TYPE_ kv
#define TTLOG__VAL(kv) TTLOG__VAL_ kv

#define TTLOG__LOG(lvl, ...)                                                   \
	do {                                                                   \
		if (TTLOG_ENABLED(lvl)) {                                      \
			static const char *const ttlog__keys[] = {             \
				TTLOG__FE(TTLOG__KEY, __VA_ARGS__) NULL};      \
			static const uint8_t ttlog__types[] = {                \
				TTLOG__FE(TTLOG__TYPE, __VA_ARGS__) 0};        \
			static struct ttlog_callsite ttlog__cs = {             \
				"" TTLOG__FIRST(__VA_ARGS__) "",               \
				__FILE__,                                      \
				__LINE__,                                      \
				TTLOG__U8(lvl),                                \
				TTLOG__U8(sizeof(ttlog__types) - 1),           \
				ttlog__keys,                                   \
				ttlog__types,                                  \
				{0, 0}};                                       \
			const union ttlog__val ttlog__vals[] = {               \
				TTLOG__FE(TTLOG__VAL, __VA_ARGS__){0}};        \
			ttlog__log(&ttlog__cs, ttlog__vals);                   \
		}                                                              \
	} while (0)

#ifdef __cplusplus
}
#endif

#endif /* TTLOG_TTLOG_H */
