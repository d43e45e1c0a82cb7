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

#endif /* TTLOG_LISTENER_ABI_H */
