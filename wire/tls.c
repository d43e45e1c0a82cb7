/*
 * tls.c - OpenSSL contexts and connections for the forward plugin and the
 * agent's `ttlog` input, certificate pins, and failures put into words.
 * See tls.h.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* stat, access, inet_pton */
#endif
#include "errf.h"
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */
/* ------------------------------------------------------------------ */

static const char *errno_words(int e, int dir)
{
	switch (e) {
	case ENOENT:
		return dir ? "no such directory" : "no such file";
	case EACCES:
		return "permission denied";
	case ENOTDIR:
		return "a component of the path is not a directory";
	default:
		return strerror(e);
	}
}

/* Why path cannot be read as a file (dir == 0) or searched as a directory
 * (dir == 1); NULL when it can. Checked before OpenSSL is asked, whose
 * own messages for a missing file are less direct. */
static const char *path_problem(const char *path, int dir)
{
	struct stat st;
	FILE *f;

	if (stat(path, &st) != 0)
		return errno_words(errno, dir);
	if (dir) {
		if (!S_ISDIR(st.st_mode))
			return "not a directory";
		if (access(path, R_OK | X_OK) != 0)
			return errno_words(errno, dir);
		return NULL;
	}
	if (S_ISDIR(st.st_mode))
		return "is a directory, not a file";
	f = fopen(path, "r");
	if (f == NULL)
		return errno_words(errno, dir);
	fclose(f);
	return NULL;
}

/* Empties OpenSSL's error queue; reports whether a key/certificate
 * mismatch was among the errors, and puts the cause into words: the
 * earliest error (the deepest), unless a telling one is further up. `key`:
 * the file was to hold a private key. */
static int drain_words(char *words, size_t len, int key)
{
	unsigned long e, first = 0;
	int mismatch = 0, encrypted = 0;
	const char *r;

	while ((e = ERR_get_error()) != 0) {
		int lib = ERR_GET_LIB(e), reason = ERR_GET_REASON(e);
		if (first == 0)
			first = e;
		if (lib == ERR_LIB_X509 &&
		    (reason == X509_R_KEY_VALUES_MISMATCH ||
		     reason == X509_R_KEY_TYPE_MISMATCH))
			mismatch = 1;
		if (lib == ERR_LIB_PEM && (reason == PEM_R_BAD_PASSWORD_READ ||
					   reason == PEM_R_BAD_DECRYPT))
			encrypted = 1;
	}
	if (first == 0) {
		ttlog__errf(words, len, "cannot be loaded");
	} else if (encrypted) {
		ttlog__errf(words, len,
			    "encrypted keys are not supported (remove the "
			    "passphrase)");
	} else if (ERR_GET_LIB(first) == ERR_LIB_PEM &&
		   ERR_GET_REASON(first) == PEM_R_NO_START_LINE) {
		ttlog__errf(words, len,
			    "no PEM data found (no -----BEGIN line)");
	} else if (key && ERR_GET_LIB(first) == ERR_LIB_OSSL_DECODER) {
		ttlog__errf(words, len,
			    "no private key found (not a PEM key?)");
	} else if (ERR_GET_LIB(first) == ERR_LIB_X509 &&
		   ERR_GET_REASON(first) ==
			   X509_R_NO_CERTIFICATE_OR_CRL_FOUND) {
		ttlog__errf(words, len, "no PEM certificate found");
	} else if ((r = ERR_reason_error_string(first)) != NULL) {
		ttlog__errf(words, len, "%s", r);
	} else {
		ttlog__errf(words, len, "OpenSSL error %#lx", first);
	}
	return mismatch;
}

