/* Verdict events from the datapath's ring buffer, turned into JSON and
 * appended to a size-rotated flow log, one line per event. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "cni/fsutil.h"
#include "datapath/names.h"
#include "policyd/flowlog.h"

#define FLOWLOG_DEFAULT_MAX_BYTES (10u << 20)
#define FLOWLOG_DEFAULT_KEEP 3
/* "namespace/pod": 63 + 1 + 253 and the NUL. */
#define FLOW_NAME_LEN 320

/* --- one event as JSON --------------------------------------------------- */

/* "2026-11-25T02:33:04.123456Z" for ns since the epoch. */
static void format_time(int64_t ns, char *buf, size_t len)
{
	time_t sec;
	struct tm tm;
	size_t n;

	if (ns < 0)
		ns = 0;
	sec = (time_t)(ns / 1000000000);
	if (!gmtime_r(&sec, &tm)) {
		snprintf(buf, len, "1970-01-01T00:00:00.000000Z");
		return;
	}
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06lldZ",
		 (long long)(ns % 1000000000 / 1000));
}

/* A name from names.h, or the number itself for one the list lacks (an
 * event from a newer datapath), so the field keeps one type. */
static json_t *name_or_number(const char *name, unsigned int v)
{
	char buf[16];

	if (name)
		return json_string(name);
	snprintf(buf, sizeof(buf), "%u", v);
	return json_string(buf);
}

static bool proto_has_ports(unsigned int proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_SCTP;
}

