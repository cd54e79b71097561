/* POST /oam/webhook: an OAM Application as Kubernetes admits it (an
 * AdmissionReview) or as Argo Events forwards it ({body, operation}).
 * Components are taken infrastructure first, then compositional ones,
 * then webservices (the reference's patterns 3, 2, 1); each webservice is
 * an oam-driven request: its claim workflow makes its repositories and
 * scaffold but never edits the OAM file it came from. The answer always
 * allows the object: the platform's work must never block an apply. A
 * generation delivered twice is processed once. */
#include "api/api.h"
#include "api/api_private.h"

#include <stdio.h>
#include <string.h>

static const char *const pattern3[] = {"postgresql",	 "mongodb",	    "redis",	       "kafka",
				       "clickhouse",	 "neon-postgres",   "auth0-idp",       "realtime-platform",
				       "camunda-orchestrator", "application-infrastructure", NULL};
static const char *const pattern2[] = {"rasa-chatbot",	   "graphql-gateway",	    "graphql-platform",
				       "identity-service", "orchestration-platform", NULL};
static const char *const pattern1[] = {"webservice", "webservice-k8s", "vcluster", NULL};

static int pattern_of(const char *type)
{
	const char *const *const sets[] = {pattern3, pattern2, pattern1};
	for (int k = 0; k < 3; k++)
		for (const char *const *t = sets[k]; type && *t; t++)
			if (strcmp(type, *t) == 0)
				return 3 - k;
	return 0;
}

static idp_doc_node *review(idp_arena *a, const char *uid, const char *message)
{
	idp_doc_node *m = idp_doc_new_map(a), *res = idp_doc_new_map(a), *status = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "apiVersion", idp_doc_new_str(a, "admission.k8s.io/v1"));
	idp_doc_map_set(a, m, "kind", idp_doc_new_str(a, "AdmissionReview"));
	idp_doc_map_set(a, res, "uid", idp_doc_new_str(a, uid ? uid : ""));
	idp_doc_map_set(a, res, "allowed", idp_doc_new_bool(a, true));
	idp_doc_map_set(a, status, "message", idp_doc_new_str(a, message));
	idp_doc_map_set(a, res, "status", status);
	idp_doc_map_set(a, m, "response", res);
	return m;
}

/* The claim of an oam-driven webservice. */
static idp_doc_node *claim_of(idp_arena *a, const idp_doc_node *comp, const char *container, const char *ns)
{
	const idp_doc_node *props = idp_doc_map_get(comp, "properties");
	idp_api_service_request r = {0};
	r.name = idp_doc_map_get_str(comp, "name");
	r.ns = ns;
	r.language = idp_doc_map_get_str(props, "language") ? idp_doc_map_get_str(props, "language") : "python";
	r.framework = idp_doc_map_get_str(props, "framework");
	if (!r.framework)
		r.framework = strcmp(r.language, "c") == 0 ? "idp-sdk" : strcmp(r.language, "java") == 0 ? "springboot"
							: strcmp(r.language, "nodejs") == 0 ? "express"
							: strcmp(r.language, "go") == 0	  ? "gin"
											  : "fastapi";
	r.database = idp_doc_map_get_str(props, "database") ? idp_doc_map_get_str(props, "database") : "none";
	r.cache = idp_doc_map_get_str(props, "cache") ? idp_doc_map_get_str(props, "cache") : "none";
	r.app_container = container;
	idp_doc_node *c = idp_api_service_claim(a, &r);
	idp_doc_node *ann = idp_doc_map_get(idp_doc_map_get(c, "metadata"), "annotations");
	idp_doc_map_set(a, ann, "webservice.oam.dev/source", idp_doc_new_str(a, "oam-driven"));
	return c;
}

