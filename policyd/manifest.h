/* Standalone mode's source of objects: a directory of manifests, YAML or
 * JSON, several documents per file, read into the same JSON objects the
 * API server would send. */
#ifndef BH_POLICYD_MANIFEST_H
#define BH_POLICYD_MANIFEST_H

#include <stddef.h>
#include <jansson.h>

#include "datapath/dp.h"

/* Parses buf as a YAML stream (JSON is YAML) into objects appended to arr.
 * Plain scalars take YAML 1.2 core types (null, true/false, integers,
 * floats), quoted ones stay strings; anchors and aliases are refused (a
 * billion laughs must not cost memory); empty documents are skipped; a
 * kind "List" or "*List" with items contributes its items. name is used in
 * errors ("FILE:LINE: why"). */
int manifest_parse(const char *buf, size_t len, const char *name, json_t *arr,
		   struct dp_err *err);
/* Every *.yaml, *.yml and *.json file in dir (not recursive, sorted by
 * name, hidden files skipped, each at most 16 MiB) into a new array.
 * One bad file fails the whole load: a half-read directory could widen
 * what is allowed (a policy missing). */
int manifest_load_dir(const char *dir, json_t **out, struct dp_err *err);
/* An inotify descriptor that becomes readable when anything in dir
 * changes; manifest_watch_drain() empties it. */
int manifest_watch_open(const char *dir, struct dp_err *err);
void manifest_watch_drain(int fd);

#endif
