/* The real-time side of a service: WebSocket clients and their topics,
 * Server-Sent-Event streams, the event envelope, fan-out, and the routes
 * /ws, /ws/events, /stream/events and /realtime/... */
#include "service_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A client that does not answer a close frame is cut after this long. */
#define WS_CLOSE_GRACE_S 5.0

typedef struct svc_client {
	h2o_linklist_t link;
	idp_service *svc;
	h2o_websocket_conn_t *conn;
	char id[37];
	char **topics;
	size_t n_topics;
	double last_active;
	double close_sent_at; /* 0: none sent yet */
	bool in_callback;     /* wslay is reading this client's message */
	bool batching;        /* client_flush is serializing: it writes at the end */
	unsigned long long dropped;
	/* wslay's output (each frame's header and payload are separate chunks)
	 * is gathered here and written in one go: h2o's own send callback
	 * makes one write per chunk. */
	h2o_buffer_t *out;    /* serialized, not written yet */
	h2o_buffer_t *inflight; /* being written (h2o keeps pointers into it) */
	bool writing;
} svc_client;

typedef struct svc_stream {
	h2o_linklist_t link;
	idp_service *svc;
	h2o_req_t *req;
	h2o_generator_t gen;
	h2o_buffer_t *pending; /* what waits for the previous send */
	h2o_iovec_t inflight;  /* what h2o is sending (malloc'd) */
	bool sending, closed;
	double last_status;
	unsigned long long next_id;
} svc_stream;

/* ---------------------------------------------------------------- envelope */

json_t *svc_envelope(idp_service *svc, const char *event_type, json_t *data, const char *correlation_id,
		     const char *stream_id, char event_id[37])
{
	char id[37], ts[40];
	idp_ws_uuid(id);
	idp_ws_timestamp(ts);
	if (event_id)
		memcpy(event_id, id, 37);
	json_t *e = json_object();
	json_object_set_new(e, "event_id", json_string(id));
	json_object_set_new(e, "event_type", json_string(event_type));
	json_object_set_new(e, "source_service", json_string(svc->name));
	json_object_set_new(e, "source_agent", json_string(svc->cfg.agent_type ? svc->cfg.agent_type : svc->name));
	json_object_set_new(e, "data", data ? data : json_null());
	json_object_set_new(e, "timestamp", json_string(ts));
	json_object_set_new(e, "correlation_id", correlation_id ? json_string(correlation_id) : json_null());
	json_object_set_new(e, "stream_id", stream_id ? json_string(stream_id) : json_null());
	json_object_set_new(e, "priority", json_integer(1));
	return e;
}

/* ---------------------------------------------------------------- WebSocket */

/* Queues a text frame; false (and counted) when the client is too far
 * behind. */
static bool client_send(svc_client *c, const char *text, size_t len)
{
	/* wslay keeps about 64 bytes besides each message */
	size_t waiting = wslay_event_get_queued_msg_length(c->conn->ws_ctx) + 64 * wslay_event_get_queued_msg_count(c->conn->ws_ctx) +
			 c->out->size + c->inflight->size;
	if (waiting + len > c->svc->cfg.ws_max_queued) {
		c->dropped++;
		return false;
	}
	struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len}; /* (wslay copies it) */
	return wslay_event_queue_msg(c->conn->ws_ctx, &m) == 0;
}

static void client_send_frame(svc_client *c, const char *type, json_t *payload, const char *response_to,
			      const char *correlation_id)
{
	char *f = idp_ws_frame(type, payload, response_to, correlation_id);
	if (f)
		client_send(c, f, strlen(f));
	free(f);
}

static void on_ws_message(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg);

static void start_write(svc_client *c);

/* h2o's proceed, after its write completes or input arrives, may close the
 * connection when wslay has nothing left to send: so what is gathered is
 * written out first, and proceed runs only once nothing waits. */
static void on_written(h2o_socket_t *sock, const char *err)
{
	h2o_websocket_conn_t *conn = sock->data;
	svc_client *c = conn->data;
	if (c == NULL)
		return;
	c->writing = false;
	h2o_buffer_consume(&c->inflight, c->inflight->size);
	if (err != NULL) {
		on_ws_message(conn, NULL); /* (frees c, closes conn) */
		return;
	}
	if (c->out->size == 0 && wslay_event_want_write(conn->ws_ctx)) {
		/* what was queued meanwhile, all of it in this write */
		c->batching = true;
		int rc = wslay_event_send(conn->ws_ctx);
		c->batching = false;
		if (rc != 0) { /* (a full buffer is not an error: gather says WOULDBLOCK, wslay returns 0) */
			on_ws_message(conn, NULL);
			return;
		}
	}
	if (c->out->size > 0)
		start_write(c);
	else
		h2o_websocket_proceed(conn); /* (reads, or closes and frees c when all is said) */
}

static void start_write(svc_client *c)
{
	h2o_buffer_t *t = c->inflight;
	c->inflight = c->out;
	c->out = t;
	c->writing = true;
	h2o_iovec_t buf = h2o_iovec_init(c->inflight->bytes, c->inflight->size);
	h2o_socket_write(c->conn->sock, &buf, 1, on_written);
}

/* wslay's send callback: gathers. A frame wslay sends on h2o's initiative
 * (a pong, a close, the first frames after the upgrade) starts the write
 * at its end; client_flush writes its whole batch at once. */
