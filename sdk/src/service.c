/* The service: its life (new, run, graceful stop), the standard HTTP
 * routes (/health, /, /docs, /openapi.json, POST endpoints), structured
 * logs. The real-time routes are in realtime.c, Kafka and MQTT in
 * transports.c. */
#include "service_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One connection h2o serves, so that a stop can wait for them. */
typedef struct svc_conn {
	h2o_linklist_t link;
	h2o_socket_t *sock;
} svc_conn;

static idp_service *volatile signalled; /* the running service, for the signal handler */

char *svc_strdup(const char *s)
{
	if (s == NULL)
		return NULL;
	char *d = strdup(s);
	if (d == NULL)
		abort(); /* (out of memory: nothing sensible is left to do) */
	return d;
}

void svc_seterr(char **errmsg, const char *fmt, ...)
{
	if (errmsg == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(errmsg, fmt, ap) < 0)
		*errmsg = NULL;
	va_end(ap);
}

double svc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- logs */

static const char *const level_names[] = {"debug", "info", "warning", "error"};

static void log_v(idp_service *svc, int level, const char *fmt, va_list ap)
{
	if (level < svc->cfg.log_level)
		return;
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	char ts[40];
	idp_ws_timestamp(ts);
	json_t *line = json_pack("{s:s, s:s, s:s, s:s}", "time", ts, "level", level_names[level], "service",
				 svc->name, "msg", msg);
	/* (json_pack refuses invalid UTF-8: the message is then dropped, not the log line) */
	if (line == NULL)
		line = json_pack("{s:s, s:s, s:s, s:s}", "time", ts, "level", level_names[level], "service", svc->name,
				 "msg", "(a log message that was not UTF-8)");
	char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text)
		fprintf(stderr, "%s\n", text);
	free(text);
	json_decref(line);
	free(msg);
}

void svc_log(idp_service *svc, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(svc, level, fmt, ap);
	va_end(ap);
}

