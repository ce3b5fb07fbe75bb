/* The pod in the datapath: attach the programs policyd pinned (never load or
 * verify one here), keep the pod's endpoint entry, and say what is missing. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bulkhead/identity.h"
#include "cni/endpoint.h"
#include "cni/log.h"
#include "datapath/loader.h"
#include "datapath/maps.h"

/* GC deletes at most this many stale entries per run; GC runs periodically. */
#define GC_MAX_STALE 1024

/* The datapath library's messages say what failed, on what and why; this
 * only adds what it cannot know (which pod's veth), when prefix is set. */
static int dp_fail(struct cni_err *err, int code, const struct dp_err *de,
		   const char *prefix)
{
	const char *why = de->msg[0] ? de->msg : strerror(-de->code);

	if (prefix)
		return cni_errorf(err, code, "%s: %s", prefix, why);
	return cni_errorf(err, code, "%s", why);
}

/* libbpf writes to stderr by default. What it says (a tc query finding no
 * filter, say) is either harmless or already in the error we return, so it
 * goes to the plugin's log, at debug. */
static int libbpf_to_log(enum libbpf_print_level level, const char *fmt,
			 va_list ap)
{
	char *s = NULL;
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	n = vasprintf(&s, fmt, ap);
	if (n < 0)
		return 0;
	s[strcspn(s, "\n")] = '\0';
	log_debug("%s", s);
	free(s);
	return n;
}

static void quiet_libbpf(void)
{
	libbpf_set_print(libbpf_to_log);
}

static int not_loaded(const struct netconf *conf, int code, struct cni_err *err)
{
	return cni_errorf(err, code,
			  "datapath not loaded under %s: start bulkhead-policyd",
			  conf->bpffs_root);
}

static __be32 ip4(const struct ip_addr *a)
{
	__be32 v;

	memcpy(&v, a->b, sizeof(v));
	return v;
}

/* Maps opened while the datapath is not loaded fail with `absent`, so each
 * command can say what that means for it. */
static int open_maps(const struct netconf *conf, struct dp_maps *m, int absent,
		     struct cni_err *err)
{
	struct dp_err de = { 0 };
	int rc = dp_maps_open(conf->bpffs_root, m, &de);

	if (rc == -ENOENT)
		return dp_fail(err, absent, &de, NULL);
	if (rc < 0)
		return dp_fail(err, BH_ERR_DATAPATH, &de, NULL);
	return 0;
}

int endpoint_require(const struct netconf *conf, struct cni_err *err)
{
	if (dp_loaded(conf->bpffs_root))
		return 0;
	return not_loaded(conf, CNI_ERR_TRY_AGAIN, err);
}

int endpoint_status(const struct netconf *conf, struct cni_err *err)
{
	if (dp_loaded(conf->bpffs_root))
		return 0;
	return not_loaded(conf, CNI_ERR_NOT_AVAILABLE, err);
}

/* ---- ADD ---- */

static int attach(const struct netconf *conf, const struct pod_result *r,
		  struct cni_err *err)
{
	struct dp_err de = { 0 };
	char veth[IF_NAMESIZE + 16];
	int rc = dp_attach(conf->bpffs_root, r->host_ifindex, &de);

	if (rc == 0)
		return 0;
	snprintf(veth, sizeof(veth), "host veth %s", r->host_ifname);
	/* Unloaded since endpoint_require: the daemon may be restarting. */
	return dp_fail(err, rc == -ENOENT ? CNI_ERR_TRY_AGAIN : BH_ERR_DATAPATH,
		       &de, veth);
}

/* Every pod of the node shares the gateway address, which is the host:
 * rewriting the same entry on each ADD keeps it there without a reader. */
static int put_gateway(const struct dp_maps *m, const struct ip_addr *gw,
		       struct cni_err *err)
{
	struct bh_ipcache_value v = { .identity = BH_ID_HOST };
	struct dp_err de = { 0 };

