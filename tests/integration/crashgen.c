/*
 * crashgen.c - ttlog-crashgen, an application that logs a known sequence
 * and then dies, for the flight recorder's tests
 * (tests/integration/test_snapshot.py).
 *
 *   ttlog-crashgen DIR MODE N
 *
 * Logs "step" with seq = 0 .. N-1 from the main thread, then "about to
 * crash" with the mode, then, by MODE:
 *   segv    writes through a null pointer
 *   abort   calls abort()
 *   stack   recurses until the stack overflows
 *   fpe     divides an integer by zero
 *   chain   installs its own SIGSEGV handler before ttlog_init(); that
 *           handler exits with status 42 once ttlog's has run
 *   request writes a snapshot with ttlog_snapshot() and exits 0
 * Snapshots go to DIR (service "crashgen").
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ttlog/ttlog.h>

static void chained(int sig)
{
	static const char m[] = "crashgen: the application's handler ran\n";
	ssize_t w = write(STDERR_FILENO, m, sizeof(m) - 1);
	(void)w;
	(void)sig;
	_exit(42);
}

/* Each frame keeps a page of its own, so the stack runs out quickly; the
 * limit (never reached) keeps the recursion from looking infinite to the
 * compiler. */
static volatile long depth_limit = 1L << 40;

static int recurse(volatile char *prev, long depth)
{
	volatile char page[4096];
	if (depth >= depth_limit)
		return 0;
	page[0] = (char)depth;
	page[4095] = prev != NULL ? prev[0] : 0;
	return recurse(page, depth + 1) + page[1];
}

/* The faults themselves, out of reach of UBSan's checks in a sanitizer
 * build (it would report them and exit instead of letting them fault).
 * no_sanitize("undefined") is the spelling both gcc and clang accept. */
__attribute__((no_sanitize("undefined"), noinline)) static void
null_write(uintptr_t zero)
{
	*(volatile int *)zero = 1;
}

__attribute__((no_sanitize("undefined"), noinline)) static int divide(int by)
{
	volatile int d = by;
	return 10 / d;
}

int main(int argc, char **argv)
{
	struct ttlog_options o;
	const char *mode;
	long n;

	if (argc != 4) {
		fprintf(stderr, "usage: ttlog-crashgen DIR MODE N\n");
		return 2;
	}
	mode = argv[2];
	n = atol(argv[3]);
	if (strcmp(mode, "chain") == 0)
		signal(SIGSEGV, chained);
	ttlog_options_init(&o);
	o.service = "crashgen";
	o.level = TTLOG_LEVEL_TRACE;
	o.snapshot_dir = argv[1];
	if (ttlog_init(&o) != 0) {
		fprintf(stderr, "crashgen: ttlog_init failed\n");
		return 3;
	}
	for (long i = 0; i < n; i++)
		TTLOG_INFO("step", TTLOG_KV("seq", i),
			   TTLOG_KV("half", (double)i / 2));
	TTLOG_ERROR("about to crash", TTLOG_KV("mode", mode));

	if (strcmp(mode, "segv") == 0 || strcmp(mode, "chain") == 0) {
		null_write((uintptr_t)(argc - 4));
	} else if (strcmp(mode, "abort") == 0) {
		abort();
	} else if (strcmp(mode, "stack") == 0) {
		return recurse(NULL, 0);
	} else if (strcmp(mode, "fpe") == 0) {
		return divide(argc - 4);
	} else if (strcmp(mode, "request") == 0) {
		int rc = ttlog_snapshot("asked");
		ttlog_shutdown();
		return rc == 0 ? 0 : 4;
	}
	fprintf(stderr, "crashgen: unknown mode %s\n", mode);
	return 2;
}
