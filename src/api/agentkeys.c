/* The realtime platforms' Lenses agent keys (the reference's §5, done
 * right): kept encrypted in the store, never in git or a log; the daemon
 * materialises them (daemon.c, inject_agent_keys). Here: the .env import,
 * and the API's routes. */
#include "api/api.h"
#include "api/api_private.h"

#include <sodium.h>
#include <string.h>

#define SUFFIX "-agent-key"

int idp_api_agent_keys_import(idp_store *s, const char *file, const char *text, size_t len, size_t *n, idp_err *err)
{
	*n = 0;
	size_t line = 0;
	for (size_t i = 0; i < len;) {
		const char *p = text + i, *nl = memchr(p, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - p) : len - i;
		i += ll + 1;
		line++;
		if (ll && p[ll - 1] == '\r')
			ll--;
		const char *eq = memchr(p, '=', ll);
		size_t sl = strlen(SUFFIX);
		if (!eq || (size_t)(eq - p) <= sl || memcmp(eq - sl, SUFFIX, sl) != 0 || p[0] == '#')
			continue; /* other variables of the file */
		char ns[64];
		size_t nl_ = (size_t)(eq - p) - sl;
		if (nl_ >= sizeof ns)
			return idp_err_set(err, IDP_EINPUT, "%s:%zu: the namespace is longer than 63 characters", file, line);
		memcpy(ns, p, nl_);
		ns[nl_] = 0;
		const char *why = idp_name_check_dns1123_label(ns);
		if (why)
			return idp_err_set(err, IDP_EINPUT, "%s:%zu: \"%s\" is no namespace: %s", file, line, ns, why);
		const char *v = eq + 1;
		size_t vl = ll - (size_t)(v - p);
		if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0])
			v++, vl -= 2;
		if (vl == 0)
			return idp_err_set(err, IDP_EINPUT, "%s:%zu: the agent key of %s is empty", file, line, ns);
		int rc = idp_store_secret_put(s, IDP_API_AGENT_KEYS_APP, IDP_API_AGENT_KEYS_SCOPE, ns, v, vl, err);
		if (rc)
			return rc;
		(*n)++;
	}
	return 0;
}

/* Every application synced again: their Secrets follow the keys. */
static void resync(api_req *q)
{
	idp_doc_node *req = idp_doc_new_map(q->a), *reply;
	idp_doc_map_set(q->a, req, "op", idp_doc_new_str(q->a, "status"));
	idp_err err = IDP_ERR_INIT;
	if (q->backend->call(q->backend->ctx, q->a, req, &reply, &err) == 0) {
		const idp_doc_node *apps = idp_doc_map_get(reply, "apps");
		for (size_t i = 0; apps && apps->kind == IDP_DOC_SEQ && i < apps->as.seq.len; i++) {
			idp_doc_node *s = idp_doc_new_map(q->a), *r2;
			idp_doc_map_set(q->a, s, "op", idp_doc_new_str(q->a, "sync"));
			idp_doc_map_set(q->a, s, "app", idp_doc_new_str(q->a, idp_doc_map_get_str(apps->as.seq.items[i], "name")));
			idp_err e2 = IDP_ERR_INIT;
			q->backend->call(q->backend->ctx, q->a, s, &r2, &e2); /* a paused one stays as it is */
			idp_err_clear(&e2);
		}
	}
	idp_err_clear(&err);
}

static int list_answer(api_req *q, api_res *r, int status)
{
	const char **names;
	size_t n = 0;
	idp_err err = IDP_ERR_INIT;
	if (idp_store_secret_names(q->cfg->store, q->a, IDP_API_AGENT_KEYS_APP, IDP_API_AGENT_KEYS_SCOPE, &names, &n, &err)) {
		api_error(q, r, IDP_ERUNTIME, &err);
		idp_err_clear(&err);
		return 0;
	}
	idp_doc_node *items = idp_doc_new_seq(q->a);
	for (size_t i = 0; i < n; i++) {
		idp_doc_node *m = idp_doc_new_map(q->a);
		idp_doc_map_set(q->a, m, "namespace", idp_doc_new_str(q->a, names[i]));
		idp_doc_seq_push(q->a, items, m);
	}
	idp_doc_node *m = idp_doc_new_map(q->a);
	idp_doc_map_set(q->a, m, "items", items);
	return api_json(r, status, m);
}

