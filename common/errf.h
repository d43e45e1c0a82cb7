/*
 * errf.h - the one way to write an error sentence into a caller's buffer
 * (`char *err, size_t errlen`, the pair every parser and constructor here
 * takes).
 *
 * In ttlog_common (static, hidden visibility). vsnprintf may allocate and
 * read the locale, so these are not async-signal-safe: the crash path
 * writes its few words with write(2) instead.
 */
#ifndef TTLOG_ERRF_H
#define TTLOG_ERRF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Formats into err as snprintf does (cut to len - 1 bytes, always
 * terminated); does nothing when err is NULL or len is 0, so that a
 * caller may pass the buffer it was given without checking it.
 * @return -1, so that `return ttlog__errf(err, len, ...);` reports a
 *         failure in one line.
 */
int ttlog__errf(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ttlog__errf() with a va_list, for wrappers that do more (reset a
 * decoder, return their own code); ap is consumed. Returns -1. */
int ttlog__verrf(char *err, size_t len, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
