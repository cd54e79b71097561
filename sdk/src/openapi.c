/* /openapi.json (OpenAPI 3.1) and /docs, generated from what the service
 * registered. */
#include "service_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *ref(const char *name)
{
	char r[128];
	snprintf(r, sizeof r, "#/components/schemas/%s", name);
	return json_pack("{s:s}", "$ref", r);
}

static json_t *json_response(const char *description, json_t *schema)
{
	return json_pack("{s:s, s:{s:{s:o}}}", "description", description, "content", "application/json", "schema", schema);
}

static json_t *get_op(const char *summary, const char *description, json_t *schema)
{
	return json_pack("{s:{s:s, s:{s:o}}}", "get", "summary", summary, "responses", "200", json_response(description, schema));
}

static json_t *post_op(const char *summary, json_t *body_schema, json_t *ok_schema, bool agent)
{
	json_t *responses = json_pack("{s:o, s:o}", "200", json_response("done", ok_schema), "400",
				      json_response("the body is not JSON, or not what this call takes", ref("Error")));
	if (agent) {
		json_object_set_new(responses, "422", json_response("the body does not match AgentRequest", ref("ValidationError")));
		json_object_set_new(responses, "500", json_response("the agent failed", ref("Error")));
	}
	return json_pack("{s:{s:s, s:{s:b, s:{s:{s:o}}}, s:o}}", "post", "summary", summary, "requestBody", "required", 1,
			 "content", "application/json", "schema", body_schema, "responses", responses);
}

static json_t *schemas(void)
{
	return json_pack(
		"{s:o, s:o, s:o, s:o, s:o}",
		"AgentRequest",
		json_pack("{s:s, s:[s], s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:i}}}", "type", "object", "required",
			  "query", "properties", "query", "type", "string", "parameters", "type", "object", "context", "type",
			  "object", "task_type", "type", "string", "priority", "type", "integer", "default", 1),
		"AgentResponse",
		json_pack("{s:s, s:[s, s, s], s:{s:{}, s:{s:s}, s:{s:s}}}", "type", "object", "required", "result", "metadata",
			  "processing_time", "properties", "result", "metadata", "type", "object", "processing_time", "type",
			  "number"),
		"Error", json_pack("{s:s, s:[s], s:{s:{}}}", "type", "object", "required", "detail", "properties", "detail"),
		"ValidationError",
		json_pack("{s:s, s:{s:{s:s}}}", "type", "object", "properties", "detail", "type", "array"),
		"Event",
		json_pack("{s:s, s:[s, s, s, s, s], s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{}, s:{s:s}, s:{s:[s, s]}}}", "type",
			  "object", "required", "event_id", "event_type", "source_service", "data", "timestamp", "properties",
			  "event_id", "type", "string", "event_type", "type", "string", "source_service", "type", "string",
			  "source_agent", "type", "string", "data", "timestamp", "type", "string", "correlation_id", "type",
			  "string", "null"));
}

