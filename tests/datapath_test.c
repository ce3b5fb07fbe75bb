/* The datapath's TC programs on crafted packets, through
 * BPF_PROG_TEST_RUN: no traffic is sent anywhere. Every verdict path is
 * run and checked three ways: the program's return code, the one counter
 * that must move (verdict, reason, direction), and the event record it
 * reports (or that it reports none).
 *
 * The test makes its own network namespace with two veth pairs and a VXLAN
 * device, so the two endpoints and the tunnel have real ifindexes
 * (BPF_PROG_TEST_RUN takes skb->ifindex from the context and wants the
 * device to exist), loads the datapath under a bpffs root of its own and
 * removes it again on the way out. A test run cannot give a packet tunnel
 * metadata: the overlay program is run behind a shim
 * (tests/bpf/tunnel_shim.bpf.c) that sets the key and tail-calls it. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bulkhead/config.h"
#include "bulkhead/conntrack.h"
#include "bulkhead/counters.h"
#include "bulkhead/endpoint.h"
#include "bulkhead/event.h"
#include "bulkhead/identity.h"
#include "bulkhead/pin.h"
#include "bulkhead/policy.h"
#include "bulkhead/reason.h"
#include "datapath/loader.h"
#include "datapath/maps.h"
#include "datapath/names.h"
#include "datapath/policy_map.h"
#include "tests/pkt_util.h"
#include "tests/tap.h"

#define ID_A	1000u
#define ID_B	2000u
#define ID_C	3000u		/* nobody on this node */
#define ID_D	4000u		/* a pod on node 2, no ipcache entry here */

#define ICMP_ECHOREPLY		0
#define ICMP_DEST_UNREACH	3
#define ICMP_ECHO		8

/* --- the node: two pods, a gateway, the world ---------------------------- */

/* A pod: its address and MACs as the endpoint map holds them, and the
 * host-side veth it hangs off. */
struct ep {
	const char *ifname;
	const char *addr;
	uint8_t mac[6];
	uint8_t host_mac[6];
	uint32_t id;
	uint32_t ip;		/* network order, from addr */
	unsigned int ifindex;
};

static struct ep A = { "bhpktA", "10.0.1.1", { 0x02, 0, 0, 0, 0x01, 0x01 },
		       { 0x02, 0, 0, 0, 0xaa, 0x01 }, ID_A, 0, 0 };
static struct ep B = { "bhpktB", "10.0.1.2", { 0x02, 0, 0, 0, 0x01, 0x02 },
		       { 0x02, 0, 0, 0, 0xbb, 0x02 }, ID_B, 0, 0 };

static const uint8_t EVIL_MAC[6] = { 0x02, 0, 0, 0, 0x66, 0x66 };

static uint32_t GW, WORLD, UNKNOWN_PEER, STRANGER;
/* Node 2 (underlay address NODE2) carries the pod CIDR REMOTE_NET, where
 * REMOTE_C (identity ID_C) has an ipcache entry of its own and REMOTE_D
 * does not. NOT_A_NODE is an underlay address outside the tunnel map. */
static uint32_t NODE1, NODE2, NOT_A_NODE, REMOTE_C, REMOTE_D;
static const uint8_t REMOTE_MAC[6] = { 0x02, 0, 0, 0, 0x02, 0x0c };
static const uint8_t NODE2_VETH_MAC[6] = { 0x02, 0, 0, 0, 0xcc, 0x0c };
static struct {
	const char *ifname;
	unsigned int ifindex;
} VXLAN = { "bhpktV", 0 };

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		printf("Bail out! bad address in test: %s\n", s);
		exit(255);
	}
	return a.s_addr;
}

/* --- one loaded datapath: its maps, programs and event reader ------------ */

struct dp {
	struct dp_maps m;
	int from, to, overlay;	/* program fds; -1 when absent */
	struct ring_buffer *rb;
};

static char root[64], full_root[64];
static struct dp node = { .from = -1, .to = -1, .overlay = -1 };
/* The shim in front of the overlay program; its key map. */
static struct bpf_object *shim_obj;
static int shim = -1, shim_key = -1;
static struct dp *cur = &node;	/* what from()/to() run against */
static struct bpf_object *full_obj;
static pid_t main_pid;

/* Events land here until the next drain; more than fit are counted. */
static struct bh_event evs[64];
static int nev, ev_lost;

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (len != sizeof(struct bh_event) ||
	    nev == (int)(sizeof(evs) / sizeof(evs[0]))) {
		ev_lost++;
		return 0;
	}
	memcpy(&evs[nev++], data, sizeof(struct bh_event));
	return 0;
}

static void drain(struct dp *dp)
{
	nev = 0;
	ev_lost = 0;
	if (dp->rb)
		ring_buffer__consume(dp->rb);
	nev = 0;
	ev_lost = 0;
}

static void cleanup(void)
{
	struct dp_err err = { 0 };

	if (getpid() != main_pid)
		return;
	if (full_obj) {
		bpf_object__unpin_maps(full_obj, NULL);
		bpf_object__close(full_obj);
		full_obj = NULL;
	}
	if (full_root[0])
		rmdir(full_root);
	if (node.rb)
		ring_buffer__free(node.rb);
	node.rb = NULL;
	if (shim_obj)
		bpf_object__close(shim_obj);
	shim_obj = NULL;
	shim = shim_key = -1;
	if (node.from >= 0)
		close(node.from);
	if (node.to >= 0)
		close(node.to);
	if (node.overlay >= 0)
		close(node.overlay);
	node.from = node.to = node.overlay = -1;
	dp_maps_close(&node.m);
	if (root[0] && dp_unload(root, &err) < 0)
		printf("# cleanup: dp_unload %s: %s\n", root, err.msg);
	root[0] = '\0';
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

#define bail(...) do { printf("Bail out! "); printf(__VA_ARGS__); \
	putchar('\n'); exit(255); } while (0)

/* A setup step that failed is a failed test: it says what and why. */
#define setup_ok(rc, what, err) do {					\
		if ((rc) < 0)						\
			ok(0, "%s: %s", (what), (err)->msg);		\
	} while (0)

/* --- names for messages ------------------------------------------------ */

static const char *num_or(const char *name, unsigned int v)
{
	static char buf[8][16];
	static int i;

	if (name)
		return name;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "#%u", v);
	return buf[i];
}

static const char *vname(unsigned int v) { return num_or(dp_verdict_name(v), v); }
static const char *rname(unsigned int r) { return num_or(dp_reason_name(r), r); }
static const char *dname(unsigned int d) { return num_or(dp_dir_name(d), d); }
static const char *pname(unsigned int p) { return num_or(dp_proto_name(p), p); }

static const char *ipstr(uint32_t ip)
{
	static char buf[8][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 8;
	inet_ntop(AF_INET, &ip, buf[i], sizeof(buf[i]));
	return buf[i];
}

static const char *macstr(const uint8_t *m)
{
	static char buf[4][18];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf[i];
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- maps: endpoints, config, policy, conntrack ---------------------------- */

static void ep_set(const struct ep *e, uint32_t id, uint32_t flags)
{
	struct bh_endpoint v = { .ifindex = e->ifindex, .identity = id,
				 .flags = flags };
	struct dp_err err = { 0 };

	memcpy(v.mac, e->mac, 6);
	memcpy(v.host_mac, e->host_mac, 6);
	setup_ok(dp_endpoint_put(&cur->m, e->ip, &v, &err), "endpoint put", &err);
}

static struct bh_config cfg_get(void)
{
	struct bh_config c = { 0 };
	struct dp_err err = { 0 };

	setup_ok(dp_config_get(&cur->m, &c, &err), "config get", &err);
	return c;
}

static void cfg_put(const struct bh_config *c)
{
	struct dp_err err = { 0 };

	setup_ok(dp_config_put(&cur->m, c, &err), "config put", &err);
}

/* The node-wide flags, everything else (the policy revision above all)
 * as it is. */
static void cfg_flags(uint32_t flags)
{
	struct bh_config c = cfg_get();

	c.flags = flags;
	cfg_put(&c);
}

static void rev_bump(void)
{
	struct dp_err err = { 0 };

	setup_ok(dp_policy_rev_bump(&cur->m, &err), "policy revision bump", &err);
}

/* The policy map made to hold exactly these rules: expanded, deny
 * precedence resolved, synced (which bumps the revision on a change). */
static int rules_set(const struct dp_rule *r, size_t n)
{
	struct dp_policy_entry e[16 * DP_RULE_MAX_ENTRIES];
	struct dp_err err = { 0 };
	size_t cnt = 0, i;
	int rc = 0;

	for (i = 0; i < n && rc >= 0; i++) {
		if (cnt + DP_RULE_MAX_ENTRIES > sizeof(e) / sizeof(e[0]))
			bail("too many rules for the test's buffer");
		rc = dp_rule_expand(&r[i], e + cnt, &err);
		if (rc > 0)
			cnt += (size_t)rc;
	}
	if (rc >= 0) {
		cnt = dp_policy_resolve(e, cnt);
		rc = dp_policy_sync(&cur->m, e, cnt, NULL, &err);
	}
	if (rc < 0)
		ok(0, "policy of %zu rules written: %s", n, err.msg);
	return rc;
}

#define RULES(...) rules_set((const struct dp_rule[]){ __VA_ARGS__ }, \
	sizeof((const struct dp_rule[]){ __VA_ARGS__ }) / sizeof(struct dp_rule))

static void ct_key_of(const struct pkt_desc *d, struct bh_ct_key *k)
{
	uint16_t sport = d->sport, dport = d->dport;

	/* Echo: the id is the request's source port, the reply's destination. */
	if (d->proto == IPPROTO_ICMP) {
		dport = d->icmp_type == ICMP_ECHOREPLY ? sport : 0;
		sport = d->icmp_type == ICMP_ECHOREPLY ? 0 : sport;
	}
	dp_ct_key(k, d->saddr, htons(sport), d->daddr, htons(dport), d->proto,
		  NULL);
}

/* The connection's entry as words ("absent" when there is none), so a
 * check says everything that differs at once. */
static const char *ct_str(const struct pkt_desc *d)
{
	static char buf[160];
	struct bh_ct_key k;
	struct bh_ct_value v;

	ct_key_of(d, &k);
	if (bpf_map_lookup_elem(cur->m.conntrack, &k, &v) < 0)
		return errno == ENOENT ? "absent" : strerror(errno);
	snprintf(buf, sizeof(buf), "ids %u>%u rule %u%s%s state %u rev %u",
		 v.src_id, v.dst_id, v.rule_id,
		 v.flags & BH_CT_F_ORIG_A ? " orig_a" : "",
		 v.flags & BH_CT_F_AUDIT ? " audit" : "", v.state,
		 v.policy_rev);
	return buf;
}

static const char *ct_want(uint32_t src, uint32_t dst, uint32_t rule,
			   bool orig_a, bool audit, unsigned int state)
{
	static char buf[160];

	snprintf(buf, sizeof(buf), "ids %u>%u rule %u%s%s state %u rev %u",
		 src, dst, rule, orig_a ? " orig_a" : "", audit ? " audit" : "",
		 state, cfg_get().policy_rev);
	return buf;
}

static void purge_ct(void)
{
	const uint32_t ips[] = { A.ip, B.ip };
	struct dp_err err = { 0 };

	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
		setup_ok(dp_ct_purge_ip(&cur->m, ips[i], NULL, &err),
			 "conntrack purge", &err);
}

/* Every case starts from here: both pods known and unselected by policy,
 * no rules, no connections, the default config, no pending events. */
static void reset(void)
{
	struct bh_config c = cfg_get();

	ep_set(&A, ID_A, 0);
	ep_set(&B, ID_B, 0);
	rules_set(NULL, 0);
	c.flags = BH_CFG_F_LOADED;
	c.allow_sample = BH_CFG_DEFAULT_ALLOW_SAMPLE;
	c.events_per_sec = BH_CFG_DEFAULT_EVENTS_PER_SEC;
	c.events_burst = BH_CFG_DEFAULT_EVENTS_BURST;
	cfg_put(&c);
	purge_ct();
	drain(cur);
}

/* --- packets ------------------------------------------------------------ */

/* A packet a pod sends: from its MAC to its gateway (the host veth). */
static struct pkt_desc from_pod(const struct ep *e, uint32_t daddr,
				uint8_t proto, uint16_t sport, uint16_t dport)
{
	return (struct pkt_desc){ .smac = e->mac, .dmac = e->host_mac,
				  .saddr = e->ip, .daddr = daddr, .proto = proto,
				  .sport = sport, .dport = dport };
}

/* A packet the host stack sends into a pod. */
static struct pkt_desc to_pod(uint32_t saddr, const struct ep *e,
			      uint8_t proto, uint16_t sport, uint16_t dport)
{
	return (struct pkt_desc){ .smac = e->host_mac, .dmac = e->mac,
				  .saddr = saddr, .daddr = e->ip, .proto = proto,
				  .sport = sport, .dport = dport };
}

static struct pkt_desc tcp_ack(struct pkt_desc d)
{
	d.tcp_flags = PKT_TCP_ACK;
	return d;
}

/* The answer to d: addresses, ports and MACs swapped (the MACs as the
 * answering pod sends it: to its own gateway). */
static struct pkt_desc reply_of(const struct pkt_desc *d, const struct ep *from)
{
	struct pkt_desc r = *d;

	r.saddr = d->daddr;
	r.daddr = d->saddr;
	r.sport = d->dport;
	r.dport = d->sport;
	r.smac = from->mac;
	r.dmac = from->host_mac;
	if (d->proto == IPPROTO_TCP)
		r.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
	if (d->proto == IPPROTO_ICMP && d->icmp_type == ICMP_ECHO) {
		r.icmp_type = ICMP_ECHOREPLY;
		r.sport = d->sport;
	}
	return r;
}

/* --- running a program and checking what it did --------------------------- */

/* What the event's tuple holds: everything, addresses and protocol only
 * (parsing stopped before the ports), or nothing (stopped before IPv4). */
enum tuple { T_FULL, T_L3, T_NONE };

struct want {
	int ret;		/* TC_ACT_* */
	unsigned int verdict, reason, dir;
	bool event;		/* an event is reported */
	uint32_t src_id, dst_id, rule_id;
	enum tuple tuple;
};

struct got {
	int ret;
	uint8_t out[PKT_MAX + 64];
	uint32_t out_len;
};

static struct got last;		/* of the latest run, for extra checks */

static int prog_run(int prog, unsigned int ifindex, const uint8_t *frame,
		    size_t len, struct got *g)
{
	struct __sk_buff ctx = { .ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o,
		    .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = g->out, .data_size_out = sizeof(g->out),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	int rc;

	memset(g->out, 0, sizeof(g->out));
	rc = bpf_prog_test_run_opts(prog, &o);
	g->ret = rc < 0 ? -1000 + rc : (int)o.retval;
	g->out_len = o.data_size_out;
	return rc < 0 ? -errno : 0;
}

static struct bh_counter before[BH_MAX_COUNTERS], after[BH_MAX_COUNTERS];

static void counters(struct bh_counter *out)
{
	struct dp_err err = { 0 };

	if (dp_counters_read(&cur->m, out, &err) < 0) {
		ok(0, "read counters: %s", err.msg);
		memset(out, 0, BH_MAX_COUNTERS * sizeof(*out));
	}
}

static void counter_str(char *buf, size_t len, unsigned int v, unsigned int r,
			unsigned int d, uint64_t pk, uint64_t by)
{
	snprintf(buf, len, "%s/%s/%s +%llu pkt +%llu B", vname(v), rname(r),
		 dname(d), (unsigned long long)pk, (unsigned long long)by);
}

/* Every counter that moved between before and after, in words. */
static void counters_moved(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < BH_MAX_COUNTERS && used < len; i++) {
		uint64_t pk = after[i].packets - before[i].packets;
		uint64_t by = after[i].bytes - before[i].bytes;
		unsigned int d = i % BH_DIR_MAX, r = i / BH_DIR_MAX % BH_REASON_MAX;
		unsigned int v = i / BH_DIR_MAX / BH_REASON_MAX;
		char one[128];

		if (!pk && !by)
			continue;
		counter_str(one, sizeof(one), v, r, d, pk, by);
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 used ? ", " : "", one);
	}
	if (!buf[0])
		snprintf(buf, len, "(none)");
}

