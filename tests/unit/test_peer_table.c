/*
 * test_peer_table.c - connections counted per peer address
 * (agent/net/peer_table.c): the cap per address, what counts as one
 * address, and that the table holds only addresses with connections.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "testutil.h"

#include "peer_table.h"

static struct ttlog__peer_key v4(const char *ip, uint16_t port)
{
	struct sockaddr_in s;
	struct ttlog__peer_key k;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &s.sin_addr), 1);
	ttlog__peer_key_from((struct sockaddr *)&s, &k);
	return k;
}

static struct ttlog__peer_key v6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 s;
	struct ttlog__peer_key k;

	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	s.sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &s.sin6_addr), 1);
	ttlog__peer_key_from((struct sockaddr *)&s, &k);
	return k;
}

static void test_peer_cap_refuses_the_extra_and_spares_others(void **state)
{
	struct ttlog__peer_table t = {0};
	struct ttlog__peer_key a = v4("127.0.0.1", 1000);
	struct ttlog__peer_key b = v4("127.0.0.2", 1000);
	(void)state;

	for (int i = 0; i < 3; i++)
		assert_int_equal(ttlog__peer_table_add(&t, &a, 3), 0);
	assert_int_equal(ttlog__peer_table_add(&t, &a, 3), 1);
	assert_int_equal(ttlog__peer_table_count(&t, &a), 3);
	/* Another address has its own count. */
	assert_int_equal(ttlog__peer_table_add(&t, &b, 3), 0);
	assert_int_equal(ttlog__peer_table_count(&t, &b), 1);
	/* One closed: one more may come. */
	ttlog__peer_table_del(&t, &a);
	assert_int_equal(ttlog__peer_table_add(&t, &a, 3), 0);
	assert_int_equal(ttlog__peer_table_add(&t, &a, 3), 1);
	/* No limit. */
	assert_int_equal(ttlog__peer_table_add(&t, &a, 0), 0);
	assert_int_equal(ttlog__peer_table_add(&t, &a, -1), 0);
	assert_int_equal(ttlog__peer_table_count(&t, &a), 5);
	ttlog__peer_table_destroy(&t);
	assert_int_equal(t.n, 0);
}

static void test_peer_is_the_address_without_port(void **state)
{
	struct ttlog__peer_table t = {0};
	struct ttlog__peer_key a = v4("10.1.2.3", 1);
	struct ttlog__peer_key a2 = v4("10.1.2.3", 65535);
	struct ttlog__peer_key mapped = v6("::ffff:10.1.2.3", 7);
	struct ttlog__peer_key six = v6("2001:db8::1", 1);
	struct ttlog__peer_key six2 = v6("2001:db8::2", 1);
	struct sockaddr_un u1 = {.sun_family = AF_UNIX, .sun_path = "/a"};
	struct sockaddr_un u2 = {.sun_family = AF_UNIX, .sun_path = "/b"};
	struct ttlog__peer_key k1, k2;
	(void)state;

	assert_int_equal(ttlog__peer_table_add(&t, &a, 0), 0);
	assert_int_equal(ttlog__peer_table_add(&t, &a2, 0), 0);
	/* An IPv4-mapped IPv6 address is the IPv4 host. */
	assert_int_equal(ttlog__peer_table_add(&t, &mapped, 0), 0);
	assert_int_equal(ttlog__peer_table_count(&t, &a), 3);
	assert_int_equal(t.n, 1);
	assert_int_equal(ttlog__peer_table_add(&t, &six, 0), 0);
	assert_int_equal(ttlog__peer_table_count(&t, &six2), 0);
	/* Every unix peer is one peer. */
	ttlog__peer_key_from((struct sockaddr *)&u1, &k1);
	ttlog__peer_key_from((struct sockaddr *)&u2, &k2);
	assert_int_equal(ttlog__peer_table_add(&t, &k1, 2), 0);
	assert_int_equal(ttlog__peer_table_add(&t, &k2, 2), 0);
	assert_int_equal(ttlog__peer_table_add(&t, &k1, 2), 1);
	assert_int_equal(t.n, 3);
	ttlog__peer_table_destroy(&t);
}

static void test_peer_entries_go_at_zero_and_many_fit(void **state)
{
	struct ttlog__peer_table t = {0};
	enum { N = 5000 };
	(void)state;

	/* Many addresses, two connections each: the table grows and every
	 * count stays its own. */
	for (int round = 0; round < 2; round++)
		for (uint32_t i = 0; i < N; i++) {
			struct sockaddr_in s = {.sin_family = AF_INET};
			struct ttlog__peer_key k;
			s.sin_addr.s_addr = htonl(0x0a000000u + i);
			ttlog__peer_key_from((struct sockaddr *)&s, &k);
			assert_int_equal(ttlog__peer_table_add(&t, &k, 2), 0);
		}
	assert_int_equal(t.n, N);
	assert_true(t.nbuckets >= N);
	for (uint32_t i = 0; i < N; i++) {
		struct sockaddr_in s = {.sin_family = AF_INET};
		struct ttlog__peer_key k;
		s.sin_addr.s_addr = htonl(0x0a000000u + i);
		ttlog__peer_key_from((struct sockaddr *)&s, &k);
		assert_int_equal(ttlog__peer_table_count(&t, &k), 2);
		assert_int_equal(ttlog__peer_table_add(&t, &k, 2), 1);
		ttlog__peer_table_del(&t, &k);
		ttlog__peer_table_del(&t, &k);
		assert_int_equal(ttlog__peer_table_count(&t, &k), 0);
	}
	/* Only addresses with connections open are held. */
	assert_int_equal(t.n, 0);
	/* A del without an add changes nothing. */
	{
		struct ttlog__peer_key k = v4("1.2.3.4", 1);
		ttlog__peer_table_del(&t, &k);
		assert_int_equal(t.n, 0);
	}
	ttlog__peer_table_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_peer_cap_refuses_the_extra_and_spares_others),
		cmocka_unit_test(test_peer_is_the_address_without_port),
		cmocka_unit_test(test_peer_entries_go_at_zero_and_many_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
