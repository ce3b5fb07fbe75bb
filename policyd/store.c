/* The daemon's object store: Pods, Namespaces, NetworkPolicies and Nodes,
 * parsed and validated from API objects, indexed by name. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policyd/store.h"

static const char *const store_kind_names[STORE_NKINDS] = {
	[STORE_IDENTITY] = "identity",
	[STORE_NAMESPACE] = "namespace",
	[STORE_POD] = "pod",
	[STORE_POLICY] = "networkpolicy",
	[STORE_NODE] = "node",
};

const char *store_kind_name(enum store_kind k)
{
	return k < STORE_NKINDS ? store_kind_names[k] : "?";
}

static const char *jstr(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);

	if (b)
		v = json_object_get(v, b);
	return json_string_value(v);
}

/* Every object names itself the same way; namespaced kinds also carry the
 * namespace (absent in a manifest: "default", as kubectl would). */
static int obj_name(const json_t *obj, bool namespaced, const char **ns,
		    const char **name, struct dp_err *err)
{
	*name = jstr(obj, "metadata", "name");
	if (!*name || !**name || strlen(*name) > 253)
		return dp_errorf(err, -EINVAL, "object without a valid metadata.name");
	if (!namespaced)
		return 0;
	*ns = jstr(obj, "metadata", "namespace");
	if (!*ns)
		*ns = "default";
	if (!**ns || strlen(*ns) > 63)
		return dp_errorf(err, -EINVAL, "%s: invalid metadata.namespace", *name);
	return 0;
}

static char *join_key(const char *ns, const char *name)
{
	char *k;

	return asprintf(&k, "%s/%s", ns, name) < 0 ? NULL : k;
}

static __be32 ipv4_or_zero(const char *s)
{
	struct in_addr a;

	return s && inet_pton(AF_INET, s, &a) == 1 ? a.s_addr : 0;
}

/* ------------------------------------------------------------------ pods */

static void pod_free(struct pod *p)
{
	if (!p)
		return;
	free(p->key);
	free(p->ns);
	free(p->name);
	free(p->node);
	labels_free(&p->labels);
	free(p->idl_str);
	free(p->ports);
	free(p);
}

static int port_proto(const char *s)
{
	if (!s || strcmp(s, "TCP") == 0)
		return 6;
	if (strcmp(s, "UDP") == 0)
		return 17;
	if (strcmp(s, "SCTP") == 0)
		return 132;
	return -1;
}

/* Named container ports, the only ones policy can refer to by name. A bad
 * one is left out: a name that resolves to nothing allows nothing. */
static int pod_ports(struct pod *p, const json_t *spec)
{
	const json_t *c, *port;
	size_t i, j, n = 0;

	json_array_foreach(json_object_get(spec, "containers"), i, c)
		n += json_array_size(json_object_get(c, "ports"));
	if (!n)
		return 0;
	p->ports = calloc(n, sizeof(*p->ports));
	if (!p->ports)
		return -ENOMEM;
	json_array_foreach(json_object_get(spec, "containers"), i, c) {
		json_array_foreach(json_object_get(c, "ports"), j, port) {
			const char *name = jstr(port, "name", NULL);
			json_int_t num = json_integer_value(
				json_object_get(port, "containerPort"));
			int proto = port_proto(jstr(port, "protocol", NULL));
			struct named_port *np = &p->ports[p->nports];

			if (!name || !*name || strlen(name) > NETPOL_PORT_NAME_MAX ||
			    num < 1 || num > 65535 || proto < 0)
				continue;
			strcpy(np->name, name);
			np->proto = (__u8)proto;
			np->port = (__u16)num;
			p->nports++;
		}
	}
	return 0;
}

static int pod_parse(const json_t *obj, struct pod **out, struct dp_err *err)
{
	const json_t *spec = json_object_get(obj, "spec");
	const json_t *status = json_object_get(obj, "status");
	const char *ns, *name, *phase = jstr(status, "phase", NULL);
	struct dp_err why = { 0 };
	struct pod *p;
	int rc;

	rc = obj_name(obj, true, &ns, &name, err);
	if (rc < 0)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->ns = strdup(ns);
	p->name = strdup(name);
	p->key = join_key(ns, name);
	p->node = strdup(jstr(spec, "nodeName", NULL) ? jstr(spec, "nodeName", NULL) : "");
	if (!p->ns || !p->name || !p->key || !p->node) {
		rc = -ENOMEM;
		goto out;
	}
	/* The labels' own error first, then which pod (dp_errorf keeps the
	 * first message it is given). */
	rc = labels_from_json(json_object_get(json_object_get(obj, "metadata"), "labels"),
			      &p->labels, &why);
	if (rc < 0) {
		dp_errorf(err, rc, "pod %s: %s", p->key, why.msg);
		goto out;
	}
	p->host_network = json_is_true(json_object_get(spec, "hostNetwork"));
	/* A finished pod's address may already belong to a new pod. */
	if (!phase || (strcmp(phase, "Succeeded") && strcmp(phase, "Failed")))
		p->ip = ipv4_or_zero(jstr(status, "podIP", NULL));
	rc = pod_ports(p, spec);
	if (rc < 0)
		goto out;
	*out = p;
	return 0;
out:
	pod_free(p);
	return rc;
}

