/* The pod's network as the kernel sees it. The pod gets its address with
 * the subnet's length but no subnet route: everything, even a neighbour pod,
 * goes via the gateway, which the host end of the veth owns (a /32 on every
 * host veth), so traffic always crosses the host side where policy runs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "cni/log.h"
#include "cni/netconf.h"
#include "cni/wire.h"

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	/* A separator, so ("ab","c") and ("a","bc") hash apart. */
	h ^= 0xff;
	return h * 0x100000001b3ULL;
}

void wire_host_ifname(const char *network, const char *container_id,
		      const char *ifname, char out[IF_NAMESIZE])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fnv1a(h, network);
	h = fnv1a(h, container_id);
	h = fnv1a(h, ifname);
	snprintf(out, IF_NAMESIZE, "bh%012llx",
		 (unsigned long long)(h & 0xffffffffffffULL));
}

void wire_alias(const char *network, char *out, size_t len)
{
	snprintf(out, len, BH_ALIAS_PREFIX "%s", network);
}

unsigned int wire_default_mtu(struct nl *host)
{
	struct nl_route routes[64];
	struct cni_err err = { 0 };
	struct nl_link link;
	size_t n = 0;

	if (nl_route_list(host, AF_INET, 0, routes, 64, &n, &err) < 0)
		n = 0;
	for (size_t i = 0; i < n && i < 64; i++) {
		if (routes[i].dst.len != 0 || !routes[i].oif)
			continue;
		if (nl_link_get_by_index(host, routes[i].oif, &link, &err) == 1 &&
		    link.mtu > 576 + BH_VXLAN_OVERHEAD)
			return link.mtu - BH_VXLAN_OVERHEAD;
	}
	return 1500 - BH_VXLAN_OVERHEAD;
}

static struct ip_prefix host_prefix(const struct ip_addr *a)
{
	struct ip_prefix p = { .addr = *a, .len = (uint8_t)ip_addr_bits(a) };

	return p;
}

static int link_index(struct nl *nl, const char *name, struct nl_link *l,
		      struct cni_err *err)
{
	int rc = nl_link_get(nl, name, l, err);

	if (rc == 0)
		return cni_errorf(err, BH_ERR_NETLINK,
				  "interface %s vanished while being set up", name);
	return rc < 0 ? -1 : 0;
}

/* Host side: no IPv6 link-local (the pod network is IPv4), up, the
 * gateway address, a route to the pod. */
static int wire_host_side(struct nl *host, int ifindex,
			  const struct ipam_result *ipam, struct cni_err *err)
{
	if (nl_link_no_ipv6ll(host, ifindex, err) < 0 ||
	    nl_link_set_up(host, ifindex, err) < 0)
		return -1;
	for (size_t i = 0; i < ipam->n_ips; i++) {
		struct ip_prefix gw = host_prefix(&ipam->ips[i].gw);
		struct nl_route to_pod = {
			.dst = host_prefix(&ipam->ips[i].addr.addr),
			.oif = ifindex,
			.scope = RT_SCOPE_LINK,
		};

		if (nl_addr_add(host, ifindex, &gw, 0, err) < 0 ||
		    nl_route_add(host, &to_pod, err) < 0)
			return -1;
	}
	return 0;
}

static int wire_pod_routes(struct nl *pod, int ifindex, const struct result_ip *ip,
			   const struct ipam_result *ipam, struct cni_err *err)
{
	struct nl_route to_gw = {
		.dst = host_prefix(&ip->gw), .oif = ifindex, .scope = RT_SCOPE_LINK,
	};
	struct nl_route dflt = {
		.dst = { .addr = { .family = ip->gw.family } },
		.gw = ip->gw, .oif = ifindex,
	};

	if (nl_route_add(pod, &to_gw, err) < 0 || nl_route_add(pod, &dflt, err) < 0)
		return -1;
	for (size_t i = 0; i < ipam->n_routes; i++) {
		const struct result_route *r = &ipam->routes[i];
		struct nl_route extra = { .dst = r->dst, .gw = ip->gw, .oif = ifindex };

		if (r->dst.addr.family != ip->gw.family)
			continue;
		if (r->gw.family)
			extra.gw = r->gw;
		if (nl_route_add(pod, &extra, err) < 0)
			return -1;
	}
	return 0;
}

/* Pod side: loopback up, the interface up without an IPv6 link-local,
 * addresses without subnet routes, a link route to the gateway and the
 * default route via it. */
static int wire_pod_side(struct nl *pod, int ifindex,
			 const struct ipam_result *ipam, struct cni_err *err)
{
	struct nl_link lo;

	if (link_index(pod, "lo", &lo, err) < 0 ||
	    nl_link_set_up(pod, lo.ifindex, err) < 0 ||
	    nl_link_no_ipv6ll(pod, ifindex, err) < 0 ||
	    nl_link_set_up(pod, ifindex, err) < 0)
		return -1;
	for (size_t i = 0; i < ipam->n_ips; i++) {
		if (nl_addr_add(pod, ifindex, &ipam->ips[i].addr,
				IFA_F_NOPREFIXROUTE, err) < 0 ||
		    wire_pod_routes(pod, ifindex, &ipam->ips[i], ipam, err) < 0)
			return -1;
	}
	return 0;
}