static ssize_t gather(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
	h2o_websocket_conn_t *conn = user;
	svc_client *c = conn->data;
	if (c == NULL || c->out->size + len > 2 * c->svc->cfg.ws_max_queued) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	h2o_iovec_t b = h2o_buffer_reserve(&c->out, len);
	if (b.base == NULL) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	memcpy(b.base, data, len);
	c->out->size += len;
	if (!(flags & WSLAY_MSG_MORE) && !c->batching && !c->writing && conn->sock)
		start_write(c);
	return (ssize_t)len;
}

/* Serializes what wslay has queued and writes it in one go. Never inside
 * wslay's read of this client (a nested send would corrupt its state); the
 * socket exists once h2o has written the 101. */
static void client_flush(svc_client *c)
{
	if (c->conn->sock == NULL || c->in_callback || c->writing)
		return;
	c->batching = true;
	int rc = wslay_event_want_write(c->conn->ws_ctx) ? wslay_event_send(c->conn->ws_ctx) : 0;
	c->batching = false;
	if (rc != 0) {
		on_ws_message(c->conn, NULL);
		return;
	}
	if (c->out->size > 0)
		start_write(c);
}

static void client_free(svc_client *c)
{
	h2o_linklist_unlink(&c->link);
	c->svc->n_clients--;
	for (size_t i = 0; i < c->n_topics; i++)
		free(c->topics[i]);
	free(c->topics);
	/* (the socket is closed right after: a write in flight is abandoned) */
	h2o_buffer_dispose(&c->out);
	h2o_buffer_dispose(&c->inflight);
	free(c);
}

static bool client_subscribed(svc_client *c, const char *topic)
{
	for (size_t i = 0; i < c->n_topics; i++)
		if (idp_ws_topic_matches(c->topics[i], topic))
			return true;
	return false;
}

static void client_subscribe(svc_client *c, const char *topic)
{
	for (size_t i = 0; i < c->n_topics; i++)
		if (strcmp(c->topics[i], topic) == 0)
			return;
	if (c->n_topics >= 256)
		return;
	char **grown = realloc(c->topics, (c->n_topics + 1) * sizeof *grown);
	if (grown == NULL)
		return;
	c->topics = grown;
	c->topics[c->n_topics++] = svc_strdup(topic);
}

static void client_unsubscribe(svc_client *c, const char *topic)
{
	for (size_t i = 0; i < c->n_topics; i++)
		if (strcmp(c->topics[i], topic) == 0) {
			free(c->topics[i]);
			c->topics[i] = c->topics[--c->n_topics];
			return;
		}
}

static json_t *topics_json(svc_client *c)
{
	json_t *a = json_array();
	for (size_t i = 0; i < c->n_topics; i++)
		json_array_append_new(a, json_string(c->topics[i]));
	return a;
}

static void answer_agent_request(svc_client *c, const idp_ws_request *r)
{
	json_t *request = json_pack("{s:s, s:O?}", "query", r->query, "parameters", r->parameters);
	json_t *response;
	int status;
	int rc = svc_run_task(c->svc, r->task_type, request, &response, &status);
	json_decref(request);
	json_t *payload = rc == 0 ? json_pack("{s:b, s:O, s:n, s:O}", "success", 1, "result", json_object_get(response, "result"),
					      "error", "task_id", json_object_get(json_object_get(response, "metadata"), "task_id"))
				  : json_pack("{s:b, s:n, s:O, s:n}", "success", 0, "result", "error",
					      json_object_get(response, "detail"), "task_id");
	json_decref(response);
	client_send_frame(c, "agent_response", payload, r->message_id, r->correlation_id);
}

/* One text message from a client: the protocol's answer goes back. */
static void client_handle(svc_client *c, const char *text, size_t len)
{
	idp_service *svc = c->svc;
	idp_ws_request r;
	idp_ws_request_read(text, len, svc->cfg.ws_max_message, &r);
	svc->messages_in++;
	switch (r.kind) {
	case IDP_WS_SUBSCRIBE:
		client_subscribe(c, r.topic);
		client_send_frame(c, "subscription_confirmed", json_pack("{s:s, s:o}", "topic", r.topic, "topics", topics_json(c)),
				  r.message_id, r.correlation_id);
		break;
	case IDP_WS_UNSUBSCRIBE:
		client_unsubscribe(c, r.topic);
		client_send_frame(c, "unsubscription_confirmed", json_pack("{s:s, s:o}", "topic", r.topic, "topics", topics_json(c)),
				  r.message_id, r.correlation_id);
		break;
	case IDP_WS_PING: {
		char ts[40];
		idp_ws_timestamp(ts);
		client_send_frame(c, "pong", json_pack("{s:s}", "server_time", ts), r.message_id, r.correlation_id);
		break;
	}
	case IDP_WS_AGENT_REQUEST:
		answer_agent_request(c, &r);
		break;
	case IDP_WS_ERROR:
		svc->errors++;
		client_send_frame(c, "error", json_pack("{s:s}", "error", r.error), r.message_id, r.correlation_id);
		break;
	}
	idp_ws_request_clear(&r);
}