/* The password callback: a daemon has nobody to ask, so an encrypted key
 * fails to load instead of waiting on a terminal. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static const char *version_name(int v)
{
	switch (v) {
	case SSL3_VERSION:
		return "SSL 3.0";
	case TLS1_VERSION:
		return "TLS 1.0";
	case TLS1_1_VERSION:
		return "TLS 1.1";
	case TLS1_2_VERSION:
		return "TLS 1.2";
	case TLS1_3_VERSION:
	case 0: /* no upper limit: the newest this OpenSSL has */
		return "TLS 1.3";
	default:
		return "an unknown version";
	}
}

/* ------------------------------------------------------------------ */
/* Contexts                                                             */
/* ------------------------------------------------------------------ */

static int load_ca(SSL_CTX *ctx, const struct ttlog__tls_opts *o,
		   int use_default, char *err, size_t errlen)
{
	char words[200];
	const char *why;

	if (o->ca_file != NULL) {
		if ((why = path_problem(o->ca_file, 0)) != NULL) {
			ttlog__errf(err, errlen, "tls.ca_file %s: %s",
				    o->ca_file, why);
			return -1;
		}
		if (SSL_CTX_load_verify_file(ctx, o->ca_file) != 1) {
			drain_words(words, sizeof(words), 0);
			ttlog__errf(err, errlen, "tls.ca_file %s: %s",
				    o->ca_file, words);
			return -1;
		}
	}
	if (o->ca_dir != NULL) {
		if ((why = path_problem(o->ca_dir, 1)) != NULL) {
			ttlog__errf(err, errlen, "tls.ca_dir %s: %s", o->ca_dir,
				    why);
			return -1;
		}
		if (SSL_CTX_load_verify_dir(ctx, o->ca_dir) != 1) {
			drain_words(words, sizeof(words), 0);
			ttlog__errf(err, errlen, "tls.ca_dir %s: %s", o->ca_dir,
				    words);
			return -1;
		}
	}
	if (o->ca_file == NULL && o->ca_dir == NULL && use_default &&
	    SSL_CTX_set_default_verify_paths(ctx) != 1) {
		drain_words(words, sizeof(words), 0);
		ttlog__errf(err, errlen,
			    "cannot use the system's trust store: %s", words);
		return -1;
	}
	return 0;
}

static int load_cert_key(SSL_CTX *ctx, const struct ttlog__tls_opts *o,
			 char *err, size_t errlen)
{
	char words[200];
	const char *why;

	if (o->cert == NULL && o->key == NULL)
		return 0;
	if (o->cert == NULL) {
		ttlog__errf(err, errlen,
			    "tls.key %s is set but tls.cert is not", o->key);
		return -1;
	}
	if (o->key == NULL) {
		ttlog__errf(err, errlen,
			    "tls.cert %s is set but tls.key is not", o->cert);
		return -1;
	}
	if ((why = path_problem(o->cert, 0)) != NULL) {
		ttlog__errf(err, errlen, "tls.cert %s: %s", o->cert, why);
		return -1;
	}
	if ((why = path_problem(o->key, 0)) != NULL) {
		ttlog__errf(err, errlen, "tls.key %s: %s", o->key, why);
		return -1;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
		drain_words(words, sizeof(words), 0);
		ttlog__errf(err, errlen, "tls.cert %s: %s", o->cert, words);
		return -1;
	}
	/* OpenSSL compares a key with the certificate already loaded for its
	 * type; a key of another type passes that and is caught below. */
	if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1) {
		if (drain_words(words, sizeof(words), 1))
			goto mismatch;
		ttlog__errf(err, errlen, "tls.key %s: %s", o->key, words);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		drain_words(words, sizeof(words), 0);
		goto mismatch;
	}
	return 0;
mismatch:
	ttlog__errf(err, errlen, "tls.cert %s and tls.key %s do not match",
		    o->cert, o->key);
	return -1;
}

/* Whether the context offers a TLS 1.3 suite of this name. */
static int has_suite(SSL_CTX *ctx, const char *name, size_t len)
{
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);

	for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
		const char *n = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(sk, i));
		if (strlen(n) == len && strncmp(n, name, len) == 0)
			return 1;
	}
	return 0;
}

