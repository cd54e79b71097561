/* Just enough of the redis protocol (RESP) for the counter: AUTH and INCR. */
#ifndef COUNTER_REDIS_H
#define COUNTER_REDIS_H

#include <stdbool.h>

typedef struct redis {
	int fd;
} redis;

/* Connects to host:port and authenticates with password (may be NULL). */
bool redis_connect(redis *r, const char *host, const char *port, const char *password);
/* INCR key; false on any error. */
bool redis_incr(redis *r, const char *key, long long *value);
bool redis_ping(redis *r);
void redis_close(redis *r);

#endif
