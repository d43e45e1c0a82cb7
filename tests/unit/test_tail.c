/*
 * test_tail.c - the pure parts of the tail input (agent/inputs/
 * tail_file.c): a saved position's encoding, what makes a file the same
 * one (inode and fingerprint, a reused inode, a file shorter than the
 * fingerprint), and cutting bytes into lines under max_line.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_internal.h"
#include "input_internal.h"
#include "tail_internal.h"
#include "testutil.h"

/* ---- positions ---- */

static void test_tail_pos_round_trips_and_refuses_other_versions(void **st)
{
	struct ttlog__tail_pos p = {0x1122334455667788ull, 42, 256, 0xdeadbeef,
				    (1ull << 40) + 7},
			       q;
	unsigned char b[TTLOG__TAIL_POS_LEN];

	(void)st;
	ttlog__tail_pos_encode(&p, b);
	assert_int_equal(ttlog__tail_pos_decode(b, sizeof(b), &q), 0);
	assert_memory_equal(&p, &q, sizeof(p));
	assert_int_equal(ttlog__tail_pos_decode(b, sizeof(b) - 1, &q), -1);
	b[0] = 2;
	assert_int_equal(ttlog__tail_pos_decode(b, sizeof(b), &q), -1);
	b[0] = 1;
	b[17] = 0xff; /* a fingerprint longer than we ever take */
	assert_int_equal(ttlog__tail_pos_decode(b, sizeof(b), &q), -1);
}

/* ---- identity ---- */

static int file_with(const char *path, const char *text)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

static void ident(int fd, struct ttlog__tail_pos *p, struct stat *s)
{
	assert_int_equal(fstat(fd, s), 0);
	p->dev = (uint64_t)s->st_dev;
	p->ino = (uint64_t)s->st_ino;
	assert_int_equal(ttlog__tail_fingerprint(fd, (uint64_t)s->st_size,
						 &p->fp_len, &p->fp_crc),
			 0);
}

static void test_tail_identity_tells_a_reused_inode_apart(void **st)
{
	char path[] = "/tmp/ttlog-tail-XXXXXX";
	struct ttlog__tail_pos p;
	struct stat s;
	char big[600];
	int fd = mkstemp(path);

	(void)st;
	close(fd);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	fd = file_with(path, big);
	ident(fd, &p, &s);
	assert_int_equal(p.fp_len, TTLOG__TAIL_FP_MAX);
	assert_true(ttlog__tail_same(&p, fd, p.dev, p.ino, 599));
	/* Same inode, other first bytes: a new file that got the inode. */
	close(fd);
	big[3] = 'b';
	fd = file_with(path, big);
	assert_int_equal(fstat(fd, &s), 0);
	assert_false(ttlog__tail_same(&p, fd, (uint64_t)s.st_dev,
				      (uint64_t)s.st_ino, 599));
	/* Same bytes, another inode: another file. */
	big[3] = 'a';
	close(fd);
	fd = file_with(path, big);
	assert_false(ttlog__tail_same(&p, fd, p.dev, p.ino + 1, 599));
	/* Shorter than the fingerprint: not the file it was. */
	assert_false(ttlog__tail_same(&p, fd, p.dev, p.ino, 100));
	close(fd);
	unlink(path);
}

static void test_tail_identity_of_a_short_file_grows(void **st)
{
	char path[] = "/tmp/ttlog-tail-XXXXXX";
	struct ttlog__tail_pos p, later;
	struct stat s;
	int fd = mkstemp(path);

	(void)st;
	close(fd);
	fd = file_with(path, "hello\n");
	ident(fd, &p, &s);
	assert_int_equal(p.fp_len, 6);
	/* It grows: still the same file by its first 6 bytes, and its
	 * fingerprint, taken again, covers more. */
	assert_int_equal(write(fd, "world\n", 6), 6);
	assert_true(ttlog__tail_same(&p, fd, p.dev, p.ino, 12));
	ident(fd, &later, &s);
	assert_int_equal(later.fp_len, 12);
	assert_int_not_equal(later.fp_crc, p.fp_crc);
	close(fd);
	unlink(path);
}

