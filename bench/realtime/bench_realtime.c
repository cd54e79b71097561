/*
 * bench/realtime.sh's load generator: N MQTT messages published to bench/x
 * and received by CLIENTS receivers, with the end-to-end latency of every
 * delivery.
 *
 *   bench_realtime ws   BROKER_PORT SERVICE_PORT N CLIENTS QOS RATE
 *   bench_realtime mqtt BROKER_PORT 0            N CLIENTS QOS RATE
 *
 * ws:   the receivers are WebSocket clients of the service (GET /ws, each
 *       subscribed to bench/#); the service subscribes to bench/# on the
 *       broker and fans every message out to them.
 * mqtt: the receivers are MQTT subscribers (libmosquitto, QoS QOS) of
 *       bench/# on the broker itself: the peer.
 *
 * One thread drives all the receivers (epoll; a hand-written WebSocket
 * client in ws mode, libmosquitto's non-threaded loop functions in mqtt
 * mode), another publishes (libmosquitto, QoS QOS, no in-flight limit):
 * payload {"seq":i,"t":<CLOCK_MONOTONIC ns>}, RATE messages/s (0: as fast
 * as the broker takes them). Before the N messages, warm-up messages
 * (seq -1) go out until every receiver has seen one: the path is up.
 *
 * Prints one line of key=value (rates per second, latencies in ms):
 *   mode ... pub_rate msg_rate deliv_rate delivered expected dup p50 p99 max
 *   window cpu
 * pub_rate: N / (first publish .. last PUBACK, or last write at QoS 0);
 * msg_rate: deliveries per receiver / window; deliv_rate: all deliveries /
 * window; window: first publish .. last delivery (s); dup: a receiver got
 * a message twice; cpu: this process's user+system seconds (receivers and
 * publisher). Exit status 0, or 1 when a step failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TOPIC "bench/x"
#define FILTER "bench/#"
/* RFC 6455's example key and its accept value. */
#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static bool mode_ws;
static int broker_port, service_port, n_clients, qos;
static long n_msgs;
static double rate;

/* Touched by the receiver thread only. */
static uint64_t *lat;             /* n_msgs * n_clients latencies (ns) */
static size_t n_lat;              /* unique measured deliveries */
static unsigned long long dups;   /* a (client, seq) seen twice */
static unsigned char *seen;       /* bitmap (client, seq) */
static unsigned char *warm;       /* per client: saw a warm-up message */
static uint64_t t_last_delivery;

/* Shared with the publisher. */
static atomic_int warm_clients;
static atomic_bool pub_done, stop_all;
static atomic_ullong t_first_pub, t_pub_end, acked;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_realtime: %s\n", what);
	exit(1);
}

/* The integer after key in s[0..len), or false. */
static bool find_int(const char *s, size_t len, const char *key, long long *out)
{
	size_t kl = strlen(key);
	const char *p = memmem(s, len, key, kl);
	if (p == NULL)
		return false;
	p += kl;
	const char *end = s + len;
	bool neg = false;
	if (p < end && *p == '-')
		neg = true, p++;
	if (p >= end || *p < '0' || *p > '9')
		return false;
	long long v = 0;
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	*out = neg ? -v : v;
	return true;
}

/* A message (its JSON text) as receiver `client` got it. */
static void record(int client, const char *s, size_t len)
{
	long long seq, t;
	if (!find_int(s, len, "\"seq\":", &seq) || !find_int(s, len, "\"t\":", &t))
		return;
	uint64_t now = now_ns();
	if (seq < 0) {
		if (!warm[client]) {
			warm[client] = 1;
			atomic_fetch_add(&warm_clients, 1);
		}
		return;
	}
	if (seq >= n_msgs)
		return;
	size_t bit = (size_t)client * (size_t)n_msgs + (size_t)seq;
	if (seen[bit / 8] & (1u << (bit % 8))) {
		dups++;
		return;
	}
	seen[bit / 8] |= (unsigned char)(1u << (bit % 8));
	lat[n_lat++] = now - (uint64_t)t;
	t_last_delivery = now;
}

/* ------------------------------------------------------------ WebSocket */

enum { WS_HANDSHAKE, WS_OPEN, WS_SUBSCRIBING, WS_READY, WS_CLOSED };

typedef struct wsconn {
	int fd, idx, state;
	unsigned char *buf;       /* bytes read, not parsed yet */
	size_t len, cap;
	unsigned char *msg;       /* a fragmented message being put together */
	size_t msg_len, msg_cap;
	int msg_op;
} wsconn;

