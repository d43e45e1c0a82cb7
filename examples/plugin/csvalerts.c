/*
 * csvalerts.c - an example listener plugin of ABI 1.2: appends every event
 * at WARN or above to a CSV file, one line per event: time, level, msg.
 *
 *   listeners:
 *     - name: alerts
 *       type: csvalerts         # or plugin: /path/to/csvalerts.so
 *       path: /var/log/myapp/alerts.csv
 *
 *   2026-12-04T20:43:36.123456789Z,WARN,"disk ""/data"" is 91% full"
 *
 * It talks to ttlog only through <ttlog/listener.h>: create2() gets the
 * host, which gives the listener its name and a log for its errors, and
 * start2() uses the host's timer to push the lines to the file once a
 * second, so that alerts are on disk even while the program is quiet.
 * docs/writing-a-plugin.md walks through it.
 */
#define _POSIX_C_SOURCE 200809L /* strdup, gmtime_r */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ttlog/listener.h>

struct csvalerts_opts {
	char *path; /* valid during create2() only: copy it */
};

static const struct ttlog_option_spec csvalerts_options[] = {
	{TTLOG_OPTION_STRING, "path", NULL,
	 offsetof(struct csvalerts_opts, path),
	 "CSV file the alerts are appended to", NULL, TTLOG_OPTION_REQUIRED},
	{0},
};

struct csvalerts {
	const struct ttlog_host *host; /* borrowed until destroy() returns */
	char *path;		       /* our copy of the option */
	FILE *out;
	struct ttlog_host_timer *flush_timer;
	int failing; /* reported the current run of write errors */
};

/* Opens the file for appending; says why not through the host's log. */
static int open_out(struct csvalerts *c)
{
	c->out = fopen(c->path, "a");
	if (c->out != NULL)
		return 0;
	c->host->log(c->host, TTLOG_LEVEL_ERROR, "cannot open", "%s: %s",
		     c->path, strerror(errno));
	return TTLOG_ESYSTEM;
}

static void csvalerts_destroy(void *state)
{
	struct csvalerts *c = state;

	if (c == NULL)
		return;
	c->host->timer_free(c->flush_timer);
	if (c->out != NULL)
		fclose(c->out);
	free(c->path);
	free(c);
}

static int csvalerts_create(const void *options, const struct ttlog_host *host,
			    void **state)
{
	const struct csvalerts_opts *o = options;
	struct csvalerts *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return TTLOG_ENOMEM;
	c->host = host;
	c->path = strdup(o->path);
	if (c->path == NULL) {
		free(c);
		return TTLOG_ENOMEM;
	}
	/* A file that cannot be opened is a configuration error: refuse
	 * now, and the host names this listener in the failure. */
	if (open_out(c) != 0) {
		csvalerts_destroy(c);
		return TTLOG_ESYSTEM;
	}
	*state = c;
	return 0;
}

static void on_flush_timer(void *arg)
{
	struct csvalerts *c = arg;
	fflush(c->out);
}

static int csvalerts_start(void *state, const struct ttlog_host *host)
{
	struct csvalerts *c = state;

	c->flush_timer = host->timer_new(host, on_flush_timer, c);
	if (c->flush_timer == NULL ||
	    host->timer_start(c->flush_timer, 1000, 1) != 0)
		return TTLOG_ENOMEM;
	return 0;
}

/* The message as one CSV field: quoted, with quotes doubled. */
static void put_csv_field(FILE *f, const char *s)
{
	putc('"', f);
	for (; *s != 0; s++) {
		if (*s == '"')
			putc('"', f);
		putc(*s, f);
	}
	putc('"', f);
}

static int csvalerts_consume(void *state, struct ttlog_batch *b)
{
	struct csvalerts *c = state;
	struct ttlog_event e;

	for (size_t i = 0; i < ttlog_batch_count(b); i++) {
		struct tm tm;
		time_t secs;
		char when[32];

		if (ttlog_batch_event(b, i, &e) != 0 ||
		    e.level < TTLOG_LEVEL_WARN)
			continue;
		secs = (time_t)(e.time_ns / 1000000000u);
		gmtime_r(&secs, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(c->out, "%s.%09uZ,%s,", when,
			(unsigned)(e.time_ns % 1000000000u),
			ttlog_level_name((enum ttlog_level)e.level));
		put_csv_field(c->out, e.msg);
		putc('\n', c->out);
	}
	if (ferror(c->out)) {
		/* stdio cannot say how much of the batch reached the file,
		 * so the batch is dropped (counted by ttlog), not retried.
		 * One report per run of failures. */
		clearerr(c->out);
		if (!c->failing)
			c->host->log(c->host, TTLOG_LEVEL_ERROR, "write failed",
				     "%s", c->path);
		c->failing = 1;
		return TTLOG_LISTENER_ERROR;
	}
	if (c->failing)
		c->host->log(c->host, TTLOG_LEVEL_INFO, "writing again", "%s",
			     c->path);
	c->failing = 0;
	return TTLOG_LISTENER_OK;
}

static int csvalerts_flush(void *state)
{
	struct csvalerts *c = state;
	return fflush(c->out) == 0 ? 0 : TTLOG_ESYSTEM;
}

/* After logrotate renamed the file: continue in a new one at `path`. */
static int csvalerts_reopen(void *state)
{
	struct csvalerts *c = state;
	FILE *old = c->out;

	if (open_out(c) != 0) {
		c->out = old; /* keep writing where we were */
		return TTLOG_ESYSTEM;
	}
	fclose(old);
	return 0;
}

static const struct ttlog_listener_api csvalerts_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "csvalerts",
	.description = "appends WARN and above as CSV lines: time,level,msg",
	.options = csvalerts_options,
	.options_size = sizeof(struct csvalerts_opts),
	.consume = csvalerts_consume,
	.flush = csvalerts_flush,
	.destroy = csvalerts_destroy,
	.reopen = csvalerts_reopen,
	.create2 = csvalerts_create,
	.start2 = csvalerts_start,
};

TTLOG_LISTENER_ENTRY(csvalerts_api)
