/* Unit tests of the flow log: events as exact JSON lines, wall-clock
 * stamps, rotation by size on real files, and the ring buffer reader fed
 * by a tiny BPF program run through BPF_PROG_TEST_RUN. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "bulkhead/reason.h"
#include "policyd/flowlog.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/bulkhead-flowlog-test.XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- events as JSON ------------------------------------------------------ */

/* 2026-11-25T02:33:04Z, reached from a monotonic stamp of one hour and
 * 123456789 ns: the microseconds are cut, not rounded. */
#define WALL_S 1795573984LL
#define MONO_NS (3600LL * 1000000000 + 123456789)
#define OFFSET_NS ((WALL_S - 3600) * 1000000000)

static __be32 ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		printf("Bail out! bad address in test: %s\n", s);
		exit(255);
	}
	return a.s_addr;
}

/* Knows one pod, and counts how often it was asked. */
static int name_calls;

static const char *name_one_pod(void *ctx, __be32 addr, char *buf, size_t len)
{
	name_calls++;
	if (addr != ip("10.0.0.2"))
		return NULL;
	snprintf(buf, len, "%s", (const char *)ctx);
	return buf;
}

static struct bh_event event(unsigned int proto, unsigned int verdict,
			     unsigned int reason, unsigned int dir,
			     unsigned int sport, unsigned int dport)
{
	struct bh_event ev = {
		.ts_ns = MONO_NS, .src_id = 300, .dst_id = 400,
		.saddr = ip("10.0.0.2"), .daddr = ip("10.0.1.7"),
		.sport = htons((uint16_t)sport), .dport = htons((uint16_t)dport),
		.proto = (__u8)proto, .dir = (__u8)dir, .verdict = (__u8)verdict,
		.reason = (__u8)reason, .rule_id = 0, .ifindex = 5, .len = 60,
	};

	return ev;
}

/* The event's line, as the flow log would write it. */
static void is_event_line(const struct bh_event *ev, flow_name_fn name,
			  const char *want, const char *what)
{
	json_t *j = flow_event_json(ev, OFFSET_NS, name, "default/a");
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	is_str(s, want, "%s", what);
	free(s);
	json_decref(j);
}

