/* STATUS: can this plugin serve an ADD right now? */
#include "cni/commands.h"
#include "cni/endpoint.h"
#include "cni/ipam_client.h"

int cmd_status(struct cni_ctx *ctx)
{
	/* Later: the node daemon must be reachable too. */
	if (endpoint_status(&ctx->conf, &ctx->err) < 0)
		return -1;
	return ipam_client_status(ctx, &ctx->err);
}
