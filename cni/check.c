/* CHECK: the pod's network must still be what ADD reported, and the pod
 * still in the datapath. The runtime's prevResult is the reference; our
 * cached result stands in without one. */
#include <unistd.h>

#include "cni/cache.h"
#include "cni/commands.h"
#include "cni/endpoint.h"
#include "cni/ipam_client.h"
#include "cni/netlink.h"
#include "cni/netns.h"
#include "cni/wire.h"

static int expected_result(struct cni_ctx *ctx, struct pod_result *r)
{
	json_t *cached = NULL;
	const json_t *ref = ctx->conf.prev_result;
	int rc;

	if (!ref)
		ref = cached = cache_read(&ctx->conf, ctx->args.container_id,
					  ctx->args.ifname);
	if (!ref)
		return cni_errorf(&ctx->err, BH_ERR_CHECK,
				  "no prevResult given and no cached result for %s/%s: was it ever added?",
				  ctx->args.container_id, ctx->args.ifname);
	rc = result_find_pod(ref, ctx->args.ifname, ctx->args.netns, r, &ctx->err);
	json_decref(cached);
	return rc;
}

int cmd_check(struct cni_ctx *ctx)
{
	struct nl host = { 0 }, pod = { 0 };
	struct pod_result r;
	int fd = -1, rc = -1;

	if (expected_result(ctx, &r) < 0)
		return -1;
	wire_host_ifname(ctx->conf.name, ctx->args.container_id, ctx->args.ifname,
			 r.host_ifname);
	r.mtu = ctx->conf.mtu;
	fd = netns_open(ctx->args.netns, &ctx->err);
	if (fd < 0 || nl_open(&host, &ctx->err) < 0 ||
	    nl_open_in_netns(&pod, fd, &ctx->err) < 0 ||
	    wire_check(&host, &pod, &r, &ctx->err) < 0 ||
	    endpoint_check(&ctx->conf, &host, &pod, &r, &ctx->err) < 0)
		goto out;
	for (size_t i = 0; i < r.ipam.n_ips; i++)
		if (ipam_client_check(ctx, &r.ipam.ips[i].addr.addr, &ctx->err) < 0)
			goto out;
	rc = 0;
out:
	nl_close(&pod);
	nl_close(&host);
	if (fd >= 0)
		close(fd);
	return rc;
}
