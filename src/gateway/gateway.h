/*
 * gateway: the front door of the local runtime. Every request to an
 * application goes through it: routed by host and path (Knative Services,
 * Istio VirtualServices, the platform tools' path prefixes, the platform
 * API), held while a scaled-to-zero service starts (the activator), and
 * counted so that the autoscaler (kpa.h, Knative's KPA) can decide how many
 * replicas each service runs. The gateway asks for replicas through the
 * scaler interface below; it never starts processes itself.
 *
 * One event loop (libh2o's evloop) runs everything: the gateway is not
 * thread-safe, and every callback (scaler, probes) runs on the loop thread.
 *
 * Ownership: idp_gateway_new copies what it keeps from the config; route
 * tables are built from rendered objects into their own memory (the objects
 * may be freed afterwards). Strings passed to functions are borrowed.
 */
#ifndef IDP_GATEWAY_H
#define IDP_GATEWAY_H

#include "doc/doc.h"
#include "gateway/kpa.h"

/* ---------------------------------------------------------------- routes */

/* The platform tools served under a path prefix (/argocd, /grafana, ...). */
typedef enum idp_gateway_tool {
	IDP_GATEWAY_TOOL_ARGOCD,
	IDP_GATEWAY_TOOL_GRAFANA,
	IDP_GATEWAY_TOOL_PROMETHEUS,
	IDP_GATEWAY_TOOL_JAEGER,
	IDP_GATEWAY_TOOL_KIALI,
	IDP_GATEWAY_TOOL_COUNT
} idp_gateway_tool;

/* "argocd", "grafana", ... */
const char *idp_gateway_tool_name(idp_gateway_tool t);

typedef struct idp_gateway_config {
	const char *domain;                            /* Knative domain: <svc>.<ns>.<domain> ("localhost") */
	const char *tools[IDP_GATEWAY_TOOL_COUNT];     /* upstream URL per tool, NULL = not configured */
	const char *api;                               /* the platform API upstream (/api, /slack, /oam), or NULL */
	double hold_timeout_s;                         /* how long a request waits for a replica (30) */
	size_t hold_max;                               /* requests held per service before 503 (1000) */
	double probe_interval_s;                       /* readiness probing while starting (0.005) */
	double tick_s;                                 /* autoscaler tick (2) */
	size_t max_header_bytes;                       /* request head limit (16 KiB) */
	size_t max_body_bytes;                         /* request body limit (64 MiB) */
	double idle_timeout_s;                         /* client and upstream I/O timeout (60) */
	idp_gateway_kpa_config kpa_defaults;           /* config-autoscaler (Knative's defaults) */
	bool skip_foreign_destinations;                /* a VirtualService destination that is no Knative
							  Service of the objects is left out (a route left
							  with none too) instead of an error: the local
							  runtime's, where such Services are daemons (false) */
} idp_gateway_config;

/* Fills c with the defaults above. */
void idp_gateway_config_defaults(idp_gateway_config *c);

/* What a request resolves to. */
typedef enum idp_gateway_target {
	IDP_GATEWAY_NONE,      /* no route: 404 */
	IDP_GATEWAY_SERVICE,   /* a service of the runtime: service holds "<namespace>/<name>" */
	IDP_GATEWAY_TOOL,      /* a platform tool (upstream NULL: not configured, 503) */
	IDP_GATEWAY_API        /* the platform API (upstream NULL: not configured, 503) */
} idp_gateway_target;

typedef struct idp_gateway_route_match {
	idp_gateway_target target;
	const char *service;   /* SERVICE: "<namespace>/<name>", "...@<cluster>" for a topology's copy (borrowed) */
	const char *upstream;  /* TOOL/API: the upstream URL, or NULL when unconfigured */
	idp_gateway_tool tool; /* TOOL */
	const char *path;      /* the path to send upstream (rewritten, prefix stripped), arena-owned */
	const char *prefix;    /* TOOL: the stripped prefix, for x-forwarded-prefix */
	double timeout_s;      /* a VirtualService route's timeout, 0 = none */
} idp_gateway_route_match;

typedef struct idp_gateway_routes idp_gateway_routes;

/* Builds a route table from rendered objects: serving.knative.dev Services
 * (host <name>.<namespace>.<domain>, also <name>.<namespace> and
 * <name>.<namespace>.svc.cluster.local), networking.istio.io VirtualServices
 * (HTTP routes: uri prefix/exact/regex and header matches, rewrite.uri,
 * timeout, weighted route destinations to those services) with the hosts of
 * their Gateways, plus the fixed tool and API prefixes. Objects of other
 * kinds are ignored. A route to a service that is not among the objects, or
 * a bad match, fails with IDP_EINPUT at its position. */
