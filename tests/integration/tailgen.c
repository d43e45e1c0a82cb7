/*
 * tailgen.c - a log-writing application for the tail input's tests and
 * benchmark: writes N numbered lines round-robin over the files named on
 * the command line and rotates each file R times, spread evenly over its
 * share of the lines, the way logrotate would.
 *
 *   ttlog-tailgen -n N [-R ROTATIONS] [-m MODE[,MODE...]] [-l LINE_BYTES]
 *                 [-r LINES_PER_SECOND] [-k KEEP] [-g] PATH...
 *
 * Line i goes to file i % K (K = the number of paths) and reads
 *   "seq=NNNNNNNNN file=K xxxx...\n"
 * padded to LINE_BYTES bytes, the line feed included (no pad when
 * LINE_BYTES is 0 or shorter than the head). The pad changes with the
 * sequence number so that consecutive lines differ.
 *
 * MODE, one per path (the last one repeats): rename moves PATH to PATH.1
 * (PATH.1 to PATH.2 and so on first, at most KEEP kept, 0 = all) and
 * creates a new PATH, which the following lines go to; copytruncate copies
 * PATH to PATH.1 (after the same shift) and truncates PATH to 0, then
 * appends to it again. The copy and the truncation happen between two of
 * this program's writes, so no line of ours falls between them: what
 * copytruncate loses by design (a line written after the copy and before
 * the truncation) can only be lost by another writer, and there is none.
 *
 * -g gates each copytruncate: before it, a line "gate K LAST\n" (LAST the
 * last sequence number written to file K, -1 for none) goes to stdout and
 * the program waits for a line on stdin. A reader that has not read a file
 * to its end when it is truncated cannot have the rest (copytruncate
 * keeps it only in PATH.1); a test that wants to assert "no line lost"
 * therefore answers only once its reader has taken LAST.
 *
 * Lines are gathered per file and written with one write(2) per 64 KiB,
 * before each rotation, before each gate and whenever the pacing (-r)
 * sleeps, so a reader sees the file grow while the run goes on. At the end
 * one JSON line on stdout sums up the run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 64
#define BUF_BYTES (64 * 1024)
#define MAX_LINE 4096

enum gen_mode { GEN_RENAME, GEN_COPYTRUNCATE };

struct gen_file {
	const char *path;
	enum gen_mode mode;
	int fd;
	char *buf;
	size_t used;
	uint64_t lines;	  /* lines written to this file in the whole run */
	uint64_t share;	  /* lines this file gets in the run */
	uint64_t rotated; /* rotations done */
	int64_t last_seq; /* last sequence number gathered, -1 for none */
	uint64_t bytes;	  /* bytes written in the whole run */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "ttlog-tailgen: %s %s: %s\n", what, path,
		strerror(errno));
	exit(1);
}

static int open_file(const char *path, int flags)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | flags,
		      0644);
	if (fd < 0)
		die("cannot open", path);
	return fd;
}

static void write_all(int fd, const char *p, size_t len, const char *path)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("cannot write", path);
		p += n;
		len -= (size_t)n;
	}
}

static void flush_file(struct gen_file *f)
{
	write_all(f->fd, f->buf, f->used, f->path);
	f->bytes += f->used;
	f->used = 0;
}

/* "PATH.N" in a buffer of the caller's. */
static void numbered(char *out, size_t size, const char *path, uint64_t n)
{
	int len = snprintf(out, size, "%s.%llu", path, (unsigned long long)n);
	if (len < 0 || (size_t)len >= size) {
		fprintf(stderr, "ttlog-tailgen: path too long: %s\n", path);
		exit(1);
	}
}

/* Makes room for PATH.1 as logrotate does: PATH.N-1 becomes PATH.N down to
 * PATH.1 becoming PATH.2; the oldest one past `keep` is removed. */
static void shift_old(const struct gen_file *f, uint64_t keep)
{
	char from[4096], to[4096];
	uint64_t top = f->rotated; /* PATH.1 .. PATH.top exist */

	if (keep > 0 && top >= keep) {
		numbered(from, sizeof(from), f->path, top);
		if (unlink(from) != 0 && errno != ENOENT)
			die("cannot remove", from);
		top = keep - 1;
	}
	for (uint64_t i = top; i >= 1; i--) {
		numbered(from, sizeof(from), f->path, i);
		numbered(to, sizeof(to), f->path, i + 1);
		if (rename(from, to) != 0 && errno != ENOENT)
			die("cannot rename", from);
	}
}

static void copy_to(const char *from, const char *to)
{
	char buf[BUF_BYTES];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (in < 0)
		die("cannot open", from);
	if (out < 0)
		die("cannot create", to);
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("cannot read", from);
		write_all(out, buf, (size_t)n, to);
	}
	close(in);
	if (close(out) != 0)
		die("cannot close", to);
}

/* Waits for the test's answer to "gate K LAST" (-g). */
static void gate(const struct gen_file *f, unsigned idx)
{
	char line[64];

	printf("gate %u %lld\n", idx, (long long)f->last_seq);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL) {
		fprintf(stderr, "ttlog-tailgen: stdin closed at a gate\n");
		exit(1);
	}
}

