#include "domain/health.h"

#include <string.h>

bool health_is_healthy(const health *h)
{
	return strcmp(h->status, "healthy") == 0;
}
