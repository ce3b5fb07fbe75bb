/* The NetworkPolicy compiler: which local identities each policy selects,
 * and which remote identities and ports its rules allow, as policy map rules.
 * Everything derived from labels is computed once per call, not per pair. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulkhead/endpoint.h"
#include "bulkhead/identity.h"
#include "bulkhead/reason.h"
#include "policyd/compile.h"
#include "policyd/selector.h"

/* One identity as selectors see it. ns_name NULL: not a pod identity
 * (reserved, CIDR, or no namespace), which no selector ever picks. */
struct id_view {
	const struct cmp_identity *ident;
	struct labels pod;
	struct labels ns;
	const char *ns_name;
};

/* Pod identities that share one namespace label set: a namespace selector
 * is matched once per group. Members are c->by_ns[first..first+n). */
struct ns_group {
	const char *name;
	const struct labels *ns;
	size_t first;
	size_t n;
};

/* A remote end a rule names. ident is the pod identity (for egress named
 * ports), NULL for any identity and for CIDR identities. */
struct target {
	__u32 id;
	const struct cmp_identity *ident;
};

struct target_vec {
	struct target *v;
	size_t n, cap;
};

struct rule_vec {
	struct dp_rule *v;
	size_t n, cap;
};

/* One policy rule made ready to stamp onto each local identity it applies
 * to: the remote ends, and every rule that does not depend on the local
 * identity (all but ingress named ports), local_id left 0. */
struct rule_plan {
	struct target_vec remotes;
	struct rule_vec fixed;
};

/* Built the first time the policy selects a local identity: most policies
 * of a cluster select nothing on a given node. */
struct pol_plan {
	bool built;
	struct rule_plan *in;
	struct rule_plan *eg;
};

struct id_index {
	__u32 id;
	size_t idx;
};

struct compiler {
	const struct netpol *pols;
	size_t npols;
	const struct cmp_identity *ids;
	size_t nids;
	const struct compile_opts *opts;
	struct dp_err *err;

	struct id_view *views;		/* one per ids[] */
	struct id_index *index;		/* ids by number, for the locals */
	size_t *by_ns;			/* pod identities, grouped */
	size_t npods;
	struct ns_group *groups;
	size_t ngroups;
	struct cmp_cidr *cidrs;		/* sorted, distinct */
	size_t ncidrs;
	struct pol_plan *plans;		/* one per pols[] */
	struct rule_vec rules;		/* the output as it grows */
};

/* A port list of one entry that means every port of every protocol. */
static const struct np_port every_port = { 0 };

static int oom(struct compiler *c, const char *what)
{
	return dp_errorf(c->err, -ENOMEM, "compile policies: %s: out of memory",
			 what);
}

/* --- growable arrays ------------------------------------------------------ */

/* Room for one more element of size sz in *v (n used, *cap allocated). */
static int grow(void **v, size_t n, size_t *cap, size_t sz)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap < *cap || ncap > SIZE_MAX / sz)
		return -ENOMEM;
	nv = realloc(*v, ncap * sz);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static int rules_push(struct compiler *c, struct rule_vec *rv,
		      const struct dp_rule *r)
{
	if (grow((void **)&rv->v, rv->n, &rv->cap, sizeof(*rv->v)) < 0)
		return oom(c, "rules");
	rv->v[rv->n++] = *r;
	return 0;
}

static int targets_push(struct compiler *c, struct target_vec *tv, __u32 id,
			const struct cmp_identity *ident)
{
	if (grow((void **)&tv->v, tv->n, &tv->cap, sizeof(*tv->v)) < 0)
		return oom(c, "peers");
	tv->v[tv->n++] = (struct target){ .id = id, .ident = ident };
	return 0;
}

/* --- identities ----------------------------------------------------------- */

static bool is_pod_identity(const struct cmp_identity *ident)
{
	return ident->id >= BH_ID_CLUSTER_MIN && ident->id <= BH_ID_CLUSTER_MAX &&
	       ident->labels;
}