static void event_str(char *buf, size_t len, const struct bh_event *e,
		      uint64_t t0, uint64_t t1)
{
	char ts[32];

	if (e->ts_ns >= t0 && e->ts_ns <= t1)
		snprintf(ts, sizeof(ts), "during run");
	else
		snprintf(ts, sizeof(ts), "%llu", (unsigned long long)e->ts_ns);
	snprintf(buf, len, "%s %s %s ids %u>%u %s:%u>%s:%u %s rule %u if %u len %u ts %s",
		 vname(e->verdict), rname(e->reason), dname(e->dir), e->src_id,
		 e->dst_id, ipstr(e->saddr), ntohs(e->sport), ipstr(e->daddr),
		 ntohs(e->dport), pname(e->proto), e->rule_id, e->ifindex,
		 e->len, ts);
}

/* The event the program should have reported for d under w. */
static void event_want(struct bh_event *e, const struct want *w,
		       const struct pkt_desc *d, unsigned int ifindex,
		       size_t len)
{
	memset(e, 0, sizeof(*e));
	e->verdict = (__u8)w->verdict;
	e->reason = (__u8)w->reason;
	e->dir = (__u8)w->dir;
	e->src_id = w->src_id;
	e->dst_id = w->dst_id;
	e->rule_id = w->rule_id;
	e->ifindex = ifindex;
	e->len = (__u32)len;
	if (!d || w->tuple == T_NONE)
		return;
	e->saddr = d->saddr;
	e->daddr = d->daddr;
	e->proto = d->proto;
	if (w->tuple == T_L3)
		return;
	if (d->proto == IPPROTO_ICMP) {
		if (d->quote)
			return;
		/* Echo: the request's source port, the reply's destination. */
		if (d->icmp_type == ICMP_ECHOREPLY)
			e->dport = htons(d->sport);
		else
			e->sport = htons(d->sport);
		return;
	}
	e->sport = htons(d->sport);
	e->dport = htons(d->dport);
}

/* Runs prog on frame as received on ifindex and checks the return code,
 * the counters and the events against w. d describes the frame when it
 * is IPv4 (for the event's tuple), else NULL. */
static void run_check(const char *what, int prog, unsigned int ifindex,
		      const uint8_t *frame, size_t len,
		      const struct pkt_desc *d, const struct want *w)
{
	char got[1024], want[1024];
	struct bh_event we;
	uint64_t t0, t1;
	int rc;

	drain(cur);
	counters(before);
	t0 = mono_ns();
	rc = prog_run(prog, ifindex, frame, len, &last);
	t1 = mono_ns();
	counters(after);
	if (cur->rb)
		ring_buffer__consume(cur->rb);

	if (rc < 0) {
		ok(0, "%s: BPF_PROG_TEST_RUN failed: %s", what, strerror(-rc));
		return;
	}
	is_int(last.ret, w->ret, "%s: returns %d", what, w->ret);

	counters_moved(got, sizeof(got));
	counter_str(want, sizeof(want), w->verdict, w->reason, w->dir, 1, len);
	is_str(got, want, "%s: counted once as %s/%s/%s", what,
	       vname(w->verdict), rname(w->reason), dname(w->dir));

	got[0] = '\0';
	for (int i = 0, used = 0; i < nev; i++) {
		char one[256];

		event_str(one, sizeof(one), &evs[i], t0, t1);
		used += snprintf(got + used, sizeof(got) - (size_t)used, "%s%s",
				 i ? " | " : "", one);
	}
	if (!nev)
		snprintf(got, sizeof(got), "(none)");
	if (ev_lost)
		snprintf(got + strlen(got), sizeof(got) - strlen(got),
			 " (+%d more)", ev_lost);
	if (w->event) {
		char one[256];

		event_want(&we, w, d, ifindex, len);
		event_str(one, sizeof(one), &we, 0, UINT64_MAX);
		snprintf(want, sizeof(want), "%s", one);
	} else {
		snprintf(want, sizeof(want), "(none)");
	}
	is_str(got, want, "%s: %s", what, w->event ? "reports one event" :
	       "reports no event");
}

static void run_ip(const char *what, int prog, unsigned int ifindex,
		   const struct pkt_desc *d, const struct want *w)
{
	uint8_t frame[PKT_MAX];
	size_t len = pkt_build(frame, d);

	run_check(what, prog, ifindex, frame, len, d, w);
}

/* from-container on the veth of `via` (the pod that sent it, or claims
 * to), to-container on the veth of the pod it is for. */
#define from(what, via, d, ...) \
	run_ip((what), cur->from, (via)->ifindex, (d), &(struct want){ __VA_ARGS__ })
#define to(what, via, d, ...) \
	run_ip((what), cur->to, (via)->ifindex, (d), &(struct want){ __VA_ARGS__ })

#define OK_		.ret = TC_ACT_OK
#define SHOT		.ret = TC_ACT_SHOT
#define REDIRECT	.ret = TC_ACT_REDIRECT
#define ALLOW(r)	.verdict = BH_VERDICT_ALLOW, .reason = BH_REASON_##r
#define DROPPED(r)	.verdict = BH_VERDICT_DROP, .reason = BH_REASON_##r, \
			.event = true
#define AUDITED(r)	.verdict = BH_VERDICT_AUDIT, .reason = BH_REASON_##r, \
			.event = true
#define EGRESS		.dir = BH_DIR_EGRESS
#define INGRESS		.dir = BH_DIR_INGRESS
#define EVENT		.event = true
#define IDS(s, d)	.src_id = (s), .dst_id = (d)
#define RULE(n)		.rule_id = (n)

/* A frame delivered to `to` by bpf_redirect_peer: the MACs are the pod's
 * and its host veth's, the TTL is one less, the checksum still right and
 * nothing else changed. */
static void check_delivered(const char *what, const struct pkt_desc *d,
			    const struct ep *dst)
{
	uint8_t in[PKT_MAX];
	size_t len = pkt_build(in, d), hlen = PKT_IP_HLEN(in);
	char want[64], got[64];

	is_int(last.out_len, len, "%s: delivered frame keeps its length", what);
	snprintf(want, sizeof(want), "%s > %s", macstr(dst->host_mac), macstr(dst->mac));
	snprintf(got, sizeof(got), "%s > %s", macstr(last.out + 6), macstr(last.out));
	is_str(got, want, "%s: MACs rewritten for %s", what, dst->ifname);
	is_int(last.out[PKT_OFF_TTL], in[PKT_OFF_TTL] - 1, "%s: TTL spent", what);
	is_int(pkt_csum(last.out + PKT_ETH_LEN, hlen), 0,
	       "%s: IPv4 header checksum still right", what);
	ok(last.out_len == len &&
	   memcmp(last.out + 12, in + 12, PKT_OFF_TTL - 12) == 0 &&
	   last.out[PKT_OFF_TTL + 1] == in[PKT_OFF_TTL + 1] &&
	   memcmp(last.out + PKT_ETH_LEN + 12, in + PKT_ETH_LEN + 12,
		  len - PKT_ETH_LEN - 12) == 0,
	   "%s: nothing else in the frame changed", what);
}

