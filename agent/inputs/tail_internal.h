/*
 * tail_internal.h - the tail input: files followed as they grow, on the
 * writer's loop. tail.c holds the input's glue (start, stop, reload,
 * checks), tail_watch.c finds the files (globs, inotify, polling),
 * tail_file.c reads one file (identity, lines, rotation) and tail_ckpt.c
 * keeps the positions in the state file. The pure parts (the identity
 * record, the line splitter) are declared apart so that unit tests reach
 * them without a loop.
 */
#ifndef TTLOG_TAIL_INTERNAL_H
#define TTLOG_TAIL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"

struct ttlog__input;
struct ttlog__input_opts;
struct ttlog__input_stats;
struct ttlog__cfg_node;
struct ttlog__diag;
struct ttlog__ml;
struct ttlog__ml_rule;
struct event;

/* The bytes of a file's beginning that identify it with its inode. */
#define TTLOG__TAIL_FP_MAX 256u
/* The most one file is read per turn of the loop: a busy file cannot
 * hold the others (or the loop) for longer than that takes. */
#define TTLOG__TAIL_QUANTUM ((size_t)256 << 10)
/* Positions handed on and not yet durable that a file remembers; past
 * it every other one is forgotten (saved in coarser steps, never early). */
#define TTLOG__TAIL_NOTES 32

enum ttlog__tail_watch {
	TTLOG__TAIL_AUTO = 0,
	TTLOG__TAIL_INOTIFY = 1,
	TTLOG__TAIL_POLL = 2
};
/* Line formats: the input types whose parser they use. */
enum ttlog__tail_format {
	TTLOG__TAIL_RAW = 0,
	TTLOG__TAIL_JSON = 1,
	TTLOG__TAIL_SYSLOG = 2
};
enum ttlog__tail_cont {
	TTLOG__TAIL_CONT_NONE = 0,
	TTLOG__TAIL_CONT_INDENT = 1,
	TTLOG__TAIL_CONT_BACKSLASH = 2
};

/* ---- identity and the saved position (tail_file.c, pure) ---- */

/* What a file is (device, inode and a fingerprint of its first fp_len
 * bytes) and where it stands. */
struct ttlog__tail_pos {
	uint64_t dev, ino;
	uint32_t fp_len, fp_crc;
	uint64_t off;
};
/* A state record's value: version 1, dev, ino, fp_len, fp_crc, off. */
#define TTLOG__TAIL_POS_LEN 33
void ttlog__tail_pos_encode(const struct ttlog__tail_pos *p,
			    unsigned char out[TTLOG__TAIL_POS_LEN]);
/* @return 0, or -1 when v is not a version 1 record. */
int ttlog__tail_pos_decode(const void *v, size_t len,
			   struct ttlog__tail_pos *p);
/* CRC-32C of the first min(size, TTLOG__TAIL_FP_MAX) bytes of fd into
 * *len and *crc; 0, or -1 (errno) when they cannot be read. */
int ttlog__tail_fingerprint(int fd, uint64_t size, uint32_t *len,
			    uint32_t *crc);
/* Whether the open file fd (size bytes, dev, ino) is the one p describes:
 * the same inode, at least fp_len bytes, and the same first fp_len bytes.
 * A shorter file on that inode is another file (or the same one
 * truncated: either way its position is gone). */
int ttlog__tail_same(const struct ttlog__tail_pos *p, int fd, uint64_t dev,
		     uint64_t ino, uint64_t size);

/* ---- lines (tail_file.c, pure) ---- */

/* A line, as the splitter hands it on: its bytes (borrowed for the call),
 * whether it was cut at max bytes, and the file offset after it (for a
 * cut line: where the line began, so that resuming there repeats it
 * rather than starting in its middle). */
typedef void (*ttlog__tail_line_fn)(void *arg, const char *line, size_t len,
				    int cut, uint64_t end_off);

/* One file's partial line: at most max bytes are kept. */
struct ttlog__tail_lines {
	char *buf;
	size_t len, cap, max;
	uint64_t start; /* file offset of buf[0] */
	int skipping;	/* dropping the rest of a cut line */
	/* The offset after the last line boundary passed: every byte before
	 * it belongs to a line handed on (or skipped). */
	uint64_t done;
};
void ttlog__tail_lines_init(struct ttlog__tail_lines *l, size_t max,
			    uint64_t off);
