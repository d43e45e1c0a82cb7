/* expand.c - environment references in configuration values. A deployment
 * keeps one ttlog.yaml and varies hosts, ports and secrets through the
 * environment; the syntax is the shell's (and docker compose's) subset that
 * people already know, nothing more. "$${" is kept as "${" (compose's
 * escape), so that templates (a set processor's value, a file path) can
 * be written in the file; so is "${NAME}" without a default when NAME is
 * one of the names a template reads (host, service, input, peer, peer_id,
 * relay, level, msg, fields.X) and no environment variable has it:
 * path: /var/log/ttlog/${service}/%Y-%m-%d.jsonl reads as written. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "loader_internal.h"

/* Variable names are quoted in messages up to this length, so that a
 * runaway "${" in a long value does not make a runaway message. */
#define NAME_SHOWN 64

struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void sbuf_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		char *p = ttlog__grow(b->p, &b->cap, b->len + n + 1, 1, 64);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static int valid_name(const char *s, size_t n)
{
	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* strstr() for a two-character needle, bounded by a length so that a long
 * value with many references is scanned once, not once per reference. */
static const char *find2(const char *s, size_t n, char a, char b)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == a && s[i + 1] == b)
			return s + i;
	return NULL;
}

/* Whether name (n bytes) is one a template reads (route/template.h). */
static int template_name(const char *name, size_t n)
{
	static const char *const names[] = {"host",  "service", "input",
					    "peer",  "peer_id", "relay",
					    "level", "msg"};

	if (n > 7 && memcmp(name, "fields.", 7) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0)
			return 1;
	return 0;
}

int ttlog__cfg_expand(const char *s, char **out, struct ttlog__diag *d,
		      const struct ttlog__cfg_node *at, const char *path)
{
	struct sbuf b = {0};
	int errors = 0;
	const char *p = s;

	*out = NULL;
	if (strstr(s, "${") == NULL)
		return 0;
	for (;;) {
		const char *open = strstr(p, "${");
		if (open == NULL) {
			sbuf_put(&b, p, strlen(p));
			break;
		}
		/* "$${" is a "${" kept for whoever reads the value (a
		 * template: "$${service}"), as docker compose writes it. */
		if (open > p && open[-1] == '$') {
			sbuf_put(&b, p, (size_t)(open - 1 - p));
			sbuf_put(&b, "${", 2);
			p = open + 2;
			continue;
		}
		sbuf_put(&b, p, (size_t)(open - p));
		const char *name = open + 2;
		const char *close = strchr(name, '}');
		if (close == NULL) {
			ttlog__diag_add(d, at, path,
					"unterminated \"${\" (missing \"}\")");
			errors++;
			break;
		}
		/* The first ":-" ends the name: a name cannot hold one. */
		size_t nlen = (size_t)(close - name), dlen = 0;
		const char *def = NULL, *sep = find2(name, nlen, ':', '-');
		if (sep != NULL) {
			nlen = (size_t)(sep - name);
			def = sep + 2;
			dlen = (size_t)(close - def);
		}
		p = close + 1;
		if (def == NULL && template_name(name, nlen)) {
			char *key = strndup(name, nlen);
			const char *val = key != NULL ? getenv(key) : NULL;
			free(key);
			if (val == NULL) {
				/* Left for the template. */
				sbuf_put(&b, open, (size_t)(p - open));
				continue;
			}
		}
		if (!valid_name(name, nlen)) {
			ttlog__diag_add(
				d, at, path,
				"invalid environment variable name "
				"\"%.*s\" (use letters, digits and "
				"'_', not starting with a digit)",
				(int)(nlen > NAME_SHOWN ? NAME_SHOWN : nlen),
				name);
			errors++;
			continue;
		}
		if (def != NULL && find2(def, dlen, '$', '{') != NULL) {
			ttlog__diag_add(
				d, at, path,
				"the default of ${%.*s} cannot "
				"contain \"${\" (defaults are not "
				"expanded)",
				(int)(nlen > NAME_SHOWN ? NAME_SHOWN : nlen),
				name);
			errors++;
			continue;
		}
		char *key = strndup(name, nlen);
		if (key == NULL) {
			b.oom = 1;
			break;
		}
		const char *val = getenv(key);
		if (val != NULL && (*val != 0 || def == NULL))
			sbuf_put(&b, val, strlen(val));
		else if (def != NULL)
			sbuf_put(&b, def, dlen);
		else {
			ttlog__diag_add(d, at, path,
					"environment variable %s is not set "
					"(write ${%s:-default} for a default)",
					key, key);
			errors++;
		}
		free(key);
	}
	if (b.oom) {
		free(b.p);
		return -1;
	}
	if (errors != 0) {
		free(b.p);
		return errors;
	}
	/* "${X}" with X empty leaves nothing written, and no buffer. */
	if (b.p == NULL)
		b.p = calloc(1, 1);
	if (b.p == NULL)
		return -1;
	*out = b.p;
	return 0;
}