/* A frame passed on as the pod sent it: to the host stack, or to the
 * tunnel (the receiving node rewrites it and spends the TTL). */
static void check_untouched(const char *what, const struct pkt_desc *d)
{
	uint8_t f[PKT_MAX];
	size_t n = pkt_build(f, d);

	ok(last.out_len == n && memcmp(last.out, f, n) == 0,
	   "%s untouched (TTL %u)", what, last.out[PKT_OFF_TTL]);
}

/* --- the tunnel: node 2, its pods, the shim in front of the overlay ------- */

static void tunnel_cfg(unsigned int ifindex, uint32_t node_ip)
{
	struct bh_config c = cfg_get();

	c.tunnel_ifindex = ifindex;
	c.node_ip = node_ip;
	cfg_put(&c);
}

/* The next shim run's tunnel key: VNI and outer source (network order). */
static void shim_set(uint32_t vni, uint32_t outer)
{
	struct { __u32 vni, outer_src; } k = { vni, ntohl(outer) };
	__u32 zero = 0;

	if (bpf_map_update_elem(shim_key, &zero, &k, BPF_ANY) < 0)
		ok(0, "shim key: %s", strerror(errno));
}

/* A packet node 2's pod at saddr sends to a pod of this node, as the
 * VXLAN device hands it over: the frame the pod sent to its own host
 * veth on node 2. */
static struct pkt_desc from_node2(uint32_t saddr, const struct ep *e,
				  uint8_t proto, uint16_t sport, uint16_t dport)
{
	return (struct pkt_desc){ .smac = REMOTE_MAC, .dmac = NODE2_VETH_MAC,
				  .saddr = saddr, .daddr = e->ip, .proto = proto,
				  .sport = sport, .dport = dport };
}

/* The overlay program on the VXLAN device, on a packet that came with
 * VNI vni from underlay address outer. */
#define over(what, vni, outer, d, ...) do {				\
		shim_set((vni), (outer));				\
		run_ip((what), shim, VXLAN.ifindex, (d),		\
		       &(struct want){ __VA_ARGS__ });			\
	} while (0)

/* --- the cases ---------------------------------------------------------- */

/* Without BH_CFG_F_LOADED the programs know nothing they could decide
 * by: every packet drops, counted, with no event (no budget to spend). */
static void test_no_config(void)
{
	struct pkt_desc d = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	struct pkt_desc h = to_pod(GW, &B, IPPROTO_TCP, 40000, 80);

	reset();
	cfg_flags(0);
	from("no config: A->B tcp", &A, &d, SHOT, .verdict = BH_VERDICT_DROP,
	     .reason = BH_REASON_DROP_NO_CONFIG, EGRESS);
	to("no config: host->B tcp", &B, &h, SHOT, .verdict = BH_VERDICT_DROP,
	   .reason = BH_REASON_DROP_NO_CONFIG, INGRESS);
	cfg_flags(BH_CFG_F_LOADED);
	from("config restored: A->B tcp passes again", &A, &d, REDIRECT,
	     ALLOW(ALLOW_NO_POLICY), EGRESS, EVENT, IDS(ID_A, ID_B));
}

/* A pod sends only from its own address, on its own veth, with its own
 * MAC; ARP only for itself. */
static void test_spoofing(void)
{
	struct pkt_desc d = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	struct pkt_desc stranger = d;
	uint8_t f[PKT_MAX];
	size_t n;

	reset();
	from("A's packet on B's veth", &B, &d, SHOT, DROPPED(DROP_SPOOFED_IP),
	     EGRESS, IDS(0, 0));
	d.smac = EVIL_MAC;
	from("A's address with another MAC", &A, &d, SHOT,
	     DROPPED(DROP_SPOOFED_MAC), EGRESS, IDS(ID_A, 0));
	stranger.saddr = STRANGER;
	from("source address of no endpoint", &A, &stranger, SHOT,
	     DROPPED(DROP_SPOOFED_IP), EGRESS, IDS(0, 0));
	ok(strcmp(ct_str(&d), "absent") == 0 &&
	   strcmp(ct_str(&stranger), "absent") == 0,
	   "spoofed packets leave no conntrack entry");

	n = pkt_arp(f, A.mac, 1, A.mac, A.ip, GW);
	run_check("ARP request from A for itself", cur->from, A.ifindex, f, n,
		  NULL, &(struct want){ OK_, ALLOW(ALLOW_ARP), EGRESS });
	n = pkt_arp(f, A.mac, 2, A.mac, A.ip, GW);
	run_check("ARP reply from A for itself", cur->from, A.ifindex, f, n,
		  NULL, &(struct want){ OK_, ALLOW(ALLOW_ARP), EGRESS });
	n = pkt_arp(f, A.mac, 1, A.mac, B.ip, GW);
	run_check("ARP from A claiming B's address", cur->from, A.ifindex, f,
		  n, NULL, &(struct want){ SHOT, DROPPED(DROP_SPOOFED_ARP),
					  EGRESS, .tuple = T_NONE });
	n = pkt_arp(f, A.mac, 1, A.mac, STRANGER, GW);
	run_check("ARP from A claiming an unknown address", cur->from,
		  A.ifindex, f, n, NULL,
		  &(struct want){ SHOT, DROPPED(DROP_SPOOFED_ARP), EGRESS });
	n = pkt_arp(f, A.mac, 1, EVIL_MAC, A.ip, GW);
	run_check("ARP for A's address with another sender MAC", cur->from,
		  A.ifindex, f, n, NULL,
		  &(struct want){ SHOT, DROPPED(DROP_SPOOFED_ARP), EGRESS });
	n = pkt_arp(f, EVIL_MAC, 1, A.mac, A.ip, GW);
	run_check("ARP for A from another Ethernet source", cur->from,
		  A.ifindex, f, n, NULL,
		  &(struct want){ SHOT, DROPPED(DROP_SPOOFED_ARP), EGRESS });
	n = pkt_arp(f, A.mac, 1, A.mac, A.ip, GW);
	run_check("A's ARP on B's veth", cur->from, B.ifindex, f, n, NULL,
		  &(struct want){ SHOT, DROPPED(DROP_SPOOFED_ARP), EGRESS });
	n = pkt_arp(f, B.host_mac, 1, B.host_mac, GW, B.ip);
	run_check("ARP from the node into B", cur->to, B.ifindex, f, n, NULL,
		  &(struct want){ OK_, ALLOW(ALLOW_ARP), INGRESS });
}

/* What cannot be parsed or is not IPv4 is dropped before any lookup. */
static void test_malformed(void)
{
	struct pkt_desc d = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	uint8_t f[PKT_MAX];
	size_t n;

	reset();
	n = pkt_ipv6(f, A.mac, A.host_mac);
	run_check("IPv6 from A", cur->from, A.ifindex, f, n, NULL,
		  &(struct want){ SHOT, DROPPED(DROP_UNSUPPORTED_L3), EGRESS });
	run_check("IPv6 into B", cur->to, B.ifindex, f, n, NULL,
		  &(struct want){ SHOT, DROPPED(DROP_UNSUPPORTED_L3), INGRESS });

	/* The kernel's test run refuses an IPv4 frame shorter than its
	 * fixed header, so a header claiming more than the frame holds
	 * stands in for a cut one. */
	n = pkt_build(f, &d);
	f[PKT_ETH_LEN] = 0x4f;		/* IHL 15: 60 bytes */
	n = PKT_ETH_LEN + 40;
	run_check("IPv4 header longer than the frame", cur->from, A.ifindex, f,
		  n, &d, &(struct want){ SHOT, DROPPED(DROP_MALFORMED), EGRESS,
					 .tuple = T_L3 });
	n = pkt_build(f, &d);
	f[PKT_ETH_LEN] = 0x65;		/* version 6 behind the IPv4 ethertype */
	run_check("IPv4 ethertype, version 6", cur->from, A.ifindex, f, n, &d,
		  &(struct want){ SHOT, DROPPED(DROP_MALFORMED), EGRESS,
				  .tuple = T_NONE });
	n = pkt_arp(f, A.mac, 1, A.mac, A.ip, GW);
	run_check("ARP cut short", cur->from, A.ifindex, f, n - 4, NULL,
		  &(struct want){ SHOT, DROPPED(DROP_MALFORMED), EGRESS });
	d.truncate = PKT_ETH_LEN + 20 + 10;
	from("TCP header cut at 10 bytes", &A, &d, SHOT,
	     DROPPED(DROP_MALFORMED), EGRESS, .tuple = T_L3);
	d.truncate = 0;
	n = pkt_build(f, &d);
	f[PKT_ETH_LEN] = 0x44;		/* IHL 4: 16 bytes, too short */
	run_check("IPv4 header length 16", cur->from, A.ifindex, f, n, &d,
		  &(struct want){ SHOT, DROPPED(DROP_MALFORMED), EGRESS,
				  .tuple = T_NONE });
	d.frag = 185;			/* offset 1480: no ports here */
	from("non-first fragment", &A, &d, SHOT, DROPPED(DROP_FRAGMENT),
	     EGRESS, .tuple = T_L3);
	d.frag = PKT_IP_MF | 185;
	from("middle fragment", &A, &d, SHOT, DROPPED(DROP_FRAGMENT), EGRESS,
	     .tuple = T_L3);
	d.frag = PKT_IP_MF;		/* first fragment: carries the ports */
	from("first fragment", &A, &d, REDIRECT, ALLOW(ALLOW_NO_POLICY),
	     EGRESS, EVENT, IDS(ID_A, ID_B));
	d = from_pod(&A, B.ip, IPPROTO_TCP, 40001, 80);
	d.ip_opt_words = 2;		/* 28-byte header: ports further on */
	from("IPv4 with options", &A, &d, REDIRECT, ALLOW(ALLOW_NO_POLICY),
	     EGRESS, EVENT, IDS(ID_A, ID_B));
	check_delivered("IPv4 with options", &d, &B);
}

/* An endpoint the daemon has not labelled yet sends and receives
 * nothing (not even with no policy anywhere). */
static void test_endpoint_init(void)
{
	struct pkt_desc d = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	struct pkt_desc w = from_pod(&A, WORLD, IPPROTO_UDP, 5353, 53);

	reset();
	ep_set(&A, BH_ID_INIT, 0);
	from("A with identity init -> B", &A, &d, SHOT,
	     DROPPED(DROP_ENDPOINT_INIT), EGRESS, IDS(BH_ID_INIT, ID_B));
	from("A with identity init -> world", &A, &w, SHOT,
	     DROPPED(DROP_ENDPOINT_INIT), EGRESS, IDS(BH_ID_INIT, BH_ID_WORLD));
	ep_set(&A, ID_A, 0);
	ep_set(&B, BH_ID_INIT, 0);
	from("A -> B with identity init", &A, &d, SHOT,
	     DROPPED(DROP_ENDPOINT_INIT), INGRESS, IDS(ID_A, BH_ID_INIT));
	ok(strcmp(ct_str(&d), "absent") == 0, "no conntrack entry for it");
}

/* No policy selects anybody: new flows pass and are sampled, the rest of
 * a connection passes through conntrack without events (counted in the
 * direction of the program that sees it: from-container egress,
 * to-container ingress; identities from the conntrack entry), local
 * delivery is a redirect with the frame rewritten, the rest goes to the
 * host. */