static void on_ws_message(h2o_websocket_conn_t *conn, const struct wslay_event_on_msg_recv_arg *arg)
{
	svc_client *c = conn->data;
	if (arg == NULL) { /* gone (closed, an I/O error, or a protocol error wslay answered) */
		if (c)
			client_free(c);
		h2o_websocket_close(conn);
		return;
	}
	if (c == NULL)
		return;
	c->last_active = svc_now();
	size_t waiting = wslay_event_get_queued_msg_length(conn->ws_ctx) + c->out->size + c->inflight->size;
	if (waiting > c->svc->cfg.ws_max_queued && c->close_sent_at == 0) {
		/* It sends (pings, requests) and does not read the answers: no
		 * more reading, a close (1008), then the connection ends. */
		wslay_event_queue_close(conn->ws_ctx, 1008, (const uint8_t *)"not reading", 11);
		wslay_event_shutdown_read(conn->ws_ctx);
		c->close_sent_at = svc_now();
		return;
	}
	c->in_callback = true;
	if (arg->opcode == WSLAY_TEXT_FRAME)
		client_handle(c, (const char *)arg->msg, arg->msg_length);
	else if (arg->opcode == WSLAY_BINARY_FRAME)
		client_send_frame(c, "error", json_pack("{s:s}", "error", "binary frames are not supported: send JSON text"),
				  NULL, NULL);
	c->in_callback = false;
	/* (wslay answers pings and closes itself) */
}

static bool open_websocket(idp_service *svc, h2o_req_t *req, const char *auto_topic)
{
	const char *key;
	if (h2o_is_websocket_handshake(req, &key) != 0 || key == NULL)
		return false;
	svc_client *c = calloc(1, sizeof *c);
	if (c == NULL)
		return false;
	c->svc = svc;
	idp_ws_uuid(c->id);
	c->last_active = svc_now();
	h2o_linklist_insert(&svc->clients, &c->link);
	svc->n_clients++;
	svc->ws_total++;
	c->conn = h2o_upgrade_to_websocket(req, key, c, on_ws_message);
	/* Up to 16 times the message limit (at least 1 MiB), a message gets an
	 * `error` reply; beyond it wslay closes with 1009 without buffering it. */
	size_t hard = svc->cfg.ws_max_message * 16;
	wslay_event_config_set_max_recv_msg_length(c->conn->ws_ctx, hard < (1u << 20) ? 1u << 20 : hard > (16u << 20) ? 16u << 20 : hard);
	h2o_buffer_init(&c->out, &h2o_socket_buffer_prototype);
	h2o_buffer_init(&c->inflight, &h2o_socket_buffer_prototype);
	struct wslay_event_callbacks cbs = c->conn->ws_callbacks;
	cbs.send_callback = gather;
	wslay_event_config_set_callbacks(c->conn->ws_ctx, &cbs);
	if (auto_topic)
		client_subscribe(c, auto_topic);
	char ts[40];
	idp_ws_timestamp(ts);
	client_send_frame(c, "connection_established",
			  json_pack("{s:s, s:s, s:s, s:o}", "client_id", c->id, "connection_id", c->id, "server_time", ts,
				    "topics", topics_json(c)),
			  NULL, NULL);
	return true;
}

/* ---------------------------------------------------------------- SSE */

static void stream_pump(svc_stream *s);

static void on_stream_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
	(void)req;
	svc_stream *s = H2O_STRUCT_FROM_MEMBER(svc_stream, gen, gen);
	free(s->inflight.base);
	s->inflight = h2o_iovec_init(NULL, 0);
	s->sending = false;
	stream_pump(s);
}

static void on_stream_stop(h2o_generator_t *gen, h2o_req_t *req)
{
	(void)req;
	H2O_STRUCT_FROM_MEMBER(svc_stream, gen, gen)->closed = true;
}

static void on_stream_dispose(void *p)
{
	svc_stream *s = p;
	if (h2o_linklist_is_linked(&s->link)) {
		h2o_linklist_unlink(&s->link);
		s->svc->n_streams--;
	}
	free(s->inflight.base);
	h2o_buffer_dispose(&s->pending);
}

