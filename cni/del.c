/* DEL: remove whatever of the attachment is left, and succeed when nothing
 * is. Runtimes call it twice, without a netns or prevResult the second time,
 * and after a failed ADD: each of those must release the address. */
#include "cni/cache.h"
#include "cni/commands.h"
#include "cni/ipam_client.h"
#include "cni/log.h"
#include "cni/netlink.h"
#include "cni/wire.h"

int cmd_del(struct cni_ctx *ctx)
{
	char host_ifname[IF_NAMESIZE];
	struct nl host = { 0 };
	int rc = -1;

	/* The host end is found by name in our own namespace, so a pod whose
	 * namespace is already gone is cleaned up all the same. */
	wire_host_ifname(ctx->conf.name, ctx->args.container_id, ctx->args.ifname,
			 host_ifname);
	if (nl_open(&host, &ctx->err) < 0 ||
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
