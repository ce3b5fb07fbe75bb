/* Unit tests of the manifest reader: YAML and JSON streams to the API
 * server's JSON, the core-schema typing of scalars, every refusal with its
 * line, a directory of files, and the directory watch. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policyd/manifest.h"
#include "tests/tap.h"
#include "tests/test_util.h"

static char tmpdir[] = "/tmp/bulkhead-manifest-test.XXXXXX";
static int have_tmpdir;

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	if (have_tmpdir)
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A literal the test itself got wrong is a bail-out, not a failed check. */
static json_t *J(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

	if (!j) {
		printf("Bail out! bad JSON in test: %s: %s\n", text, jerr.text);
		exit(255);
	}
	return j;
}

/* Compares and, on a difference, shows both sides. */
static int is_json(const json_t *got, const char *want_text, const char *what)
{
	json_t *want = J(want_text);
	int pass = ok(got && json_equal(got, want), "%s", printable(what));

	if (!pass) {
		char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
		char *w = json_dumps(want, JSON_ENCODE_ANY | JSON_SORT_KEYS);

		diag("expected: %s", w);
		diag("     got: %s", g ? g : "(nothing)");
		free(g);
		free(w);
	}
	json_decref(want);
	return pass;
}

/* The objects text parses to, or NULL with the error shown. */
static json_t *parse(const char *text)
{
	struct dp_err err = { 0 };
	json_t *arr = json_array();
	int rc = manifest_parse(text, strlen(text), "t.yaml", arr, &err);

	if (rc != 0) {
		diag("manifest_parse: %d %s", rc, err.msg);
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static void parses_to(const char *text, const char *want, const char *what)
{
	json_t *got = parse(text);

	is_json(got, want, what);
	json_decref(got);
}

/* --- whole streams ------------------------------------------------------ */

static void test_stream(void)
{
	parses_to(
		"# a namespace, a pod and a policy, as kubectl would take them\n"
		"apiVersion: v1\n"
		"kind: Namespace\n"
		"metadata:\n"
		"  name: shop\n"
		"  labels: {team: web, tier: \"1\"}\n"
		"---\n"
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata:\n"
		"  name: web-0\n"
		"  namespace: shop\n"
		"  labels:\n"
		"    app: web\n"
		"spec:\n"
		"  containers:\n"
		"  - name: nginx\n"
		"    image: nginx:1.25\n"
		"    ports:\n"
		"    - containerPort: 80\n"
		"      protocol: TCP\n"
		"status:\n"
		"  podIP: 10.244.1.5\n"
		"  podIPs:\n"
		"  - ip: 10.244.1.5\n"
		"...\n"
		"---\n"
		"apiVersion: networking.k8s.io/v1\n"
		"kind: NetworkPolicy\n"
		"metadata:\n"
		"  name: allow-web\n"
		"  namespace: shop\n"
		"spec:\n"
		"  podSelector:\n"
		"    matchLabels: {app: web}\n"
		"  policyTypes: [Ingress]\n"
		"  ingress:\n"
		"  - from:\n"
		"    - ipBlock:\n"
		"        cidr: 10.0.0.0/8\n"
		"        except:\n"
		"        - 10.1.0.0/16\n"
		"    - namespaceSelector: {}\n"
		"      podSelector:\n"
		"        matchExpressions:\n"
		"        - {key: role, operator: In, values: [\"frontend\", 'admin']}\n"
		"    ports:\n"
		"    - protocol: TCP\n"
		"      port: 80\n"
		"    - port: \"8080\"\n"
		"      endPort: 8090\n"
		"    - port: http\n"
		"  egress: []\n"
		"  description: |\n"
		"    line one\n"
		"    line two\n"
		"  folded: >\n"
		"    one\n"
		"    two\n",
		"[{\"apiVersion\": \"v1\", \"kind\": \"Namespace\","
		"  \"metadata\": {\"name\": \"shop\","
		"                \"labels\": {\"team\": \"web\", \"tier\": \"1\"}}},"
		" {\"apiVersion\": \"v1\", \"kind\": \"Pod\","
		"  \"metadata\": {\"name\": \"web-0\", \"namespace\": \"shop\","
		"                \"labels\": {\"app\": \"web\"}},"
		"  \"spec\": {\"containers\": [{\"name\": \"nginx\","
		"     \"image\": \"nginx:1.25\","
		"     \"ports\": [{\"containerPort\": 80, \"protocol\": \"TCP\"}]}]},"
		"  \"status\": {\"podIP\": \"10.244.1.5\","
		"              \"podIPs\": [{\"ip\": \"10.244.1.5\"}]}},"
		" {\"apiVersion\": \"networking.k8s.io/v1\", \"kind\": \"NetworkPolicy\","
		"  \"metadata\": {\"name\": \"allow-web\", \"namespace\": \"shop\"},"
		"  \"spec\": {\"podSelector\": {\"matchLabels\": {\"app\": \"web\"}},"
		"    \"policyTypes\": [\"Ingress\"],"
		"    \"ingress\": [{\"from\": ["
		"        {\"ipBlock\": {\"cidr\": \"10.0.0.0/8\","
		"                      \"except\": [\"10.1.0.0/16\"]}},"
		"        {\"namespaceSelector\": {},"
		"         \"podSelector\": {\"matchExpressions\": [{\"key\": \"role\","
		"            \"operator\": \"In\", \"values\": [\"frontend\", \"admin\"]}]}}],"
		"      \"ports\": [{\"protocol\": \"TCP\", \"port\": 80},"
		"                {\"port\": \"8080\", \"endPort\": 8090},"
		"                {\"port\": \"http\"}]}],"
		"    \"egress\": [],"
		"    \"description\": \"line one\\nline two\\n\","
		"    \"folded\": \"one two\\n\"}}]",
		"YAML stream: Namespace, Pod, NetworkPolicy");

	parses_to("{\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"a\","
		  " \"labels\": {}},\n  \"spec\": {\"n\": [1, 2.5, true, null,"
		  " \"x\\u00e9\\n\"]}\n}\n",
		  "[{\"kind\": \"Pod\", \"metadata\": {\"name\": \"a\", \"labels\": {}},"
		  " \"spec\": {\"n\": [1, 2.5, true, null, \"x\\u00e9\\n\"]}}]",
		  "JSON input, pretty");
	parses_to("{\"kind\":\"Pod\",\"spec\":{\"port\":80,\"name\":\"80\"}}",
		  "[{\"kind\": \"Pod\", \"spec\": {\"port\": 80, \"name\": \"80\"}}]",
		  "JSON input, compact");

	parses_to("", "[]", "empty input: no objects");
	parses_to("# only a comment\n", "[]", "comment only: no objects");
	parses_to("---\n---\n~\n---\nkind: A\n...\n---\nnull\n---\n",
		  "[{\"kind\": \"A\"}]", "empty and null documents skipped");
	parses_to("\xef\xbb\xbfkind: A\n", "[{\"kind\": \"A\"}]",
		  "UTF-8 byte order mark");
	parses_to("kind: A\r\nb: c\r\n", "[{\"kind\": \"A\", \"b\": \"c\"}]",
		  "CRLF line ends");
	parses_to("k: \"a\\0b\"\n", "[{\"k\": \"a\\u0000b\"}]",
		  "NUL inside a quoted string kept");
}

static void test_lists(void)
{
	parses_to("apiVersion: v1\nkind: List\nitems:\n"
		  "- kind: Pod\n  metadata: {name: a}\n"
		  "- kind: Pod\n  metadata: {name: b}\n"
		  "---\nkind: C\n",
		  "[{\"kind\": \"Pod\", \"metadata\": {\"name\": \"a\"}},"
		  " {\"kind\": \"Pod\", \"metadata\": {\"name\": \"b\"}},"
		  " {\"kind\": \"C\"}]",
		  "kind List: its items, in order");
	parses_to("{\"kind\": \"NetworkPolicyList\", \"metadata\": {},"
		  " \"items\": [{\"kind\": \"NetworkPolicy\"}]}",
		  "[{\"kind\": \"NetworkPolicy\"}]", "kind NetworkPolicyList");
	parses_to("kind: PodList\nitems: []\n", "[]", "empty list: nothing");
	parses_to("kind: Playlist\nitems: [1]\n",
		  "[{\"kind\": \"Playlist\", \"items\": [1]}]",
		  "kind ending in lower-case 'list' is an object");
	parses_to("kind: List\nitems: {}\n",
		  "[{\"kind\": \"List\", \"items\": {}}]",
		  "List whose items is not an array is an object");
}

/* --- scalars ------------------------------------------------------------ */

static const struct scalar_case {
	const char *yaml;	/* the value after "v: " */
	const char *json;	/* what it must become */
} scalar_cases[] = {
	/* null */
	{ "", "null" }, { "~", "null" }, { "null", "null" },
	{ "Null", "null" }, { "NULL", "null" }, { "nULL", "\"nULL\"" },
	/* bool: only the core schema's six; YAML 1.1 words stay strings */
	{ "true", "true" }, { "True", "true" }, { "TRUE", "true" },
	{ "false", "false" }, { "False", "false" }, { "FALSE", "false" },
	{ "tRUE", "\"tRUE\"" }, { "yes", "\"yes\"" }, { "no", "\"no\"" },
	{ "on", "\"on\"" }, { "off", "\"off\"" }, { "y", "\"y\"" },
	/* integers */
	{ "0", "0" }, { "80", "80" }, { "-12", "-12" }, { "+12", "12" },
	{ "007", "7" }, { "0o17", "15" }, { "0x1F", "31" }, { "0xff", "255" },
	{ "9223372036854775807", "9223372036854775807" },
	{ "-9223372036854775808", "-9223372036854775808" },
	{ "0o", "\"0o\"" }, { "0x", "\"0x\"" }, { "0o8", "\"0o8\"" },
	{ "0xg", "\"0xg\"" }, { "-0x1", "\"-0x1\"" }, { "1_000", "\"1_000\"" },
	{ "+", "\"+\"" }, { "-1-", "\"-1-\"" },
	/* floats */
	{ "1.5", "1.5" }, { "-0.25", "-0.25" }, { ".5", "0.5" },
	{ "5.", "5.0" }, { "1e3", "1000.0" }, { "1.5E-2", "0.015" },
	{ "+2.5e+1", "25.0" }, { "1e", "\"1e\"" }, { ".", "\".\"" },
	{ "1.2.3", "\"1.2.3\"" }, { "e5", "\"e5\"" },
	/* strings that look like something else */
	{ "10.0.0.0/8", "\"10.0.0.0/8\"" }, { "10.0.0.1", "\"10.0.0.1\"" },
	{ "1:30", "\"1:30\"" }, { "nginx:1.25", "\"nginx:1.25\"" },
	{ "hello world", "\"hello world\"" }, { "ünïcode", "\"ünïcode\"" },
	/* quoted and block scalars are strings whatever they hold */
	{ "\"80\"", "\"80\"" }, { "'80'", "\"80\"" }, { "\"true\"", "\"true\"" },
	{ "'null'", "\"null\"" }, { "\"\"", "\"\"" }, { "''", "\"\"" },
	{ "\"1.5\"", "\"1.5\"" }, { "\"~\"", "\"~\"" },
	{ "'it''s'", "\"it's\"" }, { "\"tab\\there\"", "\"tab\\there\"" },
	{ "|\n  80\n", "\"80\\n\"" }, { "|-\n  true\n", "\"true\"" },
	{ ">-\n  null\n", "\"null\"" },
	/* tags */
	{ "!!str 80", "\"80\"" }, { "!!str true", "\"true\"" },
	{ "!!str", "\"\"" }, { "!!int \"80\"", "80" }, { "!!int 0x10", "16" },
	{ "!!bool 'true'", "true" }, { "!!null ''", "null" },
	{ "!!null ~", "null" }, { "!!float 2", "2.0" },
	{ "!!float '1.5'", "1.5" }, { "! 80", "\"80\"" },
	{ "!!seq [1]", "[1]" }, { "!!map {a: 1}", "{\"a\": 1}" },
	/* flow collections and their scalars */
	{ "[1, \"1\", a, ~, true]", "[1, \"1\", \"a\", null, true]" },
	{ "{80: x, \"y\": 0x10}", "{\"80\": \"x\", \"y\": 16}" },
	{ "{}", "{}" }, { "[]", "[]" },
};

static void test_scalars(void)
{
	for (size_t i = 0; i < sizeof(scalar_cases) / sizeof(scalar_cases[0]); i++) {
		const struct scalar_case *c = &scalar_cases[i];
		char *text = NULL;
		json_t *got;

		if (asprintf(&text, "v: %s\n", c->yaml) < 0) {
			printf("Bail out! out of memory\n");
			exit(255);
		}
		got = parse(text);
		is_json(json_object_get(json_array_get(got, 0), "v"), c->json,
			text);
		json_decref(got);
		free(text);
	}

	/* Keys are names: plain, quoted or null-looking, they stay text. */
	parses_to("80: a\n\"443\": b\ntrue: c\n~: d\n1.5: e\n",
		  "[{\"80\": \"a\", \"443\": \"b\", \"true\": \"c\", \"~\": \"d\","
		  " \"1.5\": \"e\"}]", "mapping keys are strings");
}

/* --- refusals ----------------------------------------------------------- */

static const struct error_case {
	const char *yaml;
	int line;
	const char *why;	/* a substring of the message after "t.yaml:LINE: " */
} error_cases[] = {
	{ "kind: A\n---\n- 1\n- 2\n", 3, "a document must be a mapping" },
	{ "kind: A\n---\nhello\n", 3, "a document must be a mapping" },
	{ "42\n", 1, "a document must be a mapping" },
	{ "kind: List\nitems:\n- kind: Pod\n- 3\n", 1,
	  "item 1 of the List is not a mapping" },
	{ "a: &x 1\nb: 2\n", 1, "anchors and aliases are not supported" },
	{ "a: 1\nb: *x\n", 2, "anchors and aliases are not supported" },
	{ "a: &x [1]\n", 1, "anchors and aliases are not supported" },
	{ "a:\n  b: &y {c: 1}\n", 2, "anchors and aliases are not supported" },
	{ "&top\na: 1\n", 1, "anchors and aliases are not supported" },
	{ "base: 1\n<<: {a: 1}\n", 2, "merge keys (<<) are not supported" },
	{ "a: 1\nb: 2\na: 3\n", 3, "duplicate key \"a\"" },
	{ "x:\n  p: 1\n  'p': 2\n", 3, "duplicate key \"p\"" },
	{ "? [a, b]\n: 1\n", 1, "mapping keys must be scalars" },
	{ "? {a: 1}\n: 1\n", 1, "mapping keys must be scalars" },
	{ "a:\n  b: 9223372036854775808\n", 2,
	  "integer 9223372036854775808 out of range" },
	{ "a: -9223372036854775809\n", 1, "out of range" },
	{ "a: 0x10000000000000000\n", 1, "out of range" },
	{ "a: 1e999\n", 1, "number 1e999 out of range" },
	{ "a: .inf\n", 1, ".inf has no JSON form" },
	{ "a: -.Inf\n", 1, "-.Inf has no JSON form" },
	{ "a: .NaN\n", 1, ".NaN has no JSON form" },
	{ "a: !!int 1.5\n", 1, "not an integer" },
	{ "a: !!int abc\n", 1, "not an integer" },
	{ "a: !!bool yes\n", 1, "not a boolean" },
	{ "a: !!null 0\n", 1, "not a null" },
	{ "a: !!float x\n", 1, "not a number" },
	{ "a:\n\n  b: !!binary aGk=\n", 3,
	  "unsupported tag tag:yaml.org,2002:binary" },
	{ "a: !custom x\n", 1, "unsupported tag !custom" },
	{ "a: !!set {b}\n", 1, "unsupported tag tag:yaml.org,2002:set" },
	{ "a: !!str [1]\n", 1, "unsupported tag tag:yaml.org,2002:str" },
	{ "!!foo a: 1\n", 1, "unsupported tag" },
	{ "a: \"x\\0\"\nb: !!int \"1\\0\"\n", 2, "NUL byte in a scalar" },
	/* libyaml's own words */
	{ "a: 1\nb: [1, 2\n", 3, "did not find expected ',' or ']'" },
	{ "a: 1\n  b: 2\n", 2, "mapping values are not allowed in this context" },
	{ "a: 'open\n", 2, "found unexpected end of stream" },
	{ "a:\n\tb: 1\n", 2, "found character that cannot start any token" },
	{ "a: 1\nb: \"\\q\"\n", 2, "found unknown escape character" },
	{ "a: 1\nb: \xff\n", 2, "invalid leading UTF-8 octet" },
};

/* A nesting of depth levels: "a: [[[...]]]". */
static char *nested(int depth)
{
	char *s = malloc(2 * (size_t)depth + 8);
	int n = 0;

	if (!s)
		exit(255);
	n += sprintf(s, "a: ");
	for (int i = 0; i < depth; i++)
		s[n++] = '[';
	for (int i = 0; i < depth; i++)
		s[n++] = ']';
	s[n++] = '\n';
	s[n] = '\0';
	return s;
}

static void parse_fails(const char *text, int line, const char *why)
{
	struct dp_err err = { 0 };
	json_t *arr = json_array();
	char prefix[32];
	int rc = manifest_parse(text, strlen(text), "t.yaml", arr, &err);

	snprintf(prefix, sizeof(prefix), "t.yaml:%d: ", line);
	is_int(rc, -EINVAL, "refused: %s", printable(text));
	is_int(err.code, -EINVAL, "  code -EINVAL");
	if (!ok(strncmp(err.msg, prefix, strlen(prefix)) == 0 &&
		strstr(err.msg + strlen(prefix), why),
		"  message '%s...%s'", prefix, why))
		diag("message: %s", err.msg);
	is_int(json_array_size(arr), 0, "  nothing appended");
	json_decref(arr);
}

static void test_errors(void)
{
	char *s;

	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++)
		parse_fails(error_cases[i].yaml, error_cases[i].line,
			    error_cases[i].why);

	/* The root mapping is level 0: 63 nested sequences fit, 64 do not. */
	s = nested(63);
	{
		json_t *got = parse(s);

		ok(got && json_array_size(got) == 1, "nesting 64 deep accepted");
		json_decref(got);
	}
	free(s);
	s = nested(64);
	parse_fails(s, 1, "nested deeper than 64 levels");
	free(s);
	s = nested(100000);
	parse_fails(s, 1, "nested deeper than 64 levels");
	free(s);

	/* A good document before a bad one is not handed out either. */
	parse_fails("kind: A\n---\nkind: B\nkind: C\n", 4, "duplicate key \"kind\"");
}

/* --- a directory -------------------------------------------------------- */

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("Bail out! write %s: %s\n", path, strerror(errno));
		exit(255);
	}
}

