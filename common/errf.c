/* errf.c - see errf.h. */
#include "errf.h"

#include <stdio.h>

int ttlog__verrf(char *err, size_t len, const char *fmt, va_list ap)
{
	if (err != NULL && len > 0)
		vsnprintf(err, len, fmt, ap);
	return -1;
}

int ttlog__errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ttlog__verrf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}
