/*
 * spdlog_side.cpp - the peer: spdlog 1.10 as Debian ships it, driven through
 * spdlog::info() exactly as an application would call it, exposed to the C
 * driver through the extern "C" functions declared in bench.h.
 */
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <thread>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "bench.h"

namespace
{

const char *const logger_names[BENCH_SPDLOG_NKINDS] = {
	"async-null", "async-file", "sync-null", "sync-file"};
std::shared_ptr<spdlog::logger> loggers[BENCH_SPDLOG_NKINDS];
std::string dir;
int current = -1;

std::string file_of(int kind)
{
	return dir + "/ttlog-bench-spdlog-" + logger_names[kind] + ".log";
}

/* Creates (or re-creates, truncating its file) the logger of one kind and
 * registers it under its name. The factories are the documented ones, not
 * spdlog::null_logger_mt(), which sets the level to off and so would
 * measure nothing but the level check. */
std::shared_ptr<spdlog::logger> make_logger(int kind)
{
	using spdlog::sinks::basic_file_sink_mt;
	using spdlog::sinks::null_sink_mt;
	const char *name = logger_names[kind];

	spdlog::drop(name);
	switch (kind) {
	case BENCH_SPDLOG_ASYNC_NULL:
		return spdlog::async_factory::create<null_sink_mt>(name);
	case BENCH_SPDLOG_ASYNC_FILE:
		return spdlog::async_factory::create<basic_file_sink_mt>(
			name, file_of(kind), true);
	case BENCH_SPDLOG_SYNC_NULL:
		return spdlog::synchronous_factory::create<null_sink_mt>(name);
	default:
		return spdlog::synchronous_factory::create<basic_file_sink_mt>(
			name, file_of(kind), true);
	}
}

bool is_file(int kind)
{
	return kind == BENCH_SPDLOG_ASYNC_FILE ||
	       kind == BENCH_SPDLOG_SYNC_FILE;
}

} // namespace

extern "C" int bench_spdlog_start(const char *dir_path)
{
	try {
		dir = dir_path;
		/* The figures quoted for spdlog async: a queue of 8192
		 * messages, one worker thread, and async_factory's overflow
		 * policy, block (a full queue makes the caller wait). */
		spdlog::init_thread_pool(8192, 1);
		for (int k = 0; k < BENCH_SPDLOG_NKINDS; k++)
			loggers[k] = make_logger(k);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "ttlog-bench: spdlog: %s\n", e.what());
		return -1;
	}
	return 0;
}

extern "C" void bench_spdlog_stop(void)
{
	spdlog::set_default_logger(nullptr);
	for (auto &l : loggers)
		l.reset();
	current = -1;
	spdlog::drop_all();
	spdlog::shutdown();
	for (int k = 0; k < BENCH_SPDLOG_NKINDS; k++)
		if (is_file(k))
			std::remove(file_of(k).c_str());
}

extern "C" int bench_spdlog_select(int kind, int truncate_file)
{
	if (kind < 0 || kind >= BENCH_SPDLOG_NKINDS)
		return -1;
	try {
		/* set_default_logger() unregisters the logger it replaces;
		 * clear it first so the file logger can be re-made. */
		spdlog::set_default_logger(nullptr);
		if (is_file(kind) && truncate_file) {
			loggers[kind].reset();
			loggers[kind] = make_logger(kind);
		}
		spdlog::set_default_logger(loggers[kind]);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "ttlog-bench: spdlog: %s\n", e.what());
		return -1;
	}
	current = kind;
	return 0;
}

extern "C" void bench_spdlog_log(int nfields, uint64_t n)
{
	switch (nfields) {
	case 0:
		for (uint64_t i = 0; i < n; i++)
			spdlog::info("request done");
		break;
	case 3:
		for (uint64_t i = 0; i < n; i++)
			spdlog::info("request done {} {} {}", i, 4.2,
				     "/api/v1");
		break;
	default:
		for (uint64_t i = 0; i < n; i++)
			spdlog::info("request done {} {} {} {} {} {} {} {}", i,
				     4.2, "/api/v1", 200, i * 3, true, "GET",
				     "alice");
		break;
	}
}

extern "C" void bench_spdlog_latency(int nfields, uint64_t n,
				     struct bench_hist *h)
{
	switch (nfields) {
	case 0:
		BENCH_TIMED_LOOP(h, n, spdlog::info("request done"));
		break;
	case 3:
		BENCH_TIMED_LOOP(h, n,
				 spdlog::info("request done {} {} {}", bench_i,
					      4.2, "/api/v1"));
		break;
	default:
		BENCH_TIMED_LOOP(
			h, n,
			spdlog::info("request done {} {} {} {} {} {} {} {}",
				     bench_i, 4.2, "/api/v1", 200, bench_i * 3,
				     true, "GET", "alice"));
		break;
	}
}

static void wait_queue_empty()
{
	auto tp = spdlog::thread_pool();
	while (tp && tp->queue_size() > 0)
		std::this_thread::sleep_for(std::chrono::microseconds(100));
}

extern "C" void bench_spdlog_settle(void)
{
	bool async = current == BENCH_SPDLOG_ASYNC_NULL ||
		     current == BENCH_SPDLOG_ASYNC_FILE;

	if (current < 0)
		return;
	if (async)
		wait_queue_empty();
	/* For an async logger this only queues a flush. */
	loggers[current]->flush();
	if (async)
		wait_queue_empty();
}

extern "C" uint64_t bench_spdlog_overruns(void)
{
	auto tp = spdlog::thread_pool();
	return tp ? (uint64_t)tp->overrun_counter() : 0;
}

extern "C" const char *bench_spdlog_version(void)
{
	static char v[64];
	std::snprintf(v, sizeof(v), "spdlog %d.%d.%d, fmt %d.%d.%d",
		      SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH,
		      FMT_VERSION / 10000, FMT_VERSION / 100 % 100,
		      FMT_VERSION % 100);
	return v;
}
