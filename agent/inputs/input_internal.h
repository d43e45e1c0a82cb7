/*
 * input_internal.h - the state of one agent input, shared by its files:
 * input.c (options, start and stop, message handling), input_update.c
 * (the same input across a reload), input_stream.c
 * (TCP, unix and stdin connections, framing, back-pressure),
 * input_dgram.c (UDP and unix datagrams) and input_perm.c (the mode,
 * owner and group of a unix socket file). Everything runs on the writer
 * thread.
 */
#ifndef TTLOG_INPUT_INTERNAL_H
#define TTLOG_INPUT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "accept_guard.h"
#include "agent_internal.h"
#include "host_internal.h"
#include "origin_internal.h"
#include "ratelimit.h"
#include "peer_table.h"

struct bufferevent;
struct evconnlistener;
struct event;
struct ssl_ctx_st;
struct ttlog__wire_scratch;
struct ttlog__addr;
struct ttlog__tail;
struct ttlog__kafka;

/* How long a stop at shutdown waits for what senders still have on the
 * wire (all connections together). A reload does not wait. */
#define TTLOG__INPUT_STOP_WAIT_MS 2000

/* The forms a `listen` address may take (common/addr.h). Port 0 ("any
 * free port") is refused: the agent reports no bound port, so nothing
 * could find such a listener. */
#define TTLOG__INPUT_LISTEN_FORMS                                              \
	(TTLOG__ADDR_ALLOW_TCP | TTLOG__ADDR_ALLOW_TLS |                       \
	 TTLOG__ADDR_ALLOW_UDP | TTLOG__ADDR_ALLOW_UNIX |                      \
	 TTLOG__ADDR_ALLOW_UNIXGRAM)

/* What an unacknowledged input (syslog, jsonl, stdin) has read reaches the
 * listeners when a read empties its socket, and otherwise once the oldest
 * event read has waited this long (docs/durability.md). */
#define TTLOG__UNACKED_MAX_WAIT_NS 2000000u

/* input.c: called after each read of an unacknowledged input from fd (-1:
 * the connection is ending). Their senders get no acknowledgement, so
 * what was read is handed to the listeners soon rather than at the end of
 * the writer's cycle (flush_interval): at once when fd has nothing more
 * to read (the sender paused or is done), else once the oldest event read
 * has waited TTLOG__UNACKED_MAX_WAIT_NS. A SIGKILL then costs what the
 * kernel still buffers plus at most that much of a steady stream. (Handing
 * on every read made batches of a few dozen events and cost a relay 1.8
 * times the CPU.) */
void ttlog__input_hand_on(struct ttlog__input *in, int fd);

/* One stream connection (a TCP or unix peer, or stdin). */
struct ttlog__input_conn {
	struct ttlog__input *in;
	struct bufferevent *bev;
	struct ttlog__input_conn *prev, *next;
	/* Bytes left in the input buffer after the last parse, so that
	 * stats.bytes counts each byte once. */
	size_t kept;
	/* stdin only: skipping the rest of a line over max_message. */
	int discard;
	char peer[80]; /* "127.0.0.1:40312", "[::1]:40312", "unix uid 1000 pid
			* 4321", "stdin" */
	/* The subject of its verified TLS client certificate ("" when none),
	 * for the events' origin. */
	char peer_id[256];
	/* TLS: the connection speaks it (it was accepted while the input had
	 * a TLS context; a reload may change that for later ones) and the
	 * handshake finished (errors before it are TLS failures). */
	int tls;
	int tls_done;
	int lingering; /* closing once the output is written */
	/* ttlog inputs (input_native.c) */
	int nstate; /* enum ttlog__native_state */
	int sender; /* index into in->senders, or -1 before the hello */
	uint64_t last_rx_ms;
	/* ACKs owed, oldest first: each frame's seq and the dispatch number
	 * of the batch that holds its events (sent once that is taken). */
	struct ttlog__native_ack {
		uint64_t seq, no;
	} * acks;
	size_t ack_head, ack_len, ack_cap;
	/* The memory budget and deadlines (input_budget.c). */
	uint64_t accepted_ms; /* CLOCK_MONOTONIC */
	uint64_t partial_ms;  /* when the message now incomplete began; 0 */
	size_t reserved;      /* bytes reserved from in->reserved */
	uint64_t waiting;     /* waits for a reservation since (tick); 0 */
	size_t want;	      /* the reservation it waits for */
	size_t mark;	      /* its read watermark now */
	int greeted;	      /* TLS handshake and hello done */
	int proven;	      /* a whole message arrived on it */
	/* Its peer in in->peers (counted: 1), for max_connections_per_peer. */
	struct ttlog__peer_key pkey;
	int counted;
};

