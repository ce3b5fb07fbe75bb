/* The node's end of the overlay: its VXLAN device with the overlay program
 * attached, and the config fields that tell the datapath about both. */
#ifndef BH_POLICYD_OVERLAY_H
#define BH_POLICYD_OVERLAY_H

#include <linux/types.h>

#include "datapath/dp.h"

struct daemon;

/* Makes sure BH_VXLAN_DEV exists in the daemon's network namespace in
 * external mode on BH_VXLAN_PORT, is up and has the overlay program, and
 * writes its ifindex into the config (0 with --no-overlay). An existing
 * device of that name that is not an external vxlan on that port is an
 * error: the daemon will not take over somebody else's device. */
int overlay_open(struct daemon *d, struct dp_err *err);

/* Writes the node's underlay address into the config when it changed
 * (the tunnel's source; 0 while not known). */
int overlay_set_node_ip(struct daemon *d, __be32 node_ip, struct dp_err *err);

#endif
