/* Unit tests of the NetworkPolicy compiler: golden files (identities and
 * policies in, rules out), the Kubernetes e2e netpol cases judged by a
 * model of the datapath's decision over every pair of pods, and the
 * compiler's limits: CIDR identities running out, input order, speed. */
#include <errno.h>
#include <time.h>

#include "tests/compile_util.h"
#include "tests/tap.h"

#define GOLDEN_DIR	"tests/compile/golden"
#define E2E_DIR		"tests/compile/e2e"
#define GOLDEN_MIN	15
#define E2E_MIN		40

static int compile_world(struct world *w, struct compile_out *out,
			 struct dp_err *err)
{
	return compile_policies(w->pols, w->npols, w->ids, w->nids, w->local,
				w->nlocal, &w->opts, out, err);
}

/* --- golden files --------------------------------------------------------- */

/* A golden file is a world (compile_util.h: world_load) plus "expect":
 * "enforce" ["300 ingress", "300 egress", ...], "rules" in the text of
 * rules_text, each list compared whole after sorting; "cidrs" (absent:
 * none) likewise; "origins", optional, rules with " @ns/name.in[0]" or
 * " @host" that must be among those emitted, to pin rule ids. */

/* expect.NAME as a sorted list, or false when the file leaves it out. */
static bool expected(const json_t *expect, const char *name, const char *path,
		     struct strlist *out)
{
	const json_t *j = json_object_get(expect, name);
	char where[512];

	if (!j)
		return false;
	snprintf(where, sizeof(where), "%s: expect.%s", path, name);
	strlist_from_json(out, j, where);
	strlist_sort(out);
	return true;
}

static void golden_check(const char *path, const struct world *w,
			 const struct compile_out *out, const json_t *expect)
{
	struct strlist want = { 0 }, got = { 0 };

	if (!expected(expect, "enforce", path, &want) ||
	    !json_object_get(expect, "rules"))
		bail("%s: expect needs enforce and rules", path);
	enforce_text(out, &got);
	ok(strlist_check(&got, &want, false, "enforce"), "%s: enforce", path);
	strlist_free(&want);
	strlist_free(&got);

	expected(expect, "rules", path, &want);
	rules_text(w, out, false, &got);
	ok(strlist_check(&got, &want, false, "rule"), "%s: rules", path);
	strlist_free(&want);
	strlist_free(&got);

	for (size_t i = 0; i < out->ncidrs; i++) {
		char cidr[INET_ADDRSTRLEN + 4];

		cidr_fmt(&out->cidrs[i].cidr, cidr, sizeof(cidr));
		strlist_add(&got, "%s", cidr);
	}
	strlist_sort(&got);
	if (!expected(expect, "cidrs", path, &want))
		want = (struct strlist){ 0 };
	ok(strlist_check(&got, &want, false, "cidr"), "%s: cidrs", path);
	strlist_free(&want);
	strlist_free(&got);

	/* Rule ids: the lines given must be there with their origin. */
	if (!expected(expect, "origins", path, &want))
		return;
	rules_text(w, out, true, &got);
	ok(strlist_check(&got, &want, true, "origin"), "%s: origins", path);
	strlist_free(&want);
	strlist_free(&got);
}

static void golden_case(const char *path)
{
	json_t *doc = json_read(path);
	struct compile_out out = { 0 };
	struct dp_err err = { 0 };
	struct world w;

	world_load(&w, doc, path);
	if (is_int(compile_world(&w, &out, &err), 0, "%s: compiles", path))
		golden_check(path, &w, &out, json_object_get(doc, "expect"));
	else
		diag("%s", err.msg);
	compile_out_free(&out);
	world_free(&w);
	json_decref(doc);
}

static void test_golden(void)
{
	struct strlist files = { 0 };

	json_files(GOLDEN_DIR, &files);
	ok(files.n >= GOLDEN_MIN, "at least %d golden cases (%zu)", GOLDEN_MIN,
	   files.n);
	for (size_t i = 0; i < files.n; i++)
		golden_case(files.v[i]);
	strlist_free(&files);
}

/* --- the e2e netpol model ------------------------------------------------- */

/* Namespaces x, y, z (labelled ns=NAME) with pods a, b, c (labelled
 * pod=NAME), each serving 80 and 81 on TCP and UDP under the e2e's port
 * names. Identity of NS/POD: 301 + 10 * ns + pod. All nine are local. */
