/*
 * libidp-service: the C library a service links to run on the Health
 * Service IDP. One call gives a service the platform's standard endpoints
 * (what the original's Python `agent-common` gave every agent):
 *
 *   GET  /health, GET /, GET /docs, GET /openapi.json
 *   POST /<endpoint>            one per idp_service_add_endpoint (JSON in/out)
 *
 * and, when the environment names a real-time platform (or the service
 * turns realtime on), the real-time plumbing:
 *
 *   GET  /ws, /ws/events        WebSocket (JSON frames, see sdk/README.md)
 *   GET  /stream/events         Server-Sent Events
 *   POST /realtime/publish      an event to WebSocket/SSE, Kafka and/or MQTT
 *   POST /realtime/broadcast, POST /realtime/topic/{topic}
 *   GET  /realtime/status, GET /realtime/connections
 *   Kafka produce/consume (librdkafka), MQTT publish/subscribe (libmosquitto)
 *
 * Configuration comes from exactly the environment variables the platform's
 * catalog injects (sdk/README.md lists them). Everything the service's own
 * code is called with (endpoint handlers, message handlers) runs on the
 * service's one event-loop thread, so handlers need no locks.
 *
 * Errors: functions that can fail return 0 on success and -1 on failure
 * with a message in *errmsg (owned by the caller: free()) when errmsg is
 * not NULL. Ownership of every pointer is stated per function; jansson
 * values follow jansson's reference counting.
 */
#ifndef IDP_SERVICE_H
#define IDP_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IDP_SERVICE_VERSION "0.1.0"

typedef struct idp_service idp_service;

/* Where an event goes: the service's own WebSocket and SSE clients, Kafka,
 * MQTT. A set is a bitwise or. */
enum {
	IDP_SERVICE_LOCAL = 1, /* WebSocket and SSE clients of this service */
	IDP_SERVICE_KAFKA = 2,
	IDP_SERVICE_MQTT = 4,
};

/* A task given to an endpoint handler: the original's AgentRequestModel
 * (query, parameters, context, task_type, priority) and the task's id
 * ("<task_type>-<hex>"). Everything is borrowed for the call. */
typedef struct idp_service_task {
	const char *id;
	const char *task_type;
	const char *query;
	json_t *parameters; /* an object, never NULL */
	json_t *context;    /* an object, never NULL */
	int priority;
} idp_service_task;

/* An endpoint's work. Returns 0 with *result set (a new reference the SDK
 * takes), or -1 with *error set (malloc'd, the SDK frees it): the caller
 * then gets HTTP 500 with that text, as in the original. */
typedef int (*idp_service_handler)(idp_service *svc, const idp_service_task *task, json_t **result,
				   char **error, void *user);

/* A message that arrived on a topic (Kafka or MQTT). topic, payload and key
 * are borrowed for the call; payload is not NUL-terminated (len bytes);
 * transport is IDP_SERVICE_KAFKA or IDP_SERVICE_MQTT. */
typedef struct idp_service_message {
	int transport;
	const char *topic;
	const void *payload;
	size_t len;
	const char *key; /* Kafka only, else NULL */
	long long offset; /* Kafka only, else -1 */
	int partition;    /* Kafka only, else -1 */
} idp_service_message;

/* Called for each message on a topic matching the pattern it was
 * registered with. Returns nothing: a handler that wants the message on
 * the WebSocket/SSE clients publishes an event itself. */
typedef void (*idp_service_message_handler)(idp_service *svc, const idp_service_message *msg, void *user);

/* Creates a service named name (NULL: $SERVICE_NAME, else $AGENT_TYPE,
 * else "service") with a one-line description (may be NULL), configured
 * from the environment. Returns NULL and sets *errmsg when a setting is
 * invalid (PORT=80x names the variable; HOST is checked at run).
 * The service is owned by the caller: idp_service_free. */
idp_service *idp_service_new(const char *name, const char *description, char **errmsg);

/* Frees the service (after idp_service_run has returned, or instead of
 * running it). NULL is a no-op. */
