/* CNI commands on the IPAM store: each opens the store (taking its lock),
 * does one thing and closes it, so the lock is held for microseconds. */
#include <stdlib.h>
#include <string.h>

#include "cni/conf_field.h"
#include "ipam/ipam.h"
#include "ipam/ipam_cni.h"

static int open_pool(const struct netconf *conf, struct ipam_pool *pool,
		     struct ipam_store **s, struct cni_err *err)
{
	if (ipam_pool_from_json(conf->ipam, pool, err) < 0)
		return -1;
	return ipam_store_open(conf->ipam_data_dir, conf->name, s, err);
}

int ipam_cni_add(const struct netconf *conf, const struct cni_args *args,
		 struct ipam_result *out, bool *fresh, struct cni_err *err)
{
	struct ipam_attachment att = { args->container_id, args->ifname };
	struct ipam_store *s;
	struct ipam_pool pool;
	struct ip_addr ip;
	int rc;

	memset(out, 0, sizeof(*out));
	if (open_pool(conf, &pool, &s, err) < 0)
		return -1;
	rc = ipam_alloc(s, &pool, &att, &ip, fresh, err);
	if (ipam_store_close(s, err) < 0)
		rc = -1;
	if (rc < 0)
		return -1;
	out->ips[0].addr.addr = ip;
	out->ips[0].addr.len = pool.subnet.len;
	out->ips[0].gw = pool.gateway;
	out->n_ips = 1;
	if (conf->dns)
		out->dns = json_incref((json_t *)conf->dns);
	return 0;
}

int ipam_cni_del(const struct netconf *conf, const struct cni_args *args,
		 struct cni_err *err)
{
	struct ipam_attachment att = { args->container_id, args->ifname };
	struct ipam_store *s;
	struct ipam_pool pool;
	int rc;

	if (open_pool(conf, &pool, &s, err) < 0)
		return -1;
	rc = ipam_release(s, &att);
	if (ipam_store_close(s, err) < 0)
		rc = -1;
	return rc;
}

int ipam_cni_check(const struct netconf *conf, const struct cni_args *args,
		   const struct ip_addr *addr, struct cni_err *err)
{
	struct ipam_attachment att = { args->container_id, args->ifname };
	struct ipam_store *s;
	struct ipam_pool pool;
	struct ip_addr held;
	char want[IP_ADDR_STRLEN], got[IP_ADDR_STRLEN];
	int found;

	if (open_pool(conf, &pool, &s, err) < 0)
		return -1;
	found = ipam_lookup(s, &att, &held);
	if (ipam_store_close(s, err) < 0)
		return -1;
	ip_addr_format(addr, want, sizeof(want));
	if (found != 1)
		return cni_errorf(err, BH_ERR_CHECK,
				  "ipam: %s/%s holds no address (expected %s)",
				  args->container_id, args->ifname, want);
	if (!ip_addr_eq(&held, addr)) {
		ip_addr_format(&held, got, sizeof(got));
		return cni_errorf(err, BH_ERR_CHECK,
				  "ipam: %s/%s holds %s, expected %s",
				  args->container_id, args->ifname, got, want);
	}
	return 0;
}

int valid_attachments_parse(const json_t *list, struct ipam_attachment **out,
			    size_t *n, struct cni_err *err)
{
	size_t count = json_array_size(list), i;
	struct ipam_attachment *atts;
	const json_t *v;

	*out = NULL;
	*n = 0;
	/* Without the list every attachment would look stale: refuse rather
	 * than wipe the network. An explicit [] does mean "none is valid". */
	if (!list)
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "invalid netconf: GC needs cni.dev/valid-attachments (an empty list if no attachment is valid)");
	if (count == 0)
		return 0;
	atts = calloc(count, sizeof(*atts));
	if (!atts)
		return cni_errorf(err, BH_ERR_INTERNAL, "out of memory");
	json_array_foreach(list, i, v) {
		const char *where = "cni.dev/valid-attachments[]";

		if (!json_is_object(v) ||
		    conf_string(v, where, "containerID", true,
				&atts[i].container_id, err) < 0 ||
		    conf_string(v, where, "ifname", true, &atts[i].ifname, err) < 0) {
			free(atts);
			return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
					  "invalid netconf: cni.dev/valid-attachments[%zu] must be {\"containerID\": ..., \"ifname\": ...}",
					  i);
		}
	}
	*out = atts;
	*n = count;
	return 0;
}

int ipam_cni_gc(const struct netconf *conf, struct cni_err *err)
{
	struct ipam_attachment *valid;
	struct ipam_store *s;
	struct ipam_pool pool;
	size_t n;
	int released;

	if (valid_attachments_parse(conf->valid_attachments, &valid, &n, err) < 0)
		return -1;
	if (open_pool(conf, &pool, &s, err) < 0) {
		free(valid);
		return -1;
	}
	released = ipam_gc(s, valid, n);
	free(valid);
	if (ipam_store_close(s, err) < 0)
		return -1;
	if (released > 0)
		log_info("gc released %d address(es) of network %s", released,
			 conf->name);
	return 0;
}

int ipam_cni_status(const struct netconf *conf, struct cni_err *err)
{
	struct ipam_store *s;
	struct ipam_pool pool;
	uint64_t cap;
	size_t used;

	if (open_pool(conf, &pool, &s, err) < 0)
		return -1;
	used = ipam_count(s);
	if (ipam_store_close(s, err) < 0)
		return -1;
	cap = ipam_pool_capacity(&pool);
	if (used >= cap)
		return cni_errorf(err, CNI_ERR_NOT_AVAILABLE,
				  "ipam: all %llu addresses of network %s are allocated",
				  (unsigned long long)cap, conf->name);
	return 0;
}