/* A sender of the native protocol, known by its instance id: the highest
 * seq delivered, so that frames resent after a reconnect are dropped. */
struct ttlog__native_sender {
	uint8_t id[16];
	/* Every frame up to it is taken by the listeners (acknowledged, and
	 * saved in the state file): announced in our hello. */
	uint64_t last_seq;
	/* The highest frame handed to the listeners, and the dispatch number
	 * of its batch: a frame up to it that is sent again is not delivered
	 * again, only acknowledged once that batch is taken. */
	uint64_t accepted_seq, accepted_no;
	/* After a restart: frames up to it were handed on before the crash
	 * but not known to be taken; if sent again they are delivered again
	 * and counted as possible duplicates. 0: none. */
	uint64_t doubt_to;
	uint64_t used; /* tick of last use, for eviction */
	int live;
};

#define TTLOG__NATIVE_SENDERS 4096

struct ttlog__input {
	struct event_base *base;
	struct ttlog__writer *writer; /* where events go */
	char *name;		      /* owned copies of the options' strings */
	char *listen;		      /* NULL for stdin */
	int type;		      /* enum ttlog__input_type */
	size_t max_message;
	int64_t max_connections; /* <= 0: no limit */
	uint64_t idle_timeout_ms;
	uint64_t pause_backlog; /* 0: never pause */
	size_t max_buffer;
	uint64_t hello_timeout_ms, frame_timeout_ms; /* 0: none */
	size_t reserved;     /* bytes reserved by connections, in all */
	uint64_t wait_tick;  /* orders the connections waiting for it */
	size_t trim_from;    /* bytes held when the last trim was due */
	struct event *sweep; /* the deadlines, checked each second */
	uint32_t id;
	int enabled; /* accepting and reading (ttlog__input_enable()) */

	struct evconnlistener *lis; /* stream inputs */
	struct ttlog__input_conn *conns;
	struct event *resume; /* back-pressure timer */

	int ufd;	   /* UDP socket, or -1 */
	struct event *uev; /* its read event */
	char *dgram;	   /* receive buffer, max_message + 1 bytes */

	char *unix_path; /* the socket file we created, unlinked at stop */
	dev_t unix_dev;
	ino_t unix_ino;
	/* Its mode, owner and group as configured (input_perm.c), and the
	 * mode it was given. */
	struct ttlog__input_perm perm;
	unsigned perm_mode;
	int unixgram; /* unixgram://: the datagram socket is a unix one */

	int stdin_flags; /* fd 0's file status flags before we changed them */

	struct ttlog__scratch scratch; /* reused by every parse */
	/* The origins of its events (host and service as each message
	 * names them, this input, the peer) and the TLS subject of the
	 * connection whose messages are being parsed (NULL: none). */
	struct ttlog__origin_cache origins;
	const char *cur_peer_id;

	struct ssl_ctx_st *tls; /* tls:// inputs */
	size_t max_frame;	/* ttlog inputs */
	uint64_t window;
	uint8_t instance_id[16];	      /* announced in our hello */
	struct ttlog__native_sender *senders; /* TTLOG__NATIVE_SENDERS */
	uint64_t sender_tick;
	/* The sender table on disk (native_state.c); -1 without state_dir. */
	int state_fd;
	char *state_path;
	struct event *state_sync; /* fdatasync at most once a second */
	int state_sync_armed, state_dirty, state_failing;
	struct ttlog__wire_scratch *wscratch;
	struct ttlog__input_stats st;

	/* At most one warning a second each (ratelimit.h): "input closed
	 * a connection", "input dropped a message" and "input kept the last
	 * of repeated keys". */
	struct ttlog__ratelimit warn_rl, drop_rl, dup_rl;

	/* UDP: the receive buffer asked for (SO_RCVBUF; 0: the default) and
	 * the socket's drop counter (SO_MEMINFO) when last read, with the
	 * drops not yet logged and when they were last logged. */
	uint64_t receive_buffer;
	uint32_t kdrops_seen;
	int kdrops_unknown; /* the kernel does not report them */
	uint64_t kdrops_unlogged, kdrops_log_ns;
	/* Stream inputs: open connections per peer address, and accept
	 * errors paused with back-off (agent/net/). */
	int64_t max_per_peer; /* <= 0: no limit */
	struct ttlog__peer_table peers;
	struct ttlog__accept_guard guard;
	/* type journal: its handles and positions (input_journal.c) */
	struct ttlog__journal *journal;
	struct ttlog__tail *tail;   /* tail inputs (tail_internal.h) */
	struct ttlog__kafka *kafka; /* kafka inputs (input_kafka.h) */
};

