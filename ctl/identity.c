/* identity list / get: the daemon's identities with their labels, the
 * reserved ones by name; without the daemon, the numbers the ipcache
 * holds. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulkhead/identity.h"
#include "ctl/ctl.h"

const char *ctl_reserved_identity(unsigned int id)
{
	static const char *const names[] = {
		[BH_ID_UNKNOWN] = "unknown", [BH_ID_HOST] = "host",
		[BH_ID_WORLD] = "world", [BH_ID_REMOTE_NODE] = "remote-node",
		[BH_ID_HEALTH] = "health", [BH_ID_INIT] = "init",
	};

	return id < sizeof(names) / sizeof(names[0]) ? names[id] : NULL;
}

static const char *kind(json_int_t id)
{
	if (id <= BH_ID_RESERVED_MAX)
		return "reserved";
	return id >= BH_ID_LOCAL_MIN ? "local" : "cluster";
}

/* {"id":N,"kind":..,"name":..,"labels":{..}|null} */
static json_t *identity_row(json_int_t id, json_t *labels)
{
	const char *name = id <= BH_ID_RESERVED_MAX ?
		ctl_reserved_identity((unsigned int)id) : NULL;

	return json_pack("{s:I, s:s, s:s?, s:O?}", "id", id, "kind", kind(id),
			 "name", name, "labels", labels);
}

static int has_id(json_t *rows, json_int_t id)
{
	size_t i;
	json_t *r;

	json_array_foreach(rows, i, r)
		if (json_integer_value(json_object_get(r, "id")) == id)
			return 1;
	return 0;
}

static int add_seen(const struct bh_ipcache_key *k,
		    const struct bh_ipcache_value *v, void *arg)
{
	(void)k;
	if (has_id(arg, v->identity))
		return 0;
	return out_append(arg, identity_row(v->identity, NULL)) ? -ENOMEM : 0;
}

static int by_id(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));

	return x < y ? -1 : x > y;
}

/* Sorts rows by id (jansson arrays have no sort: through a C array). */
static json_t *sorted(json_t *rows)
{
	size_t n = json_array_size(rows);
	json_t **v = malloc((n ? n : 1) * sizeof(*v)), *out = json_array();

	for (size_t i = 0; v && i < n; i++)
		v[i] = json_array_get(rows, i);
	if (v && out) {
		qsort(v, n, sizeof(*v), by_id);
		for (size_t i = 0; i < n; i++)
			json_array_append(out, v[i]);
	}
	free(v);
	json_decref(rows);
	if (!v) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* The reserved identities, the daemon's, and (without the daemon) every
 * number the ipcache uses. */
static int identities(struct ctl *c, json_t **out)
{
	json_t *rows = json_array(), *ids = daemon_get_json(c, "/identities"), *e;
	struct dp_err err = { 0 };
	size_t i;
	int rc = 0;

	for (unsigned int id = 0; rows && ctl_reserved_identity(id); id++)
		if ((rc = out_append(rows, identity_row(id, NULL))))
			goto out;
	json_array_foreach(ids, i, e) {
		json_t *id = json_object_get(e, "id");

		if (json_is_integer(id) &&
		    (rc = out_append(rows, identity_row(json_integer_value(id),
						json_object_get(e, "labels")))))
			goto out;
	}
	if (!ids) {
		if ((rc = ctl_open_maps(c)))
			goto out;
		if (dp_ipcache_foreach(&c->maps, add_seen, rows, &err) < 0) {
			rc = ctl_fail(CTL_FAIL, "%s", err.msg[0] ? err.msg : "out of memory");
			goto out;
		}
	}
	*out = sorted(rows);
	rows = NULL;
	if (!*out)
		rc = ctl_fail(CTL_FAIL, "out of memory");
out:
	json_decref(rows);
	json_decref(ids);
	return rc;
}

static const char *const columns[] = { "id", "kind", "name", "labels", NULL };

int cmd_identity_list(struct ctl *c, int argc, char **argv)
{
	json_t *rows = NULL;
	int rc;

	(void)argc; (void)argv;
	if ((rc = identities(c, &rows)))
		return rc;
	return out_rows(c, rows, columns);
}

int cmd_identity_get(struct ctl *c, int argc, char **argv)
{
	json_t *rows = NULL, *r;
	unsigned long long id;
	char *end;
	size_t i;
	int rc;

	(void)argc;
	errno = 0;
	id = strtoull(argv[0], &end, 10);
	if (argv[0][0] < '0' || argv[0][0] > '9' || *end || errno || id > UINT32_MAX)
		return ctl_fail(CTL_USAGE, "identity: '%s' is not a number", argv[0]);
	if ((rc = identities(c, &rows)))
		return rc;
	json_array_foreach(rows, i, r)
		if (json_integer_value(json_object_get(r, "id")) == (json_int_t)id) {
			rc = out_object(c, json_incref(r));
			json_decref(rows);
			return rc;
		}
	json_decref(rows);
	return ctl_fail(CTL_FAIL, "no identity %llu known on this node", id);
}

json_t *ctl_identity_labels(json_t *ids, __u32 id)
{
	size_t i;
	json_t *e;

	json_array_foreach(ids, i, e) {
		json_t *n = json_object_get(e, "id"), *l = json_object_get(e, "labels");

		if (json_is_integer(n) && json_integer_value(n) == (json_int_t)id)
			return json_is_object(l) ? l : NULL;
	}
	return NULL;
}
