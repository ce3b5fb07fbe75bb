/* ct list / ct flush: the conntrack map, with each entry's time to live
 * (the datapath stamps expiry on CLOCK_MONOTONIC, coarse or precise: the
 * same clock, within a tick). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "bulkhead/pin.h"
#include "ctl/ctl.h"
#include "datapath/format.h"
#include "datapath/names.h"

struct ct_filter {
	__be32 ip;		/* 0: any */
	int port;		/* -1: any */
};

struct ct_walk {
	const struct ct_filter *f;
	long long now_ns;
	json_t *rows;			/* list */
	struct bh_ct_key *keys;		/* flush */
	size_t nkeys, cap;
};

/* --ip IP and --port P; only --ip when ports are not allowed. */
static int parse_filter(int argc, char **argv, bool ports, struct ct_filter *f)
{
	f->ip = 0;
	f->port = -1;
	for (int i = 0; i < argc; i += 2) {
		bool is_ip = strcmp(argv[i], "--ip") == 0;
		char *end;
		long p;

		if (!is_ip && (!ports || strcmp(argv[i], "--port") != 0))
			return ctl_fail(CTL_USAGE, "ct: unknown argument '%s'", argv[i]);
		if (i + 1 == argc)
			return ctl_fail(CTL_USAGE, "ct: %s needs a value", argv[i]);
		if (is_ip) {
			if (ctl_parse_ip("--ip", argv[i + 1], &f->ip))
				return CTL_USAGE;
			continue;
		}
		errno = 0;
		p = strtol(argv[i + 1], &end, 10);
		if (argv[i + 1][0] < '0' || argv[i + 1][0] > '9' || *end || p > 65535)
			return ctl_fail(CTL_USAGE, "--port: '%s' is not a port 0..65535",
					argv[i + 1]);
		f->port = (int)p;
	}
	return 0;
}

static bool matches(const struct ct_filter *f, const struct bh_ct_key *k)
{
	if (f->ip && k->addr_a != f->ip && k->addr_b != f->ip)
		return false;
	return f->port < 0 || ntohs(k->port_a) == f->port ||
	       ntohs(k->port_b) == f->port;
}

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The opening side first: src -> dst as the connection was made. */
static int ct_row(const struct bh_ct_key *k, const struct bh_ct_value *v,
		  void *arg)
{
	struct ct_walk *w = arg;
	bool a_opened = v->flags & BH_CT_F_ORIG_A;
	char p[16], s[16];
	json_t *row;

	if (!matches(w->f, k))
		return 0;
	row = json_pack("{s:s, s:o, s:i, s:o, s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:I}",
			"proto", dp_word(dp_proto_name(k->proto), k->proto, p, sizeof(p)),
			"src", out_ip(a_opened ? k->addr_a : k->addr_b),
			"sport", ntohs(a_opened ? k->port_a : k->port_b),
			"dst", out_ip(a_opened ? k->addr_b : k->addr_a),
			"dport", ntohs(a_opened ? k->port_b : k->port_a),
			"state", dp_word(dp_ct_state_name(v->state), v->state, s, sizeof(s)),
			"src_identity", (json_int_t)v->src_id,
			"dst_identity", (json_int_t)v->dst_id,
			"rule", (json_int_t)v->rule_id,
			"packets_orig", (json_int_t)v->packets[0],
			"packets_reply", (json_int_t)v->packets[1],
			"audit", (v->flags & BH_CT_F_AUDIT) != 0,
			"expires_in_s", (json_int_t)(((long long)v->expires_ns - w->now_ns) / 1000000000));
	return out_append(w->rows, row) ? -ENOMEM : 0;
}

int cmd_ct_list(struct ctl *c, int argc, char **argv)
{
	static const char *const columns[] = {
		"proto", "src", "sport", "dst", "dport", "state", "src_identity",
		"dst_identity", "expires_in_s", NULL
	};
	struct ct_filter f;
	struct ct_walk w = { .f = &f, .rows = json_array() };
	struct dp_err err = { 0 };
	int rc;

	if ((rc = parse_filter(argc, argv, true, &f)) || (rc = ctl_open_maps(c)))
		goto out;
	w.now_ns = mono_ns();
	if (dp_ct_foreach(&c->maps, ct_row, &w, &err) < 0) {
		rc = ctl_fail(CTL_FAIL, "%s", err.msg[0] ? err.msg : "out of memory");
		goto out;
	}
	rc = out_rows(c, w.rows, columns);
	w.rows = NULL;
out:
	json_decref(w.rows);
	return rc;
}

static int ct_collect(const struct bh_ct_key *k, const struct bh_ct_value *v,
		      void *arg)
{
	struct ct_walk *w = arg;

	(void)v;
	if (w->nkeys == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		struct bh_ct_key *p = realloc(w->keys, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		w->keys = p;
		w->cap = cap;
	}
	w->keys[w->nkeys++] = *k;
	return 0;
}

/* Collects, then deletes: deleting during the walk would restart it. */
static int flush_all(struct ctl *c, unsigned int *removed)
{
	struct ct_filter none = { .ip = 0, .port = -1 };
	struct ct_walk w = { .f = &none };
	struct dp_err err = { 0 };
	int rc = 0;

	if (dp_ct_foreach(&c->maps, ct_collect, &w, &err) < 0) {
		rc = ctl_fail(CTL_FAIL, "%s", err.msg[0] ? err.msg : "out of memory");
		goto out;
	}
	for (size_t i = 0; i < w.nkeys; i++) {
		if (bpf_map_delete_elem(c->maps.conntrack, &w.keys[i]) == 0)
			++*removed;
		else if (errno != ENOENT) {
			rc = ctl_fail(CTL_FAIL, "delete from map %s: %s",
				      BH_MAP_CONNTRACK, strerror(errno));
			goto out;
		}
	}
out:
	free(w.keys);
	return rc;
}

int cmd_ct_flush(struct ctl *c, int argc, char **argv)
{
	struct dp_err err = { 0 };
	struct ct_filter f;
	unsigned int removed = 0;
	int rc;

	if ((rc = parse_filter(argc, argv, false, &f)) || (rc = ctl_open_maps(c)))
		return rc;
	if (!f.ip)
		rc = flush_all(c, &removed);
	else if (dp_ct_purge_ip(&c->maps, f.ip, &removed, &err) < 0)
		rc = ctl_fail(CTL_FAIL, "%s", err.msg);
	if (rc)
		return rc;
	return out_object(c, json_pack("{s:I}", "removed", (json_int_t)removed));
}
