/* Unit tests of cni/result.c: rendering ADD results in each CNI version,
 * reading IPAM results and prevResults back, and MAC formatting. */
#include <arpa/inet.h>
#include <stdbool.h>

#include "cni/result.h"
#include "tests/tap.h"
#include "tests/test_util.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

#define SANDBOX "/var/run/netns/cni-5f2a9c1e"
#define DNS_JSON "{\"nameservers\":[\"10.96.0.10\"],\"search\":[\"svc.cluster.local\"]}"

static const enum cni_version all_versions[] = {
	CNI_V030, CNI_V031, CNI_V040, CNI_V100, CNI_V110,
};

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	if (!j)
		diag("test bug: %s: %s", text, jerr.text);
	return j;
}

/* Prints j when checks failed since `failed_before`, to see what was wrong. */
static void dump_on_failure(int failed_before, const char *what, const json_t *j)
{
	char *s;

	if (tap_failed == failed_before)
		return;
	s = json_dumps(j, JSON_COMPACT);
	diag("%s: %s", what, s ? s : "?");
	free(s);
}

/* The pod of the tests: veth pair, one IPv4 address, an extra route (via
 * the IP's gateway) and one with its own gateway, and DNS. */
static void make_pod(struct pod_result *r, bool with_dns)
{
	static const uint8_t host_mac[6] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };
	static const uint8_t pod_mac[6] = { 0x02, 0x42, 0x0a, 0xf4, 0x01, 0x05 };

	memset(r, 0, sizeof(*r));
	snprintf(r->host_ifname, sizeof(r->host_ifname), "bh5f2a9c1e");
	memcpy(r->host_mac, host_mac, 6);
	snprintf(r->pod_ifname, sizeof(r->pod_ifname), "eth0");
	memcpy(r->pod_mac, pod_mac, 6);
	r->sandbox = SANDBOX;
	r->mtu = 1450;
	r->ipam.ips[0] = (struct result_ip){ P("10.244.1.5/24"), A("10.244.1.1") };
	r->ipam.n_ips = 1;
	r->ipam.routes[0] = (struct result_route){ .dst = P("10.96.0.0/12") };
	r->ipam.routes[1] = (struct result_route){ P("192.168.0.0/16"),
						   A("10.244.1.254") };
	r->ipam.n_routes = 2;
	r->ipam.dns = with_dns ? load(DNS_JSON) : NULL;
}

/* The route to dst in routes: its index, or -1. */
static int find_route(const json_t *routes, const char *dst)
{
	const json_t *v;
	size_t i;

	json_array_foreach(routes, i, v)
		if (jstr(v, "dst") && strcmp(jstr(v, "dst"), dst) == 0)
			return (int)i;
	return -1;
}

/* Our routes in rendered routes: default via the gateway, the extra route
 * without "gw" (the IP's gateway), the one with its own gateway. */
static void check_routes(const json_t *routes, size_t first)
{
	int def = find_route(routes, "0.0.0.0/0");
	int svc = find_route(routes, "10.96.0.0/12");
	int lan = find_route(routes, "192.168.0.0/16");

	is_int(json_array_size(routes), first + 3, "  routes: %zu", first + 3);
	is_int(def, (int)first, "  default route 0.0.0.0/0 first of ours");
	is_str(jstr(json_array_get(routes, def), "gw"), "10.244.1.1",
	       "  default route via the gateway");
	is_int(svc, (int)first + 1, "  extra IPAM route 10.96.0.0/12");
	ok(!json_object_get(json_array_get(routes, svc), "gw"),
	   "  without gw (the IP's gateway)");
	is_int(lan, (int)first + 2, "  extra IPAM route 192.168.0.0/16");
	is_str(jstr(json_array_get(routes, lan), "gw"), "10.244.1.254",
	       "  with its own gw");
}

/* Our IP in a rendered result for version v. */
static void check_ip(const json_t *ip, enum cni_version v, int want_iface)
{
	const json_t *ver = json_object_get(ip, "version");

	if (cni_version_ips_versioned(v))
		is_str(json_string_value(ver), "4", "  ips[].version is \"4\"");
	else
		ok(!ver, "  ips[] has no \"version\"");
	is_str(jstr(ip, "address"), "10.244.1.5/24", "  address");
	is_str(jstr(ip, "gateway"), "10.244.1.1", "  gateway");
	if (want_iface < 0)
		ok(!json_object_get(ip, "interface"), "  no \"interface\"");
	else
		is_int(json_integer_value(json_object_get(ip, "interface")),
		       want_iface, "  interface index %d", want_iface);
}

