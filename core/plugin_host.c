/*
 * plugin_host.c - the host a listener of ABI 1.2 talks to (struct
 * ttlog_host): its name, a rate-limited log that names it, and timers and
 * fd watches on the writer's loop, so that a plugin depends on this
 * library's ABI and not on libevent's. Also the writer's calls into a
 * listener's create, start and destroy, which choose between the 1.2
 * callbacks and the older ones, and remember which listener failed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock_internal.h"
#include "durable_internal.h"
#include "host_internal.h"
#include "lib_internal.h"
#include "plugin_host.h"
#include "nbwrite.h"
#include "writer_internal.h"

/* The log's bound: LOG_BURST lines per listener in any LOG_WINDOW_NS. A
 * burst rather than one line a second, because a failure and its end
 * ("write failed", "writing again") often come within the same second and
 * both matter; a listener failing on every batch still costs at most ten
 * lines a second, also when its reports land in its own failing output. */
#define LOG_BURST 10
#define LOG_WINDOW_NS 1000000000ull

/* A line identical to the one before it (same level, text and detail) is
 * not printed again: it is counted, and the count is said every
 * REPEAT_EVERY_NS while it goes on, and once more when it stops (no
 * repeat for REPEAT_QUIET_NS, or a different line). A disk that is full
 * fails every write the same way; the first line says what, the counts
 * say how long, and other lines stay visible between them. */
#define REPEAT_EVERY_NS 5000000000ull
#define REPEAT_QUIET_NS 2000000000ull

/* The periodic flush() when the listener does not choose (flush_every). */
#define FLUSH_EVERY_MS 1000u

struct ttlog_host_timer {
	struct ttlog__plugin_host *h;
	struct event *ev;
	ttlog_host_timer_fn fn;
	void *arg;
	struct ttlog_host_timer *prev, *next;
};

struct ttlog_host_watch {
	struct ttlog__plugin_host *h;
	struct event *ev;
	int fd;
	ttlog_host_watch_fn fn;
	void *arg;
	struct ttlog_host_watch *prev, *next;
};

struct ttlog__plugin_host {
	struct ttlog_host pub; /* first: the listener's pointer is ours */
	char *name;
	struct event_base *base;
	pthread_mutex_t mu; /* the log's bound: create2 runs elsewhere */
	uint64_t window_ns;
	unsigned window_lines;
	uint64_t suppressed;
	/* The last line printed, and its repeats not yet said (under mu). */
	char last[900];
	int last_level;
	uint64_t repeats, repeat_since_ns, repeat_seen_ns;
	uint64_t (*now)(void *);
	void *now_arg;
	/* What the listener said it gave up on (lost()), writer thread. */
	uint64_t lost;
	char lost_reason[128];
	uint64_t flush_ms;
	/* Timer and watch callbacks the watchdog reported. */
	_Atomic uint64_t stalls;
	struct ttlog_host_timer *timers;
	struct ttlog_host_watch *watches;
	/* The last error it reported, "msg: detail": the reason a failed
	 * create or start is reported with. */
	char last_error[512];
	/* ABI 1.4: batches taken and not confirmed durable yet. */
	struct ttlog__durable_fifo dur;
};

/* The last listener that failed to be created or started: the whole
 * line, and its name and reason apart. */
static char failure[1024], failure_name[128], failure_reason[768];

const char *ttlog__listener_failure(void)
{
	return failure;
}

void ttlog__listener_failure_parts(const char **name, const char **reason)
{
	*name = failure_name;
	*reason = failure_reason;
}

static struct ttlog__plugin_host *of(const struct ttlog_host *pub)
{
	return (struct ttlog__plugin_host *)(uintptr_t)pub;
}

/* ------------------------------------------------------------------ */
/* Log                                                                  */
/* ------------------------------------------------------------------ */

/* The event through the library's own log. The message is a constant
 * (a call site is static); what the listener said is in the fields. */
#define HOST_EVENT(lvl)                                                        \
	TTLOG__LOG(lvl, "listener report", TTLOG_KV("listener", name),         \
		   TTLOG_KV("report", msg), TTLOG_KV("detail", detail),        \
		   TTLOG_KV("suppressed", suppressed))

