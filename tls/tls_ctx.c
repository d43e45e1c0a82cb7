/*
 * tls_ctx.c - SSL_CTX objects for clients and servers made from the tls.*
 * options: the minimum version (and the one table of its values), the CA
 * files, the certificate and its key, the cipher lists. Every file is
 * checked here, so that a wrong path is reported at start. See tls.h.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* stat, access */
#endif
#include "errf.h"
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

const struct ttlog_option_value ttlog__tls_versions[] = {
	{"1.2", TTLOG_TLS_1_2}, {"1.3", TTLOG_TLS_1_3}, {NULL, 0}};

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
