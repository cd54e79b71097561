#include "application/health_service.h"

health health_service_check(const char *service, health_clock clock)
{
	health h = {service, "healthy", {0}};
	clock(h.checked_at, sizeof(h.checked_at));
	return h;
}
