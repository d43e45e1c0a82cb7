/*
 * view_out.c - ttlog-view's output: the core's text and JSON-lines
 * encoders applied to the events read back, so that ttlog-view prints
 * a binary log exactly as the file listener's text or json format would
 * have written it.
 *
 * Events are added to a batch (ttlog__batch_add_in(), the path the
 * agent's inputs take) and the batch is encoded at once when it is full
 * or flushed: one encoder call per few hundred events, not per event.
 * The reader flushes before it waits for input, so nothing read stays
 * unprinted while ttlog-view blocks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch_internal.h"
#include "utf8.h"
#include "view_out.h"

#define OUT_EVENTS 256
#define OUT_BYTES 65536

/* ANSI SGR colors of the levels TRACE .. FATAL. */
static const char *const level_color[] = {
	"\033[90m", "\033[36m", "\033[32m",
	"\033[33m", "\033[31m", "\033[1;31m",
};
#define COLOR_RESET "\033[0m"

void view_out_init(struct view_out *o, FILE *f, int json, int color)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->json = json;
	o->color = color && !json;
}

void view_out_destroy(struct view_out *o)
{
	view_out_flush(o);
	ttlog_batch_unref(o->b);
	ttlog__origin_unref(o->none);
	o->none = NULL;
	o->b = NULL;
}

static int put(struct view_out *o, const void *p, size_t n)
{
	if (n > 0 && fwrite(p, 1, n, o->f) != n) {
		if (o->err == 0)
			o->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

int view_out_set_service(struct view_out *o, const struct view_str *service)
{
	struct ttlog__origin_str s[TTLOG__ORIGIN_NFIELDS] = {{NULL, 0}};

	if (view_out_flush(o) != 0)
		return -1;
	/* Events without an origin of their own (a snapshot's) are the
	 * file's service's: the encoder writes it where it writes every
	 * origin, and names a field called service _service. */
	ttlog__origin_unref(o->none);
	if (service != NULL) {
		s[TTLOG__ORIGIN_SERVICE].p = service->p;
		s[TTLOG__ORIGIN_SERVICE].len = service->len;
	}
	o->none = ttlog__origin_new(s);
	if (o->none == NULL) {
		o->err = ENOMEM;
		return -1;
	}
	return 0;
}

/* Writes text lines with the level colored; line i is event i. */
static int put_colored(struct view_out *o, const char *p, size_t len)
{
	const char *end = p + len;

	for (size_t i = 0; p < end; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		struct ttlog_event e;
		const char *name;
		size_t nlen, pre;

		/* The line is "TIME LEVEL ...": the level follows the first
		 * space. Anything else is written as it is. */
		if (ttlog_batch_event(o->b, i, &e) != 0 || sp == NULL ||
		    e.level > TTLOG_LEVEL_FATAL) {
			if (put(o, p, n) != 0)
				return -1;
			p += n;
			continue;
		}
		name = ttlog_level_name((enum ttlog_level)e.level);
		nlen = strlen(name);
		pre = (size_t)(sp - p) + 1;
		if (pre + nlen > n || memcmp(p + pre, name, nlen) != 0) {
			if (put(o, p, n) != 0)
				return -1;
		} else if (put(o, p, pre) != 0 ||
			   put(o, level_color[e.level],
			       strlen(level_color[e.level])) != 0 ||
			   put(o, name, nlen) != 0 ||
			   put(o, COLOR_RESET, sizeof(COLOR_RESET) - 1) != 0 ||
			   put(o, p + pre + nlen, n - pre - nlen) != 0) {
			return -1;
		}
		p += n;
	}
	return 0;
}

int view_out_flush(struct view_out *o)
{
	const void *data;
	size_t len;
	int rc = 0;

	if (o->b != NULL && ttlog_batch_count(o->b) > 0) {
		if (ttlog_batch_encode(o->b,
				       o->json ? TTLOG_ENCODING_JSONL
					       : TTLOG_ENCODING_TEXT,
				       &data, &len) != 0) {
			o->err = ENOMEM;
			rc = -1;
		} else if (o->color) {
			rc = put_colored(o, data, len);
		} else {
			rc = put(o, data, len);
		}
	}
	ttlog_batch_unref(o->b);
	o->b = NULL;
	if (fflush(o->f) != 0 && o->err == 0)
		o->err = errno ? errno : EIO;
	return rc != 0 || o->err != 0 ? -1 : 0;
}

/*
 * The origin the event is encoded with. Text names the sender only when
 * the event has a host or a service: an origin without either becomes
 * the encoder's own (NULL), which it does not name. JSON has the origin's
 * strings that are set; an event without an origin (a snapshot's, a
 * batch of version 1 or 2) gets an empty one, never the encoder's own,
 * which would be this process's.
 */
static int origin_of(struct view_out *o, const struct ttlog__in_event *ev,
		     struct ttlog__origin **out)
{
	const struct ttlog_origin *p = ev->origin ? &ev->origin->pub : NULL;

	*out = ev->origin;
	if (!o->json) {
		if (p == NULL || (p->host[0] == 0 && p->service[0] == 0))
			*out = NULL;
		return 0;
	}
	if (p != NULL)
		return 0;
	if (o->none == NULL)
		o->none =
			ttlog__origin_make(NULL, NULL, NULL, NULL, NULL, NULL);
	*out = o->none;
	return o->none != NULL ? 0 : -1;
}

int view_out_event(struct view_out *o, const struct ttlog__in_event *ev)
{
	const struct ttlog__in_event *use = ev;
	struct ttlog__in_event copy;
	struct ttlog__origin *origin;
	int rc;

	if (origin_of(o, ev, &origin) != 0) {
		o->err = ENOMEM;
		return -1;
	}
	if (origin != ev->origin) {
		copy = *ev;
		copy.origin = origin;
		use = &copy;
	}
	for (int tries = 0; tries < 2; tries++) {
		if (o->b == NULL) {
			o->b = ttlog__batch_new(OUT_EVENTS, OUT_BYTES, 0);
			if (o->b == NULL) {
				o->err = ENOMEM;
				return -1;
			}
		}
		/* No tid or time stands in for a 0 in the event, and no
		 * value is cut: every byte read is shown. */
		rc = ttlog__batch_add_in(o->b, use, 0, 0, UINT32_MAX);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			o->err = ENOMEM;
			return -1;
		}
		/* Full: write it out; an empty batch takes any event. */
		if (view_out_flush(o) != 0)
			return -1;
	}
	o->err = ENOMEM;
	return -1;
}
