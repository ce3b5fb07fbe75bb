/* `bulkhead-ipam`: the allocator as a standalone CNI IPAM plugin, for any
 * interface plugin that names it in ipam.type. */
#include "cni/skel.h"
#include "ipam/ipam_cni.h"

static int ipam_add(struct cni_ctx *ctx)
{
	struct ipam_result r;
	bool fresh;

	if (ipam_cni_add(&ctx->conf, &ctx->args, &r, &fresh, &ctx->err) < 0)
		return -1;
	ctx->result = result_render_ipam(&r, ctx->conf.version);
	ipam_result_free(&r);
	if (!ctx->result)
		return cni_errorf(&ctx->err, BH_ERR_INTERNAL, "out of memory");
	return 0;
}

static int ipam_del(struct cni_ctx *ctx)
{
	return ipam_cni_del(&ctx->conf, &ctx->args, &ctx->err);
}

/* The interface plugin checks the pod; we check the address is held. */
static int ipam_check(struct cni_ctx *ctx)
{
	struct ipam_result r;

	if (!ctx->conf.prev_result)
		return cni_errorf(&ctx->err, BH_ERR_CHECK,
				  "CHECK needs the prevResult of ADD");
	if (ipam_result_parse(ctx->conf.prev_result, "prevResult", &r,
			      &ctx->err) < 0)
		return -1;
	ipam_result_free(&r);
	for (size_t i = 0; i < r.n_ips; i++)
		if (ipam_cni_check(&ctx->conf, &ctx->args, &r.ips[i].addr.addr,
				   &ctx->err) < 0)
			return -1;
	return 0;
}

static int ipam_gc_cmd(struct cni_ctx *ctx)
{
	return ipam_cni_gc(&ctx->conf, &ctx->err);
}

static int ipam_status(struct cni_ctx *ctx)
{
	return ipam_cni_status(&ctx->conf, &ctx->err);
}

static const struct cni_plugin bulkhead_ipam = {
	.name = "bulkhead-ipam",
	.strict_netconf = false,
	.add = ipam_add,
	.del = ipam_del,
	.check = ipam_check,
	.gc = ipam_gc_cmd,
	.status = ipam_status,
};

int main(void)
{
	return cni_skel_run(&bulkhead_ipam);
}
