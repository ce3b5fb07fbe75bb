/* policy get and trace: an endpoint's policy map entries in words, and the
 * verdict the datapath would give a new connection, found with the
 * datapath's own lookups on the pinned maps (nothing is sent). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "bulkhead/config.h"
#include "bulkhead/identity.h"
#include "bulkhead/pin.h"
#include "bulkhead/policy.h"
#include "bulkhead/reason.h"
#include "ctl/ctl.h"
#include "datapath/names.h"
#include "datapath/policy_map.h"
#include "policyd/compile.h"

/* What the daemon names, each NULL when it does not answer. */
struct names {
	json_t *eps;	/* /endpoints */
	json_t *ids;	/* /identities */
	json_t *pols;	/* /policies */
};

static void names_get(const struct ctl *c, struct names *nm)
{
	nm->eps = daemon_get_json(c, "/endpoints");
	nm->ids = daemon_get_json(c, "/identities");
	nm->pols = daemon_get_json(c, "/policies");
}

static void names_free(struct names *nm)
{
	json_decref(nm->eps);
	json_decref(nm->ids);
	json_decref(nm->pols);
}

/* The element of arr whose "id" is id, or NULL. */
static json_t *by_id(json_t *arr, json_int_t id)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e)
		if (json_is_integer(json_object_get(e, "id")) &&
		    json_integer_value(json_object_get(e, "id")) == id)
			return e;
	return NULL;
}

/* The daemon's labels of identity id (an object), or NULL. */
static json_t *labels_of(const struct names *nm, __u32 id)
{
	return ctl_identity_labels(nm->ids, id);
}

/* "k=v,k=v" in the daemon's order; NULL when out of memory. */
static json_t *labels_words(json_t *labels)
{
	char *buf = NULL;
	size_t len = 0;
	const char *k;
	const char *sep = "";
	json_t *v, *out = NULL;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	json_object_foreach(labels, k, v) {
		fprintf(f, "%s%s=%s", sep, k, json_is_string(v) ? json_string_value(v) : "?");
		sep = ",";
	}
	if (fclose(f) == 0)
		out = json_string(buf);
	free(buf);
	return out;
}

/* An identity in words: "any" (a policy key's BH_POLICY_ANY_ID, when
 * any_ok), a reserved name, the labels, else the number. */
static json_t *identity_words(const struct names *nm, __u32 id, bool any_ok)
{
	const char *reserved = id <= BH_ID_RESERVED_MAX ? ctl_reserved_identity(id) : NULL;
	json_t *labels = labels_of(nm, id);

	if (any_ok && id == BH_POLICY_ANY_ID)
		return json_string("any");
	if (reserved)
		return json_string(reserved);
	if (labels && json_object_size(labels))
		return labels_words(labels);
	return json_sprintf("%u", id);
}

/* "ns/name ingress[2]" for a compiled rule, "allow-host" for the host
 * entry, the number for one the daemon does not name; null for none. */
static json_t *rule_words(const struct names *nm, __u32 rule)
{
	json_t *p;
	const char *ns, *name;

	if (!rule)
		return json_null();
	if (rule == COMPILE_RULE_HOST)
		return json_string("allow-host");
	p = by_id(nm->pols, compile_rule_policy(rule));
	ns = json_string_value(json_object_get(p, "namespace"));
	name = json_string_value(json_object_get(p, "name"));
	if (!ns || !name)
		return json_sprintf("%u", rule);
	return json_sprintf("%s/%s %s[%u]", ns, name,
			    dp_dir_name((unsigned int)compile_rule_dir(rule)),
			    compile_rule_idx(rule));
}

static const char *action_name(__u8 action)
{
	return action == BH_POLICY_ALLOW ? "allow" :
	       action == BH_POLICY_DENY ? "deny" : "?";
}

/* Protocol and ports of a key: the prefix bits past the protocol are the
 * leading bits of the port, so k of them cover 2^(16-k) ports. */
