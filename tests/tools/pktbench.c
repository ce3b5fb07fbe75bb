/* pktbench: what the datapath costs per packet, for `make bench`, and the
 * policy sets its end-to-end part installs.
 *
 * `run` loads the datapath under ROOT inside a network namespace of its
 * own, where two veth pairs stand for two pods' host veths, and times the
 * real programs with BPF_PROG_TEST_RUN: the kernel's own duration per run,
 * call by call or batch by batch interleaved with a no-op TC program run
 * on the same packet, so the harness floor is measured alongside. Prints
 * one line per figure.
 *
 * `rules` makes the policy map hold N rules that match none of the
 * benchmark's flows plus the allows it needs, in one sync.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "bulkhead/pin.h"
#include "cni/netlink.h"
#include "datapath/loader.h"
#include "datapath/maps.h"
#include "datapath/policy_map.h"

/* The benchmark's pods: A sends, B answers; OFF_NODE stands for an
 * address on another node, known to the ipcache with ID_REMOTE. */
#define POD_A		"10.201.0.2"
#define POD_B		"10.201.0.3"
#define OFF_NODE	"10.202.0.9"
#define OFF_NODE_NET	"10.202.0.0"
#define ID_A		1000u
#define ID_B		1001u
#define ID_REMOTE	2000u
#define PORT_ALLOWED	5201
#define PORT_DENIED	5202
/* Filler rules use identities far from the benchmark's. */
#define FILLER_LOCAL	50000u
#define FILLER_REMOTE	100000u
#define FILLER_RULE_ID	1000u
#define MAX_RULES	100000
/* Every figure's packet starts with this TTL and local delivery spends one
 * per run, so a batch of repeats must stay below it to keep taking the
 * same path (at TTL 1 the packet goes to the host stack instead). */
#define PKT_TTL		255
#define MAX_REPEAT	250
#define MAX_ROUNDS	50

static const unsigned char MAC_A[6] = { 0x02, 0xbe, 0, 0, 0, 0x0a };
static const unsigned char MAC_B[6] = { 0x02, 0xbe, 0, 0, 0, 0x0b };
static const unsigned char HOST_A[6] = { 0x02, 0xbe, 0, 0, 1, 0x0a };
static const unsigned char MAC_REMOTE[6] = { 0x02, 0xbe, 0, 0, 2, 0x01 };

static int usage(void)
{
	fprintf(stderr,
		"usage: pktbench run ROOT NOOP_OBJ [--rounds R] [--batches B] [--repeat N]\n"
		"                    [--flows F] [--rules N]\n"
		"       pktbench rules ROOT N CLIENT_ID SERVER_ID PORT...\n"
		"run:   loads the datapath under ROOT (a bpffs directory it may create and\n"
		"       removes again) in a network namespace of its own and prints, per\n"
		"       figure, \"figure NAME bh=NS noop=NS diff=NS diff_min=NS diff_max=NS\n"
		"       samples=S repeat=N\": medians of the kernel's duration per run, the\n"
		"       difference's range over the R rounds. Run it pinned to one CPU.\n"
		"rules: makes ROOT's policy map hold N filler rules that match no benchmark\n"
		"       flow, plus, per PORT, an egress allow CLIENT_ID -> SERVER_ID and an\n"
		"       ingress allow SERVER_ID <- CLIENT_ID for TCP to PORT.\n");
	return 2;
}

/* Set once loaded, so a failure still removes the pins. */
static const char *loaded_root;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	struct dp_err err = { 0 };
	va_list ap;

	fputs("pktbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (loaded_root)
		dp_unload(loaded_root, &err);
	exit(2);
}

static long parse_long(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		die("%s %s: want %ld..%ld", what, s, lo, hi);
	return v;
}

static __be32 ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		die("bad address %s", s);
	return a.s_addr;
}

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* ---- policy ---------------------------------------------------------- */

/* Filler rule i: a rule a node could well hold, that matches none of the
 * benchmark's flows because its remote identity is nobody's. Half are
 * about the benchmark's own pods (a, b), so the trie is crowded exactly
 * where the lookups go; the rest about 64 other local identities. Single
 * ports, so a rule is one map entry; one in ten is a deny. */