static wsconn *conns;
static int n_ready, n_closed;

static void write_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pf = {fd, POLLOUT, 0};
			poll(&pf, 1, 100);
			continue;
		}
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

/* A client frame: masked (RFC 6455 5.3). */
static void ws_send(wsconn *c, int op, const void *data, size_t n)
{
	unsigned char *f = malloc(n + 14);
	size_t h = 0;
	f[h++] = (unsigned char)(0x80 | op);
	if (n < 126) {
		f[h++] = (unsigned char)(0x80 | n);
	} else if (n < 65536) {
		f[h++] = 0x80 | 126;
		f[h++] = (unsigned char)(n >> 8);
		f[h++] = (unsigned char)n;
	} else {
		f[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			f[h++] = (unsigned char)((uint64_t)n >> (i * 8));
	}
	uint32_t r = (uint32_t)random();
	unsigned char mask[4] = {(unsigned char)r, (unsigned char)(r >> 8), (unsigned char)(r >> 16), (unsigned char)(r >> 24)};
	memcpy(f + h, mask, 4);
	h += 4;
	const unsigned char *d = data;
	for (size_t i = 0; i < n; i++)
		f[h + i] = d[i] ^ mask[i % 4];
	write_all(c->fd, f, h + n);
	free(f);
}

static bool has(const unsigned char *s, size_t n, const char *needle)
{
	return memmem(s, n, needle, strlen(needle)) != NULL;
}

static void ws_message(wsconn *c, const unsigned char *p, size_t n)
{
	if (c->state == WS_READY) {
		if (has(p, n, "\"message_type\":\"event\""))
			record(c->idx, (const char *)p, n);
	} else if (c->state == WS_OPEN && has(p, n, "\"message_type\":\"connection_established\"")) {
		static const char sub[] = "{\"message_type\":\"subscribe\",\"payload\":{\"topic\":\"" FILTER "\"}}";
		ws_send(c, 1, sub, sizeof sub - 1);
		c->state = WS_SUBSCRIBING;
	} else if (c->state == WS_SUBSCRIBING && has(p, n, "\"message_type\":\"subscription_confirmed\"")) {
		c->state = WS_READY;
		n_ready++;
	}
}

static void ws_close(wsconn *c)
{
	if (c->state == WS_CLOSED)
		return;
	if (c->state == WS_READY)
		n_ready--;
	c->state = WS_CLOSED;
	n_closed++;
}

static void ws_frame(wsconn *c, bool fin, int op, unsigned char *p, size_t n)
{
	switch (op) {
	case 0x0: /* continuation */
	case 0x1:
	case 0x2:
		if (op != 0)
			c->msg_len = 0, c->msg_op = op;
		if (fin && op != 0) {
			if (op == 1)
				ws_message(c, p, n);
			return;
		}
		if (c->msg_len + n > c->msg_cap) {
			c->msg_cap = (c->msg_len + n) * 2;
			c->msg = realloc(c->msg, c->msg_cap);
		}
		memcpy(c->msg + c->msg_len, p, n);
		c->msg_len += n;
		if (fin && c->msg_op == 1)
			ws_message(c, c->msg, c->msg_len);
		return;
	case 0x8: /* close: answer and stop */
		ws_send(c, 0x8, p, n < 2 ? n : 2);
		ws_close(c);
		return;
	case 0x9: /* ping */
		ws_send(c, 0xA, p, n);
		return;
	default:
		return;
	}
}

/* Parses what c->buf holds: the 101, then frames (7-, 16- and 64-bit
 * lengths; a server does not mask, but a masked frame is read too). */
static void ws_parse(wsconn *c)
{
	size_t off = 0;
	if (c->state == WS_HANDSHAKE) {
		unsigned char *e = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (e == NULL)
			return;
		size_t hl = (size_t)(e - c->buf) + 4;
		if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0 || !has(c->buf, hl, WS_ACCEPT)) {
			fprintf(stderr, "bench_realtime: client %d: no WebSocket upgrade: %.*s\n", c->idx, (int)hl, c->buf);
			ws_close(c);
			return;
		}
		c->state = WS_OPEN;
		off = hl;
	}
	while (c->state != WS_CLOSED && c->len - off >= 2) {
		unsigned char *b = c->buf + off;
		size_t avail = c->len - off, h = 2;
		bool fin = b[0] & 0x80, masked = b[1] & 0x80;
		int op = b[0] & 0x0f;
		uint64_t n = b[1] & 0x7f;
		if (n == 126) {
			if (avail < 4)
				break;
			n = (uint64_t)b[2] << 8 | b[3];
			h = 4;
		} else if (n == 127) {
			if (avail < 10)
				break;
			n = 0;
			for (int i = 0; i < 8; i++)
				n = n << 8 | b[2 + i];
			h = 10;
		}
		unsigned char mask[4] = {0};
		if (masked) {
			if (avail < h + 4)
				break;
			memcpy(mask, b + h, 4);
			h += 4;
		}
		if (n > avail - h)
			break;
		if (masked)
			for (uint64_t i = 0; i < n; i++)
				b[h + i] ^= mask[i % 4];
		ws_frame(c, fin, op, b + h, (size_t)n);
		off += h + (size_t)n;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static void ws_readable(wsconn *c)
{
	if (c->cap - c->len < 65536) {
		c->cap = c->cap ? c->cap * 2 : 262144;
		c->buf = realloc(c->buf, c->cap);
	}
	ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		ws_close(c);
		return;
	}
	c->len += (size_t)r;
	ws_parse(c);
}

static int tcp_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("cannot connect to the service");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* ------------------------------------------------------------ MQTT */

typedef struct mqsub {
	struct mosquitto *m;
	int idx;
	bool ready;
} mqsub;

static mqsub *subs;

static void on_sub_connect(struct mosquitto *m, void *obj, int rc)
{
	(void)obj;
	if (rc != 0)
		die("a subscriber's connection was refused");
	mosquitto_subscribe(m, NULL, FILTER, qos);
}

static void on_sub_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	(void)m, (void)mid, (void)n, (void)granted;
	mqsub *s = obj;
	if (!s->ready) {
		s->ready = true;
		n_ready++;
	}
}

