/* HTTP interface: GET /health and GET / on PORT (default 8080), one
 * request per connection. */
#define _POSIX_C_SOURCE 200809L
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "application/health_service.h"
#include "infrastructure/clock.h"

static void reply(int fd, int status, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, status == 200 ? "OK" : status == 503 ? "Service Unavailable" : "Not Found", strlen(body));
	if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

static void serve(int fd, const char *service)
{
	char req[4096];
	ssize_t n = read(fd, req, sizeof(req) - 1);
	if (n <= 0)
		return;
	req[n] = '\0';
	char body[512];
	if (strncmp(req, "GET /health ", 12) == 0) {
		health h = health_service_check(service, clock_now_iso);
		snprintf(body, sizeof(body), "{\"status\":\"%s\",\"service\":\"%s\",\"checked_at\":\"%s\"}", h.status,
			 h.service, h.checked_at);
		reply(fd, health_is_healthy(&h) ? 200 : 503, body);
	} else if (strncmp(req, "GET / ", 6) == 0) {
		snprintf(body, sizeof(body), "{\"service\":\"%s\",\"health\":\"/health\"}", service);
		reply(fd, 200, body);
	} else {
		reply(fd, 404, "{\"error\":\"not found\"}");
	}
}

int main(void)
{
	const char *service = getenv("SERVICE_NAME") ? getenv("SERVICE_NAME") : "{{service}}";
	int port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
	signal(SIGPIPE, SIG_IGN);
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(s, 64) < 0) {
		perror("{{service}}: cannot listen");
		return 1;
	}
	fprintf(stderr, "{{service}} listening on 127.0.0.1:%d\n", port);
	for (;;) {
		int fd = accept(s, NULL, NULL);
		if (fd < 0)
			continue;
		serve(fd, service);
		close(fd);
	}
}
