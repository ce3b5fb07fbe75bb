/* rtnetlink through libmnl: builds link, address and route requests, reads
 * the kernel's answers through one receive loop, and turns errors into CNI errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "cni/log.h"
#include "cni/netlink.h"

/* Room for the device part of an error message: a name or "ifindex N". */
#define DEV_STRLEN (IF_NAMESIZE + 16)
#define ROUTE_STRLEN (2 * IP_PREFIX_STRLEN + DEV_STRLEN + 32)
#define ALIAS_MAX (sizeof(((struct nl_link *)0)->alias) - 1)

/* What the kernel said about one request. */
struct nl_reply {
	int error;			/* 0 or -errno */
	char msg[160];			/* extended ack text, "" when none */
};

/* Called for every data message of a reply; returns 0 or -errno. */
typedef int (*nl_msg_fn)(const struct nlmsghdr *nlh, void *arg);

/* State of one request/reply exchange while its messages are read. */
struct nl_exchange {
	uint32_t seq;
	nl_msg_fn fn;
	void *arg;
	int fn_error;			/* first failure of fn; fn not called after */
	bool interrupted;		/* a dump saw the table change under it */
	bool done;
	struct nl_reply *reply;
};

static size_t nl_bufsize(void)
{
	return MNL_SOCKET_BUFFER_SIZE;
}

static size_t family_bytes(int family)
{
	if (family == AF_INET)
		return 4;
	if (family == AF_INET6)
		return 16;
	return 0;
}

/* Attribute tables: tb[type] points at the last attribute of that type. */
struct attr_table {
	const struct nlattr **tb;
	unsigned int max;
};

static int attr_table_cb(const struct nlattr *a, void *data)
{
	const struct attr_table *t = data;
	unsigned int type = mnl_attr_get_type(a);

	/* Types newer than our headers are skipped, not an error. */
	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

static int attr_parse(const struct nlmsghdr *nlh, unsigned int offset,
		      const struct nlattr **tb, unsigned int max)
{
	struct attr_table t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_attr_parse(nlh, offset, attr_table_cb, &t) < MNL_CB_STOP)
		return -EPROTO;
	return 0;
}

static int attr_parse_nested(const struct nlattr *nest,
			     const struct nlattr **tb, unsigned int max)
{
	struct attr_table t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_attr_parse_nested(nest, attr_table_cb, &t) < MNL_CB_STOP)
		return -EPROTO;
	return 0;
}

/* Copies a string attribute, bounded by both the attribute and dst, since
 * the kernel does not promise a terminating NUL on every string. */
static void attr_str(const struct nlattr *a, char *dst, size_t size)
{
	size_t len = 0;

	if (a)
		len = strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
	if (len >= size)
		len = size - 1;
	if (len)
		memcpy(dst, mnl_attr_get_payload(a), len);
	dst[len] = '\0';
}

static int attr_u32(const struct nlattr *a, uint32_t *out)
{
	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return -EPROTO;
	*out = mnl_attr_get_u32(a);
	return 0;
}

static int attr_addr(const struct nlattr *a, int family, struct ip_addr *out)
{
	size_t len = family_bytes(family);

	if (len == 0 || mnl_attr_get_payload_len(a) != len)
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->b, mnl_attr_get_payload(a), len);
	return 0;
}

/* Keeps the kernel's own explanation (e.g. "Nexthop has invalid gateway"),
 * which is often more specific than the errno. */
static void parse_ext_ack(const struct nlmsghdr *nlh, unsigned int offset,
			  struct nl_reply *reply)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (offset > mnl_nlmsg_get_payload_len(nlh))
		return;
	if (attr_parse(nlh, offset, tb, NLMSGERR_ATTR_MAX) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		attr_str(tb[NLMSGERR_ATTR_MSG], reply->msg, sizeof(reply->msg));
}

static void handle_error_msg(const struct nlmsghdr *nlh, struct nl_exchange *x)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	unsigned int offset = sizeof(*e);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		x->reply->error = -EBADMSG;
		return;
	}
	/* Subsystems disagree on the sign; normalise to -errno. */
	x->reply->error = e->error > 0 ? -e->error : e->error;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		offset += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	parse_ext_ack(nlh, offset, x->reply);
}

/* NLMSG_DONE carries an int: a dump that failed part-way reports it here. */
static void handle_done_msg(const struct nlmsghdr *nlh, struct nl_exchange *x)
{
	int error;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return;
	memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
	if (error < 0)
		x->reply->error = error;
	parse_ext_ack(nlh, sizeof(int), x->reply);
}