static int set_ciphers(SSL_CTX *ctx, const struct ttlog__tls_opts *o, char *err,
		       size_t errlen)
{
	if (o->ciphers != NULL &&
	    SSL_CTX_set_cipher_list(ctx, o->ciphers) != 1) {
		ERR_clear_error();
		ttlog__errf(err, errlen,
			    "tls.ciphers \"%s\": no TLS 1.2 cipher matches "
			    "this list",
			    o->ciphers);
		return -1;
	}
	if (o->ciphersuites == NULL)
		return 0;
	if (SSL_CTX_set_ciphersuites(ctx, o->ciphersuites) != 1) {
		ERR_clear_error();
		ttlog__errf(
			err, errlen,
			"tls.ciphersuites \"%s\": not a list of TLS 1.3 suites",
			o->ciphersuites);
		return -1;
	}
	/* OpenSSL skips names it does not know; a typo would silently leave
	 * fewer suites (or none), so every name must have been taken. */
	for (const char *s = o->ciphersuites; *s != '\0';) {
		size_t n = strcspn(s, ":");
		if (n > 0 && !has_suite(ctx, s, n)) {
			ttlog__errf(err, errlen,
				    "tls.ciphersuites \"%s\": unknown TLS 1.3 "
				    "suite "
				    "\"%.*s\"",
				    o->ciphersuites, (int)n, s);
			return -1;
		}
		s += n;
		if (*s == ':')
			s++;
	}
	return 0;
}

/* What clients and servers share: method, versions, options, the CA,
 * the certificate and the ciphers. */