void ttlog__tail_lines_destroy(struct ttlog__tail_lines *l);
/* Forgets the partial line; the next byte fed is at offset off. */
void ttlog__tail_lines_reset(struct ttlog__tail_lines *l, uint64_t off);
/*
 * Splits n bytes read at file offset l->done + (what is held) on '\n'.
 * Lines go to fn; one longer than l->max goes out cut at l->max bytes and
 * the rest of it up to its '\n' is skipped.
 * @return the number of lines cut, or -1 when out of memory (the partial
 *         line is then dropped, as if cut).
 */
long ttlog__tail_lines_feed(struct ttlog__tail_lines *l, const char *p,
			    size_t n, ttlog__tail_line_fn fn, void *arg);
/* Hands on the partial line as a line, if there is one (the file is
 * finished): 1 if it did, else 0. */
int ttlog__tail_lines_flush(struct ttlog__tail_lines *l, ttlog__tail_line_fn fn,
			    void *arg);

/* ---- the input ---- */

struct ttlog__tail_file {
	struct ttlog__tail *t;
	struct ttlog__tail_file *prev, *next; /* all files */
	struct ttlog__tail_file *rnext;	      /* the ready queue */
	int queued;
	char *path; /* where it was found last (the events' peer) */
	int fd;	    /* -1: finished, remembered for its identity */
	struct ttlog__tail_pos id; /* id.off: the read position */
	uint64_t size;		   /* at the last fstat */
	struct ttlog__tail_lines lines;
	struct ttlog__ml *ml;
	/* With multiline: the end of the last line cut at max_line that is
	 * not yet in an event handed on (0: none), so that its event is
	 * flagged; the joiner's dropped lines already counted. */
	uint64_t ml_cut_end, ml_dropped_seen;
	/* The offset after the last line (or multiline event) handed on,
	 * and the one last noted with a batch number. */
	uint64_t hand_off, noted_off;
	struct {
		uint64_t no, off;
	} notes[TTLOG__TAIL_NOTES];
	size_t nnotes;
	uint64_t durable_off; /* what the state file may say */
	int gone;	      /* the path no longer names it */
	uint64_t grew_ms;     /* last growth (or when it went) */
	int seen;	      /* found by the current scan */
};

struct ttlog__tail {
	struct ttlog__input *in;
	/* options */
	char **paths, **exclude;
	size_t npaths, nexclude;
	int start_at, format, watch;
	size_t max_line;
	uint64_t rotate_wait_ms, poll_ms;
	struct ttlog__ml_rule *ml_rule; /* NULL: one event per line */
	uint64_t ml_timeout_ms;
	/* files */
	struct ttlog__tail_file *files;
	struct ttlog__tail_file *rq_head, *rq_tail;
	size_t nfiles; /* open */
	char *rbuf;    /* TTLOG__TAIL_QUANTUM */
	struct event *work, *poll, *resume, *ml_timer, *save_timer;
	int paused, need_scan, started;
	/* inotify */
	int ifd;
	struct event *iev;
	struct {
		int wd;
		char *dir;
	} * wds;
	size_t nwds;
	int inotify_off;      /* polling only (said once) */
	uint32_t move_cookie; /* the last IN_MOVED_FROM */
	int move_wanted;      /* ... was of a file the patterns name */
	/* checkpoints */
	char *state_path; /* NULL: memory only */
	struct ttlog__tail_pos *saved;
	char **saved_keys;
	size_t nsaved;
	int had_state; /* a state file was found at start */
	int save_due, unsynced;
	uint64_t last_sync_ms, save_at_ms;
	uint64_t durable; /* the last durable number seen */
	uint64_t rotations, truncations, lines_cut, ml_cut, rescans;
	uint64_t ml_dropped; /* lines dropped after a cut at max_bytes */
	uint64_t state_errors;
	struct ttlog__ratelimit trunc_rl, err_rl;
};

/* tail.c */
int ttlog__tail_start(struct ttlog__input *in,
		      const struct ttlog__input_opts *o, char *err,
		      size_t errlen);
void ttlog__tail_enable(struct ttlog__input *in);
/* Saves the positions and frees the input's state; reload: removed by a
 * reload (a replacing input may follow: positions without a state file
 * are left in memory for it). */
