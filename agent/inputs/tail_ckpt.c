/*
 * tail_ckpt.c - where the tail input stands in each file, kept in
 * STATE_DIR/input-NAME.tail (agent/inputs/ckpt.h).
 *
 * A position is only written once the events before it are durable: each
 * hand-over to the listeners is noted with its batch number and the
 * offsets reached, and ttlog__host_durable() passing that number makes
 * them savable. Each advance is saved at once, without fsync, which
 * survives a SIGKILL (the rename is atomic and the page cache keeps the
 * file); an fsync follows at most once a second and at stop, for power
 * cuts. A save that fails is tried again every 50 ms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <ttlog/ttlog.h>

#include "ckpt.h"
#include "input_internal.h"
#include "tail_internal.h"

#define SAVE_EVERY_MS 50
#define SYNC_EVERY_MS 1000

struct load_ctx {
	struct ttlog__tail *t;
	size_t bad;
};

static int load_one(void *arg, const struct ttlog__ckpt_rec *r)
{
	struct load_ctx *c = arg;
	struct ttlog__tail *t = c->t;
	struct ttlog__tail_pos p;
	char *key;

	if (ttlog__tail_pos_decode(r->val, r->val_len, &p) != 0) {
		c->bad++; /* another version: that file starts afresh */
		return 0;
	}
	void *np = realloc(t->saved, (t->nsaved + 1) * sizeof(*t->saved));
	if (np == NULL)
		return -2;
	t->saved = np;
	np = realloc(t->saved_keys, (t->nsaved + 1) * sizeof(char *));
	if (np == NULL)
		return -2;
	t->saved_keys = np;
	key = strndup(r->key, r->key_len);
	if (key == NULL)
		return -2;
	t->saved[t->nsaved] = p;
	t->saved_keys[t->nsaved++] = key;
	return 0;
}

/*
 * Without a state_dir, positions live in memory only; an input that a
 * reload replaces (its paths changed) leaves them here under its name for
 * the one that follows it, which takes them at enable. Writer thread
 * only, like every input.
 */
static char *rec_key(const struct ttlog__tail_file *f);

struct stash {
	struct stash *next;
	char *name;
	struct ttlog__tail_pos *pos;
	char **keys;
	size_t n;
};
static struct stash *stashes;

static void stash_put(struct ttlog__tail *t)
{
	struct stash *s = calloc(1, sizeof(*s));
	size_t cap = 0;

	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next)
		cap++;
	if (s == NULL || (s->name = strdup(t->in->name)) == NULL ||
	    (s->pos = calloc(cap + 1, sizeof(*s->pos))) == NULL ||
	    (s->keys = calloc(cap + 1, sizeof(char *))) == NULL)
		goto fail;
	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next) {
		if ((s->keys[s->n] = rec_key(f)) == NULL)
			goto fail;
		s->pos[s->n] = f->id;
		s->pos[s->n++].off = f->durable_off;
	}
	s->next = stashes;
	stashes = s;
	return;
fail:
	for (size_t i = 0; s != NULL && i < s->n; i++)
		free(s->keys[i]);
	if (s != NULL) {
		free(s->keys);
		free(s->pos);
		free(s->name);
	}
	free(s);
}

/* Takes the positions a replaced input of this name left, if any. */
static void stash_take(struct ttlog__tail *t)
{
	for (struct stash **pp = &stashes; *pp != NULL; pp = &(*pp)->next) {
		struct stash *s = *pp;
		if (strcmp(s->name, t->in->name) != 0)
			continue;
		*pp = s->next;
		ttlog__tail_ckpt_free(t);
		t->saved = s->pos;
		t->saved_keys = s->keys;
		t->nsaved = s->n;
		t->had_state = 1;
		free(s->name);
		free(s);
		return;
	}
}

void ttlog__tail_ckpt_load(struct ttlog__tail *t)
{
	struct load_ctx c = {t, 0};
	char why[512] = "out of memory";
	int rc;

	if (t->state_path == NULL) {
		stash_take(t);
		return;
	}
	rc = ttlog__ckpt_load(t->state_path, load_one, &c, why, sizeof(why));
	if (rc == 1)
		return;
	if (rc != 0) {
		/* A damaged file is not half used: every file starts as if
		 * seen for the first time, and the next save replaces it. */
		TTLOG_ERROR("tail: state file unreadable; positions start "
			    "afresh",
			    TTLOG_KV("input", (const char *)t->in->name),
			    TTLOG_KV("error", (const char *)why));
		t->state_errors++;
		ttlog__tail_ckpt_free(t);
		return;
	}
	t->had_state = 1;
	if (c.bad > 0)
		TTLOG_WARN("tail: state records of another version ignored",
			   TTLOG_KV("input", (const char *)t->in->name),
			   TTLOG_KV("records", (uint64_t)c.bad));
}

int ttlog__tail_ckpt_find(struct ttlog__tail *t, const char *path, int fd,
			  uint64_t dev, uint64_t ino, uint64_t size,
			  uint64_t *off, int *known)
{
	*known = 0;
	for (size_t i = 0; i < t->nsaved; i++) {
		if (strcmp(t->saved_keys[i], path) == 0)
			*known = 1;
		if (!ttlog__tail_same(&t->saved[i], fd, dev, ino, size))
			continue;
		*off = t->saved[i].off;
		/* Used once: the record now lives on as the file's. */
		free(t->saved_keys[i]);
		t->saved[i] = t->saved[t->nsaved - 1];
		t->saved_keys[i] = t->saved_keys[t->nsaved - 1];
		t->nsaved--;
		return 1;
	}
	return 0;
}