/* Our two interfaces at ifs[first] and ifs[first + 1]. */
static void check_ifaces(const json_t *ifs, size_t first, enum cni_version v)
{
	const json_t *host = json_array_get(ifs, first);
	const json_t *pod = json_array_get(ifs, first + 1);

	is_int(json_array_size(ifs), first + 2, "  interfaces: %zu", first + 2);
	is_str(jstr(host, "name"), "bh5f2a9c1e", "  host side name");
	is_str(jstr(host, "mac"), "ee:ee:ee:ee:ee:ee", "  host side mac");
	ok(!json_object_get(host, "sandbox"), "  host side has no sandbox");
	is_str(jstr(pod, "name"), "eth0", "  pod side name");
	is_str(jstr(pod, "mac"), "02:42:0a:f4:01:05", "  pod side mac");
	is_str(jstr(pod, "sandbox"), SANDBOX, "  pod side sandbox");
	for (size_t i = first; i < first + 2; i++) {
		const json_t *mtu = json_object_get(json_array_get(ifs, i), "mtu");

		if (cni_version_has_if_mtu(v))
			is_int(json_integer_value(mtu), 1450, "  interfaces[%zu].mtu", i);
		else
			ok(!mtu, "  interfaces[%zu] has no mtu", i);
	}
}

/* ips[i].interface names the interface called eth0 that has a sandbox. */
static void check_ip_points_at_pod(const json_t *res, size_t i)
{
	const json_t *ip = json_array_get(json_object_get(res, "ips"), i);
	json_int_t at = json_integer_value(json_object_get(ip, "interface"));
	const json_t *iface = json_array_get(json_object_get(res, "interfaces"),
					     (size_t)at);

	is_str(jstr(iface, "name"), "eth0", "  ips[%zu].interface -> eth0", i);
	ok(jstr(iface, "sandbox"), "  ... which has a sandbox");
}

/* --- result_render ------------------------------------------------------ */

static void test_render(void)
{
	struct pod_result r;
	json_t *dns;

	make_pod(&r, true);
	dns = load(DNS_JSON);
	for (size_t i = 0; i < NITEMS(all_versions); i++) {
		enum cni_version v = all_versions[i];
		int failed = tap_failed;
		json_t *res = result_render(&r, v, NULL);
		const json_t *ips = json_object_get(res, "ips");

		if (!ok(res, "result_render %s", cni_version_str(v)))
			continue;
		is_str(jstr(res, "cniVersion"), cni_version_str(v), "  cniVersion");
		check_ifaces(json_object_get(res, "interfaces"), 0, v);
		is_int(json_array_size(ips), 1, "  one ip");
		check_ip(json_array_get(ips, 0), v, 1);
		check_ip_points_at_pod(res, 0);
		check_routes(json_object_get(res, "routes"), 0);
		ok(json_equal(json_object_get(res, "dns"), dns), "  dns copied");
		ok(json_object_get(res, "dns") != r.ipam.dns, "  ... as a copy");
		is_int(json_object_size(res), 5, "  no other keys");
		dump_on_failure(failed, "rendered", res);
		json_decref(res);
	}
	json_decref(dns);
	ipam_result_free(&r.ipam);
	ok(!r.ipam.dns, "ipam_result_free clears dns");

	/* No mtu known: no "mtu" even in 1.1.0. No dns: no "dns". */
	make_pod(&r, false);
	r.mtu = 0;
	{
		json_t *res = result_render(&r, CNI_V110, NULL);
		const json_t *ifs = json_object_get(res, "interfaces");

		ok(!json_object_get(json_array_get(ifs, 0), "mtu") &&
		   !json_object_get(json_array_get(ifs, 1), "mtu"),
		   "1.1.0 with mtu 0: no \"mtu\"");
		ok(!json_object_get(res, "dns"), "no dns: no \"dns\"");
		json_decref(res);
	}
}

