/* Unit tests of label sets: the Kubernetes syntax rules with their
 * messages, set operations, the stable hash, and identity sets built from
 * pod and namespace labels and split back. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "policyd/labels.h"
#include "tests/tap.h"

/* A label set from a JSON literal; a literal the test got wrong bails out. */
static struct labels L(const char *text)
{
	struct dp_err err = { 0 };
	struct labels l;
	json_t *j = json_loads(text, 0, NULL);

	if (!j || labels_from_json(j, &l, &err) < 0) {
		printf("Bail out! bad labels in test: %s: %s\n", text, err.msg);
		exit(255);
	}
	json_decref(j);
	return l;
}

static void is_labels(const struct labels *l, const char *want, const char *name)
{
	char *s = labels_str(l);

	is_str(s, want, "%s", name);
	free(s);
}

/* n copies of c followed by tail. */
static char *repeat(char c, size_t n, const char *tail)
{
	char *s = malloc(n + strlen(tail) + 1);

	if (!s)
		exit(255);
	memset(s, c, n);
	strcpy(s + n, tail);
	return s;
}

static void key_ok(const char *key)
{
	struct dp_err err = { 0 };

	ok(label_key_valid(key, &err) && err.code == 0, "key \"%.40s\" is valid", key);
}

static void key_bad(const char *key, const char *want)
{
	struct dp_err err = { 0 };
	bool valid = label_key_valid(key, &err);

	ok(!valid && err.code == -EINVAL && strstr(err.msg, want),
	   "key \"%.40s\" is invalid: %s", key, want);
	if (valid || !strstr(err.msg, want))
		diag("message: %s", err.msg);
}

static void value_bad(const char *value, const char *want)
{
	struct dp_err err = { 0 };
	bool valid = label_value_valid(value, &err);

	ok(!valid && err.code == -EINVAL && strstr(err.msg, want),
	   "value \"%.40s\" is invalid: %s", value, want);
	if (valid || !strstr(err.msg, want))
		diag("message: %s", err.msg);
}

static void test_keys(void)
{
	char *name63 = repeat('a', 63, ""), *name64 = repeat('a', 64, "");
	char *prefix253 = repeat('p', 253, "/app"), *prefix254 = repeat('p', 254, "/app");

	key_ok("app");
	key_ok("a");
	key_ok("A1");
	key_ok("app.kubernetes.io/name");
	key_ok("example.com/a_b-c.D");
	key_ok("1-2.x/Z");
	key_ok(name63);
	key_ok(prefix253);

	key_bad("", "label key \"\": name must not be empty");
	key_bad(name64, "name must be at most 63 characters");
	key_bad("-app", "label key \"-app\": name must begin and end with a letter or digit");
	key_bad("app_", "name must begin and end with a letter or digit");
	key_bad("a b", "name may only contain letters, digits, '-', '_' and '.'");
	key_bad("ns:app", "name may only contain letters");
	key_bad("a/b/c", "must not contain more than one '/'");
	key_bad("/app", "prefix must not be empty before '/'");
	key_bad("Example.com/app", "prefix may only contain lowercase letters, digits, '-' and '.'");
	key_bad("example_x.com/app", "prefix may only contain lowercase");
	key_bad("example..com/app", "prefix must not have an empty part between dots");
	key_bad(".example.com/app", "prefix must not have an empty part");
	key_bad("-x.com/app", "prefix must begin and end every part with a lowercase letter or digit");
	key_bad("x.com-/app", "prefix must begin and end every part");
	key_bad(prefix254, "prefix must be at most 253 characters");
	key_bad("example.com/", "name must not be empty");
	key_bad("example.com/-a", "name must begin and end");
	free(name63);
	free(name64);
	free(prefix253);
	free(prefix254);
}

static void test_values(void)
{
	char *v63 = repeat('v', 63, ""), *v64 = repeat('v', 64, "");
	struct dp_err err = { 0 };

	ok(label_value_valid("", &err), "the empty value is valid");
	ok(label_value_valid("web", &err), "a plain value is valid");
	ok(label_value_valid("Web_1.x-Y", &err), "letters of both cases, digits, '_', '.', '-'");
	ok(label_value_valid(v63, &err), "a value of 63 characters is valid");
	is_int(err.code, 0, "no error recorded for valid values");
	value_bad(v64, "must be at most 63 characters");
	value_bad("-x", "label value \"-x\" must begin and end with a letter or digit");
	value_bad("x.", "must begin and end");
	value_bad("x y", "may only contain letters");
	value_bad("a/b", "may only contain letters");
	free(v63);
	free(v64);
}

