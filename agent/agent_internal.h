/*
 * agent_internal.h - the parts of ttlog-agent: inputs (sockets and stdin on
 * the writer's libevent loop, feeding ttlog__ingest), the HTTP endpoint,
 * and the agent state they report on.
 *
 * Threads: everything here runs on the library's writer thread (set up
 * with ttlog__run_on_writer), except main(), which only handles signals
 * and asks the writer to do things.
 */
#ifndef TTLOG_AGENT_INTERNAL_H
#define TTLOG_AGENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <ttlog/listener.h>

struct ttlog__writer;

struct event_base;

/* ---- inputs ---- */

/* The `start_at` values of tail and journal inputs: where an input with
 * no saved position begins. */
enum ttlog__start_at {
	TTLOG__START_AT_BEGINNING = 0,
	TTLOG__START_AT_END = 1,
};

enum ttlog__input_type {
	TTLOG__INPUT_SYSLOG = 0,
	TTLOG__INPUT_JSONL = 1,
	TTLOG__INPUT_STDIN = 2,
	TTLOG__INPUT_TTLOG = 3,	  /* the native protocol (forward plugin) */
	TTLOG__INPUT_TAIL = 4,	  /* files (agent/inputs/tail/) */
	TTLOG__INPUT_JOURNAL = 5, /* the systemd journal */
	TTLOG__INPUT_KAFKA = 6	  /* a consumer group (librdkafka) */
};

/* The input types, each once: name and enum ttlog__input_type value,
 * ending {NULL, 0}. The `type:` option, messages and the metrics labels
 * all take their names from here. */
extern const struct ttlog_option_value ttlog__input_types[];
/* The name of an enum ttlog__input_type ("syslog"), "?" if none. */
const char *ttlog__input_type_name(int type);

/* A list option of an input (input_lists.c): n strings in v, v[n] NULL;
 * {NULL, 0} when the key is absent. Owned by the options struct. */
struct ttlog__input_list {
	char **v;
	size_t n;
};
/* Limits of a list option: items, and bytes of one item. */
#define TTLOG__INPUT_LIST_MAX 1024u
#define TTLOG__INPUT_LIST_MAX_LEN 4096u

