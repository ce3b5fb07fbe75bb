/* Where a node's datapath lives in bpffs: ROOT/maps/NAME and
 * ROOT/progs/NAME, ROOT being the netconf's bpffsRoot (one per node, so
 * several simulated nodes can share a kernel). */
#ifndef BH_INCLUDE_PIN_H
#define BH_INCLUDE_PIN_H

#define BH_PIN_MAPS_DIR		"maps"
#define BH_PIN_PROGS_DIR	"progs"

#define BH_MAP_ENDPOINTS	"endpoints"
#define BH_MAP_IPCACHE		"ipcache"
#define BH_MAP_POLICY		"policy"
#define BH_MAP_CONNTRACK	"conntrack"
#define BH_MAP_CONFIG		"config"
#define BH_MAP_COUNTERS		"counters"
#define BH_MAP_EVENTS		"events"
#define BH_MAP_EVENT_BUDGET	"event_budget"
#define BH_MAP_TUNNEL		"tunnel"

#define BH_PROG_FROM_CONTAINER	"from_container"
#define BH_PROG_TO_CONTAINER	"to_container"
#define BH_PROG_OVERLAY		"overlay"	/* tc ingress of the VXLAN device */

/* The tc filter the plugin installs on each host veth. */
#define BH_TC_PRIORITY		1
#define BH_TC_HANDLE		0xb4

#endif
