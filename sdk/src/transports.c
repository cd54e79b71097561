/* Kafka (librdkafka) and MQTT (libmosquitto). Each runs on its library's
 * own thread; what arrives is handed to the service's loop through h2o's
 * multithread queue, so message handlers run on the loop like everything
 * else. Sends happen on the loop thread (both libraries allow that). */
#include "service_private.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct svc_kafka {
	rd_kafka_t *producer, *consumer;
	pthread_t thread;
	bool has_thread;
	atomic_bool run;
	atomic_ulong produced, delivered, consumed;
	atomic_long waiting; /* consumed, not yet handled on the loop */
	json_t *topics;      /* consumer topics */
};

/* The consumer stops fetching while this many messages wait for the loop. */
#define KAFKA_MAX_WAITING 10000

struct svc_mqtt {
	struct mosquitto *m;
	bool connect_pending; /* the first connect failed: retried from the loop */
	double last_attempt;
	atomic_bool connected;
	atomic_ulong published, received;
	atomic_long waiting; /* received, not yet handled on the loop */
	json_t *topics;
};

/* libmosquitto's thread stops reading while this many messages wait for
 * the loop: the broker then holds them (TCP's backpressure) instead of the
 * service dropping them at its clients. */
#define MQTT_MAX_WAITING 2000

/* A message for the loop: the h2o envelope, then idp_service_message, then
 * its bytes (topic, key, payload). */
static bool hand_to_loop(idp_service *svc, int transport, const char *topic, const void *payload, size_t len,
			 const char *key, size_t key_len, long long offset, int partition)
{
	size_t tl = strlen(topic);
	h2o_multithread_message_t *m = malloc(sizeof *m + sizeof(idp_service_message) + tl + 1 + key_len + 1 + len + 1);
	if (m == NULL)
		return false;
	memset(m, 0, sizeof *m);
	idp_service_message *msg = (idp_service_message *)(m + 1);
	char *p = (char *)(msg + 1);
	memcpy(p, topic, tl + 1);
	char *k = p + tl + 1;
	if (key)
		memcpy(k, key, key_len);
	k[key_len] = '\0';
	char *body = k + key_len + 1;
	if (len)
		memcpy(body, payload, len);
	body[len] = '\0';
	*msg = (idp_service_message){transport, p, body, len, key ? k : NULL, offset, partition};
	h2o_multithread_send_message(&svc->inbox, m);
	return true;
}

static json_t *split_list(const char *csv)
{
	json_t *a = json_array();
	if (csv == NULL)
		return a;
	char *copy = svc_strdup(csv), *save = NULL;
	for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		json_array_append_new(a, json_string(t));
	free(copy);
	return a;
}

/* ---------------------------------------------------------------- Kafka */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	idp_service *svc = opaque;
	if (m->err) {
		svc->delivery_errors++;
		svc_log(svc, 3, "kafka: delivery to %s failed: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
	} else {
		svc->kafka->delivered++;
	}
}

static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	idp_service *svc = rd_kafka_opaque(rk);
	svc_log(svc, level <= 3 ? 3 : level <= 4 ? 2 : 0, "kafka %s: %s", fac, buf);
}

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char **errmsg)
{
	char errstr[256];
	if (v == NULL || rd_kafka_conf_set(conf, k, v, errstr, sizeof errstr) == RD_KAFKA_CONF_OK)
		return 0;
	svc_seterr(errmsg, "kafka: %s: %s", k, errstr);
	return -1;
}

static rd_kafka_conf_t *kafka_conf(idp_service *svc, char **errmsg)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set_opaque(conf, svc);
	rd_kafka_conf_set_log_cb(conf, on_kafka_log);
	if (set(conf, "bootstrap.servers", svc->cfg.kafka_bootstrap, errmsg) ||
	    set(conf, "client.id", svc->name, errmsg) ||
	    set(conf, "security.protocol", idp_service_config(svc, "KAFKA_SECURITY_PROTOCOL"), errmsg) ||
	    set(conf, "sasl.mechanisms", idp_service_config(svc, "KAFKA_SASL_MECHANISM"), errmsg) ||
	    set(conf, "sasl.username", idp_service_config(svc, "KAFKA_SASL_USERNAME"), errmsg) ||
	    set(conf, "sasl.password", idp_service_config(svc, "KAFKA_SASL_PASSWORD"), errmsg)) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

