/* Unit tests of the NetworkPolicy parser: objects that are skipped, the
 * API server's defaulting, empty against absent, every rejected part with
 * its message (always narrowing, never widening), IPv6 parts on an IPv4
 * datapath, and a full policy read back field by field. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "policyd/netpol.h"
#include "tests/tap.h"

#define META "\"metadata\": {\"name\": \"p\", \"namespace\": \"ns1\"}"

static json_t *J(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (!j) {
		printf("Bail out! bad JSON in test: %s: %s\n", text, jerr.text);
		exit(255);
	}
	return j;
}

static int parse(const char *text, struct netpol *p, struct dp_err *err)
{
	json_t *j = J(text);
	int rc = netpol_parse(j, p, err);

	json_decref(j);
	return rc;
}

/* The policy ns1/p with this spec; must parse (problems allowed). */
static struct netpol with_spec(const char *spec, struct dp_err *err)
{
	struct netpol p;
	char *text;

	if (asprintf(&text, "{" META ", \"spec\": %s}", spec) < 0)
		exit(255);
	if (parse(text, &p, err) < 0) {
		printf("Bail out! policy did not parse: %s: %s\n", text, err->msg);
		exit(255);
	}
	free(text);
	return p;
}

static bool has(const struct dp_err *err, const char *want)
{
	return strstr(err->msg, want) != NULL;
}

static void is_sel(const struct selector *s, const char *want, const char *name)
{
	char *str = selector_str(s);

	is_str(str, want, "%s", name);
	free(str);
}

static const char *cidr(const struct np_cidr *c)
{
	static char buf[4][INET_ADDRSTRLEN + 4];
	static int i;
	char a[INET_ADDRSTRLEN];

	i = (i + 1) % 4;
	inet_ntop(AF_INET, &c->addr, a, sizeof(a));
	snprintf(buf[i], sizeof(buf[i]), "%s/%u", a, c->plen);
	return buf[i];
}

/* --- objects that are not policies ---------------------------------------- */

static void skipped(const char *text, const char *want)
{
	struct dp_err err = { 0 };
	struct netpol p;
	int rc = parse(text, &p, &err);

	ok(rc == -EINVAL && has(&err, want) && !p.name && !p.ns,
	   "skipped: %s", want);
	if (rc != -EINVAL || !has(&err, want))
		diag("rc %d, message: %s", rc, err.msg);
}

static void test_skipped(void)
{
	struct dp_err err = { 0 };
	struct netpol p;

	skipped("[]", "NetworkPolicy must be a JSON object");
	skipped("{\"spec\": {}}", "NetworkPolicy without metadata.name");
	skipped("{\"metadata\": {\"namespace\": \"a\"}, \"spec\": {}}",
		"NetworkPolicy without metadata.name");
	skipped("{\"metadata\": {\"name\": 1}, \"spec\": {}}", "without metadata.name");
	skipped("{\"metadata\": {\"name\": \"Allow_Web\"}, \"spec\": {}}",
		"NetworkPolicy metadata.name: DNS subdomain \"Allow_Web\"");
	skipped("{\"metadata\": {\"name\": \"p\", \"namespace\": \"Prod\"}, \"spec\": {}}",
		"NetworkPolicy p: metadata.namespace: DNS label \"Prod\"");
	skipped("{\"metadata\": {\"name\": \"p\", \"namespace\": \"a.b\"}, \"spec\": {}}",
		"metadata.namespace: DNS label \"a.b\"");
	skipped("{\"metadata\": {\"name\": \"p\", \"namespace\": 7}, \"spec\": {}}",
		"NetworkPolicy p: metadata.namespace must be a string");
	skipped("{" META "}", "NetworkPolicy ns1/p: spec must be an object");
	skipped("{" META ", \"spec\": null}", "spec must be an object");
	skipped("{" META ", \"spec\": []}", "spec must be an object");

	is_int(parse("{\"metadata\": {\"name\": \"a.b-c\"}, \"spec\": {}}", &p, &err), 0,
	       "a manifest without a namespace parses");
	is_str(p.ns, "default", "and lands in \"default\"");
	is_str(p.name, "a.b-c", "name kept");
	netpol_free(&p);
	is_int(parse("{\"metadata\": {\"name\": \"a\", \"namespace\": null}, \"spec\": {}}",
		     &p, &err), 0, "null namespace parses");
	is_str(p.ns, "default", "and lands in \"default\"");
	netpol_free(&p);
	is_int(err.code, 0, "no error recorded");
}

