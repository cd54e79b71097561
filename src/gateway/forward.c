/*
 * The gateway's hot path to a replica: see forward.h. One exchange at a
 * time per upstream connection (HTTP/1.1 without pipelining); the answer is
 * streamed to the client as it arrives, reading from the replica only while
 * the client keeps up (h2o's generator proceed). Everything an exchange
 * owns is in its request's pool, so a client that goes away ends it.
 */
#include "gateway/forward.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* picohttpparser, as exported by libh2o 2.2 (it ships no header for it). */
struct phr_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};
struct phr_chunked_decoder {
	size_t bytes_left_in_chunk;
	char consume_trailer;
	char _hex_count;
	char _state;
};
int phr_parse_response(const char *buf, size_t len, int *minor_version, int *status, const char **msg,
		       size_t *msg_len, struct phr_header *headers, size_t *num_headers, size_t last_len);
ssize_t phr_decode_chunked(struct phr_chunked_decoder *decoder, char *buf, size_t *bufsz);

#define MAX_IDLE 64                 /* as nginx's `keepalive 64` */
#define MAX_RESPONSE_HEAD (64 << 10) /* a replica's answer head larger than this is a 502 */

typedef struct upconn upconn;
typedef struct exchange exchange;

struct idp_gw_upstream {
	h2o_loop_t *loop;
	struct sockaddr_in addr;
	h2o_iovec_t authority;
	h2o_linklist_t idle; /* upconn */
	size_t n_idle;
	h2o_linklist_t live; /* exchange: in flight */
	h2o_timeout_t idle_timeout;
	int refs;
	bool released;
};

struct upconn {
	idp_gw_upstream *up;
	h2o_socket_t *sock;
	h2o_linklist_t link; /* in up->idle while idle */
	h2o_timeout_entry_t idle_timer;
	exchange *ex; /* the exchange using it, NULL while idle */
};

typedef enum { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_UNTIL_CLOSE } body_mode;

struct exchange {
	h2o_generator_t gen;
	h2o_linklist_t link; /* in up->live */
	h2o_req_t *req;
	idp_gw_upstream *up;
	upconn *conn;
	h2o_iovec_t head;        /* the request head (pool) */
	h2o_timeout_t *io_timeout;
	h2o_timeout_entry_t timer;
	bool reused, retried, started, sending, done, client_gone, keepalive;
	bool got_bytes; /* the replica said something (then a failure is never retried) */
	body_mode mode;
	size_t left; /* BODY_LENGTH */
	struct phr_chunked_decoder chunked;
	h2o_iovec_t out; /* what h2o is sending (malloc'd) */
};

static void upstream_unref(idp_gw_upstream *u);
static void conn_close(upconn *c);
static void exchange_start(exchange *x);
static void on_response_readable(h2o_socket_t *sock, const char *err);

/* ---------------------------------------------------------------- the pool */

idp_gw_upstream *idp_gw_upstream_new(h2o_loop_t *loop, const struct sockaddr_in *addr, h2o_iovec_t authority,
				     uint64_t idle_timeout_ms)
{
	idp_gw_upstream *u = calloc(1, sizeof *u);
	if (u == NULL)
		abort();
	u->loop = loop;
	u->addr = *addr;
	u->authority = h2o_strdup(NULL, authority.base, authority.len);
	h2o_linklist_init_anchor(&u->idle);
	h2o_linklist_init_anchor(&u->live);
	h2o_timeout_init(loop, &u->idle_timeout, idle_timeout_ms ? idle_timeout_ms : 60000);
	u->refs = 1;
	return u;
}

static void close_idle(idp_gw_upstream *u)
{
	while (!h2o_linklist_is_empty(&u->idle))
		conn_close(H2O_STRUCT_FROM_MEMBER(upconn, link, u->idle.next));
}

void idp_gw_upstream_release(idp_gw_upstream *u)
{
	if (u == NULL)
		return;
	u->released = true;
	close_idle(u);
	upstream_unref(u);
}

static void upstream_unref(idp_gw_upstream *u)
{
	if (--u->refs > 0)
		return;
	close_idle(u);
	h2o_timeout_dispose(u->loop, &u->idle_timeout);
	free(u->authority.base);
	free(u);
}

