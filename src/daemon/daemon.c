/* The daemon: one event loop (the gateway's) that also serves the control
 * socket and ticks the runtime. Control requests are handled on the loop
 * thread; `up` answers only once every service of the application has a
 * ready replica, so it is parked (a waiter) while the loop probes them. */
#include "daemon/daemon.h"
#include "api/api.h"
#include "daemon/daemon_private.h"
#include "gateway/gateway.h"
#include "render/render.h"
#include "runtime/runtime.h"
#include "store/store.h"
#include "sync/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOOP_WAIT_MS 20
#define UP_TIMEOUT_S 120
#define MAX_REQUEST_BYTES (16 << 20)
#define REQUEST_WAIT_S 2.0
#define HEAL_EVERY_S 2.0
#define WAVE_TIMEOUT_S 120

/* What a file looked like: the ref watch compares these. */
typedef struct file_sig {
	long long mtime_ns, size, ino;
} file_sig;

typedef struct app {
	char *name;
	char *repo;       /* its GitOps repository */
	char *base_dir;   /* where its local: programs are */
	idp_arena *arena; /* objs */
	idp_doc_node **objs; /* desired at the last sync */
	size_t n_objs;
	char synced[41];  /* the revision synced last */
	char *ref_path, *packed_path; /* the branch's ref files, watched */
	file_sig ref_sig, packed_sig;
	double next_heal;
	double heal_backoff;  /* after a failed automatic sync: doubles up to 5 min */
	char *last_failure;   /* recorded once as an event, not every retry */
	bool dormant;         /* paused when the daemon started: not applied until resumed */
	bool index_lock_said; /* a leftover .git/index.lock was logged */
	double lock_since;    /* when the ref watch first waited for it */
	struct app *next;
} app;

typedef struct waiter {
	int fd;
	char *app;
	char *revision;
	double deadline;
	struct waiter *next;
} waiter;

typedef struct ctl {
	const idp_daemon_opts *o;
	idp_gateway_config gw_cfg;
	idp_store *store;
	idp_runtime_target *target;
	idp_gateway *gw;
	int lock_fd, listen_fd;
	app *apps;
	waiter *waiters;
	int client_fd; /* the connection progress events go to, or -1 */
	bool shutdown;
	idp_api *api; /* idp serve: the HTTP API on the gateway's loop, else NULL */
} ctl;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define logf_(...) idp_logf("daemon", __VA_ARGS__)

/* ---------------------------------------------------------------- hooks */

static void hook_starting(void *ctx, const char *service, const char *host, int port, const char *probe)
{
	ctl *d = ctx;
	idp_gateway_replica_starting(d->gw, service, host, port, probe);
}

static void hook_gone(void *ctx, const char *service, const char *host, int port)
{
	ctl *d = ctx;
	idp_gateway_replica_gone(d->gw, service, host, port);
}

static void hook_refused(void *ctx, const char *service, const char *reason)
{
	ctl *d = ctx;
	idp_gateway_scale_refused(d->gw, service, reason);
}

static int hook_generate(void *ctx, const char *app_name, const char *ns, const char *secret, const char *key,
			 idp_buf *out, idp_err *err)
{
	ctl *d = ctx;
	char scope[512];
	snprintf(scope, sizeof scope, "%s/%s", ns, secret);
	return idp_store_secret_generate(d->store, app_name, scope, key, 24, out, err);
}

static void send_event(ctl *d, const char *app_name, const char *object, const char *health, const char *message)
{
	if (d->client_fd < 0)
		return;
	idp_arena *a = idp_arena_new();
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "event", idp_doc_new_str(a, "object"));
	idp_doc_map_set(a, m, "app", idp_doc_new_str(a, app_name));
	idp_doc_map_set(a, m, "object", idp_doc_new_str(a, object));
	idp_doc_map_set(a, m, "health", idp_doc_new_str(a, health));
	idp_doc_map_set(a, m, "message", idp_doc_new_str(a, message ? message : ""));
	if (daemon_write_line(d->client_fd, m) != 0)
		d->client_fd = -1; /* the client went away; the work goes on */
	idp_arena_free(a);
}

static void hook_progress(void *ctx, const char *app_name, const char *object, const char *health, const char *message)
{
	ctl *d = ctx;
	logf_("%s %s: %s %s", app_name, object, health, message ? message : "");
	char text[2048];
	snprintf(text, sizeof text, "%s%s%s", health, message && *message ? ": " : "", message ? message : "");
	idp_store_event_add(d->store, app_name, object, "Health", text, NULL);
	send_event(d, app_name, object, health, message);
}

static void gw_scale(void *ctx, const char *service, int32_t replicas)
{
	ctl *d = ctx;
	idp_runtime_target_scale(d->target, service, replicas);
}

/* ---------------------------------------------------------------- replies */

/* The API's requests are handled as a client's, with their lines
 * collected here instead of written to a socket. */
#define SINK_FD (-2)
static idp_buf *sink;

static int write_line(int fd, const idp_doc_node *m)
{
	if (fd != SINK_FD)
		return daemon_write_line(fd, m);
	idp_err err = IDP_ERR_INIT;
	int rc = idp_doc_emit_json(m, IDP_DOC_JSON_COMPACT, sink, &err);
	idp_buf_putc(sink, '\n');
	idp_err_clear(&err);
	return rc;
}

/* An error with where it is: the message as a compiler prints it
 * (file:line:col: path: message), and the parts as fields for the API. */
static void reply_input_error(int fd, int code, const idp_err *e)
{
	idp_arena *a = idp_arena_new();
	idp_buf text = IDP_BUF_INIT;
	idp_err_format(e, &text);
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "ok", idp_doc_new_bool(a, false));
	idp_doc_map_set(a, m, "error", idp_doc_new_str(a, text.ptr));
	idp_doc_map_set(a, m, "code",
			idp_doc_new_str(a, code == IDP_EINPUT || code == IDP_EINCOMPLETE ? "input"
					   : code == IDP_ENOTFOUND		      ? "notfound"
										      : "runtime"));
	if (e->file)
		idp_doc_map_set(a, m, "file", idp_doc_new_str(a, e->file));
	if (e->line) {
		idp_doc_map_set(a, m, "line", idp_doc_new_int(a, e->line));
		idp_doc_map_set(a, m, "column", idp_doc_new_int(a, e->col));
	}
	if (e->path)
		idp_doc_map_set(a, m, "field", idp_doc_new_str(a, e->path));
	write_line(fd, m);
	idp_buf_free(&text);
	idp_arena_free(a);
}

static void reply_error(int fd, int code, const char *msg)
{
	idp_err e = {code, (char *)(msg ? msg : "failed"), NULL, 0, 0, NULL};
	reply_input_error(fd, code, &e);
}

static idp_doc_node *ok_reply(idp_arena *a)
{
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "ok", idp_doc_new_bool(a, true));
	return m;
}

/* ---------------------------------------------------------------- applications */

static app *find_app(ctl *d, const char *name)
{
	for (app *x = d->apps; x; x = x->next)
		if (strcmp(x->name, name) == 0)
			return x;
	return NULL;
}

static void free_app(app *x)
{
	free(x->last_failure);
	free(x->ref_path);
	free(x->packed_path);
	free(x->name);
	free(x->repo);
	free(x->base_dir);
	idp_arena_free(x->arena);
	free(x);
}

/* The gateway's routes from every application's objects. */
static int rebuild_routes(ctl *d, idp_err *err)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node **all = NULL;
	size_t n = 0, cap = 0;
	for (app *x = d->apps; x; x = x->next)
		for (size_t i = 0; i < x->n_objs; i++) {
			all = idp_arena_grow(a, all, n, &cap, sizeof(*all));
			all[n++] = x->objs[i];
		}
	idp_gateway_routes *r = NULL;
	int rc = idp_gateway_routes_build(&d->gw_cfg, all, n, &r, err);
	if (rc == 0)
		idp_gateway_set_routes(d->gw, r);
	idp_arena_free(a);
	return rc;
}

