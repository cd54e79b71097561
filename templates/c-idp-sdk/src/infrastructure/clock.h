/* The clock adapter: the one place that reads the time. */
#ifndef INFRASTRUCTURE_CLOCK_H
#define INFRASTRUCTURE_CLOCK_H

#include <stddef.h>

/* Now, as ISO 8601 UTC, into out (>= 32 bytes). */
void clock_now_iso(char *out, size_t n);

#endif