static void conn_close(upconn *c)
{
	if (h2o_linklist_is_linked(&c->link)) {
		h2o_linklist_unlink(&c->link);
		c->up->n_idle--;
	}
	if (h2o_timeout_is_linked(&c->idle_timer))
		h2o_timeout_unlink(&c->idle_timer);
	if (c->sock) {
		c->sock->data = NULL;
		h2o_socket_close(c->sock);
	}
	free(c);
}

/* An idle connection that says anything (or closes) is done. */
static void on_idle_readable(h2o_socket_t *sock, const char *err)
{
	(void)err;
	upconn *c = sock->data;
	if (c)
		conn_close(c);
}

static void on_idle_timeout(h2o_timeout_entry_t *e)
{
	conn_close(H2O_STRUCT_FROM_MEMBER(upconn, idle_timer, e));
}

/* Back to the pool once an answer is complete (and nothing else arrived). */
static void conn_park(upconn *c)
{
	idp_gw_upstream *u = c->up;
	c->ex = NULL;
	/* Not while the request is still being written (a replica may answer
	 * before it has read the whole body): the next request's write would
	 * collide with it. */
	if (u->released || u->n_idle >= MAX_IDLE || c->sock->input->size != 0 || h2o_socket_is_writing(c->sock)) {
		conn_close(c);
		return;
	}
	h2o_linklist_insert(&u->idle, &c->link);
	u->n_idle++;
	c->idle_timer.cb = on_idle_timeout;
	h2o_timeout_link(u->loop, &u->idle_timeout, &c->idle_timer);
	h2o_socket_read_start(c->sock, on_idle_readable); /* (stays registered: no epoll_ctl churn) */
}

/* The most recently parked connection (its socket is the warmest). */
static upconn *conn_take(idp_gw_upstream *u)
{
	if (h2o_linklist_is_empty(&u->idle))
		return NULL;
	upconn *c = H2O_STRUCT_FROM_MEMBER(upconn, link, u->idle.prev);
	h2o_linklist_unlink(&c->link);
	u->n_idle--;
	h2o_timeout_unlink(&c->idle_timer);
	return c;
}

/* ---------------------------------------------------------------- the exchange */

static bool idempotent(h2o_req_t *req)
{
	static const char *const m[] = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"};
	for (size_t i = 0; i < sizeof m / sizeof *m; i++)
		if (h2o_memis(req->method.base, req->method.len, m[i], strlen(m[i])))
			return true;
	return false;
}

static void timer_stop(exchange *x)
{
	if (h2o_timeout_is_linked(&x->timer))
		h2o_timeout_unlink(&x->timer);
}

static void timer_restart(exchange *x)
{
	timer_stop(x);
	h2o_timeout_link(x->up->loop, x->io_timeout, &x->timer);
}

static void detach_conn(exchange *x, bool reusable)
{
	upconn *c = x->conn;
	if (c == NULL)
		return;
	x->conn = NULL;
	if (reusable && x->keepalive)
		conn_park(c);
	else
		conn_close(c);
}

static void send_error(exchange *x, int status, const char *reason, const char *body)
{
	h2o_req_t *req = x->req;
	req->res.status = status;
	req->res.reason = reason;
	req->res.content_length = strlen(body);
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/plain; charset=utf-8"));
	h2o_send_inline(req, body, strlen(body));
}

/* The replica failed the exchange: retried once on a new connection when
 * a pooled one was stale before any answer; else 502/504, or (mid-answer)
 * the client connection is closed after what was sent. */
static void fail(exchange *x, bool timed_out)
{
	timer_stop(x);
	bool stale = x->reused && !x->got_bytes && !x->started && !timed_out;
	detach_conn(x, false);
	if (x->client_gone || x->done)
		return;
	if (stale && !x->retried && idempotent(x->req)) {
		x->retried = true;
		exchange_start(x); /* (a new connection: retried exchanges take none from the pool) */
		return;
	}
	x->done = true;
	if (!x->started) {
		if (timed_out)
			send_error(x, 504, "Gateway Timeout", "idp gateway: the replica did not answer in time\n");
		else
			send_error(x, 502, "Bad Gateway", "idp gateway: the replica closed the connection or sent a bad answer\n");
		return;
	}
	/* An error, not an end: HTTP/1 gets a broken chunked stream or a short
	 * body and a closed connection, never a complete-looking answer. */
	x->req->http1_is_persistent = 0;
	if (!x->sending)
		h2o_send(x->req, NULL, 0, H2O_SEND_STATE_ERROR);
}