/* One input, as ttlog.yaml describes it (the `inputs:` list). */
struct ttlog__input_opts {
	char *name;
	int type; /* enum ttlog__input_type */
	/* "tcp://127.0.0.1:5514", "udp://0.0.0.0:514", "unix:///run/x.sock";
	 * unused for stdin. */
	char *listen;
	uint64_t max_message;	  /* bytes; longer is malformed */
	int64_t max_connections;  /* stream inputs; more are refused */
	uint64_t idle_timeout_ms; /* a silent connection is closed; 0 never */
	uint64_t pause_backlog;	  /* stop reading while a listener holds
				    * back more than this many bytes */
	/* tls:// inputs */
	char *tls_cert, *tls_key, *tls_ca_file, *tls_ca_dir;
	char *tls_ciphers, *tls_ciphersuites;
	int tls_client_auth; /* enum ttlog__tls_client_auth */
	int tls_min_version; /* enum ttlog__tls_version */
	/* ttlog inputs */
	uint64_t max_frame; /* largest message accepted */
	uint64_t window;    /* unacknowledged bytes a sender may have out */
	/* stream inputs: the memory budget and deadlines (input_budget.c) */
	uint64_t max_buffer;	   /* bytes of incomplete messages, in all */
	uint64_t hello_timeout_ms; /* TLS handshake and hello done within */
	uint64_t frame_timeout_ms; /* a message started is complete within */
	/* udp:// inputs: SO_RCVBUF asked for; 0: unset (the default) */
	uint64_t receive_buffer;
	/* Not an option of the input: service.state_dir (borrowed), where a
	 * ttlog input keeps its senders' progress; NULL: memory only. */
	const char *state_dir;
	/* Not an option: "FILE:LINE" of the entry, set when the
	 * configuration is loaded, for messages about the input later. */
	char where[256];
	int64_t max_connections_per_peer; /* stream inputs; <= 0: no limit */
	/* Not an option: max_connections was not set in the configuration,
	 * so the load sizes it to the descriptors the agent has. */
	int max_connections_auto;
	/* unix:// and unixgram:// inputs: the socket file's mode ("0660"),
	 * owner and group (names or numeric ids); NULL: unset, the file
	 * keeps what bind gives it (the umask, the agent's user). */
	char *mode, *owner, *group;
	/* List options (not in the option table: input_lists.c reads them).
	 * tail: paths (globs) and exclude; journal: paths (directories or
	 * files) and match (FIELD=value terms, "+" between alternatives). */
	struct ttlog__input_list paths, exclude, match;
	/* tail inputs (agent/inputs/tail.c, docs/tail.md) */
	int start_at; /* tail, journal: enum ttlog__start_at */
	int format;   /* enum ttlog__tail_format */
	int watch;    /* enum ttlog__tail_watch */
	uint64_t max_line;
	uint64_t rotate_wait_ms, poll_interval_ms;
	char *ml_start, *ml_preset;
	int ml_continuation; /* enum ttlog__tail_cont */
	uint64_t ml_timeout_ms, ml_max_bytes;
	/* kafka inputs (agent/inputs/input_kafka.c, docs/kafka.md):
	 * the cluster, the consumer group (`group`, shared with the unix
	 * sockets' file group) and its topics (a list option;
	 * "^..." a pattern), the client's TLS (tls.cert and tls.key are its
	 * certificate), SASL and librdkafka properties (key, value, ...,
	 * NULL). `format` takes enum ttlog__input_format here. */
	char *brokers, *client_id, *tls_ca;
	int tls_enabled, tls_verify;
	char *sasl_mechanism, *sasl_username, *sasl_password;
	char **properties;
	struct ttlog__input_list topics;
	/* Not an option: `format` is written in the entry (a kafka input
	 * without it decides per message: auto). */
	int format_set;
};

/* The values of `format`: tail takes raw, json and syslog; kafka all. */
enum ttlog__input_format {
	TTLOG__INPUT_FMT_RAW = 0, /* = TTLOG__TAIL_RAW */
	TTLOG__INPUT_FMT_JSON = 1,
	TTLOG__INPUT_FMT_SYSLOG = 2,
	TTLOG__INPUT_FMT_AUTO = 3, /* kafka: the ttlog-format header */
	TTLOG__INPUT_FMT_CBOR = 4,
	TTLOG__INPUT_FMT_TTLOG = 5,
};

/*
 * List options (agent/inputs/input_lists.c). An entry's `paths`,
 * `exclude` and `match` take a string or a list of strings; the option
 * table passes them over (ttlog__input_list_keys is the `skip` argument
 * of ttlog__options_apply()) and these read them.
 */
extern const char *const ttlog__input_list_keys[]; /* NULL-terminated */
struct ttlog__cfg_node;
struct ttlog__diag;
/*
 * Reads entry's `key` into *out: a string gives a list of one, a list of
 * strings gives them in order, an absent key an empty list. An empty
 * string, a map, a nested list, an empty list or more than
 * TTLOG__INPUT_LIST_MAX items are added to d as
 * "FILE:LINE:COL: PATH.KEY[I]: reason" at the node at fault.
 * @param path  the entry's path in errors ("inputs[2]"); borrowed
 * @return 0 (caller frees out with ttlog__input_list_free()), or -1 with
 *         an error added and out empty.
 */
int ttlog__input_list_get(const struct ttlog__cfg_node *entry, const char *key,
			  const char *path, struct ttlog__input_list *out,
			  struct ttlog__diag *d);
