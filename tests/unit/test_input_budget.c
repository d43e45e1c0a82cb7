/* test_input_budget.c - an input's memory budget (input_budget.c) on
 * connections made by hand: what a connection may hold unasked, a
 * reservation granted or waited for, the order in which waiters are
 * served (proven senders first, then the oldest), and what is given back
 * when a connection finishes its message or closes. The deadlines need a
 * clock and real peers: tests/integration/test_hostile.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "input_internal.h"

#define KIB ((size_t)1024)
#define FREE TTLOG__CONN_FREE_BYTES
#define READ TTLOG__CONN_READ_BYTES

struct fixture {
	struct event_base *base;
	struct ttlog__input in;
	struct ttlog__input_conn c[4];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->in.type = TTLOG__INPUT_TTLOG;
	f->in.max_message = 64 * KIB;
	f->in.max_buffer = 1024 * KIB;
	/* Linked in order: c[0] first. */
	for (int i = 3; i >= 0; i--) {
		struct ttlog__input_conn *c = &f->c[i];
		c->in = &f->in;
		c->bev = bufferevent_socket_new(f->base, -1, 0);
		assert_non_null(c->bev);
		c->next = f->in.conns;
		if (f->in.conns != NULL)
			f->in.conns->prev = c;
		f->in.conns = c;
		ttlog__input_budget_accepted(c);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 4; i++)
		bufferevent_free(f->c[i].bev);
	event_base_free(f->base);
	free(f);
	return 0;
}

static size_t high_mark(struct ttlog__input_conn *c)
{
	size_t lo = 0, hi = 0;

	assert_int_equal(bufferevent_getwatermark(c->bev, EV_READ, &lo, &hi),
			 0);
	return hi;
}

static void test_small_messages_need_no_reservation(void **state)
{
	struct fixture *f = *state;
	struct ttlog__input_conn *c = &f->c[0];

	ttlog__input_budget_after_read(c, 100, FREE, 0);
	assert_int_equal(c->reserved, 0);
	assert_int_equal(f->in.reserved, 0);
	assert_int_equal(high_mark(c), FREE + READ);
	assert_int_equal(f->in.st.budget_waits, 0);
}

static void test_a_large_frame_reserves_its_size_and_gives_it_back(void **state)
{
	struct fixture *f = *state;
	struct ttlog__input_conn *c = &f->c[0];

	ttlog__input_budget_after_read(c, 5, 300 * KIB, 0);
	assert_int_equal(c->reserved, 300 * KIB);
	assert_int_equal(f->in.reserved, 300 * KIB);
	assert_int_equal(high_mark(c), 300 * KIB + READ);
	/* The frame is whole and taken; nothing incomplete is left. */
	ttlog__input_budget_after_read(c, 0, 0, 1);
	assert_int_equal(c->reserved, 0);
	assert_int_equal(f->in.reserved, 0);
	assert_int_equal(high_mark(c), FREE + READ);
}

static void
test_a_line_reserves_max_message_once_past_the_free_bytes(void **state)
{
	struct fixture *f = *state;
	struct ttlog__input_conn *c = &f->c[0];

	f->in.type = TTLOG__INPUT_JSONL;
	ttlog__input_budget_after_read(c, FREE - 1, 0, 0);
	assert_int_equal(c->reserved, 0);
	ttlog__input_budget_after_read(c, FREE, 0, 0);
	assert_int_equal(c->reserved, f->in.max_message + 64);
	/* A whole line makes a jsonl connection proven. */
	ttlog__input_budget_after_read(c, 0, 0, 1);
	assert_true(c->proven);
	assert_int_equal(f->in.reserved, 0);
}

