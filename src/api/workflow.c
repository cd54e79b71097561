/* The claim workflow: the original's microservice-standard-contract (an
 * Argo Workflow of shell-script Jobs) as a state machine in the store. Each
 * step is idempotent and recorded before the next begins, so a process
 * killed at any point resumes at the step it was in and creates nothing
 * twice: a repository that exists is kept, a scaffolded service is the
 * developer's, a component that is there is not added again, a sync of the
 * same head changes nothing. */
#include "api/api.h"
#include "api/api_private.h"
#include "render/render.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONTAINER "health-service-idp"
#define DEFAULT_WAIT_S 300.0

typedef enum step_id { VALIDATE, CONTAINER, SCAFFOLD, UPDATE_OAM, SYNC, WAIT, NOTIFY, N_STEPS } step_id;

static const char *const step_names[N_STEPS] = {"validate", "container", "scaffold", "update-oam",
						"sync",     "wait",      "notify"};

/* The languages the scaffold has a template for (templates/). */
static const char *const scaffold_languages[] = {"python", "c"};

const char *idp_api_workflow_step_name(int step)
{
	return step >= 0 && step < N_STEPS ? step_names[step] : "done";
}

/* What a workflow works on, read from its claim. */
typedef struct claim_info {
	const idp_doc_node *doc;
	const char *kind;
	bool service;  /* an ApplicationClaim: a service with source; else a claim filed and composed */
	const char *name, *container, *language, *framework, *ns;
	bool oam_driven; /* it came from an OAM Application (the webhook): that file deploys it */
} claim_info;

static const char *spec_str(const idp_doc_node *claim, const char *key)
{
	return idp_doc_map_get_str(idp_doc_map_get(claim, "spec"), key);
}

static void read_claim(const idp_doc_node *doc, claim_info *c)
{
	c->doc = doc;
	c->kind = idp_doc_map_get_str(doc, "kind");
	c->service = c->kind && strcmp(c->kind, "ApplicationClaim") == 0;
	/* A service is named by spec.name (its component); other claims by
	 * their metadata.name (what Crossplane labels their objects with). */
	c->name = c->service ? spec_str(doc, "name") : idp_doc_map_get_str(idp_doc_map_get(doc, "metadata"), "name");
	c->container = c->kind && strcmp(c->kind, "AppContainerClaim") == 0 ? spec_str(doc, "name")
		       : spec_str(doc, "appContainer")			    ? spec_str(doc, "appContainer")
										    : DEFAULT_CONTAINER;
	c->language = spec_str(doc, "language");
	c->framework = spec_str(doc, "framework");
	c->ns = spec_str(doc, "namespace") ? spec_str(doc, "namespace") : "default";
	const char *source = idp_doc_map_get_str(idp_doc_map_get(idp_doc_map_get(doc, "metadata"), "annotations"),
						 "webservice.oam.dev/source");
	c->oam_driven = source && strcasecmp(source, "oam-driven") == 0;
}

static const char *source_dir(idp_arena *a, const idp_api_workflow_env *env, const claim_info *c)
{
	return idp_arena_printf(a, "%s/repos/%s", env->state_dir, c->container);
}

static const char *gitops_dir(idp_arena *a, const idp_api_workflow_env *env, const claim_info *c)
{
	return idp_api_container_repo(a, env, c->container);
}

static int make_dir(const char *path, idp_err *err)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return idp_err_set(err, IDP_ERUNTIME, "cannot make %s: %s", path, strerror(errno));
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* ---------------------------------------------------------------- validation */

/* The claim as its XRD accepts it (strictly: an unknown field is an error,
 * at its place), of a kind the workflow handles, in a language the
 * scaffold has a template for: checked before anything is created. */
static const char *const claim_kinds[] = {"ApplicationClaim", "AppContainerClaim", "RealtimePlatformClaim",
					   "VClusterEnvironmentClaim", NULL};

