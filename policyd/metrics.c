/* What the daemon serves over HTTP: /healthz for probes, /metrics in
 * the Prometheus text format (names documented in the README), /status
 * for tools that wait for a change to be enforced, /endpoints,
 * /identities and /policies, the names bulkhead-ctl puts on the maps'
 * numbers, and /drops, the most dropped pairs. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bulkhead/counters.h"
#include "bulkhead/endpoint.h"
#include "bulkhead/ipcache.h"
#include "bulkhead/policy.h"
#include "bulkhead/tunnel.h"
#include "datapath/names.h"
#include "policyd/daemon.h"
#include "policyd/kube_client.h"

static void gauge(FILE *f, const char *name, const char *help, double v)
{
	prom_header(f, name, "gauge", help);
	prom_sample(f, name, NULL, 0, v);
}

static void counter(FILE *f, const char *name, const char *help, double v)
{
	prom_header(f, name, "counter", help);
	prom_sample(f, name, NULL, 0, v);
}

static void datapath_metrics(struct daemon *d, FILE *f)
{
	static struct bh_counter c[BH_MAX_COUNTERS];
	struct bh_event_budget b;
	struct dp_err err = { 0 };

	if (dp_counters_read(&d->maps, c, &err) == 0) {
		prom_header(f, "bulkhead_datapath_packets_total", "counter",
			    "Packets decided by the datapath, by verdict, reason and direction.");
		for (unsigned int v = 0; v < BH_VERDICT_MAX; v++)
			for (unsigned int r = 0; r < BH_REASON_MAX; r++)
				for (unsigned int dir = 0; dir < BH_DIR_MAX; dir++) {
					const struct bh_counter *x =
						&c[BH_COUNTER_INDEX(v, r, dir)];
					const char *kv[6] = {
						"verdict", dp_verdict_name(v),
						"reason", dp_reason_name(r),
						"direction", dp_dir_name(dir),
					};

					if (!x->packets)
						continue;
					prom_sample(f, "bulkhead_datapath_packets_total",
						    kv, 3, (double)x->packets);
				}
	}
	if (dp_event_budget_read(&d->maps, &b, &err) == 0) {
		counter(f, "bulkhead_events_suppressed_total",
			"Verdict events held back by the per-CPU rate limit.",
			(double)b.suppressed);
		counter(f, "bulkhead_events_lost_total",
			"Verdict events lost to a full ring buffer.", (double)b.lost);
	}
}

static void map_fill(FILE *f, const char *map, double n, double cap)
{
	const char *kv[2] = { "map", map };

	prom_sample(f, "bulkhead_map_entries", kv, 1, n);
	prom_sample(f, "bulkhead_map_capacity", kv, 1, cap);
}

static void watch_metrics(struct daemon *d, FILE *f)
{
	static const char *const names[] = {
		"bulkhead_watch_connected", "bulkhead_watch_lag_seconds",
		"bulkhead_watch_relists_total", "bulkhead_watch_reconnects_total",
		"bulkhead_watch_events_total",
	};
	static const char *const types[] = {
		"gauge", "gauge", "counter", "counter", "counter",
	};
	static const char *const helps[] = {
		"Whether the watch stream of a kind is connected.",
		"Seconds since the last line (event or bookmark) of a kind's watch.",
		"Full relists of a kind (start, 410 Gone).",
		"Reconnects of a kind's watch after a dropped stream.",
		"Watch events of a kind.",
	};
	uint64_t now = loop_now_ns();
	for (size_t m = 0; m < sizeof(names) / sizeof(names[0]); m++) {
		prom_header(f, names[m], types[m], helps[m]);
		for (int k = 0; k < STORE_NKINDS; k++) {
			struct kube_watch_stats s = { 0 };
			const char *kv[2] = { "kind", store_kind_name(k) };
			double v;

			if (!d->watch[k])
				continue;
			kube_watch_stats(d->watch[k], &s);
			switch (m) {
			case 0: v = kube_watch_connected(d->watch[k]); break;
			case 1: v = s.last_event_ns ? (double)(now - s.last_event_ns) / 1e9 : -1; break;
			case 2: v = (double)s.relists; break;
			case 3: v = (double)s.reconnects; break;
			default: v = (double)s.events; break;
			}
			prom_sample(f, names[m], kv, 1, v);
		}
	}
}

static void metrics(struct daemon *d, FILE *f)
{
	gauge(f, "bulkhead_ready", "1 once the first sync is applied.", d->ready);
	gauge(f, "bulkhead_endpoints", "Local endpoints registered by the CNI plugin.",
	      (double)d->eps.by_key.n);
	gauge(f, "bulkhead_identities", "Cluster identities known to this node.",
	      (double)d->ids.by_id.n);
	gauge(f, "bulkhead_pods", "Pods of the cluster known to this node.",
	      (double)d->store.pods.n);
	gauge(f, "bulkhead_networkpolicies", "NetworkPolicies known to this node.",
	      (double)d->store.policies.n);
	gauge(f, "bulkhead_nodes", "Nodes of the cluster known to this node.",
	      (double)d->store.nodes.n);
	prom_header(f, "bulkhead_applied_resource_version", "gauge",
		    "Largest resourceVersion, by kind, of the changes the datapath holds.");
	for (int k = 0; k < STORE_NKINDS; k++) {
		const char *kv[2] = { "kind", store_kind_name(k) };

		prom_sample(f, "bulkhead_applied_resource_version", kv, 1,
			    (double)d->applied_rv[k]);
	}
	prom_header(f, "bulkhead_map_entries", "gauge",
		    "Entries the daemon keeps in a datapath map.");
	prom_header(f, "bulkhead_map_capacity", "gauge", "Size of a datapath map.");
	map_fill(f, "endpoints", (double)d->eps.by_key.n, BH_MAX_ENDPOINTS);
	map_fill(f, "ipcache", (double)d->nipcache, BH_MAX_IPCACHE);
	map_fill(f, "policy", (double)d->npolicy, BH_MAX_POLICY);
	map_fill(f, "tunnel", (double)d->ntunnels, BH_MAX_NODES);
	prom_header(f, "bulkhead_bad_objects_total", "counter",
		    "API objects skipped as invalid, by kind.");
	for (int k = 0; k < STORE_NKINDS; k++) {
		const char *kv[2] = { "kind", store_kind_name(k) };

		prom_sample(f, "bulkhead_bad_objects_total", kv, 1,
			    (double)d->store.bad_objects[k]);
	}
	counter(f, "bulkhead_reconciles_total", "Datapath updates.",
		(double)d->st.reconciles);
	counter(f, "bulkhead_reconcile_errors_total", "Datapath updates that failed.",
		(double)d->st.reconcile_errors);
	counter(f, "bulkhead_policy_map_writes_total", "Policy map entries written or deleted.",
		(double)d->st.policy_writes);
	counter(f, "bulkhead_ipcache_writes_total", "ipcache entries written or deleted.",
		(double)d->st.ipcache_writes);
	counter(f, "bulkhead_endpoint_writes_total", "Endpoint entries updated.",
		(double)d->st.endpoint_writes);
	counter(f, "bulkhead_tunnel_writes_total", "Tunnel map entries written or deleted.",
		(double)d->st.tunnel_writes);
	counter(f, "bulkhead_identity_allocations_total", "Identities this node allocated or adopted.",
		(double)d->st.identity_allocs);
	counter(f, "bulkhead_identity_gc_total", "Unused identities deleted.",
		(double)d->st.identity_gcs);
	counter(f, "bulkhead_flow_events_total", "Verdict events read from the datapath.",
		(double)d->st.flow_events);
	counter(f, "bulkhead_flow_log_errors_total", "Verdict events the flow log could not take.",
		(double)d->st.flow_log_errors);
	counter(f, "bulkhead_cni_adds_total", "CNI ADDs answered with an identity.",
		(double)d->st.reg_add);
	counter(f, "bulkhead_cni_dels_total", "CNI DELs.", (double)d->st.reg_del);
	counter(f, "bulkhead_cni_failures_total", "CNI ADDs refused.",
		(double)d->st.reg_fail);
	prom_hist_write(f, "bulkhead_policy_propagation_seconds",
			"From reading a watch event to the datapath holding its effect.",
			&d->st.propagation);
	prom_hist_write(f, "bulkhead_reconcile_seconds",
			"Time of one datapath update.", &d->st.reconcile_time);
	prom_hist_write(f, "bulkhead_cni_add_wait_seconds",
			"From a CNI ADD's registration to its answer.", &d->st.add_wait);
	watch_metrics(d, f);
	datapath_metrics(d, f);
}

/* {"pod":{"connected":true,"lag_s":1.2},...}: the kinds watched (none
 * in manifest mode); lag_s is null before a watch's first line. */