/* input.c: parses one message and hands it to ttlog__ingest(), counting
 * it; msg is borrowed for the call. peer ("127.0.0.1:40312", "udp",
 * "stdin"), borrowed, names the sender in the warning a message that does
 * not parse gets (ttlog__input_drop_warn()). */
void ttlog__input_message(struct ttlog__input *in, const char *peer,
			  const char *msg, size_t len);
/* The same with the format given as an input type (TTLOG__INPUT_SYSLOG,
 * _JSONL; any other: the line is the message, from this host and the
 * agent's service) and truncated: the event is flagged as cut. */
void ttlog__input_message_as(struct ttlog__input *in, int format,
			     const char *peer, const char *msg, size_t len,
			     int truncated);
/* input.c: takes the string field `key` out of ev's fields into *out
 * (left as it is when there is none); for origins a message names. */
void ttlog__input_take_field(struct ttlog__in_event *ev, const char *key,
			     struct ttlog__origin_str *out);
/* input.c: logs "input dropped a message" with the input, the peer, the
 * reason and the first 64 bytes of the message (escaped), at most once a
 * second per input; the rest are counted and reported with the next one
 * as "suppressed". Counts nothing: the caller has. All borrowed. */
void ttlog__input_drop_warn(struct ttlog__input *in, const char *peer,
			    const char *why, const char *msg, size_t len);
/* input.c: logs "input closed a connection" (peer, reason) through the
 * library, at most once a second per input; the rest are counted and
 * reported with the next one as "suppressed". A connection refused at
 * accept counts as closed too. */
void ttlog__input_warn(struct ttlog__input *in, const char *peer,
		       const char *why);

/* input_stream.c. The listener of a stream input starts disabled:
 * ttlog__input_stream_enable() accepts (and reads stdin). */
int ttlog__input_stream_start(struct ttlog__input *in, int fd, char *err,
			      size_t errlen);
int ttlog__input_stdin_start(struct ttlog__input *in, char *err, size_t errlen);
void ttlog__input_stream_enable(struct ttlog__input *in);
/* Applies the input's (changed) max_message, max_frame, idle_timeout and
 * pause_backlog to the connections already open. */
void ttlog__input_stream_update(struct ttlog__input *in);
/* Reads and parses what each connection holds, waiting up to wait_ms in
 * all for what is still arriving (0: only what is there now), then
 * closes them all. */
void ttlog__input_conns_finish(struct ttlog__input *in, unsigned wait_ms);
/* Stops accepting (taking the connections the kernel already completed),
 * then ttlog__input_conns_finish(in, wait_ms). */
void ttlog__input_stream_stop(struct ttlog__input *in, unsigned wait_ms);

/* input_stream.c: a TLS connection whose reading may go on reads what
 * OpenSSL already holds (libevent would wait for the socket). */
void ttlog__input_conn_kick(struct ttlog__input_conn *c);
/* input_stream.c: a connection on fd (bufferevent options: options),
 * linked into the input and reading if the input is; NULL when out of
 * memory (fd is then the caller's to close). */
struct ttlog__input_conn *ttlog__input_conn_new(struct ttlog__input *in, int fd,
						int options);
/* input_accept.c: the listener of a stream input on fd (taken: closed on
 * failure), disabled until ttlog__input_stream_enable(); stop accepts
 * what waits in the kernel's backlog (see accept_backlog()) and frees
 * it. */
int ttlog__input_accept_start(struct ttlog__input *in, int fd, char *err,
			      size_t errlen);
void ttlog__input_accept_stop(struct ttlog__input *in);
/* input_stream.c: frees a connection (and closes it). */
void ttlog__input_conn_free(struct ttlog__input_conn *c);
/* input_stream.c: stops reading; frees the connection once its output is
 * written, or after ms. */
void ttlog__input_conn_linger(struct ttlog__input_conn *c, unsigned ms);

/* input_budget.c: the memory an input's connections hold, and their
 * deadlines (docs/network-exposure.md).
 *
 * A connection may hold TTLOG__CONN_FREE_BYTES of an incomplete message
 * without asking. A larger message first reserves its size (known from a
 * frame header, else max_message) from the input's max_buffer; without a
 * reservation the connection reads no further until one is free. So the
 * input holds at most max_buffer + connections * (TTLOG__CONN_FREE_BYTES +
 * TTLOG__CONN_READ_BYTES): the read watermark leaves room for one read
 * past what a connection may hold, so that a stream that keeps up never
 * reaches it (reaching it stops and restarts reading: two epoll_ctl
 * calls each time).
 * Connections that already delivered a message are served first: a crowd
 * of peers that never finish one cannot keep a sender's frame waiting
 * for longer than frame_timeout. */