/* --- policyTypes ----------------------------------------------------------- */

static void types(const char *spec, bool ingress, bool egress, unsigned problems,
		  const char *name)
{
	struct dp_err err = { 0 };
	struct netpol p = with_spec(spec, &err);

	ok(p.ingress == ingress && p.egress == egress && p.nproblems == problems,
	   "%s: ingress %d egress %d problems %u", name, ingress, egress, problems);
	if (p.ingress != ingress || p.egress != egress || p.nproblems != problems)
		diag("got ingress %d egress %d problems %u: %s", p.ingress, p.egress,
		     p.nproblems, err.msg);
	netpol_free(&p);
}

static void test_types(void)
{
	struct dp_err err = { 0 };
	struct netpol p;

	types("{}", true, false, 0, "no types, no rules");
	types("{\"ingress\": [{}]}", true, false, 0, "ingress rules only");
	types("{\"egress\": [{}]}", true, true, 0, "egress rules: Egress defaulted");
	types("{\"egress\": []}", true, false, 0, "empty egress list: no Egress");
	types("{\"egress\": null}", true, false, 0, "null egress: no Egress");
	types("{\"policyTypes\": [], \"egress\": [{}]}", true, true, 0,
	      "empty policyTypes defaulted");
	types("{\"policyTypes\": null}", true, false, 0, "null policyTypes defaulted");
	types("{\"policyTypes\": [\"Egress\"]}", false, true, 0, "Egress only");
	types("{\"policyTypes\": [\"Ingress\", \"Egress\"]}", true, true, 0, "both");
	types("{\"policyTypes\": [\"Egress\", \"Egress\"]}", false, true, 0, "repeated");
	types("{\"policyTypes\": [\"Ingress\"], \"egress\": [{}]}", true, false, 0,
	      "explicit Ingress only: egress rules do not enforce Egress");
	types("{\"policyTypes\": [\"ingress\"]}", true, true, 1, "lowercase type: both");
	types("{\"policyTypes\": [\"Ingress\", 1]}", true, true, 1, "number: both");
	types("{\"policyTypes\": \"Ingress\"}", true, true, 1, "not a list: both");

	p = with_spec("{\"policyTypes\": [\"Egress\", \"Bogus\"], \"egress\": [{\"to\":"
		      " [{\"ipBlock\": {\"cidr\": \"10.0.0.0/8\"}}]}]}", &err);
	ok(p.ingress && p.egress, "unknown type: both directions enforced");
	ok(p.nin == 0 && p.neg == 1 && !p.eg[0].invalid && p.eg[0].npeers == 1,
	   "the valid rules are kept");
	is_str(err.msg, "NetworkPolicy ns1/p: spec.policyTypes[1] must be \"Ingress\" or \"Egress\"",
	       "message");
	netpol_free(&p);
	err = (struct dp_err){ 0 };
	p = with_spec("{\"policyTypes\": \"Ingress\"}", &err);
	is_str(err.msg, "NetworkPolicy ns1/p: spec.policyTypes must be an array", "message");
	netpol_free(&p);
}

/* --- empty against absent --------------------------------------------------- */

