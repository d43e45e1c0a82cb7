// SPDX-License-Identifier: MIT
/*
 * ttlog-kafka-mock: a librdkafka mock cluster on loopback for the Kafka
 * tests. It prints "bootstrap HOST:PORT,..." once, then obeys one command
 * per line on stdin and answers "ok" or "error: ..." (see
 * docs/kafka-testing.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* NAME:PARTITIONS:REPLICATION, modified in place. */
static int parse_topic_spec(char *spec, char **name, long *parts, long *repl)
{
	char *p1 = strchr(spec, ':');
	char *p2 = p1 ? strchr(p1 + 1, ':') : NULL;

	if (!p1 || !p2 || p1 == spec)
		return -1;
	*p1 = *p2 = '\0';
	*name = spec;
	if (parse_int(p1 + 1, 1, 100000, parts) ||
	    parse_int(p2 + 1, 1, 1000, repl))
		return -1;
	return 0;
}

static void answer(rd_kafka_resp_err_t err)
{
	if (err)
		printf("error: %s\n", rd_kafka_err2str(err));
	else
		printf("ok\n");
}

/* Runs one command line; returns 1 on quit. */
static int run_command(rd_kafka_mock_cluster_t *mc, char *line)
{
	char *argv[8];
	int argc = 0;
	long a, b;
	char *tok;

	for (tok = strtok(line, " \t\r\n"); tok && argc < 8;
	     tok = strtok(NULL, " \t\r\n"))
		argv[argc++] = tok;
	if (argc == 0)
		return 0;

	if (!strcmp(argv[0], "quit"))
		return 1;
	if ((!strcmp(argv[0], "down") || !strcmp(argv[0], "up")) && argc == 2) {
		if (parse_int(argv[1], 1, 1000, &a)) {
			printf("error: bad broker id\n");
			return 0;
		}
		answer(argv[0][0] == 'd'
			       ? rd_kafka_mock_broker_set_down(mc, (int32_t)a)
			       : rd_kafka_mock_broker_set_up(mc, (int32_t)a));
		return 0;
	}
	if (!strcmp(argv[0], "leader") && argc == 4) {
		if (parse_int(argv[2], 0, 100000, &a) ||
		    parse_int(argv[3], 1, 1000, &b)) {
			printf("error: usage: leader TOPIC PARTITION BROKER\n");
			return 0;
		}
		answer(rd_kafka_mock_partition_set_leader(
			mc, argv[1], (int32_t)a, (int32_t)b));
		return 0;
	}
	if (!strcmp(argv[0], "topic") && argc == 4) {
		if (parse_int(argv[2], 1, 100000, &a) ||
		    parse_int(argv[3], 1, 1000, &b)) {
			printf("error: usage: topic NAME PARTITIONS "
			       "REPLICATION\n");
			return 0;
		}
		answer(rd_kafka_mock_topic_create(mc, argv[1], (int)a, (int)b));
		return 0;
	}
	if (!strcmp(argv[0], "produce-error") && argc == 3) {
		/* CODE is a Kafka protocol error code, e.g. 7 for
		 * REQUEST_TIMED_OUT; the next COUNT produce requests fail. */
		rd_kafka_resp_err_t errs[64];
		long i;

		if (parse_int(argv[1], -200, 1000, &a) ||
		    parse_int(argv[2], 1, 64, &b)) {
			printf("error: usage: produce-error CODE COUNT "
			       "(COUNT <= 64)\n");
			return 0;
		}
		for (i = 0; i < b; i++)
			errs[i] = (rd_kafka_resp_err_t)a;
		rd_kafka_mock_push_request_errors_array(mc, 0 /* Produce */,
							(size_t)b, errs);
		printf("ok\n");
		return 0;
	}
	printf("error: unknown command or wrong arguments: %s\n", argv[0]);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: ttlog-kafka-mock [--brokers N] "
			"[--topic NAME:PARTITIONS:REPLICATION]...\n");
}

int main(int argc, char **argv)
{
	char errstr[512];
	char line[1024];
	rd_kafka_conf_t *conf;
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_t *rk;
	long brokers = 3;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
			if (parse_int(argv[++i], 1, 100, &brokers)) {
				usage();
				return 2;
			}
		} else if (!strcmp(argv[i], "--topic") && i + 1 < argc) {
			i++; /* parsed again once the cluster exists */
		} else {
			usage();
			return 2;
		}
	}

	/* The handle only hosts the cluster; it never talks to it. */
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) !=
	    RD_KAFKA_CONF_OK) {
		fprintf(stderr, "ttlog-kafka-mock: %s\n", errstr);
		return 1;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "ttlog-kafka-mock: %s\n", errstr);
		return 1;
	}
	mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
	if (!mc) {
		fprintf(stderr, "ttlog-kafka-mock: cannot create cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}

	for (i = 1; i < argc; i++) {
		char *name;
		long parts, repl;
		rd_kafka_resp_err_t err;

		if (strcmp(argv[i], "--topic"))
			continue;
		if (parse_topic_spec(argv[++i], &name, &parts, &repl)) {
			usage();
			goto fail;
		}
		err = rd_kafka_mock_topic_create(mc, name, (int)parts,
						 (int)repl);
		if (err) {
			fprintf(stderr, "ttlog-kafka-mock: topic %s: %s\n",
				name, rd_kafka_err2str(err));
			goto fail;
		}
	}

	printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		if (run_command(mc, line))
			break;
		fflush(stdout);
	}
	printf("bye\n");
	fflush(stdout);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
fail:
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 1;
}