static void log_event(int level, const char *name, const char *msg,
		      const char *detail, uint64_t suppressed)
{
	switch (level) {
	case TTLOG_LEVEL_TRACE:
		HOST_EVENT(TTLOG_LEVEL_TRACE);
		break;
	case TTLOG_LEVEL_DEBUG:
		HOST_EVENT(TTLOG_LEVEL_DEBUG);
		break;
	case TTLOG_LEVEL_INFO:
		HOST_EVENT(TTLOG_LEVEL_INFO);
		break;
	case TTLOG_LEVEL_WARN:
		HOST_EVENT(TTLOG_LEVEL_WARN);
		break;
	case TTLOG_LEVEL_ERROR:
		HOST_EVENT(TTLOG_LEVEL_ERROR);
		break;
	default:
		HOST_EVENT(TTLOG_LEVEL_FATAL);
		break;
	}
}

/* Counts the line against the bound; returns 0 when it is to be left out,
 * else 1 with *suppressed set to the count left out before it. */
static int log_admit(struct ttlog__plugin_host *h, uint64_t now,
		     uint64_t *suppressed)
{
	int ok;

	if (h->window_lines == 0 || now - h->window_ns >= LOG_WINDOW_NS) {
		h->window_ns = now;
		h->window_lines = 0;
	}
	ok = h->window_lines < LOG_BURST;
	if (ok) {
		h->window_lines++;
		*suppressed = h->suppressed;
		h->suppressed = 0;
	} else {
		h->suppressed++;
	}
	return ok;
}

static uint64_t host_now(struct ttlog__plugin_host *h)
{
	return h->now != NULL ? h->now(h->now_arg)
			      : ttlog__clock_ts_ns(CLOCK_MONOTONIC);
}

