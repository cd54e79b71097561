/*
 * The gateway's server: one libh2o event loop that routes every request,
 * proxies it to a ready replica over a per-replica keep-alive pool, or holds
 * it while the service scales up from zero (the activator), and ticks the
 * autoscaler. Held and in-flight requests are tracked with objects that live
 * in the request's own memory pool, so a client that disconnects unlinks
 * itself when h2o disposes of the request (no dangling pointer to a gone
 * request is ever kept).
 */
#define H2O_USE_LIBUV 0
#include "gateway/gateway.h"
#include "gateway/forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <h2o.h>
#include <h2o/http1.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUTE_TIMEOUTS 16

typedef struct service service;

typedef struct replica {
	service *svc;
	char host[64];
	int port;
	h2o_socketpool_t pool; /* WebSocket upgrades, through h2o's proxy */
	idp_gw_upstream *up;   /* everything else, through forward.c */
	h2o_iovec_t authority;
	bool ready, gone;
	int inflight;
	char *probe_path;
	h2o_http1client_t *probe;
	h2o_socket_t *tcp_probe; /* when the revision has no HTTP readiness probe */
	h2o_timeout_entry_t probe_timer;
	h2o_iovec_t probe_req;
	struct replica *next;
} replica;

typedef struct histogram {
	uint64_t buckets[12];
	uint64_t count;
	double sum;
} histogram;

static const double bucket_bounds[12] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

struct service {
	struct idp_gateway *g;
	char *name;
	char *probe_path; /* from the route table, or NULL: TCP */
	idp_gateway_kpa_config kpa_cfg;
	idp_gateway_kpa *kpa;
	replica *replicas;
	h2o_linklist_t held; /* of held */
	size_t n_held;
	int inflight;
	int32_t requested; /* replicas asked of the scaler */
	bool cold_starting;
	double cold_since;
	uint64_t requests_by_class[6]; /* 1xx..5xx, and dropped (0) */
	uint64_t cold_starts;
	histogram latency, cold_start;
	struct service *next;
};

typedef struct held {
	h2o_req_t *req;
	service *svc;
	h2o_linklist_t link;
	h2o_timeout_entry_t timer;
	double since;
	const char *path;
	struct idp_gateway *g;
} held;

typedef struct track {
	struct idp_gateway *g;
	h2o_req_t *req;
	service *svc;
	replica *rep;
	double start;
} track;

typedef struct gw_handler {
	h2o_handler_t super;
	struct idp_gateway *g;
} gw_handler;

typedef struct upstream {
	h2o_url_t url;
	h2o_socketpool_t pool;
	bool init;
} upstream;

struct idp_gateway {
	idp_gateway_config cfg;
	char *domain;
	idp_gateway_scaler scaler;
	h2o_globalconf_t conf;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept;
	h2o_evloop_t *loop;
	h2o_socket_t *listener;
	int port;
	idp_gateway_routes *routes;
	service *services;
	h2o_timeout_t hold_timeout, probe_timeout, tick_timeout, websocket_timeout;
	h2o_timeout_entry_t tick;
	h2o_http1client_ctx_t client_ctx;
	struct {
		uint64_t ms;
		h2o_timeout_t t;
		h2o_http1client_ctx_t ctx;
	} route_timeouts[MAX_ROUTE_TIMEOUTS];
	size_t n_route_timeouts;
	upstream tools[IDP_GATEWAY_TOOL_COUNT], api;
	char *api_url; /* set after creation (idp_gateway_set_api), else NULL */
	idp_arena *scratch; /* reset per request: route matching */
	volatile sig_atomic_t stopping;
	uint64_t rr;
	uint64_t not_found;
};

/* ---------------------------------------------------------------- time */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void observe(histogram *h, double v)
{
	for (int i = 0; i < 12; i++)
		if (v <= bucket_bounds[i])
			h->buckets[i]++;
	h->count++;
	h->sum += v;
}

/* ---------------------------------------------------------------- services */

