/*
 * health-streaming: the seed README's HealthStreamingAgent, in C on
 * libidp-service.
 *
 * Device readings arrive over MQTT on sensors/<device>/<metric> (a number,
 * or JSON {"value": n, "unit": "..."}) or over HTTP (POST /readings with
 * query "<device>/<metric>" and parameters {"value": n}). Each reading is
 * published as a `data_processed` event to Kafka topic health_events (the
 * stream the platform's consumers read) and to the WebSocket/SSE clients
 * (topic readings/<device>/<metric>). A reading outside its metric's range
 * raises an `alert_triggered` event on MQTT alerts/<severity> and on the
 * clients (topic alerts/<severity>).
 *
 * Ranges (overridable with RANGE_<METRIC>=low:high, e.g. RANGE_HEART_RATE=50:120):
 *   heart_rate 40..140 bpm, spo2 92..100 %, temperature 35.0..38.5 °C,
 *   systolic 90..140 mmHg, glucose 70..180 mg/dL, respiratory_rate 10..24 /min.
 * Beyond the range by more than a quarter of its width: severity critical,
 * else warning.
 */
#include <idp/service.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct range {
	const char *metric;
	double low, high;
} range;

static range ranges[] = {
	{"heart_rate", 40, 140}, {"spo2", 92, 100},    {"temperature", 35.0, 38.5},
	{"systolic", 90, 140},	 {"glucose", 70, 180}, {"respiratory_rate", 10, 24},
};

static const char *events_topic = "health_events";
static bool have_kafka, have_mqtt; /* what the platform gave this service */

static void load_ranges(idp_service *svc)
{
	for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
		char key[64];
		snprintf(key, sizeof key, "RANGE_%s", ranges[i].metric);
		for (char *k = key; *k; k++)
			*k = (char)toupper((unsigned char)*k);
		const char *v = idp_service_config(svc, key);
		double lo, hi;
		if (v && sscanf(v, "%lf:%lf", &lo, &hi) == 2 && lo < hi) {
			ranges[i].low = lo;
			ranges[i].high = hi;
		} else if (v) {
			idp_service_log(svc, "warning", "%s=%s: want low:high; keeping %g:%g", key, v, ranges[i].low,
					ranges[i].high);
		}
	}
	const char *topic = idp_service_config(svc, "HEALTH_EVENTS_TOPIC");
	if (topic && *topic)
		events_topic = topic;
	have_kafka = idp_service_config(svc, "KAFKA_BOOTSTRAP_SERVERS") != NULL;
	have_mqtt = idp_service_config(svc, "MQTT_HOST") != NULL;
	if (!have_kafka)
		idp_service_log(svc, "warning", "no KAFKA_BOOTSTRAP_SERVERS: readings reach WebSocket/SSE clients only, not %s", events_topic);
}

static const range *range_of(const char *metric)
{
	for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
		if (strcmp(ranges[i].metric, metric) == 0)
			return &ranges[i];
	return NULL;
}

/* Where a reading lies: NULL inside its range, else "warning" or "critical". */
static const char *severity_of(const range *r, double v)
{
	if (r == NULL || (v >= r->low && v <= r->high))
		return NULL;
	double margin = (r->high - r->low) / 4;
	return v < r->low - margin || v > r->high + margin ? "critical" : "warning";
}

/* A device or metric name: what can sit in one MQTT topic level and a path. */
static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* Takes one reading through the pipeline; returns the event (a new
 * reference) or NULL with *why set. */
static json_t *process(idp_service *svc, const char *device, const char *metric, double value, const char *unit,
		       const char *source, const char **why)
{
	if (!name_ok(device, strlen(device)) || !name_ok(metric, strlen(metric))) {
		*why = "device and metric: 1-63 letters, digits, '-' or '_'";
		return NULL;
	}
	const range *r = range_of(metric);
	const char *severity = severity_of(r, value);
	json_t *reading = json_pack("{s:s, s:s, s:f, s:s?, s:s, s:b}", "device", device, "metric", metric, "value", value,
				    "unit", unit, "source", source, "in_range", severity == NULL);
	if (r)
		json_object_set_new(reading, "range", json_pack("[f, f]", r->low, r->high));
	char topic[160], id[37], *err = NULL;
	snprintf(topic, sizeof topic, "readings/%s/%s", device, metric);
	/* Kafka gets it under health_events, the clients under its own topic. */
	if (have_kafka &&
	    idp_service_publish(svc, IDP_SERVICE_KAFKA, events_topic, "data_processed", json_incref(reading), NULL, id, &err) != 0) {
		idp_service_log(svc, "error", "%s: %s", events_topic, err);
		free(err);
		err = NULL;
	}
	idp_service_publish(svc, IDP_SERVICE_LOCAL, topic, "data_processed", json_incref(reading), NULL, have_kafka ? NULL : id, NULL);
	if (severity) {
		char alert_topic[64];
		snprintf(alert_topic, sizeof alert_topic, "alerts/%s", severity);
		json_t *alert = json_pack("{s:s, s:s, s:s, s:f, s:s?, s:[f, f], s:s}", "severity", severity, "device", device,
					  "metric", metric, "value", value, "unit", unit, "range", r->low, r->high,
					  "reading_event_id", id);
		if (idp_service_publish(svc, (have_mqtt ? IDP_SERVICE_MQTT : 0) | IDP_SERVICE_LOCAL, alert_topic, "alert_triggered", alert,
					id, NULL, &err) != 0) {
			idp_service_log(svc, "error", "%s: %s", alert_topic, err);
			free(err);
		}
		json_object_set_new(reading, "alert", json_string(severity));
	}
	json_object_set_new(reading, "event_id", json_string(id));
	return reading;
}

