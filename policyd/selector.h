/* Kubernetes LabelSelector: parsed and validated once, matched many times. */
#ifndef BH_POLICYD_SELECTOR_H
#define BH_POLICYD_SELECTOR_H

#include <stdbool.h>
#include <jansson.h>

#include "datapath/dp.h"
#include "policyd/labels.h"

enum sel_op {
	SEL_IN,
	SEL_NOT_IN,
	SEL_EXISTS,
	SEL_DOES_NOT_EXIST,
};

struct sel_req {
	char *key;
	enum sel_op op;
	char **values;		/* sorted; In/NotIn only */
	size_t nvalues;
};

/* All requirements must hold (AND). matchLabels entries become In with one
 * value. No requirement: matches every label set ({} selects all). */
struct selector {
	struct sel_req *reqs;
	size_t n;
};

/* j is a LabelSelector object ({} allowed). Errors: not an object, unknown
 * field, invalid key or value, unknown operator, In/NotIn without values,
 * Exists/DoesNotExist with values. */
int selector_parse(const json_t *j, struct selector *out, struct dp_err *err);
bool selector_match(const struct selector *s, const struct labels *l);
bool selector_empty(const struct selector *s);
void selector_free(struct selector *s);
/* "app=web,tier in (a,b),!x" (malloc'd) for logs and tables. */
char *selector_str(const struct selector *s);

#endif
