/* The daemon's one way of changing the datapath: from the store, the
 * identity table and the local endpoints, compute what the maps should
 * hold, then move them there by difference in an order that never opens
 * more than the old or the new state allows. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bulkhead/endpoint.h"
#include "bulkhead/identity.h"
#include "bulkhead/tunnel.h"
#include "policyd/compile.h"
#include "policyd/daemon.h"
#include "policyd/overlay.h"
#include "policyd/reg_server.h"

/* A pod's identity label set into out; 1 when its namespace is not known
 * (the pod then stays unresolved: fail closed). */
static int pod_identity_labels(const struct daemon *d, const struct pod *p,
			       struct labels *out)
{
	const struct ns *ns = store_ns(&d->store, p->ns);

	if (!ns)
		return 1;
	return labels_identity(&p->labels, &ns->labels, &d->filter, out);
}

/* The canonical string of a pod's identity label set, kept on the pod
 * until the pod or its namespace changes; NULL when the namespace is not
 * known or memory ran out (unresolved, fail closed). */
static const char *pod_idl_str(const struct daemon *d, struct pod *p)
{
	const struct ns *ns = store_ns(&d->store, p->ns);
	struct labels l = { 0 };

	if (!ns)
		return NULL;
	if (p->idl_str && p->idl_gen == ns->gen)
		return p->idl_str;
	free(p->idl_str);
	p->idl_str = NULL;
	if (pod_identity_labels(d, p, &l) == 0) {
		p->idl_str = labels_str(&l);
		p->idl_gen = ns->gen;
	}
	labels_free(&l);
	return p->idl_str;
}

int daemon_endpoint_identity(struct daemon *d, const struct endpoint *ep,
			     __u32 *id, struct dp_err *err)
{
	struct pod *p = store_pod(&d->store, ep->ns, ep->pod);
	struct labels l = { 0 };
	struct identity *e;
	int rc;

	*id = 0;
	if (!p)
		return 0;
	rc = pod_identity_labels(d, p, &l);
	if (rc)
		return rc < 0 ? dp_errorf(err, rc, "out of memory") : 0;
	rc = identity_allocate(&d->ids, d->kube, &l, &e, err);
	labels_free(&l);
	if (rc < 0)
		return rc;
	if (rc > 0)
		d->st.identity_allocs++;
	*id = e->id;
	return 0;
}

/* ------------------------------------------------------- what is wanted */

struct id_port {
	__u32 id;
	struct named_port p;
};

