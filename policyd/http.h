/* The daemon's HTTP endpoint for /healthz and /metrics: GET only, one
 * small request per connection, never blocks the loop; and streams of
 * JSON lines (/events) to a few subscribers. */
#ifndef BH_POLICYD_HTTP_H
#define BH_POLICYD_HTTP_H

#include <stdbool.h>
#include <stdio.h>

#include "datapath/dp.h"
#include "policyd/loop.h"

/* Writes the body for path into body; sets *ctype (default text/plain);
 * returns the status (200, 404, 503 ...). */
typedef int (*http_handler)(void *ctx, const char *path, FILE *body,
			    const char **ctype);
/* A handler's answer that makes the connection a subscriber: a 200 of
 * *ctype whose body is every line published from then on, until either
 * side closes (503 when HTTP_MAX_SUBSCRIBERS are already there). */
#define HTTP_STREAM		1
#define HTTP_MAX_SUBSCRIBERS	16

struct http_server;
/* addr: "127.0.0.1:9962" or "[::1]:9962" or ":9962" (all addresses). */
int http_server_open(struct loop *l, const char *addr, http_handler h,
		     void *ctx, struct http_server **out, struct dp_err *err);
/* The port it listens on: the one the kernel chose for port 0. */
int http_server_port(const struct http_server *s);
void http_server_close(struct http_server *s);
/* Whether anyone listens (s may be NULL): callers skip building lines
 * nobody reads. */
bool http_server_has_subscribers(const struct http_server *s);
/* Queues line (no newline; one is added) to every subscriber and sends
 * what it can now. A subscriber whose queue is full loses the line; it
 * is told {"lost":N} once its queue has drained. */
void http_server_publish(struct http_server *s, const char *line, size_t len);

#endif
