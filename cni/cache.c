/* Cached ADD results, one file per attachment named CONTAINERID:IFNAME
 * (':' can appear in neither, so the name is unambiguous). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/cache.h"
#include "cni/fsutil.h"
#include "cni/log.h"

static int cache_dir(const struct netconf *conf, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/results/%s", conf->state_dir, conf->name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int cache_path(const struct netconf *conf, const char *cid,
		      const char *ifname, char *out, size_t len)
{
	char dir[PATH_MAX];
	int n;

	if (cache_dir(conf, dir, sizeof(dir)) < 0)
		return -1;
	n = snprintf(out, len, "%s/%s:%s", dir, cid, ifname);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int cache_write(const struct netconf *conf, const char *container_id,
		const char *ifname, const json_t *result, struct cni_err *err)
{
	char path[PATH_MAX];
	char *text;
	int rc;

	if (cache_path(conf, container_id, ifname, path, sizeof(path)) < 0)
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "stateDir %.100s is too long", conf->state_dir);
	text = json_dumps(result, JSON_COMPACT);
	if (!text)
		return cni_errorf(err, BH_ERR_INTERNAL, "out of memory");
	rc = mkdir_parent(path, 0700);
	if (rc == 0)
		rc = write_file_atomic(path, text, strlen(text), 0600);
	free(text);
	if (rc < 0)
		return cni_errorf(err, BH_ERR_INTERNAL, "write result cache %s: %s",
				  path, strerror(errno));
	return 0;
}

json_t *cache_read(const struct netconf *conf, const char *container_id,
		   const char *ifname)
{
	char path[PATH_MAX];

	if (cache_path(conf, container_id, ifname, path, sizeof(path)) < 0)
		return NULL;
	return json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
}

void cache_remove(const struct netconf *conf, const char *container_id,
		  const char *ifname)
{
	char path[PATH_MAX];

	if (cache_path(conf, container_id, ifname, path, sizeof(path)) < 0)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("remove result cache %s: %s", path, strerror(errno));
}

static bool is_valid(const char *name, const struct ipam_attachment *valid,
		     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t clen = strlen(valid[i].container_id);

		if (strncmp(name, valid[i].container_id, clen) == 0 &&
		    name[clen] == ':' && strcmp(name + clen + 1, valid[i].ifname) == 0)
			return true;
	}
	return false;
}

void cache_gc(const struct netconf *conf, const struct ipam_attachment *valid,
	      size_t n)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;

	if (cache_dir(conf, dir, sizeof(dir)) < 0 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strchr(de->d_name, ':') ||
		    is_valid(de->d_name, valid, n))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == 0)
			log_info("gc removed cached result %s", de->d_name);
	}
	closedir(d);
}