static service *find_service(idp_gateway *g, const char *name)
{
	for (service *s = g->services; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static bool kpa_config_equal(const idp_gateway_kpa_config *x, const idp_gateway_kpa_config *y)
{
	return x->target == y->target && x->target_utilization == y->target_utilization &&
	       x->container_concurrency == y->container_concurrency && x->min_scale == y->min_scale &&
	       x->max_scale == y->max_scale && x->initial_scale == y->initial_scale &&
	       x->activation_scale == y->activation_scale && x->stable_window_s == y->stable_window_s &&
	       x->panic_window_pct == y->panic_window_pct && x->panic_threshold_pct == y->panic_threshold_pct &&
	       x->max_scale_up_rate == y->max_scale_up_rate && x->max_scale_down_rate == y->max_scale_down_rate &&
	       x->scale_to_zero_grace_s == y->scale_to_zero_grace_s && x->scale_down_delay_s == y->scale_down_delay_s &&
	       x->enable_scale_to_zero == y->enable_scale_to_zero;
}

static service *get_service(idp_gateway *g, const char *name, const idp_gateway_kpa_config *cfg)
{
	service *s = find_service(g, name);
	if (s) {
		if (cfg && !kpa_config_equal(&s->kpa_cfg, cfg)) {
			s->kpa_cfg = *cfg;
			idp_gateway_kpa_free(s->kpa);
			s->kpa = idp_gateway_kpa_new(cfg);
		}
		return s;
	}
	s = idp_xcalloc(1, sizeof(*s));
	s->g = g;
	s->name = idp_xstrdup(name);
	s->kpa_cfg = cfg ? *cfg : g->cfg.kpa_defaults;
	s->kpa = idp_gateway_kpa_new(&s->kpa_cfg);
	h2o_linklist_init_anchor(&s->held);
	s->next = g->services;
	g->services = s;
	return s;
}

static int ready_count(const service *s)
{
	int n = 0;
	for (const replica *r = s->replicas; r; r = r->next)
		n += r->ready && !r->gone;
	return n;
}

static void ask_replicas(idp_gateway *g, service *s, int32_t n)
{
	if (n == s->requested)
		return;
	s->requested = n;
	if (g->scaler.scale)
		g->scaler.scale(g->scaler.ctx, s->name, n);
}

/* A replica with room for one more request: the least loaded ready one,
 * within containerConcurrency when that is set. */
static replica *pick_replica(service *s)
{
	replica *best = NULL;
	int64_t limit = s->kpa_cfg.container_concurrency;
	for (replica *r = s->replicas; r; r = r->next) {
		if (!r->ready || r->gone || (limit > 0 && r->inflight >= limit))
			continue;
		if (!best || r->inflight < best->inflight)
			best = r;
	}
	return best;
}

/* ---------------------------------------------------------------- proxying */

static h2o_http1client_ctx_t *client_ctx_for(idp_gateway *g, double timeout_s)
{
	if (timeout_s <= 0)
		return &g->client_ctx;
	uint64_t ms = (uint64_t)(timeout_s * 1000);
	for (size_t i = 0; i < g->n_route_timeouts; i++)
		if (g->route_timeouts[i].ms == ms)
			return &g->route_timeouts[i].ctx;
	if (g->n_route_timeouts == MAX_ROUTE_TIMEOUTS)
		return &g->client_ctx;
	size_t i = g->n_route_timeouts++;
	g->route_timeouts[i].ms = ms;
	h2o_timeout_init(g->ctx.loop, &g->route_timeouts[i].t, ms);
	g->route_timeouts[i].ctx = g->client_ctx;
	g->route_timeouts[i].ctx.io_timeout = &g->route_timeouts[i].t;
	return &g->route_timeouts[i].ctx;
}

static void ipv4_text(const struct in_addr *a, char out[16])
{
	const unsigned char *b = (const unsigned char *)&a->s_addr;
	char *o = out;
	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];
		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
		if (i < 3)
			*o++ = '.';
	}
	*o = '\0';
}

/* Adds Forwarded and X-Forwarded-Host (and -Prefix); the client's address
 * goes to addr (64 bytes) for X-Forwarded-For. */
static void add_forwarded(h2o_req_t *req, const char *prefix, char addr[64])
{
	strcpy(addr, "unknown");
	struct sockaddr_storage ss;
	socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
	if (len > 0 && ss.ss_family == AF_INET)
		ipv4_text(&((struct sockaddr_in *)&ss)->sin_addr, addr); /* (inet_ntop's sprintf showed in profiles) */
	else if (len > 0 && ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, 64);
	/* Forwarded (RFC 7239) built by hand: this runs for every request. */
	size_t al = strlen(addr), hl = req->input.authority.len;
	char *fwd = h2o_mem_alloc_pool(&req->pool, al + hl + 32);
	size_t n = 0;
	memcpy(fwd + n, "for=\"", 5), n += 5;
	memcpy(fwd + n, addr, al), n += al;
	memcpy(fwd + n, "\";host=\"", 8), n += 8;
	memcpy(fwd + n, req->input.authority.base, hl), n += hl;
	memcpy(fwd + n, "\";proto=http", 12), n += 12;
	h2o_add_header_by_str(&req->pool, &req->headers, H2O_STRLIT("forwarded"), 0, NULL, fwd, n);
	h2o_set_header_by_str(&req->pool, &req->headers, H2O_STRLIT("x-forwarded-host"), 0,
			      h2o_strdup(&req->pool, req->input.authority.base, req->input.authority.len).base,
			      req->input.authority.len, 1);
	if (prefix)
		h2o_set_header_by_str(&req->pool, &req->headers, H2O_STRLIT("x-forwarded-prefix"), 0,
				      h2o_strdup(&req->pool, prefix, strlen(prefix)).base, strlen(prefix), 1);
}

static void count_done(service *s, int status, double seconds)
{
	int cls = status >= 100 && status < 600 ? status / 100 : 0;
	s->requests_by_class[cls]++;
	observe(&s->latency, seconds);
}

static void dispatch_held(idp_gateway *g, service *s);
static void free_replica(replica *r);

static void on_track_dispose(void *p)
{
	track *t = p;
	t->svc->inflight--;
	t->rep->inflight--;
	count_done(t->svc, t->req->res.status, now_s() - t->start);
	if (t->rep->gone && t->rep->inflight == 0) {
		free_replica(t->rep);
		return;
	}
	if (!t->g->stopping)
		dispatch_held(t->g, t->svc);
}

