/* Running another CNI plugin (an external IPAM such as host-local) the way
 * the spec describes: found in CNI_PATH, same environment, same netconf. */
#ifndef BH_CNI_DELEGATE_H
#define BH_CNI_DELEGATE_H

#include <jansson.h>

#include "cni/skel.h"

/* Runs plugin `type` with CNI_COMMAND=command and stdin = the netconf we got.
 * On success *out is its parsed stdout (NULL if it printed nothing). On
 * failure err carries the plugin's own code and message, prefixed with its
 * name, so a "try again later" stays one. */
int delegate_run(const struct cni_ctx *ctx, const char *type,
		 const char *command, json_t **out, struct cni_err *err);

#endif