static void test_event_json(void)
{
	struct bh_event ev;

	ev = event(IPPROTO_TCP, BH_VERDICT_DROP, BH_REASON_DROP_POLICY_DEFAULT,
		   BH_DIR_INGRESS, 1234, 80);
	is_event_line(&ev, NULL,
		"{\"time\":\"2026-11-25T02:33:04.123456Z\",\"verdict\":\"drop\","
		"\"reason\":\"drop_policy_default\",\"dir\":\"ingress\",\"proto\":\"tcp\","
		"\"src\":{\"ip\":\"10.0.0.2\",\"port\":1234,\"identity\":300},"
		"\"dst\":{\"ip\":\"10.0.1.7\",\"port\":80,\"identity\":400},"
		"\"rule_id\":0,\"ifindex\":5,\"len\":60}",
		"TCP drop, no names");

	ev = event(IPPROTO_UDP, BH_VERDICT_ALLOW, BH_REASON_ALLOW_POLICY,
		   BH_DIR_EGRESS, 40000, 53);
	ev.rule_id = 7;
	name_calls = 0;
	is_event_line(&ev, name_one_pod,
		"{\"time\":\"2026-11-25T02:33:04.123456Z\",\"verdict\":\"allow\","
		"\"reason\":\"allow_policy\",\"dir\":\"egress\",\"proto\":\"udp\","
		"\"src\":{\"ip\":\"10.0.0.2\",\"port\":40000,\"identity\":300,\"pod\":\"default/a\"},"
		"\"dst\":{\"ip\":\"10.0.1.7\",\"port\":53,\"identity\":400},"
		"\"rule_id\":7,\"ifindex\":5,\"len\":60}",
		"UDP allow, a pod name for the one address the callback knows");
	is_int(name_calls, 2, "the name callback is asked for both sides");

	ev = event(IPPROTO_ICMP, BH_VERDICT_AUDIT, BH_REASON_DROP_POLICY_DENY,
		   BH_DIR_INGRESS, 77, 0);
	is_event_line(&ev, NULL,
		"{\"time\":\"2026-11-25T02:33:04.123456Z\",\"verdict\":\"audit\","
		"\"reason\":\"drop_policy_deny\",\"dir\":\"ingress\",\"proto\":\"icmp\","
		"\"src\":{\"ip\":\"10.0.0.2\",\"identity\":300},"
		"\"dst\":{\"ip\":\"10.0.1.7\",\"identity\":400},"
		"\"icmp_id\":77,\"rule_id\":0,\"ifindex\":5,\"len\":60}",
		"ICMP echo request: no ports, the id from the source port");

	ev = event(IPPROTO_ICMP, BH_VERDICT_ALLOW, BH_REASON_ALLOW_ESTABLISHED,
		   BH_DIR_EGRESS, 0, 77);
	is_event_line(&ev, NULL,
		"{\"time\":\"2026-11-25T02:33:04.123456Z\",\"verdict\":\"allow\","
		"\"reason\":\"allow_established\",\"dir\":\"egress\",\"proto\":\"icmp\","
		"\"src\":{\"ip\":\"10.0.0.2\",\"identity\":300},"
		"\"dst\":{\"ip\":\"10.0.1.7\",\"identity\":400},"
		"\"icmp_id\":77,\"rule_id\":0,\"ifindex\":5,\"len\":60}",
		"ICMP echo reply: the id from the destination port");

	ev = event(47, 9, 99, 4, 1, 2);
	is_event_line(&ev, NULL,
		"{\"time\":\"2026-11-25T02:33:04.123456Z\",\"verdict\":\"9\","
		"\"reason\":\"99\",\"dir\":\"4\",\"proto\":\"47\","
		"\"src\":{\"ip\":\"10.0.0.2\",\"identity\":300},"
		"\"dst\":{\"ip\":\"10.0.1.7\",\"identity\":400},"
		"\"rule_id\":0,\"ifindex\":5,\"len\":60}",
		"numbers the names lack stay numbers, as strings; no ports for GRE");
}

static void test_time(void)
{
	struct timespec mono, real;
	struct bh_event ev = event(IPPROTO_TCP, 0, 0, 0, 1, 2);
	json_t *j;
	int64_t off, want;

	ev.ts_ns = 999999;
	j = flow_event_json(&ev, 1000000000LL * 86400 * 365, NULL, NULL);
	is_str(j ? json_string_value(json_object_get(j, "time")) : NULL,
	       "1971-01-01T00:00:00.000999Z", "microseconds are zero-padded");
	json_decref(j);

	off = flow_mono_to_real_ns();
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	want = ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000 +
	       (real.tv_nsec - mono.tv_nsec);
	ok(llabs(off - want) < 1000000000, "mono_to_real is realtime minus monotonic (%lld vs %lld)",
	   (long long)off, (long long)want);
}

/* --- the log file -------------------------------------------------------- */

/* Lines of a file: how many, whether each is a JSON object, and the "len"
 * of each (in lens, at most max). Returns -1 when it cannot be read. */
static int read_lines(const char *path, long *lens, int max, bool *all_json)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	*all_json = true;
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);

		if (!json_is_object(j))
			*all_json = false;
		if (n < max)
			lens[n] = json_integer_value(json_object_get(j, "len"));
		json_decref(j);
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

/* path's lines have lens first..first+count-1. */
static void is_log_file(const char *path, long first, int count)
{
	long lens[16] = { 0 };
	bool all_json;
	int n = read_lines(path, lens, 16, &all_json);
	bool in_order = true;

	is_int(n, count, "%s has %d lines", strrchr(path, '/') + 1, count);
	ok(all_json, "%s: every line is a JSON object", strrchr(path, '/') + 1);
	for (int i = 0; i < n && i < 16; i++)
		in_order = in_order && lens[i] == first + i;
	ok(in_order, "%s holds events %ld.. (first: %ld)", strrchr(path, '/') + 1,
	   first, lens[0]);
}

