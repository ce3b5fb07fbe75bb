/* Wiring a pod: the veth pair, its addresses and routes on both sides, and
 * taking it all down again. The host end's name is derived from the
 * attachment, so DEL and GC find it without any saved state. */
#ifndef BH_CNI_WIRE_H
#define BH_CNI_WIRE_H

#include <net/if.h>

#include "cni/netlink.h"
#include "cni/result.h"

#define BH_ALIAS_PREFIX "bulkhead:"

/* "bh" + 12 hex digits of a hash of (network, container ID, ifname). */
void wire_host_ifname(const char *network, const char *container_id,
		      const char *ifname, char out[IF_NAMESIZE]);
/* The alias that marks a host veth as this network's. */
void wire_alias(const char *network, char *out, size_t len);

/* MTU of the host's default-route interface minus the VXLAN overhead, or
 * 1500 minus it when the host has no default route. */
unsigned int wire_default_mtu(struct nl *host);

/* Creates the veth pair (r->host_ifname here, r->pod_ifname in netns_fd),
 * addresses and routes for every IP in r, and fills in both MACs and the
 * host end's ifindex. On failure nothing it made is left behind. */
int wire_pod(struct nl *host, struct nl *pod, int netns_fd,
	     const char *network, struct pod_result *r, struct cni_err *err);

/* Deletes the host veth (and with it the pod end and the host routes) if it
 * exists and carries this network's alias. Gone already is success. */
int wire_unwire(struct nl *host, const char *network, const char *host_ifname,
		struct cni_err *err);

/* Verifies the pod's interface, addresses and routes and the host side are
 * as r says; fails with BH_ERR_CHECK naming the first difference. */
int wire_check(struct nl *host, struct nl *pod, const struct pod_result *r,
	       struct cni_err *err);

#endif
