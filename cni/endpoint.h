/* The pod's presence in the datapath: the pinned programs attached to its
 * host veth and its entry in the endpoints map, turned into CNI errors. */
#ifndef BH_CNI_ENDPOINT_H
#define BH_CNI_ENDPOINT_H

#include <stdbool.h>

#include "cni/netconf.h"
#include "cni/netlink.h"
#include "cni/result.h"

/* Fails with CNI_ERR_TRY_AGAIN unless the datapath is loaded under
 * conf->bpffs_root. ADD asks first, so a node without its daemon refuses
 * pods before taking an address or making a veth. */
int endpoint_require(const struct netconf *conf, struct cni_err *err);

/* Attaches the pinned programs to r's host veth, writes the endpoint entry
 * of each of r's addresses (identity BH_ID_INIT until the daemon knows the
 * labels) and the gateway's ipcache entry. *written is set as soon as an
 * entry may exist, so a failed ADD knows to call endpoint_del. */
int endpoint_add(const struct netconf *conf, const struct pod_result *r,
		 bool *written, struct cni_err *err);

/* Deletes the endpoint entries of addrs and their conntrack entries, but
 * only entries that point at host_ifname or at an interface that no longer
 * exists: after an address is reused, it belongs to another pod. Without
 * a loaded datapath there is nothing to delete (a warning is logged). */
int endpoint_del(const struct netconf *conf, struct nl *host,
		 const char *host_ifname, const struct ipam_result *addrs,
		 struct cni_err *err);

/* Fails with BH_ERR_CHECK, naming what is missing, unless the programs are
 * attached to r's host veth and every address has an endpoint entry with
 * that veth's ifindex and the pod interface's MAC. */
int endpoint_check(const struct netconf *conf, struct nl *host, struct nl *pod,
		   const struct pod_result *r, struct cni_err *err);

/* Deletes the endpoint entries (and their conntrack entries) whose host
 * veth no longer exists in this namespace. */
int endpoint_gc(const struct netconf *conf, struct nl *host, struct cni_err *err);

/* Fails with CNI_ERR_NOT_AVAILABLE when the datapath is not loaded. */
int endpoint_status(const struct netconf *conf, struct cni_err *err);

#endif
