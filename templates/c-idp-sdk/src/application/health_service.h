/* Use case: report the service's health. */
#ifndef APPLICATION_HEALTH_SERVICE_H
#define APPLICATION_HEALTH_SERVICE_H

#include <stddef.h>

#include "domain/health.h"

typedef void (*health_clock)(char *out, size_t n);

health health_service_check(const char *service, health_clock clock);

#endif