static SSL_CTX *ctx_common(const SSL_METHOD *method,
			   const struct ttlog__tls_opts *o, int default_ca,
			   char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int min;

	if (o->min_version == TTLOG_TLS_1_2) {
		min = TLS1_2_VERSION;
	} else if (o->min_version == TTLOG_TLS_1_3) {
		min = TLS1_3_VERSION;
	} else {
		ttlog__errf(err, errlen, "tls.min_version: must be 1.2 or 1.3");
		return NULL;
	}
	ERR_clear_error();
	ctx = SSL_CTX_new(method);
	if (ctx == NULL) {
		char words[200];
		drain_words(words, sizeof(words), 0);
		ttlog__errf(err, errlen, "cannot make a TLS context: %s",
			    words);
		return NULL;
	}
	/* No upper bound: OpenSSL then negotiates TLS 1.3 when both ends
	 * have it. */
	if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, 0) != 1) {
		ERR_clear_error();
		ttlog__errf(err, errlen,
			    "tls.min_version: not supported by OpenSSL");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx,
			    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_default_passwd_cb(ctx, no_password);
	if (load_ca(ctx, o, default_ca, err, errlen) != 0 ||
	    load_cert_key(ctx, o, err, errlen) != 0 ||
	    set_ciphers(ctx, o, err, errlen) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL_CTX *ttlog__tls_client_ctx(const struct ttlog__tls_opts *o, char *err,
			       size_t errlen)
{
	SSL_CTX *ctx =
		ctx_common(TLS_client_method(), o, o->verify != 0, err, errlen);

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, o->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
			   NULL);
	return ctx;
}

SSL_CTX *ttlog__tls_server_ctx(const struct ttlog__tls_opts *o, char *err,
			       size_t errlen)
{
	static const unsigned char sid_ctx[] = "ttlog";
	SSL_CTX *ctx;
	int mode;

	if (o->cert == NULL || o->key == NULL) {
		ttlog__errf(err, errlen,
			    "a TLS server needs tls.cert and tls.key");
		return NULL;
	}
	switch (o->client_auth) {
	case TTLOG_TLS_CLIENT_NONE:
		mode = SSL_VERIFY_NONE;
		break;
	case TTLOG_TLS_CLIENT_OPTIONAL:
		mode = SSL_VERIFY_PEER;
		break;
	case TTLOG_TLS_CLIENT_REQUIRED:
		mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		break;
	default:
		ttlog__errf(
			err, errlen,
			"tls.client_auth: must be none, optional or required");
		return NULL;
	}
	if (mode != SSL_VERIFY_NONE && o->ca_file == NULL &&
	    o->ca_dir == NULL) {
		ttlog__errf(err, errlen,
			    "tls.client_auth %s needs tls.ca_file or "
			    "tls.ca_dir (the "
			    "CA that signs client certificates)",
			    o->client_auth == TTLOG_TLS_CLIENT_REQUIRED
				    ? "required"
				    : "optional");
		return NULL;
	}
	ctx = ctx_common(TLS_server_method(), o, 0, err, errlen);
	if (ctx == NULL)
		return NULL;
	/* Without a session id context, resuming a session of a verified
	 * client fails; any fixed name will do. */
	if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1) !=
	    1) {
		ERR_clear_error();
		ttlog__errf(err, errlen,
			    "cannot set the TLS session id context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, mode, NULL);
	if (mode != SSL_VERIFY_NONE && o->ca_file != NULL) {
		/* The CA names a client is told to pick its certificate by. */
		STACK_OF(X509_NAME) *names =
			SSL_load_client_CA_file(o->ca_file);
		if (names == NULL) {
			ERR_clear_error();
			ttlog__errf(err, errlen,
				    "tls.ca_file %s: no CA certificate found "
				    "for the "
				    "client CA list",
				    o->ca_file);
			SSL_CTX_free(ctx);
			return NULL;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	return ctx;
}

/* ------------------------------------------------------------------ */
/* Client connections                                                   */
/* ------------------------------------------------------------------ */

SSL *ttlog__tls_client_ssl(SSL_CTX *ctx, const struct ttlog__tls_opts *o,
			   const char *host, char *err, size_t errlen)
{
	char name[256];
	unsigned char addr[16];
	size_t n;
	int ip;
	SSL *ssl;

	if (host == NULL || host[0] == '\0') {
		ttlog__errf(err, errlen,
			    "no host name to check the certificate for");
		return NULL;
	}
	n = strlen(host);
	/* "[::1]" as written in a URL; "example.com." as fully qualified. */
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		host++;
		n -= 2;
	} else if (n > 1 && host[n - 1] == '.') {
		n--;
	}
	if (n >= sizeof(name)) {
		ttlog__errf(err, errlen, "host name too long: %.64s...", host);
		return NULL;
	}
	memcpy(name, host, n);
	name[n] = '\0';
	ip = inet_pton(AF_INET, name, addr) == 1 ||
	     inet_pton(AF_INET6, name, addr) == 1;

	ERR_clear_error();
	ssl = SSL_new(ctx);
	if (ssl == NULL) {
		ERR_clear_error();
		ttlog__errf(err, errlen,
			    "cannot make a TLS connection: out of memory");
		return NULL;
	}
	SSL_set_connect_state(ssl);
	/* SNI carries names only; an address is never sent. */
	if (!ip && SSL_set_tlsext_host_name(ssl, name) != 1)
		goto bad;
	if (o->verify) {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
						       name) != 1
		       : SSL_set1_host(ssl, name) != 1)
			goto bad;
	}
	return ssl;
bad:
	ERR_clear_error();
	SSL_free(ssl);
	ttlog__errf(err, errlen, "\"%s\" cannot be used as a TLS server name",
		    name);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Pins                                                                 */
/* ------------------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 32 bytes as 64 hex digits, or 32 pairs with ':' between them (or any
 * mix: a ':' may only sit between two bytes). */
static int parse_pin(const char *s, uint8_t out[32])
{
	size_t n = 0;

	while (*s != '\0') {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
		if (n == 32 || lo < 0)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (*s == ':' && *++s == '\0')
			return -1;
	}
	return n == 32 ? 0 : -1;
}

int ttlog__tls_parse_pins(const struct ttlog__tls_opts *o,
			  uint8_t out[TTLOG_TLS_MAX_PINS][32], char *err,
			  size_t errlen)
{
	if (o->npins > TTLOG_TLS_MAX_PINS) {
		ttlog__errf(err, errlen, "tls.pin: at most %d fingerprints",
			    TTLOG_TLS_MAX_PINS);
		return -1;
	}
	for (size_t i = 0; i < o->npins; i++) {
		if (o->pins[i] == NULL || parse_pin(o->pins[i], out[i]) != 0) {
			ttlog__errf(err, errlen,
				    "tls.pin \"%.120s\": not a SHA-256 "
				    "fingerprint (64 "
				    "hex digits, optionally with ':' between "
				    "bytes)",
				    o->pins[i] ? o->pins[i] : "");
			return -1;
		}
	}
	return (int)o->npins;
}

int ttlog__tls_check_pins(SSL *ssl, const uint8_t pins[][32], size_t npins,
			  char *err, size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[32 * 3];
	X509 *x;

	if (npins == 0)
		return 0;
	x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	if (x == NULL) {
		ttlog__errf(
			err, errlen,
			"the peer presented no certificate to check tls.pin "
			"against");
		return -1;
	}
	if (X509_digest(x, EVP_sha256(), md, &len) != 1 || len != 32) {
		ERR_clear_error();
		ttlog__errf(err, errlen,
			    "cannot compute the certificate's SHA-256");
		return -1;
	}
	for (size_t i = 0; i < npins; i++)
		if (memcmp(pins[i], md, 32) == 0)
			return 0;
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + i * 3, 4, "%02X%s", md[i], i < 31 ? ":" : "");
	ttlog__errf(err, errlen,
		    "certificate fingerprint SHA-256 %s matches no tls.pin",
		    hex);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Describing failures                                                  */
/* ------------------------------------------------------------------ */

/* What an error code is about, from the least to the most telling; the
 * most telling one of a connection's codes is described. */
enum kind {
	K_NONE = 0,
	K_SYSTEM,	 /* errno from the socket */
	K_GENERIC,	 /* any other OpenSSL error */
	K_EOF,		 /* the peer closed without a word */
	K_NO_SHARED,	 /* nothing in common but the version */
	K_HS_FAILURE,	 /* handshake_failure alert */
	K_PROTO_LOCAL,	 /* this side refused the peer's versions */
	K_PROTO_ALERT,	 /* the peer refused this side's versions */
	K_NOT_TLS,	 /* record that is not TLS */
	K_HTTP,		 /* an HTTP request */
	K_PROXY,	 /* an HTTP CONNECT */
	K_PEER_CERT_REQ, /* the server wanted a certificate, got none */
	K_NO_PEER_CERT,	 /* this server wanted one, got none */
	K_REFUSED_OURS,	 /* the peer's alert about this side's cert */
	K_VERIFY,	 /* this side could not verify the peer's cert */
};

static enum kind classify(unsigned long e)
{
	if (e == 0)
		return K_NONE;
	if (ERR_SYSTEM_ERROR(e))
		return ERR_GET_REASON(e) != 0 ? K_SYSTEM : K_NONE;
	/* libevent's list also holds the SSL_get_error() value (a small
	 * number, library 0): not an OpenSSL error code. */
	if (ERR_GET_LIB(e) == 0)
		return K_NONE;
	if (ERR_GET_LIB(e) != ERR_LIB_SSL)
		return K_GENERIC;
	switch (ERR_GET_REASON(e)) {
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
		return K_VERIFY;
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
		return K_NO_PEER_CERT;
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
	case SSL_R_SSLV3_ALERT_NO_CERTIFICATE:
		return K_PEER_CERT_REQ;
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
		return K_REFUSED_OURS;
	case SSL_R_HTTP_REQUEST:
		return K_HTTP;
	case SSL_R_HTTPS_PROXY_REQUEST:
		return K_PROXY;
	case SSL_R_WRONG_VERSION_NUMBER:
		return K_NOT_TLS;
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_TLSV1_ALERT_INAPPROPRIATE_FALLBACK:
		return K_PROTO_ALERT;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_UNSUPPORTED_SSL_VERSION:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
		return K_PROTO_LOCAL;
	case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
		return K_HS_FAILURE;
	case SSL_R_NO_SHARED_CIPHER:
	case SSL_R_NO_CIPHERS_AVAILABLE:
		return K_NO_SHARED;
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		return K_EOF;
	default:
		return K_GENERIC;
	}
}

/* The peer's leaf certificate, also when verifying it failed (OpenSSL
 * then keeps only the chain as received, and only on a client). */
static X509 *peer_leaf(SSL *ssl)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	STACK_OF(X509) * chain;

	if (x == NULL && !SSL_is_server(ssl) &&
	    (chain = SSL_get_peer_cert_chain(ssl)) != NULL &&
	    sk_X509_num(chain) > 0)
		x = sk_X509_value(chain, 0);
	return x;
}

