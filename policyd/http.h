/* The daemon's HTTP endpoint for /healthz and /metrics: GET only, one
 * small request per connection, never blocks the loop. */
#ifndef BH_POLICYD_HTTP_H
#define BH_POLICYD_HTTP_H

#include <stdio.h>

#include "datapath/dp.h"
#include "policyd/loop.h"

/* Writes the body for path into body; sets *ctype (default text/plain);
 * returns the status (200, 404, 503 ...). */
typedef int (*http_handler)(void *ctx, const char *path, FILE *body,
			    const char **ctype);

struct http_server;
/* addr: "127.0.0.1:9962" or "[::1]:9962" or ":9962" (all addresses). */
int http_server_open(struct loop *l, const char *addr, http_handler h,
		     void *ctx, struct http_server **out, struct dp_err *err);
/* The port it listens on: the one the kernel chose for port 0. */
int http_server_port(const struct http_server *s);
void http_server_close(struct http_server *s);

#endif