/* sensors/<device>/<metric>: a number, or {"value": n, "unit": "..."}. */
static void on_sensor(idp_service *svc, const idp_service_message *m, void *user)
{
	(void)user;
	const char *dev = m->topic + strlen("sensors/");
	const char *slash = strchr(dev, '/');
	if (slash == NULL || strchr(slash + 1, '/')) {
		idp_service_log(svc, "warning", "%s: want sensors/<device>/<metric>", m->topic);
		return;
	}
	char device[64] = "";
	size_t dl = (size_t)(slash - dev);
	if (dl < sizeof device)
		memcpy(device, dev, dl), device[dl] = '\0';
	json_error_t jerr;
	json_t *body = json_loadb(m->payload, m->len, JSON_DECODE_ANY, &jerr);
	json_t *v = json_is_object(body) ? json_object_get(body, "value") : body;
	const char *unit = json_is_object(body) ? json_string_value(json_object_get(body, "unit")) : NULL;
	const char *why = NULL;
	if (!json_is_number(v))
		why = "the payload is a number or {\"value\": number}";
	json_t *ev = why ? NULL : process(svc, device, slash + 1, json_number_value(v), unit, "mqtt", &why);
	if (why)
		idp_service_log(svc, "warning", "%s: reading dropped: %s", m->topic, why);
	json_decref(ev);
	json_decref(body);
}

/* POST /readings {"query": "<device>/<metric>", "parameters": {"value": n, "unit"?}} */
static int on_reading(idp_service *svc, const idp_service_task *t, json_t **result, char **error, void *user)
{
	(void)user;
	const char *slash = strchr(t->query, '/');
	json_t *v = json_object_get(t->parameters, "value");
	if (slash == NULL || !json_is_number(v)) {
		*error = strdup("query is \"<device>/<metric>\" and parameters.value a number");
		return -1;
	}
	char device[64] = "";
	size_t dl = (size_t)(slash - t->query);
	if (dl < sizeof device)
		memcpy(device, t->query, dl), device[dl] = '\0';
	const char *why = NULL;
	*result = process(svc, device, slash + 1, json_number_value(v),
			  json_string_value(json_object_get(t->parameters, "unit")), "http", &why);
	if (*result == NULL) {
		*error = strdup(why);
		return -1;
	}
	return 0;
}

/* POST /ranges (or an agent_request with task_type "ranges"): the ranges in force. */
static int on_ranges(idp_service *svc, const idp_service_task *t, json_t **result, char **error, void *user)
{
	(void)svc, (void)t, (void)error, (void)user;
	json_t *out = json_object();
	for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
		json_object_set_new(out, ranges[i].metric, json_pack("[f, f]", ranges[i].low, ranges[i].high));
	*result = out;
	return 0;
}

int main(void)
{
	char *err = NULL;
	idp_service *svc = idp_service_new(NULL, "Health readings from devices: MQTT or HTTP in, Kafka health_events and alerts out", &err);
	if (svc == NULL) {
		fprintf(stderr, "health-streaming: %s\n", err);
		free(err);
		return 2;
	}
	load_ranges(svc);
	idp_service_enable_realtime(svc);
	if (idp_service_add_endpoint(svc, "/readings", "reading", "Take a device reading", on_reading, NULL, &err) ||
	    idp_service_add_endpoint(svc, "/ranges", "ranges", "The normal range of each metric", on_ranges, NULL, &err) ||
	    (idp_service_config(svc, "MQTT_HOST") &&
	     idp_service_subscribe(svc, IDP_SERVICE_MQTT, "sensors/+/+", on_sensor, NULL, &err))) {
		fprintf(stderr, "health-streaming: %s\n", err);
		free(err);
		idp_service_free(svc);
		return 2;
	}
	int rc = idp_service_run(svc, &err);
	if (rc != 0) {
		fprintf(stderr, "health-streaming: %s\n", err);
		free(err);
	}
	idp_service_free(svc);
	return rc == 0 ? 0 : 1;
}
