/* rtnetlink through libmnl: the links, addresses and routes a pod needs,
 * and the node's VXLAN device.
 * A socket belongs to the network namespace it was opened in, so the plugin
 * holds one for the host and one for the pod and never switches namespaces
 * in between calls. */
#ifndef BH_CNI_NETLINK_H
#define BH_CNI_NETLINK_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "cni/error.h"
#include "ipam/addr.h"

/* Routes the plugin installs carry this protocol number, so they can be told
 * apart from routes somebody else made (see /etc/iproute2/rt_protos). */
#define BH_RTPROT 0xbe

struct mnl_socket;

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	uint32_t seq;
	char *buf;			/* MNL_SOCKET_BUFFER_SIZE-sized, owned */
};

struct nl_link {
	int ifindex;
	char name[IF_NAMESIZE];
	char kind[16];			/* "veth", "vxlan", ""; from IFLA_LINKINFO */
	char alias[256];		/* IFLA_IFALIAS, "" when unset */
	unsigned int mtu;
	uint8_t mac[6];
	bool up;			/* IFF_UP set */
	/* kind "vxlan" only: collect-metadata mode and the UDP port */
	bool vxlan_external;
	uint16_t vxlan_port;		/* host order; 0 when not a vxlan */
};

struct nl_route {
	struct ip_prefix dst;		/* family from dst.addr.family; len 0 = default */
	struct ip_addr gw;		/* family 0 = no gateway */
	int oif;			/* 0 = none */
	uint8_t scope;			/* RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, ... */
	uint8_t protocol;		/* RTPROT_*; 0 on add means BH_RTPROT */
	uint32_t table;			/* 0 on add means RT_TABLE_MAIN */
};

/* Opens a socket in the calling thread's current network namespace. */
int nl_open(struct nl *nl, struct cni_err *err);
/* Opens a socket inside the namespace netns_fd refers to, then returns the
 * thread to the namespace it was in. Fails with BH_ERR_NETNS. */
int nl_open_in_netns(struct nl *nl, int netns_fd, struct cni_err *err);
void nl_close(struct nl *nl);

/* Returns 1 and fills out when found, 0 when no such link, -1 on error. */
int nl_link_get(struct nl *nl, const char *name, struct nl_link *out,
		struct cni_err *err);
int nl_link_get_by_index(struct nl *nl, int ifindex, struct nl_link *out,
			 struct cni_err *err);
/* Calls fn for every link; fn returns 0 to continue, <0 to stop with error. */
int nl_link_foreach(struct nl *nl,
		    int (*fn)(const struct nl_link *link, void *arg), void *arg,
		    struct cni_err *err);

/* Creates a veth pair: `name` here, `peer` created directly inside the
 * namespace peer_netns_fd (so it never exists under its final name in the
 * wrong namespace). Both get mtu (0 = kernel default); `name` gets alias
 * (NULL = none). Fails with BH_ERR_EXISTS if either name is taken. */
int nl_veth_create(struct nl *nl, const char *name, const char *peer,
		   int peer_netns_fd, unsigned int mtu, const char *alias,
		   struct cni_err *err);
/* Creates a VXLAN device in external (collect-metadata) mode: the tunnel
 * key of each packet comes from its metadata (tc/BPF), not from the
 * device, so one device serves every remote. UDP port dstport, no
 * learning of remote addresses. Fails with BH_ERR_EXISTS if the name is
 * taken (look it up to see whether it is the right kind). */
int nl_vxlan_external_create(struct nl *nl, const char *name, uint16_t dstport,
			     struct cni_err *err);
/* Deletes a link; a link that is already gone is success. */
int nl_link_del(struct nl *nl, int ifindex, struct cni_err *err);
int nl_link_set_up(struct nl *nl, int ifindex, struct cni_err *err);
/* No IPv6 link-local address on ifindex (addrgenmode none), so a link that
 * carries only IPv4 does not send neighbour and router solicitations the
 * datapath would drop. Call before the link goes up. */
int nl_link_no_ipv6ll(struct nl *nl, int ifindex, struct cni_err *err);

/* Adds an address (flags: IFA_F_* such as IFA_F_NOPREFIXROUTE). An address
 * already present is success. */
int nl_addr_add(struct nl *nl, int ifindex, const struct ip_prefix *p,
		uint32_t flags, struct cni_err *err);
/* Lists the addresses of ifindex in family (AF_UNSPEC = all) into out[max];
 * *n is the number found (may exceed max: only max are stored). */
int nl_addr_list(struct nl *nl, int ifindex, int family, struct ip_prefix *out,
		 size_t max, size_t *n, struct cni_err *err);

/* Adds a route; an identical route already present is success. */
int nl_route_add(struct nl *nl, const struct nl_route *r, struct cni_err *err);
/* Deletes a route; a route already gone is success. */
int nl_route_del(struct nl *nl, const struct nl_route *r, struct cni_err *err);
/* Whether a route with want's destination and gateway (and device, when
 * want->oif is set) is in want's table: 1, 0, or -1 with err. */
int nl_route_find(struct nl *nl, const struct nl_route *want,
		  struct cni_err *err);
/* Lists the routes of table (0 = main) in family, like nl_addr_list. */
int nl_route_list(struct nl *nl, int family, uint32_t table,
		  struct nl_route *out, size_t max, size_t *n,
		  struct cni_err *err);

#endif
