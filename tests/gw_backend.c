/*
 * A small C HTTP service for the gateway's tests and benchmarks (the
 * "replica" the test launcher starts). Usage: gw_backend PORT NAME
 *
 *   GET /health   200 "ok" (503 until $READY_AFTER_MS have passed, if set)
 *   GET /echo...  200, body "name=NAME path=PATH host=HOST xff=... fwd=... prefix=..."
 *   GET /hello    200 "hello" (the benchmark's 5-byte response)
 *   GET /slow     200 after 200 ms (to build up concurrency)
 *   GET /big      200, 8 MiB of "0123456789abcdef" repeated (Content-Length)
 *   GET /sse      text/event-stream: three events 50 ms apart
 *   GET /ws       WebSocket echo
 *
 * It listens on 127.0.0.1, or on $HOST (the local runtime sets it).
 * Built on libh2o's evloop, like the gateway; exits on SIGTERM.
 */
#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <h2o/http1.h>
#include <h2o/websocket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;
static const char *name = "backend";
static double ready_at;
static h2o_timeout_t slow_timeout, sse_timeout;
static volatile sig_atomic_t stop;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void reply(h2o_req_t *req, int status, const char *body)
{
	req->res.status = status;
	req->res.reason = status == 200 ? "OK" : "Service Unavailable";
	size_t len = strlen(body);
	req->res.content_length = len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/plain"));
	h2o_iovec_t b = h2o_strdup(&req->pool, body, len);
	h2o_send_inline(req, b.base, b.len);
}

static const char *header(h2o_req_t *req, const char *lname, char *buf, size_t cap)
{
	ssize_t i = h2o_find_header_by_str(&req->headers, lname, strlen(lname), -1);
	if (i < 0)
		return "-";
	snprintf(buf, cap, "%.*s", (int)req->headers.entries[i].value.len, req->headers.entries[i].value.base);
	return buf;
}

/* ---------------------------------------------------------------- slow */

typedef struct slow {
	h2o_timeout_entry_t entry;
	h2o_req_t *req;
} slow;

static void on_slow_dispose(void *p)
{
	slow *s = p;
	if (h2o_timeout_is_linked(&s->entry))
		h2o_timeout_unlink(&s->entry);
}

static void on_slow(h2o_timeout_entry_t *e)
{
	slow *s = H2O_STRUCT_FROM_MEMBER(slow, entry, e);
	reply(s->req, 200, "slow");
}

/* ---------------------------------------------------------------- SSE */

typedef struct sse {
	h2o_generator_t gen;
	h2o_timeout_entry_t entry;
	h2o_req_t *req;
	int sent;
	char buf[64];
} sse;