/* The objects the local target runs: the Application rendered with its
 * claims composed in, as Crossplane would compose them in a cluster. */
static int render_objects(idp_arena *a, const char *file, const char *text, size_t len,
			  const idp_gitops_files *claims, const char **name, idp_doc_node ***objs, size_t *n, idp_err *err)
{
	idp_doc_stream s;
	int rc = idp_doc_load(a, file, text, len, NULL, &s, err);
	if (rc)
		return rc;
	/* The claims kept in git are rendered (composed) with the Application. */
	idp_doc_node **docs = s.docs;
	size_t n_docs = s.len, cap = s.len;
	for (size_t c = 0; claims && c < claims->len; c++) {
		idp_doc_stream cs;
		rc = idp_doc_load(a, claims->items[c].path, claims->items[c].content, claims->items[c].len, NULL, &cs, err);
		for (size_t i = 0; rc == 0 && i < cs.len; i++) {
			if (docs == s.docs) {
				docs = idp_arena_alloc(a, (n_docs + 1) * sizeof(*docs));
				memcpy(docs, s.docs, n_docs * sizeof(*docs));
				cap = n_docs + 1;
			}
			docs = idp_arena_grow(a, docs, n_docs, &cap, sizeof(*docs));
			docs[n_docs++] = cs.docs[i];
		}
		if (rc)
			return rc;
	}
	*name = NULL;
	for (size_t i = 0; i < s.len && !*name; i++) {
		const char *kind = idp_doc_map_get_str(s.docs[i], "kind");
		if (kind && strcmp(kind, "Application") == 0)
			*name = idp_doc_map_get_str(idp_doc_map_get(s.docs[i], "metadata"), "name");
	}
	if (!*name)
		return idp_err_set(err, IDP_EINPUT, "%s: no OAM Application with a metadata.name in it", file);
	if (idp_name_check_dns1123_label(*name))
		return idp_err_set(err, IDP_EINPUT, "%s: metadata.name \"%s\" is no DNS-1123 label", file, *name);
	idp_render_registry *reg = idp_render_registry_new(a);
	rc = idp_render_registry_load_builtin(reg, err);
	idp_render_opts ro = IDP_RENDER_OPTS_INIT;
	ro.compose = IDP_RENDER_COMPOSE_INLINE;
	ro.unwrap_objects = true;
	if (rc == 0)
		rc = idp_render_docs(a, reg, docs, n_docs, &ro, objs, n, err);
	idp_render_registry_free(reg);
	return rc;
}

/* Commits the Application (and its rendering) to the app's GitOps
 * repository in the state directory, made on first use. */