/* The names a certificate is valid for, as "a, b, c" (its DNS names and
 * addresses, else its CN). */
static void cert_names(X509 *x, char *out, size_t outlen)
{
	GENERAL_NAMES *gens =
		X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char one[INET6_ADDRSTRLEN + 1];
		const ASN1_OCTET_STRING *ip;

		if (g->type == GEN_DNS) {
			snprintf(one, sizeof(one), "%.*s",
				 ASN1_STRING_length(g->d.dNSName),
				 (const char *)ASN1_STRING_get0_data(
					 g->d.dNSName));
		} else if (g->type == GEN_IPADD) {
			ip = g->d.iPAddress;
			if (inet_ntop(ASN1_STRING_length(ip) == 4 ? AF_INET
								  : AF_INET6,
				      ASN1_STRING_get0_data(ip), one,
				      sizeof(one)) == NULL)
				continue;
		} else {
			continue;
		}
		if (used < outlen)
			used += (size_t)snprintf(out + used, outlen - used,
						 "%s%s", used ? ", " : "", one);
	}
	GENERAL_NAMES_free(gens);
	if (out[0] == '\0')
		X509_NAME_get_text_by_NID(X509_get_subject_name(x),
					  NID_commonName, out, (int)outlen);
	if (out[0] == '\0')
		snprintf(out, outlen, "no name");
}

