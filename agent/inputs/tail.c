/*
 * tail.c - the tail input's glue: its options (the `paths` and `exclude`
 * lists, the multiline rule), start and stop, the reader that turns the
 * loop, back-pressure, and what the agent asks of every input (taken,
 * stats).
 *
 * The reader runs as a deferred event: each turn reads at most a quantum
 * from every file with data, in the order they became ready, hands what
 * it made to the listeners, notes the positions reached with the batch
 * number, and yields to the loop if files still have data. While a
 * listener that blocks holds back more than pause_backlog nothing is
 * read; a timer looks again every 50 ms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include <ttlog/ttlog.h>

#include "config_internal.h"
#include "errf.h"
#include "input_internal.h"
#include "multiline_internal.h"
#include "tail_internal.h"

#define RESUME_MS 50

uint64_t ttlog__tail_now_ms(void)
{
	return ttlog__input_now_ns() / 1000000u;
}

void ttlog__tail_warn(struct ttlog__tail *t, const char *path, const char *what,
		      int err)
{
	uint64_t suppressed;

	t->in->st.errors++;
	if (ttlog__ratelimit_pass(&t->err_rl, ttlog__input_now_ns(),
				  1000000000u, &suppressed))
		TTLOG_WARN("tail: cannot read a file",
			   TTLOG_KV("input", (const char *)t->in->name),
			   TTLOG_KV("path", path), TTLOG_KV("call", what),
			   TTLOG_KV("error", strerror(err)),
			   TTLOG_KV("suppressed", suppressed));
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; l != NULL && i < n; i++)
		free(l[i]);
	free(l);
}

/* ---- checks ---- */

/* The multiline rule the options describe; *mode 0: none. */
static int ml_opts(const struct ttlog__input_opts *o, struct ttlog__ml_opts *m,
		   const char **key, char *err, size_t errlen)
{
	int n = (o->ml_start != NULL) + (o->ml_continuation != 0) +
		(o->ml_preset != NULL);

	memset(m, 0, sizeof(*m));
	m->timeout_ms = o->ml_timeout_ms;
	m->max_bytes = (size_t)o->ml_max_bytes;
	if (n == 0)
		return 0;
	if (n > 1) {
		*key = "multiline";
		ttlog__errf(err, errlen,
			    "multiline: give exactly one of start, "
			    "continuation and preset");
		return -1;
	}
	if (o->ml_max_bytes == 0) {
		*key = "multiline.max_bytes";
		ttlog__errf(err, errlen, "multiline.max_bytes must be > 0");
		return -1;
	}
	if (o->ml_preset != NULL) {
		if (ttlog__ml_preset(o->ml_preset, m) != 0) {
			*key = "multiline.preset";
			ttlog__errf(err, errlen,
				    "multiline.preset: unknown preset \"%s\" "
				    "(java or python)",
				    o->ml_preset);
			return -1;
		}
		m->timeout_ms = o->ml_timeout_ms;
		m->max_bytes = (size_t)o->ml_max_bytes;
	} else if (o->ml_start != NULL) {
		m->mode = TTLOG__ML_START;
		m->start = o->ml_start;
	} else {
		m->mode = o->ml_continuation == TTLOG__TAIL_CONT_INDENT
				  ? TTLOG__ML_INDENT
				  : TTLOG__ML_BACKSLASH;
	}
	return 0;
}

