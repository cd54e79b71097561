/* libidp-service's insides, shared by its files (not installed). */
#ifndef IDP_SERVICE_PRIVATE_H
#define IDP_SERVICE_PRIVATE_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <h2o/http1.h>
#include <h2o/multithread.h>
#include <h2o/websocket.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "idp/service.h"
#include "wsproto.h"

typedef struct svc_endpoint {
	char *path, *task_type, *summary;
	idp_service_handler handler;
	void *user;
} svc_endpoint;

typedef struct svc_subscription {
	int transport;
	char *pattern;
	idp_service_message_handler handler;
	void *user;
} svc_subscription;

typedef struct svc_timer {
	h2o_timeout_t timeout;
	h2o_timeout_entry_t entry;
	idp_service *svc;
	void (*fn)(idp_service *svc, void *user);
	void *user;
} svc_timer;

/* Configuration read once from the environment (sdk/README.md). */
typedef struct svc_config {
	char *host;
	int port;
	int log_level; /* 0 debug, 1 info, 2 warning, 3 error */
	char *agent_type, *implementation, *platform;
	bool realtime, websocket;
	char *kafka_bootstrap, *kafka_topics, *kafka_group;
	char *mqtt_host, *mqtt_user, *mqtt_password, *mqtt_topics;
	int mqtt_port;
	double ws_idle_timeout_s, sse_status_interval_s;
	size_t ws_max_message;
	size_t ws_max_queued; /* bytes waiting for one client before events are dropped for it */
	size_t max_body;
	char *token; /* IDP_SERVICE_TOKEN: POSTs and WebSockets need it; NULL: open */
} svc_config;

/* A key=value read from the environment or a secret file, kept so that
 * idp_service_config can hand out borrowed strings. */
typedef struct svc_setting {
	char *key, *value;
} svc_setting;

struct idp_service {
	char *name, *description;
	svc_config cfg;
	svc_setting *settings;
	size_t n_settings;
	svc_endpoint *endpoints;
	size_t n_endpoints;
	svc_subscription *subs;
	size_t n_subs;
	svc_timer **timers;
	size_t n_timers;

	h2o_globalconf_t conf;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept;
	h2o_evloop_t *loop;
	h2o_socket_t *listener;
	int port;
	bool started, stopping;
	atomic_bool stop_requested;

	h2o_linklist_t conns;   /* svc_conn: every accepted connection (a stop waits for them) */
	h2o_linklist_t clients; /* svc_client: WebSockets */
	h2o_linklist_t streams; /* svc_stream: SSE */
	size_t n_clients, n_streams;
	h2o_timeout_t sweep_timeout;
	h2o_timeout_entry_t sweep;
	h2o_timeout_t flush_timeout; /* zero delay: writes after the current callbacks */
	h2o_timeout_entry_t flush;
	h2o_linklist_t backlog; /* h2o_multithread_message_t from the transports, not handled yet */
	h2o_timeout_t backlog_timeout;
	h2o_timeout_entry_t backlog_entry;

	/* what the transport threads hand to the loop */
	h2o_multithread_queue_t *queue;
	h2o_multithread_receiver_t inbox;

	/* counters shown by /health and /realtime/status */
	unsigned long long requests, messages_in, messages_out, events_published, errors, ws_total;
	atomic_ulong delivery_errors;

	/* ids of the last events this service published, so that its own
	 * events coming back from Kafka/MQTT are not fanned out twice */
	char recent[64][37];
	unsigned recent_next;

	struct svc_kafka *kafka;
	struct svc_mqtt *mqtt;
};

/* service.c */
double svc_now(void); /* CLOCK_MONOTONIC, in seconds */
/* Answers with json (a reference this takes). */
void svc_reply_json(h2o_req_t *req, int status, json_t *json);
void svc_log(idp_service *svc, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void svc_seterr(char **errmsg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *svc_strdup(const char *s);
int svc_run_task(idp_service *svc, const char *task_type, json_t *request, json_t **response, int *status);
json_t *svc_health_json(idp_service *svc);

/* config.c */
int svc_config_load(idp_service *svc, char **errmsg);
void svc_config_free(idp_service *svc);

/* realtime.c: WebSocket clients, SSE streams, fan-out */
bool svc_realtime_route(idp_service *svc, h2o_req_t *req, const char *path);
void svc_realtime_start(idp_service *svc);
void svc_realtime_stop(idp_service *svc);
void svc_realtime_dispose(idp_service *svc);
/* Has what waits for the clients written once the current callbacks
 * are done (never from inside one). */
void svc_schedule_flush(idp_service *svc);
bool svc_event_type_valid(const char *event_type);
/* Sends an event (its envelope as JSON text) to the WebSocket and SSE
 * clients of topic; returns how many got it. */
size_t svc_fanout(idp_service *svc, const char *topic, const char *event_type, json_t *envelope);
json_t *svc_envelope(idp_service *svc, const char *event_type, json_t *data, const char *correlation_id,
		     const char *stream_id, char event_id[37]);
json_t *svc_realtime_status(idp_service *svc);
/* A message from a transport thread, delivered on the loop. */
void svc_deliver(idp_service *svc, const idp_service_message *m);

/* transports.c: Kafka and MQTT */
int svc_transports_start(idp_service *svc, char **errmsg);
void svc_transports_stop(idp_service *svc);
void svc_transports_poll(idp_service *svc);
/* A consumed Kafka message is done with on the loop: handled (its offset
 * is stored for the next commit) or dropped at a stop. */
void svc_kafka_handled(idp_service *svc, const idp_service_message *m, bool handled);
void svc_mqtt_handled(idp_service *svc);
int svc_kafka_send(idp_service *svc, const char *topic, const void *p, size_t n, const char *key, char **errmsg);
int svc_mqtt_send(idp_service *svc, const char *topic, const void *p, size_t n, int qos, char **errmsg);
json_t *svc_transports_status(idp_service *svc);

/* openapi.c */
json_t *svc_openapi(idp_service *svc);
char *svc_docs_html(idp_service *svc);

#endif
