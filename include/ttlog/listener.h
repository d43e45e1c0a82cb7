/*
 * listener.h - the listener contract: the whole interface between libttlog
 * and the code that receives batches (in-process listeners today, dlopen'd
 * plugins through the same struct).
 *
 * Compatibility rule: struct ttlog_listener_api begins with abi_version and
 * struct_size and fields are only ever appended. The loader accepts a table
 * whose ABI major equals TTLOG_LISTENER_ABI_MAJOR and whose struct_size
 * covers every field the loader uses; a newer minor only appends fields.
 *
 * Every callback runs on the writer thread, one at a time, so a listener
 * needs no locks for its own state. (create() and create2() of the
 * listeners ttlog_init() starts with run on the thread calling it, before
 * the writer thread exists; those a reload adds run on the writer thread.)
 *
 * ABI history:
 *   1.0  create, start(state, event_base), consume, flush, destroy, reopen.
 *   1.1  metrics(), draining().
 *   1.2  create2() and start2(), which hand the listener a struct
 *        ttlog_host (its name, a log, timers, fd watches), and the
 *        TTLOG_OPTION_ENUM_VALUES option type. A loader of 1.2 still calls
 *        create()/start() of a table of minor 0 or 1, or of a 1.2 table
 *        that leaves create2/start2 NULL.
 *   1.3  check(): the listener's own validation of its options, run
 *        whenever a configuration is built (--check, start, reload),
 *        before anything is created. A table of 1.0 to 1.2, or of 1.3
 *        with check NULL, is still accepted and simply not asked.
 *   1.4  the host's defer_durable() and durable(): a listener whose OK
 *        is not yet safe from a SIGKILL of the process (a forwarder
 *        without a spool) says so and confirms later. Nothing is added
 *        to the listener table, so a table of any 1.x minor still loads;
 *        a plugin built against 1.4 runs on an older library as long as
 *        it checks TTLOG_HOST_HAS(host, durable) first (and is then not
 *        waited for, as before).
 *   1.5  the TTLOG_OPTION_MAP option type (a map of scalars, such as
 *        the Kafka listener's `properties:`). A loader older than this
 *        header rejects the option as unknown; nothing else changes.
 */
#ifndef TTLOG_LISTENER_H
#define TTLOG_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include <ttlog/batch.h>
#include <ttlog/ttlog.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TTLOG_LISTENER_ABI_MAJOR 1
#define TTLOG_LISTENER_ABI_MINOR 5
#ifdef __cplusplus
#define TTLOG_LISTENER_ABI_VERSION                                             \
	(static_cast<uint32_t>((TTLOG_LISTENER_ABI_MAJOR << 16) |              \
			       TTLOG_LISTENER_ABI_MINOR))
#else
#define TTLOG_LISTENER_ABI_VERSION                                             \
	((uint32_t)((TTLOG_LISTENER_ABI_MAJOR << 16) |                         \
		    TTLOG_LISTENER_ABI_MINOR))
#endif

/* Results of consume(). */
enum ttlog_listener_result {
	TTLOG_LISTENER_OK = 0,	  /* the batch was taken */
	TTLOG_LISTENER_RETRY = 1, /* back-pressure: offer it again later */
	TTLOG_LISTENER_ERROR = -1 /* failed: the batch is dropped, counted */
};

struct event_base;

/* A figure a listener reports about itself (ABI 1.1, metrics()). The agent
 * exports it on /metrics as ttlog_listener_<name>{listener="...",
 * <label>="<label_value>"}. */
enum ttlog_metric_kind {
	TTLOG_METRIC_COUNTER = 0, /* only ever grows */
	TTLOG_METRIC_GAUGE = 1	  /* a current value */
};

struct ttlog_metric {
	const char *name; /* [a-z_]+, e.g. "spool_bytes" */
	const char *help; /* one line */
	enum ttlog_metric_kind kind;
	const char *label;	 /* an extra label name, or NULL */
	const char *label_value; /* its value */
	double value;
};

typedef void (*ttlog_metric_emit_fn)(void *ctx, const struct ttlog_metric *m);

