/* bulkhead-ctl's shared state and the commands' entry points: each
 * command reads the pinned maps directly (so it works while the daemon is
 * down) and asks the daemon only for names. */
#ifndef BH_CTL_CTL_H
#define BH_CTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "datapath/maps.h"

enum ctl_exit {
	CTL_OK = 0,
	CTL_FAIL = 1,		/* not found, or an error */
	CTL_USAGE = 2,
	CTL_NO_DATAPATH = 3,	/* no Bulkhead pinned under the bpffs root */
};

struct ctl {
	const char *root;	/* --bpffs-root */
	const char *daemon;	/* --daemon host:port */
	bool json;		/* -o json */
	struct dp_maps maps;
	bool maps_open;
};

/* main.c: messages; both return the exit status they were given. */
int ctl_fail(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Opens the pinned maps once; CTL_NO_DATAPATH when none are there. */
int ctl_open_maps(struct ctl *c);

/* output.c: prints rows (a JSON array of objects) as JSON or as a table
 * of the named columns (NULL-terminated); a single object prints as
 * "key: value" lines in table mode. Takes the reference. */
int out_rows(const struct ctl *c, json_t *rows, const char *const *cols);
int out_object(const struct ctl *c, json_t *obj);
/* Builders that fail loudly on allocation failure. */
json_t *out_ip(__be32 ip);
int out_append(json_t *arr, json_t *item);

/* daemon_client.c: GET PATH from the daemon. 0 and the body (NUL-ended,
 * the caller frees) on a 200; -errno or -EPROTO otherwise. */
int daemon_get(const struct ctl *c, const char *path, char **body,
	       size_t *len);
/* The body of a GET that answers JSON, or NULL (daemon down, or not
 * JSON): callers then go without names. */
json_t *daemon_get_json(const struct ctl *c, const char *path);
/* GET PATH as a stream: the socket, read up to the body, on a 200;
 * -errno or -EPROTO otherwise. */
int daemon_stream(const struct ctl *c, const char *path);

/* The commands: argv[0] is the first word after the command's name(s). */
int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_metrics(struct ctl *c, int argc, char **argv);
int cmd_endpoint_list(struct ctl *c, int argc, char **argv);
int cmd_endpoint_get(struct ctl *c, int argc, char **argv);
int cmd_identity_list(struct ctl *c, int argc, char **argv);
int cmd_identity_get(struct ctl *c, int argc, char **argv);
int cmd_ipcache_list(struct ctl *c, int argc, char **argv);
int cmd_node_list(struct ctl *c, int argc, char **argv);
int cmd_ct_list(struct ctl *c, int argc, char **argv);
int cmd_ct_flush(struct ctl *c, int argc, char **argv);
int cmd_drops(struct ctl *c, int argc, char **argv);
int cmd_monitor(struct ctl *c, int argc, char **argv);
int cmd_policy_get(struct ctl *c, int argc, char **argv);
int cmd_trace(struct ctl *c, int argc, char **argv);

/* identity.c: "host", "world", ... for a reserved number; NULL otherwise. */
const char *ctl_reserved_identity(unsigned int id);
/* ct.c / endpoint.c: parse an IPv4 address; CTL_USAGE with a message. */
int ctl_parse_ip(const char *what, const char *s, __be32 *ip);
/* endpoint.c: IP or NS/POD (through daemon_eps, the daemon's
 * /endpoints) to an address; _find also reads its endpoints map entry.
 * 0, or the exit status after a message. */
int ctl_endpoint_addr(struct ctl *c, const char *arg, json_t *daemon_eps, __be32 *ip);
int ctl_endpoint_find(struct ctl *c, const char *arg, json_t *daemon_eps,
		      __be32 *ip, struct bh_endpoint *ep);
/* "open", "enforced" or "audit": one direction (BH_EP_F_ENFORCE_*). */
const char *ctl_enforcement(__u32 flags, __u32 bit);

/* In the daemon's /identities answer, the labels of id (borrowed), or
 * NULL. */
json_t *ctl_identity_labels(json_t *ids, __u32 id);

#endif