void ttlog__tail_ckpt_free(struct ttlog__tail *t)
{
	for (size_t i = 0; i < t->nsaved; i++)
		free(t->saved_keys[i]);
	free(t->saved_keys);
	free(t->saved);
	t->saved_keys = NULL;
	t->saved = NULL;
	t->nsaved = 0;
}

/* The save timer fires in ms, or sooner if it already would. */
static void arm(struct ttlog__tail *t, uint64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
			     (suseconds_t)(ms % 1000) * 1000};
	uint64_t due = ttlog__tail_now_ms() + ms;

	if (t->save_timer == NULL)
		return;
	if (evtimer_pending(t->save_timer, NULL) && t->save_at_ms <= due)
		return;
	t->save_at_ms = due;
	evtimer_add(t->save_timer, &tv);
}

void ttlog__tail_ckpt_durable(struct ttlog__tail *t, uint64_t durable)
{
	int moved = 0;

	if (durable > t->durable)
		t->durable = durable;
	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next)
		moved |= ttlog__tail_notes_advance(f, t->durable);
	if (moved && t->state_path != NULL) {
		/* At once, without fsync: a SIGKILL right after this re-reads
		 * nothing that is durable (what was coalesced for 50 ms came
		 * back as about 2,700 duplicate lines per kill). The fsync
		 * follows on the timer. */
		t->save_due = 1;
		ttlog__tail_ckpt_save(t, 0);
		if (t->save_due)
			arm(t, SAVE_EVERY_MS); /* it failed: again later */
		else
			arm(t, SYNC_EVERY_MS);
	}
}

void ttlog__tail_ckpt_note(struct ttlog__tail *t, uint64_t no)
{
	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next) {
		if (f->hand_off == f->noted_off)
			continue;
		f->noted_off = f->hand_off;
		ttlog__tail_notes_add(f, no, f->hand_off);
	}
	/* The listeners may have taken the batch during the commit itself
	 * (a file listener writes at once): no callback comes for it. */
	ttlog__tail_ckpt_durable(t, ttlog__host_durable(t->in->writer));
}

/* The record's key: the file's path, and for a file whose path now names
 * another (rotated, still being read), the path with its inode. */
static char *rec_key(const struct ttlog__tail_file *f)
{
	char *k;

	if (!f->gone)
		return strdup(f->path);
	if (asprintf(&k, "%s (inode %llu)", f->path,
		     (unsigned long long)f->id.ino) < 0)
		return NULL;
	return k;
}

void ttlog__tail_ckpt_stash(struct ttlog__tail *t)
{
	if (t->state_path == NULL)
		stash_put(t);
}

void ttlog__tail_ckpt_save(struct ttlog__tail *t, int sync)
{
	struct ttlog__ckpt_rec *recs;
	unsigned char(*vals)[TTLOG__TAIL_POS_LEN];
	char **keys;
	size_t n = 0, cap = 0;
	char err[512] = "out of memory";
	int rc = -1;

	if (t->state_path == NULL)
		return;
	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next)
		cap++;
	recs = calloc(cap + 1, sizeof(*recs));
	vals = calloc(cap + 1, sizeof(*vals));
	keys = calloc(cap + 1, sizeof(*keys));
	if (recs == NULL || vals == NULL || keys == NULL)
		goto out;
	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next) {
		struct ttlog__tail_pos p = f->id;
		p.off = f->durable_off;
		if ((keys[n] = rec_key(f)) == NULL)
			goto out;
		ttlog__tail_pos_encode(&p, vals[n]);
		recs[n].key = keys[n];
		recs[n].key_len = strlen(keys[n]);
		recs[n].val = vals[n];
		recs[n].val_len = TTLOG__TAIL_POS_LEN;
		n++;
	}
	rc = ttlog__ckpt_save(t->state_path, recs, n, sync, err, sizeof(err));
out:
	if (rc != 0) {
		uint64_t suppressed;
		t->state_errors++;
		if (ttlog__ratelimit_pass(&t->err_rl, ttlog__input_now_ns(),
					  1000000000u, &suppressed))
			TTLOG_ERROR(
				"tail: cannot save positions",
				TTLOG_KV("input", (const char *)t->in->name),
				TTLOG_KV("error", (const char *)err),
				TTLOG_KV("suppressed", suppressed));
	} else {
		t->save_due = 0;
		t->unsynced = !sync;
		if (sync)
			t->last_sync_ms = ttlog__tail_now_ms();
	}
	for (size_t i = 0; keys != NULL && i < n; i++)
		free(keys[i]);
	free(keys);
	free(vals);
	free(recs);
}

/* The save timer: a save that is due, with fsync if the last one is a
 * second old; an unsynced save gets its fsync a second after the last. */
void ttlog__tail_ckpt_timer(int fd, short what, void *arg)
{
	struct ttlog__tail *t = arg;
	uint64_t now = ttlog__tail_now_ms();
	int sync = now - t->last_sync_ms >= SYNC_EVERY_MS;

	(void)fd;
	(void)what;
	if (t->save_due || (t->unsynced && sync))
		ttlog__tail_ckpt_save(t, sync);
	if (t->save_due)
		arm(t, SAVE_EVERY_MS);
	else if (t->unsynced)
		arm(t, SYNC_EVERY_MS - (now - t->last_sync_ms < SYNC_EVERY_MS
						? now - t->last_sync_ms
						: 0));
}
