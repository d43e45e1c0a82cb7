/* config.c - ttlog.yaml as a document: reading the file, the tree's
 * lifetime and lookups. The YAML itself is read in loader.c.
 *
 * Nothing of a failed load is returned: a configuration is used whole or
 * not at all, so a half-read file can never start a half-configured
 * pipeline. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader_internal.h"

/* A configuration file is small; this stops "-c /dev/zero" from eating
 * the machine. */
#define CFG_MAX_FILE_BYTES (64u << 20)

struct ttlog__cfg_doc {
	char *file; /* what every node's file points to */
	struct ttlog__cfg_node *root;
};

void ttlog__cfg_node_free(struct ttlog__cfg_node *n)
{
	if (n == NULL)
		return;
	free(n->str);
	for (size_t i = 0; i < n->n; i++) {
		/* keys[i] is key_nodes[i]->str, freed with the key node. */
		if (n->key_nodes != NULL)
			ttlog__cfg_node_free(n->key_nodes[i]);
		ttlog__cfg_node_free(n->vals[i]);
	}
	free(n->keys);
	free(n->key_nodes);
	free(n->vals);
	free(n);
}

static struct ttlog__cfg_doc *load(const char *name, const unsigned char *text,
				   size_t len, struct ttlog__diag *d)
{
	struct ttlog__cfg_doc *doc = calloc(1, sizeof(*doc));

	if (doc == NULL || (doc->file = strdup(name)) == NULL) {
		free(doc);
		ttlog__diag_add_file(d, name, "out of memory");
		return NULL;
	}
	if (ttlog__cfg_parse(doc->file, text, len, d, &doc->root) != 0 ||
	    doc->root == NULL) {
		ttlog__cfg_free(doc);
		return NULL;
	}
	return doc;
}

struct ttlog__cfg_doc *ttlog__cfg_load_string(const char *name,
					      const char *text, size_t len,
					      struct ttlog__diag *d)
{
	return load(name ? name : "<string>", (const unsigned char *)text, len,
		    d);
}

struct ttlog__cfg_doc *ttlog__cfg_load_file(const char *path,
					    struct ttlog__diag *d)
{
	struct ttlog__cfg_doc *doc;
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ttlog__diag_add_file(d, path, "cannot open: %s",
				     strerror(errno));
		return NULL;
	}
	/* read() until EOF rather than fstat(): "-c <(generate)" gives a
	 * pipe, whose size is unknown. */
	for (;;) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 16384;
			unsigned char *b;
			if (cap >= CFG_MAX_FILE_BYTES) {
				ttlog__diag_add_file(d, path,
						     "larger than %uMiB; is "
						     "this the configuration?",
						     CFG_MAX_FILE_BYTES >> 20);
				goto fail;
			}
			b = realloc(buf, nc);
			if (b == NULL) {
				ttlog__diag_add_file(d, path, "out of memory");
				goto fail;
			}
			buf = b;
			cap = nc;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ttlog__diag_add_file(d, path, "cannot read: %s",
					     strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	doc = load(path, buf, len, d);
	free(buf);
	return doc;
fail:
	close(fd);
	free(buf);
	return NULL;
}

const struct ttlog__cfg_node *ttlog__cfg_root(const struct ttlog__cfg_doc *doc)
{
	return doc ? doc->root : NULL;
}

void ttlog__cfg_free(struct ttlog__cfg_doc *doc)
{
	if (doc == NULL)
		return;
	ttlog__cfg_node_free(doc->root);
	free(doc->file);
	free(doc);
}

const struct ttlog__cfg_node *ttlog__cfg_get(const struct ttlog__cfg_node *m,
					     const char *key)
{
	if (m == NULL || key == NULL || m->kind != TTLOG__CFG_MAP)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->keys[i], key) == 0)
			return m->vals[i];
	return NULL;
}
