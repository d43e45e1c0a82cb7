/*
 * health_check.c - `ttlog-agent --health`: asks a running agent's
 * GET /health and exits by its answer, so that a container's HEALTHCHECK
 * (or a shell script) needs no HTTP client besides the agent itself.
 *
 * A blocking client with one deadline for everything: name lookup,
 * connect, request, answer. Only the status line is judged; the body (the
 * health JSON) is printed for whoever runs it by hand.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "agent_internal.h"

static long ms_left(const struct timespec *end)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 +
	       (end->tv_nsec - now.tv_nsec) / 1000000;
}

/* Waits for fd to be ready for `events` until the deadline; 0 or -1 with
 * errno (ETIMEDOUT when out of time). */
static int wait_fd(int fd, short events, const struct timespec *end)
{
	for (;;) {
		long left = ms_left(end);
		struct pollfd p = {fd, events, 0};
		int n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int connect_to(const char *host, const char *port,
		      const struct timespec *end, char *why, size_t whylen)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(why, whylen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		socklen_t len = sizeof(err);
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS && wait_fd(fd, POLLOUT, end) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
		    err == 0)
			break;
		if (err == EINPROGRESS)
			err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(why, whylen, "connect: %s", strerror(err));
	return fd;
}

int ttlog__agent_health_check(const char *hostport, int timeout_ms)
{
	char why[512], req[512], buf[8192];
	struct ttlog__addr a;
	struct timespec end;
	size_t len = 0;
	int fd, status = 0;

	if (ttlog__addr_parse(hostport, TTLOG__ADDR_ALLOW_BARE, &a, why,
			      sizeof(why)) != 0) {
		fprintf(stderr,
			"ttlog-agent: --health: \"%s\" is not HOST:PORT (%s)\n",
			hostport, why);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	fd = connect_to(a.host, a.port, &end, why, sizeof(why));
	if (fd < 0)
		goto fail;
	snprintf(req, sizeof(req),
		 "GET /health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
		 "User-Agent: ttlog-agent-health\r\n\r\n",
		 hostport);
	for (size_t off = 0, n = strlen(req); off < n;) {
		ssize_t k = send(fd, req + off, n - off, MSG_NOSIGNAL);
		if (k > 0) {
			off += (size_t)k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(why, sizeof(why), "send: %s", strerror(errno));
			goto fail_fd;
		}
		if (wait_fd(fd, POLLOUT, &end) != 0) {
			snprintf(why, sizeof(why), "send: %s", strerror(errno));
			goto fail_fd;
		}
	}
	for (;;) {
		ssize_t k;
		if (len + 1 >= sizeof(buf))
			break; /* the status line is long since in */
		k = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (k > 0) {
			len += (size_t)k;
			continue;
		}
		if (k == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			snprintf(why, sizeof(why), "receive: %s",
				 strerror(errno));
			goto fail_fd;
		}
		if (wait_fd(fd, POLLIN, &end) != 0) {
			snprintf(why, sizeof(why), "no answer: %s",
				 strerror(errno));
			goto fail_fd;
		}
	}
	close(fd);
	buf[len] = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
		snprintf(why, sizeof(why), "not an HTTP answer");
		goto fail;
	}
	const char *body = strstr(buf, "\r\n\r\n");
	printf("%s", body != NULL ? body + 4 : "");
	if (body == NULL || body[4] == 0 || buf[len - 1] != '\n')
		putchar('\n');
	if (status == 200)
		return 0;
	fprintf(stderr, "ttlog-agent: http://%s/health: status %d\n", hostport,
		status);
	return 1;
fail_fd:
	close(fd);
fail:
	fprintf(stderr, "ttlog-agent: http://%s/health: %s\n", hostport, why);
	return 1;
}
