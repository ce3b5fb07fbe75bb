/* Typed reads of netconf fields: each one names the field and the type it
 * wanted in its error, so every config mistake reads the same way. */
#ifndef BH_CNI_CONF_FIELD_H
#define BH_CNI_CONF_FIELD_H

#include <stdbool.h>
#include <jansson.h>

#include "cni/error.h"

/* "string", "number", ... for error messages. */
const char *conf_type_name(const json_t *v);

/* Each returns 0 and sets *out, leaves *out as is when the key is absent and
 * not required, or fails with CNI_ERR_INVALID_NETCONF naming where.key.
 * `where` is the path of obj ("" for the top level, "ipam" inside it). */
int conf_string(const json_t *obj, const char *where, const char *key,
		bool required, const char **out, struct cni_err *err);
int conf_uint(const json_t *obj, const char *where, const char *key,
	      unsigned int min, unsigned int max, unsigned int *out,
	      struct cni_err *err);
int conf_bool(const json_t *obj, const char *where, const char *key, bool *out,
	      struct cni_err *err);
/* Absent or JSON null leave *out NULL; any other non-object is an error. */
int conf_object(const json_t *obj, const char *where, const char *key,
		const json_t **out, struct cni_err *err);
int conf_array(const json_t *obj, const char *where, const char *key,
	       const json_t **out, struct cni_err *err);
/* An absolute path without NUL or "..": what every path field must be. */
int conf_path(const json_t *obj, const char *where, const char *key,
	      const char **out, struct cni_err *err);

/* Fails with CNI_ERR_UNSUPPORTED_FIELD for the first key of obj that is not
 * in the NULL-terminated allowed list and does not start with prefix_ok
 * (NULL: no prefix is allowed). */
int conf_known_keys(const json_t *obj, const char *where,
		    const char *const *allowed, const char *prefix_ok,
		    struct cni_err *err);

#endif
