/*
 * tail_watch.c - which files the tail input follows, and when to read
 * them. The globs are expanded (glob(3)) at start and at every scan; a
 * scan is asked for by inotify on the directories of the patterns (a file
 * created or moved in, one removed or moved out) and happens anyway every
 * poll_interval, which also reads every open file: the safety net under
 * inotify, and the whole mechanism where inotify is not available (NFS,
 * out of watches) or not wanted (watch: poll).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include <ttlog/ttlog.h>

#include "input_internal.h"
#include "tail_internal.h"

#define DIR_MASK                                                               \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY |     \
	 IN_DELETE_SELF | IN_MOVE_SELF)
#define SCAN_MASK                                                              \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |                 \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_Q_OVERFLOW)

static int excluded(const struct ttlog__tail *t, const char *path)
{
	for (size_t i = 0; i < t->nexclude; i++)
		if (fnmatch(t->exclude[i], path, 0) == 0)
			return 1;
	return 0;
}

static int set_path(struct ttlog__tail_file *f, const char *path)
{
	char *p;

	if (strcmp(f->path, path) == 0)
		return 0;
	if ((p = strdup(path)) == NULL)
		return -1;
	free(f->path);
	f->path = p;
	return 0;
}

/* A remembered (finished) file found again: reopened if it grew. */
static int revive(struct ttlog__tail *t, int fd, const char *path,
		  const struct stat *st)
{
	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next) {
		if (f->fd >= 0 ||
		    !ttlog__tail_same(&f->id, fd, (uint64_t)st->st_dev,
				      (uint64_t)st->st_ino,
				      (uint64_t)st->st_size))
			continue;
		f->seen = 1;
		if ((uint64_t)st->st_size <= f->id.off || set_path(f, path))
			return 1;
		f->fd = fd;
		f->gone = 0;
		f->grew_ms = ttlog__tail_now_ms();
		ttlog__tail_lines_init(&f->lines, t->max_line, f->id.off);
		t->nfiles++;
		ttlog__tail_ready(t, f);
		return 2;
	}
	return 0;
}

/* Where a file seen for the first time starts. */
static uint64_t first_offset(struct ttlog__tail *t, const char *path, int fd,
			     const struct stat *st, int initial)
{
	uint64_t off, size = (uint64_t)st->st_size;
	int known;

	if (ttlog__tail_ckpt_find(t, path, fd, (uint64_t)st->st_dev,
				  (uint64_t)st->st_ino, size, &off, &known)) {
		if (size >= off)
			return off;
		t->truncations++;
		return 0;
	}
	/* A file that replaced one we knew, that came after the start, or
	 * that came while the agent was down (there are saved positions, but
	 * none for it) is new: all of it is read. start_at is for the files
	 * that were there before the input ever ran. */
	if (known || !initial || t->had_state)
		return 0;
	return t->start_at == TTLOG__TAIL_END ? size : 0;
}

/* Opens the file at path (a regular file, not excluded) unless it is
 * followed already. */
static void consider(struct ttlog__tail *t, const char *path, int initial,
		     int gone)
{
	struct ttlog__tail_pos id;
	struct stat st;
	int fd, r;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next) {
		/* An open descriptor pins the inode: no other file can have
		 * it while we hold this one. */
		if (f->fd < 0 || f->id.dev != (uint64_t)st.st_dev ||
		    f->id.ino != (uint64_t)st.st_ino)
			continue;
		f->seen = 1;
		if (!gone) {
			(void)set_path(f, path);
			f->gone = 0;
		}
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ttlog__tail_warn(t, path, "open", errno);
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	if ((r = revive(t, fd, path, &st)) != 0) {
		if (r == 1)
			close(fd);
		return;
	}
	id.dev = (uint64_t)st.st_dev;
	id.ino = (uint64_t)st.st_ino;
	if (ttlog__tail_fingerprint(fd, (uint64_t)st.st_size, &id.fp_len,
				    &id.fp_crc) != 0) {
		ttlog__tail_warn(t, path, "read", errno);
		close(fd);
		return;
	}
	id.off = first_offset(t, path, fd, &st, initial);
	struct ttlog__tail_file *f =
		ttlog__tail_file_open(t, path, fd, &id, (uint64_t)st.st_size);
	if (f == NULL) {
		ttlog__tail_warn(t, path, "open", ENOMEM);
		close(fd);
		return;
	}
	f->seen = 1;
	f->gone = gone;
	ttlog__tail_ready(t, f);
}

