/* counter: the runtime's example service. GET /health checks redis and
 * PostgreSQL; GET /count increments a counter in redis and records the
 * visit as a row in PostgreSQL. Connection settings come from the
 * environment the platform injects from its Secrets: DB_HOST, DB_PORT,
 * DB_NAME, DB_USER, DB_PASSWORD, REDIS_HOST, REDIS_PORT, REDIS_PASSWORD;
 * PORT is where it listens (8080). One request per connection. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redis.h"

static const char *env(const char *k, const char *fallback)
{
	const char *v = getenv(k);
	return v && *v ? v : fallback;
}

static PGconn *db_connect(void)
{
	const char *keys[] = {"host", "port", "dbname", "user", "password", "connect_timeout", NULL};
	const char *vals[] = {env("DB_HOST", "127.0.0.1"), env("DB_PORT", "5432"), env("DB_NAME", "counter"),
			      env("DB_USER", "counter"), env("DB_PASSWORD", ""), "3", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "counter: PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQclear(PQexec(c, "CREATE TABLE IF NOT EXISTS visits(id bigserial PRIMARY KEY, n bigint NOT NULL,"
			  " at timestamptz NOT NULL DEFAULT now())"));
	return c;
}

static bool redis_open(redis *r)
{
	return redis_connect(r, env("REDIS_HOST", "127.0.0.1"), env("REDIS_PORT", "6379"), getenv("REDIS_PASSWORD"));
}

static void reply(int fd, int status, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, status == 200 ? "OK" : status == 503 ? "Service Unavailable" : "Not Found", strlen(body));
	if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

static void health(int fd, PGconn **db)
{
	redis r;
	bool redis_ok = redis_open(&r) && redis_ping(&r);
	redis_close(&r);
	if (!*db || PQstatus(*db) != CONNECTION_OK) {
		PQfinish(*db);
		*db = db_connect();
	}
	PGresult *res = *db ? PQexec(*db, "SELECT 1") : NULL;
	bool pg_ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
	PQclear(res);
	char body[160];
	snprintf(body, sizeof(body), "{\"status\":\"%s\",\"redis\":\"%s\",\"postgres\":\"%s\"}",
		 redis_ok && pg_ok ? "healthy" : "unhealthy", redis_ok ? "ok" : "down", pg_ok ? "ok" : "down");
	reply(fd, redis_ok && pg_ok ? 200 : 503, body);
}

static void count(int fd, PGconn **db)
{
	redis r;
	long long n = 0;
	bool ok = redis_open(&r) && redis_incr(&r, "counter:visits", &n);
	redis_close(&r);
	if (!*db)
		*db = db_connect();
	char num[32], body[160];
	snprintf(num, sizeof(num), "%lld", n);
	const char *params[] = {num};
	PGresult *res = ok && *db ? PQexecParams(*db, "INSERT INTO visits(n) VALUES ($1::bigint) RETURNING (SELECT count(*) + 1 FROM visits)",
						1, NULL, params, NULL, NULL, 0)
				  : NULL;
	ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
	snprintf(body, sizeof(body), "{\"count\":%lld,\"rows\":%s}", n, ok ? PQgetvalue(res, 0, 0) : "null");
	PQclear(res);
	reply(fd, ok ? 200 : 503, body);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	int port = atoi(env("PORT", "8080"));
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* HOST: the address the platform gives this replica (127.0.0.1 alone). */
	const char *host = env("HOST", "127.0.0.1");
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "counter: HOST %s is no IPv4 address\n", host);
		return 1;
	}
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(s, 64) < 0) {
		perror("counter: cannot listen");
		return 1;
	}
	PGconn *db = db_connect();
	fprintf(stderr, "counter listening on %s:%d\n", host, port);
	for (;;) {
		int fd = accept(s, NULL, NULL);
		if (fd < 0)
			continue;
		char req[2048];
		ssize_t n = read(fd, req, sizeof(req) - 1);
		req[n > 0 ? n : 0] = '\0';
		if (strncmp(req, "GET /health ", 12) == 0)
			health(fd, &db);
		else if (strncmp(req, "GET /count ", 11) == 0)
			count(fd, &db);
		else
			reply(fd, 404, "{\"error\":\"not found\"}");
		close(fd);
	}
}
