/*
 * durable_internal.h - what the writer remembers about the batches a
 * listener took but has not yet confirmed as durable (ABI 1.4
 * defer_durable() and durable()), and the writer's durable number built
 * on it (ttlog__host_durable()). Writer thread only.
 */
#ifndef TTLOG_DURABLE_INTERNAL_H
#define TTLOG_DURABLE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct ttlog__writer;

/* The most batches remembered per listener. Past it, the newest entry
 * stands for the batches after it too (it keeps its dispatch number and
 * takes the newer seq): durable waits a little longer, memory stays
 * bounded (16 bytes an entry). A listener that holds this many batches
 * unconfirmed is stuck, and that is said once. */
#define TTLOG__DURABLE_MAX (1u << 18)

/* Per listener, inside its host: the batches it answered OK for and has
 * not confirmed, in the order it took them, oldest first (a ring). */
struct ttlog__durable_fifo {
	struct ttlog__durable_ent {
		uint64_t seq; /* ttlog_batch_seq() */
		uint64_t no;  /* the writer's dispatch number */
	} * e;
	size_t head, len, cap;
	int deferred; /* defer_durable() was called */
	int full_said;
};

/* Remembers a batch offered to the listener (before consume(), so that a
 * confirmation from inside consume() finds it). name: for the one line
 * said when the bound is reached. */
void ttlog__durable_fifo_push(struct ttlog__durable_fifo *f, uint64_t seq,
			      uint64_t no, const char *name);
/* Forgets the batch just pushed: the listener did not answer OK. */
void ttlog__durable_fifo_unpush(struct ttlog__durable_fifo *f, uint64_t seq,
				uint64_t no);
/* The listener confirmed the batch `seq` and all before it. Returns 1
 * when something was confirmed, 0 for a seq it does not hold. */
int ttlog__durable_fifo_confirm(struct ttlog__durable_fifo *f, uint64_t seq);
/* The dispatch number of the oldest unconfirmed batch; 0 for none. */
uint64_t ttlog__durable_fifo_oldest(const struct ttlog__durable_fifo *f);
void ttlog__durable_fifo_destroy(struct ttlog__durable_fifo *f);

/* Every batch up to this dispatch number is durable (see
 * ttlog__host_durable()). */
uint64_t ttlog__writer_durable(const struct ttlog__writer *w);
/* A listener confirmed something: tells the taken function now, unless
 * the writer is quiet (handing a batch out, which tells it when done, or
 * destroying the listeners at shutdown). */
void ttlog__writer_durable_moved(void);

#endif /* TTLOG_DURABLE_INTERNAL_H */
