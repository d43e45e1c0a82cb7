/* units.c - the scalar forms of ttlog.yaml (sizes, durations, booleans,
 * integers) and the did-you-mean suggestion for misspelt keys.
 *
 * The parsers are written by hand rather than on strtoull() because
 * strtoull() skips leading spaces, accepts a sign on unsigned numbers and
 * wraps "-1" to UINT64_MAX; a configuration value that is not exactly of
 * the documented form is an error, not a guess. None of them writes *out
 * on failure. */
#include <string.h>

#include "config_internal.h"

/* Reads one or more decimal digits at *sp into *out and advances *sp past
 * them. Leading zeros are allowed and mean nothing (not octal). */
static int parse_digits(const char **sp, uint64_t *out)
{
	const char *p = *sp;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned dgt = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - dgt) / 10)
			return -1;
		v = v * 10 + dgt;
	}
	*sp = p;
	*out = v;
	return 0;
}

struct unit {
	const char *name;
	uint64_t mult;
};

static int scale(uint64_t v, const char *suffix, const struct unit *units,
		 uint64_t *out)
{
	for (const struct unit *u = units; u->name != NULL; u++) {
		if (strcmp(suffix, u->name) != 0)
			continue;
		if (u->mult != 0 && v > UINT64_MAX / u->mult)
			return -1;
		*out = v * u->mult;
		return 0;
	}
	return -1;
}

int ttlog__cfg_parse_size(const char *s, uint64_t *out)
{
	/* The empty suffix is a count of bytes: "512" is 512 bytes. */
	static const struct unit units[] = {
		{"", 1},
		{"B", 1},
		{"KB", 1000ull},
		{"MB", 1000ull * 1000},
		{"GB", 1000ull * 1000 * 1000},
		{"TB", 1000ull * 1000 * 1000 * 1000},
		{"KiB", 1ull << 10},
		{"MiB", 1ull << 20},
		{"GiB", 1ull << 30},
		{"TiB", 1ull << 40},
		{NULL, 0},
	};
	uint64_t v;

	if (s == NULL || parse_digits(&s, &v) != 0)
		return -1;
	return scale(v, s, units, out);
}

int ttlog__cfg_parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct unit units[] = {
		{"ms", 1},
		{"s", 1000ull},
		{"m", 60ull * 1000},
		{"h", 3600ull * 1000},
		{"d", 86400ull * 1000},
		{NULL, 0},
	};
	uint64_t v;

	if (s == NULL || parse_digits(&s, &v) != 0)
		return -1;
	/* A bare "30" could mean seconds or milliseconds, so it is refused;
	 * zero is zero in every unit. */
	if (*s == 0) {
		if (v != 0)
			return -1;
		*out = 0;
		return 0;
	}
	/* Rounding up keeps a small positive timeout from becoming 0, which
	 * usually means "never" or "disabled". */
	if (strcmp(s, "us") == 0) {
		*out = v / 1000 + (v % 1000 != 0);
		return 0;
	}
	return scale(v, s, units, out);
}

int ttlog__cfg_parse_bool(const char *s, int *out)
{
	static const struct {
		const char *name;
		int val;
	} words[] = {
		{"true", 1}, {"false", 0}, {"yes", 1},
		{"no", 0},   {"on", 1},	   {"off", 0},
	};

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i].name) == 0) {
			*out = words[i].val;
			return 0;
		}
	return -1;
}

int ttlog__cfg_parse_uint64(const char *s, uint64_t *out)
{
	uint64_t v;

	if (s == NULL || parse_digits(&s, &v) != 0 || *s != 0)
		return -1;
	*out = v;
	return 0;
}

int ttlog__cfg_parse_int64(const char *s, int64_t *out)
{
	uint64_t v;
	int neg = 0;

	if (s == NULL)
		return -1;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (parse_digits(&s, &v) != 0 || *s != 0)
		return -1;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		/* -(INT64_MAX + 1) does not fit before the negation. */
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)v;
	}
	return 0;
}

/* Keys and option names are short; longer words get no suggestion rather
 * than a large allocation. */
#define SUGGEST_MAX_LEN 64

/* Optimal string alignment distance: Levenshtein plus the swap of two
 * adjacent characters as one edit, because "levle" for "level" is the most
 * common typo and plain Levenshtein counts it as two. */
static size_t osa_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t rows[3][SUGGEST_MAX_LEN + 1];
	size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t best = prev[j - 1] + cost;
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < best)
				best = pp[j - 2] + 1;
			cur[j] = best;
		}
		size_t *t = pp;
		pp = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

const char *ttlog__cfg_suggest(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	size_t lw, limit, best_d;

	if (word == NULL || candidates == NULL)
		return NULL;
	lw = strlen(word);
	if (lw > SUGGEST_MAX_LEN)
		return NULL;
	limit = lw / 3 > 1 ? lw / 3 : 1;
	best_d = limit + 1;
	for (const char *const *c = candidates; *c != NULL; c++) {
		size_t lc = strlen(*c);
		/* The length difference alone is a lower bound. */
		if (lc > SUGGEST_MAX_LEN ||
		    (lc > lw ? lc - lw : lw - lc) > limit)
			continue;
		size_t dist = osa_distance(word, lw, *c, lc);
		/* Strictly smaller: on a tie the earlier candidate wins, so
		 * the order of the table decides, not chance. */
		if (dist < best_d) {
			best_d = dist;
			best = *c;
		}
	}
	return best;
}