static void handle_msg(const struct nlmsghdr *nlh, struct nl_exchange *x)
{
	int rc;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		x->interrupted = true;
	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR:
		handle_error_msg(nlh, x);
		x->done = true;
		return;
	case NLMSG_DONE:
		handle_done_msg(nlh, x);
		x->done = true;
		return;
	}
	if (nlh->nlmsg_type < NLMSG_MIN_TYPE || !x->fn || x->fn_error)
		return;
	/* After a failure keep reading without calling fn: the rest of the
	 * reply must still be drained or it would confuse the next request. */
	rc = x->fn(nlh, x->arg);
	if (rc < 0)
		x->fn_error = rc;
}

/* The one receive loop: reads until the ACK (requests) or NLMSG_DONE
 * (dumps). Messages of other sequence numbers are leftovers of an earlier
 * exchange cut short by a receive error, and are skipped. */
static int nl_exchange(struct nl *nl, struct nlmsghdr *req, nl_msg_fn fn,
		       void *arg, struct nl_reply *reply)
{
	struct nl_exchange x = { .fn = fn, .arg = arg, .reply = reply };

	memset(reply, 0, sizeof(*reply));
	if (++nl->seq == 0)
		++nl->seq;	/* libmnl treats sequence 0 as "any" */
	x.seq = req->nlmsg_seq = nl->seq;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return reply->error = -errno;
	while (!x.done) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, nl_bufsize());
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->buf;
		int left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return reply->error = -errno;
		for (left = (int)n; mnl_nlmsg_ok(nlh, left) && !x.done;
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_seq == x.seq)
				handle_msg(nlh, &x);
		}
	}
	if (!reply->error && x.fn_error)
		reply->error = x.fn_error;
	if (!reply->error && x.interrupted) {
		reply->error = -EAGAIN;
		snprintf(reply->msg, sizeof(reply->msg),
			 "table changed during the dump, try again");
	}
	return reply->error;
}

static struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

/* Sends a change or single lookup and waits for its ACK; fn (may be NULL)
 * sees any reply data first. Returns 0 or -errno. */
static int nl_request(struct nl *nl, struct nlmsghdr *req, nl_msg_fn fn,
		      void *arg, struct nl_reply *reply)
{
	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	return nl_exchange(nl, req, fn, arg, reply);
}

/* Dumps a table, calling fn for each entry. Returns 0 or -errno. */
static int nl_dump(struct nl *nl, struct nlmsghdr *req, nl_msg_fn fn,
		   void *arg, struct nl_reply *reply)
{
	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
	return nl_exchange(nl, req, fn, arg, reply);
}

/* Fails with "<what>: <strerror> (<kernel's explanation>)". */
static int nl_fail(struct cni_err *err, int code, const struct nl_reply *r,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int nl_fail(struct cni_err *err, int code, const struct nl_reply *r,
		   const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r->msg[0])
		return cni_errorf(err, code, "%s: %s (%s)", what,
				  strerror(-r->error), r->msg);
	return cni_errorf(err, code, "%s: %s", what, strerror(-r->error));
}

/* Names a device for an error message. Asks this socket, not if_indextoname(),
 * because the socket may belong to another namespace than the thread. */
static const char *dev_str(struct nl *nl, int ifindex, char *buf, size_t len)
{
	struct cni_err ignored = { 0 };
	struct nl_link link;

	if (nl_link_get_by_index(nl, ifindex, &link, &ignored) == 1)
		snprintf(buf, len, "%s", link.name);
	else
		snprintf(buf, len, "ifindex %d", ifindex);
	return buf;
}

int nl_open(struct nl *nl, struct cni_err *err)
{
	int one = 1, saved;

	memset(nl, 0, sizeof(*nl));
	nl->buf = malloc(nl_bufsize());
	if (!nl->buf)
		goto fail;
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* Extended acks and capped acks only improve error messages and keep
	 * acks small; a kernel without them still works, so refusals are
	 * deliberately ignored. */
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	return 0;
fail:
	saved = errno;
	nl_close(nl);
	return cni_errorf(err, BH_ERR_NETLINK, "open rtnetlink socket: %s",
			  strerror(saved));
}

