/*
 * accept_guard.h - what every listening socket of the agent does when
 * accept() fails, most often because the process ran out of descriptors
 * (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM).
 *
 * Such an error does not go away by retrying at once: the connection
 * stays in the backlog, the socket stays readable, and an event loop that
 * just tries again spins a core (and libevent, without an error callback,
 * logs a line per try). The guard instead disables the listener and
 * enables it again after a back-off (10 ms, doubling to 1 s, back to
 * 10 ms after an accept succeeds), and logs one line per episode.
 *
 * And so that the peers waiting in the backlog learn they are refused
 * rather than time out, the process keeps one spare descriptor (on
 * /dev/null): on EMFILE it is closed, the pending connections are
 * accepted with it and closed at once, and it is opened again.
 *
 * Everything runs on the thread of the listener's event loop (the
 * agent's writer thread).
 */
#ifndef TTLOG_ACCEPT_GUARD_H
#define TTLOG_ACCEPT_GUARD_H

#include <stdint.h>

#include "ratelimit.h"

struct event;
struct event_base;
struct evconnlistener;

struct ttlog__accept_guard {
	struct evconnlistener *lis;  /* borrowed */
	struct event *timer;	     /* enables the listener again */
	unsigned backoff_ms;	     /* 0: accepting normally */
	struct ttlog__ratelimit log; /* one line an episode, 10 s apart */
};

/* Opens the spare descriptor if it is not open (at start, before the
 * sockets; the guard also tries again after each use). 0 or -errno. */
int ttlog__fd_reserve_open(void);
/* Closes it (at exit, for leak checkers). */
void ttlog__fd_reserve_close(void);

/* Watches lis (which the caller owns and frees after _destroy()).
 * @return 0, or -1 out of memory. */
int ttlog__accept_guard_init(struct ttlog__accept_guard *g,
			     struct event_base *base,
			     struct evconnlistener *lis);
void ttlog__accept_guard_destroy(struct ttlog__accept_guard *g);

/*
 * From the listener's error callback (errno still that of accept()):
 * pauses accepting for the back-off, sheds what waits in the backlog if
 * the error is a lack of descriptors, and logs (at most one line per
 * 10 s) "SOCKET: out of file descriptors ...", with open_conns the
 * connections the socket's owner has open.
 * @param what  "input NAME" or "http", for the log line; borrowed
 * @return the connections shed (accepted and closed: count them as
 *         refused).
 */
uint64_t ttlog__accept_guard_error(struct ttlog__accept_guard *g,
				   const char *what, uint64_t open_conns);
/* After a successful accept: the next error starts a new episode at the
 * shortest back-off. */
void ttlog__accept_guard_ok(struct ttlog__accept_guard *g);

#endif /* TTLOG_ACCEPT_GUARD_H */