/* One line to standard error, "ttlog: listener NAME: TEXT[ (more)]". */
static void print_line(const char *name, const char *text, const char *more)
{
	char line[1200];
	int n = snprintf(line, sizeof(line), "ttlog: listener %s: %s%s\n", name,
			 text, more);

	if (n > (int)sizeof(line) - 1) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* Without blocking: standard error may be a pipe nobody reads,
	 * and this runs on the writer thread. */
	if (n > 0 &&
	    ttlog__nbw_write_once(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to say it; the event still goes. */
	}
}

/* Says how often the last line repeated since it was last said, and
 * starts counting again. Under h->mu; the caller prints *out (when
 * non-empty) after unlocking. */
static void repeat_note(struct ttlog__plugin_host *h, uint64_t now, char *out,
			size_t len, int *level, uint64_t *count)
{
	uint64_t secs =
		(now - h->repeat_since_ns + 500000000ull) / 1000000000ull;

	out[0] = 0;
	if (h->repeats == 0)
		return;
	snprintf(out, len, " (repeated %llu times in the last %llus)",
		 (unsigned long long)h->repeats,
		 (unsigned long long)(secs ? secs : 1));
	*level = h->last_level;
	*count = h->repeats;
	h->repeats = 0;
	h->repeat_since_ns = now;
}

static void repeat_say(struct ttlog__plugin_host *h, const char *text,
		       const char *note, int level, uint64_t count)
{
	if (level >= TTLOG_LEVEL_INFO)
		print_line(h->name, text, note);
	log_event(level, h->name, "repeated", text, count);
}

TTLOG__PRINTF(4, 5)
static void host_log(const struct ttlog_host *pub, int level, const char *msg,
		     const char *fmt, ...)
{
	struct ttlog__plugin_host *h = of(pub);
	char detail[768] = "", text[900], more[64] = "", note[96], old[900];
	uint64_t suppressed = 0, now, count = 0;
	int admit, old_level = 0;
	va_list ap;

	if (level < TTLOG_LEVEL_TRACE || level >= TTLOG_LEVEL_OFF)
		level = TTLOG_LEVEL_ERROR;
	if (msg == NULL)
		msg = "";
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	if (level >= TTLOG_LEVEL_ERROR)
		snprintf(h->last_error, sizeof(h->last_error), "%.100s%s%.400s",
			 msg, detail[0] ? ": " : "", detail);
	snprintf(text, sizeof(text), "%s%s%s", msg, detail[0] ? ": " : "",
		 detail);
	now = host_now(h);
	note[0] = 0;
	pthread_mutex_lock(&h->mu);
	if (level == h->last_level && strcmp(text, h->last) == 0) {
		/* The same again: counted, said every REPEAT_EVERY_NS. */
		h->repeats++;
		h->repeat_seen_ns = now;
		if (now - h->repeat_since_ns >= REPEAT_EVERY_NS)
			repeat_note(h, now, note, sizeof(note), &old_level,
				    &count);
		pthread_mutex_unlock(&h->mu);
		if (note[0])
			repeat_say(h, text, note, old_level, count);
		return;
	}
	/* A different line ends a run of repeats: its count first. */
	repeat_note(h, now, note, sizeof(note), &old_level, &count);
	memcpy(old, h->last, sizeof(old));
	admit = log_admit(h, now, &suppressed);
	if (admit) {
		snprintf(h->last, sizeof(h->last), "%s", text);
		h->last_level = level;
		h->repeat_since_ns = now;
	}
	pthread_mutex_unlock(&h->mu);
	if (note[0])
		repeat_say(h, old, note, old_level, count);
	if (!admit)
		return;
	/* Standard error too: when the listener that fails is the one the
	 * library's log goes to, this is the line a person still sees. Debug
	 * and trace stay in the library's log. */
	if (level >= TTLOG_LEVEL_INFO) {
		if (suppressed > 0)
			snprintf(more, sizeof(more),
				 " (%llu earlier lines suppressed)",
				 (unsigned long long)suppressed);
		print_line(h->name, text, more);
	}
	log_event(level, h->name, msg, detail, suppressed);
}

/* Says the count of a run of repeats that stopped (or, with force, any). */
static void repeat_flush(struct ttlog__plugin_host *h, int force)
{
	char note[96], text[900];
	uint64_t now = host_now(h), count = 0;
	int level = 0;

	note[0] = 0;
	pthread_mutex_lock(&h->mu);
	if (h->repeats > 0 &&
	    (force || now - h->repeat_seen_ns >= REPEAT_QUIET_NS ||
	     now - h->repeat_since_ns >= REPEAT_EVERY_NS))
		repeat_note(h, now, note, sizeof(note), &level, &count);
	memcpy(text, h->last, sizeof(text));
	pthread_mutex_unlock(&h->mu);
	if (note[0])
		repeat_say(h, text, note, level, count);
}

void ttlog__plugin_host_tick(struct ttlog__plugin_host *h)
{
	repeat_flush(h, 0);
}

void ttlog__plugin_host_set_clock(struct ttlog__plugin_host *h,
				  uint64_t (*now)(void *), void *arg)
{
	h->now = now;
	h->now_arg = arg;
}

static void host_lost(const struct ttlog_host *pub, uint64_t events,
		      const char *reason)
{
	struct ttlog__plugin_host *h = of(pub);

	h->lost += events;
	if (reason != NULL && reason[0] != 0)
		snprintf(h->lost_reason, sizeof(h->lost_reason), "%s", reason);
}

/* A day at most: the nanoseconds of the next flush must not wrap. */
#define FLUSH_EVERY_MAX_MS 86400000u

static void host_flush_every(const struct ttlog_host *pub, uint64_t ms)
{
	of(pub)->flush_ms = ms < FLUSH_EVERY_MAX_MS ? ms : FLUSH_EVERY_MAX_MS;
}

static void host_defer_durable(const struct ttlog_host *pub)
{
	of(pub)->dur.deferred = 1;
}

static void host_durable(const struct ttlog_host *pub, uint64_t batch_seq)
{
	if (ttlog__durable_fifo_confirm(&of(pub)->dur, batch_seq))
		ttlog__writer_durable_moved();
}

struct ttlog__durable_fifo *
ttlog__plugin_host_durable(struct ttlog__plugin_host *h)
{
	return h != NULL && h->dur.deferred ? &h->dur : NULL;
}

uint64_t ttlog__plugin_host_flush_ms(const struct ttlog__plugin_host *h)
{
	return h != NULL ? h->flush_ms : FLUSH_EVERY_MS;
}

uint64_t ttlog__plugin_host_take_lost(struct ttlog__plugin_host *h,
				      char *reason, size_t len)
{
	uint64_t n;

	if (h == NULL)
		return 0;
	n = h->lost;
	snprintf(reason, len, "%s", h->lost_reason);
	h->lost = 0;
	return n;
}

/* ------------------------------------------------------------------ */
/* Timers                                                               */
/* ------------------------------------------------------------------ */

uint64_t ttlog__plugin_host_stalls(const struct ttlog__plugin_host *h)
{
	return h != NULL ? atomic_load(&h->stalls) : 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog_host_timer *t = arg;
	struct ttlog__plugin_host *h = t->h; /* fn may free t */
	(void)fd;
	(void)what;
	/* Marked for the watchdog like consume(): a plugin can block the
	 * loop here too. */
	ttlog__writer_mark(h->name, "timer", &h->stalls);
	t->fn(t->arg);
	ttlog__writer_unmark();
}

static struct ttlog_host_timer *
host_timer_new(const struct ttlog_host *pub, ttlog_host_timer_fn fn, void *arg)
{
	struct ttlog__plugin_host *h = of(pub);
	struct ttlog_host_timer *t;

	if (h->base == NULL || fn == NULL)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->ev = event_new(h->base, -1, 0, on_timer, t);
	if (t->ev == NULL) {
		free(t);
		return NULL;
	}
	t->h = h;
	t->fn = fn;
	t->arg = arg;
	t->next = h->timers;
	if (h->timers != NULL)
		h->timers->prev = t;
	h->timers = t;
	return t;
}

static int host_timer_start(struct ttlog_host_timer *t, uint64_t ms,
			    int periodic)
{
	struct timeval tv = {(time_t)(ms / 1000),
			     (suseconds_t)(ms % 1000) * 1000};

	if (t == NULL)
		return TTLOG_EINVAL;
	/* Assigning is allowed only while the event is not pending. */
	event_del(t->ev);
	if (event_assign(t->ev, t->h->base, -1, periodic ? EV_PERSIST : 0,
			 on_timer, t) != 0 ||
	    event_add(t->ev, &tv) != 0)
		return TTLOG_ENOMEM;
	return 0;
}

static void host_timer_stop(struct ttlog_host_timer *t)
{
	if (t != NULL)
		event_del(t->ev);
}

static void host_timer_free(struct ttlog_host_timer *t)
{
	if (t == NULL)
		return;
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		t->h->timers = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	event_free(t->ev);
	free(t);
}

/* ------------------------------------------------------------------ */
/* Watches                                                              */
/* ------------------------------------------------------------------ */

static void on_watch(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog_host_watch *w = arg;
	unsigned ev = ((what & EV_READ) ? TTLOG_HOST_READ : 0u) |
		      ((what & EV_WRITE) ? TTLOG_HOST_WRITE : 0u);
	struct ttlog__plugin_host *h = w->h; /* fn may free w */

	ttlog__writer_mark(h->name, "watch", &h->stalls);
	w->fn((int)fd, ev, w->arg);
	ttlog__writer_unmark();
}

static int host_watch_set(struct ttlog_host_watch *w, unsigned events)
{
	short what = (short)(EV_PERSIST |
			     ((events & TTLOG_HOST_READ) ? EV_READ : 0) |
			     ((events & TTLOG_HOST_WRITE) ? EV_WRITE : 0));

	if (w == NULL || (events & ~(TTLOG_HOST_READ | TTLOG_HOST_WRITE)))
		return TTLOG_EINVAL;
	event_del(w->ev);
	if (events == 0)
		return 0;
	if (event_assign(w->ev, w->h->base, w->fd, what, on_watch, w) != 0 ||
	    event_add(w->ev, NULL) != 0)
		return TTLOG_ENOMEM;
	return 0;
}

static struct ttlog_host_watch *host_watch_new(const struct ttlog_host *pub,
					       int fd, unsigned events,
					       ttlog_host_watch_fn fn,
					       void *arg)
{
	struct ttlog__plugin_host *h = of(pub);
	struct ttlog_host_watch *w;

	if (h->base == NULL || fn == NULL || fd < 0)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->ev = event_new(h->base, fd, EV_PERSIST, on_watch, w);
	if (w->ev == NULL) {
		free(w);
		return NULL;
	}
	w->h = h;
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	w->next = h->watches;
	if (h->watches != NULL)
		h->watches->prev = w;
	h->watches = w;
	if (host_watch_set(w, events) != 0) {
		h->watches = w->next;
		if (w->next != NULL)
			w->next->prev = NULL;
		event_free(w->ev);
		free(w);
		return NULL;
	}
	return w;
}

static void host_watch_free(struct ttlog_host_watch *w)
{
	if (w == NULL)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		w->h->watches = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	event_free(w->ev);
	free(w);
}

static struct event_base *host_event_base(const struct ttlog_host *pub)
{
	return of(pub)->base;
}

/* ------------------------------------------------------------------ */
/* The host                                                             */
/* ------------------------------------------------------------------ */

const char *ttlog__plugin_host_name(const struct ttlog__plugin_host *h)
{
	return h->name;
}

struct ttlog__plugin_host *ttlog__plugin_host_new(const char *name)
{
	struct ttlog__plugin_host *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->name = strdup(name != NULL ? name : "listener");
	if (h->name == NULL) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->mu, NULL);
	h->flush_ms = FLUSH_EVERY_MS;
	h->last_level = -1;
	h->pub = (struct ttlog_host){
		.struct_size = sizeof(struct ttlog_host),
		.name = h->name,
		.log = host_log,
		.timer_new = host_timer_new,
		.timer_start = host_timer_start,
		.timer_stop = host_timer_stop,
		.timer_free = host_timer_free,
		.watch_new = host_watch_new,
		.watch_set = host_watch_set,
		.watch_free = host_watch_free,
		.event_base = host_event_base,
		.lost = host_lost,
		.flush_every = host_flush_every,
		.defer_durable = host_defer_durable,
		.durable = host_durable,
	};
	return h;
}

