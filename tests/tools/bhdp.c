/* bhdp: the tests' and the demo's hands on one node's datapath until
 * bulkhead-ctl exists: load it, unload it, read and write its pinned maps.
 * Exit status: 0 done, 1 it failed, 2 the command line was wrong. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bulkhead/pin.h"
#include "datapath/format.h"
#include "datapath/loader.h"
#include "datapath/maps.h"
#include "datapath/names.h"
#include "datapath/policy_map.h"

#define EXIT_USAGE 2

struct ctx {
	const char *root;
	struct dp_maps m;
	bool open;
};

/* --- messages ------------------------------------------------------------ */

static int vreport(int status, const char *fmt, va_list ap)
{
	fputs("bhdp: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return status;
}

/* Something went wrong doing the work: exit 1. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vreport(EXIT_FAILURE, fmt, ap);
	va_end(ap);
	return rc;
}

/* The command line was wrong: exit 2. */
static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vreport(EXIT_USAGE, fmt, ap);
	va_end(ap);
	return rc;
}

/* A library failure, in the library's words when it left some. */
static int fail_dp(const struct dp_err *err, int rc, const char *what)
{
	if (err->msg[0])
		return fail("%s", err->msg);
	return fail("%s: %s", what, strerror(-rc));
}

static const char usage_text[] =
	"usage: bhdp ROOT COMMAND [ARGS...]   (ROOT: a bpffs directory, e.g. /sys/fs/bpf/bulkhead)\n"
	"  load | unload | attach-overlay IFNAME  (in the caller's network namespace)\n"
	"  ep-set IP [id=N] [flags=egress,ingress,audit|none]\n"
	"  ep-get IP | ep-list\n"
	"  ipcache-set CIDR id=N [tunnel=IP] | ipcache-del CIDR | ipcache-list\n"
	"  tunnel-set NODE_IP | tunnel-del NODE_IP | tunnel-list\n"
	"  rule-add dir=egress|ingress local=N remote=N|any proto=tcp|udp|sctp|icmp|any\n"
	"           [port=P|P-Q] [action=allow|deny] [rule=N]\n"
	"  rule-del (the same arguments) | rule-flush | policy-list\n"
	"  config [audit=on|off] [trace=on|off] [sample=N] [rate=N] [burst=N]\n"
	"         [tunnel=IFINDEX] [node=IP]  (the VXLAN device; 0: no overlay)\n"
	"         [version=N]  (a fingerprint other than the build's: the next\n"
	"                       load replaces the programs, as an upgrade does)\n"
	"  rev-bump\n"
	"  counters | budget\n"
	"  ct-list | ct-purge IP | ct-count\n"
	"  events [--count N] [--timeout-ms T]\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

/* --- parsing words ------------------------------------------------------- */

/* A decimal number from 0 to max, nothing else around it. */
static int parse_num(const char *what, const char *s, unsigned long long max,
		     unsigned long long *out)
{
	char *end;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		goto bad;
	*out = strtoull(s, &end, 10);
	if (errno || *end || *out > max)
		goto bad;
	return 0;
bad:
	return bad("%s: '%s' is not a number from 0 to %llu", what, s, max);
}

static int parse_u32(const char *what, const char *s, __u32 *out)
{
	unsigned long long v;
	int rc = parse_num(what, s, UINT32_MAX, &v);

	if (rc == 0)
		*out = (__u32)v;
	return rc;
}

static int parse_ip(const char *what, const char *s, __be32 *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return bad("%s: '%s' is not an IPv4 address", what, s);
	*out = a.s_addr;
	return 0;
}

/* "10.1.0.0/16", or a bare address for its /32. Host bits must be clear,
 * so that what is written is what was meant. */
