/*
 * gitops: the platform's GitOps repositories on libgit2 (docs/GITOPS.md).
 *
 * A repository holds one application: `apps/` (Argo CD app-of-apps and one
 * Application per sync unit), `oam/applications/application.yaml` (the OAM
 * Application, the source of truth, never synced itself), `claims/`,
 * `platform/`, `manifests/<app>/` (the rendered objects Argo CD syncs) and
 * `environments/{dev,staging,production}/` overlays.
 *
 * Every change is one commit made from HEAD's tree plus the change (the
 * working tree is never read), with the ref moved by compare-and-swap under
 * a per-repository lock: a crash leaves the old commit or the new one. A
 * change that alters nothing makes no commit. The working tree, when there
 * is one, is brought up to the new commit afterwards (files with local edits
 * are left alone and reported).
 *
 * This room does not render: callers that change the OAM Application pass
 * an idp_gitops_renderer that turns it into files (the cmd room wires the
 * render room in), so the rendered manifests land in the same commit.
 *
 * Ownership: strings and arrays returned through out-parameters belong to
 * the idp_arena passed with them; an idp_gitops_repo is released with
 * idp_gitops_close.
 */
#ifndef IDP_GITOPS_H
#define IDP_GITOPS_H

#include "doc/doc.h"

typedef struct idp_gitops_repo idp_gitops_repo;

/* Who commits (author and committer). */
typedef struct idp_gitops_identity {
	const char *name, *email;
} idp_gitops_identity;

#define IDP_GITOPS_IDENTITY_DEFAULT {"idp", "idp@localhost"}

/* One file of a change: content NULL deletes the path (a directory path
 * ending in '/' deletes everything under it). */
typedef struct idp_gitops_file {
	const char *path;
	const char *content;
	size_t len;
} idp_gitops_file;

typedef struct idp_gitops_files {
	idp_gitops_file *items;
	size_t len, cap;
} idp_gitops_files;

/* Appends a file to fs; path and content are copied into a. */
void idp_gitops_files_put(idp_arena *a, idp_gitops_files *fs, const char *path, const char *content, size_t len);
/* Appends a deletion. */
void idp_gitops_files_delete(idp_arena *a, idp_gitops_files *fs, const char *path);

/* A commit to make. Trailers are "Key: value" lines added after the body. */
typedef struct idp_gitops_change {
	const char *summary;  /* the first line */
	const char *body;     /* may be NULL */
	const char *const *trailers; /* NULL-terminated, may be NULL */
	idp_gitops_files files;
	const char *tree_from; /* rollback: take this revision's whole tree (files then apply on top) */
} idp_gitops_change;

/* What a commit did. */
typedef struct idp_gitops_commit_result {
	bool changed;        /* false: nothing differed, no commit was made */
	char id[41];         /* the new commit (or HEAD when unchanged), hex */
	const char *warning; /* e.g. the working tree was not updated; NULL if none (arena-owned) */
} idp_gitops_commit_result;

/* ---------------------------------------------------------------- repositories */

/* The directory name of an application's GitOps repository: "<app>-gitops". */
const char *idp_gitops_repo_name(idp_arena *a, const char *app);

enum {
	/* A repository only idp writes (a GitOps repository): git lock files
	 * found while holding idp's lock were left by a killed idp and are
	 * removed. Without it (a developer's repository) they are left alone. */
	IDP_GITOPS_OWNED = 1
};

/* Opens the repository at path (a work tree or a bare repository) and takes
 * its lock (waiting up to timeout_ms for another idp process). */
int idp_gitops_open(const char *path, int timeout_ms, int flags, idp_gitops_repo **out, idp_err *err);
/* The branch the repository at path is on, without locking anything
 * (arena); a detached HEAD is IDP_EINPUT. */
int idp_gitops_current_branch(idp_arena *a, const char *path, const char **out, idp_err *err);
void idp_gitops_close(idp_gitops_repo *r);
/* The branch HEAD names, without refs/heads/ (arena). */
const char *idp_gitops_branch(idp_arena *a, const idp_gitops_repo *r);

/* The file at path in revision rev ("HEAD", a hex id or prefix, a ref), into
 * out. IDP_ENOTFOUND when the file is not there. */
int idp_gitops_read(idp_gitops_repo *r, const char *rev, const char *path, idp_buf *out, idp_err *err);
/* Every file under dir ("manifests/" ...) at rev, sorted by path. */
int idp_gitops_list(idp_gitops_repo *r, idp_arena *a, const char *rev, const char *dir, idp_gitops_files *out,
		    idp_err *err);
/* The full hex id of rev. */
int idp_gitops_resolve(idp_gitops_repo *r, const char *rev, char out[41], idp_err *err);