static const char *const e2e_ns[] = { "x", "y", "z" };
static const char *const e2e_pods[] = { "a", "b", "c" };
#define E2E_NNS		3
#define E2E_NPODS	3
#define E2E_NEXT_MAX	8

static __u32 e2e_id(size_t ns, size_t pod)
{
	return 301 + 10 * (__u32)ns + (__u32)pod;
}

static json_t *e2e_world_json(const json_t *policies)
{
	json_t *namespaces = json_object(), *ids = json_array();
	json_t *local = json_array();

	for (size_t n = 0; n < E2E_NNS; n++) {
		json_object_set_new(namespaces, e2e_ns[n],
				    json_pack("{ss}", "ns", e2e_ns[n]));
		for (size_t p = 0; p < E2E_NPODS; p++) {
			json_array_append_new(ids, json_pack(
				"{sIsss{ss}s[{sssssi}{sssssi}{sssssi}{sssssi}]}",
				"id", (json_int_t)e2e_id(n, p), "ns", e2e_ns[n],
				"labels", "pod", e2e_pods[p], "ports",
				"name", "serve-80-tcp", "proto", "TCP", "port", 80,
				"name", "serve-80-udp", "proto", "UDP", "port", 80,
				"name", "serve-81-tcp", "proto", "TCP", "port", 81,
				"name", "serve-81-udp", "proto", "UDP", "port", 81));
			json_array_append_new(local,
					      json_integer(e2e_id(n, p)));
		}
	}
	return json_pack("{sosososOsb}", "namespaces", namespaces,
			 "identities", ids, "local", local,
			 "policies", policies, "allow_host", 0);
}

/* A pod ("x/a") or an address outside the cluster ("10.1.2.3"), which the
 * ipcache gives the identity of its longest CIDR or else world. */
struct e2e_end {
	char name[INET_ADDRSTRLEN];
	__u32 id;
	bool pod;
};

static __u32 ipcache_lookup(const struct compile_out *out, const char *ip,
			    const char *where)
{
	struct np_cidr host = { .plen = 32 };
	const struct cmp_cidr *best = NULL;

	if (inet_pton(AF_INET, ip, &host.addr) != 1)
		bail("%s: external \"%s\" is not an IPv4 address", where, ip);
	for (size_t i = 0; i < out->ncidrs; i++)
		if (np_cidr_contains(&out->cidrs[i].cidr, &host) &&
		    (!best || out->cidrs[i].cidr.plen > best->cidr.plen))
			best = &out->cidrs[i];
	return best ? best->id : BH_ID_WORLD;
}

static size_t e2e_ends(const json_t *doc, const struct compile_out *out,
		       struct e2e_end *ends, const char *where)
{
	const json_t *ext = json_object_get(doc, "external");
	size_t n = 0, i;
	json_t *j;

	for (size_t ns = 0; ns < E2E_NNS; ns++)
		for (size_t p = 0; p < E2E_NPODS; p++) {
			snprintf(ends[n].name, sizeof(ends[n].name), "%s/%s",
				 e2e_ns[ns], e2e_pods[p]);
			ends[n].id = e2e_id(ns, p);
			ends[n++].pod = true;
		}
	if (json_array_size(ext) > E2E_NEXT_MAX)
		bail("%s: at most %d externals", where, E2E_NEXT_MAX);
	json_array_foreach(ext, i, j) {
		const char *ip = json_string_value(j);

		if (!ip || strlen(ip) >= sizeof(ends[n].name))
			bail("%s: external[%zu] must be an address", where, i);
		strcpy(ends[n].name, ip);
		ends[n].id = ipcache_lookup(out, ip, where);
		ends[n++].pod = false;
	}
	return n;
}

static __u32 enforce_of(const struct compile_out *out, __u32 id)
{
	for (size_t i = 0; i < out->nenforce; i++)
		if (out->enforce[i].id == id)
			return out->enforce[i].flags;
	return 0;
}

static bool rule_allows(const struct dp_rule *r, __u32 local, __u32 remote,
			int dir, unsigned int proto, unsigned int port)
{
	if (r->local_id != local || r->dir != dir ||
	    (r->remote_id != remote && r->remote_id != BH_POLICY_ANY_ID))
		return false;
	if (r->proto == 0)
		return true;
	if (r->proto != proto)
		return false;
	return (r->port_lo == 0 && r->port_hi == 0) ||
	       (port >= r->port_lo && port <= r->port_hi);
}

