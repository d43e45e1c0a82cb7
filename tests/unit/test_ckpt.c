/*
 * test_ckpt.c - the tail and journal inputs' state file
 * (agent/inputs/ckpt.c): what a save writes is what a load gives back,
 * any damage is refused with the offset at fault before a record is
 * handed out, and a failed save leaves the previous file and no
 * temporary file behind.
 */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "ckpt.h"
#include "testutil.h"

struct got {
	size_t n;
	size_t cap;
	struct ttlog__ckpt_rec *r; /* copies: key and val are malloc()ed */
	size_t calls;		   /* times collect() was called */
	size_t stop_at;		   /* it returns 7 at this call (1-based) */
};

static int collect(void *arg, const struct ttlog__ckpt_rec *r)
{
	struct got *g = arg;
	struct ttlog__ckpt_rec *c;

	if (++g->calls == g->stop_at)
		return 7;
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		g->r = realloc(g->r, g->cap * sizeof(*g->r));
		assert_non_null(g->r);
	}
	c = &g->r[g->n++];
	c->key_len = r->key_len;
	c->val_len = r->val_len;
	c->key = malloc(r->key_len + 1);
	c->val = malloc(r->val_len + 1);
	assert_non_null(c->key);
	assert_non_null(c->val);
	memcpy((char *)c->key, r->key, r->key_len);
	memcpy((void *)c->val, r->val, r->val_len);
	return 0;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n && g->r != NULL; i++) {
		free((void *)g->r[i].key);
		free((void *)g->r[i].val);
	}
	free(g->r);
	memset(g, 0, sizeof(*g));
}

struct fixture {
	char dir[64];
	char path[128];
	char tmp[160];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/ttlog-ckpt-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/input-app.tail", f->dir);
	snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", f->path);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	chmod(f->dir, 0700);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* n records with keys and values of varied sizes: empty ones, binary
 * values with NUL and 0xff bytes, and one key and one value at the
 * limits. Caller frees the buffers with recs_free(). */
static struct ttlog__ckpt_rec *recs_make(size_t n)
{
	struct ttlog__ckpt_rec *recs = calloc(n ? n : 1, sizeof(*recs));

	assert_non_null(recs);
	for (size_t i = 0; i < n; i++) {
		size_t kl = i % 7 == 0 ? 0 : 1 + i % 40;
		size_t vl = i % 5 == 1 ? 0 : 1 + (i * 13) % 300;
		char *k, *v;

		if (i == 3)
			kl = TTLOG__CKPT_MAX_KEY;
		if (i == 4)
			vl = TTLOG__CKPT_MAX_VALUE;
		k = malloc(kl + 1);
		v = malloc(vl + 1);
		assert_non_null(k);
		assert_non_null(v);
		for (size_t j = 0; j < kl; j++)
			k[j] = (char)('a' + (i + j) % 26);
		for (size_t j = 0; j < vl; j++)
			v[j] = (char)((i * 31 + j * 7) & 0xff);
		if (vl > 2) {
			v[0] = 0;
			v[1] = (char)0xff;
		}
		recs[i].key = k;
		recs[i].key_len = kl;
		recs[i].val = v;
		recs[i].val_len = vl;
	}
	return recs;
}

static void recs_free(struct ttlog__ckpt_rec *recs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((void *)recs[i].key);
		free((void *)recs[i].val);
	}
	free(recs);
}

static void assert_same(const struct got *g, const struct ttlog__ckpt_rec *r,
			size_t n)
{
	assert_int_equal(g->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(g->r[i].key_len, r[i].key_len);
		assert_int_equal(g->r[i].val_len, r[i].val_len);
		if (r[i].val_len > 0)
			assert_memory_equal(g->r[i].val, r[i].val,
					    r[i].val_len);
		if (r[i].key_len > 0)
			assert_memory_equal(g->r[i].key, r[i].key,
					    r[i].key_len);
	}
}

