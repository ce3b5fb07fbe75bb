/* NetworkPolicy objects (networking.k8s.io/v1) into struct netpol, every
 * field checked; whatever is wrong is dropped on the side that allows less. */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "ipam/addr.h"
#include "policyd/netpol.h"

/* Where a message points: "spec.egress[N]" fits WHERE_MAX with any N;
 * each level below ("...to[N]", "...namespaceSelector") adds at most as
 * much again. */
#define WHERE_MAX 48

/* A parse in progress: the policy (named in messages), where its first
 * problem goes, and whether a policy-level field was wrong. */
struct np_parse {
	struct netpol *p;
	struct dp_err *err;
	bool fail_closed;
};

static void vreject(struct np_parse *ps, const char *fmt, va_list ap)
{
	char what[400];

	ps->p->nproblems++;
	vsnprintf(what, sizeof(what), fmt, ap);
	dp_errorf(ps->err, -EINVAL, "NetworkPolicy %s/%s: %s", ps->p->ns,
		  ps->p->name, what);
}

/* Counts a rejected part and records it if it is the first; returns false
 * so callers can `return reject(...)`. */
static bool reject(struct np_parse *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool reject(struct np_parse *ps, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreject(ps, fmt, ap);
	va_end(ap);
	return false;
}

static int oom(struct np_parse *ps)
{
	return dp_errorf(ps->err, -ENOMEM, "NetworkPolicy %s/%s: out of memory",
			 ps->p->ns, ps->p->name);
}

/* JSON null is how an absent optional field often arrives. */
static const json_t *field(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

static bool empty_list(const json_t *v)
{
	return !v || (json_is_array(v) && json_array_size(v) == 0);
}

/* The first key of obj that known (NULL-terminated) does not list: a typo
 * like "form" would otherwise silently widen a rule. */
static const char *unknown_field(const json_t *obj, const char *const *known)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)obj, key, val) {
		size_t i = 0;

		while (known[i] && strcmp(known[i], key))
			i++;
		if (!known[i])
			return key;
	}
	return NULL;
}

/* --- CIDRs ----------------------------------------------------------------- */

static __be32 plen_mask(__u8 plen)
{
	return plen ? htonl(~0u << (32 - plen)) : 0;
}

/* -EAFNOSUPPORT for a well-formed IPv6 CIDR: this daemon enforces IPv4
 * only, and callers drop what can never match an IPv4 address. */
int np_cidr_parse(const char *s, struct np_cidr *c, struct dp_err *err)
{
	struct ip_prefix p;
	__be32 addr;

	if (ip_prefix_parse(s, &p) < 0)
		return dp_errorf(err, -EINVAL, "\"%.60s\" is not a CIDR (address/length)", s);
	if (p.addr.family != AF_INET)
		return dp_errorf(err, -EAFNOSUPPORT, "CIDR \"%.60s\" is IPv6, not enforced",
				 s);
	memcpy(&addr, p.addr.b, sizeof(addr));
	c->plen = p.len;
	c->addr = addr & plen_mask(p.len);
	return 0;
}

bool np_cidr_contains(const struct np_cidr *outer, const struct np_cidr *inner)
{
	return inner->plen >= outer->plen &&
	       (inner->addr & plen_mask(outer->plen)) == outer->addr;
}

static void cidr_str(const struct np_cidr *c, char *buf, size_t len)
{
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &c->addr, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, c->plen);
}

/* --- freeing --------------------------------------------------------------- */

static void peer_free(struct np_peer *peer)
{
	selector_free(&peer->pod_sel);
	selector_free(&peer->ns_sel);
	free(peer->except);
	*peer = (struct np_peer){ 0 };
}

static void rules_free(struct np_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < rules[i].npeers; j++)
			peer_free(&rules[i].peers[j]);
		free(rules[i].peers);
		free(rules[i].ports);
	}
	free(rules);
}

void netpol_free(struct netpol *p)
{
	free(p->ns);
	free(p->name);
	selector_free(&p->pod_sel);
	rules_free(p->in, p->nin);
	rules_free(p->eg, p->neg);
	*p = (struct netpol){ 0 };
}

/* --- ports ----------------------------------------------------------------- */