static int commit_app(ctl *d, idp_arena *a, const char *name, const char *text, size_t len, const char **repo,
		      char revision[41], idp_err *err)
{
	const char *dir = idp_arena_printf(a, "%s/gitops", d->o->state_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return idp_err_set(err, IDP_ERUNTIME, "cannot create %s: %s", dir, strerror(errno));
	*repo = idp_arena_printf(a, "%s/%s", dir, idp_gitops_repo_name(a, name));
	idp_gitops_identity who = IDP_GITOPS_IDENTITY_DEFAULT;
	struct stat st;
	int rc = 0;
	if (stat(*repo, &st) != 0) {
		idp_gitops_init_opts io = {0};
		const char *path;
		rc = idp_gitops_init(a, name, dir, &io, d->o->renderer, &who, &path, err);
	}
	idp_gitops_repo *r = NULL;
	if (rc == 0)
		rc = idp_gitops_open(*repo, 10000, IDP_GITOPS_OWNED, &r, err);
	idp_gitops_commit_result res;
	if (rc == 0)
		rc = idp_gitops_set_application(r, a, text, len, "up", d->o->renderer, &who, &res, err);
	if (rc == 0)
		memcpy(revision, res.id, 41);
	if (r)
		idp_gitops_close(r);
	return rc;
}

static const char *req_str(const idp_doc_node *req, const char *key)
{
	return idp_doc_map_get_str(req, key);
}

/* ---------------------------------------------------------------- sync */

static void sig_of(const char *path, file_sig *out)
{
	struct stat st;
	memset(out, 0, sizeof(*out));
	if (path && stat(path, &st) == 0)
		*out = (file_sig){(long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec, (long long)st.st_size,
				  (long long)st.st_ino};
}

static bool sig_same(const file_sig *x, const file_sig *y)
{
	return x->mtime_ns == y->mtime_ns && x->size == y->size && x->ino == y->ino;
}

/* The branch's ref files, so that a commit by anyone is seen at once. */
static void watch_ref(app *x)
{
	idp_arena *a = idp_arena_new();
	const char *branch = NULL;
	idp_err err = IDP_ERR_INIT;
	if (idp_gitops_current_branch(a, x->repo, &branch, &err) != 0)
		branch = "main";
	idp_err_clear(&err);
	free(x->ref_path);
	free(x->packed_path);
	x->ref_path = idp_xstrdup(idp_arena_printf(a, "%s/.git/refs/heads/%s", x->repo, branch));
	x->packed_path = idp_xstrdup(idp_arena_printf(a, "%s/.git/packed-refs", x->repo));
	idp_arena_free(a);
}

static bool git_busy(const app *x)
{
	char lock[PATH_MAX];
	snprintf(lock, sizeof lock, "%s/.git/index.lock", x->repo);
	return access(lock, F_OK) == 0;
}

/* The desired objects at the head of x's repository. With render_on_top, an
 * OAM Application whose manifests/ do not match it is rendered and
 * committed first (Idp-Source: render), and that commit is the one synced. */
static int desired_at_head(ctl *d, app *x, idp_arena *a, bool render_on_top, idp_doc_node ***objs, size_t *n,
			   char rev[41], idp_err *err)
{
	idp_gitops_repo *r = NULL;
	idp_buf text = IDP_BUF_INIT;
	idp_gitops_files claims = {0};
	int rc = idp_gitops_open(x->repo, 10000, IDP_GITOPS_OWNED, &r, err);
	if (rc == 0)
		rc = idp_gitops_read(r, "HEAD", IDP_GITOPS_OAM_FILE, &text, err);
	if (rc == 0 && render_on_top) {
		idp_gitops_identity who = IDP_GITOPS_IDENTITY_DEFAULT;
		idp_gitops_commit_result res;
		rc = idp_gitops_set_application(r, a, idp_buf_cstr(&text), text.len, "render", d->o->renderer, &who, &res,
						err);
		if (rc == 0 && res.changed)
			logf_("%s: %s changed without its manifests: rendered and committed %.7s", x->name,
			      IDP_GITOPS_OAM_FILE, res.id);
	}
	if (rc == 0)
		rc = idp_gitops_resolve(r, "HEAD", rev, err);
	idp_gitops_files all = {0};
	if (rc == 0)
		rc = idp_gitops_list(r, a, "HEAD", "claims/", &all, err);
	for (size_t i = 0; rc == 0 && i < all.len; i++) /* claims/README.md is no claim */
		if (idp_str_has_suffix(all.items[i].path, ".yaml") || idp_str_has_suffix(all.items[i].path, ".yml"))
			idp_gitops_files_put(a, &claims, all.items[i].path, all.items[i].content, all.items[i].len);
	if (r)
		idp_gitops_close(r);
	const char *name = NULL;
	if (rc == 0)
		rc = render_objects(a, IDP_GITOPS_OAM_FILE, idp_buf_cstr(&text), text.len, &claims, &name, objs, n, err);
	if (rc == 0 && strcmp(name, x->name) != 0)
		rc = idp_err_set(err, IDP_EINPUT, "%s: %s names application %s, not %s", x->repo, IDP_GITOPS_OAM_FILE, name,
				 x->name);
	idp_buf_free(&text);
	return rc;
}

typedef struct sync_ctx {
	ctl *d;
	app *x;
	idp_arena *a;                /* the sync's: reasons handed back live here */
	idp_doc_node **live, **applied; /* live[i] as it was applied (without the live view's marks) */
	size_t n_live;
} sync_ctx;

/* The sync engine's target: the runtime, with the gateway's routes. */
static int sync_apply(void *ctx, idp_doc_node *const *objs, size_t n, idp_err *err)
{
	sync_ctx *c = ctx;
	app *x = c->x;
	idp_arena *mine = idp_arena_new(), *theirs = idp_arena_new();
	idp_doc_node **keep = idp_arena_alloc(mine, (n + 1) * sizeof(*keep));
	idp_doc_node **give = idp_arena_alloc(theirs, (n + 1) * sizeof(*give));
	for (size_t i = 0; i < n; i++) {
		/* An object the engine keeps as it is live goes back as it was
		 * applied: the live view's marks (a drifted secret's
		 * "(changed on this machine)") are never applied. */
		const idp_doc_node *o = objs[i];
		for (size_t k = 0; k < c->n_live; k++)
			if (o == c->live[k])
				o = c->applied[k];
		keep[i] = idp_doc_copy(mine, o);
		give[i] = idp_doc_copy(theirs, o);
	}
	idp_arena_free(x->arena);
	x->arena = mine;
	x->objs = keep;
	x->n_objs = n;
	int rc = rebuild_routes(c->d, err);
	if (rc == 0)
		return idp_runtime_target_apply(c->d->target, x->name, theirs, give, n, x->base_dir, err);
	idp_arena_free(theirs);
	return rc;
}

static idp_sync_health sync_health(void *ctx, const char *key, const char **why)
{
	sync_ctx *c = ctx;
	idp_arena *a = idp_arena_new();
	idp_doc_node **live;
	idp_runtime_object_status *st;
	size_t n;
	idp_err err = IDP_ERR_INIT;
	idp_sync_health h = IDP_SYNC_MISSING;
	*why = "not applied";
	if (idp_runtime_target_live(c->d->target, c->x->name, a, &live, NULL, &st, &n, &err) == 0)
		for (size_t i = 0; i < n; i++) {
			if (strcmp(idp_sync_key(a, live[i]), key) != 0)
				continue;
			const char *w = NULL;
			/* What cannot run here is reported, not waited for. */
			h = strcmp(st[i].local, "unavailable") == 0 ? IDP_SYNC_SUSPENDED : idp_sync_object_health(a, live[i], &w);
			*why = w ? idp_arena_strdup(c->a, w) : NULL; /* a is freed below */
			break;
		}
	idp_err_clear(&err);
	idp_arena_free(a);
	return h;
}

static void sync_wait(void *ctx, double seconds)
{
	sync_ctx *c = ctx;
	double until = now_s() + seconds;
	while (now_s() < until) {
		idp_gateway_run(c->d->gw, (int)(seconds * 1000) + 1);
		idp_runtime_target_tick(c->d->target);
	}
}

typedef struct sync_req {
	bool dry_run, allow_mass_prune, from_git;
	const char *source; /* "up", "auto", "manual", "self-heal" */
} sync_req;

/* Syncs x: desired (from git, or the last desired for a self-heal) against
 * live. *plan_text gets the plan; *out the result. */
static int sync_app(ctl *d, app *x, idp_arena *a, const sync_req *q, const char **plan_text, idp_sync_result *out,
		    idp_err *err)
{
	if (x->dormant && !q->dry_run)
		return idp_err_set(err, IDP_EINPUT, "%s is paused: idp resume %s first", x->name, x->name);
	/* The last desired state is x's, which an apply replaces: a copy. */
	idp_doc_node **desired = idp_arena_alloc(a, (x->n_objs + 1) * sizeof(*desired)), **live, **applied;
	size_t nd = x->n_objs, nl;
	for (size_t i = 0; i < nd; i++)
		desired[i] = idp_doc_copy(a, x->objs[i]);
	char rev[41];
	memcpy(rev, x->synced, sizeof rev);
	int rc = 0;
	if (q->from_git)
		rc = desired_at_head(d, x, a, !q->dry_run, &desired, &nd, rev, err);
	if (rc == 0)
		daemon_inject_agent_keys(d->store, x->name, a, &desired, &nd);
	idp_runtime_object_status *st;
	if (rc == 0)
		rc = idp_runtime_target_live(d->target, x->name, a, &live, &applied, &st, &nl, err);
	idp_sync_plan plan;
	if (rc == 0)
		rc = idp_sync_plan_make(a, desired, nd, live, nl, &plan, err);
	if (rc)
		return rc;
	idp_buf text = IDP_BUF_INIT;
	idp_sync_plan_print(&plan, &text);
	*plan_text = idp_arena_strndup(a, text.ptr ? text.ptr : "", text.len);
	idp_buf_free(&text);
	bool paused = false;
	idp_runtime_target_paused(d->target, x->name, &paused);
	if (paused && !q->dry_run && (plan.creates || plan.updates || plan.prunes))
		return idp_err_set(err, IDP_EINPUT, "%s is paused: idp resume %s first", x->name, x->name);
	idp_sync_opts o = IDP_SYNC_OPTS_DEFAULT;
	o.dry_run = q->dry_run;
	o.allow_mass_prune = q->allow_mass_prune;
	int64_t run_id = 0;
	bool record = !q->dry_run && (plan.creates || plan.updates || plan.prunes);
	if (record)
		idp_store_sync_begin(d->store, x->name, rev, &run_id, NULL);
	sync_ctx c = {d, x, a, live, applied, nl};
	idp_sync_target t = {&c, sync_apply, sync_health, sync_wait};
	rc = idp_sync_run(a, &plan, nl, &o, &t, WAVE_TIMEOUT_S, out, err);
	if (record) {
		idp_store_sync_end(d->store, run_id, rc ? idp_arena_printf(a, "Failed: %s", err->msg) : "Succeeded", NULL);
		logf_("%s: sync (%s) at %.7s: %s, %s", x->name, q->source, rev, out->status, out->message);
		idp_store_event_add(d->store, x->name, NULL, rc ? "SyncFailed" : "Synced",
				    rc ? idp_arena_printf(a, "sync (%s) at %.7s: %s", q->source, rev, err->msg)
				       : idp_arena_printf(a, "sync (%s) at %.7s: %s, %s", q->source, rev, out->status,
							  out->message ? out->message : ""),
				    NULL);
	}
	if (rc == 0 && !q->dry_run) {
		if (strcmp(x->synced, rev) != 0)
			idp_store_revision_add(d->store, x->name, rev, q->source, NULL);
		memcpy(x->synced, rev, sizeof rev);
		idp_store_app rec = {x->name, x->repo, rev, paused ? "Paused" : "Synced", 0};
		idp_store_app_put(d->store, &rec, NULL);
	}
	return rc;
}

static const char *base_dir_file(idp_arena *a, const ctl *d, const char *app_name)
{
	return idp_arena_printf(a, "%s/apps/%s/base_dir", d->o->state_dir, app_name);
}

static void remember_base_dir(ctl *d, const app *x)
{
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	idp_file_write_atomic(base_dir_file(a, d, x->name), x->base_dir, strlen(x->base_dir), &err);
	idp_err_clear(&err);
	idp_arena_free(a);
}

/* A daemon that starts again (after `down` of the daemon, a reboot, a
 * kill -9) runs again what it ran: every application of the store not
 * taken down, synced from its repository; a paused one stays paused. */
static void restore_apps(ctl *d)
{
	idp_arena *a = idp_arena_new();
	idp_store_app *apps;
	size_t n = 0;
	idp_err err = IDP_ERR_INIT;
	if (idp_store_app_list(d->store, a, &apps, &n, &err) != 0)
		n = 0;
	idp_err_clear(&err);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (!apps[i].gitops || stat(apps[i].gitops, &st) != 0 || (apps[i].status && strcmp(apps[i].status, "Down") == 0))
			continue;
		idp_buf base = IDP_BUF_INIT;
		bool have_base = idp_file_read(base_dir_file(a, d, apps[i].name), 4096, &base, &err) == 0;
		idp_err_clear(&err);
		app *x = idp_xcalloc(1, sizeof(*x));
		x->name = idp_xstrdup(apps[i].name);
		x->repo = idp_xstrdup(apps[i].gitops);
		x->base_dir = idp_xstrdup(have_base ? idp_buf_cstr(&base) : "/");
		x->arena = idp_arena_new();
		idp_buf_free(&base);
		x->next = d->apps;
		d->apps = x;
		watch_ref(x);
		if (apps[i].status && strcmp(apps[i].status, "Paused") == 0) {
			/* Nothing of it runs until it is resumed (or up again). */
			x->dormant = true;
			memcpy(x->synced, apps[i].revision && strlen(apps[i].revision) == 40 ? apps[i].revision : "", 41);
			logf_("%s: paused; not started (idp resume %s)", x->name, x->name);
		} else {
			sync_req q = {false, false, true, "restore"};
			const char *plan_text;
			idp_sync_result res;
			idp_arena *sa = idp_arena_new();
			int rc = sync_app(d, x, sa, &q, &plan_text, &res, &err);
			logf_("%s: restored from %s: %s", x->name, x->repo, rc ? err.msg : res.message);
			idp_err_clear(&err);
			idp_arena_free(sa);
		}
		sig_of(x->ref_path, &x->ref_sig);
		sig_of(x->packed_path, &x->packed_sig);
		x->next_heal = now_s() + HEAL_EVERY_S;
	}
	idp_arena_free(a);
	malloc_trim(0);
}

static bool req_bool(const idp_doc_node *req, const char *key)
{
	const idp_doc_node *v = idp_doc_map_get(req, key);
	return v && v->kind == IDP_DOC_BOOL && v->as.b;
}

/* adopt: {"app", "repo": a GitOps repository made elsewhere (the claim
 * workflow's), "base_dir"}: the application is run from the head of that
 * repository (loaded when new, its repository or base moved when not), then
 * synced; answered at once with the revision, readiness is watched
 * through status. Idempotent: a second adopt of the same head changes
 * nothing. */
static int op_adopt(ctl *d, int fd, const idp_doc_node *req, idp_err *err)
{
	const char *name = req_str(req, "app"), *repo = req_str(req, "repo"), *base = req_str(req, "base_dir");
	if (!name || !repo || repo[0] != '/' || (base && base[0] != '/'))
		return idp_err_set(err, IDP_EINPUT, "adopt needs app, an absolute repo and (if any) an absolute base_dir");
	struct stat st;
	if (stat(repo, &st) != 0 || !S_ISDIR(st.st_mode))
		return idp_err_set(err, IDP_ENOTFOUND, "no repository at %s", repo);
	app *x = find_app(d, name);
	if (!x) {
		x = idp_xcalloc(1, sizeof(*x));
		x->name = idp_xstrdup(name);
		x->arena = idp_arena_new();
		x->next = d->apps;
		d->apps = x;
	}
	/* Without base_dir an application keeps where its programs are. */
	base = base ? base : x->base_dir ? x->base_dir : "/";
	bool moved = x->base_dir && strcmp(x->base_dir, base) != 0;
	if (!x->repo || strcmp(x->repo, repo) != 0) {
		free(x->repo);
		x->repo = idp_xstrdup(repo);
		watch_ref(x);
	}
	if (moved)
		idp_runtime_target_remove(d->target, name, false, NULL);
	char *new_base = idp_xstrdup(base);
	free(x->base_dir);
	x->base_dir = new_base;
	x->dormant = false;
	idp_store_app rec = {name, repo, NULL, "Progressing", 0};
	int rc = idp_store_app_put(d->store, &rec, err);
	idp_arena *a = idp_arena_new();
	/* A deletion asked for by a person may prune most of what runs. */
	sync_req q = {false, req_bool(req, "allow_mass_prune"), true, "workflow"};
	const char *plan_text;
	idp_sync_result res;
	if (rc == 0)
		rc = sync_app(d, x, a, &q, &plan_text, &res, err);
	if (rc == 0) {
		remember_base_dir(d, x);
		sig_of(x->ref_path, &x->ref_sig);
		sig_of(x->packed_path, &x->packed_sig);
		x->next_heal = now_s() + HEAL_EVERY_S;
		idp_doc_node *m = ok_reply(a);
		idp_doc_map_set(a, m, "app", idp_doc_new_str(a, name));
		idp_doc_map_set(a, m, "revision", idp_doc_new_str(a, x->synced));
		write_line(fd, m);
	}
	idp_arena_free(a);
	return rc;
}

/* up: {"text": the Application's YAML, "file": its name, "base_dir": where
 * its local: programs are}. */
static int op_up(ctl *d, int fd, const idp_doc_node *req, idp_err *err)
{
	const char *text = req_str(req, "text"), *file = req_str(req, "file"), *base = req_str(req, "base_dir");
	if (!text || !file || !base || base[0] != '/')
		return idp_err_set(err, IDP_EINPUT, "up needs text, file and an absolute base_dir");
	idp_arena *a = idp_arena_new();
	const char *name;
	idp_doc_node **objs;
	size_t n;
	/* Rendered first: bad input is refused before anything is written. */
	int rc = render_objects(a, file, text, strlen(text), NULL, &name, &objs, &n, err);
	const char *repo = NULL;
	char revision[41] = "";
	if (rc == 0)
		rc = commit_app(d, a, name, text, strlen(text), &repo, revision, err);
	if (rc) {
		idp_arena_free(a);
		return rc;
	}
	send_event(d, name, "GitOps", "Healthy", idp_arena_printf(a, "%s at %.7s", repo, revision));
	app *x = find_app(d, name);
	if (!x) {
		x = idp_xcalloc(1, sizeof(*x));
		x->name = idp_xstrdup(name);
		x->arena = idp_arena_new();
		app **tail = &d->apps;
		while (*tail)
			tail = &(*tail)->next;
		*tail = x;
	}
	free(x->repo);
	x->repo = idp_xstrdup(repo);
	watch_ref(x);
	idp_store_app rec = {name, repo, revision, "Progressing", 0};
	rc = idp_store_app_put(d->store, &rec, err);
	bool paused = false;
	if (rc == 0 && idp_runtime_target_paused(d->target, name, &paused) == 0 && paused)
		rc = idp_runtime_target_resume(d->target, name, err); /* up after pause: running again */
	x->dormant = false;
	/* Programs found elsewhere now (up from another directory): apply again. */
	bool moved_base = x->base_dir && strcmp(x->base_dir, base) != 0;
	if (rc == 0 && moved_base)
		idp_runtime_target_remove(d->target, name, false, NULL);
	free(x->base_dir);
	x->base_dir = idp_xstrdup(base);
	sync_req q = {false, false, true, "up"};
	const char *plan_text;
	idp_sync_result res;
	if (rc == 0)
		rc = sync_app(d, x, a, &q, &plan_text, &res, err);
	if (rc == 0) /* for a daemon that starts again later (restore_apps) */
		remember_base_dir(d, x);
	/* The ref moved with our own commit: the watch need not sync it again. */
	sig_of(x->ref_path, &x->ref_sig);
	sig_of(x->packed_path, &x->packed_sig);
	x->next_heal = now_s() + HEAL_EVERY_S;
	const idp_doc_node *wait = idp_doc_map_get(req, "wait");
	if (rc == 0 && wait && !wait->as.b) {
		/* The API: accepted now, readiness is watched through status. */
		idp_doc_node *m = ok_reply(a);
		idp_doc_map_set(a, m, "app", idp_doc_new_str(a, name));
		idp_doc_map_set(a, m, "revision", idp_doc_new_str(a, x->synced));
		write_line(fd, m);
		idp_store_event_add(d->store, name, NULL, "Up", x->synced, NULL);
	} else if (rc == 0) {
		waiter *w = idp_xcalloc(1, sizeof(*w));
		w->fd = fd;
		w->app = idp_xstrdup(name);
		w->revision = idp_xstrdup(x->synced);
		w->deadline = now_s() + UP_TIMEOUT_S;
		w->next = d->waiters;
		d->waiters = w;
		idp_store_event_add(d->store, name, NULL, "Up", x->synced, NULL);
	}
	idp_arena_free(a);
	return rc;
}

/* sync {"app", "dry_run", "allow_mass_prune"} and diff {"app"}: the plan,
 * and for sync its result. */
static int op_sync(ctl *d, int fd, const idp_doc_node *req, bool diff_only, idp_err *err)
{
	const char *name = req_str(req, "app");
	app *x = name ? find_app(d, name) : NULL;
	if (!x)
		return idp_err_set(err, IDP_ENOTFOUND, "no application %s runs here (idp up -f APP.yaml)", name ? name : "");
	idp_arena *a = idp_arena_new();
	sync_req q = {diff_only || req_bool(req, "dry_run"), req_bool(req, "allow_mass_prune"), true, "manual"};
	const char *plan_text = "";
	idp_sync_result res = {0};
	int rc = sync_app(d, x, a, &q, &plan_text, &res, err);
	if (rc == 0) {
		idp_doc_node *m = ok_reply(a);
		idp_doc_map_set(a, m, "app", idp_doc_new_str(a, name));
		idp_doc_map_set(a, m, "status", idp_doc_new_str(a, *plan_text ? (q.dry_run ? "OutOfSync" : res.status) : "Synced"));
		idp_doc_map_set(a, m, "message", idp_doc_new_str(a, res.message ? res.message : ""));
		idp_doc_map_set(a, m, "plan", idp_doc_new_str(a, plan_text));
		write_line(fd, m);
	}
	idp_arena_free(a);
	return rc;
}

/* The ref watch and self-heal, once per loop: a moved ref syncs its
 * application now (no poll interval); every HEAL_EVERY_S, live state that
 * drifted from the last sync's desired state is applied again. */
static void reconcile(ctl *d)
{
	double now = now_s();
	for (app *x = d->apps; x; x = x->next) {
		file_sig ref, packed;
		sig_of(x->ref_path, &ref);
		sig_of(x->packed_path, &packed);
		bool moved = !sig_same(&ref, &x->ref_sig) || !sig_same(&packed, &x->packed_sig);
		bool heal = now >= x->next_heal;
		if ((!moved && !heal) || x->dormant)
			continue;
		/* A developer's git is still writing (its commit holds the index
		 * lock past the ref update): the render-on-top commit would fight
		 * it for the index, so wait for it to finish. */
		if (moved && git_busy(x)) {
			if (x->lock_since == 0)
				x->lock_since = now;
			if (!x->index_lock_said && now - x->lock_since > 10) {
				logf_("%s: %s/.git/index.lock has been there for a while: the new revision waits for it "
				      "(remove it if no git runs)", x->name, x->repo);
				x->index_lock_said = true;
			}
			if (!heal)
				continue;
			moved = false; /* heal what runs meanwhile */
		} else {
			x->index_lock_said = false;
			x->lock_since = 0;
		}
		bool paused = false;
		idp_runtime_target_paused(d->target, x->name, &paused);
		if (paused)
			continue;
		if (moved) {
			x->ref_sig = ref;
			x->packed_sig = packed;
		}
		x->next_heal = now + (x->heal_backoff > HEAL_EVERY_S ? x->heal_backoff : HEAL_EVERY_S);
		idp_arena *a = idp_arena_new();
		idp_err err = IDP_ERR_INIT;
		sync_req q = {false, false, moved, moved ? "auto" : "self-heal"};
		const char *plan_text;
		idp_sync_result res;
		if (sync_app(d, x, a, &q, &plan_text, &res, &err) != 0) {
			/* The same failure again: said once, retried less and less often. */
			const char *msg = err.msg ? err.msg : "?";
			if (!x->last_failure || strcmp(x->last_failure, msg) != 0) {
				logf_("%s: %s sync failed: %s", x->name, q.source, msg);
				idp_store_event_add(d->store, x->name, NULL, "SyncFailed", msg, NULL);
				free(x->last_failure);
				x->last_failure = idp_xstrdup(msg);
			}
			x->heal_backoff = x->heal_backoff < HEAL_EVERY_S ? 2 * HEAL_EVERY_S : fmin(2 * x->heal_backoff, 300);
			x->next_heal = now + x->heal_backoff;
		} else {
			free(x->last_failure);
			x->last_failure = NULL;
			x->heal_backoff = 0;
		}
		/* Our own render-on-top commit moved the ref again: already synced. */
		sig_of(x->ref_path, &x->ref_sig);
		sig_of(x->packed_path, &x->packed_sig);
		idp_err_clear(&err);
		idp_arena_free(a);
		if (moved)
			malloc_trim(0);
	}
}

/* The URLs of an application's Knative Services, through the gateway. */
static idp_doc_node *app_urls(ctl *d, idp_arena *a, const app *x)
{
	idp_doc_node *urls = idp_doc_new_seq(a);
	for (size_t i = 0; x && i < x->n_objs; i++) {
		const char *api = idp_doc_map_get_str(x->objs[i], "apiVersion");
		const char *kind = idp_doc_map_get_str(x->objs[i], "kind");
		const idp_doc_node *meta = idp_doc_map_get(x->objs[i], "metadata");
		const char *name = idp_doc_map_get_str(meta, "name"), *ns = idp_doc_map_get_str(meta, "namespace");
		if (!api || !kind || !name || strncmp(api, "serving.knative.dev/", 20) != 0 || strcmp(kind, "Service") != 0)
			continue;
		const char *cluster = idp_doc_map_get_str(idp_doc_map_get(meta, "labels"), "app.oam.dev/cluster");
		idp_doc_seq_push(a, urls,
				 idp_doc_new_str(a, idp_arena_printf(a, "http://%s.%s.%s%s%s:%d/", name, ns ? ns : "default",
								     cluster ? cluster : "", cluster ? "." : "",
								     d->gw_cfg.domain, idp_gateway_port(d->gw))));
	}
	return urls;
}

/* Whether every service of app has a ready replica (or cannot have one). */
typedef enum readiness { APP_READY, APP_WAITING, APP_FAILED } readiness;

/* Whether every Knative Service of app has a ready replica; a process that
 * cannot run (its program is missing) or an app taken down fails the wait,
 * with *why (in a). */
static readiness app_ready(ctl *d, idp_arena *a, const char *name, const char **why)
{
	idp_runtime_object_status *st;
	size_t n;
	idp_err err = IDP_ERR_INIT;
	*why = NULL;
	if (!find_app(d, name) || idp_runtime_target_status(d->target, name, a, &st, &n, &err) != 0) {
		idp_err_clear(&err);
		*why = idp_arena_printf(a, "%s was taken down before it was ready", name);
		return APP_FAILED;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(st[i].local, "process") != 0)
			continue;
		if (strcmp(st[i].health, "Degraded") == 0) {
			*why = idp_arena_printf(a, "%s: %s", st[i].object, st[i].message);
			return APP_FAILED;
		}
		const char *svc = strchr(st[i].object, '/'); /* Service/ns/name */
		if (svc && idp_gateway_ready_replicas(d->gw, svc + 1) < 1)
			return APP_WAITING;
	}
	return APP_READY;
}