/* {ip, port?, identity, pod?} for one side of the flow. */
static json_t *endpoint_json(__be32 ip, __be16 port, bool has_port,
			     __u32 identity, flow_name_fn name, void *name_ctx)
{
	char addr[INET_ADDRSTRLEN], pod[FLOW_NAME_LEN];
	const char *pod_name = NULL;
	json_t *o = json_object();

	if (!o)
		return NULL;
	inet_ntop(AF_INET, &ip, addr, sizeof(addr));
	if (name)
		pod_name = name(name_ctx, ip, pod, sizeof(pod));
	if (json_object_set_new(o, "ip", json_string(addr)) < 0 ||
	    (has_port &&
	     json_object_set_new(o, "port", json_integer(ntohs(port))) < 0) ||
	    json_object_set_new(o, "identity", json_integer(identity)) < 0 ||
	    (pod_name &&
	     json_object_set_new(o, "pod", json_string(pod_name)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *flow_event_json(const struct bh_event *ev, int64_t mono_to_real_ns,
			flow_name_fn name, void *name_ctx)
{
	bool ports = proto_has_ports(ev->proto);
	char when[64];
	json_t *o = json_object();

	if (!o)
		return NULL;
	format_time((int64_t)ev->ts_ns + mono_to_real_ns, when, sizeof(when));
	/* json_object_set_new takes the value even when it fails, so a chain
	 * of them leaks nothing. */
	if (json_object_set_new(o, "time", json_string(when)) < 0 ||
	    json_object_set_new(o, "verdict", name_or_number(
			dp_verdict_name(ev->verdict), ev->verdict)) < 0 ||
	    json_object_set_new(o, "reason", name_or_number(
			dp_reason_name(ev->reason), ev->reason)) < 0 ||
	    json_object_set_new(o, "dir", name_or_number(
			dp_dir_name(ev->dir), ev->dir)) < 0 ||
	    json_object_set_new(o, "proto", name_or_number(
			dp_proto_name(ev->proto), ev->proto)) < 0 ||
	    json_object_set_new(o, "src", endpoint_json(ev->saddr, ev->sport,
			ports, ev->src_id, name, name_ctx)) < 0 ||
	    json_object_set_new(o, "dst", endpoint_json(ev->daddr, ev->dport,
			ports, ev->dst_id, name, name_ctx)) < 0)
		goto fail;
	/* An echo request carries its id as the source port, a reply as the
	 * destination port; other ICMP carries none. */
	if (ev->proto == IPPROTO_ICMP &&
	    json_object_set_new(o, "icmp_id", json_integer(
			ntohs(ev->sport ? ev->sport : ev->dport))) < 0)
		goto fail;
	if (json_object_set_new(o, "rule_id", json_integer(ev->rule_id)) < 0 ||
	    json_object_set_new(o, "ifindex", json_integer(ev->ifindex)) < 0 ||
	    json_object_set_new(o, "len", json_integer(ev->len)) < 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

int64_t flow_mono_to_real_ns(void)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000 +
	       (real.tv_nsec - mono.tv_nsec);
}

/* --- the ring buffer ----------------------------------------------------- */

struct event_reader {
	struct ring_buffer *rb;
	event_cb cb;
	void *ctx;
};

/* A record shorter than the struct is from a datapath we do not match;
 * it is skipped rather than read past its end. */
static int on_record(void *ctx, void *data, size_t size)
{
	struct event_reader *r = ctx;
	struct bh_event ev;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));	/* the ring gives 8-byte alignment only */
	r->cb(r->ctx, &ev);
	return 0;
}

int event_reader_open(int events_map_fd, event_cb cb, void *ctx,
		      struct event_reader **out, struct dp_err *err)
{
	struct event_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return dp_errorf(err, -ENOMEM, "event reader: out of memory");
	r->cb = cb;
	r->ctx = ctx;
	r->rb = ring_buffer__new(events_map_fd, on_record, r, NULL);
	if (!r->rb) {
		int code = -errno;

		free(r);
		return dp_errorf(err, code, "event reader on map fd %d: %s",
				 events_map_fd, strerror(-code));
	}
	*out = r;
	return 0;
}

int event_reader_fd(const struct event_reader *r)
{
	return ring_buffer__epoll_fd(r->rb);
}

int event_reader_consume(struct event_reader *r)
{
	return ring_buffer__consume(r->rb);
}

void event_reader_free(struct event_reader *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	free(r);
}

/* --- the log file -------------------------------------------------------- */

struct flowlog {
	char *path;
	char *rotated;		/* room for "path.N" */
	size_t rotated_len;
	size_t max_bytes;
	int keep;
	int fd;			/* -1 after a failed reopen; retried per write */
	size_t size;
};

static int open_log(struct flowlog *f, struct dp_err *err)
{
	struct stat st;

	f->fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (f->fd < 0)
		return dp_errorf(err, -errno, "flow log %s: open: %s", f->path,
				 strerror(errno));
	if (fstat(f->fd, &st) < 0) {
		int code = -errno;

		close(f->fd);
		f->fd = -1;
		return dp_errorf(err, code, "flow log %s: stat: %s", f->path,
				 strerror(-code));
	}
	f->size = (size_t)st.st_size;
	return 0;
}

int flowlog_open(const struct flowlog_opts *o, struct flowlog **out,
		 struct dp_err *err)
{
	struct flowlog *f;
	int r;

	if (!o->path || !*o->path || o->keep < 0)
		return dp_errorf(err, -EINVAL, "flow log: %s",
				 o->keep < 0 ? "keep is negative" : "no path");
	if (mkdir_parent(o->path, 0750) < 0)
		return dp_errorf(err, -errno, "flow log %s: directory: %s",
				 o->path, strerror(errno));
	f = calloc(1, sizeof(*f));
	if (!f)
		return dp_errorf(err, -ENOMEM, "flow log: out of memory");
	f->max_bytes = o->max_bytes ? o->max_bytes : FLOWLOG_DEFAULT_MAX_BYTES;
	f->keep = o->keep ? o->keep : FLOWLOG_DEFAULT_KEEP;
	f->path = strdup(o->path);
	f->rotated_len = strlen(o->path) + 16;
	f->rotated = malloc(f->rotated_len);
	if (!f->path || !f->rotated) {
		r = dp_errorf(err, -ENOMEM, "flow log: out of memory");
		goto fail;
	}
	r = open_log(f, err);
	if (r < 0)
		goto fail;
	*out = f;
	return 0;
fail:
	free(f->path);
	free(f->rotated);
	free(f);
	return r;
}

/* path.(k-1) becomes path.k, k from keep down to 2 (the oldest is
 * overwritten, so at most keep old files stay), then path becomes path.1
 * and a new path is started. */
static int rotate(struct flowlog *f, struct dp_err *err)
{
	char *older;
	int r = 0;

	older = malloc(f->rotated_len);
	if (!older)
		return dp_errorf(err, -ENOMEM, "flow log: out of memory");
	for (int k = f->keep; k >= 2; k--) {
		snprintf(older, f->rotated_len, "%s.%d", f->path, k);
		snprintf(f->rotated, f->rotated_len, "%s.%d", f->path, k - 1);
		if (rename(f->rotated, older) < 0 && errno != ENOENT) {
			r = dp_errorf(err, -errno, "flow log: rename %s to %s: %s",
				      f->rotated, older, strerror(errno));
			goto out;
		}
	}
	snprintf(f->rotated, f->rotated_len, "%s.1", f->path);
	if (rename(f->path, f->rotated) < 0) {
		r = dp_errorf(err, -errno, "flow log: rename %s to %s: %s",
			      f->path, f->rotated, strerror(errno));
		goto out;
	}
	close(f->fd);
	r = open_log(f, err);
out:
	free(older);
	return r;
}

/* The line goes out in one write(), so with O_APPEND it is never split or
 * interleaved. A failed rotation still writes to the file it has: a log
 * that grows beats a log that stops. */
int flowlog_write(struct flowlog *f, const json_t *line, struct dp_err *err)
{
	size_t n = json_dumpb(line, NULL, 0, JSON_COMPACT);
	char *buf = NULL;
	ssize_t w;
	int r = 0;

	if (!n)
		return dp_errorf(err, -EINVAL, "flow log %s: event not serializable",
				 f->path);
	buf = malloc(n + 1);
	if (!buf)
		return dp_errorf(err, -ENOMEM, "flow log: out of memory");
	json_dumpb(line, buf, n, JSON_COMPACT);
	buf[n++] = '\n';
	if (f->fd >= 0 && f->size && f->size + n > f->max_bytes)
		r = rotate(f, err);
	if (f->fd < 0) {
		int o = open_log(f, err);

		if (o < 0) {
			r = o;
			goto out;
		}
	}
	w = write(f->fd, buf, n);
	if (w < 0) {
		r = dp_errorf(err, -errno, "flow log %s: write: %s", f->path,
			      strerror(errno));
		goto out;
	}
	f->size += (size_t)w;
	if ((size_t)w < n)
		r = dp_errorf(err, -ENOSPC, "flow log %s: short write (%zd of %zu bytes)",
			      f->path, w, n);
out:
	free(buf);
	return r;
}

void flowlog_close(struct flowlog *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f->rotated);
	free(f);
}
