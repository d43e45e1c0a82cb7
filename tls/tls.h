/*
 * tls.h - OpenSSL set-up shared by the forward plugin (client) and the
 * agent's inputs on tls:// (server): contexts with safe defaults, host-name
 * verification with SNI, pinned certificate fingerprints, and errors
 * described in words a user can act on.
 *
 * The connections themselves are libevent bufferevent_openssl objects made
 * by the callers; this module only prepares SSL_CTX and SSL objects and
 * explains failures. The static library ttlog_tls: tls_ctx.c (contexts
 * from options), tls_verify.c (host names and pins), tls_describe.c
 * (failures in words).
 */
#ifndef TTLOG_TLS_H
#define TTLOG_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include <ttlog/listener.h>

enum ttlog__tls_version {
	TTLOG_TLS_1_2 = 0, /* option value "1.2" (the default) */
	TTLOG_TLS_1_3 = 1, /* "1.3" */
};

/* The values of the tls.min_version option, {NULL, 0} last, and its
 * default: one table for every owner of the option (the forward plugin,
 * the agent's inputs). Defined in tls_ctx.c. */
extern const struct ttlog_option_value ttlog__tls_versions[];
#define TTLOG_TLS_MIN_VERSION_DEFAULT "1.2"

/*
 * The tls.min_version entry of an option table: `offset` is offsetof() the
 * int field (an enum ttlog__tls_version) in the owner's options struct,
 * `help` the description --plugin-help prints, which says how the option
 * applies to its owner.
 */
#define TTLOG_TLS_MIN_VERSION_OPTION(offset, help)                             \
	{                                                                      \
		TTLOG_OPTION_ENUM_VALUES, "tls.min_version",                   \
			TTLOG_TLS_MIN_VERSION_DEFAULT, (offset), (help),       \
			TTLOG_OPTION_VALUES(ttlog__tls_versions), 0            \
	}

enum ttlog__tls_client_auth {
	TTLOG_TLS_CLIENT_NONE = 0,     /* server: do not ask */
	TTLOG_TLS_CLIENT_OPTIONAL = 1, /* ask, verify if sent */
	TTLOG_TLS_CLIENT_REQUIRED = 2, /* refuse a peer without one */
};

#define TTLOG_TLS_MAX_PINS 8

struct ttlog__tls_opts {
	const char *ca_file; /* PEM bundle; NULL: none */
	const char *ca_dir;  /* c_rehash directory; NULL: none */
	/* Neither set: the system's default trust store (client); a server
	 * that verifies clients needs one of them. */
	const char
		*cert;	 /* PEM chain: required for a server, client optional */
	const char *key; /* PEM private key for cert */
	int min_version; /* enum ttlog__tls_version */
	const char *ciphers;	  /* TLS 1.2 cipher list; NULL: OpenSSL's */
	const char *ciphersuites; /* TLS 1.3 suites; NULL: OpenSSL's */
	/* Client: verify the server's chain and name (default 1). Server:
	 * ignored, see client_auth. */
	int verify;
	int client_auth; /* server only: enum ttlog__tls_client_auth */
	/* Client: SHA-256 fingerprints of acceptable leaf certificates,
	 * as 64 hex digits, optionally with ':' between bytes; any match is
	 * accepted, in addition to (not instead of) verification. */
	const char *pins[TTLOG_TLS_MAX_PINS];
	size_t npins;
};

/*
 * Makes a context. Loads and checks every file now, so that a wrong path
 * or a key that does not match its certificate is reported at start,
 * naming the option and the file: "tls.key /etc/x.pem: no such file",
 * "tls.cert /a.pem and tls.key /b.pem do not match". Minimum version as
 * asked; TLS 1.3 preferred by OpenSSL's negotiation. Compression and
 * renegotiation off.
 * @return the context, or NULL with err.
 */
SSL_CTX *ttlog__tls_client_ctx(const struct ttlog__tls_opts *o, char *err,
			       size_t errlen);
SSL_CTX *ttlog__tls_server_ctx(const struct ttlog__tls_opts *o, char *err,
			       size_t errlen);

/*
 * A client SSL for one connection to `host`: SNI set (not for an IP
 * literal), and, when o->verify, the host name (or IP address) checked
 * against the certificate by OpenSSL during the handshake.
 * @return the SSL (owned by the caller, normally handed to
 *         bufferevent_openssl_socket_new) or NULL with err.
 */
SSL *ttlog__tls_client_ssl(SSL_CTX *ctx, const struct ttlog__tls_opts *o,
			   const char *host, char *err, size_t errlen);

/* Parses o->pins into 32-byte digests. Returns the count, or -1 with err
 * naming the bad pin. */
int ttlog__tls_parse_pins(const struct ttlog__tls_opts *o,
			  uint8_t out[TTLOG_TLS_MAX_PINS][32], char *err,
			  size_t errlen);

/* After the handshake: 0 when the peer's leaf certificate's SHA-256 is one
 * of pins (or npins == 0), else -1 with err giving the fingerprint seen. */
int ttlog__tls_check_pins(SSL *ssl, const uint8_t pins[][32], size_t npins,
			  char *err, size_t errlen);

/*
 * Describes why a TLS connection failed, for a log line and a counter:
 * fills out with a sentence ("certificate verify failed: certificate has
 * expired", "certificate verify failed: hostname mismatch", "peer did not
 * return a certificate", "unsupported protocol (peer offers only TLS 1.0?)",
 * "wrong version number (plaintext sent to a TLS port?)") from the SSL's
 * verify result and the OpenSSL error queue (which it empties).
 * ssl may be NULL.
 * @return a short stable reason for a metric label: "verify",
 *         "hostname", "expired", "unknown_ca", "no_client_cert",
 *         "protocol_version", "not_tls", "pin", or "other".
 */
const char *ttlog__tls_describe(SSL *ssl, char *out, size_t outlen);

/*
 * The same, for callers whose errors have already been taken off the queue:
 * a bufferevent_openssl moves them into its own list before it reports
 * BEV_EVENT_ERROR; pass what bufferevent_get_openssl_error() returns, one
 * code or all of them in any order (libevent's extra SSL_get_error() value
 * in that list is recognised and skipped). Anything still on OpenSSL's
 * queue is taken into account too, and the queue emptied. When nothing at
 * all is known (no code, no failed verification) the reason is "other" and
 * out is the empty string: the caller then has only the socket's errno.
 */
const char *ttlog__tls_describe_codes(SSL *ssl, const unsigned long *codes,
				      size_t ncodes, char *out, size_t outlen);
const char *ttlog__tls_describe_code(SSL *ssl, unsigned long code, char *out,
				     size_t outlen);

#endif /* TTLOG_TLS_H */
