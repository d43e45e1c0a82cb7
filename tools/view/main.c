/*
 * main.c - ttlog-view: prints the events of ttlog snapshots and of the
 * file listener's binary logs, as text or JSON lines, filtered.
 *
 *   ttlog-view [OPTION]... [FILE]...
 *
 * Events go to standard output as they are read; everything else (the
 * header line of each snapshot, errors) goes to standard error, so that
 * the output of --json stays pure JSON lines. See docs/ttlog-view.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ttlog/version.h>

#include "civil_time.h"
#include "view_filter.h"
#include "view_out.h"
#include "view_read.h"

/* Exit statuses (docs/ttlog-view.md). */
#define EXIT_UNREADABLE 1
#define EXIT_USAGE 2
#define EXIT_DAMAGED 3

struct app {
	struct view_out out;
	struct view_filter filt;
	int quiet;
};

static void usage(FILE *f)
{
	fputs("usage: ttlog-view [OPTION]... [FILE]...\n"
	      "Prints the events of ttlog snapshots and of the file "
	      "listener's binary logs\n"
	      "(told apart by their content). With no FILE, or with -, "
	      "reads standard input.\n"
	      "\n"
	      "Output (events on stdout, snapshot headers and errors on "
	      "stderr):\n"
	      "  --json             one JSON object per line, as the file "
	      "listener's json format;\n"
	      "                     with the sender's host, service, ...; "
	      "events of a\n"
	      "                     snapshot end with its \"service\"\n"
	      "  --color[=WHEN]     color the level: auto (on a terminal "
	      "unless NO_COLOR is set),\n"
	      "                     always (the default of a bare --color), "
	      "never\n"
	      "  -q, --quiet        no header line for each snapshot\n"
	      "Filters (an event is shown when it passes all of them):\n"
	      "  --level LEVEL      LEVEL and above: trace, debug, info, "
	      "warn, error, fatal\n"
	      "  --since TIME       at or after TIME: RFC 3339 "
	      "(2026-11-25T20:31:38Z,\n"
	      "                     2026-11-25T21:31:38.25+01:00) or that "
	      "long ago (30s, 10m, 2h, 1d)\n"
	      "  --until TIME       at or before TIME\n"
	      "  --grep REGEX       the message matches REGEX (POSIX "
	      "extended)\n"
	      "  --field KEY=VALUE  a field KEY whose value reads VALUE (42, "
	      "true, text);\n"
	      "                     repeatable, all must match\n"
	      "  --service NAME     events of service NAME: the sender's "
	      "(binary logs of\n"
	      "                     version 3), else the snapshot's; "
	      "repeatable, any may match\n"
	      "  --host NAME        events of host NAME, in the same way\n"
	      "  -h, --help         this help\n"
	      "  --version          the version\n"
	      "\n"
	      "Exit status: 0 everything was read; 1 a file could not be "
	      "opened or read, or\n"
	      "is not a snapshot or binary log; 2 a usage error; 3 a file is "
	      "truncated or\n"
	      "corrupt (the events before the damage are printed). Every "
	      "file is read.\n",
	      f);
}

