/* The `bulkhead` plugin's commands, one file each. */
#ifndef BH_CNI_COMMANDS_H
#define BH_CNI_COMMANDS_H

#include "cni/skel.h"

int cmd_add(struct cni_ctx *ctx);
int cmd_del(struct cni_ctx *ctx);
int cmd_check(struct cni_ctx *ctx);
int cmd_gc(struct cni_ctx *ctx);
int cmd_status(struct cni_ctx *ctx);

#endif
