/* The REST API's routes and their handlers. Applications are the daemon's:
 * their handlers are requests of its control protocol; render and
 * definitions call the render room; history comes from the store. */
#include "api/api.h"
#include "api/api_private.h"
#include "gitops/gitops.h"
#include "render/render.h"

#include <stdlib.h>
#include <string.h>

#define BODY_FILE "request body"

static idp_doc_node *request(idp_arena *a, const char *op, const char *app)
{
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "op", idp_doc_new_str(a, op));
	if (app)
		idp_doc_map_set(a, m, "app", idp_doc_new_str(a, app));
	return m;
}

/* Runs a daemon request; on failure answers r with the error. */
static int call(api_req *q, api_res *r, const idp_doc_node *req, idp_doc_node **reply)
{
	idp_err err = IDP_ERR_INIT;
	int rc = q->backend->call(q->backend->ctx, q->a, req, reply, &err);
	if (rc)
		api_error(q, r, rc, &err);
	idp_err_clear(&err);
	return rc;
}

static bool bad_app_name(api_req *q, api_res *r, const char *name)
{
	const char *why = idp_name_check_dns1123_label(name);
	if (why)
		api_fail(r, 400, "input", idp_arena_printf(q->a, "\"%s\" is no application name: %s", name, why));
	return why != NULL;
}

/* The one application of a status reply, or 404. */
static const idp_doc_node *status_app(api_req *q, api_res *r, const char *name)
{
	idp_doc_node *reply;
	if (bad_app_name(q, r, name) || call(q, r, request(q->a, "status", name), &reply))
		return NULL;
	const idp_doc_node *apps = idp_doc_map_get(reply, "apps");
	if (!apps || apps->kind != IDP_DOC_SEQ || apps->as.seq.len != 1) {
		api_fail(r, 404, "notfound", idp_arena_printf(q->a, "no application %s runs here", name));
		return NULL;
	}
	return apps->as.seq.items[0];
}

/* ---------------------------------------------------------------- applications */

/* Every application of the store (down ones too, with their recorded
 * status), with what the daemon knows of those it runs. */
static int list_apps(api_req *q, api_res *r)
{
	idp_doc_node *reply;
	if (call(q, r, request(q->a, "status", NULL), &reply))
		return 0;
	const idp_doc_node *running = idp_doc_map_get(reply, "apps");
	idp_store_app *apps;
	size_t n = 0;
	idp_err err = IDP_ERR_INIT;
	int rc = idp_store_app_list(q->cfg->store, q->a, &apps, &n, &err);
	if (rc) {
		api_error(q, r, rc, &err);
		idp_err_clear(&err);
		return 0;
	}
	idp_doc_node *out = idp_doc_new_seq(q->a);
	for (size_t i = 0; i < n; i++) {
		const idp_doc_node *x = NULL;
		for (size_t k = 0; running && running->kind == IDP_DOC_SEQ && k < running->as.seq.len && !x; k++) {
			const char *rn = idp_doc_map_get_str(running->as.seq.items[k], "name");
			if (rn && strcmp(rn, apps[i].name) == 0)
				x = running->as.seq.items[k];
		}
		idp_doc_node *m = idp_doc_new_map(q->a);
		idp_doc_map_set(q->a, m, "name", idp_doc_new_str(q->a, apps[i].name));
		if (apps[i].revision)
			idp_doc_map_set(q->a, m, "revision", idp_doc_new_str(q->a, apps[i].revision));
		idp_doc_map_set(q->a, m, "running", idp_doc_new_bool(q->a, x != NULL));
		idp_doc_map_set(q->a, m, "status", idp_doc_new_str(q->a, apps[i].status ? apps[i].status : ""));
		idp_doc_map_set(q->a, m, "updated", idp_doc_new_int(q->a, apps[i].updated));
		static const char *const keep[] = {"health", "paused", "urls"};
		for (size_t k = 0; x && k < sizeof keep / sizeof *keep; k++) {
			idp_doc_node *v = idp_doc_map_get(x, keep[k]);
			if (v)
				idp_doc_map_set(q->a, m, keep[k], v);
		}
		const idp_doc_node *objs = x ? idp_doc_map_get(x, "objects") : NULL;
		if (objs && objs->kind == IDP_DOC_SEQ)
			idp_doc_map_set(q->a, m, "objects", idp_doc_new_int(q->a, (int64_t)objs->as.seq.len));
		idp_doc_seq_push(q->a, out, m);
	}
	idp_doc_node *m = idp_doc_new_map(q->a);
	idp_doc_map_set(q->a, m, "items", out);
	return api_json(r, 200, m);
}

static int get_app(api_req *q, api_res *r)
{
	const idp_doc_node *x = status_app(q, r, q->params[0]);
	return x ? api_json(r, 200, x) : 0;
}