static void sub_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void test_load_dir(void)
{
	struct dp_err err = { 0 };
	json_t *got = NULL;
	char path[256], target[256];
	int rc;

	rc = manifest_load_dir(tmpdir, &got, &err);
	is_int(rc, 0, "empty directory loads");
	is_json(got, "[]", "  to an empty array");
	json_decref(got);
	got = NULL;

	write_file("b.yaml", "kind: B1\n---\nkind: B2\n");
	write_file("a.json", "{\"kind\": \"A\"}");
	write_file("c.yml", "kind: List\nitems: [{kind: C1}, {kind: C2}]\n");
	write_file("B.yaml", "kind: Upper\n");	/* sorts before lower case */
	write_file("a.yaml.bak", "not: [loaded\n");
	write_file("notes.txt", "not: [loaded\n");
	write_file(".hidden.yaml", "not: [loaded\n");
	write_file("empty.yaml", "");
	sub_path(path, sizeof(path), "sub.yaml");
	mkdir(path, 0755);	/* a directory is not a file to read */
	/* A ConfigMap volume: name -> ..data/name, ..data -> a timestamped dir. */
	sub_path(path, sizeof(path), "..2024_01_01");
	mkdir(path, 0755);
	write_file("..2024_01_01/d.yaml", "kind: D\n");
	sub_path(path, sizeof(path), "..data");
	if (symlink("..2024_01_01", path) < 0)
		diag("symlink: %s", strerror(errno));
	sub_path(path, sizeof(path), "d.yaml");
	if (symlink("..data/d.yaml", path) < 0)
		diag("symlink: %s", strerror(errno));

	rc = manifest_load_dir(tmpdir, &got, &err);
	if (!is_int(rc, 0, "directory of manifests loads"))
		diag("error: %s", err.msg);
	is_json(got, "[{\"kind\": \"Upper\"}, {\"kind\": \"A\"}, {\"kind\": \"B1\"},"
		" {\"kind\": \"B2\"}, {\"kind\": \"C1\"}, {\"kind\": \"C2\"},"
		" {\"kind\": \"D\"}]",
		"  files in name order, documents in file order; others skipped");
	json_decref(got);
	got = NULL;

	write_file("c2.yaml", "kind: X\n---\nkind: Y\n  bad: indent\n");
	rc = manifest_load_dir(tmpdir, &got, &err);
	is_int(rc, -EINVAL, "one bad file fails the load");
	snprintf(target, sizeof(target), "%s/c2.yaml:4: ", tmpdir);
	if (!ok(strncmp(err.msg, target, strlen(target)) == 0,
		"  error names the file and line: %s", target))
		diag("message: %s", err.msg);
	ok(got == NULL, "  no array handed out");
	sub_path(path, sizeof(path), "c2.yaml");
	unlink(path);

	/* Over 16 MiB: refused before parsing. */
	{
		FILE *f;

		sub_path(path, sizeof(path), "huge.yaml");
		f = fopen(path, "w");
		if (!f || ftruncate(fileno(f), (16 << 20) + 1) < 0) {
			printf("Bail out! %s: %s\n", path, strerror(errno));
			exit(255);
		}
		fclose(f);
		memset(&err, 0, sizeof(err));
		rc = manifest_load_dir(tmpdir, &got, &err);
		is_int(rc, -EFBIG, "file over 16 MiB refused");
		ok(strstr(err.msg, "huge.yaml: larger than 16 MiB"),
		   "  message: %s", err.msg);
		unlink(path);
	}

	memset(&err, 0, sizeof(err));
	sub_path(path, sizeof(path), "missing");
	rc = manifest_load_dir(path, &got, &err);
	is_int(rc, -ENOENT, "missing directory: -ENOENT");
	ok(strstr(err.msg, "missing: No such file or directory"),
	   "  message: %s", err.msg);
}