static int write_events(struct flowlog *f, long first, int n)
{
	struct dp_err err = { 0 };

	for (long i = first; i < first + n; i++) {
		struct bh_event ev = event(IPPROTO_TCP, 1, 16, 1, 1234, 80);
		json_t *j;
		int r;

		ev.len = (__u32)i;	/* three digits: every line the same size */
		j = flow_event_json(&ev, OFFSET_NS, NULL, NULL);
		r = flowlog_write(f, j, &err);
		json_decref(j);
		if (r < 0) {
			diag("flowlog_write: %s", err.msg);
			return r;
		}
	}
	return 0;
}

static size_t line_size(void)
{
	struct bh_event ev = event(IPPROTO_TCP, 1, 16, 1, 1234, 80);
	json_t *j;
	char *s;
	size_t n;

	ev.len = 100;
	j = flow_event_json(&ev, OFFSET_NS, NULL, NULL);
	s = json_dumps(j, JSON_COMPACT);
	n = strlen(s) + 1;
	free(s);
	json_decref(j);
	return n;
}

static void test_rotation(void)
{
	char path[256], name[280];
	struct flowlog_opts o = { .path = path, .keep = 2 };
	struct dp_err err = { 0 };
	struct flowlog *f = NULL;
	struct stat st;

	snprintf(path, sizeof(path), "%s/flows/flows.log", tmpdir);
	o.max_bytes = 3 * line_size();	/* three lines per file */
	umask(022);
	if (!ok(flowlog_open(&o, &f, &err) == 0, "flowlog_open makes the directory")) {
		diag("%s", err.msg);
		return;
	}
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640, "the log is 0640");
	is_int(write_events(f, 100, 10), 0, "ten events written");
	flowlog_close(f);

	/* 100-102 went, 103-105 in .2, 106-108 in .1, 109 current. */
	is_log_file(path, 109, 1);
	snprintf(name, sizeof(name), "%s.1", path);
	is_log_file(name, 106, 3);
	snprintf(name, sizeof(name), "%s.2", path);
	is_log_file(name, 103, 3);
	snprintf(name, sizeof(name), "%s.3", path);
	ok(access(name, F_OK) < 0 && errno == ENOENT, "no flows.log.3 with keep 2");

	/* Reopened, it appends and counts what the file already holds. */
	if (!ok(flowlog_open(&o, &f, &err) == 0, "flowlog_open again")) {
		diag("%s", err.msg);
		return;
	}
	is_int(write_events(f, 110, 3), 0, "three more events");
	flowlog_close(f);
	is_log_file(path, 112, 1);
	snprintf(name, sizeof(name), "%s.1", path);
	is_log_file(name, 109, 3);
}

static void test_open_errors(void)
{
	struct flowlog_opts o = { .path = "/dev/null/flows.log" };
	struct dp_err err = { 0 };
	struct flowlog *f = NULL;

	ok(flowlog_open(&o, &f, &err) < 0, "a log under a non-directory fails");
	ok(strstr(err.msg, "/dev/null/flows.log") != NULL,
	   "the error names the path: %s", err.msg);
	memset(&err, 0, sizeof(err));
	o.path = "";
	is_int(flowlog_open(&o, &f, &err), -EINVAL, "an empty path is refused");
}

/* --- the ring buffer reader ---------------------------------------------- */

struct seen_events {
	int n;
	struct bh_event last;
};

static void on_event(void *ctx, const struct bh_event *ev)
{
	struct seen_events *s = ctx;

	s->n++;
	s->last = *ev;
}

static struct bpf_insn insn(__u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm)
{
	struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src,
			      .off = off, .imm = imm };

	return i;
}

/* A socket filter that puts *ev on its stack and sends size bytes of it
 * to the ring buffer: userspace cannot write into a ring buffer itself. */
