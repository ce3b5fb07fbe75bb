/* Verdicts and their reasons: one list, so the datapath, the counters and
 * every tool that prints a reason agree on the numbers and the words. */
#ifndef BH_INCLUDE_REASON_H
#define BH_INCLUDE_REASON_H

enum bh_verdict {
	BH_VERDICT_ALLOW = 0,
	BH_VERDICT_DROP = 1,
	BH_VERDICT_AUDIT = 2,	/* would have been dropped; passed by audit mode */
	BH_VERDICT_MAX,
};

/* X(NAME, value, "words", auditable): auditable reasons are policy
 * decisions, which audit mode reports and passes; the others (spoofing,
 * malformed packets, full maps) drop whatever the mode. Values are ABI:
 * counters and events carry them; append, never renumber. */
#define BH_REASONS(X)							\
	X(ALLOW_NO_POLICY,	0, "no policy selects the endpoint", 0)	\
	X(ALLOW_POLICY,		1, "allowed by policy", 0)		\
	X(ALLOW_ESTABLISHED,	2, "established connection", 0)		\
	X(ALLOW_ARP,		3, "ARP", 0)				\
	X(DROP_POLICY_DEFAULT,	16, "no policy allows it", 1)		\
	X(DROP_POLICY_DENY,	17, "denied by a deny rule", 1)		\
	X(DROP_UNKNOWN_IDENTITY, 18, "remote identity unknown", 1)	\
	X(DROP_ENDPOINT_INIT,	19, "endpoint identity not yet known", 1) \
	X(DROP_SPOOFED_IP,	32, "source IP is not the endpoint's", 0) \
	X(DROP_SPOOFED_MAC,	33, "source MAC is not the endpoint's", 0) \
	X(DROP_SPOOFED_ARP,	34, "ARP sender is not the endpoint", 0)	\
	X(DROP_NO_ENDPOINT,	35, "destination is not a known endpoint", 0) \
	X(DROP_MALFORMED,	36, "malformed packet", 0)		\
	X(DROP_UNSUPPORTED_L3,	37, "protocol not supported", 0)	\
	X(DROP_FRAGMENT,	38, "IPv4 fragment without ports", 0)	\
	X(DROP_CT_FULL,		48, "conntrack table full", 0)		\
	X(DROP_NO_CONFIG,	49, "datapath configuration missing", 0)	\
	X(DROP_UNKNOWN_NODE,	50, "tunnel packet from an address that is not a node", 0) \
	X(DROP_BAD_VNI,		51, "VNI is not a cluster identity", 0)	\
	X(DROP_NO_TUNNEL,	52, "tunnel key missing or not settable", 0)

enum bh_reason {
#define BH_REASON_ENUM(name, val, words, audit) BH_REASON_##name = val,
	BH_REASONS(BH_REASON_ENUM)
#undef BH_REASON_ENUM
	BH_REASON_MAX = 64,
};

#define BH_REASON_IS_DROP(r)	((r) >= BH_REASON_DROP_POLICY_DEFAULT)

/* Direction is relative to the endpoint: egress leaves the pod, ingress
 * enters it. */
enum bh_dir {
	BH_DIR_EGRESS = 0,
	BH_DIR_INGRESS = 1,
	BH_DIR_MAX,
};

#endif
