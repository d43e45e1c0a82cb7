/*
 * fwd_spool.c - the forward listener's share of a spool, and its handover
 * across a reload.
 *
 * A reload that changes a listener's section creates and starts the new
 * instance while the old one still runs, and destroys the old one after.
 * Both would open the same spool directory, and the lock (rightly) lets
 * only one open it. So a process keeps one registry of the spools its
 * forward listeners have open, keyed by the directory's device and inode
 * (two spellings of one directory are one spool). An instance whose
 * directory is already open here, by the instance of the same listener
 * name, attaches to that spool as its heir instead of opening it again:
 *
 *   - the heir neither sends nor takes frames (consume answers RETRY) and
 *     has no connection: the owner alone appends and takes ACKs, so the
 *     spool's seq numbering stays one line;
 *   - when the owner is destroyed (its connection closed, mid-frame or
 *     not), the heir takes over: the spool's options become the heir's,
 *     it continues with the spool's sender id, last seq and acknowledged
 *     seq, and connects. Whatever the owner had sent without an ACK is
 *     sent again and the collector drops the duplicates by (id, seq);
 *     every frame the owner took was appended to the spool before it said
 *     OK, so nothing it held lives only in its memory;
 *   - a heir destroyed first (the reload failed) just detaches: ownership
 *     never moved, the owner goes on as before.
 *
 * A second listener (another name) naming an open directory is refused,
 * as is a second heir. Listener names are unique in a configuration, and
 * a reload keeps an unchanged listener under its name, so a heir of the
 * same name means the owner's section changed and the owner goes at the
 * end of that reload. The registry is guarded by a mutex (create() may
 * run outside the writer thread); the handover itself runs on the writer
 * thread, inside the owner's destroy().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ttlog/ttlog.h>

#include "forward_internal.h"

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fwd_spool_ref *registry;

static struct fwd_spool_ref *find_ref(uint64_t dev, uint64_t ino)
{
	for (struct fwd_spool_ref *r = registry; r != NULL; r = r->next)
		if (r->dev == dev && r->ino == ino)
			return r;
	return NULL;
}

static void unlink_ref(struct fwd_spool_ref *r)
{
	for (struct fwd_spool_ref **p = &registry; *p != NULL; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			return;
		}
}

/* Takes the spool's sequence state: the owner may have appended and been
 * acknowledged since this instance was created. */
static void load_seq_state(struct fwd *f)
{
	memcpy(f->id, ttlog__spool_id(f->spool), sizeof(f->id));
	f->acked = ttlog__spool_acked(f->spool);
	f->last_seq = ttlog__spool_last_seq(f->spool);
	if (f->last_seq < f->acked)
		f->last_seq = f->acked;
	f->mem_hi = f->acked;
	f->next_send = f->acked + 1;
	f->max_sent = f->last_seq; /* all of them were possibly sent before */
	f->spool_cursor = UINT64_MAX;
}