	if (dp_ipcache_put(m, ip4(gw), 32, &v, &de) == 0)
		return 0;
	return dp_fail(err, BH_ERR_DATAPATH, &de, NULL);
}

static int put_endpoint(const struct dp_maps *m, const struct pod_result *r,
			const struct ip_addr *a, struct cni_err *err)
{
	struct bh_endpoint ep = {
		.ifindex = (__u32)r->host_ifindex,
		.identity = BH_ID_INIT,
	};
	struct dp_err de = { 0 };

	memcpy(ep.mac, r->pod_mac, sizeof(ep.mac));
	memcpy(ep.host_mac, r->host_mac, sizeof(ep.host_mac));
	if (dp_endpoint_put(m, ip4(a), &ep, &de) == 0)
		return 0;
	return dp_fail(err, BH_ERR_DATAPATH, &de, NULL);
}

int endpoint_add(const struct netconf *conf, const struct pod_result *r,
		 bool *written, struct cni_err *err)
{
	struct dp_maps m;
	int rc = -1;

	quiet_libbpf();
	if (attach(conf, r, err) < 0 ||
	    open_maps(conf, &m, CNI_ERR_TRY_AGAIN, err) < 0)
		return -1;
	for (size_t i = 0; i < r->ipam.n_ips; i++) {
		const struct result_ip *ip = &r->ipam.ips[i];

		/* The datapath is IPv4; other addresses never get this far. */
		if (ip->addr.addr.family != AF_INET)
			continue;
		if (put_gateway(&m, &ip->gw, err) < 0)
			goto out;
		*written = true;
		if (put_endpoint(&m, r, &ip->addr.addr, err) < 0)
			goto out;
	}
	log_debug("attached to %s (ifindex %d), endpoint written",
		  r->host_ifname, r->host_ifindex);
	rc = 0;
out:
	dp_maps_close(&m);
	return rc;
}

/* ---- DEL and GC ---- */

/* 1 when no interface has ifindex in this namespace, 0 when one does. */
static int link_gone(struct nl *host, __u32 ifindex, struct cni_err *err)
{
	struct nl_link l;
	int rc;

	/* Index 0 would ask the kernel for no link at all. */
	if (ifindex == 0 || ifindex > INT_MAX)
		return 1;
	rc = nl_link_get_by_index(host, (int)ifindex, &l, err);
	return rc < 0 ? -1 : rc == 0;
}

/* Deletes ip's entry and every conntrack entry with ip at either end. */
static int forget(const struct dp_maps *m, const struct ip_addr *a,
		  struct cni_err *err)
{
	struct dp_err de = { 0 };
	char s[IP_ADDR_STRLEN];
	unsigned int removed = 0;

	ip_addr_format(a, s, sizeof(s));
	if (dp_endpoint_del(m, ip4(a), &de) < 0 ||
	    dp_ct_purge_ip(m, ip4(a), &removed, &de) < 0)
		return dp_fail(err, BH_ERR_DATAPATH, &de, NULL);
	log_info("endpoint %s deleted with %u conntrack entries", s, removed);
	return 0;
}

/* The entry for a is this pod's when it points at the pod's host veth
 * (ifindex, 0 when gone) or at no interface at all. An entry pointing at
 * a live interface of another pod is left alone: the address was released
 * and handed out again before this DEL came. */
static int del_one(const struct dp_maps *m, struct nl *host, int ifindex,
		   const struct ip_addr *a, struct cni_err *err)
{
	struct bh_endpoint ep;
	char s[IP_ADDR_STRLEN];
	int rc = dp_endpoint_get(m, ip4(a), &ep);

	ip_addr_format(a, s, sizeof(s));
	if (rc < 0 && rc != -ENOENT)
		return cni_errorf(err, BH_ERR_DATAPATH,
				  "read endpoint entry for %s: %s", s, strerror(-rc));
	/* Absent: an earlier DEL, or an ADD that never wrote it. Its
	 * conntrack entries may still be there. */
	if (rc == -ENOENT || (ifindex && ep.ifindex == (__u32)ifindex))
		return forget(m, a, err);
	rc = link_gone(host, ep.ifindex, err);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return forget(m, a, err);
	log_warn("endpoint %s now belongs to ifindex %u, not to this pod: left alone",
		 s, ep.ifindex);
	return 0;
}