void idp_service_free(idp_service *svc);

/* Registers POST <path> (a path starting with '/', no spaces) running
 * handler for task_type (NULL: the path without its '/'). summary is shown
 * in /docs and /openapi.json. Strings are copied; user is passed back. */
int idp_service_add_endpoint(idp_service *svc, const char *path, const char *task_type, const char *summary,
			     idp_service_handler handler, void *user, char **errmsg);

/* Turns the real-time routes on even when the environment names no
 * platform (a service that only wants /ws and SSE). */
void idp_service_enable_realtime(idp_service *svc);

/* Subscribes to pattern on transport (IDP_SERVICE_KAFKA: a topic name;
 * IDP_SERVICE_MQTT: an MQTT filter with + and #) and calls handler for
 * each message. Without a handler registered for a topic, an incoming
 * message is published to the WebSocket/SSE clients as a `data_processed`
 * event, as the original did. Call before idp_service_run. */
int idp_service_subscribe(idp_service *svc, int transport, const char *pattern, idp_service_message_handler handler,
			  void *user, char **errmsg);

/* Publishes an event with the original's envelope (event_id, event_type,
 * source_service, source_agent, data, timestamp, correlation_id, stream_id,
 * priority) on topic to the transports in the set `to`; event_type is 1-64
 * letters, digits, '_', '-' or '.'. data: a reference
 * the SDK takes (may be NULL: null). correlation_id may be NULL. Kafka and
 * MQTT sends are asynchronous (delivery failures are counted in /health's
 * error_count and logged). When event_id is not NULL it receives the
 * event's id (37 bytes). Call from the loop thread (handlers) or before run. */
int idp_service_publish(idp_service *svc, int to, const char *topic, const char *event_type, json_t *data,
			const char *correlation_id, char event_id[37], char **errmsg);

/* Sends raw bytes to Kafka (key may be NULL) or MQTT (QoS 1), without an
 * envelope: the original's send_kafka_message / send_mqtt_message. */
int idp_service_send_kafka(idp_service *svc, const char *topic, const void *payload, size_t len, const char *key,
			   char **errmsg);
int idp_service_send_mqtt(idp_service *svc, const char *topic, const void *payload, size_t len, int qos,
			  char **errmsg);

/* Calls fn on the loop thread every interval_ms milliseconds until the
 * service stops. Before idp_service_run only (-1 after). */
int idp_service_every(idp_service *svc, unsigned interval_ms, void (*fn)(idp_service *svc, void *user), void *user);

/* A configuration value: the environment variable key, else (when a
 * platform is named) the file /var/secrets/<platform>-<kind>-secret/<key>
 * that Kubernetes mounts, else NULL. Borrowed from the service. Call it on
 * the loop thread (handlers) or before run: it caches what it reads. */
const char *idp_service_config(const idp_service *svc, const char *key);

/* The service's name; borrowed. */
const char *idp_service_name(const idp_service *svc);

/* The port it listens on once running (useful with PORT=0); 0 before. */
int idp_service_port(const idp_service *svc);

/* Structured log line on stderr: one JSON object with time, level
 * ("debug", "info", "warning", "error"), service and msg, when level is at
 * least $LOG_LEVEL. The message is printf-formatted. */
void idp_service_log(idp_service *svc, const char *level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Binds HOST:PORT, connects Kafka and MQTT when configured, and serves
 * until SIGTERM or SIGINT (or idp_service_stop). Then shuts down
 * gracefully: stops accepting, closes WebSockets with 1001 "going away",
 * ends SSE streams, lets answers in flight finish, flushes Kafka (up to
 * 5 s) and disconnects MQTT. Returns 0 after a clean stop, -1 if it could
 * not start (*errmsg set). */
int idp_service_run(idp_service *svc, char **errmsg);

/* Asks a running service to stop; safe from any thread or a signal
 * handler. */
void idp_service_stop(idp_service *svc);

#ifdef __cplusplus
}
#endif

#endif
