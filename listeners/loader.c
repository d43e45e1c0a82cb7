/*
 * loader.c - finding, checking and dlopen()ing listener plugins.
 *
 * A plugin runs with the full rights of the process, so the loader takes
 * only files that nobody but root or the process's own user could have
 * written: the file and its directory must belong to one of them and must
 * not be writable by group or others. The file is opened once, checked
 * through that descriptor, and loaded through /proc/self/fd, so the file
 * that was checked is the file that is loaded.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"
#include "listener_abi.h"
#include "registry_internal.h"

#ifndef TTLOG_PLUGIN_DIR
#define TTLOG_PLUGIN_DIR "/usr/local/lib/ttlog/plugins"
#endif

/* TTLOG_PLUGIN_DIR in the environment points a build tree's programs at
 * its own plugins; otherwise the installed directory. */
const char *ttlog__default_plugin_dir(void)
{
	const char *env = getenv("TTLOG_PLUGIN_DIR");
	return env != NULL && env[0] != 0 ? env : TTLOG_PLUGIN_DIR;
}

static int fail(char *err, size_t n, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t n, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ttlog__verrf(err, n, fmt, ap);
	va_end(ap);
	return rc;
}

/* Who may own a plugin or its directory. */
static int trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static int check_stat(const struct stat *st, const char *what, const char *path,
		      char *err, size_t n)
{
	if (!trusted_owner(st->st_uid))
		return fail(err, n, TTLOG_EPLUGIN,
			    "%s: %s is owned by uid %u, not by root or uid %u",
			    path, what, (unsigned)st->st_uid,
			    (unsigned)geteuid());
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return fail(err, n, TTLOG_EPLUGIN,
			    "%s: %s is writable by %s (mode %04o); "
			    "run chmod go-w on it",
			    path, what,
			    (st->st_mode & S_IWOTH) ? "others" : "its group",
			    (unsigned)(st->st_mode & 07777));
	return 0;
}

static int valid_type_name(const char *s)
{
	if (*s == 0)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/*
 * The descriptors plugins are loaded through, one per file (device and
 * inode). glibc recognises a loaded object by every name it was opened
 * under and, when the same file is opened again under a new name, adds
 * that name to the object already loaded. If a second load of one file
 * had its own descriptor and closed it at unload while the first kept
 * the object alive, the stale name "/proc/self/fd/N" would stay attached
 * to that object, and the next plugin opened through a reused N would get
 * it instead of itself (a reload that added a file listener was given the
 * stdout plugin's option table). So every load of a file goes through the
 * one descriptor, which is closed only when the object is gone.
 */
struct loaded_fd {
	dev_t dev;
	ino_t ino;
	int fd;
	unsigned refs;
};
static struct loaded_fd *loaded;
static size_t nloaded, caploaded;
static pthread_mutex_t loaded_lock = PTHREAD_MUTEX_INITIALIZER;

/* Takes a reference on the descriptor of st's file: fd itself for a file
 * not loaded yet (then kept), else the one it is loaded through (then fd
 * is closed). Returns the descriptor to dlopen through, or -1 (ENOMEM;
 * fd is closed). */
static int loaded_get(const struct stat *st, int fd)
{
	int out = -1;

	pthread_mutex_lock(&loaded_lock);
	for (size_t i = 0; i < nloaded; i++)
		if (loaded[i].dev == st->st_dev &&
		    loaded[i].ino == st->st_ino) {
			loaded[i].refs++;
			out = loaded[i].fd;
			close(fd);
			goto done;
		}
	if (nloaded == caploaded) {
		size_t cap = caploaded ? 2 * caploaded : 8;
		struct loaded_fd *p = realloc(loaded, cap * sizeof(*p));
		if (p == NULL) {
			close(fd);
			goto done;
		}
		loaded = p;
		caploaded = cap;
	}
	loaded[nloaded++] = (struct loaded_fd){st->st_dev, st->st_ino, fd, 1};
	out = fd;
done:
	pthread_mutex_unlock(&loaded_lock);
	return out;
}

/* Drops a reference taken by loaded_get(), after dlclose(). The last one
 * closes the descriptor, unless the object is still loaded (a plugin
 * marked not to be unloaded): then its name must stay valid. */
static void loaded_put(int fd)
{
	pthread_mutex_lock(&loaded_lock);
	for (size_t i = 0; i < nloaded; i++) {
		if (loaded[i].fd != fd)
			continue;
		if (--loaded[i].refs == 0) {
			char fdpath[64];
			void *h;
			snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d",
				 fd);
			h = dlopen(fdpath, RTLD_LAZY | RTLD_NOLOAD);
			if (h != NULL) {
				dlclose(h);
			} else {
				close(fd);
				loaded[i] = loaded[--nloaded];
			}
		}
		break;
	}
	pthread_mutex_unlock(&loaded_lock);
}