void ttlog__plugin_host_free(struct ttlog__plugin_host *h)
{
	if (h == NULL)
		return;
	/* A run of repeats still uncounted is said before the name goes. */
	repeat_flush(h, 1);
	while (h->timers != NULL)
		host_timer_free(h->timers);
	while (h->watches != NULL)
		host_watch_free(h->watches);
	pthread_mutex_destroy(&h->mu);
	ttlog__durable_fifo_destroy(&h->dur);
	free(h->name);
	free(h);
}

const struct ttlog_host *ttlog__plugin_host_api(struct ttlog__plugin_host *h)
{
	return &h->pub;
}

void ttlog__plugin_host_set_base(struct ttlog__plugin_host *h,
				 struct event_base *base)
{
	h->base = base;
}

/* ------------------------------------------------------------------ */
/* The writer's calls                                                   */
/* ------------------------------------------------------------------ */

int ttlog__api_has_1_2(const struct ttlog_listener_api *api)
{
	return (api->abi_version & 0xFFFFu) >= 2 &&
	       api->struct_size >= offsetof(struct ttlog_listener_api, start2) +
					   sizeof(api->start2);
}

/* Says which listener failed: through its host (standard error and the
 * library's log) and in `failure` for the caller of ttlog_init(). */
static void report_failure(struct ttlog__listener *l, const char *what)
{
	const char *why = l->host != NULL ? l->host->last_error : "";

	/* The listener's own last error is the reason worth reading. */
	snprintf(failure_name, sizeof(failure_name), "%.127s", l->name);
	snprintf(failure_reason, sizeof(failure_reason), "%.200s%s%.511s", what,
		 why[0] ? ": " : "", why);
	snprintf(failure, sizeof(failure), "listener %.127s (type %.63s): %s",
		 l->name, l->api->name, failure_reason);
	if (l->host != NULL)
		l->host->pub.log(&l->host->pub, TTLOG_LEVEL_ERROR, what,
				 "type %s", l->api->name);
	else
		fprintf(stderr, "ttlog: %s\n", failure);
}

