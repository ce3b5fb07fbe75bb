/* Typed netconf field reads with errors that name the field. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cni/conf_field.h"

const char *conf_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

static int type_error(const char *where, const char *key, const char *want,
		      const json_t *got, struct cni_err *err)
{
	return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
			  "invalid netconf: %s%s%s: expected %s, got %s",
			  where, *where ? "." : "", key, want,
			  conf_type_name(got));
}

int conf_string(const json_t *obj, const char *where, const char *key,
		bool required, const char **out, struct cni_err *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v) {
		if (!required)
			return 0;
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "invalid netconf: %s%s%s is required",
				  where, *where ? "." : "", key);
	}
	if (!json_is_string(v))
		return type_error(where, key, "a string", v, err);
	/* Strings with embedded NULs would be cut short by every C consumer. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "invalid netconf: %s%s%s contains a NUL byte",
				  where, *where ? "." : "", key);
	*out = json_string_value(v);
	return 0;
}

int conf_uint(const json_t *obj, const char *where, const char *key,
	      unsigned int min, unsigned int max, unsigned int *out,
	      struct cni_err *err)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return type_error(where, key, "an integer", v, err);
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max)
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "invalid netconf: %s%s%s: %lld is out of range %u-%u",
				  where, *where ? "." : "", key, (long long)n,
				  min, max);
	*out = (unsigned int)n;
	return 0;
}

int conf_bool(const json_t *obj, const char *where, const char *key, bool *out,
	      struct cni_err *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return type_error(where, key, "a boolean", v, err);
	*out = json_is_true(v);
	return 0;
}

int conf_object(const json_t *obj, const char *where, const char *key,
		const json_t **out, struct cni_err *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return type_error(where, key, "an object", v, err);
	*out = v;
	return 0;
}

int conf_array(const json_t *obj, const char *where, const char *key,
	       const json_t **out, struct cni_err *err)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return type_error(where, key, "an array", v, err);
	*out = v;
	return 0;
}

int conf_path(const json_t *obj, const char *where, const char *key,
	      const char **out, struct cni_err *err)
{
	const char *p = NULL;

	if (conf_string(obj, where, key, false, &p, err) < 0)
		return -1;
	if (!p)
		return 0;
	if (p[0] != '/' || strlen(p) >= PATH_MAX - 64 || strstr(p, "/../") ||
	    (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0))
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "invalid netconf: %s%s%s: \"%.200s\" must be an absolute path without \"..\"",
				  where, *where ? "." : "", key, p);
	*out = p;
	return 0;
}

/* The spec wants the key and its value in the message. */
static int unsupported(const char *where, const char *key, const json_t *v,
		       struct cni_err *err)
{
	char *val = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	cni_errorf(err, CNI_ERR_UNSUPPORTED_FIELD,
		   "unsupported netconf field %s%s\"%.100s\": %.100s",
		   where, *where ? "." : "", key, val ? val : "?");
	free(val);
	return -1;
}

int conf_known_keys(const json_t *obj, const char *where,
		    const char *const *allowed, const char *prefix_ok,
		    struct cni_err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a)
			continue;
		if (prefix_ok && strncmp(key, prefix_ok, strlen(prefix_ok)) == 0)
			continue;
		return unsupported(where, key, v, err);
	}
	return 0;
}
