/*
 * input_options.c - the option table of the agent's `inputs:` entries
 * (what `ttlog-agent --help` prints for inputs, and what a configuration
 * is checked against) and the names of the input types.
 */
#include <stddef.h>

#include <ttlog/ttlog.h>

#include "input_internal.h"
#include "registry_internal.h"
#include "tail_internal.h"
#include "tls.h"

#define OPT(field) offsetof(struct ttlog__input_opts, field)

const struct ttlog_option_value ttlog__input_types[] = {
	{"syslog", TTLOG__INPUT_SYSLOG}, {"jsonl", TTLOG__INPUT_JSONL},
	{"stdin", TTLOG__INPUT_STDIN},	 {"ttlog", TTLOG__INPUT_TTLOG},
	{"tail", TTLOG__INPUT_TAIL},	 {"journal", TTLOG__INPUT_JOURNAL},
	{"kafka", TTLOG__INPUT_KAFKA},	 {NULL, 0}};
static const struct ttlog_option_value input_start_ats[] = {
	{"beginning", TTLOG__START_AT_BEGINNING},
	{"end", TTLOG__START_AT_END},
	{NULL, 0}};
static const struct ttlog_option_value input_formats[] = {
	{"raw", TTLOG__INPUT_FMT_RAW},
	{"json", TTLOG__INPUT_FMT_JSON},
	{"syslog", TTLOG__INPUT_FMT_SYSLOG},
	{"auto", TTLOG__INPUT_FMT_AUTO},
	{"cbor", TTLOG__INPUT_FMT_CBOR},
	{"ttlog", TTLOG__INPUT_FMT_TTLOG},
	{NULL, 0}};
static const struct ttlog_option_value tail_watches[] = {
	{"auto", TTLOG__TAIL_AUTO},
	{"inotify", TTLOG__TAIL_INOTIFY},
	{"poll", TTLOG__TAIL_POLL},
	{NULL, 0}};
static const struct ttlog_option_value tail_conts[] = {
	{"indent", TTLOG__TAIL_CONT_INDENT},
	{"backslash", TTLOG__TAIL_CONT_BACKSLASH},
	{NULL, 0}};
static const struct ttlog_option_value input_client_auths[] = {
	{"none", TTLOG_TLS_CLIENT_NONE},
	{"optional", TTLOG_TLS_CLIENT_OPTIONAL},
	{"required", TTLOG_TLS_CLIENT_REQUIRED},
	{NULL, 0}};