static int parse_cidr(const char *s, __be32 *ip, unsigned int *plen)
{
	char addr[INET_ADDRSTRLEN], fixed[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	unsigned long long len = 32;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	__u32 mask;

	if (alen >= sizeof(addr))
		return bad("CIDR: '%s' is not an IPv4 address or prefix", s);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (parse_ip("CIDR", addr, ip))
		return EXIT_USAGE;
	if (slash && parse_num("CIDR prefix length", slash + 1, 32, &len))
		return EXIT_USAGE;
	*plen = (unsigned int)len;
	mask = len ? ~0u << (32 - len) : 0;
	if ((ntohl(*ip) & ~mask) == 0)
		return 0;
	*ip &= htonl(mask);
	inet_ntop(AF_INET, ip, fixed, sizeof(fixed));
	return bad("CIDR: '%s' has host bits set (did you mean %s/%u?)", s,
		   fixed, *plen);
}

/* ARGS of the form key=value against the keys a command takes; vals[i]
 * is the value of keys[i] or NULL. */
static int parse_kv(int argc, char **argv, const char *const *keys,
		    const char **vals)
{
	for (int i = 0; keys[i]; i++)
		vals[i] = NULL;
	for (int a = 0; a < argc; a++) {
		const char *eq = strchr(argv[a], '=');
		size_t klen = eq ? (size_t)(eq - argv[a]) : 0;
		int i;

		if (!eq || klen == 0)
			return bad("expected key=value, got '%s'", argv[a]);
		for (i = 0; keys[i]; i++)
			if (strlen(keys[i]) == klen &&
			    strncmp(keys[i], argv[a], klen) == 0)
				break;
		if (!keys[i])
			return bad("unknown argument '%.*s' in '%s'", (int)klen,
				   argv[a], argv[a]);
		if (vals[i])
			return bad("'%s' given twice", keys[i]);
		vals[i] = eq + 1;
	}
	return 0;
}

static int parse_on_off(const char *what, const char *s, bool *out)
{
	if (strcmp(s, "on") == 0 || strcmp(s, "off") == 0) {
		*out = s[1] == 'n';
		return 0;
	}
	return bad("%s: '%s' is neither on nor off", what, s);
}

/* --- words -------------------------------------------------------------- */

static int parse_ep_flags(const char *s, __u32 *out)
{
	if (dp_ep_flags_parse(s, out) == 0)
		return 0;
	return bad("flags: '%s' is not a list of egress, ingress, audit, or none", s);
}

/* --- the maps ------------------------------------------------------------ */

static int open_maps(struct ctx *c)
{
	struct dp_err err = { 0 };
	int rc = dp_maps_open(c->root, &c->m, &err);

	if (rc < 0)
		return fail_dp(&err, rc, "open maps");
	c->open = true;
	return 0;
}

/* A new identity for an address or a new selection of an endpoint is a
 * policy change: connections cached under the old facts are decided
 * again, as policyd has them decided after the same writes. */
static int rev_bump(struct ctx *c)
{
	struct dp_err err = { 0 };
	int rc = dp_policy_rev_bump(&c->m, &err);

	return rc < 0 ? fail_dp(&err, rc, "bump policy revision") : 0;
}

static int cmd_load(struct ctx *c, int argc, char **argv)
{
	struct dp_load_result res = { 0 };
	struct dp_err err = { 0 };
	int rc;

	(void)argc; (void)argv;
	rc = dp_load(c->root, &res, &err);
	if (rc < 0)
		return fail_dp(&err, rc, "load");
	printf("%s\n", res.reused ? "reused" : "loaded");
	return 0;
}

static int cmd_unload(struct ctx *c, int argc, char **argv)
{
	struct dp_err err = { 0 };
	int rc;

	(void)argc; (void)argv;
	rc = dp_unload(c->root, &err);
	return rc < 0 ? fail_dp(&err, rc, "unload") : 0;
}

static int cmd_attach_overlay(struct ctx *c, int argc, char **argv)
{
	struct dp_err err = { 0 };
	unsigned int ifindex;
	int rc;

	(void)argc;
	ifindex = if_nametoindex(argv[0]);
	if (!ifindex)
		return fail("attach-overlay: no interface %s here: %s", argv[0],
			    strerror(errno));
	rc = dp_attach_overlay(c->root, (int)ifindex, &err);
	return rc < 0 ? fail_dp(&err, rc, "attach overlay") : 0;
}

/* --- endpoints ----------------------------------------------------------- */

static int endpoint_read(struct ctx *c, __be32 ip, const char *ipstr,
			 struct bh_endpoint *ep)
{
	int rc = dp_endpoint_get(&c->m, ip, ep);

	if (rc == -ENOENT)
		return fail("no endpoint %s in map %s", ipstr, BH_MAP_ENDPOINTS);
	if (rc < 0)
		return fail("read endpoint %s from map %s: %s", ipstr,
			    BH_MAP_ENDPOINTS, strerror(-rc));
	return 0;
}

static int cmd_ep_set(struct ctx *c, int argc, char **argv)
{
	static const char *const keys[] = { "id", "flags", NULL };
	const char *v[2];
	struct bh_endpoint ep, old;
	struct dp_err err = { 0 };
	__u32 id = 0, flags = 0;
	__be32 ip = 0;
	int rc;

	if (parse_ip("endpoint", argv[0], &ip) ||
	    parse_kv(argc - 1, argv + 1, keys, v) ||
	    (v[0] && parse_u32("id", v[0], &id)) ||
	    (v[1] && parse_ep_flags(v[1], &flags)))
		return EXIT_USAGE;
	if (!v[0] && !v[1])
		return bad("ep-set: nothing to set; give id=N and/or flags=...");
	if ((rc = open_maps(c)) || (rc = endpoint_read(c, ip, argv[0], &ep)))
		return rc;
	old = ep;
	if (v[0])
		ep.identity = id;
	if (v[1])
		ep.flags = flags;
	if (old.identity == ep.identity && old.flags == ep.flags)
		return 0;
	rc = dp_endpoint_put(&c->m, ip, &ep, &err);
	if (rc < 0)
		return fail_dp(&err, rc, "write endpoint");
	return rev_bump(c);
}

static int cmd_ep_get(struct ctx *c, int argc, char **argv)
{
	struct bh_endpoint ep;
	char fl[64], mac[18], hmac[18];
	__be32 ip = 0;
	int rc;

	(void)argc;
	if (parse_ip("endpoint", argv[0], &ip))
		return EXIT_USAGE;
	if ((rc = open_maps(c)) || (rc = endpoint_read(c, ip, argv[0], &ep)))
		return rc;
	printf("ifindex=%u identity=%u flags=%s mac=%s host_mac=%s\n",
	       ep.ifindex, ep.identity, dp_ep_flags_str(ep.flags, fl, sizeof(fl)),
	       dp_mac_str(ep.mac, mac, sizeof(mac)),
	       dp_mac_str(ep.host_mac, hmac, sizeof(hmac)));
	return 0;
}

struct ep_row {
	__be32 ip;
	struct bh_endpoint ep;
};

static int ep_row_cmp(const void *a, const void *b)
{
	__u32 x = ntohl(((const struct ep_row *)a)->ip);
	__u32 y = ntohl(((const struct ep_row *)b)->ip);

	return x < y ? -1 : x > y;
}

/* A hash map's walk restarts when its current key goes; bounded like
 * every walk in the library. */
static int cmd_ep_list(struct ctx *c, int argc, char **argv)
{
	struct ep_row *rows = NULL;
	struct bh_endpoint_key key, last;
	size_t n = 0, cap = 0, steps = 0;
	char a[INET_ADDRSTRLEN], fl[64];
	int rc;

	(void)argc; (void)argv;
	if ((rc = open_maps(c)))
		return rc;
	while (bpf_map_get_next_key(c->m.endpoints, steps ? &last : NULL,
				    &key) == 0) {
		last = key;
		if (++steps > 2u * BH_MAX_ENDPOINTS) {
			rc = fail("walk map %s: did not end after %u keys",
				  BH_MAP_ENDPOINTS, 2u * BH_MAX_ENDPOINTS);
			goto out;
		}
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct ep_row *p = realloc(rows, ncap * sizeof(*rows));

			if (!p) {
				rc = fail("list endpoints: out of memory");
				goto out;
			}
			rows = p;
			cap = ncap;
		}
		rows[n].ip = key.ip4;
		if (bpf_map_lookup_elem(c->m.endpoints, &key, &rows[n].ep) == 0)
			n++;
		else if (errno != ENOENT) {
			rc = fail("read map %s: %s", BH_MAP_ENDPOINTS,
				  strerror(errno));
			goto out;
		}
	}
	if (errno != ENOENT) {
		rc = fail("walk map %s: %s", BH_MAP_ENDPOINTS, strerror(errno));
		goto out;
	}
	if (n > 1)
		qsort(rows, n, sizeof(*rows), ep_row_cmp);
	for (size_t i = 0; i < n; i++)
		printf("%s %u %u %s\n", inet_ntop(AF_INET, &rows[i].ip, a, sizeof(a)),
		       rows[i].ep.ifindex, rows[i].ep.identity,
		       dp_ep_flags_str(rows[i].ep.flags, fl, sizeof(fl)));
out:
	free(rows);
	return rc;
}