static void assert_gone(const char *path)
{
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

/* "offset N: ..." with N at most len. */
static void assert_offset_err(const char *err, size_t len)
{
	unsigned long long off;
	int used = 0;

	assert_int_equal(sscanf(err, "offset %llu: %n", &off, &used), 1);
	assert_true(used > 0 && err[used] != '\0');
	assert_true(off <= len);
}

static void round_trip(struct fixture *f, size_t n, int sync)
{
	struct ttlog__ckpt_rec *recs = recs_make(n);
	struct got g = {0};
	char err[512] = "";

	assert_int_equal(
		ttlog__ckpt_save(f->path, recs, n, sync, err, sizeof(err)), 0);
	assert_gone(f->tmp);
	assert_int_equal(
		ttlog__ckpt_load(f->path, collect, &g, err, sizeof(err)), 0);
	assert_same(&g, recs, n);
	got_free(&g);
	recs_free(recs, n);
}

static void test_ckpt_round_trip_0_1_1000(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	round_trip(f, 0, 1);
	round_trip(f, 1, 0);
	round_trip(f, 1000, 1);
	/* The last save replaced the file; it is the owner's alone. */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	round_trip(f, 5, 0);
}

static void test_ckpt_missing_file_is_1(void **state)
{
	struct fixture *f = *state;
	struct got g = {0};
	char err[256] = "";

	assert_int_equal(
		ttlog__ckpt_load(f->path, collect, &g, err, sizeof(err)), 1);
	assert_int_equal(g.n, 0);
}

static void test_ckpt_unreadable_names_path(void **state)
{
	struct fixture *f = *state;
	struct got g = {0};
	char err[256] = "";

	/* A directory where the file should be. */
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(
		ttlog__ckpt_load(f->path, collect, &g, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, f->path, strlen(f->path)), 0);
	assert_int_equal(g.n, 0);
}

/* A small valid file's bytes (records with empty keys and values). */
static unsigned char *small_file(struct fixture *f, size_t *len)
{
	struct ttlog__ckpt_rec *recs = recs_make(6);
	char err[256];

	recs[3].key_len = 3; /* not the limit-sized one: keep it small */
	recs[4].val_len = 9;
	assert_int_equal(
		ttlog__ckpt_save(f->path, recs, 6, 0, err, sizeof(err)), 0);
	recs_free(recs, 6);
	return read_whole_file(f->path, len);
}

static void test_ckpt_every_truncation_fails_with_offset(void **state)
{
	struct fixture *f = *state;
	size_t len;
	unsigned char *img = small_file(f, &len);
	struct got g = {0};
	char err[256];

	for (size_t cut = 0; cut < len; cut++) {
		unsigned char *exact = malloc(cut ? cut : 1);
		memcpy(exact, img, cut);
		err[0] = '\0';
		assert_int_equal(ttlog__ckpt_parse(exact, cut, collect, &g, err,
						   sizeof(err)),
				 -1);
		assert_offset_err(err, cut);
		/* A damaged file hands out nothing at all. */
		assert_int_equal(g.n, 0);
		free(exact);
	}
	/* Through load, the message starts with the path. */
	{
		FILE *fp = fopen(f->path, "wb");
		assert_non_null(fp);
		assert_int_equal(fwrite(img, 1, len - 1, fp), len - 1);
		fclose(fp);
		assert_int_equal(ttlog__ckpt_load(f->path, collect, &g, err,
						  sizeof(err)),
				 -1);
		assert_int_equal(strncmp(err, f->path, strlen(f->path)), 0);
		assert_offset_err(err + strlen(f->path) + 2, len);
	}
	free(img);
}

static void test_ckpt_flipped_byte_fails(void **state)
{
	struct fixture *f = *state;
	static const unsigned char masks[] = {0x01, 0x80, 0xff};
	size_t len;
	unsigned char *img = small_file(f, &len);
	struct got g = {0};
	char err[256];

	for (size_t i = 0; i < len; i++)
		for (size_t m = 0; m < sizeof(masks); m++) {
			img[i] ^= masks[m];
			assert_int_equal(ttlog__ckpt_parse(img, len, collect,
							   &g, err,
							   sizeof(err)),
					 -1);
			assert_offset_err(err, len);
			assert_int_equal(g.n, 0);
			img[i] ^= masks[m];
		}
	assert_int_equal(
		ttlog__ckpt_parse(img, len, NULL, NULL, err, sizeof(err)), 0);
	free(img);
}

static void test_ckpt_trailing_bytes_and_count_refused(void **state)
{
	struct fixture *f = *state;
	size_t len;
	unsigned char *img = small_file(f, &len);
	unsigned char *more = malloc(len + 1);
	char err[256], want[256];

	memcpy(more, img, len);
	more[len] = 0;
	assert_int_equal(
		ttlog__ckpt_parse(more, len + 1, NULL, NULL, err, sizeof(err)),
		-1);
	snprintf(want, sizeof(want),
		 "offset %zu: 1 bytes follow the 6 records the header counts",
		 len);
	assert_string_equal(err, want);
	free(more);
	/* The header counts one record fewer than there are. */
	img[15] = 5;
	assert_int_equal(
		ttlog__ckpt_parse(img, len, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "follow the 5 records"));
	/* ... or one more. */
	img[15] = 7;
	assert_int_equal(
		ttlog__ckpt_parse(img, len, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "record 7 of 7"));
	free(img);
}

/* A header and one record head: the lengths, nothing after them. */
static size_t craft(unsigned char *p, uint32_t version, uint32_t count,
		    uint32_t klen, uint32_t vlen)
{
	memcpy(p, "TTLOGCKP", 8);
	for (int i = 0; i < 4; i++) {
		p[8 + i] = (unsigned char)(version >> (24 - 8 * i));
		p[12 + i] = (unsigned char)(count >> (24 - 8 * i));
		p[16 + i] = (unsigned char)(klen >> (24 - 8 * i));
		p[20 + i] = (unsigned char)(vlen >> (24 - 8 * i));
	}
	return 24;
}

static void test_ckpt_limits_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char p[32];
	char err[256], *big = calloc(1, TTLOG__CKPT_MAX_VALUE + 1);
	struct ttlog__ckpt_rec r = {big, TTLOG__CKPT_MAX_KEY + 1, big, 0};

	assert_int_equal(ttlog__ckpt_parse(p, craft(p, 1, 1, 0xffffffffu, 0),
					   NULL, NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "offset 16: key length 4294967295"));
	assert_int_equal(
		ttlog__ckpt_parse(p,
				  craft(p, 1, 1, 0, TTLOG__CKPT_MAX_VALUE + 1),
				  NULL, NULL, err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "offset 20: value length 65537"));
	assert_int_equal(ttlog__ckpt_parse(
				 p,
				 craft(p, 1, TTLOG__CKPT_MAX_RECORDS + 1, 0, 0),
				 NULL, NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "offset 12: record count 1000001"));
	assert_int_equal(ttlog__ckpt_parse(p, craft(p, 2, 0, 0, 0) - 8, NULL,
					   NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "offset 8: version 2"));
	memcpy(p, "TTLOGSND", 8);
	assert_int_equal(ttlog__ckpt_parse(p, 16, NULL, NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "offset 0: not a ttlog state file"));

	/* Saving what could not be read back is refused, nothing written. */
	assert_int_equal(ttlog__ckpt_save(f->path, &r, 1, 0, err, sizeof(err)),
			 -1);
	r.key_len = 0;
	r.val_len = TTLOG__CKPT_MAX_VALUE + 1;
	assert_int_equal(ttlog__ckpt_save(f->path, &r, 1, 0, err, sizeof(err)),
			 -1);
	assert_gone(f->path);
	assert_gone(f->tmp);
	free(big);
}

