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
 * of that many bytes, for payload-heavy runs: a window into a pool of
 * pseudo-random base64-like text made once at start, the window's offset
 * moving with the sequence number. Consecutive events thus carry
 * different text that LZ4 cannot shrink much, unlike a run of one letter,
 * which would compress to almost nothing and flatter the payload rate.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ttlog/ttlog.h>

/* Bytes of the pad text pool, a power of two: much larger than LZ4's 64 KiB
 * window, so an event's pad has rarely been seen in the last 64 KiB. */
#define POOL_BYTES ((size_t)1 << 20)
/* Step of the pad's offset from one event to the next (odd, so every
 * offset of the pool comes round). */
#define POOL_STEP 7919u

/* POOL_BYTES + pad characters from a 64-letter alphabet, drawn with
 * xorshift64 from a fixed seed (the same text in every run). */
static char *make_pool(size_t pad)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz"
				       "0123456789+/";
	size_t len = POOL_BYTES + pad;
	char *p = malloc(len + 1);
	uint64_t x = 0x9E3779B97F4A7C15ull;

	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = alphabet[x >> 58];
	}
	p[len] = 0;
	return p;
}

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
	char *pool;
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
	pool = make_pool(pad);
	if (pool == NULL)
		return 1;
	rc = ttlog_init_from_file(config);
	if (rc != 0) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], config,
			ttlog_strerror(rc));
		return 1;
	}
	t0 = now_s();
	for (uint64_t i = start; i < start + n; i++) {
		if (pad > 0) {
			size_t off = (size_t)(i * POOL_STEP) & (POOL_BYTES - 1);
			TTLOG_INFO("seq", TTLOG_KV("seq", i),
				   TTLOG_KV_STR("pad", pool + off, pad));
		} else {
			TTLOG_INFO("seq", TTLOG_KV("seq", i));
		}
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
	free(pool);
	return st.dropped_ring_full == 0 && st.listener_dropped == 0 ? 0 : 3;
}
