/*
 * listener_abi.h - checking a listener table against the ABI this library
 * speaks (core/listener_abi.c). Used by the writer for every listener and
 * by the plugin loader (listeners/) for every table a plugin returns.
 */
#ifndef TTLOG_LISTENER_ABI_H
#define TTLOG_LISTENER_ABI_H

#include <stddef.h>

#include <ttlog/listener.h>

/* 0, or TTLOG_EABI (another major, a table too small) or TTLOG_EPLUGIN
 * (a missing callback) with err filled, prefixed by `what`. */
int ttlog__listener_api_check(const struct ttlog_listener_api *api,
			      const char *what, char *err, size_t errlen);

/* The table's check() (ABI 1.3), or NULL when it has none or is older
 * than 1.3 (then the field is not read at all). */
typedef int (*ttlog__listener_check_fn)(const void *options, char *err,
					size_t errlen);
ttlog__listener_check_fn
ttlog__listener_api_check_fn(const struct ttlog_listener_api *api);

#endif /* TTLOG_LISTENER_ABI_H */