int ttlog__tail_check(const struct ttlog__input_opts *o, const char **key,
		      char *err, size_t errlen)
{
	struct ttlog__ml_opts m;
	struct ttlog__ml_rule *r;
	const char *k = NULL;
	char why[256];

	if (key == NULL)
		key = &k;
	*key = NULL;
	if (ttlog__input_list_misplaced(o) != NULL) {
		*key = ttlog__input_list_misplaced(o);
		ttlog__errf(err, errlen, "%s: is not an option of tail inputs",
			    *key);
		return -1;
	}
	if (o->listen != NULL) {
		*key = "listen";
		ttlog__errf(err, errlen,
			    "type tail reads files (`paths`); remove `listen`");
		return -1;
	}
	if (o->paths.n == 0) {
		*key = "paths";
		ttlog__errf(err, errlen,
			    "type tail needs `paths` (a glob or a list of "
			    "globs, for example [\"/var/log/app/*.log\"])");
		return -1;
	}
	for (size_t i = 0; i < o->paths.n; i++)
		if (o->paths.v[i][0] == '\0') {
			*key = "paths";
			ttlog__errf(err, errlen, "paths: an empty pattern");
			return -1;
		}
	if (o->max_line == 0 || o->max_line > ((uint64_t)256 << 20)) {
		*key = "max_line";
		ttlog__errf(err, errlen,
			    "max_line must be from 1 byte to 256MiB");
		return -1;
	}
	if (o->poll_interval_ms == 0) {
		*key = "poll_interval";
		ttlog__errf(err, errlen, "poll_interval must be > 0");
		return -1;
	}
	if (ml_opts(o, &m, key, err, errlen) != 0)
		return -1;
	if (m.mode == 0)
		return 0;
	if (ttlog__ml_rule_new(&m, &r, why, sizeof(why)) != 0) {
		*key = o->ml_start != NULL ? "multiline.start" : "multiline";
		ttlog__errf(err, errlen, "multiline.%s", why);
		return -1;
	}
	ttlog__ml_rule_free(r);
	return 0;
}

/* ---- the reader ---- */

void ttlog__tail_ready(struct ttlog__tail *t, struct ttlog__tail_file *f)
{
	if (f->queued || f->fd < 0)
		return;
	f->queued = 1;
	f->rnext = NULL;
	if (t->rq_tail != NULL)
		t->rq_tail->rnext = f;
	else
		t->rq_head = f;
	t->rq_tail = f;
}

/* The reader runs as a timer that is already due rather than through
 * event_active(): libevent runs events activated from a callback in the
 * same pass, so a reader that re-activated itself while files had data
 * would hold the loop (timers, sockets, the HTTP endpoint, the save of
 * the positions) for as long as the writers kept ahead. A due timer
 * waits for the next turn of the loop, after its poll for I/O. */
void ttlog__tail_wake(struct ttlog__tail *t)
{
	static const struct timeval now = {0, 0};

	if (t->work != NULL && t->started && !t->paused &&
	    !evtimer_pending(t->work, NULL))
		evtimer_add(t->work, &now);
}

static struct ttlog__tail_file *pop(struct ttlog__tail *t)
{
	struct ttlog__tail_file *f = t->rq_head;

	if (f == NULL)
		return NULL;
	t->rq_head = f->rnext;
	if (t->rq_head == NULL)
		t->rq_tail = NULL;
	f->queued = 0;
	f->rnext = NULL;
	return f;
}

/* Hands what was made to the listeners and notes where each file stands
 * with the batch that holds it. */
static void hand_on(struct ttlog__tail *t)
{
	(void)ttlog__host_ingest_commit(t->in->writer);
	ttlog__tail_ckpt_note(t, ttlog__host_dispatched(t->in->writer));
}

static int pushed_back(struct ttlog__tail *t)
{
	struct timeval tv = {0, RESUME_MS * 1000};

	if (!ttlog__host_pushback_source(
		    t->in->writer, (size_t)t->in->pause_backlog, t->paused)) {
		t->paused = 0;
		t->in->st.paused = 0;
		return 0;
	}
	t->paused = 1;
	t->in->st.paused = 1;
	if (!evtimer_pending(t->resume, NULL))
		evtimer_add(t->resume, &tv);
	return 1;
}

static void work(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__tail *t = arg;
	uint64_t now = ttlog__tail_now_ms();
	struct ttlog__tail_file *f, *last;

	(void)fd;
	(void)what;
	if (pushed_back(t))
		return;
	if (t->need_scan) {
		t->need_scan = 0;
		ttlog__tail_scan(t, 0);
	}
	/* One round over the files ready now; those with more go to the
	 * back, to be read next turn, after the loop had its say. */
	last = t->rq_tail;
	while ((f = pop(t)) != NULL) {
		long n = ttlog__tail_file_read(f, now);
		if (n == (long)TTLOG__TAIL_QUANTUM)
			ttlog__tail_ready(t, f);
		if (f == last)
			break;
		if (ttlog__host_pushback_source(
			    t->in->writer, (size_t)t->in->pause_backlog, 0))
			break;
	}
	hand_on(t);
	if (t->rq_head != NULL)
		ttlog__tail_wake(t);
}

