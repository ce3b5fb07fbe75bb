/* DEL: remove whatever of the attachment is left, and succeed when nothing
 * is. Runtimes call it twice, without a netns or prevResult the second time,
 * and after a failed ADD: each of those must release the address. */
#include <string.h>

#include "cni/cache.h"
#include "cni/commands.h"
#include "cni/endpoint.h"
#include "cni/ipam_client.h"
#include "cni/log.h"
#include "cni/netlink.h"
#include "cni/register.h"
#include "cni/wire.h"

/* The pod's addresses, for its endpoint entries: from the runtime's
 * prevResult, else from our cached result. Having neither is fine: the
 * first DEL already deleted the entries, or ADD never wrote them. */
static void pod_addresses(struct cni_ctx *ctx, struct pod_result *r)
{
	struct cni_err ignored = { 0 };
	json_t *cached;

	/* Any sandbox: a second DEL comes without CNI_NETNS. */
	if (ctx->conf.prev_result &&
	    result_find_pod(ctx->conf.prev_result, ctx->args.ifname, NULL, r,
			    &ignored) == 0)
		return;
	memset(r, 0, sizeof(*r));
	ignored = (struct cni_err){ 0 };
	cached = cache_read(&ctx->conf, ctx->args.container_id, ctx->args.ifname);
	if (cached && result_find_pod(cached, ctx->args.ifname, NULL, r,
				      &ignored) < 0) {
		log_warn("no pod address in the cached result: %s", ignored.msg);
		memset(r, 0, sizeof(*r));
	}
	json_decref(cached);
}

static void unregister(struct cni_ctx *ctx)
{
	struct cni_err ignored = { 0 };

	if (register_del(ctx->conf.daemon_socket, ctx->args.container_id,
			 ctx->args.ifname, &ignored) < 0)
		log_warn("could not unregister from bulkhead-policyd: %s",
			 ignored.msg);
}

int cmd_del(struct cni_ctx *ctx)
{
	char host_ifname[IF_NAMESIZE];
	struct pod_result r = { 0 };
	struct nl host = { 0 };
	int rc = -1;

	/* The host end is found by name in our own namespace, so a pod whose
	 * namespace is already gone is cleaned up all the same. */
	wire_host_ifname(ctx->conf.name, ctx->args.container_id, ctx->args.ifname,
			 host_ifname);
	pod_addresses(ctx, &r);
	/* Best effort: a daemon that misses this drops the endpoint when it
	 * resyncs, and the pod must go either way. */
	unregister(ctx);
	/* The endpoint first: while the veth exists, its ifindex tells this
	 * pod's entry from another pod's that got the address since. */
	if (nl_open(&host, &ctx->err) < 0 ||
	    endpoint_del(&ctx->conf, &host, host_ifname, &r.ipam, &ctx->err) < 0 ||
	    wire_unwire(&host, ctx->conf.name, host_ifname, &ctx->err) < 0)
		goto out;
	if (ipam_client_del(ctx, &ctx->err) < 0)
		goto out;
	cache_remove(&ctx->conf, ctx->args.container_id, ctx->args.ifname);
	log_info("deleted (host %s)", host_ifname);
	rc = 0;
out:
	nl_close(&host);
	return rc;
}