static void on_timeout(h2o_timeout_entry_t *e)
{
	fail(H2O_STRUCT_FROM_MEMBER(exchange, timer, e), true);
}

static bool is_hop_by_hop(const char *n, size_t l)
{
	static const char *const hop[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
					  "te",		"trailer",    "upgrade",	  "content-length"};
	for (size_t i = 0; i < sizeof hop / sizeof *hop; i++)
		if (l == strlen(hop[i]) && strncasecmp(n, hop[i], l) == 0)
			return true;
	return false;
}

static bool header_has_token(const struct phr_header *h, const char *token)
{
	return h2o_contains_token(h->value, h->value_len, token, strlen(token), ',') != 0;
}

/* Parses the answer's head out of the socket's input: 1 done, 0 more
 * needed, -1 bad (502). */
static int take_head(exchange *x, h2o_socket_t *sock)
{
	h2o_req_t *req = x->req;
	for (;;) {
		struct phr_header hs[100];
		size_t nh = 100, msg_len;
		int minor, status;
		const char *msg;
		int rc = phr_parse_response(sock->input->bytes, sock->input->size, &minor, &status, &msg, &msg_len, hs, &nh, 0);
		if (rc == -2)
			return sock->input->size > MAX_RESPONSE_HEAD ? -1 : 0;
		if (rc < 0 || status < 100 || status > 999)
			return -1;
		if (status >= 100 && status < 200) { /* 100 Continue and friends: not for the client */
			if (status == 101)
				return -1; /* (upgrades go through h2o's proxy) */
			h2o_buffer_consume(&sock->input, (size_t)rc);
			continue;
		}
		req->res.status = status;
		req->res.reason = h2o_strdup(&req->pool, msg, msg_len).base;
		x->keepalive = minor >= 1;
		x->mode = BODY_UNTIL_CLOSE;
		req->res.content_length = SIZE_MAX;
		for (size_t i = 0; i < nh; i++) {
			const struct phr_header *h = &hs[i];
			if (h->name_len == 10 && strncasecmp(h->name, "connection", 10) == 0) {
				if (header_has_token(h, "close"))
					x->keepalive = false;
				else if (minor == 0 && header_has_token(h, "keep-alive"))
					x->keepalive = true;
			} else if (h->name_len == 17 && strncasecmp(h->name, "transfer-encoding", 17) == 0) {
				if (header_has_token(h, "chunked")) {
					x->mode = BODY_CHUNKED;
					memset(&x->chunked, 0, sizeof x->chunked);
					x->chunked.consume_trailer = 1; /* (to the last CRLF: the connection is then clean) */
				}
			} else if (h->name_len == 14 && strncasecmp(h->name, "content-length", 14) == 0 && x->mode != BODY_CHUNKED) {
				size_t v = 0;
				bool ok = h->value_len > 0 && h->value_len < 19;
				for (size_t k = 0; ok && k < h->value_len; k++)
					ok = h->value[k] >= '0' && h->value[k] <= '9', v = v * 10 + (size_t)(h->value[k] - '0');
				if (!ok)
					goto bad;
				x->mode = BODY_LENGTH;
				x->left = v;
				req->res.content_length = v;
			}
			/* h2o writes its own Date and Server (as its proxy does) */
			if (is_hop_by_hop(h->name, h->name_len) || (h->name_len == 4 && strncasecmp(h->name, "date", 4) == 0) ||
			    (h->name_len == 6 && strncasecmp(h->name, "server", 6) == 0))
				continue;
			/* names lowered (h2o's tokens are) and copied: the input buffer moves on */
			char *name = h2o_mem_alloc_pool(&req->pool, h->name_len + 1);
			for (size_t k = 0; k < h->name_len; k++)
				name[k] = h->name[k] >= 'A' && h->name[k] <= 'Z' ? (char)(h->name[k] + 32) : h->name[k];
			name[h->name_len] = '\0';
			h2o_add_header_by_str(&req->pool, &req->res.headers, name, h->name_len, 1, NULL,
					      h2o_strdup(&req->pool, h->value, h->value_len).base, h->value_len);
		}
		bool head_req = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
		if (head_req || status == 204 || status == 304) {
			x->mode = BODY_NONE;
			if (status == 204 || status == 304)
				req->res.content_length = SIZE_MAX;
		} else if (x->mode == BODY_LENGTH && x->left == 0) {
			x->mode = BODY_NONE;
		}
		if (x->mode == BODY_CHUNKED && req->res.content_length != SIZE_MAX) {
			/* both framings (RFC 9112 §6.3: chunked wins, and the connection is not to be trusted) */
			req->res.content_length = SIZE_MAX;
			x->keepalive = false;
		}
		if (x->mode == BODY_UNTIL_CLOSE)
			x->keepalive = false;
		h2o_buffer_consume(&sock->input, (size_t)rc);
		return 1;
	bad:
		/* nothing of the replica's head reaches the client with the 502 */
		req->res.headers = (h2o_headers_t){NULL, 0, 0};
		req->res.content_length = SIZE_MAX;
		return -1;
	}
}

