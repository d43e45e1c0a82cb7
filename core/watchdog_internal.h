/*
 * watchdog_internal.h - a thread that notices a listener callback which
 * keeps the writer thread for too long.
 *
 * Every listener callback runs on the writer thread, whose loop also
 * runs ttlog-agent's inputs and its HTTP server: a consume() that blocks
 * (a plugin writing to a stuck descriptor, a lock never released) stops
 * forwarding, /metrics and /health with it. Nothing on that thread can
 * notice, so the writer marks "listener NAME in callback X since T"
 * around each callback (ttlog__watchdog_enter/leave) and a thread of its
 * own looks once a second. A callback still running after
 * TTLOG__WATCHDOG_STALL_MS is reported once per episode, on standard
 * error with a non-blocking write (standard error may be the very pipe
 * that blocks), and counted in the listener's stalls counter
 * (ttlog_listener_stats, /metrics ttlog_listener_stalls_total). When it
 * returns, a second line says how long it held the thread.
 */
#ifndef TTLOG_WATCHDOG_INTERNAL_H
#define TTLOG_WATCHDOG_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

/* How long one callback may hold the writer thread before it is
 * reported: long enough that a slow disk or a large batch is not called
 * a stall, short enough that a person reading the log sees the cause
 * while the agent is still stuck. The check runs every
 * TTLOG__WATCHDOG_CHECK_MS, so a report comes between the two sums. */
#define TTLOG__WATCHDOG_STALL_MS 3000u
#define TTLOG__WATCHDOG_CHECK_MS 1000u

struct ttlog__watchdog;

/* Starts the thread. Returns NULL when it cannot (then nothing is
 * watched; the writer runs as before). Free with ttlog__watchdog_stop(). */
struct ttlog__watchdog *ttlog__watchdog_start(void);
/* Stops and joins the thread, frees it. NULL is ignored. */
void ttlog__watchdog_stop(struct ttlog__watchdog *d);

/*
 * Writer thread: a callback of the listener `name` begins. `what` is a
 * constant ("consume", "flush", ...). name and stalls are borrowed until
 * the matching leave: the listener cannot go away during its own
 * callback. stalls is incremented (by the watchdog thread) when this
 * callback is reported. d may be NULL (nothing is watched). Calls do not
 * nest: a callback the host runs inside another is not marked again.
 */
void ttlog__watchdog_enter(struct ttlog__watchdog *d, const char *name,
			   const char *what, _Atomic uint64_t *stalls);
/* Writer thread: the callback returned. After a reported stall, says how
 * long it took (standard error and the library's log). */
void ttlog__watchdog_leave(struct ttlog__watchdog *d);

#endif /* TTLOG_WATCHDOG_INTERNAL_H */