/* IANA_SVC_NAME, the rule for container port names; NULL when s is one. */
static const char *svc_name_problem(const char *s)
{
	size_t len = strlen(s);
	bool letter = false;

	if (len == 0 || len > NETPOL_PORT_NAME_MAX)
		return "must be 1 to 15 characters";
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		else if ((s[i] < '0' || s[i] > '9') && s[i] != '-')
			return "may only contain lowercase letters, digits and '-'";
	}
	if (!letter)
		return "must contain a letter";
	if (s[0] == '-' || s[len - 1] == '-')
		return "must not begin or end with '-'";
	if (strstr(s, "--"))
		return "must not contain \"--\"";
	return NULL;
}

static bool parse_proto(struct np_parse *ps, const json_t *j, const char *where,
			__u8 *proto)
{
	const char *name = json_string_value(j);

	*proto = IPPROTO_TCP;
	if (!j)
		return true;
	if (name && strcmp(name, "TCP") == 0)
		return true;
	if (name && strcmp(name, "UDP") == 0)
		*proto = IPPROTO_UDP;
	else if (name && strcmp(name, "SCTP") == 0)
		*proto = IPPROTO_SCTP;
	else
		return reject(ps, "%s: protocol must be TCP, UDP or SCTP", where);
	return true;
}

/* A JSON string is a port name even when it is all digits (IntOrString):
 * "80" is not a valid name, so such a rule is rejected, as the API server
 * would. */
static bool parse_port_name(struct np_parse *ps, const char *name,
			    bool has_end, const char *where, struct np_port *out)
{
	const char *why = svc_name_problem(name);

	if (why)
		return reject(ps, "%s: port name \"%.40s\" %s", where, name, why);
	if (has_end)
		return reject(ps, "%s: endPort cannot be used with a named port", where);
	memcpy(out->name, name, strlen(name) + 1);
	return true;
}

static bool parse_port(struct np_parse *ps, const json_t *j, const char *where,
		       struct np_port *out)
{
	static const char *const known[] = { "protocol", "port", "endPort", NULL };
	const json_t *port, *end;
	const char *unknown;
	json_int_t v;

	*out = (struct np_port){ .proto = IPPROTO_TCP };
	if (!json_is_object(j))
		return reject(ps, "%s must be an object", where);
	unknown = unknown_field(j, known);
	if (unknown)
		return reject(ps, "%s: unknown field \"%.40s\"", where, unknown);
	if (!parse_proto(ps, field(j, "protocol"), where, &out->proto))
		return false;
	port = field(j, "port");
	end = field(j, "endPort");
	if (json_is_string(port))
		return parse_port_name(ps, json_string_value(port), end != NULL,
				       where, out);
	if (port && !json_is_integer(port))
		return reject(ps, "%s: port must be a number or a name", where);
	if (port) {
		v = json_integer_value(port);
		if (v < 1 || v > 65535)
			return reject(ps, "%s: port %lld is not in 1..65535", where,
				      (long long)v);
		out->port = (__u16)v;
	}
	if (!end)
		return true;
	if (!port)
		return reject(ps, "%s: endPort needs a numeric port", where);
	if (!json_is_integer(end))
		return reject(ps, "%s: endPort must be a number", where);
	v = json_integer_value(end);
	if (v < out->port || v > 65535)
		return reject(ps, "%s: endPort %lld is not in %u..65535", where,
			      (long long)v, out->port);
	out->end_port = (__u16)v;
	return true;
}

/* --- peers ----------------------------------------------------------------- */

enum peer_verdict {
	PEER_KEEP,
	PEER_DROP,	/* IPv6: can never match, narrows the rule */
	PEER_BAD,	/* the rule must allow nothing */
};