void ttlog__input_list_free(struct ttlog__input_list *l);
/* dst = a copy of src; 0, or -1 out of memory (dst empty). */
int ttlog__input_list_copy(struct ttlog__input_list *dst,
			   const struct ttlog__input_list *src);
/* 1 when a and b hold the same strings in the same order, else 0. */
int ttlog__input_list_equal(const struct ttlog__input_list *a,
			    const struct ttlog__input_list *b);
/* All of an entry's list options into o (paths, exclude, match); 0 or -1
 * with errors added to d. ttlog__input_lists_free() frees them (the
 * option table's free does not know them). */
int ttlog__input_lists_read(struct ttlog__input_opts *o,
			    const struct ttlog__cfg_node *entry,
			    const char *path, struct ttlog__diag *d);
void ttlog__input_lists_free(struct ttlog__input_opts *o);
/* The first list option set on o that its type does not take ("paths",
 * "exclude", "match"), or NULL: paths is for tail and journal, exclude
 * for tail, match for journal. */
const char *ttlog__input_list_misplaced(const struct ttlog__input_opts *o);
/* 1 for the types that read a socket (`listen` required), 0 for stdin,
 * tail and journal (`listen` refused). */
int ttlog__input_listens(int type);

/* Counters of one input, read by the HTTP endpoint (writer thread). */
struct ttlog__input_stats {
	uint64_t events;	  /* messages parsed and handed on */
	uint64_t bytes;		  /* bytes read */
	uint64_t malformed;	  /* messages that did not parse (skipped) */
	uint64_t dropped;	  /* datagrams lost: no room, too large */
	uint64_t connections;	  /* open now */
	uint64_t accepted;	  /* connections accepted since start */
	uint64_t refused;	  /* connections over max_connections */
	uint64_t errors;	  /* socket errors */
	int paused;		  /* reading stopped by back-pressure now */
	uint64_t tls_failures;	  /* TLS handshakes that failed */
	uint64_t frames;	  /* ttlog: DATA frames delivered */
	uint64_t dup_frames;	  /* ttlog: resent frames already delivered */
	uint64_t missing_frames;  /* ttlog: gaps in a sender's sequence */
	uint64_t bad_frames;	  /* ttlog: payloads that did not decode */
	uint64_t protocol_errors; /* ttlog: connections closed for them */
	/* ttlog: frames (and their events) a restart left in doubt - handed
	 * on before it, not known to be taken - delivered again when resent:
	 * possible duplicates (docs/durability.md). */
	uint64_t doubt_frames, doubt_events;
	uint64_t state_errors;	/* ttlog: sender state writes that failed */
	uint64_t state_damaged; /* ttlog: damaged slots found at start */
	/* Connections closed by a deadline: no TLS handshake or hello in
	 * hello_timeout, a message not finished in frame_timeout, silent
	 * for idle_timeout. */
	uint64_t hello_timeouts, frame_timeouts, idle_timeouts;
	/* The memory budget (input_budget.c): bytes held now in the
	 * connections' buffers, bytes reserved for large messages, and how
	 * often a connection had to wait for a reservation. */
	uint64_t buffered, reserved, budget_waits;
	/* UDP: datagrams the kernel dropped because the socket's receive
	 * buffer was full (also counted in `dropped`). */
	uint64_t kernel_drops;
	uint64_t refused_peer;	/* connections over max_connections_per_peer */
	uint64_t accept_errors; /* accept() failures (out of descriptors) */
	/* syslog, jsonl: keys a message repeated (the last value kept) */
	uint64_t duplicate_keys;
	/* journal: field values left out of events (not UTF-8, longer
	 * than max_message, past the most fields an event keeps) */
	uint64_t fields_skipped;
	/* tail: files open now, bytes behind their ends, files finished
	 * after a rename or delete, files read again after they shrank,
	 * lines cut at max_line, multiline events cut at max_bytes (and
	 * the lines dropped after such a cut, also in `dropped`), full
	 * rescans after inotify lost events. */
	uint64_t files_watched, lag_bytes, rotations, truncations;
	uint64_t lines_cut, multiline_cut, multiline_dropped, rescans;
	/* kafka: messages read (a ttlog batch is one), messages skipped for
	 * being over max_message (max_frame for ttlog batches; also in
	 * `dropped`), offset commits and failed ones, rebalances,
	 * partitions assigned now; undecodable messages are `malformed`,
	 * the summed lag `lag_bytes`' sibling kafka_lag (messages). */
	uint64_t kafka_messages, kafka_too_large, kafka_commits;
	uint64_t kafka_commit_errors, kafka_rebalances, kafka_assigned;
	uint64_t kafka_lag;
};

