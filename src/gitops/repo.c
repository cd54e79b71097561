/* Opening, locking, reading and committing, on libgit2. A commit is built
 * from HEAD's tree in an in-memory index (the working tree is never read),
 * and the branch moves by compare-and-swap: a crash leaves the old commit or
 * the new one. */
#include "gitops/gitops_private.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

static void git_stop(void)
{
	git_libgit2_shutdown();
}

static void git_start(void)
{
	git_libgit2_init();
	atexit(git_stop); /* libgit2's caches go back before the leak checker looks */
	/* An acknowledged commit survives a power cut, not only a crash. */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
}

void gitops_git_init(void)
{
	pthread_once(&git_once, git_start);
}

int gitops_git_fail(idp_err *err, int code, const char *what)
{
	const git_error *e = git_error_last();
	return idp_err_set(err, code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

void idp_gitops_files_put(idp_arena *a, idp_gitops_files *fs, const char *path, const char *content, size_t len)
{
	fs->items = idp_arena_grow(a, fs->items, fs->len, &fs->cap, sizeof(*fs->items));
	fs->items[fs->len++] = (idp_gitops_file){idp_arena_strdup(a, path), idp_arena_strndup(a, content, len), len};
}

void idp_gitops_files_delete(idp_arena *a, idp_gitops_files *fs, const char *path)
{
	fs->items = idp_arena_grow(a, fs->items, fs->len, &fs->cap, sizeof(*fs->items));
	fs->items[fs->len++] = (idp_gitops_file){idp_arena_strdup(a, path), NULL, 0};
}

const char *idp_gitops_repo_name(idp_arena *a, const char *app)
{
	return idp_arena_printf(a, "%s-gitops", app);
}

/* ---------------------------------------------------------------- lock */

/* Only idp writes these repositories, and only under this lock: a git lock
 * file found while holding it was left by a process that died, and would
 * otherwise block every later commit. */
static void remove_stale_locks(idp_gitops_repo *r)
{
	static const char *const names[] = {"index.lock", "HEAD.lock", "packed-refs.lock", "config.lock"};
	const char *gitdir = git_repository_path(r->git);
	char path[4096];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", gitdir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s%s.lock", gitdir, r->branch);
	unlink(path);
	snprintf(path, sizeof(path), "%srefs/remotes/origin/%s.lock", gitdir, r->branch + strlen("refs/heads/"));
	unlink(path); /* a killed fetch */
}

static int take_lock(idp_gitops_repo *r, int timeout_ms, bool owned, idp_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%sidp.lock", git_repository_path(r->git));
	r->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (r->lock_fd < 0)
		return idp_err_set(err, IDP_ERUNTIME, "cannot open %s: %s", path, strerror(errno));
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (flock(r->lock_fd, LOCK_EX | LOCK_NB) == 0)
			break;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long waited = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (errno != EWOULDBLOCK || waited >= timeout_ms)
			return idp_err_set(err, IDP_ERUNTIME, "%s is locked by another idp process (waited %ld ms)",
					   git_repository_workdir(r->git) ? git_repository_workdir(r->git)
									  : git_repository_path(r->git),
					   waited);
		usleep(10000);
	}
	if (owned)
		remove_stale_locks(r);
	return 0;
}

/* ---------------------------------------------------------------- open */

static int read_branch(idp_gitops_repo *r, idp_err *err)
{
	git_reference *head;
	if (git_reference_lookup(&head, r->git, "HEAD") != 0)
		return gitops_git_fail(err, IDP_ERUNTIME, "cannot read HEAD");
	const char *target = git_reference_type(head) == GIT_REFERENCE_SYMBOLIC ? git_reference_symbolic_target(head)
										 : NULL;
	if (!target || strncmp(target, "refs/heads/", 11) != 0) {
		git_reference_free(head);
		return idp_err_set(err, IDP_EINPUT, "%s: HEAD is detached; a GitOps repository works on a branch",
				   git_repository_path(r->git));
	}
	snprintf(r->branch, sizeof(r->branch), "%s", target);
	git_reference_free(head);
	return 0;
}

int idp_gitops_current_branch(idp_arena *a, const char *path, const char **out, idp_err *err)
{
	gitops_git_init();
	idp_gitops_repo probe = {NULL, {0}, -1};
	if (git_repository_open_ext(&probe.git, path, 0, NULL) != 0)
		return idp_err_set(err, IDP_EINPUT, "%s is not in a git repository", path);
	int rc = read_branch(&probe, err);
	if (rc == 0)
		*out = idp_gitops_branch(a, &probe);
	else
		idp_err_wrap(err, "give the branch with --branch");
	git_repository_free(probe.git);
	return rc;
}

