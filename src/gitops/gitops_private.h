/* What the gitops room's files share. */
#ifndef IDP_GITOPS_PRIVATE_H
#define IDP_GITOPS_PRIVATE_H

#include <git2.h>
#include <yaml.h>

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
/* Brings the working tree (if any) from commit from (NULL: none) to to;
 * returns a warning or NULL. Staged changes and local edits are kept. */
const char *gitops_update_worktree_to(idp_gitops_repo *r, idp_arena *a, const git_oid *from, const git_oid *to);
/* The blob at path in tree, appended to out; IDP_ENOTFOUND when absent. */
int gitops_read_tree_file(git_repository *repo, git_tree *tree, const char *path, idp_buf *out, idp_err *err);
/* Every blob of tree whose path starts with dir, sorted. */
int gitops_list_tree(git_repository *repo, git_tree *tree, idp_arena *a, const char *dir, idp_gitops_files *out,
		     idp_err *err);

/* Renders oam (the OAM Application's new text) with the claims of HEAD's
 * claims/ and adds manifests/<app>/ to change, replacing the directory. */
int gitops_render_into(idp_gitops_repo *r, idp_arena *a, const idp_gitops_renderer *renderer, const char *oam,
		       size_t oam_len, idp_gitops_files *change, idp_err *err);

/* text.c: the byte offset of a libyaml mark (line and column count
 * characters; a line break is \n, \r\n or \r); the offset just past the
 * line break of the line holding off; the file's line ending ("\r\n" when
 * its first line ends so); text with [from, to) replaced by insert (arena). */
size_t gitops_mark_offset(const char *s, size_t len, yaml_mark_t m);
size_t gitops_line_after(const char *s, size_t len, size_t off);
const char *gitops_eol(const char *text, size_t len);
/* A plain scalar that YAML reads as null (empty, ~, null). */
bool gitops_null_scalar(const yaml_event_t *ev);
char *gitops_splice(idp_arena *a, const char *text, size_t len, size_t from, size_t to, const char *insert,
		    size_t *out_len);

/* One step of a path into a YAML document: a map key, or a list index
 * (key NULL). */
typedef struct idp_gitops_path_step {
	const char *key;
	long index;
} idp_gitops_path_step;

/* Sets the scalar at path in document doc_index of text to value (YAML text
 * of a scalar, already quoted as needed): replaced where it stands, or the
 * missing keys added at the end of the deepest existing map, indented as
 * its keys (a null value such as `annotations:` gets them under its key; a
 * flow map gets `, key: value`). Every other byte is kept. *out is in a. */
int gitops_yaml_set(idp_arena *a, const char *file, const char *text, size_t len, size_t doc_index,
		    const idp_gitops_path_step *path, size_t n, const char *value, const char **out, size_t *out_len,
		    idp_err *err);

#endif
