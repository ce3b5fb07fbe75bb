/* Unit tests of the policy map compiler: rules expanded into prefixes that
 * cover exactly their ports, and deny precedence folded into the entries,
 * both checked against a longest-prefix matcher written here. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "datapath/policy_map.h"
#include "tests/tap.h"
#include "tests/test_util.h"

#define TCP 6
#define UDP 17
#define SCTP 132
#define ICMP 1
#define ALLOW BH_POLICY_ALLOW
#define DENY BH_POLICY_DENY

/* --- a matcher like the kernel's trie ------------------------------------ */

/* The 24 bits after (local, remote, dir), big-endian: protocol, port. */
static uint32_t tail(unsigned int proto, unsigned int port)
{
	return proto << 16 | port;
}

static uint32_t mask_of(unsigned int prefixlen)
{
	unsigned int bits = prefixlen - BH_POLICY_PLEN_ANY_PROTO;

	return bits ? (0xffffffu << (24 - bits)) & 0xffffffu : 0;
}

static bool entry_matches(const struct dp_policy_entry *e, __u32 local,
			  __u32 remote, unsigned int dir, unsigned int proto,
			  unsigned int port)
{
	uint32_t m = mask_of(e->key.prefixlen);
	uint32_t k = tail(e->key.proto, ntohs(e->key.dport));

	return e->key.local_id == local && e->key.remote_id == remote &&
	       e->key.dir == dir && (k & m) == (tail(proto, port) & m);
}

/* The longest matching entry, as one trie lookup would return it. */
static const struct dp_policy_entry *
lpm(const struct dp_policy_entry *e, size_t n, __u32 local, __u32 remote,
    unsigned int dir, unsigned int proto, unsigned int port)
{
	const struct dp_policy_entry *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (entry_matches(&e[i], local, remote, dir, proto, port) &&
		    (!best || e[i].key.prefixlen > best->key.prefixlen))
			best = &e[i];
	return best;
}

/* --- expansion ----------------------------------------------------------- */

static struct dp_rule rule(unsigned int proto, unsigned int lo,
			   unsigned int hi, unsigned int action, __u32 id)
{
	struct dp_rule r = {
		.local_id = 300, .remote_id = 400, .dir = BH_DIR_INGRESS,
		.proto = (__u8)proto, .action = (__u8)action,
		.port_lo = (__u16)lo, .port_hi = (__u16)hi, .rule_id = id,
	};

	return r;
}

/* The fewest aligned blocks covering [lo, hi], counted by splitting the
 * port space as a binary tree: a different road to the same number. */
static int min_blocks(uint32_t base, uint32_t size, uint32_t lo, uint32_t hi)
{
	if (base > hi || base + size - 1 < lo)
		return 0;
	if (base >= lo && base + size - 1 <= hi)
		return 1;
	return min_blocks(base, size / 2, lo, hi) +
	       min_blocks(base + size / 2, size / 2, lo, hi);
}

/* Fields every entry of r must carry, whatever its prefix. */
static bool entry_fields_ok(const struct dp_policy_entry *e,
			    const struct dp_rule *r)
{
	uint32_t k = tail(e->key.proto, ntohs(e->key.dport));

	return e->key.local_id == r->local_id &&
	       e->key.remote_id == r->remote_id && e->key.dir == r->dir &&
	       e->key.proto == r->proto && e->val.action == r->action &&
	       e->val.rule_id == r->rule_id && e->val.flags == 0 &&
	       e->val.pad == 0 && e->val.packets == 0 && e->val.bytes == 0 &&
	       e->key.prefixlen >= BH_POLICY_PLEN_ANY_PORT &&
	       e->key.prefixlen <= BH_POLICY_PLEN_PORT &&
	       (k & ~mask_of(e->key.prefixlen)) == 0;
}

/* Checks one port range by brute force: every port of [lo, hi] is matched
 * by exactly one entry, no port outside by any, in the fewest entries. */
