/*
 * listener_abi.c - the checks every listener table passes before the
 * writer uses it, in-process or loaded from a plugin: the ABI major, a
 * table large enough for what this version reads, and the callbacks that
 * may not be NULL.
 */
#include <stddef.h>

#include "errf.h"
#include "listener_abi.h"

/* Fills err and returns rc. */
#define CHECK_FAIL(rc, ...) (ttlog__errf(err, n, __VA_ARGS__), (rc))

int ttlog__listener_api_check(const struct ttlog_listener_api *api,
			      const char *what, char *err, size_t n)
{
	uint32_t major, minor;
	size_t need;

	if (api == NULL)
		return CHECK_FAIL(TTLOG_EPLUGIN,
				  "%s: the entry point returned no listener "
				  "table",
				  what);
	major = api->abi_version >> 16;
	minor = api->abi_version & 0xFFFFu;
	if (major != TTLOG_LISTENER_ABI_MAJOR)
		return CHECK_FAIL(
			TTLOG_EABI,
			"%s: built for listener ABI %u.%u, this ttlog "
			"speaks %u.%u; rebuild the plugin against "
			"this version's headers",
			what, major, minor, TTLOG_LISTENER_ABI_MAJOR,
			TTLOG_LISTENER_ABI_MINOR);
	/* A table of minor 0 or 1 need not hold the reserved slots or
	 * anything after them; one of 1.2 must hold create2 and start2, one
	 * of 1.3 check() too. */
	if (minor >= 3)
		need = offsetof(struct ttlog_listener_api, check) +
		       sizeof(api->check);
	else if (minor == 2)
		need = offsetof(struct ttlog_listener_api, start2) +
		       sizeof(api->start2);
	else
		need = offsetof(struct ttlog_listener_api, reserved);
	if (api->struct_size < need)
		return CHECK_FAIL(TTLOG_EABI,
				  "%s: listener table is %u bytes, ABI %u.%u "
				  "needs at least %zu",
				  what, api->struct_size, major, minor, need);
	if (api->name == NULL || api->consume == NULL || api->destroy == NULL)
		return CHECK_FAIL(TTLOG_EPLUGIN,
				  "%s: listener table lacks a name, consume() "
				  "or destroy()",
				  what);
	if (api->options != NULL && api->options_size == 0)
		return CHECK_FAIL(TTLOG_EPLUGIN,
				  "%s: listener declares options but "
				  "options_size is 0",
				  what);
	return 0;
}

ttlog__listener_check_fn
ttlog__listener_api_check_fn(const struct ttlog_listener_api *api)
{
	/* Read only from a table that says it is 1.3 or newer and is large
	 * enough: an older table may end before the field. */
	if ((api->abi_version & 0xFFFFu) < 3 ||
	    api->struct_size < offsetof(struct ttlog_listener_api, check) +
				       sizeof(api->check))
		return NULL;
	return api->check;
}
