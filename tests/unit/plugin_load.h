/* plugin_load.h - a listener plugin loaded as the registry loads it
 * (dlopen, then its entry point), for the tests that drive one. */
#ifndef TTLOG_TEST_PLUGIN_LOAD_H
#define TTLOG_TEST_PLUGIN_LOAD_H

#include <dlfcn.h>

#include <ttlog/listener.h>

#include "testutil.h"

/* The plugin's table; *handle is for dlclose(). Fails the test when the
 * plugin does not load. */
static inline const struct ttlog_listener_api *
test_load_listener(const char *path, void **handle)
{
	ttlog_listener_entry_fn entry;
	const struct ttlog_listener_api *api;

	*handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (*handle == NULL)
		fail_msg("dlopen %s: %s", path, dlerror());
	*(void **)&entry = dlsym(*handle, TTLOG_LISTENER_ENTRY_SYMBOL);
	assert_non_null(entry);
	api = entry();
	assert_non_null(api);
	return api;
}

#endif /* TTLOG_TEST_PLUGIN_LOAD_H */