static void expand_range(unsigned int lo, unsigned int hi, int want_n)
{
	struct dp_policy_entry e[DP_RULE_MAX_ENTRIES];
	struct dp_rule r = rule(TCP, lo, hi, ALLOW, 7);
	struct dp_err err = { 0 };
	unsigned int bad_port = 0, bad_count = 0, fields_bad = 0;
	int n = dp_rule_expand(&r, e, &err);

	if (!is_int(n, want_n, "tcp %u-%u: %d entries", lo, hi, want_n)) {
		diag("error: %s", err.msg);
		if (n < 0)
			return;
	}
	is_int(n, min_blocks(0, 1u << 16, lo, hi), "  as few as can be");
	for (int i = 0; i < n; i++)
		if (!entry_fields_ok(&e[i], &r))
			fields_bad++;
	is_int(fields_bad, 0, "  every entry carries the rule and a clean key");
	for (unsigned int port = 0; port < 1u << 16; port++) {
		unsigned int hits = 0;

		for (int i = 0; i < n; i++)
			hits += entry_matches(&e[i], 300, 400, BH_DIR_INGRESS,
					      TCP, port);
		if (hits != (port >= lo && port <= hi)) {
			if (!bad_count)
				bad_port = port;
			bad_count++;
		}
	}
	if (!is_int(bad_count, 0, "  covers exactly %u-%u", lo, hi))
		diag("first wrong port: %u", bad_port);
	/* Another protocol's port is not covered. */
	ok(!lpm(e, (size_t)(n > 0 ? n : 0), 300, 400, BH_DIR_INGRESS, UDP, lo),
	   "  udp %u is not covered", lo);
}

/* A range of random ports, checked by block arithmetic (brute force over
 * every port costs too much for hundreds of ranges). */
static bool expand_random_one(unsigned int lo, unsigned int hi)
{
	struct dp_policy_entry e[DP_RULE_MAX_ENTRIES];
	struct dp_rule r = rule(UDP, lo, hi, DENY, 9);
	struct dp_err err = { 0 };
	uint32_t next = lo;
	int n = dp_rule_expand(&r, e, &err);

	if (n <= 0 || n != min_blocks(0, 1u << 16, lo, hi)) {
		diag("%u-%u: %d entries, fewest is %d (%s)", lo, hi, n,
		     min_blocks(0, 1u << 16, lo, hi), err.msg);
		return false;
	}
	/* The blocks come out in order, each starting where the last ended. */
	for (int i = 0; i < n; i++) {
		uint32_t size = 1u << (BH_POLICY_PLEN_PORT - e[i].key.prefixlen);

		if (!entry_fields_ok(&e[i], &r) || ntohs(e[i].key.dport) != next) {
			diag("%u-%u: entry %d starts at %u, wanted %u", lo, hi,
			     i, ntohs(e[i].key.dport), next);
			return false;
		}
		next += size;
	}
	if (next != hi + 1) {
		diag("%u-%u: blocks end at %u", lo, hi, next - 1);
		return false;
	}
	return true;
}

static void test_expand_random(void)
{
	unsigned int seed = (unsigned int)time(NULL), fails = 0;

	srand(seed);
	for (int i = 0; i < 2000; i++) {
		unsigned int a = 1 + (unsigned int)rand() % 65535;
		unsigned int b = 1 + (unsigned int)rand() % 65535;

		if (!expand_random_one(a < b ? a : b, a < b ? b : a))
			fails++;
	}
	if (!is_int(fails, 0, "2000 random ranges: fewest blocks, in order, exact"))
		diag("seed %u", seed);
}

