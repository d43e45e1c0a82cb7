/*
 * input_accept.c - the listening side of a stream input (TCP, TLS and
 * unix): connections accepted, refused over max_connections or
 * max_connections_per_peer (counted, and told at once by closing), the
 * accept errors handed to the accept guard (agent/net/accept_guard.h), and
 * at stop the connections the kernel completed but nobody accepted yet.
 * The connections themselves are input_stream.c's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>

#include <ttlog/ttlog.h>

#include "errf.h"
#include "input_internal.h"

/* The peer's name in messages, and its key for max_connections_per_peer.
 * A unix-socket peer has no address: it is known by the user it runs as
 * (SO_PEERCRED), so that each local user has a cap of its own. */
static void peer_name(const struct sockaddr *sa, int fd, char *out, size_t n,
		      struct ttlog__peer_key *key)
{
	char host[INET6_ADDRSTRLEN];
	struct ucred cred;
	socklen_t len = sizeof(cred);

	ttlog__peer_key_from(sa, key);

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, n, "%s:%u", host, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, n, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		snprintf(out, n, "unix uid %u pid %d", (unsigned)cred.uid,
			 (int)cred.pid);
		memcpy(key->addr, &cred.uid, sizeof(cred.uid));
	} else {
		snprintf(out, n, "unix");
	}
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct ttlog__input *in = arg;
	struct ttlog__input_conn *c;
	struct ttlog__peer_key key;
	char peer[80];
	int rc;
	(void)l;
	(void)salen;

	ttlog__accept_guard_ok(&in->guard);
	peer_name(sa, fd, peer, sizeof(peer), &key);
	if (in->max_connections > 0 &&
	    in->st.connections >= (uint64_t)in->max_connections) {
		/* Accepting and closing at once tells the sender now, rather
		 * than leaving it in the kernel's backlog until it times
		 * out. */
		close(fd);
		in->st.refused++;
		ttlog__input_warn(in, peer,
				  "too many connections (max_connections)");
		return;
	}
	/* One address must not take every connection: the others still
	 * get theirs (docs/network-exposure.md). */
	rc = ttlog__peer_table_add(&in->peers, &key, in->max_per_peer);
	if (rc == 1) {
		char why[128];
		close(fd);
		in->st.refused_peer++;
		snprintf(why, sizeof(why),
			 "too many connections from this address "
			 "(max_connections_per_peer %lld)",
			 (long long)in->max_per_peer);
		ttlog__input_warn(in, peer, why);
		return;
	}
	c = rc == 0 ? ttlog__input_conn_new(in, fd, BEV_OPT_CLOSE_ON_FREE)
		    : NULL;
	if (c == NULL) {
		if (rc == 0)
			ttlog__peer_table_del(&in->peers, &key);
		close(fd);
		in->st.errors++;
		ttlog__input_warn(in, peer, "out of memory");
		return;
	}
	c->pkey = key;
	c->counted = 1;
	memcpy(c->peer, peer, sizeof(c->peer));
	in->st.accepted++;
	ttlog__input_budget_accepted(c);
	if (in->type == TTLOG__INPUT_TTLOG)
		ttlog__native_accepted(c);
}

/* At stop: connections the kernel completed but nobody accepted yet hold
 * data their senders count as sent; closing the listener would reset
 * them. They are accepted now and drained with the others. Not for TLS
 * (no handshake can run any more) nor the native protocol (its senders
 * resend what was not acknowledged). */
static void accept_backlog(struct ttlog__input *in)
{
	evutil_socket_t lfd = evconnlistener_get_fd(in->lis);

	if (in->tls != NULL || in->type == TTLOG__INPUT_TTLOG || lfd < 0)
		return;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN: the backlog is empty */
		}
		on_accept(in->lis, fd, (struct sockaddr *)&ss, (int)len, in);
	}
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct ttlog__input *in = arg;
	char what[300];
	(void)l;

	/* Out of descriptors and the like: no connection was made, so none
	 * was closed. The guard pauses accepting (no busy loop on a backlog
	 * that stays readable) and refuses what waits in it. */
	in->st.accept_errors++;
	snprintf(what, sizeof(what), "input %s", in->name);
	in->st.refused +=
		ttlog__accept_guard_error(&in->guard, what, in->st.connections);
}

int ttlog__input_accept_start(struct ttlog__input *in, int fd, char *err,
			      size_t errlen)
{
	in->lis = evconnlistener_new(in->base, on_accept, in,
				     LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
					     LEV_OPT_CLOSE_ON_EXEC |
					     LEV_OPT_DISABLED,
				     0, fd);
	if (in->lis == NULL) {
		close(fd);
		ttlog__errf(err, errlen, "%s: cannot listen", in->listen);
		return TTLOG_ENOMEM;
	}
	evconnlistener_set_error_cb(in->lis, on_accept_error);
	if (ttlog__accept_guard_init(&in->guard, in->base, in->lis) != 0) {
		ttlog__errf(err, errlen, "input %s: out of memory", in->name);
		return TTLOG_ENOMEM;
	}
	return 0;
}

void ttlog__input_accept_stop(struct ttlog__input *in)
{
	if (in->lis == NULL)
		return;
	accept_backlog(in);
	ttlog__accept_guard_destroy(&in->guard);
	evconnlistener_free(in->lis);
	in->lis = NULL;
}
