/* ipcache list and node list: where each address's identity comes from,
 * and the nodes whose tunnel packets are believed. */
#include <errno.h>
#include <arpa/inet.h>
#include <stdio.h>

#include "ctl/ctl.h"

static int ipcache_row(const struct bh_ipcache_key *k,
		       const struct bh_ipcache_value *v, void *arg)
{
	char cidr[32], a[INET_ADDRSTRLEN];
	const char *name = v->identity <= 255 ? ctl_reserved_identity(v->identity) : NULL;

	snprintf(cidr, sizeof(cidr), "%s/%u",
		 inet_ntop(AF_INET, &k->ip4, a, sizeof(a)), k->prefixlen);
	return out_append(arg, json_pack("{s:s, s:I, s:s?, s:o*}", "cidr", cidr,
					 "identity", (json_int_t)v->identity,
					 "name", name, "node",
					 v->tunnel_ip ? out_ip(v->tunnel_ip) : NULL))
		? -ENOMEM : 0;
}

static int node_row(__be32 ip, const struct bh_tunnel_value *v, void *arg)
{
	return out_append(arg, json_pack("{s:o, s:I}", "ip", out_ip(ip),
					 "flags", (json_int_t)v->flags)) ? -ENOMEM : 0;
}

static int walk_ipcache(struct ctl *c, json_t *rows, struct dp_err *err)
{
	return dp_ipcache_foreach(&c->maps, ipcache_row, rows, err);
}

static int walk_nodes(struct ctl *c, json_t *rows, struct dp_err *err)
{
	return dp_tunnel_foreach(&c->maps, node_row, rows, err);
}

/* Both lists: one row per map entry, walked by walk. */
static int list_rows(struct ctl *c, const char *const *columns,
		     int (*walk)(struct ctl *, json_t *, struct dp_err *))
{
	json_t *rows = json_array();
	struct dp_err err = { 0 };
	int rc;

	if ((rc = ctl_open_maps(c)))
		goto out;
	if (walk(c, rows, &err) < 0) {
		rc = ctl_fail(CTL_FAIL, "%s", err.msg[0] ? err.msg : "out of memory");
		goto out;
	}
	rc = out_rows(c, rows, columns);
	rows = NULL;
out:
	json_decref(rows);
	return rc;
}

int cmd_ipcache_list(struct ctl *c, int argc, char **argv)
{
	static const char *const columns[] = { "cidr", "identity", "name", "node", NULL };

	(void)argc; (void)argv;
	return list_rows(c, columns, walk_ipcache);
}

int cmd_node_list(struct ctl *c, int argc, char **argv)
{
	static const char *const columns[] = { "ip", "flags", NULL };

	(void)argc; (void)argv;
	return list_rows(c, columns, walk_nodes);
}