static void expand_any(unsigned int proto, unsigned int want_plen)
{
	struct dp_policy_entry e[DP_RULE_MAX_ENTRIES];
	struct dp_rule r = rule(proto, 0, 0, DENY, 11);
	struct dp_err err = { 0 };
	int n = dp_rule_expand(&r, e, &err);

	if (!is_int(n, 1, "proto %u any port: one entry", proto)) {
		diag("error: %s", err.msg);
		return;
	}
	is_int(e[0].key.prefixlen, want_plen, "  prefix /%u", want_plen);
	is_int(e[0].key.proto, proto, "  proto %u", proto);
	is_int(e[0].key.dport, 0, "  port 0");
	ok(e[0].val.action == DENY && e[0].val.rule_id == 11 &&
	   e[0].val.flags == 0 && e[0].val.packets == 0, "  value from the rule");
	ok(lpm(e, 1, 300, 400, BH_DIR_INGRESS, proto ? proto : UDP, 65535),
	   "  matches port 65535");
}

static void expand_bad(struct dp_rule r, const char *what, const char *want_msg)
{
	struct dp_policy_entry e[DP_RULE_MAX_ENTRIES];
	struct dp_err err = { 0 };

	is_int(dp_rule_expand(&r, e, &err), -EINVAL, "rejected: %s", what);
	is_int(err.code, -EINVAL, "  code -EINVAL");
	if (!ok(strstr(err.msg, want_msg), "  message mentions '%s'", want_msg))
		diag("message: %s", err.msg);
}

static void test_expand(void)
{
	struct dp_rule r;

	expand_range(1, 65535, 16);
	expand_range(80, 80, 1);
	expand_range(80, 81, 1);
	expand_range(81, 82, 2);
	expand_range(1023, 1025, 2);
	expand_range(1024, 65535, 6);
	expand_range(1, 65534, DP_RULE_MAX_ENTRIES);
	expand_range(2, 65534, 29);
	expand_range(65535, 65535, 1);
	expand_range(1, 1, 1);
	expand_range(32768, 65535, 1);
	test_expand_random();

	expand_any(TCP, BH_POLICY_PLEN_ANY_PORT);
	expand_any(UDP, BH_POLICY_PLEN_ANY_PORT);
	expand_any(SCTP, BH_POLICY_PLEN_ANY_PORT);
	expand_any(ICMP, BH_POLICY_PLEN_ANY_PORT);
	expand_any(0, BH_POLICY_PLEN_ANY_PROTO);

	r = rule(TCP, 80, 80, ALLOW, 1);
	r.dir = BH_DIR_MAX;
	expand_bad(r, "direction 2", "direction 2");
	r = rule(TCP, 80, 80, 0, 1);
	expand_bad(r, "action 0", "action 0");
	r = rule(TCP, 80, 80, 3, 1);
	expand_bad(r, "action 3", "neither allow");
	expand_bad(rule(2, 0, 0, ALLOW, 1), "protocol 2 (igmp)", "protocol 2");
	expand_bad(rule(255, 0, 0, ALLOW, 1), "protocol 255", "protocol 255");
	expand_bad(rule(0, 80, 80, ALLOW, 1), "any protocol with a port",
		   "ports need a protocol");
	expand_bad(rule(0, 0, 80, ALLOW, 1), "any protocol with 0-80",
		   "ports need a protocol");
	expand_bad(rule(ICMP, 8, 8, ALLOW, 1), "icmp with a port",
		   "icmp, which has no ports");
	expand_bad(rule(TCP, 0, 80, ALLOW, 1), "range from port 0",
		   "starts at 0");
	expand_bad(rule(UDP, 90, 80, ALLOW, 1), "range 90-80", "90-80 ends before");
	expand_bad(rule(UDP, 80, 0, ALLOW, 1), "range 80-0", "80-0 ends before");
	r = rule(SCTP, 5, 4, ALLOW, 42);
	expand_bad(r, "message names the rule", "rule 42:");
}

/* --- deny precedence ----------------------------------------------------- */

/* A growing list of entries for resolve tests. */
struct set {
	struct dp_policy_entry e[512];
	size_t n;
};