/* Chained after a plugin that made one interface and one address. */
static void test_render_chained(void)
{
	static const char prev_text[] =
		"{\"cniVersion\":\"%s\","
		"\"interfaces\":[{\"name\":\"net1\",\"mac\":\"0a:58:0a:01:00:05\","
		"\"sandbox\":\"" SANDBOX "\"}],"
		"\"ips\":[{%s\"address\":\"10.1.0.5/16\",\"gateway\":\"10.1.0.1\","
		"\"interface\":0}],"
		"\"routes\":[{\"dst\":\"10.1.0.0/16\"}],"
		"\"dns\":{\"nameservers\":[\"10.1.0.2\"]}}";

	for (size_t i = 0; i < NITEMS(all_versions); i++) {
		enum cni_version v = all_versions[i];
		char text[1024];
		json_t *prev, *prev_copy, *res, *prev_dns;
		const json_t *ifs, *ips, *routes;
		struct pod_result r;
		int failed = tap_failed;

		snprintf(text, sizeof(text), prev_text, cni_version_str(v),
			 cni_version_ips_versioned(v) ? "\"version\":\"4\"," : "");
		prev = load(text);
		prev_copy = json_deep_copy(prev);
		prev_dns = json_object_get(prev, "dns");
		make_pod(&r, false);
		res = result_render(&r, v, prev);
		if (!ok(res, "result_render %s chained after a prevResult",
			cni_version_str(v)))
			goto next;
		ifs = json_object_get(res, "interfaces");
		ips = json_object_get(res, "ips");
		routes = json_object_get(res, "routes");
		is_str(jstr(res, "cniVersion"), cni_version_str(v), "  cniVersion");
		ok(json_equal(json_array_get(ifs, 0),
			      json_array_get(json_object_get(prev, "interfaces"), 0)),
		   "  prev interface kept first");
		check_ifaces(ifs, 1, v);
		is_int(json_array_size(ips), 2, "  two ips");
		ok(json_equal(json_array_get(ips, 0),
			      json_array_get(json_object_get(prev, "ips"), 0)),
		   "  prev ip kept first, its interface index untouched");
		check_ip(json_array_get(ips, 1), v, 2);
		check_ip_points_at_pod(res, 1);
		is_str(jstr(json_array_get(routes, 0), "dst"), "10.1.0.0/16",
		       "  prev route kept first");
		check_routes(routes, 1);
		ok(json_equal(json_object_get(res, "dns"), prev_dns),
		   "  no dns of ours: prev's dns kept");
		ok(json_equal(prev, prev_copy), "  prevResult not modified");
		dump_on_failure(failed, "rendered", res);
		json_decref(res);

		/* Our dns wins over prev's. */
		make_pod(&r, true);
		res = result_render(&r, v, prev);
		ok(json_equal(json_object_get(res, "dns"), r.ipam.dns),
		   "  with dns of ours: ours");
		json_decref(res);
		ipam_result_free(&r.ipam);
next:
		json_decref(prev_copy);
		json_decref(prev);
	}
}

/* --- result_render_ipam ------------------------------------------------- */

static void test_render_ipam(void)
{
	struct pod_result r;

	make_pod(&r, true);
	for (size_t i = 0; i < NITEMS(all_versions); i++) {
		enum cni_version v = all_versions[i];
		int failed = tap_failed;
		json_t *res = result_render_ipam(&r.ipam, v);
		const json_t *ips = json_object_get(res, "ips");

		if (!ok(res, "result_render_ipam %s", cni_version_str(v)))
			continue;
		is_str(jstr(res, "cniVersion"), cni_version_str(v), "  cniVersion");
		ok(!json_object_get(res, "interfaces"), "  no interfaces");
		is_int(json_array_size(ips), 1, "  one ip");
		check_ip(json_array_get(ips, 0), v, -1);
		check_routes(json_object_get(res, "routes"), 0);
		ok(json_equal(json_object_get(res, "dns"), r.ipam.dns), "  dns copied");
		dump_on_failure(failed, "rendered", res);
		json_decref(res);
	}
	ipam_result_free(&r.ipam);
}