int nl_open_in_netns(struct nl *nl, int netns_fd, struct cni_err *err)
{
	struct cni_err open_err = { 0 };
	int self, rc = -1;

	memset(nl, 0, sizeof(*nl));
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return cni_errorf(err, BH_ERR_NETNS,
				  "open current network namespace: %s",
				  strerror(errno));
	if (setns(netns_fd, CLONE_NEWNET) < 0) {
		cni_errorf(err, BH_ERR_NETNS,
			   "enter network namespace (fd %d): %s", netns_fd,
			   strerror(errno));
		goto out;
	}
	rc = nl_open(nl, &open_err);
	if (rc < 0)
		cni_errorf(err, BH_ERR_NETNS, "in network namespace (fd %d): %s",
			   netns_fd, open_err.msg);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Going on would configure the host through the pod's
		 * namespace (or the reverse); stopping is the only safe move. */
		log_error("cannot return to the original network namespace: %s",
			  strerror(errno));
		abort();
	}
out:
	close(self);
	return rc;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	memset(nl, 0, sizeof(*nl));
}

/* ---- links ---- */

/* A vxlan link's IFLA_INFO_DATA: its mode and port. */
static int parse_vxlan(const struct nlattr *data, struct nl_link *out)
{
	const struct nlattr *tb[IFLA_VXLAN_MAX + 1];

	if (attr_parse_nested(data, tb, IFLA_VXLAN_MAX) < 0)
		return -EPROTO;
	if (tb[IFLA_VXLAN_COLLECT_METADATA]) {
		if (mnl_attr_validate(tb[IFLA_VXLAN_COLLECT_METADATA], MNL_TYPE_U8) < 0)
			return -EPROTO;
		out->vxlan_external = mnl_attr_get_u8(tb[IFLA_VXLAN_COLLECT_METADATA]);
	}
	if (tb[IFLA_VXLAN_PORT]) {
		if (mnl_attr_validate(tb[IFLA_VXLAN_PORT], MNL_TYPE_U16) < 0)
			return -EPROTO;
		out->vxlan_port = ntohs(mnl_attr_get_u16(tb[IFLA_VXLAN_PORT]));
	}
	return 0;
}

static int parse_link(const struct nlmsghdr *nlh, struct nl_link *out)
{
	const struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return -EBADMSG;
	if (attr_parse(nlh, sizeof(*ifi), tb, IFLA_MAX) < 0)
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	out->ifindex = ifi->ifi_index;
	out->up = ifi->ifi_flags & IFF_UP;
	attr_str(tb[IFLA_IFNAME], out->name, sizeof(out->name));
	attr_str(tb[IFLA_IFALIAS], out->alias, sizeof(out->alias));
	if (tb[IFLA_MTU] && attr_u32(tb[IFLA_MTU], &out->mtu) < 0)
		return -EPROTO;
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6)
		memcpy(out->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
	if (!tb[IFLA_LINKINFO])
		return 0;
	if (attr_parse_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX) < 0)
		return -EPROTO;
	attr_str(info[IFLA_INFO_KIND], out->kind, sizeof(out->kind));
	if (strcmp(out->kind, "vxlan") == 0 && info[IFLA_INFO_DATA])
		return parse_vxlan(info[IFLA_INFO_DATA], out);
	return 0;
}

struct link_get_ctx {
	struct nl_link *out;
	bool found;
};

static int link_get_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct link_get_ctx *ctx = arg;
	int rc;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	rc = parse_link(nlh, ctx->out);
	if (rc == 0)
		ctx->found = true;
	return rc;
}

static struct nlmsghdr *link_msg(struct nl *nl, uint16_t type, uint16_t flags,
				 int ifindex)
{
	struct nlmsghdr *nlh = nl_msg(nl, type, flags);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nlh;
}

/* One lookup by index or name; ENODEV means "no such link", not an error. */
static int link_lookup(struct nl *nl, struct nlmsghdr *req, struct nl_link *out,
		       struct nl_reply *reply)
{
	struct link_get_ctx ctx = { out, false };
	int rc;

	/* Statistics are never used and would only bloat the reply. */
	mnl_attr_put_u32(req, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	rc = nl_request(nl, req, link_get_cb, &ctx, reply);
	if (rc == -ENODEV)
		return 0;
	if (rc < 0)
		return rc;
	return ctx.found ? 1 : 0;
}

static int check_ifname(const char *name, const char *what, struct cni_err *err)
{
	if (!name || !name[0])
		return cni_errorf(err, BH_ERR_NETLINK, "%s: empty interface name",
				  what);
	if (strlen(name) >= IF_NAMESIZE)
		return cni_errorf(err, BH_ERR_NETLINK,
				  "%s: interface name \"%s\" is longer than %d characters",
				  what, name, IF_NAMESIZE - 1);
	return 0;
}

int nl_link_get(struct nl *nl, const char *name, struct nl_link *out,
		struct cni_err *err)
{
	struct nl_reply reply;
	struct nlmsghdr *req;
	int rc;

