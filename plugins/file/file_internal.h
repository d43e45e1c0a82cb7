/*
 * file_internal.h - the file listener's options, state and counters, shared
 * by the plugin's source files and read by its unit test.
 *
 * Every function here runs on the writer thread (listener callbacks and
 * the host's timers, which run on the writer's loop), so the state needs no locks. The
 * counters are atomics only so that another thread (a test today, the
 * statistics export later) can read them while the writer runs.
 */
#ifndef TTLOG_FILE_INTERNAL_H
#define TTLOG_FILE_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <ttlog/listener.h>

/* Values of ttlog__file_options.format (file_formats in file.c). */
enum ttlog__file_format {
	TTLOG__FILE_TEXT = 0,  /* TTLOG_ENCODING_TEXT */
	TTLOG__FILE_JSON = 1,  /* TTLOG_ENCODING_JSONL */
	TTLOG__FILE_BINARY = 2 /* TTLOG_ENCODING_CBOR_LZ4, frame after frame */
};

/* Values of ttlog__file_options.fsync (file_fsyncs in file.c). */
enum ttlog__file_fsync {
	TTLOG__FILE_FSYNC_NEVER = 0,
	TTLOG__FILE_FSYNC_INTERVAL = 1,
	TTLOG__FILE_FSYNC_EVERY_BATCH = 2
};

/*
 * The options create() reads, laid out for the option table: STRING is a
 * char *, INT an int64_t, SIZE and DURATION (milliseconds) uint64_t, ENUM
 * an int. Borrowed for the duration of create().
 */
struct ttlog__file_options {
	char *path;		     /* required */
	int format;		     /* enum ttlog__file_format */
	uint64_t rotate_size;	     /* bytes; 0: no rotation by size */
	uint64_t rotate_interval_ms; /* 0: no rotation by time */
	int64_t rotate_keep;	     /* rotated files kept, 0 ... 10000 */
	int fsync;		     /* enum ttlog__file_fsync */
	uint64_t fsync_interval_ms;  /* with fsync == interval, > 0 */
	char *mode;		     /* octal, "0640"; NULL means "0640" */
	/* Templated paths (file_paths.c). */
	int64_t max_open_files; /* 1 ... TTLOG__FILE_MAX_OPEN */
	uint64_t idle_close_ms; /* 0: never closed for idleness */
	char *dir_mode;		/* octal; NULL means "0750" */
};

/* Limits create() enforces. */
#define TTLOG__FILE_MAX_KEEP 10000
/* 100 years: longer durations are typing mistakes, and keeping them below
 * this keeps the millisecond arithmetic far from overflow. */
#define TTLOG__FILE_MAX_MS (100ull * 366 * 24 * 3600 * 1000)
/* After a failed rotation, the next attempt waits this long, so a broken
 * directory costs one try a second rather than one per batch. */
#define TTLOG__FILE_ROTATE_RETRY_MS 1000
/* Most files a templated path keeps open at once. */
#define TTLOG__FILE_MAX_OPEN 65536

struct ttlog__file_counters {
	_Atomic uint64_t bytes;	       /* bytes written, every file */
	_Atomic uint64_t batches;      /* batches written completely */
	_Atomic uint64_t events;       /* events in those batches */
	_Atomic uint64_t write_errors; /* failed writes (each one a RETRY) */
	_Atomic uint64_t fsyncs;       /* successful fsyncs of the file */
	_Atomic uint64_t fsync_errors; /* failed ones, never retried */
	_Atomic uint64_t rotations;    /* the current file renamed away */
	_Atomic uint64_t reopens;      /* reopen() that took effect */
	_Atomic uint64_t open_errors;  /* failed opens and renames */
	/* Templated paths only (file_paths.c). */
	_Atomic uint64_t open_files;  /* files open now (a gauge) */
	_Atomic uint64_t evictions;   /* closed for max_open_files */
	_Atomic uint64_t idle_closes; /* closed after idle_close */
	_Atomic uint64_t path_drops;  /* events whose file could not open */
};

/* The listener's state: allocated by create(), freed by destroy(). */
struct ttlog__file {
	struct ttlog__file_counters c; /* first, for the test */
	char *path;		       /* owned copy of the option */
	char *dir;		       /* its parent directory, owned */
	char *name;		       /* room for "path.N", owned */
	size_t name_cap;
	int format;
	int fsync_policy;
	uint64_t rotate_size, rotate_ms, fsync_ms;
	unsigned keep;
	mode_t mode;
	mode_t dir_mode; /* of directories the listener creates */
	/* A templated path (file_paths.c); NULL for a constant one, which
	 * is the single file described by the rest of this struct. */
	struct ttlog__file_paths *paths;