/* Answers the `up`s waiting for their app: ready, failed, late, or (all)
 * the daemon is stopping. */
static void finish_waiters(ctl *d, bool all)
{
	for (waiter **p = &d->waiters; *p;) {
		waiter *w = *p;
		idp_arena *a = idp_arena_new();
		const char *why;
		readiness r = app_ready(d, a, w->app, &why);
		bool late = now_s() > w->deadline;
		if (r == APP_WAITING && !late && !all) {
			idp_arena_free(a);
			p = &w->next;
			continue;
		}
		if (r == APP_READY) {
			idp_doc_node *m = ok_reply(a);
			idp_doc_map_set(a, m, "app", idp_doc_new_str(a, w->app));
			idp_doc_map_set(a, m, "revision", idp_doc_new_str(a, w->revision));
			idp_doc_map_set(a, m, "urls", app_urls(d, a, find_app(d, w->app)));
			write_line(w->fd, m);
			idp_store_app rec = {w->app, NULL, NULL, "Ready", 0};
			idp_store_app_put(d->store, &rec, NULL);
		} else if (r == APP_FAILED) {
			reply_error(w->fd, IDP_ERUNTIME, why);
		} else {
			reply_error(w->fd, IDP_ERUNTIME,
				    all ? idp_arena_printf(a, "the idp daemon stopped before %s was ready", w->app)
					: idp_arena_printf(a, "%s is not ready after %d s: see idp status and idp logs %s", w->app,
							   UP_TIMEOUT_S, w->app));
		}
		idp_arena_free(a);
		close(w->fd);
		*p = w->next;
		free(w->app);
		free(w->revision);
		free(w);
	}
}

