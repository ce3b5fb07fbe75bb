/* Cluster-wide identities: the number <-> labels table and allocation by
 * create-if-absent of a BulkheadIdentity object on the API server. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulkhead/identity.h"
#include "policyd/identity.h"
#include "policyd/kube_client.h"

#define IDENTITY_SPAN (BH_ID_CLUSTER_MAX - BH_ID_CLUSTER_MIN + 1)

__u32 identity_preferred(const struct labels *l)
{
	return BH_ID_CLUSTER_MIN + (__u32)(labels_hash(l) % IDENTITY_SPAN);
}

__u32 identity_probe_next(__u32 id)
{
	return id >= BH_ID_CLUSTER_MAX ? BH_ID_CLUSTER_MIN : id + 1;
}

static void identity_key(__u32 id, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu32, id);
}

struct identity *identity_find(const struct identity_table *t, __u32 id)
{
	char key[24];

	identity_key(id, key, sizeof(key));
	return strmap_get(&t->by_id, key);
}

struct identity *identity_find_str(const struct identity_table *t,
				   const char *str)
{
	return strmap_get(&t->by_labels, str);
}

struct identity *identity_find_labels(const struct identity_table *t,
				      const struct labels *l)
{
	char *s = labels_str(l);
	struct identity *id;

	if (!s)
		return NULL;
	id = identity_find_str(t, s);
	free(s);
	/* Equal strings are equal sets for valid labels; check anyway. */
	return id && labels_equal(&id->labels, l) ? id : NULL;
}

static void identity_unindex_labels(struct identity_table *t,
				    struct identity *e)
{
	char *s = labels_str(&e->labels);

	/* Two numbers may carry one label set (a race lost across a GC);
	 * the index keeps whichever it has, so only drop it if it is e. */
	if (s && strmap_get(&t->by_labels, s) == e)
		strmap_del(&t->by_labels, s);
	free(s);
}

static void identity_free(struct identity *e)
{
	if (!e)
		return;
	labels_free(&e->labels);
	free(e);
}

int identity_put(struct identity_table *t, __u32 id, const struct labels *l,
		 const char *uid, struct identity **out)
{
	struct identity *e = calloc(1, sizeof(*e)), *old;
	char *s = NULL;
	int rc = -ENOMEM;

	if (!e || labels_copy(&e->labels, l) < 0)
		goto out;
	e->id = id;
	e->hash = labels_hash(l);
	if (uid)
		snprintf(e->uid, sizeof(e->uid), "%s", uid);
	identity_key(id, e->key, sizeof(e->key));
	s = labels_str(l);
	if (!s)
		goto out;
	old = strmap_get(&t->by_id, e->key);
	if (old) {
		e->users = old->users;
		e->unused_since_ms = old->unused_since_ms;
		identity_unindex_labels(t, old);
	}
	if (strmap_put(&t->by_id, e->key, e, NULL) < 0)
		goto out;
	identity_free(old);
	if (!strmap_get(&t->by_labels, s) &&
	    strmap_put(&t->by_labels, s, e, NULL) < 0) {
		strmap_del(&t->by_id, e->key);
		goto out;
	}
	if (out)
		*out = e;
	e = NULL;
	rc = 0;
out:
	free(s);
	identity_free(e);
	return rc;
}

void identity_remove(struct identity_table *t, __u32 id)
{
	struct identity *e = identity_find(t, id);

	if (!e)
		return;
	identity_unindex_labels(t, e);
	strmap_del(&t->by_id, e->key);
	identity_free(e);
}

void identity_table_free(struct identity_table *t)
{
	size_t i = 0;
	const char *k;
	void *v;

	while (strmap_next(&t->by_id, &i, &k, &v))
		identity_free(v);
	strmap_free(&t->by_id);
	strmap_free(&t->by_labels);
}

/* A label of an identity set: a pod label, or a namespace label under
 * LABELS_NS_PREFIX; both by the Kubernetes rules. */
static bool identity_label_valid(const char *key, const char *value,
				 struct dp_err *err)
{
	size_t plen = strlen(LABELS_NS_PREFIX);