static int load_emitter(int ringbuf_fd, const struct bh_event *ev, int size)
{
	struct bpf_insn prog[32];
	__u32 words[sizeof(*ev) / 4];
	int n = 0;

	memcpy(words, ev, sizeof(*ev));
	for (int i = 0; i < (int)(sizeof(words) / 4); i++)
		prog[n++] = insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0,
				 (__s16)(-(int)sizeof(*ev) + 4 * i), (__s32)words[i]);
	prog[n++] = insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD,
			 0, ringbuf_fd);
	prog[n++] = insn(0, 0, 0, 0, 0);
	prog[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
	prog[n++] = insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0,
			 -(int)sizeof(*ev));
	prog[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, size);
	prog[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0);
	prog[n++] = insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_output);
	prog[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	prog[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "bh_emit", "GPL",
			     prog, (size_t)n, NULL);
}

static int run_prog(int prog_fd)
{
	char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
		    .data_size_in = sizeof(pkt), .repeat = 1);

	return bpf_prog_test_run_opts(prog_fd, &opts);
}

static void test_reader(void)
{
	struct bh_event ev = event(IPPROTO_TCP, 1, 16, 1, 1234, 80);
	struct seen_events seen = { 0 };
	struct dp_err err = { 0 };
	struct event_reader *r = NULL;
	int ring, array, prog = -1, short_prog = -1;
	struct pollfd pfd;

	libbpf_set_print(NULL);	/* the failures below are expected */
	ok(event_reader_open(-1, on_event, &seen, &r, &err) < 0,
	   "a bad fd is refused");
	ok(strstr(err.msg, "map fd -1") != NULL, "and said so: %s", err.msg);

	ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "bh_test_ring", 0, 0,
			      4096 * 4, NULL);
	array = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bh_test_arr", 4, 4, 1, NULL);
	if (ring < 0 || array < 0) {
		ok(0, "bpf_map_create: %s", strerror(errno));
		goto out;
	}
	memset(&err, 0, sizeof(err));
	ok(event_reader_open(array, on_event, &seen, &r, &err) < 0,
	   "an array map is not a ring buffer: %s", err.msg);

	memset(&err, 0, sizeof(err));
	if (!is_int(event_reader_open(ring, on_event, &seen, &r, &err), 0,
		    "event_reader_open on a ring buffer")) {
		diag("%s", err.msg);
		goto out;
	}
	ok(event_reader_fd(r) >= 0, "it has an fd to poll");
	is_int(event_reader_consume(r), 0, "an empty ring gives nothing");

	ev.rule_id = 42;
	ev.ts_ns = 0x1122334455667788ULL;
	prog = load_emitter(ring, &ev, sizeof(ev));
	short_prog = load_emitter(ring, &ev, 8);
	if (prog < 0 || short_prog < 0) {
		ok(0, "load the emitter: %s", strerror(errno));
		goto out;
	}
	is_int(run_prog(prog), 0, "run the emitter");
	pfd.fd = event_reader_fd(r);
	pfd.events = POLLIN;
	is_int(poll(&pfd, 1, 2000), 1, "the reader's fd turns readable");
	is_int(event_reader_consume(r), 1, "one event consumed");
	is_int(seen.n, 1, "the callback ran once");
	ok(memcmp(&seen.last, &ev, sizeof(ev)) == 0,
	   "with the event as sent (rule_id %u, ts %llx)", seen.last.rule_id,
	   (unsigned long long)seen.last.ts_ns);

	is_int(run_prog(short_prog), 0, "emit a record shorter than an event");
	is_int(run_prog(prog), 0, "and a whole one");
	is_int(event_reader_consume(r), 2, "two records consumed");
	is_int(seen.n, 2, "the short one was skipped");
out:
	event_reader_free(r);
	if (prog >= 0)
		close(prog);
	if (short_prog >= 0)
		close(short_prog);
	if (ring >= 0)
		close(ring);
	if (array >= 0)
		close(array);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	atexit(cleanup);
	test_event_json();
	test_time();
	test_rotation();
	test_open_errors();
	if (geteuid() == 0)
		test_reader();
	else
		ok(1, "# SKIP the ring buffer reader needs root for BPF");
	return done_testing();
}
