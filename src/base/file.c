/* Whole-file reads with a size cap, and atomic writes (no partial file ever). */
#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_fd(int fd, const char *path, size_t max, idp_buf *out, idp_err *err)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return idp_err_set(err, IDP_ERUNTIME, "%s: read failed: %s", path, strerror(errno));
		}
		if (n == 0)
			return 0;
		if (out->len + (size_t)n > max)
			return idp_err_set(err, IDP_EINPUT, "%s: input is larger than the limit of %zu bytes",
					   path, max);
		idp_buf_append(out, chunk, (size_t)n);
	}
}

int idp_file_read(const char *path, size_t max, idp_buf *out, idp_err *err)
{
	if (strcmp(path, "-") == 0)
		return read_fd(STDIN_FILENO, "<stdin>", max, out, err);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int code = (errno == ENOENT || errno == ENOTDIR || errno == EACCES) ? IDP_EINPUT
										   : IDP_ERUNTIME;
		return idp_err_set(err, code, "%s: cannot open: %s", path, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return idp_err_set(err, IDP_EINPUT, "%s: is a directory", path);
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		close(fd);
		return idp_err_set(err, IDP_EINPUT, "%s: input is larger than the limit of %zu bytes",
				   path, max);
	}
	int rc = read_fd(fd, path, max, out, err);
	close(fd);
	return rc;
}

static int write_all(int fd, const char *data, size_t n)
{
	while (n) {
		ssize_t w = write(fd, data, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

int idp_file_write_atomic(const char *path, const void *data, size_t n, idp_err *err)
{
	/* Replace a symlink's target, not the link itself. */
	char *target = realpath(path, NULL);
	if (target) {
		struct stat lst;
		if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
			int rc = idp_file_write_atomic(target, data, n, err);
			free(target);
			return rc;
		}
		free(target);
	}
	idp_buf tmp = IDP_BUF_INIT;
	idp_buf_printf(&tmp, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp.ptr);
	if (fd < 0) {
		int rc = idp_err_set(err, IDP_ERUNTIME, "%s: cannot create temporary file: %s", path,
				     strerror(errno));
		idp_buf_free(&tmp);
		return rc;
	}
	/* Keep the mode of the file being replaced, else the usual 0644. */
	struct stat st;
	fchmod(fd, stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644);
	if (write_all(fd, data, n) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp.ptr);
		idp_buf_free(&tmp);
		return idp_err_set(err, IDP_ERUNTIME, "%s: write failed: %s", path, strerror(e));
	}
	if (close(fd) < 0 || rename(tmp.ptr, path) < 0) {
		int e = errno;
		unlink(tmp.ptr);
		idp_buf_free(&tmp);
		return idp_err_set(err, IDP_ERUNTIME, "%s: cannot replace: %s", path, strerror(e));
	}
	idp_buf_free(&tmp);
	return 0;
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int idp_dir_list(const char *dir, char ***names, size_t *n, idp_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return idp_err_set(err, IDP_EINPUT, "%s: cannot open directory: %s", dir, strerror(errno));
	char **list = NULL;
	size_t len = 0, cap = 0;
	struct dirent *ent;
	while ((ent = readdir(d))) {
		if (ent->d_name[0] == '.') /* hidden files, ".", ".." */
			continue;
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			list = idp_xrealloc(list, cap * sizeof(*list));
		}
		list[len++] = idp_xstrdup(ent->d_name);
	}
	closedir(d);
	if (len)
		qsort(list, len, sizeof(*list), name_cmp);
	*names = list;
	*n = len;
	return 0;
}

void idp_dir_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void idp_logf(const char *who, const char *fmt, ...)
{
	char when[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* One write per line: lines of two threads never interleave. */
	char line[4096];
	int n = snprintf(line, sizeof line, "%s idp %s: ", when, who);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof line)
		n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line - 1)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
}