/* reject() for the peer parsers, which return a verdict. */
static int reject_peer(struct np_parse *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int reject_peer(struct np_parse *ps, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreject(ps, fmt, ap);
	va_end(ap);
	return PEER_BAD;
}

/* 0 parsed, -EINVAL rejected (problem recorded), -ENOMEM. */
static int parse_sel(struct np_parse *ps, const json_t *j, const char *where,
		     struct selector *out)
{
	struct dp_err why = { 0 };
	int rc = selector_parse(j, out, &why);

	if (rc == -ENOMEM)
		return oom(ps);
	if (rc < 0)
		reject(ps, "%s: %s", where, why.msg);
	return rc;
}

/* IPv6 excepts are ignored: they cannot exclude an IPv4 address. */
static int parse_excepts(struct np_parse *ps, const json_t *list,
			 const char *where, struct np_peer *peer)
{
	char cidr[INET_ADDRSTRLEN + 4];
	struct np_cidr c;
	size_t i;
	json_t *e;
	int rc;

	if (!list)
		return PEER_KEEP;
	if (!json_is_array(list))
		return reject_peer(ps, "%s: ipBlock.except must be an array", where);
	if (json_array_size(list)) {
		peer->except = calloc(json_array_size(list), sizeof(*peer->except));
		if (!peer->except)
			return oom(ps);
	}
	json_array_foreach(list, i, e) {
		struct dp_err why = { 0 };

		if (!json_is_string(e))
			return reject_peer(ps, "%s: ipBlock.except[%zu] must be a string",
					   where, i);
		rc = np_cidr_parse(json_string_value(e), &c, &why);
		if (rc == -EAFNOSUPPORT)
			continue;
		if (rc < 0)
			return reject_peer(ps, "%s: ipBlock.except[%zu]: %s", where, i,
					   why.msg);
		if (!np_cidr_contains(&peer->cidr, &c) || c.plen == peer->cidr.plen) {
			cidr_str(&peer->cidr, cidr, sizeof(cidr));
			return reject_peer(ps, "%s: ipBlock.except[%zu] \"%.60s\" is not strictly inside %s",
					   where, i, json_string_value(e), cidr);
		}
		peer->except[peer->nexcept++] = c;
	}
	return PEER_KEEP;
}

static int parse_ipblock(struct np_parse *ps, const json_t *j, const char *where,
			 struct np_peer *peer)
{
	static const char *const known[] = { "cidr", "except", NULL };
	struct dp_err why = { 0 };
	const char *unknown, *cidr;
	int rc;

	if (!json_is_object(j))
		return reject_peer(ps, "%s: ipBlock must be an object", where);
	unknown = unknown_field(j, known);
	if (unknown)
		return reject_peer(ps, "%s: ipBlock: unknown field \"%.40s\"", where,
				   unknown);
	cidr = json_string_value(field(j, "cidr"));
	if (!cidr)
		return reject_peer(ps, "%s: ipBlock.cidr must be a string", where);
	rc = np_cidr_parse(cidr, &peer->cidr, &why);
	if (rc == -EAFNOSUPPORT)
		return PEER_DROP;
	if (rc < 0)
		return reject_peer(ps, "%s: ipBlock.cidr: %s", where, why.msg);
	peer->kind = NP_PEER_IPBLOCK;
	return parse_excepts(ps, field(j, "except"), where, peer);
}

/* One selector of a pods peer; PEER_KEEP, PEER_BAD or -ENOMEM. */
static int parse_peer_sel(struct np_parse *ps, const json_t *j,
			  const char *where, const char *name, bool *has,
			  struct selector *sel)
{
	char at[3 * WHERE_MAX];
	int rc;

	if (!j)
		return PEER_KEEP;
	*has = true;
	snprintf(at, sizeof(at), "%s.%s", where, name);
	rc = parse_sel(ps, j, at, sel);
	if (rc == -ENOMEM)
		return rc;
	return rc < 0 ? PEER_BAD : PEER_KEEP;
}

/* A peer_verdict, or -ENOMEM. */
static int parse_peer(struct np_parse *ps, const json_t *j, const char *where,
		      struct np_peer *peer)
{
	static const char *const known[] = {
		"podSelector", "namespaceSelector", "ipBlock", NULL
	};
	const json_t *pod_sel, *ns_sel, *ipblock;
	const char *unknown;
	int rc;

	if (!json_is_object(j))
		return reject_peer(ps, "%s must be an object", where);
	unknown = unknown_field(j, known);
	if (unknown)
		return reject_peer(ps, "%s: unknown field \"%.40s\"", where, unknown);
	pod_sel = field(j, "podSelector");
	ns_sel = field(j, "namespaceSelector");
	ipblock = field(j, "ipBlock");
	if (ipblock && (pod_sel || ns_sel))
		return reject_peer(ps, "%s: ipBlock cannot be combined with a selector",
				   where);
	if (ipblock)
		return parse_ipblock(ps, ipblock, where, peer);
	if (!pod_sel && !ns_sel)
		return reject_peer(ps, "%s: needs podSelector, namespaceSelector or ipBlock",
				   where);
	peer->kind = NP_PEER_PODS;
	rc = parse_peer_sel(ps, pod_sel, where, "podSelector", &peer->has_pod_sel,
			    &peer->pod_sel);
	if (rc != PEER_KEEP)
		return rc;
	return parse_peer_sel(ps, ns_sel, where, "namespaceSelector",
			      &peer->has_ns_sel, &peer->ns_sel);
}

/* --- rules ----------------------------------------------------------------- */

static int parse_peers(struct np_parse *ps, const json_t *list,
		       const char *where, const char *name, struct np_rule *r)
{
	char at[2 * WHERE_MAX];
	size_t i;
	json_t *j;
	int rc;

	if (empty_list(list))
		return 0;
	if (!json_is_array(list)) {
		r->invalid = true;
		reject(ps, "%s.%s must be an array", where, name);
		return 0;
	}
	r->peers = calloc(json_array_size(list), sizeof(*r->peers));
	if (!r->peers)
		return oom(ps);
	json_array_foreach(list, i, j) {
		struct np_peer *peer = &r->peers[r->npeers];

		snprintf(at, sizeof(at), "%s.%s[%zu]", where, name, i);
		rc = parse_peer(ps, j, at, peer);
		if (rc == PEER_KEEP) {
			r->npeers++;
			continue;
		}
		peer_free(peer);
		if (rc < 0)
			return rc;
		if (rc == PEER_BAD)
			r->invalid = true;
	}
	/* Only IPv6 peers: the list named peers, none of them visible here.
	 * No peers at all would read as "everyone". */
	if (r->npeers == 0) {
		r->invalid = true;
		free(r->peers);
		r->peers = NULL;
	}
	return 0;
}

static int parse_ports(struct np_parse *ps, const json_t *list,
		       const char *where, struct np_rule *r)
{
	char at[2 * WHERE_MAX];
	size_t i;
	json_t *j;

	if (empty_list(list))
		return 0;
	if (!json_is_array(list)) {
		r->invalid = true;
		reject(ps, "%s.ports must be an array", where);
		return 0;
	}
	r->ports = calloc(json_array_size(list), sizeof(*r->ports));
	if (!r->ports)
		return oom(ps);
	json_array_foreach(list, i, j) {
		snprintf(at, sizeof(at), "%s.ports[%zu]", where, i);
		if (parse_port(ps, j, at, &r->ports[r->nports]))
			r->nports++;
		else
			r->invalid = true;
	}
	return 0;
}

/* peers_field is "from" for ingress rules, "to" for egress ones. */
static int parse_rule(struct np_parse *ps, const json_t *j, const char *where,
		      const char *peers_field, struct np_rule *r)
{
	const char *const known[] = { peers_field, "ports", NULL };
	const char *unknown;
	int rc;

	if (!json_is_object(j)) {
		r->invalid = true;
		reject(ps, "%s must be an object", where);
		return 0;
	}
	unknown = unknown_field(j, known);
	if (unknown) {
		r->invalid = true;
		reject(ps, "%s: unknown field \"%.40s\"", where, unknown);
	}
	rc = parse_peers(ps, field(j, peers_field), where, peers_field, r);
	if (rc < 0)
		return rc;
	return parse_ports(ps, field(j, "ports"), where, r);
}

static int parse_rules(struct np_parse *ps, const json_t *spec,
		       const char *dir, const char *peers_field,
		       struct np_rule **rules, size_t *n)
{
	const json_t *list = field(spec, dir);
	char where[WHERE_MAX];
	size_t i;
	json_t *j;
	int rc;

	if (empty_list(list))
		return 0;
	if (!json_is_array(list)) {
		ps->fail_closed = true;
		reject(ps, "spec.%s must be an array", dir);
		return 0;
	}
	*rules = calloc(json_array_size(list), sizeof(**rules));
	if (!*rules)
		return oom(ps);
	*n = json_array_size(list);
	json_array_foreach(list, i, j) {
		snprintf(where, sizeof(where), "spec.%s[%zu]", dir, i);
		rc = parse_rule(ps, j, where, peers_field, &(*rules)[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --- the policy ------------------------------------------------------------ */

/* The API server's defaulting: Ingress always, Egress when there are
 * egress rules. A value it would not accept enforces both directions. */
static void parse_types(struct np_parse *ps, const json_t *spec)
{
	const json_t *types = field(spec, "policyTypes");
	const json_t *egress = field(spec, "egress");
	struct netpol *p = ps->p;
	size_t i;
	json_t *t;

	p->ingress = true;
	p->egress = json_is_array(egress) && json_array_size(egress) > 0;
	if (empty_list(types))
		return;
	if (!json_is_array(types)) {
		ps->fail_closed = true;
		reject(ps, "spec.policyTypes must be an array");
		return;
	}
	p->ingress = p->egress = false;
	json_array_foreach(types, i, t) {
		const char *name = json_string_value(t);

		if (name && strcmp(name, "Ingress") == 0) {
			p->ingress = true;
		} else if (name && strcmp(name, "Egress") == 0) {
			p->egress = true;
		} else {
			ps->fail_closed = true;
			reject(ps, "spec.policyTypes[%zu] must be \"Ingress\" or \"Egress\"", i);
		}
	}
}

/* Absent or null is {} (every pod of the namespace), as the API server
 * decodes it. An invalid one selects every pod too, for both directions,
 * and allows nothing. 0 or -ENOMEM. */
static int parse_pod_selector(struct np_parse *ps, const json_t *spec)
{
	const json_t *j = field(spec, "podSelector");
	int rc;

	if (!j)
		return 0;
	rc = parse_sel(ps, j, "spec.podSelector", &ps->p->pod_sel);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		ps->p->select_all_invalid = true;
		ps->p->ingress = ps->p->egress = true;
	}
	return 0;
}

static int parse_meta(const json_t *obj, struct netpol *p, struct dp_err *err)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const json_t *ns_json = field(meta, "namespace");
	const char *ns = json_string_value(ns_json);
	struct dp_err why = { 0 };

	if (!json_is_object(obj))
		return dp_errorf(err, -EINVAL, "NetworkPolicy must be a JSON object");
	if (!name)
		return dp_errorf(err, -EINVAL, "NetworkPolicy without metadata.name");
	if (!dns_subdomain_valid(name, &why))
		return dp_errorf(err, -EINVAL, "NetworkPolicy metadata.name: %s", why.msg);
	/* The API server always sets the namespace. A manifest may leave it
	 * out, and kubectl would then create the policy in "default". */
	if (ns_json && !ns)
		return dp_errorf(err, -EINVAL,
				 "NetworkPolicy %.100s: metadata.namespace must be a string",
				 name);
	if (!ns || !*ns)
		ns = "default";
	if (!dns_label_valid(ns, &why))
		return dp_errorf(err, -EINVAL, "NetworkPolicy %.100s: metadata.namespace: %s",
				 name, why.msg);
	p->name = strdup(name);
	p->ns = strdup(ns);
	if (!p->name || !p->ns)
		return dp_errorf(err, -ENOMEM, "NetworkPolicy %.100s: out of memory", name);
	return 0;
}

int netpol_parse(const json_t *obj, struct netpol *out, struct dp_err *err)
{
	static const char *const spec_fields[] = {
		"podSelector", "ingress", "egress", "policyTypes", NULL
	};
	struct np_parse ps = { .p = out, .err = err };
	const json_t *spec;
	const char *unknown;
	int rc;

	*out = (struct netpol){ 0 };
	rc = parse_meta(obj, out, err);
	if (rc < 0)
		goto out;
	spec = json_object_get(obj, "spec");
	if (!json_is_object(spec)) {
		rc = dp_errorf(err, -EINVAL, "NetworkPolicy %s/%s: spec must be an object",
			       out->ns, out->name);
		goto out;
	}
	rc = parse_pod_selector(&ps, spec);
	if (rc < 0 || out->select_all_invalid)
		goto out;
	unknown = unknown_field(spec, spec_fields);
	if (unknown) {
		ps.fail_closed = true;
		reject(&ps, "spec: unknown field \"%.40s\"", unknown);
	}
	parse_types(&ps, spec);
	rc = parse_rules(&ps, spec, "ingress", "from", &out->in, &out->nin);
	if (rc < 0)
		goto out;
	rc = parse_rules(&ps, spec, "egress", "to", &out->eg, &out->neg);
	if (rc < 0)
		goto out;
	if (ps.fail_closed)
		out->ingress = out->egress = true;
out:
	if (rc < 0)
		netpol_free(out);
	return rc;
}
