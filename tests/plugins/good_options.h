/* good_options.h - the options struct of the `good` test plugin, shared
 * with the tests that check what the registry filled in. */
#ifndef TTLOG_TEST_GOOD_OPTIONS_H
#define TTLOG_TEST_GOOD_OPTIONS_H

#include <stdint.h>

struct good_opts {
	char *path;
	char *label;
	int flag;
	int64_t count;
	uint64_t size;
	uint64_t wait_ms;
	int mode;
	uint64_t nested_size;
};

#endif /* TTLOG_TEST_GOOD_OPTIONS_H */