int ttlog__plugin_load(const char *dir, const char *name,
		       struct ttlog__plugin *out, char *err, size_t n)
{
	char path[4096], fdpath[64], parent[4096];
	struct stat st;
	ttlog_listener_entry_fn entry;
	void *handle;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (strchr(name, '/') != NULL) {
		if (name[0] != '/')
			return fail(err, n, TTLOG_EPLUGIN,
				    "%s: a plugin path must be absolute", name);
		snprintf(path, sizeof(path), "%s", name);
	} else {
		if (!valid_type_name(name))
			return fail(err, n, TTLOG_EPLUGIN,
				    "\"%s\": a listener type is made of "
				    "a-z, 0-9, '-' and '_'",
				    name);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s.so", dir,
				     name) >= sizeof(path))
			return fail(err, n, TTLOG_EPLUGIN,
				    "%s/%s.so: path too long", dir, name);
	}

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			return fail(err, n, TTLOG_EPLUGIN,
				    "%s: is a symbolic link; name the file "
				    "itself",
				    path);
		if (errno == ENOENT && strchr(name, '/') == NULL)
			return fail(err, n, TTLOG_EPLUGIN,
				    "%s: no such plugin (listener type \"%s\" "
				    "in plugin_dir %s)",
				    path, name, dir);
		return fail(err, n, TTLOG_EPLUGIN, "%s: %s", path,
			    strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, n, TTLOG_EPLUGIN, "%s: not a regular file",
			    path);
	}
	rc = check_stat(&st, "the file", path, err, n);
	snprintf(parent, sizeof(parent), "%s", path);
	*strrchr(parent, '/') = 0;
	if (rc == 0 && stat(parent[0] ? parent : "/", &st) != 0)
		rc = fail(err, n, TTLOG_EPLUGIN, "%s: %s", parent,
			  strerror(errno));
	if (rc == 0)
		rc = check_stat(&st, "its directory", path, err, n);
	if (rc != 0) {
		close(fd);
		return rc;
	}

	if (fstat(fd, &st) != 0 || (fd = loaded_get(&st, fd)) < 0)
		return fail(err, n, TTLOG_ENOMEM, "%s: out of memory", path);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	dlerror();
	handle = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		const char *why = dlerror();
		loaded_put(fd);
		return fail(err, n, TTLOG_EPLUGIN, "%s: cannot load: %s", path,
			    why ? why : "unknown dlopen error");
	}
	*(void **)(&entry) = dlsym(handle, TTLOG_LISTENER_ENTRY_SYMBOL);
	if (entry == NULL) {
		dlclose(handle);
		loaded_put(fd);
		return fail(err, n, TTLOG_EPLUGIN,
			    "%s: no %s() symbol; is it a ttlog listener "
			    "plugin (TTLOG_LISTENER_ENTRY)?",
			    path, TTLOG_LISTENER_ENTRY_SYMBOL);
	}
	out->api = entry();
	rc = ttlog__listener_api_check(out->api, path, err, n);
	if (rc != 0) {
		dlclose(handle);
		loaded_put(fd);
		out->api = NULL;
		return rc;
	}
	out->path = strdup(path);
	out->handle = handle;
	out->fd = fd;
	if (out->path == NULL) {
		ttlog__plugin_unload(out);
		return fail(err, n, TTLOG_ENOMEM, "%s: out of memory", path);
	}
	return 0;
}

void ttlog__plugin_unload(struct ttlog__plugin *p)
{
	if (p->handle != NULL)
		dlclose(p->handle);
	if (p->fd >= 0)
		loaded_put(p->fd);
	free(p->path);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}
