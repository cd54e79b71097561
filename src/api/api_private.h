/* Shared by the api room's files: the route table (handlers.c) that the
 * server (server.c) dispatches on and the OpenAPI document (openapi.c) is
 * made from. */
#ifndef IDP_API_PRIVATE_H
#define IDP_API_PRIVATE_H

#include "api/api.h"

#include <stdbool.h>

/* One request, as a handler sees it. Strings live in a (reset per request). */
typedef struct api_req {
	idp_api *api;
	idp_arena *a;
	const char *method;
	const char *path;        /* without the query, decoded */
	const char *raw_path;    /* as sent, query included (what the log shows, cut at '?') */
	const char *query;       /* after '?', or "" */
	const char *params[2];   /* the pattern's {…} segments, in order */
	const char *body;
	size_t body_len;
	const char *content_type; /* "" when none */
	const char *user;         /* the token's name, or NULL */
	const char *slack_timestamp, *slack_signature; /* X-Slack-Request-Timestamp, X-Slack-Signature, or NULL */
	bool websocket; /* the request became a WebSocket (logged as 101) */
	const idp_api_backend *backend;
	const idp_api_config *cfg;
} api_req;

/* What a handler answers: status and a JSON body (or text). */
typedef struct api_res {
	int status;
	const char *content_type; /* NULL: application/json */
	idp_buf body;
} api_res;

typedef int (*api_handler)(api_req *q, api_res *r);

typedef struct api_route {
	const char *method;      /* GET, POST, PUT, DELETE */
	const char *pattern;     /* "/api/v1/applications/{name}" */
	bool mutating;           /* a token is required */
	const char *tag;         /* OpenAPI tag */
	const char *summary;
	const char *request;     /* request body schema name, or NULL */
	const char *response;    /* 2xx body schema name */
	int ok;                  /* the success status */
	api_handler handle;      /* NULL: served by the server itself (events) */
	const char *query;       /* query parameters, "name:type:description;..." or NULL */
} api_route;

extern const api_route api_routes[];
extern const size_t api_n_routes;

/* Answers r with {"error": msg, "code": ...} and the status of an idp
 * error code (400 input, 404 not found, 500 else), with err's position. */
int api_error(api_req *q, api_res *r, int code, const idp_err *err);
/* Answers r with status and one message. */
int api_fail(api_res *r, int status, const char *code, const char *msg);
/* Answers r with node as JSON. */
int api_json(api_res *r, int status, const idp_doc_node *node);

/* The claim workflow's environment of this server. */
const idp_api_workflow_env *api_workflow_env(idp_api *api);
/* Wakes the workflow driver at the next turn (a workflow was started). */
void api_workflows_kick(idp_api *api);

/* POST /slack/command and /slack/events (slack.c). */
int api_slack_command(api_req *q, api_res *r);
int api_slack_events(api_req *q, api_res *r);
/* The agent keys' routes (agentkeys.c). */
int api_agent_keys_list(api_req *q, api_res *r);
int api_agent_keys_import(api_req *q, api_res *r);
int api_agent_key_put(api_req *q, api_res *r);
int api_agent_key_delete(api_req *q, api_res *r);
/* POST /oam/webhook (webhook.c). */
int api_oam_webhook(api_req *q, api_res *r);

/* A query parameter's value (a), or NULL. */
const char *api_query(api_req *q, const char *name);

#endif
