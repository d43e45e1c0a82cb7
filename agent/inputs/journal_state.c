/*
 * journal_state.c - where a journal input stands: the cursor of each
 * handle's last entry handed on, remembered with the number of the batch
 * that holds it; once ttlog__host_durable() passes that number, the
 * handle's durable position, saved in STATE_DIR/input-NAME.journal (the
 * state file of ckpt.h, one record per handle); and at shutdown, the
 * newest cursors, saved once the listeners delivered everything.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ttlog/ttlog.h>

#include "ckpt.h"
#include "input_internal.h"
#include "journal_internal.h"

/* ---- the state file ---- */

void ttlog__journal_save(struct ttlog__journal *jr, int sync)
{
	struct ttlog__ckpt_rec recs[64];
	char err[512];
	size_t n = 0;

	if (sync)
		jr->saved_ns = ttlog__input_now_ns();
	if (!(jr->dirty || (sync && jr->unsynced)) || jr->state_path == NULL)
		return;
	for (size_t i = 0; i < jr->nsrc && n < 64; i++) {
		struct ttlog__jsrc *s = &jr->src[i];
		const char *c = s->durable != NULL ? s->durable : s->saved;
		if (c == NULL)
			continue;
		recs[n].key = s->key;
		recs[n].key_len = strlen(s->key);
		recs[n].val = c;
		recs[n].val_len = strlen(c);
		n++;
	}
	if (ttlog__ckpt_save(jr->state_path, recs, n, sync, err, sizeof(err)) !=
	    0) {
		/* Kept dirty: the next tick tries again with what is then
		 * durable (a failed fsync is not retried on the same file:
		 * the save writes a new one). */
		jr->in->st.state_errors++;
		ttlog__journal_warn(jr, "cannot save the cursor", err);
		return;
	}
	jr->dirty = 0;
	jr->unsynced = !sync;
	for (size_t i = 0; i < jr->nsrc; i++) {
		struct ttlog__jsrc *s = &jr->src[i];
		if (s->durable == NULL)
			continue;
		free(s->saved);
		s->saved = s->durable;
		s->durable = NULL;
	}
}

static int load_rec(void *arg, const struct ttlog__ckpt_rec *r)
{
	struct ttlog__journal *jr = arg;

	for (size_t i = 0; i < jr->nsrc; i++) {
		struct ttlog__jsrc *s = &jr->src[i];
		if (strlen(s->key) != r->key_len ||
		    memcmp(s->key, r->key, r->key_len) != 0 ||
		    memchr(r->val, '\0', r->val_len) != NULL)
			continue;
		free(s->saved);
		s->saved = strndup(r->val, r->val_len);
	}
	return 0;
}

void ttlog__journal_load(struct ttlog__journal *jr)
{
	char err[512];
	int rc;

	if (jr->state_path == NULL)
		return;
	rc = ttlog__ckpt_load(jr->state_path, load_rec, jr, err, sizeof(err));
	if (rc >= 0)
		return;
	jr->in->st.state_damaged++;
	TTLOG_WARN("journal input: the state file is damaged; starting per "
		   "start_at",
		   TTLOG_KV("input", (const char *)jr->in->name),
		   TTLOG_KV("path", (const char *)jr->state_path),
		   TTLOG_KV("reason", (const char *)err));
	for (size_t i = 0; i < jr->nsrc; i++) {
		free(jr->src[i].saved);
		jr->src[i].saved = NULL;
	}
}

/* ---- positions ---- */

void ttlog__journal_pend_push(struct ttlog__journal *jr, uint64_t no,
			      size_t src, char *cursor)
{
	if (jr->len > 0) {
		struct ttlog__jpend *top = &jr->pend[(jr->head + jr->len - 1) %
						     TTLOG__JOURNAL_PEND_MAX];
		if ((top->no == no && top->src == src) ||
		    jr->len == TTLOG__JOURNAL_PEND_MAX) {
			if (top->src == src) {
				top->no = no;
				free(top->cursor);
				top->cursor = cursor;
				return;
			}
			if (jr->len == TTLOG__JOURNAL_PEND_MAX) {
				/* Full of other handles' cursors: this one
				 * waits for the next hand-over. */
				free(cursor);
				return;
			}
		}
	}
	struct ttlog__jpend *p =
		&jr->pend[(jr->head + jr->len) % TTLOG__JOURNAL_PEND_MAX];
	p->no = no;
	p->src = src;
	p->cursor = cursor;
	jr->len++;
}

void ttlog__journal_advance(struct ttlog__journal *jr)
{
	uint64_t durable = ttlog__host_durable(jr->in->writer);

	while (jr->len > 0 && jr->pend[jr->head].no <= durable) {
		struct ttlog__jpend *p = &jr->pend[jr->head];
		struct ttlog__jsrc *s = &jr->src[p->src];
		free(s->durable);
		s->durable = p->cursor;
		p->cursor = NULL;
		jr->head = (jr->head + 1) % TTLOG__JOURNAL_PEND_MAX;
		jr->len--;
		jr->dirty = 1;
	}
}

/* The cursors of the journal inputs stopped at shutdown whose last
 * entries were handed on but not yet durable: saved once the listeners
 * are done, if they delivered everything. */
struct leftover {
	char *path;
	struct ttlog__ckpt_rec *recs;
	size_t n;
	struct leftover *next;
};
static struct leftover *leftovers;

static void leftover_free(struct leftover *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free((void *)l->recs[i].key);
		free((void *)l->recs[i].val);
	}
	free(l->recs);
	free(l->path);
	free(l);
}

/* Keeps each handle's newest cursor (the last entry read) for
 * ttlog__journal_after_shutdown(). Out of memory: not kept (the durable
 * cursor saved at stop stands; entries after it are read again). */
void ttlog__journal_keep_leftover(struct ttlog__journal *jr)
{
	struct leftover *l = calloc(1, sizeof(*l));

	if (l == NULL ||
	    (l->recs = calloc(jr->nsrc, sizeof(*l->recs))) == NULL ||
	    (l->path = strdup(jr->state_path)) == NULL) {
		if (l != NULL)
			leftover_free(l);
		return;
	}
	for (size_t i = 0; i < jr->nsrc; i++) {
		struct ttlog__jsrc *s = &jr->src[i];
		const char *c = s->last != NULL ? s->last : s->saved;
		char *k = strdup(s->key), *v = c != NULL ? strdup(c) : NULL;
		if (k == NULL || v == NULL) {
			free(k);
			free(v);
			continue;
		}
		l->recs[l->n].key = k;
		l->recs[l->n].key_len = strlen(k);
		l->recs[l->n].val = v;
		l->recs[l->n].val_len = strlen(v);
		l->n++;
	}
	l->next = leftovers;
	leftovers = l;
}

void ttlog__journal_after_shutdown(int delivered)
{
	char err[512];

	while (leftovers != NULL) {
		struct leftover *l = leftovers;
		leftovers = l->next;
		if (delivered && ttlog__ckpt_save(l->path, l->recs, l->n, 1,
						  err, sizeof(err)) != 0)
			fprintf(stderr, "ttlog-agent: %s\n", err);
		leftover_free(l);
	}
}