static void test_empty_absent(void)
{
	struct dp_err err = { 0 };
	struct netpol p;

	p = with_spec("{\"podSelector\": {}, \"ingress\": []}", &err);
	ok(p.ingress && p.nin == 0 && !p.in && selector_empty(&p.pod_sel) &&
	   !p.select_all_invalid, "ingress: []: selects all, allows nothing");
	netpol_free(&p);
	p = with_spec("{\"ingress\": null, \"egress\": null}", &err);
	ok(p.nin == 0 && p.neg == 0, "null rule lists: no rules");
	netpol_free(&p);
	p = with_spec("{}", &err);
	ok(selector_empty(&p.pod_sel) && !p.select_all_invalid,
	   "absent podSelector is {}, not a problem");
	netpol_free(&p);
	p = with_spec("{\"podSelector\": null}", &err);
	ok(selector_empty(&p.pod_sel) && !p.select_all_invalid && p.nproblems == 0,
	   "null podSelector is {}");
	netpol_free(&p);

	p = with_spec("{\"ingress\": [{}, {\"from\": null, \"ports\": null},"
		      " {\"from\": [], \"ports\": []}]}", &err);
	is_int(p.nin, 3, "three rules");
	for (size_t i = 0; i < p.nin; i++)
		ok(!p.in[i].invalid && p.in[i].npeers == 0 && !p.in[i].peers &&
		   p.in[i].nports == 0 && !p.in[i].ports,
		   "rule %zu: from/ports absent, null or []: every peer, every port", i);
	netpol_free(&p);

	p = with_spec("{\"egress\": [{\"to\": [{\"podSelector\": {}},"
		      " {\"namespaceSelector\": {}},"
		      " {\"podSelector\": null, \"namespaceSelector\": {\"matchLabels\": {\"a\": \"b\"}}},"
		      " {\"podSelector\": {\"matchLabels\": {\"x\": \"y\"}}, \"namespaceSelector\": {},"
		      "  \"ipBlock\": null}]}]}", &err);
	is_int(p.nproblems, 0, "four pod peers, no problems");
	ok(p.neg == 1 && p.eg[0].npeers == 4, "all kept");
	if (p.neg == 1 && p.eg[0].npeers == 4) {
		const struct np_peer *pe = p.eg[0].peers;

		ok(pe[0].kind == NP_PEER_PODS && pe[0].has_pod_sel && !pe[0].has_ns_sel &&
		   selector_empty(&pe[0].pod_sel), "podSelector {}: pods of the own namespace");
		ok(pe[1].kind == NP_PEER_PODS && !pe[1].has_pod_sel && pe[1].has_ns_sel &&
		   selector_empty(&pe[1].ns_sel), "namespaceSelector {}: every namespace");
		ok(!pe[2].has_pod_sel && pe[2].has_ns_sel, "null podSelector is absent");
		is_sel(&pe[2].ns_sel, "a=b", "its namespace selector");
		ok(pe[3].has_pod_sel && pe[3].has_ns_sel, "both selectors; null ipBlock absent");
		is_sel(&pe[3].pod_sel, "x=y", "its pod selector");
	}
	netpol_free(&p);
}

/* --- rejected parts ----------------------------------------------------------- */

/* An ingress list of one rule that must come back invalid, one problem,
 * the message naming where. */
static void rule_bad(const char *rule, const char *want)
{
	struct dp_err err = { 0 };
	struct netpol p;
	char *spec;

	if (asprintf(&spec, "{\"ingress\": [%s]}", rule) < 0)
		exit(255);
	p = with_spec(spec, &err);
	ok(p.nin == 1 && p.in[0].invalid && p.nproblems == 1 && err.code == -EINVAL &&
	   has(&err, want) && p.ingress && !p.egress,
	   "rule %s invalid: %s", rule, want);
	if (p.nin != 1 || !p.in[0].invalid || p.nproblems != 1 || !has(&err, want))
		diag("nin %zu problems %u message: %s", p.nin, p.nproblems, err.msg);
	netpol_free(&p);
	free(spec);
}

static void peer_bad(const char *peer, const char *want)
{
	char *rule;

	if (asprintf(&rule, "{\"from\": [%s]}", peer) < 0)
		exit(255);
	rule_bad(rule, want);
	free(rule);
}

static void port_bad(const char *port, const char *want)
{
	char *rule;

	if (asprintf(&rule, "{\"ports\": [%s]}", port) < 0)
		exit(255);
	rule_bad(rule, want);
	free(rule);
}