	if (check_ifname(name, "look up link", err) < 0)
		return -1;
	req = link_msg(nl, RTM_GETLINK, 0, 0);
	mnl_attr_put_strz(req, IFLA_IFNAME, name);
	rc = link_lookup(nl, req, out, &reply);
	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply, "look up link %s", name);
	return rc;
}

int nl_link_get_by_index(struct nl *nl, int ifindex, struct nl_link *out,
			 struct cni_err *err)
{
	struct nl_reply reply;
	int rc;

	rc = link_lookup(nl, link_msg(nl, RTM_GETLINK, 0, ifindex), out, &reply);
	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply,
			       "look up link ifindex %d", ifindex);
	return rc;
}

struct link_foreach_ctx {
	int (*fn)(const struct nl_link *link, void *arg);
	void *arg;
	char stopped_at[IF_NAMESIZE];
};

static int link_foreach_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct link_foreach_ctx *ctx = arg;
	struct nl_link link;
	int rc;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	rc = parse_link(nlh, &link);
	if (rc < 0)
		return rc;
	if (ctx->fn(&link, ctx->arg) < 0) {
		snprintf(ctx->stopped_at, sizeof(ctx->stopped_at), "%s", link.name);
		return -ECANCELED;
	}
	return 0;
}

int nl_link_foreach(struct nl *nl,
		    int (*fn)(const struct nl_link *link, void *arg), void *arg,
		    struct cni_err *err)
{
	struct link_foreach_ctx ctx = { .fn = fn, .arg = arg };
	struct nl_reply reply;
	struct nlmsghdr *req = link_msg(nl, RTM_GETLINK, 0, 0);
	int rc;

	mnl_attr_put_u32(req, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	rc = nl_dump(nl, req, link_foreach_cb, &ctx, &reply);
	/* fn is expected to have said why it stopped; this only adds where
	 * (the first error set is the one reported). */
	if (rc == -ECANCELED && ctx.stopped_at[0])
		return cni_errorf(err, BH_ERR_NETLINK,
				  "list links: stopped at %s", ctx.stopped_at);
	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply, "list links");
	return 0;
}

