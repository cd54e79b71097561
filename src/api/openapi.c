/* The OpenAPI 3.1 document, made from the route table: a route cannot be
 * served and left out of it. The schemas of bodies are written here once,
 * as JSON. */
#include "api/api.h"
#include "api/api_private.h"

#include <string.h>

static const char schemas_json[] =
	"{"
	"\"Error\":{\"type\":\"object\",\"required\":[\"error\",\"code\"],\"properties\":{"
	"\"error\":{\"type\":\"string\",\"description\":\"what went wrong, in words\"},"
	"\"code\":{\"type\":\"string\",\"enum\":[\"input\",\"notfound\",\"runtime\",\"unauthenticated\",\"method\"]},"
	"\"file\":{\"type\":\"string\"},\"line\":{\"type\":\"integer\"},\"column\":{\"type\":\"integer\"},"
	"\"field\":{\"type\":\"string\",\"description\":\"the field path of bad input\"}}},"
	"\"Application\":{\"type\":\"object\",\"description\":\"an OAM Application (core.oam.dev/v1beta1)\","
	"\"required\":[\"apiVersion\",\"kind\",\"metadata\",\"spec\"],\"properties\":{"
	"\"apiVersion\":{\"type\":\"string\"},\"kind\":{\"const\":\"Application\"},"
	"\"metadata\":{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":\"string\"}}},"
	"\"spec\":{\"type\":\"object\",\"properties\":{\"components\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}},"
	"\"policies\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}},\"workflow\":{\"type\":\"object\"}}}}},"
	"\"Documents\":{\"description\":\"one or more YAML documents (an OAM Application, claims), or one JSON object\","
	"\"type\":\"object\"},"
	"\"Accepted\":{\"type\":\"object\",\"required\":[\"name\",\"status\"],\"properties\":{"
	"\"name\":{\"type\":\"string\"},\"revision\":{\"type\":\"string\",\"description\":\"the GitOps commit\"},"
	"\"status\":{\"type\":\"string\"},\"self\":{\"type\":\"string\"}}},"
	"\"ApplicationSummary\":{\"type\":\"object\",\"required\":[\"name\",\"running\"],\"properties\":{"
	"\"name\":{\"type\":\"string\"},\"revision\":{\"type\":\"string\"},\"running\":{\"type\":\"boolean\"},"
	"\"status\":{\"type\":\"string\",\"description\":\"as recorded: Synced, Paused, Down ...\"},"
	"\"updated\":{\"type\":\"integer\",\"description\":\"Unix time\"},\"health\":{\"$ref\":\"#/components/schemas/Health\"},"
	"\"paused\":{\"type\":\"boolean\"},\"urls\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	"\"objects\":{\"type\":\"integer\"}}},"
	"\"ApplicationList\":{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\","
	"\"items\":{\"$ref\":\"#/components/schemas/ApplicationSummary\"}}}},"
	"\"Health\":{\"type\":\"string\",\"enum\":[\"Healthy\",\"Progressing\",\"Degraded\",\"Suspended\",\"Missing\","
	"\"Unavailable\",\"Unknown\"]},"
	"\"ObjectStatus\":{\"type\":\"object\",\"required\":[\"object\",\"health\"],\"properties\":{"
	"\"object\":{\"type\":\"string\",\"description\":\"Kind/namespace/name[@cluster]\"},"
	"\"component\":{\"type\":\"string\"},\"local\":{\"type\":\"string\",\"description\":\"what runs it here\"},"
	"\"health\":{\"$ref\":\"#/components/schemas/Health\"},\"message\":{\"type\":\"string\"},"
	"\"address\":{\"type\":\"string\"},\"port\":{\"type\":\"integer\"},\"replicas\":{\"type\":\"integer\"},"
	"\"ready\":{\"type\":\"integer\",\"description\":\"replicas that passed their readiness probe\"}}},"
	"\"ComponentStatus\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
	"\"health\":{\"$ref\":\"#/components/schemas/Health\"}}},"
	"\"ApplicationStatus\":{\"type\":\"object\",\"required\":[\"name\",\"objects\"],\"properties\":{"
	"\"name\":{\"type\":\"string\"},\"revision\":{\"type\":\"string\"},\"health\":{\"$ref\":\"#/components/schemas/Health\"},"
	"\"paused\":{\"type\":\"boolean\"},\"urls\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	"\"components\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/ComponentStatus\"}},"
	"\"objects\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/ObjectStatus\"}}}},"
	"\"Tree\":{\"type\":\"object\",\"required\":[\"name\",\"components\"],\"properties\":{"
	"\"name\":{\"type\":\"string\"},\"revision\":{\"type\":\"string\"},\"health\":{\"$ref\":\"#/components/schemas/Health\"},"
	"\"paused\":{\"type\":\"boolean\"},\"components\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
	"\"component\":{\"type\":\"string\"},\"health\":{\"$ref\":\"#/components/schemas/Health\"},"
	"\"objects\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/ObjectStatus\"}}}}}}},"
	"\"Deleted\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"deleted\":{\"type\":\"boolean\"},"
	"\"purged\":{\"type\":\"boolean\"}}},"
	"\"Paused\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"paused\":{\"type\":\"boolean\"}}},"
	"\"SyncRequest\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
	"\"dry_run\":{\"type\":\"boolean\"},\"allow_mass_prune\":{\"type\":\"boolean\"}}},"
	"\"SyncResult\":{\"type\":\"object\",\"properties\":{\"app\":{\"type\":\"string\"},"
	"\"status\":{\"type\":\"string\",\"enum\":[\"Synced\",\"OutOfSync\",\"Succeeded\",\"Failed\"]},"
	"\"message\":{\"type\":\"string\"},\"plan\":{\"type\":\"string\",\"description\":\"what the sync does, a line per object\"}}},"
	"\"SyncHistory\":{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"properties\":{\"id\":{\"type\":\"integer\"},\"revision\":{\"type\":[\"string\",\"null\"]},"
	"\"started\":{\"type\":\"integer\",\"description\":\"Unix time\"},\"finished\":{\"type\":[\"integer\",\"null\"]},"
	"\"result\":{\"type\":[\"string\",\"null\"]}}}}}},"
	"\"ObjectList\":{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"description\":\"a Kubernetes object\"}}}},"
	"\"DefinitionList\":{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"properties\":{\"name\":{\"type\":\"string\"},\"kind\":{\"type\":\"string\"},\"workload\":{\"type\":\"string\"},"
	"\"description\":{\"type\":\"string\"}}}}}},"
	"\"Definition\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"kind\":{\"type\":\"string\"},"
	"\"file\":{\"type\":\"string\"},\"parameters\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}}},"
	"\"EventStream\":{\"type\":\"string\",\"description\":\"text/event-stream: each event has id, event (its type) and "
	"data, a JSON object {id, time, app, object, type, message}\"},"
	"\"Event\":{\"type\":\"object\",\"required\":[\"id\",\"time\",\"type\",\"message\"],\"properties\":{"
	"\"id\":{\"type\":\"integer\"},\"time\":{\"type\":\"integer\"},\"app\":{\"type\":\"string\"},"
	"\"object\":{\"type\":\"string\"},\"type\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"}}},"
	"\"Liveness\":{\"type\":\"object\",\"properties\":{\"status\":{\"type\":\"string\"}}},"
	"\"WorkflowStarted\":{\"type\":\"object\",\"properties\":{\"workflow\":{\"type\":\"integer\"},"
	"\"existing\":{\"type\":\"boolean\"},\"self\":{\"type\":\"string\"}}},"
	"\"Workflow\":{\"type\":\"object\",\"required\":[\"id\",\"state\"],\"properties\":{"
	"\"id\":{\"type\":\"integer\"},\"kind\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
	"\"app\":{\"type\":\"string\"},\"origin\":{\"type\":\"string\"},"
	"\"state\":{\"type\":\"string\",\"enum\":[\"Running\",\"Succeeded\",\"Failed\"]},"
	"\"step\":{\"type\":\"string\",\"description\":\"the next step (done when finished)\"},"
	"\"error\":{\"type\":\"string\"},\"created\":{\"type\":\"integer\"},\"updated\":{\"type\":\"integer\"},"
	"\"steps\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
	"\"name\":{\"type\":\"string\"},\"state\":{\"type\":\"string\"},\"started\":{\"type\":\"number\"},"
	"\"finished\":{\"type\":\"number\"},\"seconds\":{\"type\":\"number\"},\"message\":{\"type\":\"string\"}}}}}},"
	"\"WorkflowList\":{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\","
	"\"items\":{\"$ref\":\"#/components/schemas/Workflow\"}}}},"
	"\"SlackCommand\":{\"type\":\"object\",\"description\":\"application/x-www-form-urlencoded as Slack sends it\","
	"\"properties\":{\"command\":{\"type\":\"string\"},\"text\":{\"type\":\"string\"},"
	"\"user_name\":{\"type\":\"string\"},\"channel_id\":{\"type\":\"string\"}}},"
	"\"SlackMessage\":{\"type\":\"object\",\"properties\":{\"response_type\":{\"type\":\"string\","
	"\"enum\":[\"in_channel\",\"ephemeral\"]},\"text\":{\"type\":\"string\"},"
	"\"blocks\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}}},"
	"\"SlackEvent\":{\"type\":\"object\",\"properties\":{\"type\":{\"type\":\"string\"},"
	"\"challenge\":{\"type\":\"string\"}}},"
	"\"SlackEventAnswer\":{\"type\":\"object\",\"properties\":{\"challenge\":{\"type\":\"string\"},"
	"\"status\":{\"type\":\"string\"}}},"
	"\"DeploymentUpdate\":{\"type\":\"object\",\"description\":\"a repository_dispatch body "
	"({event_type, client_payload}) or its client_payload\",\"properties\":{\"event_type\":{\"type\":\"string\","
	"\"enum\":[\"update-deployments\",\"simple-update\"]},\"client_payload\":{\"type\":\"object\"},"
	"\"services\":{\"type\":[\"string\",\"array\"]},\"deployments\":{\"type\":\"object\"},"
	"\"registry\":{\"type\":\"string\"},\"commit_sha\":{\"type\":\"string\"},"
	"\"source_commit\":{\"type\":\"string\"},\"repository\":{\"type\":\"string\"}}},"
	"\"DeploymentResult\":{\"type\":\"object\",\"properties\":{\"app\":{\"type\":\"string\"},"
	"\"commit\":{\"type\":\"string\"},\"synced\":{\"type\":\"string\"},\"services\":{\"type\":\"array\","
	"\"items\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"image\":{\"type\":\"string\"},"
	"\"result\":{\"type\":\"string\",\"enum\":[\"updated\",\"unchanged\",\"skipped\",\"unknown\",\"invalid\","
	"\"failed\"]},\"message\":{\"type\":\"string\"}}}}}},"
	"\"AdmissionReview\":{\"type\":\"object\",\"description\":\"admission.k8s.io/v1 AdmissionReview "
	"(request in, response out), or Argo Events' {body: the object as a JSON string, operation}\","
	"\"properties\":{\"apiVersion\":{\"type\":\"string\"},\"kind\":{\"type\":\"string\"},"
	"\"request\":{\"type\":\"object\"},\"response\":{\"type\":\"object\"},\"body\":{\"type\":\"string\"},"
	"\"operation\":{\"type\":\"string\"}}},"
	"\"AgentKeyList\":{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":"
	"{\"type\":\"object\",\"properties\":{\"namespace\":{\"type\":\"string\"}}}}}},"
	"\"EnvFile\":{\"type\":\"string\",\"description\":\"lines <namespace>-agent-key=<value>\"},"
	"\"AgentKey\":{\"type\":\"object\",\"required\":[\"agentKey\"],\"properties\":{\"agentKey\":{\"type\":\"string\"}}},"
	"\"AgentKeyStored\":{\"type\":\"object\",\"properties\":{\"namespace\":{\"type\":\"string\"},"
	"\"stored\":{\"type\":\"boolean\"},\"deleted\":{\"type\":\"boolean\"}}},"
	"\"Ready\":{\"type\":\"object\",\"properties\":{\"ready\":{\"type\":\"boolean\"},\"reason\":{\"type\":\"string\"}}}"
	"}";

