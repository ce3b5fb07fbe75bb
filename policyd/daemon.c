/* bulkhead-policyd's body: sets up the datapath, the sources of objects
 * and the sockets, then turns every change it hears about into one
 * reconcile. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bulkhead/identity.h"
#include "bulkhead/register.h"
#include "datapath/loader.h"
#include "cni/error.h"
#include "policyd/daemon.h"
#include "policyd/flowlog.h"
#include "policyd/http.h"
#include "policyd/kube_client.h"
#include "policyd/kube_config.h"
#include "policyd/manifest.h"
#include "policyd/overlay.h"
#include "policyd/reg_server.h"

/* What each kind is called on the API server. */
static const char *const watch_paths[STORE_NKINDS] = {
	[STORE_IDENTITY] = IDENTITY_API_PATH,
	[STORE_NAMESPACE] = "/api/v1/namespaces",
	[STORE_POD] = "/api/v1/pods",
	[STORE_POLICY] = "/apis/networking.k8s.io/v1/networkpolicies",
	[STORE_NODE] = "/api/v1/nodes",
};

/* Manifest mode: a change to the directory is read after it has been
 * quiet this long, so an editor's several writes make one reload. */
#define MANIFEST_SETTLE_MS	100
/* Identity GC runs every half grace period, at most once a minute. */
#define GC_INTERVAL_MAX_MS	60000