static idp_doc_node *status_of(ctl *d, idp_arena *a, const char *name)
{
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "name", idp_doc_new_str(a, name));
	bool paused = false;
	idp_runtime_target_paused(d->target, name, &paused);
	const app *ax = find_app(d, name);
	paused = paused || (ax && ax->dormant);
	idp_store_app rec;
	idp_err err = IDP_ERR_INIT;
	if (idp_store_app_get(d->store, a, name, &rec, &err) == 0 && rec.revision)
		idp_doc_map_set(a, m, "revision", idp_doc_new_str(a, rec.revision));
	idp_err_clear(&err);
	idp_doc_map_set(a, m, "paused", idp_doc_new_bool(a, paused));
	idp_doc_map_set(a, m, "urls", app_urls(d, a, find_app(d, name)));
	idp_doc_node *objs = idp_doc_new_seq(a);
	idp_runtime_object_status *st;
	size_t n = 0;
	if (idp_runtime_target_status(d->target, name, a, &st, &n, &err) != 0)
		idp_err_clear(&err);
	const app *x = find_app(d, name);
	for (size_t i = 0; i < n; i++) {
		idp_doc_node *o = idp_doc_new_map(a);
		idp_doc_map_set(a, o, "object", idp_doc_new_str(a, st[i].object));
		/* The target holds the objects in the order the sync gave them. */
		const idp_doc_node *labels =
			x && i < x->n_objs ? idp_doc_map_get(idp_doc_map_get(x->objs[i], "metadata"), "labels") : NULL;
		const char *component = idp_doc_map_get_str(labels, "app.oam.dev/component");
		if (!component) /* a resource composed for a claim: the claim's */
			component = idp_doc_map_get_str(labels, "crossplane.io/claim-name");
		if (component)
			idp_doc_map_set(a, o, "component", idp_doc_new_str(a, component));
		idp_doc_map_set(a, o, "local", idp_doc_new_str(a, st[i].local));
		idp_doc_map_set(a, o, "health", idp_doc_new_str(a, st[i].health));
		idp_doc_map_set(a, o, "message", idp_doc_new_str(a, st[i].message));
		if (st[i].address)
			idp_doc_map_set(a, o, "address", idp_doc_new_str(a, st[i].address));
		if (st[i].port > 0)
			idp_doc_map_set(a, o, "port", idp_doc_new_int(a, st[i].port));
		if (strcmp(st[i].local, "process") == 0) {
			idp_doc_map_set(a, o, "replicas", idp_doc_new_int(a, st[i].replicas));
			/* Replicas that passed their readiness probe (Service/ns/name). */
			const char *svc = strchr(st[i].object, '/');
			idp_doc_map_set(a, o, "ready", idp_doc_new_int(a, svc ? idp_gateway_ready_replicas(d->gw, svc + 1) : 0));
		}
		idp_doc_seq_push(a, objs, o);
	}
	idp_doc_map_set(a, m, "objects", objs);
	daemon_add_health(a, m, objs, paused);
	return m;
}

