/* The IPAM's CNI face: ADD, DEL, CHECK, GC and STATUS on a netconf, used by
 * the standalone `bulkhead-ipam` binary and in-process by `bulkhead`. */
#ifndef BH_IPAM_CNI_H
#define BH_IPAM_CNI_H

#include <stdbool.h>

#include "cni/netconf.h"
#include "cni/result.h"
#include "cni/skel.h"
#include "ipam/ipam.h"

/* Allocates (or finds) the attachment's address. *fresh tells whether this
 * call allocated it, so a failed ADD releases only what it took. */
int ipam_cni_add(const struct netconf *conf, const struct cni_args *args,
		 struct ipam_result *out, bool *fresh, struct cni_err *err);
int ipam_cni_del(const struct netconf *conf, const struct cni_args *args,
		 struct cni_err *err);
/* Fails with BH_ERR_CHECK unless the attachment holds addr. */
int ipam_cni_check(const struct netconf *conf, const struct cni_args *args,
		   const struct ip_addr *addr, struct cni_err *err);
/* Releases allocations not in conf's cni.dev/valid-attachments. */
int ipam_cni_gc(const struct netconf *conf, struct cni_err *err);
/* Fails with CNI_ERR_NOT_AVAILABLE when no ADD could get an address. */
int ipam_cni_status(const struct netconf *conf, struct cni_err *err);

/* cni.dev/valid-attachments as a validated array (free with free()). */
int valid_attachments_parse(const json_t *list, struct ipam_attachment **out,
			    size_t *n, struct cni_err *err);

#endif
