/* fuzz.h - the libFuzzer entry point every fuzz target defines; declared
 * here so that targets and replay_main.c agree on it. */
#ifndef TTLOG_FUZZ_H
#define TTLOG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input. data is borrowed for the call; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* TTLOG_FUZZ_H */
