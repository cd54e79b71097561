/* The service's health, as the domain sees it. */
#ifndef DOMAIN_HEALTH_H
#define DOMAIN_HEALTH_H

#include <stdbool.h>

typedef struct health {
	const char *service;
	const char *status; /* "healthy" or "unhealthy" */
	char checked_at[32];
} health;

bool health_is_healthy(const health *h);

#endif
