/* The CNI calling convention shared by `bulkhead` and `bulkhead-ipam`: read
 * the environment and stdin, validate them, dispatch the command, print the
 * result or the spec's error object on stdout. */
#ifndef BH_CNI_SKEL_H
#define BH_CNI_SKEL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "cni/error.h"
#include "cni/netconf.h"

#define CNI_MAX_STDIN (4u << 20)	/* netconf + prevResult + attachments */

enum cni_cmd {
	CNI_CMD_NONE,
	CNI_CMD_ADD,
	CNI_CMD_DEL,
	CNI_CMD_CHECK,
	CNI_CMD_GC,
	CNI_CMD_STATUS,
	CNI_CMD_VERSION,
};

/* Everything the runtime told us, validated. Strings point into environ. */
struct cni_args {
	enum cni_cmd cmd;
	const char *cmd_name;
	const char *container_id;	/* NULL when not given (GC, STATUS) */
	const char *netns;		/* NULL when empty (a second DEL) */
	const char *ifname;
	const char *path;		/* CNI_PATH, for delegation */
	/* From CNI_ARGS, "" when absent. */
	char k8s_namespace[64];
	char k8s_pod_name[254];
};

/* One invocation: arguments in, result or error out. */
struct cni_ctx {
	struct cni_args args;
	struct netconf conf;
	char *stdin_buf;
	size_t stdin_len;
	json_t *result;			/* set by ADD; printed by the skeleton */
	struct cni_err err;
};

struct cni_plugin {
	const char *name;
	bool strict_netconf;		/* refuse unknown top-level netconf keys */
	int (*add)(struct cni_ctx *ctx);
	int (*del)(struct cni_ctx *ctx);
	int (*check)(struct cni_ctx *ctx);
	int (*gc)(struct cni_ctx *ctx);
	int (*status)(struct cni_ctx *ctx);
};

/* The whole main(): returns the process exit status. */
int cni_skel_run(const struct cni_plugin *plugin);

/* Validators shared with GC's attachment list. */
int cni_check_container_id(const char *what, const char *id, struct cni_err *err);
int cni_check_ifname(const char *what, const char *name, struct cni_err *err);

#endif