static int view_init(struct compiler *c, struct id_view *v,
		     const struct cmp_identity *ident)
{
	v->ident = ident;
	if (!is_pod_identity(ident))
		return 0;
	v->ns_name = labels_get(ident->labels,
				LABELS_NS_PREFIX LABELS_NS_NAME_KEY);
	if (!v->ns_name)
		return 0;
	if (labels_split(ident->labels, &v->pod, &v->ns) < 0)
		return oom(c, "identity labels");
	return 0;
}

static int ns_order(const void *a, const void *b, void *ctx)
{
	const struct id_view *views = ctx;
	const size_t *ia = a, *ib = b;
	int d = labels_cmp(&views[*ia].ns, &views[*ib].ns);

	if (d)
		return d;
	return *ia < *ib ? -1 : *ia > *ib;
}

/* Pod identities sorted by namespace labels; each run is one group. */
static int group_by_namespace(struct compiler *c)
{
	c->by_ns = calloc(c->nids ? c->nids : 1, sizeof(*c->by_ns));
	c->groups = calloc(c->nids ? c->nids : 1, sizeof(*c->groups));
	if (!c->by_ns || !c->groups)
		return oom(c, "namespace groups");
	for (size_t i = 0; i < c->nids; i++)
		if (c->views[i].ns_name)
			c->by_ns[c->npods++] = i;
	qsort_r(c->by_ns, c->npods, sizeof(*c->by_ns), ns_order, c->views);
	for (size_t k = 0; k < c->npods; k++) {
		const struct id_view *v = &c->views[c->by_ns[k]];
		struct ns_group *g = c->ngroups ? &c->groups[c->ngroups - 1] : NULL;

		if (g && labels_equal(g->ns, &v->ns)) {
			g->n++;
			continue;
		}
		c->groups[c->ngroups++] = (struct ns_group){
			.name = v->ns_name, .ns = &v->ns, .first = k, .n = 1,
		};
	}
	return 0;
}

