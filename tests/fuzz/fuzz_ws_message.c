/*
 * libFuzzer target for the SDK's WebSocket frame handler: the input is what
 * a client sends after the upgrade (raw frames: masked or not, fragmented,
 * control frames, any lengths), read by wslay exactly as a service reads it
 * (server context, the SDK's 16 MiB limit), each complete text message
 * going through the SDK's protocol (idp_ws_request_read) and its reply
 * frame (idp_ws_frame) queued back. Invariants: a request is either an
 * error with a message or carries what its type needs; every reply is a
 * JSON object with message_type. The first input byte also sets the
 * message size limit (64 B .. 16 KiB) so that "too large" is reached.
 * Topic filters are matched against the message text on the side.
 *
 * Build: meson setup ... -Dfuzz=true (clang only); run: tests/fuzz/run.sh.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "wsproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct feed {
	const uint8_t *d;
	size_t n, off, limit;
} feed;

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	(void)flags;
	feed *f = user;
	if (f->off == f->n) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	/* odd-sized reads, so frames straddle them */
	size_t k = len < f->n - f->off ? len : f->n - f->off;
	if (k > 7)
		k = k / 2 + 1;
	memcpy(buf, f->d + f->off, k);
	f->off += k;
	return (ssize_t)k;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
	(void)ctx, (void)data, (void)flags, (void)user;
	return (ssize_t)len;
}

static void check_request(const idp_ws_request *r)
{
	switch (r->kind) {
	case IDP_WS_SUBSCRIBE:
	case IDP_WS_UNSUBSCRIBE:
		if (!r->topic || !idp_ws_topic_valid(r->topic, true))
			abort();
		break;
	case IDP_WS_AGENT_REQUEST:
		if (!r->query || !*r->query)
			abort();
		break;
	case IDP_WS_PING:
		break;
	case IDP_WS_ERROR:
		if (!r->error[0])
			abort();
		break;
	default:
		abort();
	}
}

static void queue_reply(wslay_event_context_ptr ctx, const idp_ws_request *r)
{
	const char *type = r->kind == IDP_WS_ERROR ? "error" : r->kind == IDP_WS_PING ? "pong" : "subscription_confirmed";
	json_t *payload = r->kind == IDP_WS_ERROR ? json_pack("{s:s}", "error", r->error)
			  : r->topic		   ? json_pack("{s:s}", "topic", r->topic)
						   : json_object();
	if (payload == NULL) /* (json_pack refuses only invalid UTF-8, which a parsed request never holds) */
		abort();
	char *frame = idp_ws_frame(type, payload, r->message_id, r->correlation_id);
	json_t *back = frame ? json_loads(frame, 0, NULL) : NULL;
	if (!json_is_string(json_object_get(back, "message_type")))
		abort();
	json_decref(back);
	struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)frame, strlen(frame)};
	wslay_event_queue_msg(ctx, &m);
	free(frame);
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	feed *f = user;
	if (arg->opcode != WSLAY_TEXT_FRAME)
		return;
	idp_ws_request r;
	idp_ws_request_read((const char *)arg->msg, arg->msg_length, f->limit, &r);
	check_request(&r);
	queue_reply(ctx, &r);
	/* the text as a topic, against a few filters */
	char topic[300];
	size_t n = arg->msg_length < sizeof topic - 1 ? arg->msg_length : sizeof topic - 1;
	if (n > 0)
		memcpy(topic, arg->msg, n);
	topic[n] = '\0';
	if (strlen(topic) == n && idp_ws_topic_valid(topic, false)) {
		if (!idp_ws_topic_matches(topic, topic) || !idp_ws_topic_matches("#", topic) || !idp_ws_topic_matches("events", topic))
			abort();
		(void)idp_ws_topic_matches("sensors/+/hr", topic);
		(void)idp_ws_topic_matches("a/#", topic);
	}
	idp_ws_request_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	feed f = {data + 1, size - 1, 0, 64 + (size_t)data[0] * 64};
	struct wslay_event_callbacks cb = {on_recv, on_send, NULL, NULL, NULL, NULL, on_msg};
	wslay_event_context_ptr ctx;
	if (wslay_event_context_server_init(&ctx, &cb, &f) != 0)
		return 0;
	wslay_event_config_set_max_recv_msg_length(ctx, 16u << 20);
	for (int rounds = 0; rounds < 64 && f.off < f.n; rounds++) {
		if (wslay_event_recv(ctx) != 0)
			break;
		wslay_event_send(ctx);
	}
	wslay_event_context_free(ctx);
	return 0;
}
