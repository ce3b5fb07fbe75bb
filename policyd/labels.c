/* Label sets: sorted arrays of owned key=value pairs, the Kubernetes rules
 * for valid keys and values, and the canonical hash identities come from. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policyd/labels.h"

#define LABEL_NAME_MAX		63
#define DNS_LABEL_MAX		63
#define DNS_SUBDOMAIN_MAX	253

/* FNV-1a, 64 bits: offset basis and prime from the published definition. */
#define FNV64_OFFSET		0xcbf29ce484222325ULL
#define FNV64_PRIME		0x100000001b3ULL

/* --- syntax ---------------------------------------------------------------
 * Each check returns why its input is not valid, or NULL. ASCII only, not
 * <ctype.h>: the locale must not change what a valid label is. */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c);
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* A label name, and every non-empty value: 1..63 of [A-Za-z0-9._-],
 * alphanumeric at both ends. */
static const char *name_problem(const char *s, size_t len)
{
	if (len == 0)
		return "must not be empty";
	if (len > LABEL_NAME_MAX)
		return "must be at most 63 characters";
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return "may only contain letters, digits, '-', '_' and '.'";
	if (!is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return "must begin and end with a letter or digit";
	return NULL;
}

/* One '.'-separated part of a DNS name: [a-z0-9-], alphanumeric at both
 * ends. Kubernetes bounds only the whole name, not each part. */
static const char *dns_part_problem(const char *s, size_t len)
{
	if (len == 0)
		return "must not have an empty part between dots";
	for (size_t i = 0; i < len; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return "may only contain lowercase letters, digits, '-' and '.'";
	if (!is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return "must begin and end every part with a lowercase letter or digit";
	return NULL;
}

static const char *dns_label_problem(const char *s, size_t len)
{
	if (len == 0)
		return "must not be empty";
	if (len > DNS_LABEL_MAX)
		return "must be at most 63 characters";
	if (memchr(s, '.', len))
		return "may only contain lowercase letters, digits and '-'";
	return dns_part_problem(s, len);
}

static const char *dns_subdomain_problem(const char *s, size_t len)
{
	const char *end = s + len, *dot, *why;

	if (len == 0)
		return "must not be empty";
	if (len > DNS_SUBDOMAIN_MAX)
		return "must be at most 253 characters";
	for (;; s = dot + 1) {
		dot = memchr(s, '.', (size_t)(end - s));
		why = dns_part_problem(s, (size_t)((dot ? dot : end) - s));
		if (why || !dot)
			return why;
	}
}

bool dns_label_valid(const char *s, struct dp_err *err)
{
	const char *why = dns_label_problem(s, strlen(s));

	if (why)
		dp_errorf(err, -EINVAL, "DNS label \"%.100s\" %s", s, why);
	return !why;
}

bool dns_subdomain_valid(const char *s, struct dp_err *err)
{
	const char *why = dns_subdomain_problem(s, strlen(s));

	if (why)
		dp_errorf(err, -EINVAL, "DNS subdomain \"%.100s\" %s", s, why);
	return !why;
}

/* Sets *part to "prefix" or "name", the half that is wrong. */
static const char *key_problem(const char *key, const char **part)
{
	const char *slash = strchr(key, '/'), *why;

	*part = "name";
	if (!slash)
		return name_problem(key, strlen(key));
	if (strchr(slash + 1, '/'))
		return "must not contain more than one '/'";
	*part = "prefix";
	if (slash == key)
		return "must not be empty before '/'";
	why = dns_subdomain_problem(key, (size_t)(slash - key));
	if (why)
		return why;
	*part = "name";
	return name_problem(slash + 1, strlen(slash + 1));
}

bool label_key_valid(const char *key, struct dp_err *err)
{
	const char *part, *why = key_problem(key, &part);

	if (why)
		dp_errorf(err, -EINVAL, "label key \"%.100s\": %s %s", key, part, why);
	return !why;
}

static const char *value_problem(const char *value)
{
	size_t len = strlen(value);

	return len ? name_problem(value, len) : NULL;
}

bool label_value_valid(const char *value, struct dp_err *err)
{
	const char *why = value_problem(value);

	if (why)
		dp_errorf(err, -EINVAL, "label value \"%.100s\" %s", value, why);
	return !why;
}

/* --- the set --------------------------------------------------------------- */

/* The index of key, or where it would go; *found says which. */
static size_t labels_find(const struct labels *l, const char *key, bool *found)
{
	size_t lo = 0, hi = l->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->v[mid].key, key);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int labels_insert(struct labels *l, size_t at, const char *key,
			 const char *value)
{
	struct label *v = realloc(l->v, (l->n + 1) * sizeof(*v));
	char *k = strdup(key), *val = strdup(value);

	if (v)
		l->v = v;
	if (!v || !k || !val) {
		free(k);
		free(val);
		return -ENOMEM;
	}
	memmove(&v[at + 1], &v[at], (l->n - at) * sizeof(*v));
	v[at].key = k;
	v[at].value = val;
	l->n++;
	return 0;
}

int labels_set(struct labels *l, const char *key, const char *value)
{
	bool found;
	size_t at = labels_find(l, key, &found);
	char *val;

	if (!found)
		return labels_insert(l, at, key, value);
	val = strdup(value);
	if (!val)
		return -ENOMEM;
	free(l->v[at].value);
	l->v[at].value = val;
	return 0;
}

/* -ENOENT when key is not in the set. */
int labels_del(struct labels *l, const char *key)
{
	bool found;
	size_t at = labels_find(l, key, &found);

	if (!found)
		return -ENOENT;
	free(l->v[at].key);
	free(l->v[at].value);
	memmove(&l->v[at], &l->v[at + 1], (l->n - at - 1) * sizeof(*l->v));
	l->n--;
	return 0;
}

const char *labels_get(const struct labels *l, const char *key)
{
	bool found;
	size_t at = labels_find(l, key, &found);

	return found ? l->v[at].value : NULL;
}

void labels_free(struct labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* dst is overwritten, not freed first; empty on failure. */
int labels_copy(struct labels *dst, const struct labels *src)
{
	*dst = (struct labels){ 0 };
	if (!src->n)
		return 0;
	dst->v = calloc(src->n, sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	for (; dst->n < src->n; dst->n++) {
		struct label *d = &dst->v[dst->n];

		d->key = strdup(src->v[dst->n].key);
		d->value = strdup(src->v[dst->n].value);
		if (!d->key || !d->value) {
			dst->n++;	/* so labels_free sees the half-made pair */
			labels_free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

int labels_from_json(const json_t *obj, struct labels *out, struct dp_err *err)
{
	const char *key;
	json_t *val;
	int rc = 0;

	*out = (struct labels){ 0 };
	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return dp_errorf(err, -EINVAL, "labels must be a JSON object");
	json_object_foreach((json_t *)obj, key, val) {
		const char *why;

		if (!label_key_valid(key, err)) {
			rc = -EINVAL;
			goto out;
		}
		if (!json_is_string(val)) {
			rc = dp_errorf(err, -EINVAL, "label \"%.100s\": value must be a string",
				       key);
			goto out;
		}
		why = value_problem(json_string_value(val));
		if (why) {
			rc = dp_errorf(err, -EINVAL, "label \"%.100s\": value \"%.100s\" %s",
				       key, json_string_value(val), why);
			goto out;
		}
		rc = labels_set(out, key, json_string_value(val));
		if (rc < 0) {
			dp_errorf(err, rc, "labels: out of memory");
			goto out;
		}
	}
out:
	if (rc < 0)
		labels_free(out);
	return rc;
}

json_t *labels_to_json(const struct labels *l)
{
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		/* json_string refuses text that is not UTF-8. */
		if (json_object_set_new(obj, l->v[i].key,
					json_string(l->v[i].value)) < 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

/* Pair by pair (key, then value); a set that is a prefix of the other is
 * smaller. */
int labels_cmp(const struct labels *a, const struct labels *b)
{
	size_t n = a->n < b->n ? a->n : b->n;

	for (size_t i = 0; i < n; i++) {
		int c = strcmp(a->v[i].key, b->v[i].key);

		if (!c)
			c = strcmp(a->v[i].value, b->v[i].value);
		if (c)
			return c < 0 ? -1 : 1;
	}
	return a->n < b->n ? -1 : a->n > b->n;
}

bool labels_equal(const struct labels *a, const struct labels *b)
{
	return labels_cmp(a, b) == 0;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= FNV64_PRIME;
	}
	return h;
}

/* Stable by contract: identity numbers are derived from this value on
 * every node, so the byte stream ("k=v\n" per pair, in key order) and the
 * function must never change. */
uint64_t labels_hash(const struct labels *l)
{
	uint64_t h = FNV64_OFFSET;

	for (size_t i = 0; i < l->n; i++) {
		h = fnv1a(h, l->v[i].key);
		h = fnv1a(h, "=");
		h = fnv1a(h, l->v[i].value);
		h = fnv1a(h, "\n");
	}
	return h;
}

char *labels_str(const struct labels *l)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%s%s=%s", i ? "," : "", l->v[i].key, l->v[i].value);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* --- identity sets --------------------------------------------------------- */

static const char *const default_filter[] = {
	"pod-template-hash",
	"controller-revision-hash",
	"pod-template-generation",
	"statefulset.kubernetes.io/pod-name",
};

static int filter_add(struct label_filter *f, const char *key, size_t len)
{
	char **keys = realloc(f->keys, (f->n + 1) * sizeof(*keys));

	if (!keys)
		return -ENOMEM;
	f->keys = keys;
	keys[f->n] = strndup(key, len);
	if (!keys[f->n])
		return -ENOMEM;
	f->n++;
	return 0;
}

void label_filter_free(struct label_filter *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->keys[i]);
	free(f->keys);
	f->keys = NULL;
	f->n = 0;
}

int label_filter_default(struct label_filter *f)
{
	*f = (struct label_filter){ 0 };
	for (size_t i = 0; i < sizeof(default_filter) / sizeof(*default_filter); i++) {
		if (filter_add(f, default_filter[i], strlen(default_filter[i])) < 0) {
			label_filter_free(f);
			return -ENOMEM;
		}
	}
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Blanks around each key are dropped; an empty key between commas is an
 * error (a typo, not a wish to filter nothing). */
int label_filter_parse(const char *csv, struct label_filter *f,
		       struct dp_err *err)
{
	const char *s = csv;
	int rc = 0;

	*f = (struct label_filter){ 0 };
	while (is_blank(*s))
		s++;
	if (!*s)
		return 0;
	for (;;) {
		const char *end = strchr(s, ',');
		const char *stop = end ? end : s + strlen(s);

		while (s < stop && is_blank(*s))
			s++;
		while (stop > s && is_blank(stop[-1]))
			stop--;
		if (stop == s) {
			rc = dp_errorf(err, -EINVAL, "label filter \"%.100s\": empty key",
				       csv);
			goto out;
		}
		rc = filter_add(f, s, (size_t)(stop - s));
		if (rc < 0) {
			dp_errorf(err, rc, "label filter: out of memory");
			goto out;
		}
		if (!label_key_valid(f->keys[f->n - 1], err)) {
			rc = -EINVAL;
			goto out;
		}
		if (!end)
			break;
		s = end + 1;
	}
out:
	if (rc < 0)
		label_filter_free(f);
	return rc;
}

static bool filter_has(const struct label_filter *f, const char *key)
{
	for (size_t i = 0; f && i < f->n; i++)
		if (strcmp(f->keys[i], key) == 0)
			return true;
	return false;
}

static bool has_ns_prefix(const char *key)
{
	return strncmp(key, LABELS_NS_PREFIX, strlen(LABELS_NS_PREFIX)) == 0;
}

/* f may be NULL (no filter). A pod key with the namespace prefix cannot
 * come from Kubernetes (':' is not allowed) and would forge a namespace
 * label, so it is refused. */
int labels_identity(const struct labels *pod, const struct labels *ns,
		    const struct label_filter *f, struct labels *out)
{
	char *key = NULL;
	int rc = 0;

	*out = (struct labels){ 0 };
	for (size_t i = 0; i < pod->n && rc == 0; i++) {
		if (has_ns_prefix(pod->v[i].key))
			rc = -EINVAL;
		else if (!filter_has(f, pod->v[i].key))
			rc = labels_set(out, pod->v[i].key, pod->v[i].value);
	}
	for (size_t i = 0; i < ns->n && rc == 0; i++) {
		if (asprintf(&key, "%s%s", LABELS_NS_PREFIX, ns->v[i].key) < 0) {
			key = NULL;
			rc = -ENOMEM;
			break;
		}
		rc = labels_set(out, key, ns->v[i].value);
		free(key);
		key = NULL;
	}
	if (rc < 0)
		labels_free(out);
	return rc;
}

/* pod or ns may be NULL when the caller wants only one half. */
int labels_split(const struct labels *id, struct labels *pod,
		 struct labels *ns)
{
	int rc = 0;

	if (pod)
		*pod = (struct labels){ 0 };
	if (ns)
		*ns = (struct labels){ 0 };
	for (size_t i = 0; i < id->n && rc == 0; i++) {
		const char *key = id->v[i].key;

		if (has_ns_prefix(key) && ns)
			rc = labels_set(ns, key + strlen(LABELS_NS_PREFIX),
					id->v[i].value);
		else if (!has_ns_prefix(key) && pod)
			rc = labels_set(pod, key, id->v[i].value);
	}
	if (rc < 0) {
		if (pod)
			labels_free(pod);
		if (ns)
			labels_free(ns);
	}
	return rc;
}