/* One end's side of the decision: open unless a policy selects it for the
 * direction, then only what some rule allows. */
static bool side_allows(const struct compile_out *out, __u32 local,
			__u32 remote, int dir, unsigned int proto,
			unsigned int port)
{
	__u32 flag = dir == BH_DIR_INGRESS ? BH_EP_F_ENFORCE_INGRESS :
					     BH_EP_F_ENFORCE_EGRESS;

	if (!(enforce_of(out, local) & flag))
		return true;
	for (size_t i = 0; i < out->nrules; i++)
		if (rule_allows(&out->rules[i], local, remote, dir, proto, port))
			return true;
	return false;
}

/* The datapath: the source's egress, then the destination's ingress;
 * addresses outside the cluster have neither. */
static bool e2e_allowed(const struct compile_out *out,
			const struct e2e_end *src, const struct e2e_end *dst,
			unsigned int proto, unsigned int port)
{
	if (src->pod && !side_allows(out, src->id, dst->id, BH_DIR_EGRESS,
				     proto, port))
		return false;
	return !dst->pod || side_allows(out, dst->id, src->id, BH_DIR_INGRESS,
					proto, port);
}

/* "*" is every end; NS/POD with either part "*" names pods; anything
 * else is an address. */
static bool pattern_match(const char *pat, const struct e2e_end *e)
{
	const char *slash = strchr(pat, '/'), *eslash = strchr(e->name, '/');

	if (strcmp(pat, "*") == 0)
		return true;
	if (!slash || !e->pod)
		return strcmp(pat, e->name) == 0;
	if (strncmp(pat, "*/", 2) != 0 &&
	    ((size_t)(slash - pat) != (size_t)(eslash - e->name) ||
	     strncmp(pat, e->name, (size_t)(slash - pat)) != 0))
		return false;
	return strcmp(slash + 1, "*") == 0 || strcmp(slash + 1, eslash + 1) == 0;
}

/* "FROM -> TO" against a pair. */
static bool pair_match(const char *pair, const struct e2e_end *src,
		       const struct e2e_end *dst, const char *where)
{
	const char *arrow = strstr(pair, " -> ");
	char from[64];

	if (!arrow || (size_t)(arrow - pair) >= sizeof(from))
		bail("%s: override \"%s\" is not \"FROM -> TO\"", where, pair);
	memcpy(from, pair, (size_t)(arrow - pair));
	from[arrow - pair] = '\0';
	return pattern_match(from, src) && pattern_match(arrow + 4, dst);
}

/* The e2e's Reachability: the default, then each override in order. */
static bool expectation(const json_t *block, const struct e2e_end *src,
			const struct e2e_end *dst, const char *where)
{
	bool want = json_is_true(json_object_get(block, "default"));
	size_t i;
	json_t *o;

	json_array_foreach(json_object_get(block, "overrides"), i, o) {
		const char *pair = json_string_value(json_array_get(o, 0));
		const json_t *v = json_array_get(o, 1);

		if (!pair || !json_is_boolean(v))
			bail("%s: overrides[%zu] must be [\"FROM -> TO\", bool]",
			     where, i);
		if (pair_match(pair, src, dst, where))
			want = json_is_true(v);
	}
	return want;
}

/* A pattern that matches no pair is a typo in the case, not a result. */
static void overrides_check(const json_t *block, const struct e2e_end *ends,
			    size_t n, const char *where)
{
	size_t i;
	json_t *o;

	json_array_foreach(json_object_get(block, "overrides"), i, o) {
		const char *pair = json_string_value(json_array_get(o, 0));
		bool hit = false;

		for (size_t s = 0; s < n && !hit && pair; s++)
			for (size_t d = 0; d < n && !hit; d++)
				hit = (ends[s].pod || ends[d].pod) &&
				      pair_match(pair, &ends[s], &ends[d], where);
		if (!hit)
			bail("%s: override \"%s\" matches no pair", where,
			     pair ? pair : "?");
	}
}

static void probe_parse(const char *s, unsigned int *proto,
			unsigned int *port, const char *where)
{
	char name[8];

	if (!s || sscanf(s, "%7[A-Z]/%u", name, port) != 2 || *port < 1 ||
	    *port > 65535)
		bail("%s: probe \"%s\" is not PROTO/PORT", where,
		     s ? s : "?");
	*proto = proto_parse(name, where);
}