struct plan {
	struct ipc_entry *ipc;
	size_t nipc, capipc;
	struct id_port *ports;
	size_t nports, capports;
	__u32 *local;
	size_t nlocal;
	struct cmp_identity *ids;
	size_t nids;
	struct compile_out out;
	struct dp_policy_entry *policy;
	size_t npolicy;
	__be32 node_ip;		/* this node's underlay address, 0: not known */
	__be32 *tunnels;	/* other nodes' addresses, sorted, unique */
	size_t ntunnels, captunnels;
	unsigned int failed;	/* endpoints whose identity could not be had */
};

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	p = realloc(*arr, c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static int plan_ipc(struct plan *pl, __be32 ip, __u8 plen, __u32 id,
		    __be32 tunnel, bool local)
{
	if (grow((void **)&pl->ipc, &pl->capipc, pl->nipc, sizeof(*pl->ipc)) < 0)
		return -ENOMEM;
	pl->ipc[pl->nipc++] = (struct ipc_entry){
		.ip = ip, .plen = plen, .id = id, .tunnel = tunnel, .local = local,
	};
	return 0;
}

static bool is_this_node(const struct daemon *d, const char *name)
{
	return d->o.node && strcmp(name, d->o.node) == 0;
}

/* The underlay address of the node a pod runs on: 0 for this node, for
 * a pod not scheduled yet and for a node not known (yet) or without an
 * address. */
static __be32 pod_tunnel(const struct daemon *d, const struct pod *p)
{
	const struct node *n;

	if (!p->node[0] || is_this_node(d, p->node))
		return 0;
	n = strmap_get(&d->store.nodes, p->node);
	return n ? n->addr : 0;
}

/* Every pod of the cluster: who uses which identity (for GC), which
 * address has which identity (ipcache) and which named ports an identity's
 * pods declare (for the compiler). Remote pods only look identities up:
 * their own node allocates them. A pod with an address but no identity
 * yet maps to BH_ID_UNKNOWN, which the datapath drops: left out, its
 * address would fall to a CIDR identity an ipBlock may allow. */
static int plan_pods(struct daemon *d, struct plan *pl)
{
	size_t i = 0;
	const char *k;
	void *v;

	while (strmap_next(&d->store.pods, &i, &k, &v)) {
		struct pod *p = v;
		const char *idl = pod_idl_str(d, p);
		struct identity *e = idl ? identity_find_str(&d->ids, idl) : NULL;

		if (p->ip && !p->host_network &&
		    plan_ipc(pl, p->ip, 32, e ? e->id : BH_ID_UNKNOWN,
			     pod_tunnel(d, p), false) < 0)
			return -ENOMEM;
		if (!e)
			continue;
		e->users++;
		for (size_t j = 0; j < p->nports; j++) {
			if (grow((void **)&pl->ports, &pl->capports, pl->nports,
				 sizeof(*pl->ports)) < 0)
				return -ENOMEM;
			pl->ports[pl->nports++] = (struct id_port){ e->id, p->ports[j] };
		}
	}
	return 0;
}

static int be32_cmp(const void *a, const void *b)
{
	__u32 x = ntohl(*(const __be32 *)a), y = ntohl(*(const __be32 *)b);

	return x < y ? -1 : x > y;
}

/* Every other node: its address in the tunnel map (the overlay trusts
 * VXLAN from it), its pod CIDR in the ipcache as unknown pods behind that
 * address, so a pod whose own entry has not come yet is carried there
 * and still judged fail-closed; the pod's /32 wins once known. This
 * node's own address is never a tunnel: a packet from it is no peer's. */
static int plan_nodes(struct daemon *d, struct plan *pl)
{
	const struct node *self = NULL;
	size_t i = 0, n = 0;
	const char *k;
	void *v;

	if (d->o.node)
		self = strmap_get(&d->store.nodes, d->o.node);
	pl->node_ip = d->o.node_ip ? d->o.node_ip : self ? self->addr : 0;
	while (strmap_next(&d->store.nodes, &i, &k, &v)) {
		const struct node *nd = v;

		if (is_this_node(d, nd->name))
			continue;
		if (nd->pod_cidr.plen &&
		    plan_ipc(pl, nd->pod_cidr.addr, nd->pod_cidr.plen,
			     BH_ID_UNKNOWN, nd->addr, false) < 0)
			return -ENOMEM;
		if (!nd->addr || nd->addr == pl->node_ip)
			continue;
		if (grow((void **)&pl->tunnels, &pl->captunnels, pl->ntunnels,
			 sizeof(*pl->tunnels)) < 0)
			return -ENOMEM;
		pl->tunnels[pl->ntunnels++] = nd->addr;
	}
	if (pl->ntunnels > 1)
		qsort(pl->tunnels, pl->ntunnels, sizeof(*pl->tunnels), be32_cmp);
	/* Two Node objects may name one address. */
	for (i = 0; i < pl->ntunnels; i++)
		if (!n || pl->tunnels[n - 1] != pl->tunnels[i])
			pl->tunnels[n++] = pl->tunnels[i];
	pl->ntunnels = n;
	return 0;
}

/* Identities nobody uses start their grace period; used ones leave it. */
static void plan_users(struct daemon *d, bool count, uint64_t now_ms)
{
	size_t i = 0;
	const char *k;
	void *v;

	while (strmap_next(&d->ids.by_id, &i, &k, &v)) {
		struct identity *e = v;

		if (!count)
			e->users = 0;
		else if (e->users)
			e->unused_since_ms = 0;
		else if (!e->unused_since_ms)
			e->unused_since_ms = now_ms;
	}
}

static int u32_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Local endpoints get their identity (allocating it); their address maps
 * to it whatever the pod's status says yet. */
static int plan_endpoints(struct daemon *d, struct plan *pl, struct dp_err *err)
{
	size_t i = 0, n = 0;
	const char *k;
	void *v;

	pl->local = calloc(d->eps.by_key.n + 1, sizeof(*pl->local));
	if (!pl->local)
		return -ENOMEM;
	while (strmap_next(&d->eps.by_key, &i, &k, &v)) {
		struct endpoint *ep = v;
		struct dp_err why = { 0 };
		__u32 id;

		/* One endpoint's identity failing (the API server away) must
		 * not hold back every other change: it stays at init, which
		 * the datapath drops, and the pass is retried. */
		if (daemon_endpoint_identity(d, ep, &id, &why) < 0) {
			if (!err->msg[0])
				dp_errorf(err, why.code, "%s/%s: %s", ep->ns,
					  ep->pod, why.msg);
			id = 0;
			pl->failed++;
		}
		ep->identity = id ? id : BH_ID_INIT;
		if (plan_ipc(pl, ep->ip, 32, ep->identity, 0, true) < 0)
			return -ENOMEM;
		if (id) {
			struct identity *e = identity_find(&d->ids, id);

			pl->local[n++] = id;
			if (e)
				e->users++;
		}
	}
	if (n > 1)
		qsort(pl->local, n, sizeof(*pl->local), u32_cmp);
	for (i = 0, pl->nlocal = 0; i < n; i++)
		if (!pl->nlocal || pl->local[pl->nlocal - 1] != pl->local[i])
			pl->local[pl->nlocal++] = pl->local[i];
	return 0;
}

static int id_port_cmp(const void *a, const void *b)
{
	const struct id_port *x = a, *y = b;
	int c;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	c = strcmp(x->p.name, y->p.name);
	if (c)
		return c;
	if (x->p.proto != y->p.proto)
		return x->p.proto < y->p.proto ? -1 : 1;
	return x->p.port < y->p.port ? -1 : x->p.port > y->p.port;
}

/* The compiler's view of every identity, with its pods' named ports. */
static int plan_identities(struct daemon *d, struct plan *pl)
{
	struct named_port *flat;
	size_t i = 0, j = 0, n = 0;
	const char *k;
	void *v;

	if (pl->nports > 1)
		qsort(pl->ports, pl->nports, sizeof(*pl->ports), id_port_cmp);
	pl->ids = calloc(d->ids.by_id.n + 1, sizeof(*pl->ids));
	/* The compiler gets plain named_port arrays: reuse the sorted
	 * storage, each identity's run in place. */
	flat = calloc(pl->nports + 1, sizeof(*flat));
	if (!pl->ids || !flat) {
		free(flat);
		return -ENOMEM;
	}
	for (size_t x = 0; x < pl->nports; x++)
		flat[x] = pl->ports[x].p;
	while (strmap_next(&d->ids.by_id, &i, &k, &v)) {
		struct identity *e = v;
		struct cmp_identity *c = &pl->ids[n++];
		struct id_port key = { .id = e->id };
		size_t lo = 0, hi = pl->nports;

		/* First port of e->id by binary search on id alone. */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (pl->ports[mid].id < key.id)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (j = lo; j < pl->nports && pl->ports[j].id == e->id; j++)
			;
		c->id = e->id;
		c->labels = &e->labels;
		c->ports = j > lo ? &flat[lo] : NULL;
		c->nports = j - lo;
	}
	pl->nids = n;
	/* flat is owned through pl->ports' slot: keep one pointer to free. */
	free(pl->ports);
	pl->ports = (struct id_port *)flat;
	return 0;
}

static void cidr_key(__be32 addr, __u8 plen, char *key, size_t len)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &addr, a, sizeof(a));
	snprintf(key, len, "%s/%u", a, plen);
}