static void test_default_allow(void)
{
	struct pkt_desc d = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	struct pkt_desc ack = tcp_ack(d), r = reply_of(&d, &B);
	struct pkt_desc w = from_pod(&A, WORLD, IPPROTO_UDP, 5353, 53);
	struct pkt_desc ttl1 = from_pod(&A, B.ip, IPPROTO_UDP, 7000, 7001);
	struct bh_config c;

	reset();
	from("A->B tcp/80 new", &A, &d, REDIRECT, ALLOW(ALLOW_NO_POLICY),
	     EGRESS, EVENT, IDS(ID_A, ID_B));
	check_delivered("A->B tcp/80 new", &d, &B);
	is_str(ct_str(&d), ct_want(ID_A, ID_B, 0, true, false, BH_CT_NEW),
	       "A->B tcp/80: conntrack entry made");
	from("A->B tcp/80 again", &A, &ack, REDIRECT, ALLOW(ALLOW_ESTABLISHED),
	     EGRESS);
	check_delivered("A->B tcp/80 again", &ack, &B);
	from("B->A reply", &B, &r, REDIRECT, ALLOW(ALLOW_ESTABLISHED), EGRESS);
	check_delivered("B->A reply", &r, &A);
	is_str(ct_str(&d), ct_want(ID_A, ID_B, 0, true, false, BH_CT_ESTABLISHED),
	       "A->B tcp/80: established after the reply");

	cfg_flags(BH_CFG_F_LOADED | BH_CFG_F_TRACE);
	from("A->B tcp/80 while tracing", &A, &ack, REDIRECT,
	     ALLOW(ALLOW_ESTABLISHED), EGRESS, EVENT, IDS(ID_A, ID_B));
	from("B->A reply while tracing", &B, &r, REDIRECT,
	     ALLOW(ALLOW_ESTABLISHED), EGRESS, EVENT, IDS(ID_B, ID_A));
	cfg_flags(BH_CFG_F_LOADED);

	from("A->8.8.8.8 udp/53", &A, &w, OK_, ALLOW(ALLOW_NO_POLICY), EGRESS,
	     EVENT, IDS(ID_A, BH_ID_WORLD));
	check_untouched("A->8.8.8.8: handed to the host", &w);
	ttl1.ttl = 1;
	from("A->B with TTL 1", &A, &ttl1, OK_, ALLOW(ALLOW_NO_POLICY), EGRESS,
	     EVENT, IDS(ID_A, ID_B));
	is_int(last.out[PKT_OFF_TTL], 1, "A->B with TTL 1: left for the host "
	       "to answer, TTL untouched");

	c = cfg_get();
	c.allow_sample = 0;
	cfg_put(&c);
	d.sport = 40100;
	from("A->B new flow, allow sampling off", &A, &d, REDIRECT,
	     ALLOW(ALLOW_NO_POLICY), EGRESS, IDS(ID_A, ID_B));
	d.sport = 40101;
	d.tcp_flags = PKT_TCP_SYN;
	d.saddr = STRANGER;
	from("drop, allow sampling off", &A, &d, SHOT,
	     DROPPED(DROP_SPOOFED_IP), EGRESS);
}

/* to-container: only for the endpoint on that veth; from the host or the
 * world, ingress policy (none here) decides. */
static void test_to_container(void)
{
	struct pkt_desc h = to_pod(GW, &B, IPPROTO_TCP, 41000, 8080);
	struct pkt_desc w = to_pod(WORLD, &B, IPPROTO_UDP, 53, 5353);
	struct pkt_desc wrong = to_pod(GW, &A, IPPROTO_TCP, 41000, 8080);
	struct pkt_desc none = to_pod(GW, &B, IPPROTO_TCP, 41000, 8080);
	struct pkt_desc r;

	reset();
	to("host->A on B's veth", &B, &wrong, SHOT, DROPPED(DROP_NO_ENDPOINT),
	   INGRESS, IDS(0, 0));
	none.daddr = STRANGER;
	to("host->unknown address on B's veth", &B, &none, SHOT,
	   DROPPED(DROP_NO_ENDPOINT), INGRESS, IDS(0, 0));
	to("host->B tcp/8080", &B, &h, OK_, ALLOW(ALLOW_NO_POLICY), INGRESS,
	   EVENT, IDS(BH_ID_HOST, ID_B));
	is_str(ct_str(&h), ct_want(BH_ID_HOST, ID_B, 0, ntohl(GW) < ntohl(B.ip),
				  false, BH_CT_NEW), "host->B: conntrack entry");
	to("8.8.8.8->B udp", &B, &w, OK_, ALLOW(ALLOW_NO_POLICY), INGRESS, EVENT,
	   IDS(BH_ID_WORLD, ID_B));
	r = reply_of(&h, &B);
	from("B->host reply", &B, &r, OK_,
	     ALLOW(ALLOW_ESTABLISHED), EGRESS);
}

/* B selected for ingress: nothing comes in unless a rule allows it;
 * replies to what B may send still come back. */
static void test_ingress_policy(void)
{
	struct pkt_desc d80 = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	struct pkt_desc d81 = from_pod(&A, B.ip, IPPROTO_TCP, 40001, 81);
	struct pkt_desc u80 = from_pod(&A, B.ip, IPPROTO_UDP, 40002, 80);
	struct pkt_desc r80 = reply_of(&d80, &B);
	struct pkt_desc ba = from_pod(&B, A.ip, IPPROTO_TCP, 5555, 80);
	struct pkt_desc h80 = to_pod(GW, &B, IPPROTO_TCP, 41000, 80);

	reset();
	ep_set(&B, ID_B, BH_EP_F_ENFORCE_INGRESS);
	from("A->B tcp/80, B selected, no rules", &A, &d80, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_A, ID_B));
	is_str(ct_str(&d80), "absent", "dropped flow: no conntrack entry");

	RULES({ .local_id = ID_B, .remote_id = ID_A, .dir = BH_DIR_INGRESS,
		.proto = IPPROTO_TCP, .action = BH_POLICY_ALLOW,
		.port_lo = 80, .port_hi = 80, .rule_id = 7 });
	from("A->B tcp/80 with rule 7", &A, &d80, REDIRECT, ALLOW(ALLOW_POLICY),
	     INGRESS, EVENT, IDS(ID_A, ID_B), RULE(7));
	check_delivered("A->B tcp/80 with rule 7", &d80, &B);
	is_str(ct_str(&d80), ct_want(ID_A, ID_B, 7, true, false, BH_CT_NEW),
	       "A->B tcp/80: conntrack entry carries rule 7");
	from("A->B tcp/81", &A, &d81, SHOT, DROPPED(DROP_POLICY_DEFAULT),
	     INGRESS, IDS(ID_A, ID_B));
	from("A->B udp/80", &A, &u80, SHOT, DROPPED(DROP_POLICY_DEFAULT),
	     INGRESS, IDS(ID_A, ID_B));
	to("host->B tcp/80 (rule names A only)", &B, &h80, SHOT,
	   DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(BH_ID_HOST, ID_B));

	ep_set(&A, ID_A, BH_EP_F_ENFORCE_INGRESS);
	from("B->A reply of the allowed connection", &B, &r80, REDIRECT,
	     ALLOW(ALLOW_ESTABLISHED), EGRESS, RULE(7));
	from("B->A new connection, A selected", &B, &ba, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_B, ID_A));
}

/* A selected for egress: nothing goes out unless a rule allows it. */
static void test_egress_policy(void)
{
	struct pkt_desc d80 = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	struct pkt_desc w53 = from_pod(&A, WORLD, IPPROTO_UDP, 5353, 53);
	struct pkt_desc rw = reply_of(&w53, &A);

	reset();
	ep_set(&A, ID_A, BH_EP_F_ENFORCE_EGRESS);
	from("A->B tcp/80, A selected for egress, no rules", &A, &d80, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), EGRESS, IDS(ID_A, ID_B));
	from("A->8.8.8.8 udp/53, no rules", &A, &w53, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), EGRESS, IDS(ID_A, BH_ID_WORLD));

	RULES({ .local_id = ID_A, .remote_id = ID_B, .dir = BH_DIR_EGRESS,
		.proto = IPPROTO_TCP, .action = BH_POLICY_ALLOW,
		.port_lo = 80, .port_hi = 80, .rule_id = 9 },
	      { .local_id = ID_A, .remote_id = BH_ID_WORLD, .dir = BH_DIR_EGRESS,
		.proto = IPPROTO_UDP, .action = BH_POLICY_ALLOW,
		.port_lo = 53, .port_hi = 53, .rule_id = 10 });
	/* The egress rule of A decided; B had no say. */
	from("A->B tcp/80 with egress rule 9", &A, &d80, REDIRECT,
	     ALLOW(ALLOW_POLICY), EGRESS, EVENT, IDS(ID_A, ID_B), RULE(9));
	from("A->8.8.8.8 udp/53 with egress rule 10", &A, &w53, OK_,
	     ALLOW(ALLOW_POLICY), EGRESS, EVENT, IDS(ID_A, BH_ID_WORLD),
	     RULE(10));
	rw.smac = A.host_mac;
	rw.dmac = A.mac;
	to("8.8.8.8->A reply", &A, &rw, OK_, ALLOW(ALLOW_ESTABLISHED), INGRESS,
	   RULE(10));

	/* Both ends selected: both must allow; the last one to decide, B's
	 * ingress, is the one reported. */
	purge_ct();
	ep_set(&B, ID_B, BH_EP_F_ENFORCE_INGRESS);
	from("A->B tcp/80, egress allows, ingress has no rule", &A, &d80, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_A, ID_B));
	RULES({ .local_id = ID_A, .remote_id = ID_B, .dir = BH_DIR_EGRESS,
		.proto = IPPROTO_TCP, .action = BH_POLICY_ALLOW,
		.port_lo = 80, .port_hi = 80, .rule_id = 9 },
	      { .local_id = ID_B, .remote_id = ID_A, .dir = BH_DIR_INGRESS,
		.proto = IPPROTO_TCP, .action = BH_POLICY_ALLOW,
		.port_lo = 80, .port_hi = 80, .rule_id = 7 });
	from("A->B tcp/80, egress rule 9 and ingress rule 7", &A, &d80,
	     REDIRECT, ALLOW(ALLOW_POLICY), INGRESS, EVENT, IDS(ID_A, ID_B),
	     RULE(7));
}

/* A peer whose identity is not known yet (ipcache says 0) is matched by
 * rules for any identity only, and named as such when nothing allows. */
static void test_unknown_identity(void)
{
	struct pkt_desc u = to_pod(UNKNOWN_PEER, &B, IPPROTO_TCP, 41000, 80);
	struct pkt_desc w = to_pod(WORLD, &B, IPPROTO_TCP, 41001, 80);
	struct pkt_desc out = from_pod(&A, UNKNOWN_PEER, IPPROTO_TCP, 40000, 80);

	reset();
	ep_set(&B, ID_B, BH_EP_F_ENFORCE_INGRESS);
	to("10.99.1.1 (identity unknown) -> B tcp/80, no rules", &B, &u, SHOT,
	   DROPPED(DROP_UNKNOWN_IDENTITY), INGRESS, IDS(BH_ID_UNKNOWN, ID_B));
	to("8.8.8.8 (world) -> B tcp/80, no rules", &B, &w, SHOT,
	   DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(BH_ID_WORLD, ID_B));
	ep_set(&A, ID_A, BH_EP_F_ENFORCE_EGRESS);
	from("A -> 10.99.1.1 (identity unknown), A selected for egress", &A,
	     &out, SHOT, DROPPED(DROP_UNKNOWN_IDENTITY), EGRESS,
	     IDS(ID_A, BH_ID_UNKNOWN));

	RULES({ .local_id = ID_B, .remote_id = BH_POLICY_ANY_ID,
		.dir = BH_DIR_INGRESS, .proto = IPPROTO_TCP,
		.action = BH_POLICY_ALLOW, .port_lo = 80, .port_hi = 80,
		.rule_id = 21 });
	to("10.99.1.1 -> B tcp/80, rule 21 allows any identity", &B, &u, OK_,
	   ALLOW(ALLOW_POLICY), INGRESS, EVENT, IDS(BH_ID_UNKNOWN, ID_B),
	   RULE(21));
	to("8.8.8.8 -> B tcp/80, rule 21 allows any identity", &B, &w, OK_,
	   ALLOW(ALLOW_POLICY), INGRESS, EVENT, IDS(BH_ID_WORLD, ID_B),
	   RULE(21));
}

