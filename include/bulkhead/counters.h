/* Per-CPU packet and byte counters by verdict, reason and direction. */
#ifndef BH_INCLUDE_COUNTERS_H
#define BH_INCLUDE_COUNTERS_H

#include <linux/types.h>
#include "bulkhead/reason.h"

#define BH_COUNTER_INDEX(verdict, reason, dir) \
	(((verdict) * BH_REASON_MAX + (reason)) * BH_DIR_MAX + (dir))
#define BH_MAX_COUNTERS	(BH_VERDICT_MAX * BH_REASON_MAX * BH_DIR_MAX)

struct bh_counter {
	__u64 packets;
	__u64 bytes;
};

_Static_assert(sizeof(struct bh_counter) == 16, "counter ABI");

#endif
