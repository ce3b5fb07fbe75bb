/* Verdict events: read from the datapath's ring buffer and written as a
 * JSON-lines flow log, rotated by size. The event's JSON form is shared with
 * bulkhead-ctl monitor. */
#ifndef BH_POLICYD_FLOWLOG_H
#define BH_POLICYD_FLOWLOG_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <jansson.h>

#include "bulkhead/event.h"
#include "datapath/dp.h"

/* Names an address for the log: "ns/pod" into buf and returns buf, or NULL
 * when the address is not a known pod. */
typedef const char *(*flow_name_fn)(void *ctx, __be32 ip, char *buf,
				    size_t len);

/* One event as a JSON object (new reference), fields:
 *   time (RFC 3339 UTC, microseconds), verdict, reason, dir, proto,
 *   src {ip, port, identity, pod?}, dst {...}, rule_id, ifindex, len.
 * ICMP carries no ports (echo ids are in the port fields of the event).
 * mono_to_real_ns: CLOCK_REALTIME minus CLOCK_MONOTONIC, to turn the
 * event's bpf_ktime_get_ns() stamp into wall time. */
json_t *flow_event_json(const struct bh_event *ev, int64_t mono_to_real_ns,
			flow_name_fn name, void *name_ctx);
int64_t flow_mono_to_real_ns(void);

struct event_reader;
typedef void (*event_cb)(void *ctx, const struct bh_event *ev);
/* events_map_fd: the pinned ring buffer. The fd to poll, and consume()
 * to call when it is readable (calls cb per event, returns how many). */
int event_reader_open(int events_map_fd, event_cb cb, void *ctx,
		      struct event_reader **out, struct dp_err *err);
int event_reader_fd(const struct event_reader *r);
int event_reader_consume(struct event_reader *r);
void event_reader_free(struct event_reader *r);

/* The flow log: appends one line per event to path (made 0640 with its
 * directory); when it grows past max_bytes it is renamed path.1 (path.1 to
 * path.2 and so on up to keep files) and a new one started. */
struct flowlog_opts {
	const char *path;
	size_t max_bytes;	/* 0: 10 MiB */
	int keep;		/* 0: 3 */
};
struct flowlog;
int flowlog_open(const struct flowlog_opts *o, struct flowlog **out,
		 struct dp_err *err);
int flowlog_write(struct flowlog *f, const json_t *line, struct dp_err *err);
void flowlog_close(struct flowlog *f);

#endif