static void stream_pump(svc_stream *s)
{
	if (s->sending || s->closed)
		return;
	if (s->svc->stopping) {
		s->closed = true;
		h2o_send(s->req, NULL, 0, H2O_SEND_STATE_FINAL);
		return;
	}
	if (s->pending->size == 0)
		return;
	char *mem = malloc(s->pending->size);
	if (mem == NULL)
		return;
	s->inflight.base = mem;
	s->inflight.len = s->pending->size;
	memcpy(s->inflight.base, s->pending->bytes, s->pending->size);
	h2o_buffer_consume(&s->pending, s->pending->size);
	s->sending = true;
	h2o_send(s->req, &s->inflight, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void stream_append(svc_stream *s, const char *event, const char *json, size_t len)
{
	/* A client that reads nothing gets nothing more past 4 MiB. */
	if (s->closed || s->pending->size > (4u << 20))
		return;
	char head[128];
	int hl = snprintf(head, sizeof head, "id: %llu\nevent: %s\ndata: ", ++s->next_id, event);
	if (hl < 0 || (size_t)hl >= sizeof head) /* (event types are checked: at most 64 bytes) */
		return;
	h2o_iovec_t buf = h2o_buffer_reserve(&s->pending, (size_t)hl + len + 2);
	if (buf.base == NULL)
		return;
	memcpy(buf.base, head, (size_t)hl);
	memcpy(buf.base + hl, json, len);
	memcpy(buf.base + hl + len, "\n\n", 2);
	s->pending->size += (size_t)hl + len + 2;
}

static void open_stream(idp_service *svc, h2o_req_t *req)
{
	svc_stream *s = h2o_mem_alloc_shared(&req->pool, sizeof *s, on_stream_dispose);
	memset(s, 0, sizeof *s);
	s->svc = svc;
	s->req = req;
	s->gen.proceed = on_stream_proceed;
	s->gen.stop = on_stream_stop;
	h2o_buffer_init(&s->pending, &h2o_socket_buffer_prototype);
	h2o_linklist_insert(&svc->streams, &s->link);
	svc->n_streams++;
	req->res.status = 200;
	req->res.reason = "OK";
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/event-stream"));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL, H2O_STRLIT("*"));
	/* nginx and other proxies pass it on unbuffered */
	h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-accel-buffering"), 0, NULL, H2O_STRLIT("no"));
	h2o_start_response(req, &s->gen);
	s->last_status = svc_now();
	/* The first bytes say the stream is open (EventSource fires onopen). */
	const char hello[] = ": connected\n\n";
	h2o_iovec_t buf = h2o_buffer_reserve(&s->pending, sizeof hello - 1);
	memcpy(buf.base, hello, sizeof hello - 1);
	s->pending->size += sizeof hello - 1;
	stream_pump(s);
}

/* ---------------------------------------------------------------- fan-out */

size_t svc_fanout(idp_service *svc, const char *topic, const char *event_type, json_t *envelope)
{
	size_t n = 0;
	char *sse = NULL, *frame = NULL;
	for (h2o_linklist_t *l = svc->clients.next; l != &svc->clients; l = l->next) {
		svc_client *c = H2O_STRUCT_FROM_MEMBER(svc_client, link, l);
		if (!client_subscribed(c, topic))
			continue;
		if (frame == NULL) {
			json_t *payload = json_pack("{s:s, s:O}", "topic", topic, "event", envelope);
			frame = idp_ws_frame("event", payload, NULL, json_string_value(json_object_get(envelope, "correlation_id")));
			if (frame == NULL)
				break;
		}
		n += client_send(c, frame, strlen(frame));
	}
	for (h2o_linklist_t *l = svc->streams.next; l != &svc->streams; l = l->next) {
		svc_stream *s = H2O_STRUCT_FROM_MEMBER(svc_stream, link, l);
		if (sse == NULL) {
			json_t *copy = json_copy(envelope);
			json_object_set_new(copy, "topic", json_string(topic));
			sse = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
			json_decref(copy);
			if (sse == NULL)
				break;
		}
		stream_append(s, event_type, sse, strlen(sse));
		n++;
	}
	free(frame);
	free(sse);
	svc->messages_out += n;
	if (n)
		svc_schedule_flush(svc);
	return n;
}

/* Writes what waits for every client. Only ever called from its own
 * zero-delay timer (svc_schedule_flush), never from inside a client's
 * callback: a proceed there could free another client under a caller's
 * feet or re-enter wslay. */
static void flush_all(idp_service *svc)
{
	for (h2o_linklist_t *l = svc->clients.next; l != &svc->clients;) {
		svc_client *c = H2O_STRUCT_FROM_MEMBER(svc_client, link, l);
		l = l->next; /* (a flush may free c) */
		if (wslay_event_want_write(c->conn->ws_ctx) || c->out->size > 0)
			client_flush(c);
	}
	for (h2o_linklist_t *l = svc->streams.next; l != &svc->streams; l = l->next)
		stream_pump(H2O_STRUCT_FROM_MEMBER(svc_stream, link, l));
}

static void on_flush(h2o_timeout_entry_t *entry)
{
	flush_all(H2O_STRUCT_FROM_MEMBER(idp_service, flush, entry));
}

void svc_schedule_flush(idp_service *svc)
{
	if (svc->queue != NULL && !h2o_timeout_is_linked(&svc->flush))
		h2o_timeout_link(svc->loop, &svc->flush_timeout, &svc->flush);
}

/* Whether event_id is one this service published (its own event coming
 * back from Kafka or MQTT). */
static bool recently_published(idp_service *svc, const char *event_id)
{
	for (size_t i = 0; i < sizeof svc->recent / sizeof svc->recent[0]; i++)
		if (strcmp(svc->recent[i], event_id) == 0)
			return true;
	return false;
}

static void remember(idp_service *svc, const char *event_id)
{
	memcpy(svc->recent[svc->recent_next++ % (sizeof svc->recent / sizeof svc->recent[0])], event_id, 37);
}

bool svc_event_type_valid(const char *t)
{
	size_t n = t ? strlen(t) : 0;
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(t[i] == '_' || t[i] == '-' || t[i] == '.' || (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9')))
			return false;
	return true;
}

int idp_service_publish(idp_service *svc, int to, const char *topic, const char *event_type, json_t *data,
			const char *correlation_id, char event_id[37], char **errmsg)
{
	if (topic == NULL || !idp_ws_topic_valid(topic, false) || !svc_event_type_valid(event_type)) {
		json_decref(data);
		svc_seterr(errmsg, "publish: a topic (1-256 bytes of UTF-8, no + or #) and an event type (1-64 letters, digits, '_', '-', '.') are needed");
		return -1;
	}
	char id[37];
	json_t *env = svc_envelope(svc, event_type, data, correlation_id, NULL, id);
	if (event_id)
		memcpy(event_id, id, 37);
	svc->events_published++;
	int rc = 0;
	if (to & (IDP_SERVICE_KAFKA | IDP_SERVICE_MQTT)) {
		remember(svc, id);
		char *text = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text == NULL) {
			json_decref(env);
			svc_seterr(errmsg, "publish: the event is not JSON that can be written (strings must be UTF-8)");
			return -1;
		}
		if ((to & IDP_SERVICE_KAFKA) && svc_kafka_send(svc, topic, text, strlen(text), id, errmsg) != 0)
			rc = -1;
		if (rc == 0 && (to & IDP_SERVICE_MQTT) && svc_mqtt_send(svc, topic, text, strlen(text), 1, errmsg) != 0)
			rc = -1;
		free(text);
	}
	if (to & IDP_SERVICE_LOCAL)
		svc_fanout(svc, topic, event_type, env);
	json_decref(env);
	return rc;
}

static json_t *base64_of(const void *p, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *b = p;
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	if (out == NULL)
		return json_null();
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)b[i] << 16 | (i + 1 < n ? (unsigned)b[i + 1] << 8 : 0) | (i + 2 < n ? b[i + 2] : 0);
		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
		*o++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? abc[v & 63] : '=';
	}
	*o = '\0';
	json_t *s = json_string(out);
	free(out);
	return s;
}

/* A message from Kafka or MQTT, on the loop: its handler, else an event. */
void svc_deliver(idp_service *svc, const idp_service_message *m)
{
	svc->messages_in++;
	if (!idp_ws_topic_valid(m->topic, false)) { /* (a broker hands out only valid names; Kafka's need not be UTF-8) */
		svc_log(svc, 2, "a message on a topic that is not 1-256 bytes of UTF-8 was dropped");
		return;
	}
	json_error_t jerr;
	json_t *parsed = json_loadb(m->payload, m->len, JSON_DECODE_ANY, &jerr);
	/* One of this service's own events coming back: already fanned out. */
	const char *eid = json_is_object(parsed) ? json_string_value(json_object_get(parsed, "event_id")) : NULL;
	const char *source = json_is_object(parsed) ? json_string_value(json_object_get(parsed, "source_service")) : NULL;
	if (eid && source && strcmp(source, svc->name) == 0 && recently_published(svc, eid)) {
		json_decref(parsed);
		goto handlers;
	}
	bool handled = false;
	for (size_t i = 0; i < svc->n_subs; i++)
		if (svc->subs[i].handler && (svc->subs[i].transport & m->transport) &&
		    (m->transport == IDP_SERVICE_KAFKA ? strcmp(svc->subs[i].pattern, m->topic) == 0
						       : idp_ws_topic_matches(svc->subs[i].pattern, m->topic)))
			handled = true;
	if (!handled) {
		/* The original's data_processed: the message (JSON when it is) and where it came from. */
		/* JSON as it is, UTF-8 text as a string, anything else in base64 */
		json_t *msg = parsed ? json_incref(parsed) : json_stringn(m->payload, m->len);
		bool binary = msg == NULL;
		if (binary)
			msg = base64_of(m->payload, m->len);
		json_t *data = m->transport == IDP_SERVICE_KAFKA
				       ? json_pack("{s:s, s:o, s:I, s:i, s:s}", "topic", m->topic, "message", msg, "offset",
						   (json_int_t)m->offset, "partition", m->partition, "transport", "kafka")
				       : json_pack("{s:s, s:o, s:s}", "topic", m->topic, "payload", msg, "transport", "mqtt");
		if (binary && data)
			json_object_set_new(data, "encoding", json_string("base64"));
		json_t *env = svc_envelope(svc, "data_processed", data, NULL, NULL, NULL);
		svc_fanout(svc, m->topic, "data_processed", env);
		json_decref(env);
	}
	json_decref(parsed);
handlers:
	for (size_t i = 0; i < svc->n_subs; i++) {
		svc_subscription *s = &svc->subs[i];
		if (!s->handler || !(s->transport & m->transport))
			continue;
		bool match = m->transport == IDP_SERVICE_KAFKA ? strcmp(s->pattern, m->topic) == 0
							       : idp_ws_topic_matches(s->pattern, m->topic);
		if (match)
			s->handler(svc, m, s->user);
	}
}

/* ---------------------------------------------------------------- status */

json_t *svc_realtime_status(idp_service *svc)
{
	return json_pack("{s:s, s:s?, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "service", svc->name,
			 "platform", svc->cfg.platform, "realtime_enabled", 1, "websocket_enabled", svc->cfg.websocket,
			 "websocket_connections", (json_int_t)svc->n_clients, "sse_streams", (json_int_t)svc->n_streams,
			 "messages_received", (json_int_t)svc->messages_in, "messages_sent", (json_int_t)svc->messages_out,
			 "events_published", (json_int_t)svc->events_published, "websocket_total", (json_int_t)svc->ws_total,
			 "error_count", (json_int_t)(svc->errors + svc->delivery_errors), "transports",
			 svc_transports_status(svc));
}

static json_t *connections_json(idp_service *svc)
{
	json_t *list = json_array();
	double now = svc_now();
	for (h2o_linklist_t *l = svc->clients.next; l != &svc->clients; l = l->next) {
		svc_client *c = H2O_STRUCT_FROM_MEMBER(svc_client, link, l);
		json_array_append_new(list, json_pack("{s:s, s:o, s:f, s:I}", "client_id", c->id, "topics", topics_json(c),
						      "idle_seconds", now - c->last_active, "dropped", (json_int_t)c->dropped));
	}
	return json_pack("{s:I, s:I, s:o}", "websocket", (json_int_t)svc->n_clients, "sse", (json_int_t)svc->n_streams,
			 "clients", list);
}

/* ---------------------------------------------------------------- routes */

static json_t *body_json(h2o_req_t *req, char *why, size_t cap)
{
	json_error_t jerr;
	json_t *j = json_loadb(req->entity.base ? req->entity.base : "", req->entity.len, JSON_DECODE_ANY, &jerr);
	if (j == NULL)
		snprintf(why, cap, "request body: invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
	return j;
}

static int transports_of(json_t *v, char *why, size_t cap)
{
	if (v == NULL)
		return IDP_SERVICE_LOCAL;
	json_t *list = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
	int to = 0;
	size_t i;
	json_t *t;
	if (!json_is_array(list) || json_array_size(list) == 0)
		snprintf(why, cap, "transport: \"websocket\", \"kafka\", \"mqtt\", or a list of them");
	json_array_foreach(list, i, t) {
		const char *s = json_string_value(t);
		int bit = s == NULL ? 0 : strcmp(s, "kafka") == 0 ? IDP_SERVICE_KAFKA : strcmp(s, "mqtt") == 0 ? IDP_SERVICE_MQTT
			: (strcmp(s, "websocket") == 0 || strcmp(s, "local") == 0 || strcmp(s, "sse") == 0) ? IDP_SERVICE_LOCAL : 0;
		if (bit == 0) {
			snprintf(why, cap, "transport %zu: \"websocket\", \"kafka\" or \"mqtt\"", i);
			to = 0;
			break;
		}
		to |= bit;
	}
	json_decref(list);
	return json_is_array(v) && json_array_size(v) == 0 ? 0 : to;
}

/* POST /realtime/publish {"topic", "data", "event_type"?, "transport"?, "correlation_id"?} */
static void serve_publish(idp_service *svc, h2o_req_t *req)
{
	char why[256] = "";
	json_t *body = body_json(req, why, sizeof why);
	const char *topic = json_string_value(json_object_get(body, "topic"));
	json_t *et = json_object_get(body, "event_type"), *corr = json_object_get(body, "correlation_id");
	int to = 0;
	if (body && !json_is_object(body))
		snprintf(why, sizeof why, "the body is an object: {\"topic\", \"data\", \"event_type\"?, \"transport\"?}");
	else if (body && topic == NULL)
		snprintf(why, sizeof why, "topic is required (a string)");
	else if (body && !idp_ws_topic_valid(topic, false))
		snprintf(why, sizeof why, "topic: 1-256 bytes of UTF-8, no + or #");
	else if (body && et && !svc_event_type_valid(json_string_value(et)))
		snprintf(why, sizeof why, "event_type: 1-64 letters, digits, '_', '-' or '.'");
	else if (body && corr && !json_is_string(corr) && !json_is_null(corr))
		snprintf(why, sizeof why, "correlation_id: a string");
	else if (body)
		to = transports_of(json_object_get(body, "transport"), why, sizeof why);
	if (*why == '\0' && (to & IDP_SERVICE_KAFKA) && svc->kafka == NULL)
		snprintf(why, sizeof why, "transport kafka: this service has no KAFKA_BOOTSTRAP_SERVERS");
	if (*why == '\0' && (to & IDP_SERVICE_MQTT) && svc->mqtt == NULL)
		snprintf(why, sizeof why, "transport mqtt: this service has no MQTT_HOST");
	if (*why) {
		json_decref(body);
		return svc_reply_json(req, 400, json_pack("{s:s}", "detail", why));
	}
	size_t before = svc->messages_out;
	char id[37], *err = NULL;
	json_t *data = json_object_get(body, "data");
	int rc = idp_service_publish(svc, to, topic, et ? json_string_value(et) : "custom_event",
				     data ? json_incref(data) : NULL, json_string_value(corr), id, &err);
	json_t *names = json_array();
	if (to & IDP_SERVICE_LOCAL)
		json_array_append_new(names, json_string("websocket"));
	if (to & IDP_SERVICE_KAFKA)
		json_array_append_new(names, json_string("kafka"));
	if (to & IDP_SERVICE_MQTT)
		json_array_append_new(names, json_string("mqtt"));
	json_t *out = rc == 0 ? json_pack("{s:s, s:s, s:s, s:o, s:I}", "status", "published", "event_id", id, "topic", topic,
					  "transports", names, "subscribers", (json_int_t)(svc->messages_out - before))
			      : json_pack("{s:s, s:o}", "detail", err ? err : "publish failed", "transports", names);
	free(err);
	json_decref(body);
	svc_reply_json(req, rc == 0 ? 200 : 502, out);
}

/* The original's /realtime/broadcast (any JSON → message type `broadcast`
 * to every client) and /realtime/topic/{topic} (`topic_message`). */
static void serve_broadcast(idp_service *svc, h2o_req_t *req, const char *topic)
{
	char why[256] = "";
	json_t *body = body_json(req, why, sizeof why);
	if (body == NULL)
		return svc_reply_json(req, 400, json_pack("{s:s}", "detail", why));
	if (topic && !idp_ws_topic_valid(topic, false)) {
		json_decref(body);
		return svc_reply_json(req, 400, json_pack("{s:s}", "detail", "topic: 1-256 bytes of UTF-8, no + or #"));
	}
	json_t *payload = topic ? json_pack("{s:s, s:O}", "topic", topic, "data", body) : json_incref(body);
	char *frame = idp_ws_frame(topic ? "topic_message" : "broadcast", payload, NULL, NULL);
	size_t n = 0;
	for (h2o_linklist_t *l = svc->clients.next; l != &svc->clients; l = l->next) {
		svc_client *c = H2O_STRUCT_FROM_MEMBER(svc_client, link, l);
		if (topic == NULL || client_subscribed(c, topic)) {
			n += client_send(c, frame, strlen(frame));
		}
	}
	free(frame);
	json_decref(body);
	svc->messages_out += n;
	svc_schedule_flush(svc);
	svc_reply_json(req, 200, topic ? json_pack("{s:s, s:s, s:I}", "status", "sent", "topic", topic, "subscribers", (json_int_t)n)
			      : json_pack("{s:s, s:I}", "status", "broadcasted", "connections", (json_int_t)n));
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The {topic} of /realtime/topic/{topic}, percent-decoded from the raw
 * path (the normalized one has lost %2F and dot segments); in req's pool,
 * or NULL when it is not a topic. */
static char *raw_topic(h2o_req_t *req)
{
	h2o_iovec_t raw = req->path;
	const char *q = memchr(raw.base, '?', raw.len);
	size_t rl = q ? (size_t)(q - raw.base) : raw.len;
	if (rl <= 16 || rl - 16 > 3 * 256 || memcmp(raw.base, "/realtime/topic/", 16) != 0)
		return NULL;
	char *topic = h2o_mem_alloc_pool(&req->pool, rl - 16 + 1);
	size_t o = 0;
	for (size_t i = 16; i < rl; i++) {
		int hi, lo;
		if (raw.base[i] == '%' && i + 2 < rl && (hi = hex_digit(raw.base[i + 1])) >= 0 && (lo = hex_digit(raw.base[i + 2])) >= 0) {
			topic[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			topic[o++] = raw.base[i];
		}
	}
	topic[o] = '\0';
	if (strlen(topic) != o || o > 256)
		return NULL;
	return topic;
}

bool svc_realtime_route(idp_service *svc, h2o_req_t *req, const char *path)
{
	bool get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));
	bool post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));
	if (svc->cfg.websocket && (strcmp(path, "/ws") == 0 || strcmp(path, "/ws/events") == 0) && get) {
		if (!open_websocket(svc, req, strcmp(path, "/ws/events") == 0 ? "events" : NULL))
			svc_reply_json(req, 426, json_pack("{s:s}", "detail", "GET /ws wants a WebSocket upgrade (Upgrade: websocket)"));
		return true;
	}
	if (strcmp(path, "/stream/events") == 0 && get) {
		open_stream(svc, req);
		return true;
	}
	if (strcmp(path, "/realtime/status") == 0 && get)
		return svc_reply_json(req, 200, svc_realtime_status(svc)), true;
	if (strcmp(path, "/realtime/connections") == 0 && get)
		return svc_reply_json(req, 200, connections_json(svc)), true;
	if (strcmp(path, "/realtime/publish") == 0 && post)
		return serve_publish(svc, req), true;
	if (strcmp(path, "/realtime/broadcast") == 0 && post)
		return serve_broadcast(svc, req, NULL), true;
	if (strncmp(path, "/realtime/topic/", 16) == 0 && path[16] && post) {
		char *topic = raw_topic(req);
		if (topic == NULL)
			return svc_reply_json(req, 400, json_pack("{s:s}", "detail", "/realtime/topic/{topic}: the topic is 1-256 bytes after percent-decoding, no NUL")), true;
		return serve_broadcast(svc, req, topic), true;
	}
	bool ws = svc->cfg.websocket && (strcmp(path, "/ws") == 0 || strcmp(path, "/ws/events") == 0);
	bool known = ws || strcmp(path, "/stream/events") == 0 || strcmp(path, "/realtime/status") == 0 ||
		     strcmp(path, "/realtime/connections") == 0 || strcmp(path, "/realtime/publish") == 0 ||
		     strcmp(path, "/realtime/broadcast") == 0 || (strncmp(path, "/realtime/topic/", 16) == 0 && path[16]);
	if (known) {
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, get ? "POST" : "GET", get ? 4 : 3);
		svc_reply_json(req, 405, json_pack("{s:s}", "detail", "Method Not Allowed"));
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- timers */

/* Idle WebSockets are closed (1000, "idle"); SSE streams get a
 * status_update every few seconds, as the original's did. */
static void on_sweep(h2o_timeout_entry_t *entry)
{
	idp_service *svc = H2O_STRUCT_FROM_MEMBER(idp_service, sweep, entry);
	double now = svc_now();
	for (h2o_linklist_t *l = svc->clients.next; l != &svc->clients;) {
		svc_client *c = H2O_STRUCT_FROM_MEMBER(svc_client, link, l);
		l = l->next; /* (c may go) */
		if (!c->conn->sock)
			continue;
		if (c->close_sent_at > 0 && now - c->close_sent_at > WS_CLOSE_GRACE_S) {
			/* no answer to our close: cut */
			h2o_websocket_conn_t *conn = c->conn;
			conn->data = NULL;
			client_free(c);
			h2o_websocket_close(conn);
		} else if (c->close_sent_at == 0 && now - c->last_active > svc->cfg.ws_idle_timeout_s) {
			wslay_event_queue_close(c->conn->ws_ctx, 1000, (const uint8_t *)"idle", 4);
			c->close_sent_at = now;
		}
	}
	json_t *status = NULL;
	char *text = NULL;
	for (h2o_linklist_t *l = svc->streams.next; l != &svc->streams; l = l->next) {
		svc_stream *s = H2O_STRUCT_FROM_MEMBER(svc_stream, link, l);
		if (now - s->last_status < svc->cfg.sse_status_interval_s)
			continue;
		if (text == NULL) {
			char ts[40];
			idp_ws_timestamp(ts);
			status = json_pack("{s:s, s:o, s:s}", "type", "status_update", "data", svc_realtime_status(svc), "timestamp", ts);
			text = json_dumps(status, JSON_COMPACT | JSON_PRESERVE_ORDER);
		}
		stream_append(s, "status_update", text, strlen(text));
		s->last_status = now;
	}
	free(text);
	json_decref(status);
	flush_all(svc);
	if (!svc->stopping)
		h2o_timeout_link(svc->loop, &svc->sweep_timeout, &svc->sweep);
}

/* Messages are handled a slice at a time, so that the loop gets back to
 * its sockets (writes to clients, HTTP) under a flood: h2o calls on_inbox
 * again as long as messages keep arriving, and the rest waits in the
 * backlog (still counted as waiting: the transports pause meanwhile). */
#define INBOX_SLICE 256

static void handle_backlog(idp_service *svc)
{
	bool stop = svc->stopping || atomic_load(&svc->stop_requested);
	for (int n = 0; n < INBOX_SLICE && !h2o_linklist_is_empty(&svc->backlog); n++) {
		h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, svc->backlog.next);
		h2o_linklist_unlink(&m->link);
		idp_service_message *msg = (idp_service_message *)(m + 1);
		if (!stop) /* (a stop drops what was not handled: Kafka sends it again) */
			svc_deliver(svc, msg);
		if (msg->transport == IDP_SERVICE_KAFKA)
			svc_kafka_handled(svc, msg, !stop);
		else
			svc_mqtt_handled(svc);
		free(m);
	}
	svc_schedule_flush(svc); /* one write per client for the whole slice */
	if (!h2o_linklist_is_empty(&svc->backlog) && !h2o_timeout_is_linked(&svc->backlog_entry))
		h2o_timeout_link(svc->loop, &svc->backlog_timeout, &svc->backlog_entry);
}