void ttlog__tail_stop(struct ttlog__input *in, int reload);
/* A reload that kept the input: the options that change in place. */
void ttlog__tail_update(struct ttlog__input *in, size_t max_line,
			uint64_t rotate_wait_ms, uint64_t poll_ms);
void ttlog__tail_taken(struct ttlog__input *in, uint64_t taken);
/* ttlog__input_file_lags() for a tail input (at most max files). */
size_t ttlog__tail_file_lags(const struct ttlog__input *in, size_t max,
			     void (*fn)(void *arg, const char *path,
					uint64_t lag),
			     void *arg);
void ttlog__tail_stats(const struct ttlog__input *in,
		       struct ttlog__input_stats *out);
uint64_t ttlog__tail_now_ms(void);
/* Queues f for reading and wakes the reader. */
void ttlog__tail_ready(struct ttlog__tail *t, struct ttlog__tail_file *f);
void ttlog__tail_wake(struct ttlog__tail *t);
/* Logs a problem with a file, at most once a second. */
void ttlog__tail_warn(struct ttlog__tail *t, const char *path, const char *what,
		      int err);
/* The tail options' checks (for ttlog__input_check()): 0, or -1 with err
 * and *key set to the option at fault. */
int ttlog__tail_check(const struct ttlog__input_opts *o, const char **key,
		      char *err, size_t errlen);

/* tail_file.c */
/* Notes that f's offset `off` is safe once batch `no` is durable. */
void ttlog__tail_notes_add(struct ttlog__tail_file *f, uint64_t no,
			   uint64_t off);
/* Batches up to `durable` are: f->durable_off moves to the newest note
 * among them. Returns 1 if it moved. */
int ttlog__tail_notes_advance(struct ttlog__tail_file *f, uint64_t durable);
struct ttlog__tail_file *ttlog__tail_file_open(struct ttlog__tail *t,
					       const char *path, int fd,
					       const struct ttlog__tail_pos *id,
					       uint64_t size);
/* Reads up to a quantum; returns the bytes read, 0 at the end, -1 when
 * the file was closed (it is then finished). */
long ttlog__tail_file_read(struct ttlog__tail_file *f, uint64_t now_ms);
/* The file is finished: its partial line and pending event go out. */
void ttlog__tail_file_close(struct ttlog__tail_file *f);
void ttlog__tail_file_free(struct ttlog__tail_file *f);
/* Hands on multiline events pending longer than the timeout. */
void ttlog__tail_file_ml_tick(struct ttlog__tail_file *f, uint64_t now_ms);

/* tail_watch.c */
int ttlog__tail_watch_start(struct ttlog__tail *t);
void ttlog__tail_watch_stop(struct ttlog__tail *t);
/* Expands the globs: new files opened, renamed ones followed, gone ones
 * marked. initial: the input's first scan (start_at, saved positions). */
void ttlog__tail_scan(struct ttlog__tail *t, int initial);

/* tail_ckpt.c */
/* Reads t->state_path (if any) into t->saved; a damaged file is logged
 * and ignored (every file starts as if seen for the first time). */
void ttlog__tail_ckpt_load(struct ttlog__tail *t);
/* Notes every file's position with the batch just dispatched. */
void ttlog__tail_ckpt_note(struct ttlog__tail *t, uint64_t no);
/* Batches up to `durable` are safe: positions advance, a save is due. */
void ttlog__tail_ckpt_durable(struct ttlog__tail *t, uint64_t durable);
/* Writes the state file now (sync: with fsync). */
void ttlog__tail_ckpt_save(struct ttlog__tail *t, int sync);
void ttlog__tail_ckpt_free(struct ttlog__tail *t);
/* Without a state file: leaves the positions in memory for the input of
 * the same name that replaces this one in a reload. */
void ttlog__tail_ckpt_stash(struct ttlog__tail *t);
/* The save timer's callback (t->save_timer). */
void ttlog__tail_ckpt_timer(int fd, short what, void *arg);
/* The saved position for a file found at path with identity fd/dev/ino/
 * size, if any: 1 with *off, else 0. *known: a record for path exists. */
int ttlog__tail_ckpt_find(struct ttlog__tail *t, const char *path, int fd,
			  uint64_t dev, uint64_t ino, uint64_t size,
			  uint64_t *off, int *known);

#endif /* TTLOG_TAIL_INTERNAL_H */