/*
 * Options a listener declares as a table; the registry applies the YAML
 * of the listener's section to it, converts units, rejects unknown keys,
 * and prints the table for `ttlog-agent --plugin-help NAME`.
 */
enum ttlog_option_type {
	TTLOG_OPTION_END = 0,  /* ends the table */
	TTLOG_OPTION_STRING,   /* char *; valid during create() only */
	TTLOG_OPTION_BOOL,     /* int: 0 or 1 */
	TTLOG_OPTION_INT,      /* int64_t */
	TTLOG_OPTION_SIZE,     /* uint64_t bytes: 64KiB, 100MiB, 10MB */
	TTLOG_OPTION_DURATION, /* uint64_t milliseconds: 200ms, 30s, 5m */
	/* int: index of the value in `choices` (the ABI 1.0 form, still
	 * accepted; new tables use TTLOG_OPTION_ENUM_VALUES). */
	TTLOG_OPTION_ENUM,
	/* int: the value paired with the name in `values`. ABI 1.2 (it
	 * came before the host API, in the same minor); a loader older than
	 * this header rejects the option as unknown. */
	TTLOG_OPTION_ENUM_VALUES,
	/* const char *const *: a map whose values are scalars, as one
	 * NULL-terminated array key, value, key, value, ..., NULL, in the
	 * YAML's order (NULL when the key is absent); values as written
	 * (numbers and booleans as their text). Valid during create() and
	 * check() only, like strings. A check() error that starts with
	 * "KEY.SUBKEY: " is reported at that entry's line. ABI 1.5. */
	TTLOG_OPTION_MAP
};

/* One name a TTLOG_OPTION_ENUM_VALUES option accepts and the int it
 * stores, normally a named enum constant. A table of them ends with
 * {NULL, 0}; help and error messages list the names in table order. */
struct ttlog_option_value {
	const char *name;
	int value;
};

#define TTLOG_OPTION_REQUIRED 0x1u /* no default; the YAML must set it */

struct ttlog_option_spec {
	enum ttlog_option_type type;
	/* "path", or "rotate.size" for a key inside a nested map. */
	const char *key;
	/* The default as it would be written in YAML; NULL means none:
	 * zero (NULL for strings) unless TTLOG_OPTION_REQUIRED. */
	const char *default_value;
	/* offsetof() the field in the listener's options struct. */
	size_t offset;
	const char *description;
	/* TTLOG_OPTION_ENUM: the accepted values separated by '|'.
	 * TTLOG_OPTION_ENUM_VALUES: the {name, value} table, written as
	 * TTLOG_OPTION_VALUES(table) and read with ttlog_option_values(). */
	const char *choices;
	unsigned flags; /* TTLOG_OPTION_* flags */
};

/* The `choices` slot of a TTLOG_OPTION_ENUM_VALUES option: a table of
 * struct ttlog_option_value (anything else does not compile cleanly). The
 * slot keeps its type so that tables written for ABI 1.0 and 1.1 still
 * compile and load unchanged. */
#ifdef __cplusplus
#define TTLOG_OPTION_VALUES(table)                                             \
	(reinterpret_cast<const char *>(                                       \
		static_cast<const struct ttlog_option_value *>(table)))
#else
/* The conditional makes the compiler check the table's type. */
#define TTLOG__OPTION_TABLE(t) (1 ? (t) : (const struct ttlog_option_value *)0)
#define TTLOG_OPTION_VALUES(table)                                             \
	((const char *)(const void *)TTLOG__OPTION_TABLE(table))
#endif

/* The {name, value} table of a TTLOG_OPTION_ENUM_VALUES option, or NULL
 * for any other type. Borrowed from the option table. */
static inline const struct ttlog_option_value *
ttlog_option_values(const struct ttlog_option_spec *o)
{
	if (o->type != TTLOG_OPTION_ENUM_VALUES)
		return NULL;
#ifdef __cplusplus
	return reinterpret_cast<const struct ttlog_option_value *>(
		static_cast<const void *>(o->choices));
#else
	return (const struct ttlog_option_value *)(const void *)o->choices;
#endif
}

