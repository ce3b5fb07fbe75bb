/* The result of each ADD, kept under stateDir/results/NETWORK/ so CHECK can
 * compare against it when the runtime sends no prevResult, and operators
 * can see what the plugin made. */
#ifndef BH_CNI_CACHE_H
#define BH_CNI_CACHE_H

#include <jansson.h>

#include "cni/netconf.h"
#include "ipam/ipam.h"

int cache_write(const struct netconf *conf, const char *container_id,
		const char *ifname, const json_t *result, struct cni_err *err);
/* NULL when there is no cached result. */
json_t *cache_read(const struct netconf *conf, const char *container_id,
		   const char *ifname);
void cache_remove(const struct netconf *conf, const char *container_id,
		  const char *ifname);
/* Removes the results of attachments not in valid[0..n). */
void cache_gc(const struct netconf *conf, const struct ipam_attachment *valid,
	      size_t n);

#endif
