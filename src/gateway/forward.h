/*
 * The gateway's hot path to a replica (private to the gateway room): a
 * hand-written HTTP/1.1 upstream client with a keep-alive pool that stays
 * registered in the event loop. h2o 2.2's proxy hands every idle pooled
 * connection out of the loop and back (an fcntl, two epoll_ctl and a probing
 * recv per request); this keeps them in, and parses responses with the
 * picohttpparser functions libh2o exports (HTTP parsing stays in a tested
 * library). WebSocket upgrades still go through h2o's proxy.
 */
#ifndef IDP_GATEWAY_FORWARD_H
#define IDP_GATEWAY_FORWARD_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <netinet/in.h>

/* The keep-alive connections to one replica. Reference-counted: the
 * replica holds one reference and every exchange in flight another, so a
 * replica that goes away while answers are still streaming is freed last. */
typedef struct idp_gw_upstream idp_gw_upstream;

/* addr is copied; authority ("host:port", the Host the replica sees) is
 * copied. idle_timeout_ms closes pooled connections idle that long. */
idp_gw_upstream *idp_gw_upstream_new(h2o_loop_t *loop, const struct sockaddr_in *addr, h2o_iovec_t authority,
				     uint64_t idle_timeout_ms);

/* Drops the caller's reference: idle connections are closed now, the rest
 * when their exchanges end. NULL is a no-op. */
void idp_gw_upstream_release(idp_gw_upstream *u);

/* Ends every exchange in flight (a stop that cannot wait longer): its
 * timer stops, its connection closes, its client gets a 503 or a broken
 * answer. */
void idp_gw_upstream_abort(idp_gw_upstream *u);

/* Sends req (its method, headers and buffered body) to the replica with
 * path as the request target, and streams the answer back to the client.
 * io_timeout bounds each wait for the replica (502/504 before the answer
 * starts; the client connection is closed after a partial one). xff is the
 * client's address for X-Forwarded-For (appended to one the client sent).
 * Everything the exchange needs lives in req's pool. */
void idp_gw_forward(idp_gw_upstream *u, h2o_req_t *req, h2o_iovec_t path, h2o_timeout_t *io_timeout, const char *xff);

#endif