static void filler_rule(size_t i, __u32 a, __u32 b, struct dp_rule *r)
{
	memset(r, 0, sizeof(*r));
	switch (i % 4) {
	case 0: r->local_id = a; break;
	case 1: r->local_id = b; break;
	default: r->local_id = FILLER_LOCAL + (__u32)(i % 64); break;
	}
	r->remote_id = FILLER_REMOTE + (__u32)i;
	r->dir = (i / 4) % 2 ? BH_DIR_INGRESS : BH_DIR_EGRESS;
	r->proto = i % 3 == 2 ? IPPROTO_UDP : IPPROTO_TCP;
	r->port_lo = r->port_hi = (__u16)(1 + (i * 7919) % 65535);
	r->action = i % 10 == 9 ? BH_POLICY_DENY : BH_POLICY_ALLOW;
	r->rule_id = FILLER_RULE_ID + (__u32)i;
}

struct rule_set {
	struct dp_rule *r;
	size_t n;
};

static void rule_add(struct rule_set *s, const struct dp_rule *r)
{
	s->r[s->n++] = *r;
}

/* The allows a TCP flow client -> server:port needs when both ends
 * enforce: the client's egress and the server's ingress. */
static void allow_flow(struct rule_set *s, __u32 client, __u32 server,
		       __u16 port, __u32 rule_id)
{
	struct dp_rule r = {
		.local_id = client, .remote_id = server, .dir = BH_DIR_EGRESS,
		.proto = IPPROTO_TCP, .action = BH_POLICY_ALLOW,
		.port_lo = port, .port_hi = port, .rule_id = rule_id,
	};

	rule_add(s, &r);
	if (server == ID_REMOTE)
		return;	/* off the node: its ingress is not ours to decide */
	r.local_id = server;
	r.remote_id = client;
	r.dir = BH_DIR_INGRESS;
	r.rule_id = rule_id + 1;
	rule_add(s, &r);
}

/* Expands, resolves and syncs the set in one go; returns the number of
 * map entries. */
static size_t policy_write(const struct dp_maps *m, const struct rule_set *s,
			   size_t *writes)
{
	struct dp_policy_entry *e = malloc((s->n ? s->n : 1) * DP_RULE_MAX_ENTRIES *
					   sizeof(*e));
	struct dp_err err = { 0 };
	size_t n = 0;

	if (!e)
		die("out of memory for %zu rules", s->n);
	for (size_t i = 0; i < s->n; i++) {
		int k = dp_rule_expand(&s->r[i], e + n, &err);

		if (k < 0)
			die("%s", err.msg);
		n += (size_t)k;
	}
	n = dp_policy_resolve(e, n);
	if (dp_policy_sync(m, e, n, writes, &err) < 0)
		die("%s", err.msg);
	free(e);
	return n;
}

