/* bulkhead-policyd: the node daemon's command line. Everything it does is
 * in daemon.c; this file turns options into a struct daemon_opts. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "policyd/daemon.h"

static const char usage[] =
"usage: bulkhead-policyd [OPTIONS] (--kubeconfig FILE | --in-cluster | --manifests DIR)\n"
"\n"
"The Bulkhead node daemon: loads the datapath, watches Pods, Namespaces,\n"
"NetworkPolicies, Nodes and BulkheadIdentities, and keeps the policy maps\n"
"equal to what they say.\n"
"\n"
"Sources (one of):\n"
"  --kubeconfig FILE        the API server and credentials of a kubeconfig\n"
"  --in-cluster             the pod's service account (KUBERNETES_SERVICE_HOST)\n"
"  --manifests DIR          no API server: YAML/JSON manifests in DIR, watched\n"
"Options:\n"
"  --node NAME              this node (default: $NODE_NAME, else the hostname)\n"
"  --node-ip IP             this node's underlay address, the tunnel's source\n"
"                           (default: the InternalIP of the Node object NAME)\n"
"  --no-overlay             no VXLAN device (a single node)\n"
"  --bpffs-root DIR         pins (default /sys/fs/bpf/bulkhead)\n"
"  --state-dir DIR          registered endpoints (default /var/lib/bulkhead/policyd)\n"
"  --socket PATH            CNI registration (default /run/bulkhead/policyd.sock)\n"
"  --metrics-addr ADDR      /healthz and /metrics (default 127.0.0.1:9962; \"\" off)\n"
"  --flow-log PATH          verdict events as JSON lines\n"
"                           (default /var/log/bulkhead/flows.log; \"\" off)\n"
"  --flow-log-max-bytes N   rotate past N bytes (default 10485760)\n"
"  --flow-log-keep N        rotated files kept (default 3)\n"
"  --label-filter KEYS      comma-separated pod label keys left out of identities\n"
"                           (default pod-template-hash,controller-revision-hash,\n"
"                           pod-template-generation,statefulset.kubernetes.io/pod-name)\n"
"  --identity-gc-grace SEC  delete identities unused this long (default 900)\n"
"  --no-allow-host          do not let the node reach pods whose ingress is enforced\n"
"  --audit                  report would-be policy drops but pass them\n"
"  --watch-timeout SEC      server-side timeout of each watch (default 300)\n"
"  -h, --help\n";

static int parse_num(const char *opt, const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno || !*s || *end || *out < min || *out > max) {
		fprintf(stderr, "bulkhead-policyd: %s: expected a number in %ld..%ld, got \"%s\"\n",
			opt, min, max, s);
		return -1;
	}
	return 0;
}

/* A unicast IPv4 address: the other nodes send their tunnels to it. */
static int parse_node_ip(const char *s, __be32 *out)
{
	struct in_addr a;
	uint32_t h;

	if (inet_pton(AF_INET, s, &a) != 1)
		goto bad;
	h = ntohl(a.s_addr);
	if (h == 0 || h == 0xffffffff || (h >> 28) == 0xe || (h >> 24) == 127)
		goto bad;
	*out = a.s_addr;
	return 0;
bad:
	fprintf(stderr, "bulkhead-policyd: --node-ip: expected a unicast IPv4 "
		"address, got \"%s\"\n", s);
	return -1;
}

enum {
	OPT_KUBECONFIG = 256, OPT_IN_CLUSTER, OPT_MANIFESTS, OPT_NODE,
	OPT_BPFFS, OPT_STATE, OPT_SOCKET, OPT_METRICS, OPT_FLOWLOG,
	OPT_FLOWLOG_MAX, OPT_FLOWLOG_KEEP, OPT_LABEL_FILTER, OPT_GC_GRACE,
	OPT_NO_HOST, OPT_AUDIT, OPT_WATCH_TIMEOUT, OPT_NODE_IP, OPT_NO_OVERLAY,
};

