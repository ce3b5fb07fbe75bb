/* The endpoint registration socket (include/bulkhead/register.h): accepts
 * the CNI plugin's requests, validates every field, hands each to the
 * daemon, and carries the daemon's answer back, possibly later (an ADD
 * waits for the pod's identity). */
#ifndef BH_POLICYD_REG_SERVER_H
#define BH_POLICYD_REG_SERVER_H

#include <linux/types.h>

#include "datapath/dp.h"
#include "policyd/loop.h"

struct reg_server;
struct reg_conn;	/* lives until answered, even if the peer has gone */

struct reg_request {
	int add;		/* 1: add, 0: del */
	const char *container_id;
	const char *ifname;
	const char *ns;		/* add only */
	const char *pod;	/* add only */
	__be32 ip;		/* add only */
	__u32 ifindex;		/* add only */
	const char *host_ifname;	/* add only */
};

/* The request's strings live until the connection is answered. */
typedef void (*reg_handler)(struct reg_conn *c, const struct reg_request *r,
			    void *arg);

/* Listens on path (mode 0600, parent directories made 0700, a stale
 * socket replaced, a live one refused) and serves connections on l. Only
 * peers with uid 0 (SO_PEERCRED) are served. Malformed requests are
 * answered with code 7 and never reach h. */
int reg_server_open(struct loop *l, const char *path, reg_handler h, void *arg,
		    struct reg_server **out, struct dp_err *err);
/* Closes every connection (pending ones answered with code 11) and
 * removes the socket file. */
void reg_server_close(struct reg_server *s);

/* Answers once and frees c. identity 0 leaves the field out. */
void reg_reply_ok(struct reg_conn *c, __u32 identity);
void reg_reply_err(struct reg_conn *c, int code, const char *msg,
		   const char *details);

#endif
