/* The NetworkPolicy compiler: from parsed policies and the identities the
 * node knows to the exact policy map rules and enforcement flags of every
 * local identity. Pure: no maps, no I/O, same input same output. */
#ifndef BH_POLICYD_COMPILE_H
#define BH_POLICYD_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "datapath/dp.h"
#include "datapath/policy_map.h"
#include "policyd/labels.h"
#include "policyd/netpol.h"

/* A container port as the pod spec declares it, for named ports. */
struct named_port {
	char name[NETPOL_PORT_NAME_MAX + 1];
	__u8 proto;
	__u16 port;
};

/* A cluster identity (pod labels with LABELS_NS_PREFIX namespace labels)
 * and the named ports its pods declare (the union over those pods: pods of
 * one identity come from one template in practice; where they disagree,
 * a name resolves to every number any of them gives it). */
struct cmp_identity {
	__u32 id;
	const struct labels *labels;
	const struct named_port *ports;
	size_t nports;
};

/* A node-local CIDR identity: one per distinct prefix named by any ipBlock
 * cidr or except of any policy, so the ipcache's longest match gives every
 * address the identity of the most specific prefix that names it. */
struct cmp_cidr {
	struct np_cidr cidr;
	__u32 id;
};

struct compile_opts {
	/* Every enforced ingress direction also allows BH_ID_HOST (kubelet's
	 * probes come from the node), as Kubernetes expects. */
	bool allow_host;
	/* Number for a prefix: stable per prefix across calls, from
	 * BH_ID_LOCAL_MIN up; returns 0 when none is left (the compiler then
	 * fails with -ENOSPC rather than emit a wider rule). */
	__u32 (*cidr_id)(void *ctx, const struct np_cidr *c);
	void *cidr_ctx;
};

/* Rule ids name the policy and the rule they came from: bulkhead-ctl shows
 * them and the flow log carries them. */
#define COMPILE_RULE_HOST	1u	/* the allow_host entry */
#define COMPILE_RULE_IDX_MAX	511u	/* later rules share this index */
static inline __u32 compile_rule_id(__u32 policy_id, int dir, unsigned int idx)
{
	if (idx > COMPILE_RULE_IDX_MAX)
		idx = COMPILE_RULE_IDX_MAX;
	return policy_id << 10 | (__u32)dir << 9 | idx;
}
static inline __u32 compile_rule_policy(__u32 rule_id) { return rule_id >> 10; }
static inline int compile_rule_dir(__u32 rule_id) { return (rule_id >> 9) & 1; }
static inline unsigned int compile_rule_idx(__u32 rule_id) { return rule_id & 511; }

/* Enforcement of one local identity: BH_EP_F_ENFORCE_* for the directions
 * some policy selects it for. */
struct cmp_enforce {
	__u32 id;
	__u32 flags;
};

struct compile_out {
	struct dp_rule *rules;		/* allows only: Kubernetes has no deny */
	size_t nrules;
	struct cmp_enforce *enforce;	/* one per local identity, in input order */
	size_t nenforce;
	struct cmp_cidr *cidrs;		/* sorted by (addr, plen) */
	size_t ncidrs;
};

/* Compiles pols[0..npols) for the identities local[0..nlocal) (those with
 * endpoints on this node; each also in ids) against every known identity
 * ids[0..nids) as peers. Rules for a local identity no policy selects in a
 * direction are not emitted (the direction is not enforced). Duplicate
 * rules are emitted once. Returns 0, or a negative errno with err set
 * (-ENOMEM, -ENOSPC for CIDR identities). */
int compile_policies(const struct netpol *pols, size_t npols,
		     const struct cmp_identity *ids, size_t nids,
		     const __u32 *local, size_t nlocal,
		     const struct compile_opts *opts,
		     struct compile_out *out, struct dp_err *err);
void compile_out_free(struct compile_out *out);

#endif
