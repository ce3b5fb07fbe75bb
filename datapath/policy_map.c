/* Rules to policy map entries: port ranges as prefixes of the port, deny
 * precedence folded into the entries, and the map brought to the wanted
 * contents by difference. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "bulkhead/pin.h"
#include "datapath/names.h"
#include "datapath/policy_map.h"

/* --- expansion ------------------------------------------------------------ */

static bool proto_known(unsigned int proto)
{
	return proto == 0 || proto == IPPROTO_ICMP || proto == IPPROTO_TCP ||
	       proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

static int rule_check(const struct dp_rule *r, struct dp_err *err)
{
	bool any_port = r->port_lo == 0 && r->port_hi == 0;

	if (r->dir >= BH_DIR_MAX)
		return dp_errorf(err, -EINVAL,
				 "rule %u: direction %u is neither egress (0) nor ingress (1)",
				 r->rule_id, r->dir);
	if (r->action != BH_POLICY_ALLOW && r->action != BH_POLICY_DENY)
		return dp_errorf(err, -EINVAL,
				 "rule %u: action %u is neither allow (%d) nor deny (%d)",
				 r->rule_id, r->action, BH_POLICY_ALLOW, BH_POLICY_DENY);
	if (!proto_known(r->proto))
		return dp_errorf(err, -EINVAL,
				 "rule %u: protocol %u is not one policy can name (tcp, udp, sctp, icmp or any)",
				 r->rule_id, r->proto);
	if (any_port)
		return 0;
	if (r->proto == 0)
		return dp_errorf(err, -EINVAL,
				 "rule %u: ports %u-%u given with any protocol; ports need a protocol",
				 r->rule_id, r->port_lo, r->port_hi);
	if (r->proto == IPPROTO_ICMP)
		return dp_errorf(err, -EINVAL,
				 "rule %u: ports %u-%u given for icmp, which has no ports",
				 r->rule_id, r->port_lo, r->port_hi);
	if (r->port_lo == 0)
		return dp_errorf(err, -EINVAL,
				 "rule %u: port range %u-%u starts at 0; ports start at 1 (0-0 means any port)",
				 r->rule_id, r->port_lo, r->port_hi);
	if (r->port_lo > r->port_hi)
		return dp_errorf(err, -EINVAL,
				 "rule %u: port range %u-%u ends before it starts",
				 r->rule_id, r->port_lo, r->port_hi);
	return 0;
}

static void entry_init(struct dp_policy_entry *e, const struct dp_rule *r,
		       __u32 prefixlen, __u8 proto, __u16 port)
{
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = prefixlen;
	e->key.local_id = r->local_id;
	e->key.remote_id = r->remote_id;
	e->key.dir = r->dir;
	e->key.proto = proto;
	e->key.dport = htons(port);
	e->val.action = r->action;
	e->val.rule_id = r->rule_id;
}

/* The classic range-to-CIDR walk on 16 bits: from lo, take the largest
 * block that starts aligned at lo and does not pass hi. A range costs at
 * most 2*16 - 2 blocks, which DP_RULE_MAX_ENTRIES allows for. */
static int range_expand(const struct dp_rule *r, struct dp_policy_entry *out)
{
	uint32_t lo = r->port_lo, hi = r->port_hi;
	int n = 0;

	while (lo <= hi) {
		uint32_t size = lo ? lo & -lo : 1u << 16;
		unsigned int bits = 16;

		while (lo + size - 1 > hi)
			size >>= 1;
		for (uint32_t s = size; s > 1; s >>= 1)
			bits--;
		entry_init(&out[n++], r, BH_POLICY_PLEN_ANY_PORT + bits,
			   r->proto, (__u16)lo);
		lo += size;
	}
	return n;
}

int dp_rule_expand(const struct dp_rule *r, struct dp_policy_entry *out,
		   struct dp_err *err)
{
	int rc = rule_check(r, err);

	if (rc < 0)
		return rc;
	if (r->proto == 0) {
		entry_init(&out[0], r, BH_POLICY_PLEN_ANY_PROTO, 0, 0);
		return 1;
	}
	if (r->port_lo == 0) {
		entry_init(&out[0], r, BH_POLICY_PLEN_ANY_PORT, r->proto, 0);
		return 1;
	}
	return range_expand(r, out);
}

/* --- deny precedence ------------------------------------------------------ */

/* The bits after (local, remote, dir) that the trie matches, as one
 * big-endian 24-bit number: protocol, then port. */
static uint32_t key_tail(const struct bh_policy_key *k)
{
	return (uint32_t)k->proto << 16 | ntohs(k->dport);
}

static uint32_t tail_mask(unsigned int prefixlen)
{
	unsigned int bits = prefixlen - BH_POLICY_PLEN_ANY_PROTO;

	return bits ? (0xffffffu << (24 - bits)) & 0xffffffu : 0;
}

static void key_set_tail(struct bh_policy_key *k, uint32_t tail)
{
	k->proto = (__u8)(tail >> 16);
	k->dport = htons((__u16)(tail & 0xffff));
}

/* Entries this code can reason about: identities and direction matched
 * in full. Anything else came from another writer and is left as it is. */
static bool key_in_range(const struct bh_policy_key *k)
{
	return k->prefixlen >= BH_POLICY_PLEN_ANY_PROTO &&
	       k->prefixlen <= BH_POLICY_PLEN_PORT;
}

#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

/* Orders keys by identities, direction, protocol and port, then length,
 * so that a key and its ancestors are found by exact search. */
static int key_cmp(const struct bh_policy_key *a, const struct bh_policy_key *b)
{
	CMP(a->local_id, b->local_id);
	CMP(a->remote_id, b->remote_id);
	CMP(a->dir, b->dir);
	CMP(key_tail(a), key_tail(b));
	CMP(a->prefixlen, b->prefixlen);
	return 0;
}

static int key_cmp_void(const void *a, const void *b)
{
	return key_cmp(a, b);
}

/* Equal keys: the deny first, then the lower rule id, so the first of a
 * run of duplicates is the one to keep. */
static int entry_cmp(const void *pa, const void *pb)
{
	const struct dp_policy_entry *a = pa, *b = pb;
	int c = key_cmp(&a->key, &b->key);

	if (c)
		return c;
	CMP(a->val.action != BH_POLICY_DENY, b->val.action != BH_POLICY_DENY);
	CMP(a->val.rule_id, b->val.rule_id);
	return 0;
}

#undef CMP

/* Bits past the prefix do not take part in a match, but they do in our
 * comparisons; zeroing them makes equal prefixes equal keys. */
static void key_canonicalize(struct bh_policy_key *k)
{
	if (key_in_range(k))
		key_set_tail(k, key_tail(k) & tail_mask(k->prefixlen));
}

/* A projected deny is an allow in disguise: turn it back so that the
 * decision below is made again from the real denies alone. */
static void entry_unproject(struct dp_policy_entry *e)
{
	if (!(e->val.flags & BH_POLICY_F_PROJECTED))
		return;
	e->val.action = BH_POLICY_ALLOW;
	e->val.flags &= (__u8)~BH_POLICY_F_PROJECTED;
}

static size_t dedupe(struct dp_policy_entry *e, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++)
		if (out == 0 || key_cmp(&e[out - 1].key, &e[i].key) != 0)
			e[out++] = e[i];
	return out;
}

