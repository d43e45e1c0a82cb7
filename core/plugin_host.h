/*
 * plugin_host.h - the struct ttlog_host a listener of ABI 1.2 gets
 * (core/plugin_host.c), and the writer's calls into a listener's create,
 * start and destroy that pick the 1.2 or the older callbacks.
 */
#ifndef TTLOG_PLUGIN_HOST_H
#define TTLOG_PLUGIN_HOST_H

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

struct event_base;
struct ttlog__listener;
struct ttlog__plugin_host;

/* A host for the listener called `name` (copied). Its log works at once;
 * timers and watches once ttlog__plugin_host_set_base() gave it a loop.
 * Freed with ttlog__plugin_host_free(). NULL when out of memory. */
struct ttlog__plugin_host *ttlog__plugin_host_new(const char *name);
/* The listener's configured name, owned by the host (valid until
 * ttlog__plugin_host_free). */
const char *ttlog__plugin_host_name(const struct ttlog__plugin_host *h);
/* Frees the host and whatever timers and watches the listener left. NULL
 * is ignored. Only after the listener's destroy() returned. */
void ttlog__plugin_host_free(struct ttlog__plugin_host *h);
/* The public face handed to the listener; borrowed from h. */
const struct ttlog_host *ttlog__plugin_host_api(struct ttlog__plugin_host *h);
/* The loop timers and watches go on (the writer's). */
void ttlog__plugin_host_set_base(struct ttlog__plugin_host *h,
				 struct event_base *base);

/* Once a second on the writer thread: says the count of a run of
 * identical log lines that stopped or has gone on for a while. */
void ttlog__plugin_host_tick(struct ttlog__plugin_host *h);
/* Tests: the monotonic clock (ns) the log's bounds use; NULL: the real
 * one. */
void ttlog__plugin_host_set_clock(struct ttlog__plugin_host *h,
				  uint64_t (*now)(void *), void *arg);
/* How often the listener wants flush() (ms, 0: never on the timer); the
 * default for NULL (a listener without a host). */
uint64_t ttlog__plugin_host_flush_ms(const struct ttlog__plugin_host *h);
/* Timer and watch callbacks of the listener that the writer's watchdog
 * reported as holding the thread too long; 0 for NULL. */
uint64_t ttlog__plugin_host_stalls(const struct ttlog__plugin_host *h);
/* The events the listener reported lost (lost()) since the last call,
 * and its last reason (copied into reason); resets the count. 0 for
 * NULL. */
uint64_t ttlog__plugin_host_take_lost(struct ttlog__plugin_host *h,
				      char *reason, size_t len);

/* The batches the listener took and has not confirmed durable, when it
 * called defer_durable() (durable_internal.h); NULL otherwise or for a
 * NULL host. */
struct ttlog__durable_fifo *
ttlog__plugin_host_durable(struct ttlog__plugin_host *h);

/* Non-zero for a table whose create2/start2 may be read. */
int ttlog__api_has_1_2(const struct ttlog_listener_api *api);

/* Calls create2() with a new host, or create(); l->api and l->name are
 * set. On failure the listener is reported by name (host log and
 * ttlog__listener_failure()) and nothing is left to free. Returns 0 or
 * TTLOG_ELISTENER or TTLOG_ENOMEM. */
int ttlog__listener_call_create(struct ttlog__listener *l, const void *options);
/* Calls start2() or start(state, base); on failure reports the listener
 * by name. Returns 0 or TTLOG_ELISTENER. */
int ttlog__listener_call_start(struct ttlog__listener *l,
			       struct event_base *base);
/* Calls destroy() (when the listener was created) and frees the host.
 * Returns the events the listener reported lost through its host (until
 * and during destroy()), with its reason copied into reason. */
uint64_t ttlog__listener_call_destroy(struct ttlog__listener *l, char *reason,
				      size_t len);

#endif /* TTLOG_PLUGIN_HOST_H */
