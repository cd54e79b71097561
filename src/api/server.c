/* The API's HTTP server: a listener and an h2o context of its own on the
 * loop it is given, the route table's dispatch, authentication, request
 * logging and latency histograms, and the event streams (SSE). */
#include "api/api.h"
#include "api/api_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <h2o.h>
#include <sodium.h>
#include <h2o/http1.h>
#include <h2o/websocket.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define N_BUCKETS 12
static const double bucket_bounds[N_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
						0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define KEEPALIVE_S 15.0
#define EVENTS_PER_SEND 200

typedef struct route_stats {
	uint64_t buckets[N_BUCKETS];
	uint64_t count;
	double sum;
	uint64_t by_class[6]; /* 1xx..5xx by status / 100 */
} route_stats;

typedef struct stream stream;

typedef struct api_handler_t {
	h2o_handler_t super;
	idp_api *api;
} api_handler_t;

struct idp_api {
	idp_api_config cfg;
	char *base_dir;
	char *slack_secret;
	idp_api_backend backend;
	h2o_globalconf_t conf;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept;
	h2o_evloop_t *loop;
	h2o_socket_t *listener;
	int port;
	idp_arena *scratch;
	route_stats *stats;   /* per route, then one for "no route" */
	h2o_timeout_t poll_timeout;
	h2o_timeout_entry_t poll;
	h2o_linklist_t streams;
	size_t n_streams;
	h2o_linklist_t queue; /* pending requests, oldest first */
	h2o_linklist_t conns; /* open connections (conn), so that a stop can end them */
	h2o_linklist_t sockets; /* open event WebSockets (wsock) */
	size_t n_sockets;
	idp_api_workflow_env wf;
	idp_api_notifier *notifier; /* Slack's incoming webhook, or NULL */
	double next_drive; /* when running workflows are looked at next */
	bool stopping;
};

/* An open event WebSocket: one GET /api/v1/ws. */
typedef struct wsock {
	h2o_linklist_t link;
	idp_api *api;
	h2o_websocket_conn_t *conn;
	int64_t last_id;
	char *app;
} wsock;

/* An open connection. */
typedef struct api_conn {
	h2o_linklist_t link;
	h2o_socket_t *sock;
} api_conn;

/* A request waiting for idp_api_process: handlers run outside the event
 * loop's callbacks, as the daemon may run the loop itself meanwhile (a
 * sync waits for health between waves). */
typedef struct pending {
	h2o_linklist_t link;
	idp_api *api;
	h2o_req_t *req;
	idp_arena *a; /* q's strings */
	api_req q;
	size_t route;
	double t0;
	bool running;
} pending;

/* An open event stream: one GET /api/v1/events. */
struct stream {
	h2o_generator_t gen;
	h2o_linklist_t link;
	idp_api *api;
	h2o_req_t *req;
	int64_t last_id;
	char *app;            /* only this application's events, or NULL */
	bool sending;         /* h2o_send called, proceed not yet */
	bool closed;
	double last_sent;
	idp_buf out;          /* what is being sent (kept until proceed) */
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define log_line(...) idp_logf("api", __VA_ARGS__)

/* ---------------------------------------------------------------- answers */

int api_json(api_res *r, int status, const idp_doc_node *node)
{
	r->status = status;
	r->content_type = NULL;
	idp_buf_clear(&r->body);
	idp_err err = IDP_ERR_INIT;
	if (idp_doc_emit_json(node, IDP_DOC_JSON_COMPACT, &r->body, &err) != 0) {
		idp_buf_clear(&r->body);
		r->status = 500;
		idp_buf_puts(&r->body, "{\"error\":\"the answer could not be written as JSON\",\"code\":\"runtime\"}");
	}
	idp_err_clear(&err);
	return 0;
}

int api_fail(api_res *r, int status, const char *code, const char *msg)
{
	idp_arena *a = idp_arena_new();
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "error", idp_doc_new_str(a, msg));
	idp_doc_map_set(a, m, "code", idp_doc_new_str(a, code));
	api_json(r, status, m);
	idp_arena_free(a);
	return 0;
}

int api_error(api_req *q, api_res *r, int code, const idp_err *err)
{
	int status = code == IDP_EINPUT || code == IDP_EINCOMPLETE ? 400 : code == IDP_ENOTFOUND ? 404 : 500;
	idp_doc_node *m = idp_doc_new_map(q->a);
	idp_doc_map_set(q->a, m, "error", idp_doc_new_str(q->a, err && err->msg ? err->msg : "failed"));
	idp_doc_map_set(q->a, m, "code",
			idp_doc_new_str(q->a, status == 400 ? "input" : status == 404 ? "notfound" : "runtime"));
	if (err && err->file) {
		idp_doc_map_set(q->a, m, "file", idp_doc_new_str(q->a, err->file));
		if (err->line) {
			idp_doc_map_set(q->a, m, "line", idp_doc_new_int(q->a, err->line));
			idp_doc_map_set(q->a, m, "column", idp_doc_new_int(q->a, err->col));
		}
	}
	if (err && err->path)
		idp_doc_map_set(q->a, m, "field", idp_doc_new_str(q->a, err->path));
	return api_json(r, status, m);
}

static int hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes s[0..n) (a); '+' is a space in a query. */
static const char *url_decode(idp_arena *a, const char *s, size_t n, bool plus)
{
	char *out = idp_arena_alloc(a, n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
			out[k++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		} else {
			out[k++] = plus && s[i] == '+' ? ' ' : s[i];
		}
	}
	out[k] = 0;
	return out;
}

const char *api_query(api_req *q, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = q->query; p && *p;) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len >= nl && strncmp(p, name, nl) == 0 && (len == nl || p[nl] == '='))
			return len == nl ? "" : url_decode(q->a, p + nl + 1, len - nl - 1, true);
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/* ---------------------------------------------------------------- routing */