/* Sends req to replica r; path is what the upstream sees. */
static void proxy_to_replica(idp_gateway *g, h2o_req_t *req, service *s, replica *r, const char *path,
			     double timeout_s)
{
	track *t = h2o_mem_alloc_shared(&req->pool, sizeof(*t), on_track_dispose);
	*t = (track){g, req, s, r, now_s()};
	s->inflight++;
	r->inflight++;
	h2o_http1client_ctx_t *cctx = client_ctx_for(g, timeout_s);
	char addr[64];
	add_forwarded(req, NULL, addr);
	if (req->upgrade.base == NULL) {
		idp_gw_forward(r->up, req, h2o_strdup(&req->pool, path, strlen(path)), cctx->io_timeout, addr);
		return;
	}
	h2o_req_overrides_t *o = h2o_mem_alloc_pool(&req->pool, sizeof(*o));
	memset(o, 0, sizeof(*o));
	o->socketpool = &r->pool;
	o->client_ctx = cctx;
	h2o_reprocess_request(req, req->method, &H2O_URL_SCHEME_HTTP, r->authority,
			      h2o_strdup(&req->pool, path, strlen(path)), o, 0);
}

static void proxy_to_upstream(idp_gateway *g, h2o_req_t *req, upstream *u, const char *path, const char *prefix)
{
	h2o_req_overrides_t *o = h2o_mem_alloc_pool(&req->pool, sizeof(*o));
	memset(o, 0, sizeof(*o));
	o->socketpool = &u->pool;
	o->client_ctx = &g->client_ctx;
	char addr[64];
	add_forwarded(req, prefix, addr);
	char *full = h2o_mem_alloc_pool(&req->pool, u->url.path.len + strlen(path) + 1);
	size_t base = u->url.path.len && u->url.path.base[u->url.path.len - 1] == '/' ? u->url.path.len - 1 : u->url.path.len;
	memcpy(full, u->url.path.base, base);
	strcpy(full + base, path);
	h2o_reprocess_request_deferred(req, req->method, &H2O_URL_SCHEME_HTTP, u->url.authority,
				       h2o_iovec_init(full, strlen(full)), o, 0);
}

static void send_text(h2o_req_t *req, int status, const char *reason, const char *body)
{
	req->res.status = status;
	req->res.reason = reason;
	size_t len = strlen(body);
	req->res.content_length = len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/plain; charset=utf-8"));
	h2o_send_inline(req, h2o_strdup(&req->pool, body, len).base, len);
}

/* ---------------------------------------------------------------- the activator */

static void on_held_dispose(void *p)
{
	held *h = p;
	if (h2o_linklist_is_linked(&h->link)) {
		h2o_linklist_unlink(&h->link);
		h->svc->n_held--;
	}
	if (h2o_timeout_is_linked(&h->timer))
		h2o_timeout_unlink(&h->timer);
}

static void on_held_timeout(h2o_timeout_entry_t *entry)
{
	held *h = H2O_STRUCT_FROM_MEMBER(held, timer, entry);
	h2o_linklist_unlink(&h->link);
	h->svc->n_held--;
	h->svc->requests_by_class[5]++;
	char body[512];
	snprintf(body, sizeof body, "idp gateway: service %s did not become ready within %g s\n", h->svc->name,
		 h->g->cfg.hold_timeout_s);
	send_text(h->req, 503, "Service Unavailable", body);
}

static void hold(idp_gateway *g, h2o_req_t *req, service *s, const char *path)
{
	held *h = h2o_mem_alloc_shared(&req->pool, sizeof(*h), on_held_dispose);
	memset(h, 0, sizeof(*h));
	h->req = req;
	h->svc = s;
	h->g = g;
	h->since = now_s();
	h->path = h2o_strdup(&req->pool, path, strlen(path)).base;
	h2o_linklist_insert(&s->held, &h->link);
	s->n_held++;
	h->timer.cb = on_held_timeout;
	h2o_timeout_link(g->ctx.loop, &g->hold_timeout, &h->timer);
}

static void dispatch_held(idp_gateway *g, service *s)
{
	while (!h2o_linklist_is_empty(&s->held)) {
		replica *r = pick_replica(s);
		if (!r)
			return;
		held *h = H2O_STRUCT_FROM_MEMBER(held, link, s->held.next);
		h2o_linklist_unlink(&h->link);
		s->n_held--;
		h2o_timeout_unlink(&h->timer);
		proxy_to_replica(g, h->req, s, r, h->path, 0);
	}
}

/* ---------------------------------------------------------------- replicas */

static void free_replica(replica *r)
{
	if (r->probe)
		h2o_http1client_cancel(r->probe);
	if (r->tcp_probe) {
		r->tcp_probe->data = NULL;
		h2o_socket_close(r->tcp_probe);
	}
	if (h2o_timeout_is_linked(&r->probe_timer))
		h2o_timeout_unlink(&r->probe_timer);
	h2o_socketpool_dispose(&r->pool);
	idp_gw_upstream_release(r->up);
	free(r->authority.base);
	free(r->probe_path);
	free(r->probe_req.base);
	free(r);
}

static void start_probe(replica *r);

static void replica_ready(replica *r)
{
	service *s = r->svc;
	r->ready = true;
	if (s->cold_starting) {
		s->cold_starting = false;
		s->cold_starts++;
		observe(&s->cold_start, now_s() - s->cold_since);
	}
	dispatch_held(s->g, s);
}

static int on_probe_body(h2o_http1client_t *client, const char *errstr)
{
	replica *r = client->data;
	if (errstr != NULL) {
		/* end of this probe's response (or an error): probe again unless ready */
		r->probe = NULL;
		if (!r->ready)
			start_probe(r);
		return -1;
	}
	return 0;
}

