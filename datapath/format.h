/* Words for the datapath's structures that every tool prints the same
 * way: endpoint flags, MAC addresses, conntrack states. */
#ifndef BH_DATAPATH_FORMAT_H
#define BH_DATAPATH_FORMAT_H

#include <stddef.h>
#include <linux/types.h>

/* "egress,audit" or "none"; unknown bits as a hex remainder. */
const char *dp_ep_flags_str(__u32 flags, char *buf, size_t len);
/* The enum BH_EP_F_* set for "egress,ingress,audit" or "none"; -1 for a
 * word that is none of them (or a trailing comma). */
int dp_ep_flags_parse(const char *s, __u32 *out);
/* "aa:bb:cc:dd:ee:ff"; buf needs 18 bytes. */
const char *dp_mac_str(const __u8 *mac, char *buf, size_t len);
/* "new", "established", "closing"; NULL otherwise. */
const char *dp_ct_state_name(unsigned int state);
/* A number's word, or the number in buf when it has none. */
const char *dp_word(const char *name, unsigned int v, char *buf, size_t len);

#endif
