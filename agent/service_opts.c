/*
 * service_opts.c - the keys ttlog-agent adds to the `service:` section
 * (the HTTP endpoint, the user to run as, the shutdown drain) and the
 * sections it reads itself, claimed through ttlog__pipeline_build(): the
 * library does not know them, and an application's configuration that
 * sets them gets "unknown option".
 */
#include <stddef.h>

#include "agent_internal.h"
#include "registry_internal.h"

#define OPT(f) offsetof(struct ttlog__agent_service, f)

static const struct ttlog_option_spec agent_service_spec[] = {
	{TTLOG_OPTION_STRING, "http.listen", NULL, OPT(http_listen),
	 "ttlog-agent: HOST:PORT for /health and /metrics (off when unset)",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "http.unhealthy_after", "30s",
	 OPT(unhealthy_after_ms),
	 "ttlog-agent: /health answers 503 once a listener fails this long",
	 NULL, 0},
	{TTLOG_OPTION_INT, "http.max_connections", "64",
	 OPT(http_max_connections),
	 "ttlog-agent: HTTP connections open at most; more are closed at "
	 "once",
	 NULL, 0},
	{TTLOG_OPTION_INT, "http.max_connections_per_peer", "8",
	 OPT(http_max_connections_per_peer),
	 "ttlog-agent: HTTP connections open at most from one IP address "
	 "(0: no per-address limit)",
	 NULL, 0},
	{TTLOG_OPTION_STRING, "user", NULL, OPT(user),
	 "ttlog-agent: user to run as once sockets are bound", NULL, 0},
	{TTLOG_OPTION_STRING, "state_dir", NULL, OPT(state_dir),
	 "ttlog-agent: where inputs keep what must survive a restart (a "
	 "ttlog input's senders; created 0700 if missing). Unset: memory "
	 "only",
	 NULL, 0},
	{TTLOG_OPTION_DURATION, "shutdown_timeout", "10s",
	 OPT(shutdown_timeout_ms),
	 "ttlog-agent: longest graceful drain on SIGTERM", NULL, 0},
	{0},
};

static const struct ttlog__option_table agent_service_table = {
	.name = "service",
	.options = agent_service_spec,
	.size = sizeof(struct ttlog__agent_service),
};

static const char *const agent_sections[] = {"inputs", NULL};

const struct ttlog__cfg_claims ttlog__agent_claims = {
	.sections = agent_sections,
	.service = &agent_service_table,
};
