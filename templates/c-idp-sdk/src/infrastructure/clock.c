#define _POSIX_C_SOURCE 200809L
#include "infrastructure/clock.h"

#include <time.h>

void clock_now_iso(char *out, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
