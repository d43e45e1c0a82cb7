/*
 * test_native_state.c - a ttlog input's sender table on disk
 * (agent/inputs/native_state.c): what a restart reads back, what counts as
 * in doubt, and what a damaged or foreign file does.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent_internal.h"
#include "input_internal.h"
#include "testutil.h"

struct fixture {
	char dir[64];
	struct event_base *base;
	struct ttlog__input in;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/ttlog-state-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->base = event_base_new();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	event_base_free(f->base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A fresh input named "native" with an empty sender table. */
static struct ttlog__input *input_new(struct fixture *f)
{
	struct ttlog__input *in = &f->in;

	free(in->senders);
	memset(in, 0, sizeof(*in));
	in->base = f->base;
	in->name = "native";
	in->senders = calloc(TTLOG__NATIVE_SENDERS, sizeof(*in->senders));
	assert_non_null(in->senders);
	return in;
}

static void input_done(struct ttlog__input *in)
{
	ttlog__native_state_close(in);
	free(in->senders);
	in->senders = NULL;
}

static void set_sender(struct ttlog__input *in, size_t k, uint8_t tag,
		       uint64_t taken, uint64_t accepted)
{
	struct ttlog__native_sender *s = &in->senders[k];

	memset(s->id, tag, sizeof(s->id));
	s->last_seq = taken;
	s->accepted_seq = accepted;
	s->live = 1;
	ttlog__native_state_put(in, k);
}

static void test_a_restart_reads_back_taken_and_in_doubt(void **state)
{
	struct fixture *f = *state;
	struct ttlog__input *in = input_new(f);
	char err[512];

	assert_int_equal(ttlog__native_state_open(in, f->dir, err, sizeof(err)),
			 0);
	set_sender(in, 5, 0xaa, 10, 12); /* frames 11, 12 handed on */
	set_sender(in, 9, 0xbb, 3, 3);	 /* everything taken */
	set_sender(in, 9, 0xbb, 4, 4);	 /* a later write wins */
	input_done(in);

	in = input_new(f);
	assert_int_equal(ttlog__native_state_open(in, f->dir, err, sizeof(err)),
			 0);
	assert_true(in->senders[5].live);
	assert_int_equal(in->senders[5].id[0], 0xaa);
	assert_int_equal(in->senders[5].last_seq, 10);
	assert_int_equal(in->senders[5].accepted_seq, 10);
	assert_int_equal(in->senders[5].doubt_to, 12);
	assert_true(in->senders[9].live);
	assert_int_equal(in->senders[9].last_seq, 4);
	assert_int_equal(in->senders[9].doubt_to, 0);
	assert_false(in->senders[6].live);
	assert_int_equal(in->st.state_damaged, 0);
	input_done(in);
}

static void test_a_damaged_slot_is_skipped_and_counted(void **state)
{
	struct fixture *f = *state;
	struct ttlog__input *in = input_new(f);
	char err[512], path[128];
	unsigned char b;
	int fd;

	assert_int_equal(ttlog__native_state_open(in, f->dir, err, sizeof(err)),
			 0);
	set_sender(in, 5, 0xaa, 10, 10);
	set_sender(in, 7, 0xcc, 20, 20);
	input_done(in);
	/* One bit of slot 5's seq flipped, as a torn write would leave it. */
	snprintf(path, sizeof(path), "%s/input-native.senders", f->dir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, 64 + 5 * 64 + 31), 1);
	b ^= 1;
	assert_int_equal(pwrite(fd, &b, 1, 64 + 5 * 64 + 31), 1);
	close(fd);

	in = input_new(f);
	assert_int_equal(ttlog__native_state_open(in, f->dir, err, sizeof(err)),
			 0);
	assert_false(in->senders[5].live);
	assert_true(in->senders[7].live);
	assert_int_equal(in->senders[7].last_seq, 20);
	assert_int_equal(in->st.state_damaged, 1);
	input_done(in);
}

static void test_a_foreign_file_is_refused_by_name(void **state)
{
	struct fixture *f = *state;
	struct ttlog__input *in = input_new(f);
	char err[512], path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/input-native.senders", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("this is not a sender table, it is a note left by someone "
	      "who liked the name\n",
	      fp);
	fclose(fp);
	assert_int_equal(ttlog__native_state_open(in, f->dir, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not a sender state file"));
	input_done(in);
}

static void test_a_state_dir_that_cannot_exist_is_an_error(void **state)
{
	struct fixture *f = *state;
	struct ttlog__input *in = input_new(f);
	char err[512], path[128];
	FILE *fp;

	/* Under a regular file: not even root can make it. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	strcat(path, "/state");
	assert_int_equal(ttlog__native_state_open(in, path, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "cannot create state_dir"));
	assert_non_null(strstr(err, path));
	input_done(in);

	/* No state_dir: memory only, nothing written. */
	in = input_new(f);
	assert_int_equal(ttlog__native_state_open(in, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(in->state_fd, -1);
	set_sender(in, 1, 0x11, 1, 1);
	input_done(in);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_a_restart_reads_back_taken_and_in_doubt),
		T(test_a_damaged_slot_is_skipped_and_counted),
		T(test_a_foreign_file_is_refused_by_name),
		T(test_a_state_dir_that_cannot_exist_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
