/*
 * agent_main.h - the state of a running ttlog-agent, shared by main.c (the
 * process, signals, start and shutdown), load.c (a configuration file into
 * a pipeline and inputs) and reload.c (SIGHUP). Private to the agent's
 * top level; inputs/ and http/ see agent_internal.h only.
 */
#ifndef TTLOG_AGENT_MAIN_H
#define TTLOG_AGENT_MAIN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "agent_internal.h"
#include "registry_internal.h"

struct agent {
	struct ttlog__pipeline *pipeline;
	struct ttlog__input_opts **input_opts;
	/* What makes an input the same after a reload (ttlog__input_key();
	 * "" when its address does not parse) and where it is configured
	 * ("FILE:LINE:COL"), per input. */
	char **input_keys, **input_where;
	/* "FILE:LINE:COL" of each listener's section, in pipeline order. */
	char **listener_where;
	const char **input_names, **input_types;
	/* The source id (ttlog__host_ingest()) the next new input gets: ids
	 * stay with their input across reloads and are never reused. 0
	 * before the first reload: the inputs started have 1..ninputs. */
	uint32_t next_input_id;
	struct ttlog__input **inputs;
	size_t ninputs;
	struct ttlog__http *http;
	uint64_t *failing_since;
	struct ttlog__agent_view view;
	struct event *health_timer;
	uint64_t *last_errors, *last_retries;
	char err[1024];
	int verbose;
	/* agent_load(): also log each problem as an ERROR event of the
	 * library (a reload: the agent's own log must say why), and keep the
	 * first one in err. */
	int log_problems;
	/* The plugins of listeners a reload replaced: a replaced listener may
	 * still be delivering (ttlog__host_retiring()), so they are unloaded
	 * at a later reload when none is, or at exit. */
	struct ttlog__plugin *retired;
	size_t nretired;
};

/* The agent's part of a built pipeline's service section. */
static inline const struct ttlog__agent_service *
agent_svc(const struct ttlog__pipeline *p)
{
	return p->claimed;
}

/* The embedded configuration (default_config.c, from conf/ttlog.yaml). */
extern const char ttlog__agent_default_config[];

/* load.c: reads file (NULL: the embedded configuration) into a: the
 * pipeline (plugins loaded, options applied) and the inputs' options.
 * Every problem is printed with FILE:LINE:COL on stderr and, when
 * a->log_problems is set, logged (the first AGENT_LOG_PROBLEMS) and the
 * first kept in a->err. Returns 0 or -1. */
#define AGENT_LOG_PROBLEMS 20
/* Descriptors (docs/network-exposure.md): load.c sizes the inputs whose
 * max_connections is unset to what RLIMIT_NOFILE leaves after the HTTP
 * cap and AGENT_FD_RESERVE for the agent's own files (listening sockets,
 * spool, state, log and plugin files): at most AGENT_AUTO_CONNECTIONS
 * each, and never under AGENT_MIN_CONNECTIONS. main.c raises the soft
 * limit to the hard one, at most AGENT_NOFILE_MAX. */
#define AGENT_FD_RESERVE 64
#define AGENT_AUTO_CONNECTIONS 1024
#define AGENT_MIN_CONNECTIONS 16
#define AGENT_MAX_CONNECTIONS 1048576
#define AGENT_NOFILE_MAX 1048576
int agent_load(struct agent *a, const char *file);
void agent_free_inputs(struct agent *a);

/* main.c: writer thread, the agent's once-a-second health check. */
void agent_health_tick(evutil_socket_t fd, short what, void *arg);
/* Writer thread: a's ttlog inputs are told when the listeners have taken
 * what they handed on (their ACKs wait for it); sends what is due now. */
void agent_watch_taken(struct agent *a);
/* Writer thread: stops that (before a's inputs are freed). */
void agent_unwatch_taken(struct agent *a);

/* reload.c: SIGHUP. Builds the new configuration beside the running one;
 * on any error logs it and keeps running as before. */
void agent_reload(struct agent **ap, const char *file);

#endif /* TTLOG_AGENT_MAIN_H */