/* ------------------------------------------------------------ namespaces */

static void ns_free(struct ns *n)
{
	if (!n)
		return;
	free(n->name);
	labels_free(&n->labels);
	free(n);
}

static int ns_parse(const json_t *obj, struct ns **out, struct dp_err *err)
{
	const char *name;
	struct dp_err why = { 0 };
	struct ns *n;
	int rc;

	rc = obj_name(obj, false, NULL, &name, err);
	if (rc < 0)
		return rc;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(name))) {
		free(n);
		return -ENOMEM;
	}
	rc = labels_from_json(json_object_get(json_object_get(obj, "metadata"), "labels"),
			      &n->labels, &why);
	if (rc < 0) {
		dp_errorf(err, rc, "namespace %s: %s", name, why.msg);
		goto out;
	}
	/* Newer API servers set this label themselves and keep it equal to
	 * the name; older ones do not, and selectors use it everywhere. */
	rc = labels_set(&n->labels, LABELS_NS_NAME_KEY, name);
	if (rc < 0)
		goto out;
	*out = n;
	return 0;
out:
	ns_free(n);
	return rc;
}

/* -------------------------------------------------------------- policies */

static void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->key);
	netpol_free(&p->np);
	free(p);
}

/* A policy's number comes from a hash of its name, so it stays the same
 * across edits and daemon restarts, and rule ids (the policy map's values,
 * the flow log's rule field) keep meaning the same policy. Collisions probe
 * to the next free number. Numbers fit the 22 bits rule ids give them. */
#define POLICY_ID_MAX ((1u << 22) - 1)