/* Whether a real deny of the same (local, remote, dir) holds a strictly
 * shorter prefix of k; lengths with no entry at all are skipped. */
static bool covered_by_deny(const struct dp_policy_entry *e, size_t n,
			    const struct bh_policy_key *k, const bool *has_len)
{
	struct bh_policy_key a = *k;

	for (unsigned int len = BH_POLICY_PLEN_ANY_PROTO; len < k->prefixlen; len++) {
		const struct dp_policy_entry *d;

		if (!has_len[len])
			continue;
		a.prefixlen = len;
		key_set_tail(&a, key_tail(k) & tail_mask(len));
		d = bsearch(&a, e, n, sizeof(*e), key_cmp_void);
		if (d && d->val.action == BH_POLICY_DENY &&
		    !(d->val.flags & BH_POLICY_F_PROJECTED))
			return true;
	}
	return false;
}

/* The trie answers with the longest matching prefix, so an allow longer
 * than a deny it lies in would win against it; such allows become denies.
 * A deny inside an allow needs nothing: it is the longer one already. */
size_t dp_policy_resolve(struct dp_policy_entry *e, size_t n)
{
	bool has_len[BH_POLICY_PLEN_PORT + 1] = { false };

	for (size_t i = 0; i < n; i++) {
		key_canonicalize(&e[i].key);
		entry_unproject(&e[i]);
	}
	if (n > 1)
		qsort(e, n, sizeof(*e), entry_cmp);
	n = dedupe(e, n);
	for (size_t i = 0; i < n; i++)
		if (key_in_range(&e[i].key))
			has_len[e[i].key.prefixlen] = true;
	for (size_t i = 0; i < n; i++) {
		if (e[i].val.action != BH_POLICY_ALLOW || !key_in_range(&e[i].key))
			continue;
		if (!covered_by_deny(e, n, &e[i].key, has_len))
			continue;
		/* Keeps the allow's rule id so the entry can be turned back. */
		e[i].val.action = BH_POLICY_DENY;
		e[i].val.flags |= BH_POLICY_F_PROJECTED;
	}
	return n;
}

