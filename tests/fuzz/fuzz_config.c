/* fuzz_config.c - ttlog.yaml loader: arbitrary bytes go through
 * ttlog__cfg_load_string(); the tree that comes back is walked, its
 * invariants checked (abort() on a violation, so that libFuzzer reports
 * it), and every scalar goes through every scalar parser and the
 * suggestion. The input itself, as a C string, goes through the parsers
 * too, which reaches them with text YAML would not produce. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "fuzz.h"

static const char *const known[] = {
	"service", "level",  "listeners", "name", "type", "plugin",
	"inputs",  "rotate", "size",	  "path", NULL,
};

static void check(int ok)
{
	if (!ok)
		abort();
}

/* The parsers must agree where their forms overlap. */
static void parse_all(const char *s)
{
	uint64_t u = 0, sz = 0, ms = 0;
	int64_t i = 0;
	int b = 0;
	int ru = ttlog__cfg_parse_uint64(s, &u);
	int rs = ttlog__cfg_parse_size(s, &sz);
	int ri = ttlog__cfg_parse_int64(s, &i);
	int rd = ttlog__cfg_parse_duration_ms(s, &ms);
	int rb = ttlog__cfg_parse_bool(s, &b);

	check(ru == 0 || ru == -1);
	if (ru == 0) {
		/* A bare number is a number of bytes. */
		check(rs == 0 && sz == u);
		if (u <= (uint64_t)INT64_MAX)
			check(ri == 0 && (uint64_t)i == u);
		check(rd == (u == 0 ? 0 : -1));
	}
	/* Only a bare zero is both a size and a duration. */
	if (rd == 0 && rs == 0)
		check(sz == 0 && ms == 0);
	if (rb == 0)
		check(b == 0 || b == 1);
	(void)ttlog__cfg_suggest(s, known);
}

static void walk(const struct ttlog__cfg_node *n, unsigned depth)
{
	check(n != NULL && n->file != NULL && n->line >= 1 && n->col >= 1);
	/* The loader refuses anything deeper than 64 levels (keys count). */
	check(depth <= 66);
	switch (n->kind) {
	case TTLOG__CFG_SCALAR:
		check(n->str != NULL && n->n == 0);
		parse_all(n->str);
		break;
	case TTLOG__CFG_MAP:
		check(n->str == NULL);
		for (size_t i = 0; i < n->n; i++) {
			const struct ttlog__cfg_node *k = n->key_nodes[i];
			check(k->kind == TTLOG__CFG_SCALAR &&
			      n->keys[i] == k->str);
			/* Keys are unique, so lookup finds this entry. */
			check(ttlog__cfg_get(n, n->keys[i]) == n->vals[i]);
			walk(k, depth + 1);
			walk(n->vals[i], depth + 1);
		}
		break;
	case TTLOG__CFG_SEQ:
		check(n->str == NULL && n->keys == NULL &&
		      n->key_nodes == NULL);
		check(ttlog__cfg_get(n, "name") == NULL);
		for (size_t i = 0; i < n->n; i++)
			walk(n->vals[i], depth + 1);
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int env_done;
	struct ttlog__diag d = {0};
	struct ttlog__cfg_doc *doc;

	/* Variables the seeds refer to: set, set but empty; TTLOG_FUZZ_UNSET
	 * is never set. */
	if (!env_done) {
		setenv("TTLOG_FUZZ_SET", "from-env", 1);
		setenv("TTLOG_FUZZ_EMPTY", "", 1);
		unsetenv("TTLOG_FUZZ_UNSET");
		env_done = 1;
	}

	doc = ttlog__cfg_load_string("fuzz.yaml", (const char *)data, size, &d);
	/* A document exactly when nothing went wrong, and every message
	 * names the file. */
	check((doc != NULL) == (d.n == 0));
	for (size_t i = 0; i < d.n; i++)
		check(strncmp(d.msgs[i], "fuzz.yaml:", 10) == 0);
	if (doc != NULL)
		walk(ttlog__cfg_root(doc), 0);
	ttlog__cfg_free(doc);
	ttlog__diag_free(&d);

	char *s = malloc(size + 1);
	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = 0;
		parse_all(s);
		free(s);
	}
	return 0;
}