static void test_rule_errors(void)
{
	rule_bad("\"all\"", "NetworkPolicy ns1/p: spec.ingress[0] must be an object");
	rule_bad("{\"form\": []}", "NetworkPolicy ns1/p: spec.ingress[0]: unknown field \"form\"");
	rule_bad("{\"to\": []}", "spec.ingress[0]: unknown field \"to\"");
	rule_bad("{\"from\": {}}", "spec.ingress[0].from must be an array");
	rule_bad("{\"ports\": 80}", "spec.ingress[0].ports must be an array");

	peer_bad("{}", "NetworkPolicy ns1/p: spec.ingress[0].from[0]: needs podSelector, "
		 "namespaceSelector or ipBlock");
	peer_bad("{\"podSelector\": null, \"namespaceSelector\": null}", "needs podSelector");
	peer_bad("\"web\"", "spec.ingress[0].from[0] must be an object");
	peer_bad("{\"podSelectr\": {}}", "spec.ingress[0].from[0]: unknown field \"podSelectr\"");
	peer_bad("{\"podSelector\": {}, \"ipBlock\": {\"cidr\": \"10.0.0.0/8\"}}",
		 "spec.ingress[0].from[0]: ipBlock cannot be combined with a selector");
	peer_bad("{\"namespaceSelector\": {}, \"ipBlock\": {\"cidr\": \"10.0.0.0/8\"}}",
		 "ipBlock cannot be combined with a selector");
	peer_bad("{\"podSelector\": {\"matchLabels\": {\"app\": \"-\"}}}",
		 "spec.ingress[0].from[0].podSelector: label selector: matchLabels: "
		 "label value \"-\" must begin and end");
	peer_bad("{\"namespaceSelector\": {\"matchExpressions\": [{\"key\": \"a\","
		 " \"operator\": \"Exists\", \"values\": [\"x\"]}]}}",
		 "spec.ingress[0].from[0].namespaceSelector: label selector: "
		 "matchExpressions[0]: operator Exists takes no values");
	peer_bad("{\"podSelector\": {}, \"namespaceSelector\": []}",
		 "from[0].namespaceSelector: label selector must be a JSON object");
	peer_bad("{\"ipBlock\": \"10.0.0.0/8\"}", "spec.ingress[0].from[0]: ipBlock must be an object");
	peer_bad("{\"ipBlock\": {\"cidr\": \"10.0.0.0/8\", \"exept\": []}}",
		 "from[0]: ipBlock: unknown field \"exept\"");
	peer_bad("{\"ipBlock\": {}}", "from[0]: ipBlock.cidr must be a string");
	peer_bad("{\"ipBlock\": {\"cidr\": 10}}", "ipBlock.cidr must be a string");
	peer_bad("{\"ipBlock\": {\"cidr\": \"10.0.0.0\"}}",
		 "from[0]: ipBlock.cidr: \"10.0.0.0\" is not a CIDR (address/length)");
	peer_bad("{\"ipBlock\": {\"cidr\": \"10.0.0.0/33\"}}", "\"10.0.0.0/33\" is not a CIDR");
	peer_bad("{\"ipBlock\": {\"cidr\": \"10.0.0.256/8\"}}", "is not a CIDR");
	peer_bad("{\"ipBlock\": {\"cidr\": \"010.0.0.0/8\"}}", "is not a CIDR");
	peer_bad("{\"ipBlock\": {\"cidr\": \"10.0.0.0/8\", \"except\": \"10.1.0.0/16\"}}",
		 "from[0]: ipBlock.except must be an array");
	peer_bad("{\"ipBlock\": {\"cidr\": \"10.0.0.0/8\", \"except\": [\"10.1.0.0/16\", 5]}}",
		 "from[0]: ipBlock.except[1] must be a string");
	peer_bad("{\"ipBlock\": {\"cidr\": \"10.0.0.0/8\", \"except\": [\"10.1.0.0/\"]}}",
		 "from[0]: ipBlock.except[0]: \"10.1.0.0/\" is not a CIDR");
	peer_bad("{\"ipBlock\": {\"cidr\": \"10.0.0.0/8\", \"except\": [\"11.0.0.0/16\"]}}",
		 "from[0]: ipBlock.except[0] \"11.0.0.0/16\" is not strictly inside 10.0.0.0/8");
	peer_bad("{\"ipBlock\": {\"cidr\": \"10.0.0.0/8\", \"except\": [\"10.9.9.9/8\"]}}",
		 "\"10.9.9.9/8\" is not strictly inside 10.0.0.0/8");
	peer_bad("{\"ipBlock\": {\"cidr\": \"10.1.0.0/16\", \"except\": [\"10.0.0.0/8\"]}}",
		 "\"10.0.0.0/8\" is not strictly inside 10.1.0.0/16");

	port_bad("80", "spec.ingress[0].ports[0] must be an object");
	port_bad("{\"prot\": 80}", "spec.ingress[0].ports[0]: unknown field \"prot\"");
	port_bad("{\"protocol\": \"tcp\"}", "ports[0]: protocol must be TCP, UDP or SCTP");
	port_bad("{\"protocol\": \"ICMP\"}", "protocol must be TCP, UDP or SCTP");
	port_bad("{\"protocol\": 6}", "protocol must be TCP, UDP or SCTP");
	port_bad("{\"port\": 0}", "ports[0]: port 0 is not in 1..65535");
	port_bad("{\"port\": 65536}", "port 65536 is not in 1..65535");
	port_bad("{\"port\": -80}", "port -80 is not in 1..65535");
	port_bad("{\"port\": 80.5}", "ports[0]: port must be a number or a name");
	port_bad("{\"port\": true}", "port must be a number or a name");
	port_bad("{\"port\": \"80\"}", "ports[0]: port name \"80\" must contain a letter");
	port_bad("{\"port\": \"HTTP\"}",
		 "port name \"HTTP\" may only contain lowercase letters, digits and '-'");
	port_bad("{\"port\": \"my_port\"}", "may only contain lowercase letters");
	port_bad("{\"port\": \"-http\"}", "port name \"-http\" must not begin or end with '-'");
	port_bad("{\"port\": \"http-\"}", "must not begin or end with '-'");
	port_bad("{\"port\": \"ht--tp\"}", "port name \"ht--tp\" must not contain \"--\"");
	port_bad("{\"port\": \"abcdefghijklmnop\"}", "must be 1 to 15 characters");
	port_bad("{\"port\": \"\"}", "port name \"\" must be 1 to 15 characters");
	port_bad("{\"endPort\": 90}", "ports[0]: endPort needs a numeric port");
	port_bad("{\"port\": \"http\", \"endPort\": 90}",
		 "ports[0]: endPort cannot be used with a named port");
	port_bad("{\"port\": 80, \"endPort\": 79}", "ports[0]: endPort 79 is not in 80..65535");
	port_bad("{\"port\": 80, \"endPort\": 65536}", "endPort 65536 is not in 80..65535");
	port_bad("{\"port\": 80, \"endPort\": \"90\"}", "ports[0]: endPort must be a number");
}