/* CIDR identities are the node's own; a restarted daemon takes the
 * numbers back from the ipcache, so no number changes prefix under
 * policy entries that still name it. */
static void cidr_ids_adopt(struct daemon *d, const struct ipc_entry *e)
{
	char key[INET_ADDRSTRLEN + 4];

	if (e->id < BH_ID_LOCAL_MIN)
		return;
	cidr_key(e->ip, e->plen, key, sizeof(key));
	if (strmap_get(&d->cidr_ids, key))
		return;
	if (strmap_put(&d->cidr_ids, key, (void *)(uintptr_t)e->id, NULL) == 0 &&
	    e->id >= d->next_cidr_id)
		d->next_cidr_id = e->id + 1;
}

static __u32 cidr_id(void *ctx, const struct np_cidr *c)
{
	struct daemon *d = ctx;
	char key[INET_ADDRSTRLEN + 4];
	uintptr_t id;

	cidr_key(c->addr, c->plen, key, sizeof(key));
	id = (uintptr_t)strmap_get(&d->cidr_ids, key);
	if (id)
		return (__u32)id;
	if (d->next_cidr_id < BH_ID_LOCAL_MIN)
		d->next_cidr_id = BH_ID_LOCAL_MIN;
	if (d->next_cidr_id == UINT32_MAX)
		return 0;
	id = d->next_cidr_id++;
	if (strmap_put(&d->cidr_ids, key, (void *)id, NULL) < 0)
		return 0;
	return (__u32)id;
}