static void on_sub_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	(void)m;
	mqsub *s = obj;
	record(s->idx, msg->payload, (size_t)msg->payloadlen);
}

static void on_sub_disconnect(struct mosquitto *m, void *obj, int rc)
{
	(void)m, (void)obj;
	if (!atomic_load(&stop_all) && rc != 0)
		n_closed++;
}

/* A readable subscriber: its packets until the socket is empty (libmosquitto
 * reads one packet per call). */
static void mq_readable(mqsub *s)
{
	for (int i = 0; i < 4096; i++) {
		errno = 0;
		int rc = mosquitto_loop_read(s->m, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			n_closed++;
			return;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
	}
}

/* ------------------------------------------------------------ receivers */

static int ep;

/* One pass of the receivers' loop (wait at most ms). */
static void receive(int ms)
{
	struct epoll_event ev[128];
	int n = epoll_wait(ep, ev, 128, ms);
	for (int i = 0; i < n; i++) {
		if (mode_ws) {
			wsconn *c = ev[i].data.ptr;
			if (c->state != WS_CLOSED)
				ws_readable(c);
		} else {
			mq_readable(ev[i].data.ptr);
		}
	}
	if (!mode_ws) {
		static uint64_t misc;
		uint64_t now = now_ns();
		for (int i = 0; i < n_clients; i++)
			if (mosquitto_want_write(subs[i].m))
				mosquitto_loop_write(subs[i].m, 1);
		if (now - misc > 1000000000ull) {
			misc = now;
			for (int i = 0; i < n_clients; i++)
				mosquitto_loop_misc(subs[i].m);
		}
	}
}

static void setup_receivers(void)
{
	ep = epoll_create1(0);
	if (mode_ws) {
		conns = calloc((size_t)n_clients, sizeof *conns);
		char req[512];
		int rl = snprintf(req, sizeof req,
				  "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				  "Sec-WebSocket-Key: " WS_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
				  service_port);
		for (int i = 0; i < n_clients; i++) {
			wsconn *c = &conns[i];
			c->idx = i;
			c->fd = tcp_connect(service_port);
			write_all(c->fd, req, (size_t)rl);
			struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
		}
		/* (non-blocking from here: the loop reads what is there) */
		for (int i = 0; i < n_clients; i++) {
			int one = 1;
			ioctl(conns[i].fd, FIONBIO, &one);
		}
	} else {
		subs = calloc((size_t)n_clients, sizeof *subs);
		for (int i = 0; i < n_clients; i++) {
			mqsub *s = &subs[i];
			s->idx = i;
			char id[64];
			snprintf(id, sizeof id, "bench-sub-%d-%d", (int)getpid(), i);
			s->m = mosquitto_new(id, true, s);
			if (s->m == NULL)
				die("mosquitto_new");
			mosquitto_connect_callback_set(s->m, on_sub_connect);
			mosquitto_subscribe_callback_set(s->m, on_sub_subscribe);
			mosquitto_message_callback_set(s->m, on_sub_message);
			mosquitto_disconnect_callback_set(s->m, on_sub_disconnect);
			if (mosquitto_connect(s->m, "127.0.0.1", broker_port, 60) != MOSQ_ERR_SUCCESS)
				die("a subscriber cannot connect to the broker");
			struct epoll_event e = {.events = EPOLLIN, .data.ptr = s};
			epoll_ctl(ep, EPOLL_CTL_ADD, mosquitto_socket(s->m), &e);
		}
	}
	uint64_t end = now_ns() + 20000000000ull;
	while (n_ready < n_clients && n_closed == 0 && now_ns() < end)
		receive(10);
	if (n_ready < n_clients) {
		fprintf(stderr, "bench_realtime: %d of %d receivers subscribed (%d closed)\n", n_ready, n_clients, n_closed);
		exit(1);
	}
}

static void close_receivers(void)
{
	atomic_store(&stop_all, true);
	for (int i = 0; i < n_clients; i++) {
		if (mode_ws) {
			if (conns[i].state != WS_CLOSED)
				ws_send(&conns[i], 0x8, "\x03\xe8", 2);
			close(conns[i].fd);
			free(conns[i].buf);
			free(conns[i].msg);
		} else {
			mosquitto_disconnect(subs[i].m);
			mosquitto_loop_write(subs[i].m, 1);
			mosquitto_destroy(subs[i].m);
		}
	}
	close(ep);
}

/* ------------------------------------------------------------ publisher */

static void on_pub_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m, (void)obj, (void)mid;
	atomic_fetch_add(&acked, 1);
	atomic_store(&t_pub_end, now_ns());
}

