/* `bulkhead`: the CNI plugin kubelet's runtime executes for every pod. */
#include "cni/commands.h"
#include "cni/skel.h"

static const struct cni_plugin bulkhead = {
	.name = "bulkhead",
	.strict_netconf = true,
	.add = cmd_add,
	.del = cmd_del,
	.check = cmd_check,
	.gc = cmd_gc,
	.status = cmd_status,
};

int main(void)
{
	return cni_skel_run(&bulkhead);
}