static h2o_http1client_body_cb on_probe_head(h2o_http1client_t *client, const char *errstr, int minor_version,
					     int status, h2o_iovec_t msg, h2o_header_t *headers, size_t num_headers,
					     int rlen)
{
	replica *r = client->data;
	if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
		r->probe = NULL;
		start_probe(r);
		return NULL;
	}
	if (status >= 200 && status < 300 && !r->ready)
		replica_ready(r);
	if (errstr == h2o_http1client_error_is_eos) {
		r->probe = NULL;
		if (!r->ready)
			start_probe(r);
		return NULL;
	}
	return on_probe_body;
}

static h2o_http1client_head_cb on_probe_connect(h2o_http1client_t *client, const char *errstr, h2o_iovec_t **reqbufs,
						size_t *reqbufcnt, int *method_is_head)
{
	replica *r = client->data;
	if (errstr != NULL) {
		r->probe = NULL;
		start_probe(r); /* not listening yet: try again in a few ms */
		return NULL;
	}
	*reqbufs = &r->probe_req;
	*reqbufcnt = 1;
	*method_is_head = 0;
	return on_probe_head;
}

/* Knative's default readiness check: the container port accepts a TCP
 * connection. */
static void on_tcp_probe(h2o_socket_t *sock, const char *err)
{
	replica *r = sock->data;
	h2o_socket_close(sock);
	if (!r)
		return;
	r->tcp_probe = NULL;
	if (err == NULL && !r->ready)
		replica_ready(r);
	else if (!r->ready)
		start_probe(r);
}

static void on_probe_timer(h2o_timeout_entry_t *entry)
{
	replica *r = H2O_STRUCT_FROM_MEMBER(replica, probe_timer, entry);
	if (r->gone || r->ready)
		return;
	idp_gateway *g = r->svc->g;
	if (!r->probe_path) {
		struct sockaddr_in sin = {0};
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)r->port);
		inet_pton(AF_INET, r->host, &sin.sin_addr);
		r->tcp_probe = h2o_socket_connect(g->ctx.loop, (struct sockaddr *)&sin, sizeof sin, on_tcp_probe);
		if (r->tcp_probe)
			r->tcp_probe->data = r;
		else
			start_probe(r);
		return;
	}
	h2o_http1client_connect(&r->probe, r, &g->client_ctx, h2o_iovec_init(r->host, strlen(r->host)), (uint16_t)r->port, 0,
				on_probe_connect);
}

/* Probes again after probe_interval (Knative's queue-proxy probes every few
 * milliseconds until the first success, whatever the probe's own period). */
static void start_probe(replica *r)
{
	idp_gateway *g = r->svc->g;
	if (r->gone || r->ready || g->stopping)
		return;
	if (!h2o_timeout_is_linked(&r->probe_timer))
		h2o_timeout_link(g->ctx.loop, &g->probe_timeout, &r->probe_timer);
}

void idp_gateway_replica_starting(idp_gateway *g, const char *name, const char *host, int port, const char *probe_path)
{
	service *s = get_service(g, name, NULL);
	replica *r = idp_xcalloc(1, sizeof(*r));
	r->svc = s;
	snprintf(r->host, sizeof r->host, "%s", host);
	r->port = port;
	char auth[96];
	int n = snprintf(auth, sizeof auth, "%s:%d", host, port);
	r->authority = h2o_iovec_init(idp_xstrndup(auth, (size_t)n), (size_t)n);
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	h2o_socketpool_init_by_address(&r->pool, (struct sockaddr *)&sin, sizeof(sin), 0, SIZE_MAX);
	h2o_socketpool_set_timeout(&r->pool, g->ctx.loop, (uint64_t)(g->cfg.idle_timeout_s * 1000));
	r->up = idp_gw_upstream_new(g->ctx.loop, &sin, r->authority, (uint64_t)(g->cfg.idle_timeout_s * 1000));
	if (!probe_path)
		probe_path = s->probe_path; /* the revision's readinessProbe.httpGet.path, if any */
	if (probe_path && *probe_path) {
		r->probe_path = idp_xstrdup(probe_path);
		char req[512];
		n = snprintf(req, sizeof req,
			     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: idp-gateway-probe\r\nConnection: close\r\n\r\n",
			     r->probe_path, auth);
		r->probe_req = h2o_iovec_init(idp_xstrndup(req, (size_t)n), (size_t)n);
	}
	r->probe_timer.cb = on_probe_timer;
	r->next = s->replicas;
	s->replicas = r;
	/* A replica the runtime started on its own (Knative's initial scale)
	 * counts as asked for, so that the autoscaler's later "fewer" reaches
	 * the scaler. */
	int32_t live = 0;
	for (const replica *x = s->replicas; x; x = x->next)
		live += !x->gone;
	if (s->requested < live)
		s->requested = live;
	on_probe_timer(&r->probe_timer); /* first probe right away */
}

void idp_gateway_scale_refused(idp_gateway *g, const char *name, const char *reason)
{
	service *s = find_service(g, name);
	if (!s)
		return;
	int32_t live = 0;
	for (const replica *x = s->replicas; x; x = x->next)
		live += !x->gone;
	s->requested = live; /* asked again on a later tick or request */
	char body[512];
	snprintf(body, sizeof body, "idp gateway: service %s cannot start: %s\n", name, reason ? reason : "refused");
	while (!h2o_linklist_is_empty(&s->held)) {
		held *h = H2O_STRUCT_FROM_MEMBER(held, link, s->held.next);
		h2o_linklist_unlink(&h->link);
		s->n_held--;
		h2o_timeout_unlink(&h->timer);
		s->requests_by_class[5]++;
		send_text(h->req, 503, "Service Unavailable", body);
	}
}