/* The spool's reporter: one line per loss, saying where. */
static void on_loss(void *arg, const struct ttlog__spool_loss *l)
{
	struct fwd *f = arg;
	const char *dir = f->spool != NULL ? ttlog__spool_dir(f->spool)
			  : f->spool_opts_dir != NULL ? f->spool_opts_dir
						      : "?";
	char est[96] = "";

	if (l->estimated > 0)
		snprintf(est, sizeof(est),
			 " (events of %llu of them estimated: header "
			 "unreadable)",
			 (unsigned long long)l->estimated);
	switch (l->kind) {
	case TTLOG_SPOOL_LOSS_CAP:
		ttlog__fwd_report(
			f, TTLOG_LEVEL_ERROR, "spool dropped",
			"spool %s is full (max_bytes, overflow drop_oldest): "
			"deleted %s/%s with %llu frames (%llu events, seq "
			"%llu-%llu) never sent or acknowledged: lost",
			dir, dir, l->segment, (unsigned long long)l->records,
			(unsigned long long)l->events,
			(unsigned long long)l->seq_lo,
			(unsigned long long)l->seq_hi);
		break;
	case TTLOG_SPOOL_LOSS_HELD:
		ttlog__fwd_report(
			f, TTLOG_LEVEL_ERROR, "spool dropped",
			"spool %s: %llu frames (%llu events, seq %llu-%llu) "
			"deleted by the size cap earlier and kept only in "
			"memory were not acknowledged when that memory went "
			"(%s): lost",
			dir, (unsigned long long)l->records,
			(unsigned long long)l->events,
			(unsigned long long)l->seq_lo,
			(unsigned long long)l->seq_hi, l->reason);
		break;
	case TTLOG_SPOOL_LOSS_GAP:
		ttlog__fwd_report(
			f, TTLOG_LEVEL_ERROR, "spool dropped",
			"spool %s: %llu frames (seq %llu-%llu, about %llu "
			"events) are missing below the oldest segment with "
			"no record of their loss (a crash while the size cap "
			"deleted them?): lost",
			dir, (unsigned long long)l->records,
			(unsigned long long)l->seq_lo,
			(unsigned long long)l->seq_hi,
			(unsigned long long)l->events);
		break;
	default:
		if (l->records == 0)
			ttlog__fwd_report(f, TTLOG_LEVEL_ERROR, "spool damaged",
					  "spool %s/%s: %s", dir, l->segment,
					  l->reason);
		else
			ttlog__fwd_report(
				f, TTLOG_LEVEL_ERROR, "spool damaged",
				"spool %s/%s: damaged from byte %llu (%s): "
				"%llu records (%llu events%s, %llu bytes, seq "
				"%llu-%llu) skipped: lost",
				dir, l->segment, (unsigned long long)l->offset,
				l->reason, (unsigned long long)l->records,
				(unsigned long long)l->events, est,
				(unsigned long long)l->bytes,
				(unsigned long long)l->seq_lo,
				(unsigned long long)l->seq_hi);
		break;
	}
}

/* Attaches f to r as its heir; refused when r has one already or belongs
 * to a listener of another name. Called with the mutex held. */
static int attach(struct fwd *f, struct fwd_spool_ref *r, const char *dir,
		  char *err, size_t errlen)
{
	const char *holder = r->owner->host->name;

	if (r->heir != NULL || strcmp(holder, f->host->name) != 0) {
		snprintf(err, errlen,
			 "spool %s: in use by listener \"%s\" (each forward "
			 "listener needs its own spool.dir)",
			 dir, r->heir != NULL ? r->heir->host->name : holder);
		return -1;
	}
	r->heir = f;
	r->refs++;
	f->spool = r->spool;
	f->spool_ref = r;
	f->spool_waiting = 1;
	return 0;
}

int ttlog__fwd_spool_open(struct fwd *f, const struct ttlog__spool_opts *so,
			  char *err, size_t errlen)
{
	struct fwd_spool_ref *r;
	struct stat st;
	int rc = -1;

	struct ttlog__spool_opts o = *so;

	o.on_loss = on_loss;
	o.loss_arg = f;
	f->spool_opts = *so;
	f->spool_opts.dir = NULL;    /* borrowed from create()'s options */
	f->spool_opts_dir = so->dir; /* for reports during the open only */
	pthread_mutex_lock(&registry_mu);
	if (stat(so->dir, &st) == 0 &&
	    (r = find_ref((uint64_t)st.st_dev, (uint64_t)st.st_ino)) != NULL) {
		rc = attach(f, r, so->dir, err, errlen);
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "spool %s: out of memory", so->dir);
		goto out;
	}
	if (ttlog__spool_open(&o, &r->spool, err, errlen) != 0) {
		free(r);
		goto out;
	}
	if (ttlog__spool_dir_key(r->spool, &r->dev, &r->ino) != 0) {
		snprintf(err, errlen, "spool %s: fstat: %s", so->dir,
			 strerror(errno));
		ttlog__spool_close(r->spool);
		free(r);
		goto out;
	}
	r->owner = f;
	r->refs = 1;
	r->next = registry;
	registry = r;
	f->spool = r->spool;
	f->spool_ref = r;
	rc = 0;