static void test_dns_names(void)
{
	char *label63 = repeat('n', 63, ""), *label64 = repeat('n', 64, "");
	char *sub253 = repeat('s', 253, ""), *sub254 = repeat('s', 254, "");
	struct dp_err err = { 0 };

	ok(dns_label_valid("default", &err), "DNS label: default");
	ok(dns_label_valid("kube-system", &err), "DNS label: kube-system");
	ok(dns_label_valid("0a", &err), "DNS label may start with a digit");
	ok(dns_label_valid(label63, &err), "DNS label of 63 characters");
	ok(!dns_label_valid(label64, &err) && strstr(err.msg, "at most 63"),
	   "DNS label of 64 characters: %s", err.msg);
	err = (struct dp_err){ 0 };
	ok(!dns_label_valid("a.b", &err) && strstr(err.msg, "lowercase letters, digits and '-'"),
	   "DNS label without dots: %s", err.msg);
	err = (struct dp_err){ 0 };
	ok(!dns_label_valid("Prod", &err) && strstr(err.msg, "DNS label \"Prod\""),
	   "DNS label is lowercase: %s", err.msg);
	err = (struct dp_err){ 0 };
	ok(!dns_label_valid("", &err) && strstr(err.msg, "must not be empty"),
	   "DNS label not empty: %s", err.msg);
	err = (struct dp_err){ 0 };
	ok(!dns_label_valid("a-", &err), "DNS label does not end with '-'");

	err = (struct dp_err){ 0 };
	ok(dns_subdomain_valid("allow-web.v2", &err), "DNS subdomain with a dot");
	ok(dns_subdomain_valid(sub253, &err), "DNS subdomain of 253 characters");
	is_int(err.code, 0, "no error recorded for valid names");
	ok(!dns_subdomain_valid(sub254, &err) && strstr(err.msg, "at most 253"),
	   "DNS subdomain of 254 characters: %s", err.msg);
	err = (struct dp_err){ 0 };
	ok(!dns_subdomain_valid("a.-b", &err) && strstr(err.msg, "every part"),
	   "DNS subdomain parts are alphanumeric at both ends: %s", err.msg);
	err = (struct dp_err){ 0 };
	ok(!dns_subdomain_valid("a_b", &err), "DNS subdomain has no '_'");
	free(label63);
	free(label64);
	free(sub253);
	free(sub254);
}

static void from_json_bad(const char *text, const char *want)
{
	struct dp_err err = { 0 };
	struct labels l = { (struct label *)1, 1 };
	json_t *j = json_loads(text, 0, NULL);
	int rc = labels_from_json(j, &l, &err);

	ok(rc == -EINVAL && strstr(err.msg, want) && l.n == 0 && !l.v,
	   "labels %s rejected: %s", text, want);
	if (rc != -EINVAL || !strstr(err.msg, want))
		diag("rc %d, message: %s", rc, err.msg);
	json_decref(j);
}

static void test_from_json(void)
{
	struct dp_err err = { 0 };
	struct labels l = L("{\"tier\": \"\", \"app\": \"web\", \"x.io/b\": \"2\"}");
	json_t *j, *want, *null = json_null();

	is_int(l.n, 3, "three labels");
	is_labels(&l, "app=web,tier=,x.io/b=2", "sorted by key, empty value kept");
	j = labels_to_json(&l);
	want = json_loads("{\"app\":\"web\",\"tier\":\"\",\"x.io/b\":\"2\"}", 0, NULL);
	ok(j && want && json_equal(j, want), "labels_to_json gives the object back");
	json_decref(j);
	json_decref(want);
	labels_free(&l);
	is_int(l.n, 0, "freed set is empty");

	is_int(labels_from_json(NULL, &l, &err), 0, "NULL object: no labels");
	is_int(l.n, 0, "NULL object: empty set");
	is_int(labels_from_json(null, &l, &err), 0, "JSON null: no labels");
	is_int(l.n, 0, "JSON null: empty set");
	j = json_object();
	is_int(labels_from_json(j, &l, &err), 0, "{}: no labels");
	json_decref(j);
	j = labels_to_json(&l);
	ok(j && json_is_object(j) && json_object_size(j) == 0, "empty set gives {}");
	json_decref(j);
	is_int(err.code, 0, "no error for empty sets");

	from_json_bad("[]", "labels must be a JSON object");
	from_json_bad("{\"app\": 1}", "label \"app\": value must be a string");
	from_json_bad("{\"app\": null}", "label \"app\": value must be a string");
	from_json_bad("{\"app\": \"-web\"}",
		      "label \"app\": value \"-web\" must begin and end with a letter or digit");
	from_json_bad("{\"ok\": \"1\", \"Bad/app\": \"x\"}", "label key \"Bad/app\": prefix");
}