int endpoint_del(const struct netconf *conf, struct nl *host,
		 const char *host_ifname, const struct ipam_result *addrs,
		 struct cni_err *err)
{
	struct nl_link l;
	struct dp_maps m;
	int ifindex = 0, rc;

	quiet_libbpf();
	if (addrs->n_ips == 0)
		return 0;
	if (!dp_loaded(conf->bpffs_root)) {
		log_warn("datapath not loaded under %s: no endpoint entry to delete",
			 conf->bpffs_root);
		return 0;
	}
	rc = nl_link_get(host, host_ifname, &l, err);
	if (rc < 0)
		return -1;
	if (rc == 1)
		ifindex = l.ifindex;
	if (open_maps(conf, &m, BH_ERR_DATAPATH, err) < 0)
		return -1;
	rc = 0;
	for (size_t i = 0; i < addrs->n_ips && rc == 0; i++)
		if (addrs->ips[i].addr.addr.family == AF_INET)
			rc = del_one(&m, host, ifindex, &addrs->ips[i].addr.addr, err);
	dp_maps_close(&m);
	return rc;
}

/* An entry found stale, remembered with its ifindex so that an entry
 * rewritten for a new pod in the meantime is not taken for it. */
struct stale_ep {
	struct ip_addr addr;
	__u32 ifindex;
};

/* Walks the endpoint keys first and deletes afterwards: deleting the key a
 * hash map walk stands on restarts the walk. */
static int collect_stale(const struct dp_maps *m, struct nl *host,
			 struct stale_ep *out, size_t *n, struct cni_err *err)
{
	struct bh_endpoint_key key, next;
	struct bh_endpoint ep;
	const void *prev = NULL;
	int rc;