/* A range of ports is a set of prefixes in the trie: its edges must be
 * exactly where the rule says, for every protocol with ports. */
static void test_port_ranges(void)
{
	static const struct { uint8_t proto; uint32_t rule; } protos[] = {
		{ IPPROTO_TCP, 31 }, { IPPROTO_UDP, 32 }, { IPPROTO_SCTP, 33 },
	};
	static const uint16_t inside[] = { 1000, 1001, 1023, 1024, 1535, 1536,
					   1983, 1984, 1999, 2000 };
	static const uint16_t outside[] = { 1, 80, 998, 999, 2001, 2002, 2047,
					    2048, 65535 };
	struct bh_config c;
	char what[128];

	reset();
	ep_set(&B, ID_B, BH_EP_F_ENFORCE_INGRESS);
	RULES({ .local_id = ID_B, .remote_id = ID_A, .dir = BH_DIR_INGRESS,
		.proto = IPPROTO_TCP, .action = BH_POLICY_ALLOW,
		.port_lo = 1000, .port_hi = 2000, .rule_id = 31 },
	      { .local_id = ID_B, .remote_id = ID_A, .dir = BH_DIR_INGRESS,
		.proto = IPPROTO_UDP, .action = BH_POLICY_ALLOW,
		.port_lo = 1000, .port_hi = 2000, .rule_id = 32 },
	      { .local_id = ID_B, .remote_id = ID_A, .dir = BH_DIR_INGRESS,
		.proto = IPPROTO_SCTP, .action = BH_POLICY_ALLOW,
		.port_lo = 1000, .port_hi = 2000, .rule_id = 33 });

	for (size_t p = 0; p < 3; p++) {
		const char *pn = pname(protos[p].proto);
		struct pkt_desc d = from_pod(&A, B.ip, protos[p].proto, 30000, 0);

		for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
			d.dport = outside[i];
			snprintf(what, sizeof(what), "%s/%u outside 1000-2000", pn,
				 outside[i]);
			from(what, &A, &d, SHOT, DROPPED(DROP_POLICY_DEFAULT),
			     INGRESS, IDS(ID_A, ID_B));
		}
		for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
			d.dport = inside[i];
			snprintf(what, sizeof(what), "%s/%u inside 1000-2000", pn,
				 inside[i]);
			from(what, &A, &d, REDIRECT, ALLOW(ALLOW_POLICY), INGRESS,
			     EVENT, IDS(ID_A, ID_B), RULE(protos[p].rule));
		}
	}

	/* Every port of one protocol, verdict only: exactly 1000..2000.
	 * Allowed flows are not sampled and the drops' events are not
	 * rate-limited, so the sweep leaves the event budget full. */
	purge_ct();
	c = cfg_get();
	c.allow_sample = 0;
	c.events_per_sec = 1000000000;
	cfg_put(&c);
	{
		struct pkt_desc d = from_pod(&A, B.ip, IPPROTO_UDP, 30001, 0);
		unsigned int first = 0, last_ok = 0, allowed = 0, bad = 0;
		uint8_t f[PKT_MAX];
		struct got g;

		for (unsigned int port = 1; port <= 65535; port++) {
			size_t n;

			d.dport = (uint16_t)port;
			n = pkt_build(f, &d);
			if (prog_run(cur->from, A.ifindex, f, n, &g) < 0) {
				bad++;
				continue;
			}
			if (g.ret == TC_ACT_REDIRECT) {
				if (!first)
					first = port;
				last_ok = port;
				allowed++;
			} else if (g.ret != TC_ACT_SHOT) {
				bad++;
			}
			if (port % 4096 == 0)
				drain(cur);
		}
		drain(cur);
		is_int(bad, 0, "udp ports 1-65535: every run drops or delivers");
		is_int(allowed, 1001, "udp ports 1-65535: 1001 allowed");
		is_int(first, 1000, "udp ports 1-65535: first allowed");
		is_int(last_ok, 2000, "udp ports 1-65535: last allowed");
	}
	purge_ct();
}

static const struct dp_rule allow_a_tcp_any = {
	.local_id = ID_B, .remote_id = ID_A, .dir = BH_DIR_INGRESS,
	.proto = IPPROTO_TCP, .action = BH_POLICY_ALLOW, .rule_id = 41 };

/* A deny wins over any allow: across the exact and the any-identity
 * lookups in the datapath, and inside one identity's entries by the
 * writer turning covered allows into denies. */
static void test_deny_beats_allow(void)
{
	struct pkt_desc d80 = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	struct pkt_desc d81 = from_pod(&A, B.ip, IPPROTO_TCP, 40001, 81);
	struct dp_rule allow80 = allow_a_tcp_any, deny;

	reset();
	ep_set(&B, ID_B, BH_EP_F_ENFORCE_INGRESS);

	/* (a) allow A any port, deny anybody port 80 */
	deny = (struct dp_rule){ .local_id = ID_B, .remote_id = BH_POLICY_ANY_ID,
		.dir = BH_DIR_INGRESS, .proto = IPPROTO_TCP,
		.action = BH_POLICY_DENY, .port_lo = 80, .port_hi = 80,
		.rule_id = 42 };
	rules_set((const struct dp_rule[]){ allow_a_tcp_any, deny }, 2);
	from("allow A tcp/any + deny any tcp/80: port 80", &A, &d80, SHOT,
	     DROPPED(DROP_POLICY_DENY), INGRESS, IDS(ID_A, ID_B), RULE(42));
	from("allow A tcp/any + deny any tcp/80: port 81", &A, &d81, REDIRECT,
	     ALLOW(ALLOW_POLICY), INGRESS, EVENT, IDS(ID_A, ID_B), RULE(41));

	/* (b) allow A port 80, deny A every port: the writer projects the
	 * allow into a deny (which keeps the allow's rule id, see
	 * dp_policy_resolve) */
	purge_ct();
	allow80.port_lo = allow80.port_hi = 80;
	allow80.rule_id = 43;
	deny = (struct dp_rule){ .local_id = ID_B, .remote_id = ID_A,
		.dir = BH_DIR_INGRESS, .proto = IPPROTO_TCP,
		.action = BH_POLICY_DENY, .rule_id = 44 };
	rules_set((const struct dp_rule[]){ allow80, deny }, 2);
	from("allow A tcp/80 + deny A tcp/any: port 80", &A, &d80, SHOT,
	     DROPPED(DROP_POLICY_DENY), INGRESS, IDS(ID_A, ID_B), RULE(43));
	from("allow A tcp/80 + deny A tcp/any: port 81", &A, &d81, SHOT,
	     DROPPED(DROP_POLICY_DENY), INGRESS, IDS(ID_A, ID_B), RULE(44));

	/* (b') the deny as a range 1-65535, expanded into prefixes */
	deny.port_lo = 1;
	deny.port_hi = 65535;
	deny.rule_id = 45;
	rules_set((const struct dp_rule[]){ allow80, deny }, 2);
	from("allow A tcp/80 + deny A tcp/1-65535: port 80", &A, &d80, SHOT,
	     DROPPED(DROP_POLICY_DENY), INGRESS, IDS(ID_A, ID_B), RULE(43));

	/* (b'') the deny as any protocol */
	deny = (struct dp_rule){ .local_id = ID_B, .remote_id = ID_A,
		.dir = BH_DIR_INGRESS, .action = BH_POLICY_DENY, .rule_id = 46 };
	rules_set((const struct dp_rule[]){ allow80, deny }, 2);
	from("allow A tcp/80 + deny A any protocol: port 80", &A, &d80, SHOT,
	     DROPPED(DROP_POLICY_DENY), INGRESS, IDS(ID_A, ID_B), RULE(43));

	/* (c) a deny of another identity does not touch A */
	deny.remote_id = ID_C;
	rules_set((const struct dp_rule[]){ allow80, deny }, 2);
	from("allow A tcp/80 + deny C any: A port 80", &A, &d80, REDIRECT,
	     ALLOW(ALLOW_POLICY), INGRESS, EVENT, IDS(ID_A, ID_B), RULE(43));

	/* (d) A's egress deny beats B's ingress allow */
	purge_ct();
	ep_set(&A, ID_A, BH_EP_F_ENFORCE_EGRESS);
	RULES({ .local_id = ID_A, .remote_id = ID_B, .dir = BH_DIR_EGRESS,
		.proto = IPPROTO_TCP, .action = BH_POLICY_ALLOW, .rule_id = 47 },
	      { .local_id = ID_A, .remote_id = BH_POLICY_ANY_ID,
		.dir = BH_DIR_EGRESS, .proto = IPPROTO_TCP,
		.action = BH_POLICY_DENY, .port_lo = 80, .port_hi = 80,
		.rule_id = 48 },
	      { .local_id = ID_B, .remote_id = ID_A, .dir = BH_DIR_INGRESS,
		.proto = IPPROTO_TCP, .action = BH_POLICY_ALLOW, .rule_id = 49 });
	from("A egress deny tcp/80 vs B ingress allow", &A, &d80, SHOT,
	     DROPPED(DROP_POLICY_DENY), EGRESS, IDS(ID_A, ID_B), RULE(48));

	/* (e) two allows with one key: the lower rule id is kept; an allow
	 * and a deny with one key: the deny */
	ep_set(&A, ID_A, 0);
	allow80.rule_id = 61;
	deny = allow80;
	deny.rule_id = 60;
	rules_set((const struct dp_rule[]){ allow80, deny }, 2);
	from("allow A tcp/80 as rules 61 and 60", &A, &d80, REDIRECT,
	     ALLOW(ALLOW_POLICY), INGRESS, EVENT, IDS(ID_A, ID_B), RULE(60));
	purge_ct();
	deny.action = BH_POLICY_DENY;
	deny.rule_id = 63;
	rules_set((const struct dp_rule[]){ allow80, deny }, 2);
	from("allow A tcp/80 (61) and deny A tcp/80 (63)", &A, &d80, SHOT,
	     DROPPED(DROP_POLICY_DENY), INGRESS, IDS(ID_A, ID_B), RULE(63));
}

static const struct dp_rule rule7 = {
	.local_id = ID_B, .remote_id = ID_A, .dir = BH_DIR_INGRESS,
	.proto = IPPROTO_TCP, .action = BH_POLICY_ALLOW, .port_lo = 80,
	.port_hi = 80, .rule_id = 7 };

/* Taking an allow away cuts the connections it let in, whichever way
 * their next packet goes; giving it back lets new ones in at once. */
