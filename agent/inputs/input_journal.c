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
 * STATE_DIR/input-NAME.journal (one record per handle; journal_state.c):
 * a restart resumes after it, so no entry is lost and the entries re-read
 * are those handed on after the last save (docs/journal.md).
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
#include "journal_internal.h"
#include "parse_internal.h" /* the scratch buffer */

static uint64_t now_ns(void)
{
	return ttlog__input_now_ns();
}

void ttlog__journal_warn(struct ttlog__journal *jr, const char *what,
			 const char *why)
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

void ttlog__journal_taken(struct ttlog__input *in)
{
	struct ttlog__journal *jr = in->journal;

	if (jr == NULL)
		return;
	ttlog__journal_advance(jr);
	if (jr->dirty)
		ttlog__journal_save(jr, now_ns() - jr->saved_ns >=
						TTLOG__JOURNAL_SYNC_EVERY_NS);
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

static void ingest_entry(struct ttlog__journal *jr, struct ttlog__jsrc *s)
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
static int read_src(struct ttlog__journal *jr, struct ttlog__jsrc *s)
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
			ttlog__journal_warn(jr, "cannot read the journal",
					    strerror(-r));
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
			arm_wake(jr, TTLOG__JOURNAL_WAKE_US);
			return;
		}
		in->st.paused = 0;
	}
	for (size_t i = 0; i < jr->nsrc; i++) {
		struct ttlog__jsrc *s = &jr->src[i];
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
			struct ttlog__jsrc *s = &jr->src[i];
			char *c = s->fresh ? strdup(s->last) : NULL;
			if (c != NULL)
				ttlog__journal_pend_push(jr, no, i, c);
		}
	}
	/* The listeners may have taken the batch within the commit, before
	 * its cursors were remembered: no later call would tell. */
	ttlog__journal_advance(jr);
	if (in->st.paused)
		wait_us = TTLOG__JOURNAL_WAKE_US;
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
	    now_ns() - jr->saved_ns >= TTLOG__JOURNAL_SYNC_EVERY_NS)
		ttlog__journal_save(jr, 1);
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
	struct ttlog__jsrc *n = realloc(jr->src, (jr->nsrc + 1) * sizeof(*n));

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
static void seek_src(struct ttlog__jsrc *s, int start_at)
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
		struct ttlog__jsrc *s = &jr->src[i];
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
		free(jr->pend[(jr->head + i) % TTLOG__JOURNAL_PEND_MAX].cursor);
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

	if (jr == NULL || (jr->pend = calloc(TTLOG__JOURNAL_PEND_MAX,
					     sizeof(*jr->pend))) == NULL) {
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
	ttlog__journal_load(jr);
	jr->wake = evtimer_new(in->base, on_event, jr);
	if (jr->wake == NULL) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < jr->nsrc; i++) {
		struct ttlog__jsrc *s = &jr->src[i];
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

void ttlog__journal_stop(struct ttlog__input *in, int shutdown)
{
	struct ttlog__journal *jr = in->journal;

	if (jr == NULL)
		return;
	in->journal = NULL;
	ttlog__journal_advance(jr);
	ttlog__journal_save(jr, 1);
	if (shutdown && jr->len > 0 && jr->state_path != NULL)
		ttlog__journal_keep_leftover(jr);
	journal_free(jr);
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