/* Every pair (not address to address) for every probe of the block; the
 * pairs that differ are printed. Returns how many differ. */
static size_t e2e_block(const json_t *block, const struct compile_out *out,
			const struct e2e_end *ends, size_t n, const char *where)
{
	const json_t *probes = json_object_get(block, "probes");
	size_t wrong = 0, i;
	json_t *pj;

	if (!json_array_size(probes) ||
	    !json_is_boolean(json_object_get(block, "default")))
		bail("%s: each expect block needs probes and a default", where);
	overrides_check(block, ends, n, where);
	json_array_foreach(probes, i, pj) {
		unsigned int proto, port;

		probe_parse(json_string_value(pj), &proto, &port, where);
		for (size_t s = 0; s < n; s++)
			for (size_t d = 0; d < n; d++) {
				bool want, got;

				if (!ends[s].pod && !ends[d].pod)
					continue;
				want = expectation(block, &ends[s], &ends[d], where);
				got = e2e_allowed(out, &ends[s], &ends[d], proto, port);
				if (want == got)
					continue;
				if (wrong++ < 24)
					printf("#   %s -> %s %s: expected %s, got %s\n",
					       ends[s].name, ends[d].name,
					       json_string_value(pj),
					       want ? "allow" : "deny",
					       got ? "allow" : "deny");
			}
	}
	return wrong;
}

static void e2e_case(const char *path)
{
	json_t *doc = json_read(path);
	const char *name = json_string_value(json_object_get(doc, "name"));
	const json_t *expect = json_object_get(doc, "expect");
	const json_t *pols = json_object_get(doc, "policies");
	json_t *wdoc;
	struct e2e_end ends[E2E_NNS * E2E_NPODS + E2E_NEXT_MAX];
	struct compile_out out = { 0 };
	struct dp_err err = { 0 };
	size_t wrong = 0, n, i;
	struct world w;
	json_t *block;

	if (!name || !json_is_array(pols) || !json_array_size(expect))
		bail("%s: needs a name, policies and expect blocks", path);
	wdoc = e2e_world_json(pols);
	world_load(&w, wdoc, path);
	if (!is_int(compile_world(&w, &out, &err), 0, "%s: compiles", path)) {
		diag("%s", err.msg);
		goto out;
	}
	n = e2e_ends(doc, &out, ends, path);
	json_array_foreach(expect, i, block)
		wrong += e2e_block(block, &out, ends, n, path);
	ok(wrong == 0, "e2e %s (%zu pairs differ)", name, wrong);
out:
	compile_out_free(&out);
	world_free(&w);
	json_decref(wdoc);
	json_decref(doc);
}

static void test_e2e(void)
{
	struct strlist files = { 0 };

	json_files(E2E_DIR, &files);
	ok(files.n >= E2E_MIN, "at least %d e2e cases (%zu)", E2E_MIN, files.n);
	for (size_t i = 0; i < files.n; i++)
		e2e_case(files.v[i]);
	strlist_free(&files);
}

/* --- limits --------------------------------------------------------------- */

static json_t *policy_json(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	if (!j)
		bail("policy in test: %s", jerr.text);
	return j;
}

/* Out of CIDR identities: the compile fails, naming the prefix, rather
 * than emit a rule wider than the policy. */
static void test_cidr_ids_run_out(void)
{
	json_t *pols = json_pack("[o]", policy_json(
		"{\"metadata\":{\"name\":\"p\",\"namespace\":\"x\"},"
		"\"spec\":{\"podSelector\":{},\"egress\":[{\"to\":[{\"ipBlock\":"
		"{\"cidr\":\"10.0.0.0/8\",\"except\":[\"10.1.0.0/16\"]}}]}]}}"));
	json_t *doc = e2e_world_json(pols);
	struct compile_out out = { 0 };
	struct dp_err err = { 0 };
	struct world w;

	world_load(&w, doc, "cidr ids");
	w.alloc.limit = 1;
	is_int(compile_world(&w, &out, &err), -ENOSPC,
	       "no CIDR identity left: -ENOSPC");
	is_str(err.msg, "compile policies: no CIDR identity left for 10.1.0.0/16",
	       "the error names the prefix");
	ok(!out.rules && !out.enforce && !out.cidrs && !out.nrules,
	   "nothing is returned on failure");
	world_free(&w);
	json_decref(doc);
	json_decref(pols);
}