int ttlog__listener_call_create(struct ttlog__listener *l, const void *options)
{
	const struct ttlog_listener_api *api = l->api;
	int rc = 0;

	failure[0] = failure_name[0] = failure_reason[0] = 0;
	if (ttlog__api_has_1_2(api) && api->create2 != NULL) {
		l->host = ttlog__plugin_host_new(l->name);
		if (l->host == NULL)
			return TTLOG_ENOMEM;
		rc = api->create2(options, &l->host->pub, &l->state);
	} else if (api->create != NULL) {
		rc = api->create(options, &l->state);
	}
	if (rc != 0) {
		report_failure(l, "create failed");
		ttlog__plugin_host_free(l->host);
		l->host = NULL;
		l->state = NULL;
		return TTLOG_ELISTENER;
	}
	return 0;
}

int ttlog__listener_call_start(struct ttlog__listener *l,
			       struct event_base *base)
{
	const struct ttlog_listener_api *api = l->api;
	int rc = 0;

	if (l->host != NULL)
		ttlog__plugin_host_set_base(l->host, base);
	if (ttlog__api_has_1_2(api) && api->start2 != NULL) {
		if (l->host == NULL) {
			/* start2 without create2: the host begins here. */
			l->host = ttlog__plugin_host_new(l->name);
			if (l->host == NULL) {
				report_failure(l, "start failed: no memory");
				return TTLOG_ELISTENER;
			}
			ttlog__plugin_host_set_base(l->host, base);
		}
		rc = api->start2(l->state, &l->host->pub);
	} else if (api->start != NULL) {
		rc = api->start(l->state, base);
	}
	if (rc != 0) {
		report_failure(l, "start failed");
		return TTLOG_ELISTENER;
	}
	return 0;
}

uint64_t ttlog__listener_call_destroy(struct ttlog__listener *l, char *reason,
				      size_t len)
{
	uint64_t lost;

	/* A listener of the older path that made no state and has a
	 * create() is not called (as before 1.2); one with a host always. */
	if (l->state != NULL || l->host != NULL || l->api->create == NULL)
		l->api->destroy(l->state);
	l->state = NULL;
	/* After destroy(): what it gave up on while closing counts too. */
	lost = ttlog__plugin_host_take_lost(l->host, reason, len);
	ttlog__plugin_host_free(l->host);
	l->host = NULL;
	return lost;
}
