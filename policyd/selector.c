/* Kubernetes LabelSelector: parsed and validated from JSON into sorted
 * requirements, matched against label sets with apimachinery's semantics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policyd/selector.h"

/* Spelled as in the API: the operator names are case-sensitive. */
static const char *const op_names[] = {
	[SEL_IN] = "In",
	[SEL_NOT_IN] = "NotIn",
	[SEL_EXISTS] = "Exists",
	[SEL_DOES_NOT_EXIST] = "DoesNotExist",
};

#define NOPS (sizeof(op_names) / sizeof(*op_names))

static void req_free(struct sel_req *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
}

void selector_free(struct selector *s)
{
	for (size_t i = 0; i < s->n; i++)
		req_free(&s->reqs[i]);
	free(s->reqs);
	s->reqs = NULL;
	s->n = 0;
}

bool selector_empty(const struct selector *s)
{
	return s->n == 0;
}

/* --- parsing --------------------------------------------------------------- */

/* A new requirement at the end of s, with key set; NULL on ENOMEM. */
static struct sel_req *req_add(struct selector *s, const char *key,
			       enum sel_op op)
{
	struct sel_req *reqs = realloc(s->reqs, (s->n + 1) * sizeof(*reqs));
	char *k = strdup(key);

	if (reqs)
		s->reqs = reqs;
	if (!reqs || !k) {
		free(k);
		return NULL;
	}
	reqs[s->n] = (struct sel_req){ .key = k, .op = op };
	return &reqs[s->n++];
}

static int value_add(struct sel_req *r, const char *value)
{
	char **values = realloc(r->values, (r->nvalues + 1) * sizeof(*values));

	if (!values)
		return -ENOMEM;
	r->values = values;
	values[r->nvalues] = strdup(value);
	if (!values[r->nvalues])
		return -ENOMEM;
	r->nvalues++;
	return 0;
}

/* Checks key and value with the label rules; the message says where. */
static int check_label(const char *where, const char *key, const char *value,
		       struct dp_err *err)
{
	struct dp_err why = { 0 };

	if ((key && !label_key_valid(key, &why)) ||
	    (value && !label_value_valid(value, &why)))
		return dp_errorf(err, -EINVAL, "label selector: %s: %s", where,
				 why.msg);
	return 0;
}

static int oom(struct dp_err *err)
{
	return dp_errorf(err, -ENOMEM, "label selector: out of memory");
}

static int parse_match_labels(const json_t *ml, struct selector *s,
			      struct dp_err *err)
{
	const char *key;
	json_t *val;
	int rc;

	if (!ml || json_is_null(ml))
		return 0;
	if (!json_is_object(ml))
		return dp_errorf(err, -EINVAL,
				 "label selector: matchLabels must be an object");
	json_object_foreach((json_t *)ml, key, val) {
		struct sel_req *r;

		if (!json_is_string(val))
			return dp_errorf(err, -EINVAL,
					 "label selector: matchLabels \"%.100s\": value must be a string",
					 key);
		rc = check_label("matchLabels", key, json_string_value(val), err);
		if (rc < 0)
			return rc;
		r = req_add(s, key, SEL_IN);
		if (!r || value_add(r, json_string_value(val)) < 0)
			return oom(err);
	}
	return 0;
}

static int parse_op(const json_t *j, const char *where, enum sel_op *op,
		    struct dp_err *err)
{
	const char *name = json_string_value(j);

	if (!name)
		return dp_errorf(err, -EINVAL, "label selector: %s: operator must be a string",
				 where);
	for (size_t i = 0; i < NOPS; i++) {
		if (strcmp(name, op_names[i]) == 0) {
			*op = (enum sel_op)i;
			return 0;
		}
	}
	return dp_errorf(err, -EINVAL,
			 "label selector: %s: operator \"%.40s\" is not In, NotIn, Exists or DoesNotExist",
			 where, name);
}

static int parse_values(const json_t *vals, const char *where,
			struct sel_req *r, struct dp_err *err)
{
	size_t i;
	json_t *v;
	int rc;

	if (!vals || json_is_null(vals))
		return 0;
	if (!json_is_array(vals))
		return dp_errorf(err, -EINVAL, "label selector: %s: values must be an array",
				 where);
	json_array_foreach(vals, i, v) {
		if (!json_is_string(v))
			return dp_errorf(err, -EINVAL,
					 "label selector: %s: values[%zu] must be a string",
					 where, i);
		rc = check_label(where, NULL, json_string_value(v), err);
		if (rc < 0)
			return rc;
		if (value_add(r, json_string_value(v)) < 0)
			return oom(err);
	}
	return 0;
}

/* In and NotIn name the values they test; the others test presence only. */
static int check_value_count(const struct sel_req *r, const char *where,
			     struct dp_err *err)
{
	bool wants_values = r->op == SEL_IN || r->op == SEL_NOT_IN;

	if (wants_values && r->nvalues == 0)
		return dp_errorf(err, -EINVAL, "label selector: %s: operator %s needs values",
				 where, op_names[r->op]);
	if (!wants_values && r->nvalues > 0)
		return dp_errorf(err, -EINVAL, "label selector: %s: operator %s takes no values",
				 where, op_names[r->op]);
	return 0;
}

static int parse_expression(const json_t *e, const char *where,
			    struct selector *s, struct dp_err *err)
{
	const char *field, *key;
	struct sel_req *r;
	enum sel_op op = SEL_IN;
	json_t *val;
	int rc;