static const char *describe_verify(SSL *ssl, char *out, size_t outlen)
{
	const char *what = ssl && SSL_is_server(ssl)
				   ? "client certificate verify failed"
				   : "certificate verify failed";
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	X509 *x = ssl ? peer_leaf(ssl) : NULL;
	char names[160], when[64] = "";

	switch (v) {
	case X509_V_OK:
		ttlog__errf(out, outlen, "%s", what);
		return "verify";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH: {
		X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
		char *ip = NULL;
		const char *want = X509_VERIFY_PARAM_get0_host(p, 0);
		if (want == NULL)
			want = ip = X509_VERIFY_PARAM_get1_ip_asc(p);
		if (x != NULL)
			cert_names(x, names, sizeof(names));
		ttlog__errf(out, outlen,
			    "%s: hostname mismatch (the certificate is not for "
			    "\"%s\"%s"
			    "%s)",
			    what, want ? want : "?", x ? "; it names " : "",
			    x ? names : "");
		OPENSSL_free(ip);
		return "hostname";
	}
	case X509_V_ERR_CERT_HAS_EXPIRED:
		if (x != NULL) {
			BIO *b = BIO_new(BIO_s_mem());
			int n;
			if (b != NULL &&
			    ASN1_TIME_print(b, X509_get0_notAfter(x)) == 1 &&
			    (n = BIO_read(b, when, (int)sizeof(when) - 1)) > 0)
				when[n] = '\0';
			BIO_free(b);
		}
		ttlog__errf(out, outlen, "%s: certificate has expired%s%s%s",
			    what, when[0] ? " (on " : "", when,
			    when[0] ? ")" : "");
		return "expired";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		ttlog__errf(
			out, outlen,
			"%s: %s (its CA is not trusted here: see tls.ca_file, "
			"tls.ca_dir)",
			what, X509_verify_cert_error_string(v));
		return "unknown_ca";
	default:
		ttlog__errf(out, outlen, "%s: %s", what,
			    X509_verify_cert_error_string(v));
		return "verify";
	}
}

