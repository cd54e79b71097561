/* Publishing to the repository's remote (origin): fetch and fast-forward,
 * make the change, push; when the push is refused because someone pushed
 * meanwhile, fetch again and make the change again on the new head, a
 * bounded number of times. Credentials come from a token file (a mounted
 * secret), never from the URL, and never reach a message. */
#include "gitops/gitops_private.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_ATTEMPTS 8

typedef struct remote_ctx {
	const idp_gitops_remote *opts;
	const char *origin; /* the remote's URL */
	int cred_calls;
	const char *rejected; /* the server's reason, when it refused a ref */
	idp_arena *a;
} remote_ctx;

/* The host of an http(s) URL (arena), or NULL. */
static const char *url_host(idp_arena *a, const char *url, bool *https)
{
	*https = strncmp(url, "https://", 8) == 0;
	if (!*https && strncmp(url, "http://", 7) != 0)
		return NULL;
	const char *h = url + (*https ? 8 : 7);
	size_t n = strcspn(h, "/:?");
	return idp_arena_strndup(a, h, n);
}

/* The token goes only to the origin's host, and over TLS unless that host
 * is this machine (tests, a local git server). */
static bool token_may_go_to(remote_ctx *rc, const char *url)
{
	bool https, origin_https;
	const char *host = url_host(rc->a, url, &https), *origin = url_host(rc->a, rc->origin, &origin_https);
	if (!host || !origin || strcmp(host, origin) != 0)
		return false;
	return https || strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 || strcmp(host, "[::1]") == 0;
}