static void on_backlog(h2o_timeout_entry_t *entry)
{
	handle_backlog(H2O_STRUCT_FROM_MEMBER(idp_service, backlog_entry, entry));
}

static void on_inbox(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
	idp_service *svc = H2O_STRUCT_FROM_MEMBER(idp_service, inbox, receiver);
	bool idle = h2o_linklist_is_empty(&svc->backlog);
	h2o_linklist_insert_list(&svc->backlog, messages);
	if (idle)
		handle_backlog(svc);
}

void svc_realtime_start(idp_service *svc)
{
	double tick = svc->cfg.sse_status_interval_s < svc->cfg.ws_idle_timeout_s ? svc->cfg.sse_status_interval_s
										   : svc->cfg.ws_idle_timeout_s;
	tick = tick > 1 ? 1 : tick;
	h2o_timeout_init(svc->loop, &svc->sweep_timeout, (uint64_t)(tick * 1000 > 10 ? tick * 1000 : 10));
	svc->sweep.cb = on_sweep;
	h2o_timeout_link(svc->loop, &svc->sweep_timeout, &svc->sweep);
	h2o_timeout_init(svc->loop, &svc->flush_timeout, 0);
	svc->flush.cb = on_flush;
	/* 1 ms, not 0: a zero-delay entry linked from its own callback would run
	 * again before the loop polls its sockets */
	h2o_timeout_init(svc->loop, &svc->backlog_timeout, 1);
	svc->backlog_entry.cb = on_backlog;
	h2o_linklist_init_anchor(&svc->backlog);
	svc->queue = h2o_multithread_create_queue(svc->loop);
	h2o_multithread_register_receiver(svc->queue, &svc->inbox, on_inbox);
}

