/* Cluster-wide security identities: the table of number <-> label set the
 * node knows (from the API server's BulkheadIdentity objects), and the
 * allocation of a number for a new label set with create-if-absent, so two
 * nodes can never give one number to two label sets. */
#ifndef BH_POLICYD_IDENTITY_H
#define BH_POLICYD_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include <jansson.h>

#include "datapath/dp.h"
#include "policyd/labels.h"
#include "policyd/strmap.h"

struct kube_client;

/* The custom resource (deploy/crd-identity.yaml). */
#define IDENTITY_GROUP		"bulkhead.io"
#define IDENTITY_PLURAL		"bulkheadidentities"
#define IDENTITY_KIND		"BulkheadIdentity"
#define IDENTITY_API_PATH	"/apis/bulkhead.io/v1/bulkheadidentities"
/* Probes past the preferred number before giving up: with a million
 * identities in a space of 16.7 million, 64 probes all taken is not a
 * thing that happens. */
#define IDENTITY_MAX_PROBES	64
/* The daemon's loop waits on these requests: a slow API server delays
 * other work by at most this much per request (the pass is retried). */
#define IDENTITY_REQUEST_MS	3000

struct identity {
	__u32 id;
	struct labels labels;
	uint64_t hash;		/* labels_hash */
	char key[24];		/* decimal id, the object's name */
	char uid[64];		/* the object's metadata.uid ("" when not from the API) */
	unsigned int users;	/* pods of the cluster with these labels */
	uint64_t unused_since_ms;	/* loop_now_ms() when users became 0 */
	bool seen;		/* during a relist */
};

struct identity_table {
	struct strmap by_id;		/* "N" -> struct identity */
	struct strmap by_labels;	/* canonical label string -> same */
};

/* Where a label set would like to live: BH_ID_CLUSTER_MIN + hash modulo the
 * cluster range. Probing goes up from there, wrapping around. */
__u32 identity_preferred(const struct labels *l);
__u32 identity_probe_next(__u32 id);

struct identity *identity_find(const struct identity_table *t, __u32 id);
struct identity *identity_find_labels(const struct identity_table *t,
				      const struct labels *l);
/* The same by the set's labels_str(): unambiguous, as every label in the
 * table and in the store has been validated. */
struct identity *identity_find_str(const struct identity_table *t,
				   const char *str);
/* Records an identity object (from the API or allocated locally);
 * replaces an entry with the same number. uid may be NULL. */
int identity_put(struct identity_table *t, __u32 id, const struct labels *l,
		 const char *uid, struct identity **out);
void identity_remove(struct identity_table *t, __u32 id);
void identity_table_free(struct identity_table *t);

/* An identity object from the API: its number, labels and uid; -EINVAL
 * for an object that is not one (name not a number in the cluster range,
 * labels not a map of valid Kubernetes labels, namespace ones under
 * LABELS_NS_PREFIX). Anyone allowed to create these objects could
 * otherwise craft a label set that reads like another. */
int identity_from_json(const json_t *obj, __u32 *id, struct labels *l,
		       const char **uid, struct dp_err *err);
json_t *identity_to_json(__u32 id, const struct labels *l);

/* The number for l: the one the table knows, else the first free number on
 * l's probe sequence, claimed by creating its object (k NULL: standalone,
 * claimed in the table only). Another node winning a number for other
 * labels moves us to the next one; winning it for the same labels is the
 * same identity. Returns 1 when it created a new object, 0 when the
 * identity existed. */
int identity_allocate(struct identity_table *t, struct kube_client *k,
		      const struct labels *l, struct identity **out,
		      struct dp_err *err);
/* Deletes the object of an identity no pod has used for grace_ms (API
 * mode), on the condition that it is still the object we saw (its uid):
 * one re-created meanwhile by another node stays. Returns how many. */
int identity_gc(struct identity_table *t, struct kube_client *k,
		uint64_t now_ms, uint64_t grace_ms, struct dp_err *err);

#endif