static void *consume(void *arg)
{
	idp_service *svc = arg;
	struct svc_kafka *k = svc->kafka;
	while (atomic_load(&k->run)) {
		if (atomic_load(&k->waiting) > KAFKA_MAX_WAITING) {
			/* The loop is behind: let it catch up (librdkafka keeps
			 * fetching into its own bounded queue meanwhile). */
			struct timespec ts = {0, 5000000};
			nanosleep(&ts, NULL);
			continue;
		}
		rd_kafka_message_t *m = rd_kafka_consumer_poll(k->consumer, 100);
		if (m == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			k->consumed++;
			atomic_fetch_add(&k->waiting, 1);
			if (!hand_to_loop(svc, IDP_SERVICE_KAFKA, rd_kafka_topic_name(m->rkt), m->payload, m->len, m->key,
					  m->key_len, (long long)m->offset, (int)m->partition))
				atomic_fetch_sub(&k->waiting, 1);
		} else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			svc_log(svc, 2, "kafka: consume: %s", rd_kafka_message_errstr(m));
		}
		rd_kafka_message_destroy(m);
	}
	return NULL;
}

static int kafka_start(idp_service *svc, char **errmsg)
{
	struct svc_kafka *k = calloc(1, sizeof *k);
	if (k == NULL) {
		svc_seterr(errmsg, "out of memory");
		return -1;
	}
	svc->kafka = k;
	k->topics = split_list(svc->cfg.kafka_topics);
	for (size_t i = 0; i < svc->n_subs; i++)
		if (svc->subs[i].transport == IDP_SERVICE_KAFKA)
			json_array_append_new(k->topics, json_string(svc->subs[i].pattern));
	char errstr[512];
	rd_kafka_conf_t *conf = kafka_conf(svc, errmsg);
	if (conf == NULL || set(conf, "linger.ms", "1", errmsg) || set(conf, "message.timeout.ms", "30000", errmsg))
		return conf ? rd_kafka_conf_destroy(conf), -1 : -1;
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (k->producer == NULL) {
		rd_kafka_conf_destroy(conf); /* (rd_kafka_new takes it only on success) */
		svc_seterr(errmsg, "kafka producer: %s", errstr);
		return -1;
	}
	if (json_array_size(k->topics) == 0)
		return 0;
	conf = kafka_conf(svc, errmsg);
	/* From the start of a topic the group has no offset for: a new
	 * service sees what was sent before it came up. */
	/* An offset is stored (and then committed) once the loop has handled
	 * its message: what a stop drops comes again after the restart. */
	if (conf == NULL || set(conf, "group.id", svc->cfg.kafka_group, errmsg) ||
	    set(conf, "auto.offset.reset", "earliest", errmsg) || set(conf, "allow.auto.create.topics", "true", errmsg) ||
	    set(conf, "enable.auto.offset.store", "false", errmsg) ||
	    set(conf, "topic.metadata.refresh.interval.ms", "2000", errmsg))
		return conf ? rd_kafka_conf_destroy(conf), -1 : -1;
	k->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
	if (k->consumer == NULL) {
		rd_kafka_conf_destroy(conf);
		svc_seterr(errmsg, "kafka consumer: %s", errstr);
		return -1;
	}
	rd_kafka_poll_set_consumer(k->consumer);
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)json_array_size(k->topics));
	size_t i;
	json_t *t;
	json_array_foreach(k->topics, i, t)
		rd_kafka_topic_partition_list_add(list, json_string_value(t), RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t err = rd_kafka_subscribe(k->consumer, list);
	rd_kafka_topic_partition_list_destroy(list);
	if (err) {
		svc_seterr(errmsg, "kafka subscribe: %s", rd_kafka_err2str(err));
		return -1;
	}
	atomic_store(&k->run, true);
	if (pthread_create(&k->thread, NULL, consume, svc) != 0) {
		svc_seterr(errmsg, "kafka: cannot start the consumer thread");
		return -1;
	}
	k->has_thread = true;
	return 0;
}

