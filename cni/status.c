/* STATUS: can this plugin serve an ADD right now? */
#include "cni/commands.h"
#include "cni/ipam_client.h"

int cmd_status(struct cni_ctx *ctx)
{
	/* Later: the node daemon must be reachable too. */
	return ipam_client_status(ctx, &ctx->err);
}