/* ------------------------------------------------------------------ */
/* The host (ABI 1.2)                                                   */
/* ------------------------------------------------------------------ */

/*
 * What the library offers a listener through create2() and start2(): its
 * instance name, a log, timers and fd watches, so that a plugin needs
 * neither its own reporter nor libevent. Owned by the library, borrowed by
 * the listener from create2() until destroy() returns; the listener keeps
 * the pointer in its state and calls only through the function pointers,
 * so a plugin needs no symbol of libttlog for any of it.
 *
 * Compatibility rule: the struct begins with struct_size and fields are
 * only appended; before calling a field a later minor added, check that
 * struct_size covers it (TTLOG_HOST_HAS(host, field)).
 *
 * Threading: the writer thread, like every callback, except that log()
 * may also be called from create2() on the thread calling ttlog_init().
 */
struct ttlog_host;
/* A timer and an fd watch: opaque, made and freed through the host. */
struct ttlog_host_timer;
struct ttlog_host_watch;

/* Readiness a watch waits for and reports. */
#define TTLOG_HOST_READ 0x1u
#define TTLOG_HOST_WRITE 0x2u

typedef void (*ttlog_host_timer_fn)(void *arg);
/* `events`: the TTLOG_HOST_* readiness that woke the watch. */
typedef void (*ttlog_host_watch_fn)(int fd, unsigned events, void *arg);

#if defined(__GNUC__) || defined(__clang__)
#define TTLOG__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TTLOG__PRINTF(f, a)
#endif

struct ttlog_host {
	uint32_t struct_size; /* sizeof(struct ttlog_host) of the library */
	/* The listener's instance name: its `name:` in the configuration,
	 * else its type name. Valid as long as the host. */
	const char *name;

	/*
	 * Reports something about the listener. The line goes to standard
	 * error ("ttlog: listener NAME: msg: detail") and, as an event of
	 * that level with the fields listener, msg and detail, through the
	 * library's own log, so it travels with the application's (or the
	 * agent's) other events. At most 10 lines a second per listener; the
	 * first line after a suppressed stretch says how many were left out.
	 * That bound also keeps a listener whose own output fails from
	 * feeding on its own reports. A line identical to the one before is
	 * not printed again but counted, and the count said ("(repeated N
	 * times in the last Ns)") every 5 s while it goes on and once when
	 * it stops. Nothing is kept.
	 * @param level  a TTLOG_LEVEL_* below TTLOG_LEVEL_OFF.
	 * @param msg    a short constant text, "write failed".
	 * @param fmt    printf format of the detail, or NULL for none.
	 */
	void (*log)(const struct ttlog_host *host, int level, const char *msg,
		    const char *fmt, ...) TTLOG__PRINTF(4, 5);

	/* A timer that calls fn(arg) on the writer thread, not armed. From
	 * start2() on. Freed with timer_free() (or by the host after
	 * destroy() returns). NULL when out of memory. */
	struct ttlog_host_timer *(*timer_new)(const struct ttlog_host *host,
					      ttlog_host_timer_fn fn,
					      void *arg);
	/* Arms (or re-arms) a timer: once after `ms` milliseconds, or every
	 * `ms` when periodic is non-zero. Returns 0 or a negative error. */
	int (*timer_start)(struct ttlog_host_timer *t, uint64_t ms,
			   int periodic);
	/* Disarms it; it can be started again. */
	void (*timer_stop)(struct ttlog_host_timer *t);
	/* Disarms and frees it. NULL is ignored. */
	void (*timer_free)(struct ttlog_host_timer *t);

	/* A watch calling fn when fd is ready for the TTLOG_HOST_* events
	 * given (0: none yet). From start2() on. The descriptor stays the
	 * listener's: close it after watch_free(). NULL when out of memory
	 * or fd is negative. */
	struct ttlog_host_watch *(*watch_new)(const struct ttlog_host *host,
					      int fd, unsigned events,
					      ttlog_host_watch_fn fn,
					      void *arg);
	/* Changes what a watch waits for; 0 pauses it. Returns 0 or a
	 * negative error. */
	int (*watch_set)(struct ttlog_host_watch *w, unsigned events);
	/* Stops and frees a watch. NULL is ignored. */
	void (*watch_free)(struct ttlog_host_watch *w);