int idp_gateway_ready_replicas(idp_gateway *g, const char *name)
{
	service *s = find_service(g, name);
	return s ? ready_count(s) : 0;
}

void idp_gateway_replica_gone(idp_gateway *g, const char *name, const char *host, int port)
{
	service *s = find_service(g, name);
	if (!s)
		return;
	for (replica **p = &s->replicas; *p; p = &(*p)->next) {
		replica *r = *p;
		if (r->port != port || strcmp(r->host, host) != 0)
			continue;
		*p = r->next;
		r->gone = true;
		r->ready = false;
		if (r->inflight == 0)
			free_replica(r);
		/* A replica the runtime took away by itself (a pause, a crash) is no
		 * longer asked for: the next request or tick asks again. */
		int32_t live = 0;
		for (const replica *x = s->replicas; x; x = x->next)
			live += !x->gone;
		if (s->requested > live)
			s->requested = live;
		return;
	}
}

/* ---------------------------------------------------------------- autoscaling */

static void on_tick(h2o_timeout_entry_t *entry)
{
	idp_gateway *g = H2O_STRUCT_FROM_MEMBER(idp_gateway, tick, entry);
	double t = now_s();
	for (service *s = g->services; s; s = s->next) {
		idp_gateway_kpa_record(s->kpa, t, (double)(s->inflight + (int)s->n_held));
		idp_gateway_kpa_decision d = idp_gateway_kpa_decide(s->kpa, t, ready_count(s));
		int32_t want = d.desired;
		/* Never below what held requests need to be served. */
		if (want == 0 && s->n_held > 0)
			want = s->kpa_cfg.activation_scale > 0 ? s->kpa_cfg.activation_scale : 1;
		ask_replicas(g, s, want);
	}
	if (!g->stopping)
		h2o_timeout_link(g->ctx.loop, &g->tick_timeout, &g->tick);
}

/* ---------------------------------------------------------------- requests */

static void serve_metrics(idp_gateway *g, h2o_req_t *req)
{
	idp_buf b = IDP_BUF_INIT;
	idp_gateway_metrics(g, &b);
	req->res.status = 200;
	req->res.reason = "OK";
	req->res.content_length = b.len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
		       H2O_STRLIT("text/plain; version=0.0.4; charset=utf-8"));
	h2o_iovec_t body = h2o_strdup(&req->pool, b.ptr ? b.ptr : "", b.len);
	idp_buf_free(&b);
	h2o_send_inline(req, body.base, body.len);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	idp_gateway *g = ((gw_handler *)self)->g;
	char host[256], path[4096];
	if (req->input.path.len >= sizeof path || req->input.authority.len >= sizeof host) {
		send_text(req, 414, "URI Too Long", "idp gateway: request path or host too long\n");
		return 0;
	}
	memcpy(host, req->input.authority.base, req->input.authority.len);
	host[req->input.authority.len] = 0;
	memcpy(path, req->input.path.base, req->input.path.len);
	path[req->input.path.len] = 0;
	size_t head = req->input.path.len + req->input.authority.len;
	for (size_t i = 0; i < req->headers.size; i++)
		head += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
	if (head > g->cfg.max_header_bytes) {
		send_text(req, 431, "Request Header Fields Too Large", "idp gateway: request head too large\n");
		return 0;
	}
	idp_gateway_header hdrs[64];
	size_t nh = 0;
	/* Header names are lowered only when some route matches on headers. */
	for (size_t i = 0; idp_gateway_routes_use_headers(g->routes) && i < req->headers.size && nh < 64; i++) {
		h2o_header_t *h = &req->headers.entries[i];
		char *name = h2o_mem_alloc_pool(&req->pool, h->name->len + 1);
		for (size_t k = 0; k < h->name->len; k++) {
			char c = h->name->base[k];
			name[k] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
		}
		name[h->name->len] = 0;
		hdrs[nh++] = (idp_gateway_header){name, h->value.base, h->value.len};
	}
	idp_arena *a = g->scratch;
	idp_arena_reset(a);
	idp_gateway_route_match m;
	g->rr = g->rr * 6364136223846793005ULL + 1442695040888963407ULL;
	double pick = (double)(g->rr >> 11) / 9007199254740992.0;
	idp_gateway_routes_match(g->routes, a, host, path, hdrs, nh, pick, &m);
	switch (m.target) {
	case IDP_GATEWAY_NONE:
		if (strcmp(path, "/metrics") == 0)
			serve_metrics(g, req);
		else {
			g->not_found++;
			char body[512];
			snprintf(body, sizeof body, "idp gateway: no route for host %.200s path %.200s\n", host, path);
			send_text(req, 404, "Not Found", body);
		}
		break;
	case IDP_GATEWAY_TOOL:
	case IDP_GATEWAY_API: {
		upstream *u = m.target == IDP_GATEWAY_API ? &g->api : &g->tools[m.tool];
		/* The API's upstream may be set after the routes were built. */
		if ((!m.upstream && m.target != IDP_GATEWAY_API) || !u->init) {
			char body[512];
			if (m.target == IDP_GATEWAY_API)
				snprintf(body, sizeof body, "idp gateway: the platform API is not configured (set gateway.api)\n");
			else
				snprintf(body, sizeof body, "idp gateway: %s is not configured (set gateway.tools.%s to its URL)\n",
					 idp_gateway_tool_name(m.tool), idp_gateway_tool_name(m.tool));
			send_text(req, 503, "Service Unavailable", body);
		} else {
			proxy_to_upstream(g, req, u, m.path, m.prefix);
		}
		break;
	}
	case IDP_GATEWAY_SERVICE: {
		service *s = get_service(g, m.service, NULL);
		replica *r = pick_replica(s);
		if (r && h2o_linklist_is_empty(&s->held)) {
			proxy_to_replica(g, req, s, r, m.path, m.timeout_s);
		} else if (s->n_held >= g->cfg.hold_max) {
			s->requests_by_class[5]++;
			send_text(req, 503, "Service Unavailable", "idp gateway: too many requests waiting for this service\n");
		} else {
			hold(g, req, s, m.path);
			if (ready_count(s) == 0 && !s->cold_starting) {
				s->cold_starting = true;
				s->cold_since = now_s();
			}
			/* The activator pokes the autoscaler: a cold service starts now,
			 * not at the next tick. */
			if (s->requested == 0)
				ask_replicas(g, s, s->kpa_cfg.activation_scale > 0 ? s->kpa_cfg.activation_scale : 1);
		}
		break;
	}
	}
	return 0;
}