/* Commits change on top of HEAD (see the file comment). */
int idp_gitops_commit(idp_gitops_repo *r, const idp_gitops_change *change, const idp_gitops_identity *who,
		      idp_arena *a, idp_gitops_commit_result *res, idp_err *err);

/* ---------------------------------------------------------------- remotes */

/* How to reach the remote: the token of an HTTP(S) remote (read from a
 * secret file by the caller; never put in a URL, never printed). */
typedef struct idp_gitops_remote {
	const char *token; /* NULL: no credentials */
	const char *user;  /* NULL: "x-access-token" */
} idp_gitops_remote;

/* Refuses a remote URL with credentials in it (user:password@), or with
 * blanks, quotes or #. */
int idp_gitops_check_url(const char *url, idp_err *err);
/* Sets origin (file://, git://, http(s)://, or a path). A URL with
 * credentials in it is refused. */
int idp_gitops_set_remote(idp_gitops_repo *r, const char *url, idp_err *err);
bool idp_gitops_has_remote(idp_gitops_repo *r);

/* A change that can be made again on a new head. */
typedef int (*idp_gitops_op)(idp_gitops_repo *r, idp_arena *a, void *ctx, idp_gitops_commit_result *res,
			     idp_err *err);

/* With no origin, runs op. With one: fetches and fast-forwards the branch,
 * runs op, pushes; when the push is refused because the remote moved,
 * drops op's commit, fetches, and runs op again on the remote's head (at
 * most 8 times, waiting a little longer each time). A push refused for another reason is IDP_ERUNTIME. */
int idp_gitops_publish(idp_gitops_repo *r, idp_arena *a, const idp_gitops_remote *opts, idp_gitops_op op, void *ctx,
		       idp_gitops_commit_result *res, idp_err *err);

/* ---------------------------------------------------------------- layout */

/* Turns an OAM Application (and the claims kept in claims/) into the files
 * of manifests/<app>/ (paths relative to that directory). */
typedef struct idp_gitops_renderer {
	int (*render)(void *ctx, idp_arena *a, const char *app_file, const char *app_text, size_t app_len,
		      const idp_gitops_files *claims, idp_gitops_files *out, idp_err *err);
	void *ctx;
} idp_gitops_renderer;

typedef struct idp_gitops_init_opts {
	const char *remote;     /* the URL Argo CD clones (default: file://<repo path>) */
	const char *platform_files_dir; /* unused by init; platform/ starts with a README */
	const idp_gitops_files *platform; /* files for platform/ (idp catalog export), may be NULL */
} idp_gitops_init_opts;

/* Creates dir/<app>-gitops (it must not exist, or be an empty directory):
 * the layout above, committed as the first commit on main. *path gets the
 * repository's path (arena). app must be a DNS-1123 label. */
int idp_gitops_init(idp_arena *a, const char *app, const char *dir, const idp_gitops_init_opts *opts,
		    const idp_gitops_renderer *renderer, const idp_gitops_identity *who, const char **path,
		    idp_err *err);

/* The OAM Application's path in the repository. */
#define IDP_GITOPS_OAM_FILE "oam/applications/application.yaml"

/* ---------------------------------------------------------------- the OAM updater */

typedef enum idp_gitops_decision {
	IDP_GITOPS_ADDED,         /* the component was added (a commit was made) */
	IDP_GITOPS_EXISTS,        /* a component of that name is there: nothing to do */
	IDP_GITOPS_NOT_API_DRIVEN /* the claim came from the OAM file (or says nothing): never edit it */
} idp_gitops_decision;

typedef struct idp_gitops_update {
	idp_gitops_decision decision;
	const char *source;  /* the annotation as read, or NULL when absent */
	const char *reason;  /* one sentence for the user (arena) */
	const char *component; /* the service name */
	idp_gitops_commit_result commit;
} idp_gitops_update;

/* The webservice component the platform adds for an ApplicationClaim, as
 * YAML text: a list item whose '-' stands at column dash_col (0-based) and
 * whose keys stand at key_col, lines ended by eol. */
int idp_gitops_component_text(idp_arena *a, const idp_doc_node *claim, unsigned dash_col, unsigned key_col,
			      const char *eol, const char **out, idp_err *err);

/* Adds the component to the Application in text (file names it in errors)
 * and returns the new text: every byte outside the inserted component is
 * kept. *added is false (and *out the input) when a component of that name
 * exists. Fails, with a position, when text is not an OAM Application or its
 * spec.components cannot be edited. */
int idp_gitops_oam_insert(idp_arena *a, const char *file, const char *text, size_t len, const idp_doc_node *claim,
			  const char **out, size_t *out_len, bool *added, idp_err *err);