	if (strncmp(key, LABELS_NS_PREFIX, plen) == 0)
		key += plen;
	return label_key_valid(key, err) && label_value_valid(value, err);
}

int identity_from_json(const json_t *obj, __u32 *id, struct labels *l,
		       const char **uid, struct dp_err *err)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const json_t *lj = json_object_get(obj, "labels");
	unsigned long v;
	const char *key;
	json_t *val;
	char *end;

	if (!name || !*name)
		return dp_errorf(err, -EINVAL, "identity object without a name");
	errno = 0;
	v = strtoul(name, &end, 10);
	if (*end || errno || name[0] == '0' || v < BH_ID_CLUSTER_MIN ||
	    v > BH_ID_CLUSTER_MAX)
		return dp_errorf(err, -EINVAL,
				 "identity %s: the name is not a number in %u..%u",
				 name, BH_ID_CLUSTER_MIN, BH_ID_CLUSTER_MAX);
	if (!json_is_object(lj) || !json_object_size(lj))
		return dp_errorf(err, -EINVAL,
				 "identity %s: labels must be a non-empty map", name);
	memset(l, 0, sizeof(*l));
	json_object_foreach((json_t *)lj, key, val) {
		struct dp_err why = { 0 };

		if (!json_is_string(val) ||
		    !identity_label_valid(key, json_string_value(val), &why)) {
			labels_free(l);
			return dp_errorf(err, -EINVAL, "identity %s: label %s: %s",
					 name, key, json_is_string(val) ?
					 why.msg : "not a string");
		}
		if (labels_set(l, key, json_string_value(val)) < 0) {
			labels_free(l);
			return dp_errorf(err, -ENOMEM, "out of memory");
		}
	}
	*id = (__u32)v;
	if (uid)
		*uid = json_string_value(json_object_get(meta, "uid"));
	return 0;
}

json_t *identity_to_json(__u32 id, const struct labels *l)
{
	char name[24];

	identity_key(id, name, sizeof(name));
	return json_pack("{s:s, s:s, s:{s:s}, s:o}",
			 "apiVersion", IDENTITY_GROUP "/v1",
			 "kind", IDENTITY_KIND,
			 "metadata", "name", name,
			 "labels", labels_to_json(l));
}

/* What claiming a number came to. */
enum claim {
	CLAIM_TAKEN,		/* another label set holds it */
	CLAIM_EXISTS,		/* it already held our labels */
	CLAIM_CREATED,		/* we created it */
};

/* Someone holds id: reads whose it is into the table. */
static int identity_claim_lost(struct identity_table *t, struct kube_client *k,
			       __u32 id, const struct labels *l,
			       struct identity **out, struct dp_err *err)
{
	char path[sizeof(IDENTITY_API_PATH) + 24];
	struct labels got = { 0 };
	const char *uid = NULL;
	json_t *resp = NULL;
	__u32 got_id;
	int status, rc;

	snprintf(path, sizeof(path), IDENTITY_API_PATH "/%u", id);
	status = kube_request(k, "GET", path, NULL, &resp, IDENTITY_REQUEST_MS, err);
	if (status < 0)
		return status;
	if (status == 404) {
		/* Deleted since: the caller's next pass tries it again. */
		rc = dp_errorf(err, -EAGAIN, "identity %u vanished while claimed", id);
		goto out;
	}
	if (status != 200) {
		rc = dp_errorf(err, -EIO,
			       "reading identity %u: the API server answered %d",
			       id, status);
		goto out;
	}
	rc = identity_from_json(resp, &got_id, &got, &uid, err);
	if (rc == -EINVAL) {
		rc = CLAIM_TAKEN;	/* unusable, but the number is gone */
		goto out;
	}
	if (rc == 0)
		rc = identity_put(t, id, &got, uid, out) < 0 ?
			dp_errorf(err, -ENOMEM, "out of memory") :
			labels_equal(&got, l) ? CLAIM_EXISTS : CLAIM_TAKEN;
out:
	labels_free(&got);
	json_decref(resp);
	return rc;
}