/* Reading goes on once the listeners' queues are below half their pause
 * marks: looked at when a listener takes something (ttlog__tail_taken())
 * and, as a safety net, on the resume timer. */
static void try_resume(struct ttlog__tail *t)
{
	if (pushed_back(t))
		return;
	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next)
		ttlog__tail_ready(t, f);
	ttlog__tail_wake(t);
}

static void resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	try_resume(arg);
}

static void ml_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__tail *t = arg;
	uint64_t now = ttlog__tail_now_ms();

	(void)fd;
	(void)what;
	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next)
		ttlog__tail_file_ml_tick(f, now);
	hand_on(t);
}

/* ---- start and stop ---- */

static int set_opts(struct ttlog__tail *t, const struct ttlog__input_opts *o,
		    char *err, size_t errlen)
{
	struct ttlog__ml_opts m;
	const char *key;

	t->start_at = o->start_at;
	t->format = o->format;
	t->watch = o->watch;
	t->max_line = (size_t)o->max_line;
	t->rotate_wait_ms = o->rotate_wait_ms;
	t->poll_ms = o->poll_interval_ms;
	if (ml_opts(o, &m, &key, err, errlen) != 0)
		return -1;
	t->ml_timeout_ms = m.timeout_ms;
	if (m.mode != 0 &&
	    ttlog__ml_rule_new(&m, &t->ml_rule, err, errlen) != 0)
		return -1;
	return 0;
}

static char **copy_list(const struct ttlog__input_list *l)
{
	char **c = calloc(l->n + 1, sizeof(char *));

	for (size_t i = 0; c != NULL && i < l->n; i++)
		if ((c[i] = strdup(l->v[i])) == NULL) {
			free_list(c, i);
			return NULL;
		}
	return c;
}

int ttlog__tail_start(struct ttlog__input *in,
		      const struct ttlog__input_opts *o, char *err,
		      size_t errlen)
{
	struct ttlog__tail *t = calloc(1, sizeof(*t));
	struct timeval tv;

	if (t == NULL)
		goto oom;
	in->tail = t;
	t->in = in;
	t->ifd = -1;
	t->last_sync_ms = ttlog__tail_now_ms();
	if (set_opts(t, o, err, errlen) != 0)
		return -1;
	t->paths = copy_list(&o->paths);
	t->exclude = copy_list(&o->exclude);
	t->npaths = o->paths.n;
	t->nexclude = o->exclude.n;
	t->rbuf = malloc(TTLOG__TAIL_QUANTUM);
	t->work = evtimer_new(in->base, work, t);
	t->resume = evtimer_new(in->base, resume, t);
	t->save_timer = evtimer_new(in->base, ttlog__tail_ckpt_timer, t);
	if (t->paths == NULL || t->exclude == NULL || t->rbuf == NULL ||
	    t->work == NULL || t->resume == NULL || t->save_timer == NULL)
		goto oom;
	if (t->ml_rule != NULL) {
		uint64_t every = t->ml_timeout_ms / 4;
		every = every < 10 ? 10 : every > 250 ? 250 : every;
		tv.tv_sec = 0;
		tv.tv_usec = (suseconds_t)every * 1000;
		t->ml_timer = event_new(in->base, -1, EV_PERSIST, ml_tick, t);
		if (t->ml_timer == NULL || event_add(t->ml_timer, &tv) != 0)
			goto oom;
	}
	if (o->state_dir != NULL && asprintf(&t->state_path, "%s/input-%s.tail",
					     o->state_dir, in->name) < 0) {
		t->state_path = NULL;
		goto oom;
	}
	if (o->state_dir == NULL)
		TTLOG_WARN("tail: no service.state_dir; positions are kept in "
			   "memory only (a restart reads by start_at again)",
			   TTLOG_KV("input", (const char *)in->name));
	if (ttlog__tail_watch_start(t) != 0)
		goto oom;
	return 0;
oom:
	ttlog__errf(err, errlen, "input %s: out of memory", o->name);
	return -1;
}