	*n = 0;
	/* Bounded, since concurrent DELs can restart the walk. */
	for (size_t seen = 0; seen < BH_MAX_ENDPOINTS && *n < GC_MAX_STALE; seen++) {
		rc = bpf_map_get_next_key(m->endpoints, prev, &next);
		if (rc == -ENOENT)
			return 0;
		if (rc < 0)
			return cni_errorf(err, BH_ERR_DATAPATH,
					  "walk the endpoints map: %s", strerror(-rc));
		key = next;
		prev = &key;
		if (dp_endpoint_get(m, key.ip4, &ep) < 0)
			continue;	/* deleted meanwhile */
		rc = link_gone(host, ep.ifindex, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		out[*n] = (struct stale_ep){ .addr.family = AF_INET,
					     .ifindex = ep.ifindex };
		memcpy(out[*n].addr.b, &key.ip4, sizeof(key.ip4));
		(*n)++;
	}
	return 0;
}

/* GC deleted the host veths of the attachments it drops before this runs,
 * so their entries, like those of veths deleted behind the plugin's back,
 * point at interfaces that are gone. */
int endpoint_gc(const struct netconf *conf, struct nl *host, struct cni_err *err)
{
	struct stale_ep stale[GC_MAX_STALE];
	struct bh_endpoint ep;
	struct dp_maps m;
	size_t n = 0;
	int rc = -1;

	quiet_libbpf();
	if (!dp_loaded(conf->bpffs_root)) {
		log_warn("datapath not loaded under %s: no endpoint entries to collect",
			 conf->bpffs_root);
		return 0;
	}
	if (open_maps(conf, &m, BH_ERR_DATAPATH, err) < 0)
		return -1;
	if (collect_stale(&m, host, stale, &n, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (dp_endpoint_get(&m, ip4(&stale[i].addr), &ep) < 0 ||
		    ep.ifindex != stale[i].ifindex)
			continue;
		if (forget(&m, &stale[i].addr, err) < 0)
			goto out;
	}
	rc = 0;
out:
	dp_maps_close(&m);
	return rc;
}

/* ---- CHECK ---- */

static int check_link(struct nl *nl, const char *side, const char *name,
		      struct nl_link *l, struct cni_err *err)
{
	int rc = nl_link_get(nl, name, l, err);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return cni_errorf(err, BH_ERR_CHECK, "%s interface %s does not exist",
				  side, name);
	return 0;
}

static int check_entry(const struct dp_maps *m, const struct ip_addr *a,
		       const struct nl_link *hl, const struct nl_link *pl,
		       struct cni_err *err)
{
	char s[IP_ADDR_STRLEN], want[18], got[18];
	struct bh_endpoint ep;
	int rc = dp_endpoint_get(m, ip4(a), &ep);

	ip_addr_format(a, s, sizeof(s));
	if (rc == -ENOENT)
		return cni_errorf(err, BH_ERR_CHECK,
				  "the datapath has no endpoint entry for %s", s);
	if (rc < 0)
		return cni_errorf(err, BH_ERR_DATAPATH,
				  "read endpoint entry for %s: %s", s, strerror(-rc));
	if (ep.ifindex != (__u32)hl->ifindex)
		return cni_errorf(err, BH_ERR_CHECK,
				  "endpoint entry for %s points at ifindex %u, not at host interface %s (ifindex %d)",
				  s, ep.ifindex, hl->name, hl->ifindex);
	if (memcmp(ep.mac, pl->mac, sizeof(ep.mac)) != 0) {
		mac_format(ep.mac, got, sizeof(got));
		mac_format(pl->mac, want, sizeof(want));
		return cni_errorf(err, BH_ERR_CHECK,
				  "endpoint entry for %s has MAC %s, pod interface %s has %s",
				  s, got, pl->name, want);
	}
	if (memcmp(ep.host_mac, hl->mac, sizeof(ep.host_mac)) != 0) {
		mac_format(ep.host_mac, got, sizeof(got));
		mac_format(hl->mac, want, sizeof(want));
		return cni_errorf(err, BH_ERR_CHECK,
				  "endpoint entry for %s has host MAC %s, host interface %s has %s",
				  s, got, hl->name, want);
	}
	return 0;
}

int endpoint_check(const struct netconf *conf, struct nl *host, struct nl *pod,
		   const struct pod_result *r, struct cni_err *err)
{
	char veth[IF_NAMESIZE + 16];
	struct nl_link hl, pl;
	struct dp_err de = { 0 };
	struct dp_maps m;
	int rc;

	quiet_libbpf();
	if (!dp_loaded(conf->bpffs_root))
		return cni_errorf(err, BH_ERR_CHECK, "datapath not loaded under %s",
				  conf->bpffs_root);
	if (check_link(host, "host", r->host_ifname, &hl, err) < 0 ||
	    check_link(pod, "pod", r->pod_ifname, &pl, err) < 0)
		return -1;
	rc = dp_check_attached(conf->bpffs_root, hl.ifindex, &de);
	snprintf(veth, sizeof(veth), "host interface %s", r->host_ifname);
	if (rc < 0)
		return dp_fail(err, rc == -ENOENT ? BH_ERR_CHECK : BH_ERR_DATAPATH,
			       &de, veth);
	if (open_maps(conf, &m, BH_ERR_CHECK, err) < 0)
		return -1;
	rc = 0;
	for (size_t i = 0; i < r->ipam.n_ips && rc == 0; i++)
		if (r->ipam.ips[i].addr.addr.family == AF_INET)
			rc = check_entry(&m, &r->ipam.ips[i].addr.addr, &hl, &pl, err);
	dp_maps_close(&m);
	return rc;
}
