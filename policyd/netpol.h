/* networking.k8s.io/v1 NetworkPolicy, parsed and validated into the form
 * the compiler works on. A policy that is partly wrong is kept in a form
 * that can only allow less than the author meant, never more. */
#ifndef BH_POLICYD_NETPOL_H
#define BH_POLICYD_NETPOL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <jansson.h>

#include "datapath/dp.h"
#include "policyd/selector.h"

#define NETPOL_PORT_NAME_MAX	15	/* IANA_SVC_NAME */

struct np_port {
	__u8 proto;		/* IPPROTO_TCP (default), _UDP or _SCTP */
	__u16 port;		/* 0 with no name: every port of proto */
	__u16 end_port;		/* 0: just port; else port..end_port */
	char name[NETPOL_PORT_NAME_MAX + 1];	/* "": numeric or every port */
};

struct np_cidr {
	__be32 addr;		/* network address, host bits zero */
	__u8 plen;
};

enum np_peer_kind {
	NP_PEER_PODS,		/* podSelector and/or namespaceSelector */
	NP_PEER_IPBLOCK,
};

/* Pods: has_pod_sel/has_ns_sel say which selectors were present.
 * Neither present cannot happen (rejected as invalid). Only pod_sel: pods
 * of the policy's namespace. Only ns_sel: every pod of the selected
 * namespaces. Both: the selected pods of the selected namespaces (AND). */
struct np_peer {
	enum np_peer_kind kind;
	bool has_pod_sel;
	bool has_ns_sel;
	struct selector pod_sel;
	struct selector ns_sel;
	struct np_cidr cidr;		/* NP_PEER_IPBLOCK */
	struct np_cidr *except;
	size_t nexcept;
};

/* peers == NULL with npeers == 0: from/to absent or empty, every peer
 * (any identity, inside the cluster or not). ports likewise: every port of
 * every protocol. invalid: some part of the rule was rejected; the
 * compiler emits nothing for it (it allows nothing). */
struct np_rule {
	struct np_peer *peers;
	size_t npeers;
	struct np_port *ports;
	size_t nports;
	bool invalid;
};

struct netpol {
	char *ns;
	char *name;
	__u32 id;		/* the daemon's stable number; rule ids derive from it */
	struct selector pod_sel;
	/* The pod selector itself was invalid: the policy selects every pod of
	 * its namespace for both directions and allows nothing. */
	bool select_all_invalid;
	bool ingress;		/* policyTypes has Ingress (after defaulting) */
	bool egress;
	struct np_rule *in;
	size_t nin;
	struct np_rule *eg;
	size_t neg;
	unsigned int nproblems;	/* parts rejected; each logged through err */
};

/* Parses a NetworkPolicy object. Returns 0 for a usable policy (maybe with
 * invalid rules: nproblems > 0, and err holds the first problem), -EINVAL
 * when the object cannot be a NetworkPolicy at all (no metadata.name or
 * namespace, spec not an object): the caller skips it. policyTypes
 * defaulting is the API server's: Ingress always, Egress when the egress
 * list is not empty. */
int netpol_parse(const json_t *obj, struct netpol *out, struct dp_err *err);
void netpol_free(struct netpol *p);

/* "10.0.0.0/8" into c; host bits are masked off, as the API server's own
 * parser does. A valid IPv6 CIDR gives -EAFNOSUPPORT (IPv4-only datapath). */
int np_cidr_parse(const char *s, struct np_cidr *c, struct dp_err *err);
bool np_cidr_contains(const struct np_cidr *outer, const struct np_cidr *inner);

#endif