/* --- ipcache ------------------------------------------------------------- */

static int cmd_ipcache_set(struct ctx *c, int argc, char **argv)
{
	static const char *const keys[] = { "id", "tunnel", NULL };
	struct bh_ipcache_value val = { 0 };
	struct dp_err err = { 0 };
	const char *v[2];
	unsigned int plen;
	__be32 ip = 0;
	int rc;

	if (parse_cidr(argv[0], &ip, &plen) ||
	    parse_kv(argc - 1, argv + 1, keys, v))
		return EXIT_USAGE;
	if (!v[0])
		return bad("ipcache-set: id=N is required");
	if (parse_u32("id", v[0], &val.identity) ||
	    (v[1] && parse_ip("tunnel", v[1], &val.tunnel_ip)))
		return EXIT_USAGE;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_ipcache_put(&c->m, ip, plen, &val, &err);
	return rc < 0 ? fail_dp(&err, rc, "write ipcache") : rev_bump(c);
}

static int cmd_ipcache_del(struct ctx *c, int argc, char **argv)
{
	struct dp_err err = { 0 };
	unsigned int plen;
	__be32 ip = 0;
	int rc;

	(void)argc;
	if (parse_cidr(argv[0], &ip, &plen))
		return EXIT_USAGE;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_ipcache_del(&c->m, ip, plen, &err);
	return rc < 0 ? fail_dp(&err, rc, "delete ipcache") : rev_bump(c);
}

static int ipcache_print(const struct bh_ipcache_key *k,
			 const struct bh_ipcache_value *v, void *arg)
{
	char a[INET_ADDRSTRLEN], t[INET_ADDRSTRLEN];

	(void)arg;
	printf("%s/%u %u %s\n", inet_ntop(AF_INET, &k->ip4, a, sizeof(a)),
	       k->prefixlen, v->identity,
	       inet_ntop(AF_INET, &v->tunnel_ip, t, sizeof(t)));
	return 0;
}

/* One line per prefix: CIDR identity tunnel (0.0.0.0: none), in the
 * trie's order. */
static int cmd_ipcache_list(struct ctx *c, int argc, char **argv)
{
	struct dp_err err = { 0 };
	int rc;

	(void)argc; (void)argv;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_ipcache_foreach(&c->m, ipcache_print, NULL, &err);
	return rc < 0 ? fail_dp(&err, rc, "list ipcache") : 0;
}

/* --- tunnel: the cluster's nodes ----------------------------------------- */

static int cmd_tunnel_set(struct ctx *c, int argc, char **argv)
{
	struct bh_tunnel_value val = { 0 };
	struct dp_err err = { 0 };
	__be32 ip = 0;
	int rc;

	(void)argc;
	if (parse_ip("node", argv[0], &ip))
		return EXIT_USAGE;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_tunnel_put(&c->m, ip, &val, &err);
	return rc < 0 ? fail_dp(&err, rc, "write tunnel") : 0;
}