static int index_order(const void *a, const void *b)
{
	const struct id_index *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int views_init(struct compiler *c)
{
	int rc;

	c->views = calloc(c->nids ? c->nids : 1, sizeof(*c->views));
	c->index = calloc(c->nids ? c->nids : 1, sizeof(*c->index));
	if (!c->views || !c->index)
		return oom(c, "identities");
	for (size_t i = 0; i < c->nids; i++) {
		rc = view_init(c, &c->views[i], &c->ids[i]);
		if (rc < 0)
			return rc;
		c->index[i] = (struct id_index){ .id = c->ids[i].id, .idx = i };
	}
	qsort(c->index, c->nids, sizeof(*c->index), index_order);
	return group_by_namespace(c);
}

/* A local identity the caller did not list among the identities has no
 * labels as far as we know: no policy selects it. */
static const struct id_view *view_of(const struct compiler *c, __u32 id)
{
	struct id_index key = { .id = id };
	const struct id_index *hit;

	hit = bsearch(&key, c->index, c->nids, sizeof(*c->index), index_order);
	return hit ? &c->views[hit->idx] : NULL;
}

/* --- CIDR identities ------------------------------------------------------ */

static int cidr_order(const void *a, const void *b)
{
	const struct cmp_cidr *x = a, *y = b;
	__u32 ax = ntohl(x->cidr.addr), ay = ntohl(y->cidr.addr);

	if (ax != ay)
		return ax < ay ? -1 : 1;
	return x->cidr.plen < y->cidr.plen ? -1 : x->cidr.plen > y->cidr.plen;
}

static int cidr_push(struct compiler *c, size_t *cap, const struct np_cidr *p)
{
	if (grow((void **)&c->cidrs, c->ncidrs, cap, sizeof(*c->cidrs)) < 0)
		return oom(c, "CIDR identities");
	c->cidrs[c->ncidrs++] = (struct cmp_cidr){ .cidr = *p };
	return 0;
}

static int cidrs_of_rules(struct compiler *c, size_t *cap,
			  const struct np_rule *rules, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (rules[i].invalid)
			continue;
		for (size_t j = 0; j < rules[i].npeers; j++) {
			const struct np_peer *peer = &rules[i].peers[j];

			if (peer->kind != NP_PEER_IPBLOCK)
				continue;
			rc = cidr_push(c, cap, &peer->cidr);
			for (size_t k = 0; k < peer->nexcept && rc == 0; k++)
				rc = cidr_push(c, cap, &peer->except[k]);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* Every prefix any policy names, whether or not it selects a local
 * identity here: the ipcache is one for the node, and its longest match
 * must give each address the identity of the most specific prefix. */
static int cidrs_collect(struct compiler *c)
{
	size_t cap = 0, n = 0;
	int rc;

	for (size_t i = 0; i < c->npols; i++) {
		rc = cidrs_of_rules(c, &cap, c->pols[i].in, c->pols[i].nin);
		if (rc == 0)
			rc = cidrs_of_rules(c, &cap, c->pols[i].eg, c->pols[i].neg);
		if (rc < 0)
			return rc;
	}
	if (c->ncidrs)
		qsort(c->cidrs, c->ncidrs, sizeof(*c->cidrs), cidr_order);
	for (size_t i = 0; i < c->ncidrs; i++)
		if (n == 0 || cidr_order(&c->cidrs[n - 1], &c->cidrs[i]) != 0)
			c->cidrs[n++] = c->cidrs[i];
	c->ncidrs = n;
	for (size_t i = 0; i < c->ncidrs; i++) {
		struct cmp_cidr *q = &c->cidrs[i];
		char addr[INET_ADDRSTRLEN] = "?";

		q->id = c->opts->cidr_id ?
			c->opts->cidr_id(c->opts->cidr_ctx, &q->cidr) : 0;
		if (q->id != 0)
			continue;
		inet_ntop(AF_INET, &q->cidr.addr, addr, sizeof(addr));
		return dp_errorf(c->err, -ENOSPC,
				 "compile policies: no CIDR identity left for %s/%u",
				 addr, q->cidr.plen);
	}
	return 0;
}

/* --- peers ---------------------------------------------------------------- */

static bool except_covers(const struct np_peer *peer, const struct np_cidr *q)
{
	for (size_t k = 0; k < peer->nexcept; k++)
		if (np_cidr_contains(&peer->except[k], q))
			return true;
	return false;
}

/* Every collected prefix inside the block and outside its exceptions:
 * prefixes are nested or disjoint, so these are exactly the identities
 * the ipcache gives the block's allowed addresses. */
static int ipblock_targets(struct compiler *c, const struct np_peer *peer,
			   struct target_vec *out)
{
	for (size_t i = 0; i < c->ncidrs; i++) {
		const struct np_cidr *q = &c->cidrs[i].cidr;
		int rc;

		if (!np_cidr_contains(&peer->cidr, q) || except_covers(peer, q))
			continue;
		rc = targets_push(c, out, c->cidrs[i].id, NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool group_in_scope(const struct netpol *p, const struct np_peer *peer,
			   const struct ns_group *g)
{
	if (!peer->has_ns_sel)
		return strcmp(g->name, p->ns) == 0;
	return selector_match(&peer->ns_sel, g->ns);
}

/* Namespaces first (one match per group), then pods within them. */
static int pod_targets(struct compiler *c, const struct netpol *p,
		       const struct np_peer *peer, struct target_vec *out)
{
	bool any_pod = !peer->has_pod_sel || selector_empty(&peer->pod_sel);

	for (size_t g = 0; g < c->ngroups; g++) {
		const struct ns_group *grp = &c->groups[g];

		if (!group_in_scope(p, peer, grp))
			continue;
		for (size_t k = grp->first; k < grp->first + grp->n; k++) {
			const struct id_view *v = &c->views[c->by_ns[k]];
			int rc;

			if (!any_pod && !selector_match(&peer->pod_sel, &v->pod))
				continue;
			rc = targets_push(c, out, v->ident->id, v->ident);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int rule_targets(struct compiler *c, const struct netpol *p,
			const struct np_rule *r, struct target_vec *out)
{
	if (r->npeers == 0)
		return targets_push(c, out, BH_POLICY_ANY_ID, NULL);
	for (size_t j = 0; j < r->npeers; j++) {
		const struct np_peer *peer = &r->peers[j];
		int rc = peer->kind == NP_PEER_IPBLOCK ?
			 ipblock_targets(c, peer, out) :
			 pod_targets(c, p, peer, out);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --- ports ---------------------------------------------------------------- */

/* The numeric range of an unnamed port; false for a range that cannot be
 * (the parser rejects those; allowing less is the safe reading). */
static bool port_range(const struct np_port *pt, __u16 *lo, __u16 *hi)
{
	*lo = pt->port;
	*hi = pt->end_port ? pt->end_port : pt->port;
	return !pt->end_port || (pt->port != 0 && pt->end_port >= pt->port);
}

static int emit(struct compiler *c, struct rule_vec *rv,
		const struct dp_rule *proto_rule, __u32 remote, __u8 proto,
		__u16 lo, __u16 hi)
{
	struct dp_rule r = *proto_rule;

	r.remote_id = remote;
	r.proto = proto;
	r.port_lo = lo;
	r.port_hi = hi;
	return rules_push(c, rv, &r);
}

/* Every number ident gives the port name under proto. */
static int emit_named(struct compiler *c, struct rule_vec *rv,
		      const struct dp_rule *proto_rule, __u32 remote,
		      const struct cmp_identity *ident, const struct np_port *pt)
{
	for (size_t i = 0; i < ident->nports; i++) {
		const struct named_port *np = &ident->ports[i];
		int rc;

		if (np->proto != pt->proto || np->port == 0 ||
		    strcmp(np->name, pt->name) != 0)
			continue;
		rc = emit(c, rv, proto_rule, remote, pt->proto, np->port, np->port);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* An egress named port is the destination's: resolved per remote pod, and
 * for "any peer" per identity that declares it. A CIDR has no names. */
static int emit_egress_named(struct compiler *c, struct rule_vec *rv,
			     const struct dp_rule *proto_rule,
			     const struct target *t, const struct np_port *pt)
{
	int rc = 0;

	if (t->ident)
		return emit_named(c, rv, proto_rule, t->id, t->ident, pt);
	if (t->id != BH_POLICY_ANY_ID)
		return 0;
	for (size_t i = 0; i < c->nids && rc == 0; i++)
		rc = emit_named(c, rv, proto_rule, c->ids[i].id, &c->ids[i], pt);
	return rc;
}

static int plan_port(struct compiler *c, struct rule_plan *plan,
		     const struct dp_rule *proto_rule, const struct np_port *pt)
{
	__u16 lo = 0, hi = 0;
	int rc = 0;

	if (pt->name[0] && proto_rule->dir == BH_DIR_INGRESS)
		return 0;	/* the local identity's: resolved per local */
	if (!pt->name[0] && !port_range(pt, &lo, &hi))
		return 0;
	for (size_t t = 0; t < plan->remotes.n && rc == 0; t++) {
		const struct target *tg = &plan->remotes.v[t];

		rc = pt->name[0] ?
		     emit_egress_named(c, &plan->fixed, proto_rule, tg, pt) :
		     emit(c, &plan->fixed, proto_rule, tg->id, pt->proto, lo, hi);
	}
	return rc;
}

static const struct np_port *rule_ports(const struct np_rule *r, size_t *n)
{
	*n = r->nports ? r->nports : 1;
	return r->nports ? r->ports : &every_port;
}

static int plan_rule(struct compiler *c, const struct netpol *p,
		     const struct np_rule *r, int dir, unsigned int idx,
		     struct rule_plan *plan)
{
	struct dp_rule proto_rule = {
		.dir = (__u8)dir, .action = BH_POLICY_ALLOW,
		.rule_id = compile_rule_id(p->id, dir, idx),
	};
	const struct np_port *ports;
	size_t nports;
	int rc;

	if (r->invalid)
		return 0;
	rc = rule_targets(c, p, r, &plan->remotes);
	ports = rule_ports(r, &nports);
	for (size_t i = 0; i < nports && rc == 0; i++)
		rc = plan_port(c, plan, &proto_rule, &ports[i]);
	return rc;
}

static int plan_rules(struct compiler *c, const struct netpol *p,
		      const struct np_rule *rules, size_t n, int dir,
		      struct rule_plan **out)
{
	int rc = 0;

	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return oom(c, "rule plans");
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = plan_rule(c, p, &rules[i], dir, (unsigned int)i, &(*out)[i]);
	return rc;
}

static int plan_get(struct compiler *c, size_t pi, const struct pol_plan **out)
{
	const struct netpol *p = &c->pols[pi];
	struct pol_plan *pp = &c->plans[pi];
	int rc;

	*out = pp;
	if (pp->built)
		return 0;
	pp->built = true;
	rc = plan_rules(c, p, p->in, p->nin, BH_DIR_INGRESS, &pp->in);
	if (rc == 0)
		rc = plan_rules(c, p, p->eg, p->neg, BH_DIR_EGRESS, &pp->eg);
	return rc;
}

static void plans_free(struct compiler *c)
{
	for (size_t i = 0; c->plans && i < c->npols; i++) {
		struct pol_plan *pp = &c->plans[i];

		for (size_t j = 0; pp->in && j < c->pols[i].nin; j++) {
			free(pp->in[j].remotes.v);
			free(pp->in[j].fixed.v);
		}
		for (size_t j = 0; pp->eg && j < c->pols[i].neg; j++) {
			free(pp->eg[j].remotes.v);
			free(pp->eg[j].fixed.v);
		}
		free(pp->in);
		free(pp->eg);
	}
	free(c->plans);
}

/* --- stamping onto local identities -------------------------------------- */

/* Ingress named ports are the local pod's own: resolved against it. */
static int emit_ingress_named(struct compiler *c, const struct id_view *l,
			      const struct netpol *p, const struct np_rule *r,
			      unsigned int idx, const struct rule_plan *plan)
{
	struct dp_rule proto_rule = {
		.local_id = l->ident->id, .dir = BH_DIR_INGRESS,
		.action = BH_POLICY_ALLOW,
		.rule_id = compile_rule_id(p->id, BH_DIR_INGRESS, idx),
	};
	int rc = 0;

	for (size_t i = 0; i < r->nports && rc == 0; i++) {
		if (!r->ports[i].name[0])
			continue;
		for (size_t t = 0; t < plan->remotes.n && rc == 0; t++)
			rc = emit_named(c, &c->rules, &proto_rule,
					plan->remotes.v[t].id, l->ident,
					&r->ports[i]);
	}
	return rc;
}

static int stamp_rules(struct compiler *c, const struct id_view *l,
		       const struct netpol *p, const struct np_rule *rules,
		       size_t n, const struct rule_plan *plans, int dir)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct rule_plan *plan = &plans[i];

		for (size_t k = 0; k < plan->fixed.n && rc == 0; k++) {
			struct dp_rule r = plan->fixed.v[k];

			r.local_id = l->ident->id;
			rc = rules_push(c, &c->rules, &r);
		}
		if (rc == 0 && dir == BH_DIR_INGRESS)
			rc = emit_ingress_named(c, l, p, &rules[i],
						(unsigned int)i, plan);
	}
	return rc;
}

static bool policy_selects(const struct netpol *p, const struct id_view *l)
{
	if (!l->ns_name || strcmp(l->ns_name, p->ns) != 0)
		return false;
	return p->select_all_invalid || selector_match(&p->pod_sel, &l->pod);
}

/* A policy whose pod selector was invalid selects its whole namespace in
 * both directions and allows nothing (netpol.h). */
static __u32 policy_enforces(const struct netpol *p)
{
	if (p->select_all_invalid)
		return BH_EP_F_ENFORCE_INGRESS | BH_EP_F_ENFORCE_EGRESS;
	return (p->ingress ? BH_EP_F_ENFORCE_INGRESS : 0) |
	       (p->egress ? BH_EP_F_ENFORCE_EGRESS : 0);
}

static int compile_local(struct compiler *c, const struct id_view *l,
			 __u32 *flags)
{
	int rc = 0;

	*flags = 0;
	for (size_t pi = 0; pi < c->npols && rc == 0; pi++) {
		const struct netpol *p = &c->pols[pi];
		const struct pol_plan *pp;

		if (!policy_selects(p, l))
			continue;
		*flags |= policy_enforces(p);
		if (p->select_all_invalid)
			continue;
		rc = plan_get(c, pi, &pp);
		if (rc == 0 && p->ingress)
			rc = stamp_rules(c, l, p, p->in, p->nin, pp->in,
					 BH_DIR_INGRESS);
		if (rc == 0 && p->egress)
			rc = stamp_rules(c, l, p, p->eg, p->neg, pp->eg,
					 BH_DIR_EGRESS);
	}
	if (rc == 0 && c->opts->allow_host &&
	    (*flags & BH_EP_F_ENFORCE_INGRESS)) {
		struct dp_rule host = {
			.local_id = l->ident->id, .remote_id = BH_ID_HOST,
			.dir = BH_DIR_INGRESS, .action = BH_POLICY_ALLOW,
			.rule_id = COMPILE_RULE_HOST,
		};

		rc = rules_push(c, &c->rules, &host);
	}
	return rc;
}

/* --- output --------------------------------------------------------------- */

#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

static int rule_key_cmp(const struct dp_rule *a, const struct dp_rule *b)
{
	CMP(a->local_id, b->local_id);
	CMP(a->remote_id, b->remote_id);
	CMP(a->dir, b->dir);
	CMP(a->proto, b->proto);
	CMP(a->port_lo, b->port_lo);
	CMP(a->port_hi, b->port_hi);
	return 0;
}

/* Same key: the lower rule id first, the one kept. */
static int rule_order(const void *pa, const void *pb)
{
	const struct dp_rule *a = pa, *b = pb;
	int d = rule_key_cmp(a, b);

	if (d)
		return d;
	CMP(a->rule_id, b->rule_id);
	return 0;
}

#undef CMP

static void rules_sort_unique(struct rule_vec *rv)
{
	size_t n = 0;

	if (rv->n)
		qsort(rv->v, rv->n, sizeof(*rv->v), rule_order);
	for (size_t i = 0; i < rv->n; i++)
		if (n == 0 || rule_key_cmp(&rv->v[n - 1], &rv->v[i]) != 0)
			rv->v[n++] = rv->v[i];
	rv->n = n;
}

static void compiler_free(struct compiler *c)
{
	for (size_t i = 0; c->views && i < c->nids; i++) {
		labels_free(&c->views[i].pod);
		labels_free(&c->views[i].ns);
	}
	free(c->views);
	free(c->index);
	free(c->by_ns);
	free(c->groups);
	plans_free(c);
	free(c->cidrs);
	free(c->rules.v);
}

int compile_policies(const struct netpol *pols, size_t npols,
		     const struct cmp_identity *ids, size_t nids,
		     const __u32 *local, size_t nlocal,
		     const struct compile_opts *opts,
		     struct compile_out *out, struct dp_err *err)
{
	static const struct compile_opts defaults = { 0 };
	struct compiler c = {
		.pols = pols, .npols = npols, .ids = ids, .nids = nids,
		.opts = opts ? opts : &defaults, .err = err,
	};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = views_init(&c);
	if (rc == 0)
		rc = cidrs_collect(&c);
	if (rc < 0)
		goto out;
	c.plans = calloc(npols ? npols : 1, sizeof(*c.plans));
	out->enforce = calloc(nlocal ? nlocal : 1, sizeof(*out->enforce));
	if (!c.plans || !out->enforce) {
		rc = oom(&c, "enforcement");
		goto out;
	}
	for (size_t i = 0; i < nlocal && rc == 0; i++) {
		const struct id_view *l = view_of(&c, local[i]);

		out->enforce[i].id = local[i];
		if (l)
			rc = compile_local(&c, l, &out->enforce[i].flags);
	}
	if (rc < 0)
		goto out;
	out->nenforce = nlocal;
	rules_sort_unique(&c.rules);
	out->rules = c.rules.v;
	out->nrules = c.rules.n;
	c.rules.v = NULL;
	out->cidrs = c.cidrs;
	out->ncidrs = c.ncidrs;
	c.cidrs = NULL;
out:
	compiler_free(&c);
	if (rc < 0)
		compile_out_free(out);
	return rc;
}

void compile_out_free(struct compile_out *out)
{
	free(out->rules);
	free(out->enforce);
	free(out->cidrs);
	memset(out, 0, sizeof(*out));
}