/* The paths the server answers itself (server.c's serve_fixed). */
static const struct {
	const char *path, *summary, *type, *schema;
} fixed[] = {
	{"/health", "Liveness: the server answers", "application/json", "Liveness"},
	{"/ready", "Readiness: the daemon behind the API answers", "application/json", "Ready"},
	{"/metrics", "Prometheus metrics (text exposition format 0.0.4)", "text/plain", NULL},
	{"/openapi.json", "This document", "application/json", NULL},
	{"/docs", "This document, as a page", "text/html", NULL},
};

static idp_doc_node *str(idp_arena *a, const char *s)
{
	return idp_doc_new_str(a, s);
}

static idp_doc_node *ref(idp_arena *a, const char *where, const char *name)
{
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "$ref", str(a, idp_arena_printf(a, "#/components/%s/%s", where, name)));
	return m;
}

static idp_doc_node *content(idp_arena *a, const char *type, const char *schema)
{
	idp_doc_node *c = idp_doc_new_map(a), *t = idp_doc_new_map(a);
	if (schema)
		idp_doc_map_set(a, t, "schema", ref(a, "schemas", schema));
	else {
		idp_doc_node *s = idp_doc_new_map(a);
		idp_doc_map_set(a, s, "type", str(a, "string"));
		idp_doc_map_set(a, t, "schema", s);
	}
	idp_doc_map_set(a, c, type, t);
	return c;
}

