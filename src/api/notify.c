/* Slack incoming-webhook deliveries (libcurl) on a thread of their own:
 * the workflow never waits for Slack. Messages go out in the order they
 * were queued; a failed delivery is tried again after 0.5, 1 and 2 s, then
 * dropped and counted. */
#include "api/api.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TRIES 4
#define QUEUE_MAX 1000
#define STOP_DRAIN_S 5 /* at a stop: what is queued gets this long, one try each */

typedef struct note {
	char *json;
	struct note *next;
} note;

struct idp_api_notifier {
	char *url;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	note *head, *tail;
	size_t queued;
	bool stopping;
	time_t stop_at;
	unsigned long delivered, failed, dropped;
};

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p, (void)ctx;
	return size * n;
}

/* One POST; true on a 2xx. */
static bool post(CURL *c, const char *url, const char *json)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	long status = 0;
	bool ok = curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
		  status >= 200 && status < 300;
	curl_slist_free_all(h);
	return ok;
}

static void *run(void *arg)
{
	idp_api_notifier *n = arg;
	CURL *c = curl_easy_init();
	pthread_mutex_lock(&n->mu);
	for (;;) {
		while (!n->head && !n->stopping)
			pthread_cond_wait(&n->cv, &n->mu);
		if (!n->head)
			break;
		note *x = n->head;
		n->head = x->next;
		if (!n->head)
			n->tail = NULL;
		n->queued--;
		bool stopping = n->stopping, late = stopping && time(NULL) - n->stop_at >= STOP_DRAIN_S;
		pthread_mutex_unlock(&n->mu);
		bool ok = false;
		for (int t = 0; c && !late && t < (stopping ? 1 : TRIES) && !ok; t++) {
			if (t > 0) { /* 0.5, 1, 2 s */
				long ms = 500L << (t - 1);
				struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
				nanosleep(&d, NULL);
			}
			ok = post(c, n->url, x->json);
		}
		free(x->json);
		free(x);
		pthread_mutex_lock(&n->mu);
		if (ok)
			n->delivered++;
		else
			n->failed++;
	}
	pthread_mutex_unlock(&n->mu);
	if (c)
		curl_easy_cleanup(c);
	return NULL;
}

idp_api_notifier *idp_api_notifier_new(const char *url)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	idp_api_notifier *n = idp_xcalloc(1, sizeof(*n));
	n->url = idp_xstrdup(url);
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cv, NULL);
	if (pthread_create(&n->thread, NULL, run, n) != 0) {
		free(n->url);
		free(n);
		return NULL;
	}
	return n;
}

void idp_api_notifier_send(idp_api_notifier *n, const char *json)
{
	if (!n)
		return;
	note *x = idp_xcalloc(1, sizeof(*x));
	x->json = idp_xstrdup(json);
	pthread_mutex_lock(&n->mu);
	if (n->queued >= QUEUE_MAX) { /* Slack unreachable for long: keep the newest */
		note *old = n->head;
		n->head = old->next;
		if (!n->head)
			n->tail = NULL;
		n->queued--;
		n->dropped++;
		free(old->json);
		free(old);
	}
	if (n->tail)
		n->tail->next = x;
	else
		n->head = x;
	n->tail = x;
	n->queued++;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

void idp_api_notifier_counts(idp_api_notifier *n, unsigned long *delivered, unsigned long *failed)
{
	*delivered = *failed = 0;
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	*delivered = n->delivered;
	*failed = n->failed + n->dropped;
	pthread_mutex_unlock(&n->mu);
}

void idp_api_notifier_free(idp_api_notifier *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	n->stopping = true; /* what is queued still goes out, for a few seconds */
	n->stop_at = time(NULL);
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->thread, NULL);
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cv);
	free(n->url);
	free(n);
	curl_global_cleanup();
}