static void sse_next(h2o_timeout_entry_t *e)
{
	sse *s = H2O_STRUCT_FROM_MEMBER(sse, entry, e);
	int n = snprintf(s->buf, sizeof s->buf, "id: %d\ndata: tick %d\n\n", s->sent, s->sent);
	s->sent++;
	h2o_iovec_t v = h2o_iovec_init(s->buf, (size_t)n);
	h2o_send(s->req, &v, 1, s->sent == 3 ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void sse_proceed(h2o_generator_t *g, h2o_req_t *req)
{
	sse *s = (sse *)g;
	if (s->sent < 3)
		h2o_timeout_link(ctx.loop, &sse_timeout, &s->entry);
}

static void sse_stop(h2o_generator_t *g, h2o_req_t *req)
{
	sse *s = (sse *)g;
	if (h2o_timeout_is_linked(&s->entry))
		h2o_timeout_unlink(&s->entry);
}

/* ---------------------------------------------------------------- WebSocket */

static void on_ws_message(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg)
{
	if (arg == NULL) {
		h2o_websocket_close(conn);
		return;
	}
	if (!wslay_is_ctrl_frame(arg->opcode)) {
		struct wslay_event_msg msg = {arg->opcode, arg->msg, arg->msg_length};
		wslay_event_queue_msg(conn->ws_ctx, &msg);
	}
}

/* ---------------------------------------------------------------- routing */

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	char path[1024];
	snprintf(path, sizeof path, "%.*s", (int)req->path_normalized.len, req->path_normalized.base);
	if (strcmp(path, "/health") == 0) {
		reply(req, now_s() >= ready_at ? 200 : 503, now_s() >= ready_at ? "ok" : "starting");
		return 0;
	}
	if (strcmp(path, "/hello") == 0) {
		reply(req, 200, "hello");
		return 0;
	}
	if (strcmp(path, "/slow") == 0) {
		slow *s = h2o_mem_alloc_shared(&req->pool, sizeof(*s), on_slow_dispose);
		memset(s, 0, sizeof(*s));
		s->req = req;
		s->entry.cb = on_slow;
		h2o_timeout_link(ctx.loop, &slow_timeout, &s->entry);
		return 0;
	}
	if (strcmp(path, "/big") == 0) {
		size_t n = 8u << 20;
		char *b = h2o_mem_alloc_pool(&req->pool, n);
		for (size_t i = 0; i < n; i++)
			b[i] = "0123456789abcdef"[i % 16];
		req->res.status = 200;
		req->res.reason = "OK";
		req->res.content_length = n;
		h2o_send_inline(req, b, n);
		return 0;
	}
	if (strcmp(path, "/sse") == 0) {
		sse *s = h2o_mem_alloc_pool(&req->pool, sizeof(*s));
		memset(s, 0, sizeof(*s));
		s->gen.proceed = sse_proceed;
		s->gen.stop = sse_stop;
		s->req = req;
		s->entry.cb = sse_next;
		req->res.status = 200;
		req->res.reason = "OK";
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/event-stream"));
		h2o_start_response(req, &s->gen);
		h2o_send(req, NULL, 0, H2O_SEND_STATE_IN_PROGRESS); /* headers now */
		return 0;
	}
	if (strcmp(path, "/ws") == 0) {
		const char *key;
		if (h2o_is_websocket_handshake(req, &key) == 0 && key != NULL) {
			h2o_upgrade_to_websocket(req, key, NULL, on_ws_message);
			return 0;
		}
		reply(req, 400, "want a websocket handshake");
		return 0;
	}
	if (strncmp(path, "/echo", 5) == 0 || strcmp(path, "/") == 0 || strlen(path) > 0) {
		char body[2048], a[256], b[256], c[256];
		char raw[1024];
		snprintf(raw, sizeof raw, "%.*s", (int)req->path.len, req->path.base);
		snprintf(body, sizeof body, "name=%s path=%s host=%.*s xff=%s fwd=%s prefix=%s method=%.*s len=%zu", name, raw,
			 (int)req->authority.len, req->authority.base, header(req, "x-forwarded-for", a, sizeof a),
			 header(req, "forwarded", b, sizeof b), header(req, "x-forwarded-prefix", c, sizeof c),
			 (int)req->method.len, req->method.base, req->entity.len);
		reply(req, 200, body);
		return 0;
	}
	return -1;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	if (err)
		return;
	h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
	if (!sock)
		return;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	h2o_http1_accept(&accept_ctx, sock, tv);
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: gw_backend PORT [NAME]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	if (argc > 2)
		name = argv[2];
	const char *delay = getenv("READY_AFTER_MS");
	ready_at = now_s() + (delay ? atof(delay) / 1000 : 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	h2o_config_init(&config);
	h2o_hostconf_t *hc = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_pathconf_t *pc = h2o_config_register_path(hc, "/", 0);
	h2o_handler_t *h = h2o_create_handler(pc, sizeof(*h));
	h->on_req = on_req;
	h2o_evloop_t *loop = h2o_evloop_create();
	h2o_context_init(&ctx, loop, &config);
	accept_ctx.ctx = &ctx;
	accept_ctx.hosts = config.hosts;
	h2o_timeout_init(loop, &slow_timeout, 200);
	h2o_timeout_init(loop, &sse_timeout, 50);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int on = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	struct sockaddr_in sin = {0};
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Run by the local runtime: its replica's own loopback address. */
	const char *host = getenv("HOST");
	if (host && inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		fprintf(stderr, "gw_backend: HOST %s is no IPv4 address\n", host);
		return 2;
	}
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, SOMAXCONN) != 0) {
		perror("gw_backend: listen");
		return 1;
	}
	h2o_socket_t *listener = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	h2o_socket_read_start(listener, on_accept);
	while (!stop)
		h2o_evloop_run(loop, 100);
	return 0;
}