/* ---------------------------------------------------------------- lifecycle */

static void on_accept(h2o_socket_t *listener, const char *err)
{
	if (err != NULL)
		return;
	idp_gateway *g = listener->data;
	h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
	if (sock == NULL)
		return;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	h2o_http1_accept(&g->accept, sock, tv);
}

static int init_upstream(idp_gateway *g, upstream *u, const char *url, idp_err *err)
{
	if (!url)
		return 0;
	if (h2o_url_parse(url, strlen(url), &u->url) != 0 || u->url.scheme != &H2O_URL_SCHEME_HTTP)
		return idp_err_set(err, IDP_EINPUT, "gateway: bad upstream URL \"%s\" (want http://host:port/path)", url);
	/* A numeric address needs no resolver thread (and works where name
	 * resolution is not set up, as in a bare container). */
	char host[64];
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons(h2o_url_get_port(&u->url));
	snprintf(host, sizeof host, "%.*s", (int)u->url.host.len, u->url.host.base);
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1)
		h2o_socketpool_init_by_address(&u->pool, (struct sockaddr *)&sin, sizeof(sin), 0, SIZE_MAX);
	else
		h2o_socketpool_init_by_hostport(&u->pool, u->url.host, h2o_url_get_port(&u->url), 0, SIZE_MAX);
	h2o_socketpool_set_timeout(&u->pool, g->ctx.loop, (uint64_t)(g->cfg.idle_timeout_s * 1000));
	u->init = true;
	return 0;
}

static int listen_on(idp_gateway *g, const char *host, int port, idp_err *err)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return idp_err_set(err, IDP_ERUNTIME, "gateway: socket: %s", strerror(errno));
	int on = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		close(fd);
		return idp_err_set(err, IDP_EINPUT, "gateway: listen address \"%s\" is not an IPv4 address", host);
	}
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, SOMAXCONN) != 0) {
		int e = errno;
		close(fd);
		return idp_err_set(err, IDP_ERUNTIME, "gateway: cannot listen on %s:%d: %s", host, port, strerror(e));
	}
	socklen_t len = sizeof(sin);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	g->port = ntohs(sin.sin_port);
	g->listener = h2o_evloop_socket_create(g->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	g->listener->data = g;
	h2o_socket_read_start(g->listener, on_accept);
	return 0;
}

