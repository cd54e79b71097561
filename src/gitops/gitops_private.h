/* What the gitops room's files share. */
#ifndef IDP_GITOPS_PRIVATE_H
#define IDP_GITOPS_PRIVATE_H

#include <git2.h>

#include "gitops/gitops.h"

struct idp_gitops_repo {
	git_repository *git;
	char branch[256]; /* the ref HEAD names: refs/heads/main */
	int lock_fd;      /* flock'd <gitdir>/idp.lock */
};

/* libgit2's one-time set-up (threads, fsync of what it writes). */
void gitops_git_init(void);
/* Sets err from libgit2's last error: "what: message". */
int gitops_git_fail(idp_err *err, int code, const char *what);
/* The branch's commit, or *out NULL on an unborn branch; non-zero on failure. */
int gitops_head(idp_gitops_repo *r, git_commit **out);
int gitops_lookup_commit(idp_gitops_repo *r, const char *rev, git_commit **out, idp_err *err);
/* The blob at path in tree, appended to out; IDP_ENOTFOUND when absent. */
int gitops_read_tree_file(git_repository *repo, git_tree *tree, const char *path, idp_buf *out, idp_err *err);
/* Every blob of tree whose path starts with dir, sorted. */
int gitops_list_tree(git_repository *repo, git_tree *tree, idp_arena *a, const char *dir, idp_gitops_files *out,
		     idp_err *err);

/* Renders oam (the OAM Application's new text) with the claims of HEAD's
 * claims/ and adds manifests/<app>/ to change, replacing the directory. */
int gitops_render_into(idp_gitops_repo *r, idp_arena *a, const idp_gitops_renderer *renderer, const char *oam,
		       size_t oam_len, idp_gitops_files *change, idp_err *err);

#endif
