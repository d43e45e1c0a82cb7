/*
 * crc32c.c - CRC-32C, for the checksums of what ttlog keeps on disk (the
 * forwarder's spool records and stats file, a ttlog input's sender state).
 */
#include <pthread.h>

#include "byteorder.h"
#include "crc32c.h"

/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), eight bytes per
 * step: table k gives the CRC contribution of a byte followed by k zero
 * bytes, so the eight lookups of one 64-bit word are independent of each
 * other and the CPU overlaps them. The tables are filled once per process.
 */
static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int b = 0; b < 8; b++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int k = 1; k < 8; k++)
			crc_tab[k][i] = (crc_tab[k - 1][i] >> 8) ^
					crc_tab[0][crc_tab[k - 1][i] & 0xff];
}

uint32_t ttlog__crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	while (n >= 8) {
		uint32_t lo = crc ^ ttlog__get_le32(p),
			 hi = ttlog__get_le32(p + 4);
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		      crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^
		      crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
		      crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n-- > 0)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

void ttlog__crc32c_init(void)
{
	pthread_once(&crc_once, crc_init);
}