static void test_fail_closed(void)
{
	struct dp_err err = { 0 };
	struct netpol p;

	p = with_spec("{\"podSelector\": {\"matchLabel\": {\"app\": \"web\"}},"
		      " \"policyTypes\": [\"Ingress\"], \"ingress\": [{}], \"egress\": [{}]}", &err);
	ok(p.select_all_invalid, "invalid podSelector: select_all_invalid");
	ok(selector_empty(&p.pod_sel), "its selector selects every pod");
	ok(p.ingress && p.egress, "both directions, whatever policyTypes said");
	ok(p.nin == 0 && !p.in && p.neg == 0 && !p.eg, "and no rules: nothing allowed");
	is_int(p.nproblems, 1, "one problem");
	is_str(err.msg, "NetworkPolicy ns1/p: spec.podSelector: label selector: unknown "
	       "field \"matchLabel\"", "message");
	netpol_free(&p);

	err = (struct dp_err){ 0 };
	p = with_spec("{\"ingres\": [{}], \"egress\": [{}]}", &err);
	ok(p.ingress && p.egress && p.nin == 0 && p.neg == 1 && p.nproblems == 1,
	   "unknown spec field: both directions, known rules kept");
	is_str(err.msg, "NetworkPolicy ns1/p: spec: unknown field \"ingres\"", "message");
	netpol_free(&p);

	err = (struct dp_err){ 0 };
	p = with_spec("{\"policyTypes\": [\"Ingress\"], \"egress\": {\"to\": []}}", &err);
	ok(p.ingress && p.egress && p.neg == 0 && p.nproblems == 1,
	   "egress not a list: egress enforced with no rules");
	is_str(err.msg, "NetworkPolicy ns1/p: spec.egress must be an array", "message");
	netpol_free(&p);

	/* A bad peer among good ones: the rule allows nothing, the good peers
	 * stay for display; the first problem is the one reported. */
	err = (struct dp_err){ 0 };
	p = with_spec("{\"ingress\": [{\"from\": [{\"podSelector\": {}}, {},"
		      " {\"ipBlock\": {\"cidr\": \"bad\"}}], \"ports\": [{\"port\": 0},"
		      " {\"port\": 443}]}, {\"from\": [{\"namespaceSelector\": {}}]}],"
		      " \"egress\": [{\"to\": [{\"ipBlock\": {\"cidr\": \"10.0.0.0/8\","
		      " \"except\": [\"10.0.0.0/8\"]}}]}]}", &err);
	is_int(p.nproblems, 4, "four problems counted");
	is_str(err.msg, "NetworkPolicy ns1/p: spec.ingress[0].from[1]: needs podSelector, "
	       "namespaceSelector or ipBlock", "the first is reported");
	ok(p.nin == 2 && p.in[0].invalid && p.in[0].npeers == 1 && p.in[0].nports == 1 &&
	   p.in[0].ports[0].port == 443, "rule 0 invalid, its good parts kept");
	ok(!p.in[1].invalid && p.in[1].npeers == 1, "rule 1 unaffected");
	ok(p.neg == 1 && p.eg[0].invalid && p.eg[0].npeers == 0 && !p.eg[0].peers,
	   "egress rule with a bad except: invalid, no peers");
	ok(p.ingress && p.egress, "rule problems do not change the directions");
	netpol_free(&p);
}

