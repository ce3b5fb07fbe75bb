/* Cutting what the daemon never reads out of API server JSON before it is
 * parsed: most of a pod's bytes and objects are its managedFields, and
 * parsing them was most of the cost of a resync. */
#ifndef BH_POLICYD_JSON_STRIP_H
#define BH_POLICYD_JSON_STRIP_H

#include <stddef.h>

/* Replaces the value of every object member named key, at any depth, with
 * null (values shorter than that stay), in place, and returns the new
 * length, never more than len. Strings are
 * skipped whole, so the key's text inside a value is left alone. Text that
 * is not well-formed JSON is left for the parser to refuse: the scan stops
 * changing anything at the first thing it cannot follow. */
size_t json_strip_members(char *buf, size_t len, const char *key);

#endif