static void on_pub_connect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	*(int *)obj = rc == 0 ? 1 : -1;
}

static void publish(struct mosquitto *p, long long seq)
{
	char payload[96];
	int n = snprintf(payload, sizeof payload, "{\"seq\":%lld,\"t\":%llu}", seq, (unsigned long long)now_ns());
	int rc;
	while ((rc = mosquitto_publish(p, NULL, TOPIC, n, payload, qos, false)) == MOSQ_ERR_NOMEM)
		mosquitto_loop(p, 1, 1);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bench_realtime: publish: %s\n", mosquitto_strerror(rc));
		exit(1);
	}
}

static void *publisher(void *arg)
{
	(void)arg;
	int connected = 0;
	struct mosquitto *p = mosquitto_new(NULL, true, &connected);
	if (p == NULL)
		die("mosquitto_new");
	/* no in-flight limit on our side: the broker's reading is the limit */
	mosquitto_int_option(p, MOSQ_OPT_SEND_MAXIMUM, 65535);
	mosquitto_connect_callback_set(p, on_pub_connect);
	mosquitto_publish_callback_set(p, on_pub_publish);
	if (mosquitto_connect(p, "127.0.0.1", broker_port, 60) != MOSQ_ERR_SUCCESS)
		die("the publisher cannot connect to the broker");
	for (uint64_t end = now_ns() + 5000000000ull; connected == 0 && now_ns() < end;)
		mosquitto_loop(p, 10, 1);
	if (connected != 1)
		die("the publisher's connection was refused");

	/* Warm-up: until every receiver saw one (the service's MQTT
	 * subscription is in place), then a pause for the stragglers. */
	uint64_t end = now_ns() + 15000000000ull;
	while (atomic_load(&warm_clients) < n_clients) {
		if (now_ns() > end)
			die("warm-up: not every receiver got a message within 15 s");
		publish(p, -1);
		for (uint64_t t = now_ns() + 100000000ull; now_ns() < t && atomic_load(&warm_clients) < n_clients;)
			mosquitto_loop(p, 10, 1);
	}
	for (uint64_t t = now_ns() + 300000000ull; now_ns() < t;)
		mosquitto_loop(p, 10, 1);
	unsigned long long warm_acks = atomic_load(&acked);

	uint64_t t0 = now_ns();
	atomic_store(&t_first_pub, t0);
	for (long i = 0; i < n_msgs; i++) {
		if (rate > 0) {
			/* (sleeping: a spinning publisher would take a core from the
			 * broker and the service) */
			uint64_t at = t0 + (uint64_t)((double)i * 1e9 / rate), now;
			while ((now = now_ns()) < at) {
				uint64_t left = at - now;
				if (left > 1500000) {
					mosquitto_loop(p, (int)((left - 500000) / 1000000), 1);
				} else if (left > 60000) {
					struct timespec ts = {0, (long)(left - 50000)};
					nanosleep(&ts, NULL);
				}
			}
		}
		publish(p, i);
		if ((i & 31) == 31)
			mosquitto_loop(p, 0, 1);
	}
	for (uint64_t t = now_ns() + 30000000000ull; atomic_load(&acked) - warm_acks < (unsigned long long)n_msgs && now_ns() < t;)
		mosquitto_loop(p, 10, 1);
	if (atomic_load(&acked) - warm_acks < (unsigned long long)n_msgs)
		fprintf(stderr, "bench_realtime: %llu of %ld publishes acknowledged\n", atomic_load(&acked) - warm_acks, n_msgs);
	atomic_store(&pub_done, true);
	while (!atomic_load(&stop_all))
		mosquitto_loop(p, 10, 1);
	mosquitto_disconnect(p);
	mosquitto_destroy(p);
	return NULL;
}

