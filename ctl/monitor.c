/* monitor: the datapath's verdicts as they happen, from the daemon's
 * /events stream (the daemon is the ring buffer's one reader), filtered
 * here, one line per event. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"

#define MONITOR_MAX_LINE	(64u << 10)	/* an event is a few hundred bytes */

/* One side of a flow to match: a pod, an identity or an address. */
struct side_filter {
	const char *pod;	/* "NS/POD" */
	long long identity;	/* -1: not by identity */
	const char *ip;
};

struct monitor_opts {
	const char *verdict;	/* NULL: all */
	struct side_filter from, to;
	int port;		/* -1: any */
	const char *reason;
	long count;		/* 0: no limit */
	long timeout_ms;	/* 0: none */
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A decimal number in [0, max]; -1 for anything else. */
static long long parse_number(const char *s, long long max)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	return v;
}

static int parse_side(const char *opt, const char *arg, struct side_filter *f)
{
	struct in_addr a;

	f->identity = -1;
	if (strchr(arg, '/')) {
		f->pod = arg;
		return 0;
	}
	f->identity = parse_number(arg, UINT32_MAX);
	if (f->identity >= 0)
		return 0;
	if (inet_pton(AF_INET, arg, &a) == 1) {
		f->ip = arg;
		return 0;
	}
	return ctl_fail(CTL_USAGE, "%s: '%s' is neither NS/POD, an identity nor an IPv4 address",
			opt, arg);
}

static int parse_opts(int argc, char **argv, struct monitor_opts *o)
{
	*o = (struct monitor_opts){ .from.identity = -1, .to.identity = -1,
				    .port = -1 };
	for (int i = 0; i < argc; i += 2) {
		const char *opt = argv[i], *arg;
		long long n = 0;

		if (i + 1 == argc)
			return ctl_fail(CTL_USAGE, "monitor: %s needs a value", opt);
		arg = argv[i + 1];
		if (strcmp(opt, "--type") == 0) {
			if (strcmp(arg, "drop") != 0 && strcmp(arg, "allow") != 0 &&
			    strcmp(arg, "all") != 0)
				return ctl_fail(CTL_USAGE, "--type: '%s' is not drop, allow or all", arg);
			o->verdict = strcmp(arg, "all") == 0 ? NULL : arg;
		} else if (strcmp(opt, "--from") == 0 || strcmp(opt, "--to") == 0) {
			if (parse_side(opt, arg, opt[2] == 'f' ? &o->from : &o->to))
				return CTL_USAGE;
		} else if (strcmp(opt, "--reason") == 0) {
			o->reason = arg;
		} else if (strcmp(opt, "--port") == 0) {
			if ((n = parse_number(arg, 65535)) < 0)
				return ctl_fail(CTL_USAGE, "--port: '%s' is not a port 0..65535", arg);
			o->port = (int)n;
		} else if (strcmp(opt, "--count") == 0 || strcmp(opt, "--timeout-ms") == 0) {
			if ((n = parse_number(arg, INT32_MAX)) <= 0)
				return ctl_fail(CTL_USAGE, "%s: '%s' is not a positive number", opt, arg);
			*(opt[2] == 'c' ? &o->count : &o->timeout_ms) = (long)n;
		} else {
			return ctl_fail(CTL_USAGE, "monitor: unknown argument '%s'", opt);
		}
	}
	return 0;
}