static void test_revocation(void)
{
	struct pkt_desc c1 = from_pod(&A, B.ip, IPPROTO_TCP, 40001, 80);
	struct pkt_desc c2 = from_pod(&A, B.ip, IPPROTO_TCP, 40002, 80);
	struct pkt_desc c3 = from_pod(&A, B.ip, IPPROTO_TCP, 40003, 80);
	struct pkt_desc r1 = reply_of(&c1, &B), r2 = reply_of(&c2, &B);
	struct pkt_desc a1 = tcp_ack(c1), a3 = tcp_ack(c3);
	struct dp_rule other = rule7;
	uint32_t rev;

	reset();
	ep_set(&B, ID_B, BH_EP_F_ENFORCE_INGRESS);
	rules_set(&rule7, 1);
	from("c1 A->B:80 opens", &A, &c1, REDIRECT, ALLOW(ALLOW_POLICY), INGRESS,
	     EVENT, IDS(ID_A, ID_B), RULE(7));
	from("c1 B->A answers", &B, &r1, REDIRECT, ALLOW(ALLOW_ESTABLISHED),
	     EGRESS, RULE(7));
	from("c2 A->B:80 opens", &A, &c2, REDIRECT, ALLOW(ALLOW_POLICY), INGRESS,
	     EVENT, IDS(ID_A, ID_B), RULE(7));
	from("c1 A->B established", &A, &a1, REDIRECT,
	     ALLOW(ALLOW_ESTABLISHED), EGRESS, RULE(7));

	rev = cfg_get().policy_rev;
	rules_set(NULL, 0);
	is_int(cfg_get().policy_rev, rev + 1,
	       "removing rule 7 bumps the policy revision");
	from("c1 A->B after rule 7 is gone", &A, &a1, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_A, ID_B));
	is_str(ct_str(&c1), "absent", "c1: conntrack entry removed");
	from("c2 B->A reply after rule 7 is gone", &B, &r2, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_B, ID_A));
	is_str(ct_str(&c2), "absent", "c2: conntrack entry removed");
	from("c1 A->B again: still dropped", &A, &a1, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_A, ID_B));

	rules_set(&rule7, 1);
	from("c3 A->B:80 after rule 7 is back", &A, &c3, REDIRECT,
	     ALLOW(ALLOW_POLICY), INGRESS, EVENT, IDS(ID_A, ID_B), RULE(7));

	/* An unrelated change: c3 is decided again and still allowed. */
	other.remote_id = ID_C;
	other.rule_id = 8;
	rules_set((const struct dp_rule[]){ rule7, other }, 2);
	from("c3 A->B after an unrelated change", &A, &a3, REDIRECT,
	     ALLOW(ALLOW_POLICY), INGRESS, EVENT, IDS(ID_A, ID_B), RULE(7));
	is_str(ct_str(&c3), ct_want(ID_A, ID_B, 7, true, false, BH_CT_NEW),
	       "c3: conntrack entry revalidated under the new revision");

	/* B relabelled: rule 7 (for identity 2000) no longer selects it. */
	ep_set(&B, ID_B + 1, BH_EP_F_ENFORCE_INGRESS);
	rev_bump();
	from("c3 A->B after B changed identity", &A, &a3, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_A, ID_B + 1));
	is_str(ct_str(&c3), "absent", "c3: conntrack entry removed");
}

/* Audit mode reports what policy would drop and passes it; what is not a
 * policy decision (spoofing) still drops. */
static void test_audit(void)
{
	struct pkt_desc d = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	struct pkt_desc ack = tcp_ack(d);
	struct pkt_desc h = to_pod(GW, &B, IPPROTO_TCP, 41000, 80);
	struct pkt_desc spoof = d;

	/* node-wide */
	reset();
	cfg_flags(BH_CFG_F_LOADED | BH_CFG_F_AUDIT);
	ep_set(&B, ID_B, BH_EP_F_ENFORCE_INGRESS);
	from("audit (node): A->B would be dropped", &A, &d, REDIRECT,
	     AUDITED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_A, ID_B));
	check_delivered("audit (node): A->B", &d, &B);
	is_str(ct_str(&d), ct_want(ID_A, ID_B, 0, true, true, BH_CT_NEW),
	       "audit (node): conntrack entry flagged audit");
	from("audit (node): A->B next packet", &A, &ack, REDIRECT,
	     .verdict = BH_VERDICT_AUDIT, .reason = BH_REASON_ALLOW_ESTABLISHED,
	     EGRESS);
	cfg_flags(BH_CFG_F_LOADED);
	rev_bump();
	from("audit (node) off: the audited connection decided again", &A,
	     &ack, SHOT, DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_A, ID_B));
	is_str(ct_str(&d), "absent", "audit (node) off: conntrack entry removed");
	cfg_flags(BH_CFG_F_LOADED | BH_CFG_F_AUDIT);
	to("audit (node): host->B would be dropped", &B, &h, OK_,
	   AUDITED(DROP_POLICY_DEFAULT), INGRESS, IDS(BH_ID_HOST, ID_B));
	from("audit (node): A's packet on B's veth", &B, &d, SHOT,
	     DROPPED(DROP_SPOOFED_IP), EGRESS, IDS(0, 0));
	spoof.smac = EVIL_MAC;
	from("audit (node): A's address with another MAC", &A, &spoof, SHOT,
	     DROPPED(DROP_SPOOFED_MAC), EGRESS, IDS(ID_A, 0));
	ep_set(&A, BH_ID_INIT, 0);
	ep_set(&B, ID_B, 0);
	d.sport = 40010;
	from("audit (node): A with identity init", &A, &d, REDIRECT,
	     AUDITED(DROP_ENDPOINT_INIT), EGRESS, IDS(BH_ID_INIT, ID_B));

	/* per endpoint */
	reset();
	ep_set(&B, ID_B, BH_EP_F_ENFORCE_INGRESS | BH_EP_F_AUDIT);
	d.sport = 40020;
	from("audit (B): A->B would be dropped", &A, &d, REDIRECT,
	     AUDITED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_A, ID_B));
	is_str(ct_str(&d), ct_want(ID_A, ID_B, 0, true, true, BH_CT_NEW),
	       "audit (B): conntrack entry flagged audit");
	h.sport = 41001;
	to("audit (B): host->B would be dropped", &B, &h, OK_,
	   AUDITED(DROP_POLICY_DEFAULT), INGRESS, IDS(BH_ID_HOST, ID_B));
	d.sport = 40021;
	d.smac = EVIL_MAC;
	from("audit (B): A's address with another MAC", &A, &d, SHOT,
	     DROPPED(DROP_SPOOFED_MAC), EGRESS, IDS(ID_A, 0));
	d.smac = A.mac;
	ep_set(&A, ID_A, BH_EP_F_ENFORCE_EGRESS);
	from("audit (B) but not A: A's egress drop stands", &A, &d, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), EGRESS, IDS(ID_A, ID_B));
	ep_set(&A, ID_A, BH_EP_F_ENFORCE_EGRESS | BH_EP_F_AUDIT);
	/* both would drop: the last to decide, B's ingress, is reported */
	from("audit (A and B): both would drop", &A, &d, REDIRECT,
	     AUDITED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_A, ID_B));

	/* an audited connection that policy comes to allow is no longer
	 * audited */
	d.sport = 40020;
	ep_set(&A, ID_A, 0);
	rules_set(&rule7, 1);
	ack = tcp_ack(d);
	from("audit (B): A->B after rule 7 allows it", &A, &ack,
	     REDIRECT, ALLOW(ALLOW_POLICY), INGRESS, EVENT, IDS(ID_A, ID_B),
	     RULE(7));
	is_str(ct_str(&d), ct_want(ID_A, ID_B, 7, true, false, BH_CT_NEW),
	       "audit (B): conntrack entry no longer flagged audit");
}

/* ICMP: echo is a connection keyed by its id; errors belong to the
 * connection they quote, and only to it. */
static void test_icmp(void)
{
	struct pkt_desc echo = from_pod(&A, B.ip, IPPROTO_ICMP, 0x1234, 0);
	struct pkt_desc reply, echo_ba, err, ghost;
	struct pkt_desc d = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	struct pkt_desc quoted = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	struct pkt_desc bw = from_pod(&B, WORLD, IPPROTO_UDP, 5000, 53);
	struct pkt_desc bw_quoted = bw;

	reset();
	echo.icmp_type = ICMP_ECHO;
	ep_set(&A, ID_A, BH_EP_F_ENFORCE_INGRESS);
	ep_set(&B, ID_B, BH_EP_F_ENFORCE_INGRESS);
	RULES({ .local_id = ID_B, .remote_id = ID_A, .dir = BH_DIR_INGRESS,
		.proto = IPPROTO_ICMP, .action = BH_POLICY_ALLOW, .rule_id = 51 },
	      rule7);
	from("echo A->B, rule 51 allows icmp", &A, &echo, REDIRECT,
	     ALLOW(ALLOW_POLICY), INGRESS, EVENT, IDS(ID_A, ID_B), RULE(51));
	reply = reply_of(&echo, &B);
	from("echo reply B->A", &B, &reply, REDIRECT, ALLOW(ALLOW_ESTABLISHED),
	     EGRESS, RULE(51));
	check_delivered("echo reply B->A", &reply, &A);
	echo_ba = from_pod(&B, A.ip, IPPROTO_ICMP, 0x4321, 0);
	echo_ba.icmp_type = ICMP_ECHO;
	from("echo B->A, A selected, no icmp rule", &B, &echo_ba, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_B, ID_A));
	/* A request is never the reply to a request, whatever its id. */
	echo_ba.sport = echo.sport;
	from("echo request B->A reusing A's echo id", &B, &echo_ba, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_B, ID_A));

	/* frag needed from B about A's allowed connection to it */
	from("A->B tcp/80 opens", &A, &d, REDIRECT, ALLOW(ALLOW_POLICY), INGRESS,
	     EVENT, IDS(ID_A, ID_B), RULE(7));
	err = from_pod(&B, A.ip, IPPROTO_ICMP, 0, 0);
	err.icmp_type = ICMP_DEST_UNREACH;
	err.icmp_code = 4;
	err.quote = &quoted;
	from("frag needed B->A quoting A->B tcp/80", &B, &err, REDIRECT,
	     ALLOW(ALLOW_ESTABLISHED), EGRESS, RULE(7));
	check_delivered("frag needed B->A", &err, &A);
	/* A policy change elsewhere leaves the connection allowed, and its
	 * errors with it. */
	RULES({ .local_id = ID_B, .remote_id = ID_A, .dir = BH_DIR_INGRESS,
		.proto = IPPROTO_ICMP, .action = BH_POLICY_ALLOW, .rule_id = 51 },
	      rule7,
	      { .local_id = ID_B, .remote_id = ID_C, .dir = BH_DIR_INGRESS,
		.proto = IPPROTO_UDP, .action = BH_POLICY_ALLOW, .rule_id = 52 });
	from("frag needed B->A after an unrelated policy change", &B, &err,
	     REDIRECT, ALLOW(ALLOW_ESTABLISHED), EGRESS, RULE(7));

	/* quoting a connection nobody made: a plain ICMP packet */
	ghost = quoted;
	ghost.sport = 40999;
	err.quote = &ghost;
	from("unreachable B->A quoting an unknown connection", &B, &err, SHOT,
	     DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_B, ID_A));

	/* quoting B's own connection to the world: nothing to do with A */
	from("B->8.8.8.8 udp/53 opens", &B, &bw, OK_, ALLOW(ALLOW_NO_POLICY),
	     EGRESS, EVENT, IDS(ID_B, BH_ID_WORLD));
	err.quote = &bw_quoted;
	from("unreachable B->A quoting B's connection to 8.8.8.8", &B, &err,
	     SHOT, DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_B, ID_A));
}

/* Events are rate-limited per CPU; the counters are not. The test runs
 * on one CPU, so one bucket decides. A lowered burst holds from the moment
 * it is written (round one) and after a refill (round two). */