	/* -1 after a rotation could not open the new file; consume() opens
	 * it again before the next batch. */
	int fd;
	/* The path is a FIFO or a character device, not a file: fd is our
	 * own O_NONBLOCK description, a full FIFO answers RETRY (the rest of
	 * a torn batch goes on from the room watch), and there is nothing to
	 * rotate, sync or mend. */
	int stream;
	struct ttlog_host_watch *room; /* room on fd; NULL until needed */
	int room_fd;		       /* the fd the watch was made for */
	int started;		       /* start2() ran: watches exist */
	uint64_t size;		       /* bytes in the current file */
	/* Monotonic time the current file's first byte was written (or,
	 * for a file found non-empty, when it was created). Unset while the
	 * file is empty: an empty file is never rotated by time. */
	int born_set;
	int64_t born_ms;
	int64_t rotate_retry_ms; /* no rotation attempt before this */
	int rotate_now;		 /* a torn binary file is set aside */
	int dirty;		 /* written to since the last fsync */
	/* fsync: interval (ABI 1.4): an OK is confirmed durable once the
	 * fsync after it succeeded; the seq of the last batch written and
	 * whether it is confirmed. */
	int defer_durable;
	int unconfirmed;
	uint64_t written_seq;
	int64_t synced_ms; /* last fsync (or open) */
	int reopen_wanted; /* reopen() came while a batch was torn */

	/* A batch only partly written when a write failed: a reference is
	 * held, so its encoding stays valid until the rest is written. */
	struct {
		struct ttlog_batch *b;
		uint64_t seq;
		const unsigned char *data;
		size_t len, done;
		size_t event; /* templated path: the event at `done` */
	} pending;

	/* One report when a failure starts and one when it ends. */
	int write_failing, fsync_failing, open_failing, rotate_failing;
	uint64_t episode_errors;

	/* The host's timers; NULL before start2() (and without the policy
	 * that needs them). fsync_armed: the fsync timer is pending. */
	struct ttlog_host_timer *rotate_ev, *fsync_ev;
	int fsync_armed;
	/* Borrowed from create2() until destroy() returns: the name and the
	 * log every report goes through, and the timers. */
	const struct ttlog_host *host;
};

/* ---- file.c ---- */

/*
 * Reports through the host's log, as `what` (a short constant: "write",
 * "fsync", "open", "rotation") with the detail "PATH: <fmt>". The one
 * place that says how reports look.
 */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void ttlog__file_report(const struct ttlog__file *f, int level,
			const char *what, const char *fmt, ...);

/* Monotonic milliseconds. */
int64_t ttlog__file_now_ms(void);

/* fsyncs the current file, counting and reporting; never retries.
 * Returns 0 or -errno. */
int ttlog__file_sync(struct ttlog__file *f, int64_t now);

/* The accounting once every byte of batch b is written, and the fsync
 * every_batch or a due interval asks for. */
void ttlog__file_batch_done(struct ttlog__file *f, struct ttlog_batch *b,
			    int64_t now);
/* Writes p[*done..len) to fd, going on after short writes and EINTR
 * only: any other failure returns at once (-errno; -EAGAIN for a full
 * FIFO), *done telling how far it got. 0 when all is written. */
int ttlog__file_write_all(int fd, const unsigned char *p, size_t len,
			  size_t *done);
/* Arms the fsync timer (fsync: interval) for dirty data. */
void ttlog__file_arm_fsync(struct ttlog__file *f, int64_t now);
/* Counts and reports (once per episode) a failed write. */
void ttlog__file_write_failed(struct ttlog__file *f, const char *what, int err,
			      uint64_t seq, size_t done, size_t len);

/* ---- file_paths.c: a path with ${...} or %Y patterns ---- */

/* Compiles o->path (TTLOG_TEMPLATE_PATH | DATE). *constant set when it
 * names one file whatever the event: then `out` (if not NULL) receives
 * that name, malloc'd. Returns 0, or TTLOG_EINVAL with "PATH: path:
 * column N: ..." in err. Refuses what templated paths cannot do. */
int ttlog__file_paths_check(const struct ttlog__file_options *o, int *constant,
			    char **out, char *err, size_t errlen);
