/*
 * test_tls.c - tls/ (ttlog_tls) on real TLS handshakes over loopback TCP.
 *
 * Certificates are made once per run by tests/certs/make_certs.sh. Most
 * cases step both ends of one connection by hand (non-blocking sockets,
 * SSL_do_handshake then one byte each way, poll() when neither end can go
 * on) and check, for each end, whether it got through and, if not, the
 * reason label and sentence of ttlog__tls_describe(). The last case does
 * the same through libevent's bufferevent_openssl, the way the forward
 * plugin and the agent's input use this module.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "testutil.h"
#include "tls.h"

static char certdir[64];

/* The path of a file of the certificate directory (a few at a time). */
static const char *P(const char *name)
{
	static char bufs[16][160];
	static unsigned next;
	char *b = bufs[next++ % 16];

	snprintf(b, sizeof(bufs[0]), "%s/%s", certdir, name);
	return b;
}

static int group_setup(void **state)
{
	char cmd[512];
	(void)state;

	signal(SIGPIPE, SIG_IGN);
	snprintf(certdir, sizeof(certdir), "/tmp/ttlog-tls-XXXXXX");
	if (mkdtemp(certdir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "bash '%s' '%s'", TTLOG_TEST_CERTS_SCRIPT,
		 certdir);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s/openssl.log' >&2", certdir);
		(void)system(cmd);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];
	(void)state;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Contexts                                                             */
/* ------------------------------------------------------------------ */

/* A client that trusts the test CA and checks names. */
static struct ttlog__tls_opts client_opts(void)
{
	struct ttlog__tls_opts o;

	memset(&o, 0, sizeof(o));
	o.ca_file = P("ca.pem");
	o.verify = 1;
	return o;
}

/* A server presenting NAME.pem. */
static struct ttlog__tls_opts server_opts(const char *name)
{
	struct ttlog__tls_opts o;
	char f[64];

	memset(&o, 0, sizeof(o));
	snprintf(f, sizeof(f), "%s.pem", name);
	o.cert = P(f);
	snprintf(f, sizeof(f), "%s.key", name);
	o.key = P(f);
	return o;
}

static SSL_CTX *client_ctx(const struct ttlog__tls_opts *o)
{
	char err[512] = "";
	SSL_CTX *ctx = ttlog__tls_client_ctx(o, err, sizeof(err));

	if (ctx == NULL)
		fail_msg("client ctx: %s", err);
	return ctx;
}

static SSL_CTX *server_ctx(const struct ttlog__tls_opts *o)
{
	char err[512] = "";
	SSL_CTX *ctx = ttlog__tls_server_ctx(o, err, sizeof(err));

	if (ctx == NULL)
		fail_msg("server ctx: %s", err);
	return ctx;
}

/* ------------------------------------------------------------------ */
/* A connection on loopback, stepped by hand                           */
/* ------------------------------------------------------------------ */

/* A listening socket on 127.0.0.1 with an ephemeral port. */
static int listen_loopback(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)a, &len), 0);
	return fd;
}

/* fds[0] the client's end, fds[1] the server's; both non-blocking. */
static void tcp_pair(int fds[2])
{
	struct sockaddr_in a;
	int l = listen_loopback(&a);

	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fds[0] >= 0);
	assert_int_equal(connect(fds[0], (struct sockaddr *)&a, sizeof(a)), 0);
	fds[1] = accept(l, NULL, NULL);
	assert_true(fds[1] >= 0);
	close(l);
	for (int i = 0; i < 2; i++)
		assert_int_equal(fcntl(fds[i], F_SETFL, O_NONBLOCK), 0);
}

enum { HANDSHAKE, EXCHANGE, OK, FAILED };

struct end {
	SSL *ssl; /* NULL: the test writes and reads the socket itself */
	int fd;
	int state;
	int sent;
	short want; /* POLLIN or POLLOUT */
	const char *reason;
	char why[512];
};

