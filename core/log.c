/*
 * log.c - the application side: the hot path, each thread's ring, the level
 * gate, init and shutdown, statistics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "origin_internal.h"
#include "clock_internal.h"
#include "host_internal.h"
#include "lib_internal.h"
#include "snapshot_internal.h"

#define DEFAULT_MAX_VALUE 4096u
#define DEFAULT_FLUSH_MS 20u
#define DEFAULT_BATCH_EVENTS 8192u
#define DEFAULT_BATCH_BYTES (1u << 20)

atomic_int ttlog__gate = TTLOG_LEVEL_OFF;
/* ttlog.h lets C++ read the gate as a plain int with __atomic_load_n. */
_Static_assert(sizeof(atomic_int) == sizeof(int) &&
		       _Alignof(atomic_int) == _Alignof(int),
	       "C++ reads ttlog__gate as an int");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the level gate needs no lock");

struct ttlog__lib ttlog__lib = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.level = TTLOG_LEVEL_INFO,
	.wake_fd = -1,
};

/* The calling thread's ring. The pthread key exists only for its
 * destructor, which runs when the thread exits. initial-exec makes the
 * access one %fs-relative load instead of a __tls_get_addr call; the cost
 * is that libttlog takes a few bytes of static TLS, which matters only to
 * a program that dlopen()s it late, after static TLS is used up. */
static _Thread_local struct ttlog__ring *tls_ring
	__attribute__((tls_model("initial-exec")));
static pthread_key_t ring_key;
static pthread_once_t ring_key_once = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------------ */
/* Thread registration                                                 */
/* ------------------------------------------------------------------ */

void ttlog__retire_counters(struct ttlog__ring *r)
{
	ttlog__lib.retired.produced += atomic_load(&r->produced);
	ttlog__lib.retired.dropped_full += atomic_load(&r->dropped_full);
	ttlog__lib.retired.dropped_large += atomic_load(&r->dropped_large);
	ttlog__lib.retired.truncated += atomic_load(&r->truncated);
}

/* Thread exit. A ring registered with the running writer is only marked:
 * the writer drains what is left and frees it. A ring of an earlier run
 * (orphaned by ttlog_shutdown) belongs to nobody else and is freed here. */
static void ring_key_destructor(void *p)
{
	struct ttlog__ring *r = p;

	pthread_mutex_lock(&ttlog__lib.lock);
	if (ttlog__lib.running && r->gen == atomic_load(&ttlog__lib.gen))
		atomic_store_explicit(&r->closed, 1, memory_order_release);
	else
		ttlog__ring_free(r);
	pthread_mutex_unlock(&ttlog__lib.lock);
	tls_ring = NULL;
	ttlog__snap_thread_exit();
}

static void ring_key_create(void)
{
	(void)pthread_key_create(&ring_key, ring_key_destructor);
}

/* Slow path of the first log call of a thread in a run: allocate (or
 * reuse an orphaned) ring and register it with the writer. */
static struct ttlog__ring *ring_attach(void)
{
	struct ttlog__ring *r = tls_ring;

	pthread_once(&ring_key_once, ring_key_create);
	pthread_mutex_lock(&ttlog__lib.lock);
	if (!ttlog__lib.running) {
		pthread_mutex_unlock(&ttlog__lib.lock);
		return NULL;
	}
	if (r != NULL &&
	    r->cap != ttlog__ring_capacity(ttlog__lib.opts.ring_bytes)) {
		ttlog__ring_free(r);
		r = tls_ring = NULL;
	}
	if (r == NULL) {
		r = ttlog__ring_new(ttlog__lib.opts.ring_bytes);
		if (r == NULL) {
			pthread_mutex_unlock(&ttlog__lib.lock);
			atomic_fetch_add(&ttlog__lib.ring_alloc_failed, 1);
			return NULL;
		}
		r->tid = (uint32_t)gettid();
		tls_ring = r;
		(void)pthread_setspecific(ring_key, r);
	} else {
		ttlog__ring_reset(r);
	}
	r->gen = atomic_load(&ttlog__lib.gen);
	r->next = ttlog__lib.rings;
	ttlog__lib.rings = r;
	ttlog__lib.nrings++;
	pthread_mutex_unlock(&ttlog__lib.lock);
	/* A logging thread may overflow its stack: the crash handler then
	 * needs another one to run on. */
	ttlog__snap_thread_enter();
	return r;
}

void ttlog__wake(void)
{
	uint64_t one = 1;

	if (atomic_exchange_explicit(&ttlog__lib.wake_pending, 1,
				     memory_order_acq_rel) == 0) {
		ssize_t n = write(ttlog__lib.wake_fd, &one, sizeof(one));
		(void)n; /* EAGAIN: the counter is already non-zero */
	}
}