/* Saves 2 records, then checks that the file still loads as those. */
static void save_old(struct fixture *f, struct ttlog__ckpt_rec *old)
{
	char err[256];

	assert_int_equal(ttlog__ckpt_save(f->path, old, 2, 1, err, sizeof(err)),
			 0);
}

static void assert_old(struct fixture *f, struct ttlog__ckpt_rec *old)
{
	struct got g = {0};
	char err[256];

	assert_int_equal(
		ttlog__ckpt_load(f->path, collect, &g, err, sizeof(err)), 0);
	assert_same(&g, old, 2);
	got_free(&g);
	assert_gone(f->tmp);
}

static void test_ckpt_failed_save_keeps_old_file(void **state)
{
	struct fixture *f = *state;
	struct ttlog__ckpt_rec *old = recs_make(2), *next = recs_make(1000);
	struct rlimit was, lim;
	char err[256], nodir[256];

	save_old(f, old);
	if (geteuid() != 0) {
		/* The directory is read-only: PATH.tmp cannot be made. */
		assert_int_equal(chmod(f->dir, 0500), 0);
		assert_int_equal(ttlog__ckpt_save(f->path, next, 1000, 1, err,
						  sizeof(err)),
				 -1);
		assert_non_null(strstr(err, f->tmp));
		assert_int_equal(chmod(f->dir, 0700), 0);
		assert_old(f, old);
	}
	/* A directory that does not exist (root ignores modes). */
	snprintf(nodir, sizeof(nodir), "%s/missing/input-x.tail", f->dir);
	assert_int_equal(
		ttlog__ckpt_save(nodir, next, 1000, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing/input-x.tail.tmp"));

	/* The write fails part way (a full disk, for root too): short
	 * writes, then EFBIG. */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
	lim = was;
	lim.rlim_cur = 1000;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(
		ttlog__ckpt_save(f->path, next, 1000, 1, err, sizeof(err)), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_non_null(strstr(err, "write"));
	assert_old(f, old);

	/* The rename fails (a directory is in the way): the written
	 * PATH.tmp is removed. */
	snprintf(nodir, sizeof(nodir), "%s/sub", f->dir);
	assert_int_equal(mkdir(nodir, 0700), 0);
	assert_int_equal(ttlog__ckpt_save(nodir, next, 1, 0, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "rename"));
	strcat(nodir, ".tmp");
	assert_gone(nodir);

	/* A PATH.tmp left by a crash is overwritten, not appended to. */
	{
		FILE *fp = fopen(f->tmp, "wb");
		assert_non_null(fp);
		fputs("junk left by a crash, longer than two records", fp);
		fclose(fp);
	}
	save_old(f, old);
	assert_old(f, old);
	recs_free(old, 2);
	recs_free(next, 1000);
}

static void test_ckpt_fn_return_propagates(void **state)
{
	struct fixture *f = *state;
	struct ttlog__ckpt_rec *recs = recs_make(5);
	struct got g = {0};
	size_t len;
	unsigned char *img;
	char err[256];

	assert_int_equal(
		ttlog__ckpt_save(f->path, recs, 5, 0, err, sizeof(err)), 0);
	g.stop_at = 2;
	assert_int_equal(
		ttlog__ckpt_load(f->path, collect, &g, err, sizeof(err)), 7);
	assert_int_equal(g.calls, 2); /* stopped: the 3rd never seen */
	assert_int_equal(g.n, 1);
	got_free(&g);
	img = read_whole_file(f->path, &len);
	g.stop_at = 5;
	assert_int_equal(
		ttlog__ckpt_parse(img, len, collect, &g, err, sizeof(err)), 7);
	assert_int_equal(g.calls, 5);
	got_free(&g);
	free(img);
	recs_free(recs, 5);
}

/* A file made by a separate encoder (the fuzz seed's generator, written
 * from the format in ckpt.h alone) reads as the records it holds. */
static void test_ckpt_reads_independent_encoding(void **state)
{
	struct got g = {0};
	char err[256] = "";
	(void)state;

	assert_int_equal(ttlog__ckpt_load(TTLOG_TEST_SOURCE_DIR
					  "/../fuzz/corpus/fuzz_ckpt/"
					  "tail_three_files",
					  collect, &g, err, sizeof(err)),
			 0);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.r[2].key_len, strlen("/var/log/x.log"));
	assert_memory_equal(g.r[2].key, "/var/log/x.log", g.r[2].key_len);
	assert_int_equal(g.r[1].val_len, 24);
	got_free(&g);
	assert_int_equal(ttlog__ckpt_load(TTLOG_TEST_SOURCE_DIR
					  "/../fuzz/corpus/fuzz_ckpt/bad_crc",
					  collect, &g, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "bad_crc: offset "));
	assert_non_null(strstr(err, "checksum of record 1"));
	assert_int_equal(g.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ckpt_round_trip_0_1_1000,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ckpt_missing_file_is_1,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ckpt_unreadable_names_path,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ckpt_every_truncation_fails_with_offset, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_ckpt_flipped_byte_fails,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ckpt_trailing_bytes_and_count_refused, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_ckpt_limits_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_ckpt_failed_save_keeps_old_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ckpt_fn_return_propagates,
						setup, teardown),
		cmocka_unit_test(test_ckpt_reads_independent_encoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
