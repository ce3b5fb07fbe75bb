/* drops: the datapath's drop counters by reason and direction, with the
 * reason in words; and, when the daemon answers, the pairs (source
 * identity, destination identity, port) it saw dropped most often. */
#include <stdio.h>

#include "bulkhead/counters.h"
#include "ctl/ctl.h"
#include "datapath/format.h"
#include "datapath/names.h"

static const char *const counter_columns[] = {
	"reason", "direction", "packets", "bytes", "description", NULL
};
static const char *const pair_columns[] = {
	"src_identity", "src_labels", "dst_identity", "dst_labels", "proto",
	"port", "count", "last_reason", NULL
};

/* [{"reason","direction","packets","bytes","description"}], or NULL
 * after a message. */
static json_t *counter_rows(const struct bh_counter *cnt)
{
	json_t *rows = json_array();

	for (unsigned int r = 0; rows && r < BH_REASON_MAX; r++)
		for (unsigned int d = 0; d < BH_DIR_MAX; d++) {
			const struct bh_counter *x = &cnt[BH_COUNTER_INDEX(BH_VERDICT_DROP, r, d)];
			char rb[16], db[16];

			if (!x->packets)
				continue;
			if (out_append(rows, json_pack("{s:s, s:s, s:I, s:I, s:s?}",
					"reason", dp_word(dp_reason_name(r), r, rb, sizeof(rb)),
					"direction", dp_word(dp_dir_name(d), d, db, sizeof(db)),
					"packets", (json_int_t)x->packets,
					"bytes", (json_int_t)x->bytes,
					"description", dp_reason_words(r)))) {
				json_decref(rows);
				return NULL;
			}
		}
	return rows;
}

/* The labels the daemon gives identity id (ids: its /identities),
 * {"reserved":NAME} for a reserved one, or null. New reference. */
static json_t *identity_labels(json_t *ids, json_t *id)
{
	const char *reserved;
	size_t i;
	json_t *e;

	if (!json_is_integer(id))
		return json_null();
	reserved = ctl_reserved_identity((unsigned int)json_integer_value(id));
	if (reserved)
		return json_pack("{s:s}", "reserved", reserved);
	json_array_foreach(ids, i, e)
		if (json_equal(json_object_get(e, "id"), id) &&
		    json_is_object(json_object_get(e, "labels")))
			return json_incref(json_object_get(e, "labels"));
	return json_null();
}

/* The daemon's /drops pairs as rows, named; NULL when the daemon does
 * not answer (or out of memory, after a message). */
static json_t *pair_rows(const struct ctl *c)
{
	json_t *drops = daemon_get_json(c, "/drops"), *ids, *rows = NULL, *p;
	size_t i;

	if (!json_is_array(json_object_get(drops, "pairs"))) {
		json_decref(drops);
		return NULL;
	}
	ids = daemon_get_json(c, "/identities");
	rows = json_array();
	json_array_foreach(json_object_get(drops, "pairs"), i, p) {
		json_t *src = json_object_get(p, "src_identity");
		json_t *dst = json_object_get(p, "dst_identity");

		if (rows && out_append(rows, json_pack("{s:O, s:o, s:O, s:o, s:O, s:O, s:O, s:O}",
				"src_identity", src, "src_labels", identity_labels(ids, src),
				"dst_identity", dst, "dst_labels", identity_labels(ids, dst),
				"proto", json_object_get(p, "proto"),
				"port", json_object_get(p, "dport"),
				"count", json_object_get(p, "count"),
				"last_reason", json_object_get(p, "last_reason")))) {
			json_decref(rows);
			rows = NULL;
		}
	}
	json_decref(ids);
	json_decref(drops);
	return rows;
}

int cmd_drops(struct ctl *c, int argc, char **argv)
{
	static struct bh_counter cnt[BH_MAX_COUNTERS];
	struct dp_err err = { 0 };
	json_t *counters, *pairs, *out;
	int rc;

	(void)argc; (void)argv;
	if ((rc = ctl_open_maps(c)))
		return rc;
	if (dp_counters_read(&c->maps, cnt, &err) < 0)
		return ctl_fail(CTL_FAIL, "%s", err.msg);
	if (!(counters = counter_rows(cnt)))
		return CTL_FAIL;
	pairs = pair_rows(c);
	if (!c->json) {
		rc = out_rows(c, counters, counter_columns);
		if (rc || !pairs) {
			json_decref(pairs);
			return rc;
		}
		printf("\ntop dropped pairs (from sampled events: the datapath rate-limits them):\n");
		return out_rows(c, pairs, pair_columns);
	}
	/* Without the daemon, the counters only: no top_pairs field. */
	out = json_pack("{s:o, s:o*, s:s*}", "counters", counters, "top_pairs", pairs,
			"top_pairs_from", pairs ? "sampled events" : NULL);
	return out_object(c, out);
}
