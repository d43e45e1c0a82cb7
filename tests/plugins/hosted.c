/*
 * hosted.c - a test listener of ABI 1.2 that lives on its host only: it
 * logs through host->log, appends each batch's JSON lines to `path`, and
 * from start2() arms a one-shot timer, a periodic one and a watch on a
 * pipe it writes a byte to, each writing a line to `path` when it first
 * fires ("oneshot", "tick", "watch"). Options make it fail in create2
 * (`fail`), log `spam` lines in create2, and log on every tick
 * (`tick_log`), to show the host's bound on a listener's log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ttlog/listener.h>

struct hosted_opts {
	char *path;
	int fail;
	int64_t spam;
	int tick_log;
};

static const struct ttlog_option_spec hosted_spec[] = {
	{TTLOG_OPTION_STRING, "path", NULL, offsetof(struct hosted_opts, path),
	 "file to append JSON lines to", NULL, TTLOG_OPTION_REQUIRED},
	{TTLOG_OPTION_BOOL, "fail", "false", offsetof(struct hosted_opts, fail),
	 "refuse in create2", NULL, 0},
	{TTLOG_OPTION_INT, "spam", "0", offsetof(struct hosted_opts, spam),
	 "lines to log in create2", NULL, 0},
	{TTLOG_OPTION_BOOL, "tick_log", "false",
	 offsetof(struct hosted_opts, tick_log), "log on every tick", NULL, 0},
	{0},
};

struct hosted {
	const struct ttlog_host *host;
	FILE *out;
	int tick_log;
	int ticked, watched;
	uint64_t ticks;
	struct ttlog_host_timer *once, *every;
	struct ttlog_host_watch *watch;
	int pipe[2];
};

static void note(struct hosted *h, const char *what)
{
	fprintf(h->out, "%s\n", what);
	fflush(h->out);
}

static int hosted_create(const void *options, const struct ttlog_host *host,
			 void **state)
{
	const struct hosted_opts *o = options;
	struct hosted *h;

	if (o->fail) {
		host->log(host, TTLOG_LEVEL_ERROR, "refused", "fail is set");
		return TTLOG_EINVAL;
	}
	for (int64_t i = 0; i < o->spam; i++)
		host->log(host, TTLOG_LEVEL_WARN, "spam", "line %lld",
			  (long long)i);
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return TTLOG_ENOMEM;
	h->out = fopen(o->path, "ae");
	if (h->out == NULL) {
		host->log(host, TTLOG_LEVEL_ERROR, "cannot open", "%s: %s",
			  o->path, strerror(errno));
		free(h);
		return TTLOG_ESYSTEM;
	}
	h->host = host;
	h->tick_log = o->tick_log;
	h->pipe[0] = h->pipe[1] = -1;
	host->log(host, TTLOG_LEVEL_INFO, "created", "name=%s", host->name);
	*state = h;
	return 0;
}

static void on_once(void *arg)
{
	note(arg, "oneshot");
}

static void on_every(void *arg)
{
	struct hosted *h = arg;

	h->ticks++;
	if (!h->ticked) {
		h->ticked = 1;
		note(h, "tick");
		h->host->log(h->host, TTLOG_LEVEL_INFO, "timer fired", NULL);
	} else if (h->tick_log) {
		h->host->log(h->host, TTLOG_LEVEL_WARN, "tick", "%llu",
			     (unsigned long long)h->ticks);
	}
}

static void on_readable(int fd, unsigned events, void *arg)
{
	struct hosted *h = arg;
	char c;

	if ((events & TTLOG_HOST_READ) && read(fd, &c, 1) == 1 && !h->watched) {
		h->watched = 1;
		note(h, "watch");
		/* Interest can change: nothing more is expected. */
		(void)h->host->watch_set(h->watch, 0);
	}
}

static int hosted_start(void *state, const struct ttlog_host *host)
{
	struct hosted *h = state;

	if (host != h->host || host->event_base(host) == NULL)
		return TTLOG_EINVAL;
	h->once = host->timer_new(host, on_once, h);
	h->every = host->timer_new(host, on_every, h);
	if (h->once == NULL || h->every == NULL ||
	    host->timer_start(h->once, 5, 0) != 0 ||
	    host->timer_start(h->every, 10, 1) != 0)
		return TTLOG_ENOMEM;
	if (pipe2(h->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return TTLOG_ESYSTEM;
	h->watch = host->watch_new(host, h->pipe[0], TTLOG_HOST_READ,
				   on_readable, h);
	if (h->watch == NULL || write(h->pipe[1], "x", 1) != 1)
		return TTLOG_ESYSTEM;
	return 0;
}

static int hosted_consume(void *state, struct ttlog_batch *b)
{
	struct hosted *h = state;
	const void *data;
	size_t len;

	if (ttlog_batch_encode(b, TTLOG_ENCODING_JSONL, &data, &len) != 0)
		return TTLOG_LISTENER_ERROR;
	fwrite(data, 1, len, h->out);
	return fflush(h->out) == 0 ? TTLOG_LISTENER_OK : TTLOG_LISTENER_ERROR;
}

static void hosted_destroy(void *state)
{
	struct hosted *h = state;

	if (h == NULL)
		return;
	h->host->timer_free(h->once);
	h->host->timer_free(h->every);
	h->host->watch_free(h->watch);
	if (h->pipe[0] >= 0)
		close(h->pipe[0]);
	if (h->pipe[1] >= 0)
		close(h->pipe[1]);
	fclose(h->out);
	free(h);
}

static const struct ttlog_listener_api hosted_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "hosted",
	.description = "a listener that uses only its host",
	.options = hosted_spec,
	.options_size = sizeof(struct hosted_opts),
	.consume = hosted_consume,
	.destroy = hosted_destroy,
	.create2 = hosted_create,
	.start2 = hosted_start,
};

TTLOG_LISTENER_ENTRY(hosted_api)