static int key_ports(const struct bh_policy_key *k, json_t *row)
{
	unsigned int plen = k->prefixlen, lo = 0, hi = 65535;
	const char *proto = dp_proto_name(k->proto);
	json_t *port;

	if (plen < BH_POLICY_PLEN_ANY_PROTO || plen > BH_POLICY_PLEN_PORT)
		return ctl_fail(CTL_FAIL, "policy key with prefix length %u", plen);
	if (plen == BH_POLICY_PLEN_ANY_PROTO)
		proto = "any";
	if (plen > BH_POLICY_PLEN_ANY_PORT) {
		unsigned int span = 1u << (BH_POLICY_PLEN_PORT - plen);

		lo = ntohs(k->dport) & ~(span - 1) & 0xffff;
		hi = lo + span - 1;
	}
	if (plen <= BH_POLICY_PLEN_ANY_PORT)
		port = json_string("any");
	else if (lo == hi)
		port = json_sprintf("%u", lo);
	else
		port = json_sprintf("%u-%u", lo, hi);
	if (json_object_set_new(row, "proto", proto ? json_string(proto) :
				json_sprintf("%u", k->proto)) < 0 ||
	    json_object_set_new(row, "port", port) < 0 ||
	    json_object_set_new(row, "port_lo", json_integer(lo)) < 0 ||
	    json_object_set_new(row, "port_hi", json_integer(hi)) < 0)
		return ctl_fail(CTL_FAIL, "out of memory");
	return 0;
}

static json_t *entry_row(const struct names *nm, const struct dp_policy_entry *e)
{
	__u32 remote = e->key.remote_id;
	json_t *row = json_pack("{s:s?, s:I, s:o*, s:O?, s:s, s:b, s:I, s:o*, s:I, s:I}",
				"direction", dp_dir_name(e->key.dir),
				"remote_id", (json_int_t)remote,
				"remote", identity_words(nm, remote, true),
				"remote_labels", remote == BH_POLICY_ANY_ID ? NULL : labels_of(nm, remote),
				"action", action_name(e->val.action),
				"projected", (e->val.flags & BH_POLICY_F_PROJECTED) != 0,
				"rule_id", (json_int_t)e->val.rule_id,
				"rule", rule_words(nm, e->val.rule_id),
				"packets", (json_int_t)e->val.packets,
				"bytes", (json_int_t)e->val.bytes);

	if (row && key_ports(&e->key, row)) {
		json_decref(row);
		return NULL;
	}
	return row;
}

/* JSON as it is; a table: the object's other keys as lines, then the
 * array under list as rows. Takes the reference. */
static int out_with_rows(const struct ctl *c, json_t *obj, const char *list,
			 const char *const *cols)
{
	json_t *rows;
	int rc;

	if (c->json || !obj)
		return out_object(c, obj);
	rows = json_incref(json_object_get(obj, list));
	json_object_del(obj, list);
	rc = out_object(c, obj);
	if (rc) {
		json_decref(rows);
		return rc;
	}
	putchar('\n');
	return out_rows(c, rows, cols);
}