static idp_doc_node *response(idp_arena *a, const char *description, idp_doc_node *body)
{
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "description", str(a, description));
	if (body)
		idp_doc_map_set(a, m, "content", body);
	return m;
}

static idp_doc_node *parameter(idp_arena *a, const char *name, const char *in, const char *type, const char *desc,
			       bool required)
{
	idp_doc_node *p = idp_doc_new_map(a), *s = idp_doc_new_map(a);
	idp_doc_map_set(a, p, "name", str(a, name));
	idp_doc_map_set(a, p, "in", str(a, in));
	idp_doc_map_set(a, p, "required", idp_doc_new_bool(a, required));
	if (desc)
		idp_doc_map_set(a, p, "description", str(a, desc));
	idp_doc_map_set(a, s, "type", str(a, type));
	idp_doc_map_set(a, p, "schema", s);
	return p;
}

/* "get_api_v1_applications_name_sync" */
static const char *operation_id(idp_arena *a, const api_route *r)
{
	char *id = idp_arena_printf(a, "%s%s", r->method, r->pattern);
	size_t k = 0;
	for (size_t i = 0; id[i]; i++) {
		char c = id[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			id[k++] = c;
		else if (c == '/' && k && id[k - 1] != '_')
			id[k++] = '_';
	}
	id[k] = 0;
	return id;
}

static idp_doc_node *operation(idp_arena *a, const api_route *r)
{
	idp_doc_node *op = idp_doc_new_map(a), *tags = idp_doc_new_seq(a), *params = idp_doc_new_seq(a);
	idp_doc_map_set(a, op, "operationId", str(a, operation_id(a, r)));
	idp_doc_map_set(a, op, "summary", str(a, r->summary));
	idp_doc_seq_push(a, tags, str(a, r->tag));
	idp_doc_map_set(a, op, "tags", tags);
	for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
		const char *end = strchr(p, '}');
		idp_doc_seq_push(a, params, parameter(a, idp_arena_strndup(a, p + 1, (size_t)(end - p - 1)), "path", "string",
						      NULL, true));
	}
	for (const char *p = r->query; p && *p;) {
		const char *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *end = strchr(p, ';');
		size_t dl = end ? (size_t)(end - c2 - 1) : strlen(c2 + 1);
		idp_doc_seq_push(a, params,
				 parameter(a, idp_arena_strndup(a, p, (size_t)(c1 - p)), "query",
					   idp_arena_strndup(a, c1 + 1, (size_t)(c2 - c1 - 1)), idp_arena_strndup(a, c2 + 1, dl),
					   false));
		p = end ? end + 1 : NULL;
	}
	bool websocket = strcmp(r->pattern, "/api/v1/ws") == 0;
	if (!r->handle && !websocket) /* the event stream */
		idp_doc_seq_push(a, params,
				 parameter(a, "Last-Event-ID", "header", "string", "replay after this event (EventSource)", false));
	if (params->as.seq.len)
		idp_doc_map_set(a, op, "parameters", params);
	if (r->request) {
		bool form = strcmp(r->request, "SlackCommand") == 0, text = strcmp(r->request, "EnvFile") == 0;
		idp_doc_node *body = idp_doc_new_map(a),
			     *c = content(a, form ? "application/x-www-form-urlencoded" : text ? "text/plain" : "application/json",
					  r->request);
		if (!form && !text && strcmp(r->request, "SlackEvent") != 0)
			idp_doc_map_set(a, c, "application/yaml",
					idp_doc_map_get(content(a, "application/yaml", r->request), "application/yaml"));
		idp_doc_map_set(a, body, "required", idp_doc_new_bool(a, strcmp(r->request, "SyncRequest") != 0));
		idp_doc_map_set(a, body, "content", c);
		idp_doc_map_set(a, op, "requestBody", body);
	}
	idp_doc_node *res = idp_doc_new_map(a);
	idp_doc_map_set(a, res, idp_arena_printf(a, "%d", r->ok),
			websocket ? response(a, "switching to the WebSocket protocol: each text message is an Event "
						"(#/components/schemas/Event)",
					     NULL)
				  : response(a, "success",
					     r->handle ? content(a, "application/json", r->response)
						       : content(a, "text/event-stream", NULL)));
	if (r->ok == 201)
		idp_doc_map_set(a, res, "200", response(a, "updated (it existed)", content(a, "application/json", r->response)));
	idp_doc_map_set(a, res, "400", ref(a, "responses", "BadInput"));
	if (r->mutating || strncmp(r->pattern, "/slack/", 7) == 0)
		idp_doc_map_set(a, res, "401", ref(a, "responses", "Unauthenticated"));
	if (strchr(r->pattern, '{'))
		idp_doc_map_set(a, res, "404", ref(a, "responses", "NotFound"));
	idp_doc_map_set(a, res, "500", ref(a, "responses", "Failed"));
	idp_doc_map_set(a, op, "responses", res);
	if (r->mutating) {
		idp_doc_node *sec = idp_doc_new_seq(a), *req = idp_doc_new_map(a);
		idp_doc_map_set(a, req, "bearer", idp_doc_new_seq(a));
		idp_doc_seq_push(a, sec, req);
		idp_doc_map_set(a, op, "security", sec);
	}
	return op;
}

