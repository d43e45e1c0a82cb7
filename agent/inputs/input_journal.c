/*
 * input_journal.c - the journal input: sd-journal on the writer's loop.
 *
 * Sources: without `paths` the local system journal; each directory of
 * `paths` is one sd-journal handle (it follows the files journald adds
 * there), and all the plain files of `paths` together are another. Each
 * handle's descriptor is watched on the loop; a turn reads at most
 * TTLOG__JOURNAL_CHUNK entries per handle and comes back at once when
 * there may be more, so that a long backlog shares the thread.
 *
 * Positions: after each hand-over (ttlog__host_ingest_commit()) the
 * cursor of each handle's last entry is remembered with the number of the
 * batch that holds it. Once ttlog__host_durable() passes that number the
 * cursor is the handle's durable position, saved in
 * STATE_DIR/input-NAME.journal (one record per handle) at most once a
 * second and at stop, each save synced: a restart resumes after it, so
 * no entry is lost and the entries re-read are those handed on after the
 * last save (docs/journal.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-journal.h>

#include <ttlog/ttlog.h>

#include "ckpt.h"
#include "errf.h"
#include "input_internal.h"
#include "input_journal.h"
#include "parse_internal.h" /* the scratch buffer */

/* How often a paused or idle input looks again (back-pressure, the
 * journal's own timeout, the cursor save). */
#define WAKE_PAUSED_US 10000
#define SAVE_EVERY_NS 1000000000u
/* Hand-overs whose cursors wait for durability, at most; past it the
 * newest one absorbs the next (coarser, never ahead of the data). */
#define PEND_MAX 4096

struct jsrc {
	sd_journal *j;
	struct event *io;
	char *key;     /* its record in the state file: "system", a
			* directory, "files" */
	char *last;    /* cursor of the last entry read; NULL: none yet */
	char *durable; /* newest cursor known durable; NULL: none */
	char *saved;   /* the one in the state file */
	int at_unread; /* positioned on an entry not read yet */
	int more;      /* the last turn stopped at its chunk */
	int fresh;     /* read entries in this turn */
};

struct pend {
	uint64_t no;
	size_t src;
	char *cursor;
};

struct ttlog__journal {
	struct ttlog__input *in;
	struct jsrc *src;
	size_t nsrc;
	struct event *wake;
	char *state_path;  /* NULL without state_dir */
	struct pend *pend; /* ring of PEND_MAX */
	size_t head, len;
	uint64_t saved_ns; /* the last save with fsync */
	int dirty;	   /* a durable cursor is not saved yet */
	int unsynced;	   /* the last save had no fsync */
	struct ttlog__journal_skips sk;
	/* One entry's fields, copied (sd-journal's pointers last only until
	 * the next field is asked for): n fields at offsets doff in buf. */
	const void **data;
	size_t *dlen, *doff, dcap;
	struct ttlog__scratch buf;
	struct ttlog__ratelimit err_rl;
};

static uint64_t now_ns(void)
{
	return ttlog__input_now_ns();
}

static void jwarn(struct ttlog__journal *jr, const char *what, const char *why)
{
	uint64_t suppressed;

	if (!ttlog__ratelimit_pass(&jr->err_rl, now_ns(), 1000000000u,
				   &suppressed))
		return;
	TTLOG_WARN("journal input",
		   TTLOG_KV("input", (const char *)jr->in->name),
		   TTLOG_KV("what", what), TTLOG_KV("reason", why),
		   TTLOG_KV("suppressed", suppressed));
}

/* ---- the state file ---- */

/* Saves the durable cursors: at once, without fsync, as they move (a
 * SIGKILL then re-reads only what was not durable yet), and with fsync
 * (sync) at most once a second and at stop, for a power cut. */
static void save(struct ttlog__journal *jr, int sync)
{
	struct ttlog__ckpt_rec recs[64];
	char err[512];
	size_t n = 0;

	if (sync)
		jr->saved_ns = now_ns();
	if (!(jr->dirty || (sync && jr->unsynced)) || jr->state_path == NULL)
		return;
	for (size_t i = 0; i < jr->nsrc && n < 64; i++) {
		struct jsrc *s = &jr->src[i];
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
		jwarn(jr, "cannot save the cursor", err);
		return;
	}
	jr->dirty = 0;
	jr->unsynced = !sync;
	for (size_t i = 0; i < jr->nsrc; i++) {
		struct jsrc *s = &jr->src[i];
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
		struct jsrc *s = &jr->src[i];
		if (strlen(s->key) != r->key_len ||
		    memcmp(s->key, r->key, r->key_len) != 0 ||
		    memchr(r->val, '\0', r->val_len) != NULL)
			continue;
		free(s->saved);
		s->saved = strndup(r->val, r->val_len);
	}
	return 0;
}