/* What we render, we read back: ipam_result_parse of each version. */
static void test_round_trip(void)
{
	struct pod_result r;

	make_pod(&r, true);
	for (size_t i = 0; i < NITEMS(all_versions); i++) {
		enum cni_version v = all_versions[i];
		json_t *res = result_render(&r, v, NULL);
		struct ipam_result back;
		struct cni_err err = { 0 };

		if (!is_int(ipam_result_parse(res, "us", &back, &err), 0,
			    "%s result reads back", cni_version_str(v)))
			diag("%s", err.msg);
		is_int(back.n_ips, 1, "  one ip");
		is_str(fmt_prefix(&back.ips[0].addr), "10.244.1.5/24", "  address");
		is_str(fmt_addr(&back.ips[0].gw), "10.244.1.1", "  gateway");
		is_int(back.n_routes, 2, "  two routes (the default one dropped)");
		is_str(fmt_prefix(&back.routes[0].dst), "10.96.0.0/12", "  route 0");
		is_int(back.routes[0].gw.family, 0, "  via the IP's gateway");
		is_str(fmt_prefix(&back.routes[1].dst), "192.168.0.0/16", "  route 1");
		is_str(fmt_addr(&back.routes[1].gw), "10.244.1.254", "  via its own gw");
		ok(json_equal(back.dns, r.ipam.dns), "  dns");
		ipam_result_free(&back);
		json_decref(res);
	}
	ipam_result_free(&r.ipam);
}

/* --- ipam_result_parse -------------------------------------------------- */

struct parse_good {
	const char *desc;
	const char *json;
	const char *addr[RESULT_MAX_IPS];	/* NULL-terminated */
	const char *gw[RESULT_MAX_IPS];
	const char *routes[4];			/* dsts kept, NULL-terminated */
	bool has_dns;
};

static void test_ipam_parse_good(void)
{
	static const struct parse_good cases[] = {
		{ "host-local 0.4.0",
		  "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\","
		  "\"address\":\"10.22.0.5/16\",\"gateway\":\"10.22.0.1\"}],"
		  "\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"10.96.0.0/12\","
		  "\"gw\":\"10.22.0.254\"}],\"dns\":{}}",
		  { "10.22.0.5/16" }, { "10.22.0.1" }, { "10.96.0.0/12" }, true },
		{ "host-local 1.0.0",
		  "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.22.0.6/16\","
		  "\"gateway\":\"10.22.0.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\","
		  "\"gw\":\"10.22.0.1\"}],\"dns\":{\"nameservers\":[\"1.1.1.1\"]}}",
		  { "10.22.0.6/16" }, { "10.22.0.1" }, { NULL }, true },
		{ "no gateway: first address of the subnet + 1",
		  "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.22.3.7/24\"}]}",
		  { "10.22.3.7/24" }, { "10.22.3.1" }, { NULL }, false },
		{ "no gateway, /16",
		  "{\"ips\":[{\"address\":\"172.16.9.200/16\"}]}",
		  { "172.16.9.200/16" }, { "172.16.0.1" }, { NULL }, false },
		{ "four ips, no routes key, dns not an object ignored",
		  "{\"ips\":[{\"address\":\"10.0.0.2/24\"},{\"address\":\"10.0.1.2/24\"},"
		  "{\"address\":\"10.0.2.2/24\"},{\"address\":\"10.0.3.2/24\"}],"
		  "\"dns\":[]}",
		  { "10.0.0.2/24", "10.0.1.2/24", "10.0.2.2/24", "10.0.3.2/24" },
		  { "10.0.0.1", "10.0.1.1", "10.0.2.1", "10.0.3.1" }, { NULL }, false },
		{ "default route with another gw dropped",
		  "{\"ips\":[{\"address\":\"10.0.0.2/24\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\","
		  "\"gw\":\"10.0.0.9\"},{\"dst\":\"10.1.0.0/16\"},{\"dst\":\"10.2.0.0/16\"}]}",
		  { "10.0.0.2/24" }, { "10.0.0.1" }, { "10.1.0.0/16", "10.2.0.0/16" }, false },
	};

	for (size_t i = 0; i < NITEMS(cases); i++) {
		const struct parse_good *t = &cases[i];
		json_t *j = load(t->json);
		struct ipam_result out;
		struct cni_err err = { 0 };
		size_t n;

		if (!is_int(ipam_result_parse(j, "host-local", &out, &err), 0,
			    "ipam_result_parse: %s", t->desc))
			diag("%s", err.msg);
		for (n = 0; n < RESULT_MAX_IPS && t->addr[n]; n++) {
			is_str(fmt_prefix(&out.ips[n].addr), t->addr[n], "  ips[%zu] %s",
			       n, t->addr[n]);
			is_str(fmt_addr(&out.ips[n].gw), t->gw[n], "  gateway %s", t->gw[n]);
		}
		is_int(out.n_ips, n, "  %zu ips", n);
		for (n = 0; t->routes[n]; n++)
			is_str(fmt_prefix(&out.routes[n].dst), t->routes[n],
			       "  routes[%zu] %s", n, t->routes[n]);
		is_int(out.n_routes, n, "  %zu routes (the default route is ours)", n);
		ok(!out.dns == !t->has_dns, "  dns %s", t->has_dns ? "kept" : "none");
		ipam_result_free(&out);
		json_decref(j);
	}
}