int cmd_policy_get(struct ctl *c, int argc, char **argv)
{
	static const char *const columns[] = {
		"direction", "remote", "proto", "port", "action", "projected",
		"rule", "packets", "bytes", NULL
	};
	struct dp_policy_entry *e = NULL;
	struct dp_err err = { 0 };
	struct names nm = { 0 };
	struct bh_endpoint ep;
	json_t *obj = NULL, *rows;
	__be32 ip = 0;
	size_t n = 0;
	int rc;

	(void)argc;
	if (!strchr(argv[0], '/') && (rc = ctl_parse_ip("endpoint", argv[0], &ip)))
		return rc;
	if ((rc = ctl_open_maps(c)))
		return rc;
	names_get(c, &nm);
	if ((rc = ctl_endpoint_find(c, argv[0], nm.eps, &ip, &ep)))
		goto out;
	if (dp_policy_read(&c->maps, &e, &n, &err) < 0) {
		rc = ctl_fail(CTL_FAIL, "%s", err.msg);
		goto out;
	}
	obj = json_pack("{s:o, s:I, s:s, s:s, s:[]}", "ip", out_ip(ip),
			"identity", (json_int_t)ep.identity,
			"egress", ctl_enforcement(ep.flags, BH_EP_F_ENFORCE_EGRESS),
			"ingress", ctl_enforcement(ep.flags, BH_EP_F_ENFORCE_INGRESS),
			"entries");
	if (!obj) {
		rc = ctl_fail(CTL_FAIL, "out of memory");
		goto out;
	}
	rows = json_object_get(obj, "entries");
	for (size_t i = 0; i < n; i++)
		if (e[i].key.local_id == ep.identity &&
		    (rc = out_append(rows, entry_row(&nm, &e[i]))))
			goto out;
	rc = out_with_rows(c, obj, "entries", columns);
	obj = NULL;
out:
	json_decref(obj);
	free(e);
	names_free(&nm);
	return rc;
}

/* --- trace ----------------------------------------------------------- */

/* One end of the connection and where its identity comes from, as
 * datapath/lib/identity.h finds it. */
struct side {
	const char *arg;
	__be32 ip;
	bool local;
	struct bh_endpoint ep;
	__u32 id;
	const char *source;
};

static int side_resolve(struct ctl *c, const struct names *nm, struct side *s)
{
	struct bh_ipcache_key key = { .prefixlen = 32 };
	struct bh_ipcache_value v;
	int rc = ctl_endpoint_addr(c, s->arg, nm->eps, &s->ip);

	if (rc)
		return rc;
	rc = dp_endpoint_get(&c->maps, s->ip, &s->ep);
	if (rc == 0) {
		s->local = true;
		s->id = s->ep.identity;
		s->source = "local endpoint";
		return 0;
	}
	if (rc != -ENOENT)
		return ctl_fail(CTL_FAIL, "read endpoint %s: %s", s->arg, strerror(-rc));
	key.ip4 = s->ip;
	if (bpf_map_lookup_elem(c->maps.ipcache, &key, &v) == 0) {
		s->id = v.identity;
		s->source = "ipcache";
		return 0;
	}
	if (errno != ENOENT)
		return ctl_fail(CTL_FAIL, "look up %s in map %s: %s", s->arg,
				BH_MAP_IPCACHE, strerror(errno));
	s->id = BH_ID_WORLD;
	s->source = "no ipcache entry: the world";
	return 0;
}

/* What is not known about an identity, or NULL. */
static const char *identity_note(const struct names *nm, __u32 id)
{
	if (id == BH_ID_UNKNOWN)
		return "unknown identity: where policy is enforced, only a rule for any peer admits it";
	if (id == BH_ID_INIT)
		return "endpoint's identity not yet known: the datapath drops its traffic";
	if (id > BH_ID_RESERVED_MAX && nm->ids && !by_id(nm->ids, id))
		return "identity the daemon does not know";
	if (id > BH_ID_RESERVED_MAX && !nm->ids)
		return "no labels: the daemon does not answer";
	return NULL;
}

static json_t *side_json(const struct names *nm, const struct side *s)
{
	return json_pack("{s:o, s:b, s:s, s:I, s:o*, s:O?, s:s?}",
			 "ip", out_ip(s->ip), "local", s->local,
			 "identity_from", s->source, "identity", (json_int_t)s->id,
			 "identity_name", identity_words(nm, s->id, false),
			 "labels", labels_of(nm, s->id),
			 "note", identity_note(nm, s->id));
}

