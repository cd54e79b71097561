/*
 * The gateway's autoscaler: Knative's KPA decision, as a pure function of
 * observed concurrency over time. Part of the gateway room's public API
 * (included by gateway.h); kept in its own header because it knows no
 * sockets and no event loop.
 *
 * Semantics are Knative Serving's (config-autoscaler defaults, the
 * autoscaling.knative.dev annotations, pkg/autoscaler/scaling): a stable
 * window average and a panic window average of the in-flight concurrency,
 * desired replicas = ceil(average / (target * utilization)), panic mode when
 * the panic average needs >= panic-threshold of the ready capacity (no
 * scale-down while panicking, until a stable window passes without panic),
 * scale-up/-down rate limits, min/max/initial scale, scale to zero after no
 * traffic for the stable window plus the grace period.
 *
 * Times are seconds on a monotonic clock, passed in by the caller, so that
 * tests can drive the clock. Ownership: idp_gateway_kpa_new returns a state
 * the caller frees with idp_gateway_kpa_free; nothing else is allocated.
 */
#ifndef IDP_GATEWAY_KPA_H
#define IDP_GATEWAY_KPA_H

#include "doc/doc.h"

typedef struct idp_gateway_kpa_config {
	double target;                  /* autoscaling.knative.dev/target: in-flight requests per replica (100) */
	double target_utilization;      /* target-utilization-percentage / 100 (0.70) */
	int64_t container_concurrency;  /* the revision's containerConcurrency: hard limit, 0 = unlimited */
	int32_t min_scale;              /* min-scale (0) */
	int32_t max_scale;              /* max-scale (0 = unlimited) */
	int32_t initial_scale;          /* initial-scale (1) */
	int32_t activation_scale;       /* activation-scale: the least non-zero replica count (1) */
	double stable_window_s;         /* window (60 s; Knative allows 6 s .. 1 h) */
	double panic_window_pct;        /* panic-window-percentage (10: 6 s of 60) */
	double panic_threshold_pct;     /* panic-threshold-percentage (200) */
	double max_scale_up_rate;       /* config-autoscaler max-scale-up-rate (1000) */
	double max_scale_down_rate;     /* config-autoscaler max-scale-down-rate (2) */
	double scale_to_zero_grace_s;   /* scale-to-zero-grace-period (30 s); after configure, the max of it
					 * and scale-to-zero-pod-retention-period */
	double scale_down_delay_s;      /* scale-down-delay (0 s) */
	bool enable_scale_to_zero;      /* enable-scale-to-zero (true) */
} idp_gateway_kpa_config;

/* Knative's config-autoscaler defaults. */
void idp_gateway_kpa_defaults(idp_gateway_kpa_config *c);

/* Applies a Knative Service revision template's autoscaling.knative.dev/...
 * annotations (a map of strings, or NULL) and its containerConcurrency on
 * top of c. When containerConcurrency > 0 and no target annotation is
 * given, the target is containerConcurrency (Knative: the utilization then
 * applies to it). Bad values (not a number, out of Knative's range, min >
 * max, an unknown autoscaling.knative.dev/class or metric other than kpa /
 * concurrency) fail with IDP_EINPUT at the annotation's position. */
int idp_gateway_kpa_configure(idp_gateway_kpa_config *c, const idp_doc_node *annotations,
			      int64_t container_concurrency, idp_err *err);

typedef struct idp_gateway_kpa idp_gateway_kpa;

idp_gateway_kpa *idp_gateway_kpa_new(const idp_gateway_kpa_config *c);
void idp_gateway_kpa_free(idp_gateway_kpa *k);

/* Records one sample of the revision's total in-flight concurrency (over
 * all replicas, requests held by the activator included) at time now.
 * Samples in one second are averaged; a second without a sample keeps the
 * previous value (the gateway samples once per tick). Call before decide. */
void idp_gateway_kpa_record(idp_gateway_kpa *k, double now, double concurrency);

typedef struct idp_gateway_kpa_decision {
	int32_t desired;    /* replicas wanted now (after rate limits, min/max) */
	bool panic;         /* in panic mode */
	double stable_avg;  /* average concurrency over the stable window */
	double panic_avg;   /* average concurrency over the panic window */
} idp_gateway_kpa_decision;

/* The decision at time now for a revision with ready_replicas ready.
 * Before any sample, desired is initial_scale (clamped to min/max). Scale
 * to zero needs a whole stable window without traffic after the revision
 * became active, then the grace period. */
idp_gateway_kpa_decision idp_gateway_kpa_decide(idp_gateway_kpa *k, double now, int32_t ready_replicas);

#endif