/* --- CIDRs and IPv6 -------------------------------------------------------- */

static void cidr_is(const char *s, const char *want)
{
	struct dp_err err = { 0 };
	struct np_cidr c = { 0 };
	int rc = np_cidr_parse(s, &c, &err);

	ok(rc == 0 && !strcmp(cidr(&c), want), "%s parses as %s", s, want);
	if (rc || strcmp(cidr(&c), want))
		diag("rc %d, got %s: %s", rc, cidr(&c), err.msg);
}

static bool contains(const char *outer, const char *inner)
{
	struct np_cidr a, b;

	if (np_cidr_parse(outer, &a, NULL) < 0 || np_cidr_parse(inner, &b, NULL) < 0) {
		printf("Bail out! bad CIDR in test\n");
		exit(255);
	}
	return np_cidr_contains(&a, &b);
}

static void test_cidrs(void)
{
	struct dp_err err = { 0 };
	struct np_cidr c;

	cidr_is("10.0.0.0/8", "10.0.0.0/8");
	cidr_is("10.1.2.3/8", "10.0.0.0/8");
	cidr_is("192.168.77.129/25", "192.168.77.128/25");
	cidr_is("1.2.3.4/32", "1.2.3.4/32");
	cidr_is("1.2.3.4/0", "0.0.0.0/0");
	is_int(np_cidr_parse("fd00::/64", &c, &err), -EAFNOSUPPORT, "IPv6: -EAFNOSUPPORT");
	ok(has(&err, "CIDR \"fd00::/64\" is IPv6, not enforced"), "message: %s", err.msg);
	err = (struct dp_err){ 0 };
	is_int(np_cidr_parse("10.0.0.0/-1", &c, &err), -EINVAL, "negative length");
	is_str(err.msg, "\"10.0.0.0/-1\" is not a CIDR (address/length)", "message");
	is_int(np_cidr_parse("10.0.0.0/08", &c, NULL), -EINVAL, "leading zero in length");
	is_int(np_cidr_parse("", &c, NULL), -EINVAL, "empty");
	is_int(np_cidr_parse("fd00::/129", &c, NULL), -EINVAL, "bad IPv6 is -EINVAL");

	ok(contains("10.0.0.0/8", "10.1.0.0/16"), "10/8 contains 10.1/16");
	ok(contains("10.0.0.0/8", "10.0.0.0/8"), "a CIDR contains itself");
	ok(!contains("10.1.0.0/16", "10.0.0.0/8"), "a narrower one does not contain a wider");
	ok(!contains("10.0.0.0/8", "11.0.0.0/16"), "disjoint");
	ok(contains("0.0.0.0/0", "255.255.255.255/32"), "/0 contains everything");
	ok(contains("10.0.0.0/31", "10.0.0.1/32"), "/31 contains its second address");
	ok(!contains("10.0.0.0/32", "10.0.0.1/32"), "host routes differ");
}

