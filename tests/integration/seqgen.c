/*
 * seqgen.c - an application for the integration tests and the forwarding
 * benchmark: logs N events numbered 0..N-1 through libttlog with the
 * listeners of a ttlog.yaml, then shuts down (which waits for forwarders
 * to be acknowledged, up to their drain_timeout) and prints the library's
 * counters as one JSON line on stdout.
 *
 *   ttlog-seqgen -c ttlog.yaml -n N [-s START] [-p PAD_BYTES] [-b BURST]
 *                [-r EVENTS_PER_SECOND]
 *
 * Every BURST events (default 4096) it waits for the writer to drain
 * (ttlog_flush), so that a test's sequence is never cut by a full ring:
 * the tests are about what happens after the ring. -r paces the run (for
 * tests that break things while a stream flows). -p adds a string field
 * of that many bytes, for payload-heavy runs.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ttlog/ttlog.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *config = NULL;
	uint64_t n = 1000, start = 0, burst = 4096;
	double rate = 0;
	size_t pad = 0;
	char *padding;
	struct ttlog_stats st;
	double t0, t1;
	int opt, rc;

	while ((opt = getopt(argc, argv, "c:n:s:p:b:r:")) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 's':
			start = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			pad = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			burst = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			rate = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr,
				"usage: %s -c ttlog.yaml -n N [-s START] "
				"[-p PAD] [-b BURST]\n",
				argv[0]);
			return 2;
		}
	}
	if (config == NULL || burst == 0) {
		fprintf(stderr, "%s: -c is required\n", argv[0]);
		return 2;
	}
	padding = malloc(pad + 1);
	if (padding == NULL)
		return 1;
	memset(padding, 'x', pad);
	padding[pad] = 0;
	rc = ttlog_init_from_file(config);
	if (rc != 0) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], config,
			ttlog_strerror(rc));
		return 1;
	}
	t0 = now_s();
	for (uint64_t i = start; i < start + n; i++) {
		if (pad > 0)
			TTLOG_INFO("seq", TTLOG_KV("seq", i),
				   TTLOG_KV("pad", (const char *)padding));
		else
			TTLOG_INFO("seq", TTLOG_KV("seq", i));
		if ((i - start + 1) % burst == 0) {
			ttlog_flush();
			/* Paced: sleep until this many events are due. */
			double due = t0 + (double)(i - start + 1) / rate;
			while (rate > 0 && now_s() < due)
				usleep(1000);
		}
	}
	ttlog_flush();
	t1 = now_s();
	ttlog_shutdown();
	memset(&st, 0, sizeof(st));
	ttlog_stats(&st);
	printf("{\"produced\":%llu,\"dropped_ring_full\":%llu,"
	       "\"listener_dropped\":%llu,\"log_seconds\":%.6f,"
	       "\"total_seconds\":%.6f}\n",
	       (unsigned long long)st.produced,
	       (unsigned long long)st.dropped_ring_full,
	       (unsigned long long)st.listener_dropped, t1 - t0, now_s() - t0);
	free(padding);
	return st.dropped_ring_full == 0 && st.listener_dropped == 0 ? 0 : 3;
}