static void kafka_stop(idp_service *svc)
{
	struct svc_kafka *k = svc->kafka;
	if (k == NULL)
		return;
	if (k->has_thread) {
		atomic_store(&k->run, false);
		pthread_join(k->thread, NULL);
	}
	if (k->consumer) {
		rd_kafka_consumer_close(k->consumer);
		rd_kafka_destroy(k->consumer);
	}
	if (k->producer) {
		if (rd_kafka_flush(k->producer, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
			svc_log(svc, 2, "kafka: %d messages not delivered at the stop", rd_kafka_outq_len(k->producer));
		rd_kafka_destroy(k->producer);
	}
	json_decref(k->topics);
	free(k);
	svc->kafka = NULL;
}

int svc_kafka_send(idp_service *svc, const char *topic, const void *p, size_t n, const char *key, char **errmsg)
{
	struct svc_kafka *k = svc->kafka;
	if (k == NULL || k->producer == NULL) {
		svc_seterr(errmsg, "kafka is not configured (KAFKA_BOOTSTRAP_SERVERS)");
		return -1;
	}
	rd_kafka_resp_err_t err = rd_kafka_producev(k->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE((void *)p, n),
						     RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
						     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
	if (err) {
		svc->errors++;
		svc_seterr(errmsg, "kafka produce to %s: %s", topic, rd_kafka_err2str(err));
		return -1;
	}
	k->produced++;
	return 0;
}

/* ---------------------------------------------------------------- MQTT */

static void on_mqtt_connect(struct mosquitto *m, void *obj, int rc)
{
	idp_service *svc = obj;
	if (rc != 0) {
		svc_log(svc, 2, "mqtt: connection refused: %s", mosquitto_connack_string(rc));
		return;
	}
	atomic_store(&svc->mqtt->connected, true);
	size_t i;
	json_t *t;
	json_array_foreach(svc->mqtt->topics, i, t) {
		int e = mosquitto_subscribe(m, NULL, json_string_value(t), 1);
		if (e != MOSQ_ERR_SUCCESS)
			svc_log(svc, 3, "mqtt: subscribe %s: %s", json_string_value(t), mosquitto_strerror(e));
	}
	svc_log(svc, 1, "mqtt: connected to %s:%d", svc->cfg.mqtt_host, svc->cfg.mqtt_port);
}

static void on_mqtt_disconnect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	idp_service *svc = obj;
	atomic_store(&svc->mqtt->connected, false);
	if (rc != 0)
		svc_log(svc, 2, "mqtt: connection lost (%s); reconnecting", mosquitto_strerror(rc));
}

static void on_mqtt_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	(void)m;
	idp_service *svc = obj;
	svc->mqtt->received++;
	while (atomic_load(&svc->mqtt->waiting) > MQTT_MAX_WAITING && !atomic_load(&svc->stop_requested)) {
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
	}
	atomic_fetch_add(&svc->mqtt->waiting, 1);
	if (!hand_to_loop(svc, IDP_SERVICE_MQTT, msg->topic, msg->payload, (size_t)msg->payloadlen, NULL, 0, -1, -1))
		atomic_fetch_sub(&svc->mqtt->waiting, 1);
}

static pthread_once_t mosquitto_once = PTHREAD_ONCE_INIT;
static void mosquitto_init_once(void)
{
	mosquitto_lib_init();
}

static int mqtt_start(idp_service *svc, char **errmsg)
{
	pthread_once(&mosquitto_once, mosquitto_init_once);
	struct svc_mqtt *q = calloc(1, sizeof *q);
	if (q == NULL) {
		svc_seterr(errmsg, "out of memory");
		return -1;
	}
	svc->mqtt = q;
	q->topics = split_list(svc->cfg.mqtt_topics);
	for (size_t i = 0; i < svc->n_subs; i++)
		if (svc->subs[i].transport == IDP_SERVICE_MQTT)
			json_array_append_new(q->topics, json_string(svc->subs[i].pattern));
	char id[64], uuid[37];
	idp_ws_uuid(uuid);
	snprintf(id, sizeof id, "%.40s-%.8s", svc->name, uuid);
	q->m = mosquitto_new(id, true, svc);
	if (q->m == NULL) {
		svc_seterr(errmsg, "mqtt: cannot create a client");
		return -1;
	}
	if (svc->cfg.mqtt_user)
		mosquitto_username_pw_set(q->m, svc->cfg.mqtt_user, svc->cfg.mqtt_password);
	mosquitto_connect_callback_set(q->m, on_mqtt_connect);
	mosquitto_disconnect_callback_set(q->m, on_mqtt_disconnect);
	mosquitto_message_callback_set(q->m, on_mqtt_message);
	mosquitto_reconnect_delay_set(q->m, 1, 10, true);
	int rc = mosquitto_connect_async(q->m, svc->cfg.mqtt_host, svc->cfg.mqtt_port, 30);
	if (rc != MOSQ_ERR_SUCCESS) {
		/* libmosquitto's thread reconnects a connection it once had, not
		 * a first connect that failed: the loop retries that
		 * (svc_transports_poll), so a broker that starts later is found. */
		svc_log(svc, 2, "mqtt: %s:%d: %s; retrying every second", svc->cfg.mqtt_host, svc->cfg.mqtt_port,
			rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		q->connect_pending = true;
		q->last_attempt = svc_now();
	}
	rc = mosquitto_loop_start(q->m);
	if (rc != MOSQ_ERR_SUCCESS) {
		svc_seterr(errmsg, "mqtt: %s", mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

static void mqtt_stop(idp_service *svc)
{
	struct svc_mqtt *q = svc->mqtt;
	if (q == NULL)
		return;
	if (q->m) {
		/* The thread writes the DISCONNECT and ends; without a connection
		 * there is nothing to wait for. */
		int rc = mosquitto_disconnect(q->m);
		mosquitto_loop_stop(q->m, rc != MOSQ_ERR_SUCCESS);
		mosquitto_destroy(q->m);
	}
	json_decref(q->topics);
	free(q);
	svc->mqtt = NULL;
}

int svc_mqtt_send(idp_service *svc, const char *topic, const void *p, size_t n, int qos, char **errmsg)
{
	struct svc_mqtt *q = svc->mqtt;
	if (q == NULL) {
		svc_seterr(errmsg, "mqtt is not configured (MQTT_HOST)");
		return -1;
	}
	if (n > 256u << 20 || qos < 0 || qos > 2) {
		svc_seterr(errmsg, "mqtt publish to %s: a payload up to 256 MiB and QoS 0-2", topic);
		return -1;
	}
	int rc = mosquitto_publish(q->m, NULL, topic, (int)n, p, qos, false);
	if (rc != MOSQ_ERR_SUCCESS) {
		svc->errors++;
		svc_seterr(errmsg, "mqtt publish to %s: %s", topic, mosquitto_strerror(rc));
		return -1;
	}
	q->published++;
	return 0;
}

/* ---------------------------------------------------------------- both */

int svc_transports_start(idp_service *svc, char **errmsg)
{
	if (svc->cfg.kafka_bootstrap && kafka_start(svc, errmsg) != 0)
		return -1;
	if (svc->cfg.mqtt_host && mqtt_start(svc, errmsg) != 0)
		return -1;
	return 0;
}

void svc_transports_stop(idp_service *svc)
{
	mqtt_stop(svc);
	kafka_stop(svc);
}

void svc_transports_poll(idp_service *svc)
{
	if (svc->kafka && svc->kafka->producer)
		rd_kafka_poll(svc->kafka->producer, 0);
	struct svc_mqtt *q = svc->mqtt;
	if (q && q->connect_pending && svc_now() - q->last_attempt >= 1) {
		q->last_attempt = svc_now();
		if (mosquitto_connect_async(q->m, svc->cfg.mqtt_host, svc->cfg.mqtt_port, 30) == MOSQ_ERR_SUCCESS) {
			q->connect_pending = false;
			svc_log(svc, 1, "mqtt: %s:%d answers", svc->cfg.mqtt_host, svc->cfg.mqtt_port);
		}
	}
}

void svc_mqtt_handled(idp_service *svc)
{
	if (svc->mqtt)
		atomic_fetch_sub(&svc->mqtt->waiting, 1);
}

void svc_kafka_handled(idp_service *svc, const idp_service_message *m, bool handled)
{
	struct svc_kafka *k = svc->kafka;
	if (k == NULL)
		return;
	atomic_fetch_sub(&k->waiting, 1);
	if (!handled || k->consumer == NULL)
		return;
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(list, m->topic, m->partition)->offset = m->offset + 1;
	rd_kafka_offsets_store(k->consumer, list);
	rd_kafka_topic_partition_list_destroy(list);
}

json_t *svc_transports_status(idp_service *svc)
{
	json_t *s = json_object();
	if (svc->kafka)
		json_object_set_new(s, "kafka", json_pack("{s:s, s:O, s:s, s:I, s:I, s:I}", "bootstrap_servers",
							  svc->cfg.kafka_bootstrap, "consumer_topics", svc->kafka->topics,
							  "consumer_group", svc->cfg.kafka_group, "produced",
							  (json_int_t)svc->kafka->produced, "delivered",
							  (json_int_t)svc->kafka->delivered, "consumed",
							  (json_int_t)svc->kafka->consumed));
	if (svc->mqtt)
		json_object_set_new(s, "mqtt", json_pack("{s:s, s:i, s:b, s:O, s:I, s:I}", "host", svc->cfg.mqtt_host, "port",
							 svc->cfg.mqtt_port, "connected", (int)atomic_load(&svc->mqtt->connected),
							 "topics", svc->mqtt->topics, "published",
							 (json_int_t)svc->mqtt->published, "received",
							 (json_int_t)svc->mqtt->received));
	return s;
}

/* ---------------------------------------------------------------- API */

int idp_service_subscribe(idp_service *svc, int transport, const char *pattern, idp_service_message_handler handler,
			  void *user, char **errmsg)
{
	if ((transport != IDP_SERVICE_KAFKA && transport != IDP_SERVICE_MQTT) || pattern == NULL ||
	    !idp_ws_topic_valid(pattern, transport == IDP_SERVICE_MQTT) || svc->started) {
		svc_seterr(errmsg, "subscribe \"%s\": IDP_SERVICE_KAFKA with a topic or IDP_SERVICE_MQTT with a filter, before run",
			   pattern ? pattern : "(null)");
		return -1;
	}
	svc_subscription *grown = realloc(svc->subs, (svc->n_subs + 1) * sizeof *grown);
	if (grown == NULL)
		return -1;
	svc->subs = grown;
	svc->subs[svc->n_subs++] = (svc_subscription){transport, svc_strdup(pattern), handler, user};
	svc->cfg.realtime = true;
	return 0;
}

int idp_service_send_kafka(idp_service *svc, const char *topic, const void *payload, size_t len, const char *key,
			   char **errmsg)
{
	return svc_kafka_send(svc, topic, payload, len, key, errmsg);
}

int idp_service_send_mqtt(idp_service *svc, const char *topic, const void *payload, size_t len, int qos, char **errmsg)
{
	return svc_mqtt_send(svc, topic, payload, len, qos, errmsg);
}