struct ttlog__input;
struct ttlog__addr;
struct ssl_ctx_st;
struct ttlog__cfg_node;
struct ttlog__diag;

/*
 * Everything ttlog__input_start() refuses short of binding
 * (inputs/input_check.c): the options, the listen URL and its scheme for
 * the type, the TLS files readable and parseable with the certificate
 * matching the key. Creates nothing (no socket, no file).
 * @param a    NULL, or filled with the parsed listen address
 * @param tls  NULL (the TLS context built is freed), or set to it for a
 *             tls:// input (caller frees with SSL_CTX_free), else NULL
 * @return 0, or TTLOG_EINVAL with the reason in err (the input's name is
 *         not in it: the caller says which input).
 */
int ttlog__input_check(const struct ttlog__input_opts *o, struct ttlog__addr *a,
		       struct ssl_ctx_st **tls, char *err, size_t errlen);
/* The mode, owner and group an input's socket file gets, resolved from
 * its options (inputs/input_perm.c). */
struct ttlog__input_perm {
	int has_mode, has_owner, has_group;
	unsigned mode; /* 0..0777 */
	unsigned uid, gid;
};
/*
 * Resolves o->mode, o->owner and o->group (getpwnam_r, getgrnam_r).
 * @param p    filled (all unset when none is given)
 * @param key  set to the option at fault ("mode", "owner", "group") on
 *             failure; may be NULL
 * @return 0, or TTLOG_EINVAL with err "KEY: reason".
 */
int ttlog__input_perm_resolve(const struct ttlog__input_opts *o,
			      struct ttlog__input_perm *p, const char **key,
			      char *err, size_t errlen);

/* The same at load time: records o->where from entry and adds a failure
 * to d as "FILE:LINE:COL: PATH (NAME): reason". Returns 0 or -1. */
int ttlog__input_check_at(struct ttlog__input_opts *o,
			  const struct ttlog__cfg_node *entry, const char *path,
			  struct ttlog__diag *d);

/*
 * Writer thread: opens the input (binds its socket, or reads stdin) on
 * base; events go to w through ttlog__host_ingest() with `id` as their
 * source id.
 * @return 0, or a negative error with the reason in err ("tcp://...:
 *         Address already in use").
 */
int ttlog__input_start(struct event_base *base, struct ttlog__writer *w,
		       const struct ttlog__input_opts *o, uint32_t id,
		       struct ttlog__input **out, char *err, size_t errlen);
/*
 * Writer thread: ttlog__input_start() in two steps, for a reload that must
 * be able to give up. prepare checks the options, builds the TLS context
 * and binds the socket (connections wait in the kernel's backlog, stdin is
 * not read); enable starts accepting and reading. A prepared input that is
 * never enabled is undone with ttlog__input_remove().
 */
int ttlog__input_prepare(struct event_base *base, struct ttlog__writer *w,
			 const struct ttlog__input_opts *o, uint32_t id,
			 struct ttlog__input **out, char *err, size_t errlen);
void ttlog__input_enable(struct ttlog__input *in);
/* Writer thread: stops accepting, parses what is already buffered and
 * what senders still have on the wire (up to 2 s in all: shutdown),
 * closes everything and frees the input. */