static int validate(idp_arena *a, const idp_doc_node *doc, claim_info *c, idp_err *err)
{
	const char *kind = idp_doc_map_get_str(doc, "kind");
	bool known_kind = false;
	for (const char *const *k = claim_kinds; kind && *k; k++)
		known_kind = known_kind || strcmp(kind, *k) == 0;
	if (!known_kind)
		return idp_err_at(err, doc->pos, "kind",
				  "the claim workflow takes an ApplicationClaim, AppContainerClaim, RealtimePlatformClaim or "
				  "VClusterEnvironmentClaim, not %s",
				  kind ? kind : "a document without a kind");
	idp_render_registry *reg = idp_render_registry_new(a);
	idp_render_opts o = IDP_RENDER_OPTS_INIT;
	idp_doc_node **objs;
	size_t n;
	idp_doc_node *docs[1] = {(idp_doc_node *)doc};
	int rc = idp_render_registry_load_builtin(reg, err);
	if (rc == 0)
		rc = idp_render_docs(a, reg, docs, 1, &o, &objs, &n, err);
	idp_render_registry_free(reg);
	if (rc)
		return rc;
	read_claim(doc, c);
	if (!c->service) {
		if (!c->name || idp_name_check_dns1123_label(c->name))
			return idp_err_at(err, doc->pos, "metadata.name", "the claim needs metadata.name, a DNS-1123 label");
		if (!c->container || idp_name_check_dns1123_label(c->container))
			return idp_err_at(err, doc->pos, "spec", "no application container for the claim (a DNS-1123 label)");
		return 0;
	}
	if (!c->name)
		return idp_err_at(err, doc->pos, "spec.name", "the claim needs spec.name (the service's name)");
	bool known = false;
	for (size_t i = 0; i < sizeof scaffold_languages / sizeof *scaffold_languages; i++)
		known = known || (c->language && strcmp(c->language, scaffold_languages[i]) == 0);
	if (!known) {
		const idp_doc_node *lang = idp_doc_map_get(idp_doc_map_get(doc, "spec"), "language");
		return idp_err_at(err, lang ? lang->pos : doc->pos, "spec.language",
				  "no scaffold template for language %s (there are: python, c)",
				  c->language ? c->language : "(none)");
	}
	return 0;
}

/* The claim as the platform files it: api-driven unless it says otherwise
 * (it came from a developer's request, so its component may be added). */
static idp_doc_node *api_driven(idp_arena *a, const idp_doc_node *doc)
{
	idp_doc_node *copy = idp_doc_copy(a, doc);
	idp_doc_node *meta = idp_doc_map_get(copy, "metadata");
	if (!meta || meta->kind != IDP_DOC_MAP) {
		meta = idp_doc_new_map(a);
		idp_doc_map_set(a, copy, "metadata", meta);
	}
	if (!idp_doc_map_get(meta, "name"))
		idp_doc_map_set(a, meta, "name", idp_doc_new_str(a, spec_str(doc, "name") ? spec_str(doc, "name") : "claim"));
	idp_doc_node *ann = idp_doc_map_get(meta, "annotations");
	if (!ann || ann->kind != IDP_DOC_MAP) {
		ann = idp_doc_new_map(a);
		idp_doc_map_set(a, meta, "annotations", ann);
	}
	if (!idp_doc_map_get(ann, "webservice.oam.dev/source"))
		idp_doc_map_set(a, ann, "webservice.oam.dev/source", idp_doc_new_str(a, "api-driven"));
	return copy;
}