/* --- reading and writing the map ---------------------------------------- */

/* Names an entry in error messages: "local 300 remote 0 egress tcp port 80
 * prefix /96". */
static const char *key_str(const struct bh_policy_key *k, char *buf, size_t len)
{
	const char *dir = dp_dir_name(k->dir);
	const char *proto = dp_proto_name(k->proto);
	char dirbuf[16], protobuf[16];

	if (!dir) {
		snprintf(dirbuf, sizeof(dirbuf), "dir %u", k->dir);
		dir = dirbuf;
	}
	if (!proto) {
		snprintf(protobuf, sizeof(protobuf), "proto %u", k->proto);
		proto = protobuf;
	}
	snprintf(buf, len, "local %u remote %u %s %s port %u prefix /%u",
		 k->local_id, k->remote_id, dir, proto, ntohs(k->dport),
		 k->prefixlen);
	return buf;
}

static int grow(struct dp_policy_entry **arr, size_t *cap, struct dp_err *err)
{
	size_t ncap = *cap ? *cap * 2 : 256;
	struct dp_policy_entry *p = realloc(*arr, ncap * sizeof(**arr));

	if (!p)
		return dp_errorf(err, -ENOMEM,
				 "read map %s: out of memory for %zu entries",
				 BH_MAP_POLICY, ncap);
	*arr = p;
	*cap = ncap;
	return 0;
}

/* The trie restarts its walk at the first key when the one it continues
 * from was deleted meanwhile: the walk is bounded to twice the map's size,
 * and the keys a restart saw twice are dropped. */
#define POLICY_WALK_MAX (2u * BH_MAX_POLICY)

/* The entries come back sorted by key (the order of dp_policy_resolve),
 * each key once, bits past its prefix zeroed: the kernel tells keys apart
 * by their prefix alone, and so must the diff in dp_policy_sync. */
