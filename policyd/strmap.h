/* A string-keyed hash map of pointers (open addressing, linear probing):
 * the daemon's indexes of pods, namespaces, policies and endpoints. */
#ifndef BH_POLICYD_STRMAP_H
#define BH_POLICYD_STRMAP_H

#include <stddef.h>

struct strmap_slot {
	char *key;		/* NULL: empty; STRMAP_TOMB: deleted */
	void *val;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap;		/* power of two */
	size_t n;		/* live entries */
	size_t used;		/* live + tombstones */
};

void *strmap_get(const struct strmap *m, const char *key);
/* Inserts or replaces; the map keeps its own copy of key. *old (may be
 * NULL) gets the replaced value. -ENOMEM on failure. */
int strmap_put(struct strmap *m, const char *key, void *val, void **old);
/* Removes key; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);
void strmap_free(struct strmap *m);	/* values are the caller's */

/* for (size_t i = 0; strmap_next(m, &i, &k, &v); ) visits every entry;
 * deleting the visited entry is allowed, inserting is not. */
int strmap_next(const struct strmap *m, size_t *i, const char **key, void **val);

#endif