void idp_service_log(idp_service *svc, const char *level, const char *fmt, ...)
{
	int l = 1;
	for (int i = 0; i < 4; i++)
		if (level && strcmp(level, level_names[i]) == 0)
			l = i;
	va_list ap;
	va_start(ap, fmt);
	log_v(svc, l, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- setup */

idp_service *idp_service_new(const char *name, const char *description, char **errmsg)
{
	idp_service *svc = calloc(1, sizeof *svc);
	if (svc == NULL) {
		svc_seterr(errmsg, "out of memory");
		return NULL;
	}
	const char *n = name ? name : getenv("SERVICE_NAME") ? getenv("SERVICE_NAME") : getenv("AGENT_TYPE");
	svc->name = svc_strdup(n && *n ? n : "service");
	svc->description = svc_strdup(description ? description : "");
	h2o_linklist_init_anchor(&svc->clients);
	h2o_linklist_init_anchor(&svc->conns);
	h2o_linklist_init_anchor(&svc->streams);
	if (svc_config_load(svc, errmsg) != 0) {
		idp_service_free(svc);
		return NULL;
	}
	return svc;
}

void idp_service_free(idp_service *svc)
{
	if (svc == NULL)
		return;
	for (size_t i = 0; i < svc->n_endpoints; i++) {
		free(svc->endpoints[i].path);
		free(svc->endpoints[i].task_type);
		free(svc->endpoints[i].summary);
	}
	free(svc->endpoints);
	for (size_t i = 0; i < svc->n_subs; i++)
		free(svc->subs[i].pattern);
	free(svc->subs);
	for (size_t i = 0; i < svc->n_timers; i++)
		free(svc->timers[i]);
	free(svc->timers);
	svc_config_free(svc);
	free(svc->name);
	free(svc->description);
	free(svc);
}

static bool path_ok(const char *p)
{
	if (p == NULL || p[0] != '/' || p[1] == '\0' || strlen(p) > 200)
		return false;
	for (const char *c = p; *c; c++)
		if (!(*c == '/' || *c == '-' || *c == '_' || *c == '.' || (*c >= 'a' && *c <= 'z') ||
		      (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
			return false;
	return true;
}

static bool reserved_path(const char *p)
{
	static const char *const fixed[] = {"/health", "/docs", "/openapi.json", "/ws", "/ws/events", "/stream/events"};
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		if (strcmp(p, fixed[i]) == 0)
			return true;
	return strncmp(p, "/realtime/", 10) == 0;
}

int idp_service_add_endpoint(idp_service *svc, const char *path, const char *task_type, const char *summary,
			     idp_service_handler handler, void *user, char **errmsg)
{
	if (!path_ok(path) || handler == NULL) {
		svc_seterr(errmsg, "endpoint \"%s\": a path is '/' and letters, digits, '-', '_', '.', '/', and a handler is needed",
			   path ? path : "(null)");
		return -1;
	}
	if (reserved_path(path)) {
		svc_seterr(errmsg, "endpoint \"%s\": the SDK serves that path itself", path);
		return -1;
	}
	for (size_t i = 0; i < svc->n_endpoints; i++)
		if (strcmp(svc->endpoints[i].path, path) == 0) {
			svc_seterr(errmsg, "endpoint \"%s\" is registered twice", path);
			return -1;
		}
	svc_endpoint *grown = realloc(svc->endpoints, (svc->n_endpoints + 1) * sizeof *grown);
	if (grown == NULL) {
		svc_seterr(errmsg, "out of memory");
		return -1;
	}
	svc->endpoints = grown;
	svc->endpoints[svc->n_endpoints++] = (svc_endpoint){svc_strdup(path), svc_strdup(task_type ? task_type : path + 1),
							    svc_strdup(summary ? summary : ""), handler, user};
	return 0;
}

void idp_service_enable_realtime(idp_service *svc)
{
	svc->cfg.realtime = true;
}

const char *idp_service_name(const idp_service *svc)
{
	return svc->name;
}

int idp_service_port(const idp_service *svc)
{
	return svc->port;
}

/* ---------------------------------------------------------------- replies */

static void reply_text(h2o_req_t *req, int status, const char *type, const char *body, size_t len)
{
	req->res.status = status;
	req->res.reason = status == 200 ? "OK" : status == 404 ? "Not Found" : status == 400 ? "Bad Request"
			  : status == 401 ? "Unauthorized" : status == 405 ? "Method Not Allowed"
			  : status == 413 ? "Payload Too Large" : status == 422 ? "Unprocessable Entity"
			  : status == 426 ? "Upgrade Required" : status == 502 ? "Bad Gateway"
			  : status == 503 ? "Service Unavailable" : status == 500 ? "Internal Server Error" : "Error";
	req->res.content_length = len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
	h2o_iovec_t b = h2o_strdup(&req->pool, body, len);
	h2o_send_inline(req, b.base, b.len);
}

void svc_reply_json(h2o_req_t *req, int status, json_t *json)
{
	char *s = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(json);
	reply_text(req, status, "application/json", s ? s : "{}", s ? strlen(s) : 2);
	free(s);
}

/* FastAPI's error shape: {"detail": "..."}. */
static void reply_detail(h2o_req_t *req, int status, const char *detail)
{
	svc_reply_json(req, status, json_pack("{s:s}", "detail", detail));
}

/* ---------------------------------------------------------------- routes */

json_t *svc_health_json(idp_service *svc)
{
	json_t *h = json_pack("{s:s, s:s}", "status", "healthy", "service", svc->name);
	if (svc->cfg.realtime) {
		json_object_set_new(h, "realtime_enabled", json_true());
		json_object_set_new(h, "websocket_enabled", json_boolean(svc->cfg.websocket));
		json_object_set_new(h, "connections", json_integer((json_int_t)(svc->n_clients + svc->n_streams)));
		json_object_set_new(h, "message_count", json_integer((json_int_t)(svc->messages_in + svc->messages_out)));
		json_object_set_new(h, "error_count", json_integer((json_int_t)(svc->errors + svc->delivery_errors)));
		json_object_set_new(h, "transports", svc_transports_status(svc));
	}
	return h;
}

static json_t *capabilities(idp_service *svc)
{
	json_t *caps = json_array();
	json_array_append_new(caps, json_string("health"));
	json_array_append_new(caps, json_string("openapi"));
	for (size_t i = 0; i < svc->n_endpoints; i++)
		json_array_append_new(caps, json_string(svc->endpoints[i].task_type));
	if (svc->cfg.realtime) {
		if (svc->cfg.websocket)
			json_array_append_new(caps, json_string("websocket"));
		json_array_append_new(caps, json_string("sse"));
		if (svc->cfg.kafka_bootstrap)
			json_array_append_new(caps, json_string("kafka"));
		if (svc->cfg.mqtt_host)
			json_array_append_new(caps, json_string("mqtt"));
	}
	return caps;
}

static json_t *root_json(idp_service *svc)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:s}", "service", svc->name, "name", svc->name, "status", "running",
			      "description", svc->description, "version", IDP_SERVICE_VERSION);
	json_object_set_new(r, "capabilities", capabilities(svc));
	if (svc->cfg.realtime) {
		json_object_set_new(r, "type", json_string("realtime"));
		json_object_set_new(r, "realtime_enabled", json_true());
		json_object_set_new(r, "websocket_enabled", json_boolean(svc->cfg.websocket));
		json_object_set_new(r, "platform", svc->cfg.platform ? json_string(svc->cfg.platform) : json_null());
	}
	return r;
}

/* The last '-' token of the service's name, as the original reported. */
static const char *implementation(idp_service *svc)
{
	if (svc->cfg.implementation)
		return svc->cfg.implementation;
	const char *dash = strrchr(svc->name, '-');
	return dash ? dash + 1 : svc->name;
}

static svc_endpoint *endpoint_for(idp_service *svc, const char *task_type)
{
	for (size_t i = 0; i < svc->n_endpoints; i++)
		if (task_type == NULL || strcmp(svc->endpoints[i].task_type, task_type) == 0)
			return &svc->endpoints[i];
	return NULL;
}

static void task_event(idp_service *svc, const char *type, const char *task_id, json_t *data)
{
	if (!svc->cfg.realtime) {
		json_decref(data);
		return;
	}
	json_t *env = svc_envelope(svc, type, data, task_id, NULL, NULL);
	svc_fanout(svc, "agent_tasks", type, env);
	json_decref(env);
}

/* Runs the endpoint for task_type with request (an object with query,
 * parameters, context, priority: borrowed). Sets *response (new) and the
 * HTTP status. */
int svc_run_task(idp_service *svc, const char *task_type, json_t *request, json_t **response, int *status)
{
	svc_endpoint *ep = endpoint_for(svc, task_type);
	if (ep == NULL) {
		*status = 404;
		*response = json_pack("{s:s}", "detail", "no endpoint handles this task type");
		return -1;
	}
	char task_id[64], uuid[37];
	idp_ws_uuid(uuid);
	snprintf(task_id, sizeof task_id, "%s-%.8s", ep->task_type, uuid);
	json_t *params = json_object_get(request, "parameters"), *ctx = json_object_get(request, "context");
	json_t *empty_p = json_object(), *empty_c = json_object();
	json_t *prio = json_object_get(request, "priority");
	idp_service_task task = {task_id, ep->task_type, json_string_value(json_object_get(request, "query")),
				 json_is_object(params) ? params : empty_p, json_is_object(ctx) ? ctx : empty_c,
				 json_is_integer(prio) ? (int)json_integer_value(prio) : 1};
	task_event(svc, "agent_task_started", task_id, json_pack("{s:s, s:s}", "task_id", task_id, "task_type", ep->task_type));
	double t0 = svc_now();
	json_t *result = NULL;
	char *error = NULL;
	int rc = ep->handler(svc, &task, &result, &error, ep->user);
	double took = svc_now() - t0;
	json_decref(empty_p);
	json_decref(empty_c);
	if (rc != 0) {
		svc->errors++;
		*status = 500;
		*response = json_pack("{s:s}", "detail", error ? error : "the agent failed");
		task_event(svc, "agent_task_failed", task_id,
			   json_pack("{s:s, s:s}", "task_id", task_id, "error", error ? error : "the agent failed"));
		svc_log(svc, 3, "task %s failed: %s", task_id, error ? error : "(no message)");
		json_decref(result);
		free(error);
		return -1;
	}
	free(error);
	*status = 200;
	*response = json_pack("{s:o, s:{s:s?, s:s, s:s, s:s, s:f}, s:f}", "result", result ? result : json_null(),
			       "metadata", "agent_type", svc->cfg.agent_type ? svc->cfg.agent_type : svc->name,
			       "implementation", implementation(svc), "task_type", ep->task_type, "task_id", task_id,
			       "processing_time", took, "processing_time", took);
	task_event(svc, "agent_task_completed", task_id,
		   json_pack("{s:s, s:f}", "task_id", task_id, "processing_time", took));
	return 0;
}

/* The AgentRequestModel check, with FastAPI's 422 shape on failure. */
static json_t *validate_request(json_t *body)
{
	const char *problem = NULL, *field = "body";
	if (!json_is_object(body))
		problem = "value is not a valid dict";
	else if (!json_is_string(json_object_get(body, "query")))
		field = "query", problem = json_object_get(body, "query") ? "str type expected" : "field required";
	else if (json_object_get(body, "parameters") && !json_is_object(json_object_get(body, "parameters")) &&
		 !json_is_null(json_object_get(body, "parameters")))
		field = "parameters", problem = "value is not a valid dict";
	else if (json_object_get(body, "context") && !json_is_object(json_object_get(body, "context")) &&
		 !json_is_null(json_object_get(body, "context")))
		field = "context", problem = "value is not a valid dict";
	else if (json_object_get(body, "priority") && !json_is_integer(json_object_get(body, "priority")))
		field = "priority", problem = "value is not a valid integer";
	if (problem == NULL)
		return NULL;
	json_t *loc = strcmp(field, "body") == 0 ? json_pack("[s]", "body") : json_pack("[s, s]", "body", field);
	return json_pack("{s:[{s:o, s:s}]}", "detail", "loc", loc, "msg", problem);
}

static void serve_endpoint(idp_service *svc, svc_endpoint *ep, h2o_req_t *req)
{
	json_error_t jerr;
	json_t *body = json_loadb(req->entity.base ? req->entity.base : "", req->entity.len, 0, &jerr);
	if (body == NULL) {
		char msg[256];
		snprintf(msg, sizeof msg, "request body: invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
			 jerr.text);
		return reply_detail(req, 400, msg);
	}
	json_t *bad = validate_request(body);
	if (bad) {
		json_decref(body);
		return svc_reply_json(req, 422, bad);
	}
	json_t *response;
	int status;
	svc_run_task(svc, ep->task_type, body, &response, &status);
	json_decref(body);
	svc_reply_json(req, status, response);
}

static bool is_method(h2o_req_t *req, const char *m)
{
	return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

static bool same_secret(const char *a, size_t al, const char *b, size_t bl)
{
	unsigned char diff = al != bl;
	for (size_t k = 0; k < al && k < bl; k++)
		diff |= (unsigned char)(a[k] ^ b[k]);
	return diff == 0;
}

/* Mutating calls need the bearer token when IDP_SERVICE_TOKEN is set, and
 * so does a WebSocket (its agent_request runs the POST handlers); a browser
 * cannot set headers on a WebSocket, so there ?access_token= also counts.
 * The comparison takes the same time wherever the first difference is. */
static bool authorized(idp_service *svc, h2o_req_t *req, const char *path)
{
	const char *token = svc->cfg.token;
	bool websocket = strcmp(path, "/ws") == 0 || strcmp(path, "/ws/events") == 0;
	if (token == NULL || *token == '\0' || (is_method(req, "GET") && !websocket))
		return true;
	size_t tl = strlen(token);
	ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
	if (i >= 0) {
		h2o_iovec_t v = req->headers.entries[i].value;
		return v.len > 7 && strncasecmp(v.base, "Bearer ", 7) == 0 && same_secret(v.base + 7, v.len - 7, token, tl);
	}
	if (websocket && req->query_at != SIZE_MAX) {
		const char *q = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
		while (q < end) {
			const char *amp = memchr(q, '&', (size_t)(end - q));
			const char *stop = amp ? amp : end;
			if ((size_t)(stop - q) > 13 && memcmp(q, "access_token=", 13) == 0)
				return same_secret(q + 13, (size_t)(stop - q - 13), token, tl);
			q = stop + 1;
		}
	}
	return false;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	idp_service *svc = *(idp_service **)(self + 1);
	svc->requests++;
	char path[512];
	size_t pl = req->path_normalized.len < sizeof path ? req->path_normalized.len : sizeof path - 1;
	memcpy(path, req->path_normalized.base, pl);
	path[pl] = '\0';
	bool get = is_method(req, "GET") || is_method(req, "HEAD"), post = is_method(req, "POST");
	if (!authorized(svc, req, path)) {
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL, H2O_STRLIT("Bearer"));
		reply_detail(req, 401, "this service wants Authorization: Bearer <IDP_SERVICE_TOKEN>");
		return 0;
	}
	if (strcmp(path, "/health") == 0 && get)
		svc_reply_json(req, 200, svc_health_json(svc));
	else if (strcmp(path, "/") == 0 && get)
		svc_reply_json(req, 200, root_json(svc));
	else if (strcmp(path, "/openapi.json") == 0 && get)
		svc_reply_json(req, 200, svc_openapi(svc));
	else if (strcmp(path, "/docs") == 0 && get) {
		char *html = svc_docs_html(svc);
		reply_text(req, 200, "text/html; charset=utf-8", html, strlen(html));
		free(html);
	} else if (svc->cfg.realtime && svc_realtime_route(svc, req, path)) {
		/* (answered, or a WebSocket or stream now) */
	} else {
		for (size_t i = 0; i < svc->n_endpoints; i++) {
			if (strcmp(path, svc->endpoints[i].path) != 0)
				continue;
			if (!post) {
				h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("POST"));
				reply_detail(req, 405, "Method Not Allowed");
			} else {
				serve_endpoint(svc, &svc->endpoints[i], req);
			}
			return 0;
		}
		reply_detail(req, 404, "Not Found");
	}
	return 0;
}

/* ---------------------------------------------------------------- run */

static void on_conn_close(void *data)
{
	svc_conn *c = data;
	h2o_linklist_unlink(&c->link);
	free(c);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	if (err != NULL)
		return;
	idp_service *svc = listener->data;
	h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
	if (sock == NULL)
		return;
	svc_conn *c = calloc(1, sizeof *c);
	if (c == NULL) {
		h2o_socket_close(sock);
		return;
	}
	c->sock = sock;
	h2o_linklist_insert(&svc->conns, &c->link);
	sock->on_close.cb = on_conn_close;
	sock->on_close.data = c;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	h2o_http1_accept(&svc->accept, sock, tv);
}

static int listen_on(idp_service *svc, char **errmsg)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)svc->cfg.port)};
	if (inet_pton(AF_INET, svc->cfg.host, &sin.sin_addr) != 1) {
		svc_seterr(errmsg, "HOST=%s: not an IPv4 address", svc->cfg.host);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
	if (fd < 0) {
		svc_seterr(errmsg, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, SOMAXCONN) != 0) {
		svc_seterr(errmsg, "cannot listen on %s:%d: %s", svc->cfg.host, svc->cfg.port, strerror(errno));
		close(fd);
		return -1;
	}
	socklen_t len = sizeof sin;
	getsockname(fd, (struct sockaddr *)&sin, &len);
	svc->port = ntohs(sin.sin_port);
	svc->listener = h2o_evloop_socket_create(svc->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	svc->listener->data = svc;
	h2o_socket_read_start(svc->listener, on_accept);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	if (signalled)
		idp_service_stop(signalled);
}

void idp_service_stop(idp_service *svc)
{
	atomic_store(&svc->stop_requested, true);
}

static void on_timer(h2o_timeout_entry_t *entry)
{
	svc_timer *t = H2O_STRUCT_FROM_MEMBER(svc_timer, entry, entry);
	t->fn(t->svc, t->user);
	if (!t->svc->stopping)
		h2o_timeout_link(t->svc->loop, &t->timeout, &t->entry);
}

int idp_service_every(idp_service *svc, unsigned interval_ms, void (*fn)(idp_service *, void *), void *user)
{
	if (svc->started || fn == NULL || interval_ms == 0)
		return -1;
	svc_timer **grown = realloc(svc->timers, (svc->n_timers + 1) * sizeof *grown);
	svc_timer *t = calloc(1, sizeof *t);
	if (grown == NULL || t == NULL) {
		free(t);
		if (grown)
			svc->timers = grown;
		return -1;
	}
	svc->timers = grown;
	*t = (svc_timer){.svc = svc, .fn = fn, .user = user};
	t->timeout.timeout = interval_ms; /* (initialised on the loop at run) */
	t->entry.cb = on_timer;
	svc->timers[svc->n_timers++] = t;
	return 0;
}

static void setup_http(idp_service *svc)
{
	h2o_config_init(&svc->conf);
	svc->conf.max_request_entity_size = svc->cfg.max_body;
	svc->conf.server_name = h2o_iovec_init(H2O_STRLIT("idp-service"));
	h2o_hostconf_t *hc = h2o_config_register_host(&svc->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_pathconf_t *pc = h2o_config_register_path(hc, "/", 0);
	h2o_handler_t *h = h2o_create_handler(pc, sizeof(*h) + sizeof(idp_service *));
	*(idp_service **)(h + 1) = svc;
	h->on_req = on_req;
	h2o_context_init(&svc->ctx, svc->loop, &svc->conf);
	svc->accept.ctx = &svc->ctx;
	svc->accept.hosts = svc->conf.hosts;
}

/* Whether h2o still has work linked to the context: h2o_context_dispose
 * must not run before it is done. */
static bool context_busy(h2o_context_t *ctx)
{
	h2o_timeout_t *const t[] = {&ctx->zero_timeout, &ctx->one_sec_timeout, &ctx->hundred_ms_timeout,
				    &ctx->handshake_timeout, &ctx->http1.req_timeout};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		if (!h2o_linklist_is_empty(&t[i]->_entries))
			return true;
	return false;
}

static void drain(idp_service *svc)
{
	svc->stopping = true;
	h2o_socket_read_stop(svc->listener);
	h2o_socket_close(svc->listener);
	svc->listener = NULL;
	for (size_t i = 0; i < svc->n_timers; i++)
		if (h2o_timeout_is_linked(&svc->timers[i]->entry))
			h2o_timeout_unlink(&svc->timers[i]->entry);
	svc_realtime_stop(svc); /* WebSockets get 1001, streams end */
	for (double end = svc_now() + 1; svc->n_clients > 0 && svc_now() < end;)
		h2o_evloop_run(svc->loop, 10);
	h2o_context_request_shutdown(&svc->ctx);
	/* Answers on their way go out; then idle keep-alive connections (a
	 * gateway's pool among them) are shut. */
	for (double end = svc_now() + 0.2; !h2o_linklist_is_empty(&svc->conns) && svc_now() < end;)
		h2o_evloop_run(svc->loop, 5);
	for (h2o_linklist_t *l = svc->conns.next; l != &svc->conns; l = l->next)
		shutdown(h2o_socket_get_fd(H2O_STRUCT_FROM_MEMBER(svc_conn, link, l)->sock), SHUT_RDWR);
	for (double end = svc_now() + 3; !h2o_linklist_is_empty(&svc->conns) && svc_now() < end;)
		h2o_evloop_run(svc->loop, 10);
	for (double end = svc_now() + 2; context_busy(&svc->ctx) && svc_now() < end;)
		h2o_evloop_run(svc->loop, 10);
}

/* What run set up, taken down: after a stop, or a start that failed. */
static void teardown(idp_service *svc, bool timers_ready)
{
	if (svc->listener) {
		h2o_socket_read_stop(svc->listener);
		h2o_socket_close(svc->listener);
		svc->listener = NULL;
	}
	for (size_t i = 0; timers_ready && i < svc->n_timers; i++)
		if (h2o_timeout_is_linked(&svc->timers[i]->entry))
			h2o_timeout_unlink(&svc->timers[i]->entry);
	h2o_evloop_run(svc->loop, 0); /* (h2o's deferred closes) */
	if (!h2o_linklist_is_empty(&svc->conns) || context_busy(&svc->ctx)) {
		/* h2o cannot free a context with connections pointing at it */
		svc_log(svc, 2, "connections still open at the stop: their memory is left to the exit");
		return;
	}
	for (size_t i = 0; timers_ready && i < svc->n_timers; i++)
		h2o_timeout_dispose(svc->loop, &svc->timers[i]->timeout);
	h2o_context_dispose(&svc->ctx);
	h2o_config_dispose(&svc->conf);
	h2o_evloop_destroy(svc->loop);
	svc->loop = NULL;
}

int idp_service_run(idp_service *svc, char **errmsg)
{
	if (svc->started) {
		svc_seterr(errmsg, "a service runs once");
		return -1;
	}
	svc->started = true;
	signal(SIGPIPE, SIG_IGN);
	svc->loop = h2o_evloop_create();
	setup_http(svc);
	if (listen_on(svc, errmsg) != 0) {
		teardown(svc, false);
		return -1;
	}
	for (size_t i = 0; i < svc->n_timers; i++) {
		svc_timer *t = svc->timers[i];
		h2o_timeout_init(svc->loop, &t->timeout, t->timeout.timeout);
		h2o_timeout_link(svc->loop, &t->timeout, &t->entry);
	}
	if (svc->cfg.realtime) {
		svc_realtime_start(svc);
		if (svc_transports_start(svc, errmsg) != 0) {
			svc->stopping = true;
			svc_realtime_stop(svc);
			svc_transports_stop(svc);
			svc_realtime_dispose(svc);
			teardown(svc, true);
			return -1;
		}
	}
	signalled = svc;
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	svc_log(svc, 1, "listening on %s:%d (realtime %s, kafka %s, mqtt %s)", svc->cfg.host, svc->port,
		svc->cfg.realtime ? "on" : "off", svc->cfg.kafka_bootstrap ? svc->cfg.kafka_bootstrap : "off",
		svc->cfg.mqtt_host ? svc->cfg.mqtt_host : "off");
	while (!atomic_load(&svc->stop_requested)) {
		h2o_evloop_run(svc->loop, 50);
		if (svc->cfg.realtime)
			svc_transports_poll(svc);
	}
	svc_log(svc, 1, "stopping: draining connections");
	drain(svc);
	if (svc->cfg.realtime) {
		svc_transports_stop(svc);
		svc_realtime_dispose(svc);
	}
	signalled = NULL;
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	teardown(svc, true);
	svc_log(svc, 1, "stopped");
	return 0;
}
