/* drops: the datapath's drop counters by reason and direction, with the
 * reason in words. */
#include "bulkhead/counters.h"
#include "ctl/ctl.h"
#include "datapath/format.h"
#include "datapath/names.h"

int cmd_drops(struct ctl *c, int argc, char **argv)
{
	static const char *const columns[] = {
		"reason", "direction", "packets", "bytes", "description", NULL
	};
	static struct bh_counter cnt[BH_MAX_COUNTERS];
	struct dp_err err = { 0 };
	json_t *rows;
	int rc;

	(void)argc; (void)argv;
	if ((rc = ctl_open_maps(c)))
		return rc;
	if (dp_counters_read(&c->maps, cnt, &err) < 0)
		return ctl_fail(CTL_FAIL, "%s", err.msg);
	rows = json_array();
	for (unsigned int r = 0; rows && r < BH_REASON_MAX; r++)
		for (unsigned int d = 0; d < BH_DIR_MAX; d++) {
			const struct bh_counter *x = &cnt[BH_COUNTER_INDEX(BH_VERDICT_DROP, r, d)];
			char rb[16], db[16];

			if (!x->packets)
				continue;
			if ((rc = out_append(rows, json_pack("{s:s, s:s, s:I, s:I, s:s?}",
					"reason", dp_word(dp_reason_name(r), r, rb, sizeof(rb)),
					"direction", dp_word(dp_dir_name(d), d, db, sizeof(db)),
					"packets", (json_int_t)x->packets,
					"bytes", (json_int_t)x->bytes,
					"description", dp_reason_words(r))))) {
				json_decref(rows);
				return rc;
			}
		}
	return out_rows(c, rows, columns);
}
