#define _POSIX_C_SOURCE 200809L
#include "redis.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bool send_command(redis *r, int argc, const char *const *argv)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "*%d\r\n", argc);
	for (int i = 0; i < argc && n > 0 && (size_t)n < sizeof(buf); i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	return n > 0 && (size_t)n < sizeof(buf) && write(r->fd, buf, (size_t)n) == n;
}

/* One reply line ("+OK", ":42", "-ERR ..."), without its CRLF. */
static bool read_line(redis *r, char *out, size_t cap)
{
	size_t n = 0;
	char c;
	while (n + 1 < cap && read(r->fd, &c, 1) == 1) {
		if (c == '\n') {
			if (n && out[n - 1] == '\r')
				n--;
			out[n] = '\0';
			return true;
		}
		out[n++] = c;
	}
	return false;
}

bool redis_connect(redis *r, const char *host, const char *port, const char *password)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	r->fd = -1;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return false;
	for (struct addrinfo *ai = res; ai && r->fd < 0; ai = ai->ai_next) {
		r->fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (r->fd >= 0 && connect(r->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(r->fd);
			r->fd = -1;
		}
	}
	freeaddrinfo(res);
	if (r->fd < 0)
		return false;
	char line[256];
	if (password && *password) {
		const char *auth[] = {"AUTH", password};
		if (!send_command(r, 2, auth) || !read_line(r, line, sizeof(line)) || strcmp(line, "+OK") != 0) {
			redis_close(r);
			return false;
		}
	}
	return true;
}

bool redis_incr(redis *r, const char *key, long long *value)
{
	const char *cmd[] = {"INCR", key};
	char line[256];
	if (!send_command(r, 2, cmd) || !read_line(r, line, sizeof(line)) || line[0] != ':')
		return false;
	*value = strtoll(line + 1, NULL, 10);
	return true;
}

bool redis_ping(redis *r)
{
	const char *cmd[] = {"PING"};
	char line[64];
	return send_command(r, 1, cmd) && read_line(r, line, sizeof(line)) && strcmp(line, "+PONG") == 0;
}

void redis_close(redis *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}