static int usage_error(const char *opt, const char *what)
{
	if (opt != NULL)
		fprintf(stderr, "ttlog-view: %s: %s\n", opt, what);
	else
		fprintf(stderr, "ttlog-view: %s\n", what);
	fputs("Try 'ttlog-view --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Writes n bytes of s for a person: control characters become '?', so
 * that a name from a file cannot drive the terminal. */
static void put_clean(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		fputc(c < 0x20 || c == 0x7F ? '?' : c, f);
	}
}

static void put_time(FILE *f, uint64_t ns)
{
	char text[TTLOG__RFC3339_MAX];

	ttlog__rfc3339_format(text, ns, 6);
	fputs(text, f);
}

/* "# FILE: shop pid 4242 on web1: crash (SIGSEGV) at TIME, 3 omitted":
 * whatever the header has of it. */
static void print_header(const struct view_file *f)
{
	const struct view_snap_header *h = f->snap;

	fprintf(stderr, "# %s: ", f->name);
	if (h->has & VIEW_SNAP_HAS_SERVICE)
		put_clean(stderr, h->service.p, h->service.len);
	else
		fputs("(no service)", stderr);
	if (h->has & VIEW_SNAP_HAS_PID)
		fprintf(stderr, " pid %" PRIu64, h->pid);
	if (h->has & VIEW_SNAP_HAS_HOST) {
		fputs(" on ", stderr);
		put_clean(stderr, h->host.p, h->host.len);
	}
	if (h->has & VIEW_SNAP_HAS_TRIGGER) {
		fputs(": ", stderr);
		put_clean(stderr, h->trigger.p, h->trigger.len);
	}
	if ((h->has & VIEW_SNAP_HAS_REASON) &&
	    (h->reason.len != h->trigger.len ||
	     memcmp(h->reason.p, h->trigger.p, h->reason.len) != 0)) {
		fputs(" (", stderr);
		put_clean(stderr, h->reason.p, h->reason.len);
		fputc(')', stderr);
	}
	if (h->has & VIEW_SNAP_HAS_TIME) {
		fputs(" at ", stderr);
		put_time(stderr, h->time_ns);
	}
	if (h->omitted > 0)
		fprintf(stderr, ", %" PRIu64 " events omitted", h->omitted);
	fputc('\n', stderr);
}

static const struct view_str *file_service(const struct view_file *f)
{
	if (f->kind != VIEW_KIND_SNAPSHOT || f->snap == NULL ||
	    !(f->snap->has & VIEW_SNAP_HAS_SERVICE))
		return NULL;
	return &f->snap->service;
}

static const struct view_str *file_host(const struct view_file *f)
{
	if (f->kind != VIEW_KIND_SNAPSHOT || f->snap == NULL ||
	    !(f->snap->has & VIEW_SNAP_HAS_HOST))
		return NULL;
	return &f->snap->host;
}

static int on_header(void *arg, const struct view_file *f)
{
	struct app *a = arg;

	/* What is on stdout comes before the header on stderr. */
	if (view_out_set_service(&a->out, file_service(f)) != 0)
		return 1;
	if (!a->quiet)
		print_header(f);
	return 0;
}

static int on_event(void *arg, const struct view_file *f,
		    const struct ttlog__in_event *ev)
{
	struct app *a = arg;
	int m;

	if (a->out.err != 0)
		return 1; /* a write failed while waiting for input */
	m = view_filter_match(&a->filt, ev, file_service(f), file_host(f));
	if (m < 0) {
		a->out.err = ENOMEM;
		return 1;
	}
	return m > 0 && view_out_event(&a->out, ev) != 0 ? 1 : 0;
}

static void on_wait(void *arg)
{
	struct app *a = arg;

	view_out_flush(&a->out);
}

/* Reads one file; returns its exit status, or -1 when the output
 * failed (nothing more can be written). */
static int view_file(struct app *a, const char *path)
{
	const char *name = strcmp(path, "-") == 0 ? "(stdin)" : path;
	struct view_read_opts o = {
		.cb = {.header = on_header, .event = on_event, .wait = on_wait},
		.arg = a,
	};
	struct view_result res;

	view_out_set_service(&a->out, NULL);
	view_read_path(path, name, &o, &res);
	if (view_out_flush(&a->out) != 0 || res.status == VIEW_STOPPED) {
		fprintf(stderr, "ttlog-view: writing the output: %s\n",
			strerror(a->out.err ? a->out.err : EIO));
		return -1;
	}
	if (res.status == VIEW_OK)
		return 0;
	fprintf(stderr, "ttlog-view: %s: %s\n", name, res.err);
	return res.status == VIEW_DAMAGED ? EXIT_DAMAGED : EXIT_UNREADABLE;
}

enum {
	OPT_JSON = 256,
	OPT_COLOR,
	OPT_LEVEL,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_GREP,
	OPT_FIELD,
	OPT_SERVICE,
	OPT_HOST,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{"json", no_argument, NULL, OPT_JSON},
	{"color", optional_argument, NULL, OPT_COLOR},
	{"quiet", no_argument, NULL, 'q'},
	{"level", required_argument, NULL, OPT_LEVEL},
	{"since", required_argument, NULL, OPT_SINCE},
	{"until", required_argument, NULL, OPT_UNTIL},
	{"grep", required_argument, NULL, OPT_GREP},
	{"field", required_argument, NULL, OPT_FIELD},
	{"service", required_argument, NULL, OPT_SERVICE},
	{"host", required_argument, NULL, OPT_HOST},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* The option just parsed: its long name when getopt_long() found one,
 * else the argument as the user wrote it (without "=value"). */
static const char *opt_name(char **argv, int idx, char *buf, size_t len)
{
	const char *s = argv[optind - 1];
	const char *eq = strchr(s, '=');

	if (idx >= 0)
		snprintf(buf, len, "--%s", long_opts[idx].name);
	else
		snprintf(buf, len, "%.*s", eq ? (int)(eq - s) : (int)strlen(s),
			 s);
	return buf;
}

/* Parses the options into a; returns -1 to go on, else an exit status. */
static int parse_args(struct app *a, int argc, char **argv, int *json,
		      int *color)
{
	const char *when = "auto";
	struct timespec now;
	uint64_t now_ns;
	char err[512], name[64];
	int c, rc, idx = -1;

	clock_gettime(CLOCK_REALTIME, &now);
	now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hq", long_opts, &idx)) != -1) {
		rc = 0;
		switch (c) {
		case OPT_JSON:
			*json = 1;
			break;
		case OPT_COLOR:
			when = optarg ? optarg : "always";
			if (strcmp(when, "auto") && strcmp(when, "always") &&
			    strcmp(when, "never"))
				return usage_error(
					"--color",
					"WHEN is auto, always or never");
			break;
		case 'q':
			a->quiet = 1;
			break;
		case OPT_LEVEL:
			rc = view_filter_set_level(&a->filt, optarg, err,
						   sizeof(err));
			break;
		case OPT_SINCE:
			rc = view_filter_set_since(&a->filt, optarg, now_ns,
						   err, sizeof(err));
			break;
		case OPT_UNTIL:
			rc = view_filter_set_until(&a->filt, optarg, now_ns,
						   err, sizeof(err));
			break;
		case OPT_GREP:
			rc = view_filter_set_grep(&a->filt, optarg, err,
						  sizeof(err));
			break;
		case OPT_FIELD:
			rc = view_filter_add_field(&a->filt, optarg, err,
						   sizeof(err));
			break;
		case OPT_SERVICE:
			rc = view_filter_add_service(&a->filt, optarg, err,
						     sizeof(err));
			break;
		case OPT_HOST:
			rc = view_filter_add_host(&a->filt, optarg, err,
						  sizeof(err));
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("ttlog-view %s (snapshot format %d, batch "
			       "formats 1 to 3)\n",
			       TTLOG_VERSION_STRING, VIEW_SNAP_VERSION);
			return 0;
		case ':':
			return usage_error(
				opt_name(argv, -1, name, sizeof(name)),
				"needs a value");
		default:
			if (optopt != 0)
				snprintf(name, sizeof(name), "-%c", optopt);
			else
				opt_name(argv, -1, name, sizeof(name));
			return usage_error(name, "unknown option");
		}
		if (rc != 0)
			return usage_error(
				opt_name(argv, idx, name, sizeof(name)), err);
		idx = -1;
	}
	if (strcmp(when, "always") == 0) {
		*color = 1;
	} else if (strcmp(when, "auto") == 0) {
		/* no-color.org: NO_COLOR set and not empty turns color off;
		 * an explicit --color=always still wins. */
		const char *nc = getenv("NO_COLOR");
		*color = isatty(STDOUT_FILENO) && (nc == NULL || *nc == '\0');
	}
	if (optind == argc && isatty(STDIN_FILENO))
		return usage_error(NULL, "no FILE, and standard input is a "
					 "terminal");
	return -1;
}

int main(int argc, char **argv)
{
	static char *const stdin_only[] = {"-", NULL};
	char *const *files;
	struct app a;
	int json = 0, color = 0, rc, status = 0, damaged = 0;

	memset(&a, 0, sizeof(a));
	view_filter_init(&a.filt);
	rc = parse_args(&a, argc, argv, &json, &color);
	if (rc >= 0) {
		view_filter_destroy(&a.filt);
		return rc;
	}
	files = optind < argc ? argv + optind : stdin_only;
	view_out_init(&a.out, stdout, json, color);
	for (; *files != NULL; files++) {
		rc = view_file(&a, *files);
		if (rc < 0) {
			status = EXIT_UNREADABLE;
			break;
		}
		if (rc == EXIT_DAMAGED)
			damaged = 1;
		else if (rc != 0)
			status = rc;
	}
	view_out_destroy(&a.out);
	view_filter_destroy(&a.filt);
	if (fclose(stdout) != 0 && status == 0 && !damaged) {
		fprintf(stderr, "ttlog-view: writing the output: %s\n",
			strerror(errno));
		status = EXIT_UNREADABLE;
	}
	return damaged ? EXIT_DAMAGED : status;
}