int idp_gateway_routes_build(const idp_gateway_config *c, idp_doc_node *const *objects, size_t n,
			     idp_gateway_routes **out, idp_err *err);
void idp_gateway_routes_free(idp_gateway_routes *r);

/* A request header, for header matches. */
typedef struct idp_gateway_header {
	const char *name; /* lower case */
	const char *value;
	size_t value_len;
} idp_gateway_header;

/* Resolves one request. host may carry a port (dropped). pick in [0, 1)
 * chooses among weighted destinations (the caller passes a random or
 * round-robin number). Strings in *m live in a or in the table. */
void idp_gateway_routes_match(const idp_gateway_routes *r, idp_arena *a, const char *host, const char *path,
			      const idp_gateway_header *headers, size_t n_headers, double pick,
			      idp_gateway_route_match *m);

/* The service's readiness probe path (its revision's first container's
 * readinessProbe.httpGet.path), or NULL: then a TCP connect is the check,
 * as Knative's default probe. Borrowed from the table. */
const char *idp_gateway_routes_probe_path(const idp_gateway_routes *r, const char *service);

/* True when some route matches on request headers (callers may skip
 * collecting headers otherwise). */
bool idp_gateway_routes_use_headers(const idp_gateway_routes *r);

/* The services the table knows, and each one's autoscaling config (from
 * its revision template annotations and containerConcurrency). */
size_t idp_gateway_routes_services(const idp_gateway_routes *r, const char ***names,
				   const idp_gateway_kpa_config **configs);

/* ---------------------------------------------------------------- the server */

/* How the gateway gets replicas: the runtime implements it (tests use a
 * small process launcher). Called on the loop thread. scale() must return
 * quickly; the runtime reports replicas with idp_gateway_replica_starting
 * and idp_gateway_replica_gone, from scale() itself or later. */
typedef struct idp_gateway_scaler {
	void *ctx;
	void (*scale)(void *ctx, const char *service, int32_t replicas);
} idp_gateway_scaler;

typedef struct idp_gateway idp_gateway;

/* A gateway listening on host:port (port 0: any; see idp_gateway_port). */
int idp_gateway_new(const idp_gateway_config *c, const char *host, int port, const idp_gateway_scaler *scaler,
		    idp_gateway **out, idp_err *err);
/* Stops listening, answers held requests 503, frees everything. */
void idp_gateway_free(idp_gateway *g);
int idp_gateway_port(const idp_gateway *g);
/* The gateway's event loop (an h2o_evloop_t), for servers that share it. */
void *idp_gateway_loop(idp_gateway *g);
/* Sets the platform API's upstream (/api, /slack, /oam) after creation,
 * e.g. to a server on the same loop; IDP_EINPUT for a bad URL. */
int idp_gateway_set_api(idp_gateway *g, const char *url, idp_err *err);

/* Replaces the route table (the gateway takes ownership). Requests already
 * routed finish where they were going; services that left the table are
 * scaled to zero once idle. */
void idp_gateway_set_routes(idp_gateway *g, idp_gateway_routes *r);

/* A replica of service is starting at host:port: the gateway probes
 * probe_path every probe_interval until it answers 2xx, then sends it
 * traffic. probe_path NULL: the revision's readinessProbe path from the
 * route table, else a TCP connect (Knative's default). */
void idp_gateway_replica_starting(idp_gateway *g, const char *service, const char *host, int port,
				  const char *probe_path);
/* The replica at host:port is gone (stopped or crashed). */
void idp_gateway_replica_gone(idp_gateway *g, const char *service, const char *host, int port);

/* The scaler cannot give service the replicas asked for (its application
 * is paused, its program is missing): held requests are answered 503 with
 * reason, and the next request or tick asks again. May be called from
 * scale() itself. */
void idp_gateway_scale_refused(idp_gateway *g, const char *service, const char *reason);

/* Replicas of service ready now (answering their probe), and whether the
 * gateway knows the service at all. */
int idp_gateway_ready_replicas(idp_gateway *g, const char *service);

/* Runs the loop until idp_gateway_stop (or an error); max_wait_ms bounds one
 * iteration so that callers can interleave their own work (-1: run until
 * stopped). Returns 0, or -1 on a loop error. */
int idp_gateway_run(idp_gateway *g, int max_wait_ms);
/* Asks the loop to stop after the current iteration; in-flight requests are
 * drained first (graceful). Safe from a signal handler. */
void idp_gateway_stop(idp_gateway *g);

/* Prometheus text exposition of the gateway's metrics (what /metrics serves). */
void idp_gateway_metrics(idp_gateway *g, idp_buf *out);

#endif