out:
	pthread_mutex_unlock(&registry_mu);
	f->spool_opts_dir = NULL;
	if (rc == 0)
		load_seq_state(f);
	return rc;
}

/* The owner `from` is being destroyed: the heir continues the spool's
 * line of frames, and the listener's counters (they never go back). */
static void take_over(struct fwd *h, const struct fwd *from)
{
	char err[512];
	struct ttlog__spool_stats st;

	if (ttlog__spool_set_opts(h->spool, &h->spool_opts, err, sizeof(err)) !=
	    0)
		ttlog__fwd_report(h, TTLOG_LEVEL_ERROR, "spool",
				  "%s; the previous options stay", err);
	h->spool_waiting = 0;
	ttlog__spool_set_reporter(h->spool, on_loss, h);
	load_seq_state(h);
	/* The old instance's window went with it: frames the cap had
	 * deleted that only it still held are lost (counted, said). */
	ttlog__spool_set_held(h->spool, h->mem_hi);
	/* Frames the old instance never sent are not resent ones. */
	if (from->max_sent < h->max_sent)
		h->max_sent = from->max_sent;
	h->st = from->st;
	ttlog__spool_get_stats(h->spool, &st);
	ttlog__fwd_report(h, TTLOG_LEVEL_INFO, "spool handed over",
			  "spool %s taken over from the previous instance "
			  "with %llu frames (about %llu events) not "
			  "acknowledged; sender id and seq continue",
			  ttlog__spool_dir(h->spool),
			  (unsigned long long)(h->last_seq - h->acked),
			  (unsigned long long)st.events);
	/* Not started yet: start2() connects. */
	if (h->base != NULL)
		ttlog__fwd_conn_start(h);
}

/* The last instance lets the spool go (shutdown, a changed spool.dir, a
 * listener removed): what is not acknowledged stays in the directory,
 * and this is the one line that says so. */
static void close_spool(struct fwd *f, struct ttlog__spool *s)
{
	struct ttlog__spool_stats st;

	ttlog__spool_get_stats(s, &st);
	if (st.records > 0)
		ttlog__fwd_report(
			f, TTLOG_LEVEL_WARN, "spool closed",
			"%llu frames (about %llu events) not acknowledged "
			"by %s stay in spool %s; a forward listener that "
			"opens this directory again (at the next start, or "
			"by a reload) sends them",
			(unsigned long long)st.records,
			(unsigned long long)st.events, f->ep[f->cur].text,
			ttlog__spool_dir(s));
	/* The close may report held records as lost: they name it. */
	f->spool_opts_dir = ttlog__spool_dir(s);
	ttlog__spool_close(s);
	f->spool_opts_dir = NULL;
}

void ttlog__fwd_spool_close(struct fwd *f)
{
	struct fwd_spool_ref *r = f->spool_ref;
	struct fwd *heir = NULL;
	struct ttlog__spool *last = NULL;

	if (r == NULL)
		return;
	pthread_mutex_lock(&registry_mu);
	r->refs--;
	if (r->heir == f) {
		r->heir = NULL; /* a reload that failed: nothing moved */
	} else if (r->heir != NULL) {
		heir = r->owner = r->heir;
		r->heir = NULL;
	} else {
		unlink_ref(r);
		last = r->spool;
	}
	pthread_mutex_unlock(&registry_mu);
	f->spool = NULL;
	f->spool_ref = NULL;
	if (heir != NULL)
		take_over(heir, f);
	if (last != NULL) {
		close_spool(f, last);
		free(r);
	}
}

int ttlog__fwd_spool_handing_over(const struct fwd *f)
{
	int yes;

	if (f->spool_ref == NULL)
		return 0;
	pthread_mutex_lock(&registry_mu);
	yes = f->spool_ref->owner == f && f->spool_ref->heir != NULL;
	pthread_mutex_unlock(&registry_mu);
	return yes;
}
