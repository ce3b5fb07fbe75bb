/* The NetworkPolicy compiler's test cases as JSON: identities, local
 * identities and policies read into compiler input, and rules written in
 * one textual form ("300 <- 301 tcp/80") that golden files compare. */
#ifndef BH_TESTS_COMPILE_UTIL_H
#define BH_TESTS_COMPILE_UTIL_H

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "bulkhead/endpoint.h"
#include "bulkhead/identity.h"
#include "bulkhead/reason.h"
#include "policyd/compile.h"

/* A test file the test cannot read is a bail-out, not a failed check. */
static void bail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(255);
}

/* --- string lists --------------------------------------------------------- */

struct strlist {
	char **v;
	size_t n;
};

static void strlist_add(struct strlist *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void strlist_add(struct strlist *l, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		bail("out of memory");
	va_end(ap);
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	if (!l->v)
		bail("out of memory");
	l->v[l->n++] = s;
}

static int str_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strlist_sort(struct strlist *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), str_order);
}

static void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct strlist){ 0 };
}

/* A JSON array of strings; where names the field for a bail-out. */
static void strlist_from_json(struct strlist *l, const json_t *a,
			      const char *where)
{
	size_t i;
	json_t *s;

	if (!json_is_array(a))
		bail("%s: must be an array of strings", where);
	json_array_foreach(a, i, s) {
		if (!json_is_string(s))
			bail("%s[%zu]: must be a string", where, i);
		strlist_add(l, "%s", json_string_value(s));
	}
}

/* Both sorted. Equal (or, with subset, every wanted line present); else
 * prints the lines missing and the lines not expected. */
static bool strlist_check(const struct strlist *got, const struct strlist *want,
			  bool subset, const char *what)
{
	size_t i = 0, j = 0;
	bool same = true;

	while (i < got->n || j < want->n) {
		int d = i == got->n ? 1 : j == want->n ? -1 :
			strcmp(got->v[i], want->v[j]);

		if (d == 0) {
			i++, j++;
		} else if (d > 0) {
			printf("#   %s missing:    %s\n", what, want->v[j++]);
			same = false;
		} else {
			if (!subset)
				printf("#   %s unexpected: %s\n", what, got->v[i]);
			same = same && subset;
			i++;
		}
	}
	return same;
}

/* --- a case's input ------------------------------------------------------- */

#define CIDR_IDS_MAX 1024

/* Hands out CIDR identities like the daemon: stable per prefix, from
 * BH_ID_LOCAL_MIN up; limit makes it run dry for the -ENOSPC test. */
struct cidr_alloc {
	struct np_cidr v[CIDR_IDS_MAX];
	size_t n;
	size_t limit;
};

static __u32 cidr_alloc_id(void *ctx, const struct np_cidr *c)
{
	struct cidr_alloc *a = ctx;

	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].addr == c->addr && a->v[i].plen == c->plen)
			return BH_ID_LOCAL_MIN + (__u32)i;
	if (a->n >= a->limit || a->n >= CIDR_IDS_MAX)
		return 0;
	a->v[a->n] = *c;
	return BH_ID_LOCAL_MIN + (__u32)a->n++;
}

struct world {
	struct cmp_identity *ids;
	struct labels *labels;		/* ids[i].labels */
	struct named_port **ports;	/* ids[i].ports */
	size_t nids;
	__u32 *local;
	size_t nlocal;
	struct netpol *pols;
	size_t npols;
	struct cidr_alloc alloc;
	struct compile_opts opts;
};

static __u8 proto_parse(const char *s, const char *where)
{
	if (s && strcmp(s, "TCP") == 0)
		return IPPROTO_TCP;
	if (s && strcmp(s, "UDP") == 0)
		return IPPROTO_UDP;
	if (s && strcmp(s, "SCTP") == 0)
		return IPPROTO_SCTP;
	bail("%s: protocol must be TCP, UDP or SCTP", where);
}

static void labels_or_bail(const json_t *j, struct labels *out,
			   const char *where)
{
	struct dp_err err = { 0 };

	if (labels_from_json(j, out, &err) < 0)
		bail("%s: %s", where, err.msg);
}

/* Namespace labels as the API server keeps them: the given ones plus
 * kubernetes.io/metadata.name. */
static void ns_labels(const json_t *namespaces, const char *ns,
		      struct labels *out, const char *where)
{
	labels_or_bail(json_object_get(namespaces, ns), out, where);
	if (labels_set(out, LABELS_NS_NAME_KEY, ns) < 0)
		bail("out of memory");
}

/* With "ns": the identity of a pod of that namespace, made the way the
 * daemon makes it. Without: "labels" taken verbatim (reserved ones). */