/* ------------------------------------------------------------ main */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 8 || (strcmp(argv[1], "ws") != 0 && strcmp(argv[1], "mqtt") != 0)) {
		fprintf(stderr, "usage: bench_realtime ws|mqtt BROKER_PORT SERVICE_PORT N CLIENTS QOS RATE\n");
		return 2;
	}
	mode_ws = strcmp(argv[1], "ws") == 0;
	broker_port = atoi(argv[2]);
	service_port = atoi(argv[3]);
	n_msgs = atol(argv[4]);
	n_clients = atoi(argv[5]);
	qos = atoi(argv[6]);
	rate = atof(argv[7]);
	if (n_msgs < 1 || n_clients < 1 || qos < 0 || qos > 1 || rate < 0)
		return fprintf(stderr, "bench_realtime: N >= 1, CLIENTS >= 1, QOS 0 or 1, RATE >= 0\n"), 2;
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	srandom((unsigned)now_ns());
	size_t total = (size_t)n_msgs * (size_t)n_clients;
	lat = malloc(total * sizeof *lat);
	seen = calloc(total / 8 + 1, 1);
	warm = calloc((size_t)n_clients, 1);
	if (lat == NULL || seen == NULL || warm == NULL)
		die("out of memory");

	setup_receivers();
	pthread_t pub;
	pthread_create(&pub, NULL, publisher, NULL);

	/* Until every receiver has every message, or nothing came for 2 s
	 * after the last publish was acknowledged, or 60 s. */
	uint64_t hard = now_ns() + 60000000000ull, quiet = 0;
	size_t last_n = 0;
	while (n_lat < total && n_closed == 0) {
		receive(10);
		uint64_t now = now_ns();
		if (now > hard)
			break;
		if (!atomic_load(&pub_done) || n_lat != last_n) {
			last_n = n_lat;
			quiet = now;
		} else if (now - quiet > 2000000000ull) {
			break;
		}
	}
	if (n_closed)
		fprintf(stderr, "bench_realtime: %d receivers lost their connection\n", n_closed);
	close_receivers();
	pthread_join(pub, NULL);

	uint64_t t0 = atomic_load(&t_first_pub), tp = atomic_load(&t_pub_end);
	double pub_s = (double)(tp - t0) / 1e9, win_s = n_lat ? (double)(t_last_delivery - t0) / 1e9 : 0;
	qsort(lat, n_lat, sizeof *lat, cmp_u64);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		     (double)ru.ru_stime.tv_usec / 1e6;
#define PCT(p) (n_lat ? (double)lat[(size_t)((double)(n_lat - 1) * (p))] / 1e6 : 0)
	printf("mode=%s n=%ld clients=%d qos=%d rate=%.0f pub_rate=%.0f msg_rate=%.0f deliv_rate=%.0f delivered=%zu "
	       "expected=%zu dup=%llu p50=%.3f p99=%.3f max=%.3f window=%.3f cpu=%.2f\n",
	       mode_ws ? "ws" : "mqtt", n_msgs, n_clients, qos, rate, pub_s > 0 ? (double)n_msgs / pub_s : 0,
	       win_s > 0 ? (double)n_lat / n_clients / win_s : 0, win_s > 0 ? (double)n_lat / win_s : 0, n_lat, total,
	       dups, PCT(0.5), PCT(0.99), n_lat ? (double)lat[n_lat - 1] / 1e6 : 0, win_s, cpu);
	free(lat);
	free(seen);
	free(warm);
	mosquitto_lib_cleanup();
	return n_closed ? 1 : 0;
}