/* Matches path against pattern ("/a/{x}/b"); the {…} segments, decoded,
 * go to params. */
static bool pattern_match(idp_arena *a, const char *pattern, const char *path, const char **params)
{
	int np = 0;
	while (*pattern && *path) {
		if (*pattern != '/' || *path != '/')
			return false;
		pattern++, path++;
		const char *pe = strchr(pattern, '/'), *se = strchr(path, '/');
		size_t pl = pe ? (size_t)(pe - pattern) : strlen(pattern), sl = se ? (size_t)(se - path) : strlen(path);
		if (pattern[0] == '{') {
			if (sl == 0 || np >= 2)
				return false;
			params[np++] = url_decode(a, path, sl, false);
		} else if (pl != sl || strncmp(pattern, path, pl) != 0) {
			return false;
		}
		pattern += pl;
		path += sl;
	}
	return *pattern == 0 && *path == 0;
}

static void observe(route_stats *s, double seconds, int status)
{
	for (int i = 0; i < N_BUCKETS; i++)
		if (seconds <= bucket_bounds[i])
			s->buckets[i]++;
	s->count++;
	s->sum += seconds;
	int c = status / 100;
	s->by_class[c >= 1 && c <= 5 ? c : 0]++;
}

static void add_header(h2o_req_t *req, const h2o_token_t *t, const char *v)
{
	h2o_add_header(&req->pool, &req->res.headers, t, NULL, v, strlen(v));
}

static void send_res(h2o_req_t *req, api_res *r)
{
	static const char *const reasons[] = {[200] = "OK", [201] = "Created", [202] = "Accepted", [204] = "No Content",
					      [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
					      [404] = "Not Found", [405] = "Method Not Allowed", [413] = "Payload Too Large",
					      [415] = "Unsupported Media Type", [500] = "Internal Server Error",
					      [503] = "Service Unavailable"};
	req->res.status = r->status;
	req->res.reason = r->status > 0 && (size_t)r->status < sizeof reasons / sizeof *reasons && reasons[r->status]
				  ? reasons[r->status]
				  : "Status";
	add_header(req, H2O_TOKEN_CONTENT_TYPE, r->content_type ? r->content_type : "application/json");
	add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
	if (r->body.len && r->body.ptr[r->body.len - 1] != '\n')
		idp_buf_putc(&r->body, '\n');
	h2o_iovec_t body = h2o_strdup(&req->pool, r->body.ptr ? r->body.ptr : "", r->body.len);
	req->res.content_length = body.len;
	h2o_send_inline(req, body.base, body.len);
}

static const char *header(idp_arena *a, h2o_req_t *req, const char *name)
{
	ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
	return i < 0 ? NULL : idp_arena_strndup(a, req->headers.entries[i].value.base, req->headers.entries[i].value.len);
}

/* 401 unless the request carries a valid bearer token; *user its name. */
static bool authenticate(idp_api *api, api_req *q, h2o_req_t *req, api_res *r)
{
	const char *h = header(q->a, req, "authorization");
	if (!h)
		return api_fail(r, 401, "unauthenticated",
				"this call changes something: send Authorization: Bearer <token> (make one with idp token "
				"create NAME)"),
		       false;
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return api_fail(r, 401, "unauthenticated", "Authorization must be \"Bearer <token>\""), false;
	idp_err err = IDP_ERR_INIT;
	int rc = idp_api_token_check(api->cfg.store, q->a, h + 7, &q->user, &err);
	idp_err_clear(&err);
	if (rc)
		return api_fail(r, 401, "unauthenticated", "the bearer token is not valid (unknown, revoked or mistyped)"),
		       false;
	return true;
}

/* ---------------------------------------------------------------- event streams */

static void stream_pump(stream *s);

static void on_stream_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
	(void)req;
	stream *s = H2O_STRUCT_FROM_MEMBER(stream, gen, gen);
	s->sending = false;
	idp_buf_clear(&s->out);
	if (s->api->stopping && !s->closed) {
		s->closed = true;
		h2o_send(s->req, NULL, 0, H2O_SEND_STATE_FINAL);
		return;
	}
	stream_pump(s);
}

static void on_stream_stop(h2o_generator_t *gen, h2o_req_t *req)
{
	(void)req;
	stream *s = H2O_STRUCT_FROM_MEMBER(stream, gen, gen);
	s->closed = true;
}

static void on_stream_dispose(void *p)
{
	stream *s = p;
	if (h2o_linklist_is_linked(&s->link)) {
		h2o_linklist_unlink(&s->link);
		s->api->n_streams--;
	}
	idp_buf_free(&s->out);
	free(s->app);
}

static void event_json(idp_arena *a, const idp_store_event *e, idp_buf *out)
{
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "id", idp_doc_new_int(a, e->id));
	idp_doc_map_set(a, m, "time", idp_doc_new_int(a, e->time));
	if (e->app)
		idp_doc_map_set(a, m, "app", idp_doc_new_str(a, e->app));
	if (e->object)
		idp_doc_map_set(a, m, "object", idp_doc_new_str(a, e->object));
	idp_doc_map_set(a, m, "type", idp_doc_new_str(a, e->type ? e->type : ""));
	idp_doc_map_set(a, m, "message", idp_doc_new_str(a, e->message ? e->message : ""));
	idp_err err = IDP_ERR_INIT;
	idp_doc_emit_json(m, IDP_DOC_JSON_COMPACT, out, &err);
	idp_err_clear(&err);
}