static const struct ttlog_option_spec input_options[] = {
	{TTLOG_OPTION_STRING, "name", NULL, OPT(name),
	 "name of the input, in metrics and messages", NULL,
	 TTLOG_OPTION_REQUIRED},
	{TTLOG_OPTION_ENUM_VALUES, "type", NULL, OPT(type),
	 "what the input reads: syslog (RFC 5424/3164), jsonl (one JSON "
	 "object per line), stdin (one event per line), ttlog (the native "
	 "protocol of the forward listener, acknowledged), tail (files, "
	 "`paths`), journal (the systemd journal) or kafka (a consumer "
	 "group)",
	 TTLOG_OPTION_VALUES(ttlog__input_types), TTLOG_OPTION_REQUIRED},
	{TTLOG_OPTION_STRING, "listen", NULL, OPT(listen),
	 "tcp://HOST:PORT, tls://HOST:PORT (needs tls.cert and tls.key), "
	 "udp://HOST:PORT (syslog only), unix:///absolute/path (a stream "
	 "socket) or unixgram:///absolute/path (a datagram socket like "
	 "/dev/log; syslog only); required except for stdin",
	 NULL, 0},
	{TTLOG_OPTION_SIZE, "max_message", "64KiB", OPT(max_message),
	 "largest message accepted; a longer one is malformed", NULL, 0},
	{TTLOG_OPTION_INT, "max_connections", "1024", OPT(max_connections),
	 "open connections at most; more are refused (0: no limit). Unset: "
	 "1024, or less when the descriptors the agent may open "
	 "(RLIMIT_NOFILE) do not fit that",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "idle_timeout", "5m", OPT(idle_timeout_ms),
	 "a connection silent this long is closed (0: never)", NULL, 0},
	{TTLOG_OPTION_SIZE, "pause_backlog", "32MiB", OPT(pause_backlog),
	 "stop reading stream connections while a listener holds back more "
	 "than this (0: never)",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "tls.cert", NULL, OPT(tls_cert),
	 "tls://: the server certificate chain (PEM); kafka: the client's",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "tls.key", NULL, OPT(tls_key),
	 "tls://: the private key of tls.cert (PEM)", NULL, 0},
	{TTLOG_OPTION_STRING, "tls.ca_file", NULL, OPT(tls_ca_file),
	 "tls://: CA certificates that client certificates are verified "
	 "with",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "tls.ca_dir", NULL, OPT(tls_ca_dir),
	 "tls://: a directory of hashed CA certificates", NULL, 0},
	{TTLOG_OPTION_ENUM_VALUES, "tls.client_auth", "none",
	 OPT(tls_client_auth),
	 "tls://: ask senders for a certificate (optional) or refuse those "
	 "without a valid one (required: mutual TLS)",
	 TTLOG_OPTION_VALUES(input_client_auths), 0},
	TTLOG_TLS_MIN_VERSION_OPTION(OPT(tls_min_version),
				     "tls://: oldest TLS version accepted"),
	{TTLOG_OPTION_STRING, "tls.ciphers", NULL, OPT(tls_ciphers),
	 "tls://: OpenSSL cipher list for TLS 1.2", NULL, 0},
	{TTLOG_OPTION_STRING, "tls.ciphersuites", NULL, OPT(tls_ciphersuites),
	 "tls://: OpenSSL cipher suites for TLS 1.3", NULL, 0},
	{TTLOG_OPTION_SIZE, "max_frame", "16MiB", OPT(max_frame),
	 "ttlog: the largest message a sender may send", NULL, 0},
	{TTLOG_OPTION_SIZE, "window", "32MiB", OPT(window),
	 "ttlog: bytes a sender may have sent and not had acknowledged", NULL,
	 0},
	{TTLOG_OPTION_SIZE, "max_buffer", "32MiB", OPT(max_buffer),
	 "bytes of incomplete messages all connections may hold beyond 32KiB "
	 "each; a connection waits for room before reading a larger message",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "hello_timeout", "10s", OPT(hello_timeout_ms),
	 "a connection that has not finished its TLS handshake and hello "
	 "(ttlog) this long after it opened is closed (0: never)",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "frame_timeout", "30s", OPT(frame_timeout_ms),
	 "a message (frame or line) not complete this long after it began is "
	 "dropped and its connection closed (0: never)",
	 NULL, 0},
	{TTLOG_OPTION_SIZE, "receive_buffer", NULL, OPT(receive_buffer),
	 "udp://: the socket's receive buffer (SO_RCVBUF; default 4MiB): "
	 "datagrams arriving while it is full are dropped by the kernel, "
	 "counted as kernel_drops",
	 NULL, 0},
	{TTLOG_OPTION_INT, "max_connections_per_peer", "64",
	 OPT(max_connections_per_peer),
	 "open connections at most from one IP address (a unix peer: from "
	 "one user); more are refused (0: no limit)",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "mode", NULL, OPT(mode),
	 "unix://, unixgram://: the socket file's mode, octal in quotes "
	 "(\"0660\"); unset: what the umask gives. A mode that lets others "
	 "write (\"0666\") lets every local user send events",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "owner", NULL, OPT(owner),
	 "unix://, unixgram://: the socket file's owner, a user name or "
	 "numeric id (needs root); unset: the agent's user",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "group", NULL, OPT(group),
	 "unix://, unixgram://: the socket file's group, a group name or "
	 "numeric id; unset: the agent's group. kafka: the consumer group "
	 "(group.id; required); `topics` (a list, required) names what it "
	 "reads, an entry starting with ^ is a regex",
	 NULL, 0},
	{TTLOG_OPTION_ENUM_VALUES, "start_at", "end", OPT(start_at),
	 "tail, journal: where to begin when no position is saved: "
	 "beginning or end (tail: for the files found at the input's first "
	 "start, files that appear later are read whole; journal: all it "
	 "holds, or the entries written from now on)",
	 TTLOG_OPTION_VALUES(input_start_ats), 0},
	{TTLOG_OPTION_ENUM_VALUES, "format", "raw", OPT(format),
	 "tail: what a line is: raw (the message), json (an object, as the "
	 "jsonl input) or syslog (RFC 5424/3164). kafka: what a message is: "
	 "auto (default for kafka: the ttlog-format header, else by its first "
	 "byte), json, cbor, ttlog (a batch of the native protocol), syslog "
	 "or raw",
	 TTLOG_OPTION_VALUES(input_formats), 0},
	{TTLOG_OPTION_SIZE, "max_line", "64KiB", OPT(max_line),
	 "tail: a longer line is cut here (flagged truncated, counted) and "
	 "the rest of it skipped",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "rotate_wait", "5s", OPT(rotate_wait_ms),
	 "tail: a file renamed away or deleted is read on until it did not "
	 "grow for this long",
	 NULL, 0},
	{TTLOG_OPTION_ENUM_VALUES, "watch", "auto", OPT(watch),
	 "tail: how changes are noticed: inotify, poll, or auto (inotify, "
	 "polling where it is not available)",
	 TTLOG_OPTION_VALUES(tail_watches), 0},
	{TTLOG_OPTION_DURATION, "poll_interval", "1s", OPT(poll_interval_ms),
	 "tail: how often the globs are expanded again and every file "
	 "looked at (with inotify too, as a safety net)",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "multiline.start", NULL, OPT(ml_start),
	 "tail: a regex (PCRE2); a line matching it begins an event", NULL, 0},
	{TTLOG_OPTION_ENUM_VALUES, "multiline.continuation", NULL,
	 OPT(ml_continuation),
	 "tail: indent (an indented line continues the event) or backslash "
	 "(a line ending in \\ is continued)",
	 TTLOG_OPTION_VALUES(tail_conts), 0},
	{TTLOG_OPTION_STRING, "multiline.preset", NULL, OPT(ml_preset),
	 "tail: java or python (stack traces)", NULL, 0},
	{TTLOG_OPTION_DURATION, "multiline.timeout", "1s", OPT(ml_timeout_ms),
	 "tail: an event is handed on when no line came for this long", NULL,
	 0},
	{TTLOG_OPTION_SIZE, "multiline.max_bytes", "1MiB", OPT(ml_max_bytes),
	 "tail: an event is cut here (flagged, counted), its further lines "
	 "dropped",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "brokers", NULL, OPT(brokers),
	 "kafka: the bootstrap brokers, HOST:PORT,... (required)", NULL, 0},
	{TTLOG_OPTION_STRING, "client_id", NULL, OPT(client_id),
	 "kafka: client.id (default ttlog)", NULL, 0},
	{TTLOG_OPTION_BOOL, "tls.enabled", "false", OPT(tls_enabled),
	 "kafka: speak TLS to the brokers (tls.cert and tls.key: a client "
	 "certificate)",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "tls.ca", NULL, OPT(tls_ca),
	 "kafka: CA certificates the brokers are verified with (default: the "
	 "system's)",
	 NULL, 0},
	{TTLOG_OPTION_BOOL, "tls.verify", "true", OPT(tls_verify),
	 "kafka: verify the brokers' certificates and names", NULL, 0},
	{TTLOG_OPTION_STRING, "sasl.mechanism", NULL, OPT(sasl_mechanism),
	 "kafka: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (needs sasl.username "
	 "and sasl.password)",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "sasl.username", NULL, OPT(sasl_username),
	 "kafka: the SASL user", NULL, 0},
	{TTLOG_OPTION_STRING, "sasl.password", NULL, OPT(sasl_password),
	 "kafka: the SASL password", NULL, 0},
	{TTLOG_OPTION_MAP, "properties", NULL, OPT(properties),
	 "kafka: librdkafka consumer properties, set last (not those the "
	 "input sets itself: group.id, enable.auto.commit, ...)",
	 NULL, 0},
	{0},
};

const struct ttlog__option_table ttlog__input_table = {
	.name = "input",
	.description = "an input of ttlog-agent (an entry of `inputs:`)",
	.options = input_options,
	.size = sizeof(struct ttlog__input_opts),
};

const char *ttlog__input_type_name(int type)
{
	for (const struct ttlog_option_value *t = ttlog__input_types;
	     t->name != NULL; t++)
		if (t->value == type)
			return t->name;
	return "?";
}