static int cmd_tunnel_del(struct ctx *c, int argc, char **argv)
{
	struct dp_err err = { 0 };
	__be32 ip = 0;
	int rc;

	(void)argc;
	if (parse_ip("node", argv[0], &ip))
		return EXIT_USAGE;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_tunnel_del(&c->m, ip, &err);
	return rc < 0 ? fail_dp(&err, rc, "delete tunnel") : 0;
}

static int tunnel_print(__be32 node_ip, const struct bh_tunnel_value *v,
			void *arg)
{
	char a[INET_ADDRSTRLEN];

	(void)arg;
	printf("%s flags=0x%x\n", inet_ntop(AF_INET, &node_ip, a, sizeof(a)),
	       v->flags);
	return 0;
}

/* One line per node: address flags=0x.. (in the map's order). */
static int cmd_tunnel_list(struct ctx *c, int argc, char **argv)
{
	struct dp_err err = { 0 };
	int rc;

	(void)argc; (void)argv;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_tunnel_foreach(&c->m, tunnel_print, NULL, &err);
	return rc < 0 ? fail_dp(&err, rc, "list tunnel") : 0;
}

/* --- policy -------------------------------------------------------------- */

/* P, P-Q or any; ports 1..65535 (the rule check covers the rest). */
static int parse_ports(const char *s, struct dp_rule *r)
{
	char lo[8];
	const char *dash = strchr(s, '-');
	size_t n = dash ? (size_t)(dash - s) : strlen(s);
	unsigned long long a, b;

	if (strcmp(s, "any") == 0)
		return 0;
	if (n >= sizeof(lo))
		return bad("port: '%s' is not P or P-Q with ports 1 to 65535", s);
	memcpy(lo, s, n);
	lo[n] = '\0';
	if (parse_num("port", lo, 65535, &a) ||
	    (dash && parse_num("port range end", dash + 1, 65535, &b)))
		return EXIT_USAGE;
	if (a == 0 || (dash && b == 0))
		return bad("port: '%s': ports start at 1 (leave port out for any)", s);
	r->port_lo = (__u16)a;
	r->port_hi = (__u16)(dash ? b : a);
	return 0;
}

static int parse_rule(int argc, char **argv, struct dp_rule *r)
{
	static const char *const keys[] = {
		"dir", "local", "remote", "proto", "port", "action", "rule", NULL
	};
	enum { DIR, LOCAL, REMOTE, PROTO, PORT, ACTION, RULE };
	const char *v[7];
	int d, p;

	memset(r, 0, sizeof(*r));
	if (parse_kv(argc, argv, keys, v))
		return EXIT_USAGE;
	for (int i = DIR; i <= PROTO; i++)
		if (!v[i])
			return bad("%s=... is required", keys[i]);
	if ((d = dp_dir_parse(v[DIR])) < 0)
		return bad("dir: '%s' is neither egress nor ingress", v[DIR]);
	r->dir = (__u8)d;
	if ((p = dp_proto_parse(v[PROTO])) < 0)
		return bad("proto: '%s' is not tcp, udp, sctp, icmp or any", v[PROTO]);
	r->proto = (__u8)p;
	r->action = BH_POLICY_ALLOW;
	if (v[ACTION] && strcmp(v[ACTION], "deny") == 0)
		r->action = BH_POLICY_DENY;
	else if (v[ACTION] && strcmp(v[ACTION], "allow") != 0)
		return bad("action: '%s' is neither allow nor deny", v[ACTION]);
	if (parse_u32("local", v[LOCAL], &r->local_id) ||
	    (strcmp(v[REMOTE], "any") != 0 &&
	     parse_u32("remote", v[REMOTE], &r->remote_id)) ||
	    (v[PORT] && parse_ports(v[PORT], r)) ||
	    (v[RULE] && parse_u32("rule", v[RULE], &r->rule_id)))
		return EXIT_USAGE;
	return 0;
}

/* Turns projected denies back into the allows they were written as, so
 * the rule they came from can be found and resolve starts from rules. */
static void unproject(struct dp_policy_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!(e[i].val.flags & BH_POLICY_F_PROJECTED))
			continue;
		e[i].val.action = BH_POLICY_ALLOW;
		e[i].val.flags = 0;
	}
}