static void test_event_rate_limit(void)
{
	struct pkt_desc d = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	struct bh_event_budget b0, b1;
	struct dp_err err = { 0 };
	struct bh_config c;
	uint8_t f[PKT_MAX];
	size_t n = pkt_build(f, &d);
	int events, bad;
	struct got g;
	unsigned int idx = BH_COUNTER_INDEX(BH_VERDICT_DROP,
					    BH_REASON_DROP_POLICY_DEFAULT,
					    BH_DIR_INGRESS);

	reset();
	ep_set(&B, ID_B, BH_EP_F_ENFORCE_INGRESS);
	c = cfg_get();
	c.events_per_sec = 1;
	c.events_burst = 3;

	for (int round = 0; round < 2; round++) {
		const char *when = round ? "a second later" : "at once";

		if (round) {
			/* Long enough for the bucket to refill past the burst
			 * at one token a second: the next take caps it at 3,
			 * however much longer a busy machine sleeps. */
			usleep(3200 * 1000);
		} else {
			cfg_put(&c);
		}
		drain(cur);
		counters(before);
		setup_ok(dp_event_budget_read(&cur->m, &b0, &err), "budget", &err);
		events = bad = 0;
		for (int i = 0; i < 50; i++) {
			if (prog_run(cur->from, A.ifindex, f, n, &g) < 0 ||
			    g.ret != TC_ACT_SHOT)
				bad++;
			nev = 0;
			ring_buffer__consume(cur->rb);
			events += nev;
		}
		counters(after);
		setup_ok(dp_event_budget_read(&cur->m, &b1, &err), "budget", &err);
		is_int(bad, 0, "rate limit %s: 50 denied packets all dropped", when);
		is_int(after[idx].packets - before[idx].packets, 50,
		       "rate limit %s: all 50 counted", when);
		is_int(events, 3, "rate limit %s: burst of 3 events reported", when);
		is_int(b1.emitted - b0.emitted, events,
		       "rate limit %s: budget counts what was emitted", when);
		ok(b1.suppressed - b0.suppressed >= 47,
		   "rate limit %s: budget suppressed >= 47 (got %llu)", when,
		   (unsigned long long)(b1.suppressed - b0.suppressed));
		is_int(b1.lost - b0.lost, 0, "rate limit %s: nothing lost", when);
	}
	reset();
}

/* A pod of another node: after the source's egress policy, the packet is
 * handed to the VXLAN device untouched (the tunnel key cannot be read back
 * from a test run; the frame, verdict and counters can), whether the peer
 * has an ipcache entry of its own or only its node's pod CIDR; a pod of
 * this node and the world are not tunnelled, nor is anything when the
 * node has no overlay or the carrier is the node itself. */
static void test_tunnel_out(void)
{
	struct pkt_desc c = from_pod(&A, REMOTE_C, IPPROTO_TCP, 40000, 80);
	struct pkt_desc d = from_pod(&A, REMOTE_D, IPPROTO_UDP, 40001, 53);
	struct pkt_desc local = from_pod(&A, B.ip, IPPROTO_TCP, 40002, 80);
	struct pkt_desc w = from_pod(&A, WORLD, IPPROTO_TCP, 40003, 443);
	struct pkt_desc c2 = c, ack = tcp_ack(c);

	reset();
	tunnel_cfg(VXLAN.ifindex, NODE1);
	from("A->C on node 2 (ipcache /32)", &A, &c, REDIRECT,
	     ALLOW(ALLOW_NO_POLICY), EGRESS, EVENT, IDS(ID_A, ID_C));
	check_untouched("A->C: handed to the tunnel", &c);
	is_str(ct_str(&c), ct_want(ID_A, ID_C, 0, true, false, BH_CT_NEW),
	       "A->C: conntrack entry made");
	from("A->C again", &A, &ack, REDIRECT, ALLOW(ALLOW_ESTABLISHED), EGRESS);
	check_untouched("A->C again: handed to the tunnel", &ack);
	from("A->D on node 2, known only by node 2's pod CIDR", &A, &d, REDIRECT,
	     ALLOW(ALLOW_NO_POLICY), EGRESS, EVENT, IDS(ID_A, BH_ID_UNKNOWN));
	check_untouched("A->D: handed to the tunnel", &d);
	from("A->B, a pod of this node, with an overlay", &A, &local, REDIRECT,
	     ALLOW(ALLOW_NO_POLICY), EGRESS, EVENT, IDS(ID_A, ID_B));
	check_delivered("A->B, not tunnelled", &local, &B);
	from("A->8.8.8.8 with an overlay", &A, &w, OK_, ALLOW(ALLOW_NO_POLICY),
	     EGRESS, EVENT, IDS(ID_A, BH_ID_WORLD));
	check_untouched("A->8.8.8.8: not tunnelled, handed to the host", &w);

	ep_set(&A, ID_A, BH_EP_F_ENFORCE_EGRESS);
	c2.sport = 40010;
	from("A selected for egress, no rule: A->C dropped before the tunnel",
	     &A, &c2, SHOT, DROPPED(DROP_POLICY_DEFAULT), EGRESS, IDS(ID_A, ID_C));
	RULES({ .local_id = ID_A, .remote_id = ID_C, .dir = BH_DIR_EGRESS,
		.proto = IPPROTO_TCP, .action = BH_POLICY_ALLOW, .port_lo = 80,
		.port_hi = 80, .rule_id = 31 });
	from("rule 31 allows A->ID_C tcp/80: tunnelled", &A, &c2, REDIRECT,
	     ALLOW(ALLOW_POLICY), EGRESS, EVENT, IDS(ID_A, ID_C), RULE(31));
	check_untouched("A->C by rule 31: handed to the tunnel", &c2);

	reset();
	tunnel_cfg(0, NODE1);
	c2.sport = 40011;
	from("no overlay on this node: A->C goes to the host", &A, &c2, OK_,
	     ALLOW(ALLOW_NO_POLICY), EGRESS, EVENT, IDS(ID_A, ID_C));
	tunnel_cfg(VXLAN.ifindex, NODE2);
	c2.sport = 40012;
	from("the carrier of C is this very node: A->C goes to the host", &A,
	     &c2, OK_, ALLOW(ALLOW_NO_POLICY), EGRESS, EVENT, IDS(ID_A, ID_C));
	tunnel_cfg(VXLAN.ifindex, NODE1);
	ep_set(&A, BH_ID_LOCAL_MIN + 1, 0);
	c2.sport = 40013;
	from("A with an identity wider than a VNI: not tunnelled", &A, &c2,
	     SHOT, DROPPED(DROP_BAD_VNI), EGRESS,
	     IDS(BH_ID_LOCAL_MIN + 1, ID_C));
	reset();
	tunnel_cfg(0, 0);
}

/* The overlay: a VNI is believed only from a node of the tunnel map and
 * only as a cluster identity; the destination must be a pod here, whose
 * ingress policy judges the packet by the VNI, whatever this node's
 * ipcache says of the inner source; replies of connections the local pod
 * opened pass through conntrack; delivery as for a local pod. */
static void test_overlay(void)
{
	struct pkt_desc t = from_node2(REMOTE_C, &B, IPPROTO_TCP, 41000, 80);
	struct pkt_desc r = reply_of(&t, &B), nobody = t, ttl1 = t, t2 = t;
	struct pkt_desc dd = from_node2(REMOTE_D, &B, IPPROTO_TCP, 41002, 80);
	struct pkt_desc o = from_pod(&A, REMOTE_C, IPPROTO_TCP, 40100, 8080);
	struct pkt_desc o_r = from_node2(REMOTE_C, &A, IPPROTO_TCP, 8080, 40100);
	struct pkt_desc o_new = from_node2(REMOTE_C, &A, IPPROTO_TCP, 41100, 8080);
	struct dp_err err = { 0 };
	struct bh_tunnel_value node = { 0 };

	reset();
	tunnel_cfg(VXLAN.ifindex, NODE1);
	run_ip("overlay without a tunnel key", cur->overlay, VXLAN.ifindex, &t,
	       &(struct want){ SHOT, DROPPED(DROP_NO_TUNNEL), INGRESS,
			       .tuple = T_NONE });
	over("VNI ID_C from an address that is not a node", ID_C, NOT_A_NODE,
	     &t, SHOT, DROPPED(DROP_UNKNOWN_NODE), INGRESS);
	is_str(ct_str(&t), "absent", "... leaves no conntrack entry");
	over("VNI 5 (a reserved identity) from node 2", BH_ID_INIT, NODE2, &t,
	     SHOT, DROPPED(DROP_BAD_VNI), INGRESS, IDS(BH_ID_INIT, 0));
	over("VNI 255 from node 2", BH_ID_RESERVED_MAX, NODE2, &t, SHOT,
	     DROPPED(DROP_BAD_VNI), INGRESS, IDS(BH_ID_RESERVED_MAX, 0));
	nobody.daddr = STRANGER;
	over("C->an address that is no endpoint here", ID_C, NODE2, &nobody,
	     SHOT, DROPPED(DROP_NO_ENDPOINT), INGRESS, IDS(ID_C, 0));

	over("C->B, no policy", ID_C, NODE2, &t, REDIRECT,
	     ALLOW(ALLOW_NO_POLICY), INGRESS, EVENT, IDS(ID_C, ID_B));
	check_delivered("C->B through the tunnel", &t, &B);
	is_str(ct_str(&t), ct_want(ID_C, ID_B, 0, false, false, BH_CT_NEW),
	       "C->B: conntrack entry made with the VNI as the source");
	from("B->C reply", &B, &r, REDIRECT, ALLOW(ALLOW_ESTABLISHED), EGRESS);
	check_untouched("B->C reply: handed to the tunnel", &r);
	ttl1.ttl = 1;
	ttl1.sport = 41001;
	over("C->B with TTL 1", ID_C, NODE2, &ttl1, OK_, ALLOW(ALLOW_NO_POLICY),
	     INGRESS, EVENT, IDS(ID_C, ID_B));
	is_int(last.out[PKT_OFF_TTL], 1, "C->B with TTL 1: left for the host "
	       "to answer, TTL untouched");

	ep_set(&B, ID_B, BH_EP_F_ENFORCE_INGRESS);
	RULES({ .local_id = ID_B, .remote_id = ID_C, .dir = BH_DIR_INGRESS,
		.proto = IPPROTO_TCP, .action = BH_POLICY_ALLOW, .port_lo = 80,
		.port_hi = 80, .rule_id = 41 });
	t2.sport = 41010;
	over("B selected, rule 41 allows ID_C: VNI ID_C reaches B", ID_C, NODE2,
	     &t2, REDIRECT, ALLOW(ALLOW_POLICY), INGRESS, EVENT, IDS(ID_C, ID_B),
	     RULE(41));
	check_delivered("C->B by rule 41", &t2, &B);
	over("VNI ID_D from D, which this node's ipcache does not name", ID_D,
	     NODE2, &dd, SHOT, DROPPED(DROP_POLICY_DEFAULT), INGRESS,
	     IDS(ID_D, ID_B));
	t2.sport = 41011;
	over("C's address with VNI ID_D: the VNI names the sender, not the "
	     "ipcache", ID_D, NODE2, &t2, SHOT, DROPPED(DROP_POLICY_DEFAULT),
	     INGRESS, IDS(ID_D, ID_B));
	dd.sport = 41012;
	over("D's address with VNI ID_C: allowed by rule 41 before this node's "
	     "ipcache knows D", ID_C, NODE2, &dd, REDIRECT, ALLOW(ALLOW_POLICY),
	     INGRESS, EVENT, IDS(ID_C, ID_B), RULE(41));

	ep_set(&A, ID_A, BH_EP_F_ENFORCE_INGRESS);
	from("A->C:8080 opens a connection through the tunnel", &A, &o, REDIRECT,
	     ALLOW(ALLOW_NO_POLICY), EGRESS, EVENT, IDS(ID_A, ID_C));
	o_r.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
	over("C->A reply through the tunnel, A selected for ingress", ID_C, NODE2,
	     &o_r, REDIRECT, ALLOW(ALLOW_ESTABLISHED), INGRESS);
	check_delivered("C->A reply", &o_r, &A);
	over("a new C->A:8080 connection: dropped by A's ingress", ID_C, NODE2,
	     &o_new, SHOT, DROPPED(DROP_POLICY_DEFAULT), INGRESS, IDS(ID_C, ID_A));

	setup_ok(dp_tunnel_del(&cur->m, NODE2, &err), "tunnel del", &err);
	over("node 2 gone from the tunnel map: its established C->A drops", ID_C,
	     NODE2, &o_r, SHOT, DROPPED(DROP_UNKNOWN_NODE), INGRESS);
	setup_ok(dp_tunnel_put(&cur->m, NODE2, &node, &err), "tunnel put", &err);
	reset();
	tunnel_cfg(0, 0);
}