int idp_api_workflow_start(const idp_api_workflow_env *env, idp_arena *a, const idp_doc_node *claim,
			   const char *origin, int64_t *id, bool *existing, idp_err *err)
{
	claim_info c;
	*existing = false;
	int rc = validate(a, claim, &c, err);
	if (rc)
		return rc;
	/* The same claim asked for again while its workflow runs: that one. */
	if (idp_store_workflow_find(env->store, c.kind, c.name, c.container, "Running", id, NULL) == 0) {
		*existing = true;
		return 0;
	}
	idp_doc_node *filed = c.service ? api_driven(a, claim) : (idp_doc_node *)claim;
	idp_buf yaml = IDP_BUF_INIT;
	rc = idp_doc_emit_yaml(&filed, 1, &yaml, err);
	if (rc == 0)
		rc = idp_store_workflow_add(env->store, c.kind, c.name, c.container, yaml.ptr, origin, id, err);
	idp_buf_free(&yaml);
	if (rc == 0)
		idp_store_event_add(env->store, c.container, idp_arena_printf(a, "%s/%s", c.kind, c.name), "Workflow",
				    idp_arena_printf(a, "workflow %lld started (%s)", (long long)*id, origin), NULL);
	return rc;
}

/* ---------------------------------------------------------------- steps */

static const idp_gitops_identity who = IDP_GITOPS_IDENTITY_DEFAULT;