	/* The escape hatch: the writer's libevent loop, for a listener that
	 * uses libevent itself (bufferevents, TLS). Such a plugin must link
	 * the same libevent (major and ABI) as libttlog. NULL before
	 * start2(). */
	struct event_base *(*event_base)(const struct ttlog_host *host);

	/* Appended after 1.2 (check TTLOG_HOST_HAS(host, lost)). */

	/* Tells the library that `events` events the listener took (answered
	 * OK for) will never be delivered: a shutdown or reload gave up on
	 * them (frames a collector never acknowledged, with no spool to keep
	 * them). The library adds them to what it states as lost when the
	 * listener is finished: the count per listener on standard error and
	 * in its own log, and a non-zero exit status of ttlog-agent. Events
	 * kept in a spool are not lost and are not reported. `reason` is a
	 * short text ("collector did not acknowledge"), copied. */
	void (*lost)(const struct ttlog_host *host, uint64_t events,
		     const char *reason);
	/* How often the library calls flush() while it runs (default 1000
	 * ms; 0: only on ttlog_flush(), at a reload and at shutdown). For a
	 * listener whose flush() is costly and that keeps its own timer
	 * (the file plugin's fsync_interval). From create2() on. */
	void (*flush_every)(const struct ttlog_host *host, uint64_t ms);

	/* ABI 1.4 (check TTLOG_HOST_HAS(host, durable)). */

	/* Says that an OK from consume() does not yet mean the batch would
	 * survive a SIGKILL of the process (a forwarder without a spool keeps
	 * it in memory until the collector acknowledges it), and that the
	 * listener will confirm each batch it took with durable(). Call it
	 * from create2() or start2(), before the first batch; without it
	 * every OK is durable at once. Inputs that save where they stand in
	 * their source (tail, journal) save it only up to what every such
	 * listener confirmed. */
	void (*defer_durable)(const struct ttlog_host *host);
	/* Confirms that the batch whose ttlog_batch_seq() is batch_seq, and
	 * every batch the listener answered OK for before it (in the order
	 * it took them), are durable. Batches are not offered in the order
	 * of their seqs, so this names a point in the listener's own order
	 * of taking rather than a bound on seqs. A seq the listener did not
	 * take, or confirmed already, is ignored. Writer thread; may be
	 * called from any callback, consume() of that very batch included. */
	void (*durable)(const struct ttlog_host *host, uint64_t batch_seq);
};

/* Non-zero when the host is recent enough to have `field`. */
#define TTLOG_HOST_HAS(host, field)                                            \
	((host)->struct_size >=                                                \
	 offsetof(struct ttlog_host, field) + sizeof((host)->field))

struct ttlog_listener_api {
	uint32_t abi_version; /* TTLOG_LISTENER_ABI_VERSION */
	uint32_t struct_size; /* sizeof(struct ttlog_listener_api) */
	const char *name;     /* short type name, e.g. "stdout" */
	const char *description;
	const struct ttlog_option_spec *options; /* may be NULL */
	size_t options_size; /* bytes of the options struct create() reads */

	/* Validates options (borrowed for the call) and allocates the
	 * listener's state into *state. Returns 0 or a negative error.
	 * Listeners of ABI 1.2 set create2 instead and leave this NULL. */
	int (*create)(const void *options, void **state);
	/* Called once on the writer thread with its event loop, before the
	 * first batch. May be NULL. Returns 0 or a negative error. Listeners
	 * of ABI 1.2 set start2 instead. */
	int (*start)(void *state, struct event_base *base);
	/* Receives a batch, borrowed for the call (ttlog_batch_ref() to keep
	 * it). Returns an enum ttlog_listener_result. After RETRY the same
	 * batch (same pointer, same seq) is offered again, before any newer
	 * one, on a later writer cycle; unless the listener's queue drops it
	 * (queue.max_bytes, counted as dropped_queue_full) or the library
	 * shuts down, so a listener that wrote part of it must not rely on
	 * seeing it again. */
	int (*consume)(void *state, struct ttlog_batch *batch);
	/* Pushes buffered output out: on ttlog_flush(), at a reload, at
	 * shutdown, and once a second while the library runs (see the
	 * host's flush_every). Never at the same time as consume(): both
	 * run on the writer thread. May be NULL (never called). */
	int (*flush)(void *state);
	/* Frees the state. Called once, also after a failed start. */
	void (*destroy)(void *state);
	/* Closes and reopens output files (after an external rotation,
	 * ttlog_reopen()). May be NULL. Returns 0 or a negative error. */
	int (*reopen)(void *state);

