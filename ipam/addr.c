/* IPv4 and IPv6 addresses as big-endian byte arrays: parsing, formatting and
 * arithmetic written once for both families. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam/addr.h"

size_t ip_addr_bytes(const struct ip_addr *a)
{
	return a->family == AF_INET6 ? 16 : 4;
}

unsigned ip_addr_bits(const struct ip_addr *a)
{
	return (unsigned)ip_addr_bytes(a) * 8;
}

int ip_addr_parse(const char *s, struct ip_addr *out)
{
	struct ip_addr a = { 0 };

	if (!s)
		return -1;
	/* inet_pton is strict (no leading zeros in IPv4 octets, no blanks), so
	 * every spelling we accept formats back to one canonical text. */
	a.family = strchr(s, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(a.family, s, a.b) != 1)
		return -1;
	*out = a;
	return 0;
}

/* "0".."128" without sign, blanks or leading zeros; -1 otherwise. */
static int parse_prefix_len(const char *s)
{
	size_t n = strlen(s);
	int v = 0;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int ip_prefix_parse(const char *s, struct ip_prefix *out)
{
	char addr[IP_ADDR_STRLEN];
	const char *slash;
	struct ip_prefix p = { 0 };
	int len;

	if (!s)
		return -1;
	slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return -1;
	memcpy(addr, s, slash - s);
	addr[slash - s] = '\0';
	if (ip_addr_parse(addr, &p.addr) < 0)
		return -1;
	len = parse_prefix_len(slash + 1);
	if (len < 0 || (unsigned)len > ip_addr_bits(&p.addr))
		return -1;
	p.len = (uint8_t)len;
	*out = p;
	return 0;
}

void ip_addr_format(const struct ip_addr *a, char *buf, size_t len)
{
	char tmp[IP_ADDR_STRLEN];

	if (!buf || len == 0)
		return;
	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    !inet_ntop(a->family, a->b, tmp, sizeof(tmp))) {
		snprintf(buf, len, "(none)");
		return;
	}
	snprintf(buf, len, "%s", tmp);
}

void ip_prefix_format(const struct ip_prefix *p, char *buf, size_t len)
{
	char tmp[IP_ADDR_STRLEN];

	if (!buf || len == 0)
		return;
	ip_addr_format(&p->addr, tmp, sizeof(tmp));
	snprintf(buf, len, "%s/%u", tmp, (unsigned)p->len);
}

int ip_addr_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->b, b->b, ip_addr_bytes(a));
	return (c > 0) - (c < 0);
}

bool ip_addr_eq(const struct ip_addr *a, const struct ip_addr *b)
{
	return ip_addr_cmp(a, b) == 0;
}

int ip_addr_add(struct ip_addr *a, int64_t n)
{
	struct ip_addr r = *a;
	bool sub = n < 0;
	/* |n| without overflowing on INT64_MIN. */
	uint64_t mag = sub ? (uint64_t)(-(n + 1)) + 1 : (uint64_t)n;
	unsigned carry = 0;

	if (a->family != AF_INET && a->family != AF_INET6)
		return -1;
	for (size_t i = ip_addr_bytes(a); i-- > 0;) {
		int v = sub ? (int)r.b[i] - (int)(mag & 0xff) - (int)carry
			    : (int)r.b[i] + (int)(mag & 0xff) + (int)carry;

		carry = v < 0 || v > 0xff;
		r.b[i] = (uint8_t)(v & 0xff);
		mag >>= 8;
	}
	/* Bits of n left over or a final carry/borrow: past either end. */
	if (carry || mag)
		return -1;
	*a = r;
	return 0;
}

/* Sets the host bits (those after the first len) to all zeros or all ones. */
static void set_host_bits(struct ip_addr *a, unsigned len, bool ones)
{
	unsigned bits = ip_addr_bits(a);

	if (len > bits)
		len = bits;
	for (unsigned i = len; i < bits; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));

		if (ones)
			a->b[i / 8] |= m;
		else
			a->b[i / 8] &= (uint8_t)~m;
	}
}

void ip_prefix_first(const struct ip_prefix *p, struct ip_addr *out)
{
	*out = p->addr;
	set_host_bits(out, p->len, false);
}

void ip_prefix_last(const struct ip_prefix *p, struct ip_addr *out)
{
	*out = p->addr;
	set_host_bits(out, p->len, true);
}

bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *a)
{
	struct ip_addr net, x = *a;

	if (a->family != p->addr.family)
		return false;
	ip_prefix_first(p, &net);
	set_host_bits(&x, p->len, false);
	return ip_addr_eq(&net, &x);
}

bool ip_prefix_is_canonical(const struct ip_prefix *p)
{
	struct ip_addr net;

	ip_prefix_first(p, &net);
	return ip_addr_eq(&net, &p->addr);
}