static void add(struct set *s, struct dp_rule r)
{
	struct dp_err err = { 0 };
	int n = dp_rule_expand(&r, s->e + s->n, &err);

	if (n < 0 || s->n + (size_t)n > sizeof(s->e) / sizeof(s->e[0])) {
		printf("Bail out! test rule rejected: %s\n", err.msg);
		exit(255);
	}
	s->n += (size_t)n;
}

static struct dp_rule rule_for(__u32 local, __u32 remote, unsigned int dir,
			       unsigned int proto, unsigned int lo,
			       unsigned int hi, unsigned int action, __u32 id)
{
	struct dp_rule r = rule(proto, lo, hi, action, id);

	r.local_id = local;
	r.remote_id = remote;
	r.dir = (__u8)dir;
	return r;
}

/* The entry with this rule id and prefix length, or NULL. */
static const struct dp_policy_entry *find(const struct set *s, __u32 id,
					  unsigned int plen)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].val.rule_id == id && s->e[i].key.prefixlen == plen)
			return &s->e[i];
	return NULL;
}

static void is_entry(const struct set *s, __u32 id, unsigned int plen,
		     unsigned int action, unsigned int flags, const char *what)
{
	const struct dp_policy_entry *e = find(s, id, plen);

	if (!ok(e, "%s: rule %u /%u is there", what, id, plen))
		return;
	is_int(e->val.action, action, "  action %s",
	       action == ALLOW ? "allow" : "deny");
	is_int(e->val.flags, flags, "  flags %u", flags);
}

static void resolve(struct set *s)
{
	s->n = dp_policy_resolve(s->e, s->n);
}

static void test_projection(void)
{
	struct set s = { .n = 0 };
	size_t n;

	/* allow tcp/80 inside deny tcp/any: projected, keeping its rule id. */
	add(&s, rule(TCP, 0, 0, DENY, 1));
	add(&s, rule(TCP, 80, 80, ALLOW, 2));
	/* allow udp/53 inside deny any-protocol of another direction: left. */
	add(&s, rule_for(300, 400, BH_DIR_EGRESS, UDP, 53, 53, ALLOW, 3));
	/* deny tcp/22 inside allow any-protocol of egress: both left. */
	add(&s, rule_for(300, 400, BH_DIR_EGRESS, 0, 0, 0, ALLOW, 4));
	add(&s, rule_for(300, 400, BH_DIR_EGRESS, TCP, 22, 22, DENY, 5));
	n = s.n;
	resolve(&s);
	is_int(s.n, n, "no duplicates: nothing removed");
	is_entry(&s, 1, 80, DENY, 0, "deny tcp/any");
	is_entry(&s, 2, 96, DENY, BH_POLICY_F_PROJECTED, "allow tcp/80 inside it");
	is_entry(&s, 3, 96, ALLOW, 0, "allow udp/53 egress");
	is_entry(&s, 4, 72, ALLOW, 0, "allow any egress");
	is_entry(&s, 5, 96, DENY, 0, "deny tcp/22 inside the allow");

	/* Resolving again changes nothing. */
	{
		struct set again = s;

		resolve(&again);
		ok(again.n == s.n &&
		   memcmp(again.e, s.e, s.n * sizeof(s.e[0])) == 0,
		   "resolving a resolved set changes nothing");
	}

	/* The deny goes: the projected allow is an allow again. */
	for (size_t i = 0; i < s.n; i++)
		if (s.e[i].val.rule_id == 1)
			s.e[i] = s.e[--s.n];
	resolve(&s);
	is_int(s.n, n - 1, "deny removed: one entry fewer");
	is_entry(&s, 2, 96, ALLOW, 0, "allow tcp/80 restored");
}