int idp_gateway_new(const idp_gateway_config *c, const char *host, int port, const idp_gateway_scaler *scaler,
		    idp_gateway **out, idp_err *err)
{
	signal(SIGPIPE, SIG_IGN);
	idp_gateway *g = idp_xcalloc(1, sizeof(*g));
	g->cfg = *c;
	g->domain = idp_xstrdup(c->domain ? c->domain : "localhost");
	g->scratch = idp_arena_new();
	g->cfg.domain = g->domain;
	if (scaler)
		g->scaler = *scaler;
	h2o_config_init(&g->conf);
	g->conf.max_request_entity_size = c->max_body_bytes;
	g->conf.http1.req_timeout = (uint64_t)(c->idle_timeout_s * 1000);
	g->conf.proxy.io_timeout = (uint64_t)(c->idle_timeout_s * 1000);
	g->conf.proxy.emit_x_forwarded_headers = 1;
	g->conf.proxy.emit_via_header = 0;
	g->conf.server_name = h2o_iovec_init(H2O_STRLIT("idp-gateway"));
	h2o_hostconf_t *hc = h2o_config_register_host(&g->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_pathconf_t *pc = h2o_config_register_path(hc, "/", 0);
	gw_handler *h = (gw_handler *)h2o_create_handler(pc, sizeof(*h));
	h->super.on_req = on_req;
	h->g = g;
	g->loop = h2o_evloop_create();
	h2o_context_init(&g->ctx, g->loop, &g->conf);
	g->accept.ctx = &g->ctx;
	g->accept.hosts = g->conf.hosts;
	h2o_timeout_init(g->loop, &g->hold_timeout, (uint64_t)(c->hold_timeout_s * 1000));
	h2o_timeout_init(g->loop, &g->probe_timeout, (uint64_t)fmax(1, c->probe_interval_s * 1000));
	h2o_timeout_init(g->loop, &g->tick_timeout, (uint64_t)fmax(1, c->tick_s * 1000));
	h2o_timeout_init(g->loop, &g->websocket_timeout, 300000);
	g->client_ctx = g->ctx.proxy.client_ctx;
	g->client_ctx.websocket_timeout = &g->websocket_timeout;
	int rc = 0;
	for (int t = 0; rc == 0 && t < IDP_GATEWAY_TOOL_COUNT; t++)
		rc = init_upstream(g, &g->tools[t], c->tools[t], err);
	if (rc == 0)
		rc = init_upstream(g, &g->api, c->api, err);
	if (rc == 0)
		rc = listen_on(g, host, port, err);
	if (rc == 0)
		rc = idp_gateway_routes_build(&g->cfg, NULL, 0, &g->routes, err);
	if (rc != 0) {
		idp_gateway_free(g);
		*out = NULL;
		return rc;
	}
	g->tick.cb = on_tick;
	h2o_timeout_link(g->loop, &g->tick_timeout, &g->tick);
	*out = g;
	return 0;
}

int idp_gateway_port(const idp_gateway *g)
{
	return g->port;
}

void *idp_gateway_loop(idp_gateway *g)
{
	return g->loop;
}

int idp_gateway_set_api(idp_gateway *g, const char *url, idp_err *err)
{
	if (g->api.init) {
		h2o_socketpool_dispose(&g->api.pool);
		g->api.init = false;
	}
	free(g->api_url);
	g->api_url = url ? idp_xstrdup(url) : NULL;
	return init_upstream(g, &g->api, g->api_url, err);
}

void idp_gateway_set_routes(idp_gateway *g, idp_gateway_routes *r)
{
	const char **names;
	const idp_gateway_kpa_config *configs;
	size_t n = idp_gateway_routes_services(r, &names, &configs);
	for (size_t i = 0; i < n; i++) {
		service *s = get_service(g, names[i], &configs[i]);
		const char *probe = idp_gateway_routes_probe_path(r, names[i]);
		free(s->probe_path);
		s->probe_path = probe ? idp_xstrdup(probe) : NULL;
	}
	idp_gateway_routes *old = g->routes;
	g->routes = r; /* requests already routed keep their service; no request is dropped */
	idp_gateway_routes_free(old);
}

int idp_gateway_run(idp_gateway *g, int max_wait_ms)
{
	for (;;) {
		if (h2o_evloop_run(g->loop, max_wait_ms < 0 ? 1000 : max_wait_ms) != 0 && errno != EINTR)
			return -1;
		if (g->stopping || max_wait_ms >= 0)
			return 0;
	}
}

void idp_gateway_stop(idp_gateway *g)
{
	g->stopping = 1;
}

/* Connections still linked to the context's timeouts: h2o_context_dispose
 * must not run before they are closed. */
static bool context_busy(h2o_context_t *ctx)
{
	return !h2o_linklist_is_empty(&ctx->http1.req_timeout._entries) ||
	       !h2o_linklist_is_empty(&ctx->proxy.io_timeout._entries) ||
	       !h2o_linklist_is_empty(&ctx->zero_timeout._entries) ||
	       !h2o_linklist_is_empty(&ctx->one_sec_timeout._entries) ||
	       !h2o_linklist_is_empty(&ctx->hundred_ms_timeout._entries) ||
	       !h2o_linklist_is_empty(&ctx->handshake_timeout._entries);
}

static bool busy(idp_gateway *g)
{
	for (service *s = g->services; s; s = s->next)
		if (s->inflight > 0)
			return true;
	return false;
}

void idp_gateway_free(idp_gateway *g)
{
	if (!g)
		return;
	g->stopping = 1;
	if (g->listener) {
		h2o_socket_read_stop(g->listener);
		h2o_socket_close(g->listener);
		g->listener = NULL;
	}
	/* Held requests get a 503; in-flight ones may finish (graceful drain). */
	for (service *s = g->services; s; s = s->next)
		while (!h2o_linklist_is_empty(&s->held)) {
			held *h = H2O_STRUCT_FROM_MEMBER(held, link, s->held.next);
			h2o_linklist_unlink(&h->link);
			s->n_held--;
			h2o_timeout_unlink(&h->timer);
			send_text(h->req, 503, "Service Unavailable", "idp gateway: shutting down\n");
		}
	double deadline = now_s() + 5;
	while (g->loop && busy(g) && now_s() < deadline)
		h2o_evloop_run(g->loop, 10);
	if (h2o_timeout_is_linked(&g->tick))
		h2o_timeout_unlink(&g->tick);
	h2o_context_request_shutdown(&g->ctx);
	for (int i = 0; g->loop && i < 20; i++)
		h2o_evloop_run(g->loop, 1);
	for (double end = now_s() + 3; g->loop && context_busy(&g->ctx) && now_s() < end;)
		h2o_evloop_run(g->loop, 10);
	/* What still streams from a replica ends now, before its timers go. */
	for (service *s = g->services; s; s = s->next)
		for (replica *r = s->replicas; r; r = r->next)
			idp_gw_upstream_abort(r->up);
	for (int i = 0; g->loop && i < 20; i++)
		h2o_evloop_run(g->loop, 1);
	for (service *s = g->services, *next; s; s = next) {
		next = s->next;
		for (replica *r = s->replicas, *rn; r; r = rn) {
			rn = r->next;
			free_replica(r);
		}
		idp_gateway_kpa_free(s->kpa);
		free(s->name);
		free(s->probe_path);
		free(s);
	}
	for (int t = 0; t < IDP_GATEWAY_TOOL_COUNT; t++)
		if (g->tools[t].init)
			h2o_socketpool_dispose(&g->tools[t].pool);
	if (g->api.init)
		h2o_socketpool_dispose(&g->api.pool);
	if (g->loop) {
		h2o_timeout_dispose(g->loop, &g->hold_timeout);
		h2o_timeout_dispose(g->loop, &g->probe_timeout);
		h2o_timeout_dispose(g->loop, &g->tick_timeout);
		h2o_timeout_dispose(g->loop, &g->websocket_timeout);
		for (size_t i = 0; i < g->n_route_timeouts; i++)
			h2o_timeout_dispose(g->loop, &g->route_timeouts[i].t);
		h2o_context_dispose(&g->ctx);
		h2o_evloop_destroy(g->loop);
	}
	h2o_config_dispose(&g->conf);
	idp_gateway_routes_free(g->routes);
	idp_arena_free(g->scratch);
	free(g->domain);
	free(g->api_url);
	free(g);
}

/* ---------------------------------------------------------------- metrics */

static void histogram_out(idp_buf *b, const char *metric, const char *svc, const histogram *h)
{
	for (int i = 0; i < 12; i++)
		idp_buf_printf(b, "%s_bucket{service=\"%s\",le=\"%g\"} %llu\n", metric, svc, bucket_bounds[i],
			       (unsigned long long)h->buckets[i]);
	idp_buf_printf(b, "%s_bucket{service=\"%s\",le=\"+Inf\"} %llu\n", metric, svc, (unsigned long long)h->count);
	idp_buf_printf(b, "%s_sum{service=\"%s\"} %.9f\n", metric, svc, h->sum);
	idp_buf_printf(b, "%s_count{service=\"%s\"} %llu\n", metric, svc, (unsigned long long)h->count);
}

void idp_gateway_metrics(idp_gateway *g, idp_buf *b)
{
	static const char *const classes[6] = {"dropped", "1xx", "2xx", "3xx", "4xx", "5xx"};
	idp_buf_puts(b, "# HELP idp_gateway_requests_total Requests answered for each service, by status class.\n"
			"# TYPE idp_gateway_requests_total counter\n");
	for (service *s = g->services; s; s = s->next)
		for (int c = 0; c < 6; c++)
			idp_buf_printf(b, "idp_gateway_requests_total{service=\"%s\",code=\"%s\"} %llu\n", s->name, classes[c],
				       (unsigned long long)s->requests_by_class[c]);
	idp_buf_puts(b, "# HELP idp_gateway_request_duration_seconds Time from routing to the end of the response.\n"
			"# TYPE idp_gateway_request_duration_seconds histogram\n");
	for (service *s = g->services; s; s = s->next)
		histogram_out(b, "idp_gateway_request_duration_seconds", s->name, &s->latency);
	idp_buf_puts(b, "# HELP idp_gateway_held_requests Requests held by the activator, waiting for a replica.\n"
			"# TYPE idp_gateway_held_requests gauge\n");
	for (service *s = g->services; s; s = s->next)
		idp_buf_printf(b, "idp_gateway_held_requests{service=\"%s\"} %zu\n", s->name, s->n_held);
	idp_buf_puts(b, "# HELP idp_gateway_inflight_requests Requests being proxied to a replica (concurrency).\n"
			"# TYPE idp_gateway_inflight_requests gauge\n");
	for (service *s = g->services; s; s = s->next)
		idp_buf_printf(b, "idp_gateway_inflight_requests{service=\"%s\"} %d\n", s->name, s->inflight);
	idp_buf_puts(b, "# HELP idp_gateway_cold_starts_total Scale-ups from zero that served held requests.\n"
			"# TYPE idp_gateway_cold_starts_total counter\n");
	for (service *s = g->services; s; s = s->next)
		idp_buf_printf(b, "idp_gateway_cold_starts_total{service=\"%s\"} %llu\n", s->name,
			       (unsigned long long)s->cold_starts);
	idp_buf_puts(b, "# HELP idp_gateway_cold_start_duration_seconds From the first held request to a ready replica.\n"
			"# TYPE idp_gateway_cold_start_duration_seconds histogram\n");
	for (service *s = g->services; s; s = s->next)
		histogram_out(b, "idp_gateway_cold_start_duration_seconds", s->name, &s->cold_start);
	idp_buf_puts(b, "# HELP idp_gateway_desired_replicas Replicas the autoscaler asked for.\n"
			"# TYPE idp_gateway_desired_replicas gauge\n");
	for (service *s = g->services; s; s = s->next)
		idp_buf_printf(b, "idp_gateway_desired_replicas{service=\"%s\"} %d\n", s->name, s->requested);
	idp_buf_puts(b, "# HELP idp_gateway_ready_replicas Replicas that passed their readiness probe.\n"
			"# TYPE idp_gateway_ready_replicas gauge\n");
	for (service *s = g->services; s; s = s->next)
		idp_buf_printf(b, "idp_gateway_ready_replicas{service=\"%s\"} %d\n", s->name, ready_count(s));
	idp_buf_printf(b, "# HELP idp_gateway_unrouted_total Requests with no route (404).\n"
			  "# TYPE idp_gateway_unrouted_total counter\nidp_gateway_unrouted_total %llu\n",
		       (unsigned long long)g->not_found);
}
