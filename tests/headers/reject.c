/*
 * reject.c - a field of a type the logging macros do not take (here a
 * void *, which would otherwise log an address as if it were a value).
 * check_headers.cmake requires this to fail to compile, in C through
 * _Generic, in C++ through ttlog__kv's static_assert and its message.
 */
#include <stddef.h>

#include <ttlog/ttlog.h>

void reject_void_pointer(void *p);
void reject_void_pointer(void *p)
{
	TTLOG_INFO("rejected", TTLOG_KV("p", p));
}