static const struct option longopts[] = {
	{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
	{ "in-cluster", no_argument, NULL, OPT_IN_CLUSTER },
	{ "manifests", required_argument, NULL, OPT_MANIFESTS },
	{ "node", required_argument, NULL, OPT_NODE },
	{ "node-ip", required_argument, NULL, OPT_NODE_IP },
	{ "no-overlay", no_argument, NULL, OPT_NO_OVERLAY },
	{ "bpffs-root", required_argument, NULL, OPT_BPFFS },
	{ "state-dir", required_argument, NULL, OPT_STATE },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "metrics-addr", required_argument, NULL, OPT_METRICS },
	{ "flow-log", required_argument, NULL, OPT_FLOWLOG },
	{ "flow-log-max-bytes", required_argument, NULL, OPT_FLOWLOG_MAX },
	{ "flow-log-keep", required_argument, NULL, OPT_FLOWLOG_KEEP },
	{ "label-filter", required_argument, NULL, OPT_LABEL_FILTER },
	{ "identity-gc-grace", required_argument, NULL, OPT_GC_GRACE },
	{ "no-allow-host", no_argument, NULL, OPT_NO_HOST },
	{ "audit", no_argument, NULL, OPT_AUDIT },
	{ "watch-timeout", required_argument, NULL, OPT_WATCH_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_opts(int argc, char **argv, struct daemon_opts *o)
{
	static char host[HOST_NAME_MAX + 1];
	int c, sources = 0;
	long n;

	*o = (struct daemon_opts){
		.bpffs_root = "/sys/fs/bpf/bulkhead",
		.state_dir = "/var/lib/bulkhead/policyd",
		.socket = "/run/bulkhead/policyd.sock",
		.metrics_addr = "127.0.0.1:9962",
		.flow_log = "/var/log/bulkhead/flows.log",
		.identity_gc_grace_ms = 900000,
		.allow_host = true,
		.watch_timeout_s = 300,
	};
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_KUBECONFIG: o->kubeconfig = optarg; sources++; break;
		case OPT_IN_CLUSTER: o->in_cluster = true; sources++; break;
		case OPT_MANIFESTS: o->manifests = optarg; sources++; break;
		case OPT_NODE: o->node = optarg; break;
		case OPT_NODE_IP:
			if (parse_node_ip(optarg, &o->node_ip) < 0)
				return -1;
			break;
		case OPT_NO_OVERLAY: o->no_overlay = true; break;
		case OPT_BPFFS: o->bpffs_root = optarg; break;
		case OPT_STATE: o->state_dir = optarg; break;
		case OPT_SOCKET: o->socket = optarg; break;
		case OPT_METRICS: o->metrics_addr = optarg; break;
		case OPT_FLOWLOG: o->flow_log = optarg; break;
		case OPT_FLOWLOG_MAX:
			if (parse_num("--flow-log-max-bytes", optarg, 4096, LONG_MAX, &n) < 0)
				return -1;
			o->flow_log_max_bytes = (size_t)n;
			break;
		case OPT_FLOWLOG_KEEP:
			if (parse_num("--flow-log-keep", optarg, 1, 100, &n) < 0)
				return -1;
			o->flow_log_keep = (int)n;
			break;
		case OPT_LABEL_FILTER: o->label_filter = optarg; break;
		case OPT_GC_GRACE:
			if (parse_num("--identity-gc-grace", optarg, 0, 86400 * 365, &n) < 0)
				return -1;
			o->identity_gc_grace_ms = (uint64_t)n * 1000;
			break;
		case OPT_NO_HOST: o->allow_host = false; break;
		case OPT_AUDIT: o->audit = true; break;
		case OPT_WATCH_TIMEOUT:
			if (parse_num("--watch-timeout", optarg, 1, 3600, &n) < 0)
				return -1;
			o->watch_timeout_s = (int)n;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -1;
		}
	}
	if (optind < argc || sources != 1) {
		fprintf(stderr, "bulkhead-policyd: %s\n\n%s",
			optind < argc ? "unexpected argument" :
			"give exactly one of --kubeconfig, --in-cluster, --manifests",
			usage);
		return -1;
	}
	if (!o->node)
		o->node = getenv("NODE_NAME");
	if (!o->node && gethostname(host, sizeof(host) - 1) == 0)
		o->node = host;
	return 0;
}

static void on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;

	(void)l;
	(void)events;
	while (read(fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			d->stop = true;
}

int main(int argc, char **argv)
{
	static struct daemon d;
	struct daemon_opts o;
	struct dp_err err = { 0 };
	sigset_t set;
	int sfd, rc;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	rc = daemon_init(&d, &o, &err);
	if (rc == 0 && (sfd < 0 || loop_add(d.loop, sfd, EPOLLIN, on_signal, &d) < 0))
		rc = dp_errorf(&err, -errno, "signalfd: %s", strerror(errno));
	if (rc < 0) {
		daemon_log("cannot start: %s", err.msg);
		daemon_fini(&d);
		return 1;
	}
	daemon_log("node %s, datapath at %s, socket %s, %s %s", o.node ? o.node : "?",
		   o.bpffs_root, o.socket,
		   o.manifests ? "manifests" : o.in_cluster ? "in-cluster" : "kubeconfig",
		   o.manifests ? o.manifests : o.kubeconfig ? o.kubeconfig : "");
	rc = daemon_run(&d);
	daemon_log("stopping");
	daemon_fini(&d);
	if (sfd >= 0)
		close(sfd);
	return rc < 0 ? 1 : 0;
}