/* Moves what the socket holds of the body to x->out; true when the body is
 * complete. Returns -1 on a malformed chunked body. */
static int take_body(exchange *x, h2o_socket_t *sock)
{
	h2o_buffer_t *in = sock->input;
	size_t n = 0;
	bool complete = false;
	switch (x->mode) {
	case BODY_NONE:
		complete = true;
		break;
	case BODY_LENGTH:
		n = in->size < x->left ? in->size : x->left;
		x->left -= n;
		complete = x->left == 0;
		break;
	case BODY_UNTIL_CLOSE:
		n = in->size;
		break;
	case BODY_CHUNKED: {
		size_t sz = in->size;
		ssize_t rc = phr_decode_chunked(&x->chunked, in->bytes, &sz); /* (decodes in place) */
		if (rc == -1)
			return -1;
		n = sz;
		if (rc >= 0) { /* the end (trailers consumed): rc bytes after it belong to nobody */
			complete = true;
			if (rc > 0)
				x->keepalive = false;
			x->out = h2o_iovec_init(n ? h2o_mem_alloc(n) : NULL, n);
			if (n)
				memcpy(x->out.base, in->bytes, n);
			h2o_buffer_consume(&sock->input, in->size);
			return 1;
		}
		/* decoded bytes are at the start, the rest of the buffer is consumed */
		x->out = h2o_iovec_init(n ? h2o_mem_alloc(n) : NULL, n);
		if (n)
			memcpy(x->out.base, in->bytes, n);
		h2o_buffer_consume(&sock->input, in->size);
		return 0;
	}
	}
	x->out = h2o_iovec_init(n ? h2o_mem_alloc(n) : NULL, n);
	if (n) {
		memcpy(x->out.base, in->bytes, n);
		h2o_buffer_consume(&sock->input, n);
	}
	return complete ? 1 : 0;
}

/* Sends what the socket holds to the client; reads on when the client has
 * taken it (proceed). */