	if (!json_is_object(e))
		return dp_errorf(err, -EINVAL, "label selector: %s must be an object", where);
	json_object_foreach((json_t *)e, field, val) {
		if (strcmp(field, "key") && strcmp(field, "operator") &&
		    strcmp(field, "values"))
			return dp_errorf(err, -EINVAL,
					 "label selector: %s: unknown field \"%.40s\"",
					 where, field);
	}
	key = json_string_value(json_object_get(e, "key"));
	if (!key)
		return dp_errorf(err, -EINVAL, "label selector: %s: key must be a string",
				 where);
	rc = check_label(where, key, NULL, err);
	if (rc < 0)
		return rc;
	rc = parse_op(json_object_get(e, "operator"), where, &op, err);
	if (rc < 0)
		return rc;
	r = req_add(s, key, op);
	if (!r)
		return oom(err);
	rc = parse_values(json_object_get(e, "values"), where, r, err);
	if (rc < 0)
		return rc;
	return check_value_count(r, where, err);
}

static int parse_match_expressions(const json_t *me, struct selector *s,
				   struct dp_err *err)
{
	char where[48];
	size_t i;
	json_t *e;
	int rc;

	if (!me || json_is_null(me))
		return 0;
	if (!json_is_array(me))
		return dp_errorf(err, -EINVAL,
				 "label selector: matchExpressions must be an array");
	json_array_foreach(me, i, e) {
		snprintf(where, sizeof(where), "matchExpressions[%zu]", i);
		rc = parse_expression(e, where, s, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted and without duplicates, so matching can bsearch and two spellings
 * of one selector print alike. */
static void sort_values(struct sel_req *r)
{
	size_t out = 0;

	if (r->nvalues == 0)
		return;
	qsort(r->values, r->nvalues, sizeof(*r->values), str_cmp);
	for (size_t i = 1; i < r->nvalues; i++) {
		if (strcmp(r->values[i], r->values[out]) == 0)
			free(r->values[i]);
		else
			r->values[++out] = r->values[i];
	}
	r->nvalues = out + 1;
}

/* By key, then operator, then values: a canonical order, as apimachinery
 * sorts requirements by key. */
static int req_cmp(const void *pa, const void *pb)
{
	const struct sel_req *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	for (size_t i = 0; i < a->nvalues && i < b->nvalues; i++) {
		c = strcmp(a->values[i], b->values[i]);
		if (c)
			return c;
	}
	return a->nvalues < b->nvalues ? -1 : a->nvalues > b->nvalues;
}

int selector_parse(const json_t *j, struct selector *out, struct dp_err *err)
{
	const char *field;
	json_t *val;
	int rc = 0;

	*out = (struct selector){ 0 };
	if (!json_is_object(j))
		return dp_errorf(err, -EINVAL, "label selector must be a JSON object");
	json_object_foreach((json_t *)j, field, val) {
		if (strcmp(field, "matchLabels") && strcmp(field, "matchExpressions")) {
			rc = dp_errorf(err, -EINVAL, "label selector: unknown field \"%.40s\"",
				       field);
			goto out;
		}
	}
	rc = parse_match_labels(json_object_get(j, "matchLabels"), out, err);
	if (rc < 0)
		goto out;
	rc = parse_match_expressions(json_object_get(j, "matchExpressions"), out, err);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < out->n; i++)
		sort_values(&out->reqs[i]);
	if (out->n)
		qsort(out->reqs, out->n, sizeof(*out->reqs), req_cmp);
out:
	if (rc < 0)
		selector_free(out);
	return rc;
}

/* --- matching -------------------------------------------------------------- */

static bool req_has_value(const struct sel_req *r, const char *value)
{
	return bsearch(&value, r->values, r->nvalues, sizeof(*r->values),
		       str_cmp) != NULL;
}

static bool req_match(const struct sel_req *r, const struct labels *l)
{
	const char *value = labels_get(l, r->key);

	switch (r->op) {
	case SEL_IN:
		return value && req_has_value(r, value);
	case SEL_NOT_IN:
		/* An absent key is "not in" any set, as in apimachinery. */
		return !value || !req_has_value(r, value);
	case SEL_EXISTS:
		return value != NULL;
	case SEL_DOES_NOT_EXIST:
		return value == NULL;
	}
	return false;
}

bool selector_match(const struct selector *s, const struct labels *l)
{
	for (size_t i = 0; i < s->n; i++)
		if (!req_match(&s->reqs[i], l))
			return false;
	return true;
}

/* --- printing -------------------------------------------------------------- */

static void print_values(FILE *f, const struct sel_req *r)
{
	fputs(" (", f);
	for (size_t i = 0; i < r->nvalues; i++)
		fprintf(f, "%s%s", i ? "," : "", r->values[i]);
	fputc(')', f);
}

static void print_req(FILE *f, const struct sel_req *r)
{
	switch (r->op) {
	case SEL_IN:
		if (r->nvalues == 1) {
			fprintf(f, "%s=%s", r->key, r->values[0]);
			return;
		}
		fprintf(f, "%s in", r->key);
		print_values(f, r);
		return;
	case SEL_NOT_IN:
		fprintf(f, "%s notin", r->key);
		print_values(f, r);
		return;
	case SEL_EXISTS:
		fputs(r->key, f);
		return;
	case SEL_DOES_NOT_EXIST:
		fprintf(f, "!%s", r->key);
		return;
	}
}

/* The empty selector prints as "" (it selects everything), as in
 * apimachinery. */
char *selector_str(const struct selector *s)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			fputc(',', f);
		print_req(f, &s->reqs[i]);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