static int op_status(ctl *d, int fd, const idp_doc_node *req, idp_err *err)
{
	const char *only = req_str(req, "app");
	if (only && !find_app(d, only))
		return idp_err_set(err, IDP_ENOTFOUND, "no application %s runs here", only);
	idp_arena *a = idp_arena_new();
	idp_doc_node *m = ok_reply(a);
	idp_doc_node *apps = idp_doc_new_seq(a);
	for (app *x = d->apps; x; x = x->next)
		if (!only || strcmp(only, x->name) == 0)
			idp_doc_seq_push(a, apps, status_of(d, a, x->name));
	idp_doc_map_set(a, m, "apps", apps);
	idp_doc_map_set(a, m, "gateway",
			idp_doc_new_str(a, idp_arena_printf(a, "%s:%d", d->o->listen_host, idp_gateway_port(d->gw))));
	idp_doc_map_set(a, m, "pid", idp_doc_new_int(a, getpid()));
	write_line(fd, m);
	idp_arena_free(a);
	return 0;
}

/* The applications an op is for: the one named, else all. */
static int for_apps(ctl *d, const idp_doc_node *req, int (*fn)(ctl *, app *, const idp_doc_node *, idp_err *),
		    idp_err *err)
{
	const char *only = req_str(req, "app");
	if (only && !find_app(d, only))
		return idp_err_set(err, IDP_ENOTFOUND, "no application %s runs here", only);
	for (app *x = d->apps, *next; x; x = next) {
		next = x->next;
		if (only && strcmp(only, x->name) != 0)
			continue;
		int rc = fn(d, x, req, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int pause_one(ctl *d, app *x, const idp_doc_node *req, idp_err *err)
{
	(void)req;
	if (x->dormant)
		return 0; /* paused already, nothing of it runs */
	int rc = idp_runtime_target_pause(d->target, x->name, err);
	idp_store_app rec = {x->name, NULL, NULL, "Paused", 0};
	if (rc == 0)
		rc = idp_store_app_put(d->store, &rec, err);
	if (rc == 0)
		send_event(d, x->name, "Application", "Suspended", "every process and daemon stopped; data kept");
	return rc;
}

static int resume_one(ctl *d, app *x, const idp_doc_node *req, idp_err *err)
{
	(void)req;
	if (x->dormant) { /* paused when the daemon started: applied now */
		x->dormant = false;
		idp_arena *a = idp_arena_new();
		sync_req q = {false, false, true, "resume"};
		const char *plan_text;
		idp_sync_result res;
		int rc = sync_app(d, x, a, &q, &plan_text, &res, err);
		idp_arena_free(a);
		x->dormant = rc != 0;
		if (rc)
			return rc;
		idp_store_app rec = {x->name, NULL, NULL, "Ready", 0};
		return idp_store_app_put(d->store, &rec, err);
	}
	int rc = idp_runtime_target_resume(d->target, x->name, err);
	idp_store_app rec = {x->name, NULL, NULL, "Ready", 0};
	if (rc == 0)
		rc = idp_store_app_put(d->store, &rec, err);
	return rc;
}

static int remove_tree(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int down_one(ctl *d, app *x, const idp_doc_node *req, idp_err *err)
{
	const idp_doc_node *purge_node = idp_doc_map_get(req, "purge");
	bool purge = purge_node && purge_node->kind == IDP_DOC_BOOL && purge_node->as.b;
	int rc = x->dormant && !purge ? 0 : idp_runtime_target_remove(d->target, x->name, purge, err);
	if (rc == 0 && purge) {
		struct stat st;
		if (lstat(x->repo, &st) == 0 && nftw(x->repo, remove_tree, 16, FTW_DEPTH | FTW_PHYS) != 0)
			rc = idp_err_set(err, IDP_ERUNTIME, "cannot remove %s: %s", x->repo, strerror(errno));
		if (rc == 0)
			rc = idp_store_app_delete(d->store, x->name, err);
	} else if (rc == 0) {
		idp_store_app rec = {x->name, NULL, NULL, "Down", 0};
		rc = idp_store_app_put(d->store, &rec, err);
	}
	if (rc)
		return rc;
	send_event(d, x->name, "Application", "Missing", purge ? "stopped; its data, secrets and repository removed"
								: "stopped; data kept (down --purge removes it)");
	for (app **p = &d->apps; *p; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			break;
		}
	free_app(x);
	return rebuild_routes(d, err);
}

static int op_simple(ctl *d, int fd, const idp_doc_node *req,
		     int (*fn)(ctl *, app *, const idp_doc_node *, idp_err *), idp_err *err)
{
	int rc = for_apps(d, req, fn, err);
	if (rc == 0) {
		idp_arena *a = idp_arena_new();
		write_line(fd, ok_reply(a));
		idp_arena_free(a);
	}
	return rc;
}

/* The fields a request may carry have their types: {"op":"down","app":7}
 * must not read as "every application". */
static int check_request(const idp_doc_node *req, idp_err *err)
{
	static const char *const strings[] = {"op", "app", "text", "file", "base_dir", "repo"};
	static const char *const bools[] = {"purge", "dry_run", "allow_mass_prune", "wait"};
	for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
		const idp_doc_node *v = idp_doc_map_get(req, strings[i]);
		if (v && v->kind != IDP_DOC_STR)
			return idp_err_set(err, IDP_EINPUT, "request field %s must be a string", strings[i]);
	}
	for (size_t i = 0; i < sizeof bools / sizeof *bools; i++) {
		const idp_doc_node *v = idp_doc_map_get(req, bools[i]);
		if (v && v->kind != IDP_DOC_BOOL)
			return idp_err_set(err, IDP_EINPUT, "request field %s must be true or false", bools[i]);
	}
	const char *name = idp_doc_map_get_str(req, "app");
	if (name && idp_name_check_dns1123_label(name))
		return idp_err_set(err, IDP_EINPUT, "\"%s\" is no application name (a DNS-1123 label)", name);
	return 0;
}

/* Handles one request; *keep: the connection now belongs to a waiter. */
static void handle(ctl *d, int fd, const char *line, size_t len, bool *keep)
{
	idp_arena *a = idp_arena_new();
	idp_err err = IDP_ERR_INIT;
	idp_doc_stream s;
	*keep = false;
	int rc = idp_doc_load(a, "request", line, len, NULL, &s, &err);
	const char *op = rc == 0 && s.len == 1 ? req_str(s.docs[0], "op") : NULL;
	if (rc == 0 && !op)
		rc = idp_err_set(&err, IDP_EINPUT, "a request is one JSON object with an \"op\"");
	if (rc == 0)
		rc = check_request(s.docs[0], &err);
	d->client_fd = fd;
	if (rc == 0) {
		const idp_doc_node *req = s.docs[0];
		logf_("request %s", op);
		if (strcmp(op, "up") == 0) {
			rc = op_up(d, fd, req, &err);
			const idp_doc_node *wait = idp_doc_map_get(req, "wait");
			*keep = rc == 0 && !(wait && !wait->as.b);
		} else if (strcmp(op, "status") == 0) {
			rc = op_status(d, fd, req, &err);
		} else if (strcmp(op, "adopt") == 0) {
			rc = op_adopt(d, fd, req, &err);
		} else if (strcmp(op, "sync") == 0) {
			rc = op_sync(d, fd, req, false, &err);
		} else if (strcmp(op, "diff") == 0) {
			rc = op_sync(d, fd, req, true, &err);
		} else if (strcmp(op, "pause") == 0) {
			rc = op_simple(d, fd, req, pause_one, &err);
		} else if (strcmp(op, "resume") == 0) {
			rc = op_simple(d, fd, req, resume_one, &err);
		} else if (strcmp(op, "down") == 0 && req_str(req, "app") && !find_app(d, req_str(req, "app"))) {
			/* Not loaded (down already, or paused before a restart): the record. */
			rc = daemon_forget_app(d->store, d->o->state_dir, req_str(req, "app"), req_bool(req, "purge"), &err);
			if (rc == 0)
				write_line(fd, ok_reply(a));
		} else if (strcmp(op, "down") == 0) {
			rc = op_simple(d, fd, req, down_one, &err);
			d->shutdown = rc == 0 && !req_str(req, "app");
		} else if (strcmp(op, "shutdown") == 0) {
			write_line(fd, ok_reply(a));
			d->shutdown = true;
		} else {
			rc = idp_err_set(&err, IDP_EINPUT, "unknown op \"%s\" (up, adopt, status, sync, diff, pause, resume, down, shutdown)",
					 op);
		}
	}
	d->client_fd = -1;
	if (rc) {
		logf_("request failed: %s", err.msg ? err.msg : "?");
		reply_input_error(fd, rc, &err);
	}
	idp_err_clear(&err);
	idp_arena_free(a);
}

/* The API's backend: a request handled as a client's, its reply lines
 * collected; the last one is the answer. */
static int api_call(void *ctx, idp_arena *a, const idp_doc_node *req, idp_doc_node **reply, idp_err *err)
{
	ctl *d = ctx;
	idp_buf line = IDP_BUF_INIT, out = IDP_BUF_INIT;
	int rc = idp_doc_emit_json(req, IDP_DOC_JSON_COMPACT, &line, err);
	if (rc) {
		idp_buf_free(&line);
		return rc;
	}
	idp_buf *outer = sink; /* (a sync may run the loop, and the API with it) */
	sink = &out;
	int client = d->client_fd;
	bool keep = false;
	handle(d, SINK_FD, line.ptr, line.len, &keep);
	d->client_fd = client;
	sink = outer;
	idp_buf_free(&line);
	/* The last line is the answer. */
	size_t end = out.len;
	while (end > 0 && out.ptr[end - 1] == '\n')
		end--;
	size_t start = end;
	while (start > 0 && out.ptr[start - 1] != '\n')
		start--;
	idp_doc_stream s;
	rc = end > start ? idp_doc_load(a, "daemon reply", out.ptr + start, end - start, NULL, &s, err)
			 : idp_err_set(err, IDP_ERUNTIME, "the daemon gave no answer");
	idp_buf_free(&out);
	if (rc)
		return rc;
	*reply = s.docs[0];
	const idp_doc_node *ok = idp_doc_map_get(*reply, "ok");
	if (ok && ok->kind == IDP_DOC_BOOL && ok->as.b)
		return 0;
	const char *code = idp_doc_map_get_str(*reply, "code"), *msg = idp_doc_map_get_str(*reply, "error");
	rc = idp_err_set(err,
			 code && strcmp(code, "input") == 0      ? IDP_EINPUT
			 : code && strcmp(code, "notfound") == 0 ? IDP_ENOTFOUND
								 : IDP_ERUNTIME,
			 "%s", msg ? msg : "failed");
	const char *file = idp_doc_map_get_str(*reply, "file"), *field = idp_doc_map_get_str(*reply, "field");
	const idp_doc_node *ln = idp_doc_map_get(*reply, "line"), *col = idp_doc_map_get(*reply, "column");
	if (err && !err->file && file) { /* (the message says it too) */
		err->file = idp_xstrdup(file);
		err->line = ln && ln->kind == IDP_DOC_INT ? (uint32_t)ln->as.i : 0;
		err->col = col && col->kind == IDP_DOC_INT ? (uint32_t)col->as.i : 0;
	}
	if (err && !err->path && field)
		err->path = idp_xstrdup(field);
	return rc;
}

/* Reads one request line (the client sends it at once) and handles it. */
static void serve_client(ctl *d, int fd)
{
	idp_buf in = IDP_BUF_INIT;
	char chunk[65536];
	/* The CLI sends its line at once; a client that does not holds the loop
	 * (and the gateway) for REQUEST_WAIT_S at most. */
	double until = now_s() + REQUEST_WAIT_S;
	char *nl = NULL;
	bool closed = false;
	while (!nl && !closed && in.len <= MAX_REQUEST_BYTES && now_s() < until) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t r = recv(fd, chunk, sizeof chunk, 0);
		closed = r <= 0;
		if (r > 0) {
			idp_buf_append(&in, chunk, (size_t)r);
			nl = memchr(in.ptr + (in.len - (size_t)r), '\n', (size_t)r);
		}
	}
	bool keep = false;
	if (nl)
		handle(d, fd, in.ptr, (size_t)(nl - in.ptr), &keep);
	else if (in.len > MAX_REQUEST_BYTES)
		reply_error(fd, IDP_EINPUT, "the request is larger than 16 MiB");
	else if (!closed)
		reply_error(fd, IDP_EINPUT, "no whole request line arrived in time");
	idp_buf_free(&in);
	/* A render or a sync frees megabytes of arenas: give them back, the
	 * daemon idles for long between requests. */
	malloc_trim(0);
	if (!keep)
		close(fd);
}

static void accept_clients(ctl *d)
{
	for (;;) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		/* Blocking from here: a request is handled whole. */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		serve_client(d, fd);
		if (d->shutdown)
			return;
	}
}

/* ---------------------------------------------------------------- set-up */

/* 127.<net>.0.0/16 of this state directory: its path's hash (never 0 or 1,
 * which the machine and the tests' fixed addresses use). */
static unsigned net_of(const char *state_dir)
{
	unsigned h = 2166136261u;
	for (const char *c = state_dir; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return 2 + h % 252;
}

static int lock_state(ctl *d, idp_err *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/daemon.lock", d->o->state_dir);
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		return idp_err_set(err, IDP_ERUNTIME, "cannot open %s: %s", path, strerror(errno));
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return idp_err_set(err, IDP_ERUNTIME, "another idp daemon runs for %s", d->o->state_dir);
	return 0;
}

/* Listening last: a client that reaches the daemon finds its gateway port
 * written (STATE/gateway.port). */
static int listen_control(ctl *d, idp_err *err)
{
	struct sockaddr_un sun;
	int rc = daemon_socket_addr(d->o->state_dir, &sun, err);
	if (rc)
		return rc;
	unlink(sun.sun_path); /* ours: we hold the lock */
	d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->listen_fd < 0 || bind(d->listen_fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
	    chmod(sun.sun_path, 0600) != 0 || listen(d->listen_fd, 64) != 0)
		return idp_err_set(err, IDP_ERUNTIME, "cannot listen on %s: %s", sun.sun_path, strerror(errno));
	return 0;
}

static void close_control(ctl *d)
{
	if (d->listen_fd < 0)
		return;
	struct sockaddr_un sun;
	if (daemon_socket_addr(d->o->state_dir, &sun, NULL) == 0)
		unlink(sun.sun_path);
	close(d->listen_fd);
	d->listen_fd = -1;
}

static void write_port_file(ctl *d)
{
	char path[PATH_MAX], text[32];
	snprintf(path, sizeof path, "%s/gateway.port", d->o->state_dir);
	int n = snprintf(text, sizeof text, "%d\n", idp_gateway_port(d->gw));
	idp_err err = IDP_ERR_INIT;
	idp_file_write_atomic(path, text, (size_t)n, &err);
	idp_err_clear(&err);
}

/* idp serve: the API on the gateway's loop; the gateway forwards /api,
 * /slack and /oam to it. */
static int start_api(ctl *d, idp_err *err)
{
	idp_api_config c = {d->store,	   d->o->state_dir,	   0, d->o->state_dir, d->o->renderer, 0,
			    d->o->slack_signing_secret, d->o->slack_webhook_url};
	idp_api_backend b = {d, api_call};
	bool direct = d->o->api_port >= 0;
	const char *host = direct && d->o->api_host ? d->o->api_host : "127.0.0.1";
	int rc = idp_api_new(&c, idp_gateway_loop(d->gw), host, direct ? d->o->api_port : 0, &b, &d->api, err);
	if (rc)
		return rc;
	char url[64], path[PATH_MAX], text[32];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", idp_api_port(d->api));
	rc = idp_gateway_set_api(d->gw, url, err);
	snprintf(path, sizeof path, "%s/api.port", d->o->state_dir);
	int n = snprintf(text, sizeof text, "%d\n", idp_api_port(d->api));
	if (rc == 0)
		rc = idp_file_write_atomic(path, text, (size_t)n, err);
	if (rc == 0)
		logf_("API on %s:%d%s", host, idp_api_port(d->api), direct ? "" : " (through the gateway)");
	return rc;
}

static void run_loop(ctl *d)
{
	while (!stop_signal && !d->shutdown) {
		idp_gateway_run(d->gw, LOOP_WAIT_MS);
		if (d->api)
			idp_api_process(d->api);
		accept_clients(d);
		idp_runtime_target_tick(d->target);
		reconcile(d);
		if (d->waiters)
			finish_waiters(d, false);
	}
}

int idp_daemon_run(const idp_daemon_opts *o, idp_err *err)
{
	ctl d = {.o = o, .lock_fd = -1, .listen_fd = -1, .client_fd = -1};
	umask(077); /* state, secrets and logs are the owner's */
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int rc = idp_store_open(o->state_dir, &d.store, err);
	if (rc == 0)
		rc = lock_state(&d, err);
	if (rc == 0) {
		idp_gateway_config_defaults(&d.gw_cfg);
		d.gw_cfg.domain = o->domain ? o->domain : "localhost";
		d.gw_cfg.skip_foreign_destinations = true; /* e.g. to a Deployment run as a daemon */
		if (o->stable_window_s > 0)
			d.gw_cfg.kpa_defaults.stable_window_s = o->stable_window_s;
		if (o->grace_s > 0)
			d.gw_cfg.kpa_defaults.scale_to_zero_grace_s = o->grace_s;
		idp_gateway_scaler scaler = {&d, gw_scale};
		rc = idp_gateway_new(&d.gw_cfg, o->listen_host ? o->listen_host : "127.0.0.1", o->listen_port, &scaler, &d.gw,
				     err);
	}
	if (rc == 0) {
		/* A state directory of root's is opened to nobody (x only) for PostgreSQL. */
		if (geteuid() == 0)
			chmod(o->state_dir, 0711);
		idp_runtime_hooks hooks = {&d, hook_starting, hook_gone, hook_refused, hook_generate, hook_progress};
		d.target = idp_runtime_target_new(o->state_dir, net_of(o->state_dir), &hooks);
		write_port_file(&d);
		rc = o->api ? start_api(&d, err) : 0;
		if (rc == 0)
			rc = listen_control(&d, err);
	}
	if (rc == 0) {
		restore_apps(&d);
		logf_("pid %d, gateway on %s:%d, state %s", (int)getpid(), o->listen_host ? o->listen_host : "127.0.0.1",
		      idp_gateway_port(d.gw), o->state_dir);
		run_loop(&d);
		logf_("stopping (%s)", stop_signal ? "signal" : "request");
		finish_waiters(&d, true);
		close_control(&d); /* no new client waits for a daemon that is going */
	}
	idp_api_free(d.api); /* on the gateway's loop: before it */
	d.api = NULL;
	if (d.target)
		idp_runtime_target_free(d.target);
	while (d.apps) {
		app *x = d.apps;
		d.apps = x->next;
		free_app(x);
	}
	if (d.gw)
		idp_gateway_free(d.gw);
	close_control(&d);
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	if (d.store)
		idp_store_close(d.store);
	return rc;
}