/* After a restart: a saved file whose path does not name it any more
 * (rotated while the agent was down) is looked for by its inode in its
 * directory, and read to its end from where it stood. */
static void find_moved(struct ttlog__tail *t)
{
	for (size_t i = 0; i < t->nsaved; i++) {
		char dir[PATH_MAX], path[PATH_MAX];
		char *slash, *cut;
		struct dirent *de;
		DIR *d;

		snprintf(dir, sizeof(dir), "%s", t->saved_keys[i]);
		if ((cut = strstr(dir, " (inode ")) != NULL)
			*cut = '\0';
		if ((slash = strrchr(dir, '/')) == NULL)
			continue;
		*slash = '\0';
		if ((d = opendir(dir[0] ? dir : "/")) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if ((uint64_t)de->d_ino != t->saved[i].ino)
				continue;
			if ((size_t)snprintf(
				    path, sizeof(path), "%s/%.*s", dir,
				    (int)(sizeof(path) - 2 - strlen(dir)),
				    de->d_name) < sizeof(path))
				consider(t, path, 0, 1);
			break;
		}
		closedir(d);
	}
}

static void add_watches(struct ttlog__tail *t);

void ttlog__tail_scan(struct ttlog__tail *t, int initial)
{
	struct ttlog__tail_file *f, *next;
	uint64_t now = ttlog__tail_now_ms();

	if (t->ifd >= 0)
		add_watches(t);
	for (f = t->files; f != NULL; f = f->next)
		f->seen = 0;
	for (size_t i = 0; i < t->npaths; i++) {
		glob_t g;
		if (glob(t->paths[i], 0, NULL, &g) != 0)
			continue; /* no match (yet), or unreadable */
		for (size_t k = 0; k < g.gl_pathc; k++)
			if (!excluded(t, g.gl_pathv[k]))
				consider(t, g.gl_pathv[k], initial, 0);
		globfree(&g);
	}
	if (initial) {
		find_moved(t);
		ttlog__tail_ckpt_free(t);
	}
	for (f = t->files; f != NULL; f = next) {
		next = f->next;
		if (f->seen)
			continue;
		if (f->fd >= 0 && !f->gone) {
			/* Renamed away or deleted: read on for rotate_wait
			 * after its last growth, for the writer's last
			 * lines. */
			f->gone = 1;
			f->grew_ms = now;
			ttlog__tail_ready(t, f);
		} else if (f->fd < 0 && f->nnotes == 0 &&
			   f->durable_off == f->hand_off) {
			ttlog__tail_file_free(f);
		}
	}
}

/* ---- inotify ---- */

static void inotify_said(struct ttlog__tail *t, const char *dir, int err)
{
	TTLOG_WARN("tail: inotify not available; polling instead",
		   TTLOG_KV("input", (const char *)t->in->name),
		   TTLOG_KV("directory", dir), TTLOG_KV("error", strerror(err)),
		   TTLOG_KV("poll_interval_ms", t->poll_ms));
}

/* Watches the directory of each pattern that has one without wildcards;
 * a directory that does not exist yet is tried again at the next scan. */
static void add_watches(struct ttlog__tail *t)
{
	for (size_t i = 0; i < t->npaths; i++) {
		char dir[PATH_MAX];
		char *slash;
		int wd;

		snprintf(dir, sizeof(dir), "%s", t->paths[i]);
		slash = strrchr(dir, '/');
		if (slash == NULL)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
		if (strpbrk(dir, "*?[") != NULL)
			continue; /* polled */
		int have = 0;
		for (size_t k = 0; k < t->nwds && !have; k++)
			have = strcmp(t->wds[k].dir, dir) == 0;
		if (have)
			continue;
		wd = inotify_add_watch(t->ifd, dir, DIR_MASK);
		if (wd < 0) {
			if (errno != ENOENT && errno != ENOTDIR &&
			    !t->inotify_off) {
				t->inotify_off = 1;
				inotify_said(t, dir, errno);
			}
			continue;
		}
		void *np = realloc(t->wds, (t->nwds + 1) * sizeof(*t->wds));
		if (np == NULL)
			continue;
		t->wds = np;
		t->wds[t->nwds].wd = wd;
		t->wds[t->nwds].dir = strdup(dir);
		if (t->wds[t->nwds].dir == NULL) {
			inotify_rm_watch(t->ifd, wd);
			continue;
		}
		t->nwds++;
	}
}

static void ready_all(struct ttlog__tail *t, int gone_only)
{
	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next)
		if (f->fd >= 0 && (!gone_only || f->gone))
			ttlog__tail_ready(t, f);
}