/* Locals the compiler knows no labels for, reserved or unlisted, are
 * selected by nothing: reported, not enforced. */
static void test_unknown_locals(void)
{
	json_t *pols = json_pack("[o]", policy_json(
		"{\"metadata\":{\"name\":\"deny\",\"namespace\":\"x\"},"
		"\"spec\":{\"podSelector\":{},\"policyTypes\":[\"Ingress\",\"Egress\"]}}"));
	json_t *doc = e2e_world_json(pols);
	const __u32 local[] = { 999, BH_ID_HOST, 301 };
	struct compile_out out = { 0 };
	struct dp_err err = { 0 };
	struct world w;

	world_load(&w, doc, "unknown locals");
	is_int(compile_policies(w.pols, w.npols, w.ids, w.nids, local, 3,
				&w.opts, &out, &err), 0, "unknown locals compile");
	is_int(out.nenforce, 3, "one enforcement per local");
	ok(out.enforce[0].id == 999 && out.enforce[0].flags == 0,
	   "unlisted identity: not enforced");
	ok(out.enforce[1].id == BH_ID_HOST && out.enforce[1].flags == 0,
	   "reserved identity: not enforced");
	is_int(out.enforce[2].flags,
	       BH_EP_F_ENFORCE_INGRESS | BH_EP_F_ENFORCE_EGRESS,
	       "the pod identity is enforced both ways");
	is_int(out.nrules, 0, "deny all: no rules");
	compile_out_free(&out);
	world_free(&w);
	json_decref(doc);
	json_decref(pols);
}

/* Both non-empty: memcmp wants real pointers. */
static bool outs_equal(const struct compile_out *a, const struct compile_out *b)
{
	return a->nrules && a->ncidrs && a->nenforce &&
	       a->nrules == b->nrules && a->ncidrs == b->ncidrs &&
	       a->nenforce == b->nenforce &&
	       memcmp(a->rules, b->rules, a->nrules * sizeof(*a->rules)) == 0 &&
	       memcmp(a->cidrs, b->cidrs, a->ncidrs * sizeof(*a->cidrs)) == 0 &&
	       memcmp(a->enforce, b->enforce,
		      a->nenforce * sizeof(*a->enforce)) == 0;
}

static void reverse(void *base, size_t n, size_t sz)
{
	char tmp[1024];

	if (sz > sizeof(tmp))
		bail("reverse: element too large");
	for (size_t i = 0; i < n / 2; i++) {
		char *a = (char *)base + i * sz, *b = (char *)base + (n - 1 - i) * sz;

		memcpy(tmp, a, sz);
		memcpy(a, b, sz);
		memcpy(b, tmp, sz);
	}
}

/* Same policies and identities in another order: the same output, byte
 * for byte (rule ids come from policy ids, not positions). */
static void test_input_order(void)
{
	json_t *doc = json_read(GOLDEN_DIR "/union-of-policies.json");
	struct compile_out a = { 0 }, b = { 0 };
	struct dp_err err = { 0 };
	struct world w;

	world_load(&w, doc, "input order");
	is_int(compile_world(&w, &a, &err), 0, "first order compiles");
	reverse(w.ids, w.nids, sizeof(*w.ids));
	reverse(w.pols, w.npols, sizeof(*w.pols));
	is_int(compile_world(&w, &b, &err), 0, "reversed order compiles");
	ok(outs_equal(&a, &b),
	   "reversed identities and policies: the same output");
	compile_out_free(&a);
	compile_out_free(&b);
	world_free(&w);
	json_decref(doc);
}

/* --- speed ---------------------------------------------------------------- */

#define PERF_NS		50
#define PERF_APPS	20	/* identities per namespace: 1,000 */
#define PERF_POLS	10	/* per namespace: 500 */
#define PERF_LOCAL	100

/* A mix like a real cluster's: per-app ingress from the same namespace
 * and from labelled namespaces with named ports, egress to apps of other
 * namespaces and to address blocks. */