int api_oam_webhook(api_req *q, api_res *r)
{
	idp_arena *a = q->a;
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	if (q->body_len == 0 || idp_doc_load(a, "request body", q->body, q->body_len, NULL, &s, &err) != 0 || s.len != 1 ||
	    s.docs[0]->kind != IDP_DOC_MAP) {
		idp_err_clear(&err);
		return api_fail(r, 400, "input", "the body must be an AdmissionReview or an Argo Events {body, operation}");
	}
	const idp_doc_node *doc = s.docs[0], *app = NULL;
	const char *uid = "argo-events-trigger", *op = idp_doc_map_get_str(doc, "operation");
	const char *inner = idp_doc_map_get_str(doc, "body");
	if (inner) { /* Argo Events: the object as a JSON string */
		idp_doc_stream b;
		if (idp_doc_load(a, "body", inner, strlen(inner), NULL, &b, &err) == 0 && b.len == 1)
			app = b.docs[0];
		idp_err_clear(&err);
	} else {
		const idp_doc_node *req = idp_doc_map_get(doc, "request");
		uid = idp_doc_map_get_str(req, "uid");
		op = idp_doc_map_get_str(req, "operation");
		app = idp_doc_map_get(req, "object");
	}
	const idp_doc_node *meta = idp_doc_map_get(app, "metadata");
	const char *kind = idp_doc_map_get_str(app, "kind"), *name = idp_doc_map_get_str(meta, "name");
	const char *ns = idp_doc_map_get_str(meta, "namespace") ? idp_doc_map_get_str(meta, "namespace") : "default";
	const char *container = idp_doc_map_get_str(idp_doc_map_get(meta, "labels"), "app-container");
	if (!op || (strcmp(op, "CREATE") != 0 && strcmp(op, "UPDATE") != 0))
		return api_json(r, 200, review(a, uid, idp_arena_printf(a, "ignored: operation %s", op ? op : "(none)")));
	if (!kind || strcmp(kind, "Application") != 0 || !name)
		return api_json(r, 200, review(a, uid, "ignored: not an OAM Application"));
	if (!container || idp_name_check_dns1123_label(container))
		return api_json(r, 200, review(a, uid, "ignored: no app-container label (a DNS-1123 label) on the Application"));
	/* Once per generation (else per resourceVersion, else per uid). */
	const idp_doc_node *gen = idp_doc_map_get(meta, "generation");
	const char *version = gen && gen->kind == IDP_DOC_INT ? idp_arena_printf(a, "g%lld", (long long)gen->as.i)
			      : idp_doc_map_get_str(meta, "resourceVersion") ? idp_doc_map_get_str(meta, "resourceVersion")
									       : uid;
	/* Without a generation, resourceVersion or uid there is nothing to
	 * know a repeat by: processed each time (the workflows are idempotent). */
	bool fresh = true;
	const char *key = version ? idp_arena_printf(a, "oam-webhook/%s/%s/%s", ns, name, version) : NULL;
	if (key && (idp_store_seen(q->cfg->store, key, &fresh, &err) != 0 || !fresh)) {
		idp_err_clear(&err);
		return api_json(r, 200, review(a, uid, idp_arena_printf(a, "already processed: %s/%s %s", ns, name, version)));
	}
	const idp_doc_node *comps = NULL;
	idp_doc_path_get(app, "spec.components", (idp_doc_node **)&comps, NULL);
	size_t counts[4] = {0};
	idp_buf started = IDP_BUF_INIT, failed = IDP_BUF_INIT;
	for (int pattern = 3; pattern >= 1; pattern--) { /* infrastructure, compositional, webservices */
		for (size_t i = 0; comps && comps->kind == IDP_DOC_SEQ && i < comps->as.seq.len; i++) {
			const idp_doc_node *c = comps->as.seq.items[i];
			const char *type = idp_doc_map_get_str(c, "type");
			if (pattern_of(type) != pattern)
				continue;
			counts[pattern]++;
			if (strcmp(type, "webservice") != 0 || !idp_doc_map_get_str(c, "name"))
				continue; /* rendered with the Application itself */
			int64_t id;
			bool existing;
			if (idp_api_workflow_start(api_workflow_env(q->api), a, claim_of(a, c, container, ns), "oam-webhook", &id,
						   &existing, &err) == 0)
				idp_buf_printf(&started, "%s%s (workflow %lld)", started.len ? ", " : "", idp_doc_map_get_str(c, "name"),
					       (long long)id);
			else
				idp_buf_printf(&failed, "%s%s: %s", failed.len ? "; " : "", idp_doc_map_get_str(c, "name"),
					       err.msg ? err.msg : "failed");
			idp_err_clear(&err);
		}
	}
	if (started.len)
		api_workflows_kick(q->api);
	const char *msg = idp_arena_printf(a, "Processed %zu components (Pattern 3: %zu, Pattern 2: %zu, Pattern 1: %zu)%s%s%s%s",
					   counts[1] + counts[2] + counts[3], counts[3], counts[2], counts[1],
					   started.len ? "; workflows: " : "", started.len ? started.ptr : "",
					   failed.len ? "; not started: " : "", failed.len ? failed.ptr : "");
	idp_buf_free(&started);
	idp_buf_free(&failed);
	return api_json(r, 200, review(a, uid, msg));
}
