/* diag.c - the list of configuration errors, each formatted once as
 * "file:line:col: path: message" so that every caller reports a place the
 * same way and a person can jump to it from an editor. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt,
							   va_list ap)
{
	va_list ap2;
	char *s;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s == NULL)
		return NULL;
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

__attribute__((format(printf, 1, 2))) static char *format(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vformat(fmt, ap);
	va_end(ap);
	return s;
}

/* Takes ownership of msg. When memory runs out the message is lost; the
 * loader counts its errors itself, so a failed load still returns NULL. */
static void push(struct ttlog__diag *d, char *msg)
{
	if (msg == NULL)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		char **m = realloc(d->msgs, cap * sizeof(*m));
		if (m == NULL) {
			free(msg);
			return;
		}
		d->msgs = m;
		d->cap = cap;
	}
	d->msgs[d->n++] = msg;
}

void ttlog__diag_addv(struct ttlog__diag *d, const struct ttlog__cfg_node *at,
		      const char *path, const char *fmt, va_list ap)
{
	char *msg, *line;
	int has_path = path != NULL && *path != 0;

	if (d == NULL)
		return;
	msg = vformat(fmt, ap);
	if (msg == NULL)
		return;
	/* A node without a file is a stand-in made by the caller (an empty
	 * section that was not written); it has no place to name. */
	if (at != NULL && at->file != NULL && has_path)
		line = format("%s:%u:%u: %s: %s", at->file, at->line, at->col,
			      path, msg);
	else if (at != NULL && at->file != NULL)
		line = format("%s:%u:%u: %s", at->file, at->line, at->col, msg);
	else if (has_path)
		line = format("%s: %s", path, msg);
	else {
		line = msg;
		msg = NULL;
	}
	free(msg);
	push(d, line);
}

void ttlog__diag_add(struct ttlog__diag *d, const struct ttlog__cfg_node *at,
		     const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ttlog__diag_addv(d, at, path, fmt, ap);
	va_end(ap);
}

void ttlog__diag_add_file(struct ttlog__diag *d, const char *file,
			  const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (d == NULL)
		return;
	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	if (msg == NULL || file == NULL) {
		push(d, msg);
		return;
	}
	push(d, format("%s: %s", file, msg));
	free(msg);
}

void ttlog__diag_free(struct ttlog__diag *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->n = d->cap = 0;
}