static void test_projection_ranges(void)
{
	struct set s = { .n = 0 };

	/* deny tcp 80-81 (one /15) covers allow 81, not allow 82 nor 79. */
	add(&s, rule(TCP, 80, 81, DENY, 1));
	add(&s, rule(TCP, 81, 81, ALLOW, 2));
	add(&s, rule(TCP, 82, 82, ALLOW, 3));
	add(&s, rule(TCP, 79, 79, ALLOW, 4));
	/* allow 1000-1100 partly inside deny 1024-2047: only the blocks in
	 * the deny are projected. */
	add(&s, rule(TCP, 1024, 2047, DENY, 5));
	add(&s, rule(TCP, 1000, 1100, ALLOW, 6));
	/* any-protocol deny covers every protocol of a narrower allow. */
	add(&s, rule_for(300, 401, BH_DIR_INGRESS, 0, 0, 0, DENY, 7));
	add(&s, rule_for(300, 401, BH_DIR_INGRESS, SCTP, 1, 65535, ALLOW, 8));
	add(&s, rule_for(300, 401, BH_DIR_INGRESS, ICMP, 0, 0, ALLOW, 9));
	resolve(&s);

	is_entry(&s, 2, 96, DENY, BH_POLICY_F_PROJECTED, "allow 81 in deny 80-81");
	is_entry(&s, 3, 96, ALLOW, 0, "allow 82 beside it");
	is_entry(&s, 4, 96, ALLOW, 0, "allow 79 beside it");
	is_entry(&s, 6, 96 - 3, ALLOW, 0, "allow 1000-1007 (/13) outside 1024-2047");
	is_entry(&s, 6, 96 - 6, DENY, BH_POLICY_F_PROJECTED,
		 "allow 1024-1087 (/10) inside 1024-2047");
	{
		unsigned int allows = 0, projected = 0;

		for (size_t i = 0; i < s.n; i++) {
			if (s.e[i].val.rule_id != 8)
				continue;
			allows += s.e[i].val.action == ALLOW;
			projected += s.e[i].val.flags == BH_POLICY_F_PROJECTED;
		}
		is_int(allows, 0, "sctp 1-65535 under any-protocol deny: no allow left");
		is_int(projected, 16, "  all 16 blocks projected");
	}
	is_entry(&s, 9, 80, DENY, BH_POLICY_F_PROJECTED, "icmp under any-protocol deny");
}

static void test_duplicates(void)
{
	struct set s = { .n = 0 };
	struct set p = { .n = 0 };

	add(&s, rule(TCP, 443, 443, ALLOW, 5));
	add(&s, rule(TCP, 443, 443, DENY, 9));
	add(&s, rule(UDP, 53, 53, ALLOW, 7));
	add(&s, rule(UDP, 53, 53, ALLOW, 3));
	add(&s, rule(SCTP, 0, 0, DENY, 4));
	add(&s, rule(SCTP, 0, 0, DENY, 2));
	add(&s, rule(SCTP, 0, 0, ALLOW, 1));
	resolve(&s);
	is_int(s.n, 3, "seven entries on three keys: three left");
	is_entry(&s, 9, 96, DENY, 0, "tcp/443 allow 5 + deny 9: the deny");
	is_entry(&s, 3, 96, ALLOW, 0, "udp/53 allows 7 and 3: the lower id");
	is_entry(&s, 2, 80, DENY, 0, "sctp denies 4, 2 and allow 1: deny 2");

	/* A projected deny left from an earlier resolve counts as the allow it
	 * was: against a plain allow of the same key, the lower id wins. */
	add(&p, rule(TCP, 80, 80, ALLOW, 8));
	p.e[0].val.action = DENY;
	p.e[0].val.flags = BH_POLICY_F_PROJECTED;
	add(&p, rule(TCP, 80, 80, ALLOW, 6));
	resolve(&p);
	is_int(p.n, 1, "projected deny and allow of one key: one left");
	is_entry(&p, 6, 96, ALLOW, 0, "  the allow with the lower id, no deny left");
}