static bool key_eq(const struct bh_policy_key *a, const struct bh_policy_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Drops the entries of the rule's keys that carry its rule id; returns
 * how many went. */
static size_t remove_rule(struct dp_policy_entry *e, size_t *n,
			  const struct dp_policy_entry *r, int nr)
{
	size_t out = 0, removed = 0;

	for (size_t i = 0; i < *n; i++) {
		bool hit = false;

		for (int j = 0; j < nr && !hit; j++)
			hit = key_eq(&e[i].key, &r[j].key) &&
			      e[i].val.rule_id == r[j].val.rule_id;
		if (hit)
			removed++;
		else
			e[out++] = e[i];
	}
	*n = out;
	return removed;
}

/* rule-add and rule-del: the map is the only record, so read it, change
 * it as rules, resolve deny precedence again and write the difference. */
static int rule_change(struct ctx *c, int argc, char **argv, bool add)
{
	struct dp_policy_entry r[DP_RULE_MAX_ENTRIES], *e = NULL;
	struct dp_rule rule;
	struct dp_err err = { 0 };
	size_t n = 0;
	int nr, rc;

	if (parse_rule(argc, argv, &rule))
		return EXIT_USAGE;
	nr = dp_rule_expand(&rule, r, &err);
	if (nr < 0)
		return bad("%s", err.msg);
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_policy_read(&c->m, &e, &n, &err);
	if (rc < 0)
		return fail_dp(&err, rc, "read policy");
	unproject(e, n);
	if (add) {
		struct dp_policy_entry *p = realloc(e, (n + (size_t)nr) * sizeof(*e));

		if (!p) {
			rc = fail("rule-add: out of memory for %zu entries", n + (size_t)nr);
			goto out;
		}
		e = p;
		memcpy(e + n, r, (size_t)nr * sizeof(*r));
		n += (size_t)nr;
	} else if (remove_rule(e, &n, r, nr) == 0) {
		rc = fail("rule-del: no entry of rule %u matches those arguments",
			  rule.rule_id);
		goto out;
	}
	n = dp_policy_resolve(e, n);
	rc = dp_policy_sync(&c->m, e, n, NULL, &err);
	if (rc < 0)
		rc = fail_dp(&err, rc, "write policy");
out:
	free(e);
	return rc;
}

static int cmd_rule_add(struct ctx *c, int argc, char **argv)
{
	return rule_change(c, argc, argv, true);
}

static int cmd_rule_del(struct ctx *c, int argc, char **argv)
{
	return rule_change(c, argc, argv, false);
}

static int cmd_rule_flush(struct ctx *c, int argc, char **argv)
{
	struct dp_err err = { 0 };
	int rc;

	(void)argc; (void)argv;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_policy_sync(&c->m, NULL, 0, NULL, &err);
	return rc < 0 ? fail_dp(&err, rc, "flush policy") : 0;
}

/* "any", "80", or "1024/6" for the 1024 ports from 1024. */
static const char *port_str(const struct bh_policy_key *k, char *buf, size_t len)
{
	if (k->prefixlen <= BH_POLICY_PLEN_ANY_PORT)
		snprintf(buf, len, "any");
	else if (k->prefixlen == BH_POLICY_PLEN_PORT)
		snprintf(buf, len, "%u", ntohs(k->dport));
	else
		snprintf(buf, len, "%u/%u", ntohs(k->dport),
			 k->prefixlen - BH_POLICY_PLEN_ANY_PORT);
	return buf;
}

static const char *action_str(const struct bh_policy_value *v)
{
	if (v->action == BH_POLICY_ALLOW)
		return "allow";
	if (v->action != BH_POLICY_DENY)
		return "unknown";
	return v->flags & BH_POLICY_F_PROJECTED ? "deny-projected" : "deny";
}

/* One line per entry: local remote dir proto port/prefix action rule
 * packets, in key order. */
static int cmd_policy_list(struct ctx *c, int argc, char **argv)
{
	struct dp_policy_entry *e = NULL;
	struct dp_err err = { 0 };
	size_t n = 0;
	int rc;

	(void)argc; (void)argv;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_policy_read(&c->m, &e, &n, &err);
	if (rc < 0)
		return fail_dp(&err, rc, "read policy");
	for (size_t i = 0; i < n; i++) {
		const struct bh_policy_key *k = &e[i].key;
		char rem[16], dir[16], proto[16], port[24];

		snprintf(rem, sizeof(rem), "%u", k->remote_id);
		printf("%u %s %s %s %s %s %u %llu\n", k->local_id,
		       k->remote_id == BH_POLICY_ANY_ID ? "any" : rem,
		       dp_word(dp_dir_name(k->dir), k->dir, dir, sizeof(dir)),
		       k->prefixlen < BH_POLICY_PLEN_ANY_PORT ? "any" :
		       dp_word(dp_proto_name(k->proto), k->proto, proto, sizeof(proto)),
		       port_str(k, port, sizeof(port)), action_str(&e[i].val),
		       e[i].val.rule_id, (unsigned long long)e[i].val.packets);
	}
	free(e);
	return 0;
}

/* --- config -------------------------------------------------------------- */

static void config_print(const struct bh_config *cfg)
{
	char node[INET_ADDRSTRLEN];

	printf("flags=0x%x\n", cfg->flags);
	printf("loaded=%s\n", cfg->flags & BH_CFG_F_LOADED ? "yes" : "no");
	printf("audit=%s\n", cfg->flags & BH_CFG_F_AUDIT ? "on" : "off");
	printf("trace=%s\n", cfg->flags & BH_CFG_F_TRACE ? "on" : "off");
	printf("policy_rev=%u\n", cfg->policy_rev);
	printf("sample=%u\n", cfg->allow_sample);
	printf("rate=%u\n", cfg->events_per_sec);
	printf("burst=%u\n", cfg->events_burst);
	printf("ct_tcp_syn_s=%u\n", cfg->ct_tcp_syn_s);
	printf("ct_tcp_est_s=%u\n", cfg->ct_tcp_est_s);
	printf("ct_tcp_close_s=%u\n", cfg->ct_tcp_close_s);
	printf("ct_udp_s=%u\n", cfg->ct_udp_s);
	printf("ct_other_s=%u\n", cfg->ct_other_s);
	printf("datapath_version=%u\n", cfg->datapath_version);
	printf("tunnel_ifindex=%u\n", cfg->tunnel_ifindex);
	printf("node_ip=%s\n", inet_ntop(AF_INET, &cfg->node_ip, node, sizeof(node)));
}

static void set_flag(__u32 *flags, __u32 bit, bool on)
{
	*flags = on ? *flags | bit : *flags & ~bit;
}

static int cmd_config(struct ctx *c, int argc, char **argv)
{
	static const char *const keys[] = {
		"audit", "trace", "sample", "rate", "burst", "version",
		"tunnel", "node", NULL
	};
	enum { AUDIT, TRACE, SAMPLE, RATE, BURST, VERSION, TUNNEL, NODE };
	struct dp_err err = { 0 };
	struct bh_config cfg;
	const char *v[8];
	bool audit = false, trace = false;
	__u32 sample = 0, rate = 0, burst = 0, version = 0, tunnel = 0, old_flags;
	__be32 node = 0;
	int rc;

	if (parse_kv(argc, argv, keys, v) ||
	    (v[AUDIT] && parse_on_off("audit", v[AUDIT], &audit)) ||
	    (v[TRACE] && parse_on_off("trace", v[TRACE], &trace)) ||
	    (v[SAMPLE] && parse_u32("sample", v[SAMPLE], &sample)) ||
	    (v[RATE] && parse_u32("rate", v[RATE], &rate)) ||
	    (v[BURST] && parse_u32("burst", v[BURST], &burst)) ||
	    (v[VERSION] && parse_u32("version", v[VERSION], &version)) ||
	    (v[TUNNEL] && parse_u32("tunnel", v[TUNNEL], &tunnel)) ||
	    (v[NODE] && parse_ip("node", v[NODE], &node)))
		return EXIT_USAGE;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_config_get(&c->m, &cfg, &err);
	if (rc < 0)
		return fail_dp(&err, rc, "read config");
	if (argc == 0) {
		config_print(&cfg);
		return 0;
	}
	old_flags = cfg.flags;
	if (v[AUDIT])
		set_flag(&cfg.flags, BH_CFG_F_AUDIT, audit);
	if (v[TRACE])
		set_flag(&cfg.flags, BH_CFG_F_TRACE, trace);
	if (v[SAMPLE])
		cfg.allow_sample = sample;
	if (v[RATE])
		cfg.events_per_sec = rate;
	if (v[BURST])
		cfg.events_burst = burst;
	if (v[VERSION])
		cfg.datapath_version = version;
	if (v[TUNNEL])
		cfg.tunnel_ifindex = tunnel;
	if (v[NODE])
		cfg.node_ip = node;
	/* Connections passed by audit mode are cached as passed; leaving the
	 * mode must have them decided again, as a policy change does. */
	if ((old_flags ^ cfg.flags) & BH_CFG_F_AUDIT)
		cfg.policy_rev++;
	rc = dp_config_put(&c->m, &cfg, &err);
	return rc < 0 ? fail_dp(&err, rc, "write config") : 0;
}

static int cmd_rev_bump(struct ctx *c, int argc, char **argv)
{
	int rc;

	(void)argc; (void)argv;
	if ((rc = open_maps(c)))
		return rc;
	return rev_bump(c);
}

/* --- counters and budget ------------------------------------------------- */

static int cmd_counters(struct ctx *c, int argc, char **argv)
{
	static struct bh_counter cnt[BH_MAX_COUNTERS];
	struct dp_err err = { 0 };
	char b1[16], b2[16], b3[16];
	int rc;

	(void)argc; (void)argv;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_counters_read(&c->m, cnt, &err);
	if (rc < 0)
		return fail_dp(&err, rc, "read counters");
	for (unsigned int v = 0; v < BH_VERDICT_MAX; v++)
		for (unsigned int r = 0; r < BH_REASON_MAX; r++)
			for (unsigned int d = 0; d < BH_DIR_MAX; d++) {
				const struct bh_counter *x =
					&cnt[BH_COUNTER_INDEX(v, r, d)];

				if (!x->packets && !x->bytes)
					continue;
				printf("%s %s %s %llu %llu\n",
				       dp_word(dp_verdict_name(v), v, b1, sizeof(b1)),
				       dp_word(dp_reason_name(r), r, b2, sizeof(b2)),
				       dp_word(dp_dir_name(d), d, b3, sizeof(b3)),
				       (unsigned long long)x->packets,
				       (unsigned long long)x->bytes);
			}
	return 0;
}

static int cmd_budget(struct ctx *c, int argc, char **argv)
{
	struct bh_event_budget b;
	struct dp_err err = { 0 };
	int rc;

	(void)argc; (void)argv;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_event_budget_read(&c->m, &b, &err);
	if (rc < 0)
		return fail_dp(&err, rc, "read event budget");
	printf("emitted=%llu\nsuppressed=%llu\nlost=%llu\ntokens=%llu\nlast_ns=%llu\n",
	       (unsigned long long)b.emitted, (unsigned long long)b.suppressed,
	       (unsigned long long)b.lost, (unsigned long long)b.tokens,
	       (unsigned long long)b.last_ns);
	return 0;
}

/* --- conntrack ----------------------------------------------------------- */

static const char *ct_state_str(unsigned int s, char *buf, size_t len)
{
	return dp_word(dp_ct_state_name(s), s, buf, len);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* proto a:port b:port orig=a|b state rev src_id dst_id rule packets0
 * packets1 expires_in_s (negative: expired, not yet reaped). */
static int ct_print(const struct bh_ct_key *k, const struct bh_ct_value *v,
		    void *arg)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], p[16], s[16];
	int64_t left = (int64_t)v->expires_ns - *(const int64_t *)arg;

	printf("%s %s:%u %s:%u orig=%c %s %u %u %u %u %llu %llu %lld\n",
	       dp_word(dp_proto_name(k->proto), k->proto, p, sizeof(p)),
	       inet_ntop(AF_INET, &k->addr_a, a, sizeof(a)), ntohs(k->port_a),
	       inet_ntop(AF_INET, &k->addr_b, b, sizeof(b)), ntohs(k->port_b),
	       v->flags & BH_CT_F_ORIG_A ? 'a' : 'b',
	       ct_state_str(v->state, s, sizeof(s)), v->policy_rev, v->src_id,
	       v->dst_id, v->rule_id, (unsigned long long)v->packets[0],
	       (unsigned long long)v->packets[1],
	       (long long)(left / 1000000000));
	return 0;
}