/* Handles a call that did not complete: 1 when the end failed. */
static int not_done(struct end *e, int r)
{
	switch (SSL_get_error(e->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		e->want = POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		e->want = POLLOUT;
		return 0;
	default:
		e->reason = ttlog__tls_describe(e->ssl, e->why, sizeof(e->why));
		e->state = FAILED;
		/* Whatever the end sent (an alert) still arrives, then EOF,
		 * so that the other end never waits for ever. */
		shutdown(e->fd, SHUT_WR);
		return 1;
	}
}

/* One step of one end: the handshake, then a byte sent and one received
 * (so that an alert sent after the client's last flight, as TLS 1.3
 * servers do, is seen). Returns whether anything happened. */
static int step(struct end *e)
{
	char c;
	int r, moved = 0;

	if (e->state == HANDSHAKE) {
		r = SSL_do_handshake(e->ssl);
		if (r != 1)
			return not_done(e, r);
		e->state = EXCHANGE;
		moved = 1;
	}
	if (e->state != EXCHANGE)
		return moved;
	if (!e->sent) {
		r = SSL_write(e->ssl, "x", 1);
		if (r != 1)
			return not_done(e, r) || moved;
		e->sent = 1;
		moved = 1;
	}
	r = SSL_read(e->ssl, &c, 1);
	if (r != 1)
		return not_done(e, r) || moved;
	assert_int_equal(c, 'x');
	e->state = OK;
	return 1;
}

static int busy(const struct end *e)
{
	return e->ssl != NULL &&
	       (e->state == HANDSHAKE || e->state == EXCHANGE);
}

/* Steps both ends until each is through or has failed. */
static void drive(struct end *a, struct end *b)
{
	struct end *ends[2] = {a, b};

	for (int round = 0; round < 10000; round++) {
		struct pollfd p[2];
		int n = 0, moved = 0;

		for (int i = 0; i < 2; i++)
			if (busy(ends[i]))
				moved |= step(ends[i]);
		if (!busy(a) && !busy(b))
			return;
		if (moved)
			continue;
		for (int i = 0; i < 2; i++) {
			if (busy(ends[i])) {
				p[n].fd = ends[i]->fd;
				p[n].events = ends[i]->want;
				p[n].revents = 0;
				n++;
			}
		}
		if (poll(p, (nfds_t)n, 10000) <= 0)
			fail_msg("the handshake stalled");
	}
	fail_msg("the handshake did not end");
}

struct conn {
	struct end c, s;
};

/* Sockets and SSLs for one connection to `host` (not driven yet). A NULL
 * cctx leaves the client raw, a NULL sctx the server. */
static void conn_open(struct conn *k, SSL_CTX *cctx,
		      const struct ttlog__tls_opts *co, const char *host,
		      SSL_CTX *sctx)
{
	int fds[2];
	char err[256] = "";

	memset(k, 0, sizeof(*k));
	tcp_pair(fds);
	k->c.fd = fds[0];
	k->s.fd = fds[1];
	if (cctx != NULL) {
		k->c.ssl =
			ttlog__tls_client_ssl(cctx, co, host, err, sizeof(err));
		if (k->c.ssl == NULL)
			fail_msg("client ssl: %s", err);
		assert_int_equal(SSL_set_fd(k->c.ssl, fds[0]), 1);
	}
	if (sctx != NULL) {
		k->s.ssl = SSL_new(sctx);
		assert_non_null(k->s.ssl);
		assert_int_equal(SSL_set_fd(k->s.ssl, fds[1]), 1);
		SSL_set_accept_state(k->s.ssl);
	}
}

static void conn_run(struct conn *k, SSL_CTX *cctx,
		     const struct ttlog__tls_opts *co, const char *host,
		     SSL_CTX *sctx)
{
	conn_open(k, cctx, co, host, sctx);
	drive(&k->c, &k->s);
}

static void conn_close(struct conn *k)
{
	SSL_free(k->c.ssl);
	SSL_free(k->s.ssl);
	close(k->c.fd);
	close(k->s.fd);
	assert_int_equal(ERR_peek_error(), 0);
}

static void assert_through(const struct end *e, const char *who)
{
	if (e->state != OK)
		fail_msg("%s failed: %s: %s", who, e->reason, e->why);
}

/* The end failed, with this reason and a sentence containing `words`. */
static void assert_refused(const struct end *e, const char *who,
			   const char *reason, const char *words)
{
	if (e->state != FAILED)
		fail_msg("%s got through; expected %s", who, reason);
	print_message("    %-6s %-16s %s\n", who, e->reason, e->why);
	assert_string_equal(e->reason, reason);
	if (strstr(e->why, words) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", who, e->why, words);
}

/* ------------------------------------------------------------------ */
/* Cases                                                                */
/* ------------------------------------------------------------------ */

static void test_good_server_by_name_and_address(void **state)
{
	struct ttlog__tls_opts co = client_opts(), so = server_opts("server");
	SSL_CTX *cctx = client_ctx(&co), *sctx = server_ctx(&so);
	struct conn k;
	char why[256];
	(void)state;

	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_through(&k.c, "client");
	assert_through(&k.s, "server");
	assert_int_equal(SSL_version(k.c.ssl), TLS1_3_VERSION);
	assert_int_equal(SSL_get_verify_result(k.c.ssl), X509_V_OK);
	assert_string_equal(
		SSL_get_servername(k.s.ssl, TLSEXT_NAMETYPE_host_name),
		"localhost");
	assert_int_equal(
		ttlog__tls_check_pins(k.c.ssl, NULL, 0, why, sizeof(why)), 0);
	/* Nothing went wrong: nothing to say. */
	assert_string_equal(ttlog__tls_describe(k.c.ssl, why, sizeof(why)),
			    "other");
	assert_string_equal(why, "");
	conn_close(&k);

	/* An address is checked against the IP entries, and not sent as
	 * SNI. */
	conn_run(&k, cctx, &co, "127.0.0.1", sctx);
	assert_through(&k.c, "client");
	assert_through(&k.s, "server");
	assert_null(SSL_get_servername(k.s.ssl, TLSEXT_NAMETYPE_host_name));
	conn_close(&k);

	/* A fully qualified name with its final dot. */
	conn_run(&k, cctx, &co, "localhost.", sctx);
	assert_through(&k.c, "client");
	conn_close(&k);

	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_wrong_host_name(void **state)
{
	struct ttlog__tls_opts co = client_opts(),
			       so = server_opts("wronghost");
	SSL_CTX *cctx = client_ctx(&co), *sctx = server_ctx(&so);
	struct conn k;
	(void)state;

	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_refused(&k.c, "client", "hostname",
		       "certificate verify failed: hostname mismatch (the "
		       "certificate is not for \"localhost\"; it names "
		       "wrong.example)");
	assert_refused(&k.s, "server", "verify", "bad certificate alert");
	conn_close(&k);

	conn_run(&k, cctx, &co, "127.0.0.1", sctx);
	assert_refused(&k.c, "client", "hostname", "not for \"127.0.0.1\"");
	conn_close(&k);

	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_unknown_ca(void **state)
{
	struct ttlog__tls_opts co = client_opts(), so = server_opts("stranger");
	SSL_CTX *cctx = client_ctx(&co), *sctx = server_ctx(&so);
	struct conn k;
	(void)state;

	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_refused(&k.c, "client", "unknown_ca",
		       "certificate verify failed: unable to get local issuer "
		       "certificate");
	assert_refused(&k.s, "server", "unknown_ca", "unknown CA alert");
	conn_close(&k);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_expired(void **state)
{
	struct ttlog__tls_opts co = client_opts(), so = server_opts("expired");
	SSL_CTX *cctx = client_ctx(&co), *sctx = server_ctx(&so);
	struct conn k;
	(void)state;

	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_refused(&k.c, "client", "expired",
		       "certificate verify failed: certificate has expired "
		       "(on Feb  1 00:00:00 2020 GMT)");
	assert_refused(&k.s, "server", "expired", "certificate expired alert");
	conn_close(&k);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_mutual_tls(void **state)
{
	struct ttlog__tls_opts co = server_opts("client"),
			       so = server_opts("server");
	SSL_CTX *cctx, *sctx;
	struct conn k;
	char cn[64];
	(void)state;

	co.ca_file = P("ca.pem");
	co.verify = 1;
	so.ca_file = P("ca.pem");
	so.client_auth = TTLOG_TLS_CLIENT_REQUIRED;
	cctx = client_ctx(&co);
	sctx = server_ctx(&so);
	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_through(&k.c, "client");
	assert_through(&k.s, "server");
	assert_non_null(SSL_get0_peer_certificate(k.s.ssl));
	X509_NAME_get_text_by_NID(
		X509_get_subject_name(SSL_get0_peer_certificate(k.s.ssl)),
		NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "ttlog-client");
	assert_int_equal(SSL_get_verify_result(k.s.ssl), X509_V_OK);
	conn_close(&k);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_missing_client_cert_when_required(void **state)
{
	struct ttlog__tls_opts co = client_opts(), so = server_opts("server");
	SSL_CTX *cctx, *sctx;
	struct conn k;
	(void)state;

	so.ca_file = P("ca.pem");
	so.client_auth = TTLOG_TLS_CLIENT_REQUIRED;
	cctx = client_ctx(&co);
	sctx = server_ctx(&so);

	/* TLS 1.3: the client is through its handshake when the server's
	 * certificate_required alert comes. */
	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_refused(&k.s, "server", "no_client_cert",
		       "peer did not return a certificate");
	assert_refused(&k.c, "client", "no_client_cert",
		       "certificate required alert");
	conn_close(&k);

	/* TLS 1.2 has only handshake_failure for it. */
	assert_int_equal(SSL_CTX_set_max_proto_version(sctx, TLS1_2_VERSION),
			 1);
	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_refused(&k.s, "server", "no_client_cert",
		       "peer did not return a certificate");
	assert_refused(&k.c, "client", "no_client_cert",
		       "handshake failure alert");
	conn_close(&k);

	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_optional_client_cert(void **state)
{
	struct ttlog__tls_opts co = client_opts(), so = server_opts("server"),
			       mo = server_opts("client");
	SSL_CTX *cctx, *mctx, *sctx;
	struct conn k;
	(void)state;

	so.ca_file = P("ca.pem");
	so.client_auth = TTLOG_TLS_CLIENT_OPTIONAL;
	mo.ca_file = P("ca.pem");
	mo.verify = 1;
	cctx = client_ctx(&co);
	mctx = client_ctx(&mo);
	sctx = server_ctx(&so);

	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_through(&k.c, "client");
	assert_through(&k.s, "server");
	assert_null(SSL_get0_peer_certificate(k.s.ssl));
	conn_close(&k);

	/* One that is sent is verified. */
	conn_run(&k, mctx, &mo, "localhost", sctx);
	assert_through(&k.c, "client");
	assert_through(&k.s, "server");
	assert_non_null(SSL_get0_peer_certificate(k.s.ssl));
	conn_close(&k);

	SSL_CTX_free(cctx);
	SSL_CTX_free(mctx);
	SSL_CTX_free(sctx);
}

static void test_client_cert_of_unknown_ca(void **state)
{
	struct ttlog__tls_opts co = server_opts("stranger"),
			       so = server_opts("server");
	SSL_CTX *cctx, *sctx;
	struct conn k;
	(void)state;

	co.ca_file = P("ca.pem");
	co.verify = 1;
	so.ca_file = P("ca.pem");
	so.client_auth = TTLOG_TLS_CLIENT_REQUIRED;
	cctx = client_ctx(&co);
	sctx = server_ctx(&so);
	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_refused(&k.s, "server", "unknown_ca",
		       "client certificate verify failed: unable to get local "
		       "issuer certificate");
	assert_refused(&k.c, "client", "unknown_ca",
		       "the peer does not trust the CA of this side's "
		       "certificate");
	conn_close(&k);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void write_all(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void test_plaintext_is_not_tls(void **state)
{
	static const char ttlg[] = "TTLG\x01\x00\x00\x00\x10{}";
	struct ttlog__tls_opts co = client_opts(), so = server_opts("server");
	SSL_CTX *cctx = client_ctx(&co), *sctx = server_ctx(&so);
	struct conn k;
	(void)state;

	conn_open(&k, NULL, NULL, NULL, sctx);
	write_all(k.c.fd, "GET / HTTP/1.0\r\n\r\n", 18);
	drive(&k.c, &k.s);
	assert_refused(&k.s, "server", "not_tls", "HTTP request");
	conn_close(&k);

	/* The native protocol's magic, without TLS. */
	conn_open(&k, NULL, NULL, NULL, sctx);
	write_all(k.c.fd, ttlg, sizeof(ttlg) - 1);
	drive(&k.c, &k.s);
	assert_refused(&k.s, "server", "not_tls",
		       "wrong version number (plaintext sent to a TLS port?)");
	conn_close(&k);

	/* A TLS client whose server answers in plain text. */
	conn_open(&k, cctx, &co, "localhost", NULL);
	assert_int_equal(step(&k.c), 0);
	write_all(k.s.fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
	drive(&k.c, &k.s);
	assert_refused(&k.c, "client", "not_tls",
		       "the server does not speak TLS");
	conn_close(&k);

	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_tls10_peer_is_refused(void **state)
{
	struct ttlog__tls_opts so = server_opts("server");
	SSL_CTX *sctx = server_ctx(&so),
		*old = SSL_CTX_new(TLS_client_method());
	struct conn k;
	(void)state;

	/* A client that can only speak TLS 1.0 (OpenSSL 3 has to be talked
	 * into even trying). */
	assert_non_null(old);
	SSL_CTX_set_security_level(old, 0);
	assert_int_equal(SSL_CTX_set_cipher_list(old, "DEFAULT@SECLEVEL=0"), 1);
	assert_int_equal(SSL_CTX_set_min_proto_version(old, TLS1_VERSION), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(old, TLS1_VERSION), 1);

	conn_open(&k, NULL, NULL, NULL, sctx);
	k.c.ssl = SSL_new(old);
	assert_non_null(k.c.ssl);
	assert_int_equal(SSL_set_fd(k.c.ssl, k.c.fd), 1);
	SSL_set_connect_state(k.c.ssl);
	drive(&k.c, &k.s);
	assert_refused(&k.s, "server", "protocol_version",
		       "unsupported protocol (peer offers only TLS 1.0 or "
		       "older; this side needs TLS 1.2 or newer)");
	assert_refused(&k.c, "client", "protocol_version",
		       "protocol version alert");
	conn_close(&k);
	SSL_CTX_free(old);
	SSL_CTX_free(sctx);
}

static void test_min_13_against_a_12_server(void **state)
{
	struct ttlog__tls_opts co = client_opts(), so = server_opts("server");
	SSL_CTX *cctx, *sctx;
	struct conn k;
	(void)state;

	co.min_version = TTLOG_TLS_1_3;
	cctx = client_ctx(&co);
	sctx = server_ctx(&so);
	assert_int_equal(SSL_CTX_set_max_proto_version(sctx, TLS1_2_VERSION),
			 1);
	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_refused(&k.c, "client", "protocol_version",
		       "the peer does not accept TLS 1.3, the only version "
		       "offered (protocol version alert)");
	assert_refused(&k.s, "server", "protocol_version",
		       "unsupported protocol");
	conn_close(&k);

	/* Both at 1.3: fine. */
	SSL_CTX_free(sctx);
	so.min_version = TTLOG_TLS_1_3;
	sctx = server_ctx(&so);
	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_through(&k.c, "client");
	assert_int_equal(SSL_version(k.s.ssl), TLS1_3_VERSION);
	conn_close(&k);

	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

/* The SHA-256 fingerprint of a certificate file, as `openssl x509
 * -fingerprint` writes it: "AB:CD:...". */
static void cli_fingerprint(const char *file, char out[96])
{
	char cmd[256], *text, *eq;
	size_t len;
	int st;

	snprintf(cmd, sizeof(cmd),
		 "openssl x509 -noout -fingerprint -sha256 -in '%s'", file);
	text = run_capture(cmd, &len, &st);
	assert_int_equal(st, 0);
	eq = strchr(text, '=');
	assert_non_null(eq);
	assert_true(strlen(eq + 1) >= 95);
	memcpy(out, eq + 1, 95);
	out[95] = '\0';
	free(text);
}

/* The same by X509_digest, in lower case without colons. */
static void lib_fingerprint(const char *file, char out[65])
{
	FILE *f = fopen(file, "r");
	X509 *x;
	unsigned char md[32];
	unsigned len = 0;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	assert_int_equal(X509_digest(x, EVP_sha256(), md, &len), 1);
	assert_int_equal(len, 32);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	X509_free(x);
}

static void test_pins(void **state)
{
	struct ttlog__tls_opts co = client_opts(), so = server_opts("server");
	SSL_CTX *cctx = client_ctx(&co), *sctx = server_ctx(&so);
	uint8_t pins[TTLOG_TLS_MAX_PINS][32];
	char cli[96], lib[65], err[256];
	static const char *const bad[] = {
		"abc",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
		"e",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
		"ef0",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
		"eg",
		"01::"
		"23456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
		"f",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
		"ef:",
		":0123456789abcdef0123456789abcdef0123456789abcdef0123456789abc"
		"def",
		"0:"
		"123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
		"f",
		"",
	};
	struct conn k;
	(void)state;

	cli_fingerprint(P("server.pem"), cli);
	lib_fingerprint(P("server.pem"), lib);
	co.pins[0] = cli;
	co.pins[1] = lib;
	co.npins = 2;
	assert_int_equal(ttlog__tls_parse_pins(&co, pins, err, sizeof(err)), 2);
	assert_memory_equal(pins[0], pins[1], 32);

	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_through(&k.c, "client");
	assert_int_equal(ttlog__tls_check_pins(k.c.ssl,
					       (const uint8_t(*)[32])pins, 1,
					       err, sizeof(err)),
			 0);
	assert_int_equal(ttlog__tls_check_pins(k.c.ssl,
					       (const uint8_t(*)[32])pins + 1,
					       1, err, sizeof(err)),
			 0);
	/* Another certificate's pin: refused, naming what was seen. */
	memset(pins[0], 0xab, 32);
	assert_int_equal(ttlog__tls_check_pins(k.c.ssl,
					       (const uint8_t(*)[32])pins, 1,
					       err, sizeof(err)),
			 -1);
	print_message("    pin    %s\n", err);
	assert_non_null(strstr(err, cli));
	assert_non_null(strstr(err, "matches no tls.pin"));
	conn_close(&k);

	/* The server never checks pins on its own, and an end without a
	 * peer certificate fails a pin check. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ttlog__tls_opts o = client_opts();
		o.pins[0] = lib;
		o.pins[1] = bad[i];
		o.npins = 2;
		err[0] = '\0';
		assert_int_equal(
			ttlog__tls_parse_pins(&o, pins, err, sizeof(err)), -1);
		if (strstr(err, "tls.pin \"") == NULL ||
		    strstr(err, bad[i]) == NULL)
			fail_msg("pin \"%s\": %s", bad[i], err);
	}
	print_message("    pin    %s\n", err);
	co.npins = TTLOG_TLS_MAX_PINS + 1;
	assert_int_equal(ttlog__tls_parse_pins(&co, pins, err, sizeof(err)),
			 -1);
	co.npins = 0;
	assert_int_equal(ttlog__tls_parse_pins(&co, pins, err, sizeof(err)), 0);

	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_verify_off(void **state)
{
	struct ttlog__tls_opts co = client_opts(), so = server_opts("stranger");
	SSL_CTX *cctx, *sctx = server_ctx(&so);
	uint8_t pins[TTLOG_TLS_MAX_PINS][32];
	char fp[65], why[256];
	struct conn k;
	(void)state;

	co.ca_file = NULL;
	co.verify = 0;
	cctx = client_ctx(&co);
	conn_run(&k, cctx, &co, "localhost", sctx);
	assert_through(&k.c, "client");
	assert_through(&k.s, "server");
	/* OpenSSL still recorded that the chain does not verify; that is no
	 * failure when verification is off. */
	assert_int_not_equal(SSL_get_verify_result(k.c.ssl), X509_V_OK);
	assert_string_equal(ttlog__tls_describe(k.c.ssl, why, sizeof(why)),
			    "other");
	assert_string_equal(why, "");

	/* Pinned instead. */
	lib_fingerprint(P("stranger.pem"), fp);
	co.pins[0] = fp;
	co.npins = 1;
	assert_int_equal(ttlog__tls_parse_pins(&co, pins, why, sizeof(why)), 1);
	assert_int_equal(ttlog__tls_check_pins(k.c.ssl,
					       (const uint8_t(*)[32])pins, 1,
					       why, sizeof(why)),
			 0);
	lib_fingerprint(P("server.pem"), fp);
	assert_int_equal(ttlog__tls_parse_pins(&co, pins, why, sizeof(why)), 1);
	assert_int_equal(ttlog__tls_check_pins(k.c.ssl,
					       (const uint8_t(*)[32])pins, 1,
					       why, sizeof(why)),
			 -1);
	conn_close(&k);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void test_describe_without_ssl(void **state)
{
	char why[256];
	(void)state;

	/* From the code alone. */
	ERR_raise(ERR_LIB_SSL, SSL_R_WRONG_VERSION_NUMBER);
	assert_string_equal(ttlog__tls_describe(NULL, why, sizeof(why)),
			    "not_tls");
	assert_string_equal(why,
			    "wrong version number (plaintext sent to a TLS "
			    "port?)");
	assert_int_equal(ERR_peek_error(), 0);
	ERR_raise(ERR_LIB_SSL, SSL_R_UNSUPPORTED_PROTOCOL);
	assert_string_equal(ttlog__tls_describe(NULL, why, sizeof(why)),
			    "protocol_version");
	assert_string_equal(why,
			    "unsupported protocol (peer offers only TLS 1.0?)");
	ERR_raise(ERR_LIB_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED);
	assert_string_equal(ttlog__tls_describe(NULL, why, sizeof(why)),
			    "verify");
	assert_string_equal(why, "certificate verify failed");
	/* The most telling of several, the queue's included, in any order;
	 * libevent's SSL_ERROR_* entries are no codes. */
	{
		unsigned long codes[3] = {
			SSL_ERROR_SSL,
			ERR_PACK(ERR_LIB_SSL, 0,
				 SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE),
			SSL_ERROR_SYSCALL};
		ERR_raise(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR);
		assert_string_equal(ttlog__tls_describe_codes(NULL, codes, 3,
							      why, sizeof(why)),
				    "no_client_cert");
		assert_int_equal(ERR_peek_error(), 0);
		assert_string_equal(ttlog__tls_describe_codes(NULL, codes, 1,
							      why, sizeof(why)),
				    "other");
		assert_string_equal(why, "");
	}
	/* Nothing known: nothing said. */
	assert_string_equal(ttlog__tls_describe(NULL, why, sizeof(why)),
			    "other");
	assert_string_equal(why, "");
	ERR_raise(ERR_LIB_SSL, SSL_R_NO_SHARED_CIPHER);
	assert_string_equal(ttlog__tls_describe(NULL, why, sizeof(why)),
			    "other");
	assert_non_null(strstr(why, "no cipher in common"));
}

/* The context is refused with exactly this message. */
static void expect_ctx_error(int server, const struct ttlog__tls_opts *o,
			     const char *want)
{
	char err[512] = "";
	SSL_CTX *ctx = server ? ttlog__tls_server_ctx(o, err, sizeof(err))
			      : ttlog__tls_client_ctx(o, err, sizeof(err));

	if (ctx != NULL) {
		SSL_CTX_free(ctx);
		fail_msg("accepted; expected \"%s\"", want);
	}
	print_message("    ctx    %s\n", err);
	assert_string_equal(err, want);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_bad_settings_name_option_and_file(void **state)
{
	struct ttlog__tls_opts o;
	char want[512], cmd[512];
	char err[256];
	SSL_CTX *ctx;
	(void)state;

	o = client_opts();
	o.ca_file = P("nope.pem");
	snprintf(want, sizeof(want), "tls.ca_file %s: no such file", o.ca_file);
	expect_ctx_error(0, &o, want);

	o.ca_file = P("openssl.log");
	snprintf(want, sizeof(want), "tls.ca_file %s: no PEM certificate found",
		 o.ca_file);
	expect_ctx_error(0, &o, want);

	o = client_opts();
	o.ca_dir = P("nope.d");
	snprintf(want, sizeof(want), "tls.ca_dir %s: no such directory",
		 o.ca_dir);
	expect_ctx_error(0, &o, want);
	o.ca_dir = P("ca.pem");
	snprintf(want, sizeof(want), "tls.ca_dir %s: not a directory",
		 o.ca_dir);
	expect_ctx_error(0, &o, want);

	/* A key that is not the certificate's. */
	o = server_opts("server");
	o.key = P("client.key");
	snprintf(want, sizeof(want), "tls.cert %s and tls.key %s do not match",
		 o.cert, o.key);
	expect_ctx_error(0, &o, want);
	expect_ctx_error(1, &o, want);

	o = server_opts("server");
	o.cert = P("missing.pem");
	snprintf(want, sizeof(want), "tls.cert %s: no such file", o.cert);
	expect_ctx_error(1, &o, want);
	o = server_opts("server");
	o.key = P("missing.key");
	snprintf(want, sizeof(want), "tls.key %s: no such file", o.key);
	expect_ctx_error(1, &o, want);
	o.key = certdir;
	snprintf(want, sizeof(want), "tls.key %s: is a directory, not a file",
		 o.key);
	expect_ctx_error(1, &o, want);

	/* Files of the wrong kind. */
	o = server_opts("server");
	o.cert = P("openssl.log");
	snprintf(want, sizeof(want),
		 "tls.cert %s: no PEM data found (no -----BEGIN line)", o.cert);
	expect_ctx_error(1, &o, want);
	o = server_opts("server");
	o.key = P("server.pem");
	snprintf(want, sizeof(want),
		 "tls.key %s: no private key found (not a PEM key?)", o.key);
	expect_ctx_error(1, &o, want);

	/* An encrypted key fails instead of asking for a passphrase. */
	snprintf(cmd, sizeof(cmd),
		 "openssl pkey -in '%s' -aes256 -passout pass:secret -out "
		 "'%s' 2>/dev/null",
		 P("server.key"), P("encrypted.key"));
	assert_int_equal(system(cmd), 0);
	o = server_opts("server");
	o.key = P("encrypted.key");
	snprintf(want, sizeof(want),
		 "tls.key %s: encrypted keys are not supported (remove the "
		 "passphrase)",
		 o.key);
	expect_ctx_error(1, &o, want);

	o = server_opts("client");
	o.key = NULL;
	snprintf(want, sizeof(want), "tls.cert %s is set but tls.key is not",
		 o.cert);
	expect_ctx_error(0, &o, want);

	/* Ciphers. */
	o = client_opts();
	o.ciphers = "NOPE";
	expect_ctx_error(0, &o,
			 "tls.ciphers \"NOPE\": no TLS 1.2 cipher matches "
			 "this list");
	o = client_opts();
	o.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_512_NOPE";
	expect_ctx_error(0, &o,
			 "tls.ciphersuites "
			 "\"TLS_AES_128_GCM_SHA256:TLS_AES_512_NOPE\": unknown "
			 "TLS 1.3 suite \"TLS_AES_512_NOPE\"");
	o.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";
	o.ciphers = "ECDHE+AESGCM";
	ctx = ttlog__tls_client_ctx(&o, err, sizeof(err));
	assert_non_null(ctx);
	SSL_CTX_free(ctx);

	/* Server requirements. */
	o = client_opts();
	expect_ctx_error(1, &o, "a TLS server needs tls.cert and tls.key");
	o = server_opts("server");
	o.client_auth = TTLOG_TLS_CLIENT_REQUIRED;
	expect_ctx_error(1, &o,
			 "tls.client_auth required needs tls.ca_file or "
			 "tls.ca_dir (the CA that signs client certificates)");
	o.client_auth = 7;
	expect_ctx_error(1, &o,
			 "tls.client_auth: must be none, optional or required");
	o = server_opts("server");
	o.min_version = 9;
	expect_ctx_error(1, &o, "tls.min_version: must be 1.2 or 1.3");

	/* A client connection needs a name to check. */
	o = client_opts();
	ctx = client_ctx(&o);
	assert_null(ttlog__tls_client_ssl(ctx, &o, "", err, sizeof(err)));
	print_message("    ssl    %s\n", err);
	SSL_CTX_free(ctx);
}

/* ------------------------------------------------------------------ */
/* Through libevent                                                     */
/* ------------------------------------------------------------------ */

#define HELLO "hello over TLS"

struct ev_end {
	struct bufferevent *bev;
	int connected, failed, closed;
	unsigned long codes[8];
	size_t ncodes;
	const char *reason;
	char why[512];
	char got[64];
	size_t ngot;
};

struct ev_test {
	struct event_base *base;
	SSL_CTX *sctx;
	int lfd;
	struct event *accept_ev;
	struct ev_end c, s;
};

static void ev_maybe_done(struct ev_test *t)
{
	int c_done = t->c.failed || t->c.closed || t->c.ngot >= strlen(HELLO);
	int s_done = t->s.failed || t->s.closed ||
		     (t->s.bev != NULL && t->c.ngot >= strlen(HELLO));

	if (c_done && s_done)
		event_base_loopbreak(t->base);
}

static void ev_read(struct bufferevent *bev, void *arg)
{
	struct ev_test *t = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (bev == t->s.bev) {
		/* The server echoes. */
		bufferevent_write_buffer(bev, in);
		return;
	}
	t->c.ngot += (size_t)evbuffer_remove(in, t->c.got + t->c.ngot,
					     sizeof(t->c.got) - 1 - t->c.ngot);
	ev_maybe_done(t);
}

static void ev_event(struct bufferevent *bev, short what, void *arg)
{
	struct ev_test *t = arg;
	struct ev_end *e = bev == t->c.bev ? &t->c : &t->s;

	if (what & BEV_EVENT_CONNECTED) {
		e->connected = 1;
		if (e == &t->c)
			bufferevent_write(bev, HELLO, strlen(HELLO));
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		/* As the callers do it: libevent has moved OpenSSL's errors
		 * into its own list. */
		unsigned long c;
		assert_int_equal(ERR_peek_error(), 0);
		while ((c = bufferevent_get_openssl_error(bev)) != 0)
			if (e->ncodes < 8)
				e->codes[e->ncodes++] = c;
		e->reason = ttlog__tls_describe_codes(
			bufferevent_openssl_get_ssl(bev), e->codes, e->ncodes,
			e->why, sizeof(e->why));
		e->failed = 1;
	} else if (what & BEV_EVENT_EOF) {
		e->closed = 1;
	}
	ev_maybe_done(t);
}

static void ev_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct ev_test *t = arg;
	int fd = accept(lfd, NULL, NULL);
	SSL *ssl;
	(void)what;

	assert_true(fd >= 0);
	assert_int_equal(evutil_make_socket_nonblocking(fd), 0);
	ssl = SSL_new(t->sctx);
	assert_non_null(ssl);
	t->s.bev = bufferevent_openssl_socket_new(
		t->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	assert_non_null(t->s.bev);
	bufferevent_setcb(t->s.bev, ev_read, NULL, ev_event, t);
	bufferevent_enable(t->s.bev, EV_READ | EV_WRITE);
}

/* One connection from a client made by this module to a server presenting
 * `cert`, both as bufferevents on one event_base. */
static void ev_run(struct ev_test *t, const char *cert)
{
	struct ttlog__tls_opts co = client_opts(), so = server_opts(cert);
	struct timeval limit = {20, 0};
	struct sockaddr_in a;
	SSL_CTX *cctx = client_ctx(&co);
	char err[256];
	SSL *ssl;

	memset(t, 0, sizeof(*t));
	t->base = event_base_new();
	assert_non_null(t->base);
	t->sctx = server_ctx(&so);
	t->lfd = listen_loopback(&a);
	t->accept_ev = event_new(t->base, t->lfd, EV_READ, ev_accept, t);
	assert_non_null(t->accept_ev);
	assert_int_equal(event_add(t->accept_ev, NULL), 0);

	ssl = ttlog__tls_client_ssl(cctx, &co, "localhost", err, sizeof(err));
	assert_non_null(ssl);
	SSL_CTX_free(cctx); /* the SSL keeps its context */
	t->c.bev = bufferevent_openssl_socket_new(
		t->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	assert_non_null(t->c.bev);
	bufferevent_setcb(t->c.bev, ev_read, NULL, ev_event, t);
	bufferevent_enable(t->c.bev, EV_READ | EV_WRITE);
	assert_int_equal(bufferevent_socket_connect(
				 t->c.bev, (struct sockaddr *)&a, sizeof(a)),
			 0);
	/* A limit in case of a hang, not a wait: the loop breaks as soon as
	 * both ends are done. */
	assert_int_equal(event_base_loopexit(t->base, &limit), 0);
	assert_int_equal(event_base_dispatch(t->base), 0);
	if (!event_base_got_break(t->base))
		fail_msg("the bufferevents did not finish");
}

static void ev_free(struct ev_test *t)
{
	if (t->c.bev != NULL)
		bufferevent_free(t->c.bev);
	if (t->s.bev != NULL)
		bufferevent_free(t->s.bev);
	event_free(t->accept_ev);
	close(t->lfd);
	event_base_free(t->base);
	SSL_CTX_free(t->sctx);
}

static void test_libevent_bufferevents(void **state)
{
	struct ev_test t;
	char why[512];
	(void)state;

	/* A good server: connected, and the bytes come back. */
	ev_run(&t, "server");
	assert_true(t.c.connected);
	assert_false(t.c.failed);
	assert_int_equal(t.c.ngot, strlen(HELLO));
	assert_memory_equal(t.c.got, HELLO, strlen(HELLO));
	assert_int_equal(SSL_version(bufferevent_openssl_get_ssl(t.c.bev)),
			 TLS1_3_VERSION);
	ev_free(&t);

	/* A server whose CA is not trusted: BEV_EVENT_ERROR on both ends,
	 * and the same words as on a bare SSL. */
	ev_run(&t, "stranger");
	assert_false(t.c.connected);
	assert_true(t.c.failed);
	print_message("    client %-16s %s (%zu codes from libevent)\n",
		      t.c.reason, t.c.why, t.c.ncodes);
	assert_string_equal(t.c.reason, "unknown_ca");
	assert_non_null(strstr(t.c.why, "certificate verify failed: unable to "
					"get local issuer certificate"));
	assert_true(t.s.failed);
	print_message("    server %-16s %s (%zu codes from libevent)\n",
		      t.s.reason, t.s.why, t.s.ncodes);
	assert_string_equal(t.s.reason, "unknown_ca");
	assert_non_null(strstr(t.s.why, "unknown CA alert"));
	/* The first code libevent gives is enough. */
	assert_string_equal(
		ttlog__tls_describe_code(bufferevent_openssl_get_ssl(t.s.bev),
					 t.s.codes[0], why, sizeof(why)),
		"unknown_ca");
	assert_string_equal(why, t.s.why);
	assert_string_equal(
		ttlog__tls_describe_code(bufferevent_openssl_get_ssl(t.c.bev),
					 t.c.codes[0], why, sizeof(why)),
		"unknown_ca");
	assert_string_equal(why, t.c.why);
	/* Without the codes, the client's verify result still tells. */
	assert_string_equal(
		ttlog__tls_describe(bufferevent_openssl_get_ssl(t.c.bev), why,
				    sizeof(why)),
		"unknown_ca");
	assert_string_equal(why, t.c.why);
	ev_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_server_by_name_and_address),
		cmocka_unit_test(test_wrong_host_name),
		cmocka_unit_test(test_unknown_ca),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_mutual_tls),
		cmocka_unit_test(test_missing_client_cert_when_required),
		cmocka_unit_test(test_optional_client_cert),
		cmocka_unit_test(test_client_cert_of_unknown_ca),
		cmocka_unit_test(test_plaintext_is_not_tls),
		cmocka_unit_test(test_tls10_peer_is_refused),
		cmocka_unit_test(test_min_13_against_a_12_server),
		cmocka_unit_test(test_pins),
		cmocka_unit_test(test_verify_off),
		cmocka_unit_test(test_describe_without_ssl),
		cmocka_unit_test(test_bad_settings_name_option_and_file),
		cmocka_unit_test(test_libevent_bufferevents),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