static void test_no_crosstalk(void)
{
	struct set s = { .n = 0 };

	add(&s, rule_for(300, 400, BH_DIR_INGRESS, TCP, 0, 0, DENY, 1));
	add(&s, rule_for(300, 500, BH_DIR_INGRESS, TCP, 80, 80, ALLOW, 2));
	add(&s, rule_for(301, 400, BH_DIR_INGRESS, TCP, 80, 80, ALLOW, 3));
	add(&s, rule_for(300, 400, BH_DIR_EGRESS, TCP, 80, 80, ALLOW, 4));
	/* The any-identity entries are a separate lookup in the datapath:
	 * a deny for any remote does not project an allow for one remote,
	 * nor the other way round. */
	add(&s, rule_for(300, BH_POLICY_ANY_ID, BH_DIR_INGRESS, UDP, 0, 0, DENY, 5));
	add(&s, rule_for(300, 400, BH_DIR_INGRESS, UDP, 53, 53, ALLOW, 6));
	add(&s, rule_for(300, 400, BH_DIR_INGRESS, UDP, 0, 0, DENY, 7));
	add(&s, rule_for(300, BH_POLICY_ANY_ID, BH_DIR_INGRESS, UDP, 53, 53, ALLOW, 8));
	resolve(&s);
	is_entry(&s, 2, 96, ALLOW, 0, "deny for remote 400 leaves remote 500 alone");
	is_entry(&s, 3, 96, ALLOW, 0, "  and local 301");
	is_entry(&s, 4, 96, ALLOW, 0, "  and the other direction");
	is_entry(&s, 6, 96, DENY, BH_POLICY_F_PROJECTED,
		 "deny udp for remote 400 projects its allow udp/53");
	is_entry(&s, 8, 96, DENY, BH_POLICY_F_PROJECTED,
		 "deny udp for any remote projects the any-remote allow");
}

/* Deny-beats-allow by definition, for one protocol and port. */
static int want_verdict(const struct dp_rule *rules, int n, unsigned int proto,
			unsigned int port)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		const struct dp_rule *r = &rules[i];
		bool hit = (r->proto == 0 || r->proto == proto) &&
			   ((r->port_lo == 0 && r->port_hi == 0) ||
			    (port >= r->port_lo && port <= r->port_hi));

		if (!hit)
			continue;
		if (r->action == DENY)
			return DENY;
		v = ALLOW;
	}
	return v;
}

static struct dp_rule random_rule(__u32 id)
{
	static const unsigned int protos[] = { TCP, TCP, UDP, 0 };
	unsigned int proto = protos[rand() % 4];
	unsigned int action = rand() % 3 ? ALLOW : DENY;
	unsigned int lo = 0, hi = 0;

	if (proto && rand() % 5) {
		/* Small ranges near each other, so rules overlap. */
		lo = 1 + (unsigned int)rand() % 2000;
		hi = lo + (rand() % 2 ? 0 : (unsigned int)rand() % 600);
	}
	return rule(proto, lo, hi, action, id);
}

/* Random rule sets of one (local, remote, dir): after resolving, one
 * longest-prefix lookup gives the deny-beats-allow verdict for every port
 * of tcp and udp. */
static void test_resolve_semantics(void)
{
	unsigned int seed = (unsigned int)time(NULL) ^ 0x5eed, bad_sets = 0;

	srand(seed);
	for (int round = 0; round < 12; round++) {
		struct dp_rule rules[8];
		struct set s = { .n = 0 };
		int nr = 2 + rand() % 6;
		unsigned int bad = 0;

		for (int i = 0; i < nr; i++) {
			rules[i] = random_rule((__u32)(i + 1));
			add(&s, rules[i]);
		}
		resolve(&s);
		for (unsigned int p = 0; p < 2; p++) {
			unsigned int proto = p ? UDP : TCP;

			for (unsigned int port = 0; port < 2700; port++) {
				const struct dp_policy_entry *e =
					lpm(s.e, s.n, 300, 400, BH_DIR_INGRESS,
					    proto, port);
				int got = e ? e->val.action : 0;

				if (got != want_verdict(rules, nr, proto, port) &&
				    !bad++)
					diag("round %d: proto %u port %u: got %d want %d",
					     round, proto, port, got,
					     want_verdict(rules, nr, proto, port));
			}
		}
		bad_sets += bad != 0;
	}
	if (!is_int(bad_sets, 0, "12 random rule sets: lookup gives deny-beats-allow"))
		diag("seed %u", seed);
}