static void pump(exchange *x)
{
	upconn *c = x->conn;
	if (x->sending || x->done || c == NULL)
		return;
	int rc = take_body(x, c->sock);
	if (rc < 0) {
		free(x->out.base);
		x->out = h2o_iovec_init(NULL, 0);
		fail(x, false);
		return;
	}
	if (rc == 1) {
		x->done = true;
		timer_stop(x);
		detach_conn(x, true);
		x->sending = true;
		h2o_send(x->req, &x->out, x->out.len ? 1 : 0, H2O_SEND_STATE_FINAL);
		return;
	}
	if (x->out.len == 0) { /* nothing yet: wait for the replica */
		free(x->out.base);
		x->out = h2o_iovec_init(NULL, 0);
		h2o_socket_read_start(c->sock, on_response_readable);
		timer_restart(x);
		return;
	}
	x->sending = true;
	h2o_socket_read_stop(c->sock); /* (until the client has taken this) */
	timer_stop(x);
	h2o_send(x->req, &x->out, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
	(void)req;
	exchange *x = H2O_STRUCT_FROM_MEMBER(exchange, gen, gen);
	free(x->out.base);
	x->out = h2o_iovec_init(NULL, 0);
	x->sending = false;
	if (x->done) {
		if (x->conn == NULL) /* (a failure mid-answer) */
			h2o_send(x->req, NULL, 0, H2O_SEND_STATE_ERROR);
		return;
	}
	pump(x);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
	(void)req;
	exchange *x = H2O_STRUCT_FROM_MEMBER(exchange, gen, gen);
	x->client_gone = true;
	timer_stop(x);
	detach_conn(x, false);
}

static void on_response_readable(h2o_socket_t *sock, const char *err)
{
	upconn *c = sock->data;
	exchange *x = c ? c->ex : NULL;
	if (x == NULL)
		return;
	if (sock->input->size)
		x->got_bytes = true;
	if (!x->started) {
		int rc = sock->input->size ? take_head(x, sock) : 0;
		if (rc < 0 || (rc == 0 && err != NULL)) {
			x->reused = x->reused && sock->input->size == 0; /* (a stale pooled connection says nothing) */
			fail(x, false);
			return;
		}
		if (rc == 0) {
			timer_restart(x);
			return;
		}
		x->started = true;
		x->gen.proceed = on_proceed;
		x->gen.stop = on_stop;
		h2o_start_response(x->req, &x->gen);
		if (x->mode == BODY_NONE || (x->mode == BODY_LENGTH && sock->input->size >= x->left)) {
			pump(x); /* complete already, whatever the socket says next */
			return;
		}
	}
	if (err != NULL && x->mode == BODY_UNTIL_CLOSE) {
		/* the end of the body is the end of the connection */
		x->keepalive = false;
		if (!x->sending) {
			int rc = take_body(x, sock);
			(void)rc;
			x->done = true;
			timer_stop(x);
			detach_conn(x, false);
			x->sending = true;
			h2o_send(x->req, &x->out, x->out.len ? 1 : 0, H2O_SEND_STATE_FINAL);
		}
		return;
	}
	if (err != NULL && !x->sending && sock->input->size == 0) {
		fail(x, false);
		return;
	}
	pump(x);
}

static void on_request_written(h2o_socket_t *sock, const char *err)
{
	upconn *c = sock->data;
	exchange *x = c ? c->ex : NULL;
	if (x == NULL)
		return;
	if (err != NULL)
		fail(x, false);
	else if (!x->started)
		timer_restart(x); /* (a slow but steady upload is no timeout) */
}

static void send_request(exchange *x)
{
	upconn *c = x->conn;
	c->ex = x;
	c->sock->data = c;
	h2o_iovec_t bufs[2] = {x->head, x->req->entity};
	h2o_socket_write(c->sock, bufs, x->req->entity.len ? 2 : 1, on_request_written);
	h2o_socket_read_start(c->sock, on_response_readable);
	timer_restart(x);
}

static void on_connect(h2o_socket_t *sock, const char *err)
{
	upconn *c = sock->data;
	exchange *x = c ? c->ex : NULL;
	if (x == NULL)
		return;
	if (err != NULL) {
		fail(x, false);
		return;
	}
	send_request(x);
}

static void exchange_start(exchange *x)
{
	upconn *c = x->retried ? NULL : conn_take(x->up);
	x->reused = c != NULL;
	x->keepalive = true;
	if (c) {
		x->conn = c;
		send_request(x);
		return;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL)
		abort();
	c->up = x->up;
	c->ex = x;
	x->conn = c;
	c->sock = h2o_socket_connect(x->up->loop, (struct sockaddr *)&x->up->addr, sizeof x->up->addr, on_connect);
	if (c->sock == NULL) {
		fail(x, false);
		return;
	}
	c->sock->data = c;
	timer_restart(x);
}

static void on_exchange_dispose(void *p)
{
	exchange *x = p;
	h2o_linklist_unlink(&x->link);
	timer_stop(x);
	detach_conn(x, false);
	free(x->out.base);
	upstream_unref(x->up);
}

/* A header the client's Connection header names is hop-by-hop too (RFC 9110 §7.6.1). */
static bool named_by_connection(const h2o_iovec_t *connection, const h2o_iovec_t *name)
{
	return connection && h2o_contains_token(connection->base, connection->len, name->base, name->len, ',');
}

/* The request head for the replica: the client's headers less the
 * hop-by-hop ones, Host, X-Forwarded-For/-Proto, Content-Length. */
static h2o_iovec_t build_head(h2o_req_t *req, idp_gw_upstream *u, h2o_iovec_t path, const char *xff)
{
	size_t cap = req->method.len + path.len + u->authority.len + 128 + strlen(xff);
	const h2o_iovec_t *connection = NULL;
	for (size_t i = 0; i < req->headers.size; i++) {
		const h2o_header_t *h = &req->headers.entries[i];
		cap += h->name->len + h->value.len + 6;
		if (h->name == &H2O_TOKEN_CONNECTION->buf)
			connection = &h->value;
	}
	char *b = h2o_mem_alloc_pool(&req->pool, cap), *o = b;
#define PUT(p, n) (memcpy(o, (p), (n)), o += (n))
#define PUTS(s) PUT(s, sizeof(s) - 1)
	PUT(req->method.base, req->method.len);
	PUTS(" ");
	PUT(path.base, path.len);
	PUTS(" HTTP/1.1\r\nhost: ");
	PUT(u->authority.base, u->authority.len);
	PUTS("\r\n");
	for (size_t i = 0; i < req->headers.size; i++) {
		const h2o_header_t *h = &req->headers.entries[i];
		if (is_hop_by_hop(h->name->base, h->name->len) || named_by_connection(connection, h->name) || h->name == &H2O_TOKEN_HOST->buf ||
		    h->name == &H2O_TOKEN_X_FORWARDED_FOR->buf || h2o_memis(h->name->base, h->name->len, H2O_STRLIT("x-forwarded-proto")) ||
		    h2o_memis(h->name->base, h->name->len, H2O_STRLIT("expect")))
			continue;
		PUT(h->name->base, h->name->len);
		PUTS(": ");
		PUT(h->value.base, h->value.len);
		PUTS("\r\n");
	}
	PUTS("x-forwarded-for: ");
	for (size_t i = 0; i < req->headers.size; i++) { /* what the client sent, every line of it, first */
		const h2o_header_t *h = &req->headers.entries[i];
		if (h->name == &H2O_TOKEN_X_FORWARDED_FOR->buf) {
			PUT(h->value.base, h->value.len);
			PUTS(", ");
		}
	}
	PUT(xff, strlen(xff));
	PUTS("\r\nx-forwarded-proto: http\r\n");
	if (req->entity.base != NULL) {
		char cl[48];
		int n = snprintf(cl, sizeof cl, "content-length: %zu\r\n", req->entity.len);
		PUT(cl, (size_t)n);
	}
	PUTS("\r\n");
#undef PUT
#undef PUTS
	return h2o_iovec_init(b, (size_t)(o - b));
}

void idp_gw_forward(idp_gw_upstream *u, h2o_req_t *req, h2o_iovec_t path, h2o_timeout_t *io_timeout, const char *xff)
{
	exchange *x = h2o_mem_alloc_shared(&req->pool, sizeof *x, on_exchange_dispose);
	memset(x, 0, sizeof *x);
	x->req = req;
	x->up = u;
	u->refs++;
	h2o_linklist_insert(&u->live, &x->link);
	x->io_timeout = io_timeout;
	x->timer.cb = on_timeout;
	x->head = build_head(req, u, path, xff);
	exchange_start(x);
}

void idp_gw_upstream_abort(idp_gw_upstream *u)
{
	if (u == NULL)
		return;
	for (h2o_linklist_t *l = u->live.next; l != &u->live;) {
		exchange *x = H2O_STRUCT_FROM_MEMBER(exchange, link, l);
		l = l->next; /* (an answer may end x) */
		timer_stop(x);
		detach_conn(x, false);
		if (x->done || x->client_gone)
			continue;
		x->done = true;
		if (!x->started)
			send_error(x, 503, "Service Unavailable", "idp gateway: shutting down\n");
		else if (!x->sending)
			h2o_send(x->req, NULL, 0, H2O_SEND_STATE_ERROR);
	}
}