int dp_policy_read(const struct dp_maps *m, struct dp_policy_entry **out,
		   size_t *n, struct dp_err *err)
{
	struct dp_policy_entry *arr = NULL;
	struct bh_policy_key key, last;
	size_t cnt = 0, cap = 0, seen = 0;
	char ks[128];
	int rc, e;

	while ((rc = bpf_map_get_next_key(m->policy, seen ? &last : NULL,
					  &key)) == 0) {
		last = key;
		if (++seen > POLICY_WALK_MAX) {
			rc = dp_errorf(err, -EAGAIN,
				       "read map %s: the walk did not end after %u keys (written to meanwhile?)",
				       BH_MAP_POLICY, POLICY_WALK_MAX);
			goto out;
		}
		if (cnt == cap && (rc = grow(&arr, &cap, err)) < 0)
			goto out;
		arr[cnt].key = key;
		rc = bpf_map_lookup_elem(m->policy, &key, &arr[cnt].val);
		if (rc == 0) {
			key_canonicalize(&arr[cnt].key);
			cnt++;
			continue;
		}
		if (errno == ENOENT)	/* deleted since the walk saw it */
			continue;
		e = errno;
		rc = dp_errorf(err, -e, "read %s from map %s: %s",
			       key_str(&key, ks, sizeof(ks)), BH_MAP_POLICY,
			       strerror(e));
		goto out;
	}
	if (errno != ENOENT) {
		rc = dp_errorf(err, -errno, "walk map %s: %s", BH_MAP_POLICY,
			       strerror(errno));
		goto out;
	}
	if (cnt > 1)
		qsort(arr, cnt, sizeof(*arr), entry_cmp);
	*n = dedupe(arr, cnt);
	*out = arr;
	arr = NULL;
	rc = 0;
out:
	free(arr);
	return rc;
}

static bool val_same(const struct bh_policy_value *a,
		     const struct bh_policy_value *b)
{
	return a->action == b->action && a->flags == b->flags &&
	       a->rule_id == b->rule_id;
}

/* What one sync does to one key: write it (kept counters in val), or
 * delete it. */
struct change {
	struct dp_policy_entry e;
	bool del;
	bool stays;	/* the key stays with a new value: keep its counters */
};

/* Pairs the sorted current and wanted entries into the changes that turn
 * one into the other; *out is malloc'd. */
static int diff(const struct dp_policy_entry *cur, size_t ncur,
		const struct dp_policy_entry *want, size_t nwant,
		struct change **out, size_t *nout, struct dp_err *err)
{
	struct change *ch;
	size_t i = 0, j = 0, k = 0;

	ch = calloc(ncur + nwant ? ncur + nwant : 1, sizeof(*ch));
	if (!ch)
		return dp_errorf(err, -ENOMEM,
				 "sync map %s: out of memory comparing %zu with %zu entries",
				 BH_MAP_POLICY, ncur, nwant);
	while (i < ncur || j < nwant) {
		int c = i == ncur ? 1 : j == nwant ? -1 :
			key_cmp(&cur[i].key, &want[j].key);

		if (c < 0) {
			ch[k].e = cur[i++];
			ch[k++].del = true;
		} else if (c > 0) {
			ch[k++].e = want[j++];
		} else {
			if (!val_same(&cur[i].val, &want[j].val)) {
				ch[k].e = want[j];
				ch[k++].stays = true;
			}
			i++;
			j++;
		}
	}
	*out = ch;
	*nout = k;
	return 0;
}

static int apply(const struct dp_maps *m, struct change *c,
		 struct dp_err *err)
{
	struct bh_policy_value cur;
	char ks[128];
	int e;

	/* The map, not the caller's copy, has the current hit counters. */
	if (c->stays && bpf_map_lookup_elem(m->policy, &c->e.key, &cur) == 0) {
		c->e.val.packets = cur.packets;
		c->e.val.bytes = cur.bytes;
	}

	if (c->del) {
		if (bpf_map_delete_elem(m->policy, &c->e.key) == 0 ||
		    errno == ENOENT)
			return 0;
		e = errno;
		return dp_errorf(err, -e, "delete %s from map %s: %s",
				 key_str(&c->e.key, ks, sizeof(ks)),
				 BH_MAP_POLICY, strerror(e));
	}
	if (bpf_map_update_elem(m->policy, &c->e.key, &c->e.val, BPF_ANY) == 0)
		return 0;
	e = errno;
	return dp_errorf(err, -e, "write %s to map %s: %s%s",
			 key_str(&c->e.key, ks, sizeof(ks)), BH_MAP_POLICY,
			 strerror(e), e == ENOSPC || e == E2BIG ?
			 " (the map is full)" : "");
}