static void rotate(struct gen_file *f, unsigned idx, uint64_t keep, int gated)
{
	char first[4096];

	flush_file(f);
	if (gated && f->mode == GEN_COPYTRUNCATE)
		gate(f, idx);
	shift_old(f, keep);
	numbered(first, sizeof(first), f->path, 1);
	if (f->mode == GEN_RENAME) {
		if (rename(f->path, first) != 0)
			die("cannot rename", f->path);
		close(f->fd);
		f->fd = open_file(f->path, O_EXCL);
	} else {
		copy_to(f->path, first);
		if (ftruncate(f->fd, 0) != 0)
			die("cannot truncate", f->path);
	}
	f->rotated++;
}

/* "seq=... file=K " and the pad, LINE_BYTES long with its line feed. */
static size_t format_line(char *out, uint64_t seq, unsigned idx,
			  size_t line_bytes)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz"
				       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	int head = snprintf(out, MAX_LINE, "seq=%09llu file=%u ",
			    (unsigned long long)seq, idx);
	size_t len = (size_t)head;

	if (line_bytes > len + 1) {
		uint64_t x = seq * 0x9E3779B97F4A7C15ull + 1;
		while (len < line_bytes - 1) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			out[len++] =
				alphabet[(x >> 58) % (sizeof(alphabet) - 1)];
		}
	}
	out[len++] = '\n';
	return len;
}

static int parse_modes(char *spec, enum gen_mode *modes, unsigned *count)
{
	char *save = NULL;
	*count = 0;
	for (char *t = strtok_r(spec, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		if (*count == MAX_FILES)
			return -1;
		if (strcmp(t, "rename") == 0)
			modes[(*count)++] = GEN_RENAME;
		else if (strcmp(t, "copytruncate") == 0)
			modes[(*count)++] = GEN_COPYTRUNCATE;
		else
			return -1;
	}
	return *count > 0 ? 0 : -1;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s -n N [-R ROTATIONS] [-m rename|copytruncate,...] "
		"[-l LINE_BYTES] [-r LINES_PER_S] [-k KEEP] [-g] PATH...\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	static struct gen_file files[MAX_FILES];
	enum gen_mode modes[MAX_FILES] = {GEN_RENAME};
	unsigned nmodes = 1, k;
	uint64_t n = 0, rotations = 0, keep = 0, total_rot = 0;
	size_t line_bytes = 0;
	double rate = 0, t0;
	int opt, gated = 0;
	char line[MAX_LINE];

	while ((opt = getopt(argc, argv, "n:R:m:l:r:k:g")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 'R':
			rotations = strtoull(optarg, NULL, 10);
			break;
		case 'm':
			if (parse_modes(optarg, modes, &nmodes) != 0)
				usage(argv[0]);
			break;
		case 'l':
			line_bytes = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rate = strtod(optarg, NULL);
			break;
		case 'k':
			keep = strtoull(optarg, NULL, 10);
			break;
		case 'g':
			gated = 1;
			break;
		default:
			usage(argv[0]);
		}
	}
	k = (unsigned)(argc - optind);
	if (n == 0 || k == 0 || k > MAX_FILES || line_bytes >= MAX_LINE)
		usage(argv[0]);
	for (unsigned i = 0; i < k; i++) {
		struct gen_file *f = &files[i];
		f->path = argv[optind + (int)i];
		f->mode = modes[i < nmodes ? i : nmodes - 1];
		f->fd = open_file(f->path, 0);
		f->buf = malloc(BUF_BYTES);
		if (f->buf == NULL)
			die("out of memory for", f->path);
		f->share = n / k + (i < n % k ? 1 : 0);
		f->last_seq = -1;
	}
	t0 = now_s();
	for (uint64_t seq = 0; seq < n; seq++) {
		unsigned idx = (unsigned)(seq % k);
		struct gen_file *f = &files[idx];
		size_t len = format_line(line, seq, idx, line_bytes);

		if (f->used + len > BUF_BYTES)
			flush_file(f);
		memcpy(f->buf + f->used, line, len);
		f->used += len;
		f->lines++;
		f->last_seq = (int64_t)seq;
		/* Rotation j of R comes after j/(R+1) of this file's share,
		 * so the last file written gets lines too. */
		if (f->rotated < rotations &&
		    f->lines * (rotations + 1) >= (f->rotated + 1) * f->share)
			rotate(f, idx, keep, gated);
		if (rate > 0 && (seq + 1) % 256 == 0) {
			double due = t0 + (double)(seq + 1) / rate;
			if (now_s() < due) {
				for (unsigned i = 0; i < k; i++)
					flush_file(&files[i]);
				while (now_s() < due)
					usleep(500);
			}
		}
	}
	printf("{\"lines\":%llu,\"files\":%u,\"seconds\":%.6f,\"per_file\":[",
	       (unsigned long long)n, k, now_s() - t0);
	for (unsigned i = 0; i < k; i++) {
		struct gen_file *f = &files[i];
		flush_file(f);
		if (close(f->fd) != 0)
			die("cannot close", f->path);
		free(f->buf);
		total_rot += f->rotated;
		printf("%s{\"path\":\"%s\",\"mode\":\"%s\",\"lines\":%llu,"
		       "\"bytes\":%llu,\"rotations\":%llu}",
		       i ? "," : "", f->path,
		       f->mode == GEN_RENAME ? "rename" : "copytruncate",
		       (unsigned long long)f->lines,
		       (unsigned long long)f->bytes,
		       (unsigned long long)f->rotated);
	}
	printf("],\"rotations\":%llu}\n", (unsigned long long)total_rot);
	return 0;
}