/* Sets f->paths up for a templated o->path. Returns 0 or TTLOG_ENOMEM. */
int ttlog__file_paths_new(struct ttlog__file *f,
			  const struct ttlog__file_options *o);
/* consume() for a templated path. */
int ttlog__file_paths_consume(struct ttlog__file *f, struct ttlog_batch *b,
			      int64_t now);
/* fsyncs every file written since its last fsync; 0 or the first error. */
int ttlog__file_paths_sync(struct ttlog__file *f, int64_t now);
/* Closes every open file (reopen(): they open again when next used). */
void ttlog__file_paths_close_all(struct ttlog__file *f, int64_t now);
/* metrics() (ABI 1.1): open_files, evictions, idle_closes, path_drops;
 * nothing for a constant path. Any thread (the counters are atomic). */
void ttlog__file_paths_metrics(void *state, ttlog_metric_emit_fn emit,
			       void *ctx);
/* start(): the timer that closes idle files. Returns 0 or TTLOG_ENOMEM. */
int ttlog__file_paths_start(struct ttlog__file *f);
/* destroy(): the rest of a torn batch tried once, every file synced
 * (unless fsync: never) and closed, the memory freed. */
void ttlog__file_paths_free(struct ttlog__file *f);

/* ---- file_open.c ---- */

/* Parses a string of octal digits no larger than 0777. Returns 0 or
 * TTLOG_EINVAL. */
int ttlog__file_parse_mode(const char *s, mode_t *out);

/*
 * Opens `path` for appending, creating it with `mode` and its missing
 * parent directories with dir_mode (both narrowed by the umask). Refuses a
 * final component that is a symbolic link, or neither a regular file nor
 * a FIFO or character device. A FIFO or device is opened for writing
 * without blocking and stays so (*stream set); a FIFO that nobody has
 * open for reading is refused (-ENXIO).
 * @param why     filled with the reason on failure.
 * @param stream  set to 1 for a FIFO or character device, else 0.
 * @param size    set to the file's size.
 * @param age_ms  set to its age in milliseconds when it is not empty and
 *                the file system knows when it was created, else -1.
 * @return a descriptor, or TTLOG_EINVAL (refused) or -errno.
 */
int ttlog__file_open(const char *path, mode_t mode, mode_t dir_mode,
		     uint64_t *size, int64_t *age_ms, int *stream, char *why,
		     size_t whylen);

/* A FIFO or character device: written without blocking (see stream). */
static inline int ttlog__file_is_stream(mode_t m)
{
	return S_ISFIFO(m) || S_ISCHR(m);
}

/* Replaces f->fd with a fresh open of f->path (create, rotation, reopen)
 * or, on failure, reports once per episode, counts, and leaves f as it
 * was. Returns 0 or a negative error. */
int ttlog__file_open_current(struct ttlog__file *f, int64_t now);

/* The reopen callback's work: switches to a fresh open of f->path, or
 * keeps the old descriptor and leaves reopen_wanted set to try again
 * before the next batch. Returns 0 or a negative error. */
int ttlog__file_reopen_now(struct ttlog__file *f, int64_t now);

/* file_open.c: "is a directory, not a regular file" (and the like) for
 * a path of mode m that is not a regular file; returns TTLOG_EINVAL. */
int ttlog__file_refuse_kind(mode_t m, char *why, size_t whylen);

/* ---- file_check.c ---- */

/* Validates what the option table cannot (a test, or another host, fills
 * the struct without the registry); sets *mode from the mode option.
 * Returns 0, or TTLOG_EINVAL with "PATH: what is wrong" in err. */
int ttlog__file_check_options(const struct ttlog__file_options *o, mode_t *mode,
			      char *err, size_t errlen);
/* check() of the listener table (ABI 1.3): the options, then the place
 * of the file, without creating or opening anything. */
int ttlog__file_check(const void *options, char *err, size_t errlen);

/* ---- file_rotate.c ---- */

/* Rotates when the current file is due by size (len more bytes would pass
 * rotate.size) or by time, and nothing forbids it now. */
void ttlog__file_maybe_rotate(struct ttlog__file *f, size_t len, int64_t now);

/* (Re)arms the rotation timer for when the current file comes due, or
 * stops it while nothing can come due. */
void ttlog__file_arm_rotate(struct ttlog__file *f, int64_t now);

/* Creates the rotation timer through the host (rotate.interval only).
 * Returns 0 or TTLOG_ENOMEM. */
int ttlog__file_rotate_start(struct ttlog__file *f, int64_t now);

#endif /* TTLOG_FILE_INTERNAL_H */
