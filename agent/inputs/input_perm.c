/*
 * input_perm.c - who may reach a unix socket input: the mode, owner and
 * group its socket file gets (the options mode, owner and group).
 *
 * Names are resolved when the configuration is loaded, so that a typo is
 * a load error with its place rather than a start failure. The file is
 * made narrow and widened last: before bind the socket's own inode gets
 * the owner's bits of the final mode only (Linux creates the file with the
 * socket inode's mode less the umask), then the file is given its owner
 * and group, then its final mode. At no moment can anyone reach it whom
 * the final mode, owner and group would not let in, and the process-wide
 * umask is never touched (other threads create files too).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ttlog/ttlog.h>

#include "errf.h"
#include "input_internal.h"

/* An octal mode as written ("0660" or "660"): at most four digits 0-7,
 * at most 0777 (set-id and sticky bits mean nothing on a socket). */
static int parse_mode(const char *s, unsigned *out)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 4 || strspn(s, "01234567") != n)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 8 + (unsigned)(s[i] - '0');
	if (v > 0777)
		return -1;
	*out = v;
	return 0;
}

/* A decimal id that fits uid_t/gid_t, less the -1 that means "unchanged". */
static int parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v >= 0xffffffffull)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* getpwnam_r and getgrnam_r want a buffer of a size they only hint at;
 * large groups need more, so it grows on ERANGE. */
static int lookup(int group, const char *name, unsigned *id, char *err,
		  size_t errlen)
{
	size_t size = 1024;
	int rc;

	for (;;) {
		char *buf = malloc(size);
		struct passwd pw, *pwr = NULL;
		struct group gr, *grr = NULL;

		if (buf == NULL) {
			ttlog__errf(err, errlen, "out of memory");
			return -1;
		}
		if (group) {
			rc = getgrnam_r(name, &gr, buf, size, &grr);
			if (rc == 0 && grr != NULL)
				*id = (unsigned)grr->gr_gid;
		} else {
			rc = getpwnam_r(name, &pw, buf, size, &pwr);
			if (rc == 0 && pwr != NULL)
				*id = (unsigned)pwr->pw_uid;
		}
		free(buf);
		if (rc == ERANGE && size < ((size_t)1 << 20)) {
			size *= 4;
			continue;
		}
		if (rc != 0) {
			ttlog__errf(err, errlen, "cannot look up %s \"%s\": %s",
				    group ? "group" : "user", name,
				    strerror(rc));
			return -1;
		}
		if ((group ? (void *)grr : (void *)pwr) == NULL) {
			ttlog__errf(err, errlen,
				    "no %s \"%s\" on this system (a name "
				    "from %s or a numeric id)",
				    group ? "group" : "user", name,
				    group ? "/etc/group" : "/etc/passwd");
			return -1;
		}
		return 0;
	}
}

/* owner or group (group: 1): a numeric id, else a name; err "KEY: ...". */
static int resolve_id(int group, const char *s, unsigned *id, char *err,
		      size_t errlen)
{
	char why[256];

	if (parse_id(s, id) == 0 || lookup(group, s, id, why, sizeof(why)) == 0)
		return 0;
	ttlog__errf(err, errlen, "%s: %s", group ? "group" : "owner", why);
	return -1;
}

int ttlog__input_perm_resolve(const struct ttlog__input_opts *o,
			      struct ttlog__input_perm *p, const char **key,
			      char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (o->mode != NULL) {
		if (parse_mode(o->mode, &p->mode) != 0) {
			if (key != NULL)
				*key = "mode";
			ttlog__errf(err, errlen,
				    "mode: \"%s\" is not an octal mode from 0 "
				    "to 0777 (write it in quotes: \"0660\")",
				    o->mode);
			return TTLOG_EINVAL;
		}
		p->has_mode = 1;
	}
	if (o->owner != NULL) {
		if (resolve_id(0, o->owner, &p->uid, err, errlen) != 0)
			goto bad;
		p->has_owner = 1;
	}
	if (o->group != NULL) {
		if (resolve_id(1, o->group, &p->gid, err, errlen) != 0)
			goto bad;
		p->has_group = 1;
	}
	return 0;
bad:
	if (key != NULL)
		*key = p->has_owner || o->owner == NULL ? "group" : "owner";
	return TTLOG_EINVAL;
}

/* The umask, read without changing it (umask(2) can only set it, and it
 * is the whole process's). Linux reports it in /proc/self/status. */
static unsigned current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	unsigned m = 022;

	if (f == NULL)
		return m;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Umask: %o", &m) == 1)
			break;
	fclose(f);
	return m & 0777;
}

int ttlog__input_perm_before_bind(struct ttlog__input *in, int fd)
{
	const struct ttlog__input_perm *p = &in->perm;

	if (!p->has_mode && !p->has_owner && !p->has_group)
		return 0;
	in->perm_mode = p->has_mode ? p->mode : 0777 & ~current_umask();
	/* Only the agent's own user until the owner and group are set. */
	return fchmod(fd, in->perm_mode & 0700);
}

