/*
 * test_kafka_conf.c - the Kafka listener's and input's common options
 * (kafka/kafka_conf.c): each one lands on the librdkafka setting it
 * stands for, and each refusal names the option as the user wrote it,
 * first, so the registry can place it.
 */
#include <string.h>

#include "kafka_conf.h"
#include "testutil.h"

static char *get(rd_kafka_conf_t *c, const char *name)
{
	static char buf[512];
	size_t n = sizeof(buf);

	buf[0] = 0;
	if (rd_kafka_conf_get(c, name, buf, &n) != RD_KAFKA_CONF_OK)
		return NULL;
	return buf;
}

static void test_plain_brokers_and_properties(void **state)
{
	const char *props[] = {"linger.ms", "7", "queue.buffering.max.kbytes",
			       "2048", NULL};
	struct ttlog__kafka_conf_opts o = {.brokers = "127.0.0.1:9092",
					   .properties = props};
	char err[256] = "";
	rd_kafka_conf_t *c;
	(void)state;

	c = ttlog__kafka_conf_new(&o, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(get(c, "bootstrap.servers"), "127.0.0.1:9092");
	assert_string_equal(get(c, "security.protocol"), "plaintext");
	assert_string_equal(get(c, "client.id"), "ttlog");
	assert_string_equal(get(c, "linger.ms"), "7");
	assert_string_equal(get(c, "queue.buffering.max.kbytes"), "2048");
	rd_kafka_conf_destroy(c);
}

static void test_refusals_name_the_option(void **state)
{
	const char *bad_value[] = {"linger.ms", "soon", NULL};
	const char *unknown[] = {"linger.mss", "5", NULL};
	const char *reserved_prop[] = {"acks", "1", NULL};
	const char *reserved[] = {"acks", "enable.idempotence", NULL};
	struct ttlog__kafka_conf_opts o = {.brokers = "b:1"};
	char err[256];
	(void)state;

	o.properties = bad_value;
	assert_null(ttlog__kafka_conf_new(&o, err, sizeof(err)));
	assert_true(strncmp(err, "properties.linger.ms: ", 22) == 0);

	o.properties = unknown;
	assert_null(ttlog__kafka_conf_new(&o, err, sizeof(err)));
	assert_true(strncmp(err, "properties.linger.mss: ", 23) == 0);

	o.properties = reserved_prop;
	o.reserved = reserved;
	assert_null(ttlog__kafka_conf_new(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "properties.acks: ttlog sets this one"));

	o.properties = NULL;
	o.brokers = NULL;
	assert_null(ttlog__kafka_conf_new(&o, err, sizeof(err)));
	assert_true(strncmp(err, "brokers: ", 9) == 0);

	o.brokers = "b:1";
	o.tls = 1;
	o.tls_cert = "/etc/hostname";
	assert_null(ttlog__kafka_conf_new(&o, err, sizeof(err)));
	assert_true(strncmp(err, "tls.key: ", 9) == 0);

	o.tls_cert = NULL;
	o.tls_ca = "/nonexistent/ca.pem";
	assert_null(ttlog__kafka_conf_new(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "tls.ca: cannot read /nonexistent/ca.pem"));

	o.tls_ca = NULL;
	o.sasl_mechanism = "GSSAPI";
	assert_null(ttlog__kafka_conf_new(&o, err, sizeof(err)));
	assert_true(strncmp(err, "sasl.mechanism: ", 16) == 0);

	o.sasl_mechanism = "PLAIN";
	o.sasl_username = "u";
	assert_null(ttlog__kafka_conf_new(&o, err, sizeof(err)));
	assert_true(strncmp(err, "sasl.password: ", 15) == 0);
}

static void test_tls_and_sasl_map_onto_librdkafka(void **state)
{
	struct ttlog__kafka_conf_opts o = {.brokers = "b:1",
					   .tls = 1,
					   .tls_verify = 1,
					   .sasl_mechanism = "SCRAM-SHA-256",
					   .sasl_username = "u",
					   .sasl_password = "p"};
	char err[256] = "";
	rd_kafka_conf_t *c;
	(void)state;

	c = ttlog__kafka_conf_new(&o, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(get(c, "security.protocol"), "sasl_ssl");
	assert_string_equal(get(c, "enable.ssl.certificate.verification"),
			    "true");
	assert_string_equal(get(c, "ssl.endpoint.identification.algorithm"),
			    "https");
	assert_string_equal(get(c, "sasl.mechanisms"), "SCRAM-SHA-256");
	rd_kafka_conf_destroy(c);

	o.tls = 0;
	o.sasl_mechanism = NULL;
	o.sasl_username = o.sasl_password = NULL;
	c = ttlog__kafka_conf_new(&o, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(get(c, "security.protocol"), "plaintext");
	rd_kafka_conf_destroy(c);
}

static void test_format_names_round_trip(void **state)
{
	(void)state;
	for (int f = TTLOG_KAFKA_FMT_JSON; f <= TTLOG_KAFKA_FMT_SYSLOG; f++) {
		const char *n = ttlog__kafka_format_name(f);
		assert_non_null(n);
		assert_int_equal(ttlog__kafka_format_parse(n, strlen(n)), f);
	}
	assert_null(ttlog__kafka_format_name(TTLOG_KAFKA_FMT_AUTO));
	assert_int_equal(ttlog__kafka_format_parse("jso", 3), -1);
	assert_int_equal(ttlog__kafka_format_parse("jsonx", 5), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_brokers_and_properties),
		cmocka_unit_test(test_refusals_name_the_option),
		cmocka_unit_test(test_tls_and_sasl_map_onto_librdkafka),
		cmocka_unit_test(test_format_names_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
