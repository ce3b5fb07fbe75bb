/* Label sets: the sorted key=value pairs that identities, selectors and the
 * compiler work on, with the Kubernetes rules for what a valid label is. */
#ifndef BH_POLICYD_LABELS_H
#define BH_POLICYD_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "datapath/dp.h"

/* An identity's label set holds the pod's labels verbatim and its
 * namespace's labels under this prefix. A ':' is illegal in a Kubernetes
 * label key, so the two halves can never collide. The namespace's own name
 * is its label kubernetes.io/metadata.name (set by policyd where the API
 * server is too old to set it). */
#define LABELS_NS_PREFIX	"ns:"
#define LABELS_NS_NAME_KEY	"kubernetes.io/metadata.name"

struct label {
	char *key;
	char *value;
};

/* Sorted by key (strcmp), keys unique. Owns its strings. */
struct labels {
	struct label *v;
	size_t n;
};

/* Kubernetes syntax: a key is [prefix/]name, prefix a DNS subdomain of at
 * most 253 characters, name 1..63 of [A-Za-z0-9._-] beginning and ending
 * alphanumeric; a value is empty or like a name. On failure err says which
 * and why. */
bool label_key_valid(const char *key, struct dp_err *err);
bool label_value_valid(const char *value, struct dp_err *err);
/* Kubernetes object names: a DNS label (1..63 of [a-z0-9-], alphanumeric at
 * both ends: namespaces) and a DNS subdomain (1..253 of [a-z0-9.-], every
 * '.'-separated part alphanumeric at both ends: most other objects, and
 * label key prefixes). */
bool dns_label_valid(const char *s, struct dp_err *err);
bool dns_subdomain_valid(const char *s, struct dp_err *err);

/* Builds a set from a JSON object of string values (metadata.labels); NULL
 * or absent gives the empty set. Every key and value is validated. */
int labels_from_json(const json_t *obj, struct labels *out, struct dp_err *err);
/* A JSON object of the set (new reference). */
json_t *labels_to_json(const struct labels *l);

/* Sets key to value, replacing an existing value; keeps the order. No
 * validation: the identity set uses keys with LABELS_NS_PREFIX. */
int labels_set(struct labels *l, const char *key, const char *value);
int labels_del(struct labels *l, const char *key);
const char *labels_get(const struct labels *l, const char *key);
int labels_copy(struct labels *dst, const struct labels *src);
void labels_free(struct labels *l);

int labels_cmp(const struct labels *a, const struct labels *b);
bool labels_equal(const struct labels *a, const struct labels *b);
/* FNV-1a 64 over the canonical form "k=v\n" per pair: the same on every
 * node and every build, so identity numbers can be derived from it. */
uint64_t labels_hash(const struct labels *l);
/* "k1=v1,k2=v2" (malloc'd), for logs and tables. */
char *labels_str(const struct labels *l);

/* The identity label set of a pod: its labels minus the filtered keys,
 * plus every namespace label under LABELS_NS_PREFIX. */
struct label_filter {
	char **keys;		/* exact keys dropped from pod labels */
	size_t n;
};
/* The default filter: labels that change with every rollout and would mint
 * an identity per revision (pod-template-hash, controller-revision-hash,
 * pod-template-generation, statefulset.kubernetes.io/pod-name). */
int label_filter_default(struct label_filter *f);
/* Comma-separated keys; the empty string gives an empty filter. */
int label_filter_parse(const char *csv, struct label_filter *f,
		       struct dp_err *err);
void label_filter_free(struct label_filter *f);
int labels_identity(const struct labels *pod, const struct labels *ns,
		    const struct label_filter *f, struct labels *out);
/* The two halves of an identity set back (views are copies). */
int labels_split(const struct labels *id, struct labels *pod,
		 struct labels *ns);

#endif