/* The saved cursors into src[].saved; a damaged file is said once and
 * counted, and every handle then starts per start_at. */
static void load(struct ttlog__journal *jr)
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

static void pend_push(struct ttlog__journal *jr, uint64_t no, size_t src,
		      char *cursor)
{
	if (jr->len > 0) {
		struct pend *top =
			&jr->pend[(jr->head + jr->len - 1) % PEND_MAX];
		if ((top->no == no && top->src == src) || jr->len == PEND_MAX) {
			if (top->src == src) {
				top->no = no;
				free(top->cursor);
				top->cursor = cursor;
				return;
			}
			if (jr->len == PEND_MAX) {
				/* Full of other handles' cursors: this one
				 * waits for the next hand-over. */
				free(cursor);
				return;
			}
		}
	}
	struct pend *p = &jr->pend[(jr->head + jr->len) % PEND_MAX];
	p->no = no;
	p->src = src;
	p->cursor = cursor;
	jr->len++;
}

/* Moves the cursors whose batches are durable to their handles. */
static void advance(struct ttlog__journal *jr)
{
	uint64_t durable = ttlog__host_durable(jr->in->writer);

	while (jr->len > 0 && jr->pend[jr->head].no <= durable) {
		struct pend *p = &jr->pend[jr->head];
		struct jsrc *s = &jr->src[p->src];
		free(s->durable);
		s->durable = p->cursor;
		p->cursor = NULL;
		jr->head = (jr->head + 1) % PEND_MAX;
		jr->len--;
		jr->dirty = 1;
	}
}

void ttlog__journal_taken(struct ttlog__input *in)
{
	struct ttlog__journal *jr = in->journal;

	if (jr == NULL)
		return;
	advance(jr);
	if (jr->dirty)
		save(jr, now_ns() - jr->saved_ns >= SAVE_EVERY_NS);
	/* A queue moved: reading may go on now rather than at the next
	 * look (this arms the turn; it reads nothing here). */
	if (in->st.paused && !ttlog__host_pushback_source(
				     in->writer, (size_t)in->pause_backlog, 1))
		event_active(jr->wake, EV_TIMEOUT, 0);
}

/* ---- reading ---- */

static int grow_fields(struct ttlog__journal *jr)
{
	size_t cap = jr->dcap ? jr->dcap * 2 : 64;
	const void **nd = realloc(jr->data, cap * sizeof(*nd));

	if (nd == NULL)
		return -1;
	jr->data = nd;
	size_t *nl = realloc(jr->dlen, cap * sizeof(*nl));
	if (nl == NULL)
		return -1;
	jr->dlen = nl;
	size_t *no = realloc(jr->doff, cap * sizeof(*no));
	if (no == NULL)
		return -1;
	jr->doff = no;
	jr->dcap = cap;
	return 0;
}

static void ingest_entry(struct ttlog__journal *jr, struct jsrc *s)
{
	struct ttlog__input *in = jr->in;
	struct ttlog__origin_str org[TTLOG__ORIGIN_NFIELDS] = {{NULL, 0}};
	struct ttlog__in_event ev;
	const void *d;
	size_t l, n = 0;
	uint64_t rt = 0, bytes = 0;
	int rc;

	jr->buf.len = 0;
	SD_JOURNAL_FOREACH_DATA(s->j, d, l)
	{
		bytes += l;
		if (n == jr->dcap && grow_fields(jr) != 0)
			break;
		if (ttlog__scratch_reserve(&jr->buf, l) != 0)
			break;
		memcpy(jr->buf.p + jr->buf.len, d, l);
		jr->doff[n] = jr->buf.len;
		jr->dlen[n++] = l;
		jr->buf.len += l;
	}
	/* Pointers once every field is in: the buffer may have moved. */
	for (size_t i = 0; i < n; i++)
		jr->data[i] = jr->buf.p + jr->doff[i];
	in->st.bytes += bytes;
	(void)sd_journal_get_realtime_usec(s->j, &rt);
	ttlog__journal_map(&ev, jr->data, jr->dlen, n, rt, in->max_message, org,
			   &jr->sk);
	if (org[TTLOG__ORIGIN_HOST].p == NULL) {
		const struct ttlog_origin *self = &ttlog__origin_self()->pub;
		org[TTLOG__ORIGIN_HOST].p = self->host;
		org[TTLOG__ORIGIN_HOST].len = strlen(self->host);
	}
	org[TTLOG__ORIGIN_INPUT].p = in->name;
	org[TTLOG__ORIGIN_INPUT].len = strlen(in->name);
	org[TTLOG__ORIGIN_PEER].p = "journal";
	org[TTLOG__ORIGIN_PEER].len = 7;
	ev.origin = ttlog__origin_cache_get(&in->origins, org);
	rc = ttlog__host_ingest(in->writer, &ev, in->id);
	if (rc != 0) {
		if (rc == TTLOG_EINVAL)
			in->st.malformed++;
		else
			in->st.dropped++;
		ttlog__input_drop_warn(in, "journal", ttlog_strerror(rc),
				       ev.msg, ev.msg_len);
		return;
	}
	in->st.events++;
}

