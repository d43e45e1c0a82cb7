// SPDX-License-Identifier: MIT
/*
 * ttlog-kafka-mock: a librdkafka mock cluster on loopback for the Kafka
 * tests. It prints "bootstrap HOST:PORT,..." once, then obeys one command
 * per line on stdin and answers "ok" or "error: ..." (see
 * docs/kafka-testing.md). "offsets TOPIC" answers one line per partition,
 * "offset PARTITION HIGH_WATERMARK", before its "ok".
 */
#define _GNU_SOURCE /* strdup */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* Topics this tool created (--topic, "topic"), so that "leader" can refuse
 * a name the cluster does not have: librdkafka's mock would create it. */
#define MAX_TOPICS 64

struct mock {
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_t *client; /* a client of the cluster, for offsets/metadata */
	long brokers;
	char *topics[MAX_TOPICS];
	int ntopics;
};

static void remember_topic(struct mock *m, const char *name)
{
	for (int i = 0; i < m->ntopics; i++)
		if (!strcmp(m->topics[i], name))
			return;
	if (m->ntopics < MAX_TOPICS)
		m->topics[m->ntopics++] = strdup(name);
}

/* Partitions of TOPIC as the cluster's metadata says (topics created by
 * a client's produce included), or -1 when it has no such topic or does
 * not answer within a second. */
static int topic_partitions(struct mock *m, const char *topic)
{
	const struct rd_kafka_metadata *md;
	int n = -1;

	if (rd_kafka_metadata(m->client, 1, NULL, &md, 1000))
		return -1;
	for (int i = 0; i < md->topic_cnt; i++)
		if (!strcmp(md->topics[i].topic, topic) &&
		    md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
			n = md->topics[i].partition_cnt;
	rd_kafka_metadata_destroy(md);
	return n;
}

static int topic_known(struct mock *m, const char *topic)
{
	for (int i = 0; i < m->ntopics; i++)
		if (!strcmp(m->topics[i], topic))
			return 1;
	return topic_partitions(m, topic) > 0;
}

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

/* "down"/"up" BROKER|all: all takes the whole cluster away or back. */
static void cmd_down_up(struct mock *m, int up, const char *which)
{
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	long a, lo, hi;

	if (!strcmp(which, "all")) {
		lo = 1;
		hi = m->brokers;
	} else if (!parse_int(which, 1, m->brokers, &a)) {
		lo = hi = a;
	} else {
		printf("error: bad broker id (1..%ld or all)\n", m->brokers);
		return;
	}
	for (a = lo; a <= hi && !err; a++)
		err = up ? rd_kafka_mock_broker_set_up(m->mc, (int32_t)a)
			 : rd_kafka_mock_broker_set_down(m->mc, (int32_t)a);
	answer(err);
}

/* "offsets TOPIC": each partition's high watermark, then ok. */
static void cmd_offsets(struct mock *m, const char *topic)
{
	int n = topic_partitions(m, topic);

	if (n <= 0) {
		printf("error: unknown topic %s (or the cluster is down)\n",
		       topic);
		return;
	}
	for (int p = 0; p < n; p++) {
		int64_t lo, hi;
		rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
			m->client, topic, p, &lo, &hi, 5000);

		if (err) {
			answer(err);
			return;
		}
		printf("offset %d %lld\n", p, (long long)hi);
	}
	printf("ok\n");
}

static void cmd_leader(struct mock *m, char **argv)
{
	long a, b;

	if (parse_int(argv[2], 0, 100000, &a) ||
	    parse_int(argv[3], -1, m->brokers, &b)) {
		printf("error: usage: leader TOPIC PARTITION BROKER\n");
		return;
	}
	if (!topic_known(m, argv[1])) {
		printf("error: unknown topic %s\n", argv[1]);
		return;
	}
	answer(rd_kafka_mock_partition_set_leader(m->mc, argv[1], (int32_t)a,
						  (int32_t)b));
}