static void identity_labels(const json_t *j, const json_t *namespaces,
			    struct labels *out, const char *where)
{
	const char *ns = json_string_value(json_object_get(j, "ns"));
	struct labels pod = { 0 }, nsl = { 0 };
	struct label_filter none = { 0 };
	const char *key;
	json_t *v;

	if (!ns) {
		json_object_foreach(json_object_get(j, "labels"), key, v)
			if (!json_is_string(v) ||
			    labels_set(out, key, json_string_value(v)) < 0)
				bail("%s: labels must be strings", where);
		return;
	}
	labels_or_bail(json_object_get(j, "labels"), &pod, where);
	ns_labels(namespaces, ns, &nsl, where);
	if (labels_identity(&pod, &nsl, &none, out) < 0)
		bail("%s: labels_identity failed", where);
	labels_free(&pod);
	labels_free(&nsl);
}

static void identity_ports(const json_t *list, struct named_port **out,
			   size_t *n, const char *where)
{
	size_t i;
	json_t *p;

	*n = json_array_size(list);
	*out = calloc(*n ? *n : 1, sizeof(**out));
	if (!*out)
		bail("out of memory");
	json_array_foreach(list, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		json_int_t port = json_integer_value(json_object_get(p, "port"));

		if (!name || strlen(name) > NETPOL_PORT_NAME_MAX || port < 1 ||
		    port > 65535)
			bail("%s: ports[%zu] needs a name and a port", where, i);
		strcpy((*out)[i].name, name);
		(*out)[i].proto = proto_parse(json_string_value(
			json_object_get(p, "proto")), where);
		(*out)[i].port = (__u16)port;
	}
}

static void world_identities(struct world *w, const json_t *doc,
			     const char *where)
{
	const json_t *list = json_object_get(doc, "identities");
	const json_t *namespaces = json_object_get(doc, "namespaces");
	size_t i;
	json_t *j;

	w->nids = json_array_size(list);
	w->ids = calloc(w->nids + 1, sizeof(*w->ids));
	w->labels = calloc(w->nids + 1, sizeof(*w->labels));
	w->ports = calloc(w->nids + 1, sizeof(*w->ports));
	if (!w->ids || !w->labels || !w->ports)
		bail("out of memory");
	json_array_foreach(list, i, j) {
		json_int_t id = json_integer_value(json_object_get(j, "id"));

		if (id < 1 || id > BH_ID_CLUSTER_MAX)
			bail("%s: identities[%zu].id missing or out of range",
			     where, i);
		identity_labels(j, namespaces, &w->labels[i], where);
		identity_ports(json_object_get(j, "ports"), &w->ports[i],
			       &w->ids[i].nports, where);
		w->ids[i].id = (__u32)id;
		w->ids[i].labels = &w->labels[i];
		w->ids[i].ports = w->ports[i];
	}
}

/* Policy ids are their position plus one, as a daemon might number them. */
static void world_policies(struct world *w, const json_t *list,
			   const char *where)
{
	size_t i;
	json_t *j;

	w->npols = json_array_size(list);
	w->pols = calloc(w->npols + 1, sizeof(*w->pols));
	if (!w->pols)
		bail("out of memory");
	json_array_foreach(list, i, j) {
		struct dp_err err = { 0 };

		if (netpol_parse(j, &w->pols[i], &err) < 0)
			bail("%s: policies[%zu]: %s", where, i, err.msg);
		w->pols[i].id = (__u32)i + 1;
	}
}

static void world_locals(struct world *w, const json_t *list,
			 const char *where)
{
	size_t i;
	json_t *j;

	w->nlocal = json_array_size(list);
	w->local = calloc(w->nlocal + 1, sizeof(*w->local));
	if (!w->local)
		bail("out of memory");
	json_array_foreach(list, i, j) {
		if (!json_is_integer(j))
			bail("%s: local[%zu] must be an identity number", where, i);
		w->local[i] = (__u32)json_integer_value(j);
	}
}

/* doc: {"namespaces": {NAME: {labels}}, "identities": [...], "local": [...],
 * "policies": [...], "allow_host": bool}. */
static void world_load(struct world *w, const json_t *doc, const char *where)
{
	*w = (struct world){ 0 };
	w->alloc.limit = CIDR_IDS_MAX;
	w->opts.allow_host = json_is_true(json_object_get(doc, "allow_host"));
	w->opts.cidr_id = cidr_alloc_id;
	w->opts.cidr_ctx = &w->alloc;
	world_identities(w, doc, where);
	world_locals(w, json_object_get(doc, "local"), where);
	world_policies(w, json_object_get(doc, "policies"), where);
}