static void test_set_ops(void)
{
	struct labels l = { 0 }, c;

	is_int(labels_set(&l, "b", "2"), 0, "set b");
	is_int(labels_set(&l, "a", "1"), 0, "set a");
	is_int(labels_set(&l, "c", "3"), 0, "set c");
	is_int(labels_set(&l, "ns:x", "y"), 0, "set takes unvalidated keys");
	is_labels(&l, "a=1,b=2,c=3,ns:x=y", "kept sorted");
	is_int(labels_set(&l, "b", "two"), 0, "replace b");
	is_int(l.n, 4, "replacing does not add");
	is_str(labels_get(&l, "b"), "two", "get the new value");
	ok(labels_get(&l, "z") == NULL, "get an absent key: NULL");
	is_int(labels_del(&l, "a"), 0, "del a");
	is_int(labels_del(&l, "a"), -ENOENT, "del an absent key: -ENOENT");
	is_int(labels_del(&l, "ns:x"), 0, "del the last");
	is_labels(&l, "b=two,c=3", "after deletes");

	is_int(labels_copy(&c, &l), 0, "copy");
	ok(labels_equal(&c, &l) && c.v != l.v && c.v[0].key != l.v[0].key,
	   "the copy is equal and owns its strings");
	labels_set(&c, "c", "4");
	is_str(labels_get(&l, "c"), "3", "changing the copy leaves the original");
	is_int(labels_cmp(&l, &c), -1, "c=3 sorts before c=4");
	is_int(labels_cmp(&c, &l), 1, "and the other way");
	labels_del(&c, "c");
	is_int(labels_cmp(&c, &l), -1, "a prefix of a set sorts first");
	labels_free(&c);
	is_int(labels_copy(&c, &c), 0, "copy of the empty set");
	is_int(c.n, 0, "is empty");
	labels_free(&l);
	ok(labels_equal(&l, &c), "two empty sets are equal");
}

static void test_hash(void)
{
	struct labels empty = { 0 }, one = L("{\"a\": \"1\"}");
	struct labels id = L("{\"tier\": \"\", \"app\": \"web\"}");
	struct labels other = L("{\"app\": \"web\", \"tier\": \"x\"}");
	char *s;

	labels_set(&id, "ns:kubernetes.io/metadata.name", "prod");

	/* Expected values from an independent FNV-1a 64 over the canonical
	 * text, computed with python3 when this test was written. */
	is_int(labels_hash(&empty), (long long)0xcbf29ce484222325ULL,
	       "empty set hashes to the FNV-1a offset basis");
	is_int(labels_hash(&one), (long long)0xed9ed282c45f76f4ULL, "hash of a=1\\n");
	is_int(labels_hash(&id), (long long)0x6e2ccf57b8047086ULL,
	       "hash of app=web\\nns:kubernetes.io/metadata.name=prod\\ntier=\\n");
	ok(labels_hash(&other) != labels_hash(&id), "different sets, different hashes");
	s = labels_str(&empty);
	is_str(s, "", "empty set prints as the empty string");
	free(s);
	labels_free(&one);
	labels_free(&id);
	labels_free(&other);
}