/* 100,000 entries resolve in well under a second: no pairwise compare.
 * Ports over 7 local and 2 remote identities; local 256 also gets an
 * any-port deny now and then, whose copies share a key and fold into one. */
static void test_resolve_scale(void)
{
	size_t n = 100000, want_n = 0, want_projected = 0, projected = 0;
	struct dp_policy_entry *e = calloc(n, sizeof(*e));
	bool denied[7][2] = { { false } };
	struct timespec t0, t1;
	double ms;

	if (!e) {
		printf("Bail out! out of memory\n");
		exit(255);
	}
	for (size_t i = 0; i < n; i++) {
		struct dp_rule r = rule(TCP, 1 + i % 60000, 1 + i % 60000,
					ALLOW, (__u32)i + 1);

		r.local_id = 256 + (__u32)(i % 7);
		r.remote_id = 1000 + (__u32)(i / 60000);
		if (i % 7000 == 0) {
			r.port_lo = r.port_hi = 0;
			r.action = DENY;
			want_n += !denied[i % 7][i / 60000];
			denied[i % 7][i / 60000] = true;
		}
		if (dp_rule_expand(&r, &e[i], NULL) != 1) {
			printf("Bail out! scale rule %zu rejected\n", i);
			exit(255);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (i % 7000 == 0)
			continue;
		want_n++;
		want_projected += denied[i % 7][i / 60000];
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = dp_policy_resolve(e, n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	for (size_t i = 0; i < n; i++)
		projected += !!(e[i].val.flags & BH_POLICY_F_PROJECTED);
	is_int(n, want_n, "100000 entries, duplicate denies folded: %zu left", want_n);
	is_int(projected, want_projected, "%zu allows under a deny projected",
	       want_projected);
	ok(ms < 2000, "resolved in %.0f ms", ms);
	free(e);
}

/* --- syncing a real map ---------------------------------------------------- */

/* A policy trie and a config array of our own, no datapath needed; NULL
 * when the kernel will not make them (no privilege), and the part skips. */
static bool sync_maps(struct dp_maps *m)
{
	LIBBPF_OPTS(bpf_map_create_opts, lpm, .map_flags = BPF_F_NO_PREALLOC);
	struct bh_config cfg = { .flags = BH_CFG_F_LOADED };
	__u32 zero = 0;

	memset(m, -1, sizeof(*m));
	m->policy = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "t_policy",
				   sizeof(struct bh_policy_key),
				   sizeof(struct bh_policy_value), 1024, &lpm);
	m->config = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_config", sizeof(__u32),
				   sizeof(struct bh_config), 1, NULL);
	if (m->policy < 0 || m->config < 0 ||
	    bpf_map_update_elem(m->config, &zero, &cfg, BPF_ANY) < 0) {
		diag("cannot make BPF maps: %s", strerror(errno));
		return false;
	}
	return true;
}

static __u32 rev(const struct dp_maps *m)
{
	struct bh_config cfg = { 0 };
	__u32 zero = 0;

	bpf_map_lookup_elem(m->config, &zero, &cfg);
	return cfg.policy_rev;
}

/* Sync want and check the writes, the revision and the read-back. */
static void sync_check(const struct dp_maps *m, const struct set *want,
		       size_t want_changed, __u32 want_rev, const char *what)
{
	struct dp_err err = { 0 };
	struct dp_policy_entry *got = NULL;
	size_t changed = 99, n = 0, same = 0;

	if (!is_int(dp_policy_sync(m, want->e, want->n, &changed, &err), 0,
		    "%s: sync", what))
		diag("error: %s", err.msg);
	is_int(changed, want_changed, "  %zu writes", want_changed);
	is_int(rev(m), want_rev, "  policy revision %u", want_rev);
	if (!is_int(dp_policy_read(m, &got, &n, &err), 0, "  read back"))
		diag("error: %s", err.msg);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < want->n; j++)
			if (memcmp(&got[i].key, &want->e[j].key, sizeof(got[i].key)) == 0 &&
			    got[i].val.action == want->e[j].val.action &&
			    got[i].val.flags == want->e[j].val.flags &&
			    got[i].val.rule_id == want->e[j].val.rule_id)
				same++;
	ok(n == want->n && same == n, "  the map holds the %zu wanted entries (got %zu, %zu alike)",
	   want->n, n, same);
	free(got);
}

