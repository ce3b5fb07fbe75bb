/* Unit tests of ipam/addr.c: parsing, formatting and arithmetic of IPv4 and
 * IPv6 addresses and prefixes. */
#include <arpa/inet.h>

#include "ipam/addr.h"
#include "tests/tap.h"
#include "tests/test_util.h"

static void test_round_trips(void)
{
	static const char *const addrs[] = {
		"0.0.0.0", "10.0.0.1", "255.255.255.255", "::", "::1",
		"fd00::1", "fd00:10:244:1::ff", "2001:db8::1:0:0:1",
	};
	static const char *const prefixes[] = {
		"10.0.0.0/24", "0.0.0.0/0", "10.1.2.3/32", "fd00::/64",
		"::/0", "fd00::1/128",
	};
	char buf[IP_PREFIX_STRLEN];
	struct ip_prefix p;
	struct ip_addr a;

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		is_int(ip_addr_parse(addrs[i], &a), 0, "parse %s", addrs[i]);
		is_str(fmt_addr(&a), addrs[i], "%s formats back", addrs[i]);
	}
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		is_int(ip_prefix_parse(prefixes[i], &p), 0, "parse %s",
		       prefixes[i]);
		ip_prefix_format(&p, buf, sizeof(buf));
		is_str(buf, prefixes[i], "%s formats back", prefixes[i]);
	}
	a = A("10.0.0.1");
	is_int(a.family, AF_INET, "IPv4 family");
	is_int(ip_addr_bytes(&a), 4, "IPv4 has 4 bytes");
	is_int(ip_addr_bits(&a), 32, "IPv4 has 32 bits");
	a = A("FD00:0:0::0001");
	is_int(a.family, AF_INET6, "IPv6 family");
	is_int(ip_addr_bytes(&a), 16, "IPv6 has 16 bytes");
	is_int(ip_addr_bits(&a), 128, "IPv6 has 128 bits");
	is_str(fmt_addr(&a), "fd00::1", "IPv6 formats canonically");
	p = P("fd00::/120");
	is_int(p.len, 120, "IPv6 prefix length");

	/* A short buffer truncates, never overflows. */
	a = A("192.168.100.200");
	ip_addr_format(&a, buf, 8);
	is_str(buf, "192.168", "format truncates to the buffer");
	a = (struct ip_addr){ 0 };
	is_str(fmt_addr(&a), "(none)", "unset address formats as (none)");
}

static void test_bad_input(void)
{
	static const char *const bad_addrs[] = {
		"10.0.0.256", "", "abc", "10.0.0", "10.0.0.1 ", " 10.0.0.1",
		"010.0.0.1", "fd00:::1", "10.0.0.1/24", "fd00::g",
	};
	static const char *const bad_prefixes[] = {
		"10.0.0.0/33", "fd00::/129", "", "10.0.0.0/", "1.2.3.4/24x",
		"abc", "10.0.0.0", "/24", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0.0/024", "10.0.0.0/ 24", "10.0.0.256/24",
		"10.0.0.0/1000", "fd00::/64/64",
	};
	struct ip_addr a = A("1.1.1.1"), keep = a;
	struct ip_prefix p;

	for (size_t i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++)
		is_int(ip_addr_parse(bad_addrs[i], &a), -1,
		       "address \"%s\" rejected", bad_addrs[i]);
	ok(ip_addr_eq(&a, &keep), "failed parse leaves the output alone");
	is_int(ip_addr_parse(NULL, &a), -1, "NULL address rejected");
	for (size_t i = 0; i < sizeof(bad_prefixes) / sizeof(bad_prefixes[0]); i++)
		is_int(ip_prefix_parse(bad_prefixes[i], &p), -1,
		       "prefix \"%s\" rejected", bad_prefixes[i]);
	is_int(ip_prefix_parse(NULL, &p), -1, "NULL prefix rejected");
}

static void test_cmp(void)
{
	struct ip_addr a = A("10.0.0.1"), b = A("10.0.0.2"), c = A("9.255.255.255");
	struct ip_addr x = A("fd00::1"), y = A("fd00::1:0");

	is_int(ip_addr_cmp(&a, &b), -1, "10.0.0.1 < 10.0.0.2");
	is_int(ip_addr_cmp(&b, &a), 1, "10.0.0.2 > 10.0.0.1");
	is_int(ip_addr_cmp(&a, &a), 0, "10.0.0.1 == 10.0.0.1");
	is_int(ip_addr_cmp(&c, &a), -1, "9.255.255.255 < 10.0.0.1 (byte order)");
	is_int(ip_addr_cmp(&x, &y), -1, "fd00::1 < fd00::1:0");
	is_int(ip_addr_cmp(&a, &x), -1, "IPv4 orders before IPv6");
	is_int(ip_addr_cmp(&x, &a), 1, "IPv6 orders after IPv4");
	ok(ip_addr_eq(&x, &x), "eq on equal");
	ok(!ip_addr_eq(&x, &y), "eq on different");
	/* The same bytes in both families are still different addresses. */
	y = (struct ip_addr){ .family = AF_INET6 };
	c = (struct ip_addr){ .family = AF_INET };
	ok(!ip_addr_eq(&y, &c), ":: differs from 0.0.0.0");
}