static void filter_bad(const char *csv, const char *want)
{
	struct dp_err err = { 0 };
	struct label_filter f;
	int rc = label_filter_parse(csv, &f, &err);

	ok(rc == -EINVAL && strstr(err.msg, want) && f.n == 0 && !f.keys,
	   "filter \"%s\" rejected: %s", csv, want);
	if (rc != -EINVAL || !strstr(err.msg, want))
		diag("rc %d, message: %s", rc, err.msg);
}

static void test_filter(void)
{
	struct dp_err err = { 0 };
	struct label_filter f;

	is_int(label_filter_default(&f), 0, "default filter");
	is_int(f.n, 4, "four keys");
	is_str(f.keys[0], "pod-template-hash", "pod-template-hash");
	is_str(f.keys[1], "controller-revision-hash", "controller-revision-hash");
	is_str(f.keys[2], "pod-template-generation", "pod-template-generation");
	is_str(f.keys[3], "statefulset.kubernetes.io/pod-name", "statefulset pod-name");
	label_filter_free(&f);

	is_int(label_filter_parse("", &f, &err), 0, "empty string");
	is_int(f.n, 0, "gives an empty filter");
	is_int(label_filter_parse("  ", &f, &err), 0, "blanks only");
	is_int(f.n, 0, "give an empty filter");
	is_int(label_filter_parse("a, x.io/b ,c", &f, &err), 0, "three keys with blanks");
	ok(f.n == 3 && !strcmp(f.keys[0], "a") && !strcmp(f.keys[1], "x.io/b") &&
	   !strcmp(f.keys[2], "c"), "blanks trimmed, order kept");
	label_filter_free(&f);
	is_int(err.code, 0, "no error for valid filters");
	filter_bad("a,,b", "label filter \"a,,b\": empty key");
	filter_bad("a,", "empty key");
	filter_bad("a,bad key", "label key \"bad key\": name may only contain");
}

static void test_identity(void)
{
	struct labels pod = L("{\"app\": \"web\", \"pod-template-hash\": \"5d8f\", \"tier\": \"\"}");
	struct labels ns = L("{\"kubernetes.io/metadata.name\": \"prod\"}");
	struct labels ns2 = L("{\"team\": \"a\", \"app\": \"ns-app\"}");
	struct labels id, p, n, empty = { 0 };
	struct label_filter f;

	label_filter_default(&f);
	is_int(labels_identity(&pod, &ns, &f, &id), 0, "identity of a pod");
	is_labels(&id, "app=web,ns:kubernetes.io/metadata.name=prod,tier=",
		  "pod labels minus pod-template-hash, namespace labels prefixed");
	is_int(labels_hash(&id), (long long)0x6e2ccf57b8047086ULL,
	       "its hash is the one computed independently");
	is_int(labels_split(&id, &p, &n), 0, "split");
	is_labels(&p, "app=web,tier=", "pod half");
	is_labels(&n, "kubernetes.io/metadata.name=prod", "namespace half, prefix stripped");
	labels_free(&p);
	labels_free(&n);
	labels_free(&id);

	is_int(labels_identity(&pod, &ns2, NULL, &id), 0, "no filter");
	is_labels(&id, "app=web,ns:app=ns-app,ns:team=a,pod-template-hash=5d8f,tier=",
		  "a pod and a namespace label of one key do not collide");
	is_int(labels_split(&id, NULL, &n), 0, "split, namespace half only");
	is_labels(&n, "app=ns-app,team=a", "namespace half");
	labels_free(&n);
	is_int(labels_split(&id, &p, NULL), 0, "split, pod half only");
	is_labels(&p, "app=web,pod-template-hash=5d8f,tier=", "pod half");
	labels_free(&p);
	labels_free(&id);

	is_int(labels_identity(&empty, &empty, &f, &id), 0, "no labels at all");
	is_int(id.n, 0, "empty identity set");
	labels_set(&p, "ns:evil", "x");
	is_int(labels_identity(&p, &empty, &f, &id), -EINVAL,
	       "a pod key with the namespace prefix is refused");
	is_int(id.n, 0, "and leaves no set");
	labels_free(&p);
	label_filter_free(&f);
	labels_free(&pod);
	labels_free(&ns);
	labels_free(&ns2);
}

int main(void)
{
	test_keys();
	test_values();
	test_dns_names();
	test_from_json();
	test_set_ops();
	test_hash();
	test_filter();
	test_identity();
	return done_testing();
}