static void veth_put_peer(struct nlmsghdr *req, const char *peer,
			  int peer_netns_fd, unsigned int mtu)
{
	struct nlattr *info, *data, *peer_nest;
	struct ifinfomsg *ifi;

	info = mnl_attr_nest_start(req, IFLA_LINKINFO);
	mnl_attr_put_strz(req, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(req, IFLA_INFO_DATA);
	peer_nest = mnl_attr_nest_start(req, VETH_INFO_PEER);
	/* The peer is described like a link of its own: header, then attrs. */
	ifi = mnl_nlmsg_put_extra_header(req, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(req, IFLA_IFNAME, peer);
	mnl_attr_put_u32(req, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	if (mtu)
		mnl_attr_put_u32(req, IFLA_MTU, mtu);
	mnl_attr_nest_end(req, peer_nest);
	mnl_attr_nest_end(req, data);
	mnl_attr_nest_end(req, info);
}

/* The kernel ignores IFLA_IFALIAS on a link it creates (only a change
 * applies it), so the alias is set by a second request, by name. */
static int link_set_alias(struct nl *nl, const char *name, const char *alias,
			  struct nl_reply *reply)
{
	struct nlmsghdr *req = link_msg(nl, RTM_SETLINK, 0, 0);

	mnl_attr_put_strz(req, IFLA_IFNAME, name);
	mnl_attr_put_strz(req, IFLA_IFALIAS, alias);
	return nl_request(nl, req, NULL, NULL, reply);
}

static int link_del_by_name(struct nl *nl, const char *name,
			    struct nl_reply *reply)
{
	struct nlmsghdr *req = link_msg(nl, RTM_DELLINK, 0, 0);

	mnl_attr_put_strz(req, IFLA_IFNAME, name);
	return nl_request(nl, req, NULL, NULL, reply);
}

int nl_veth_create(struct nl *nl, const char *name, const char *peer,
		   int peer_netns_fd, unsigned int mtu, const char *alias,
		   struct cni_err *err)
{
	char what[2 * IF_NAMESIZE + 16];
	struct nl_reply reply, undo;
	struct nlmsghdr *req;
	int rc;

	if (check_ifname(name, "create veth", err) < 0 ||
	    check_ifname(peer, "create veth", err) < 0)
		return -1;
	snprintf(what, sizeof(what), "create veth %s/%s", name, peer);
	/* The bound keeps the whole request well inside the smallest buffer
	 * (one page), so the unchecked mnl_attr_put calls cannot overflow. */
	if (alias && strlen(alias) > ALIAS_MAX)
		return cni_errorf(err, BH_ERR_NETLINK,
				  "%s: alias longer than %zu characters", what,
				  ALIAS_MAX);

	req = link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(req, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(req, IFLA_MTU, mtu);
	veth_put_peer(req, peer, peer_netns_fd, mtu);
	rc = nl_request(nl, req, NULL, NULL, &reply);
	if (rc == -EEXIST)
		return nl_fail(err, BH_ERR_EXISTS, &reply, "%s", what);
	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply, "%s", what);
	if (!alias || link_set_alias(nl, name, alias, &reply) == 0)
		return 0;

	nl_fail(err, BH_ERR_NETLINK, &reply, "%s: set alias \"%s\"", what, alias);
	/* Undo the pair so a retry starts clean instead of failing with
	 * EEXIST; if that fails too, the alias error is still the one to
	 * report, and the caller's DEL removes the pair by name. */
	if (link_del_by_name(nl, name, &undo) < 0)
		log_warn("%s: remove after failed alias: %s", what,
			 strerror(-undo.error));
	return -1;
}

int nl_vxlan_external_create(struct nl *nl, const char *name, uint16_t dstport,
			     struct cni_err *err)
{
	struct nlattr *info, *data;
	struct nl_reply reply;
	struct nlmsghdr *req;
	int rc;

	if (check_ifname(name, "create vxlan", err) < 0)
		return -1;
	req = link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(req, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(req, IFLA_LINKINFO);
	mnl_attr_put_strz(req, IFLA_INFO_KIND, "vxlan");
	data = mnl_attr_nest_start(req, IFLA_INFO_DATA);
	mnl_attr_put_u8(req, IFLA_VXLAN_COLLECT_METADATA, 1);
	mnl_attr_put_u16(req, IFLA_VXLAN_PORT, htons(dstport));
	mnl_attr_put_u8(req, IFLA_VXLAN_LEARNING, 0);
	mnl_attr_nest_end(req, data);
	mnl_attr_nest_end(req, info);
	rc = nl_request(nl, req, NULL, NULL, &reply);
	if (rc == -EEXIST)
		return nl_fail(err, BH_ERR_EXISTS, &reply, "create vxlan %s", name);
	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply,
			       "create vxlan %s (external, dstport %u)", name,
			       (unsigned)dstport);
	return 0;
}

int nl_link_del(struct nl *nl, int ifindex, struct cni_err *err)
{
	char dev[DEV_STRLEN];
	struct nl_reply reply;
	int rc;

	rc = nl_request(nl, link_msg(nl, RTM_DELLINK, 0, ifindex), NULL, NULL,
			&reply);
	if (rc == -ENODEV)
		return 0;
	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply, "delete link %s",
			       dev_str(nl, ifindex, dev, sizeof(dev)));
	return 0;
}

int nl_link_set_up(struct nl *nl, int ifindex, struct cni_err *err)
{
	char dev[DEV_STRLEN];
	struct nl_reply reply;
	struct nlmsghdr *req = link_msg(nl, RTM_SETLINK, 0, ifindex);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(req);
	int rc;

	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	rc = nl_request(nl, req, NULL, NULL, &reply);
	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply, "set link %s up",
			       dev_str(nl, ifindex, dev, sizeof(dev)));
	return 0;
}

int nl_link_no_ipv6ll(struct nl *nl, int ifindex, struct cni_err *err)
{
	char dev[DEV_STRLEN];
	struct nl_reply reply;
	struct nlmsghdr *req = link_msg(nl, RTM_SETLINK, 0, ifindex);
	struct nlattr *spec, *inet6;
	int rc;

	spec = mnl_attr_nest_start(req, IFLA_AF_SPEC);
	inet6 = mnl_attr_nest_start(req, AF_INET6);
	mnl_attr_put_u8(req, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(req, inet6);
	mnl_attr_nest_end(req, spec);
	rc = nl_request(nl, req, NULL, NULL, &reply);
	/* A kernel without IPv6 has no link-local address to make either. */
	if (rc == -EAFNOSUPPORT || rc == -EOPNOTSUPP)
		return 0;
	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply,
			       "turn off IPv6 link-local on %s",
			       dev_str(nl, ifindex, dev, sizeof(dev)));
	return 0;
}

/* ---- addresses ---- */

int nl_addr_add(struct nl *nl, int ifindex, const struct ip_prefix *p,
		uint32_t flags, struct cni_err *err)
{
	char pfx[IP_PREFIX_STRLEN], dev[DEV_STRLEN];
	size_t len = family_bytes(p->addr.family);
	struct nl_reply reply;
	struct nlmsghdr *req;
	struct ifaddrmsg *ifa;
	int rc;

	ip_prefix_format(p, pfx, sizeof(pfx));
	if (len == 0 || p->len > len * 8)
		return cni_errorf(err, BH_ERR_NETLINK,
				  "add address %s: not an IPv4 or IPv6 prefix", pfx);
	req = nl_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	ifa = mnl_nlmsg_put_extra_header(req, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)p->addr.family;
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_index = (uint32_t)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_flags = (uint8_t)flags;
	/* Local and address equal: a plain address, not a point-to-point peer. */
	mnl_attr_put(req, IFA_LOCAL, len, p->addr.b);
	mnl_attr_put(req, IFA_ADDRESS, len, p->addr.b);
	/* Flags above bit 7 (e.g. IFA_F_NOPREFIXROUTE) only fit in IFA_FLAGS. */
	if (flags)
		mnl_attr_put_u32(req, IFA_FLAGS, flags);
	rc = nl_request(nl, req, NULL, NULL, &reply);
	if (rc == -EEXIST)
		return 0;
	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply, "add address %s dev %s",
			       pfx, dev_str(nl, ifindex, dev, sizeof(dev)));
	return 0;
}