static int credentials(git_credential **out, const char *url, const char *user_from_url, unsigned int allowed,
		       void *payload)
{
	(void)user_from_url;
	remote_ctx *rc = payload;
	if (rc->opts->token && !token_may_go_to(rc, url)) {
		git_error_set_str(GIT_ERROR_NET, "the token goes only to the remote's own host over https");
		return -1;
	}
	/* A refused token is not offered again and again. */
	if (rc->opts->token && rc->cred_calls++ > 0) {
		git_error_set_str(GIT_ERROR_NET, "the remote refused the token (--token-file)");
		return -1;
	}
	if (!rc->opts->token || !(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
		git_error_set_str(GIT_ERROR_NET, "the remote asks for credentials: give a token with --token-file");
		return -1;
	}
	return git_credential_userpass_plaintext_new(out, rc->opts->user ? rc->opts->user : "x-access-token",
						     rc->opts->token);
}

static int push_status(const char *ref, const char *status, void *payload)
{
	(void)ref;
	remote_ctx *rc = payload;
	if (status)
		rc->rejected = idp_arena_strdup(rc->a, status);
	return 0;
}

static void callbacks(git_remote_callbacks *cb, remote_ctx *ctx)
{
	cb->credentials = credentials;
	cb->push_update_reference = push_status;
	cb->payload = ctx;
}

/* A URL with credentials in it would put them in .git/config, in
 * messages and (init) in the committed Argo CD Applications: refused, as
 * are characters no URL has (it is written into YAML and config files). */
int idp_gitops_check_url(const char *url, idp_err *err)
{
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\' || *p == '#' || *p == 0x7f)
			return idp_err_set(err, IDP_EINPUT, "the remote URL holds a character no URL has (blank, quote, #)");
	if (!*url)
		return idp_err_set(err, IDP_EINPUT, "the remote URL is empty");
	const char *scheme = strstr(url, "://");
	if (!scheme)
		return 0;
	const char *host = scheme + 3, *slash = strchr(host, '/'), *at = strchr(host, '@');
	if (at && (!slash || at < slash) && strncmp(url, "ssh://", 6) != 0)
		return idp_err_set(err, IDP_EINPUT,
				   "the remote URL carries credentials; give the token with --token-file instead");
	return 0;
}

int idp_gitops_set_remote(idp_gitops_repo *r, const char *url, idp_err *err)
{
	int rc = idp_gitops_check_url(url, err);
	if (rc)
		return rc;
	git_remote *rem = NULL;
	if (git_remote_lookup(&rem, r->git, "origin") == 0) {
		git_remote_free(rem);
		if (git_remote_set_url(r->git, "origin", url) != 0)
			return gitops_git_fail(err, IDP_ERUNTIME, "cannot set the remote");
		return 0;
	}
	if (git_remote_create(&rem, r->git, "origin", url) != 0)
		return gitops_git_fail(err, IDP_ERUNTIME, "cannot add the remote");
	git_remote_free(rem);
	return 0;
}

bool idp_gitops_has_remote(idp_gitops_repo *r)
{
	git_remote *rem;
	if (git_remote_lookup(&rem, r->git, "origin") != 0)
		return false;
	git_remote_free(rem);
	return true;
}

static const char *tracking_ref(idp_arena *a, const idp_gitops_repo *r)
{
	return idp_arena_printf(a, "refs/remotes/origin/%s", r->branch + strlen("refs/heads/"));
}

static int fetch(idp_gitops_repo *r, git_remote *rem, remote_ctx *ctx, idp_err *err)
{
	git_fetch_options fo;
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	callbacks(&fo.callbacks, ctx);
	ctx->cred_calls = 0;
	char *spec = idp_arena_printf(ctx->a, "+%s:%s", r->branch, tracking_ref(ctx->a, r));
	git_strarray specs = {&spec, 1};
	if (git_remote_fetch(rem, &specs, &fo, NULL) != 0)
		return gitops_git_fail(err, IDP_ERUNTIME, "cannot fetch from the remote");
	return 0;
}

/* Moves the branch from `from` (NULL: unborn) to `to` by compare-and-swap. */
static int move_branch(idp_gitops_repo *r, const git_oid *from, const git_oid *to, const char *why, idp_err *err)
{
	git_reference *ref = NULL;
	int grc = from ? git_reference_create_matching(&ref, r->git, r->branch, to, 1, from, why)
		       : git_reference_create(&ref, r->git, r->branch, to, 0, why);
	git_reference_free(ref);
	return grc ? gitops_git_fail(err, IDP_ERUNTIME, "cannot move the branch") : 0;
}

/* After a fetch: the local branch follows the remote when it is behind.
 * Local commits the remote does not have go out with the push when the
 * remote has nothing new; when both moved, nothing is dropped: that is an
 * error to resolve by hand. */
static int align(idp_gitops_repo *r, idp_arena *a, idp_err *err)
{
	git_oid remote_id, local_id;
	if (git_reference_name_to_id(&remote_id, r->git, tracking_ref(a, r)) != 0)
		return 0; /* the remote has no such branch yet */
	bool local = git_reference_name_to_id(&local_id, r->git, r->branch) == 0;
	if (local && git_oid_equal(&local_id, &remote_id))
		return 0;
	if (local && git_graph_descendant_of(r->git, &local_id, &remote_id) == 1)
		return 0; /* ahead: our commits go out with the push */
	if (local && git_graph_descendant_of(r->git, &remote_id, &local_id) != 1)
		return idp_err_set(err, IDP_ERUNTIME,
				   "the local branch has commits the remote does not, and the remote moved on: merge or "
				   "rebase them (git pull --rebase), then try again");
	int rc = move_branch(r, local ? &local_id : NULL, &remote_id, "fast-forward to the remote", err);
	if (rc == 0)
		gitops_update_worktree_to(r, a, local ? &local_id : NULL, &remote_id);
	return rc;
}

/* Refused because the remote moved (then the change is made again), as
 * opposed to refused for good (a hook, permissions). */
static bool moved_on(int grc, const char *status)
{
	return grc == GIT_ENONFASTFORWARD ||
	       (status && (strstr(status, "non-fast-forward") || strstr(status, "fetch first") ||
			   strstr(status, "not a fast-forward")));
}

/* The directory of a file:// (or plain path) remote, or NULL. */
static const char *local_path(idp_arena *a, const char *url)
{
	if (strncmp(url, "file://", 7) == 0)
		return idp_arena_strdup(a, url + 7);
	if (strstr(url, "://"))
		return NULL;
	/* git@host:org/repo.git (scp syntax) is a network remote. */
	const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
	if (colon && (!slash || colon < slash))
		return NULL;
	return url;
}

/* libgit2 pushes to a local repository by writing its ref without checking
 * that it still holds what was fetched: two pushes at once would lose one.
 * So the objects go to a private ref, and the branch moves by
 * compare-and-swap in the remote repository itself. */
static int push_local(idp_gitops_repo *r, git_remote *rem, const char *path, remote_ctx *ctx, bool *rejected,
		      idp_err *err)
{
	git_push_options po;
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	callbacks(&po.callbacks, ctx);
	const char *tmp = idp_arena_printf(ctx->a, "refs/idp/incoming/%ld", (long)getpid());
	char *spec = idp_arena_printf(ctx->a, "+%s:%s", r->branch, tmp);
	git_strarray specs = {&spec, 1};
	int prc = git_remote_push(rem, &specs, &po);
	if (prc == GIT_ENOTFOUND || prc == GIT_ELOCKED) {
		/* Another push rewriting the remote's refs at this very moment (its
		 * lock, packed-refs) fails this one's private ref: redo, as for a
		 * branch that moved (bounded by the caller's attempts). */
		*rejected = true;
		ctx->rejected = "the remote's refs were being rewritten by another push";
		return 0;
	}
	if (prc != 0)
		return gitops_git_fail(err, IDP_ERUNTIME, "the remote refused the push");
	git_repository *remote;
	if (git_repository_open_bare(&remote, path) != 0)
		return gitops_git_fail(err, IDP_ERUNTIME, "cannot open the remote repository");
	git_oid ours, theirs;
	int rc = git_reference_name_to_id(&ours, r->git, r->branch) == 0 ? 0
									   : gitops_git_fail(err, IDP_ERUNTIME, "no branch to push");
	bool had = git_reference_name_to_id(&theirs, r->git, tracking_ref(ctx->a, r)) == 0;
	git_reference *ref = NULL;
	if (rc == 0) {
		int grc = had ? git_reference_create_matching(&ref, remote, r->branch, &ours, 1, &theirs, "idp push")
			      : git_reference_create(&ref, remote, r->branch, &ours, 0, "idp push");
		/* The branch moved since the fetch (or appeared), or another push
		 * holds its lock right now: redo on what is there then. Any other
		 * failure (permissions, I/O) is the error it is. */
		*rejected = grc == GIT_EMODIFIED || grc == GIT_EEXISTS || grc == GIT_ELOCKED;
		if (grc && !*rejected)
			rc = gitops_git_fail(err, IDP_ERUNTIME, "cannot move the remote's branch");
	}
	git_reference_free(ref);
	git_reference *t;
	if (git_reference_lookup(&t, remote, tmp) == 0) {
		git_reference_delete(t);
		git_reference_free(t);
	}
	git_repository_free(remote);
	if (rc == 0 && *rejected)
		ctx->rejected = "non-fast-forward, or its branch locked by another push";
	return rc;
}

static int push(idp_gitops_repo *r, git_remote *rem, remote_ctx *ctx, bool *rejected, idp_err *err)
{
	git_push_options po;
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	callbacks(&po.callbacks, ctx);
	ctx->cred_calls = 0;
	ctx->rejected = NULL;
	const char *path = local_path(ctx->a, git_remote_url(rem));
	if (path)
		return push_local(r, rem, path, ctx, rejected, err);
	char *spec = idp_arena_printf(ctx->a, "%s:%s", r->branch, r->branch);
	git_strarray specs = {&spec, 1};
	int grc = git_remote_push(rem, &specs, &po);
	*rejected = moved_on(grc, ctx->rejected);
	if (*rejected)
		return 0;
	if (grc)
		return gitops_git_fail(err, IDP_ERUNTIME, "the remote refused the push");
	if (ctx->rejected)
		return idp_err_set(err, IDP_ERUNTIME, "the remote refused the push: %s", ctx->rejected);
	return 0;
}

int idp_gitops_publish(idp_gitops_repo *r, idp_arena *a, const idp_gitops_remote *opts, idp_gitops_op op, void *ctx,
		       idp_gitops_commit_result *res, idp_err *err)
{
	if (!idp_gitops_has_remote(r))
		return op(r, a, ctx, res, err);
	git_remote *rem;
	if (git_remote_lookup(&rem, r->git, "origin") != 0)
		return gitops_git_fail(err, IDP_ERUNTIME, "cannot read the remote");
	int rc = idp_gitops_check_url(git_remote_url(rem), err);
	remote_ctx rctx = {opts, git_remote_url(rem), 0, NULL, a};
	for (int attempt = 0; rc == 0; attempt++) {
		git_oid before;
		if ((rc = fetch(r, rem, &rctx, err)) || (rc = align(r, a, err)))
			break;
		bool had = git_reference_name_to_id(&before, r->git, r->branch) == 0;
		if ((rc = op(r, a, ctx, res, err)))
			break;
		bool rejected = false;
		rc = push(r, rem, &rctx, &rejected, err);
		if (rc == 0 && !rejected)
			break;
		if (rc == 0 && attempt + 1 == MAX_ATTEMPTS)
			rc = idp_err_set(err, IDP_ERUNTIME, "the remote kept moving: the push was refused %d times (%s)",
					 MAX_ATTEMPTS, rctx.rejected ? rctx.rejected : "non-fast-forward");
		/* Pushes that collide would collide again at once: wait a little,
		 * longer each time, differently per process. */
		if (rc == 0)
			usleep((useconds_t)(20000 * (attempt + 1) + (getpid() % 17) * 3000));
		/* Our commit did not get out: the branch goes back to where it was
		 * (then, if the remote moved, the change is made again on its head). */
		git_oid ours;
		if (res->changed && git_reference_name_to_id(&ours, r->git, r->branch) == 0) {
			idp_err ignored = IDP_ERR_INIT;
			int mrc = had ? move_branch(r, &ours, &before, "undo: the push did not go through", &ignored)
				      : git_reference_remove(r->git, r->branch);
			if (mrc == 0 && had)
				gitops_update_worktree_to(r, a, &ours, &before);
			idp_err_clear(&ignored);
			res->changed = false;
		}
	}
	git_remote_free(rem);
	return rc;
}