void daemon_log(const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ bulkhead-policyd: ", when, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool all_synced(const struct daemon *d)
{
	for (int k = 0; k < STORE_NKINDS; k++)
		if (!d->synced[k])
			return false;
	return true;
}

static void reconcile_now(struct daemon *d);

static void reconcile_retry(struct loop *l, void *arg)
{
	struct daemon *d = arg;

	(void)l;
	d->retry_timer = 0;
	if (d->dirty)
		reconcile_now(d);
}

/* Applies what changed. A failure is retried on its own, from 100 ms
 * doubling to 5 s, not on every turn of the loop. */
static void reconcile_now(struct daemon *d)
{
	struct dp_err err = { 0 };

	if (!all_synced(d))
		return;
	if (daemon_reconcile(d, &err) < 0) {
		d->retry_ms = d->retry_ms ? d->retry_ms * 2 : 100;
		if (d->retry_ms > 5000)
			d->retry_ms = 5000;
		daemon_log("updating the datapath failed (retry in %d ms): %s",
			   d->retry_ms, err.msg);
		if (!d->retry_timer)
			d->retry_timer = loop_timer(d->loop, d->retry_ms,
						    reconcile_retry, d);
		return;
	}
	d->retry_ms = 0;
	for (int k = 0; k < STORE_NKINDS; k++) {
		if (d->seen_rv[k] > d->applied_rv[k])
			d->applied_rv[k] = d->seen_rv[k];
		d->seen_rv[k] = 0;
	}
	if (!d->ready) {
		d->ready = true;
		daemon_log("ready: %zu endpoints, %zu pods, %zu policies, %zu identities",
			   d->eps.by_key.n, d->store.pods.n,
			   d->store.policies.n, d->ids.by_id.n);
	}
}

/* ---------------------------------------------------- identity objects */

static void identity_event(struct daemon *d, const struct kube_event *ev)
{
	struct dp_err err = { 0 };
	struct labels l = { 0 };
	struct identity *e;
	const char *uid = NULL;
	__u32 id;

	if (identity_from_json(ev->obj, &id, &l, &uid, &err) < 0) {
		d->store.bad_objects[STORE_IDENTITY]++;
		daemon_log("skipping identity object: %s", err.msg);
		return;
	}
	e = identity_find(&d->ids, id);
	if (ev->type == KUBE_EV_DELETED) {
		identity_remove(&d->ids, id);
	} else if (e && !labels_equal(&e->labels, &l)) {
		/* A number's labels never change (the VNI on the wire would
		 * change meaning under every node's feet): refuse the edit. */
		d->store.bad_objects[STORE_IDENTITY]++;
		daemon_log("identity %u: its labels were edited; keeping the old ones", id);
		e->seen = true;
	} else if (identity_put(&d->ids, id, &l, uid, &e) == 0) {
		e->seen = true;
	}
	labels_free(&l);
}

static void identity_mark(struct daemon *d, bool sweep)
{
	size_t i = 0;
	const char *k;
	void *v;

	while (strmap_next(&d->ids.by_id, &i, &k, &v)) {
		struct identity *e = v;

		if (!sweep)
			e->seen = false;
		else if (!e->seen)
			identity_remove(&d->ids, e->id);
	}
}

/* ------------------------------------------------------- object events */

/* An object's metadata.resourceVersion as a number, 0 when it has none
 * or it is not one: the API server's are decimal, but Kubernetes calls
 * them opaque, and only the largest is of interest. */
static uint64_t object_rv(const json_t *obj)
{
	const char *s = json_string_value(json_object_get(
		json_object_get(obj, "metadata"), "resourceVersion"));
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	return errno || *end ? 0 : (uint64_t)v;
}

static void note_rv(struct daemon *d, enum store_kind k, const json_t *obj)
{
	uint64_t rv = object_rv(obj);

	if (rv > d->seen_rv[k])
		d->seen_rv[k] = rv;
}

static void object_event(struct daemon *d, const struct kube_event *ev)
{
	enum store_kind k = (enum store_kind)ev->resource;
	struct dp_err err = { 0 };
	int rc;

	switch (ev->type) {
	case KUBE_EV_SYNC_BEGIN:
		/* In manifest mode the node numbers identities itself: a
		 * reload must not forget them. */
		if (k == STORE_IDENTITY && !d->o.manifests)
			identity_mark(d, false);
		else
			store_mark(&d->store, k);
		return;
	case KUBE_EV_SYNC_END:
		if (k == STORE_IDENTITY && !d->o.manifests)
			identity_mark(d, true);
		else if (store_sweep(&d->store, k) > 0)
			daemon_log(d->o.manifests ?
				   "reload: removed the %s objects no longer in the manifests" :
				   "relist: removed the %s objects deleted meanwhile",
				   store_kind_name(k));
		d->synced[k] = true;
		break;
	case KUBE_EV_DOWN:
		daemon_log("watch of %ss dropped; reconnecting", store_kind_name(k));
		return;
	case KUBE_EV_ADDED:
	case KUBE_EV_MODIFIED:
	case KUBE_EV_DELETED:
		note_rv(d, k, ev->obj);
		if (k == STORE_IDENTITY) {
			identity_event(d, ev);
			break;
		}
		rc = store_apply(&d->store, k, ev->obj, ev->type == KUBE_EV_DELETED,
				 &err);
		if (rc == -EINVAL)
			daemon_log("skipping %s: %s", store_kind_name(k), err.msg);
		else if (rc == -ENOMEM && d->watch[k])
			/* The store missed a change: only a fresh list is sure
			 * to bring it back. */
			kube_watch_relist(d->watch[k]);
		else if (rc >= 0 && err.msg[0])	/* a policy's unreadable rules */
			daemon_log("applying %s; its unreadable parts allow nothing: %s",
				   store_kind_name(k), err.msg);
		break;
	}
	d->dirty = true;
	if (!d->dirty_since_ns || (ev->rx_ns && ev->rx_ns < d->dirty_since_ns))
		d->dirty_since_ns = ev->rx_ns ? ev->rx_ns : loop_now_ns();
}

static void queue_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	struct kube_event *chain = kube_queue_take(d->queue), *ev;

	(void)l;
	(void)fd;
	(void)events;
	for (ev = chain; ev; ev = ev->next)
		object_event(d, ev);
	kube_event_free(chain);
	if (d->dirty)
		reconcile_now(d);
}

/* ------------------------------------------------------ manifest mode */

static enum store_kind manifest_kind(const json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));

	if (!kind)
		return STORE_NKINDS;
	if (strcmp(kind, "Pod") == 0)
		return STORE_POD;
	if (strcmp(kind, "Namespace") == 0)
		return STORE_NAMESPACE;
	if (strcmp(kind, "NetworkPolicy") == 0)
		return STORE_POLICY;
	if (strcmp(kind, "Node") == 0)
		return STORE_NODE;
	if (strcmp(kind, IDENTITY_KIND) == 0)
		return STORE_IDENTITY;
	return STORE_NKINDS;
}

/* The directory is the whole truth: a reload is a relist of every kind.
 * A directory that does not parse changes nothing (a half-read one could
 * lose a policy and so allow more). */