static int cmd_rules(int argc, char **argv)
{
	struct rule_set s;
	struct dp_maps m;
	struct dp_err err = { 0 };
	struct timespec t0, t1;
	size_t nfill, nports, entries, writes;
	__u32 client, server;

	if (argc < 5)
		return usage();
	nfill = (size_t)parse_long(argv[1], 0, MAX_RULES, "N");
	client = (__u32)parse_long(argv[2], 256, 0xffffff, "CLIENT_ID");
	server = (__u32)parse_long(argv[3], 256, 0xffffff, "SERVER_ID");
	nports = (size_t)(argc - 4);
	s.n = 0;
	s.r = calloc(nfill + 2 * nports, sizeof(*s.r));
	if (!s.r)
		die("out of memory for %zu rules", nfill);
	for (size_t i = 0; i < nports; i++)
		allow_flow(&s, client, server,
			   (__u16)parse_long(argv[4 + i], 1, 65535, "PORT"),
			   (__u32)(1 + 2 * i));
	for (size_t i = 0; i < nfill; i++) {
		struct dp_rule r;

		filler_rule(i, client, server, &r);
		rule_add(&s, &r);
	}
	if (dp_maps_open(argv[0], &m, &err) < 0)
		die("%s", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	entries = policy_write(&m, &s, &writes);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dp_maps_close(&m);
	printf("policy: %zu rules (%zu filler), %zu map entries, %zu writes, %.0f ms\n",
	       s.n, nfill, entries, writes, elapsed_ms(&t0, &t1));
	free(s.r);
	return 0;
}

/* ---- packets --------------------------------------------------------- */

struct packet {
	struct ether_header eth;
	struct iphdr ip;
	struct tcphdr tcp;
} __attribute__((packed));

/* The header is copied out: the packet's is packed, hence unaligned. */
static __u16 ip_csum(struct iphdr ip)
{
	__u16 w[sizeof(ip) / 2];
	__u32 sum = 0;

	memcpy(w, &ip, sizeof(ip));
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		sum += w[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

enum { F_SYN = 1, F_ACK = 2 };

static void packet_make(struct packet *p, const unsigned char *src_mac,
			const unsigned char *dst_mac, const char *saddr,
			const char *daddr, __u16 sport, __u16 dport, int flags)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->eth.ether_shost, src_mac, 6);
	memcpy(p->eth.ether_dhost, dst_mac, 6);
	p->eth.ether_type = htons(ETHERTYPE_IP);
	p->ip.version = 4;
	p->ip.ihl = 5;
	p->ip.ttl = PKT_TTL;
	p->ip.protocol = IPPROTO_TCP;
	p->ip.tot_len = htons(sizeof(p->ip) + sizeof(p->tcp));
	p->ip.saddr = ip4(saddr);
	p->ip.daddr = ip4(daddr);
	p->ip.check = ip_csum(p->ip);
	p->tcp.source = htons(sport);
	p->tcp.dest = htons(dport);
	p->tcp.doff = 5;
	p->tcp.syn = !!(flags & F_SYN);
	p->tcp.ack = !!(flags & F_ACK);
	p->tcp.window = htons(65535);
}

/* ---- the harness ----------------------------------------------------- */

struct bench {
	const char *root;
	struct dp_maps m;
	int from_fd, to_fd, noop_fd;
	struct bpf_object *noop_obj;
	int if_a, if_b;			/* the two "pods'" host veths */
	struct ring_buffer *rb;
	unsigned long events;
	struct bh_config cfg;		/* as loaded: the default event settings */
	struct rule_set base;		/* the allows every figure needs */
	struct rule_set big;		/* base plus the filler rules */
	long rounds, batches, repeat, flows, rules;
};

/* One BPF_PROG_TEST_RUN: the kernel's duration per run, in ns. Dies
 * unless the program answered `want` (-1: anything), since a figure whose
 * packet took another path would measure something else. */
static __u32 test_run(const char *what, int prog_fd, const struct packet *p,
		      int ifindex, __u32 repeat, int want)
{
	struct __sk_buff ctx = { .ifindex = (__u32)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p,
		    .data_size_in = sizeof(*p), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o) < 0)
		die("%s: BPF_PROG_TEST_RUN: %s", what, strerror(errno));
	if (want >= 0 && (int)o.retval != want)
		die("%s: the program returned %u, expected %d", what, o.retval, want);
	return o.duration;
}

/* Samples of one figure over all rounds; round r's start at start[r]. */
struct series {
	const char *name;
	__u32 *bh, *noop;
	size_t n, cap;
	size_t start[MAX_ROUNDS + 1];
	long rounds;
	__u32 repeat;
};

static void series_add(struct series *s, __u32 bh, __u32 noop)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;

		s->bh = realloc(s->bh, cap * sizeof(*s->bh));
		s->noop = realloc(s->noop, cap * sizeof(*s->noop));
		if (!s->bh || !s->noop)
			die("out of memory");
		s->cap = cap;
	}
	s->bh[s->n] = bh;
	s->noop[s->n++] = noop;
}

static void series_round(struct series *s)
{
	if (s->rounds < MAX_ROUNDS)
		s->start[++s->rounds] = s->n;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static double median(const __u32 *v, size_t n)
{
	__u32 *c = malloc((n ? n : 1) * sizeof(*c));
	double m;

	if (!c)
		die("out of memory");
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_u32);
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + (double)c[n / 2]) / 2;
	free(c);
	return m;
}