int idp_gitops_open(const char *path, int timeout_ms, int flags, idp_gitops_repo **out, idp_err *err)
{
	gitops_git_init();
	idp_gitops_repo *r = idp_xcalloc(1, sizeof(*r));
	r->lock_fd = -1;
	int rc = 0;
	if (git_repository_open_ext(&r->git, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0)
		rc = idp_err_set(err, IDP_EINPUT, "%s is not a git repository", path);
	if (rc == 0)
		rc = read_branch(r, err);
	if (rc == 0)
		rc = take_lock(r, timeout_ms, (flags & IDP_GITOPS_OWNED) != 0, err);
	if (rc) {
		idp_gitops_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

const char *idp_gitops_branch(idp_arena *a, const idp_gitops_repo *r)
{
	return idp_arena_strdup(a, r->branch + strlen("refs/heads/"));
}

void idp_gitops_close(idp_gitops_repo *r)
{
	if (!r)
		return;
	if (r->lock_fd >= 0)
		close(r->lock_fd); /* releases the flock */
	git_repository_free(r->git);
	free(r);
}

/* ---------------------------------------------------------------- reading */

int gitops_lookup_commit(idp_gitops_repo *r, const char *rev, git_commit **out, idp_err *err)
{
	git_object *obj;
	if (git_revparse_single(&obj, r->git, rev) != 0)
		return idp_err_set(err, IDP_EINPUT, "unknown revision \"%s\"", rev);
	git_object *peeled;
	int rc = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc != 0)
		return idp_err_set(err, IDP_EINPUT, "revision \"%s\" is not a commit", rev);
	*out = (git_commit *)peeled;
	return 0;
}

int idp_gitops_resolve(idp_gitops_repo *r, const char *rev, char out[41], idp_err *err)
{
	git_commit *c;
	int rc = gitops_lookup_commit(r, rev, &c, err);
	if (rc)
		return rc;
	git_oid_tostr(out, 41, git_commit_id(c));
	git_commit_free(c);
	return 0;
}

int gitops_read_tree_file(git_repository *repo, git_tree *tree, const char *path, idp_buf *out, idp_err *err)
{
	git_tree_entry *e;
	if (git_tree_entry_bypath(&e, tree, path) != 0)
		return IDP_ENOTFOUND;
	git_blob *blob = NULL;
	int rc = git_tree_entry_type(e) == GIT_OBJECT_BLOB ? git_blob_lookup(&blob, repo, git_tree_entry_id(e)) : -1;
	git_tree_entry_free(e);
	if (rc != 0)
		return idp_err_set(err, IDP_EINPUT, "%s is not a file", path);
	idp_buf_append(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	return 0;
}

/* The tree of revision rev. */
static int tree_at(idp_gitops_repo *r, const char *rev, git_tree **tree, idp_err *err)
{
	git_commit *c;
	int rc = gitops_lookup_commit(r, rev, &c, err);
	if (rc)
		return rc;
	rc = git_commit_tree(tree, c) == 0 ? 0 : gitops_git_fail(err, IDP_ERUNTIME, "cannot read a commit's tree");
	git_commit_free(c);
	return rc;
}

int idp_gitops_read(idp_gitops_repo *r, const char *rev, const char *path, idp_buf *out, idp_err *err)
{
	git_tree *tree;
	int rc = tree_at(r, rev, &tree, err);
	if (rc == 0) {
		rc = gitops_read_tree_file(r->git, tree, path, out, err);
		git_tree_free(tree);
	}
	return rc;
}

typedef struct list_walk {
	git_repository *repo;
	idp_arena *a;
	const char *dir;
	idp_gitops_files *out;
	int rc;
	idp_err *err;
} list_walk;

static int list_entry(const char *root, const git_tree_entry *e, void *payload)
{
	list_walk *w = payload;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	char *path = idp_arena_printf(w->a, "%s%s", root, git_tree_entry_name(e));
	if (strncmp(path, w->dir, strlen(w->dir)) != 0)
		return 0;
	git_blob *blob;
	if (git_blob_lookup(&blob, w->repo, git_tree_entry_id(e)) != 0) {
		w->rc = gitops_git_fail(w->err, IDP_ERUNTIME, "cannot read a blob");
		return -1;
	}
	idp_gitops_files_put(w->a, w->out, path, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	return 0;
}

int gitops_list_tree(git_repository *repo, git_tree *tree, idp_arena *a, const char *dir, idp_gitops_files *out,
		     idp_err *err)
{
	list_walk w = {repo, a, dir ? dir : "", out, 0, err};
	git_tree_walk(tree, GIT_TREEWALK_PRE, list_entry, &w);
	return w.rc;
}

int idp_gitops_list(idp_gitops_repo *r, idp_arena *a, const char *rev, const char *dir, idp_gitops_files *out,
		    idp_err *err)
{
	git_tree *tree;
	int rc = tree_at(r, rev, &tree, err);
	if (rc == 0) {
		rc = gitops_list_tree(r->git, tree, a, dir, out, err);
		git_tree_free(tree);
	}
	return rc;
}

/* ---------------------------------------------------------------- committing */

static int apply_files(git_repository *repo, git_index *idx, const idp_gitops_files *fs, idp_err *err)
{
	for (size_t i = 0; i < fs->len; i++) {
		const idp_gitops_file *f = &fs->items[i];
		size_t n = strlen(f->path);
		if (!f->content) {
			if (n && f->path[n - 1] == '/') {
				char *dir = idp_xstrndup(f->path, n - 1);
				git_index_remove_directory(idx, dir, 0);
				free(dir);
			} else {
				git_index_remove(idx, f->path, 0);
			}
			continue;
		}
		git_oid blob;
		if (git_blob_create_from_buffer(&blob, repo, f->content, f->len) != 0)
			return gitops_git_fail(err, IDP_ERUNTIME, "cannot write a blob");
		git_index_entry e;
		memset(&e, 0, sizeof(e));
		e.mode = GIT_FILEMODE_BLOB;
		e.id = blob;
		e.path = f->path;
		if (git_index_add(idx, &e) != 0)
			return gitops_git_fail(err, IDP_ERUNTIME, f->path);
	}
	return 0;
}

static char *message_of(idp_arena *a, const idp_gitops_change *c)
{
	idp_buf b = IDP_BUF_INIT;
	idp_buf_puts(&b, c->summary);
	idp_buf_puts(&b, "\n");
	if (c->body && *c->body)
		idp_buf_printf(&b, "\n%s%s", c->body, c->body[strlen(c->body) - 1] == '\n' ? "" : "\n");
	if (c->trailers && c->trailers[0]) {
		idp_buf_puts(&b, "\n");
		for (const char *const *t = c->trailers; *t; t++)
			idp_buf_printf(&b, "%s\n", *t);
	}
	char *s = idp_arena_strdup(a, idp_buf_cstr(&b));
	idp_buf_free(&b);
	return s;
}

typedef struct conflicts {
	idp_buf paths;
	size_t n;
} conflicts;

static int note_conflict(git_checkout_notify_t why, const char *path, const git_diff_file *baseline,
			 const git_diff_file *target, const git_diff_file *workdir, void *payload)
{
	(void)why;
	(void)baseline;
	(void)target;
	(void)workdir;
	conflicts *c = payload;
	if (c->n++ < 5)
		idp_buf_printf(&c->paths, "%s%s", c->paths.len ? ", " : "", path);
	return 0;
}

/* Brings the working tree from the commit `from` (NULL: none) to `to`.
 * Staged changes are the user's: when the index is not `from`'s tree, the
 * working tree is left alone. A file with local edits that the commit
 * changes is left as it is too, and named in the warning. */
static const char *update_worktree(idp_gitops_repo *r, idp_arena *a, git_commit *from, git_commit *to)
{
	if (git_repository_is_bare(r->git))
		return NULL;
	git_tree *base = NULL;
	git_index *idx = NULL;
	git_diff *staged = NULL;
	const char *warning = NULL;
	if (from && git_commit_tree(&base, from) != 0)
		warning = "the working tree was not updated: cannot read the previous commit";
	if (!warning && git_repository_index(&idx, r->git) != 0)
		warning = "the working tree was not updated: cannot read the index";
	if (!warning && (git_diff_tree_to_index(&staged, r->git, base, idx, NULL) != 0 || git_diff_num_deltas(staged) > 0))
		warning = "the working tree was not updated: the index holds staged changes (see git status)";
	conflicts c = {IDP_BUF_INIT, 0};
	if (!warning) {
		git_checkout_options co;
		git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
		co.checkout_strategy = GIT_CHECKOUT_SAFE | GIT_CHECKOUT_ALLOW_CONFLICTS;
		co.baseline = base;
		co.notify_flags = GIT_CHECKOUT_NOTIFY_CONFLICT;
		co.notify_cb = note_conflict;
		co.notify_payload = &c;
		if (git_checkout_tree(r->git, (git_object *)to, &co) != 0) {
			const git_error *e = git_error_last();
			warning = idp_arena_printf(a, "the working tree was not updated: %s",
						   e && e->message ? e->message : "checkout failed");
		} else if (c.n) {
			warning = idp_arena_printf(a, "%zu file%s with local edits left as they are (%s%s): the commit has "
						      "other content there",
						   c.n, c.n == 1 ? "" : "s", idp_buf_cstr(&c.paths), c.n > 5 ? ", ..." : "");
		}
	}
	idp_buf_free(&c.paths);
	git_diff_free(staged);
	git_index_free(idx);
	git_tree_free(base);
	return warning;
}

const char *gitops_update_worktree_to(idp_gitops_repo *r, idp_arena *a, const git_oid *from, const git_oid *to)
{
	git_commit *f = NULL, *t;
	if (git_commit_lookup(&t, r->git, to) != 0)
		return "the working tree was not updated: no such commit";
	if (from && git_commit_lookup(&f, r->git, from) != 0)
		f = NULL;
	const char *w = update_worktree(r, a, f, t);
	git_commit_free(f);
	git_commit_free(t);
	return w;
}

int gitops_head(idp_gitops_repo *r, git_commit **out)
{
	git_oid id;
	if (git_reference_name_to_id(&id, r->git, r->branch) != 0) {
		*out = NULL; /* unborn branch */
		return 0;
	}
	return git_commit_lookup(out, r->git, &id);
}

static int base_tree(idp_gitops_repo *r, const idp_gitops_change *change, git_commit *head, git_tree **out,
		     idp_err *err)
{
	*out = NULL;
	if (change->tree_from) {
		git_commit *from;
		int rc = gitops_lookup_commit(r, change->tree_from, &from, err);
		if (rc)
			return rc;
		rc = git_commit_tree(out, from);
		git_commit_free(from);
		return rc ? gitops_git_fail(err, IDP_ERUNTIME, "cannot read a tree") : 0;
	}
	if (head && git_commit_tree(out, head) != 0)
		return gitops_git_fail(err, IDP_ERUNTIME, "cannot read HEAD's tree");
	return 0;
}

int idp_gitops_commit(idp_gitops_repo *r, const idp_gitops_change *change, const idp_gitops_identity *who,
		      idp_arena *a, idp_gitops_commit_result *res, idp_err *err)
{
	memset(res, 0, sizeof(*res));
	git_commit *head = NULL;
	git_tree *base = NULL, *tree = NULL, *head_tree = NULL;
	git_index *idx = NULL;
	git_signature *sig = NULL;
	git_commit *made = NULL;
	git_oid tree_id, commit_id;
	int rc = gitops_head(r, &head) == 0 ? 0 : gitops_git_fail(err, IDP_ERUNTIME, "cannot read HEAD");
	if (rc == 0)
		rc = base_tree(r, change, head, &base, err);
	if (rc == 0 && git_index_new(&idx) != 0)
		rc = gitops_git_fail(err, IDP_ERUNTIME, "cannot make an index");
	if (rc == 0 && base && git_index_read_tree(idx, base) != 0)
		rc = gitops_git_fail(err, IDP_ERUNTIME, "cannot read a tree");
	if (rc == 0)
		rc = apply_files(r->git, idx, &change->files, err);
	if (rc == 0 && git_index_write_tree_to(&tree_id, idx, r->git) != 0)
		rc = gitops_git_fail(err, IDP_ERUNTIME, "cannot write the tree");
	if (rc == 0 && head && git_commit_tree(&head_tree, head) == 0 && git_oid_equal(git_tree_id(head_tree), &tree_id)) {
		/* Nothing differs: no empty commit. */
		git_oid_tostr(res->id, sizeof(res->id), git_commit_id(head));
		goto done;
	}
	if (rc == 0 && git_tree_lookup(&tree, r->git, &tree_id) != 0)
		rc = gitops_git_fail(err, IDP_ERUNTIME, "cannot read the new tree");
	if (rc == 0 && git_signature_now(&sig, who->name, who->email) != 0)
		rc = gitops_git_fail(err, IDP_EINPUT, "bad commit identity");
	if (rc == 0) {
		const git_commit *parents[1] = {head};
		if (git_commit_create(&commit_id, r->git, NULL, sig, sig, NULL, message_of(a, change), tree, head ? 1 : 0,
				      parents) != 0)
			rc = gitops_git_fail(err, IDP_ERUNTIME, "cannot write the commit");
	}
	if (rc == 0) {
		/* Compare-and-swap: only from the HEAD this commit was built on. */
		git_reference *ref = NULL;
		int grc = head ? git_reference_create_matching(&ref, r->git, r->branch, &commit_id, 1, git_commit_id(head),
								change->summary)
			       : git_reference_create(&ref, r->git, r->branch, &commit_id, 0, change->summary);
		git_reference_free(ref);
		if (grc != 0)
			rc = gitops_git_fail(err, IDP_ERUNTIME, "cannot move the branch (did it move meanwhile?)");
	}
	if (rc == 0) {
		res->changed = true;
		git_oid_tostr(res->id, sizeof(res->id), &commit_id);
		if (git_commit_lookup(&made, r->git, &commit_id) == 0)
			res->warning = update_worktree(r, a, head, made);
	}
done:
	git_commit_free(made);
	git_signature_free(sig);
	git_index_free(idx);
	git_tree_free(tree);
	git_tree_free(head_tree);
	git_tree_free(base);
	git_commit_free(head);
	return rc;
}