/* ------------------------------------------------------------------ */
/* The hot path                                                         */
/* ------------------------------------------------------------------ */

static inline void count(_Atomic uint64_t *c)
{
	/* Only the owning thread writes its counters: no locked add. */
	atomic_store_explicit(c,
			      atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

void ttlog__log(struct ttlog_callsite *cs, const union ttlog__val *v)
{
	struct ttlog__ring *r = tls_ring;
	const uint8_t *types = cs->types;
	unsigned n = cs->nfields;
	uint32_t max_value = ttlog__lib.max_value;
	uint32_t flags = 0;
	size_t size = TTLOG__REC_FIXED;
	unsigned char *p;

	if (__builtin_expect(r == NULL ||
				     r->gen != atomic_load_explicit(
						       &ttlog__lib.gen,
						       memory_order_relaxed),
			     0)) {
		r = ring_attach();
		if (r == NULL)
			return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (types[i] != TTLOG_TYPE_STR) {
			size += 8;
		} else if (v[i].s.len > max_value) {
			size += 4 + max_value;
			flags = TTLOG__REC_TRUNC;
		} else {
			size += 4 + v[i].s.len;
		}
	}
	size = (size + 7) & ~(size_t)7;
	count(&r->produced);
	if (size > r->max_record) {
		count(&r->dropped_large);
		return;
	}
	p = ttlog__ring_reserve(r, (uint32_t)size);
	if (p == NULL) {
		count(&r->dropped_full);
		return;
	}
	{
		struct ttlog__rec_hdr h = {(uint32_t)size, flags};
		uint64_t ts = ttlog__clock_raw();
		memcpy(p, &h, sizeof(h));
		memcpy(p + 8, &ts, 8);
		memcpy(p + 16, &cs, sizeof(cs));
		p += TTLOG__REC_FIXED;
	}
	for (unsigned i = 0; i < n; i++) {
		if (types[i] != TTLOG_TYPE_STR) {
			memcpy(p, &v[i], 8);
			p += 8;
		} else {
			uint32_t len = v[i].s.len > max_value
					       ? max_value
					       : (uint32_t)v[i].s.len;
			memcpy(p, &len, 4);
			memcpy(p + 4, v[i].s.ptr, len);
			p += 4 + len;
		}
	}
	if (flags)
		count(&r->truncated);
	if (ttlog__ring_commit(r, (uint32_t)size))
		ttlog__wake();
}

/* ------------------------------------------------------------------ */
/* Levels                                                               */
/* ------------------------------------------------------------------ */

static int level_valid(int level)
{
	return level >= TTLOG_LEVEL_TRACE && level <= TTLOG_LEVEL_OFF;
}

void ttlog_set_level(enum ttlog_level level)
{
	if (!level_valid((int)level))
		return;
	pthread_mutex_lock(&ttlog__lib.lock);
	ttlog__lib.level = (int)level;
	if (ttlog__lib.running)
		atomic_store_explicit(&ttlog__gate, (int)level,
				      memory_order_relaxed);
	pthread_mutex_unlock(&ttlog__lib.lock);
}

enum ttlog_level ttlog_get_level(void)
{
	pthread_mutex_lock(&ttlog__lib.lock);
	int level = ttlog__lib.level;
	pthread_mutex_unlock(&ttlog__lib.lock);
	return (enum ttlog_level)level;
}

const char *ttlog_level_name(enum ttlog_level level)
{
	static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN",
					    "ERROR", "FATAL", "OFF"};
	return level_valid((int)level) ? names[level] : "?";
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                            */
/* ------------------------------------------------------------------ */

void ttlog_options_init(struct ttlog_options *o)
{
	memset(o, 0, sizeof(*o));
	o->struct_size = (uint32_t)sizeof(*o);
	o->service = "ttlog";
	o->level = TTLOG_LEVEL_INFO;
	o->ring_bytes = TTLOG_DEFAULT_RING_BYTES;
	o->max_value_bytes = DEFAULT_MAX_VALUE;
	o->flush_interval_ms = DEFAULT_FLUSH_MS;
	o->batch_max_events = DEFAULT_BATCH_EVENTS;
	o->batch_max_bytes = DEFAULT_BATCH_BYTES;
	o->clock = TTLOG_CLOCK_AUTO;
	o->snapshot_on_crash = true;
}

/* Copies the caller's options over the defaults, as far as the caller's
 * struct reaches, and checks them. */
static int options_load(const struct ttlog_options *in, struct ttlog_options *o)
{
	ttlog_options_init(o);
	if (in != NULL) {
		size_t n = in->struct_size;
		if (n < offsetof(struct ttlog_options, listeners))
			return TTLOG_EINVAL;
		memcpy(o, in, n < sizeof(*o) ? n : sizeof(*o));
		o->struct_size = (uint32_t)sizeof(*o);
	}
	if (!level_valid((int)o->level) || o->ring_bytes == 0 ||
	    o->flush_interval_ms == 0 || o->batch_max_events == 0 ||
	    o->batch_max_bytes == 0 || o->max_value_bytes == 0 ||
	    o->max_value_bytes > UINT32_MAX / 2 ||
	    (o->nlisteners > 0 && o->listeners == NULL))
		return TTLOG_EINVAL;
	if (o->service == NULL)
		o->service = "ttlog";
	return 0;
}

int ttlog_init(const struct ttlog_options *in)
{
	return ttlog__init_owned(in, NULL, NULL);
}

int ttlog__init_owned(const struct ttlog_options *in, void (*release)(void *),
		      void *arg)
{
	struct ttlog_options o;
	struct ttlog__writer *w;
	int rc = options_load(in, &o);

	if (rc != 0)
		return rc;
	pthread_mutex_lock(&ttlog__lib.lock);
	if (ttlog__lib.running || ttlog__lib.wake_fd >= 0) {
		pthread_mutex_unlock(&ttlog__lib.lock);
		return TTLOG_EALREADY;
	}
	ttlog__lib.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ttlog__lib.wake_fd < 0) {
		rc = -errno;
		pthread_mutex_unlock(&ttlog__lib.lock);
		return rc;
	}
	if (ttlog__origin_self_set(o.service) != 0) {
		close(ttlog__lib.wake_fd);
		ttlog__lib.wake_fd = -1;
		pthread_mutex_unlock(&ttlog__lib.lock);
		return TTLOG_ENOMEM;
	}
	ttlog__lib.opts = o;
	ttlog__lib.max_value = (uint32_t)o.max_value_bytes;
	ttlog__lib.level = (int)o.level;
	memset(&ttlog__lib.retired, 0, sizeof(ttlog__lib.retired));
	atomic_store(&ttlog__lib.ring_alloc_failed, 0);
	atomic_store(&ttlog__lib.delivered, 0);
	atomic_store(&ttlog__lib.batches, 0);
	atomic_store(&ttlog__lib.listener_dropped, 0);
	atomic_store(&ttlog__lib.dropped_nomem, 0);
	atomic_store(&ttlog__lib.ingested, 0);
	atomic_store(&ttlog__lib.dropped_invalid, 0);
	atomic_store(&ttlog__lib.filtered_level, 0);
	atomic_store(&ttlog__lib.wake_pending, 0);
	ttlog__clock_kind = ttlog__clock_resolve(o.clock);
	ttlog__lib.opts.clock = (enum ttlog_clock)ttlog__clock_kind;
	pthread_mutex_unlock(&ttlog__lib.lock);

	/* Listener callbacks may log, so start them without the lock. */
	rc = ttlog__writer_start(&ttlog__lib.opts, &w);

	pthread_mutex_lock(&ttlog__lib.lock);
	if (rc != 0) {
		close(ttlog__lib.wake_fd);
		ttlog__lib.wake_fd = -1;
	} else {
		ttlog__lib.writer = w;
		ttlog__lib.owned_release = release;
		ttlog__lib.owned = arg;
		atomic_fetch_add(&ttlog__lib.gen, 1);
		ttlog__lib.running = 1;
		atomic_store(&ttlog__gate, ttlog__lib.level);
	}
	pthread_mutex_unlock(&ttlog__lib.lock);
	return rc;
}

int ttlog_shutdown(void)
{
	struct ttlog__ring *r, *next;
	struct ttlog__writer *w;
	void (*release)(void *);
	void *owned;

	pthread_mutex_lock(&ttlog__lib.lock);
	if (!ttlog__lib.running) {
		pthread_mutex_unlock(&ttlog__lib.lock);
		return TTLOG_ENOTRUNNING;
	}
	atomic_store(&ttlog__gate, TTLOG_LEVEL_OFF);
	w = ttlog__lib.writer;
	pthread_mutex_unlock(&ttlog__lib.lock);

	/* Drains every ring, flushes and destroys the listeners. */
	ttlog__writer_stop(w);

	pthread_mutex_lock(&ttlog__lib.lock);
	for (r = ttlog__lib.rings; r != NULL; r = next) {
		next = r->next;
		ttlog__retire_counters(r);
		r->next = NULL;
		/* A ring whose thread exited, or the caller's own, can go;
		 * another live thread may be inside a log call right now, so
		 * its ring stays until that thread exits (the destructor frees
		 * it) or logs again in a later run (it is reused). */
		if (atomic_load(&r->closed) || r == tls_ring) {
			if (r == tls_ring) {
				tls_ring = NULL;
				(void)pthread_setspecific(ring_key, NULL);
			}
			ttlog__ring_free(r);
		}
	}
	ttlog__lib.rings = NULL;
	ttlog__lib.nrings = 0;
	ttlog__lib.writer = NULL;
	ttlog__origin_self_clear();
	ttlog__lib.running = 0;
	atomic_fetch_add(&ttlog__lib.gen, 1);
	close(ttlog__lib.wake_fd);
	ttlog__lib.wake_fd = -1;
	release = ttlog__lib.owned_release;
	owned = ttlog__lib.owned;
	ttlog__lib.owned_release = NULL;
	ttlog__lib.owned = NULL;
	pthread_mutex_unlock(&ttlog__lib.lock);
	/* The listeners are gone: their plugins can be unloaded. */
	if (release != NULL)
		release(owned);
	return 0;
}

static int with_writer(void (*fn)(struct ttlog__writer *))
{
	struct ttlog__writer *w;

	pthread_mutex_lock(&ttlog__lib.lock);
	w = ttlog__lib.running ? ttlog__lib.writer : NULL;
	pthread_mutex_unlock(&ttlog__lib.lock);
	if (w == NULL)
		return TTLOG_ENOTRUNNING;
	/* A concurrent ttlog_shutdown() is a caller error, as documented. */
	fn(w);
	return 0;
}

int ttlog_snapshot(const char *reason)
{
	return ttlog__host_snapshot(ttlog__host_writer(), "request",
				    reason != NULL ? reason : "");
}

int ttlog_snapshot_stats(struct ttlog_snapshot_stats *out)
{
	if (out == NULL)
		return TTLOG_EINVAL;
	ttlog__snap_stats(out);
	return 0;
}

int ttlog_flush(void)
{
	return with_writer(ttlog__writer_flush);
}

int ttlog_reopen(void)
{
	return with_writer(ttlog__writer_reopen);
}

/* ------------------------------------------------------------------ */
/* Statistics                                                           */
/* ------------------------------------------------------------------ */

int ttlog_stats(struct ttlog_stats *out)
{
	int running;

	if (out == NULL)
		return TTLOG_EINVAL;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&ttlog__lib.lock);
	running = ttlog__lib.running;
	out->produced = ttlog__lib.retired.produced;
	out->dropped_ring_full = ttlog__lib.retired.dropped_full;
	out->dropped_too_large = ttlog__lib.retired.dropped_large;
	out->truncated = ttlog__lib.retired.truncated;
	for (struct ttlog__ring *r = ttlog__lib.rings; r; r = r->next) {
		out->produced += atomic_load(&r->produced);
		out->dropped_ring_full += atomic_load(&r->dropped_full);
		out->dropped_too_large += atomic_load(&r->dropped_large);
		out->truncated += atomic_load(&r->truncated);
		out->ring_bytes_used += ttlog__ring_used(r);
		out->ring_bytes_total += r->cap;
		out->threads++;
	}
	pthread_mutex_unlock(&ttlog__lib.lock);
	/* A thread that could not get a ring lost the event it tried. */
	uint64_t failed = atomic_load(&ttlog__lib.ring_alloc_failed);
	out->produced += failed;
	out->dropped_ring_full += failed;
	out->delivered = atomic_load(&ttlog__lib.delivered);
	out->batches = atomic_load(&ttlog__lib.batches);
	out->listener_dropped = atomic_load(&ttlog__lib.listener_dropped);
	out->dropped_no_memory = atomic_load(&ttlog__lib.dropped_nomem);
	out->ingested = atomic_load(&ttlog__lib.ingested);
	out->dropped_invalid = atomic_load(&ttlog__lib.dropped_invalid);
	out->filtered_level = atomic_load(&ttlog__lib.filtered_level);
	return running ? 0 : TTLOG_ENOTRUNNING;
}

int ttlog_listener_stats(size_t index, struct ttlog_listener_stats *out)
{
	int rc;

	if (out == NULL)
		return TTLOG_EINVAL;
	pthread_mutex_lock(&ttlog__lib.lock);
	rc = ttlog__lib.running ? ttlog__writer_listener_stats(
					  ttlog__lib.writer, index, out)
				: TTLOG_ENOTRUNNING;
	pthread_mutex_unlock(&ttlog__lib.lock);
	return rc;
}

const char *ttlog_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define TTLOG__ERRNO_TEXT(name, value, text)                                   \
	case TTLOG_##name:                                                     \
		return text;
		TTLOG_ERRNO_MAP(TTLOG__ERRNO_TEXT)
#undef TTLOG__ERRNO_TEXT
	default:
		return err < 0 && err > -1000 ? strerror(-err)
					      : "unknown error";
	}
}
