/*
 * peer_table.h - open connections counted per peer address, for the
 * per-peer connection caps of the stream inputs and the HTTP endpoint.
 *
 * A peer is its IP address without the port: all connections from one
 * host count together. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
 * the IPv4 address. A unix-socket peer has no address: the key made from
 * its sockaddr is the one peer "unix", which a caller that knows the
 * peer's user id (SO_PEERCRED) puts in addr to count users apart.
 *
 * The table holds only addresses that have connections open: an entry is
 * freed when its count returns to 0, so its size is bounded by the open
 * connections. Not thread-safe; each owner uses it from one thread.
 */
#ifndef TTLOG_PEER_TABLE_H
#define TTLOG_PEER_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* A peer address: family (AF_INET, AF_INET6, or AF_UNIX for "unix") and
 * 16 bytes of address (IPv4 in the first 4, the rest 0). */
struct ttlog__peer_key {
	uint8_t family;
	uint8_t addr[16];
};

struct ttlog__peer_entry;

struct ttlog__peer_table {
	struct ttlog__peer_entry **buckets;
	size_t nbuckets; /* a power of two, or 0 before the first add */
	size_t n;	 /* entries (addresses with connections open) */
};

/* The key of the peer at sa (an accepted connection's address). */
void ttlog__peer_key_from(const struct sockaddr *sa,
			  struct ttlog__peer_key *key);

/* Counts one more connection from key unless that peer has max open
 * already (max <= 0: no limit).
 * @return 0 (counted), 1 (over max, not counted) or -1 (out of memory,
 *         not counted). */
int ttlog__peer_table_add(struct ttlog__peer_table *t,
			  const struct ttlog__peer_key *key, int64_t max);
/* Counts one connection from key less (one that _add() counted). */
void ttlog__peer_table_del(struct ttlog__peer_table *t,
			   const struct ttlog__peer_key *key);
/* The connections counted for key now. */
uint64_t ttlog__peer_table_count(const struct ttlog__peer_table *t,
				 const struct ttlog__peer_key *key);
/* Frees every entry; the table is empty (and usable) again. */
void ttlog__peer_table_destroy(struct ttlog__peer_table *t);

#endif /* TTLOG_PEER_TABLE_H */