/* application -> components -> objects, as `idp describe` shows it. */
static int app_tree(api_req *q, api_res *r)
{
	const idp_doc_node *x = status_app(q, r, q->params[0]);
	if (!x)
		return 0;
	idp_doc_node *t = idp_doc_new_map(q->a);
	static const char *const keep[] = {"name", "revision", "health", "paused"};
	for (size_t k = 0; k < sizeof keep / sizeof *keep; k++) {
		idp_doc_node *v = idp_doc_map_get(x, keep[k]);
		if (v)
			idp_doc_map_set(q->a, t, keep[k], v);
	}
	const idp_doc_node *objs = idp_doc_map_get(x, "objects"), *comps = idp_doc_map_get(x, "components");
	idp_doc_node *out = idp_doc_new_seq(q->a);
	for (size_t c = 0; comps && comps->kind == IDP_DOC_SEQ && c < comps->as.seq.len; c++) {
		const idp_doc_node *comp = comps->as.seq.items[c];
		const char *name = idp_doc_map_get_str(comp, "name");
		idp_doc_node *m = idp_doc_new_map(q->a), *children = idp_doc_new_seq(q->a);
		idp_doc_map_set(q->a, m, "component", idp_doc_new_str(q->a, name ? name : ""));
		idp_doc_map_set(q->a, m, "health", idp_doc_map_get(comp, "health"));
		for (size_t k = 0; objs && objs->kind == IDP_DOC_SEQ && k < objs->as.seq.len; k++) {
			const char *oc = idp_doc_map_get_str(objs->as.seq.items[k], "component");
			if (strcmp(oc ? oc : "(composed)", name ? name : "") == 0)
				idp_doc_seq_push(q->a, children, objs->as.seq.items[k]);
		}
		idp_doc_map_set(q->a, m, "objects", children);
		idp_doc_seq_push(q->a, out, m);
	}
	idp_doc_map_set(q->a, t, "components", out);
	return api_json(r, 200, t);
}

/* The posted Application: one document of kind Application whose name is
 * a DNS-1123 label (and want, when given). */
static const char *posted_app(api_req *q, api_res *r, const char *want)
{
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	const char *name = NULL;
	if (q->body_len == 0) {
		api_fail(r, 400, "input", "the body must be an OAM Application (YAML or JSON)");
	} else if (idp_doc_load(q->a, BODY_FILE, q->body, q->body_len, NULL, &s, &err) != 0) {
		api_error(q, r, IDP_EINPUT, &err);
	} else if (s.len != 1 || !idp_doc_map_get_str(s.docs[0], "kind") ||
		   strcmp(idp_doc_map_get_str(s.docs[0], "kind"), "Application") != 0) {
		api_fail(r, 400, "input", "the body must be one OAM Application (kind: Application)");
	} else if (!(name = idp_doc_map_get_str(idp_doc_map_get(s.docs[0], "metadata"), "name"))) {
		api_fail(r, 400, "input", "the Application needs metadata.name");
	} else if (bad_app_name(q, r, name)) {
		name = NULL;
	} else if (want && strcmp(want, name) != 0) {
		api_fail(r, 400, "input",
			 idp_arena_printf(q->a, "the path names %s but the Application is %s: they must agree", want, name));
		name = NULL;
	}
	idp_err_clear(&err);
	return name;
}

static int apply_app(api_req *q, api_res *r, const char *want)
{
	const char *name = posted_app(q, r, want);
	if (!name)
		return 0;
	/* Existed: recorded in the store (running, paused or down). */
	idp_store_app rec;
	idp_err err = IDP_ERR_INIT;
	bool existed = idp_store_app_get(q->cfg->store, q->a, name, &rec, &err) == 0;
	idp_err_clear(&err);
	idp_doc_node *req = request(q->a, "up", NULL), *reply;
	idp_doc_map_set(q->a, req, "file", idp_doc_new_str(q->a, BODY_FILE));
	idp_doc_map_set(q->a, req, "text", idp_doc_new_strn(q->a, q->body, q->body_len));
	idp_doc_map_set(q->a, req, "base_dir", idp_doc_new_str(q->a, q->cfg->base_dir ? q->cfg->base_dir : "/"));
	idp_doc_map_set(q->a, req, "wait", idp_doc_new_bool(q->a, false));
	if (call(q, r, req, &reply))
		return 0;
	idp_doc_node *m = idp_doc_new_map(q->a);
	idp_doc_map_set(q->a, m, "name", idp_doc_new_str(q->a, name));
	idp_doc_node *rev = idp_doc_map_get(reply, "revision");
	if (rev)
		idp_doc_map_set(q->a, m, "revision", rev);
	idp_doc_map_set(q->a, m, "status", idp_doc_new_str(q->a, "Progressing"));
	idp_doc_map_set(q->a, m, "self", idp_doc_new_str(q->a, idp_arena_printf(q->a, "/api/v1/applications/%s", name)));
	return api_json(r, existed ? 200 : 201, m);
}