/* 1 and *v when key is in the trie, 0 when not, -errno on failure. */
static int policy_lookup(const struct ctl *c, const struct bh_policy_key *key,
			 struct bh_policy_value *v)
{
	if (bpf_map_lookup_elem(c->maps.policy, key, v) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

static int decided(struct bh_policy_value *hit, bool *have,
		   const struct bh_policy_value *v, int reason)
{
	*hit = *v;
	*have = true;
	return reason;
}

/* datapath/lib/policy.h's policy_check_dir on the pinned trie: the same
 * two keys (exact remote, then any), so the kernel's longest prefix
 * decides as it does for packets; a deny from either wins. *hit holds the
 * deciding entry when *have. Returns the reason, or -errno. */
static int check_dir(const struct ctl *c, const struct bh_endpoint *ep,
		     __u8 dir, __u32 remote_id, __u8 proto, __u16 port,
		     struct bh_policy_value *hit, bool *have)
{
	__u32 enforce = dir == BH_DIR_EGRESS ? BH_EP_F_ENFORCE_EGRESS
					     : BH_EP_F_ENFORCE_INGRESS;
	struct bh_policy_key key = {
		.prefixlen = BH_POLICY_PLEN_PORT, .local_id = ep->identity,
		.remote_id = remote_id, .dir = dir, .proto = proto,
		.dport = htons(port),
	};
	struct bh_policy_value exact, any;
	int has_exact, has_any;

	*have = false;
	if (ep->identity == BH_ID_INIT)
		return BH_REASON_DROP_ENDPOINT_INIT;
	if (!(ep->flags & enforce))
		return BH_REASON_ALLOW_NO_POLICY;
	if ((has_exact = policy_lookup(c, &key, &exact)) < 0)
		return has_exact;
	key.remote_id = BH_POLICY_ANY_ID;
	if ((has_any = policy_lookup(c, &key, &any)) < 0)
		return has_any;
	if (has_exact && exact.action == BH_POLICY_DENY)
		return decided(hit, have, &exact, BH_REASON_DROP_POLICY_DENY);
	if (has_any && any.action == BH_POLICY_DENY)
		return decided(hit, have, &any, BH_REASON_DROP_POLICY_DENY);
	if (has_exact && exact.action == BH_POLICY_ALLOW)
		return decided(hit, have, &exact, BH_REASON_ALLOW_POLICY);
	/* The any entry speaks only where no exact one was found. */
	if (!has_exact && has_any && any.action == BH_POLICY_ALLOW)
		return decided(hit, have, &any, BH_REASON_ALLOW_POLICY);
	return remote_id == BH_ID_UNKNOWN ? BH_REASON_DROP_UNKNOWN_IDENTITY
					  : BH_REASON_DROP_POLICY_DEFAULT;
}

/* One direction's verdict as JSON; *passes false when it drops. A side
 * that is not a local endpoint has no policy on this node. */
static json_t *direction_json(const struct ctl *c, const struct names *nm,
			      const struct bh_config *cfg, const struct side *self,
			      __u32 peer_id, __u8 dir, __u8 proto, __u16 port,
			      bool *passes)
{
	__u32 enforce = dir == BH_DIR_EGRESS ? BH_EP_F_ENFORCE_EGRESS
					     : BH_EP_F_ENFORCE_INGRESS;
	struct bh_policy_value hit = { 0 };
	unsigned int verdict = BH_VERDICT_ALLOW;
	bool have = false;
	int reason = BH_REASON_ALLOW_NO_POLICY;

	if (self->local)
		reason = check_dir(c, &self->ep, dir, peer_id, proto, port, &hit, &have);
	if (reason < 0) {
		ctl_fail(CTL_FAIL, "look up map %s: %s", BH_MAP_POLICY, strerror(-reason));
		return NULL;
	}
	if (BH_REASON_IS_DROP(reason))
		verdict = (cfg->flags & BH_CFG_F_AUDIT) || (self->ep.flags & BH_EP_F_AUDIT) ?
			BH_VERDICT_AUDIT : BH_VERDICT_DROP;
	*passes = verdict != BH_VERDICT_DROP;
	return json_pack("{s:s, s:s?, s:s?, s:s?, s:I, s:o*, s:s?, s:b}",
			 "enforcement", self->local ? ctl_enforcement(self->ep.flags, enforce)
						    : "not a local endpoint",
			 "verdict", dp_verdict_name(verdict),
			 "reason", dp_reason_name((unsigned int)reason),
			 "reason_words", dp_reason_words((unsigned int)reason),
			 "rule_id", (json_int_t)hit.rule_id,
			 "rule", rule_words(nm, hit.rule_id),
			 "entry_action", have ? action_name(hit.action) : NULL,
			 "projected", have && (hit.flags & BH_POLICY_F_PROJECTED));
}

/* FROM TO PORT [--proto tcp|udp] into the sides, the protocol and port. */
static int trace_args(int argc, char **argv, struct side *from, struct side *to,
		      __u8 *proto, __u16 *port)
{
	char *end;
	unsigned long p;
	int pr;

	if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--proto") == 0))
		return ctl_fail(CTL_USAGE, "usage: bulkhead-ctl trace FROM TO PORT [--proto tcp|udp]");
	from->arg = argv[0];
	to->arg = argv[1];
	errno = 0;
	p = strtoul(argv[2], &end, 10);
	if (errno || end == argv[2] || *end || p < 1 || p > 65535 || argv[2][0] == '-')
		return ctl_fail(CTL_USAGE, "trace: port '%s' is not 1..65535", argv[2]);
	*port = (__u16)p;
	*proto = IPPROTO_TCP;
	if (argc == 5) {
		pr = dp_proto_parse(argv[4]);
		if (pr != IPPROTO_TCP && pr != IPPROTO_UDP)
			return ctl_fail(CTL_USAGE, "trace: --proto '%s' is neither tcp nor udp", argv[4]);
		*proto = (__u8)pr;
	}
	if (strchr(from->arg, '/') == NULL && ctl_parse_ip("trace FROM", from->arg, &from->ip))
		return CTL_USAGE;
	if (strchr(to->arg, '/') == NULL && ctl_parse_ip("trace TO", to->arg, &to->ip))
		return CTL_USAGE;
	return 0;
}

int cmd_trace(struct ctl *c, int argc, char **argv)
{
	struct side from = { 0 }, to = { 0 };
	struct bh_config cfg;
	struct dp_err err = { 0 };
	struct names nm = { 0 };
	bool out_ok = false, in_ok = false;
	json_t *obj = NULL, *eg, *in;
	__u16 port = 0;
	__u8 proto = 0;
	int rc;

	if ((rc = trace_args(argc, argv, &from, &to, &proto, &port)) ||
	    (rc = ctl_open_maps(c)))
		return rc;
	if (dp_config_get(&c->maps, &cfg, &err) < 0)
		return ctl_fail(CTL_FAIL, "%s", err.msg);
	names_get(c, &nm);
	if ((rc = side_resolve(c, &nm, &from)) || (rc = side_resolve(c, &nm, &to)))
		goto out;
	eg = direction_json(c, &nm, &cfg, &from, to.id, BH_DIR_EGRESS, proto, port, &out_ok);
	in = direction_json(c, &nm, &cfg, &to, from.id, BH_DIR_INGRESS, proto, port, &in_ok);
	obj = json_pack("{s:o*, s:o*, s:s, s:i, s:o*, s:o*, s:s}",
			"from", side_json(&nm, &from), "to", side_json(&nm, &to),
			"proto", dp_proto_name(proto), "port", port,
			"egress", eg, "ingress", in,
			"verdict", out_ok && in_ok ? "allowed" : "denied");
	if (!obj || !eg || !in) {
		rc = ctl_fail(CTL_FAIL, "trace failed");
		goto out;
	}
	rc = out_object(c, obj);
	obj = NULL;
	if (rc == 0 && !(out_ok && in_ok))
		rc = CTL_FAIL;
out:
	json_decref(obj);
	names_free(&nm);
	return rc;
}