static int ipc_cmp(const void *a, const void *b)
{
	const struct ipc_entry *x = a, *y = b;
	__u32 xi = ntohl(x->ip), yi = ntohl(y->ip);

	if (xi != yi)
		return xi < yi ? -1 : 1;
	return x->plen < y->plen ? -1 : x->plen > y->plen;
}

static int ipc_local_last_cmp(const void *a, const void *b)
{
	const struct ipc_entry *x = a, *y = b;
	int c = ipc_cmp(a, b);

	return c ? c : (int)x->local - (int)y->local;
}

/* Sorted, one entry per prefix; a local endpoint's entry wins over a pod
 * status that names the same address (the last of equal keys is kept). */
static void plan_ipc_finish(struct plan *pl)
{
	size_t i, n = 0;

	if (pl->nipc > 1)
		qsort(pl->ipc, pl->nipc, sizeof(*pl->ipc), ipc_local_last_cmp);
	for (i = 0; i < pl->nipc; i++) {
		struct ipc_entry *last = n ? &pl->ipc[n - 1] : NULL;

		if (!last || ipc_cmp(last, &pl->ipc[i]) != 0) {
			pl->ipc[n++] = pl->ipc[i];
			continue;
		}
		/* Two pods on one address (one finishing, one starting): the
		 * local endpoint knows; otherwise nobody does. The one node
		 * that may carry the prefix still does (a pod CIDR that is
		 * also an ipBlock); two different ones cancel out. */
		if (pl->ipc[i].local) {
			*last = pl->ipc[i];
		} else if (!last->local) {
			if (last->id != pl->ipc[i].id)
				last->id = BH_ID_UNKNOWN;
			if (!last->tunnel)
				last->tunnel = pl->ipc[i].tunnel;
			else if (pl->ipc[i].tunnel && pl->ipc[i].tunnel != last->tunnel)
				last->tunnel = 0;
		}
	}
	pl->nipc = n;
}

