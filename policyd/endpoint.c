/* Local endpoints: the CNI plugin's registrations, in memory and saved one
 * JSON file each under STATE/endpoints, so a restart resyncs them. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "policyd/endpoint.h"

static void endpoint_free(struct endpoint *ep)
{
	if (!ep)
		return;
	free(ep->key);
	free(ep->container_id);
	free(ep->ifname);
	free(ep->ns);
	free(ep->pod);
	free(ep->host_ifname);
	free(ep);
}

/* The file name joins the two with ':', which the registration socket
 * allows in neither a container ID nor an interface name. */
static int endpoint_path(const struct endpoint_table *t, const char *cid,
			 const char *ifname, char **out)
{
	return asprintf(out, "%s/%s:%s.json", t->dir, cid, ifname) < 0 ?
		-ENOMEM : 0;
}

static int endpoint_save(const struct endpoint_table *t,
			 const struct endpoint *ep, struct dp_err *err)
{
	char ip[INET_ADDRSTRLEN], *path = NULL, *tmp = NULL;
	json_t *j;
	int rc = -ENOMEM;

	inet_ntop(AF_INET, &ep->ip, ip, sizeof(ip));
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}",
		      "containerID", ep->container_id, "ifname", ep->ifname,
		      "namespace", ep->ns, "pod", ep->pod, "ip", ip,
		      "ifindex", (json_int_t)ep->ifindex,
		      "hostIfname", ep->host_ifname);
	if (!j || endpoint_path(t, ep->container_id, ep->ifname, &path) < 0 ||
	    asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		goto out;
	}
	if (json_dump_file(j, tmp, JSON_COMPACT) < 0 || rename(tmp, path) < 0) {
		rc = dp_errorf(err, -EIO, "saving endpoint %s: %s", path,
			       strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	free(path);
	free(tmp);
	return rc;
}

static int endpoint_new(const struct reg_request *r, struct endpoint **out)
{
	struct endpoint *ep = calloc(1, sizeof(*ep));

	if (!ep)
		return -ENOMEM;
	ep->container_id = strdup(r->container_id);
	ep->ifname = strdup(r->ifname);
	ep->ns = strdup(r->ns);
	ep->pod = strdup(r->pod);
	ep->host_ifname = strdup(r->host_ifname ? r->host_ifname : "");
	ep->ip = r->ip;
	ep->ifindex = r->ifindex;
	if (!ep->container_id || !ep->ifname || !ep->ns || !ep->pod ||
	    !ep->host_ifname ||
	    asprintf(&ep->key, "%s/%s", r->container_id, r->ifname) < 0) {
		ep->key = NULL;
		endpoint_free(ep);
		return -ENOMEM;
	}
	*out = ep;
	return 0;
}

static int endpoint_insert(struct endpoint_table *t, struct endpoint *ep)
{
	void *old;

	if (strmap_put(&t->by_key, ep->key, ep, &old) < 0)
		return -ENOMEM;
	endpoint_free(old);
	return 0;
}

/* A saved file back into a registration; the same checks the socket made
 * are not repeated in full (the file is ours, 0600 in a 0700 directory),
 * but nothing is used without its type being right. */
static int endpoint_load_one(struct endpoint_table *t, const char *path,
			     struct dp_err *err)
{
	struct reg_request r = { .add = 1 };
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	struct endpoint *ep;
	struct in_addr a;
	json_int_t ifindex = 0;
	const char *ip = NULL;
	int rc = -EINVAL;

	if (!j || json_unpack(j, "{s:s, s:s, s:s, s:s, s:s, s:I, s:s}",
			      "containerID", &r.container_id, "ifname", &r.ifname,
			      "namespace", &r.ns, "pod", &r.pod, "ip", &ip,
			      "ifindex", &ifindex, "hostIfname", &r.host_ifname) < 0 ||
	    inet_pton(AF_INET, ip, &a) != 1 || ifindex < 1 || ifindex > INT32_MAX) {
		dp_errorf(err, -EINVAL, "%s: not a saved endpoint; removed", path);
		unlink(path);
		goto out;
	}
	r.ip = a.s_addr;
	r.ifindex = (__u32)ifindex;
	rc = endpoint_new(&r, &ep);
	if (rc == 0 && (rc = endpoint_insert(t, ep)) < 0)
		endpoint_free(ep);
out:
	json_decref(j);
	return rc;
}

int endpoint_table_open(struct endpoint_table *t, const char *state_dir,
			struct dp_err *err)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (asprintf(&t->dir, "%s/endpoints", state_dir) < 0) {
		t->dir = NULL;
		return -ENOMEM;
	}
	if ((mkdir(state_dir, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(t->dir, 0700) < 0 && errno != EEXIST))
		return dp_errorf(err, -errno, "cannot create %s: %s", t->dir,
				 strerror(errno));
	d = opendir(t->dir);
	if (!d)
		return dp_errorf(err, -errno, "cannot read %s: %s", t->dir,
				 strerror(errno));
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *path;

		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".json"))
			continue;
		if (asprintf(&path, "%s/%s", t->dir, de->d_name) < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = endpoint_load_one(t, path, err);
		free(path);
		if (rc == -ENOMEM)
			break;
		rc = 0;
	}
	closedir(d);
	return rc;
}

int endpoint_register(struct endpoint_table *t, const struct reg_request *r,
		      struct endpoint **out, struct dp_err *err)
{
	struct endpoint *ep, *old = endpoint_lookup(t, r->container_id, r->ifname);
	int rc;

	rc = endpoint_new(r, &ep);
	if (rc < 0)
		return dp_errorf(err, rc, "out of memory");
	rc = endpoint_save(t, ep, err);
	if (rc < 0) {
		endpoint_free(ep);
		return rc;
	}
	if (old && old->ip == ep->ip) {
		ep->identity = old->identity;
		ep->flags = old->flags;
	}
	rc = endpoint_insert(t, ep);
	if (rc < 0) {
		endpoint_free(ep);
		return dp_errorf(err, rc, "out of memory");
	}
	*out = ep;
	return 0;
}

struct endpoint *endpoint_lookup(const struct endpoint_table *t,
				 const char *container_id, const char *ifname)
{
	char *key;
	struct endpoint *ep;

	if (asprintf(&key, "%s/%s", container_id, ifname) < 0)
		return NULL;
	ep = strmap_get(&t->by_key, key);
	free(key);
	return ep;
}

void endpoint_forget(struct endpoint_table *t, struct endpoint *ep)
{
	char *path;

	if (endpoint_path(t, ep->container_id, ep->ifname, &path) == 0) {
		unlink(path);
		free(path);
	}
	strmap_del(&t->by_key, ep->key);
	endpoint_free(ep);
}

void endpoint_table_free(struct endpoint_table *t)
{
	size_t i = 0;
	const char *k;
	void *v;

	while (strmap_next(&t->by_key, &i, &k, &v))
		endpoint_free(v);
	strmap_free(&t->by_key);
	free(t->dir);
}