/* Sets the owner and group, then the mode, of the socket file at path if
 * it is still the one the input made. */
static int perm_set(struct ttlog__input *in, const struct ttlog__input_perm *p,
		    unsigned mode, char *err, size_t errlen)
{
	struct stat st;
	uid_t uid = p->has_owner ? (uid_t)p->uid : (uid_t)-1;
	gid_t gid = p->has_group ? (gid_t)p->gid : (gid_t)-1;

	if (lstat(in->unix_path, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    st.st_dev != in->unix_dev || st.st_ino != in->unix_ino) {
		ttlog__errf(err, errlen,
			    "%s: the socket file is gone or was replaced",
			    in->listen);
		return -1;
	}
	if ((p->has_owner || p->has_group) && lchown(in->unix_path, uid, gid)) {
		int e = errno;
		char to[64];
		if (p->has_owner && p->has_group)
			snprintf(to, sizeof(to), "uid %u gid %u", p->uid,
				 p->gid);
		else if (p->has_owner)
			snprintf(to, sizeof(to), "uid %u", p->uid);
		else
			snprintf(to, sizeof(to), "gid %u", p->gid);
		ttlog__errf(err, errlen,
			    "%s: cannot give the socket file to %s: %s%s",
			    in->listen, to, strerror(e),
			    e == EPERM ? " (only root may give a file to "
					 "another user, or to a group it is "
					 "not in)"
				       : "");
		return -1;
	}
	if (chmod(in->unix_path, mode) != 0) {
		ttlog__errf(err, errlen,
			    "%s: cannot set the socket mode %04o: %s",
			    in->listen, mode, strerror(errno));
		return -1;
	}
	return 0;
}

int ttlog__input_perm_after_bind(struct ttlog__input *in, char *err,
				 size_t errlen)
{
	const struct ttlog__input_perm *p = &in->perm;

	if (!p->has_mode && !p->has_owner && !p->has_group)
		return 0;
	return perm_set(in, p, in->perm_mode, err, errlen);
}

int ttlog__input_perm_check_change(const struct ttlog__input *in,
				   const struct ttlog__input_perm *p, char *err,
				   size_t errlen)
{
	struct stat st;
	gid_t groups[256];
	int n, member = 0;

	/* Unchanged options need nothing: the file is as they say. */
	if (memcmp(p, &in->perm, sizeof(*p)) == 0)
		return 0;
	if (!p->has_owner && !p->has_group && !p->has_mode)
		return 0;
	if (in->unix_path == NULL || geteuid() == 0)
		return 0;
	if (lstat(in->unix_path, &st) != 0)
		return 0; /* reported when applied */
	/* Without root the file must be the agent's, its owner cannot
	 * change, and its group only to one the agent is in. */
	if (p->has_group) {
		n = getgroups(256, groups);
		member = (gid_t)p->gid == getegid() ||
			 (gid_t)p->gid == st.st_gid;
		for (int i = 0; i < n && !member; i++)
			member = groups[i] == (gid_t)p->gid;
	}
	if (st.st_uid != geteuid() ||
	    (p->has_owner && (uid_t)p->uid != st.st_uid) ||
	    (p->has_group && !member)) {
		ttlog__errf(err, errlen,
			    "input %s: %s: cannot change the socket's owner, "
			    "group or mode: %s (the agent runs as uid %u, not "
			    "root; restart it to apply them)",
			    in->name, in->listen, strerror(EPERM),
			    (unsigned)geteuid());
		return -1;
	}
	return 0;
}

void ttlog__input_perm_update(struct ttlog__input *in,
			      const struct ttlog__input_perm *p)
{
	char err[512];
	struct stat st;
	unsigned mode;

	if (in->unix_path == NULL || memcmp(p, &in->perm, sizeof(*p)) == 0)
		return;
	in->perm = *p;
	/* Options removed leave the file as it is. */
	if (!p->has_mode && !p->has_owner && !p->has_group)
		return;
	if (p->has_mode)
		mode = p->mode;
	else if (lstat(in->unix_path, &st) == 0)
		mode = st.st_mode & 0777;
	else
		mode = 0777 & ~current_umask();
	in->perm_mode = mode;
	/* The mode both old and new allow first: giving the file to its
	 * new owner or group must not open it wider for a moment. */
	if (lstat(in->unix_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_ino == in->unix_ino)
		(void)chmod(in->unix_path, st.st_mode & mode & 0777);
	if (perm_set(in, p, mode, err, sizeof(err)) != 0) {
		in->st.errors++;
		TTLOG_ERROR(
			"reload: cannot apply an input's socket mode, owner "
			"or group",
			TTLOG_KV("input", (const char *)in->name),
			TTLOG_KV("reason", (const char *)err));
	}
}