int api_agent_keys_list(api_req *q, api_res *r)
{
	return list_answer(q, r, 200);
}

/* The body: an .env file (lines <namespace>-agent-key=<value>). */
int api_agent_keys_import(api_req *q, api_res *r)
{
	size_t n;
	idp_err err = IDP_ERR_INIT;
	if (idp_api_agent_keys_import(q->cfg->store, "request body", q->body, q->body_len, &n, &err) != 0) {
		api_error(q, r, err.code ? err.code : IDP_EINPUT, &err);
		idp_err_clear(&err);
		return 0;
	}
	if (n == 0)
		return api_fail(r, 400, "input", "no line <namespace>-agent-key=<value> in the body");
	resync(q);
	return list_answer(q, r, 200);
}

/* PUT {"agentKey": "..."}: one namespace's key. */
int api_agent_key_put(api_req *q, api_res *r)
{
	const char *ns = q->params[0], *why = idp_name_check_dns1123_label(ns);
	if (why)
		return api_fail(r, 400, "input", idp_arena_printf(q->a, "\"%s\" is no namespace: %s", ns, why));
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	const char *key = NULL;
	if (q->body_len && idp_doc_load(q->a, "request body", q->body, q->body_len, NULL, &s, &err) == 0 && s.len == 1)
		key = idp_doc_map_get_str(s.docs[0], "agentKey");
	idp_err_clear(&err);
	if (!key || !*key)
		return api_fail(r, 400, "input", "the body must be {\"agentKey\": \"...\"}");
	if (idp_store_secret_put(q->cfg->store, IDP_API_AGENT_KEYS_APP, IDP_API_AGENT_KEYS_SCOPE, ns, key, strlen(key),
				 &err) != 0) {
		api_error(q, r, IDP_ERUNTIME, &err);
		idp_err_clear(&err);
		return 0;
	}
	resync(q);
	idp_doc_node *m = idp_doc_new_map(q->a);
	idp_doc_map_set(q->a, m, "namespace", idp_doc_new_str(q->a, ns));
	idp_doc_map_set(q->a, m, "stored", idp_doc_new_bool(q->a, true));
	return api_json(r, 200, m);
}

int api_agent_key_delete(api_req *q, api_res *r)
{
	idp_err err = IDP_ERR_INIT;
	int rc = idp_store_secret_delete(q->cfg->store, IDP_API_AGENT_KEYS_APP, IDP_API_AGENT_KEYS_SCOPE, q->params[0], &err);
	if (rc == 0) { /* and the copies the applications' Secrets were made from */
		idp_store_app *apps;
		size_t n = 0;
		idp_err e2 = IDP_ERR_INIT;
		idp_store_app_list(q->cfg->store, q->a, &apps, &n, &e2);
		for (size_t i = 0; i < n; i++)
			idp_store_secret_delete(q->cfg->store, apps[i].name,
						idp_arena_printf(q->a, "%s/lenses-credentials", q->params[0]), "AGENT_KEY", &e2),
				idp_err_clear(&e2);
		idp_err_clear(&e2);
	}
	if (rc == IDP_ENOTFOUND)
		idp_err_set(&err, IDP_ENOTFOUND, "no agent key for namespace %s", q->params[0]);
	if (rc) {
		api_error(q, r, rc, &err);
		idp_err_clear(&err);
		return 0;
	}
	resync(q);
	idp_doc_node *m = idp_doc_new_map(q->a);
	idp_doc_map_set(q->a, m, "namespace", idp_doc_new_str(q->a, q->params[0]));
	idp_doc_map_set(q->a, m, "deleted", idp_doc_new_bool(q->a, true));
	return api_json(r, 200, m);
}