#define TTLOG__CONN_FREE_BYTES ((size_t)16 << 10)
/* The most one read of a connection takes (bufferevent's single read). */
#define TTLOG__CONN_READ_BYTES ((size_t)16 << 10)
/* Starts the input's deadline sweep (stream inputs but stdin). */
int ttlog__input_budget_start(struct ttlog__input *in, char *err,
			      size_t errlen);
void ttlog__input_budget_stop(struct ttlog__input *in);
/* At accept. */
void ttlog__input_budget_accepted(struct ttlog__input_conn *c);
/* After each read and parse: `held` bytes of an incomplete message stay
 * in the buffer (0: none), whose whole size is `need` (0: unknown, at
 * most max_message); `progress`: a whole message was taken this time.
 * Sets the read watermark, reserving or releasing. */
void ttlog__input_budget_after_read(struct ttlog__input_conn *c, size_t held,
				    size_t need, int progress);
/* A connection closes: its reservation goes back. */
void ttlog__input_budget_conn_free(struct ttlog__input_conn *c);
/* Bytes the input's connections hold in their buffers now. */
size_t ttlog__input_budget_held(const struct ttlog__input *in);
/* Bytes the connection's buffer may hold now. */
size_t ttlog__input_budget_watermark(const struct ttlog__input_conn *c);

/* input_native.c: the native protocol on one connection */
/* Also opens the sender state file in state_dir (NULL: none). */
int ttlog__native_init(struct ttlog__input *in, const char *state_dir,
		       char *err, size_t errlen);
void ttlog__native_accepted(struct ttlog__input_conn *c);
/* Reads what the connection's input holds; -1 when it must be closed
 * (already reported; a CLOSE may be on its way out). */
int ttlog__native_read(struct ttlog__input_conn *c);
/* Sends the ACKs whose batches are taken (every batch up to dispatch
 * number `taken`), after saving the senders' progress. */
void ttlog__native_taken(struct ttlog__input *in, uint64_t taken);
/* A deadline passed: sends CLOSE with `why` to a sender past its hello
 * (it can read it), else just closes. */
void ttlog__native_expire(struct ttlog__input_conn *c, const char *why);
/* Frees what a connection owes (ACKs not sent: the sender resends). */
void ttlog__native_conn_free(struct ttlog__input_conn *c);

/* native_state.c: the sender table on disk, STATE_DIR/input-NAME.senders
 * (no file when dir is NULL). open() loads it into in->senders; put()
 * writes slot k; close() syncs and closes. */
int ttlog__native_state_open(struct ttlog__input *in, const char *dir,
			     char *err, size_t errlen);
void ttlog__native_state_put(struct ttlog__input *in, size_t k);
void ttlog__native_state_close(struct ttlog__input *in);
void ttlog__native_free(struct ttlog__input *in);

/* input_perm.c: the socket file's mode, owner and group (in->perm).
 * before_bind narrows the socket fd to the owner's bits of the final mode
 * (Linux creates the file with them); after_bind sets the owner and group,
 * then the final mode. Both 0 or -1 (after_bind with err filled, naming
 * the path and, for EPERM, why). */
int ttlog__input_perm_before_bind(struct ttlog__input *in, int fd);
int ttlog__input_perm_after_bind(struct ttlog__input *in, char *err,
				 size_t errlen);
/* Reload: whether p can be applied to the socket file by the agent as it
 * runs now (not root: its own file, its own groups), 0 or -1 with err. */
int ttlog__input_perm_check_change(const struct ttlog__input *in,
				   const struct ttlog__input_perm *p, char *err,
				   size_t errlen);
/* Reload: applies p to the existing socket file if it changed (open
 * connections are kept); a failure is logged and counted in errors. */
void ttlog__input_perm_update(struct ttlog__input *in,
			      const struct ttlog__input_perm *p);

/* input_dgram.c */
int ttlog__input_dgram_start(struct ttlog__input *in, int fd, char *err,
			     size_t errlen);
void ttlog__input_dgram_enable(struct ttlog__input *in);
void ttlog__input_dgram_stop(struct ttlog__input *in);
/* Asks the kernel for in->receive_buffer (after a reload changed it). */
void ttlog__input_dgram_update(struct ttlog__input *in);

/* input_update.c: FNV-1a of s and its terminating NUL on top of h, for
 * the reload keys of inputs known by their options (tail, kafka). */
uint64_t ttlog__input_key_hash(uint64_t h, const char *s);
/* input_update.c: "KIND HASH NAME" into key; 0, or -1 when it is cut. */
int ttlog__input_key_put(char *key, size_t keylen, const char *kind, uint64_t h,
			 const char *name);

/* input.c: CLOCK_MONOTONIC in nanoseconds, for rate limits. */
uint64_t ttlog__input_now_ns(void);

#endif /* TTLOG_INPUT_INTERNAL_H */