static __u64 packets_of(const struct dp_maps *m, const struct dp_policy_entry *e)
{
	struct bh_policy_value v = { 0 };

	bpf_map_lookup_elem(m->policy, &e->key, &v);
	return v.packets;
}

static void test_sync(void)
{
	struct dp_maps m;
	struct set s = { .n = 0 }, with_deny;
	struct dp_policy_entry hit, odd;
	struct bh_policy_value v;

	if (!sync_maps(&m)) {
		ok(1, "# SKIP sync: no BPF maps here");
		goto out;
	}
	add(&s, rule(TCP, 80, 80, ALLOW, 1));
	add(&s, rule(TCP, 8000, 8100, ALLOW, 2));
	add(&s, rule(UDP, 0, 0, ALLOW, 3));
	resolve(&s);
	sync_check(&m, &s, s.n, 1, "first sync");

	/* The datapath counted hits on tcp/80. */
	hit = *find(&s, 1, 96);
	v = hit.val;
	v.packets = 7;
	v.bytes = 700;
	bpf_map_update_elem(m.policy, &hit.key, &v, BPF_ANY);
	sync_check(&m, &s, 0, 1, "same contents again");
	is_int(packets_of(&m, &hit), 7, "  hit counter untouched");

	with_deny = s;
	add(&with_deny, rule(TCP, 0, 0, DENY, 9));
	resolve(&with_deny);
	/* the deny, tcp/80 and the 8000-8100 blocks projected */
	sync_check(&m, &with_deny, with_deny.n - 1, 2, "a deny over tcp");
	is_int(packets_of(&m, &hit), 7, "  hit counter kept through projection");
	sync_check(&m, &s, with_deny.n - 1, 3, "the deny gone");
	is_int(packets_of(&m, &hit), 7, "  hit counter kept through restoration");

	/* A key written with bits past its prefix is the same trie entry as
	 * the clean one: sync must not see two. */
	odd = *find(&s, 3, 80);
	bpf_map_delete_elem(m.policy, &odd.key);
	odd.key.dport = htons(53);
	bpf_map_update_elem(m.policy, &odd.key, &odd.val, BPF_ANY);
	sync_check(&m, &s, 0, 3, "a key with stray port bits");

	sync_check(&m, &(struct set){ .n = 0 }, s.n, 4, "sync to nothing");
	sync_check(&m, &(struct set){ .n = 0 }, 0, 4, "nothing again: no bump");
out:
	if (m.policy >= 0)
		close(m.policy);
	if (m.config >= 0)
		close(m.config);
}

int main(void)
{
	test_expand();
	test_projection();
	test_projection_ranges();
	test_duplicates();
	test_no_crosstalk();
	test_resolve_semantics();
	test_resolve_scale();
	test_sync();
	return done_testing();
}
