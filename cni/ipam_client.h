/* The plugin's view of IPAM: in-process when ipam.type is bulkhead-ipam,
 * otherwise the named plugin, run as the spec says. Same calls either way. */
#ifndef BH_CNI_IPAM_CLIENT_H
#define BH_CNI_IPAM_CLIENT_H

#include <stdbool.h>

#include "cni/result.h"
#include "cni/skel.h"

int ipam_client_add(struct cni_ctx *ctx, struct ipam_result *out, bool *fresh,
		    struct cni_err *err);
int ipam_client_del(struct cni_ctx *ctx, struct cni_err *err);
int ipam_client_check(struct cni_ctx *ctx, const struct ip_addr *addr,
		      struct cni_err *err);
int ipam_client_gc(struct cni_ctx *ctx, struct cni_err *err);
int ipam_client_status(struct cni_ctx *ctx, struct cni_err *err);

#endif
