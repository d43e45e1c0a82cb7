/*
 * tls_describe.c - why a TLS connection failed, in a sentence a user can
 * act on and a short reason for a metric label, from the SSL's verify
 * result and OpenSSL's (or libevent's list of) error codes. See tls.h.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* inet_ntop */
#endif
#include "errf.h"
#include "tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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