static void cmd_produce_error(struct mock *m, char **argv)
{
	/* CODE is a Kafka protocol error code, e.g. 7 for REQUEST_TIMED_OUT;
	 * the next COUNT produce requests fail. */
	rd_kafka_resp_err_t errs[64];
	long a, b;

	if (parse_int(argv[1], -200, 1000, &a) ||
	    parse_int(argv[2], 1, 64, &b)) {
		printf("error: usage: produce-error CODE COUNT (COUNT <= "
		       "64)\n");
		return;
	}
	for (long i = 0; i < b; i++)
		errs[i] = (rd_kafka_resp_err_t)a;
	rd_kafka_mock_push_request_errors_array(m->mc, 0 /* Produce */,
						(size_t)b, errs);
	printf("ok\n");
}

/* Runs one command line; returns 1 on quit. */
static int run_command(struct mock *m, char *line)
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
	if ((!strcmp(argv[0], "down") || !strcmp(argv[0], "up")) && argc == 2)
		cmd_down_up(m, argv[0][0] == 'u', argv[1]);
	else if (!strcmp(argv[0], "leader") && argc == 4)
		cmd_leader(m, argv);
	else if (!strcmp(argv[0], "offsets") && argc == 2)
		cmd_offsets(m, argv[1]);
	else if (!strcmp(argv[0], "topic") && argc == 4) {
		if (parse_int(argv[2], 1, 100000, &a) ||
		    parse_int(argv[3], 1, 1000, &b)) {
			printf("error: usage: topic NAME PARTITIONS "
			       "REPLICATION\n");
			return 0;
		}
		remember_topic(m, argv[1]);
		answer(rd_kafka_mock_topic_create(m->mc, argv[1], (int)a,
						  (int)b));
	} else if (!strcmp(argv[0], "topic-error") && argc == 3) {
		/* Metadata requests for TOPIC fail with CODE (0 clears). */
		if (parse_int(argv[2], -200, 1000, &a)) {
			printf("error: usage: topic-error TOPIC CODE\n");
			return 0;
		}
		rd_kafka_mock_topic_set_error(m->mc, argv[1],
					      (rd_kafka_resp_err_t)a);
		printf("ok\n");
	} else if (!strcmp(argv[0], "produce-error") && argc == 3)
		cmd_produce_error(m, argv);
	else
		printf("error: unknown command or wrong arguments: %s\n",
		       argv[0]);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: ttlog-kafka-mock [--brokers N] "
			"[--topic NAME:PARTITIONS:REPLICATION]...\n");
}

static rd_kafka_t *new_handle(const char *bootstrap)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) !=
		    RD_KAFKA_CONF_OK ||
	    (bootstrap &&
	     rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr,
			       sizeof(errstr)) != RD_KAFKA_CONF_OK)) {
		fprintf(stderr, "ttlog-kafka-mock: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk)
		fprintf(stderr, "ttlog-kafka-mock: %s\n", errstr);
	return rk;
}

static int create_topics(struct mock *m, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *name;
		long parts, repl;
		rd_kafka_resp_err_t err;

		if (strcmp(argv[i], "--topic"))
			continue;
		if (parse_topic_spec(argv[++i], &name, &parts, &repl)) {
			usage();
			return -1;
		}
		remember_topic(m, name);
		err = rd_kafka_mock_topic_create(m->mc, name, (int)parts,
						 (int)repl);
		if (err) {
			fprintf(stderr, "ttlog-kafka-mock: topic %s: %s\n",
				name, rd_kafka_err2str(err));
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct mock m = {.brokers = 3};
	char line[1024];
	rd_kafka_t *rk;
	int i, rc = 1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
			if (parse_int(argv[++i], 1, 100, &m.brokers)) {
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

	/* This handle only hosts the cluster; it never talks to it. */
	rk = new_handle(NULL);
	if (!rk)
		return 1;
	m.mc = rd_kafka_mock_cluster_new(rk, (int)m.brokers);
	if (!m.mc) {
		fprintf(stderr, "ttlog-kafka-mock: cannot create cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}
	m.client = new_handle(rd_kafka_mock_cluster_bootstraps(m.mc));
	if (!m.client || create_topics(&m, argc, argv))
		goto out;

	printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(m.mc));
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		if (run_command(&m, line))
			break;
		fflush(stdout);
	}
	printf("bye\n");
	fflush(stdout);
	rc = 0;
out:
	if (m.client)
		rd_kafka_destroy(m.client);
	rd_kafka_mock_cluster_destroy(m.mc);
	rd_kafka_destroy(rk);
	for (i = 0; i < m.ntopics; i++)
		free(m.topics[i]);
	return rc;
}
