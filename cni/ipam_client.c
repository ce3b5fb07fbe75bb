/* One IPAM interface over the in-process allocator and delegated plugins. */
#include <string.h>
#include <sys/socket.h>

#include "cni/delegate.h"
#include "cni/ipam_client.h"
#include "cni/log.h"
#include "ipam/ipam_cni.h"

/* bulkhead-ipam serves IPv6 to other plugins, but this plugin's pods and
 * datapath are IPv4 for now. */
static int inproc_add(struct cni_ctx *ctx, struct ipam_result *out,
		      bool *fresh, struct cni_err *err)
{
	struct cni_err ignored = { 0 };

	if (ipam_cni_add(&ctx->conf, &ctx->args, out, fresh, err) < 0)
		return -1;
	if (out->ips[0].addr.addr.family == AF_INET)
		return 0;
	if (*fresh)
		ipam_cni_del(&ctx->conf, &ctx->args, &ignored);
	ipam_result_free(out);
	return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
			  "invalid netconf: ipam.subnet: only IPv4 pod addresses are supported yet");
}

int ipam_client_add(struct cni_ctx *ctx, struct ipam_result *out, bool *fresh,
		    struct cni_err *err)
{
	json_t *res = NULL;
	int rc;

	if (netconf_ipam_inproc(&ctx->conf))
		return inproc_add(ctx, out, fresh, err);
	/* A delegate cannot tell us whether the address is new: treat it as
	 * ours to release if ADD fails, as the spec's DEL-on-failure does. */
	*fresh = true;
	if (delegate_run(ctx, ctx->conf.ipam_type, "ADD", &res, err) < 0)
		return -1;
	rc = ipam_result_parse(res, ctx->conf.ipam_type, out, err);
	json_decref(res);
	if (rc < 0) {
		struct cni_err ignored = { 0 };

		ipam_client_del(ctx, &ignored);
	}
	return rc;
}

int ipam_client_del(struct cni_ctx *ctx, struct cni_err *err)
{
	json_t *res = NULL;

	if (netconf_ipam_inproc(&ctx->conf))
		return ipam_cni_del(&ctx->conf, &ctx->args, err);
	if (delegate_run(ctx, ctx->conf.ipam_type, "DEL", &res, err) < 0)
		return -1;
	json_decref(res);
	return 0;
}

int ipam_client_check(struct cni_ctx *ctx, const struct ip_addr *addr,
		      struct cni_err *err)
{
	json_t *res = NULL;

	if (netconf_ipam_inproc(&ctx->conf))
		return ipam_cni_check(&ctx->conf, &ctx->args, addr, err);
	if (delegate_run(ctx, ctx->conf.ipam_type, "CHECK", &res, err) < 0)
		return -1;
	json_decref(res);
	return 0;
}

/* Delegates older than spec 1.1.0 answer GC and STATUS with an error; that
 * says nothing about the network, so it is logged and passed over. */
static int delegate_optional(struct cni_ctx *ctx, const char *command,
			     struct cni_err *err)
{
	struct cni_err derr = { 0 };
	json_t *res = NULL;

	if (delegate_run(ctx, ctx->conf.ipam_type, command, &res, &derr) == 0) {
		json_decref(res);
		return 0;
	}
	if (derr.code == CNI_ERR_NOT_AVAILABLE ||
	    derr.code == CNI_ERR_NOT_AVAILABLE_LIMITED) {
		*err = derr;
		return -1;
	}
	log_warn("%s (ignored: the plugin may predate CNI 1.1.0)", derr.msg);
	return 0;
}

int ipam_client_gc(struct cni_ctx *ctx, struct cni_err *err)
{
	if (netconf_ipam_inproc(&ctx->conf))
		return ipam_cni_gc(&ctx->conf, err);
	return delegate_optional(ctx, "GC", err);
}

int ipam_client_status(struct cni_ctx *ctx, struct cni_err *err)
{
	if (netconf_ipam_inproc(&ctx->conf))
		return ipam_cni_status(&ctx->conf, err);
	return delegate_optional(ctx, "STATUS", err);
}
