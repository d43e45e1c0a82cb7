/*
 * crc32c.h - CRC-32C (Castagnoli), table-driven, eight bytes per step
 * (crc32c.c).
 */
#ifndef TTLOG_CRC32C_H
#define TTLOG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Fills the tables once per process; call it before ttlog__crc32c(). */
void ttlog__crc32c_init(void);
/* Continues crc (0 to start) over n bytes. */
uint32_t ttlog__crc32c(uint32_t crc, const unsigned char *p, size_t n);

#endif /* TTLOG_CRC32C_H */