static int plan_policy(struct daemon *d, struct plan *pl, struct dp_err *err)
{
	struct compile_opts opts = {
		.allow_host = d->o.allow_host,
		.cidr_id = cidr_id,
		.cidr_ctx = d,
	};
	struct netpol *pols;
	size_t i = 0, n = 0, cap;
	const char *k;
	void *v;
	int rc;

	pols = calloc(d->store.policies.n + 1, sizeof(*pols));
	if (!pols)
		return -ENOMEM;
	/* The compiler takes an array of policies; a shallow copy shares
	 * every pointer with the store and frees nothing. */
	while (strmap_next(&d->store.policies, &i, &k, &v))
		pols[n++] = ((struct policy *)v)->np;
	rc = compile_policies(pols, n, pl->ids, pl->nids, pl->local, pl->nlocal,
			      &opts, &pl->out, err);
	free(pols);
	if (rc < 0)
		return rc;
	for (i = 0; i < pl->out.ncidrs; i++)
		if (plan_ipc(pl, pl->out.cidrs[i].cidr.addr,
			     pl->out.cidrs[i].cidr.plen, pl->out.cidrs[i].id, 0,
			     false) < 0)
			return -ENOMEM;
	cap = pl->out.nrules * DP_RULE_MAX_ENTRIES + 1;
	pl->policy = malloc(cap * sizeof(*pl->policy));
	if (!pl->policy)
		return dp_errorf(err, -ENOMEM, "out of memory for %zu rules",
				 pl->out.nrules);
	for (i = 0; i < pl->out.nrules; i++) {
		rc = dp_rule_expand(&pl->out.rules[i], pl->policy + pl->npolicy, err);
		if (rc < 0)
			return rc;
		pl->npolicy += (size_t)rc;
	}
	pl->npolicy = dp_policy_resolve(pl->policy, pl->npolicy);
	return 0;
}

static void plan_free(struct plan *pl)
{
	free(pl->ipc);
	free(pl->ports);
	free(pl->local);
	free(pl->ids);
	compile_out_free(&pl->out);
	free(pl->policy);
	free(pl->tunnels);
}

/* --------------------------------------------------------- applying it */

static __u32 enforce_of(const struct plan *pl, __u32 id)
{
	for (size_t i = 0; i < pl->out.nenforce; i++)
		if (pl->out.enforce[i].id == id)
			return pl->out.enforce[i].flags;
	return 0;
}

/* Endpoint entries: identity and enforcement. An entry that is gone or
 * now belongs to another veth is not ours to write (the plugin's DEL, or
 * a newer ADD, owns it). */
static int apply_endpoints(struct daemon *d, const struct plan *pl,
			   size_t *writes, struct dp_err *err)
{
	size_t i = 0;
	const char *k;
	void *v;

	while (strmap_next(&d->eps.by_key, &i, &k, &v)) {
		struct endpoint *ep = v;
		struct bh_endpoint cur;
		__u32 flags;
		int rc;

		if (dp_endpoint_get(&d->maps, ep->ip, &cur) < 0 ||
		    cur.ifindex != ep->ifindex)
			continue;
		flags = (cur.flags & ~(BH_EP_F_ENFORCE_EGRESS | BH_EP_F_ENFORCE_INGRESS)) |
			(ep->identity == BH_ID_INIT ? 0 : enforce_of(pl, ep->identity));
		ep->flags = flags;
		if (cur.identity == ep->identity && cur.flags == flags)
			continue;
		cur.identity = ep->identity;
		cur.flags = flags;
		rc = dp_endpoint_put(&d->maps, ep->ip, &cur, err);
		if (rc < 0)
			return rc;
		(*writes)++;
	}
	return 0;
}

/* ipcache by difference against what we wrote last: adds and changes
 * first (add), deletions after the endpoints moved (!add). */
static int apply_ipcache(struct daemon *d, const struct plan *pl, bool add,
			 size_t *writes, struct dp_err *err)
{
	size_t i = 0, j = 0;
	int rc;

	while (i < d->nipcache || j < pl->nipc) {
		int c = i == d->nipcache ? 1 : j == pl->nipc ? -1 :
			ipc_cmp(&d->ipcache[i], &pl->ipc[j]);

		if (c < 0) {
			if (!add) {
				rc = dp_ipcache_del(&d->maps, d->ipcache[i].ip,
						    d->ipcache[i].plen, err);
				if (rc < 0)
					return rc;
				(*writes)++;
			}
			i++;
			continue;
		}
		if (add && (c > 0 || d->ipcache[i].id != pl->ipc[j].id ||
			    d->ipcache[i].tunnel != pl->ipc[j].tunnel)) {
			struct bh_ipcache_value val = {
				.identity = pl->ipc[j].id,
				.tunnel_ip = pl->ipc[j].tunnel,
			};

			rc = dp_ipcache_put(&d->maps, pl->ipc[j].ip,
					    pl->ipc[j].plen, &val, err);
			if (rc < 0)
				return rc;
			(*writes)++;
		}
		if (c == 0)
			i++;
		j++;
	}
	return 0;
}