/* Events after *last_id (for app, or all), at most EVENTS_PER_SEND; each is
 * passed to fn with its JSON. */
static void new_events(idp_api *api, int64_t *last_id, const char *app,
		       void (*fn)(void *ctx, const idp_store_event *e, const char *json, size_t len), void *ctx)
{
	idp_arena *a = idp_arena_new();
	idp_store_event *ev;
	size_t n = 0;
	idp_err err = IDP_ERR_INIT;
	if (idp_store_event_list(api->cfg.store, a, *last_id, EVENTS_PER_SEND, &ev, &n, &err) != 0)
		n = 0;
	idp_err_clear(&err);
	idp_buf json = IDP_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		*last_id = ev[i].id;
		if (app && (!ev[i].app || strcmp(ev[i].app, app) != 0))
			continue;
		idp_buf_clear(&json);
		event_json(a, &ev[i], &json);
		fn(ctx, &ev[i], json.ptr, json.len);
	}
	idp_buf_free(&json);
	idp_arena_free(a);
}

static void sse_append(void *ctx, const idp_store_event *e, const char *json, size_t len)
{
	stream *s = ctx;
	idp_buf_printf(&s->out, "id: %lld\nevent: %s\ndata: ", (long long)e->id, e->type ? e->type : "event");
	idp_buf_append(&s->out, json, len);
	idp_buf_puts(&s->out, "\n\n");
}

/* Sends what is new for s (or a keepalive comment), when nothing is on
 * its way already: h2o takes the next buffer only after proceed. */
static void stream_pump(stream *s)
{
	if (s->sending || s->closed)
		return;
	idp_buf_clear(&s->out);
	new_events(s->api, &s->last_id, s->app, sse_append, s);
	if (s->out.len == 0 && now_s() - s->last_sent >= KEEPALIVE_S)
		idp_buf_puts(&s->out, ": keepalive\n\n");
	if (s->out.len == 0)
		return;
	s->sending = true;
	s->last_sent = now_s();
	h2o_iovec_t buf = h2o_iovec_init(s->out.ptr, s->out.len);
	h2o_send(s->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void ws_pump(wsock *w);

static void on_poll(h2o_timeout_entry_t *entry)
{
	idp_api *api = H2O_STRUCT_FROM_MEMBER(idp_api, poll, entry);
	for (h2o_linklist_t *l = api->streams.next; l != &api->streams;) {
		stream *s = H2O_STRUCT_FROM_MEMBER(stream, link, l);
		l = l->next; /* (pumping never unlinks: dispose does) */
		stream_pump(s);
	}
	for (h2o_linklist_t *l = api->sockets.next; l != &api->sockets;) {
		wsock *w = H2O_STRUCT_FROM_MEMBER(wsock, link, l);
		l = l->next; /* a pump may find the client gone and free w */
		ws_pump(w);
	}
	if (!api->stopping)
		h2o_timeout_link(api->loop, &api->poll_timeout, &api->poll);
}

/* Where a new stream starts: after Last-Event-ID (what EventSource sends
 * on reconnect), else after ?after=, else after the newest event (only
 * what comes next). */
static int64_t start_id(idp_api *api, api_req *q, h2o_req_t *req)
{
	const char *last = header(q->a, req, "last-event-id");
	const char *after = api_query(q, "after");
	int64_t last_id = 0;
	idp_err err = IDP_ERR_INIT;
	idp_store_event_last_id(api->cfg.store, &last_id, &err);
	idp_err_clear(&err);
	if (last || after) { /* a number, else only what comes next */
		char *end;
		long long v = strtoll(last ? last : after, &end, 10);
		return *end || end == (last ? last : after) || v < 0 ? last_id : v;
	}
	return last_id;
}

static void ws_send(void *ctx, const idp_store_event *e, const char *json, size_t len)
{
	(void)e;
	wsock *w = ctx;
	struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)json, len}; /* (wslay copies it) */
	wslay_event_queue_msg(w->conn->ws_ctx, &msg);
}

static void ws_pump(wsock *w)
{
	/* h2o gives the connection its socket once the 101 answer is written:
	 * nothing can be sent before. */
	if (!w->conn->sock)
		return;
	/* A client that reads nothing gets nothing more queued. */
	if (wslay_event_get_queued_msg_count(w->conn->ws_ctx) > 1000)
		return;
	new_events(w->api, &w->last_id, w->app, ws_send, w);
	h2o_websocket_proceed(w->conn);
}

static void ws_free(wsock *w)
{
	h2o_linklist_unlink(&w->link);
	w->api->n_sockets--;
	free(w->app);
	free(w);
}

/* What a client sends is not read (wslay answers pings); NULL: gone. */
static void on_ws_message(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg)
{
	if (arg != NULL)
		return;
	if (conn->data) /* (NULL: the server let it go at a stop) */
		ws_free(conn->data);
	h2o_websocket_close(conn);
}

static bool open_websocket(idp_api *api, api_req *q, h2o_req_t *req)
{
	const char *key;
	if (h2o_is_websocket_handshake(req, &key) != 0 || key == NULL)
		return false;
	wsock *w = idp_xcalloc(1, sizeof(*w));
	w->api = api;
	w->last_id = start_id(api, q, req);
	const char *app = api_query(q, "app");
	w->app = app && *app ? idp_xstrdup(app) : NULL;
	h2o_linklist_insert(&api->sockets, &w->link);
	api->n_sockets++;
	w->conn = h2o_upgrade_to_websocket(req, key, w, on_ws_message);
	return true;
}