struct parse_bad {
	const char *desc;
	const char *json;
	const char *want_substr;
};

static void test_ipam_parse_bad(void)
{
	static const struct parse_bad cases[] = {
		{ "no ips", "{\"cniVersion\":\"1.0.0\"}", "no ips" },
		{ "ips empty", "{\"ips\":[]}", "no ips" },
		{ "ips an object", "{\"ips\":{\"address\":\"10.0.0.2/24\"}}", "no ips" },
		{ "five ips", "{\"ips\":[{\"address\":\"10.0.0.2/24\"},"
		  "{\"address\":\"10.0.0.3/24\"},{\"address\":\"10.0.0.4/24\"},"
		  "{\"address\":\"10.0.0.5/24\"},{\"address\":\"10.0.0.6/24\"}]}",
		  "too many ips" },
		{ "address missing", "{\"ips\":[{\"gateway\":\"10.0.0.1\"}]}",
		  "ips[].address" },
		{ "address not a string", "{\"ips\":[{\"address\":167772162}]}",
		  "ips[].address" },
		{ "bad address", "{\"ips\":[{\"address\":\"10.0.0.300/24\"}]}",
		  "ips[].address" },
		{ "address without length", "{\"ips\":[{\"address\":\"10.0.0.2\"}]}",
		  "ips[].address" },
		{ "IPv6 address", "{\"ips\":[{\"address\":\"fd00::5/64\"}]}",
		  "only IPv4 pod addresses are supported" },
		{ "IPv6 after IPv4", "{\"ips\":[{\"address\":\"10.0.0.2/24\"},"
		  "{\"address\":\"fd00::5/64\"}]}", "fd00::5/64" },
		{ "bad gateway", "{\"ips\":[{\"address\":\"10.0.0.2/24\","
		  "\"gateway\":\"10.0.0\"}]}", "gateway" },
		{ "IPv6 gateway", "{\"ips\":[{\"address\":\"10.0.0.2/24\","
		  "\"gateway\":\"fd00::1\"}]}", "gateway" },
		{ "no gateway and no address after the network's",
		  "{\"ips\":[{\"address\":\"255.255.255.255/32\"}]}", "no gateway" },
		{ "no gateway on a /32", "{\"ips\":[{\"address\":\"10.0.0.5/32\"}]}",
		  "no gateway" },
		{ "derived gateway is the pod itself",
		  "{\"ips\":[{\"address\":\"10.0.0.1/24\"}]}", "pod's own address" },
		{ "gateway is the pod itself", "{\"ips\":[{\"address\":\"10.0.0.2/24\","
		  "\"gateway\":\"10.0.0.2\"}]}", "pod's own address" },
		{ "routes an object", "{\"ips\":[{\"address\":\"10.0.0.2/24\"}],"
		  "\"routes\":{\"dst\":\"10.1.0.0/16\"}}", "routes is not an array" },
		{ "routes a string", "{\"ips\":[{\"address\":\"10.0.0.2/24\"}],"
		  "\"routes\":\"10.1.0.0/16\"}", "routes is not an array" },
		{ "route without dst", "{\"ips\":[{\"address\":\"10.0.0.2/24\"}],"
		  "\"routes\":[{\"gw\":\"10.0.0.1\"}]}", "routes[].dst" },
		{ "route with bad gw", "{\"ips\":[{\"address\":\"10.0.0.2/24\"}],"
		  "\"routes\":[{\"dst\":\"10.1.0.0/16\",\"gw\":\"x\"}]}", "routes[].gw" },
	};
	char routes[4096];
	size_t n;

	for (size_t i = 0; i < NITEMS(cases); i++) {
		const struct parse_bad *t = &cases[i];
		json_t *j = load(t->json);
		struct ipam_result out;
		struct cni_err err = { 0 };

		is_int(ipam_result_parse(j, "host-local", &out, &err), -1,
		       "ipam_result_parse rejects: %s", t->desc);
		is_int(err.code, BH_ERR_DELEGATE, "  code %d", BH_ERR_DELEGATE);
		if (!ok(strstr(err.msg, t->want_substr), "  message mentions '%s'",
			t->want_substr))
			diag("message: %s", err.msg);
		ok(strstr(err.msg, "host-local"), "  and who returned it");
		ipam_result_free(&out);
		json_decref(j);
	}

	/* 33 routes: one more than fits. */
	n = (size_t)snprintf(routes, sizeof(routes),
			     "{\"ips\":[{\"address\":\"10.0.0.2/24\"}],\"routes\":[");
	for (int i = 0; i <= RESULT_MAX_ROUTES; i++)
		n += (size_t)snprintf(routes + n, sizeof(routes) - n,
				      "%s{\"dst\":\"10.%d.0.0/16\"}", i ? "," : "", i + 1);
	snprintf(routes + n, sizeof(routes) - n, "]}");
	{
		json_t *j = load(routes);
		struct ipam_result out;
		struct cni_err err = { 0 };

		is_int(ipam_result_parse(j, "x", &out, &err), -1,
		       "ipam_result_parse rejects %d routes", RESULT_MAX_ROUTES + 1);
		ipam_result_free(&out);
		json_decref(j);
	}
}

