/*
 * byteorder.h - unsigned integers read from and written to byte buffers in
 * a fixed byte order, whatever the host's: big-endian for the native
 * protocol and CBOR, little-endian for LZ4 frames, XXH32 and the spool.
 *
 * Everything here is static inline, so that a plugin gets its own copy
 * without linking anything and nothing is exported. The buffers need no
 * alignment; the caller makes sure the bytes are there. The functions
 * touch nothing but their arguments, so they are async-signal-safe.
 */
#ifndef TTLOG_BYTEORDER_H
#define TTLOG_BYTEORDER_H

#include <stdint.h>

/* The fixed widths are spelt out byte by byte: compilers turn these
 * patterns into one load or store (and a byte swap where the host needs
 * it), which they do not reliably do for a loop. */

static inline uint16_t ttlog__get_be16(const unsigned char *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t ttlog__get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t ttlog__get_be64(const unsigned char *p)
{
	return (uint64_t)ttlog__get_be32(p) << 32 | ttlog__get_be32(p + 4);
}

static inline void ttlog__put_be16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static inline void ttlog__put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline void ttlog__put_be64(unsigned char *p, uint64_t v)
{
	ttlog__put_be32(p, (uint32_t)(v >> 32));
	ttlog__put_be32(p + 4, (uint32_t)v);
}

static inline uint16_t ttlog__get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t ttlog__get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t ttlog__get_le64(const unsigned char *p)
{
	return (uint64_t)ttlog__get_le32(p) | (uint64_t)ttlog__get_le32(p + 4)
						      << 32;
}

static inline void ttlog__put_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void ttlog__put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static inline void ttlog__put_le64(unsigned char *p, uint64_t v)
{
	ttlog__put_le32(p, (uint32_t)v);
	ttlog__put_le32(p + 4, (uint32_t)(v >> 32));
}

/* A width known only at run time, as in a CBOR item head (1, 2, 4 or 8
 * bytes): the n bytes at p (n at most 8) as a big-endian number. */
static inline uint64_t ttlog__get_be_n(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Writes the low n bytes of v (n at most 8) at p, most significant first. */
static inline void ttlog__put_be_n(unsigned char *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
}

#endif /* TTLOG_BYTEORDER_H */
