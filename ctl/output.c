/* The two renderers: JSON (what scripts read, -o json) and aligned
 * tables (what people read). Commands build JSON; tables are drawn from
 * it, so both always say the same thing. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

json_t *out_ip(__be32 ip)
{
	char a[INET_ADDRSTRLEN];

	return json_string(inet_ntop(AF_INET, &ip, a, sizeof(a)));
}

int out_append(json_t *arr, json_t *item)
{
	if (!item || json_array_append_new(arr, item) < 0)
		return ctl_fail(CTL_FAIL, "out of memory");
	return 0;
}

/* A cell's text: strings as they are, null as "-", the rest compact. */
static char *cell(const json_t *v)
{
	if (!v || json_is_null(v))
		return strdup("-");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int print_json(json_t *j)
{
	int rc = json_dumpf(j, stdout, JSON_INDENT(2));

	fputc('\n', stdout);
	json_decref(j);
	return rc == 0 ? CTL_OK : ctl_fail(CTL_FAIL, "write output failed");
}

/* Column widths from the header and every cell, then the rows. */
static int print_table(json_t *rows, const char *const *cols)
{
	size_t ncols = 0, nrows = json_array_size(rows), *w;
	char **cells;
	int rc = CTL_OK;

	while (cols[ncols])
		ncols++;
	w = calloc(ncols, sizeof(*w));
	cells = calloc(ncols * (nrows ? nrows : 1), sizeof(*cells));
	if (!w || !cells) {
		rc = ctl_fail(CTL_FAIL, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < ncols; k++)
		w[k] = strlen(cols[k]);
	for (size_t r = 0; r < nrows; r++)
		for (size_t k = 0; k < ncols; k++) {
			char *s = cell(json_object_get(json_array_get(rows, r), cols[k]));

			if (!s) {
				rc = ctl_fail(CTL_FAIL, "out of memory");
				goto out;
			}
			cells[r * ncols + k] = s;
			if (strlen(s) > w[k])
				w[k] = strlen(s);
		}
	for (size_t k = 0; k < ncols; k++) {
		for (const char *p = cols[k]; *p; p++)
			putchar(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
		printf("%*s", k + 1 < ncols ? (int)(w[k] - strlen(cols[k]) + 2) : 0, "");
	}
	putchar('\n');
	for (size_t r = 0; r < nrows; r++)
		for (size_t k = 0; k < ncols; k++)
			printf(k + 1 < ncols ? "%-*s  " : "%-*s\n",
			       k + 1 < ncols ? (int)w[k] : 0, cells[r * ncols + k]);
out:
	if (cells)
		for (size_t i = 0; i < ncols * nrows; i++)
			free(cells[i]);
	free(cells);
	free(w);
	json_decref(rows);
	return rc;
}

int out_rows(const struct ctl *c, json_t *rows, const char *const *cols)
{
	if (!rows)
		return ctl_fail(CTL_FAIL, "out of memory");
	return c->json ? print_json(rows) : print_table(rows, cols);
}

/* "key: value" lines; nested objects indented under their key. */
static void print_object(const json_t *obj, int depth)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v) {
		char *s;

		if (json_is_object(v)) {
			printf("%*s%s:\n", depth * 2, "", k);
			print_object(v, depth + 1);
			continue;
		}
		s = cell(v);
		printf("%*s%s: %s\n", depth * 2, "", k, s ? s : "?");
		free(s);
	}
}

int out_object(const struct ctl *c, json_t *obj)
{
	if (!obj)
		return ctl_fail(CTL_FAIL, "out of memory");
	if (c->json)
		return print_json(obj);
	print_object(obj, 0);
	json_decref(obj);
	return CTL_OK;
}