/* The order of the writes keeps every moment of the sync no more open
 * than the old or the new contents: first the denies that appear, then
 * the allows that go, then the allows that appear, and last the denies
 * that go. A lookup in between finds either an entry of the old set that
 * the new one keeps, or one of the new set. */
static int phase_of(const struct change *c)
{
	bool deny = c->e.val.action == BH_POLICY_DENY;

	if (!c->del)
		return deny ? 0 : 2;
	return deny ? 3 : 1;
}

/* Sorts and dedupes want into a new array (canonical keys), as the map
 * will hold it. */
static int want_sorted(const struct dp_policy_entry *want, size_t *n,
		       struct dp_policy_entry **out, struct dp_err *err)
{
	struct dp_policy_entry *sorted = malloc((*n ? *n : 1) * sizeof(*sorted));

	if (!sorted)
		return dp_errorf(err, -ENOMEM,
				 "sync map %s: out of memory for %zu entries",
				 BH_MAP_POLICY, *n);
	if (*n)
		memcpy(sorted, want, *n * sizeof(*sorted));
	for (size_t i = 0; i < *n; i++)
		key_canonicalize(&sorted[i].key);
	/* A caller that did not resolve may pass a key twice; the map can
	 * hold it once, and the one resolve would keep is written. */
	qsort(sorted, *n, sizeof(*sorted), entry_cmp);
	*n = dedupe(sorted, *n);
	*out = sorted;
	return 0;
}

/* Writes the changes from cur to want whose phase is in phases (a bit
 * per phase_of()); counts them in *writes. */
static int sync_phases(const struct dp_maps *m, const struct dp_policy_entry *cur,
		       size_t ncur, const struct dp_policy_entry *want, size_t n,
		       unsigned int phases, size_t *writes, struct dp_err *err)
{
	struct dp_policy_entry *sorted = NULL;
	struct change *ch = NULL;
	size_t nch = 0;
	int rc;

	rc = want_sorted(want, &n, &sorted, err);
	if (rc == 0)
		rc = diff(cur, ncur, sorted, n, &ch, &nch, err);
	for (int phase = 0; rc == 0 && phase < 4; phase++) {
		if (!(phases & (1u << phase)))
			continue;
		for (size_t i = 0; i < nch && rc == 0; i++) {
			if (phase_of(&ch[i]) != phase)
				continue;
			rc = apply(m, &ch[i], err);
			if (rc == 0)
				(*writes)++;
		}
	}
	free(ch);
	free(sorted);
	return rc;
}

int dp_policy_sync(const struct dp_maps *m, const struct dp_policy_entry *want,
		   size_t n, size_t *changed, struct dp_err *err)
{
	struct dp_policy_entry *cur = NULL;
	size_t ncur = 0, writes = 0;
	int rc;

	if (changed)
		*changed = 0;
	rc = dp_policy_read(m, &cur, &ncur, err);
	if (rc == 0)
		rc = sync_phases(m, cur, ncur, want, n, 0xf, &writes, err);
	/* Even a sync that failed halfway changed the map: cached verdicts
	 * must not outlive the entries they were made from. */
	if (writes) {
		int brc = dp_policy_rev_bump(m, err);

		if (rc == 0)
			rc = brc;
	}
	if (changed)
		*changed = writes;
	free(cur);
	return rc;
}

int dp_policy_apply(const struct dp_maps *m, const struct dp_policy_entry *cur,
		    size_t ncur, const struct dp_policy_entry *want, size_t n,
		    enum dp_policy_step step, size_t *changed, struct dp_err *err)
{
	/* Adding: the denies and the allows that appear; removing: those that
	 * go (phase_of() numbers them). */
	unsigned int phases = step == DP_POLICY_ADD ? 0x5 : 0xa;
	size_t writes = 0;
	int rc;

	rc = sync_phases(m, cur, ncur, want, n, phases, &writes, err);
	if (changed)
		*changed = writes;
	return rc;
}