static idp_doc_node *lower(idp_arena *a, const char *method)
{
	char *m = idp_arena_strdup(a, method);
	for (char *p = m; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	return str(a, m);
}

idp_doc_node *idp_api_openapi(idp_arena *a)
{
	idp_doc_node *doc = idp_doc_new_map(a), *info = idp_doc_new_map(a), *paths = idp_doc_new_map(a);
	idp_doc_map_set(a, doc, "openapi", str(a, "3.1.0"));
	idp_doc_map_set(a, info, "title", str(a, "idp API"));
	idp_doc_map_set(a, info, "version", str(a, "1.0.0"));
	idp_doc_map_set(a, info, "description",
			str(a, "The Health Service IDP's API: applications, their sync and events, rendering and the "
			       "catalog. Calls that change something need a bearer token (idp token create NAME)."));
	idp_doc_map_set(a, doc, "info", info);
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
		idp_doc_node *item = idp_doc_new_map(a), *op = idp_doc_new_map(a), *res = idp_doc_new_map(a);
		idp_doc_map_set(a, op, "operationId", str(a, idp_arena_printf(a, "get_%s", fixed[i].path[1] == 'o' ? "openapi" : fixed[i].path + 1)));
		idp_doc_map_set(a, op, "summary", str(a, fixed[i].summary));
		idp_doc_node *tags = idp_doc_new_seq(a);
		idp_doc_seq_push(a, tags, str(a, "server"));
		idp_doc_map_set(a, op, "tags", tags);
		idp_doc_map_set(a, res, "200", response(a, "success", content(a, fixed[i].type, fixed[i].schema)));
		if (strcmp(fixed[i].path, "/ready") == 0)
			idp_doc_map_set(a, res, "503", response(a, "not ready", content(a, fixed[i].type, fixed[i].schema)));
		idp_doc_map_set(a, op, "responses", res);
		idp_doc_map_set(a, item, "get", op);
		idp_doc_map_set(a, paths, fixed[i].path, item);
	}
	for (size_t i = 0; i < api_n_routes; i++) {
		const api_route *r = &api_routes[i];
		idp_doc_node *item = idp_doc_map_get(paths, r->pattern);
		if (!item) {
			item = idp_doc_new_map(a);
			idp_doc_map_set(a, paths, r->pattern, item);
		}
		idp_doc_map_set(a, item, lower(a, r->method)->as.str.ptr, operation(a, r));
	}
	idp_doc_map_set(a, doc, "paths", paths);
	idp_doc_node *comps = idp_doc_new_map(a), *sec = idp_doc_new_map(a), *bearer = idp_doc_new_map(a);
	idp_doc_map_set(a, bearer, "type", str(a, "http"));
	idp_doc_map_set(a, bearer, "scheme", str(a, "bearer"));
	idp_doc_map_set(a, bearer, "description", str(a, "a token from idp token create NAME"));
	idp_doc_map_set(a, sec, "bearer", bearer);
	idp_doc_map_set(a, comps, "securitySchemes", sec);
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	if (idp_doc_load(a, "openapi schemas", schemas_json, sizeof schemas_json - 1, NULL, &s, &err) == 0 && s.len == 1)
		idp_doc_map_set(a, comps, "schemas", s.docs[0]);
	idp_err_clear(&err);
	idp_doc_node *responses = idp_doc_new_map(a);
	static const char *const errs[][2] = {{"BadInput", "the request is wrong; the body says where"},
					      {"Unauthenticated", "no valid bearer token; the body says why"},
					      {"NotFound", "no such application or definition"},
					      {"Failed", "the platform failed; the body says how"}};
	for (size_t i = 0; i < 4; i++)
		idp_doc_map_set(a, responses, errs[i][0], response(a, errs[i][1], content(a, "application/json", "Error")));
	idp_doc_map_set(a, comps, "responses", responses);
	idp_doc_map_set(a, doc, "components", comps);
	idp_doc_node *tags = idp_doc_new_seq(a);
	static const char *const tag_names[] = {"applications", "claims", "deployments", "sync",  "render",
						"definitions",	"secrets", "events", "slack", "server"};
	for (size_t i = 0; i < sizeof tag_names / sizeof *tag_names; i++) {
		idp_doc_node *t = idp_doc_new_map(a);
		idp_doc_map_set(a, t, "name", str(a, tag_names[i]));
		idp_doc_seq_push(a, tags, t);
	}
	idp_doc_map_set(a, doc, "tags", tags);
	return doc;
}