void ttlog__tail_enable(struct ttlog__input *in)
{
	struct ttlog__tail *t = in->tail;

	if (t == NULL || t->started)
		return;
	t->started = 1;
	/* Read now, not at prepare: an input this one replaces in a reload
	 * saves its positions when it is removed, just before. */
	ttlog__tail_ckpt_load(t);
	ttlog__tail_scan(t, 1);
	ttlog__tail_wake(t);
}

void ttlog__tail_stop(struct ttlog__input *in, int reload)
{
	struct ttlog__tail *t = in->tail;

	if (t == NULL)
		return;
	/* What was read goes out; lines not finished and multiline events
	 * still open are not (their bytes are after the saved position and
	 * are read again at the next start). */
	if (t->started) {
		hand_on(t);
		ttlog__tail_ckpt_durable(t, ttlog__host_durable(t->in->writer));
		ttlog__tail_ckpt_save(t, 1);
		if (reload)
			ttlog__tail_ckpt_stash(t);
	}
	ttlog__tail_watch_stop(t);
	while (t->files != NULL)
		ttlog__tail_file_free(t->files);
	if (t->work)
		event_free(t->work);
	if (t->resume)
		event_free(t->resume);
	if (t->save_timer)
		event_free(t->save_timer);
	if (t->ml_timer)
		event_free(t->ml_timer);
	if (t->ml_rule)
		ttlog__ml_rule_free(t->ml_rule);
	ttlog__tail_ckpt_free(t);
	free_list(t->paths, t->npaths);
	free_list(t->exclude, t->nexclude);
	free(t->state_path);
	free(t->rbuf);
	free(t);
	in->tail = NULL;
}

void ttlog__tail_update(struct ttlog__input *in, size_t max_line,
			uint64_t rotate_wait_ms, uint64_t poll_ms)
{
	struct ttlog__tail *t = in->tail;
	struct timeval tv = {(time_t)(poll_ms / 1000),
			     (suseconds_t)(poll_ms % 1000) * 1000};

	if (t == NULL)
		return;
	t->max_line = max_line;
	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next)
		f->lines.max = max_line;
	t->rotate_wait_ms = rotate_wait_ms;
	if (poll_ms != t->poll_ms && t->poll != NULL) {
		t->poll_ms = poll_ms;
		event_del(t->poll);
		event_add(t->poll, &tv);
	}
}

void ttlog__tail_taken(struct ttlog__input *in, uint64_t taken)
{
	(void)taken;
	if (in->tail == NULL)
		return;
	ttlog__tail_ckpt_durable(in->tail, ttlog__host_durable(in->writer));
	/* A queue moved: reading may go on now rather than at the timer
	 * (this arms the reader; it ingests nothing here). */
	if (in->tail->paused)
		try_resume(in->tail);
}

size_t ttlog__tail_file_lags(const struct ttlog__input *in, size_t max,
			     void (*fn)(void *arg, const char *path,
					uint64_t lag),
			     void *arg)
{
	const struct ttlog__tail *t = in->tail;
	size_t n = 0, left = 0;

	for (const struct ttlog__tail_file *f = t != NULL ? t->files : NULL;
	     f != NULL; f = f->next) {
		if (f->fd < 0)
			continue;
		if (n++ >= max) {
			left++;
			continue;
		}
		fn(arg, f->path, f->size > f->id.off ? f->size - f->id.off : 0);
	}
	return left;
}

void ttlog__tail_stats(const struct ttlog__input *in,
		       struct ttlog__input_stats *out)
{
	const struct ttlog__tail *t = in->tail;
	uint64_t lag = 0;

	if (t == NULL)
		return;
	for (const struct ttlog__tail_file *f = t->files; f != NULL;
	     f = f->next)
		if (f->fd >= 0 && f->size > f->id.off)
			lag += f->size - f->id.off;
	out->files_watched = t->nfiles;
	out->lag_bytes = lag;
	out->rotations = t->rotations;
	out->truncations = t->truncations;
	out->lines_cut = t->lines_cut;
	out->multiline_cut = t->ml_cut;
	out->multiline_dropped = t->ml_dropped;
	out->rescans = t->rescans;
	out->state_errors += t->state_errors;
}