static void open_stream(idp_api *api, api_req *q, h2o_req_t *req)
{
	stream *s = h2o_mem_alloc_shared(&req->pool, sizeof(*s), on_stream_dispose);
	memset(s, 0, sizeof(*s));
	s->api = api;
	s->req = req;
	s->gen.proceed = on_stream_proceed;
	s->gen.stop = on_stream_stop;
	s->last_id = start_id(api, q, req);
	const char *app = api_query(q, "app");
	s->app = app && *app ? idp_xstrdup(app) : NULL;
	h2o_linklist_insert(&api->streams, &s->link);
	api->n_streams++;
	req->res.status = 200;
	req->res.reason = "OK";
	add_header(req, H2O_TOKEN_CONTENT_TYPE, "text/event-stream; charset=utf-8");
	add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
	h2o_start_response(req, &s->gen);
	/* The head goes out at once (a client waits for it), with the
	 * reconnection delay. */
	idp_buf_puts(&s->out, "retry: 2000\n\n");
	s->sending = true;
	s->last_sent = now_s();
	h2o_iovec_t buf = h2o_iovec_init(s->out.ptr, s->out.len);
	h2o_send(req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* ---------------------------------------------------------------- requests */

static void serve_metrics(idp_api *api, api_res *r)
{
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	idp_buf *b = &r->body;
	idp_buf_puts(b, "# HELP idp_api_request_duration_seconds Time to answer an API request, by route.\n"
			"# TYPE idp_api_request_duration_seconds histogram\n");
	for (size_t i = 0; i <= api_n_routes; i++) {
		const route_stats *s = &api->stats[i];
		const char *method = i < api_n_routes ? api_routes[i].method : "any";
		const char *route = i < api_n_routes ? api_routes[i].pattern : "unmatched";
		for (int k = 0; k < N_BUCKETS; k++)
			idp_buf_printf(b, "idp_api_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
				       method, route, bucket_bounds[k], (unsigned long long)s->buckets[k]);
		idp_buf_printf(b, "idp_api_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n",
			       method, route, (unsigned long long)s->count);
		idp_buf_printf(b, "idp_api_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n", method, route,
			       s->sum);
		idp_buf_printf(b, "idp_api_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n", method, route,
			       (unsigned long long)s->count);
	}
	idp_buf_puts(b, "# HELP idp_api_requests_total API requests answered, by route and status class.\n"
			"# TYPE idp_api_requests_total counter\n");
	for (size_t i = 0; i <= api_n_routes; i++)
		for (int c = 1; c <= 5; c++)
			if (api->stats[i].by_class[c])
				idp_buf_printf(b, "idp_api_requests_total{method=\"%s\",route=\"%s\",code=\"%dxx\"} %llu\n",
					       i < api_n_routes ? api_routes[i].method : "any",
					       i < api_n_routes ? api_routes[i].pattern : "unmatched", c,
					       (unsigned long long)api->stats[i].by_class[c]);
	idp_buf_printf(b, "# HELP idp_api_event_streams Open event streams, by transport.\n"
			  "# TYPE idp_api_event_streams gauge\nidp_api_event_streams{transport=\"sse\"} %zu\n"
			  "idp_api_event_streams{transport=\"websocket\"} %zu\n",
		       api->n_streams, api->n_sockets);
	idp_arena *a = idp_arena_new();
	idp_store_app *apps;
	size_t n = 0;
	idp_err err = IDP_ERR_INIT;
	idp_store_app_list(api->cfg.store, a, &apps, &n, &err);
	idp_err_clear(&err);
	idp_buf_puts(b, "# HELP idp_syncs_total Sync runs recorded, by result.\n# TYPE idp_syncs_total counter\n");
	uint64_t ok = 0, failed = 0, running = 0;
	for (size_t i = 0; i < n; i++) {
		idp_store_sync_run *runs;
		size_t nr = 0;
		idp_store_sync_list(api->cfg.store, a, apps[i].name, 0, &runs, &nr, &err);
		idp_err_clear(&err);
		for (size_t k = 0; k < nr; k++) {
			const char *res = runs[k].result;
			if (!runs[k].finished)
				running++;
			else if (res && strncmp(res, "Failed", 6) == 0)
				failed++;
			else
				ok++;
		}
	}
	idp_buf_printf(b, "idp_syncs_total{result=\"succeeded\"} %llu\nidp_syncs_total{result=\"failed\"} %llu\n"
			  "# HELP idp_syncs_running Sync runs begun and not finished.\n# TYPE idp_syncs_running gauge\n"
			  "idp_syncs_running %llu\n",
		       (unsigned long long)ok, (unsigned long long)failed, (unsigned long long)running);
	idp_buf_printf(b, "# HELP idp_applications Applications in the store.\n# TYPE idp_applications gauge\n"
			  "idp_applications %zu\n",
		       n);
	idp_buf_puts(b, "# HELP idp_workflows Claim workflows, by state.\n# TYPE idp_workflows gauge\n");
	static const char *const states[] = {"Running", "Succeeded", "Failed"};
	for (size_t i = 0; i < 3; i++) {
		idp_store_workflow *ws;
		size_t nw = 0;
		idp_store_workflow_list(api->cfg.store, a, states[i], 0, &ws, &nw, &err);
		idp_err_clear(&err);
		idp_buf_printf(b, "idp_workflows{state=\"%s\"} %zu\n", states[i], nw);
	}
	unsigned long delivered, undelivered;
	idp_api_notifier_counts(api->notifier, &delivered, &undelivered);
	idp_buf_printf(b, "# HELP idp_slack_deliveries_total Messages posted to Slack's incoming webhook, by result.\n"
			  "# TYPE idp_slack_deliveries_total counter\nidp_slack_deliveries_total{result=\"delivered\"} %lu\n"
			  "idp_slack_deliveries_total{result=\"failed\"} %lu\n",
		       delivered, undelivered);
	idp_arena_free(a);
}

static void serve_docs(api_res *r);

/* The fixed, public paths; false when path is none of them. */
static bool serve_fixed(idp_api *api, api_req *q, api_res *r)
{
	if (strcmp(q->method, "GET") != 0 && strcmp(q->method, "HEAD") != 0)
		return false;
	if (strcmp(q->path, "/health") == 0 || strcmp(q->path, "/api/v1/health") == 0) {
		idp_doc_node *m = idp_doc_new_map(q->a);
		idp_doc_map_set(q->a, m, "status", idp_doc_new_str(q->a, "ok"));
		api_json(r, 200, m);
	} else if (strcmp(q->path, "/ready") == 0) {
		/* The API exists once the daemon has its store, runtime and
		 * applications: ready until it stops. */
		idp_doc_node *m = idp_doc_new_map(q->a);
		idp_doc_map_set(q->a, m, "ready", idp_doc_new_bool(q->a, !api->stopping));
		if (api->stopping)
			idp_doc_map_set(q->a, m, "reason", idp_doc_new_str(q->a, "shutting down"));
		api_json(r, api->stopping ? 503 : 200, m);
	} else if (strcmp(q->path, "/metrics") == 0) {
		serve_metrics(api, r);
	} else if (strcmp(q->path, "/openapi.json") == 0 || strcmp(q->path, "/api/v1/openapi.json") == 0) {
		api_json(r, 200, idp_api_openapi(q->a));
	} else if (strcmp(q->path, "/docs") == 0 || strcmp(q->path, "/api/v1/docs") == 0) {
		serve_docs(r);
	} else {
		return false;
	}
	return true;
}

static void allow_header(idp_arena *a, const char *path, idp_buf *allow)
{
	for (size_t i = 0; i < api_n_routes; i++) {
		const char *params[2];
		if (pattern_match(a, api_routes[i].pattern, path, params) && !strstr(allow->ptr ? allow->ptr : "", api_routes[i].method))
			idp_buf_printf(allow, "%s%s", allow->len ? ", " : "", api_routes[i].method);
	}
}

static void finish(idp_api *api, h2o_req_t *req, api_req *q, api_res *r, size_t route, double t0, bool streaming)
{
	if (!streaming)
		send_res(req, r);
	double took = now_s() - t0;
	int status = streaming ? (q->websocket ? 101 : 200) : r->status;
	observe(&api->stats[route], took, status);
	/* The raw path without its query (a query could carry what must not be
	 * logged; the decoded path could carry a line break). */
	log_line("%s %.*s %d %.1f ms%s%s", q->method, (int)strcspn(q->raw_path, "?"), q->raw_path, status, took * 1000,
		 q->user ? " by " : "", q->user ? q->user : "");
}

/* The request's memory ends with the connection; w is ours, so a client
 * that goes away while its handler runs (and runs the loop) leaves w
 * intact, with req NULL. */
static void on_pending_dispose(void *p)
{
	pending *w = *(pending **)p;
	w->req = NULL;
	if (w->running)
		return;
	if (h2o_linklist_is_linked(&w->link))
		h2o_linklist_unlink(&w->link);
	idp_arena_free(w->a);
	free(w);
}

static const char *keep_str(idp_arena *a, const char *s)
{
	return s ? idp_arena_strdup(a, s) : NULL;
}

/* Parks the request for idp_api_process, its strings and body copied out
 * of the scratch arena and the request's memory. */
static void enqueue(idp_api *api, h2o_req_t *req, const api_req *q, size_t route, double t0)
{
	pending *w = idp_xcalloc(1, sizeof(*w));
	pending **slot = h2o_mem_alloc_shared(&req->pool, sizeof(*slot), on_pending_dispose);
	*slot = w;
	w->api = api;
	w->req = req;
	w->a = idp_arena_new();
	w->route = route;
	w->t0 = t0;
	w->q = *q;
	w->q.a = w->a;
	w->q.method = keep_str(w->a, q->method);
	w->q.path = keep_str(w->a, q->path);
	w->q.raw_path = keep_str(w->a, q->raw_path);
	w->q.query = keep_str(w->a, q->query);
	w->q.content_type = keep_str(w->a, q->content_type);
	w->q.user = keep_str(w->a, q->user);
	w->q.slack_timestamp = keep_str(w->a, q->slack_timestamp);
	w->q.slack_signature = keep_str(w->a, q->slack_signature);
	for (int i = 0; i < 2; i++)
		w->q.params[i] = keep_str(w->a, q->params[i]);
	w->q.body = idp_arena_strndup(w->a, q->body, q->body_len);
	h2o_linklist_insert(&api->queue, &w->link);
}

/* What Slack hears of the workflows it asked for: start, progress per
 * step, success or failure, as the original's notifications (attachments
 * from "Platform Bot", colour by kind). */
static void on_progress(void *ctx, const idp_store_workflow *w, const char *step, const char *state, const char *msg)
{
	idp_api *api = ctx;
	if (!api->notifier || !w->origin || strcmp(w->origin, "slack") != 0)
		return;
	idp_arena *a = idp_arena_new();
	const char *text = NULL, *color = "warning";
	if (strcmp(state, "Running") == 0 && strcmp(step, "validate") == 0) {
		text = idp_arena_printf(a, "🚀 Microservice `%s` creation started (workflow %lld)", w->name, (long long)w->id);
		color = "good";
	} else if (strcmp(state, "Failed") == 0) {
		text = idp_arena_printf(a, "❌ Microservice `%s` failed at %s: %s", w->name, step, msg ? msg : "");
		color = "danger";
	} else if (strcmp(state, "Succeeded") == 0 && strcmp(step, "notify") == 0) {
		text = idp_arena_printf(a, "✅ Microservice `%s` is ready in `%s`", w->name, w->app);
		color = "good";
	} else if (strcmp(state, "Succeeded") == 0) {
		text = idp_arena_printf(a, "⚡ `%s`: %s done%s%s", w->name, step, msg ? ": " : "", msg ? msg : "");
	}
	if (text) {
		idp_doc_node *m = idp_doc_new_map(a), *atts = idp_doc_new_seq(a), *att = idp_doc_new_map(a);
		idp_doc_map_set(a, m, "username", idp_doc_new_str(a, "Platform Bot"));
		idp_doc_map_set(a, m, "text", idp_doc_new_str(a, text));
		idp_doc_map_set(a, att, "color", idp_doc_new_str(a, color));
		idp_doc_map_set(a, att, "text", idp_doc_new_str(a, text));
		idp_doc_seq_push(a, atts, att);
		idp_doc_map_set(a, m, "attachments", atts);
		idp_buf b = IDP_BUF_INIT;
		idp_err err = IDP_ERR_INIT;
		if (idp_doc_emit_json(m, IDP_DOC_JSON_COMPACT, &b, &err) == 0)
			idp_api_notifier_send(api->notifier, b.ptr);
		idp_err_clear(&err);
		idp_buf_free(&b);
	}
	idp_arena_free(a);
}

const idp_api_workflow_env *api_workflow_env(idp_api *api)
{
	return &api->wf;
}

void api_workflows_kick(idp_api *api)
{
	api->next_drive = 0;
}

/* Moves every running workflow of the server's as far as it goes now: a
 * step at a time, until one waits (the service is not ready yet) or ends. */
static void drive_workflows(idp_api *api)
{
	if (api->stopping || now_s() < api->next_drive)
		return;
	api->next_drive = now_s() + 0.2;
	idp_arena *a = idp_arena_new();
	idp_store_workflow *ws;
	size_t n = 0;
	idp_err err = IDP_ERR_INIT;
	if (idp_store_workflow_list(api->cfg.store, a, "Running", 100, &ws, &n, &err) != 0)
		n = 0;
	idp_err_clear(&err);
	for (size_t i = n; i-- > 0;) { /* oldest first */
		if (ws[i].origin && strcmp(ws[i].origin, "cli") == 0)
			continue; /* idp apply runs its own */
		int r;
		while ((r = idp_api_workflow_advance(&api->wf, ws[i].id, &err)) == IDP_API_WF_MORE)
			;
		if (r != IDP_API_WF_DONE && r != IDP_API_WF_WAIT)
			log_line("workflow %lld failed: %s", (long long)ws[i].id, err.msg ? err.msg : "?");
		idp_err_clear(&err);
	}
	idp_arena_free(a);
}

int idp_api_process(idp_api *api)
{
	drive_workflows(api);
	int n = 0;
	while (!h2o_linklist_is_empty(&api->queue)) {
		pending *w = H2O_STRUCT_FROM_MEMBER(pending, link, api->queue.next);
		h2o_linklist_unlink(&w->link);
		api_res r = {0, NULL, IDP_BUF_INIT};
		w->running = true;
		api_routes[w->route].handle(&w->q, &r);
		w->running = false;
		if (w->req)
			finish(api, w->req, &w->q, &r, w->route, w->t0, false);
		else
			log_line("%s %.*s: the client went away before the answer", w->q.method,
				 (int)strcspn(w->q.raw_path, "?"), w->q.raw_path);
		idp_buf_free(&r.body);
		if (!w->req) { /* else the request's dispose frees w */
			idp_arena_free(w->a);
			free(w);
		}
		n++;
	}
	return n;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	idp_api *api = ((api_handler_t *)self)->api;
	double t0 = now_s();
	idp_arena *a = api->scratch;
	idp_arena_reset(a);
	api_req q = {.api = api, .a = a, .backend = &api->backend, .cfg = &api->cfg};
	q.method = idp_arena_strndup(a, req->method.base, req->method.len);
	const char *raw_q = memchr(req->path.base, '?', req->path.len);
	q.path = idp_arena_strndup(a, req->path_normalized.base, req->path_normalized.len);
	q.raw_path = idp_arena_strndup(a, req->path.base, req->path.len);
	q.query = raw_q ? idp_arena_strndup(a, raw_q + 1, req->path.len - (size_t)(raw_q + 1 - req->path.base)) : "";
	q.body = req->entity.base ? req->entity.base : "";
	q.body_len = req->entity.base ? req->entity.len : 0;
	const char *ct = header(a, req, "content-type");
	q.content_type = ct ? ct : "";
	q.slack_timestamp = header(a, req, "x-slack-request-timestamp");
	q.slack_signature = header(a, req, "x-slack-signature");
	api_res r = {0, NULL, IDP_BUF_INIT};
	size_t route = api_n_routes;
	bool streaming = false;
	if (!serve_fixed(api, &q, &r)) {
		bool path_known = false;
		for (size_t i = 0; i < api_n_routes && route == api_n_routes; i++) {
			if (!pattern_match(a, api_routes[i].pattern, q.path, q.params))
				continue;
			path_known = true;
			if (strcmp(api_routes[i].method, q.method) == 0)
				route = i;
		}
		if (route == api_n_routes && path_known) {
			idp_buf allow = IDP_BUF_INIT;
			allow_header(a, q.path, &allow);
			api_fail(&r, 405, "method", idp_arena_printf(a, "%s is not allowed here (allowed: %s)", q.method, allow.ptr));
			add_header(req, H2O_TOKEN_ALLOW, idp_arena_strdup(a, allow.ptr));
			idp_buf_free(&allow);
		} else if (route == api_n_routes) {
			api_fail(&r, 404, "notfound", idp_arena_printf(a, "no API route %s %s (GET /openapi.json lists them)",
								      q.method, q.path));
		} else if ((q.params[0] && !idp_utf8_valid(q.params[0], strlen(q.params[0]), NULL)) ||
			   (q.params[1] && !idp_utf8_valid(q.params[1], strlen(q.params[1]), NULL))) {
			api_fail(&r, 400, "input", "a path parameter is not valid UTF-8");
		} else if (!api_routes[route].mutating || authenticate(api, &q, req, &r)) {
			if (!api_routes[route].handle && strcmp(api_routes[route].pattern, "/api/v1/ws") == 0) {
				streaming = q.websocket = open_websocket(api, &q, req);
				if (!streaming)
					api_fail(&r, 400, "input", "GET /api/v1/ws wants a WebSocket upgrade (Upgrade: websocket)");
			} else if (!api_routes[route].handle) {
				streaming = true;
				open_stream(api, &q, req);
			} else {
				enqueue(api, req, &q, route, t0);
				idp_buf_free(&r.body);
				return 0;
			}
		}
	}
	finish(api, req, &q, &r, route, t0, streaming);
	idp_buf_free(&r.body);
	return 0;
}

/* ---------------------------------------------------------------- /docs */

static void html_escape(idp_buf *b, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': idp_buf_puts(b, "&lt;"); break;
		case '>': idp_buf_puts(b, "&gt;"); break;
		case '&': idp_buf_puts(b, "&amp;"); break;
		case '"': idp_buf_puts(b, "&quot;"); break;
		default: idp_buf_putc(b, *s);
		}
}

/* The reference, rendered from the same table as /openapi.json (no script,
 * no CDN: it works offline). */
static void serve_docs(api_res *r)
{
	r->status = 200;
	r->content_type = "text/html; charset=utf-8";
	idp_buf *b = &r->body;
	idp_buf_puts(b, "<!doctype html><html><head><meta charset=\"utf-8\"><title>idp API</title><style>"
			"body{font-family:sans-serif;max-width:60em;margin:2em auto}code{background:#eee;padding:0 .2em}"
			".m{display:inline-block;width:4.5em;font-weight:bold}.lock{color:#a40}</style></head><body>"
			"<h1>idp API</h1><p>The machine-readable document: <a href=\"/openapi.json\">/openapi.json</a> "
			"(OpenAPI 3.1). Calls marked &#128274; change something and need <code>Authorization: Bearer "
			"&lt;token&gt;</code> (<code>idp token create NAME</code>).</p>");
	const char *tag = "";
	for (size_t i = 0; i < api_n_routes; i++) {
		const api_route *rt = &api_routes[i];
		if (strcmp(rt->tag, tag) != 0) {
			tag = rt->tag;
			idp_buf_puts(b, "<h2>");
			html_escape(b, tag);
			idp_buf_puts(b, "</h2>");
		}
		idp_buf_printf(b, "<p><span class=\"m\">%s</span><code>", rt->method);
		html_escape(b, rt->pattern);
		idp_buf_printf(b, "</code> %s", rt->mutating ? "<span class=\"lock\">&#128274;</span> " : "");
		html_escape(b, rt->summary);
		idp_buf_puts(b, "</p>");
	}
	idp_buf_puts(b, "</body></html>");
}

/* ---------------------------------------------------------------- lifecycle */

static void on_conn_close(void *data)
{
	api_conn *c = data;
	h2o_linklist_unlink(&c->link);
	free(c);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	if (err != NULL)
		return;
	idp_api *api = listener->data;
	h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
	if (sock == NULL)
		return;
	api_conn *c = idp_xcalloc(1, sizeof(*c));
	c->sock = sock;
	h2o_linklist_insert(&api->conns, &c->link);
	sock->on_close.cb = on_conn_close;
	sock->on_close.data = c;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	h2o_http1_accept(&api->accept, sock, tv);
}

static int listen_on(idp_api *api, const char *host, int port, idp_err *err)
{
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return idp_err_set(err, IDP_EINPUT, "api: listen address \"%s\" is not an IPv4 address", host);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return idp_err_set(err, IDP_ERUNTIME, "api: socket: %s", strerror(errno));
	int on = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, SOMAXCONN) != 0) {
		int e = errno;
		close(fd);
		return idp_err_set(err, IDP_ERUNTIME, "api: cannot listen on %s:%d: %s", host, port, strerror(e));
	}
	socklen_t len = sizeof(sin);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	api->port = ntohs(sin.sin_port);
	api->listener = h2o_evloop_socket_create(api->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	api->listener->data = api;
	h2o_socket_read_start(api->listener, on_accept);
	return 0;
}