/* ---- lines ---- */

struct got {
	char text[16][64];
	int cut[16];
	uint64_t end[16];
	int n;
};

static void on_line(void *arg, const char *line, size_t len, int cut,
		    uint64_t end_off)
{
	struct got *g = arg;

	assert_true(g->n < 16 && len < 64);
	memcpy(g->text[g->n], line, len);
	g->text[g->n][len] = 0;
	g->cut[g->n] = cut;
	g->end[g->n] = end_off;
	g->n++;
}

static void test_tail_lines_split_and_wait_for_the_last(void **st)
{
	struct ttlog__tail_lines l;
	struct got g = {0};

	(void)st;
	ttlog__tail_lines_init(&l, 10, 100);
	assert_int_equal(ttlog__tail_lines_feed(&l, "ab\ncd", 5, on_line, &g),
			 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.text[0], "ab");
	assert_int_equal(g.end[0], 103);
	assert_int_equal(l.done, 103);
	/* "cd" waits for its end, which comes in the next read. */
	assert_int_equal(ttlog__tail_lines_feed(&l, "e\n\n", 3, on_line, &g),
			 0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.text[1], "cde");
	assert_int_equal(g.end[1], 107);
	assert_string_equal(g.text[2], "");
	assert_int_equal(l.done, 108);
	/* A last line without '\n' goes out when the file is finished. */
	ttlog__tail_lines_feed(&l, "tail", 4, on_line, &g);
	assert_int_equal(g.n, 3);
	assert_int_equal(ttlog__tail_lines_flush(&l, on_line, &g), 1);
	assert_string_equal(g.text[3], "tail");
	assert_int_equal(l.done, 112);
	ttlog__tail_lines_destroy(&l);
}

static void test_tail_lines_cut_at_max_and_skip_the_rest(void **st)
{
	struct ttlog__tail_lines l;
	struct got g = {0};

	(void)st;
	ttlog__tail_lines_init(&l, 4, 0);
	/* In one read. */
	assert_int_equal(
		ttlog__tail_lines_feed(&l, "abcdefgh\nok\n", 12, on_line, &g),
		1);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.text[0], "abcd");
	assert_int_equal(g.cut[0], 1);
	assert_int_equal(g.end[0], 0); /* resuming repeats it, never halves */
	assert_string_equal(g.text[1], "ok");
	assert_int_equal(g.cut[1], 0);
	assert_int_equal(g.end[1], 12);
	/* Across reads: held, cut when it passes max, skipped to its end. */
	assert_int_equal(ttlog__tail_lines_feed(&l, "xy", 2, on_line, &g), 0);
	assert_int_equal(ttlog__tail_lines_feed(&l, "zwv", 3, on_line, &g), 1);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.text[2], "xyzw");
	assert_int_equal(ttlog__tail_lines_feed(&l, "uuu", 3, on_line, &g), 0);
	assert_int_equal(l.done, 12);
	assert_int_equal(ttlog__tail_lines_feed(&l, "u\nz\n", 4, on_line, &g),
			 0);
	assert_int_equal(g.n, 4);
	assert_string_equal(g.text[3], "z");
	assert_int_equal(g.end[3], 24);
	assert_int_equal(l.done, 24);
	/* Nothing is held beyond max. */
	assert_true(l.cap <= 4);
	ttlog__tail_lines_destroy(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_tail_pos_round_trips_and_refuses_other_versions),
		cmocka_unit_test(test_tail_identity_tells_a_reused_inode_apart),
		cmocka_unit_test(test_tail_identity_of_a_short_file_grows),
		cmocka_unit_test(test_tail_lines_split_and_wait_for_the_last),
		cmocka_unit_test(test_tail_lines_cut_at_max_and_skip_the_rest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