/* Reads up to a chunk from s; 1 if it stopped at the chunk. */
static int read_src(struct ttlog__journal *jr, struct jsrc *s)
{
	struct ttlog__input *in = jr->in;
	int got = 0, r = 0;

	while (got < TTLOG__JOURNAL_CHUNK) {
		if (ttlog__host_pushback_source(in->writer,
						(size_t)in->pause_backlog, 0)) {
			in->st.paused = 1;
			break;
		}
		if (s->at_unread) {
			s->at_unread = 0;
			r = 1;
		} else {
			r = sd_journal_next(s->j);
		}
		if (r < 0) {
			in->st.errors++;
			jwarn(jr, "cannot read the journal", strerror(-r));
			break;
		}
		if (r == 0)
			break;
		ingest_entry(jr, s);
		got++;
	}
	if (got > 0) {
		char *c = NULL;
		if (sd_journal_get_cursor(s->j, &c) >= 0) {
			free(s->last);
			s->last = strdup(c);
			free(c);
		}
	}
	return got == TTLOG__JOURNAL_CHUNK;
}

static void arm_wake(struct ttlog__journal *jr, uint64_t us)
{
	struct timeval tv = {(time_t)(us / 1000000u),
			     (suseconds_t)(us % 1000000u)};
	event_add(jr->wake, &tv);
}

/* One turn: every handle once, the events handed on, their cursors
 * remembered, and the next turn scheduled. */
static void turn(struct ttlog__journal *jr)
{
	struct ttlog__input *in = jr->in;
	int more = 0, any = 0;
	uint64_t wait_us = 1000000u;

	if (in->st.paused) {
		if (ttlog__host_pushback_source(in->writer,
						(size_t)in->pause_backlog, 1)) {
			arm_wake(jr, WAKE_PAUSED_US);
			return;
		}
		in->st.paused = 0;
	}
	for (size_t i = 0; i < jr->nsrc; i++) {
		struct jsrc *s = &jr->src[i];
		char *before = s->last;
		/* sd-journal cuts values at 64 KiB unless told: asked for a
		 * little more than max_message (a name and '=' are at most
		 * 65 bytes), so that a longer value is seen, cut or left out
		 * and counted. */
		(void)sd_journal_set_data_threshold(s->j, in->max_message + 66);
		s->last = NULL;
		s->more = read_src(jr, s);
		more |= s->more;
		s->fresh = s->last != NULL;
		if (!s->fresh) {
			s->last = before;
			continue;
		}
		free(before);
		any = 1;
	}
	if (any) {
		/* Handed on now: the cursor's batch gets a number. */
		(void)ttlog__host_ingest_commit(in->writer);
		uint64_t no = ttlog__host_dispatched(in->writer);
		for (size_t i = 0; i < jr->nsrc; i++) {
			struct jsrc *s = &jr->src[i];
			char *c = s->fresh ? strdup(s->last) : NULL;
			if (c != NULL)
				pend_push(jr, no, i, c);
		}
	}
	/* The listeners may have taken the batch within the commit, before
	 * its cursors were remembered: no later call would tell. */
	advance(jr);
	if (in->st.paused)
		wait_us = WAKE_PAUSED_US;
	else if (more)
		wait_us = 0;
	else
		for (size_t i = 0; i < jr->nsrc; i++) {
			uint64_t t;
			if (sd_journal_get_timeout(jr->src[i].j, &t) < 0 ||
			    t == UINT64_MAX)
				continue;
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t now = (uint64_t)ts.tv_sec * 1000000u +
				       (uint64_t)ts.tv_nsec / 1000u;
			uint64_t w = t > now ? t - now : 0;
			if (w < wait_us)
				wait_us = w;
		}
	if ((jr->dirty || jr->unsynced) &&
	    now_ns() - jr->saved_ns >= SAVE_EVERY_NS)
		save(jr, 1);
	arm_wake(jr, wait_us);
}