int wire_pod(struct nl *host, struct nl *pod, int netns_fd,
	     const char *network, struct pod_result *r, struct cni_err *err)
{
	struct nl_link hl = { 0 }, pl = { 0 };
	char alias[256];

	wire_alias(network, alias, sizeof(alias));
	if (nl_veth_create(host, r->host_ifname, r->pod_ifname, netns_fd, r->mtu,
			   alias, err) < 0)
		return -1;
	if (link_index(host, r->host_ifname, &hl, err) < 0 ||
	    link_index(pod, r->pod_ifname, &pl, err) < 0 ||
	    wire_host_side(host, hl.ifindex, &r->ipam, err) < 0 ||
	    wire_pod_side(pod, pl.ifindex, &r->ipam, err) < 0)
		goto fail;
	r->host_ifindex = hl.ifindex;
	memcpy(r->host_mac, hl.mac, 6);
	memcpy(r->pod_mac, pl.mac, 6);
	log_info("wired %s (host %s) mtu %u", r->pod_ifname, r->host_ifname, r->mtu);
	return 0;
fail:
	{
		struct cni_err ignored = { 0 };

		/* Deleting one end takes the other, and the routes, with it. */
		if (hl.ifindex)
			nl_link_del(host, hl.ifindex, &ignored);
		else
			wire_unwire(host, network, r->host_ifname, &ignored);
	}
	return -1;
}

int wire_unwire(struct nl *host, const char *network, const char *host_ifname,
		struct cni_err *err)
{
	struct nl_link l;
	char alias[256];
	int rc = nl_link_get(host, host_ifname, &l, err);

	if (rc <= 0)
		return rc;
	wire_alias(network, alias, sizeof(alias));
	/* No alias: a crash between creating the pair and naming it; the name
	 * is derived from this attachment, so it is still ours. */
	if (l.alias[0] && strcmp(l.alias, alias) != 0) {
		log_warn("not deleting %s: alias \"%s\" is not this network's",
			 host_ifname, l.alias);
		return 0;
	}
	return nl_link_del(host, l.ifindex, err);
}

static int check_fail(struct cni_err *err, const char *fmt, const char *a,
		      const char *b)
{
	return cni_errorf(err, BH_ERR_CHECK, fmt, a, b);
}

static bool has_addr(struct nl *nl, int ifindex, const struct ip_prefix *want,
		     struct cni_err *err)
{
	struct ip_prefix addrs[32];
	size_t n = 0;

	if (nl_addr_list(nl, ifindex, want->addr.family, addrs, 32, &n, err) < 0)
		return false;
	for (size_t i = 0; i < n && i < 32; i++)
		if (addrs[i].len == want->len && ip_addr_eq(&addrs[i].addr, &want->addr))
			return true;
	return false;
}

static int check_link(struct nl *nl, const char *side, const char *name,
		      const uint8_t *mac, unsigned int mtu, struct nl_link *l,
		      struct cni_err *err)
{
	int rc = nl_link_get(nl, name, l, err);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return check_fail(err, "%s interface %s does not exist", side, name);
	if (strcmp(l->kind, "veth") != 0)
		return check_fail(err, "%s interface %s is not a veth", side, name);
	if (!l->up)
		return check_fail(err, "%s interface %s is down", side, name);
	if (mac && memcmp(mac, "\0\0\0\0\0\0", 6) != 0 && memcmp(mac, l->mac, 6) != 0)
		return check_fail(err, "%s interface %s has another MAC address than the result says",
				  side, name);
	if (mtu && l->mtu != mtu)
		return cni_errorf(err, BH_ERR_CHECK, "%s interface %s has MTU %u, expected %u",
				  side, name, l->mtu, mtu);
	return 0;
}

static int check_ip(struct nl *host, struct nl *pod, int hidx, int pidx,
		    const char *pname, const char *hname, const struct result_ip *ip,
		    struct cni_err *err)
{
	char a[IP_PREFIX_STRLEN], g[IP_ADDR_STRLEN];
	struct nl_route dflt = {
		.dst = { .addr = { .family = ip->gw.family } }, .gw = ip->gw, .oif = pidx,
	};
	struct nl_route to_pod = { .dst = host_prefix(&ip->addr.addr), .oif = hidx };
	int rc;

	ip_prefix_format(&ip->addr, a, sizeof(a));
	ip_addr_format(&ip->gw, g, sizeof(g));
	if (!has_addr(pod, pidx, &ip->addr, err))
		return err->code ? -1 : check_fail(err, "pod interface %s lacks address %s",
						   pname, a);
	rc = nl_route_find(pod, &dflt, err);
	if (rc <= 0)
		return rc < 0 ? -1 : check_fail(err, "pod has no default route via %s dev %s",
						g, pname);
	ip_addr_format(&ip->addr.addr, a, sizeof(a));
	rc = nl_route_find(host, &to_pod, err);
	if (rc <= 0)
		return rc < 0 ? -1 : check_fail(err, "host has no route to %s dev %s",
						a, hname);
	return 0;
}

int wire_check(struct nl *host, struct nl *pod, const struct pod_result *r,
	       struct cni_err *err)
{
	struct nl_link hl, pl;

	if (check_link(pod, "pod", r->pod_ifname, r->pod_mac, r->mtu, &pl, err) < 0 ||
	    check_link(host, "host", r->host_ifname, NULL, 0, &hl, err) < 0)
		return -1;
	for (size_t i = 0; i < r->ipam.n_ips; i++)
		if (check_ip(host, pod, hl.ifindex, pl.ifindex, r->pod_ifname,
			     r->host_ifname, &r->ipam.ips[i], err) < 0)
			return -1;
	return 0;
}