static int ct_counter(const struct bh_ct_key *k, const struct bh_ct_value *v,
		      void *arg)
{
	(void)k; (void)v;
	++*(unsigned long *)arg;
	return 0;
}

static int cmd_ct_list(struct ctx *c, int argc, char **argv)
{
	struct dp_err err = { 0 };
	int64_t now;
	int rc;

	(void)argc; (void)argv;
	if ((rc = open_maps(c)))
		return rc;
	now = mono_ns();
	rc = dp_ct_foreach(&c->m, ct_print, &now, &err);
	return rc < 0 ? fail_dp(&err, rc, "list conntrack") : 0;
}

static int cmd_ct_count(struct ctx *c, int argc, char **argv)
{
	struct dp_err err = { 0 };
	unsigned long n = 0;
	int rc;

	(void)argc; (void)argv;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_ct_foreach(&c->m, ct_counter, &n, &err);
	if (rc < 0)
		return fail_dp(&err, rc, "count conntrack");
	printf("%lu\n", n);
	return 0;
}

static int cmd_ct_purge(struct ctx *c, int argc, char **argv)
{
	struct dp_err err = { 0 };
	unsigned int removed = 0;
	__be32 ip = 0;
	int rc;

	(void)argc;
	if (parse_ip("ct-purge", argv[0], &ip))
		return EXIT_USAGE;
	if ((rc = open_maps(c)))
		return rc;
	rc = dp_ct_purge_ip(&c->m, ip, &removed, &err);
	if (rc < 0)
		return fail_dp(&err, rc, "purge conntrack");
	printf("%u\n", removed);
	return 0;
}