int idp_api_new(const idp_api_config *c, void *loop, const char *host, int port, const idp_api_backend *backend,
		idp_api **out, idp_err *err)
{
	*out = NULL;
	if (!c->store || !loop || !backend || !backend->call)
		return idp_err_set(err, IDP_EINPUT, "api: a store, a loop and a backend are needed");
	idp_api *api = idp_xcalloc(1, sizeof(*api));
	api->cfg = *c;
	api->base_dir = c->base_dir ? idp_xstrdup(c->base_dir) : NULL;
	api->slack_secret = c->slack_signing_secret ? idp_xstrdup(c->slack_signing_secret) : NULL;
	api->cfg.slack_signing_secret = api->slack_secret;
	api->cfg.base_dir = api->base_dir;
	api->backend = *backend;
	api->loop = loop;
	api->wf = (idp_api_workflow_env){c->store, c->state_dir, c->renderer, &api->backend, c->wait_timeout_s, on_progress,
					 api};
	if (c->slack_webhook_url)
		api->notifier = idp_api_notifier_new(c->slack_webhook_url);
	api->scratch = idp_arena_new();
	api->stats = idp_xcalloc(api_n_routes + 1, sizeof(*api->stats));
	h2o_linklist_init_anchor(&api->streams);
	h2o_linklist_init_anchor(&api->queue);
	h2o_linklist_init_anchor(&api->conns);
	h2o_linklist_init_anchor(&api->sockets);
	h2o_config_init(&api->conf);
	api->conf.max_request_entity_size = 16 << 20;
	api->conf.http1.req_timeout = 60000;
	api->conf.server_name = h2o_iovec_init(H2O_STRLIT("idp-api"));
	h2o_hostconf_t *hc = h2o_config_register_host(&api->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_pathconf_t *pc = h2o_config_register_path(hc, "/", 0);
	api_handler_t *h = (api_handler_t *)h2o_create_handler(pc, sizeof(*h));
	h->super.on_req = on_req;
	h->api = api;
	h2o_context_init(&api->ctx, api->loop, &api->conf);
	api->accept.ctx = &api->ctx;
	api->accept.hosts = api->conf.hosts;
	double poll = c->events_poll_s > 0 ? c->events_poll_s : 0.2;
	h2o_timeout_init(api->loop, &api->poll_timeout, (uint64_t)fmax(1, poll * 1000));
	api->poll.cb = on_poll;
	int rc = listen_on(api, host ? host : "127.0.0.1", port, err);
	if (rc) {
		idp_api_free(api);
		return rc;
	}
	h2o_timeout_link(api->loop, &api->poll_timeout, &api->poll);
	*out = api;
	return 0;
}

int idp_api_port(const idp_api *api)
{
	return api->port;
}

/* Whether h2o still has work linked to the context: h2o_context_dispose
 * must not run before it is done. */
static bool context_busy(h2o_context_t *ctx)
{
	h2o_timeout_t *const t[] = {&ctx->zero_timeout,	   &ctx->one_sec_timeout,	 &ctx->hundred_ms_timeout,
				    &ctx->handshake_timeout, &ctx->http1.req_timeout,	 &ctx->http2.idle_timeout,
				    &ctx->http2.graceful_shutdown_timeout, &ctx->proxy.io_timeout};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		if (!h2o_linklist_is_empty(&t[i]->_entries))
			return true;
	return false;
}

void idp_api_free(idp_api *api)
{
	if (!api)
		return;
	api->stopping = true;
	if (api->listener) {
		h2o_socket_read_stop(api->listener);
		h2o_socket_close(api->listener);
		api->listener = NULL;
	}
	if (h2o_timeout_is_linked(&api->poll))
		h2o_timeout_unlink(&api->poll);
	idp_api_process(api); /* what was asked before the stop is answered */
	/* Streams end (an EventSource reconnects to the next server). */
	for (h2o_linklist_t *l = api->streams.next; l != &api->streams; l = l->next) {
		stream *s = H2O_STRUCT_FROM_MEMBER(stream, link, l);
		if (!s->sending && !s->closed) {
			s->closed = true;
			h2o_send(s->req, NULL, 0, H2O_SEND_STATE_FINAL);
		}
	}
	while (!h2o_linklist_is_empty(&api->sockets)) {
		wsock *w = H2O_STRUCT_FROM_MEMBER(wsock, link, api->sockets.next);
		h2o_websocket_conn_t *c = w->conn;
		c->data = NULL;
		ws_free(w);
		/* One still upgrading belongs to h2o until it is done: the socket
		 * shutdown below ends it, and on_ws_message closes it then. */
		if (c->sock)
			h2o_websocket_close(c);
	}
	h2o_context_request_shutdown(&api->ctx);
	for (int i = 0; i < 20 && !h2o_linklist_is_empty(&api->conns); i++)
		h2o_evloop_run(api->loop, 1); /* answers on their way go out */
	/* Idle keep-alive connections (the gateway's pool among them) see the
	 * end of their input and close themselves. */
	for (h2o_linklist_t *l = api->conns.next; l != &api->conns; l = l->next)
		shutdown(h2o_socket_get_fd(H2O_STRUCT_FROM_MEMBER(api_conn, link, l)->sock), SHUT_RDWR);
	for (double end = now_s() + 3; !h2o_linklist_is_empty(&api->conns) && now_s() < end;)
		h2o_evloop_run(api->loop, 10);
	for (double end = now_s() + 2; context_busy(&api->ctx) && now_s() < end;)
		h2o_evloop_run(api->loop, 10); /* h2o's own deferred work on closed connections */
	if (!h2o_linklist_is_empty(&api->conns) || context_busy(&api->ctx)) {
		/* h2o cannot free a context with connections (they still point
		 * at it): left to the exit. */
		log_line("%s", "connections still open at the stop: the server's memory is left to the exit");
		return;
	}
	h2o_timeout_dispose(api->loop, &api->poll_timeout);
	h2o_context_dispose(&api->ctx);
	h2o_config_dispose(&api->conf);
	idp_api_notifier_free(api->notifier);
	idp_arena_free(api->scratch);
	free(api->stats);
	free(api->base_dir);
	if (api->slack_secret)
		sodium_memzero(api->slack_secret, strlen(api->slack_secret));
	free(api->slack_secret);
	free(api);
}
