#include <stdio.h>
#include <string.h>

#include "application/health_service.h"

static void fixed_clock(char *out, size_t n)
{
	snprintf(out, n, "2024-01-01T00:00:00Z");
}

int main(void)
{
	health h = health_service_check("{{service}}", fixed_clock);
	if (!health_is_healthy(&h) || strcmp(h.checked_at, "2024-01-01T00:00:00Z") != 0) {
		fprintf(stderr, "unexpected health: %s at %s\n", h.status, h.checked_at);
		return 1;
	}
	return 0;
}
