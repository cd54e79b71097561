/* --out DIR: a directory of manifests, one file per object and a
 * kustomization.yaml listing them, replaced as a whole. */
#include "cmd/cmd.h"
#include "render/render.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARKER "# Written by idp render"

static int write_file(const char *path, const char *data, size_t len, idp_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return idp_err_set(err, IDP_ERUNTIME, "%s: %s", path, strerror(errno));
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			close(fd);
			return idp_err_set(err, IDP_ERUNTIME, "%s: write failed: %s", path, strerror(e));
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0)
		return idp_err_set(err, IDP_ERUNTIME, "%s: write failed: %s", path, strerror(errno));
	return 0;
}

/* Removes a directory of plain files (what this file writes). */
static void remove_flat_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
}

/* DIR may be replaced when it is missing, empty, or written by us before:
 * anything else could be someone's work. */
static int check_replaceable(const char *dir, bool *exists, idp_err *err)
{
	struct stat st;
	*exists = stat(dir, &st) == 0;
	if (!*exists)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return idp_err_set(err, IDP_EINPUT, "--out %s: not a directory", dir);
	char **names;
	size_t n;
	int rc = idp_dir_list(dir, &names, &n, err);
	if (rc)
		return rc;
	idp_dir_list_free(names, n);
	if (n == 0)
		return 0;
	char path[4096];
	snprintf(path, sizeof(path), "%s/kustomization.yaml", dir);
	idp_buf head = IDP_BUF_INIT;
	idp_err ignored = IDP_ERR_INIT;
	bool ours = idp_file_read(path, 1 << 20, &head, &ignored) == 0 &&
		    strncmp(idp_buf_cstr(&head), MARKER, strlen(MARKER)) == 0;
	idp_buf_free(&head);
	idp_err_clear(&ignored);
	if (!ours)
		return idp_err_set(err, IDP_EINPUT,
				   "--out %s: the directory holds files idp render did not write; give an empty or new "
				   "directory",
				   dir);
	return 0;
}

int idp_cmd_objects_files(idp_arena *a, idp_doc_node *const *objs, size_t n, idp_gitops_files *out, idp_err *err)
{
	char **names;
	idp_render_file_names(a, objs, n, &names);
	idp_buf kust = IDP_BUF_INIT, doc = IDP_BUF_INIT;
	idp_buf_puts(&kust, MARKER ": one file per object. Do not edit; render again.\n"
			    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n");
	idp_buf_puts(&kust, n ? "resources:\n" : "resources: []\n");
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		idp_buf_clear(&doc);
		rc = idp_doc_emit_yaml(&objs[i], 1, &doc, err);
		if (rc == 0)
			idp_gitops_files_put(a, out, names[i], doc.ptr, doc.len);
		idp_buf_printf(&kust, "- %s\n", names[i]);
	}
	if (rc == 0)
		idp_gitops_files_put(a, out, "kustomization.yaml", kust.ptr, kust.len);
	idp_buf_free(&kust);
	idp_buf_free(&doc);
	return rc;
}

int idp_cmd_write_objects_dir(idp_arena *a, const char *dir, idp_doc_node *const *objs, size_t n, idp_err *err)
{
	bool exists;
	int rc = check_replaceable(dir, &exists, err);
	if (rc)
		return rc;
	idp_gitops_files files = {0};
	if ((rc = idp_cmd_objects_files(a, objs, n, &files, err)))
		return rc;
	char *tmp = idp_arena_printf(a, "%s.idp-tmp-%ld", dir, (long)getpid());
	remove_flat_dir(tmp); /* a leftover of a killed run */
	if (mkdir(tmp, 0755) < 0)
		return idp_err_set(err, IDP_ERUNTIME, "%s: cannot create: %s", tmp, strerror(errno));
	for (size_t i = 0; rc == 0 && i < files.len; i++)
		rc = write_file(idp_arena_printf(a, "%s/%s", tmp, files.items[i].path), files.items[i].content,
				files.items[i].len, err);
	/* One rename makes the new directory visible: a reader sees the old
	 * set of files or the new one, never a mix. */
	if (rc == 0 && exists && renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) < 0)
		rc = idp_err_set(err, IDP_ERUNTIME, "%s: cannot replace: %s", dir, strerror(errno));
	else if (rc == 0 && !exists && rename(tmp, dir) < 0)
		rc = idp_err_set(err, IDP_ERUNTIME, "%s: cannot create: %s", dir, strerror(errno));
	remove_flat_dir(tmp); /* the old directory after the exchange, or the failed new one */
	return rc;
}