/* --- events -------------------------------------------------------------- */

struct ev_state {
	unsigned long long want;	/* 0: no limit */
	unsigned long long seen;
};

/* Returned by the callback to stop the ring buffer at exactly N events,
 * leaving the rest for the next reader. */
#define EV_ENOUGH (-ECANCELED)

static volatile sig_atomic_t stop_events;

static void on_signal(int sig)
{
	(void)sig;
	stop_events = 1;
}

static void event_print(const struct bh_event *e)
{
	char sa[INET_ADDRSTRLEN], da[INET_ADDRSTRLEN];
	char d[16], v[16], r[16];

	printf("{\"ts\":%llu,\"src_id\":%u,\"dst_id\":%u,\"saddr\":\"%s\","
	       "\"daddr\":\"%s\",\"sport\":%u,\"dport\":%u,\"proto\":%u,"
	       "\"dir\":\"%s\",\"verdict\":\"%s\",\"reason\":\"%s\","
	       "\"rule\":%u,\"ifindex\":%u,\"len\":%u}\n",
	       (unsigned long long)e->ts_ns, e->src_id, e->dst_id,
	       inet_ntop(AF_INET, &e->saddr, sa, sizeof(sa)),
	       inet_ntop(AF_INET, &e->daddr, da, sizeof(da)),
	       ntohs(e->sport), ntohs(e->dport), e->proto,
	       dp_word(dp_dir_name(e->dir), e->dir, d, sizeof(d)),
	       dp_word(dp_verdict_name(e->verdict), e->verdict, v, sizeof(v)),
	       dp_word(dp_reason_name(e->reason), e->reason, r, sizeof(r)),
	       e->rule_id, e->ifindex, e->len);
	/* Tests read us through a pipe, line by line, while we run. */
	fflush(stdout);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct ev_state *st = ctx;

	if (size < sizeof(struct bh_event)) {
		fprintf(stderr, "bhdp: skipped a %zu-byte record; events are %zu bytes\n",
			size, sizeof(struct bh_event));
		return 0;
	}
	event_print(data);
	st->seen++;
	return st->want && st->seen >= st->want ? EV_ENOUGH : 0;
}

static int parse_events_args(int argc, char **argv, unsigned long long *count,
			     long long *timeout_ms)
{
	for (int i = 0; i < argc; i++) {
		unsigned long long v;
		bool is_count = strcmp(argv[i], "--count") == 0;

		if (!is_count && strcmp(argv[i], "--timeout-ms") != 0)
			return bad("events: unknown argument '%s'", argv[i]);
		if (i + 1 == argc)
			return bad("events: %s needs a number", argv[i]);
		if (parse_num(argv[i], argv[i + 1], is_count ? UINT32_MAX : INT32_MAX, &v))
			return EXIT_USAGE;
		if (is_count && v == 0)
			return bad("--count: give at least 1");
		if (is_count)
			*count = v;
		else
			*timeout_ms = (long long)v;
		i++;
	}
	return 0;
}