struct addr_list_ctx {
	int ifindex;
	int family;
	struct ip_prefix *out;
	size_t max;
	size_t n;
};

static int addr_list_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[IFA_MAX + 1], *a;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_list_ctx *ctx = arg;
	struct ip_prefix p = { 0 };

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return 0;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -EBADMSG;
	if ((int)ifa->ifa_index != ctx->ifindex || family_bytes(ifa->ifa_family) == 0)
		return 0;
	if (ctx->family != AF_UNSPEC && ifa->ifa_family != ctx->family)
		return 0;
	if (attr_parse(nlh, sizeof(*ifa), tb, IFA_MAX) < 0)
		return -EPROTO;
	/* On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || attr_addr(a, ifa->ifa_family, &p.addr) < 0)
		return -EPROTO;
	p.len = ifa->ifa_prefixlen;
	if (ctx->n < ctx->max)
		ctx->out[ctx->n] = p;
	ctx->n++;
	return 0;
}

int nl_addr_list(struct nl *nl, int ifindex, int family, struct ip_prefix *out,
		 size_t max, size_t *n, struct cni_err *err)
{
	struct addr_list_ctx ctx = { ifindex, family, out, max, 0 };
	char dev[DEV_STRLEN];
	struct nl_reply reply;
	struct nlmsghdr *req = nl_msg(nl, RTM_GETADDR, 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(req, sizeof(*ifa));
	int rc;

	*n = 0;
	ifa->ifa_family = (uint8_t)family;
	rc = nl_dump(nl, req, addr_list_cb, &ctx, &reply);
	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply, "list addresses of %s",
			       dev_str(nl, ifindex, dev, sizeof(dev)));
	*n = ctx.n;
	return 0;
}

/* ---- routes ---- */

static uint32_t route_table(const struct nl_route *r)
{
	return r->table ? r->table : RT_TABLE_MAIN;
}

/* "10.0.0.0/24 via 10.0.0.1 dev eth0 table 100", for error messages. */
static const char *route_str(struct nl *nl, const struct nl_route *r,
			     char *buf, size_t len)
{
	char dst[IP_PREFIX_STRLEN], gw[IP_ADDR_STRLEN + 5] = "";
	char dev[DEV_STRLEN + 5] = "", table[24] = "";
	char name[DEV_STRLEN];

	if (r->dst.len == 0)
		snprintf(dst, sizeof(dst), "default");
	else
		ip_prefix_format(&r->dst, dst, sizeof(dst));
	if (r->gw.family) {
		char a[IP_ADDR_STRLEN];

		ip_addr_format(&r->gw, a, sizeof(a));
		snprintf(gw, sizeof(gw), " via %s", a);
	}
	if (r->oif)
		snprintf(dev, sizeof(dev), " dev %s",
			 dev_str(nl, r->oif, name, sizeof(name)));
	if (route_table(r) != RT_TABLE_MAIN)
		snprintf(table, sizeof(table), " table %u", (unsigned)route_table(r));
	snprintf(buf, len, "%s%s%s%s", dst, gw, dev, table);
	return buf;
}

