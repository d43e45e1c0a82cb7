/*
 * view_read.h - reading a ttlog file event by event: a snapshot
 * (docs/snapshot-format.md) or the file listener's binary output
 * (docs/file-format.md), told apart by their content.
 *
 * The reader streams: it reads the file in chunks, decompresses its LZ4
 * frames incrementally and hands each event to a callback as soon as the
 * CBOR item that holds it is complete. It keeps in memory at most one
 * batch of a binary log, or one item (the header, one event) of a
 * snapshot, plus the snapshot's string table; never the whole file.
 *
 * Errors carry the byte offset in the file where the damage was found
 * and, for damage inside the decompressed content, the content offset.
 */
#ifndef TTLOG_VIEW_READ_H
#define TTLOG_VIEW_READ_H

#include <stddef.h>
#include <stdint.h>

#include "ingest_internal.h"
#include "view_snap.h"

/* What a read came to; the numbers are ttlog-view's exit statuses. */
enum view_status {
	VIEW_OK = 0,
	/* The file could not be opened or read (an I/O error), or it is not
	 * a snapshot or binary log, or of a format version this build does
	 * not read. */
	VIEW_UNREADABLE = 1,
	/* The file is cut short or damaged; the events before the damage
	 * were delivered. */
	VIEW_DAMAGED = 3,
	/* A callback returned non-zero. */
	VIEW_STOPPED = 4,
};

enum view_kind {
	VIEW_KIND_UNKNOWN = 0, /* empty, or not recognised */
	VIEW_KIND_SNAPSHOT,
	VIEW_KIND_BINARY,
};

/* The file being read, as the callbacks see it. */
struct view_file {
	const char *name;		     /* as given to the reader */
	enum view_kind kind;		     /* set before the first callback */
	const struct view_snap_header *snap; /* snapshots only, else NULL */
	uint64_t events;		     /* events delivered before this */
};

struct view_read_cbs {
	/* A snapshot's header was read, before its events. May be NULL. */
	int (*header)(void *arg, const struct view_file *f);
	/* One event. ev and every string it points to are borrowed for the
	 * duration of the call. */
	int (*event)(void *arg, const struct view_file *f,
		     const struct ttlog__in_event *ev);
	/* The reader is about to wait for more input (a read from the file
	 * descriptor): the moment to write out anything pending, so that a
	 * growing input (a pipe) is shown as it arrives. May be NULL. */
	void (*wait)(void *arg);
};

/* Most bytes of decompressed content one item may take: a batch of a
 * binary log or one item of a snapshot. */
#define VIEW_MAX_ITEM_DEFAULT ((size_t)1 << 30)

struct view_read_opts {
	struct view_read_cbs cb;
	void *arg;	 /* passed to every callback */
	size_t chunk;	 /* most bytes per read; 0: 64 KiB */
	size_t max_item; /* 0: VIEW_MAX_ITEM_DEFAULT */
};

/* The longest error message, NUL included. */
#define VIEW_ERR_LEN 512

struct view_result {
	int status; /* enum view_status */
	enum view_kind kind;
	uint64_t events; /* events delivered */
	/* When status is not VIEW_OK, what went wrong, without the file
	 * name (the caller puts it in front): "byte N: what" once the file
	 * is open, "cannot open: why" before. */
	char err[VIEW_ERR_LEN];
};

/*
 * Reads the file at path ("-": standard input) and calls the callbacks.
 * @param name  the name errors and callbacks use (borrowed for the call).
 * @return res->status. A callback's non-zero result stops the reading
 *         with VIEW_STOPPED.
 */
int view_read_path(const char *path, const char *name,
		   const struct view_read_opts *o, struct view_result *res);

/* The same for an open file descriptor (not closed). */
int view_read_fd(int fd, const char *name, const struct view_read_opts *o,
		 struct view_result *res);

/* The same for bytes in memory (borrowed for the call); o->chunk sets how
 * many are "read" at a time, so that tests can cut the input anywhere. */
int view_read_mem(const void *data, size_t len, const char *name,
		  const struct view_read_opts *o, struct view_result *res);

#endif /* TTLOG_VIEW_READ_H */