static int create_app(api_req *q, api_res *r)
{
	return apply_app(q, r, NULL);
}

static int replace_app(api_req *q, api_res *r)
{
	return bad_app_name(q, r, q->params[0]) ? 0 : apply_app(q, r, q->params[0]);
}

static bool query_bool(api_req *q, const char *name)
{
	const char *v = api_query(q, name);
	return v && (strcmp(v, "") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static int delete_app(api_req *q, api_res *r)
{
	if (bad_app_name(q, r, q->params[0]))
		return 0;
	idp_doc_node *req = request(q->a, "down", q->params[0]), *reply;
	bool purge = query_bool(q, "purge");
	idp_doc_map_set(q->a, req, "purge", idp_doc_new_bool(q->a, purge));
	if (call(q, r, req, &reply))
		return 0;
	idp_doc_node *m = idp_doc_new_map(q->a);
	idp_doc_map_set(q->a, m, "name", idp_doc_new_str(q->a, q->params[0]));
	idp_doc_map_set(q->a, m, "deleted", idp_doc_new_bool(q->a, true));
	idp_doc_map_set(q->a, m, "purged", idp_doc_new_bool(q->a, purge));
	return api_json(r, 200, m);
}

static int simple_op(api_req *q, api_res *r, const char *op)
{
	idp_doc_node *reply;
	if (bad_app_name(q, r, q->params[0]) || call(q, r, request(q->a, op, q->params[0]), &reply))
		return 0;
	idp_doc_node *m = idp_doc_new_map(q->a);
	idp_doc_map_set(q->a, m, "name", idp_doc_new_str(q->a, q->params[0]));
	idp_doc_map_set(q->a, m, "paused", idp_doc_new_bool(q->a, strcmp(op, "pause") == 0));
	return api_json(r, 200, m);
}

static int pause_app(api_req *q, api_res *r)
{
	return simple_op(q, r, "pause");
}

static int resume_app(api_req *q, api_res *r)
{
	return simple_op(q, r, "resume");
}

/* ---------------------------------------------------------------- sync */

static int sync_app(api_req *q, api_res *r)
{
	if (bad_app_name(q, r, q->params[0]))
		return 0;
	idp_doc_node *req = request(q->a, "sync", q->params[0]);
	if (q->body_len > 0) {
		idp_doc_stream s;
		idp_err err = IDP_ERR_INIT;
		if (idp_doc_load(q->a, BODY_FILE, q->body, q->body_len, NULL, &s, &err) != 0 || s.len != 1 ||
		    s.docs[0]->kind != IDP_DOC_MAP) {
			if (!err.msg)
				idp_err_set(&err, IDP_EINPUT, "the body must be a JSON object {\"dry_run\":…, \"allow_mass_prune\":…}");
			api_error(q, r, IDP_EINPUT, &err);
			idp_err_clear(&err);
			return 0;
		}
		const idp_doc_node *opts = s.docs[0];
		for (size_t i = 0; i < opts->as.map.len; i++) {
			const char *k = opts->as.map.items[i].key;
			const idp_doc_node *v = opts->as.map.items[i].value;
			if ((strcmp(k, "dry_run") != 0 && strcmp(k, "allow_mass_prune") != 0) || v->kind != IDP_DOC_BOOL)
				return api_fail(r, 400, "input",
						idp_arena_printf(q->a, "%s: want dry_run or allow_mass_prune, true or false", k));
			idp_doc_map_set(q->a, req, k, (idp_doc_node *)v);
		}
	}
	idp_doc_node *reply;
	if (call(q, r, req, &reply))
		return 0;
	idp_doc_map_delete(reply, "ok");
	return api_json(r, 200, reply);
}

static int sync_history(api_req *q, api_res *r)
{
	if (bad_app_name(q, r, q->params[0]))
		return 0;
	idp_store_app rec;
	idp_err err = IDP_ERR_INIT;
	int rc = idp_store_app_get(q->cfg->store, q->a, q->params[0], &rec, &err);
	if (rc == IDP_ENOTFOUND)
		idp_err_set(&err, IDP_ENOTFOUND, "no application %s in the store", q->params[0]);
	idp_store_sync_run *runs;
	size_t n = 0;
	const char *limit = api_query(q, "limit");
	if (rc == 0)
		rc = idp_store_sync_list(q->cfg->store, q->a, q->params[0], limit ? (size_t)strtoul(limit, NULL, 10) : 100,
					 &runs, &n, &err);
	if (rc) {
		api_error(q, r, rc, &err);
		idp_err_clear(&err);
		return 0;
	}
	idp_doc_node *items = idp_doc_new_seq(q->a);
	for (size_t i = 0; i < n; i++) {
		idp_doc_node *m = idp_doc_new_map(q->a);
		idp_doc_map_set(q->a, m, "id", idp_doc_new_int(q->a, runs[i].id));
		idp_doc_map_set(q->a, m, "revision", runs[i].revision ? idp_doc_new_str(q->a, runs[i].revision) : idp_doc_new_null(q->a));
		idp_doc_map_set(q->a, m, "started", idp_doc_new_int(q->a, runs[i].started));
		idp_doc_map_set(q->a, m, "finished", runs[i].finished ? idp_doc_new_int(q->a, runs[i].finished) : idp_doc_new_null(q->a));
		idp_doc_map_set(q->a, m, "result", runs[i].result ? idp_doc_new_str(q->a, runs[i].result) : idp_doc_new_null(q->a));
		idp_doc_seq_push(q->a, items, m);
	}
	idp_doc_node *m = idp_doc_new_map(q->a);
	idp_doc_map_set(q->a, m, "items", items);
	return api_json(r, 200, m);
}

/* ---------------------------------------------------------------- render, definitions */

static int render_dry_run(api_req *q, api_res *r)
{
	if (q->body_len == 0)
		return api_fail(r, 400, "input", "the body must be an OAM Application or claims (YAML or JSON)");
	const char *compose = api_query(q, "compose");
	if (compose && strcmp(compose, "claims") != 0 && strcmp(compose, "inline") != 0)
		return api_fail(r, 400, "input", "compose: want claims or inline");
	idp_render_registry *reg = idp_render_registry_new(q->a);
	idp_err err = IDP_ERR_INIT;
	idp_doc_stream s;
	idp_doc_node **objs;
	size_t n = 0;
	idp_render_opts o = IDP_RENDER_OPTS_INIT;
	o.compose = compose && strcmp(compose, "inline") == 0 ? IDP_RENDER_COMPOSE_INLINE : IDP_RENDER_COMPOSE_CLAIMS;
	int rc = idp_render_registry_load_builtin(reg, &err);
	if (rc == 0)
		rc = idp_doc_load(q->a, BODY_FILE, q->body, q->body_len, NULL, &s, &err);
	if (rc == 0)
		rc = idp_render_docs(q->a, reg, s.docs, s.len, &o, &objs, &n, &err);
	if (rc == 0) {
		idp_doc_node *items = idp_doc_new_seq(q->a);
		for (size_t i = 0; i < n; i++)
			idp_doc_seq_push(q->a, items, objs[i]);
		idp_doc_node *m = idp_doc_new_map(q->a);
		idp_doc_map_set(q->a, m, "items", items);
		api_json(r, 200, m);
	} else {
		api_error(q, r, rc, &err);
	}
	idp_err_clear(&err);
	idp_render_registry_free(reg);
	return 0;
}

static int list_definitions(api_req *q, api_res *r)
{
	idp_render_registry *reg = idp_render_registry_new(q->a);
	idp_err err = IDP_ERR_INIT;
	if (idp_render_registry_load_builtin(reg, &err) != 0) {
		api_error(q, r, IDP_ERUNTIME, &err);
	} else {
		idp_render_def_info *defs;
		size_t n = idp_render_registry_list(reg, &defs);
		idp_doc_node *items = idp_doc_new_seq(q->a);
		for (size_t i = 0; i < n; i++) {
			idp_doc_node *m = idp_doc_new_map(q->a);
			idp_doc_map_set(q->a, m, "name", idp_doc_new_str(q->a, defs[i].name));
			idp_doc_map_set(q->a, m, "kind", idp_doc_new_str(q->a, defs[i].kind));
			if (defs[i].workload)
				idp_doc_map_set(q->a, m, "workload", idp_doc_new_str(q->a, defs[i].workload));
			idp_doc_map_set(q->a, m, "description", idp_doc_new_str(q->a, defs[i].description ? defs[i].description : ""));
			idp_doc_seq_push(q->a, items, m);
		}
		idp_doc_node *m = idp_doc_new_map(q->a);
		idp_doc_map_set(q->a, m, "items", items);
		api_json(r, 200, m);
	}
	idp_err_clear(&err);
	idp_render_registry_free(reg);
	return 0;
}

static int show_definition(api_req *q, api_res *r)
{
	idp_render_registry *reg = idp_render_registry_new(q->a);
	idp_err err = IDP_ERR_INIT;
	idp_doc_node *d;
	int rc = idp_render_registry_load_builtin(reg, &err);
	idp_render_def_info *defs;
	size_t n = rc == 0 ? idp_render_registry_list(reg, &defs) : 0, i = 0;
	while (i < n && strcmp(defs[i].name, q->params[0]) != 0)
		i++;
	if (rc == 0 && i == n)
		rc = idp_err_set(&err, IDP_ENOTFOUND, "no definition named %s (GET /api/v1/definitions lists them)",
				 q->params[0]);
	if (rc == 0)
		rc = idp_render_describe(reg, q->params[0], &d, &err);
	if (rc == 0)
		api_json(r, 200, d);
	else
		api_error(q, r, rc, &err);
	idp_err_clear(&err);
	idp_render_registry_free(reg);
	return 0;
}

/* ---------------------------------------------------------------- claims and workflows */

static int post_claim(api_req *q, api_res *r)
{
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	int rc = q->body_len ? idp_doc_load(q->a, BODY_FILE, q->body, q->body_len, NULL, &s, &err)
			     : idp_err_set(&err, IDP_EINPUT, "the body must be an ApplicationClaim (YAML or JSON)");
	if (rc == 0 && s.len != 1)
		rc = idp_err_set(&err, IDP_EINPUT, "the body must be one claim, not %zu documents", s.len);
	int64_t id = 0;
	bool existing = false;
	if (rc == 0)
		rc = idp_api_workflow_start(api_workflow_env(q->api), q->a, s.docs[0], "api", &id, &existing,
					    &err);
	if (rc) {
		api_error(q, r, rc, &err);
		idp_err_clear(&err);
		return 0;
	}
	api_workflows_kick(q->api);
	idp_doc_node *m = idp_doc_new_map(q->a);
	idp_doc_map_set(q->a, m, "workflow", idp_doc_new_int(q->a, id));
	idp_doc_map_set(q->a, m, "existing", idp_doc_new_bool(q->a, existing));
	idp_doc_map_set(q->a, m, "self", idp_doc_new_str(q->a, idp_arena_printf(q->a, "/api/v1/workflows/%lld", (long long)id)));
	return api_json(r, existing ? 200 : 202, m);
}

static int workflow_answer(api_req *q, api_res *r, int64_t id)
{
	idp_store_workflow w;
	idp_err err = IDP_ERR_INIT;
	int rc = idp_store_workflow_get(q->cfg->store, q->a, id, &w, &err);
	if (rc == IDP_ENOTFOUND)
		idp_err_set(&err, IDP_ENOTFOUND, "no workflow %lld", (long long)id);
	if (rc) {
		api_error(q, r, rc, &err);
		idp_err_clear(&err);
		return 0;
	}
	return api_json(r, 200, idp_api_workflow_doc(q->a, &w, true));
}

static int get_workflow(api_req *q, api_res *r)
{
	char *end;
	long long id = strtoll(q->params[0], &end, 10);
	if (*end || id <= 0)
		return api_fail(r, 400, "input", idp_arena_printf(q->a, "\"%s\" is no workflow id", q->params[0]));
	return workflow_answer(q, r, id);
}

/* The workflows (newest first); claims are the same list seen by claim. */
static int list_workflows(api_req *q, api_res *r)
{
	const char *state = api_query(q, "state");
	idp_store_workflow *ws;
	size_t n = 0;
	idp_err err = IDP_ERR_INIT;
	int rc = idp_store_workflow_list(q->cfg->store, q->a, state && *state ? state : NULL, 500, &ws, &n, &err);
	if (rc) {
		api_error(q, r, rc, &err);
		idp_err_clear(&err);
		return 0;
	}
	idp_doc_node *items = idp_doc_new_seq(q->a);
	for (size_t i = 0; i < n; i++)
		idp_doc_seq_push(q->a, items, idp_api_workflow_doc(q->a, &ws[i], false));
	idp_doc_node *m = idp_doc_new_map(q->a);
	idp_doc_map_set(q->a, m, "items", items);
	return api_json(r, 200, m);
}

static int get_claim(api_req *q, api_res *r)
{
	int64_t id;
	idp_err err = IDP_ERR_INIT;
	static const char *const kinds[] = {"ApplicationClaim", "AppContainerClaim", "RealtimePlatformClaim",
					    "VClusterEnvironmentClaim"};
	int rc = IDP_ENOTFOUND;
	for (size_t k = 0; k < 4 && rc == IDP_ENOTFOUND; k++)
		rc = idp_store_workflow_find(q->cfg->store, kinds[k], q->params[0], NULL, NULL, &id, &err);
	if (rc == IDP_ENOTFOUND)
		idp_err_set(&err, IDP_ENOTFOUND, "no claim %s was asked for", q->params[0]);
	if (rc) {
		api_error(q, r, rc, &err);
		idp_err_clear(&err);
		return 0;
	}
	return workflow_answer(q, r, id);
}

/* ---------------------------------------------------------------- deployments */

/* A payload's services: "a, b" or ["a", "b"] (a). */
static size_t payload_services(idp_arena *a, const idp_doc_node *v, const char ***out)
{
	size_t n = 0, cap = 0;
	*out = NULL;
	if (v && v->kind == IDP_DOC_SEQ) {
		for (size_t i = 0; i < v->as.seq.len; i++)
			if (v->as.seq.items[i]->kind == IDP_DOC_STR) {
				*out = idp_arena_grow(a, *out, n, &cap, sizeof(**out));
				(*out)[n++] = v->as.seq.items[i]->as.str.ptr;
			}
		return n;
	}
	if (!v || v->kind != IDP_DOC_STR)
		return 0;
	for (const char *p = v->as.str.ptr; *p;) {
		while (*p == ',' || *p == ' ')
			p++;
		const char *start = p;
		while (*p && *p != ',' && *p != ' ')
			p++;
		if (p > start) {
			*out = idp_arena_grow(a, *out, n, &cap, sizeof(**out));
			(*out)[n++] = idp_arena_strndup(a, start, (size_t)(p - start));
		}
	}
	return n;
}

/* The application a dispatch is for: ?app=, else the payload's repository
 * ("owner/<app>-gitops" as the original dispatched to), else the default. */
static const char *dispatch_app(api_req *q, const idp_doc_node *payload)
{
	const char *app = api_query(q, "app");
	if (app && *app)
		return app;
	const char *repo = idp_doc_map_get_str(payload, "repository");
	if (repo) {
		const char *slash = strrchr(repo, '/');
		const char *name = slash ? slash + 1 : repo;
		size_t len = strlen(name);
		return len > 7 && strcmp(name + len - 7, "-gitops") == 0 ? idp_arena_strndup(q->a, name, len - 7) : name;
	}
	return "health-service-idp";
}

/* The original's GitOps update (reference 9.2-9.3): the update-deployments
 * payload sets each service's image from deployments[svc].image (services
 * without an entry are skipped), the simple-update payload to
 * registry/svc:commit_sha; by component name, not by matching image lines;
 * one commit per changed service, then a sync. */
static int post_deployments(api_req *q, api_res *r)
{
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	if (q->body_len == 0 || idp_doc_load(q->a, BODY_FILE, q->body, q->body_len, NULL, &s, &err) != 0 || s.len != 1 ||
	    s.docs[0]->kind != IDP_DOC_MAP) {
		if (!err.msg)
			idp_err_set(&err, IDP_EINPUT, "the body must be an update-deployments or simple-update payload (JSON)");
		api_error(q, r, IDP_EINPUT, &err);
		idp_err_clear(&err);
		return 0;
	}
	const idp_doc_node *doc = s.docs[0], *payload = idp_doc_map_get(doc, "client_payload");
	const char *event = idp_doc_map_get_str(doc, "event_type");
	payload = payload && payload->kind == IDP_DOC_MAP ? payload : doc;
	const idp_doc_node *deployments = idp_doc_map_get(payload, "deployments");
	bool full = (event && strcmp(event, "update-deployments") == 0) || (deployments && deployments->kind == IDP_DOC_MAP);
	if (event && strcmp(event, "update-deployments") != 0 && strcmp(event, "simple-update") != 0)
		return api_fail(r, 400, "input",
				idp_arena_printf(q->a, "event_type %s: want update-deployments or simple-update", event));
	const char **services;
	size_t n = payload_services(q->a, idp_doc_map_get(payload, "services"), &services);
	if (n == 0)
		return api_fail(r, 400, "input", "services: want the services to update (\"a,b\" or a list)");
	const char *registry = idp_doc_map_get_str(payload, "registry");
	const char *commit = idp_doc_map_get_str(payload, "commit_sha");
	commit = commit ? commit : idp_doc_map_get_str(payload, "source_commit");
	if (!full && (!registry || !commit))
		return api_fail(r, 400, "input", "a simple-update needs registry and commit_sha (or source_commit)");
	const char *app = dispatch_app(q, payload);
	if (bad_app_name(q, r, app))
		return 0;
	idp_gitops_repo *repo;
	const char *path = idp_arena_printf(q->a, "%s/gitops/%s", q->cfg->state_dir, idp_gitops_repo_name(q->a, app));
	if (idp_gitops_open(path, 10000, 0, &repo, &err) != 0) {
		idp_err_clear(&err);
		return api_fail(r, 404, "notfound", idp_arena_printf(q->a, "no GitOps repository for %s (%s)", app, path));
	}
	static const idp_gitops_identity bot = {"GitOps Bot", "gitops-bot@localhost"};
	idp_doc_node *results = idp_doc_new_seq(q->a);
	bool changed = false;
	const char *last = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *svc = services[i], *image = NULL, *svc_commit = commit, *result, *msg = NULL;
		if (idp_name_check_dns1123_label(svc)) {
			result = "invalid";
			msg = "not a component name (a DNS-1123 label)";
		} else {
			if (full) {
				const idp_doc_node *d = idp_doc_map_get(deployments, svc);
				image = idp_doc_map_get_str(d, "image");
				svc_commit = idp_doc_map_get_str(d, "commit") ? idp_doc_map_get_str(d, "commit") : commit;
			} else {
				image = idp_arena_printf(q->a, "%s/%s:%s", registry, svc, commit);
			}
			idp_gitops_commit_result res;
			if (!image) {
				result = "skipped";
				msg = "no image for it in deployments";
			} else if (idp_gitops_set_image(repo, q->a, svc, image, NULL, svc_commit, q->cfg->renderer, &bot, &res,
						       &err) != 0) {
				result = err.code == IDP_ENOTFOUND || (err.msg && strstr(err.msg, "no component named"))
						 ? "unknown"
						 : "failed";
				msg = idp_arena_strdup(q->a, err.msg ? err.msg : "failed");
				idp_err_clear(&err);
			} else {
				result = res.changed ? "updated" : "unchanged";
				changed = changed || res.changed;
				if (res.changed)
					last = idp_arena_strdup(q->a, res.id);
			}
		}
		idp_doc_node *m = idp_doc_new_map(q->a);
		idp_doc_map_set(q->a, m, "name", idp_doc_new_str(q->a, svc));
		if (image)
			idp_doc_map_set(q->a, m, "image", idp_doc_new_str(q->a, image));
		idp_doc_map_set(q->a, m, "result", idp_doc_new_str(q->a, result));
		if (msg)
			idp_doc_map_set(q->a, m, "message", idp_doc_new_str(q->a, msg));
		idp_doc_seq_push(q->a, results, m);
	}
	idp_gitops_close(repo);
	idp_doc_node *out = idp_doc_new_map(q->a);
	idp_doc_map_set(q->a, out, "app", idp_doc_new_str(q->a, app));
	idp_doc_map_set(q->a, out, "services", results);
	if (last)
		idp_doc_map_set(q->a, out, "commit", idp_doc_new_str(q->a, last));
	if (changed) { /* the link from a source build to the running service */
		/* (no base_dir: the application keeps where its programs are) */
		idp_doc_node *req = request(q->a, "adopt", app), *reply;
		idp_doc_map_set(q->a, req, "repo", idp_doc_new_str(q->a, path));
		if (call(q, r, req, &reply))
			return 0;
		idp_doc_map_set(q->a, out, "synced", idp_doc_new_str(q->a, idp_doc_map_get_str(reply, "revision")));
	}
	return api_json(r, 200, out);
}

/* ---------------------------------------------------------------- the table */

const api_route api_routes[] = {
	{"GET", "/api/v1/applications", false, "applications",
	 "List the applications of the store (running or down), with the health of those that run", NULL,
	 "ApplicationList", 200, list_apps, NULL},
	{"POST", "/api/v1/applications", true, "applications",
	 "Create or update an application from an OAM Application (YAML or JSON): rendered, committed to its GitOps "
	 "repository, synced; 201 when new",
	 "Application", "Accepted", 201, create_app, NULL},
	{"GET", "/api/v1/applications/{name}", false, "applications",
	 "An application with its components and the status of every object", NULL, "ApplicationStatus", 200, get_app,
	 NULL},
	{"PUT", "/api/v1/applications/{name}", true, "applications",
	 "Replace an application from an OAM Application whose metadata.name is {name}", "Application", "Accepted", 200,
	 replace_app, NULL},
	{"DELETE", "/api/v1/applications/{name}", true, "applications",
	 "Stop an application and forget it (purge: also its data, secrets and repository)", NULL, "Deleted", 200,
	 delete_app, "purge:boolean:also remove its data, secrets and GitOps repository"},
	{"GET", "/api/v1/applications/{name}/tree", false, "applications",
	 "The application as a tree: components, their objects, what runs them (as idp describe)", NULL, "Tree", 200,
	 app_tree, NULL},
	{"POST", "/api/v1/applications/{name}/pause", true, "applications",
	 "Stop every process and daemon of the application, keeping its data", NULL, "Paused", 200, pause_app, NULL},
	{"POST", "/api/v1/applications/{name}/resume", true, "applications", "Start a paused application again", NULL,
	 "Paused", 200, resume_app, NULL},
	{"POST", "/api/v1/applications/{name}/sync", true, "sync",
	 "Sync the application to its GitOps repository's head now (dry_run: only the plan)", "SyncRequest",
	 "SyncResult", 200, sync_app, NULL},
	{"GET", "/api/v1/applications/{name}/syncs", false, "sync", "The application's sync runs, newest first", NULL,
	 "SyncHistory", 200, sync_history, "limit:integer:at most this many runs (100)"},
	{"POST", "/api/v1/render", false, "render",
	 "Render posted documents (an OAM Application, claims) into Kubernetes objects; nothing is written", "Documents",
	 "ObjectList", 200, render_dry_run, "compose:string:claims (default) or inline"},
	{"GET", "/api/v1/definitions", false, "definitions", "The component, trait and policy definitions of the catalog",
	 NULL, "DefinitionList", 200, list_definitions, NULL},
	{"GET", "/api/v1/definitions/{name}", false, "definitions", "One definition with its parameters", NULL,
	 "Definition", 200, show_definition, NULL},
	{"POST", "/api/v1/claims", true, "claims",
	 "Ask for a service with an ApplicationClaim (or an AppContainerClaim, RealtimePlatformClaim, "
	 "VClusterEnvironmentClaim): its workflow (validate, repositories, scaffold, OAM update or the claim filed, "
	 "render, commit, sync, wait, notify) starts; 202 with the workflow, 200 when that claim's workflow runs already",
	 "Documents", "WorkflowStarted", 202, post_claim, NULL},
	{"GET", "/api/v1/claims", false, "claims", "The claims asked for, as their workflows, newest first", NULL,
	 "WorkflowList", 200, list_workflows, "state:string:Running, Succeeded or Failed"},
	{"GET", "/api/v1/claims/{name}", false, "claims", "A claim's newest workflow, with its steps", NULL, "Workflow",
	 200, get_claim, NULL},
	{"GET", "/api/v1/workflows", false, "claims", "Every workflow, newest first", NULL, "WorkflowList", 200,
	 list_workflows, "state:string:Running, Succeeded or Failed"},
	{"GET", "/api/v1/workflows/{id}", false, "claims", "A workflow: its steps, their timings and errors", NULL,
	 "Workflow", 200, get_workflow, NULL},
	{"POST", "/api/v1/deployments", true, "deployments",
	 "The original's GitOps update: an update-deployments (deployments[svc].image) or simple-update "
	 "(registry/svc:commit_sha) payload sets each service's image by component name, commits, syncs",
	 "DeploymentUpdate", "DeploymentResult", 200, post_deployments, "app:string:the application container (else the payload's repository, else health-service-idp)"},
	{"GET", "/api/v1/agent-keys", false, "secrets",
	 "The namespaces that have a Lenses agent key (never the keys)", NULL, "AgentKeyList", 200, api_agent_keys_list,
	 NULL},
	{"POST", "/api/v1/agent-keys", true, "secrets",
	 "Import agent keys from an .env file (lines <namespace>-agent-key=<value>); kept encrypted, materialised as "
	 "Secret lenses-credentials (AGENT_KEY) in each namespace labelled part-of realtime-platform",
	 "EnvFile", "AgentKeyList", 200, api_agent_keys_import, NULL},
	{"PUT", "/api/v1/agent-keys/{namespace}", true, "secrets", "Set one namespace's agent key", "AgentKey",
	 "AgentKeyStored", 200, api_agent_key_put, NULL},
	{"DELETE", "/api/v1/agent-keys/{namespace}", true, "secrets", "Forget one namespace's agent key", NULL,
	 "AgentKeyStored", 200, api_agent_key_delete, NULL},
	{"POST", "/oam/webhook", true, "deployments",
	 "An OAM Application as an AdmissionReview or an Argo Events {body, operation}: components taken "
	 "infrastructure, compositional, webservice; each webservice an oam-driven claim workflow; always allowed; "
	 "a generation delivered twice is processed once",
	 "AdmissionReview", "AdmissionReview", 200, api_oam_webhook, NULL},
	{"POST", "/slack/command", false, "slack",
	 "Slack slash commands (/microservice, /service, /appcontainer, /app-cont, /vcluster: create, help, list, "
	 "status NAME, delete NAME); form-encoded, signed by Slack (X-Slack-Signature, X-Slack-Request-Timestamp); "
	 "answers in Block Kit",
	 "SlackCommand", "SlackMessage", 200, api_slack_command, NULL},
	{"POST", "/slack/events", false, "slack",
	 "Slack's Events API: url_verification answered with its challenge; signed like commands", "SlackEvent",
	 "SlackEventAnswer", 200, api_slack_events, NULL},
	{"GET", "/api/v1/events", false, "events",
	 "Sync, health and application events as Server-Sent Events; replay after Last-Event-ID (or ?after=)", NULL,
	 "EventStream", 200, NULL, "after:integer:replay events after this id;app:string:only this application's events"},
	{"GET", "/api/v1/ws", false, "events",
	 "The same events over a WebSocket: one text message each, the JSON of an event (replay after ?after=)", NULL,
	 "Event", 101, NULL, "after:integer:replay events after this id;app:string:only this application's events"},
};

const size_t api_n_routes = sizeof api_routes / sizeof api_routes[0];
