/* The daemon's picture of the cluster: the Pods, Namespaces,
 * NetworkPolicies and Nodes the API server (or the manifest directory) has
 * told it about, validated once on the way in. */
#ifndef BH_POLICYD_STORE_H
#define BH_POLICYD_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include <jansson.h>

#include "datapath/dp.h"
#include "policyd/compile.h"
#include "policyd/labels.h"
#include "policyd/netpol.h"
#include "policyd/strmap.h"

/* The kinds the daemon watches, in the order it lists them: identities
 * first, so numbers other nodes hold are known before pods need them. */
enum store_kind {
	STORE_IDENTITY,
	STORE_NAMESPACE,
	STORE_POD,
	STORE_POLICY,
	STORE_NODE,
	STORE_NKINDS,
};

struct pod {
	char *key;		/* "ns/name" */
	char *ns;
	char *name;
	char *node;		/* spec.nodeName, "" when not scheduled */
	__be32 ip;		/* status.podIP, 0 when none (or IPv6) */
	bool host_network;	/* the node's identity, not its own */
	struct labels labels;
	struct named_port *ports;
	size_t nports;
	bool seen;		/* during a relist */
	/* The identity label set's canonical string (labels_str), computed
	 * once per version of the pod and of its namespace (idl_gen is the
	 * namespace's gen it was made from). */
	char *idl_str;
	uint64_t idl_gen;
};

struct ns {
	char *name;
	struct labels labels;	/* with kubernetes.io/metadata.name = name */
	uint64_t gen;		/* new for every version: pods' caches follow */
	bool seen;
};

struct policy {
	char *key;		/* "ns/name" */
	struct netpol np;
	bool seen;
};

struct node {
	char *name;
	__be32 addr;		/* first InternalIP, 0 when none */
	struct np_cidr pod_cidr;	/* spec.podCIDR, plen 0 when none */
	bool seen;
};

struct store {
	struct strmap pods;		/* key -> struct pod */
	struct strmap pods_by_ip;	/* "a.b.c.d" -> struct pod */
	struct strmap nss;		/* name -> struct ns */
	struct strmap policies;		/* key -> struct policy */
	struct strmap nodes;		/* name -> struct node */
	struct strmap policy_ids;	/* key -> stable number (uintptr_t) */
	struct strmap policy_keys;	/* stable number -> key, for probing */
	uint64_t ns_gen;
	uint64_t bad_objects[STORE_NKINDS];	/* skipped as invalid */
};

const char *store_kind_name(enum store_kind k);

/* Applies one object: upsert (del false) or delete. A bad object is
 * skipped with err set and counted; returns 1 when the store changed, 0
 * when not, -EINVAL for a skipped object. A bad update of a known object
 * removes the old version only where keeping it could allow more than the
 * new one means: a policy that turned invalid stays as its fail-closed
 * form (netpol_parse never refuses a policy it can name). */
int store_apply(struct store *s, enum store_kind k, const json_t *obj,
		bool del, struct dp_err *err);

/* Relist bookkeeping: mark clears every object's seen flag of kind k,
 * store_apply sets it, sweep deletes the unseen (deleted while we were
 * away) and returns how many. */
void store_mark(struct store *s, enum store_kind k);
int store_sweep(struct store *s, enum store_kind k);

/* The watch threads' kube_trim_fn: cuts an object of kind resource down to
 * the fields store_apply reads, before it waits in the queue. */
void store_trim(int resource, json_t *obj);

struct pod *store_pod(const struct store *s, const char *ns, const char *name);
struct ns *store_ns(const struct store *s, const char *name);
/* The pod whose status names ip, or NULL. */
struct pod *store_pod_by_ip(const struct store *s, __be32 ip);
void store_free(struct store *s);

#endif
