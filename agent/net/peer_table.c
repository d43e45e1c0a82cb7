/*
 * peer_table.c - open connections counted per peer address: a hash table
 * of chained entries that grows with the number of addresses, so that a
 * flood from many addresses costs a lookup of a few entries each.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "peer_table.h"

struct ttlog__peer_entry {
	struct ttlog__peer_entry *next;
	struct ttlog__peer_key key;
	uint64_t count;
};

void ttlog__peer_key_from(const struct sockaddr *sa,
			  struct ttlog__peer_key *key)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0,    0,
					     0, 0, 0, 0, 0xff, 0xff};

	memset(key, 0, sizeof(*key));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		key->family = AF_INET;
		memcpy(key->addr, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		const uint8_t *a = s6->sin6_addr.s6_addr;
		/* A dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d: the
		 * same host as on an IPv4 socket. */
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
			key->family = AF_INET;
			memcpy(key->addr, a + 12, 4);
		} else {
			key->family = AF_INET6;
			memcpy(key->addr, a, 16);
		}
	} else {
		key->family = AF_UNIX; /* every unix peer is one peer */
	}
}

/* FNV-1a: the keys are chosen by peers, but the table only holds
 * addresses with connections open, each of which costs its peer a
 * handshake; long chains need many addresses, not clever ones. */
static size_t hash(const struct ttlog__peer_key *k)
{
	uint64_t h = 1469598103934665603u;

	h = (h ^ k->family) * 1099511628211u;
	for (size_t i = 0; i < sizeof(k->addr); i++)
		h = (h ^ k->addr[i]) * 1099511628211u;
	return (size_t)(h ^ (h >> 29));
}

static int same(const struct ttlog__peer_key *a,
		const struct ttlog__peer_key *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static struct ttlog__peer_entry **slot(const struct ttlog__peer_table *t,
				       const struct ttlog__peer_key *k)
{
	struct ttlog__peer_entry **p;

	if (t->nbuckets == 0)
		return NULL;
	p = &t->buckets[hash(k) & (t->nbuckets - 1)];
	while (*p != NULL && !same(&(*p)->key, k))
		p = &(*p)->next;
	return p;
}

/* Doubles the buckets (from 64) once there are more entries than
 * buckets; a failure keeps the old ones, only longer chains. */
static void grow(struct ttlog__peer_table *t)
{
	size_t n = t->nbuckets ? t->nbuckets * 2 : 64;
	struct ttlog__peer_entry **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return;
	for (size_t i = 0; i < t->nbuckets; i++)
		while (t->buckets[i] != NULL) {
			struct ttlog__peer_entry *e = t->buckets[i];
			size_t h = hash(&e->key) & (n - 1);
			t->buckets[i] = e->next;
			e->next = b[h];
			b[h] = e;
		}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

int ttlog__peer_table_add(struct ttlog__peer_table *t,
			  const struct ttlog__peer_key *key, int64_t max)
{
	struct ttlog__peer_entry **p, *e;

	if (t->n >= t->nbuckets)
		grow(t);
	p = slot(t, key);
	if (p == NULL)
		return -1;
	if (*p != NULL) {
		if (max > 0 && (*p)->count >= (uint64_t)max)
			return 1;
		(*p)->count++;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -1;
	e->key = *key;
	e->count = 1;
	*p = e;
	t->n++;
	return 0;
}

void ttlog__peer_table_del(struct ttlog__peer_table *t,
			   const struct ttlog__peer_key *key)
{
	struct ttlog__peer_entry **p = slot(t, key), *e;

	if (p == NULL || *p == NULL)
		return;
	e = *p;
	if (--e->count > 0)
		return;
	*p = e->next;
	free(e);
	t->n--;
}

uint64_t ttlog__peer_table_count(const struct ttlog__peer_table *t,
				 const struct ttlog__peer_key *key)
{
	struct ttlog__peer_entry **p = slot(t, key);

	return p != NULL && *p != NULL ? (*p)->count : 0;
}

void ttlog__peer_table_destroy(struct ttlog__peer_table *t)
{
	for (size_t i = 0; i < t->nbuckets; i++)
		while (t->buckets[i] != NULL) {
			struct ttlog__peer_entry *e = t->buckets[i];
			t->buckets[i] = e->next;
			free(e);
		}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}
