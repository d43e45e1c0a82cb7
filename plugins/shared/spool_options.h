/*
 * spool_options.h - the spool's options as a plugin's option table
 * declares them, so that every listener with a disk spool (forward,
 * kafka) has the same keys, defaults and meaning:
 *
 *   spool.dir, spool.max_bytes (1GiB), spool.segment_bytes (64MiB),
 *   spool.fsync (interval), spool.fsync_interval (1s),
 *   spool.overflow (drop_oldest)
 *
 * Used inside a struct ttlog_option_spec table:
 *
 *   TTLOG_SPOOL_OPTION_SPECS(struct my_options, "help of spool.dir",
 *                            spool_dir, spool_max_bytes, ...),
 *
 * The fields are char * (dir), uint64_t (max_bytes, segment_bytes,
 * fsync_interval) and int (fsync: enum ttlog__spool_fsync; overflow:
 * enum ttlog__spool_overflow).
 */
#ifndef TTLOG_SPOOL_OPTIONS_H
#define TTLOG_SPOOL_OPTIONS_H

#include <stddef.h>

#include <ttlog/listener.h>

#include "spool.h"

/* The names of spool.fsync and spool.overflow, in ttlog_spool. */
extern const struct ttlog_option_value ttlog__spool_fsync_values[];
extern const struct ttlog_option_value ttlog__spool_overflow_values[];

/* clang-format off */
#define TTLOG_SPOOL_OPTION_SPECS(T, dir_help, dir, max, seg, fsync,         \
				 interval, overflow)                         \
	{TTLOG_OPTION_STRING, "spool.dir", "", offsetof(T, dir), dir_help,   \
	 NULL, 0},                                                           \
	{TTLOG_OPTION_SIZE, "spool.max_bytes", "1GiB", offsetof(T, max),     \
	 "cap on the spool's files", NULL, 0},                               \
	{TTLOG_OPTION_SIZE, "spool.segment_bytes", "64MiB", offsetof(T, seg),\
	 "size of one spool file", NULL, 0},                                 \
	{TTLOG_OPTION_ENUM_VALUES, "spool.fsync", "interval",                \
	 offsetof(T, fsync),                                                 \
	 "never: survives a crash of the agent, not of the machine; "        \
	 "interval: at most spool.fsync_interval of data lost with power; "  \
	 "always: nothing taken is lost (slow)",                             \
	 TTLOG_OPTION_VALUES(ttlog__spool_fsync_values), 0},                 \
	{TTLOG_OPTION_DURATION, "spool.fsync_interval", "1s",                \
	 offsetof(T, interval), "with spool.fsync: interval", NULL, 0},      \
	{TTLOG_OPTION_ENUM_VALUES, "spool.overflow", "drop_oldest",          \
	 offsetof(T, overflow),                                              \
	 "a full spool deletes its oldest file (drop_oldest, counted) or "   \
	 "refuses what is new so that the listener pushes back "             \
	 "(drop_newest)",                                                    \
	 TTLOG_OPTION_VALUES(ttlog__spool_overflow_values), 0}
/* clang-format on */

#endif /* TTLOG_SPOOL_OPTIONS_H */
