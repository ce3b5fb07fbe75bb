/* Helpers the C unit tests share: addresses from literals, addresses and
 * strings made printable for TAP lines. */
#ifndef BH_TESTS_TEST_UTIL_H
#define BH_TESTS_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "ipam/addr.h"

/* A literal the test itself got wrong is a bail-out, not a failed check. */
static inline struct ip_addr A(const char *s)
{
	struct ip_addr a = { 0 };

	if (ip_addr_parse(s, &a) < 0) {
		printf("Bail out! bad address in test: %s\n", s);
		exit(255);
	}
	return a;
}

static inline struct ip_prefix P(const char *s)
{
	struct ip_prefix p = { 0 };

	if (ip_prefix_parse(s, &p) < 0) {
		printf("Bail out! bad prefix in test: %s\n", s);
		exit(255);
	}
	return p;
}

/* Four rotating buffers, so one printf can format several. */
static inline const char *fmt_addr(const struct ip_addr *a)
{
	static char buf[4][IP_ADDR_STRLEN];
	static int i;

	i = (i + 1) % 4;
	ip_addr_format(a, buf[i], sizeof(buf[i]));
	return buf[i];
}

static inline const char *fmt_prefix(const struct ip_prefix *p)
{
	static char buf[4][IP_PREFIX_STRLEN];
	static int i;

	i = (i + 1) % 4;
	ip_prefix_format(p, buf[i], sizeof(buf[i]));
	return buf[i];
}

/* s with control characters as '?' and cut with "...", so a test name
 * stays on its TAP line. */
static inline const char *printable(const char *s)
{
	static char buf[96];
	size_t i;

	for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
		buf[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	buf[i] = '\0';
	if (s[i])
		snprintf(buf + sizeof(buf) - 4, 4, "...");
	return buf;
}

#endif
