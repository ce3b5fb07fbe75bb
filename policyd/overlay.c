/* The node's VXLAN device: made once in external mode (every packet's
 * tunnel key comes from the datapath, so one device serves every node),
 * kept across restarts, with the overlay program on its ingress. */
#include <errno.h>
#include <string.h>

#include "bulkhead/config.h"
#include "bulkhead/tunnel.h"
#include "cni/netlink.h"
#include "datapath/loader.h"
#include "policyd/daemon.h"
#include "policyd/overlay.h"

/* The netlink code speaks CNI errors; the daemon speaks dp_err. */
static int nl_err(struct dp_err *err, const struct cni_err *cerr)
{
	return dp_errorf(err, cerr->code == BH_ERR_EXISTS ? -EEXIST : -EIO,
			 "%s", cerr->msg);
}

/* A device of our name that is not ours to use: the daemon would send
 * through, or take packets from, something it does not understand. */
static int vxlan_check(const struct nl_link *l, struct dp_err *err)
{
	if (strcmp(l->kind, "vxlan") != 0)
		return dp_errorf(err, -EEXIST,
				 "%s exists but is a %s device, not vxlan: remove it",
				 BH_VXLAN_DEV, l->kind[0] ? l->kind : "plain");
	if (!l->vxlan_external || l->vxlan_port != BH_VXLAN_PORT)
		return dp_errorf(err, -EEXIST,
				 "vxlan %s exists but is not in external mode on port %u "
				 "(external %s, port %u): remove it and let the daemon make it",
				 BH_VXLAN_DEV, BH_VXLAN_PORT,
				 l->vxlan_external ? "yes" : "no", (unsigned)l->vxlan_port);
	return 0;
}

/* Creates the device when absent, checks it when present; up either way. */
static int vxlan_ensure(int *ifindex, struct dp_err *err)
{
	struct cni_err cerr = { 0 };
	struct nl_link link;
	struct nl nl;
	bool created = false;
	int rc;

	if (nl_open(&nl, &cerr) < 0)
		return nl_err(err, &cerr);
	rc = nl_link_get(&nl, BH_VXLAN_DEV, &link, &cerr);
	if (rc == 0) {
		/* EXISTS: made meanwhile; the look-up below judges it. */
		created = nl_vxlan_external_create(&nl, BH_VXLAN_DEV, BH_VXLAN_PORT,
						   &cerr) == 0;
		if (!created && cerr.code != BH_ERR_EXISTS) {
			rc = nl_err(err, &cerr);
			goto out;
		}
		memset(&cerr, 0, sizeof(cerr));
		rc = nl_link_get(&nl, BH_VXLAN_DEV, &link, &cerr);
	}
	if (rc < 0) {
		rc = nl_err(err, &cerr);
		goto out;
	}
	if (rc == 0) {
		rc = dp_errorf(err, -ENODEV, "%s vanished right after it was made",
			       BH_VXLAN_DEV);
		goto out;
	}
	rc = vxlan_check(&link, err);
	if (rc < 0)
		goto out;
	/* IPv6 link-local would have the device solicit routers through a
	 * tunnel with no remote: nothing to gain, only noise. */
	if ((created && nl_link_no_ipv6ll(&nl, link.ifindex, &cerr) < 0) ||
	    (!link.up && nl_link_set_up(&nl, link.ifindex, &cerr) < 0)) {
		rc = nl_err(err, &cerr);
		goto out;
	}
	*ifindex = link.ifindex;
	if (created)
		daemon_log("made %s (vxlan, external, dstport %u), ifindex %d",
			   BH_VXLAN_DEV, BH_VXLAN_PORT, link.ifindex);
	rc = 0;
out:
	nl_close(&nl);
	return rc;
}

/* Changes the two overlay fields of the config; cached verdicts are
 * decided again, as after any change of what the datapath reads. */
static int config_write(struct daemon *d, int ifindex, __be32 node_ip,
			struct dp_err *err)
{
	struct bh_config cfg;
	int rc;

	rc = dp_config_get(&d->maps, &cfg, err);
	if (rc < 0)
		return rc;
	if (cfg.tunnel_ifindex != (__u32)ifindex || cfg.node_ip != node_ip) {
		cfg.tunnel_ifindex = (__u32)ifindex;
		cfg.node_ip = node_ip;
		rc = dp_config_put(&d->maps, &cfg, err);
		if (rc == 0)
			rc = dp_policy_rev_bump(&d->maps, err);
		if (rc < 0)
			return rc;
	}
	d->node_ip = node_ip;
	return 0;
}

int overlay_open(struct daemon *d, struct dp_err *err)
{
	struct bh_config cfg;
	int rc;

	d->tunnel_ifindex = 0;
	if (!d->o.no_overlay) {
		rc = vxlan_ensure(&d->tunnel_ifindex, err);
		if (rc == 0)
			rc = dp_attach_overlay(d->o.bpffs_root, d->tunnel_ifindex, err);
		if (rc < 0)
			return rc;
	}
	/* Without --node-ip the address is the Node object's, known after
	 * the first sync; until then the config keeps what it held. */
	rc = dp_config_get(&d->maps, &cfg, err);
	if (rc < 0)
		return rc;
	return config_write(d, d->tunnel_ifindex,
			    d->o.node_ip ? d->o.node_ip : cfg.node_ip, err);
}

int overlay_set_node_ip(struct daemon *d, __be32 node_ip, struct dp_err *err)
{
	if (node_ip == d->node_ip)
		return 0;
	return config_write(d, d->tunnel_ifindex, node_ip, err);
}