static void series_print(const struct series *s)
{
	double lo = 1e18, hi = -1e18;

	for (long r = 0; r < s->rounds; r++) {
		size_t a = s->start[r], n = s->start[r + 1] - a;
		double d = median(s->bh + a, n) - median(s->noop + a, n);

		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	double bh = median(s->bh, s->n), noop = median(s->noop, s->n);

	printf("figure %s bh=%.1f noop=%.1f diff=%.1f diff_min=%.1f diff_max=%.1f samples=%zu repeat=%u\n",
	       s->name, bh, noop, bh - noop, lo, hi, s->n, s->repeat);
}

/* A flow that stays one: batches of `repeat` runs of the same packet,
 * each batch next to a batch of the no-op, which goes first every other
 * time so neither always follows the other. */
static void measure_batches(struct bench *b, struct series *s, int prog_fd,
			    const struct packet *p, int ifindex, int want)
{
	for (long i = 0; i < b->batches; i++) {
		__u32 d_bh, d_noop;

		if (i % 2) {
			d_noop = test_run("no-op", b->noop_fd, p, ifindex,
					  (__u32)b->repeat, TC_ACT_OK);
			d_bh = test_run(s->name, prog_fd, p, ifindex,
					(__u32)b->repeat, want);
		} else {
			d_bh = test_run(s->name, prog_fd, p, ifindex,
					(__u32)b->repeat, want);
			d_noop = test_run("no-op", b->noop_fd, p, ifindex,
					  (__u32)b->repeat, TC_ACT_OK);
		}
		series_add(s, d_bh, d_noop);
	}
	s->repeat = (__u32)b->repeat;
	series_round(s);
}

static int on_event(void *ctx, void *data, size_t len)
{
	(void)data;
	(void)len;
	++*(unsigned long *)ctx;
	return 0;
}

static void drain_events(struct bench *b)
{
	if (ring_buffer__consume(b->rb) < 0)
		die("read the events ring buffer: %s", strerror(errno));
}

/* New connections: a run each (repeat 1), flow i from source port
 * sport0 + i, so every run finds no conntrack entry and decides policy.
 * Afterwards the entries are deleted (untimed), and each must have been
 * there: proof that every run created one, i.e. was a new flow. When
 * `events` is set, every flow's event is read off the ring buffer as it
 * goes, and counted. */
static void measure_new(struct bench *b, struct series *s, int prog_fd,
			const unsigned char *dst_mac, const char *daddr,
			int want, int events)
{
	const __u16 sport0 = 10000;
	unsigned long ev0 = b->events;
	struct packet p;
	struct bh_ct_key k;

	for (long i = 0; i < b->flows; i++) {
		__u32 d_bh, d_noop;

		packet_make(&p, MAC_A, dst_mac, POD_A, daddr, (__u16)(sport0 + i),
			    PORT_ALLOWED, F_SYN);
		if (i % 2) {
			d_noop = test_run("no-op", b->noop_fd, &p, b->if_a, 1, TC_ACT_OK);
			d_bh = test_run(s->name, prog_fd, &p, b->if_a, 1, want);
		} else {
			d_bh = test_run(s->name, prog_fd, &p, b->if_a, 1, want);
			d_noop = test_run("no-op", b->noop_fd, &p, b->if_a, 1, TC_ACT_OK);
		}
		series_add(s, d_bh, d_noop);
		if (events && i % 256 == 255)
			drain_events(b);
	}
	s->repeat = 1;
	series_round(s);
	for (long i = 0; i < b->flows; i++) {
		dp_ct_key(&k, ip4(POD_A), htons((__u16)(sport0 + i)), ip4(daddr),
			  htons(PORT_ALLOWED), IPPROTO_TCP, NULL);
		if (bpf_map_delete_elem(b->m.conntrack, &k) < 0)
			die("%s: flow from port %ld left no conntrack entry (%s): "
			    "it was not decided as a new flow", s->name,
			    (long)sport0 + i, strerror(errno));
	}
	if (events) {
		drain_events(b);
		if (b->events - ev0 < (unsigned long)b->flows)
			die("%s: %lu events for %ld new flows", s->name,
			    b->events - ev0, b->flows);
	}
}

/* Sets the event settings of the live config, leaving the rest (the
 * policy revision above all) as the datapath has it. */
static void events_config(struct bench *b, __u32 sample, __u32 rate, __u32 burst)
{
	struct dp_err err = { 0 };
	struct bh_config cfg;

	if (dp_config_get(&b->m, &cfg, &err) < 0)
		die("%s", err.msg);
	cfg.allow_sample = sample;
	cfg.events_per_sec = rate;
	cfg.events_burst = burst;
	if (dp_config_put(&b->m, &cfg, &err) < 0)
		die("%s", err.msg);
}

/* Spends the per-CPU event budget with a burst of denied packets and
 * empties the ring buffer, so the figures after it meet the steady state
 * of a node under load: events over budget are counted, not written. */
static void spend_event_budget(struct bench *b)
{
	struct packet p;

	packet_make(&p, MAC_A, HOST_A, POD_A, POD_B, 40100, PORT_DENIED, F_SYN);
	test_run("spend the event budget", b->from_fd, &p, b->if_a,
		 b->cfg.events_burst + 1000, TC_ACT_SHOT);
	drain_events(b);
}

/* ---- setup ----------------------------------------------------------- */

/* Two veth pairs in the tool's own namespace: their host ends give the
 * "pods" the real interface indexes the programs check packets against. */
static void make_veths(struct bench *b)
{
	struct cni_err cerr = { 0 };
	struct nl nl = { 0 };
	int self;

	if (unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET): %s", strerror(errno));
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		die("open /proc/self/ns/net: %s", strerror(errno));
	if (nl_open(&nl, &cerr) < 0 ||
	    nl_veth_create(&nl, "pkba", "pkba-pod", self, 0, NULL, &cerr) < 0 ||
	    nl_veth_create(&nl, "pkbb", "pkbb-pod", self, 0, NULL, &cerr) < 0)
		die("%s", cerr.msg);
	nl_close(&nl);
	close(self);
	b->if_a = (int)if_nametoindex("pkba");
	b->if_b = (int)if_nametoindex("pkbb");
	if (!b->if_a || !b->if_b)
		die("veths made but not found: %s", strerror(errno));
}

static int prog_get(const char *root, const char *name)
{
	char path[512];
	int fd;

	if (dp_pin_path(path, sizeof(path), root, BH_PIN_PROGS_DIR, name) < 0)
		die("path of %s under %s too long", name, root);
	fd = bpf_obj_get(path);
	if (fd < 0)
		die("open pinned program %s: %s", path, strerror(errno));
	return fd;
}

static void noop_load(struct bench *b, const char *path)
{
	struct bpf_program *prog;

	b->noop_obj = bpf_object__open_file(path, NULL);
	if (!b->noop_obj)
		die("open %s: %s", path, strerror(errno));
	if (bpf_object__load(b->noop_obj) < 0)
		die("load %s: %s", path, strerror(errno));
	prog = bpf_object__find_program_by_name(b->noop_obj, "noop");
	if (!prog)
		die("%s has no program named noop", path);
	b->noop_fd = bpf_program__fd(prog);
}

static void endpoint_put(struct bench *b, const char *ip, int ifindex,
			 __u32 id, const unsigned char *mac,
			 const unsigned char *host_mac)
{
	struct bh_endpoint ep = {
		.ifindex = (__u32)ifindex, .identity = id,
		.flags = BH_EP_F_ENFORCE_EGRESS | BH_EP_F_ENFORCE_INGRESS,
	};
	struct dp_err err = { 0 };

	memcpy(ep.mac, mac, 6);
	memcpy(ep.host_mac, host_mac, 6);
	if (dp_endpoint_put(&b->m, ip4(ip), &ep, &err) < 0)
		die("%s", err.msg);
}

static void setup(struct bench *b, const char *noop_obj)
{
	struct bh_ipcache_value remote = { .identity = ID_REMOTE };
	struct dp_load_result res;
	struct dp_err err = { 0 };
	size_t writes;

	make_veths(b);
	if (dp_load(b->root, &res, &err) < 0)
		die("%s", err.msg);
	loaded_root = b->root;
	if (dp_maps_open(b->root, &b->m, &err) < 0 ||
	    dp_config_get(&b->m, &b->cfg, &err) < 0)
		die("%s", err.msg);
	b->from_fd = prog_get(b->root, BH_PROG_FROM_CONTAINER);
	b->to_fd = prog_get(b->root, BH_PROG_TO_CONTAINER);
	noop_load(b, noop_obj);
	b->rb = ring_buffer__new(b->m.events, on_event, &b->events, NULL);
	if (!b->rb)
		die("open the events ring buffer: %s", strerror(errno));

	/* B's host MAC is A's MAC: delivery to B writes B's host MAC as the
	 * source, so the packet A sent still passes A's anti-spoofing on the
	 * next run of a batch. */
	endpoint_put(b, POD_A, b->if_a, ID_A, MAC_A, HOST_A);
	endpoint_put(b, POD_B, b->if_b, ID_B, MAC_B, MAC_A);
	if (dp_ipcache_put(&b->m, ip4(OFF_NODE_NET), 16, &remote, &err) < 0)
		die("%s", err.msg);

	b->base.r = calloc(4, sizeof(struct dp_rule));
	b->big.r = calloc((size_t)b->rules + 4, sizeof(struct dp_rule));
	if (!b->base.r || !b->big.r)
		die("out of memory");
	allow_flow(&b->base, ID_A, ID_B, PORT_ALLOWED, 1);
	allow_flow(&b->base, ID_A, ID_REMOTE, PORT_ALLOWED, 3);
	for (size_t i = 0; i < b->base.n; i++)
		rule_add(&b->big, &b->base.r[i]);
	for (long i = 0; i < b->rules; i++) {
		struct dp_rule r;

		filler_rule((size_t)i, ID_A, ID_B, &r);
		rule_add(&b->big, &r);
	}
	policy_write(&b->m, &b->base, &writes);
}

/* Everything setup made, in reverse; the pins go with dp_unload. */
static void teardown(struct bench *b)
{
	struct dp_err err = { 0 };

	ring_buffer__free(b->rb);
	bpf_object__close(b->noop_obj);
	close(b->from_fd);
	close(b->to_fd);
	dp_maps_close(&b->m);
	free(b->base.r);
	free(b->big.r);
	loaded_root = NULL;
	if (dp_unload(b->root, &err) < 0)
		die("%s", err.msg);
}

/* Opens a connection the way the pods would (SYN, SYN-ACK, ACK), so its
 * conntrack entry is established; reply_prog/reply_if is where B's answer
 * enters the datapath. */
static void connect_flow(struct bench *b, const unsigned char *dst_mac,
			 const char *daddr, __u16 sport, int reply_prog,
			 int reply_if, const unsigned char *reply_src,
			 int want_fwd, int want_reply)
{
	struct packet p;

	packet_make(&p, MAC_A, dst_mac, POD_A, daddr, sport, PORT_ALLOWED, F_SYN);
	test_run("open: SYN", b->from_fd, &p, b->if_a, 1, want_fwd);
	packet_make(&p, reply_src, HOST_A, daddr, POD_A, PORT_ALLOWED, sport,
		    F_SYN | F_ACK);
	test_run("open: SYN-ACK", reply_prog, &p, reply_if, 1, want_reply);
	packet_make(&p, MAC_A, dst_mac, POD_A, daddr, sport, PORT_ALLOWED, F_ACK);
	test_run("open: ACK", b->from_fd, &p, b->if_a, 1, want_fwd);
}

static void ct_require_established(struct bench *b, const char *daddr,
				   __u16 sport)
{
	struct bh_ct_key k;
	struct bh_ct_value v;

	dp_ct_key(&k, ip4(POD_A), htons(sport), ip4(daddr), htons(PORT_ALLOWED),
		  IPPROTO_TCP, NULL);
	if (bpf_map_lookup_elem(b->m.conntrack, &k, &v) < 0)
		die("flow to %s from port %u: no conntrack entry after the handshake",
		    daddr, sport);
	if (v.state != BH_CT_ESTABLISHED)
		die("flow to %s from port %u: conntrack state %u after the handshake, "
		    "expected established", daddr, sport, v.state);
}

/* ---- run --------------------------------------------------------------- */

enum { EST_LOCAL, EST_REMOTE, NEW_LOCAL, NEW_REMOTE, NEW_REPORTED,
       NEW_RULES, DENIED, N_FIGURES };

static int cmd_run(int argc, char **argv)
{
	static struct series fig[N_FIGURES] = {
		[EST_LOCAL] = { .name = "est_local" },
		[EST_REMOTE] = { .name = "est_remote" },
		[NEW_LOCAL] = { .name = "new_local" },
		[NEW_REMOTE] = { .name = "new_remote" },
		[NEW_REPORTED] = { .name = "new_local_reported" },
		[NEW_RULES] = { .name = "new_local_rules" },
		[DENIED] = { .name = "denied_local" },
	};
	struct bench b = { .rounds = 5, .batches = 300, .repeat = 200,
			   .flows = 3000, .rules = 10000 };
	struct packet est_local, est_remote, denied;
	size_t writes, entries = 0;
	const __u16 est_port_local = 40000, est_port_remote = 40001;

	if (argc < 2)
		return usage();
	b.root = argv[0];
	for (int i = 2; i < argc; i++) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val)
			return usage();
		if (strcmp(argv[i], "--rounds") == 0)
			b.rounds = parse_long(val, 1, MAX_ROUNDS, "--rounds");
		else if (strcmp(argv[i], "--batches") == 0)
			b.batches = parse_long(val, 1, 100000, "--batches");
		else if (strcmp(argv[i], "--repeat") == 0)
			b.repeat = parse_long(val, 1, MAX_REPEAT, "--repeat");
		else if (strcmp(argv[i], "--flows") == 0)
			b.flows = parse_long(val, 1, 25000, "--flows");
		else if (strcmp(argv[i], "--rules") == 0)
			b.rules = parse_long(val, 0, MAX_RULES, "--rules");
		else
			return usage();
		i++;
	}
	setup(&b, argv[1]);
	printf("cpu=%d repeat=%ld batches=%ld flows=%ld rounds=%ld rules=%ld\n",
	       sched_getcpu(), b.repeat, b.batches, b.flows, b.rounds, b.rules);

	/* The established flows, opened once; their packets are ACKs. */
	connect_flow(&b, HOST_A, POD_B, est_port_local, b.from_fd, b.if_b, MAC_B,
		     TC_ACT_REDIRECT, TC_ACT_REDIRECT);
	connect_flow(&b, HOST_A, OFF_NODE, est_port_remote, b.to_fd, b.if_a,
		     MAC_REMOTE, TC_ACT_OK, TC_ACT_OK);
	ct_require_established(&b, POD_B, est_port_local);
	ct_require_established(&b, OFF_NODE, est_port_remote);
	packet_make(&est_local, MAC_A, HOST_A, POD_A, POD_B, est_port_local,
		    PORT_ALLOWED, F_ACK);
	packet_make(&est_remote, MAC_A, HOST_A, POD_A, OFF_NODE, est_port_remote,
		    PORT_ALLOWED, F_ACK);
	packet_make(&denied, MAC_A, HOST_A, POD_A, POD_B, 40002, PORT_DENIED, F_SYN);

	spend_event_budget(&b);
	for (long r = 0; r < b.rounds; r++) {
		measure_batches(&b, &fig[EST_LOCAL], b.from_fd, &est_local, b.if_a,
				TC_ACT_REDIRECT);
		measure_batches(&b, &fig[EST_REMOTE], b.from_fd, &est_remote, b.if_a,
				TC_ACT_OK);
		measure_new(&b, &fig[NEW_LOCAL], b.from_fd, HOST_A, POD_B,
			    TC_ACT_REDIRECT, 0);
		measure_new(&b, &fig[NEW_REMOTE], b.from_fd, HOST_A, OFF_NODE,
			    TC_ACT_OK, 0);
		measure_batches(&b, &fig[DENIED], b.from_fd, &denied, b.if_a,
				TC_ACT_SHOT);

		entries = policy_write(&b.m, &b.big, &writes);
		measure_new(&b, &fig[NEW_RULES], b.from_fd, HOST_A, POD_B,
			    TC_ACT_REDIRECT, 0);
		policy_write(&b.m, &b.base, &writes);

		/* Every new flow reported: a budget that never runs out. */
		events_config(&b, 1, 1000000000u, 1000000000u);
		measure_new(&b, &fig[NEW_REPORTED], b.from_fd, HOST_A, POD_B,
			    TC_ACT_REDIRECT, 1);
		events_config(&b, b.cfg.allow_sample, b.cfg.events_per_sec,
			      b.cfg.events_burst);
		spend_event_budget(&b);
	}
	printf("policy rules=%zu entries=%zu\n", b.big.n, entries);
	for (int i = 0; i < N_FIGURES; i++)
		series_print(&fig[i]);

	for (int i = 0; i < N_FIGURES; i++) {
		free(fig[i].bh);
		free(fig[i].noop);
	}
	teardown(&b);
	if (fflush(stdout) == EOF)
		die("stdout: %s", strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "rules") == 0)
		return cmd_rules(argc - 2, argv + 2);
	return usage();
}
