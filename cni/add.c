/* ADD: an address from IPAM, a veth pair into the pod, addresses and routes
 * on both ends, the datapath attached and the pod's endpoint entry written,
 * the result cached and printed. Any failure undoes it all. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cni/cache.h"
#include "cni/commands.h"
#include "cni/endpoint.h"
#include "cni/fsutil.h"
#include "cni/ipam_client.h"
#include "cni/log.h"
#include "cni/netlink.h"
#include "cni/netns.h"
#include "cni/register.h"
#include "cni/wire.h"

/* What ADD has made so far, so a failure can undo exactly that. */
struct add_state {
	int netns_fd;
	struct nl host, pod;
	bool ipam_taken;		/* the address is ours to release on failure */
	bool wired;
	bool endpoint;			/* an endpoint entry may have been written */
	bool registered;		/* the daemon was told about it */
	bool cached;
};

static int open_sockets(struct cni_ctx *ctx, struct add_state *st)
{
	struct cni_err *err = &ctx->err;
	struct nl_link l;
	int rc;

	st->netns_fd = netns_open(ctx->args.netns, err);
	if (st->netns_fd < 0 || nl_open(&st->host, err) < 0 ||
	    nl_open_in_netns(&st->pod, st->netns_fd, err) < 0)
		return -1;
	/* Refuse before taking an address: the name is the runtime's choice. */
	rc = nl_link_get(&st->pod, ctx->args.ifname, &l, err);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return cni_errorf(err, BH_ERR_EXISTS,
				  "interface %s already exists in %s",
				  ctx->args.ifname, ctx->args.netns);
	return 0;
}

static void rollback(struct cni_ctx *ctx, struct add_state *st,
		     const struct pod_result *r)
{
	struct cni_err ignored = { 0 };

	log_warn("ADD failed, undoing: %s", ctx->err.msg);
	if (st->cached)
		cache_remove(&ctx->conf, ctx->args.container_id, ctx->args.ifname);
	if (st->registered &&
	    register_del(ctx->conf.daemon_socket, ctx->args.container_id,
			 ctx->args.ifname, &ignored) < 0)
		log_error("could not unregister the endpoint: %s", ignored.msg);
	/* Before the veth goes: its ifindex tells our entry from another's.
	 * The filters go with the veth. */
	if (st->endpoint && st->host.sock &&
	    endpoint_del(&ctx->conf, &st->host, r->host_ifname, &r->ipam,
			 &ignored) < 0)
		log_error("could not delete the endpoint entry: %s", ignored.msg);
	if (st->wired && st->host.sock)
		wire_unwire(&st->host, ctx->conf.name, r->host_ifname, &ignored);
	if (st->ipam_taken && ipam_client_del(ctx, &ignored) < 0)
		log_error("could not release the address: %s", ignored.msg);
}

/* Asks the daemon for the pod's identity, so its endpoint leaves identity
 * init (dropped by the datapath). Only a pod with an endpoint entry, and
 * only by its first IPv4 address: the protocol carries one. The daemon is
 * required when the netconf names its socket; otherwise a node without one
 * keeps its pods at init, which fails closed. */
static int register_endpoint(struct cni_ctx *ctx, struct add_state *st,
			     const struct pod_result *r)
{
	const struct cni_args *a = &ctx->args;
	bool required = ctx->conf.daemon_socket_set;
	struct reg_add_args ra = {
		.container_id = a->container_id,
		.ifname = a->ifname,
		.ns = a->k8s_namespace,
		.pod = a->k8s_pod_name,
		.host_ifindex = r->host_ifindex,
		.host_ifname = r->host_ifname,
	};
	const struct result_ip *ip = NULL;
	__u32 identity;

	for (size_t i = 0; i < r->ipam.n_ips && !ip; i++)
		if (r->ipam.ips[i].addr.addr.family == AF_INET)
			ip = &r->ipam.ips[i];
	if (!st->endpoint || !ip)
		return 0;
	if (!a->k8s_namespace[0] || !a->k8s_pod_name[0]) {
		if (!required) {
			log_info("no K8S_POD_NAMESPACE/K8S_POD_NAME: not registered with bulkhead-policyd");
			return 0;
		}
		return cni_errorf(&ctx->err, CNI_ERR_INVALID_NETCONF,
				  "daemonSocket is set, but CNI_ARGS has no K8S_POD_NAMESPACE and K8S_POD_NAME: bulkhead-policyd serves Kubernetes pods only");
	}
	memcpy(&ra.ip, ip->addr.addr.b, sizeof(ra.ip));
	if (register_add(ctx->conf.daemon_socket, required, &ra, &identity,
			 &ctx->err) < 0)
		return -1;
	st->registered = true;
	return 0;
}

static void close_state(struct add_state *st)
{
	nl_close(&st->pod);
	nl_close(&st->host);
	if (st->netns_fd >= 0)
		close(st->netns_fd);
}

int cmd_add(struct cni_ctx *ctx)
{
	struct add_state st = { .netns_fd = -1 };
	struct pod_result r = { 0 };
	struct cni_err *err = &ctx->err;
	int rc = -1;

	snprintf(r.pod_ifname, sizeof(r.pod_ifname), "%s", ctx->args.ifname);
	wire_host_ifname(ctx->conf.name, ctx->args.container_id, ctx->args.ifname,
			 r.host_ifname);
	r.sandbox = ctx->args.netns;
	/* A node without its datapath would get pods nothing polices. */
	if (endpoint_require(&ctx->conf, err) < 0 || open_sockets(ctx, &st) < 0)
		goto out;
	r.mtu = ctx->conf.mtu ? ctx->conf.mtu : wire_default_mtu(&st.host);
	if (ipam_client_add(ctx, &r.ipam, &st.ipam_taken, err) < 0)
		goto out;
	if (wire_pod(&st.host, &st.pod, st.netns_fd, ctx->conf.name, &r, err) < 0)
		goto out;
	st.wired = true;
	/* The host routes between pods: forwarding must be on. */
	if (sysctl_ensure("/proc/sys/net/ipv4/ip_forward", "1") < 0) {
		cni_errorf(err, BH_ERR_INTERNAL, "enable net.ipv4.ip_forward: %s",
			   strerror(errno));
		goto out;
	}
	if (endpoint_add(&ctx->conf, &r, &st.endpoint, err) < 0 ||
	    register_endpoint(ctx, &st, &r) < 0)
		goto out;
	ctx->result = result_render(&r, ctx->conf.version, ctx->conf.prev_result);
	if (!ctx->result) {
		cni_errorf(err, BH_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (cache_write(&ctx->conf, ctx->args.container_id, ctx->args.ifname,
			ctx->result, err) < 0)
		goto out;
	st.cached = true;
	rc = 0;
out:
	if (rc < 0)
		rollback(ctx, &st, &r);
	close_state(&st);
	ipam_result_free(&r.ipam);
	return rc;
}
