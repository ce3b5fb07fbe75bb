/* A string-keyed hash map of pointers: open addressing with linear probing
 * and tombstones, grown at 70% use. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policyd/strmap.h"

static char strmap_tomb;
#define STRMAP_TOMB (&strmap_tomb)

static uint64_t strmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct strmap_slot *strmap_find(const struct strmap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = strmap_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct strmap_slot *s = &m->slots[i];

		if (!s->key)
			return NULL;
		if (s->key != STRMAP_TOMB && strcmp(s->key, key) == 0)
			return s;
	}
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_slot *s = strmap_find(m, key);

	return s ? s->val : NULL;
}

static void strmap_place(struct strmap_slot *slots, size_t cap, char *key,
			 void *val)
{
	size_t i;

	for (i = strmap_hash(key) & (cap - 1); slots[i].key;
	     i = (i + 1) & (cap - 1))
		;
	slots[i].key = key;
	slots[i].val = val;
}

static int strmap_grow(struct strmap *m)
{
	size_t cap = m->cap ? m->cap : 16, i;
	struct strmap_slot *slots;

	/* Rehash in place of tombstones when they, not live entries, fill it. */
	while ((m->n + 1) * 10 >= cap * 5)
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		char *k = m->slots[i].key;

		if (k && k != STRMAP_TOMB)
			strmap_place(slots, cap, k, m->slots[i].val);
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	m->used = m->n;
	return 0;
}

int strmap_put(struct strmap *m, const char *key, void *val, void **old)
{
	struct strmap_slot *s = strmap_find(m, key);
	char *k;

	if (old)
		*old = NULL;
	if (s) {
		if (old)
			*old = s->val;
		s->val = val;
		return 0;
	}
	if ((m->used + 1) * 10 >= m->cap * 7 && strmap_grow(m) < 0)
		return -ENOMEM;
	k = strdup(key);
	if (!k)
		return -ENOMEM;
	strmap_place(m->slots, m->cap, k, val);
	m->n++;
	m->used++;
	return 0;
}

void *strmap_del(struct strmap *m, const char *key)
{
	struct strmap_slot *s = strmap_find(m, key);
	void *val;

	if (!s)
		return NULL;
	val = s->val;
	free(s->key);
	s->key = STRMAP_TOMB;
	s->val = NULL;
	m->n--;
	return val;
}

int strmap_next(const struct strmap *m, size_t *i, const char **key, void **val)
{
	for (; *i < m->cap; (*i)++) {
		struct strmap_slot *s = &m->slots[*i];

		if (s->key && s->key != STRMAP_TOMB) {
			*key = s->key;
			*val = s->val;
			(*i)++;
			return 1;
		}
	}
	return 0;
}

void strmap_free(struct strmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key != STRMAP_TOMB)
			free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}