static __u32 policy_id(struct store *s, const char *key)
{
	uintptr_t id = (uintptr_t)strmap_get(&s->policy_ids, key);
	uint64_t h = 1469598103934665603ull;
	char num[16];

	if (id)
		return (__u32)id;
	for (const char *c = key; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ull;
	id = 1 + h % POLICY_ID_MAX;
	for (unsigned int i = 0; i < POLICY_ID_MAX; i++) {
		snprintf(num, sizeof(num), "%u", (unsigned int)id);
		if (!strmap_get(&s->policy_keys, num))
			break;
		id = id % POLICY_ID_MAX + 1;
	}
	if (strmap_put(&s->policy_ids, key, (void *)id, NULL) < 0)
		return 0;
	if (strmap_put(&s->policy_keys, num, (void *)1, NULL) < 0) {
		strmap_del(&s->policy_ids, key);
		return 0;
	}
	return (__u32)id;
}

/* A deleted policy's number is free again. */
static void policy_id_release(struct store *s, const char *key)
{
	uintptr_t id = (uintptr_t)strmap_del(&s->policy_ids, key);
	char num[16];

	if (!id)
		return;
	snprintf(num, sizeof(num), "%u", (unsigned int)id);
	strmap_del(&s->policy_keys, num);
}

static int policy_parse(struct store *s, const json_t *obj, struct policy **out,
			struct dp_err *err)
{
	struct policy *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	rc = netpol_parse(obj, &p->np, err);
	if (rc < 0) {
		free(p);
		return rc;
	}
	p->key = join_key(p->np.ns, p->np.name);
	if (!p->key || !(p->np.id = policy_id(s, p->key))) {
		policy_free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

/* ----------------------------------------------------------------- nodes */

static void node_free(struct node *n)
{
	if (!n)
		return;
	free(n->name);
	free(n);
}

static int node_parse(const json_t *obj, struct node **out, struct dp_err *err)
{
	const json_t *a;
	const char *name, *cidr;
	struct node *n;
	struct dp_err ignore = { 0 };
	size_t i;
	int rc;

	rc = obj_name(obj, false, NULL, &name, err);
	if (rc < 0)
		return rc;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(name))) {
		free(n);
		return -ENOMEM;
	}
	json_array_foreach(json_object_get(json_object_get(obj, "status"), "addresses"), i, a) {
		const char *t = jstr(a, "type", NULL);

		if (t && strcmp(t, "InternalIP") == 0 && !n->addr)
			n->addr = ipv4_or_zero(jstr(a, "address", NULL));
	}
	cidr = jstr(obj, "spec", "podCIDR");
	if (cidr && np_cidr_parse(cidr, &n->pod_cidr, &ignore) < 0)
		memset(&n->pod_cidr, 0, sizeof(n->pod_cidr));
	*out = n;
	return 0;
}

/* ---------------------------------------------------------------- common */

static void kind_free(enum store_kind k, void *v)
{
	switch (k) {
	case STORE_POD: pod_free(v); break;
	case STORE_NAMESPACE: ns_free(v); break;
	case STORE_POLICY: policy_free(v); break;
	case STORE_NODE: node_free(v); break;
	default: break;
	}
}

static struct strmap *kind_map(struct store *s, enum store_kind k)
{
	switch (k) {
	case STORE_POD: return &s->pods;
	case STORE_NAMESPACE: return &s->nss;
	case STORE_POLICY: return &s->policies;
	case STORE_NODE: return &s->nodes;
	default: return NULL;
	}
}

static bool *kind_seen(enum store_kind k, void *v)
{
	switch (k) {
	case STORE_POD: return &((struct pod *)v)->seen;
	case STORE_NAMESPACE: return &((struct ns *)v)->seen;
	case STORE_POLICY: return &((struct policy *)v)->seen;
	case STORE_NODE: return &((struct node *)v)->seen;
	default: return NULL;
	}
}

/* Pods by address, for naming flows: the last pod seen with an address
 * has it. */
static void pod_ip_index(struct store *s, struct pod *p, bool add)
{
	char ip[INET_ADDRSTRLEN];

	if (!p->ip)
		return;
	inet_ntop(AF_INET, &p->ip, ip, sizeof(ip));
	if (add)
		strmap_put(&s->pods_by_ip, ip, p, NULL);
	else if (strmap_get(&s->pods_by_ip, ip) == p)
		strmap_del(&s->pods_by_ip, ip);
}

/* Frees an object that has left its map, and its traces elsewhere. */
static void store_drop(struct store *s, enum store_kind k, void *v)
{
	if (v && k == STORE_POD)
		pod_ip_index(s, v, false);
	kind_free(k, v);
}

struct pod *store_pod_by_ip(const struct store *s, __be32 ip)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ip, a, sizeof(a));
	return strmap_get(&s->pods_by_ip, a);
}

static int store_delete(struct store *s, enum store_kind k, const json_t *obj,
			struct dp_err *err)
{
	struct strmap *m = kind_map(s, k);
	const char *ns = NULL, *name;
	char *key;
	void *old;
	int rc;

	rc = obj_name(obj, k == STORE_POD || k == STORE_POLICY, &ns, &name, err);
	if (rc < 0)
		return rc;
	key = ns ? join_key(ns, name) : strdup(name);
	if (!key)
		return -ENOMEM;
	old = strmap_del(m, key);
	if (old && k == STORE_POLICY)
		policy_id_release(s, key);
	free(key);
	store_drop(s, k, old);
	return old != NULL;
}

static int store_upsert(struct store *s, enum store_kind k, const json_t *obj,
			struct dp_err *err)
{
	struct strmap *m = kind_map(s, k);
	const char *key;
	void *v = NULL, *old;
	int rc;

	switch (k) {
	case STORE_POD:
		rc = pod_parse(obj, (struct pod **)&v, err);
		key = rc < 0 ? NULL : ((struct pod *)v)->key;
		break;
	case STORE_NAMESPACE:
		rc = ns_parse(obj, (struct ns **)&v, err);
		key = rc < 0 ? NULL : ((struct ns *)v)->name;
		break;
	case STORE_POLICY:
		rc = policy_parse(s, obj, (struct policy **)&v, err);
		key = rc < 0 ? NULL : ((struct policy *)v)->key;
		break;
	case STORE_NODE:
		rc = node_parse(obj, (struct node **)&v, err);
		key = rc < 0 ? NULL : ((struct node *)v)->name;
		break;
	default:
		return dp_errorf(err, -EINVAL, "not a stored kind");
	}
	if (rc < 0)
		return rc;
	/* Kept in its fail-closed form, but an author should hear of it. */
	if (k == STORE_POLICY && ((struct policy *)v)->np.nproblems)
		s->bad_objects[k]++;
	*kind_seen(k, v) = true;
	if (k == STORE_NAMESPACE)
		((struct ns *)v)->gen = ++s->ns_gen;
	rc = strmap_put(m, key, v, &old);
	if (rc < 0) {
		kind_free(k, v);
		return rc;
	}
	store_drop(s, k, old);
	if (k == STORE_POD)
		pod_ip_index(s, v, true);
	return 1;
}