static int check_route(const struct nl_route *r, const char *what,
		       struct cni_err *err)
{
	size_t len = family_bytes(r->dst.addr.family);

	if (len == 0)
		return cni_errorf(err, BH_ERR_NETLINK,
				  "%s route: destination family %d is not IPv4 or IPv6",
				  what, r->dst.addr.family);
	if (r->dst.len > len * 8)
		return cni_errorf(err, BH_ERR_NETLINK,
				  "%s route: prefix length %u is too long",
				  what, (unsigned)r->dst.len);
	if (r->gw.family && r->gw.family != r->dst.addr.family)
		return cni_errorf(err, BH_ERR_NETLINK,
				  "%s route: gateway and destination families differ",
				  what);
	return 0;
}

static struct nlmsghdr *route_msg(struct nl *nl, uint16_t type, uint16_t flags,
				  const struct nl_route *r, uint8_t protocol,
				  uint8_t scope)
{
	struct nlmsghdr *req = nl_msg(nl, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(req, sizeof(*rtm));
	size_t len = family_bytes(r->dst.addr.family);
	uint32_t table = route_table(r);

	rtm->rtm_family = (uint8_t)r->dst.addr.family;
	rtm->rtm_dst_len = r->dst.len;
	rtm->rtm_protocol = protocol;
	rtm->rtm_scope = scope;
	rtm->rtm_type = RTN_UNICAST;
	/* rtm_table is 8 bits; larger ids only fit in RTA_TABLE. */
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	if (table >= 256)
		mnl_attr_put_u32(req, RTA_TABLE, table);
	if (r->dst.len > 0)
		mnl_attr_put(req, RTA_DST, len, r->dst.addr.b);
	if (r->gw.family)
		mnl_attr_put(req, RTA_GATEWAY, len, r->gw.b);
	if (r->oif)
		mnl_attr_put_u32(req, RTA_OIF, (uint32_t)r->oif);
	return req;
}

/* Fills out from a route message; *type gets rtm_type. */
static int parse_route(const struct nlmsghdr *nlh, struct nl_route *out,
		       uint8_t *type)
{
	const struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	uint32_t u;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return -EBADMSG;
	if (attr_parse(nlh, sizeof(*rtm), tb, RTA_MAX) < 0)
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	*type = rtm->rtm_type;
	out->dst.addr.family = rtm->rtm_family;
	out->dst.len = rtm->rtm_dst_len;
	out->scope = rtm->rtm_scope;
	out->protocol = rtm->rtm_protocol;
	out->table = rtm->rtm_table;
	if (tb[RTA_TABLE] && attr_u32(tb[RTA_TABLE], &out->table) < 0)
		return -EPROTO;
	if (tb[RTA_DST] && attr_addr(tb[RTA_DST], rtm->rtm_family, &out->dst.addr) < 0)
		return -EPROTO;
	if (tb[RTA_GATEWAY] && attr_addr(tb[RTA_GATEWAY], rtm->rtm_family, &out->gw) < 0)
		return -EPROTO;
	if (tb[RTA_OIF]) {
		if (attr_u32(tb[RTA_OIF], &u) < 0)
			return -EPROTO;
		out->oif = (int)u;
	}
	return 0;
}

/* Walks the unicast routes of one table and family in a dump. */
struct route_walk {
	int family;
	uint32_t table;
	int (*fn)(const struct nl_route *r, struct route_walk *w);
	/* for nl_route_list */
	struct nl_route *out;
	size_t max;
	size_t n;
	/* for route_present */
	const struct nl_route *want;
	bool found;
};

static int route_walk_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct route_walk *w = arg;
	struct nl_route r;
	uint8_t type;
	int rc;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	rc = parse_route(nlh, &r, &type);
	if (rc < 0)
		return rc;
	/* AF_UNSPEC dumps include multicast (RTNL_FAMILY_IPMR...) tables. */
	if (type != RTN_UNICAST || family_bytes(r.dst.addr.family) == 0)
		return 0;
	if (w->family != AF_UNSPEC && r.dst.addr.family != w->family)
		return 0;
	if (r.table != w->table)
		return 0;
	return w->fn(&r, w);
}

