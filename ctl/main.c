/* bulkhead-ctl: look at one node's Bulkhead datapath. The command table,
 * the global options and the exit codes (0 ok, 1 not found or failed,
 * 2 usage, 3 no Bulkhead on this node). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"

#define DEFAULT_ROOT	"/sys/fs/bpf/bulkhead"
#define DEFAULT_DAEMON	"127.0.0.1:9962"

struct command {
	const char *word1, *word2;	/* word2 NULL: a one-word command */
	int min_args, max_args;		/* -1: any number (options) */
	int (*run)(struct ctl *c, int argc, char **argv);
	const char *args, *help, *example;
};

static const struct command commands[] = {
	{ "status", NULL, 0, 0, cmd_status, "",
	  "datapath, map fill levels, counters, daemon", "bulkhead-ctl status" },
	{ "endpoint", "list", 0, 0, cmd_endpoint_list, "",
	  "the pods of this node", "bulkhead-ctl endpoint list -o json" },
	{ "endpoint", "get", 1, 1, cmd_endpoint_get, "IP|NS/POD",
	  "one pod", "bulkhead-ctl endpoint get default/web-0" },
	{ "identity", "list", 0, 0, cmd_identity_list, "",
	  "identities and their labels", "bulkhead-ctl identity list" },
	{ "identity", "get", 1, 1, cmd_identity_get, "N",
	  "one identity", "bulkhead-ctl identity get 1234" },
	{ "ipcache", "list", 0, 0, cmd_ipcache_list, "",
	  "prefix -> identity (and node)", "bulkhead-ctl ipcache list" },
	{ "node", "list", 0, 0, cmd_node_list, "",
	  "the nodes the overlay trusts", "bulkhead-ctl node list" },
	{ "ct", "list", 0, -1, cmd_ct_list, "[--ip IP] [--port P]",
	  "tracked connections", "bulkhead-ctl ct list --ip 10.244.1.5 --port 80" },
	{ "ct", "flush", 0, -1, cmd_ct_flush, "[--ip IP]",
	  "forget tracked connections (all, or of one address)",
	  "bulkhead-ctl ct flush --ip 10.244.1.5" },
	{ "drops", NULL, 0, 0, cmd_drops, "",
	  "dropped packets by reason and direction", "bulkhead-ctl drops" },
	{ "policy", "get", 1, 1, cmd_policy_get, "IP|NS/POD",
	  "an endpoint's policy map entries, in words, with hit counts",
	  "bulkhead-ctl policy get x/web-0 -o json" },
	{ "trace", NULL, 3, 5, cmd_trace, "FROM TO PORT [--proto tcp|udp]",
	  "the verdict a new connection would get, each way (sends nothing)",
	  "bulkhead-ctl trace x/a x/web-0 80 --proto udp" },
	{ "metrics", NULL, 0, 0, cmd_metrics, "",
	  "the daemon's /metrics", "bulkhead-ctl metrics | grep bulkhead_ready" },
	{ "monitor", NULL, 0, -1, cmd_monitor, "[--type T] [FILTERS]",
	  "verdicts as they happen, from the daemon (exit 3 without it);\n"
	  "      T: drop, allow or all; FILTERS: --from X, --to X (NS/POD,\n"
	  "      identity or IP), --port P, --reason R, --count N, --timeout-ms N",
	  "bulkhead-ctl monitor --type drop --to default/web-0" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

int ctl_fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("bulkhead-ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int ctl_open_maps(struct ctl *c)
{
	struct dp_err err = { 0 };
	int rc;

	if (c->maps_open)
		return 0;
	rc = dp_maps_open(c->root, &c->maps, &err);
	if (rc == -ENOENT)
		return ctl_fail(CTL_NO_DATAPATH,
				"no Bulkhead datapath pinned under %s: is bulkhead-policyd running on this node?",
				c->root);
	if (rc < 0)
		return ctl_fail(CTL_FAIL, "%s", err.msg[0] ? err.msg : strerror(-rc));
	c->maps_open = true;
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: bulkhead-ctl [OPTIONS] COMMAND [ARGS]\n\n"
	      "Options (anywhere on the line):\n"
	      "  --bpffs-root DIR  the datapath's pins (default " DEFAULT_ROOT ")\n"
	      "  --daemon ADDR     bulkhead-policyd's HTTP address (default " DEFAULT_DAEMON ")\n"
	      "  -o json|table     output format (default table)\n"
	      "  -h, --help        this text\n\n"
	      "Commands read the pinned maps and work while the daemon is down;\n"
	      "when it answers, they add pod names and identity labels.\n\n", f);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct command *k = &commands[i];
		char name[64];

		snprintf(name, sizeof(name), "%s%s%s %s", k->word1,
			 k->word2 ? " " : "", k->word2 ? k->word2 : "", k->args);
		fprintf(f, "  %-36s %s\n      e.g. %s\n", name, k->help, k->example);
	}
	fputs("\nExit status: 0 ok, 1 not found or failed, 2 usage,\n"
	      "3 no Bulkhead datapath on this node (monitor: no daemon).\n", f);
}

/* Takes the global options out of argv wherever they are; the rest
 * (command words and their arguments) stays in order. */
static int global_options(struct ctl *c, int *argc, char **argv, bool *help)
{
	int out = 0;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			*help = true;
			continue;
		}
		if (strcmp(a, "--bpffs-root") == 0)
			dst = &c->root;
		else if (strcmp(a, "--daemon") == 0)
			dst = &c->daemon;
		else if (strcmp(a, "-o") != 0 && strcmp(a, "--output") != 0) {
			argv[out++] = argv[i];
			continue;
		}
		if (i + 1 == *argc)
			return ctl_fail(CTL_USAGE, "%s needs a value", a);
		a = argv[++i];
		if (dst) {
			*dst = a;
			continue;
		}
		if (strcmp(a, "json") != 0 && strcmp(a, "table") != 0)
			return ctl_fail(CTL_USAGE, "-o: '%s' is neither json nor table", a);
		c->json = a[0] == 'j';
	}
	*argc = out;
	return 0;
}

static const struct command *find_command(int argc, char **argv, int *used)
{
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct command *k = &commands[i];

		if (strcmp(argv[0], k->word1) != 0)
			continue;
		if (!k->word2) {
			*used = 1;
			return k;
		}
		if (argc > 1 && strcmp(argv[1], k->word2) == 0) {
			*used = 2;
			return k;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct ctl c = { .root = DEFAULT_ROOT, .daemon = DEFAULT_DAEMON };
	const struct command *k;
	bool help = false;
	int used = 0, rc;

	rc = global_options(&c, &argc, argv, &help);
	if (rc)
		return rc;
	if (help) {
		usage(stdout);
		return CTL_OK;
	}
	if (argc == 0) {
		usage(stderr);
		return CTL_USAGE;
	}
	k = find_command(argc, argv, &used);
	if (!k) {
		ctl_fail(CTL_USAGE, "unknown command '%s%s%s' (see --help)", argv[0],
			 argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		return CTL_USAGE;
	}
	argc -= used;
	argv += used;
	if (argc < k->min_args || (k->max_args >= 0 && argc > k->max_args))
		return ctl_fail(CTL_USAGE, "usage: bulkhead-ctl %s%s%s %s", k->word1,
				k->word2 ? " " : "", k->word2 ? k->word2 : "", k->args);
	rc = k->run(&c, argc, argv);
	if (c.maps_open)
		dp_maps_close(&c.maps);
	return rc;
}
