/*
 * tls_verify.c - who the peer is: a client connection's SSL with SNI and
 * the host name (or address) its certificate must match, and the pinned
 * SHA-256 fingerprints checked after the handshake. See tls.h.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* inet_pton */
#endif
#include "errf.h"
#include "tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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