static void on_modify(struct ttlog__tail *t, const char *dir, const char *name)
{
	char path[PATH_MAX];
	int hit = 0;

	snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "",
		 name);
	for (struct ttlog__tail_file *f = t->files; f != NULL; f = f->next)
		if (f->fd >= 0 && !f->gone && strcmp(f->path, path) == 0) {
			ttlog__tail_ready(t, f);
			hit = 1;
		}
	/* A name we do not follow may be a rotated file still written. */
	if (!hit)
		ready_all(t, 1);
}

/* Whether path is one the patterns name (and exclude does not). */
static int wanted(const struct ttlog__tail *t, const char *path)
{
	for (size_t i = 0; i < t->npaths; i++)
		if (fnmatch(t->paths[i], path, FNM_PATHNAME | FNM_PERIOD) == 0)
			return !excluded(t, path);
	return 0;
}

/*
 * A rename in a watched directory: IN_MOVED_FROM then IN_MOVED_TO with
 * the same cookie. A followed file renamed to a name the patterns do not
 * match (app.log -> app.log.1) is read to its end under the new name even
 * if no scan saw it at the old one (created, written and rotated between
 * two looks of a busy agent).
 */
static void on_move(struct ttlog__tail *t, const struct inotify_event *e,
		    const char *dir)
{
	char path[PATH_MAX];

	if (e->len == 0 || (size_t)snprintf(path, sizeof(path), "%s/%s",
					    strcmp(dir, "/") ? dir : "",
					    e->name) >= sizeof(path))
		return;
	if (e->mask & IN_MOVED_FROM) {
		t->move_cookie = e->cookie;
		t->move_wanted = wanted(t, path);
		return;
	}
	if (t->move_wanted && e->cookie == t->move_cookie && !wanted(t, path))
		consider(t, path, 0, 1);
	t->move_wanted = 0;
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__tail *t = arg;
	char buf[16384] __attribute__((aligned(8)));
	ssize_t n;

	(void)what;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			const char *dir = NULL;
			p += sizeof(*e) + e->len;
			for (size_t k = 0; k < t->nwds; k++)
				if (t->wds[k].wd == e->wd)
					dir = t->wds[k].dir;
			if (e->mask & IN_Q_OVERFLOW) {
				/* Events were lost: look at everything. */
				t->rescans++;
				ready_all(t, 0);
			}
			if (e->mask & IN_IGNORED) {
				for (size_t k = 0; k < t->nwds; k++)
					if (t->wds[k].wd == e->wd) {
						free(t->wds[k].dir);
						t->wds[k] = t->wds[--t->nwds];
						break;
					}
			}
			if (e->mask & SCAN_MASK)
				t->need_scan = 1;
			if ((e->mask & IN_MODIFY) && dir != NULL && e->len > 0)
				on_modify(t, dir, e->name);
			if ((e->mask & (IN_MOVED_FROM | IN_MOVED_TO)) &&
			    dir != NULL)
				on_move(t, e, dir);
		}
	}
	ttlog__tail_wake(t);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct ttlog__tail *t = arg;

	(void)fd;
	(void)what;
	t->need_scan = 1;
	ready_all(t, 0);
	ttlog__tail_wake(t);
}

int ttlog__tail_watch_start(struct ttlog__tail *t)
{
	struct timeval tv = {(time_t)(t->poll_ms / 1000),
			     (suseconds_t)(t->poll_ms % 1000) * 1000};

	t->poll = event_new(t->in->base, -1, EV_PERSIST, on_poll, t);
	if (t->poll == NULL || event_add(t->poll, &tv) != 0)
		return -1;
	if (t->watch == TTLOG__TAIL_POLL)
		return 0;
	t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->ifd < 0) {
		t->inotify_off = 1;
		inotify_said(t, "-", errno);
		return 0;
	}
	t->iev = event_new(t->in->base, t->ifd, EV_READ | EV_PERSIST,
			   on_inotify, t);
	if (t->iev == NULL || event_add(t->iev, NULL) != 0)
		return -1;
	return 0;
}

void ttlog__tail_watch_stop(struct ttlog__tail *t)
{
	if (t->poll != NULL)
		event_free(t->poll);
	if (t->iev != NULL)
		event_free(t->iev);
	t->poll = t->iev = NULL;
	if (t->ifd >= 0)
		close(t->ifd);
	t->ifd = -1;
	for (size_t k = 0; k < t->nwds; k++)
		free(t->wds[k].dir);
	free(t->wds);
	t->wds = NULL;
	t->nwds = 0;
}
