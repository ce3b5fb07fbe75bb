/* Unit tests of LabelSelector parsing (every rejection with its message),
 * matching for each operator against present, absent and empty labels,
 * and the printed form. */
#include <errno.h>
#include <string.h>

#include "policyd/selector.h"
#include "tests/tap.h"

static json_t *J(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (!j) {
		printf("Bail out! bad JSON in test: %s: %s\n", text, jerr.text);
		exit(255);
	}
	return j;
}

static struct selector S(const char *text)
{
	struct dp_err err = { 0 };
	struct selector s;
	json_t *j = J(text);

	if (selector_parse(j, &s, &err) < 0) {
		printf("Bail out! bad selector in test: %s: %s\n", text, err.msg);
		exit(255);
	}
	json_decref(j);
	return s;
}

static struct labels L(const char *text)
{
	struct dp_err err = { 0 };
	struct labels l;
	json_t *j = J(text);

	if (labels_from_json(j, &l, &err) < 0) {
		printf("Bail out! bad labels in test: %s: %s\n", text, err.msg);
		exit(255);
	}
	json_decref(j);
	return l;
}

static void parses_as(const char *text, const char *want)
{
	struct selector s = S(text);
	char *str = selector_str(&s);

	is_str(str, want, "%s prints as \"%s\"", text, want);
	free(str);
	selector_free(&s);
}

static void parse_bad(const char *text, const char *want)
{
	struct dp_err err = { 0 };
	struct selector s = { (struct sel_req *)1, 1 };
	json_t *j = J(text);
	int rc = selector_parse(j, &s, &err);

	ok(rc == -EINVAL && err.code == -EINVAL && strstr(err.msg, want) &&
	   s.n == 0 && !s.reqs, "%s rejected: %s", text, want);
	if (rc != -EINVAL || !strstr(err.msg, want))
		diag("rc %d, message: %s", rc, err.msg);
	json_decref(j);
}

static void test_parse(void)
{
	struct selector s = S("{}");
	char *str = selector_str(&s);

	ok(selector_empty(&s), "{} is the empty selector");
	is_str(str, "", "and prints as the empty string");
	free(str);
	selector_free(&s);
	s = S("{\"matchLabels\": null, \"matchExpressions\": null}");
	ok(selector_empty(&s), "null matchLabels and matchExpressions: empty");
	selector_free(&s);
	s = S("{\"matchLabels\": {}, \"matchExpressions\": []}");
	ok(selector_empty(&s), "empty matchLabels and matchExpressions: empty");
	selector_free(&s);

	s = S("{\"matchExpressions\": [{\"key\": \"env\", \"operator\": \"In\","
	      " \"values\": [\"prod\", \"dev\", \"prod\"]}]}");
	ok(!selector_empty(&s), "an expression is not empty");
	ok(s.n == 1 && s.reqs[0].op == SEL_IN && !strcmp(s.reqs[0].key, "env") &&
	   s.reqs[0].nvalues == 2 && !strcmp(s.reqs[0].values[0], "dev") &&
	   !strcmp(s.reqs[0].values[1], "prod"), "values sorted, duplicates dropped");
	selector_free(&s);
	s = S("{\"matchLabels\": {\"app\": \"web\"}}");
	ok(s.n == 1 && s.reqs[0].op == SEL_IN && s.reqs[0].nvalues == 1 &&
	   !strcmp(s.reqs[0].values[0], "web"), "matchLabels entry: In with one value");
	selector_free(&s);

	parses_as("{\"matchLabels\": {\"tier\": \"db\", \"app\": \"web\"}}", "app=web,tier=db");
	parses_as("{\"matchLabels\": {\"app\": \"\"}}", "app=");
	parses_as("{\"matchLabels\": {\"tier\": \"db\"}, \"matchExpressions\": ["
		  "{\"key\": \"team\", \"operator\": \"Exists\"},"
		  "{\"key\": \"legacy\", \"operator\": \"DoesNotExist\", \"values\": []},"
		  "{\"key\": \"zone\", \"operator\": \"NotIn\", \"values\": [\"b\", \"a\"]},"
		  "{\"key\": \"env\", \"operator\": \"In\", \"values\": [\"staging\", \"prod\"]},"
		  "{\"key\": \"x.io/y\", \"operator\": \"Exists\", \"values\": null}]}",
		  "env in (prod,staging),!legacy,team,tier=db,x.io/y,zone notin (a,b)");
	parses_as("{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"NotIn\","
		  " \"values\": [\"x\"]}]}", "a notin (x)");
	parses_as("{\"matchLabels\": {\"a\": \"x\"}, \"matchExpressions\": ["
		  "{\"key\": \"a\", \"operator\": \"Exists\"}]}", "a=x,a");
}

