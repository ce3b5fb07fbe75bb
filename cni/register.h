/* The plugin's side of endpoint registration (include/bulkhead/register.h):
 * tell bulkhead-policyd about a pod's endpoint, or that it is gone. */
#ifndef BH_CNI_REGISTER_H
#define BH_CNI_REGISTER_H

#include <stdbool.h>
#include <linux/types.h>

#include "cni/error.h"

/* The endpoint ADD made: its key, its pod, its address and host veth. */
struct reg_add_args {
	const char *container_id;
	const char *ifname;
	const char *ns;			/* K8S_POD_NAMESPACE */
	const char *pod;		/* K8S_POD_NAME */
	__be32 ip;			/* the pod's IPv4 address */
	int host_ifindex;
	const char *host_ifname;
};

/* How long a call waits for the daemon's answer, connect to reply. It is
 * BH_REG_PLUGIN_WAIT_MS; only tests shorten it. */
extern int register_wait_ms;

/* Registers the endpoint and sets *identity to what the daemon answered
 * (0 if it gave none). A daemon that cannot be reached or does not answer
 * in time is CNI_ERR_TRY_AGAIN; its own errors pass through with its code.
 * When !required and no socket exists at sock_path, nothing is registered,
 * a warning is logged and 0 returned with *identity 0: the endpoint keeps
 * identity init, which the datapath drops (fail closed). */
int register_add(const char *sock_path, bool required,
		 const struct reg_add_args *a, __u32 *identity,
		 struct cni_err *err);

/* Unregisters the endpoint. A daemon that cannot be reached is logged and
 * not an error: when it comes back, its resync drops the endpoint. */
int register_del(const char *sock_path, const char *container_id,
		 const char *ifname, struct cni_err *err);

#endif