static int step_container(const idp_api_workflow_env *env, idp_arena *a, const claim_info *c, const char **msg,
			  idp_err *err)
{
	const char *repo = gitops_dir(a, env, c);
	struct stat st;
	if (stat(idp_arena_printf(a, "%s/.git", repo), &st) == 0) {
		/* Made: it has its first commit (init makes .git before it). */
		idp_gitops_repo *r = NULL;
		char head[41];
		idp_err ignored = IDP_ERR_INIT;
		bool made = idp_gitops_open(repo, 10000, 0, &r, &ignored) == 0 &&
			    idp_gitops_resolve(r, "HEAD", head, &ignored) == 0;
		if (r)
			idp_gitops_close(r);
		idp_err_clear(&ignored);
		if (made) {
			*msg = idp_arena_printf(a, "%s exists", repo);
			return 0;
		}
	}
	/* A directory left by a crash during init, with no repository yet. */
	if (stat(repo, &st) == 0)
		nftw(repo, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	const char *dir = idp_arena_printf(a, "%s/gitops", env->state_dir);
	if (make_dir(dir, err) != 0)
		return IDP_ERUNTIME;
	idp_gitops_init_opts o = {0};
	const char *path;
	int rc = idp_gitops_init(a, c->container, dir, &o, env->renderer, &who, &path, err);
	if (rc == 0)
		*msg = idp_arena_printf(a, "made %s", path);
	return rc;
}

static int step_scaffold(const idp_api_workflow_env *env, idp_arena *a, const claim_info *c, const char **msg,
			 idp_err *err)
{
	const char *dir = source_dir(a, env, c);
	if (make_dir(idp_arena_printf(a, "%s/repos", env->state_dir), err) != 0)
		return IDP_ERUNTIME;
	idp_gitops_commit_result res;
	int rc = idp_gitops_scaffold(a, c->name, c->language, c->framework, dir, &who, &res, err);
	if (rc == 0)
		*msg = res.changed ? idp_arena_printf(a, "microservices/%s in %s at %.7s", c->name, dir, res.id)
				   : idp_arena_printf(a, "microservices/%s is there already (kept)", c->name);
	return rc;
}

static int step_update_oam(const idp_api_workflow_env *env, idp_arena *a, const claim_info *c, const char **msg,
			   idp_err *err)
{
	/* A service on a realtime platform: the platform joins the application
	 * first, only if absent (the service reads its Secrets). */
	const char *realtime = spec_str(c->doc, "realtime");
	bool platform_added = false;
	if (realtime && !c->oam_driven) {
		int rc = idp_api_container_add_component(env, a, c->container, realtime, "realtime-platform", "api",
							 &platform_added, err);
		if (rc)
			return rc;
	}
	idp_gitops_repo *r;
	int rc = idp_gitops_open(gitops_dir(a, env, c), 10000, 0, &r, err);
	if (rc)
		return rc;
	idp_gitops_update u;
	rc = idp_gitops_add_component(r, a, c->doc, env->renderer, &who, &u, err);
	idp_gitops_close(r);
	if (rc == 0)
		*msg = u.decision == IDP_GITOPS_ADDED
			       ? idp_arena_printf(a, "component %s added, rendered and committed at %.7s", c->name, u.commit.id)
			       : u.reason;
	if (rc == 0 && platform_added)
		*msg = idp_arena_printf(a, "realtime platform %s added; %s", realtime, *msg);
	return rc;
}

/* A claim other than a service's: filed in the container's claims/ and
 * rendered with its Application (the composition makes its objects). */
static int step_file_claim(const idp_api_workflow_env *env, idp_arena *a, const claim_info *c, const char **msg,
			   idp_err *err)
{
	idp_gitops_repo *r;
	int rc = idp_gitops_open(gitops_dir(a, env, c), 10000, 0, &r, err);
	if (rc)
		return rc;
	idp_gitops_commit_result res;
	rc = idp_gitops_file_claim(r, a, c->doc, "api", env->renderer, &who, &res, err);
	idp_gitops_close(r);
	if (rc == 0)
		*msg = res.changed ? idp_arena_printf(a, "%s %s filed in claims/, rendered and committed at %.7s", c->kind,
						      c->name, res.id)
				   : idp_arena_printf(a, "%s %s is filed already", c->kind, c->name);
	return rc;
}

static int daemon_call(const idp_api_workflow_env *env, idp_arena *a, idp_doc_node *req, idp_doc_node **reply,
		       idp_err *err)
{
	return env->daemon->call(env->daemon->ctx, a, req, reply, err);
}

static int step_sync(const idp_api_workflow_env *env, idp_arena *a, const claim_info *c, const char **msg,
		     idp_err *err)
{
	idp_doc_node *req = idp_doc_new_map(a), *reply;
	idp_doc_map_set(a, req, "op", idp_doc_new_str(a, "adopt"));
	idp_doc_map_set(a, req, "app", idp_doc_new_str(a, c->container));
	idp_doc_map_set(a, req, "repo", idp_doc_new_str(a, gitops_dir(a, env, c)));
	idp_doc_map_set(a, req, "base_dir", idp_doc_new_str(a, source_dir(a, env, c)));
	int rc = daemon_call(env, a, req, &reply, err);
	if (rc == 0)
		*msg = idp_arena_printf(a, "%s synced at %.7s", c->container,
					idp_doc_map_get_str(reply, "revision") ? idp_doc_map_get_str(reply, "revision") : "?");
	return rc;
}

/* Ready: every object of the component healthy (or with no local form);
 * *why says what is still waited for. */
static int step_wait(const idp_api_workflow_env *env, idp_arena *a, const claim_info *c, bool *ready,
		     const char **why, idp_err *err)
{
	idp_doc_node *req = idp_doc_new_map(a), *reply;
	idp_doc_map_set(a, req, "op", idp_doc_new_str(a, "status"));
	idp_doc_map_set(a, req, "app", idp_doc_new_str(a, c->container));
	int rc = daemon_call(env, a, req, &reply, err);
	if (rc)
		return rc;
	const idp_doc_node *apps = idp_doc_map_get(reply, "apps");
	const idp_doc_node *x = apps && apps->kind == IDP_DOC_SEQ && apps->as.seq.len ? apps->as.seq.items[0] : NULL;
	const idp_doc_node *objs = idp_doc_map_get(x, "objects");
	size_t mine = 0;
	*ready = true;
	*why = NULL;
	for (size_t i = 0; objs && objs->kind == IDP_DOC_SEQ && i < objs->as.seq.len; i++) {
		const idp_doc_node *o = objs->as.seq.items[i];
		const char *comp = idp_doc_map_get_str(o, "component"), *h = idp_doc_map_get_str(o, "health");
		if (!comp || strcmp(comp, c->name) != 0)
			continue;
		mine++;
		const idp_doc_node *probed = idp_doc_map_get(o, "ready");
		bool serving = !probed || (probed->kind == IDP_DOC_INT && probed->as.i > 0); /* a process: probed */
		if (h && serving && (strcmp(h, "Healthy") == 0 || strcmp(h, "Unavailable") == 0))
			continue;
		if (h && strcmp(h, "Healthy") == 0)
			h = "not answering its readiness probe yet";
		*ready = false;
		*why = idp_arena_printf(a, "%s is %s: %s", idp_doc_map_get_str(o, "object"), h ? h : "?",
					idp_doc_map_get_str(o, "message") ? idp_doc_map_get_str(o, "message") : "");
	}
	if (mine == 0 && c->service) { /* (a claim's objects may all be kinds with no local form) */
		*ready = false;
		*why = idp_arena_printf(a, "no object of component %s runs yet", c->name);
	}
	return 0;
}

/* ---------------------------------------------------------------- containers */

const char *idp_api_container_repo(idp_arena *a, const idp_api_workflow_env *env, const char *container)
{
	/* A name that is no DNS-1123 label never becomes a path. */
	if (!container || idp_name_check_dns1123_label(container))
		return idp_arena_printf(a, "%s/gitops/(invalid)", env->state_dir);
	return idp_arena_printf(a, "%s/gitops/%s", env->state_dir, idp_gitops_repo_name(a, container));
}

idp_doc_node *idp_api_container_oam(const idp_api_workflow_env *env, idp_arena *a, const char *container)
{
	idp_gitops_repo *r;
	idp_err err = IDP_ERR_INIT;
	idp_doc_node *app = NULL;
	if (idp_gitops_open(idp_api_container_repo(a, env, container), 10000, 0, &r, &err) == 0) {
		idp_buf text = IDP_BUF_INIT;
		idp_doc_stream s;
		if (idp_gitops_read(r, "HEAD", IDP_GITOPS_OAM_FILE, &text, &err) == 0 &&
		    idp_doc_load(a, IDP_GITOPS_OAM_FILE, text.ptr ? text.ptr : "", text.len, NULL, &s, &err) == 0 && s.len == 1)
			app = s.docs[0];
		idp_buf_free(&text);
		idp_gitops_close(r);
	}
	idp_err_clear(&err);
	return app;
}

int idp_api_container_add_component(const idp_api_workflow_env *env, idp_arena *a, const char *container,
				    const char *name, const char *type, const char *source, bool *added, idp_err *err)
{
	*added = false;
	if (!container || idp_name_check_dns1123_label(container))
		return idp_err_set(err, IDP_EINPUT, "\"%s\" is no application container name (a DNS-1123 label)",
				   container ? container : "");
	idp_doc_node *app = idp_api_container_oam(env, a, container), *comps = NULL;
	if (!app)
		return idp_err_set(err, IDP_ENOTFOUND, "no application container %s", container);
	if (idp_doc_path_get(app, "spec.components", &comps, NULL) != 0 || comps->kind != IDP_DOC_SEQ) {
		idp_doc_node *spec = idp_doc_map_get(app, "spec");
		if (!spec || spec->kind != IDP_DOC_MAP)
			return idp_err_set(err, IDP_EINPUT, "%s's OAM Application has no spec", container);
		comps = idp_doc_new_seq(a);
		idp_doc_map_set(a, spec, "components", comps);
	}
	for (size_t i = 0; i < comps->as.seq.len; i++) {
		const char *cn = idp_doc_map_get_str(comps->as.seq.items[i], "name");
		if (cn && strcmp(cn, name) == 0)
			return 0; /* there: only if absent */
	}
	idp_doc_node *c = idp_doc_new_map(a);
	idp_doc_map_set(a, c, "name", idp_doc_new_str(a, name));
	idp_doc_map_set(a, c, "type", idp_doc_new_str(a, type));
	idp_doc_seq_push(a, comps, c);
	idp_buf out = IDP_BUF_INIT;
	idp_gitops_repo *r = NULL;
	idp_gitops_commit_result res;
	int rc = idp_doc_emit_yaml(&app, 1, &out, err);
	if (rc == 0)
		rc = idp_gitops_open(idp_api_container_repo(a, env, container), 10000, 0, &r, err);
	if (rc == 0)
		rc = idp_gitops_set_application(r, a, out.ptr, out.len, source, env->renderer, &who, &res, err);
	idp_gitops_close(r);
	idp_buf_free(&out);
	*added = rc == 0;
	return rc;
}

/* ---------------------------------------------------------------- the machine */

/* A test's kill -9 at a step, after its work and before it is recorded:
 * IDP_TEST_KILL_AT_STEP=<step name> (the crash test). */
static void maybe_die(int step)
{
	const char *at = getenv("IDP_TEST_KILL_AT_STEP");
	if (at && strcmp(at, step_names[step]) == 0)
		raise(SIGKILL);
}

static void record(const idp_api_workflow_env *env, idp_arena *a, const idp_store_workflow *w, int step,
		   const char *state, const char *msg)
{
	idp_store_workflow_step(env->store, w->id, step, step_names[step], state, msg, NULL);
	if (strcmp(state, "Running") != 0)
		idp_store_event_add(env->store, w->app, idp_arena_printf(a, "%s/%s", w->kind, w->name), "Workflow",
				    idp_arena_printf(a, "workflow %lld: %s %s%s%s", (long long)w->id, step_names[step],
						     strcmp(state, "Succeeded") == 0 ? "done" : "failed", msg ? ": " : "",
						     msg ? msg : ""),
				    NULL);
	if (env->progress)
		env->progress(env->progress_ctx, w, step_names[step], state, msg);
}

static double now_real(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int idp_api_workflow_advance(const idp_api_workflow_env *env, int64_t id, idp_err *err)
{
	idp_arena *a = idp_arena_new();
	idp_store_workflow w;
	int rc = idp_store_workflow_get(env->store, a, id, &w, err);
	if (rc || strcmp(w.state, "Running") != 0 || w.step >= N_STEPS) {
		idp_arena_free(a);
		return rc ? rc : IDP_API_WF_DONE;
	}
	int step = w.step;
	idp_doc_stream s;
	claim_info c;
	rc = idp_doc_load(a, "workflow claim", w.claim, strlen(w.claim), NULL, &s, err);
	if (rc == 0 && s.len == 1)
		read_claim(s.docs[0], &c);
	else if (rc == 0)
		rc = idp_err_set(err, IDP_ERUNTIME, "workflow %lld: its claim is not one document", (long long)id);
	const idp_store_step *last = w.n_steps ? &w.steps[w.n_steps - 1] : NULL;
	bool started = last && last->step == step;
	if (rc == 0 && !started)
		record(env, a, &w, step, "Running", NULL);
	const char *msg = NULL;
	bool waiting = false;
	if (rc == 0) {
		switch ((step_id)step) {
		case VALIDATE: {
			claim_info again;
			rc = validate(a, s.docs[0], &again, err);
			msg = rc != 0	   ? NULL
			      : c.service ? idp_arena_printf(a, "ApplicationClaim %s: %s/%s in %s", c.name, c.language,
							     c.framework ? c.framework : "-", c.container)
					  : idp_arena_printf(a, "%s %s in %s", c.kind, c.name, c.container);
			break;
		}
		case CONTAINER: rc = step_container(env, a, &c, &msg, err); break;
		case SCAFFOLD:
			if (c.service)
				rc = step_scaffold(env, a, &c, &msg, err);
			else
				msg = idp_arena_printf(a, "a %s has no source to scaffold", c.kind);
			break;
		case UPDATE_OAM: rc = c.service ? step_update_oam(env, a, &c, &msg, err) : step_file_claim(env, a, &c, &msg, err); break;
		case SYNC:
			if (c.oam_driven)
				msg = "oam-driven: its own OAM Application deploys it, not the container's";
			else
				rc = step_sync(env, a, &c, &msg, err);
			break;
		case WAIT: {
			if (c.oam_driven) {
				msg = "oam-driven: nothing of the container's to wait for";
				break;
			}
			bool ready = false;
			const char *why = "";
			rc = step_wait(env, a, &c, &ready, &why, err);
			double since = started ? last->started : now_real();
			double limit = env->wait_timeout_s > 0 ? env->wait_timeout_s : DEFAULT_WAIT_S;
			if (rc == 0 && ready)
				msg = idp_arena_printf(a, "%s is ready", c.name);
			else if (rc == 0 && now_real() - since > limit)
				rc = idp_err_set(err, IDP_ERUNTIME, "%s was not ready after %.0f s: %s", c.name, limit, why);
			else if (rc == 0)
				waiting = true;
			break;
		}
		case NOTIFY:
			msg = c.service ? idp_arena_printf(a, "%s/%s is ready in %s", c.ns, c.name, c.container)
					: idp_arena_printf(a, "%s %s is ready in %s", c.kind, c.name, c.container);
			break;
		case N_STEPS: break;
		}
	}
	if (waiting) {
		idp_arena_free(a);
		return IDP_API_WF_WAIT;
	}
	maybe_die(step);
	if (rc) {
		idp_buf text = IDP_BUF_INIT;
		idp_err_format(err, &text);
		record(env, a, &w, step, "Failed", text.ptr);
		idp_store_workflow_set(env->store, id, "Failed", step, text.ptr, NULL);
		idp_buf_free(&text);
		idp_arena_free(a);
		return rc;
	}
	record(env, a, &w, step, "Succeeded", msg);
	bool done = step + 1 >= N_STEPS;
	idp_store_workflow_set(env->store, id, done ? "Succeeded" : "Running", step + 1, NULL, NULL);
	idp_arena_free(a);
	return done ? IDP_API_WF_DONE : IDP_API_WF_MORE;
}

idp_doc_node *idp_api_workflow_doc(idp_arena *a, const idp_store_workflow *w, bool with_steps)
{
	idp_doc_node *m = idp_doc_new_map(a), *steps = idp_doc_new_seq(a);
	idp_doc_map_set(a, m, "id", idp_doc_new_int(a, w->id));
	idp_doc_map_set(a, m, "kind", idp_doc_new_str(a, w->kind));
	idp_doc_map_set(a, m, "name", idp_doc_new_str(a, w->name));
	idp_doc_map_set(a, m, "app", idp_doc_new_str(a, w->app));
	idp_doc_map_set(a, m, "origin", idp_doc_new_str(a, w->origin ? w->origin : ""));
	idp_doc_map_set(a, m, "state", idp_doc_new_str(a, w->state));
	idp_doc_map_set(a, m, "step", idp_doc_new_str(a, idp_api_workflow_step_name(w->step)));
	if (w->error)
		idp_doc_map_set(a, m, "error", idp_doc_new_str(a, w->error));
	idp_doc_map_set(a, m, "created", idp_doc_new_int(a, w->created));
	idp_doc_map_set(a, m, "updated", idp_doc_new_int(a, w->updated));
	for (size_t i = 0; i < w->n_steps; i++) {
		const idp_store_step *x = &w->steps[i];
		idp_doc_node *st = idp_doc_new_map(a);
		idp_doc_map_set(a, st, "name", idp_doc_new_str(a, x->name));
		idp_doc_map_set(a, st, "state", idp_doc_new_str(a, x->state));
		idp_doc_map_set(a, st, "started", idp_doc_new_float(a, x->started));
		if (x->finished > 0) {
			idp_doc_map_set(a, st, "finished", idp_doc_new_float(a, x->finished));
			idp_doc_map_set(a, st, "seconds", idp_doc_new_float(a, x->finished - x->started));
		}
		if (x->message)
			idp_doc_map_set(a, st, "message", idp_doc_new_str(a, x->message));
		idp_doc_seq_push(a, steps, st);
	}
	if (with_steps) /* (a list carries none: GET /api/v1/workflows/{id} has them) */
		idp_doc_map_set(a, m, "steps", steps);
	return m;
}