static void manifest_reload(struct daemon *d)
{
	struct dp_err err = { 0 };
	json_t *arr = NULL, *obj;
	struct kube_event ev = { .rx_ns = loop_now_ns() };
	size_t i;

	if (manifest_load_dir(d->o.manifests, &arr, &err) < 0) {
		daemon_log("manifests not applied, keeping the previous ones: %s",
			   err.msg);
		return;
	}
	for (int k = 0; k < STORE_NKINDS; k++) {
		ev.resource = k;
		ev.type = KUBE_EV_SYNC_BEGIN;
		object_event(d, &ev);
		json_array_foreach(arr, i, obj) {
			if (manifest_kind(obj) != (enum store_kind)k)
				continue;
			ev.type = KUBE_EV_ADDED;
			ev.obj = obj;
			object_event(d, &ev);
		}
		ev.obj = NULL;
		ev.type = KUBE_EV_SYNC_END;
		object_event(d, &ev);
	}
	json_decref(arr);
	reconcile_now(d);
}

static void manifest_settled(struct loop *l, void *arg)
{
	struct daemon *d = arg;

	(void)l;
	d->manifest_timer = 0;
	manifest_reload(d);
}

static void manifest_changed(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;

	(void)events;
	manifest_watch_drain(fd);
	if (d->manifest_timer)
		loop_timer_cancel(l, d->manifest_timer);
	d->manifest_timer = loop_timer(l, MANIFEST_SETTLE_MS, manifest_settled, d);
}

static int sources_open_manifests(struct daemon *d, struct dp_err *err)
{
	d->manifest_fd = manifest_watch_open(d->o.manifests, err);
	if (d->manifest_fd < 0)
		return d->manifest_fd;
	if (loop_add(d->loop, d->manifest_fd, EPOLLIN, manifest_changed, d) < 0)
		return dp_errorf(err, -errno, "epoll: %s", strerror(errno));
	manifest_reload(d);
	return 0;
}