	/* ABI 1.1. Reports the listener's own figures (connection state,
	 * spool bytes, ...) by calling emit once per figure; on the writer
	 * thread, from the agent's /metrics handler. May be NULL. */
	void (*metrics)(void *state, ttlog_metric_emit_fn emit, void *ctx);
	/* ABI 1.1. At shutdown, after flush(): non-zero while the listener
	 * still has work that needs the event loop (frames a collector has
	 * not acknowledged yet). The writer keeps its loop running and asks
	 * again every 10 ms until every listener answers 0; the listener
	 * decides how long it is worth waiting. May be NULL. */
	int (*draining)(void *state);

	void *reserved[6]; /* zero */

	/* ABI 1.2 and 1.3 callbacks follow the reserved slots rather than
	 * taking them: a table written for 1.0 or 1.1 and initialised by
	 * position, reserved slots included, still compiles (-Wextra only
	 * notes the fields it leaves out), and the loader never reads them
	 * from a table of an older minor or a smaller struct_size.
	 *
	 * ABI 1.2. Like create(), with the host the listener keeps for
	 * its whole life (see struct ttlog_host). When set, create() is not
	 * called. Returns 0 or a negative error; on error the listener
	 * should have said why through host->log(). */
	int (*create2)(const void *options, const struct ttlog_host *host,
		       void **state);
	/* ABI 1.2. Like start(), without libevent: timers and watches come
	 * from the host. When set, start() is not called. May be NULL. */
	int (*start2)(void *state, const struct ttlog_host *host);

	/* ABI 1.3. Validates options (borrowed for the call) without
	 * acting on them: called after the registry applied the listener's
	 * section, whenever a configuration is built (`ttlog-agent --check`,
	 * start, reload, ttlog_init_from_file()), possibly many times and
	 * never paired with create(). It may read files (a certificate is
	 * parseable, a directory exists) but must create nothing: no files,
	 * no directories, no sockets, no threads, no state kept. Returns 0,
	 * or a negative error with one line in err (at most errlen bytes,
	 * NUL-terminated) saying which option is wrong and why; the registry
	 * reports it as "FILE:LINE:COL: listeners[N] (NAME): reason". Runs on
	 * the thread building the configuration. May be NULL. */
	int (*check)(const void *options, char *err, size_t errlen);
};

/*
 * A plugin is a shared object that exports this one function, returning a
 * table in static storage. Define it with TTLOG_LISTENER_ENTRY(my_api).
 * It may link libttlog or leave the ttlog_* functions it calls undefined:
 * they resolve from the process that loads it, which always has libttlog.
 */
#define TTLOG_LISTENER_ENTRY_SYMBOL "ttlog_listener_entry"
typedef const struct ttlog_listener_api *(*ttlog_listener_entry_fn)(void);

/* C linkage also in a plugin written in C++: the loader looks the
 * symbol up by its C name. */
#ifdef __cplusplus
#define TTLOG__EXTERN_C extern "C"
#else
#define TTLOG__EXTERN_C
#endif
#define TTLOG_LISTENER_ENTRY(api)                                              \
	TTLOG__EXTERN_C TTLOG_EXPORT const struct ttlog_listener_api *         \
	ttlog_listener_entry(void);                                            \
	TTLOG_EXPORT const struct ttlog_listener_api *ttlog_listener_entry(    \
		void)                                                          \
	{                                                                      \
		return &(api);                                                 \
	}

#ifdef __cplusplus
}
#endif

#endif /* TTLOG_LISTENER_H */