/* Polls until N events came, T ms passed, or a signal; in slices, so a
 * signal is seen even when no event wakes us. */
static int events_loop(struct ring_buffer *rb, struct ev_state *st,
		       long long timeout_ms)
{
	int64_t deadline = mono_ns() + timeout_ms * 1000000;

	while (!stop_events && (!st->want || st->seen < st->want)) {
		long long left = 1000;
		int rc;

		if (timeout_ms >= 0) {
			left = (deadline - mono_ns()) / 1000000;
			if (left <= 0)
				break;
			if (left > 1000)
				left = 1000;
		}
		rc = ring_buffer__poll(rb, (int)left);
		if (rc == EV_ENOUGH)
			break;
		if (rc < 0 && rc != -EINTR)
			return fail("read ring buffer %s: %s", BH_MAP_EVENTS,
				    strerror(-rc));
	}
	/* What is already in the ring is not lost to a deadline. */
	if (!stop_events && (!st->want || st->seen < st->want)) {
		int rc = ring_buffer__consume(rb);

		if (rc < 0 && rc != EV_ENOUGH)
			return fail("read ring buffer %s: %s", BH_MAP_EVENTS,
				    strerror(-rc));
	}
	if (st->want && st->seen < st->want)
		return fail("events: %llu of %llu arrived", st->seen, st->want);
	return 0;
}

static int cmd_events(struct ctx *c, int argc, char **argv)
{
	struct ev_state st = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct ring_buffer *rb;
	long long timeout_ms = -1;
	int rc;

	if (parse_events_args(argc, argv, &st.want, &timeout_ms))
		return EXIT_USAGE;
	if ((rc = open_maps(c)))
		return rc;
	rb = ring_buffer__new(c->m.events, on_event, &st, NULL);
	if (!rb)
		return fail("open ring buffer %s under %s: %s", BH_MAP_EVENTS,
			    c->root, strerror(errno));
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = events_loop(rb, &st, timeout_ms);
	ring_buffer__free(rb);
	return rc;
}

/* --- commands ------------------------------------------------------------ */

struct cmd {
	const char *name;
	int min_args, max_args;		/* after the command word */
	int (*run)(struct ctx *c, int argc, char **argv);
};

static const struct cmd cmds[] = {
	{ "load", 0, 0, cmd_load },
	{ "unload", 0, 0, cmd_unload },
	{ "attach-overlay", 1, 1, cmd_attach_overlay },
	{ "ep-set", 1, 3, cmd_ep_set },
	{ "ep-get", 1, 1, cmd_ep_get },
	{ "ep-list", 0, 0, cmd_ep_list },
	{ "ipcache-set", 1, 3, cmd_ipcache_set },
	{ "ipcache-del", 1, 1, cmd_ipcache_del },
	{ "ipcache-list", 0, 0, cmd_ipcache_list },
	{ "tunnel-set", 1, 1, cmd_tunnel_set },
	{ "tunnel-del", 1, 1, cmd_tunnel_del },
	{ "tunnel-list", 0, 0, cmd_tunnel_list },
	{ "rule-add", 0, 7, cmd_rule_add },
	{ "rule-del", 0, 7, cmd_rule_del },
	{ "rule-flush", 0, 0, cmd_rule_flush },
	{ "policy-list", 0, 0, cmd_policy_list },
	{ "config", 0, 8, cmd_config },
	{ "rev-bump", 0, 0, cmd_rev_bump },
	{ "counters", 0, 0, cmd_counters },
	{ "budget", 0, 0, cmd_budget },
	{ "ct-list", 0, 0, cmd_ct_list },
	{ "ct-purge", 1, 1, cmd_ct_purge },
	{ "ct-count", 0, 0, cmd_ct_count },
	{ "events", 0, 4, cmd_events },
};

int main(int argc, char **argv)
{
	struct ctx c = { .root = NULL };
	const struct cmd *cmd = NULL;
	int nargs, rc;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "--help") == 0)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 3)
		return usage();
	c.root = argv[1];
	if (c.root[0] != '/' || strlen(c.root) >= PATH_MAX / 2)
		return bad("ROOT '%s' is not an absolute bpffs directory path", c.root);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[2], cmds[i].name) == 0)
			cmd = &cmds[i];
	if (!cmd) {
		bad("unknown command '%s'", argv[2]);
		return usage();
	}
	nargs = argc - 3;
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		if (cmd->max_args == 0)
			bad("%s takes no arguments, got %d", cmd->name, nargs);
		else if (cmd->min_args == cmd->max_args)
			bad("%s takes %d argument(s), got %d", cmd->name,
			    cmd->max_args, nargs);
		else
			bad("%s takes %d to %d arguments, got %d", cmd->name,
			    cmd->min_args, cmd->max_args, nargs);
		return usage();
	}
	rc = cmd->run(&c, nargs, argv + 3);
	if (c.open)
		dp_maps_close(&c.m);
	if (fflush(stdout) != 0 && rc == 0)
		rc = fail("write output: %s", strerror(errno));
	return rc;
}