static json_t *perf_policy(size_t ns, size_t k)
{
	char name[32], nsname[16], app[16], peer_app[16], peer_ns[16];
	char cidr[32], except[32];
	size_t net = (ns * PERF_POLS + k) % 200;
	/* The last policy of each namespace selects half its pods. */
	const char *sel_key = k == PERF_POLS - 1 ? "tier" : "app";
	const char *sel_val = k == PERF_POLS - 1 ? "db" : app;

	snprintf(name, sizeof(name), "p%zu", k);
	snprintf(nsname, sizeof(nsname), "ns%zu", ns);
	snprintf(app, sizeof(app), "app%zu", 2 * k % PERF_APPS);
	snprintf(peer_app, sizeof(peer_app), "app%zu", (k + 1) % PERF_APPS);
	snprintf(peer_ns, sizeof(peer_ns), "team%zu", (ns + k) % 5);
	snprintf(cidr, sizeof(cidr), "10.%zu.0.0/16", net);
	snprintf(except, sizeof(except), "10.%zu.1.0/24", net);
	return json_pack(
		"{s{ssss}s{s{s{ss}}s[{s[{s{s{ss}}}{s{s{ss}}s{s{ss}}}]s[{ss}{sssi}]}]"
		"s[{s[{s{s[{sssss[ss]}]}}{s{sss[s]}}]s[{sssisi}]}]}}",
		"metadata", "name", name, "namespace", nsname,
		"spec", "podSelector", "matchLabels", sel_key, sel_val,
		"ingress", "from",
		"podSelector", "matchLabels", "app", peer_app,
		"namespaceSelector", "matchLabels", "team", peer_ns,
		"podSelector", "matchLabels", "app", app,
		"ports", "port", "http", "protocol", "TCP", "port", 9090,
		"egress", "to",
		"namespaceSelector", "matchExpressions", "key", "team",
		"operator", "In", "values", peer_ns, "team0",
		"ipBlock", "cidr", cidr, "except", except,
		"ports", "protocol", "TCP", "port", 8000, "endPort", 8100);
}

static json_t *perf_world(void)
{
	json_t *namespaces = json_object(), *ids = json_array();
	json_t *local = json_array(), *pols = json_array();
	char nsname[16], team[16], app[16];

	for (size_t n = 0; n < PERF_NS; n++) {
		snprintf(nsname, sizeof(nsname), "ns%zu", n);
		snprintf(team, sizeof(team), "team%zu", n % 5);
		json_object_set_new(namespaces, nsname,
				    json_pack("{ss}", "team", team));
		for (size_t a = 0; a < PERF_APPS; a++) {
			json_int_t id = 1000 + (json_int_t)(n * PERF_APPS + a);

			snprintf(app, sizeof(app), "app%zu", a);
			json_array_append_new(ids, json_pack(
				"{sIsss{ssss}s[{sssssi}]}", "id", id, "ns", nsname,
				"labels", "app", app, "tier", a % 2 ? "web" : "db",
				"ports", "name", "http", "proto", "TCP", "port", 8080));
			if ((n * PERF_APPS + a) % 10 == 0)
				json_array_append_new(local, json_integer(id));
		}
		for (size_t k = 0; k < PERF_POLS; k++)
			json_array_append_new(pols, perf_policy(n, k));
	}
	return json_pack("{sosososo}", "namespaces", namespaces,
			 "identities", ids, "local", local, "policies", pols);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 1,000 identities, 500 policies, 100 locals: a few ms on a quiet machine.
 * The bound leaves room for a loaded one and for ASan; the best of five
 * runs is measured. */
static void test_speed(void)
{
	json_t *doc = perf_world();
	double best = 1e9;
	size_t nrules = 0;
	struct world w;

	world_load(&w, doc, "speed");
	is_int(w.nids * 10 + w.npols * 100 + w.nlocal, 10000 + 50000 + 100,
	       "speed world: 1000 identities, 500 policies, 100 locals");
	for (int run = 0; run < 5; run++) {
		struct compile_out out = { 0 };
		struct dp_err err = { 0 };
		double t0 = now_ms(), dt;

		if (compile_world(&w, &out, &err) < 0)
			bail("speed: %s", err.msg);
		dt = now_ms() - t0;
		best = dt < best ? dt : best;
		nrules = out.nrules;
		compile_out_free(&out);
	}
	diag("speed: %zu rules, best of 5 runs %.2f ms", nrules, best);
	ok(nrules > 1000, "speed world yields many rules (%zu)", nrules);
	ok(best < 150, "compiles in under 150 ms (%.2f ms)", best);
	world_free(&w);
	json_decref(doc);
}

int main(void)
{
	test_golden();
	test_e2e();
	test_cidr_ids_run_out();
	test_unknown_locals();
	test_input_order();
	test_speed();
	return done_testing();
}
