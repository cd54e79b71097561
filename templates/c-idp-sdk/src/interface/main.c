/* HTTP interface, on libidp-service (the platform's C SDK): GET /health,
 * GET /, GET /docs and GET /openapi.json come with the SDK; the service
 * adds POST /check, which runs the application's health use case. HOST,
 * PORT (default 0.0.0.0:8080), LOG_LEVEL and the rest come from the
 * environment (subprojects/idp-service/include/idp/service.h). */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <idp/service.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/health_service.h"
#include "infrastructure/clock.h"

/* POST /check: {"query": "...", "parameters": {...}} in; the service's
 * health as the use case reports it out, under "result". */
static int check(idp_service *svc, const idp_service_task *task, json_t **result, char **error, void *user)
{
	(void)task, (void)user;
	health h = health_service_check(idp_service_name(svc), clock_now_iso);
	if (!health_is_healthy(&h)) {
		*error = strdup(h.status);
		return -1;
	}
	*result = json_pack("{s:s, s:s, s:s}", "service", h.service, "status", h.status, "checked_at", h.checked_at);
	return 0;
}

int main(void)
{
	const char *name = getenv("SERVICE_NAME");
	char *err = NULL;
	idp_service *svc = idp_service_new(name && *name ? name : "{{service}}", "The {{service}} service", &err);
	if (svc == NULL || idp_service_add_endpoint(svc, "/check", "check", "Check the service's health", check, NULL,
						    &err) != 0) {
		fprintf(stderr, "{{service}}: %s\n", err ? err : "cannot start");
		free(err);
		idp_service_free(svc);
		return 2;
	}
	int rc = idp_service_run(svc, &err);
	if (rc != 0) {
		fprintf(stderr, "{{service}}: %s\n", err ? err : "cannot run");
		free(err);
	}
	idp_service_free(svc);
	return rc == 0 ? 0 : 1;
}