void ttlog__input_stop(struct ttlog__input *in);
/* Writer thread: the same without waiting for more (a reload that removed
 * the input): what the sockets hold now is parsed, the rest is not read. */
void ttlog__input_remove(struct ttlog__input *in);

/*
 * What makes an input the same one across a reload: its socket. "tcp" for
 * tcp:// and tls:// (one listening socket, TLS is per connection), "udp",
 * "unix" or "stdin", then the host and port or the path, into key.
 * @return 0, or -1 when o's address does not parse (no key: a new input).
 */
int ttlog__input_key(const struct ttlog__input_opts *o, char *key,
		     size_t keylen);

/* A reload's changes to a running input, checked and built (TLS context)
 * before anything is applied. */
struct ttlog__input_update;
/*
 * Writer thread: checks o as the new options of in (same key) and builds
 * what they need.
 * @return 0 with *out (apply or free it), or a negative error with the
 *         reason in err; what in does is not changed either way.
 */
int ttlog__input_update_prepare(struct ttlog__input *in,
				const struct ttlog__input_opts *o,
				struct ttlog__input_update **out, char *err,
				size_t errlen);
/* Writer thread: applies u to in and frees u. Cannot fail. */
void ttlog__input_update_apply(struct ttlog__input *in,
			       struct ttlog__input_update *u);
void ttlog__input_update_free(struct ttlog__input_update *u);
/*
 * After ttlog_shutdown() (any thread, the writer gone): the journal
 * inputs stopped at shutdown save the cursor of the last entry they
 * handed on when delivered is non-zero (no listener lost an event at
 * shutdown), so that a clean restart reads nothing twice; else their
 * durable cursors, saved at stop, stand. (input_journal.c)
 */
void ttlog__journal_after_shutdown(int delivered);
/* Writer thread: the listeners have taken every batch up to dispatch
 * number `taken` (ttlog__host_on_taken()); a ttlog input sends the ACKs
 * that waited for it. */
void ttlog__input_taken(struct ttlog__input *in, uint64_t taken);
/* Writer thread: calls fn once per file a tail input has open, with its
 * path and the bytes not yet read (size - offset at the last look), at
 * most TTLOG__INPUT_FILE_LAGS files; other types call nothing. Returns
 * the files left out past that number. */
#define TTLOG__INPUT_FILE_LAGS 256
size_t ttlog__input_file_lags(const struct ttlog__input *in,
			      void (*fn)(void *arg, const char *path,
					 uint64_t lag),
			      void *arg);
/* Writer thread: calls fn once per partition a kafka input has assigned,
 * with its topic, number and the messages not yet read (the high
 * watermark librdkafka last saw minus the position; -1 unknown), at most
 * TTLOG__INPUT_FILE_LAGS partitions; other types call nothing. Returns
 * the partitions left out past that number. */
size_t ttlog__input_partition_lags(const struct ttlog__input *in,
				   void (*fn)(void *arg, const char *topic,
					      int32_t partition, int64_t lag),
				   void *arg);
void ttlog__input_get_stats(const struct ttlog__input *in,
			    struct ttlog__input_stats *out);
/* The option table of the `inputs:` entries (name, type, listen, ...). */
struct ttlog__option_table;
extern const struct ttlog__option_table ttlog__input_table;

/* ---- what the HTTP endpoint reports ---- */

/* ttlog-agent's keys in the service section (service_opts.c), claimed
 * through ttlog__pipeline_build(); the filled struct is the pipeline's
 * `claimed`. */
struct ttlog__agent_service {
	char *http_listen; /* NULL: no HTTP endpoint */
	uint64_t unhealthy_after_ms;
	char *user;
	uint64_t shutdown_timeout_ms;
	char *state_dir; /* NULL: inputs keep no state across restarts */
	int64_t http_max_connections;	       /* HTTP: open at most */
	int64_t http_max_connections_per_peer; /* HTTP: per address; 0 none */
};
struct ttlog__cfg_claims;
extern const struct ttlog__cfg_claims ttlog__agent_claims;