json_t *svc_openapi(idp_service *svc)
{
	json_t *obj = json_pack("{s:s}", "type", "object");
	json_t *paths = json_object();
	json_object_set_new(paths, "/health", get_op("Health", "healthy", json_incref(obj)));
	json_object_set_new(paths, "/", get_op("Name, status and capabilities", "the service", json_incref(obj)));
	for (size_t i = 0; i < svc->n_endpoints; i++) {
		svc_endpoint *e = &svc->endpoints[i];
		json_t *op = post_op(*e->summary ? e->summary : e->task_type, ref("AgentRequest"), ref("AgentResponse"), true);
		json_object_set_new(json_object_get(op, "post"), "operationId", json_string(e->task_type));
		json_object_set_new(paths, e->path, op);
	}
	if (svc->cfg.realtime) {
		json_object_set_new(paths, "/realtime/status", get_op("Real-time status", "counters and transports", json_incref(obj)));
		json_object_set_new(paths, "/realtime/connections", get_op("WebSocket and SSE clients", "the clients", json_incref(obj)));
		json_t *publish = json_pack("{s:s, s:[s], s:{s:{s:s}, s:{}, s:{s:s}, s:{}, s:{s:[s, s]}}}", "type", "object",
					    "required", "topic", "properties", "topic", "type", "string", "data", "event_type",
					    "type", "string", "transport", "correlation_id", "type", "string", "null");
		json_object_set_new(paths, "/realtime/publish",
				    post_op("Publish an event (WebSocket/SSE, Kafka, MQTT)", publish, json_incref(obj), false));
		json_object_set_new(paths, "/realtime/broadcast",
				    post_op("Send any JSON to every WebSocket client", json_object(), json_incref(obj), false));
		json_t *topic_op = post_op("Send any JSON to the WebSocket subscribers of a topic", json_object(), json_incref(obj), false);
		json_object_set_new(json_object_get(topic_op, "post"), "parameters",
				    json_pack("[{s:s, s:s, s:b, s:{s:s}}]", "name", "topic", "in", "path", "required", 1, "schema",
					      "type", "string"));
		json_object_set_new(paths, "/realtime/topic/{topic}", topic_op);
		json_t *sse = json_pack("{s:{s:s, s:{s:{s:s, s:{s:{s:{s:s}}}}}}}", "get", "summary",
					"Server-Sent Events: every event, and a status_update every few seconds", "responses",
					"200", "description", "an event stream", "content", "text/event-stream", "schema",
					"type", "string");
		json_object_set_new(paths, "/stream/events", sse);
		if (svc->cfg.websocket) {
			json_t *ws = json_pack("{s:{s:s, s:{s:{s:s}, s:{s:s}}}}", "get", "summary",
					       "WebSocket: JSON frames {message_id, message_type, payload, timestamp}", "responses",
					       "101", "description", "switching to WebSocket", "426", "description",
					       "not a WebSocket handshake");
			json_object_set_new(paths, "/ws", ws);
			json_object_set_new(paths, "/ws/events", json_deep_copy(ws));
		}
	}
	json_decref(obj);
	return json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.1.0", "info", "title", svc->name,
			 "version", IDP_SERVICE_VERSION, "description", *svc->description ? svc->description : svc->name,
			 "paths", paths, "components", "schemas", schemas());
}

static void html_escaped(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
}

/* A page that lists the operations of /openapi.json (no script, no CDN:
 * it works where the service runs without internet). */
char *svc_docs_html(idp_service *svc)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (f == NULL)
		return svc_strdup("<!doctype html><title>docs</title>");
	json_t *doc = svc_openapi(svc);
	fputs("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>", f);
	html_escaped(f, svc->name);
	fputs(" — API</title><style>body{font:15px system-ui,sans-serif;margin:2em;max-width:60em}"
	      "code{background:#f3f3f3;padding:.1em .3em}td{padding:.2em .8em .2em 0}</style></head><body>\n<h1>", f);
	html_escaped(f, svc->name);
	fputs("</h1>\n<p>", f);
	html_escaped(f, *svc->description ? svc->description : "A service on the Health Service IDP.");
	fputs("</p>\n<p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI 3.1).</p>\n<table>\n", f);
	const char *path;
	json_t *item;
	json_object_foreach(json_object_get(doc, "paths"), path, item) {
		const char *method;
		json_t *op;
		json_object_foreach(item, method, op) {
			fputs("<tr><td><code>", f);
			for (const char *m = method; *m; m++)
				fputc(*m - 32, f);
			fputs("</code></td><td><code>", f);
			html_escaped(f, path);
			fputs("</code></td><td>", f);
			html_escaped(f, json_string_value(json_object_get(op, "summary")) ? json_string_value(json_object_get(op, "summary")) : "");
			fputs("</td></tr>\n", f);
		}
	}
	fputs("</table>\n</body></html>\n", f);
	fclose(f);
	json_decref(doc);
	return out;
}