/* --- the watch ---------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* 1 when fd turns readable before the deadline. */
static int readable_within(int fd, int ms)
{
	long long deadline = now_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		long long left = deadline - now_ms();
		int n;

		if (left < 0)
			left = 0;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 1;
		if (n == 0 || errno != EINTR)
			return 0;
	}
}

static void test_watch(void)
{
	struct dp_err err = { 0 };
	int fd = manifest_watch_open(tmpdir, &err);
	char path[256];

	if (!ok(fd >= 0, "watch opens")) {
		diag("error: %s", err.msg);
		return;
	}
	ok(!readable_within(fd, 0), "  quiet before any change");
	write_file("new.yaml", "kind: New\n");
	ok(readable_within(fd, 5000), "  readable after a file is written");
	manifest_watch_drain(fd);
	ok(!readable_within(fd, 0), "  drained");
	sub_path(path, sizeof(path), "new.yaml");
	unlink(path);
	ok(readable_within(fd, 5000), "  readable after a file is removed");
	manifest_watch_drain(fd);
	ok(!readable_within(fd, 0), "  drained again");
	close(fd);

	memset(&err, 0, sizeof(err));
	sub_path(path, sizeof(path), "missing");
	fd = manifest_watch_open(path, &err);
	is_int(fd, -ENOENT, "watch of a missing directory: -ENOENT");
	ok(strstr(err.msg, "missing: No such file or directory"),
	   "  message: %s", err.msg);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 255;
	}
	have_tmpdir = 1;
	atexit(cleanup);

	test_stream();
	test_lists();
	test_scalars();
	test_errors();
	test_load_dir();
	test_watch();
	return done_testing();
}