/* --- map full: a datapath of its own with a one-entry conntrack ---------- */

/* An object file of this test's build: BUILD/tests/x.t and name
 * "datapath/from_container.bpf.o" give BUILD/datapath/from_container.bpf.o. */
static int object_path(char *buf, size_t len, const char *name)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	for (int i = 0; i < 2; i++) {
		slash = strrchr(exe, '/');
		if (!slash)
			return -1;
		*slash = '\0';
	}
	return snprintf(buf, len, "%s/%s", exe, name) < (int)len ? 0 : -1;
}

static void test_ct_full(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = full_root);
	struct dp full = { .from = -1, .to = -1, .overlay = -1 };
	struct pkt_desc c1 = from_pod(&A, B.ip, IPPROTO_TCP, 40000, 80);
	struct pkt_desc c2 = from_pod(&A, B.ip, IPPROTO_TCP, 40001, 80);
	struct pkt_desc a1 = tcp_ack(c1);
	struct bpf_program *prog;
	struct bh_config cfg;
	struct bpf_map *ct;
	char path[PATH_MAX];
	int rc;

	snprintf(full_root, sizeof(full_root), "/sys/fs/bpf/bhpkt-%d-full",
		 (int)getpid());
	if (object_path(path, sizeof(path), "datapath/from_container.bpf.o") < 0 ||
	    access(path, R_OK) < 0) {
		ok(0, "conntrack full: program object %s readable", path);
		return;
	}
	if (mkdir(full_root, 0700) < 0 && errno != EEXIST) {
		ok(0, "conntrack full: mkdir %s: %s", full_root, strerror(errno));
		return;
	}
	full_obj = bpf_object__open_file(path, &opts);
	if (!full_obj) {
		ok(0, "conntrack full: open %s: %s", path, strerror(errno));
		return;
	}
	ct = bpf_object__find_map_by_name(full_obj, BH_MAP_CONNTRACK);
	prog = bpf_object__find_program_by_name(full_obj, BH_PROG_FROM_CONTAINER);
	if (!ct || !prog) {
		ok(0, "conntrack full: object has map %s and program %s",
		   BH_MAP_CONNTRACK, BH_PROG_FROM_CONTAINER);
		return;
	}
	bpf_map__set_type(ct, BPF_MAP_TYPE_HASH);
	bpf_map__set_max_entries(ct, 1);
	rc = bpf_object__load(full_obj);
	is_int(rc, 0, "conntrack full: object loads with a one-entry hash "
	       "conntrack under %s", full_root);
	if (rc < 0)
		return;

#define FD(name) bpf_map__fd(bpf_object__find_map_by_name(full_obj, name))
	full.m = (struct dp_maps){
		.endpoints = FD(BH_MAP_ENDPOINTS), .ipcache = FD(BH_MAP_IPCACHE),
		.policy = FD(BH_MAP_POLICY), .conntrack = FD(BH_MAP_CONNTRACK),
		.config = FD(BH_MAP_CONFIG), .counters = FD(BH_MAP_COUNTERS),
		.events = FD(BH_MAP_EVENTS),
		.event_budget = FD(BH_MAP_EVENT_BUDGET),
		.tunnel = FD(BH_MAP_TUNNEL),
	};
#undef FD
	full.from = bpf_program__fd(prog);
	full.rb = ring_buffer__new(full.m.events, on_event, NULL, NULL);
	ok(full.rb != NULL, "conntrack full: ring buffer opened");

	cur = &full;
	dp_config_defaults(&cfg);
	cfg_put(&cfg);
	ep_set(&A, ID_A, 0);
	ep_set(&B, ID_B, 0);
	from("conntrack full: first flow takes the one entry", &A, &c1, REDIRECT,
	     ALLOW(ALLOW_NO_POLICY), EGRESS, EVENT, IDS(ID_A, ID_B));
	from("conntrack full: second flow cannot be tracked", &A, &c2, SHOT,
	     DROPPED(DROP_CT_FULL), EGRESS, IDS(ID_A, ID_B));
	is_str(ct_str(&c2), "absent", "conntrack full: second flow not tracked");
	from("conntrack full: first flow goes on", &A, &a1, REDIRECT,
	     ALLOW(ALLOW_ESTABLISHED), EGRESS);
	cur = &node;
	if (full.rb)
		ring_buffer__free(full.rb);
}

/* --- setup ---------------------------------------------------------------- */

static void pin_to_one_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		bail("sched_setaffinity: %s", strerror(errno));
}

static void make_veths(void)
{
	struct ep *eps[] = { &A, &B };
	char cmd[256];

	for (size_t i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd),
			 "ip link add %s type veth peer name %sp >/dev/null 2>&1",
			 eps[i]->ifname, eps[i]->ifname);
		if (system(cmd) != 0)
			bail("cannot create veth %s: `%s` failed", eps[i]->ifname, cmd);
		eps[i]->ifindex = if_nametoindex(eps[i]->ifname);
		if (!eps[i]->ifindex)
			bail("veth %s has no ifindex", eps[i]->ifname);
		eps[i]->ip = ip4(eps[i]->addr);
	}
	snprintf(cmd, sizeof(cmd), "ip link add %s type vxlan external dstport "
		 "4789 >/dev/null 2>&1", VXLAN.ifname);
	if (system(cmd) != 0)
		bail("cannot create the VXLAN device: `%s` failed", cmd);
	VXLAN.ifindex = if_nametoindex(VXLAN.ifname);
	if (!VXLAN.ifindex)
		bail("VXLAN device %s has no ifindex", VXLAN.ifname);
}

static void load(void)
{
	char path[PATH_MAX];
	struct dp_load_result res = { 0 };
	struct dp_err err = { 0 };
	struct bh_config c;
	int rc;

	snprintf(root, sizeof(root), "/sys/fs/bpf/bhpkt-%d", (int)getpid());
	rc = dp_load(root, &res, &err);
	if (rc < 0)
		bail("dp_load %s: %s", root, err.msg);
	if (dp_maps_open(root, &node.m, &err) < 0)
		bail("dp_maps_open %s: %s", root, err.msg);
	snprintf(path, sizeof(path), "%s/%s/%s", root, BH_PIN_PROGS_DIR,
		 BH_PROG_FROM_CONTAINER);
	node.from = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/%s/%s", root, BH_PIN_PROGS_DIR,
		 BH_PROG_TO_CONTAINER);
	node.to = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/%s/%s", root, BH_PIN_PROGS_DIR,
		 BH_PROG_OVERLAY);
	node.overlay = bpf_obj_get(path);
	if (node.from < 0 || node.to < 0 || node.overlay < 0)
		bail("pinned programs under %s/%s: %s", root, BH_PIN_PROGS_DIR,
		     strerror(errno));
	node.rb = ring_buffer__new(node.m.events, on_event, NULL, NULL);
	if (!node.rb)
		bail("ring_buffer__new on %s: %s", BH_MAP_EVENTS, strerror(errno));

	c = cfg_get();
	ok(c.flags & BH_CFG_F_LOADED, "dp_load writes a config marked loaded");
	is_int(c.allow_sample, BH_CFG_DEFAULT_ALLOW_SAMPLE,
	       "dp_load's config samples every new flow");
}

static void seed_ipcache(void)
{
	struct bh_ipcache_value host = { .identity = BH_ID_HOST };
	struct bh_ipcache_value unknown = { .identity = BH_ID_UNKNOWN };
	struct bh_ipcache_value node2_net = { .identity = BH_ID_UNKNOWN,
					      .tunnel_ip = NODE2 };
	struct bh_ipcache_value c = { .identity = ID_C, .tunnel_ip = NODE2 };
	struct bh_tunnel_value node2 = { 0 };
	struct dp_err err = { 0 };

	if (dp_ipcache_put(&node.m, GW, 32, &host, &err) < 0 ||
	    dp_ipcache_put(&node.m, UNKNOWN_PEER, 16, &unknown, &err) < 0 ||
	    dp_ipcache_put(&node.m, REMOTE_C, 24, &node2_net, &err) < 0 ||
	    dp_ipcache_put(&node.m, REMOTE_C, 32, &c, &err) < 0 ||
	    dp_tunnel_put(&node.m, NODE2, &node2, &err) < 0)
		bail("ipcache: %s", err.msg);
}

/* The shim in front of the overlay program (see the top of the file). */
static void shim_load(void)
{
	const char *name = "tests/bpf/tunnel_shim.bpf.o";
	struct bpf_program *prog;
	struct bpf_map *next, *key;
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd = node.overlay;

	if (object_path(path, sizeof(path), name) < 0 || access(path, R_OK) < 0)
		bail("%s not readable: build it (make %s)", path, name);
	shim_obj = bpf_object__open_file(path, NULL);
	if (!shim_obj || bpf_object__load(shim_obj) < 0)
		bail("load %s: %s", path, strerror(errno));
	prog = bpf_object__find_program_by_name(shim_obj, "tunnel_shim");
	next = bpf_object__find_map_by_name(shim_obj, "shim_next");
	key = bpf_object__find_map_by_name(shim_obj, "shim_key");
	if (!prog || !next || !key)
		bail("%s lacks the program tunnel_shim or its maps", path);
	shim = bpf_program__fd(prog);
	shim_key = bpf_map__fd(key);
	if (bpf_map_update_elem(bpf_map__fd(next), &zero, &fd, BPF_ANY) < 0)
		bail("shim_next: put the overlay program: %s", strerror(errno));
}

int main(void)
{
	main_pid = getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		skip_all("needs root for BPF and network namespaces");
	if (unshare(CLONE_NEWNET) < 0)
		skip_all("unshare(CLONE_NEWNET): %s", strerror(errno));
	GW = ip4("10.0.1.254");
	WORLD = ip4("8.8.8.8");
	UNKNOWN_PEER = ip4("10.99.1.1");
	STRANGER = ip4("10.0.1.77");
	NODE1 = ip4("192.168.50.1");
	NODE2 = ip4("192.168.50.2");
	NOT_A_NODE = ip4("192.168.50.66");
	REMOTE_C = ip4("10.0.2.3");
	REMOTE_D = ip4("10.0.2.4");

	pin_to_one_cpu();
	make_veths();
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	load();
	seed_ipcache();
	shim_load();

	test_no_config();
	test_spoofing();
	test_malformed();
	test_endpoint_init();
	test_default_allow();
	test_to_container();
	test_ingress_policy();
	test_egress_policy();
	test_unknown_identity();
	test_port_ranges();
	test_deny_beats_allow();
	test_revocation();
	test_audit();
	test_icmp();
	test_tunnel_out();
	test_overlay();
	test_event_rate_limit();
	test_ct_full();

	cleanup();
	return done_testing();
}