static json_t *watch_json(struct daemon *d)
{
	uint64_t now = loop_now_ns();
	json_t *out = json_object();

	for (int k = 0; out && k < STORE_NKINDS; k++) {
		struct kube_watch_stats s = { 0 };

		if (!d->watch[k])
			continue;
		kube_watch_stats(d->watch[k], &s);
		if (json_object_set_new(out, store_kind_name(k), json_pack("{s:b, s:o}",
				"connected", kube_watch_connected(d->watch[k]),
				"lag_s", s.last_event_ns ?
					json_real((double)(now - s.last_event_ns) / 1e9) :
					json_null())) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* {"ready":true,"node":"n1","applied":{"pod":"123",...},"watch":{..}}:
 * the kinds of which a change has been applied, with the largest
 * resourceVersion (a string, as the API server writes them). */
static int status(struct daemon *d, FILE *f)
{
	json_t *j = json_pack("{s:b, s:s?, s:{}, s:o}", "ready", d->ready, "node",
			      d->o.node, "applied", "watch", watch_json(d));
	json_t *applied = json_object_get(j, "applied");
	int rc = -1;

	if (!j)
		return -1;
	for (int k = 0; k < STORE_NKINDS; k++) {
		char rv[24];

		if (!d->applied_rv[k])
			continue;
		snprintf(rv, sizeof(rv), "%" PRIu64, d->applied_rv[k]);
		if (json_object_set_new(applied, store_kind_name(k), json_string(rv)) < 0)
			goto out;
	}
	rc = json_dumpf(j, f, JSON_COMPACT);
	fputc('\n', f);
out:
	json_decref(j);
	return rc;
}

/* [{"ip":..,"namespace":..,"pod":..,"containerID":..,"ifname":..,
 * "hostIfname":..,"identity":N}]: the endpoints the plugin registered. */
static json_t *endpoints_json(const struct daemon *d)
{
	json_t *arr = json_array();
	const char *key;
	void *val;

	for (size_t i = 0; arr && strmap_next(&d->eps.by_key, &i, &key, &val);) {
		const struct endpoint *ep = val;
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &ep->ip, ip, sizeof(ip));
		if (json_array_append_new(arr, json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:I}",
				"ip", ip, "namespace", ep->ns, "pod", ep->pod,
				"containerID", ep->container_id, "ifname", ep->ifname,
				"hostIfname", ep->host_ifname,
				"identity", (json_int_t)ep->identity)) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* [{"id":N,"labels":{..}}]: the cluster identities this node knows. */
static json_t *identities_json(const struct daemon *d)
{
	json_t *arr = json_array();
	const char *key;
	void *val;

	for (size_t i = 0; arr && strmap_next(&d->ids.by_id, &i, &key, &val);) {
		const struct identity *id = val;

		if (json_array_append_new(arr, json_pack("{s:I, s:o}",
				"id", (json_int_t)id->id,
				"labels", labels_to_json(&id->labels))) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* [{"id":N,"namespace":..,"name":..}]: the NetworkPolicies this node
 * holds, by the number their rule ids are made from. */
static json_t *policies_json(const struct daemon *d)
{
	json_t *arr = json_array();
	const char *key;
	void *val;

	for (size_t i = 0; arr && strmap_next(&d->store.policies, &i, &key, &val);) {
		const struct policy *p = val;

		if (json_array_append_new(arr, json_pack("{s:I, s:s?, s:s?}",
				"id", (json_int_t)p->np.id, "namespace", p->np.ns,
				"name", p->np.name)) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Writes a document built above; 500 when it could not be built. */
static int json_page(json_t *j, FILE *body, const char **ctype)
{
	int rc;

	if (!j) {
		fputs("out of memory\n", body);
		return 500;
	}
	*ctype = "application/json";
	rc = json_dumpf(j, body, JSON_COMPACT);
	fputc('\n', body);
	json_decref(j);
	return rc == 0 ? 200 : 500;
}

int daemon_http(void *ctx, const char *path, FILE *body, const char **ctype)
{
	struct daemon *d = ctx;

	if (strcmp(path, "/healthz") == 0) {
		fputs(d->ready ? "ok\n" : "syncing\n", body);
		return d->ready ? 200 : 503;
	}
	if (strcmp(path, "/metrics") == 0) {
		*ctype = "text/plain; version=0.0.4";
		metrics(d, body);
		return 200;
	}
	if (strcmp(path, "/status") == 0) {
		*ctype = "application/json";
		if (status(d, body) == 0)
			return 200;
		fputs("out of memory\n", body);
		return 500;
	}
	if (strcmp(path, "/endpoints") == 0)
		return json_page(endpoints_json(d), body, ctype);
	if (strcmp(path, "/identities") == 0)
		return json_page(identities_json(d), body, ctype);
	if (strcmp(path, "/policies") == 0)
		return json_page(policies_json(d), body, ctype);
	if (strcmp(path, "/drops") == 0)
		return json_page(drop_table_json(&d->drops, DROP_PAIRS_TOP, loop_now_ns()),
				 body, ctype);
	fputs("not found: try /healthz, /metrics, /status, /endpoints, /identities, "
	      "/policies or /drops\n", body);
	return 404;
}