void svc_realtime_stop(idp_service *svc)
{
	if (svc->queue == NULL)
		return;
	if (h2o_timeout_is_linked(&svc->sweep))
		h2o_timeout_unlink(&svc->sweep);
	if (h2o_timeout_is_linked(&svc->flush))
		h2o_timeout_unlink(&svc->flush);
	for (h2o_linklist_t *l = svc->clients.next; l != &svc->clients; l = l->next) {
		svc_client *c = H2O_STRUCT_FROM_MEMBER(svc_client, link, l);
		wslay_event_queue_close(c->conn->ws_ctx, 1001, (const uint8_t *)"going away", 10);
		c->close_sent_at = svc_now();
	}
	flush_all(svc); /* streams end (stopping is set) */
}

/* After the transports' threads are gone (svc_transports_stop): what they
 * sent last is dropped, then the queue goes. */
void svc_realtime_dispose(idp_service *svc)
{
	if (svc->queue == NULL)
		return;
	h2o_evloop_run(svc->loop, 0); /* (on_inbox takes what is left) */
	while (!h2o_linklist_is_empty(&svc->backlog))
		handle_backlog(svc); /* (stopping is set: dropped) */
	if (h2o_timeout_is_linked(&svc->backlog_entry))
		h2o_timeout_unlink(&svc->backlog_entry);
	h2o_timeout_dispose(svc->loop, &svc->backlog_timeout);
	h2o_multithread_unregister_receiver(svc->queue, &svc->inbox);
	h2o_multithread_destroy_queue(svc->queue);
	free(svc->queue); /* (h2o 2.2.5's evloop flavour closes it but does not free it) */
	svc->queue = NULL;
	if (h2o_timeout_is_linked(&svc->flush))
		h2o_timeout_unlink(&svc->flush);
	h2o_timeout_dispose(svc->loop, &svc->flush_timeout);
	h2o_timeout_dispose(svc->loop, &svc->sweep_timeout);
}