/* --- result_find_pod ---------------------------------------------------- */

struct find_case {
	const char *desc;
	const char *json;
	const char *ifname;
	const char *sandbox;
	int want_code;			/* 0: found */
	const char *want_substr;
};

#define FIND_IFS "\"interfaces\":[{\"name\":\"bh1\",\"mac\":\"ee:ee:ee:ee:ee:ee\"}," \
	"{\"name\":\"eth0\",\"mac\":\"02:42:0A:f4:01:05\",\"sandbox\":\"" SANDBOX "\"}]"

static void test_find_pod(void)
{
	static const uint8_t want_mac[6] = { 0x02, 0x42, 0x0a, 0xf4, 0x01, 0x05 };
	const struct find_case cases[] = {
		{ "by ifname and sandbox", "{" FIND_IFS ",\"ips\":[{\"address\":"
		  "\"10.244.1.5/24\",\"gateway\":\"10.244.1.1\",\"interface\":1}]}",
		  "eth0", SANDBOX, 0, NULL },
		{ "any sandbox (NULL)", "{" FIND_IFS ",\"ips\":[{\"version\":\"4\","
		  "\"address\":\"10.244.1.5/24\",\"gateway\":\"10.244.1.1\",\"interface\":1}]}",
		  "eth0", NULL, 0, NULL },
		{ "ips of other interfaces skipped", "{" FIND_IFS ",\"ips\":["
		  "{\"address\":\"fd00::1/64\",\"interface\":0},"
		  "{\"address\":\"10.9.9.9/24\"},"
		  "{\"address\":\"10.244.1.5/24\",\"gateway\":\"10.244.1.1\",\"interface\":1}]}",
		  "eth0", SANDBOX, 0, NULL },
		{ "wrong sandbox", "{" FIND_IFS ",\"ips\":[{\"address\":\"10.244.1.5/24\","
		  "\"interface\":1}]}", "eth0", "/var/run/netns/other", BH_ERR_CHECK,
		  "no interface eth0 in /var/run/netns/other" },
		{ "wrong ifname", "{" FIND_IFS ",\"ips\":[{\"address\":\"10.244.1.5/24\","
		  "\"interface\":1}]}", "eth1", SANDBOX, BH_ERR_CHECK, "no interface eth1" },
		{ "host side (no sandbox) is not the pod", "{" FIND_IFS "}", "bh1", NULL,
		  BH_ERR_CHECK, "no interface bh1 in any sandbox" },
		{ "no interfaces", "{\"ips\":[]}", "eth0", SANDBOX, BH_ERR_CHECK,
		  "no interface" },
		{ "no ips for the interface", "{" FIND_IFS ",\"ips\":[{\"address\":"
		  "\"10.244.1.5/24\",\"interface\":0}]}", "eth0", SANDBOX, BH_ERR_CHECK,
		  "no address for interface eth0" },
		{ "no ips at all", "{" FIND_IFS "}", "eth0", SANDBOX, BH_ERR_CHECK,
		  "no address" },
		{ "bad mac", "{\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"02:42\","
		  "\"sandbox\":\"" SANDBOX "\"}],\"ips\":[{\"address\":\"10.244.1.5/24\","
		  "\"interface\":0}]}", "eth0", SANDBOX, BH_ERR_CHECK, "no valid mac" },
		{ "bad address for the interface", "{" FIND_IFS ",\"ips\":[{\"address\":"
		  "\"banana\",\"interface\":1}]}", "eth0", SANDBOX, BH_ERR_CHECK,
		  "prevResult" },
	};

	for (size_t i = 0; i < NITEMS(cases); i++) {
		const struct find_case *t = &cases[i];
		json_t *j = load(t->json);
		struct pod_result out;
		struct cni_err err = { 0 };
		int rc = result_find_pod(j, t->ifname, t->sandbox, &out, &err);

		if (t->want_code == 0) {
			if (!is_int(rc, 0, "result_find_pod: %s", t->desc))
				diag("%s", err.msg);
			is_str(out.pod_ifname, t->ifname, "  ifname");
			ok(memcmp(out.pod_mac, want_mac, 6) == 0, "  mac");
			is_int(out.ipam.n_ips, 1, "  one ip");
			is_str(fmt_prefix(&out.ipam.ips[0].addr), "10.244.1.5/24", "  address");
			is_str(fmt_addr(&out.ipam.ips[0].gw), "10.244.1.1", "  gateway");
		} else {
			is_int(rc, -1, "result_find_pod fails: %s", t->desc);
			is_int(err.code, t->want_code, "  code %d", t->want_code);
			if (!ok(strstr(err.msg, t->want_substr), "  message mentions '%s'",
				t->want_substr))
				diag("message: %s", err.msg);
		}
		json_decref(j);
	}
}