/* A handle's descriptor is readable, or the wake timer fired (the
 * journal's timeout also stands for changes inotify could not report, on
 * a file system without it): the changes are taken, then a turn. */
static void on_event(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__journal *jr = arg;
	(void)fd;
	(void)what;

	for (size_t i = 0; i < jr->nsrc; i++)
		(void)sd_journal_process(jr->src[i].j);
	turn(jr);
}

/* ---- start and stop ---- */

static int src_add(struct ttlog__journal *jr, const char *key, char *err,
		   size_t errlen)
{
	struct jsrc *n = realloc(jr->src, (jr->nsrc + 1) * sizeof(*n));

	if (n == NULL)
		return ttlog__errf(err, errlen, "out of memory");
	jr->src = n;
	memset(&n[jr->nsrc], 0, sizeof(*n));
	if ((n[jr->nsrc].key = strdup(key)) == NULL)
		return ttlog__errf(err, errlen, "out of memory");
	jr->nsrc++;
	return 0;
}

/* The handles: the system journal, each directory, the files together. */
static int open_sources(struct ttlog__journal *jr,
			const struct ttlog__input_opts *o, char *err,
			size_t errlen)
{
	const char **files = NULL;
	size_t nfiles = 0;
	int r;

	if (o->paths.n == 0) {
		if (src_add(jr, "system", err, errlen) != 0)
			return -1;
		r = sd_journal_open(&jr->src[0].j, SD_JOURNAL_LOCAL_ONLY);
		if (r < 0)
			return ttlog__errf(err, errlen,
					   "cannot open the system journal: %s",
					   strerror(-r));
		return 0;
	}
	files = calloc(o->paths.n + 1, sizeof(*files));
	if (files == NULL)
		return ttlog__errf(err, errlen, "out of memory");
	for (size_t i = 0; i < o->paths.n; i++) {
		const char *p = o->paths.v[i];
		struct stat st;
		if (stat(p, &st) != 0) {
			free(files);
			return ttlog__errf(err, errlen, "paths: %s: %s", p,
					   strerror(errno));
		}
		if (!S_ISDIR(st.st_mode)) {
			files[nfiles++] = p;
			continue;
		}
		if (src_add(jr, p, err, errlen) != 0) {
			free(files);
			return -1;
		}
		r = sd_journal_open_directory(&jr->src[jr->nsrc - 1].j, p, 0);
		if (r < 0) {
			free(files);
			return ttlog__errf(err, errlen, "paths: %s: %s", p,
					   strerror(-r));
		}
	}
	if (nfiles > 0) {
		if (src_add(jr, "files", err, errlen) != 0) {
			free(files);
			return -1;
		}
		r = sd_journal_open_files(&jr->src[jr->nsrc - 1].j, files, 0);
		if (r < 0) {
			ttlog__errf(err, errlen, "paths: %s: %s", files[0],
				    strerror(-r));
			free(files);
			return -1;
		}
	}
	free(files);
	return 0;
}

/* match: terms, "+" between alternatives. */
static int add_matches(struct ttlog__journal *jr,
		       const struct ttlog__input_opts *o, char *err,
		       size_t errlen)
{
	for (size_t k = 0; k < jr->nsrc; k++)
		for (size_t i = 0; i < o->match.n; i++) {
			const char *t = o->match.v[i];
			int r = strcmp(t, "+") == 0
					? sd_journal_add_disjunction(
						  jr->src[k].j)
					: sd_journal_add_match(jr->src[k].j, t,
							       0);
			if (r < 0)
				return ttlog__errf(err, errlen,
						   "match[%zu]: %s: %s", i, t,
						   strerror(-r));
		}
	return 0;
}

/* Where a handle starts: after its saved cursor, else per start_at. */
static void seek_src(struct jsrc *s, int start_at)
{
	if (s->saved != NULL && sd_journal_seek_cursor(s->j, s->saved) >= 0 &&
	    sd_journal_next(s->j) > 0) {
		/* On the saved entry itself: already handed on. On a later
		 * one (the saved entry was vacuumed away): not yet read. */
		s->at_unread = sd_journal_test_cursor(s->j, s->saved) <= 0;
		return;
	}
	if (s->saved != NULL) {
		/* Nothing at or after the cursor: wait at the end. */
		sd_journal_seek_tail(s->j);
		(void)sd_journal_previous(s->j);
		return;
	}
	if (start_at == TTLOG__START_AT_BEGINNING) {
		sd_journal_seek_head(s->j);
	} else {
		sd_journal_seek_tail(s->j);
		(void)sd_journal_previous(s->j);
	}
}