static void test_without_room_a_connection_waits_at_the_free_mark(void **state)
{
	struct fixture *f = *state;

	ttlog__input_budget_after_read(&f->c[0], 5, 1000 * KIB, 0);
	assert_int_equal(f->c[0].reserved, 1000 * KIB);
	ttlog__input_budget_after_read(&f->c[1], 5, 100 * KIB, 0);
	assert_int_equal(f->c[1].reserved, 0);
	assert_true(f->c[1].waiting != 0);
	assert_int_equal(high_mark(&f->c[1]), FREE + READ);
	assert_int_equal(f->in.st.budget_waits, 1);
	/* Asking again while waiting is not another wait. */
	ttlog__input_budget_after_read(&f->c[1], 6000, 100 * KIB, 0);
	assert_int_equal(f->in.st.budget_waits, 1);
	/* The holder closes: the waiter is served, its mark raised. */
	ttlog__input_budget_conn_free(&f->c[0]);
	assert_int_equal(f->c[1].reserved, 100 * KIB);
	assert_int_equal(f->c[1].waiting, 0);
	assert_int_equal(high_mark(&f->c[1]), 100 * KIB + READ);
	assert_int_equal(f->in.reserved, 100 * KIB);
}

static void test_proven_senders_are_served_before_older_strangers(void **state)
{
	struct fixture *f = *state;

	/* c[0] holds everything; c[1] (a stranger) waits first, then c[2],
	 * which has delivered frames before, and c[3], a stranger. */
	ttlog__input_budget_after_read(&f->c[0], 5, 1000 * KIB, 0);
	ttlog__input_budget_after_read(&f->c[1], 5, 600 * KIB, 0);
	f->c[2].proven = 1;
	ttlog__input_budget_after_read(&f->c[2], 5, 600 * KIB, 0);
	ttlog__input_budget_after_read(&f->c[3], 5, 300 * KIB, 0);
	assert_true(f->c[1].waiting && f->c[2].waiting && f->c[3].waiting);
	ttlog__input_budget_conn_free(&f->c[0]);
	/* c[2] first; c[1] (600 KiB) no longer fits, and c[3] may not pass
	 * it although 300 KiB would fit: no one jumps the queue. */
	assert_int_equal(f->c[2].reserved, 600 * KIB);
	assert_int_equal(f->c[1].reserved, 0);
	assert_int_equal(f->c[3].reserved, 0);
	assert_true(f->c[3].waiting != 0);
	/* A newcomer that would fit may not pass the waiters either. */
	f->c[0].lingering = 0;
	f->c[0].waiting = 0;
	f->c[0].reserved = 0;
	ttlog__input_budget_after_read(&f->c[0], 5, 200 * KIB, 0);
	assert_int_equal(f->c[0].reserved, 0);
	assert_true(f->c[0].waiting != 0);
	/* c[2] finishes: c[1], then c[3] (600 + 300 KiB fit in 1 MiB). */
	ttlog__input_budget_after_read(&f->c[2], 0, 0, 1);
	assert_int_equal(f->c[1].reserved, 600 * KIB);
	assert_int_equal(f->c[3].reserved, 300 * KIB);
	assert_int_equal(f->in.reserved, 900 * KIB);
	assert_true(f->c[0].waiting != 0); /* 200 KiB more do not fit */
}

static void test_a_smaller_next_frame_gives_back_the_difference(void **state)
{
	struct fixture *f = *state;
	struct ttlog__input_conn *c = &f->c[0];

	ttlog__input_budget_after_read(c, 5, 800 * KIB, 0);
	ttlog__input_budget_after_read(&f->c[1], 5, 400 * KIB, 0);
	assert_true(f->c[1].waiting != 0);
	/* The next frame of c is smaller: what it frees serves c[1]. */
	ttlog__input_budget_after_read(c, 5, 500 * KIB, 1);
	assert_int_equal(c->reserved, 500 * KIB);
	assert_int_equal(f->c[1].reserved, 400 * KIB);
	assert_int_equal(f->in.reserved, 900 * KIB);
	assert_int_equal(ttlog__input_budget_held(&f->in), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_small_messages_need_no_reservation, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_a_large_frame_reserves_its_size_and_gives_it_back,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_line_reserves_max_message_once_past_the_free_bytes,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_without_room_a_connection_waits_at_the_free_mark,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_proven_senders_are_served_before_older_strangers,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_smaller_next_frame_gives_back_the_difference,
			setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