static int sources_open_api(struct daemon *d, struct dp_err *err)
{
	struct kube_config kc = { 0 };
	int rc;

	rc = d->o.in_cluster ? kube_config_in_cluster(NULL, &kc, err) :
		kube_config_load(d->o.kubeconfig, NULL, &kc, err);
	if (rc < 0)
		return rc;
	rc = kube_client_new(&kc, &d->kube, err);
	kube_config_free(&kc);
	if (rc < 0)
		return rc;
	rc = kube_queue_new(&d->queue, err);
	if (rc < 0)
		return rc;
	if (loop_add(d->loop, kube_queue_fd(d->queue), EPOLLIN, queue_readable, d) < 0)
		return dp_errorf(err, -errno, "epoll: %s", strerror(errno));
	for (int k = 0; k < STORE_NKINDS; k++) {
		rc = kube_watch_start(d->kube, watch_paths[k], k, store_trim,
				      d->o.watch_timeout_s, d->queue,
				      &d->watch[k], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --------------------------------------------------------- registration */

/* An ADD that waited BH_REG_DAEMON_WAIT_MS for its pod: the plugin gets
 * the reason and rolls back; the registration is forgotten with it. One
 * callback serves every pending ADD: it answers those whose time is up. */
static void adds_expire(struct loop *l, void *arg)
{
	struct daemon *d = arg;
	const char *source = d->o.manifests ? "the manifests" : "the API server";
	uint64_t now = loop_now_ms();
	size_t i = 0;
	const char *k;
	void *v;

	(void)l;
	while (strmap_next(&d->eps.by_key, &i, &k, &v)) {
		struct endpoint *ep = v;
		char why[512];

		if (!ep->pending || now - ep->added_ms < BH_REG_DAEMON_WAIT_MS)
			continue;
		if (!d->ready)
			snprintf(why, sizeof(why),
				 "bulkhead-policyd has not finished its first sync with the API server");
		else if (!store_pod(&d->store, ep->ns, ep->pod))
			snprintf(why, sizeof(why), "pod %s/%s is not known to %s",
				 ep->ns, ep->pod, source);
		else if (!store_ns(&d->store, ep->ns))
			snprintf(why, sizeof(why), "namespace %s is not known to %s",
				 ep->ns, source);
		else
			snprintf(why, sizeof(why),
				 "no identity could be allocated for pod %s/%s", ep->ns, ep->pod);
		reg_reply_err(ep->pending, CNI_ERR_TRY_AGAIN, "endpoint has no identity yet", why);
		ep->pending = NULL;
		d->st.reg_fail++;
		daemon_log("ADD %s/%s (%s) refused after %d ms: %s", ep->ns, ep->pod,
			   ep->key, BH_REG_DAEMON_WAIT_MS, why);
		endpoint_forget(&d->eps, ep);
	}
}

/* An address belongs to one endpoint: an older registration of it (a pod
 * whose DEL never came, a veth reused) goes. */
static void endpoints_forget_ip(struct daemon *d, __be32 ip,
				const struct endpoint *keep)
{
	size_t i = 0;
	const char *k;
	void *v;

	while (strmap_next(&d->eps.by_key, &i, &k, &v)) {
		struct endpoint *ep = v;

		if (ep == keep || ep->ip != ip)
			continue;
		daemon_log("forgetting %s/%s (%s): its address went to a new ADD",
			   ep->ns, ep->pod, ep->key);
		if (ep->pending)
			reg_reply_err(ep->pending, CNI_ERR_TRY_AGAIN, "superseded by a newer ADD", NULL);
		endpoint_forget(&d->eps, ep);
	}
}

static void reg_add(struct daemon *d, struct reg_conn *c,
		    const struct reg_request *r)
{
	struct endpoint *ep = endpoint_lookup(&d->eps, r->container_id, r->ifname);
	struct bh_endpoint cur;
	struct dp_err err = { 0 };
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &r->ip, ip, sizeof(ip));
	/* The plugin wrote the entry just before asking: an address without
	 * one, or on another veth, is a confused or stale request. */
	if (dp_endpoint_get(&d->maps, r->ip, &cur) < 0 || cur.ifindex != r->ifindex) {
		d->st.reg_fail++;
		reg_reply_err(c, CNI_ERR_TRY_AGAIN, "endpoint not in the datapath",
			      "no endpoint entry for this address on this veth");
		return;
	}
	if (ep && ep->pending) {
		reg_reply_err(ep->pending, CNI_ERR_TRY_AGAIN, "superseded by a newer ADD", NULL);
		ep->pending = NULL;
	}
	endpoints_forget_ip(d, r->ip, ep);
	if (endpoint_register(&d->eps, r, &ep, &err) < 0) {
		d->st.reg_fail++;
		reg_reply_err(c, CNI_ERR_TRY_AGAIN, "cannot record the endpoint", err.msg);
		return;
	}
	ep->pending = c;
	ep->added_ms = loop_now_ms();
	ep->identity = BH_ID_INIT;
	daemon_log("ADD %s/%s %s on %s", r->ns, r->pod, ip, r->host_ifname);
	loop_timer(d->loop, BH_REG_DAEMON_WAIT_MS + 1, adds_expire, d);
	reconcile_now(d);
}

static void reg_del(struct daemon *d, struct reg_conn *c,
		    const struct reg_request *r)
{
	struct endpoint *ep = endpoint_lookup(&d->eps, r->container_id, r->ifname);

	d->st.reg_del++;
	if (ep) {
		daemon_log("DEL %s/%s (%s)", ep->ns, ep->pod, ep->key);
		if (ep->pending)
			reg_reply_err(ep->pending, CNI_ERR_TRY_AGAIN, "deleted while waiting", NULL);
		endpoint_forget(&d->eps, ep);
		d->dirty = true;
	}
	reg_reply_ok(c, 0);
	if (d->dirty)
		reconcile_now(d);
}

static void reg_request(struct reg_conn *c, const struct reg_request *r, void *arg)
{
	struct daemon *d = arg;

	if (r->add)
		reg_add(d, c, r);
	else
		reg_del(d, c, r);
}

/* Saved registrations whose endpoint entry is gone, or now belongs to
 * another veth, died while the daemon was away. */
static void endpoints_resync(struct daemon *d)
{
	size_t i = 0, kept = 0, dropped = 0;
	const char *k;
	void *v;

	while (strmap_next(&d->eps.by_key, &i, &k, &v)) {
		struct endpoint *ep = v;
		struct bh_endpoint cur;

		if (dp_endpoint_get(&d->maps, ep->ip, &cur) == 0 &&
		    cur.ifindex == ep->ifindex) {
			ep->identity = cur.identity;
			ep->flags = cur.flags;
			kept++;
			continue;
		}
		endpoint_forget(&d->eps, ep);
		dropped++;
	}
	if (kept || dropped)
		daemon_log("resync: %zu endpoints kept, %zu stale dropped", kept, dropped);
}

/* ------------------------------------------------------------ flow log */

/* Local endpoints first (their pods' status may not name the address
 * yet), then every pod of the cluster. */
static const char *flow_pod_name(void *ctx, __be32 ip, char *buf, size_t len)
{
	struct daemon *d = ctx;
	const struct pod *p;
	size_t i = 0;
	const char *k;
	void *v;

	while (strmap_next(&d->eps.by_key, &i, &k, &v)) {
		struct endpoint *ep = v;

		if (ep->ip == ip) {
			snprintf(buf, len, "%s/%s", ep->ns, ep->pod);
			return buf;
		}
	}
	p = store_pod_by_ip(&d->store, ip);
	if (!p)
		return NULL;
	snprintf(buf, len, "%s", p->key);
	return buf;
}

/* The same object the flow log writes, as one line to each subscriber
 * of /events (bulkhead-ctl monitor). */
static void flow_publish(struct daemon *d, const json_t *j)
{
	char *line = json_dumps(j, JSON_COMPACT);

	if (!line)
		return;
	http_server_publish(d->http, line, strlen(line));
	free(line);
}

static void flow_event(void *ctx, const struct bh_event *ev)
{
	struct daemon *d = ctx;
	struct dp_err err = { 0 };
	bool streamed = http_server_has_subscribers(d->http);
	json_t *j;

	d->st.flow_events++;
	drop_table_count(&d->drops, ev);
	if (!d->flowlog && !streamed)
		return;
	j = flow_event_json(ev, d->mono_to_real_ns, flow_pod_name, d);
	if (d->flowlog && (!j || flowlog_write(d->flowlog, j, &err) < 0))
		d->st.flow_log_errors++;
	if (j && streamed)
		flow_publish(d, j);
	json_decref(j);
}

/* The ring buffer has one reader, the daemon: /events hands its events
 * on; every other path is metrics.c's. */
static int daemon_http_routes(void *ctx, const char *path, FILE *body,
			      const char **ctype)
{
	if (strcmp(path, "/events") == 0) {
		*ctype = "application/x-ndjson";
		return HTTP_STREAM;
	}
	return daemon_http(ctx, path, body, ctype);
}

static void events_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;

	(void)l;
	(void)fd;
	(void)events;
	event_reader_consume(d->events);
}

static int flows_open(struct daemon *d, struct dp_err *err)
{
	int rc;

	d->mono_to_real_ns = flow_mono_to_real_ns();
	if (d->o.flow_log && *d->o.flow_log) {
		struct flowlog_opts fo = {
			.path = d->o.flow_log,
			.max_bytes = d->o.flow_log_max_bytes,
			.keep = d->o.flow_log_keep,
		};

		rc = flowlog_open(&fo, &d->flowlog, err);
		if (rc < 0)
			return rc;
	}
	rc = event_reader_open(d->maps.events, flow_event, d, &d->events, err);
	if (rc < 0)
		return rc;
	if (loop_add(d->loop, event_reader_fd(d->events), EPOLLIN,
		     events_readable, d) < 0)
		return dp_errorf(err, -errno, "epoll: %s", strerror(errno));
	return 0;
}

/* ------------------------------------------------------------------ gc */

static int gc_interval_ms(const struct daemon *d)
{
	uint64_t ms = d->o.identity_gc_grace_ms / 2;

	return ms < 500 ? 500 : ms > GC_INTERVAL_MAX_MS ? GC_INTERVAL_MAX_MS : (int)ms;
}

static void gc_tick(struct loop *l, void *arg)
{
	struct daemon *d = arg;
	struct dp_err err = { 0 };
	int n;

	d->gc_timer = loop_timer(l, gc_interval_ms(d), gc_tick, d);
	if (!d->ready)
		return;
	n = identity_gc(&d->ids, d->kube, loop_now_ms(),
			d->o.identity_gc_grace_ms, &err);
	if (n < 0)
		daemon_log("identity garbage collection: %s", err.msg);
	else if (n > 0) {
		d->st.identity_gcs += (uint64_t)n;
		daemon_log("identity garbage collection: %d unused removed", n);
	}
}

/* ---------------------------------------------------------- life cycle */

static int datapath_open(struct daemon *d, struct dp_err *err)
{
	struct dp_load_result res;
	struct bh_config cfg;
	int rc;

	rc = dp_load(d->o.bpffs_root, &res, err);
	if (rc < 0)
		return rc;
	rc = dp_maps_open(d->o.bpffs_root, &d->maps, err);
	if (rc < 0)
		return rc;
	d->maps_open = true;
	rc = dp_config_get(&d->maps, &cfg, err);
	if (rc < 0)
		return rc;
	if (!!(cfg.flags & BH_CFG_F_AUDIT) != d->o.audit) {
		cfg.flags ^= BH_CFG_F_AUDIT;
		rc = dp_config_put(&d->maps, &cfg, err);
		if (rc == 0)
			rc = dp_policy_rev_bump(&d->maps, err);
		if (rc < 0)
			return rc;
	}
	rc = overlay_open(d, err);
	if (rc < 0)
		return rc;
	return daemon_shadow_load(d, err);
}

int daemon_init(struct daemon *d, const struct daemon_opts *o,
		struct dp_err *err)
{
	int rc;

	memset(d, 0, sizeof(*d));
	d->o = *o;
	d->manifest_fd = -1;
	prom_hist_init(&d->st.propagation, 0.0001, 1.5, 24);
	prom_hist_init(&d->st.reconcile_time, 0.0001, 1.5, 24);
	prom_hist_init(&d->st.add_wait, 0.0001, 1.5, 24);
	rc = o->label_filter ? label_filter_parse(o->label_filter, &d->filter, err) :
		label_filter_default(&d->filter);
	if (rc < 0)
		return rc;
	if (loop_new(&d->loop) < 0)
		return dp_errorf(err, -ENOMEM, "cannot create the event loop");
	rc = datapath_open(d, err);
	if (rc < 0)
		return rc;
	rc = endpoint_table_open(&d->eps, o->state_dir, err);
	if (rc < 0)
		return rc;
	endpoints_resync(d);
	rc = reg_server_open(d->loop, o->socket, reg_request, d, &d->reg, err);
	if (rc < 0)
		return rc;
	if (o->metrics_addr && *o->metrics_addr) {
		rc = http_server_open(d->loop, o->metrics_addr,
				      daemon_http_routes, d, &d->http, err);
		if (rc < 0)
			return rc;
	}
	rc = flows_open(d, err);
	if (rc < 0)
		return rc;
	d->gc_timer = loop_timer(d->loop, gc_interval_ms(d), gc_tick, d);
	return o->manifests ? sources_open_manifests(d, err) :
		sources_open_api(d, err);
}

int daemon_run(struct daemon *d)
{
	while (!d->stop) {
		int rc = loop_run_once(d->loop, 1000);

		if (rc < 0) {
			daemon_log("event loop: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void daemon_fini(struct daemon *d)
{
	for (int k = 0; k < STORE_NKINDS; k++)
		if (d->watch[k])
			kube_watch_stop(d->watch[k]);
	if (d->queue)
		kube_queue_free(d->queue);
	if (d->kube)
		kube_client_free(d->kube);
	if (d->reg)
		reg_server_close(d->reg);
	if (d->http)
		http_server_close(d->http);
	if (d->events)
		event_reader_free(d->events);
	if (d->flowlog)
		flowlog_close(d->flowlog);
	if (d->manifest_fd >= 0)
		close(d->manifest_fd);
	if (d->loop)
		loop_free(d->loop);
	if (d->maps_open)
		dp_maps_close(&d->maps);
	endpoint_table_free(&d->eps);
	identity_table_free(&d->ids);
	store_free(&d->store);
	label_filter_free(&d->filter);
	strmap_free(&d->cidr_ids);
	strmap_free(&d->rule_names);
	free(d->policy);
	free(d->ipcache);
	free(d->tunnels);
}
