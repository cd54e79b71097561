/*
 * A service on libidp-service for the SDK's tests and bench/realtime.
 * Everything comes from the environment (sdk/README.md): MQTT_TOPICS and
 * KAFKA_CONSUMER_TOPICS subscribe without a handler, so what arrives is
 * fanned out to WebSocket/SSE clients as `data_processed` events.
 *
 *   POST /echo   result: {"query": ..., "parameters": ...}
 *   POST /fail   HTTP 500 with "this endpoint always fails"
 *
 * With REALTIME=1 the real-time routes are on even without a platform.
 */
#include <idp/service.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int echo(idp_service *svc, const idp_service_task *t, json_t **result, char **error, void *user)
{
	(void)svc, (void)error, (void)user;
	*result = json_pack("{s:s, s:O, s:s}", "query", t->query, "parameters", t->parameters, "task_id", t->id);
	return 0;
}

static int fail(idp_service *svc, const idp_service_task *t, json_t **result, char **error, void *user)
{
	(void)svc, (void)t, (void)result, (void)user;
	*error = strdup("this endpoint always fails");
	return -1;
}

int main(void)
{
	char *err = NULL;
	idp_service *svc = idp_service_new(NULL, "The SDK's test service", &err);
	if (svc == NULL) {
		fprintf(stderr, "sdk_service: %s\n", err);
		free(err);
		return 2;
	}
	if (getenv("REALTIME") && strcmp(getenv("REALTIME"), "1") == 0)
		idp_service_enable_realtime(svc);
	if (idp_service_add_endpoint(svc, "/echo", "echo", "Echo the query", echo, NULL, &err) ||
	    idp_service_add_endpoint(svc, "/fail", "fail", "Always fails", fail, NULL, &err)) {
		fprintf(stderr, "sdk_service: %s\n", err);
		free(err);
		idp_service_free(svc);
		return 2;
	}
	int rc = idp_service_run(svc, &err);
	if (rc != 0) {
		fprintf(stderr, "sdk_service: %s\n", err);
		free(err);
	}
	idp_service_free(svc);
	return rc == 0 ? 0 : 1;
}