static int route_walk(struct nl *nl, struct route_walk *w,
		      struct nl_reply *reply)
{
	struct nlmsghdr *req = nl_msg(nl, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(req, sizeof(*rtm));

	rtm->rtm_family = (uint8_t)w->family;
	return nl_dump(nl, req, route_walk_cb, w, reply);
}

static int route_collect(const struct nl_route *r, struct route_walk *w)
{
	if (w->n < w->max)
		w->out[w->n] = *r;
	w->n++;
	return 0;
}

static bool prefix_eq(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->len == b->len && ip_addr_eq(&a->addr, &b->addr);
}

/* Same destination and next hop; an oif of 0 in want matches any device,
 * since the kernel picks one from the gateway. */
static int route_match(const struct nl_route *r, struct route_walk *w)
{
	const struct nl_route *want = w->want;

	if (!prefix_eq(&r->dst, &want->dst))
		return 0;
	if (r->gw.family != want->gw.family ||
	    (want->gw.family && !ip_addr_eq(&r->gw, &want->gw)))
		return 0;
	if (want->oif && r->oif != want->oif)
		return 0;
	w->found = true;
	return 0;
}

/* After EEXIST: is the route in the way the one we wanted, or another one
 * to the same destination? Returns 1, 0 or -errno. */
static int route_present(struct nl *nl, const struct nl_route *want,
			 struct nl_reply *reply)
{
	struct route_walk w = {
		.family = want->dst.addr.family,
		.table = route_table(want),
		.fn = route_match,
		.want = want,
	};
	int rc = route_walk(nl, &w, reply);

	if (rc < 0)
		return rc;
	return w.found ? 1 : 0;
}

int nl_route_add(struct nl *nl, const struct nl_route *r, struct cni_err *err)
{
	uint8_t protocol = r->protocol ? r->protocol : BH_RTPROT;
	char desc[ROUTE_STRLEN];
	struct nl_reply reply;
	int rc;

	if (check_route(r, "add", err) < 0)
		return -1;
	rc = nl_request(nl, route_msg(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
				      r, protocol, r->scope),
			NULL, NULL, &reply);
	if (rc == -EEXIST) {
		rc = route_present(nl, r, &reply);
		if (rc == 1)
			return 0;
		if (rc == 0)
			return cni_errorf(err, BH_ERR_EXISTS,
					  "add route %s: a different route to that destination exists",
					  route_str(nl, r, desc, sizeof(desc)));
	}
	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply, "add route %s",
			       route_str(nl, r, desc, sizeof(desc)));
	return 0;
}

int nl_route_find(struct nl *nl, const struct nl_route *want,
		  struct cni_err *err)
{
	char desc[ROUTE_STRLEN];
	struct nl_reply reply;
	int rc = route_present(nl, want, &reply);

	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply, "look up route %s",
			       route_str(nl, want, desc, sizeof(desc)));
	return rc;
}

/* Protocol 0 means BH_RTPROT here too, so deleting never removes a route
 * somebody else made; the scope is left open (RT_SCOPE_NOWHERE is IPv4's
 * wildcard) so a route is found whatever scope the kernel settled on. */
int nl_route_del(struct nl *nl, const struct nl_route *r, struct cni_err *err)
{
	uint8_t protocol = r->protocol ? r->protocol : BH_RTPROT;
	char desc[ROUTE_STRLEN];
	struct nl_reply reply;
	int rc;

	if (check_route(r, "delete", err) < 0)
		return -1;
	rc = nl_request(nl, route_msg(nl, RTM_DELROUTE, 0, r, protocol,
				      RT_SCOPE_NOWHERE),
			NULL, NULL, &reply);
	if (rc == -ESRCH || rc == -ENOENT)
		return 0;
	if (rc < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply, "delete route %s",
			       route_str(nl, r, desc, sizeof(desc)));
	return 0;
}

int nl_route_list(struct nl *nl, int family, uint32_t table,
		  struct nl_route *out, size_t max, size_t *n,
		  struct cni_err *err)
{
	struct route_walk w = {
		.family = family,
		.table = table ? table : RT_TABLE_MAIN,
		.fn = route_collect,
		.out = out,
		.max = max,
	};
	struct nl_reply reply;

	*n = 0;
	if (route_walk(nl, &w, &reply) < 0)
		return nl_fail(err, BH_ERR_NETLINK, &reply,
			       "list routes of table %u", (unsigned)w.table);
	*n = w.n;
	return 0;
}