/* An alert by which the peer refused this side's certificate. */
static const char *describe_refused(unsigned long e, char *out, size_t outlen)
{
	switch (ERR_GET_REASON(e)) {
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
		ttlog__errf(out, outlen,
			    "the peer does not trust the CA of this side's "
			    "certificate (unknown CA alert)");
		return "unknown_ca";
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
		ttlog__errf(
			out, outlen,
			"the peer refused this side's certificate as expired "
			"(certificate expired alert)");
		return "expired";
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
		ttlog__errf(
			out, outlen,
			"the peer refused this side's certificate (bad "
			"certificate alert: wrong name, or not valid yet?)");
		return "verify";
	default:
		ttlog__errf(out, outlen,
			    "the peer refused this side's certificate (%s)",
			    ERR_reason_error_string(e));
		return "verify";
	}
}

static const char *describe_proto_local(SSL *ssl, char *out, size_t outlen)
{
	int min = ssl ? SSL_get_min_proto_version(ssl) : 0;
	int peer = ssl && SSL_is_server(ssl) ? SSL_client_version(ssl) : 0;

	if (peer != 0 && min != 0 && peer < min)
		ttlog__errf(
			out, outlen,
			"unsupported protocol (peer offers only %s or older; "
			"this side needs %s or newer)",
			version_name(peer), version_name(min));
	else if (min != 0)
		ttlog__errf(out, outlen,
			    "unsupported protocol (no TLS version both sides "
			    "accept; "
			    "this side needs %s or newer)",
			    version_name(min));
	else
		ttlog__errf(out, outlen,
			    "unsupported protocol (peer offers only TLS 1.0?)");
	return "protocol_version";
}

