/* export.h - symbol visibility for the public API of libttlog. */
#ifndef TTLOG_EXPORT_H
#define TTLOG_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define TTLOG_EXPORT __attribute__((visibility("default")))
#else
#define TTLOG_EXPORT
#endif

#endif /* TTLOG_EXPORT_H */