/* result_find_pod on what result_render made, chained or not. */
static void test_find_rendered(void)
{
	static const char prev_text[] =
		"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\","
		"\"mac\":\"0a:58:0a:01:00:05\",\"sandbox\":\"/var/run/netns/elsewhere\"}],"
		"\"ips\":[{\"address\":\"10.1.0.5/16\",\"interface\":0}]}";
	json_t *prev = load(prev_text);
	struct pod_result r, out;

	make_pod(&r, false);
	for (int chained = 0; chained <= 1; chained++) {
		json_t *res = result_render(&r, CNI_V100, chained ? prev : NULL);
		struct cni_err err = { 0 };

		if (!is_int(result_find_pod(res, "eth0", SANDBOX, &out, &err), 0,
			    "rendered %s result: pod found",
			    chained ? "chained" : "plain"))
			diag("%s", err.msg);
		ok(memcmp(out.pod_mac, r.pod_mac, 6) == 0, "  mac");
		is_int(out.ipam.n_ips, 1, "  only our ip");
		is_str(fmt_prefix(&out.ipam.ips[0].addr), "10.244.1.5/24", "  address");
		json_decref(res);
	}
	json_decref(prev);
}

/* --- mac_format --------------------------------------------------------- */

static void test_mac_format(void)
{
	static const struct {
		uint8_t mac[6];
		const char *want;
	} cases[] = {
		{ { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 }, "02:42:ac:11:00:02" },
		{ { 0, 0, 0, 0, 0, 0 }, "00:00:00:00:00:00" },
		{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, "ff:ff:ff:ff:ff:ff" },
		{ { 0x0a, 0xb0, 0x0c, 0xd0, 0x0e, 0xf0 }, "0a:b0:0c:d0:0e:f0" },
	};
	char buf[18];
	char small[9];

	for (size_t i = 0; i < NITEMS(cases); i++) {
		mac_format(cases[i].mac, buf, sizeof(buf));
		is_str(buf, cases[i].want, "mac_format %s", cases[i].want);
	}
	memset(small, 'x', sizeof(small));
	mac_format(cases[0].mac, small, sizeof(small));
	is_str(small, "02:42:ac", "mac_format truncates to the buffer");
}

int main(void)
{
	test_render();
	test_render_chained();
	test_render_ipam();
	test_round_trip();
	test_ipam_parse_good();
	test_ipam_parse_bad();
	test_find_pod();
	test_find_rendered();
	test_mac_format();
	return done_testing();
}
