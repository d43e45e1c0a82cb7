/*
 * heap_internal.h - the binary min-heap that merges per-thread streams in
 * time order, shared by the writer's drain (writer_drain.c) and the
 * snapshot writer (snapshot_collect.c). The heap is an array of pointers
 * to cursors ordered by one uint64_t field; the function is generated per
 * cursor type so the key is read without an indirect call. No allocation,
 * no locks: usable from a signal handler.
 */
#ifndef TTLOG_HEAP_INTERNAL_H
#define TTLOG_HEAP_INTERNAL_H

#include <stddef.h>

/* Defines `static void name(type **h, size_t n, size_t i)`: moves h[i]
 * down until neither child has a smaller h[x]->field. Build a heap with
 * name(h, n, i) for i from n/2 - 1 down to 0. */
#define TTLOG__HEAP_DOWN(name, type, field)                                    \
	static void name(type **h, size_t n, size_t i)                         \
	{                                                                      \
		for (;;) {                                                     \
			size_t m = i, l = 2 * i + 1, r = l + 1;                \
			if (l < n && h[l]->field < h[m]->field)                \
				m = l;                                         \
			if (r < n && h[r]->field < h[m]->field)                \
				m = r;                                         \
			if (m == i)                                            \
				return;                                        \
			type *t = h[i];                                        \
			h[i] = h[m];                                           \
			h[m] = t;                                              \
			i = m;                                                 \
		}                                                              \
	}

#endif /* TTLOG_HEAP_INTERNAL_H */