/* The tunnel map by difference, like the ipcache: new nodes first (add),
 * gone ones last (!add), once nothing points at them any more. */
static int apply_tunnels(struct daemon *d, const struct plan *pl, bool add,
			 size_t *writes, struct dp_err *err)
{
	static const struct bh_tunnel_value val = { 0 };
	size_t i = 0, j = 0;
	int rc;

	while (i < d->ntunnels || j < pl->ntunnels) {
		int c = i == d->ntunnels ? 1 : j == pl->ntunnels ? -1 :
			be32_cmp(&d->tunnels[i], &pl->tunnels[j]);

		if (c < 0 && !add) {
			rc = dp_tunnel_del(&d->maps, d->tunnels[i], err);
			if (rc < 0)
				return rc;
			(*writes)++;
		} else if (c > 0 && add) {
			rc = dp_tunnel_put(&d->maps, pl->tunnels[j], &val, err);
			if (rc < 0)
				return rc;
			(*writes)++;
		}
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	return 0;
}

static void answer_ready(struct daemon *d)
{
	size_t i = 0;
	const char *k;
	void *v;

	while (strmap_next(&d->eps.by_key, &i, &k, &v)) {
		struct endpoint *ep = v;

		if (!ep->pending || ep->identity == BH_ID_INIT)
			continue;
		loop_timer_cancel(d->loop, ep->pending_timer);
		prom_hist_observe(&d->st.add_wait,
				  (double)(loop_now_ms() - ep->added_ms) / 1e3);
		reg_reply_ok(ep->pending, ep->identity);
		ep->pending = NULL;
		d->st.reg_add++;
	}
}

int daemon_reconcile(struct daemon *d, struct dp_err *err)
{
	struct plan pl = { 0 };
	size_t pw = 0, iw = 0, ew = 0, pd = 0, id = 0, tw = 0, td = 0;
	uint64_t t0 = loop_now_ns();
	int rc;

	d->dirty = false;
	/* Local endpoints first: they allocate the identities that pods (and
	 * their named ports) are then found under. */
	plan_users(d, false, 0);
	rc = plan_endpoints(d, &pl, err);
	if (rc == 0)
		rc = plan_pods(d, &pl);
	plan_users(d, true, loop_now_ms());
	if (rc == 0)
		rc = plan_nodes(d, &pl);
	if (rc == 0)
		rc = plan_identities(d, &pl);
	if (rc == 0)
		rc = plan_policy(d, &pl, err);
	if (rc < 0)
		goto out;
	plan_ipc_finish(&pl);
	rc = overlay_set_node_ip(d, pl.node_ip, err);
	if (rc == 0)
		rc = apply_tunnels(d, &pl, true, &tw, err);
	if (rc == 0)
		rc = dp_policy_apply(&d->maps, d->policy, d->npolicy, pl.policy,
				     pl.npolicy, DP_POLICY_ADD, &pw, err);
	if (rc == 0)
		rc = apply_ipcache(d, &pl, true, &iw, err);
	if (rc == 0)
		rc = apply_endpoints(d, &pl, &ew, err);
	if (rc == 0)
		rc = apply_ipcache(d, &pl, false, &id, err);
	if (rc == 0)
		rc = dp_policy_apply(&d->maps, d->policy, d->npolicy, pl.policy,
				     pl.npolicy, DP_POLICY_REMOVE, &pd, err);
	if (rc == 0)
		rc = apply_tunnels(d, &pl, false, &td, err);
	/* Cached verdicts must not outlive what they were decided from, even
	 * after a half-done update. */
	if (pw + pd + ew + iw + id + tw + td) {
		int brc = dp_policy_rev_bump(&d->maps, err);

		if (rc == 0)
			rc = brc;
	}
	d->st.policy_writes += pw + pd;
	d->st.ipcache_writes += iw + id;
	d->st.endpoint_writes += ew;
	d->st.tunnel_writes += tw + td;
	if (rc < 0) {
		/* What we wrote is unknown now: the next pass must compare
		 * against the maps themselves. */
		struct dp_err ignore = { 0 };

		daemon_shadow_load(d, &ignore);
		d->dirty = true;
		goto out;
	}
	free(d->policy);
	d->policy = pl.policy;
	d->npolicy = pl.npolicy;
	pl.policy = NULL;
	free(d->ipcache);
	d->ipcache = pl.ipc;
	d->nipcache = pl.nipc;
	pl.ipc = NULL;
	free(d->tunnels);
	d->tunnels = pl.tunnels;
	d->ntunnels = pl.ntunnels;
	pl.tunnels = NULL;
	answer_ready(d);
	if (d->dirty_since_ns) {
		prom_hist_observe(&d->st.propagation,
				  (double)(loop_now_ns() - d->dirty_since_ns) / 1e9);
		d->dirty_since_ns = 0;
	}
	/* Written, but some endpoint still waits for its identity. */
	if (pl.failed) {
		d->dirty = true;
		rc = err->code ? err->code : -EAGAIN;
	}
out:
	d->st.reconciles++;
	if (rc < 0)
		d->st.reconcile_errors++;
	prom_hist_observe(&d->st.reconcile_time, (double)(loop_now_ns() - t0) / 1e9);
	plan_free(&pl);
	return rc;
}

/* ------------------------------------------------------------- shadows */

struct ipc_read {
	struct ipc_entry *v;
	size_t n, cap;
};

static int ipc_read_one(const struct bh_ipcache_key *k,
			const struct bh_ipcache_value *v, void *arg)
{
	struct ipc_read *r = arg;

	/* The plugin's gateway entries are its own; everything else in the
	 * ipcache was written by a daemon of this node. */
	if (v->identity == BH_ID_HOST)
		return 0;
	if (grow((void **)&r->v, &r->cap, r->n, sizeof(*r->v)) < 0)
		return -ENOMEM;
	r->v[r->n++] = (struct ipc_entry){
		.ip = k->ip4, .plen = (__u8)k->prefixlen, .id = v->identity,
		.tunnel = v->tunnel_ip,
	};
	return 0;
}

struct tunnel_read {
	__be32 *v;
	size_t n, cap;
};

static int tunnel_read_one(__be32 node_ip, const struct bh_tunnel_value *v,
			   void *arg)
{
	struct tunnel_read *r = arg;

	(void)v;
	if (grow((void **)&r->v, &r->cap, r->n, sizeof(*r->v)) < 0)
		return -ENOMEM;
	r->v[r->n++] = node_ip;
	return 0;
}

int daemon_shadow_load(struct daemon *d, struct dp_err *err)
{
	struct dp_policy_entry *pol = NULL;
	struct ipc_read r = { 0 };
	struct tunnel_read t = { 0 };
	size_t npol = 0;
	int rc;

	rc = dp_policy_read(&d->maps, &pol, &npol, err);
	if (rc < 0)
		return rc;
	rc = dp_ipcache_foreach(&d->maps, ipc_read_one, &r, err);
	if (rc == 0)
		rc = dp_tunnel_foreach(&d->maps, tunnel_read_one, &t, err);
	if (rc < 0) {
		free(pol);
		free(r.v);
		free(t.v);
		return rc == -ENOMEM ? dp_errorf(err, rc, "out of memory") : rc;
	}
	if (r.n > 1)
		qsort(r.v, r.n, sizeof(*r.v), ipc_cmp);
	if (t.n > 1)
		qsort(t.v, t.n, sizeof(*t.v), be32_cmp);
	for (size_t i = 0; i < r.n; i++)
		cidr_ids_adopt(d, &r.v[i]);
	free(d->policy);
	d->policy = pol;
	d->npolicy = npol;
	free(d->ipcache);
	d->ipcache = r.v;
	d->nipcache = r.n;
	free(d->tunnels);
	d->tunnels = t.v;
	d->ntunnels = t.n;
	return 0;
}
