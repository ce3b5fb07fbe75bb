/* IP addresses and prefixes as big-endian byte arrays, one type for IPv4 and
 * IPv6, so address arithmetic is written once for both families. */
#ifndef BH_IPAM_ADDR_H
#define BH_IPAM_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IP_ADDR_STRLEN 46		/* INET6_ADDRSTRLEN */
#define IP_PREFIX_STRLEN (IP_ADDR_STRLEN + 4)

struct ip_addr {
	int family;			/* AF_INET or AF_INET6; 0 = unset */
	uint8_t b[16];			/* network order; IPv4 uses b[0..3] */
};

struct ip_prefix {
	struct ip_addr addr;
	uint8_t len;
};

size_t ip_addr_bytes(const struct ip_addr *a);	/* 4 or 16 */
unsigned ip_addr_bits(const struct ip_addr *a);	/* 32 or 128 */

/* Parse "10.0.0.1" / "fd00::1". Returns 0 or -1. */
int ip_addr_parse(const char *s, struct ip_addr *out);
/* Parse "10.0.0.0/24". Returns 0 or -1 (bad address, bad or missing length). */
int ip_prefix_parse(const char *s, struct ip_prefix *out);
void ip_addr_format(const struct ip_addr *a, char *buf, size_t len);
void ip_prefix_format(const struct ip_prefix *p, char *buf, size_t len);

/* -1/0/1; addresses of different families order by family. */
int ip_addr_cmp(const struct ip_addr *a, const struct ip_addr *b);
bool ip_addr_eq(const struct ip_addr *a, const struct ip_addr *b);
/* a += n (n may be negative); returns -1 on wrap-around, a unchanged. */
int ip_addr_add(struct ip_addr *a, int64_t n);
/* Network (host bits zero) and last (host bits one) address of a prefix. */
void ip_prefix_first(const struct ip_prefix *p, struct ip_addr *out);
void ip_prefix_last(const struct ip_prefix *p, struct ip_addr *out);
bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *a);
/* True when host bits of p->addr are zero. */
bool ip_prefix_is_canonical(const struct ip_prefix *p);

#endif
