/*
 * snapshot_crash.c - the crash path: handlers for SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL and SIGABRT that write a snapshot with the same code as any
 * other (snapshot_file.c) while the other threads go on, and an alternate
 * signal stack per thread so that a stack overflow can still run them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot_state.h"

#define ALT_STACK (128u << 10)
#define CRASH_WAIT_MS 2000 /* for the writer to leave what it changes */

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
_Static_assert(sizeof(crash_signals) / sizeof(crash_signals[0]) ==
		       TTLOG__SNAP_NCRASH,
	       "one saved action per crash signal");

/* ------------------------------------------------------------------ */
/* The crash path                                                       */
/* ------------------------------------------------------------------ */

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGFPE:
		return "SIGFPE";
	case SIGILL:
		return "SIGILL";
	case SIGABRT:
		return "SIGABRT";
	default:
		return "signal";
	}
}

/* One line to stderr, put together without stdio. */
static void say(const char *a, const char *b, const char *c, const char *d)
{
	char m[PATH_MAX + 2 * TTLOG__SNAP_NAME_MAX_LEN];
	size_t len = ttlog__snap_cat(m, 0, sizeof(m), "ttlog: ");

	len = ttlog__snap_cat(m, len, sizeof(m), a);
	len = ttlog__snap_cat(m, len, sizeof(m), b);
	len = ttlog__snap_cat(m, len, sizeof(m), c);
	len = ttlog__snap_cat(m, len, sizeof(m), d);
	len = ttlog__snap_cat(m, len, sizeof(m), "\n");
	ssize_t w = write(STDERR_FILENO, m, len);
	(void)w;
}

static void crash_snapshot(int sig)
{
	uint64_t nev = 0;
	int rc, placed;

	atomic_store(&ttlog__snap.crashing, 1);
	/* The writer finishes what it is changing (it waits in
	 * ttlog__snap_enter() after that); unless it is the thread that
	 * crashed, or is stuck. */
	if ((int)gettid() != ttlog__snap.writer_tid)
		for (int i = 0;
		     i < CRASH_WAIT_MS && atomic_load(&ttlog__snap.busy) > 0;
		     i++)
			ttlog__snap_nap_ms(1);
	if (atomic_load(&ttlog__snap.writing)) {
		/* The crash is in the middle of writing a snapshot, on this
		 * thread: its buffers are in use. */
		say("no crash snapshot: the crash happened while writing one",
		    "", "", "");
	} else {
		rc = ttlog__snap_write_file("crash", signal_name(sig), 0, &nev,
					    &placed);
		if (placed) {
			atomic_fetch_add(&ttlog__snap.written, 1);
			atomic_store(&ttlog__snap.last_events, nev);
			say("crash snapshot ", ttlog__snap.dir, "/",
			    ttlog__snap.name);
		} else {
			atomic_fetch_add(&ttlog__snap.failed, 1);
		}
		if (rc != 0) {
			char num[24];
			ttlog__snap_cat_u64(num, 0, sizeof(num),
					    (uint64_t)ttlog__snap.err_no, 1);
			say("crash snapshot: ", ttlog__snap.err_step,
			    ": errno ", num);
		}
	}
	atomic_store(&ttlog__snap.crashing, 0);
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	size_t k;
	(void)uc;

	if (atomic_exchange(&ttlog__snap.in_crash, 1) == 0)
		crash_snapshot(sig);
	else
		/* Another thread crashed too: let the first one finish its
		 * file before this one's default action ends the process. */
		for (int i = 0; i < 2 * CRASH_WAIT_MS &&
				atomic_load(&ttlog__snap.crashing);
		     i++)
			ttlog__snap_nap_ms(1);
	for (k = 0; k < TTLOG__SNAP_NCRASH && crash_signals[k] != sig; k++)
		;
	if (k < TTLOG__SNAP_NCRASH)
		sigaction(sig, &ttlog__snap.old[k], NULL);
	errno = saved;
	/* A signal that was sent (kill, raise, abort) is sent again, to the
	 * previous disposition, once this handler returns; a fault happens
	 * again when the instruction is retried. */
	if (si == NULL || si->si_code <= 0)
		raise(sig);
}

void ttlog__snap_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (size_t k = 0; k < TTLOG__SNAP_NCRASH; k++)
		sigaddset(&sa.sa_mask, crash_signals[k]);
	for (size_t k = 0; k < TTLOG__SNAP_NCRASH; k++)
		sigaction(crash_signals[k], &sa, &ttlog__snap.old[k]);
	ttlog__snap.installed = 1;
}

void ttlog__snap_uninstall(void)
{
	if (!ttlog__snap.installed)
		return;
	for (size_t k = 0; k < TTLOG__SNAP_NCRASH; k++) {
		struct sigaction cur;
		/* Only where ours is still the handler: the application may
		 * have put its own in front since. */
		if (sigaction(crash_signals[k], NULL, &cur) == 0 &&
		    (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_crash)
			sigaction(crash_signals[k], &ttlog__snap.old[k], NULL);
	}
	ttlog__snap.installed = 0;
}

static _Thread_local void *tls_alt;

void ttlog__snap_thread_enter(void)
{
	stack_t cur, ss;
	void *p;

	if (!ttlog__snap.on || !ttlog__snap.on_crash || tls_alt != NULL)
		return;
	if (sigaltstack(NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE))
		return; /* the thread has one already */
	p = malloc(ALT_STACK);
	if (p == NULL)
		return;
	ss.ss_sp = p;
	ss.ss_size = ALT_STACK;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0) {
		free(p);
		return;
	}
	tls_alt = p;
}

void ttlog__snap_thread_exit(void)
{
	stack_t cur, off;

	if (tls_alt == NULL)
		return;
	if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == tls_alt &&
	    !(cur.ss_flags & SS_ONSTACK)) {
		memset(&off, 0, sizeof(off));
		off.ss_flags = SS_DISABLE;
		if (sigaltstack(&off, NULL) == 0) {
			free(tls_alt);
			tls_alt = NULL;
		}
	}
}