int store_apply(struct store *s, enum store_kind k, const json_t *obj,
		bool del, struct dp_err *err)
{
	int rc;

	if (!kind_map(s, k))
		return dp_errorf(err, -EINVAL, "not a stored kind");
	rc = del ? store_delete(s, k, obj, err) : store_upsert(s, k, obj, err);
	if (rc == -EINVAL) {
		s->bad_objects[k]++;
		/* A pod or namespace whose labels went bad must not keep the
		 * identity (and the allows) of its old labels. */
		if (!del && (k == STORE_POD || k == STORE_NAMESPACE)) {
			struct dp_err ignore = { 0 };

			store_delete(s, k, obj, &ignore);
		}
	}
	return rc;
}

void store_mark(struct store *s, enum store_kind k)
{
	struct strmap *m = kind_map(s, k);
	size_t i = 0;
	const char *key;
	void *v;

	while (m && strmap_next(m, &i, &key, &v))
		*kind_seen(k, v) = false;
}

int store_sweep(struct store *s, enum store_kind k)
{
	struct strmap *m = kind_map(s, k);
	size_t i = 0;
	const char *key;
	void *v;
	int n = 0;

	while (m && strmap_next(m, &i, &key, &v)) {
		if (*kind_seen(k, v))
			continue;
		if (k == STORE_POLICY)
			policy_id_release(s, key);
		strmap_del(m, key);
		store_drop(s, k, v);
		n++;
	}
	return n;
}

struct pod *store_pod(const struct store *s, const char *ns, const char *name)
{
	char *key = join_key(ns, name);
	struct pod *p;

	if (!key)
		return NULL;
	p = strmap_get(&s->pods, key);
	free(key);
	return p;
}

struct ns *store_ns(const struct store *s, const char *name)
{
	return strmap_get(&s->nss, name);
}

void store_free(struct store *s)
{
	enum store_kind k;

	for (k = STORE_NAMESPACE; k < STORE_NKINDS; k++) {
		struct strmap *m = kind_map(s, k);
		size_t i = 0;
		const char *key;
		void *v;

		while (strmap_next(m, &i, &key, &v))
			kind_free(k, v);
		strmap_free(m);
	}
	strmap_free(&s->policy_ids);
	strmap_free(&s->policy_keys);
	strmap_free(&s->pods_by_ip);
}

/* Drops every member of o not named in keep (NULL-terminated). */
static void json_keep(json_t *o, const char *const *keep)
{
	const char *key;
	json_t *v;
	void *tmp;

	if (!json_is_object(o))
		return;
	json_object_foreach_safe(o, tmp, key, v) {
		const char *const *k;

		for (k = keep; *k && strcmp(*k, key); k++)
			;
		if (!*k)
			json_object_del(o, key);
	}
}

#define KEEP(o, ...) json_keep((o), (const char *const[]){ __VA_ARGS__, NULL })

/* What the store reads of each kind, and nothing more: a pod as the API
 * server sends it is mostly managedFields and status it never looks at,
 * and 10,000 of them whole would be most of the daemon's memory. */
void store_trim(int resource, json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	json_t *c;
	size_t i;

	KEEP(json_object_get(obj, "metadata"), "name", "namespace", "labels",
	     "resourceVersion", "uid");
	switch (resource) {
	case STORE_POD:
		KEEP(obj, "kind", "metadata", "spec", "status");
		KEEP(spec, "nodeName", "hostNetwork", "containers");
		json_array_foreach(json_object_get(spec, "containers"), i, c)
			KEEP(c, "ports");
		KEEP(json_object_get(obj, "status"), "podIP", "phase");
		break;
	case STORE_NAMESPACE:
		KEEP(obj, "kind", "metadata");
		break;
	case STORE_POLICY:
		KEEP(obj, "kind", "metadata", "spec");
		break;
	case STORE_NODE:
		KEEP(obj, "kind", "metadata", "spec", "status");
		KEEP(spec, "podCIDR");
		KEEP(json_object_get(obj, "status"), "addresses");
		break;
	case STORE_IDENTITY:
		KEEP(obj, "kind", "metadata", "labels");
		break;
	default:
		break;
	}
}