static void world_free(struct world *w)
{
	for (size_t i = 0; i < w->nids; i++) {
		labels_free(&w->labels[i]);
		free(w->ports[i]);
	}
	for (size_t i = 0; i < w->npols; i++)
		netpol_free(&w->pols[i]);
	free(w->ids);
	free(w->labels);
	free(w->ports);
	free(w->local);
	free(w->pols);
}

/* --- rules as text -------------------------------------------------------- */

static const char *proto_str(unsigned int proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_SCTP: return "sctp";
	case IPPROTO_ICMP: return "icmp";
	default: return "?";
	}
}

static void cidr_fmt(const struct np_cidr *c, char *buf, size_t len)
{
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &c->addr, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, c->plen);
}

/* "any", "host", "cidr:10.0.0.0/8" or the number. */
static void remote_fmt(const struct compile_out *out, __u32 id, char *buf,
		       size_t len)
{
	char cidr[INET_ADDRSTRLEN + 4];

	if (id == BH_POLICY_ANY_ID) {
		snprintf(buf, len, "any");
		return;
	}
	if (id == BH_ID_HOST) {
		snprintf(buf, len, "host");
		return;
	}
	for (size_t i = 0; i < out->ncidrs; i++) {
		if (out->cidrs[i].id != id)
			continue;
		cidr_fmt(&out->cidrs[i].cidr, cidr, sizeof(cidr));
		snprintf(buf, len, "cidr:%s", cidr);
		return;
	}
	snprintf(buf, len, "%u", id);
}

/* "any" (every protocol), "tcp/any" (every port), "tcp/80", "tcp/80-90". */
static void ports_fmt(const struct dp_rule *r, char *buf, size_t len)
{
	if (r->proto == 0)
		snprintf(buf, len, "any");
	else if (r->port_lo == 0 && r->port_hi == 0)
		snprintf(buf, len, "%s/any", proto_str(r->proto));
	else if (r->port_lo == r->port_hi)
		snprintf(buf, len, "%s/%u", proto_str(r->proto), r->port_lo);
	else
		snprintf(buf, len, "%s/%u-%u", proto_str(r->proto), r->port_lo,
			 r->port_hi);
}

/* Where the rule came from: "@host" or "@ns/name.in[0]" / ".eg[0]". */
static void origin_fmt(const struct world *w, __u32 rule_id, char *buf,
		       size_t len)
{
	__u32 pid = compile_rule_policy(rule_id);

	if (rule_id == COMPILE_RULE_HOST) {
		snprintf(buf, len, "@host");
		return;
	}
	for (size_t i = 0; i < w->npols; i++) {
		if (w->pols[i].id != pid)
			continue;
		snprintf(buf, len, "@%s/%s.%s[%u]", w->pols[i].ns,
			 w->pols[i].name,
			 compile_rule_dir(rule_id) == BH_DIR_INGRESS ? "in" : "eg",
			 compile_rule_idx(rule_id));
		return;
	}
	snprintf(buf, len, "@rule%u", rule_id);
}

/* "300 <- 301 tcp/80" (ingress: from 301) or "300 -> any any" (egress),
 * with " @origin" appended when asked. */
static void rules_text(const struct world *w, const struct compile_out *out,
		       bool origin, struct strlist *l)
{
	for (size_t i = 0; i < out->nrules; i++) {
		const struct dp_rule *r = &out->rules[i];
		char remote[48], ports[32], from[96] = "";

		remote_fmt(out, r->remote_id, remote, sizeof(remote));
		ports_fmt(r, ports, sizeof(ports));
		if (origin)
			origin_fmt(w, r->rule_id, from, sizeof(from));
		strlist_add(l, "%u %s %s %s%s%s", r->local_id,
			    r->dir == BH_DIR_INGRESS ? "<-" : "->", remote, ports,
			    origin ? " " : "", from);
	}
	strlist_sort(l);
}

/* "300 ingress", "300 egress" for every enforced direction. */
static void enforce_text(const struct compile_out *out, struct strlist *l)
{
	for (size_t i = 0; i < out->nenforce; i++) {
		if (out->enforce[i].flags & BH_EP_F_ENFORCE_INGRESS)
			strlist_add(l, "%u ingress", out->enforce[i].id);
		if (out->enforce[i].flags & BH_EP_F_ENFORCE_EGRESS)
			strlist_add(l, "%u egress", out->enforce[i].id);
	}
	strlist_sort(l);
}

/* --- files ---------------------------------------------------------------- */

/* The *.json files of dir, sorted, as "dir/name". */
static void json_files(const char *dir, struct strlist *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		bail("%s: cannot open (run from the source tree): %m", dir);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
			strlist_add(out, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	strlist_sort(out);
}

static json_t *json_read(const char *path)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);

	if (!doc)
		bail("%s:%d: %s", path, jerr.line, jerr.text);
	return doc;
}

#endif