static void test_parse_errors(void)
{
	parse_bad("null", "label selector must be a JSON object");
	parse_bad("[]", "label selector must be a JSON object");
	parse_bad("\"app=web\"", "label selector must be a JSON object");
	parse_bad("{\"matchLabel\": {}}", "label selector: unknown field \"matchLabel\"");
	parse_bad("{\"matchLabels\": []}", "label selector: matchLabels must be an object");
	parse_bad("{\"matchLabels\": {\"app\": 1}}",
		  "label selector: matchLabels \"app\": value must be a string");
	parse_bad("{\"matchLabels\": {\"app\": null}}", "value must be a string");
	parse_bad("{\"matchLabels\": {\"-app\": \"web\"}}",
		  "label selector: matchLabels: label key \"-app\": name must begin and end");
	parse_bad("{\"matchLabels\": {\"app\": \"web-\"}}",
		  "label selector: matchLabels: label value \"web-\" must begin and end");
	parse_bad("{\"matchExpressions\": {}}",
		  "label selector: matchExpressions must be an array");
	parse_bad("{\"matchExpressions\": [\"app\"]}",
		  "label selector: matchExpressions[0] must be an object");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"Exists\"},"
		  " {\"key\": \"b\", \"operator\": \"In\", \"value\": [\"x\"]}]}",
		  "label selector: matchExpressions[1]: unknown field \"value\"");
	parse_bad("{\"matchExpressions\": [{\"operator\": \"Exists\"}]}",
		  "matchExpressions[0]: key must be a string");
	parse_bad("{\"matchExpressions\": [{\"key\": 3, \"operator\": \"Exists\"}]}",
		  "matchExpressions[0]: key must be a string");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a b\", \"operator\": \"Exists\"}]}",
		  "matchExpressions[0]: label key \"a b\": name may only contain");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a\"}]}",
		  "matchExpressions[0]: operator must be a string");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"in\","
		  " \"values\": [\"x\"]}]}",
		  "matchExpressions[0]: operator \"in\" is not In, NotIn, Exists or DoesNotExist");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"Equals\","
		  " \"values\": [\"x\"]}]}", "operator \"Equals\" is not");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\"}]}",
		  "matchExpressions[0]: operator In needs values");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\","
		  " \"values\": null}]}", "operator In needs values");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"NotIn\","
		  " \"values\": []}]}", "operator NotIn needs values");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"Exists\","
		  " \"values\": [\"x\"]}]}", "matchExpressions[0]: operator Exists takes no values");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"DoesNotExist\","
		  " \"values\": [\"x\"]}]}", "operator DoesNotExist takes no values");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\","
		  " \"values\": \"x\"}]}", "matchExpressions[0]: values must be an array");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\","
		  " \"values\": [\"x\", 2]}]}", "matchExpressions[0]: values[1] must be a string");
	parse_bad("{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\","
		  " \"values\": [\"x y\"]}]}",
		  "matchExpressions[0]: label value \"x y\" may only contain");
}

/* One row of the semantics table: selector, labels, expected match. */
struct row {
	const char *sel;
	const char *labels;
	bool match;
};

#define IN_AB "{\"matchExpressions\": [{\"key\": \"k\", \"operator\": \"In\", \"values\": [\"a\", \"b\"]}]}"
#define NOTIN_AB "{\"matchExpressions\": [{\"key\": \"k\", \"operator\": \"NotIn\", \"values\": [\"a\", \"b\"]}]}"
#define EXISTS "{\"matchExpressions\": [{\"key\": \"k\", \"operator\": \"Exists\"}]}"
#define NOT_EXISTS "{\"matchExpressions\": [{\"key\": \"k\", \"operator\": \"DoesNotExist\"}]}"
#define IN_EMPTY "{\"matchExpressions\": [{\"key\": \"k\", \"operator\": \"In\", \"values\": [\"\"]}]}"
#define ML_K_A "{\"matchLabels\": {\"k\": \"a\"}}"
#define BOTH "{\"matchLabels\": {\"app\": \"web\"}, \"matchExpressions\": " \
	"[{\"key\": \"env\", \"operator\": \"NotIn\", \"values\": [\"dev\"]}]}"

static const struct row table[] = {
	{ IN_AB, "{}", false },
	{ IN_AB, "{\"k\": \"a\"}", true },
	{ IN_AB, "{\"k\": \"b\", \"z\": \"1\"}", true },
	{ IN_AB, "{\"k\": \"c\"}", false },
	{ IN_AB, "{\"k\": \"\"}", false },
	{ IN_AB, "{\"K\": \"a\"}", false },
	{ NOTIN_AB, "{}", true },
	{ NOTIN_AB, "{\"other\": \"a\"}", true },
	{ NOTIN_AB, "{\"k\": \"a\"}", false },
	{ NOTIN_AB, "{\"k\": \"b\"}", false },
	{ NOTIN_AB, "{\"k\": \"c\"}", true },
	{ NOTIN_AB, "{\"k\": \"\"}", true },
	{ EXISTS, "{}", false },
	{ EXISTS, "{\"k\": \"a\"}", true },
	{ EXISTS, "{\"k\": \"\"}", true },
	{ EXISTS, "{\"kk\": \"a\"}", false },
	{ NOT_EXISTS, "{}", true },
	{ NOT_EXISTS, "{\"k\": \"a\"}", false },
	{ NOT_EXISTS, "{\"k\": \"\"}", false },
	{ NOT_EXISTS, "{\"j\": \"a\"}", true },
	{ IN_EMPTY, "{\"k\": \"\"}", true },
	{ IN_EMPTY, "{}", false },
	{ IN_EMPTY, "{\"k\": \"a\"}", false },
	{ ML_K_A, "{\"k\": \"a\"}", true },
	{ ML_K_A, "{\"k\": \"A\"}", false },
	{ ML_K_A, "{}", false },
	{ "{}", "{}", true },
	{ "{}", "{\"k\": \"a\"}", true },
	{ BOTH, "{\"app\": \"web\"}", true },
	{ BOTH, "{\"app\": \"web\", \"env\": \"prod\"}", true },
	{ BOTH, "{\"app\": \"web\", \"env\": \"dev\"}", false },
	{ BOTH, "{\"env\": \"prod\"}", false },
};

static void test_match(void)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++) {
		struct selector s = S(table[i].sel);
		struct labels l = L(table[i].labels);
		char *str = selector_str(&s);

		is_int(selector_match(&s, &l), table[i].match, "\"%s\" %s %s", str,
		       table[i].match ? "matches" : "does not match", table[i].labels);
		free(str);
		selector_free(&s);
		labels_free(&l);
	}
}

int main(void)
{
	test_parse();
	test_parse_errors();
	test_match();
	return done_testing();
}
