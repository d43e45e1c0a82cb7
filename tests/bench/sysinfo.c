/* sysinfo.c - what the figures were measured on, and CPU pinning. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

/* Copies the first line of path, without its newline, into buf. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (f == NULL)
		return -1;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static void cpu_model(char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "re");

	snprintf(buf, len, "?");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) != 0 || colon == NULL)
			continue;
		colon += 1 + strspn(colon + 1, " \t");
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(buf, len, "%s", colon);
		break;
	}
	fclose(f);
}

void bench_sysinfo(char *cpu, size_t cpu_len, char *kernel, size_t kernel_len,
		   char *clocksource, size_t cs_len)
{
	struct utsname u;

	cpu_model(cpu, cpu_len);
	if (uname(&u) == 0)
		snprintf(kernel, kernel_len, "%s %s %s", u.sysname, u.release,
			 u.machine);
	else
		snprintf(kernel, kernel_len, "?");
	if (read_line("/sys/devices/system/clocksource/clocksource0/"
		      "current_clocksource",
		      clocksource, cs_len) != 0)
		snprintf(clocksource, cs_len, "?");
}

void bench_cpu_read(struct bench_cpu_sample *s)
{
	unsigned long long v[10] = {0}, ut = 0, st = 0;
	char buf[1024], *p;
	FILE *f;

	memset(s, 0, sizeof(*s));
	f = fopen("/proc/stat", "re");
	if (f != NULL) {
		/* cpu user nice system idle iowait irq softirq steal ... */
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7]) == 8) {
			s->busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
			s->total = s->busy + v[3] + v[4];
			s->steal = v[7];
		}
		fclose(f);
	}
	f = fopen("/proc/self/stat", "re");
	if (f != NULL) {
		/* utime and stime are fields 14 and 15; the command name
		 * (field 2) may hold spaces, so count from its ')'. */
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2,
			   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			   "%llu %llu",
			   &ut, &st) == 2)
			s->self = ut + st;
		fclose(f);
	}
}

struct pingpong {
	int ping, pong, n;
};

/* Tells the other thread to stop early; never a normal ping value. */
#define PING_STOP 2u

static void *pong_main(void *arg)
{
	struct pingpong *pp = arg;
	uint64_t v;

	(void)bench_pin(bench_ncpus() - 1);
	for (int i = 0; i < pp->n; i++) {
		if (read(pp->ping, &v, sizeof(v)) != sizeof(v) ||
		    v == PING_STOP ||
		    write(pp->pong, &v, sizeof(v)) != sizeof(v))
			break;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

double bench_wake_rtt_ns(int n)
{
	struct pingpong pp = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC),
			      n};
	uint64_t *rtt = calloc((size_t)n, sizeof(*rtt)), v = 1;
	pthread_t t;
	double median = 0;
	int done = 0;

	if (pp.ping < 0 || pp.pong < 0 || rtt == NULL ||
	    pthread_create(&t, NULL, pong_main, &pp) != 0)
		goto out;
	(void)bench_pin(0);
	for (; done < n; done++) {
		uint64_t t0 = bench_now_ns();
		if (write(pp.ping, &v, sizeof(v)) != sizeof(v) ||
		    read(pp.pong, &v, sizeof(v)) != sizeof(v))
			break;
		rtt[done] = bench_now_ns() - t0;
		/* Let the other side go back to sleep, as a writer or an
		 * async worker does between bursts. */
		usleep(50);
	}
	(void)bench_pin(-1);
	if (done < n) {
		v = PING_STOP;
		if (write(pp.ping, &v, sizeof(v)) != sizeof(v))
			pthread_detach(t);
		else
			pthread_join(t, NULL);
	} else {
		pthread_join(t, NULL);
	}
	if (done > 0) {
		qsort(rtt, (size_t)done, sizeof(*rtt), cmp_u64);
		median = (double)rtt[done / 2];
	}
out:
	free(rtt);
	if (pp.ping >= 0)
		close(pp.ping);
	if (pp.pong >= 0)
		close(pp.pong);
	return median;
}

int bench_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

int bench_pin(int cpu)
{
	cpu_set_t set;
	int n = bench_ncpus();

	CPU_ZERO(&set);
	if (cpu >= 0)
		CPU_SET(cpu % n, &set);
	else
		for (int i = 0; i < n; i++)
			CPU_SET(i, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}
