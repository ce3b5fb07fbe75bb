/* The dropped pairs table: counts each drop event under its (source
 * identity, destination identity, protocol, port) and serves the top. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bulkhead/reason.h"
#include "datapath/format.h"
#include "datapath/names.h"
#include "policyd/drops.h"

static bool has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_SCTP;
}

/* The slot of the pair, a free one, or (full) the smallest count's;
 * *base is the count it goes on from: its own, 0, or, for a taken-over
 * slot, the count it had (space-saving's overestimate). */
static struct drop_pair *slot_for(struct drop_table *t, const struct drop_pair *key,
				  uint64_t *base)
{
	struct drop_pair *smallest = NULL;

	for (size_t i = 0; i < t->n; i++) {
		struct drop_pair *p = &t->pairs[i];

		if (p->src_id == key->src_id && p->dst_id == key->dst_id &&
		    p->proto == key->proto && p->dport == key->dport) {
			*base = p->count;
			return p;
		}
		if (!smallest || p->count < smallest->count)
			smallest = p;
	}
	if (t->n < DROP_PAIRS_MAX) {
		*base = 0;
		return &t->pairs[t->n++];
	}
	*base = smallest->count;
	return smallest;
}

void drop_table_count(struct drop_table *t, const struct bh_event *ev)
{
	struct drop_pair key = {
		.src_id = ev->src_id,
		.dst_id = ev->dst_id,
		.proto = ev->proto,
		.dport = has_ports(ev->proto) ? ntohs(ev->dport) : 0,
		.last_reason = ev->reason,
		.last_dir = ev->dir,
		.last_ns = ev->ts_ns,
	};
	struct drop_pair *p;
	uint64_t base;

	if (ev->verdict != BH_VERDICT_DROP)
		return;
	p = slot_for(t, &key, &base);
	*p = key;
	p->count = base + 1;
}

static int by_count_desc(const void *a, const void *b)
{
	const struct drop_pair *x = *(const struct drop_pair *const *)a;
	const struct drop_pair *y = *(const struct drop_pair *const *)b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static json_t *pair_json(const struct drop_pair *p, uint64_t now_ns)
{
	char pb[16], rb[16], db[16];
	double ago = now_ns > p->last_ns ? (double)(now_ns - p->last_ns) / 1e9 : 0;

	return json_pack("{s:I, s:I, s:s, s:I, s:I, s:s, s:s, s:f}",
			 "src_identity", (json_int_t)p->src_id,
			 "dst_identity", (json_int_t)p->dst_id,
			 "proto", dp_word(dp_proto_name(p->proto), p->proto, pb, sizeof(pb)),
			 "dport", (json_int_t)p->dport,
			 "count", (json_int_t)p->count,
			 "last_reason", dp_word(dp_reason_name(p->last_reason),
						p->last_reason, rb, sizeof(rb)),
			 "last_direction", dp_word(dp_dir_name(p->last_dir),
						   p->last_dir, db, sizeof(db)),
			 "last_seen_s_ago", ago);
}

json_t *drop_table_json(const struct drop_table *t, size_t top, uint64_t now_ns)
{
	const struct drop_pair **order = malloc((t->n ? t->n : 1) * sizeof(*order));
	json_t *pairs = json_array(), *out = NULL;

	if (!order || !pairs)
		goto out;
	for (size_t i = 0; i < t->n; i++)
		order[i] = &t->pairs[i];
	qsort(order, t->n, sizeof(*order), by_count_desc);
	for (size_t i = 0; i < t->n && i < top; i++)
		if (json_array_append_new(pairs, pair_json(order[i], now_ns)) < 0)
			goto out;
	out = json_pack("{s:s, s:I, s:I, s:O}", "source", "sampled events",
			"tracked", (json_int_t)t->n, "capacity",
			(json_int_t)DROP_PAIRS_MAX, "pairs", pairs);
out:
	json_decref(pairs);
	free(order);
	return out;
}
