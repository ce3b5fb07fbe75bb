/* The Kubernetes API over HTTPS (libcurl): single requests for the daemon's
 * own writes, and list-then-watch streams, each on its own thread, that
 * feed one queue the daemon's loop drains. */
#ifndef BH_POLICYD_KUBE_CLIENT_H
#define BH_POLICYD_KUBE_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "datapath/dp.h"
#include "policyd/kube_config.h"

struct kube_client;

int kube_client_new(const struct kube_config *c, struct kube_client **out,
		    struct dp_err *err);
void kube_client_free(struct kube_client *k);

/* One request: method "GET", "POST", "PUT", "PATCH" (merge patch) or
 * "DELETE" on path (e.g. "/api/v1/namespaces"), body may be NULL.
 * Returns the HTTP status (200..599) with *resp the parsed body (NULL when
 * it is not JSON), or a negative errno when no answer came (err says why:
 * connection refused, TLS, timeout). Thread-safe: each call uses its own
 * handle. timeout_ms 0: 10 s. */
int kube_request(struct kube_client *k, const char *method, const char *path,
		 const json_t *body, json_t **resp, int timeout_ms,
		 struct dp_err *err);

/* What a watch tells the daemon, in order, per resource:
 *   KUBE_EV_SYNC_BEGIN, then KUBE_EV_ADDED for every object of a (re)list,
 *   then KUBE_EV_SYNC_END: objects the daemon knew but did not see between
 *   the two were deleted while we were away;
 *   then ADDED / MODIFIED / DELETED as they happen.
 * A list arrives page by page as it is read, so it is never held whole in
 * memory. One that fails partway ends without SYNC_END, and the thread
 * lists again later from a new SYNC_BEGIN: the daemon must only mark
 * objects unseen at SYNC_BEGIN, mark them seen on each object, and sweep
 * the unseen at SYNC_END alone, so that a partial list deletes nothing.
 * A relist happens at start, after 410 Gone (HTTP status or an ERROR event
 * with code 410), whenever a watch cannot resume and when asked for
 * (kube_watch_relist). Bookmarks only move the resourceVersion and are not
 * delivered. KUBE_EV_DOWN reports a dropped stream (obj NULL; the thread
 * reconnects with backoff from 100 ms to 5 s and resumes from the last
 * resourceVersion). */
enum kube_ev_type {
	KUBE_EV_SYNC_BEGIN,
	KUBE_EV_ADDED,
	KUBE_EV_MODIFIED,
	KUBE_EV_DELETED,
	KUBE_EV_SYNC_END,
	KUBE_EV_DOWN,
};

struct kube_event {
	enum kube_ev_type type;
	int resource;		/* the index given to kube_watch_start */
	json_t *obj;		/* owned by the event; NULL for SYNC_* and DOWN */
	uint64_t rx_ns;		/* CLOCK_MONOTONIC when the line was read */
	struct kube_event *next;
};

struct kube_queue;

/* The queue between watch threads and the loop: an eventfd becomes
 * readable when events wait. */
int kube_queue_new(struct kube_queue **out, struct dp_err *err);
int kube_queue_fd(const struct kube_queue *q);
/* Takes every waiting event (oldest first) and clears the eventfd; NULL
 * when none. */
struct kube_event *kube_queue_take(struct kube_queue *q);
void kube_event_free(struct kube_event *ev);	/* frees the whole chain */
void kube_queue_free(struct kube_queue *q);

/* Cuts an object down to what the daemon keeps, in place, on the watch
 * thread before the object is queued: a queue of thousands of whole pods
 * would cost far more memory than their few fields. Called with the
 * resource given to kube_watch_start, for every listed object and every
 * ADDED / MODIFIED / DELETED one; it must leave obj an object. */
typedef void (*kube_trim_fn)(int resource, json_t *obj);

/* Starts a thread that lists and watches path (a collection, e.g.
 * "/api/v1/pods" or "/apis/networking.k8s.io/v1/networkpolicies"), with
 * allowWatchBookmarks and a server-side timeoutSeconds of timeout_s (0:
 * 300), pushing events tagged with resource, their objects passed through
 * trim (NULL: kept whole), into q. Lists ask for pages of 500 objects; the
 * environment variable BULKHEAD_KUBE_PAGE (1..500) asks for smaller ones,
 * for tests only. */
struct kube_watch;
int kube_watch_start(struct kube_client *k, const char *path, int resource,
		     kube_trim_fn trim, int timeout_s, struct kube_queue *q,
		     struct kube_watch **out, struct dp_err *err);
/* Stops the thread (within a second) and frees the watch. */
void kube_watch_stop(struct kube_watch *w);
/* Asks the thread to list again as soon as it can: the stream or list in
 * progress is cut short, without a DOWN. For a daemon that could not apply
 * an event (out of memory) and so no longer knows the collection. */
void kube_watch_relist(struct kube_watch *w);
/* The last resourceVersion seen, and whether the stream is connected. */
const char *kube_watch_rv(struct kube_watch *w, char *buf, size_t len);
bool kube_watch_connected(struct kube_watch *w);
/* Counters for /metrics. */
struct kube_watch_stats {
	uint64_t relists;
	uint64_t reconnects;
	uint64_t events;
	uint64_t bookmarks;
	uint64_t last_event_ns;	/* CLOCK_MONOTONIC of the last line */
};
void kube_watch_stats(struct kube_watch *w, struct kube_watch_stats *s);

#endif
