/*
 * demo.c - logs from two threads through libttlog and prints what the
 * writer delivers, as text lines on stdout, then the library's counters.
 *
 *   ttlog-demo [-c ttlog.yaml] [EVENTS_PER_THREAD]
 *
 * With -c the listeners come from the file (ttlog_init_from_file); without
 * it, an in-process listener prints text lines.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttlog/listener.h>
#include <ttlog/ttlog.h>

static int print_batch(void *state, struct ttlog_batch *b)
{
	const void *text;
	size_t len;
	(void)state;

	if (ttlog_batch_encode(b, TTLOG_ENCODING_TEXT, &text, &len) != 0)
		return TTLOG_LISTENER_ERROR;
	fwrite(text, 1, len, stdout);
	return TTLOG_LISTENER_OK;
}

static int flush_stdout(void *state)
{
	(void)state;
	return fflush(stdout) == 0 ? 0 : TTLOG_ESYSTEM;
}

static void nothing(void *state)
{
	(void)state;
}

static const struct ttlog_listener_api print_api = {
	.abi_version = TTLOG_LISTENER_ABI_VERSION,
	.struct_size = sizeof(struct ttlog_listener_api),
	.name = "demo-print",
	.description = "prints each batch as text lines on stdout",
	.consume = print_batch,
	.flush = flush_stdout,
	.destroy = nothing,
};

static long events_per_thread = 5;

static void *worker(void *arg)
{
	const char *name = arg;
	for (long i = 0; i < events_per_thread; i++)
		TTLOG_INFO("request done", TTLOG_KV("worker", name),
			   TTLOG_KV("seq", i), TTLOG_KV("ms", 0.25 * (double)i),
			   TTLOG_KV("ok", (bool)(i % 4 != 3)));
	return NULL;
}

int main(int argc, char **argv)
{
	struct ttlog_listener_config l = {.api = &print_api};
	struct ttlog_options o;
	struct ttlog_stats st;
	const char *config = NULL;
	pthread_t t[2];
	int rc, i = 1;

	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		config = argv[2];
		i = 3;
	}
	if (argc > i)
		events_per_thread = strtol(argv[i], NULL, 10);
	if (config != NULL) {
		rc = ttlog_init_from_file(config);
	} else {
		ttlog_options_init(&o);
		o.service = "ttlog-demo";
		o.listeners = &l;
		o.nlisteners = 1;
		rc = ttlog_init(&o);
	}
	if (rc != 0) {
		fprintf(stderr, "ttlog-demo: ttlog_init: %s\n",
			ttlog_strerror(rc));
		return 1;
	}
	TTLOG_INFO("demo started", TTLOG_KV("threads", 2),
		   TTLOG_KV("events_per_thread", events_per_thread));
	TTLOG_DEBUG("not shown: below the INFO level");
	pthread_create(&t[0], NULL, worker, "alpha");
	pthread_create(&t[1], NULL, worker, "beta");
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	TTLOG_WARN("hostile \"input\" is escaped",
		   TTLOG_KV_STR("raw", "tab\there\nnul\0end", 16));
	ttlog_flush();
	ttlog_stats(&st);
	ttlog_shutdown();
	printf("-- produced=%llu delivered=%llu dropped=%llu batches=%llu\n",
	       (unsigned long long)st.produced,
	       (unsigned long long)st.delivered,
	       (unsigned long long)(st.dropped_ring_full +
				    st.dropped_too_large),
	       (unsigned long long)st.batches);
	return 0;
}