/* Times are CLOCK_REALTIME nanoseconds. */
struct ttlog__agent_view {
	/* The library's writer (host_internal.h): the HTTP endpoint reads
	 * the listeners' own figures through it. */
	struct ttlog__writer *writer;
	const char *version;
	const char *service;
	uint64_t start_time_ns;
	uint64_t reloads, reload_errors;
	size_t ninputs;
	const char *const *input_names;
	const char *const *input_types; /* ttlog__input_type_name() */
	struct ttlog__input *const *inputs;
	size_t nlisteners;
	const char *const *listener_names;
	/* A listener is failing while it drops batches with errors or holds
	 * back a backlog; since when (0: fine). Kept by the agent. */
	const uint64_t *listener_failing_since_ns;
	uint64_t unhealthy_after_ms; /* service.http.unhealthy_after */
	/* The HTTP endpoint's own counters (NULL: no endpoint). */
	const struct ttlog__http_stats *http;
};

struct ttlog__http;

/* The HTTP endpoint's connections (writer thread). */
struct ttlog__http_stats {
	uint64_t connections;	   /* open now */
	uint64_t accepted;	   /* since start */
	uint64_t refused_total;	   /* over http.max_connections */
	uint64_t refused_per_peer; /* over http.max_connections_per_peer */
	uint64_t refused_fds;	   /* shed while out of descriptors */
	uint64_t accept_errors;	   /* accept() failures */
};

/*
 * Writer thread: serves GET /health and GET /metrics on `listen`
 * ("127.0.0.1:2020"). view is borrowed and read at each request (the agent
 * keeps it current).
 */
/* What ttlog__http_start() refuses of `listen` short of binding it:
 * 0, or TTLOG_EINVAL with the reason in err. */
int ttlog__http_check_listen(const char *listen, char *err, size_t errlen);
int ttlog__http_start(struct event_base *base, const char *listen,
		      const struct ttlog__agent_view *view,
		      struct ttlog__http **out, char *err, size_t errlen);
void ttlog__http_stop(struct ttlog__http *h);
/* Writer thread: points the endpoint at another view (after a reload). */
void ttlog__http_set_view(struct ttlog__http *h,
			  const struct ttlog__agent_view *view);
/* The defaults of service.http.max_connections and
 * .max_connections_per_peer, which a new endpoint starts with. */
#define TTLOG__HTTP_MAX_CONNECTIONS 64
#define TTLOG__HTTP_MAX_CONNECTIONS_PER_PEER 8
/* Writer thread: caps for the connections accepted from now on (<= 0: no
 * limit); the open ones are kept. */
void ttlog__http_set_limits(struct ttlog__http *h, int64_t max_connections,
			    int64_t max_per_peer);
/* The endpoint's counters; valid until ttlog__http_stop(). */
const struct ttlog__http_stats *
ttlog__http_get_stats(const struct ttlog__http *h);

struct ttlog__buf;
/* The Prometheus text exposition and the health JSON, as pure functions
 * over the view and ttlog_stats()/ttlog_listener_stats(), for tests.
 * health returns the HTTP status (200 or 503). */
int ttlog__metrics_render(const struct ttlog__agent_view *v,
			  struct ttlog__buf *out);
int ttlog__health_render(const struct ttlog__agent_view *v, uint64_t now_ns,
			 struct ttlog__buf *out);

/* ttlog-agent --health: GET /health from HOST:PORT within timeout_ms;
 * prints the body; returns 0 (status 200), 1 (anything else, said on
 * stderr) or 2 (HOST:PORT malformed). health_check.c. */
int ttlog__agent_health_check(const char *hostport, int timeout_ms);

#endif /* TTLOG_AGENT_INTERNAL_H */