static void check_add(const char *from, int64_t n, const char *want)
{
	struct ip_addr a = A(from);

	if (!want) {
		is_int(ip_addr_add(&a, n), -1, "%s %+lld wraps", from, (long long)n);
		is_str(fmt_addr(&a), from, "%s unchanged after wrap", from);
		return;
	}
	is_int(ip_addr_add(&a, n), 0, "%s %+lld", from, (long long)n);
	is_str(fmt_addr(&a), want, "%s %+lld = %s", from, (long long)n, want);
}

static void test_add(void)
{
	check_add("10.0.0.1", 1, "10.0.0.2");
	check_add("10.0.0.255", 1, "10.0.1.0");
	check_add("10.255.255.255", 1, "11.0.0.0");
	check_add("10.0.1.0", -1, "10.0.0.255");
	check_add("11.0.0.0", -1, "10.255.255.255");
	check_add("10.0.0.0", 65536, "10.1.0.0");
	check_add("10.0.0.0", 0, "10.0.0.0");
	check_add("0.0.0.0", 4294967295LL, "255.255.255.255");
	check_add("255.255.255.255", 1, NULL);
	check_add("0.0.0.0", -1, NULL);
	check_add("0.0.0.0", 4294967296LL, NULL);
	check_add("255.255.255.255", -4294967296LL, NULL);
	check_add("10.0.0.0", INT64_MIN, NULL);
	check_add("10.0.0.0", INT64_MAX, NULL);
	check_add("fd00::ffff", 1, "fd00::1:0");
	check_add("fd00::1:0", -1, "fd00::ffff");
	check_add("fd00::", 1LL << 40, "fd00::100:0:0");
	check_add("::", INT64_MAX, "::7fff:ffff:ffff:ffff");
	check_add("::ffff:ffff:ffff:ffff", 1, "0:0:0:1::");
	check_add("::1:0:0:0:0", INT64_MIN, "::8000:0:0:0");
	check_add("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, NULL);
	check_add("::", -1, NULL);

	struct ip_addr unset = { 0 };
	is_int(ip_addr_add(&unset, 1), -1, "add on an unset address fails");
}

static void check_prefix(const char *prefix, const char *first,
			 const char *last, bool canonical)
{
	struct ip_prefix p = P(prefix);
	struct ip_addr a;

	ip_prefix_first(&p, &a);
	is_str(fmt_addr(&a), first, "first of %s", prefix);
	ip_prefix_last(&p, &a);
	is_str(fmt_addr(&a), last, "last of %s", prefix);
	is_int(ip_prefix_is_canonical(&p), canonical, "%s is %scanonical",
	       prefix, canonical ? "" : "not ");
}

static void test_prefix(void)
{
	struct ip_prefix p;
	struct ip_addr a;

	check_prefix("10.0.0.0/24", "10.0.0.0", "10.0.0.255", true);
	check_prefix("10.0.0.5/24", "10.0.0.0", "10.0.0.255", false);
	check_prefix("10.0.0.0/16", "10.0.0.0", "10.0.255.255", true);
	check_prefix("10.1.0.0/15", "10.0.0.0", "10.1.255.255", false);
	check_prefix("10.0.0.0/13", "10.0.0.0", "10.7.255.255", true);
	check_prefix("10.0.0.4/30", "10.0.0.4", "10.0.0.7", true);
	check_prefix("10.0.0.9/32", "10.0.0.9", "10.0.0.9", true);
	check_prefix("0.0.0.0/0", "0.0.0.0", "255.255.255.255", true);
	check_prefix("fd00::/120", "fd00::", "fd00::ff", true);
	check_prefix("fd00::1/64", "fd00::", "fd00::ffff:ffff:ffff:ffff", false);
	check_prefix("fd00::/63", "fd00::", "fd00::1:ffff:ffff:ffff:ffff", true);
	check_prefix("::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true);

	p = P("10.0.0.0/24");
	a = A("10.0.0.0");
	ok(ip_prefix_contains(&p, &a), "10.0.0.0/24 contains 10.0.0.0");
	a = A("10.0.0.255");
	ok(ip_prefix_contains(&p, &a), "10.0.0.0/24 contains 10.0.0.255");
	a = A("10.0.1.0");
	ok(!ip_prefix_contains(&p, &a), "10.0.0.0/24 lacks 10.0.1.0");
	a = A("9.255.255.255");
	ok(!ip_prefix_contains(&p, &a), "10.0.0.0/24 lacks 9.255.255.255");
	a = A("::a00:1");
	ok(!ip_prefix_contains(&p, &a), "10.0.0.0/24 lacks an IPv6 address");
	p = P("fd00::/120");
	a = A("fd00::ff");
	ok(ip_prefix_contains(&p, &a), "fd00::/120 contains fd00::ff");
	a = A("fd00::100");
	ok(!ip_prefix_contains(&p, &a), "fd00::/120 lacks fd00::100");
	a = A("10.0.0.1");
	ok(!ip_prefix_contains(&p, &a), "fd00::/120 lacks an IPv4 address");
	p = P("0.0.0.0/0");
	ok(ip_prefix_contains(&p, &a), "0.0.0.0/0 contains everything IPv4");
}

int main(void)
{
	test_round_trips();
	test_bad_input();
	test_cmp();
	test_add();
	test_prefix();
	return done_testing();
}
