/* Configuration from the environment variables the platform's catalog
 * injects (sdk/README.md has the list), and from the secret files
 * Kubernetes mounts under /var/secrets/<platform>-<kind>-secret/<KEY>. */
#include "service_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which secret a key lives in, by its prefix (the claim's Secrets:
 * <platform>-kafka-secret, -mqtt-secret, -db-secret, ...). */
static const char *secret_kind(const char *key)
{
	static const char *const kinds[][2] = {{"KAFKA_", "kafka"},	  {"MQTT_", "mqtt"},
					       {"DB_", "db"},		  {"DATABASE_", "db"},
					       {"METABASE_", "metabase"}, {"LENSES_", "lenses"}};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strncmp(key, kinds[i][0], strlen(kinds[i][0])) == 0)
			return kinds[i][1];
	return NULL;
}

static char *read_secret_file(const char *platform, const char *key)
{
	const char *kind = secret_kind(key);
	if (platform == NULL || kind == NULL || strchr(key, '/') || strchr(platform, '/'))
		return NULL;
	const char *root = getenv("IDP_SECRETS_DIR") ? getenv("IDP_SECRETS_DIR") : "/var/secrets";
	char path[1024];
	snprintf(path, sizeof path, "%s/%s-%s-secret/%s", root, platform, kind, key);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char buf[4096];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return svc_strdup(buf);
}

const char *idp_service_config(const idp_service *svc, const char *key)
{
	for (size_t i = 0; i < svc->n_settings; i++)
		if (strcmp(svc->settings[i].key, key) == 0)
			return svc->settings[i].value;
	const char *env = getenv(key);
	char *value = env ? svc_strdup(env) : read_secret_file(svc->cfg.platform, key);
	/* Cached (NULL too), so the pointer stays valid for the service's life. */
	idp_service *w = (idp_service *)svc;
	svc_setting *grown = realloc(w->settings, (w->n_settings + 1) * sizeof *grown);
	if (grown == NULL) {
		free(value);
		return NULL;
	}
	w->settings = grown;
	w->settings[w->n_settings].key = svc_strdup(key);
	w->settings[w->n_settings].value = value;
	return w->settings[w->n_settings++].value;
}

static char *first_of(idp_service *svc, const char *const *keys, const char *fallback)
{
	for (; *keys; keys++) {
		const char *v = idp_service_config(svc, *keys);
		if (v && *v)
			return svc_strdup(v);
	}
	return fallback ? svc_strdup(fallback) : NULL;
}

static int number(idp_service *svc, const char *key, double dflt, double min, double max, double *out,
		  char **errmsg)
{
	const char *v = idp_service_config(svc, key);
	*out = dflt;
	if (v == NULL || *v == '\0')
		return 0;
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || *end || end == v || d < min || d > max) {
		svc_seterr(errmsg, "%s=%s: want a number from %g to %g", key, v, min, max);
		return -1;
	}
	*out = d;
	return 0;
}

static bool truthy(const char *v, bool dflt)
{
	if (v == NULL || *v == '\0')
		return dflt;
	return strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0;
}

static int level_of(const char *v)
{
	if (v == NULL)
		return 1;
	if (strcasecmp(v, "DEBUG") == 0)
		return 0;
	if (strcasecmp(v, "WARNING") == 0 || strcasecmp(v, "WARN") == 0)
		return 2;
	if (strcasecmp(v, "ERROR") == 0 || strcasecmp(v, "CRITICAL") == 0)
		return 3;
	return 1;
}

