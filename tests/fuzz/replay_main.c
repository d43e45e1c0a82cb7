/* replay_main.c - runs a fuzz target over its committed corpus without
 * libFuzzer, so that every build (gcc, valgrind, the sanitizer builds)
 * keeps the seeds and past crashes passing.
 *
 * Usage: NAME_replay DIR_OR_FILE...
 * Every regular file of each directory (not recursive, dot files skipped,
 * in name order) and every file named directly is one input. Exits 1 when
 * a path cannot be read or when there was no input at all, since a test
 * that ran nothing has checked nothing. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path, unsigned long *ran)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;

	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 4096;
			unsigned char *b = realloc(buf, nc);
			if (b == NULL) {
				fprintf(stderr, "%s: out of memory\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = b;
			cap = nc;
		}
		size_t r = fread(buf + len, 1, cap - len, f);
		len += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* A copy of exactly `len` bytes, so that ASan sees a read past the
	 * input as it would under libFuzzer. */
	unsigned char *exact = malloc(len ? len : 1);
	if (exact == NULL) {
		free(buf);
		return -1;
	}
	if (len)
		memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	(*ran)++;
	return 0;
}

static int skip_dot(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int run_dir(const char *dir, unsigned long *ran)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, skip_dot, alphasort), rc = 0;

	if (n < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    run_file(path, ran) != 0)
			rc = -1;
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long ran = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &ran) != 0)
				rc = 1;
		} else if (run_file(argv[i], &ran) != 0) {
			rc = 1;
		}
	}
	printf("ran %lu inputs\n", ran);
	if (ran == 0) {
		fprintf(stderr,
			"no inputs: give corpus directories or files\n");
		rc = 1;
	}
	return rc;
}
