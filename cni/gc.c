/* GC: everything of this network that no valid attachment accounts for goes:
 * addresses, host veths left by a crashed ADD or DEL, cached results; and
 * every endpoint entry whose host veth is gone. */
#include <stdlib.h>
#include <string.h>

#include "cni/cache.h"
#include "cni/commands.h"
#include "cni/endpoint.h"
#include "cni/ipam_client.h"
#include "cni/log.h"
#include "cni/netlink.h"
#include "cni/wire.h"
#include "ipam/ipam_cni.h"

struct gc_links {
	char alias[256];
	char (*keep)[IF_NAMESIZE];	/* host veth names of valid attachments */
	size_t n_keep;
	int stale[1024];		/* ifindexes to delete */
	size_t n_stale;
};

static int collect_stale(const struct nl_link *l, void *arg)
{
	struct gc_links *g = arg;

	if (strcmp(l->alias, g->alias) != 0)
		return 0;
	for (size_t i = 0; i < g->n_keep; i++)
		if (strcmp(g->keep[i], l->name) == 0)
			return 0;
	/* The rest go in the next GC; GC runs periodically. */
	if (g->n_stale < sizeof(g->stale) / sizeof(g->stale[0]))
		g->stale[g->n_stale++] = l->ifindex;
	return 0;
}

static int gc_links(struct cni_ctx *ctx, struct nl *host,
		    const struct ipam_attachment *valid, size_t n)
{
	struct gc_links g = { .n_keep = n };
	int rc = -1;

	wire_alias(ctx->conf.name, g.alias, sizeof(g.alias));
	g.keep = calloc(n ? n : 1, sizeof(*g.keep));
	if (!g.keep)
		return cni_errorf(&ctx->err, BH_ERR_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++)
		wire_host_ifname(ctx->conf.name, valid[i].container_id,
				 valid[i].ifname, g.keep[i]);
	if (nl_link_foreach(host, collect_stale, &g, &ctx->err) < 0)
		goto out;
	for (size_t i = 0; i < g.n_stale; i++) {
		if (nl_link_del(host, g.stale[i], &ctx->err) < 0)
			goto out;
		log_info("gc deleted stale host veth ifindex %d", g.stale[i]);
	}
	rc = 0;
out:
	free(g.keep);
	return rc;
}

int cmd_gc(struct cni_ctx *ctx)
{
	struct ipam_attachment *valid = NULL;
	struct nl host = { 0 };
	size_t n = 0;
	int rc = -1;

	if (valid_attachments_parse(ctx->conf.valid_attachments, &valid, &n,
				    &ctx->err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (cni_check_container_id("cni.dev/valid-attachments[].containerID",
					   valid[i].container_id, &ctx->err) < 0 ||
		    cni_check_ifname("cni.dev/valid-attachments[].ifname",
				     valid[i].ifname, &ctx->err) < 0)
			goto out;
	/* Links first, then the endpoint entries that pointed at them: an
	 * address is only free once nothing routes to it or claims it. */
	if (nl_open(&host, &ctx->err) < 0 || gc_links(ctx, &host, valid, n) < 0 ||
	    endpoint_gc(&ctx->conf, &host, &ctx->err) < 0 ||
	    ipam_client_gc(ctx, &ctx->err) < 0)
		goto out;
	cache_gc(&ctx->conf, valid, n);
	rc = 0;
out:
	nl_close(&host);
	free(valid);
	return rc;
}