static bool string_is(const json_t *v, const char *want)
{
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static bool side_matches(const struct side_filter *f, const json_t *side)
{
	if (f->pod && !string_is(json_object_get(side, "pod"), f->pod))
		return false;
	if (f->ip && !string_is(json_object_get(side, "ip"), f->ip))
		return false;
	return f->identity < 0 ||
	       json_integer_value(json_object_get(side, "identity")) == f->identity;
}

static bool port_is(const json_t *side, int port)
{
	const json_t *p = json_object_get(side, "port");

	return json_is_integer(p) && json_integer_value(p) == port;
}

/* Either side's port, as ct list --port. */
static bool event_matches(const struct monitor_opts *o, const json_t *ev)
{
	const json_t *src = json_object_get(ev, "src"), *dst = json_object_get(ev, "dst");

	if (o->verdict && !string_is(json_object_get(ev, "verdict"), o->verdict))
		return false;
	if (o->reason && !string_is(json_object_get(ev, "reason"), o->reason))
		return false;
	if (o->port >= 0 && !port_is(src, o->port) && !port_is(dst, o->port))
		return false;
	return side_matches(&o->from, src) && side_matches(&o->to, dst);
}

/* "x/a:40312[1234]": the pod (or address), its port, its identity. */
static void print_side(const json_t *side)
{
	const char *pod = json_string_value(json_object_get(side, "pod"));
	const char *ip = json_string_value(json_object_get(side, "ip"));
	const json_t *port = json_object_get(side, "port");

	fputs(pod ? pod : ip ? ip : "?", stdout);
	if (json_is_integer(port))
		printf(":%lld", (long long)json_integer_value(port));
	printf("[%lld]", (long long)json_integer_value(json_object_get(side, "identity")));
}

static const char *field(const json_t *ev, const char *key)
{
	const char *s = json_string_value(json_object_get(ev, key));

	return s ? s : "-";
}

static void print_event(const json_t *ev)
{
	printf("%s ", field(ev, "time"));
	print_side(json_object_get(ev, "src"));
	fputs(" -> ", stdout);
	print_side(json_object_get(ev, "dst"));
	printf(" %s %s %s %s rule=%lld\n", field(ev, "proto"), field(ev, "dir"),
	       field(ev, "verdict"), field(ev, "reason"),
	       (long long)json_integer_value(json_object_get(ev, "rule_id")));
}

/* One line of the stream: 1 when it was an event printed, 0 when not. */
static int handle_line(const struct ctl *c, const struct monitor_opts *o,
		       const char *line, size_t len)
{
	json_t *ev = json_loadb(line, len, 0, NULL);
	const json_t *lost;
	int printed = 0;

	if (!json_is_object(ev)) {
		ctl_fail(0, "monitor: the daemon sent a line that is not a JSON object");
		goto out;
	}
	lost = json_object_get(ev, "lost");
	if (lost) {
		ctl_fail(0, "monitor: %lld events lost: this monitor read too slowly",
			 (long long)json_integer_value(lost));
		goto out;
	}
	if (!event_matches(o, ev))
		goto out;
	if (c->json)
		printf("%.*s\n", (int)len, line);
	else
		print_event(ev);
	fflush(stdout);
	printed = 1;
out:
	json_decref(ev);
	return printed;
}

/* SIGINT and SIGTERM are blocked but while waiting in ppoll with *wait
 * (the mask before): one that comes between the check of stop_requested
 * and the wait cannot be missed. */
static void catch_stop_signals(sigset_t *wait)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigset_t stops;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigprocmask(SIG_BLOCK, &stops, wait);
}

/* Reads lines until a signal, the count, the timeout, or the daemon
 * leaves; buf holds at most one partial line. */
static int read_events(const struct ctl *c, const struct monitor_opts *o, int fd,
		       const sigset_t *wait)
{
	long long deadline = o->timeout_ms ? now_ms() + o->timeout_ms : 0;
	char *buf = malloc(MONITOR_MAX_LINE);
	size_t len = 0;
	long printed = 0;
	int rc = CTL_OK;

	if (!buf)
		return ctl_fail(CTL_FAIL, "out of memory");
	while (!stop_requested && (!o->count || printed < o->count)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline ? deadline - now_ms() : -1;
		struct timespec ts = { left / 1000, left % 1000 * 1000000 };
		char *nl;
		ssize_t n;

		if (deadline && left <= 0) {
			/* Fewer events than asked for by the deadline: a
			 * script waiting for one learns it did not come. */
			rc = o->count ? CTL_FAIL : CTL_OK;
			break;
		}
		if (ppoll(&p, 1, left < 0 ? NULL : &ts, wait) <= 0)
			continue;	/* EINTR (a signal?) or the deadline */
		n = recv(fd, buf + len, MONITOR_MAX_LINE - len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			rc = ctl_fail(CTL_FAIL, "monitor: the daemon closed the stream%s%s",
				      n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			break;
		}
		len += (size_t)n;
		while ((nl = memchr(buf, '\n', len)) && (!o->count || printed < o->count)) {
			size_t used = (size_t)(nl - buf) + 1;

			printed += handle_line(c, o, buf, used - 1);
			memmove(buf, buf + used, len - used);
			len -= used;
		}
		if (len == MONITOR_MAX_LINE) {
			rc = ctl_fail(CTL_FAIL, "monitor: a line of over %u bytes from the daemon",
				      MONITOR_MAX_LINE);
			break;
		}
	}
	free(buf);
	return rc;
}

int cmd_monitor(struct ctl *c, int argc, char **argv)
{
	struct monitor_opts o;
	sigset_t wait;
	int fd, rc;

	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc;
	catch_stop_signals(&wait);
	fd = daemon_stream(c, "/events");
	if (fd < 0)
		return ctl_fail(CTL_NO_DATAPATH,
				"monitor needs bulkhead-policyd, which did not answer on %s (/events): %s",
				c->daemon, fd == -EPROTO ? "not an event stream" : strerror(-fd));
	/* The daemon answers only once it has us as a subscriber: from
	 * here on, no event is missed (scripts wait for this line). */
	fprintf(stderr, "bulkhead-ctl: monitor: listening to %s/events; Ctrl-C stops\n",
		c->daemon);
	rc = read_events(c, &o, fd, &wait);
	close(fd);
	return rc;
}