/* Claims id for l by creating its object: enum claim, or <0 when the API
 * server could not say. */
static int identity_claim(struct identity_table *t, struct kube_client *k,
			  __u32 id, const struct labels *l,
			  struct identity **out, struct dp_err *err)
{
	json_t *body = identity_to_json(id, l), *resp = NULL;
	int status, rc;

	if (!body)
		return dp_errorf(err, -ENOMEM, "out of memory");
	status = kube_request(k, "POST", IDENTITY_API_PATH, body, &resp,
			      IDENTITY_REQUEST_MS, err);
	json_decref(body);
	if (status == 409) {
		json_decref(resp);
		return identity_claim_lost(t, k, id, l, out, err);
	}
	if (status == 201 || status == 200) {
		const char *uid = json_string_value(json_object_get(
			json_object_get(resp, "metadata"), "uid"));

		rc = identity_put(t, id, l, uid, out) < 0 ?
			dp_errorf(err, -ENOMEM, "out of memory") : CLAIM_CREATED;
	} else {
		rc = status < 0 ? status :
			dp_errorf(err, -EIO,
				  "creating identity %u: the API server answered %d",
				  id, status);
	}
	json_decref(resp);
	return rc;
}

int identity_allocate(struct identity_table *t, struct kube_client *k,
		      const struct labels *l, struct identity **out,
		      struct dp_err *err)
{
	__u32 id = identity_preferred(l);
	int i, rc;

	*out = identity_find_labels(t, l);
	if (*out)
		return 0;
	for (i = 0; i < IDENTITY_MAX_PROBES; i++, id = identity_probe_next(id)) {
		struct identity *e = identity_find(t, id);

		if (e && labels_equal(&e->labels, l)) {
			*out = e;
			return 0;
		}
		if (e)
			continue;
		if (!k)
			return identity_put(t, id, l, NULL, out) < 0 ?
				dp_errorf(err, -ENOMEM, "out of memory") : 1;
		rc = identity_claim(t, k, id, l, out, err);
		if (rc < 0)
			return rc;
		if (rc != CLAIM_TAKEN)
			return rc == CLAIM_CREATED;
	}
	return dp_errorf(err, -ENOSPC,
			 "no free identity within %d numbers of %u: identity space exhausted?",
			 IDENTITY_MAX_PROBES, identity_preferred(l));
}

int identity_gc(struct identity_table *t, struct kube_client *k,
		uint64_t now_ms, uint64_t grace_ms, struct dp_err *err)
{
	char path[sizeof(IDENTITY_API_PATH) + 24];
	size_t i = 0;
	const char *key;
	void *v;
	int n = 0, status;

	while (strmap_next(&t->by_id, &i, &key, &v)) {
		struct identity *e = v;

		if (e->users || !e->unused_since_ms ||
		    now_ms - e->unused_since_ms < grace_ms)
			continue;
		if (k) {
			json_t *resp = NULL, *opts = json_pack(
				"{s:s, s:s, s:{s:s}}", "kind", "DeleteOptions",
				"apiVersion", "v1", "preconditions", "uid", e->uid);

			if (!opts)
				return dp_errorf(err, -ENOMEM, "out of memory");
			snprintf(path, sizeof(path), IDENTITY_API_PATH "/%s", e->key);
			status = kube_request(k, "DELETE", path, opts, &resp,
					      IDENTITY_REQUEST_MS, err);
			json_decref(opts);
			json_decref(resp);
			if (status < 0)
				return status;
			/* 409: re-created meanwhile, it is someone's now. */
			if (status != 200 && status != 202 && status != 404 &&
			    status != 409)
				return dp_errorf(err, -EIO,
						 "deleting identity %s: the API server answered %d",
						 e->key, status);
		}
		fprintf(stderr, "identity %s: unused for %llu ms, deleted\n", e->key,
			(unsigned long long)(now_ms - e->unused_since_ms));
		identity_remove(t, e->id);
		n++;
	}
	return n;
}
