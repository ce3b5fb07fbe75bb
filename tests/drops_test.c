/* The daemon's dropped pairs table: counting per pair, allows ignored,
 * space-saving eviction when full, and the JSON top list by count. */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "bulkhead/reason.h"
#include "policyd/drops.h"
#include "tests/tap.h"

static struct bh_event drop(__u32 src, __u32 dst, __u16 port, __u64 ts)
{
	return (struct bh_event){
		.ts_ns = ts, .src_id = src, .dst_id = dst, .proto = IPPROTO_TCP,
		.sport = htons(40000), .dport = htons(port), .verdict = BH_VERDICT_DROP,
		.reason = BH_REASON_DROP_POLICY_DEFAULT, .dir = BH_DIR_INGRESS,
	};
}

static struct drop_pair *find(struct drop_table *t, __u32 src, __u32 dst, __u16 port)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->pairs[i].src_id == src && t->pairs[i].dst_id == dst &&
		    t->pairs[i].dport == port)
			return &t->pairs[i];
	return NULL;
}

int main(void)
{
	struct drop_table *t = calloc(1, sizeof(*t));
	struct bh_event ev;
	json_t *j;
	char *s;

	for (int i = 0; i < 3; i++) {
		ev = drop(300, 400, 80, 1000000000ull * (unsigned)i);
		drop_table_count(t, &ev);
	}
	ev = drop(300, 400, 443, 5);
	drop_table_count(t, &ev);
	ev = drop(300, 400, 80, 7);
	ev.verdict = BH_VERDICT_ALLOW;
	drop_table_count(t, &ev);
	is_int(t->n, 2, "two pairs: ports 80 and 443; the allow is not counted");
	is_int(find(t, 300, 400, 80)->count, 3, "port 80 dropped three times");

	j = drop_table_json(t, 1, 3000000000ull);
	s = json_dumps(j, JSON_COMPACT);
	is_str(s, "{\"source\":\"sampled events\",\"tracked\":2,\"capacity\":1024,\"pairs\":"
	       "[{\"src_identity\":300,\"dst_identity\":400,\"proto\":\"tcp\",\"dport\":80,"
	       "\"count\":3,\"last_reason\":\"drop_policy_default\",\"last_direction\":\"ingress\","
	       "\"last_seen_s_ago\":1.0}]}", "JSON: the top one, by count, with its age");
	free(s);
	json_decref(j);

	/* Fill the table: the new pairs count 1, as 443 does. */
	for (__u32 i = 0; t->n < DROP_PAIRS_MAX; i++) {
		ev = drop(1000 + i, 400, 80, 9);
		drop_table_count(t, &ev);
	}
	ev = drop(999999, 400, 22, 10);
	drop_table_count(t, &ev);
	is_int(t->n, DROP_PAIRS_MAX, "full: a new pair takes a slot, the size stays");
	ok(find(t, 999999, 400, 22) && find(t, 999999, 400, 22)->count == 2,
	   "it starts from the evicted smallest count plus one (space-saving)");
	ok(find(t, 300, 400, 80) && find(t, 300, 400, 80)->count == 3,
	   "the frequent pair stays");
	free(t);
	return done_testing();
}
