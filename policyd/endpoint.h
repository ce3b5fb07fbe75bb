/* Local endpoints: the pods the CNI plugin registered on this node, kept
 * in memory and in the state directory so a restarted daemon finds them
 * again. */
#ifndef BH_POLICYD_ENDPOINT_H
#define BH_POLICYD_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "datapath/dp.h"
#include "policyd/reg_server.h"
#include "policyd/strmap.h"

struct endpoint {
	char *key;		/* "containerID/ifname" */
	char *container_id;
	char *ifname;
	char *ns;
	char *pod;
	char *host_ifname;
	__be32 ip;
	__u32 ifindex;
	__u32 identity;		/* as written to the endpoints map; 0: not yet */
	__u32 flags;		/* as written */
	struct reg_conn *pending;	/* an ADD waiting for its identity */
	uint64_t pending_timer;
	uint64_t added_ms;
};

struct endpoint_table {
	char *dir;		/* STATE/endpoints */
	struct strmap by_key;
};

/* Creates dir (0700) and loads every saved endpoint; a file that does not
 * parse is removed with a message in err (logged by the caller). */
int endpoint_table_open(struct endpoint_table *t, const char *state_dir,
			struct dp_err *err);
void endpoint_table_free(struct endpoint_table *t);

/* Records r (an ADD) and saves it (write to a temporary file, then
 * rename); an existing entry with the same key is replaced (the caller
 * answers and cancels its pending ADD first). */
int endpoint_register(struct endpoint_table *t, const struct reg_request *r,
		      struct endpoint **out, struct dp_err *err);
struct endpoint *endpoint_lookup(const struct endpoint_table *t,
				 const char *container_id, const char *ifname);
/* Forgets ep and its file; frees it. */
void endpoint_forget(struct endpoint_table *t, struct endpoint *ep);

#endif