static const char *describe_kind(SSL *ssl, enum kind k, unsigned long e,
				 char *out, size_t outlen)
{
	int server = ssl != NULL && SSL_is_server(ssl);
	const char *r;

	switch (k) {
	case K_VERIFY:
		return describe_verify(ssl, out, outlen);
	case K_NO_PEER_CERT:
		ttlog__errf(
			out, outlen,
			"peer did not return a certificate (tls.client_auth is "
			"required)");
		return "no_client_cert";
	case K_PEER_CERT_REQ:
		ttlog__errf(
			out, outlen,
			"the server requires a client certificate (certificate "
			"required alert): set tls.cert and tls.key");
		return "no_client_cert";
	case K_REFUSED_OURS:
		return describe_refused(e, out, outlen);
	case K_HTTP:
		ttlog__errf(out, outlen,
			    "plain HTTP request sent to a TLS port (not TLS)");
		return "not_tls";
	case K_PROXY:
		ttlog__errf(out, outlen,
			    "HTTP proxy CONNECT request sent to a TLS port "
			    "(not TLS)");
		return "not_tls";
	case K_NOT_TLS:
		ttlog__errf(
			out, outlen, "%s",
			server || ssl == NULL
				? "wrong version number (plaintext sent to a "
				  "TLS "
				  "port?)"
				: "wrong version number (the server does not "
				  "speak TLS on this port?)");
		return "not_tls";
	case K_PROTO_LOCAL:
		return describe_proto_local(ssl, out, outlen);
	case K_PROTO_ALERT: {
		int min = ssl ? SSL_get_min_proto_version(ssl) : 0;
		int max = ssl ? SSL_get_max_proto_version(ssl) : 0;
		if (ssl == NULL)
			ttlog__errf(out, outlen,
				    "the peer accepts none of the TLS versions "
				    "offered (protocol version alert)");
		else if (min == max || (max == 0 && min == TLS1_3_VERSION))
			ttlog__errf(
				out, outlen,
				"the peer does not accept %s, the only version "
				"offered (protocol version alert)",
				version_name(min));
		else
			ttlog__errf(out, outlen,
				    "the peer accepts none of %s to %s offered "
				    "here "
				    "(protocol version alert)",
				    version_name(min), version_name(max));
		return "protocol_version";
	}
	case K_HS_FAILURE:
		/* A TLS 1.2 server refuses a client without a certificate so;
		 * its certificate request left the CA names it accepts. */
		if (ssl != NULL && !server &&
		    SSL_get_certificate(ssl) == NULL &&
		    sk_X509_NAME_num(SSL_get_client_CA_list(ssl)) > 0) {
			ttlog__errf(
				out, outlen,
				"the server asked for a client certificate and "
				"refused the handshake without one (handshake "
				"failure alert): set tls.cert and tls.key");
			return "no_client_cert";
		}
		ttlog__errf(out, outlen,
			    "the peer refused the handshake (handshake failure "
			    "alert: "
			    "no cipher or key exchange in common?)");
		return "other";
	case K_NO_SHARED:
		ttlog__errf(
			out, outlen,
			"no cipher in common with the peer (see tls.ciphers, "
			"tls.ciphersuites)");
		return "other";
	case K_EOF:
		ttlog__errf(out, outlen, "%s",
			    ssl != NULL && !SSL_is_init_finished(ssl)
				    ? "the peer closed the connection during "
				      "the TLS "
				      "handshake"
				    : "the peer closed the connection without "
				      "a TLS "
				      "close_notify");
		return "other";
	case K_SYSTEM:
		ttlog__errf(out, outlen, "connection error: %s",
			    strerror(ERR_GET_REASON(e)));
		return "other";
	case K_GENERIC:
		r = ERR_reason_error_string(e);
		if (r != NULL)
			ttlog__errf(out, outlen, "TLS error: %s", r);
		else
			ttlog__errf(out, outlen, "TLS error %#lx", e);
		return "other";
	case K_NONE:
	default:
		ttlog__errf(out, outlen, "%s", "");
		return "other";
	}
}

const char *ttlog__tls_describe_codes(SSL *ssl, const unsigned long *codes,
				      size_t ncodes, char *out, size_t outlen)
{
	enum kind best = K_NONE;
	unsigned long best_e = 0, e;

	for (size_t i = 0; i < ncodes; i++) {
		enum kind k = classify(codes[i]);
		if (k > best) {
			best = k;
			best_e = codes[i];
		}
	}
	while ((e = ERR_get_error()) != 0) {
		enum kind k = classify(e);
		if (k > best) {
			best = k;
			best_e = e;
		}
	}
	/* Nothing decisive in the codes (libevent keeps only a few), but
	 * with verification on, a failed verification always ends the
	 * handshake: it is the cause. */
	if (best <= K_EOF && ssl != NULL &&
	    (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0 &&
	    SSL_get_verify_result(ssl) != X509_V_OK)
		best = K_VERIFY;
	return describe_kind(ssl, best, best_e, out, outlen);
}

const char *ttlog__tls_describe_code(SSL *ssl, unsigned long code, char *out,
				     size_t outlen)
{
	return ttlog__tls_describe_codes(ssl, &code, 1, out, outlen);
}

const char *ttlog__tls_describe(SSL *ssl, char *out, size_t outlen)
{
	return ttlog__tls_describe_codes(ssl, NULL, 0, out, outlen);
}
