/*
 * spool_options.c - the names of the spool's choices, for the option
 * tables of the plugins that have a spool (spool_options.h).
 */
#include "spool_options.h"

const struct ttlog_option_value ttlog__spool_fsync_values[] = {
	{"never", TTLOG_SPOOL_FSYNC_NEVER},
	{"interval", TTLOG_SPOOL_FSYNC_INTERVAL},
	{"always", TTLOG_SPOOL_FSYNC_ALWAYS},
	{NULL, 0}};

const struct ttlog_option_value ttlog__spool_overflow_values[] = {
	{"drop_oldest", TTLOG_SPOOL_DROP_OLDEST},
	{"drop_newest", TTLOG_SPOOL_DROP_NEWEST},
	{NULL, 0}};