static void journal_free(struct ttlog__journal *jr)
{
	for (size_t i = 0; i < jr->nsrc; i++) {
		struct jsrc *s = &jr->src[i];
		if (s->io != NULL)
			event_free(s->io);
		if (s->j != NULL)
			sd_journal_close(s->j);
		free(s->key);
		free(s->last);
		free(s->durable);
		free(s->saved);
	}
	for (size_t i = 0; i < jr->len; i++)
		free(jr->pend[(jr->head + i) % PEND_MAX].cursor);
	if (jr->wake != NULL)
		event_free(jr->wake);
	free(jr->pend);
	free(jr->src);
	free(jr->state_path);
	free(jr->data);
	free(jr->dlen);
	free(jr->doff);
	ttlog__scratch_destroy(&jr->buf);
	free(jr);
}

int ttlog__journal_start(struct ttlog__input *in,
			 const struct ttlog__input_opts *o, char *err,
			 size_t errlen)
{
	struct ttlog__journal *jr = calloc(1, sizeof(*jr));
	char why[512];

	if (jr == NULL ||
	    (jr->pend = calloc(PEND_MAX, sizeof(*jr->pend))) == NULL) {
		free(jr);
		return ttlog__errf(err, errlen, "input %s: out of memory",
				   o->name);
	}
	jr->in = in;
	in->journal = jr;
	if (o->state_dir != NULL &&
	    asprintf(&jr->state_path, "%s/input-%s.journal", o->state_dir,
		     o->name) < 0)
		jr->state_path = NULL;
	if (open_sources(jr, o, why, sizeof(why)) != 0 ||
	    add_matches(jr, o, why, sizeof(why)) != 0)
		goto fail;
	load(jr);
	jr->wake = evtimer_new(in->base, on_event, jr);
	if (jr->wake == NULL) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < jr->nsrc; i++) {
		struct jsrc *s = &jr->src[i];
		int fd = sd_journal_get_fd(s->j);
		if (fd < 0) {
			snprintf(why, sizeof(why), "cannot watch %s: %s",
				 s->key, strerror(-fd));
			goto fail;
		}
		s->io = event_new(in->base, fd, EV_READ | EV_PERSIST, on_event,
				  jr);
		if (s->io == NULL) {
			snprintf(why, sizeof(why), "out of memory");
			goto fail;
		}
		seek_src(s, o->start_at);
	}
	jr->saved_ns = now_ns();
	return 0;
fail:
	ttlog__errf(err, errlen, "input %s: %s", o->name, why);
	in->journal = NULL;
	journal_free(jr);
	return TTLOG_EINVAL;
}

void ttlog__journal_enable(struct ttlog__input *in)
{
	struct ttlog__journal *jr = in->journal;

	if (jr == NULL)
		return;
	for (size_t i = 0; i < jr->nsrc; i++)
		event_add(jr->src[i].io, NULL);
	arm_wake(jr, 0);
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
static void keep_leftover(struct ttlog__journal *jr)
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
		struct jsrc *s = &jr->src[i];
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

void ttlog__journal_stop(struct ttlog__input *in, int shutdown)
{
	struct ttlog__journal *jr = in->journal;

	if (jr == NULL)
		return;
	in->journal = NULL;
	advance(jr);
	save(jr, 1);
	if (shutdown && jr->len > 0 && jr->state_path != NULL)
		keep_leftover(jr);
	journal_free(jr);
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

int ttlog__journal_key(const struct ttlog__input_opts *o, char *key,
		       size_t keylen)
{
	size_t n;
	int k = snprintf(key, keylen, "journal %s start_at=%d", o->name,
			 o->start_at);

	if (k < 0 || (size_t)k >= keylen)
		return -1;
	n = (size_t)k;
	/* '\n' cannot be in a name given in YAML's flow of one line, and
	 * separates the items so that [a, b] and ["a b"] differ. */
	for (int pass = 0; pass < 2; pass++) {
		const struct ttlog__input_list *l =
			pass == 0 ? &o->paths : &o->match;
		for (size_t i = 0; i < l->n; i++) {
			k = snprintf(key + n, keylen - n, "\n%c%s",
				     pass == 0 ? 'p' : 'm', l->v[i]);
			if (k < 0 || (size_t)k >= keylen - n)
				return -1;
			n += (size_t)k;
		}
	}
	return 0;
}

void ttlog__journal_get_stats(const struct ttlog__input *in,
			      struct ttlog__input_stats *out)
{
	const struct ttlog__journal *jr = in->journal;

	if (jr == NULL)
		return;
	out->fields_skipped =
		jr->sk.not_utf8 + jr->sk.too_long + jr->sk.too_many;
}
