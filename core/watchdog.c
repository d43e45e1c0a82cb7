/*
 * watchdog.c - reports a listener callback that holds the writer thread
 * (see watchdog_internal.h for what and why).
 *
 * The mark is one slot under a mutex: callbacks run one at a time on the
 * writer thread, so at most one is marked. The writer holds the mutex
 * only to set and clear the slot, never during the callback, so the
 * watchdog can always look, and it reads the listener's name and bumps
 * its counter under the same mutex, which is what keeps both alive: the
 * writer cannot finish the callback (and so cannot free or move the
 * listener) without taking it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "clock_internal.h"
#include "lib_internal.h"
#include "nbwrite.h"
#include "watchdog_internal.h"

struct ttlog__watchdog {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	int stop;
	/* The callback running now, under mu (since_ns 0: none). */
	const char *name, *what;
	uint64_t since_ns;
	_Atomic uint64_t *stalls;
	int reported; /* this episode was said */
	/* Writer thread only: nesting depth of enter(). */
	int depth;
};

/* One line to standard error that cannot block: it may be the pipe that
 * holds the writer. A line that does not fit now is lost; the counter
 * still says it. */
static void say(const char *line, int n)
{
	if (n <= 0)
		return;
	if (n > 511)
		n = 511;
	(void)ttlog__nbw_write_once(STDERR_FILENO, line, (size_t)n);
}

static void check(struct ttlog__watchdog *d)
{
	char line[512];
	int n = 0;
	uint64_t now = ttlog__clock_ts_ns(CLOCK_MONOTONIC), held;

	if (d->since_ns == 0 || d->reported || now < d->since_ns)
		return;
	held = now - d->since_ns;
	if (held < TTLOG__WATCHDOG_STALL_MS * 1000000ull)
		return;
	d->reported = 1;
	if (d->stalls != NULL)
		atomic_fetch_add(d->stalls, 1);
	n = snprintf(line, sizeof(line),
		     "ttlog: listener %s: %s() has not returned for %.1f s; "
		     "the writer thread (delivery to every listener, and "
		     "ttlog-agent's inputs, /health and /metrics) waits "
		     "for it\n",
		     d->name, d->what, (double)held / 1e9);
	/* Said under the mutex: the name lives as long as the mark. The
	 * write cannot block. */
	say(line, n);
}

static void *watchdog_main(void *arg)
{
	struct ttlog__watchdog *d = arg;
	struct timespec t;

	pthread_mutex_lock(&d->mu);
	clock_gettime(CLOCK_MONOTONIC, &t);
	while (!d->stop) {
		t.tv_sec += TTLOG__WATCHDOG_CHECK_MS / 1000;
		t.tv_nsec += (long)(TTLOG__WATCHDOG_CHECK_MS % 1000) * 1000000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		while (!d->stop &&
		       pthread_cond_timedwait(&d->cv, &d->mu, &t) != ETIMEDOUT)
			;
		if (!d->stop)
			check(d);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

struct ttlog__watchdog *ttlog__watchdog_start(void)
{
	struct ttlog__watchdog *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	if (d == NULL)
		return NULL;
	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	/* Like the writer, it leaves the application's signals alone. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&d->thread, NULL, watchdog_main, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		free(d);
		return NULL;
	}
	return d;
}

void ttlog__watchdog_stop(struct ttlog__watchdog *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

void ttlog__watchdog_enter(struct ttlog__watchdog *d, const char *name,
			   const char *what, _Atomic uint64_t *stalls)
{
	if (d == NULL || d->depth++ > 0)
		return;
	pthread_mutex_lock(&d->mu);
	d->name = name != NULL ? name : "listener";
	d->what = what;
	d->stalls = stalls;
	d->reported = 0;
	d->since_ns = ttlog__clock_ts_ns(CLOCK_MONOTONIC);
	pthread_mutex_unlock(&d->mu);
}

void ttlog__watchdog_leave(struct ttlog__watchdog *d)
{
	char line[512], name[128];
	const char *what;
	uint64_t held;
	int reported, n;

	if (d == NULL || --d->depth > 0)
		return;
	pthread_mutex_lock(&d->mu);
	reported = d->reported;
	held = ttlog__clock_ts_ns(CLOCK_MONOTONIC) - d->since_ns;
	what = d->what;
	if (reported)
		snprintf(name, sizeof(name), "%s", d->name);
	d->since_ns = 0;
	d->name = NULL;
	d->stalls = NULL;
	d->reported = 0;
	pthread_mutex_unlock(&d->mu);
	if (!reported)
		return;
	n = snprintf(line, sizeof(line),
		     "ttlog: listener %s: %s() returned after %.1f s (it held "
		     "the writer thread all that time)\n",
		     name, what, (double)held / 1e9);
	say(line, n);
	TTLOG__LOG(TTLOG_LEVEL_WARN, "listener stalled the writer",
		   TTLOG_KV("listener", name), TTLOG_KV("callback", what),
		   TTLOG_KV("ms", held / 1000000u));
}