int svc_config_load(idp_service *svc, char **errmsg)
{
	svc_config *c = &svc->cfg;
	/* The platform first: the secret files are found by its name. Our
	 * catalog injects REALTIME_PLATFORM; the original's definition injected
	 * REALTIME_PLATFORM_NAME (and its library read only the former). */
	const char *platform_keys[] = {"REALTIME_PLATFORM", "REALTIME_PLATFORM_NAME", NULL};
	c->platform = first_of(svc, platform_keys, NULL);
	/* (settings read before the platform was known may have missed a file) */
	for (size_t i = 0; i < svc->n_settings; i++) {
		free(svc->settings[i].key);
		free(svc->settings[i].value);
	}
	svc->n_settings = 0;
	const char *host_keys[] = {"HOST", NULL}, *agent_keys[] = {"AGENT_TYPE", NULL},
		   *impl_keys[] = {"IMPLEMENTATION_TYPE", NULL}, *bootstrap_keys[] = {"KAFKA_BOOTSTRAP_SERVERS", NULL},
		   *topic_keys[] = {"KAFKA_CONSUMER_TOPICS", "STREAMING_TOPICS", "KAFKA_TOPICS", NULL},
		   *group_keys[] = {"KAFKA_CONSUMER_GROUP", "STREAMING_CONSUMER_GROUP", NULL},
		   *mqtt_host_keys[] = {"MQTT_HOST", NULL}, *mqtt_user_keys[] = {"MQTT_USER", "MQTT_USERNAME", NULL},
		   *mqtt_pw_keys[] = {"MQTT_PASSWORD", NULL}, *mqtt_topic_keys[] = {"MQTT_TOPICS", NULL};
	c->host = first_of(svc, host_keys, "0.0.0.0");
	c->agent_type = first_of(svc, agent_keys, NULL);
	c->implementation = first_of(svc, impl_keys, NULL);
	c->kafka_bootstrap = first_of(svc, bootstrap_keys, NULL);
	c->kafka_topics = first_of(svc, topic_keys, NULL);
	c->kafka_group = first_of(svc, group_keys, svc->name);
	c->mqtt_host = first_of(svc, mqtt_host_keys, NULL);
	c->mqtt_user = first_of(svc, mqtt_user_keys, NULL);
	c->mqtt_password = first_of(svc, mqtt_pw_keys, NULL);
	c->mqtt_topics = first_of(svc, mqtt_topic_keys, NULL);
	c->log_level = level_of(idp_service_config(svc, "LOG_LEVEL"));
	c->realtime = c->platform || c->kafka_bootstrap || c->mqtt_host;
	c->websocket = truthy(idp_service_config(svc, "WEBSOCKET_ENABLED"), true);
	double port, mqtt_port, idle, status, max_msg, max_body, max_queued;
	if (number(svc, "PORT", 8080, 0, 65535, &port, errmsg) != 0 ||
	    number(svc, "MQTT_PORT", 1883, 1, 65535, &mqtt_port, errmsg) != 0 ||
	    number(svc, "WS_IDLE_TIMEOUT_SECONDS", 600, 0.05, 86400, &idle, errmsg) != 0 ||
	    number(svc, "SSE_STATUS_INTERVAL_SECONDS", 5, 0.05, 86400, &status, errmsg) != 0 ||
	    number(svc, "WS_MAX_MESSAGE_BYTES", 65536, 64, 16 << 20, &max_msg, errmsg) != 0 ||
	    number(svc, "MAX_BODY_BYTES", 1 << 20, 1024, 64 << 20, &max_body, errmsg) != 0 ||
	    number(svc, "WS_MAX_QUEUED_BYTES", 8 << 20, 64 << 10, 1024.0 * (1 << 20), &max_queued, errmsg) != 0)
		return -1;
	c->port = (int)port;
	c->mqtt_port = (int)mqtt_port;
	c->ws_idle_timeout_s = idle;
	c->sse_status_interval_s = status;
	c->ws_max_message = (size_t)max_msg;
	c->max_body = (size_t)max_body;
	c->ws_max_queued = (size_t)max_queued;
	const char *token = idp_service_config(svc, "IDP_SERVICE_TOKEN");
	c->token = token && *token ? svc_strdup(token) : NULL;
	return 0;
}

void svc_config_free(idp_service *svc)
{
	svc_config *c = &svc->cfg;
	char **strs[] = {&c->host,	      &c->agent_type, &c->implementation, &c->platform,
			 &c->kafka_bootstrap, &c->kafka_topics, &c->kafka_group,	&c->mqtt_host,
			 &c->mqtt_user,	      &c->mqtt_password, &c->mqtt_topics, &c->token};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (size_t i = 0; i < svc->n_settings; i++) {
		free(svc->settings[i].key);
		free(svc->settings[i].value);
	}
	free(svc->settings);
	svc->settings = NULL;
	svc->n_settings = 0;
}