/* The whole updater on a repository: decides by the claim's
 * webservice.oam.dev/source annotation, edits the OAM Application,
 * re-renders manifests/ with renderer, and commits the two together with the
 * trailers Idp-Source and Idp-Claim. */
int idp_gitops_add_component(idp_gitops_repo *r, idp_arena *a, const idp_doc_node *claim,
			     const idp_gitops_renderer *renderer, const idp_gitops_identity *who,
			     idp_gitops_update *out, idp_err *err);

/* Files claim (any platform claim) in claims/<metadata.name>.yaml and
 * re-renders manifests/ with it, in one commit (Idp-Source: source,
 * Idp-Claim); res->changed is false when it was there already. */
int idp_gitops_file_claim(idp_gitops_repo *r, idp_arena *a, const idp_doc_node *claim, const char *source,
			  const idp_gitops_renderer *renderer, const idp_gitops_identity *who, idp_gitops_commit_result *res,
			  idp_err *err);

/* Replaces the OAM Application with text (a whole file, as a developer
 * writes it) and manifests/<app>/ with its rendering, in one commit
 * (Idp-Source: source, "up" when NULL); res->changed is false when both
 * were the same already. */
int idp_gitops_set_application(idp_gitops_repo *r, idp_arena *a, const char *text, size_t len, const char *source,
			       const idp_gitops_renderer *renderer, const idp_gitops_identity *who,
			       idp_gitops_commit_result *res, idp_err *err);

/* ---------------------------------------------------------------- scaffold */

/* Scaffolds service into the application container repository at dir
 * (created and initialised on main when it is not a repository):
 * microservices/<service>/ from the built-in template of language (python
 * with fastapi, c with idp-sdk; framework NULL takes the language's), the
 * onion layout, tests, a Dockerfile, /health, and idp-local.yaml for the
 * local runtime; .version (1.1) at the top when absent. One commit
 * (Idp-Source: scaffold); res->changed is false when the service is there
 * already (its code is the developer's then). */
int idp_gitops_scaffold(idp_arena *a, const char *service, const char *language, const char *framework,
			const char *dir, const idp_gitops_identity *who, idp_gitops_commit_result *res, idp_err *err);

/* ---------------------------------------------------------------- versions */

/* MAJOR.MINOR.<sha7> of the source repository at source: MAJOR.MINOR from
 * its committed .version file (1.1 when absent), sha7 of HEAD. */
int idp_gitops_version(idp_arena *a, const char *source, const char **out, idp_err *err);

/* The image tags of a build, as the original version-manager gave them:
 * REG/SVC:VERSION, :SHA, :BRANCH-SHA (branch lower-cased, [a-z0-9._-]);
 * on main, master and release/NAME also :latest, :MAJOR, :MAJOR.MINOR; on
 * develop also :develop. */
int idp_gitops_tags(idp_arena *a, const char *service, const char *version, const char *registry, const char *branch,
		    const char ***out, size_t *n, idp_err *err);

/* Sets the image of the component named component (by name, not by
 * matching image strings) and, when given, the Application's annotations
 * app.version and app.commit-sha; re-renders manifests/; commits only when
 * something changed (trailers Idp-Source: release, Idp-Version). */
int idp_gitops_set_image(idp_gitops_repo *r, idp_arena *a, const char *component, const char *image,
			 const char *version, const char *commit, const idp_gitops_renderer *renderer,
			 const idp_gitops_identity *who, idp_gitops_commit_result *res, idp_err *err);

/* ---------------------------------------------------------------- history */

typedef struct idp_gitops_revision {
	char id[41];
	const char *author, *summary, *source; /* source: the Idp-Source trailer, or NULL */
	int64_t time;                          /* seconds since the epoch */
	const char *components;                /* "+a -b ~c": components added, removed, changed */
} idp_gitops_revision;

/* The first-parent history from HEAD, newest first, at most max (0: all). */
int idp_gitops_history(idp_gitops_repo *r, idp_arena *a, size_t max, idp_gitops_revision **out, size_t *n,
		       idp_err *err);

/* The objects of manifests/ that differ between rev1 and rev2: for each,
 * "+ kind/name", "- kind/name" or "~ kind/name" and a unified diff of its
 * canonical YAML. */
int idp_gitops_diff(idp_gitops_repo *r, const char *rev1, const char *rev2, idp_buf *out, idp_err *err);

/* A new commit whose content is rev's (history is never rewritten). */
int idp_gitops_rollback(idp_gitops_repo *r, idp_arena *a, const char *rev, const idp_gitops_identity *who,
			idp_gitops_commit_result *res, idp_err *err);

#endif
