/*
 * The WebSocket message protocol, apart from any socket so that it can be
 * tested and fuzzed alone: every frame is a JSON object
 *   {message_id, message_type, payload, timestamp, correlation_id?, response_to?}
 * (the original's websocket_manager.py). Internal to libidp-service.
 */
#ifndef IDP_SERVICE_WSPROTO_H
#define IDP_SERVICE_WSPROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
	IDP_WS_SUBSCRIBE,
	IDP_WS_UNSUBSCRIBE,
	IDP_WS_PING,
	IDP_WS_AGENT_REQUEST,
	IDP_WS_ERROR, /* reply with `error` carrying .error */
} idp_ws_kind;

/* A client's message, read. Strings point into .msg (or .error); free
 * with idp_ws_request_clear. */
typedef struct idp_ws_request {
	idp_ws_kind kind;
	json_t *msg;                /* the parsed frame, NULL when it was not JSON */
	const char *message_id;     /* the client's, may be NULL */
	const char *correlation_id; /* may be NULL */
	const char *topic;          /* subscribe/unsubscribe */
	const char *query;          /* agent_request */
	const char *task_type;      /* agent_request, may be NULL */
	json_t *parameters;         /* agent_request, borrowed from msg, may be NULL */
	char error[200];
} idp_ws_request;

/* Reads one text message of len bytes (not NUL-terminated; any bytes).
 * Messages longer than max_len are refused without being parsed. Never
 * fails: what is wrong becomes kind IDP_WS_ERROR with a message. */
void idp_ws_request_read(const char *text, size_t len, size_t max_len, idp_ws_request *out);
void idp_ws_request_clear(idp_ws_request *r);

/* A frame to send: payload is stolen; response_to and correlation_id may
 * be NULL. Returns the JSON text (malloc'd; the caller frees it). */
char *idp_ws_frame(const char *message_type, json_t *payload, const char *response_to, const char *correlation_id);

/* A valid topic: 1-256 bytes of UTF-8 without NUL; as a filter, + and #
 * only as whole levels and # only last (MQTT's rules). */
bool idp_ws_topic_valid(const char *topic, bool filter);

/* Whether filter (MQTT syntax) matches topic; "events" and "#" match every
 * topic. */
bool idp_ws_topic_matches(const char *filter, const char *topic);

/* A random UUID (version 4) in out. */
void idp_ws_uuid(char out[37]);

/* Now as RFC 3339 UTC with microseconds, in out. */
void idp_ws_timestamp(char out[40]);

#endif