static void test_ipv6(void)
{
	struct dp_err err = { 0 };
	struct netpol p;

	p = with_spec("{\"ingress\": [{\"from\": [{\"ipBlock\": {\"cidr\": \"fd00::/8\"}}]}]}",
		      &err);
	ok(p.nin == 1 && p.in[0].invalid && p.in[0].npeers == 0 && !p.in[0].peers,
	   "only an IPv6 peer: the rule allows nothing (never everyone)");
	is_int(p.nproblems, 0, "not a problem: it just cannot match here");
	netpol_free(&p);

	p = with_spec("{\"ingress\": [{\"from\": [{\"ipBlock\": {\"cidr\": \"fd00::/8\","
		      " \"except\": [\"10.0.0.0/8\"]}}, {\"ipBlock\": {\"cidr\": \"10.0.0.0/8\"}}]}]}",
		      &err);
	ok(p.nin == 1 && !p.in[0].invalid && p.in[0].npeers == 1,
	   "IPv6 peer dropped, IPv4 peer kept");
	if (p.nin == 1 && p.in[0].npeers == 1)
		is_str(cidr(&p.in[0].peers[0].cidr), "10.0.0.0/8", "the IPv4 peer");
	is_int(p.nproblems, 0, "no problem");
	netpol_free(&p);

	p = with_spec("{\"egress\": [{\"to\": [{\"ipBlock\": {\"cidr\": \"10.0.0.0/8\","
		      " \"except\": [\"fd00::/16\", \"10.3.0.0/16\", \"fd01::/16\"]}}]}]}", &err);
	ok(p.neg == 1 && !p.eg[0].invalid && p.eg[0].npeers == 1, "IPv4 block with IPv6 excepts");
	if (p.neg == 1 && p.eg[0].npeers == 1) {
		is_int(p.eg[0].peers[0].nexcept, 1, "IPv6 excepts ignored");
		is_str(cidr(&p.eg[0].peers[0].except[0]), "10.3.0.0/16", "the IPv4 except kept");
	}
	is_int(p.nproblems, 0, "no problem");
	is_int(err.code, 0, "nothing recorded");
	netpol_free(&p);
}

/* --- a whole policy ---------------------------------------------------------- */

/* As the API server returns it: extra metadata, kind, an explicit status. */
static const char full[] =
	"{\"kind\": \"NetworkPolicy\", \"apiVersion\": \"networking.k8s.io/v1\","
	" \"metadata\": {\"name\": \"web.allow\", \"namespace\": \"shop\","
	"  \"uid\": \"0b1c\", \"resourceVersion\": \"42\", \"generation\": 1,"
	"  \"labels\": {\"owner\": \"team-a\"}},"
	" \"spec\": {"
	"  \"podSelector\": {\"matchLabels\": {\"app\": \"web\"},"
	"   \"matchExpressions\": [{\"key\": \"track\", \"operator\": \"NotIn\", \"values\": [\"canary\"]}]},"
	"  \"policyTypes\": [\"Ingress\", \"Egress\"],"
	"  \"ingress\": ["
	"   {\"from\": ["
	"     {\"podSelector\": {\"matchLabels\": {\"role\": \"frontend\"}}},"
	"     {\"namespaceSelector\": {\"matchLabels\": {\"team\": \"a\"}},"
	"      \"podSelector\": {\"matchExpressions\": [{\"key\": \"role\", \"operator\": \"Exists\"}]}},"
	"     {\"ipBlock\": {\"cidr\": \"172.17.1.9/16\", \"except\": [\"172.17.1.0/24\", \"172.17.2.128/25\"]}}],"
	"    \"ports\": ["
	"     {\"protocol\": \"TCP\", \"port\": 8080},"
	"     {\"port\": \"metrics\"},"
	"     {\"protocol\": \"UDP\", \"port\": 5000, \"endPort\": 5100},"
	"     {\"protocol\": \"SCTP\"},"
	"     {\"port\": 9000, \"endPort\": 9000}]},"
	"   {\"ports\": [{\"port\": 443}]}],"
	"  \"egress\": ["
	"   {\"to\": [{\"namespaceSelector\": {\"matchLabels\": {\"kubernetes.io/metadata.name\": \"kube-system\"}},"
	"             \"podSelector\": {\"matchLabels\": {\"k8s-app\": \"kube-dns\"}}}],"
	"    \"ports\": [{\"protocol\": \"UDP\", \"port\": 53}, {\"protocol\": \"TCP\", \"port\": 53}]},"
	"   {\"to\": [{\"ipBlock\": {\"cidr\": \"0.0.0.0/0\"}}]}]},"
	" \"status\": {}}";

static void port_is(const struct np_port *pt, unsigned proto, unsigned port,
		    unsigned end, const char *name, const char *what)
{
	ok(pt->proto == proto && pt->port == port && pt->end_port == end &&
	   !strcmp(pt->name, name), "%s: proto %u port %u end %u name \"%s\"",
	   what, proto, port, end, name);
	if (pt->proto != proto || pt->port != port || pt->end_port != end ||
	    strcmp(pt->name, name))
		diag("got proto %u port %u end %u name \"%s\"", pt->proto, pt->port,
		     pt->end_port, pt->name);
}

static void test_full(void)
{
	struct dp_err err = { 0 };
	const struct np_rule *r;
	const struct np_peer *pe;
	struct netpol p;

	if (!is_int(parse(full, &p, &err), 0, "a full policy parses"))
		return;
	is_int(err.code, 0, "without problems");
	is_str(p.ns, "shop", "namespace");
	is_str(p.name, "web.allow", "name");
	is_int(p.id, 0, "id is the daemon's to set");
	is_sel(&p.pod_sel, "app=web,track notin (canary)", "pod selector");
	ok(p.ingress && p.egress && !p.select_all_invalid && p.nproblems == 0,
	   "both directions, no problems");
	if (!is_int(p.nin, 2, "two ingress rules") || !is_int(p.neg, 2, "two egress rules"))
		goto out;

	r = &p.in[0];
	ok(!r->invalid && r->npeers == 3 && r->nports == 5, "ingress 0: 3 peers, 5 ports");
	pe = r->peers;
	ok(pe[0].kind == NP_PEER_PODS && pe[0].has_pod_sel && !pe[0].has_ns_sel, "peer 0: pods");
	is_sel(&pe[0].pod_sel, "role=frontend", "peer 0 pod selector");
	ok(pe[1].kind == NP_PEER_PODS && pe[1].has_pod_sel && pe[1].has_ns_sel,
	   "peer 1: pods of namespaces");
	is_sel(&pe[1].pod_sel, "role", "peer 1 pod selector");
	is_sel(&pe[1].ns_sel, "team=a", "peer 1 namespace selector");
	ok(pe[2].kind == NP_PEER_IPBLOCK && !pe[2].has_pod_sel && !pe[2].has_ns_sel,
	   "peer 2: ipBlock");
	is_str(cidr(&pe[2].cidr), "172.17.0.0/16", "host bits masked off");
	is_int(pe[2].nexcept, 2, "two excepts");
	is_str(cidr(&pe[2].except[0]), "172.17.1.0/24", "except 0");
	is_str(cidr(&pe[2].except[1]), "172.17.2.128/25", "except 1");
	port_is(&r->ports[0], IPPROTO_TCP, 8080, 0, "", "port 0");
	port_is(&r->ports[1], IPPROTO_TCP, 0, 0, "metrics", "port 1 named, TCP defaulted");
	port_is(&r->ports[2], IPPROTO_UDP, 5000, 5100, "", "port 2 range");
	port_is(&r->ports[3], IPPROTO_SCTP, 0, 0, "", "port 3 every SCTP port");
	port_is(&r->ports[4], IPPROTO_TCP, 9000, 9000, "", "port 4 range of one");

	r = &p.in[1];
	ok(!r->invalid && r->npeers == 0 && !r->peers && r->nports == 1,
	   "ingress 1: everyone, one port");
	port_is(&r->ports[0], IPPROTO_TCP, 443, 0, "", "its port");

	r = &p.eg[0];
	ok(!r->invalid && r->npeers == 1 && r->nports == 2, "egress 0: 1 peer, 2 ports");
	is_sel(&r->peers[0].ns_sel, "kubernetes.io/metadata.name=kube-system", "DNS namespace");
	is_sel(&r->peers[0].pod_sel, "k8s-app=kube-dns", "DNS pods");
	port_is(&r->ports[0], IPPROTO_UDP, 53, 0, "", "UDP 53");
	port_is(&r->ports[1], IPPROTO_TCP, 53, 0, "", "TCP 53");

	r = &p.eg[1];
	ok(!r->invalid && r->npeers == 1 && r->nports == 0 &&
	   r->peers[0].kind == NP_PEER_IPBLOCK && r->peers[0].nexcept == 0 &&
	   !r->peers[0].except, "egress 1: 0.0.0.0/0, every port");
	is_str(cidr(&r->peers[0].cidr), "0.0.0.0/0", "the world");
out:
	netpol_free(&p);
	ok(!p.name && !p.in && p.nin == 0, "netpol_free leaves an empty policy");
}

int main(void)
{
	test_skipped();
	test_types();
	test_empty_absent();
	test_rule_errors();
	test_fail_closed();
	test_cidrs();
	test_ipv6();
	test_full();
	return done_testing();
}
