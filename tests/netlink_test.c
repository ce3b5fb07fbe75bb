/* cni/netlink.c against the real kernel, inside throw-away network
 * namespaces so nothing touches the machine's own interfaces or routes. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni/netlink.h"
#include "tests/tap.h"
#include "tests/test_util.h"

#define HOST_IF "bhtest0"
#define PEER_IF "eth0"
#define ALIAS "bulkhead: default/pod-a eth0"

static ino_t current_netns(void)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) < 0)
		return 0;
	return st.st_ino;
}

/* A second namespace for the veth peer: a child unshares one, we open it
 * through /proc, and the child is reaped at once (the fd keeps it alive). */
static int open_peer_netns(void)
{
	char path[64], c;
	int pipefd[2], fd = -1;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		close(pipefd[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET) < 0 || write(pipefd[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	if (read(pipefd[0], &c, 1) == 1) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
out:
	close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return fd;
}

static void test_open(struct nl *host, struct nl *peer, int peer_ns)
{
	struct cni_err err = { 0 };
	ino_t before = current_netns();
	struct nl bad;

	is_int(nl_open(host, &err), 0, "nl_open: %s", err.msg);
	is_int(nl_open_in_netns(peer, peer_ns, &err), 0,
	       "nl_open_in_netns: %s", err.msg);
	ok(before != 0 && current_netns() == before,
	   "nl_open_in_netns returns the thread to its namespace");

	is_int(nl_open_in_netns(&bad, -1, &err), -1,
	       "nl_open_in_netns with a bad fd fails");
	is_int(err.code, BH_ERR_NETNS, "... with BH_ERR_NETNS");
	diag("message: %s", err.msg);
	ok(current_netns() == before, "... and stays in its namespace");
	nl_close(&bad);
}

static void test_veth(struct nl *host, struct nl *peer, int peer_ns,
		      struct nl_link *hl)
{
	struct cni_err err = { 0 };
	struct nl_link pl, l;

	is_int(nl_veth_create(host, HOST_IF, PEER_IF, peer_ns, 1400, ALIAS, &err),
	       0, "veth create: %s", err.msg);

	is_int(nl_link_get(host, HOST_IF, hl, &err), 1, "host side found");
	is_str(hl->name, HOST_IF, "host side name");
	is_str(hl->kind, "veth", "host side kind");
	is_str(hl->alias, ALIAS, "host side alias");
	is_int(hl->mtu, 1400, "host side mtu");
	ok(!hl->up, "host side is down after create");
	ok(hl->mac[0] | hl->mac[1] | hl->mac[2] | hl->mac[3] | hl->mac[4] | hl->mac[5],
	   "host side has a MAC address");
	is_int(nl_link_get(host, PEER_IF, &l, &err), 0,
	       "peer name does not exist on the host side");

	is_int(nl_link_get(peer, PEER_IF, &pl, &err), 1,
	       "peer found in the peer namespace");
	is_str(pl.name, PEER_IF, "peer name");
	is_str(pl.kind, "veth", "peer kind");
	is_int(pl.mtu, 1400, "peer mtu");
	is_str(pl.alias, "", "peer has no alias");
	is_int(nl_link_get_by_index(peer, pl.ifindex, &l, &err), 1,
	       "peer found by index");
	is_str(l.name, PEER_IF, "... with its name");
	is_int(nl_link_get_by_index(host, 999999, &l, &err), 0,
	       "missing index returns 0");
	is_int(err.code, 0, "... and sets no error");
}

static void test_veth_errors(struct nl *host, int peer_ns)
{
	struct cni_err err = { 0 };
	struct nl_link l;

	is_int(nl_veth_create(host, HOST_IF, "eth9", peer_ns, 0, NULL, &err), -1,
	       "create with a taken host name fails");
	is_int(err.code, BH_ERR_EXISTS, "... with BH_ERR_EXISTS");
	ok(strstr(err.msg, HOST_IF) && strstr(err.msg, "eth9") &&
	   strstr(err.msg, "File exists"), "... naming both: %s", err.msg);

	memset(&err, 0, sizeof(err));
	is_int(nl_veth_create(host, "bhtest1", PEER_IF, peer_ns, 0, NULL, &err), -1,
	       "create with a taken peer name fails");
	is_int(err.code, BH_ERR_EXISTS, "... with BH_ERR_EXISTS: %s", err.msg);
	is_int(nl_link_get(host, "bhtest1", &l, &err), 0,
	       "... and leaves no half pair behind");

	memset(&err, 0, sizeof(err));
	is_int(nl_veth_create(host, "bhtest-name-too-long", PEER_IF, peer_ns, 0,
			      NULL, &err), -1, "too long a name is refused");
	is_int(err.code, BH_ERR_NETLINK, "... with BH_ERR_NETLINK: %s", err.msg);

	memset(&err, 0, sizeof(err));
	is_int(nl_link_get(host, "bhnothere", &l, &err), 0,
	       "link_get of a missing link returns 0");
	is_int(err.code, 0, "... and sets no error");
}

static bool has_prefix(const struct ip_prefix *list, size_t n, const char *want)
{
	struct ip_prefix w = P(want);

	for (size_t i = 0; i < n; i++)
		if (list[i].len == w.len && ip_addr_eq(&list[i].addr, &w.addr))
			return true;
	return false;
}

static void test_addrs(struct nl *host, int ifindex)
{
	struct cni_err err = { 0 };
	struct ip_prefix v4 = P("10.99.0.1/24"), v6 = P("fd00:99::1/64");
	struct ip_prefix list[8];
	char buf[IP_PREFIX_STRLEN] = "";
	struct nl_link l;
	size_t n = 0;

	is_int(nl_link_set_up(host, ifindex, &err), 0, "set up: %s", err.msg);
	is_int(nl_link_get_by_index(host, ifindex, &l, &err), 1, "link found");
	ok(l.up, "link is up");

	is_int(nl_addr_add(host, ifindex, &v4, 0, &err), 0,
	       "add 10.99.0.1/24: %s", err.msg);
	is_int(nl_addr_add(host, ifindex, &v4, 0, &err), 0,
	       "add it again is success: %s", err.msg);
	is_int(nl_addr_add(host, ifindex, &v6, IFA_F_NODAD | IFA_F_NOPREFIXROUTE,
			   &err), 0, "add fd00:99::1/64: %s", err.msg);

	is_int(nl_addr_list(host, ifindex, AF_INET, list, 8, &n, &err), 0,
	       "list IPv4: %s", err.msg);
	is_int(n, 1, "one IPv4 address");
	if (n >= 1)
		ip_prefix_format(&list[0], buf, sizeof(buf));
	is_str(buf, "10.99.0.1/24", "... the one added");

	is_int(nl_addr_list(host, ifindex, AF_INET6, list, 8, &n, &err), 0,
	       "list IPv6: %s", err.msg);
	ok(has_prefix(list, n < 8 ? n : 8, "fd00:99::1/64"),
	   "fd00:99::1/64 listed (%zu IPv6 addresses)", n);

	is_int(nl_addr_list(host, ifindex, AF_UNSPEC, list, 8, &n, &err), 0,
	       "list all: %s", err.msg);
	ok(n >= 2 && has_prefix(list, n < 8 ? n : 8, "10.99.0.1/24"),
	   "both families listed (%zu)", n);

	is_int(nl_addr_list(host, ifindex, AF_INET, list, 0, &n, &err), 0,
	       "list into no room");
	is_int(n, 1, "... still counts the address");
	is_int(nl_addr_list(host, 1, AF_INET, list, 8, &n, &err), 0,
	       "list addresses of lo");
	is_int(n, 0, "... lo (down, fresh namespace) has none");
}

static const struct nl_route *find_route(const struct nl_route *list, size_t n,
					 const char *dst)
{
	struct ip_prefix d = P(dst);

	for (size_t i = 0; i < n; i++)
		if (list[i].dst.len == d.len && ip_addr_eq(&list[i].dst.addr, &d.addr))
			return &list[i];
	return NULL;
}

static void check_listed(const struct nl_route *list, size_t n, const char *dst,
			 const char *gw, int oif, uint8_t scope)
{
	const struct nl_route *r = find_route(list, n, dst);
	char got[IP_ADDR_STRLEN] = "";

	if (!ok(r, "route %s listed", dst))
		return;
	if (r->gw.family)
		ip_addr_format(&r->gw, got, sizeof(got));
	is_str(got, gw ? gw : "", "... gateway");
	is_int(r->oif, oif, "... oif");
	is_int(r->protocol, BH_RTPROT, "... protocol BH_RTPROT");
	is_int(r->scope, scope, "... scope");
	is_int(r->table, RT_TABLE_MAIN, "... table main");
}

static void test_routes(struct nl *host, int ifindex)
{
	struct cni_err err = { 0 };
	struct nl_route via = { .dst = P("10.100.0.0/16"),
				.gw = A("10.99.0.2") };
	struct nl_route link = { .dst = P("10.101.0.5/32"), .oif = ifindex,
				 .scope = RT_SCOPE_LINK };
	struct nl_route dflt = { .dst = { .addr = { .family = AF_INET } },
				 .gw = A("10.99.0.2"), .oif = ifindex };
	struct nl_route v6 = { .dst = P("fd00:100::/64"), .oif = ifindex };
	struct nl_route other_gw = via, unreachable = {
		.dst = P("10.102.0.0/16"), .gw = A("192.0.2.1") };
	struct nl_route big_table = { .dst = P("10.103.0.0/16"), .oif = ifindex,
				      .scope = RT_SCOPE_LINK, .table = 1000 };
	struct nl_route list[16];
	const struct nl_route *r;
	size_t n = 0;

	is_int(nl_route_add(host, &via, &err), 0, "add via gateway: %s", err.msg);
	is_int(nl_route_add(host, &via, &err), 0, "add it again: %s", err.msg);
	is_int(nl_route_add(host, &link, &err), 0, "add scope link: %s", err.msg);
	is_int(nl_route_add(host, &dflt, &err), 0, "add default: %s", err.msg);
	is_int(nl_route_add(host, &v6, &err), 0, "add IPv6: %s", err.msg);
	is_int(nl_route_add(host, &big_table, &err), 0, "add to table 1000: %s",
	       err.msg);

	other_gw.gw = A("10.99.0.3");
	is_int(nl_route_add(host, &other_gw, &err), -1,
	       "a different route to the same destination fails");
	is_int(err.code, BH_ERR_EXISTS, "... with BH_ERR_EXISTS: %s", err.msg);
	memset(&err, 0, sizeof(err));
	is_int(nl_route_add(host, &unreachable, &err), -1,
	       "an unreachable gateway fails");
	is_int(err.code, BH_ERR_NETLINK, "... with BH_ERR_NETLINK");
	ok(strstr(err.msg, "10.102.0.0/16 via 192.0.2.1") &&
	   strstr(err.msg, "unreachable"), "... saying what and why: %s", err.msg);
	memset(&err, 0, sizeof(err));

	is_int(nl_route_list(host, AF_INET, 0, list, 16, &n, &err), 0,
	       "list IPv4 main: %s", err.msg);
	check_listed(list, n, "10.100.0.0/16", "10.99.0.2", ifindex,
		     RT_SCOPE_UNIVERSE);
	check_listed(list, n, "10.101.0.5/32", NULL, ifindex, RT_SCOPE_LINK);
	check_listed(list, n, "0.0.0.0/0", "10.99.0.2", ifindex, RT_SCOPE_UNIVERSE);
	r = find_route(list, n, "10.99.0.0/24");
	ok(r && r->protocol == RTPROT_KERNEL, "kernel's prefix route listed as such");
	ok(!find_route(list, n, "10.103.0.0/16"), "table 1000 route not in main");

	is_int(nl_route_list(host, AF_INET, 1000, list, 16, &n, &err), 0,
	       "list table 1000: %s", err.msg);
	is_int(n, 1, "... one route");
	ok(n == 1 && list[0].table == 1000 && list[0].oif == ifindex,
	   "... the one added");

	is_int(nl_route_list(host, AF_INET6, 0, list, 16, &n, &err), 0,
	       "list IPv6 main: %s", err.msg);
	r = find_route(list, n < 16 ? n : 16, "fd00:100::/64");
	ok(r && r->protocol == BH_RTPROT && r->oif == ifindex,
	   "IPv6 route listed with BH_RTPROT");

	is_int(nl_route_del(host, &via, &err), 0, "delete: %s", err.msg);
	is_int(nl_route_del(host, &via, &err), 0, "delete again: %s", err.msg);
	is_int(nl_route_del(host, &v6, &err), 0, "delete IPv6: %s", err.msg);
	is_int(nl_route_del(host, &v6, &err), 0, "delete IPv6 again: %s", err.msg);
	is_int(nl_route_del(host, &big_table, &err), 0, "delete from table 1000: %s",
	       err.msg);
	is_int(nl_route_list(host, AF_INET, 0, list, 16, &n, &err), 0, "list again");
	ok(!find_route(list, n, "10.100.0.0/16"), "deleted route gone");
	ok(find_route(list, n, "10.101.0.5/32"), "other route kept");
	is_int(nl_route_list(host, AF_INET, 0, list, 1, &n, &err), 0,
	       "list into room for one");
	ok(n >= 3, "... still counts every route (%zu)", n);
}

struct seen {
	int count;
	char alias[256];
	int stop_after;
};

static int see_link(const struct nl_link *l, void *arg)
{
	struct seen *s = arg;

	s->count++;
	if (strcmp(l->name, HOST_IF) == 0)
		snprintf(s->alias, sizeof(s->alias), "%s", l->alias);
	return s->stop_after && s->count >= s->stop_after ? -1 : 0;
}

static void test_foreach(struct nl *host)
{
	struct cni_err err = { 0 };
	struct seen s = { 0 };
	struct nl_link l;

	is_int(nl_link_foreach(host, see_link, &s, &err), 0, "foreach: %s",
	       err.msg);
	is_int(s.count, 2, "lo and the veth seen");
	is_str(s.alias, ALIAS, "veth alias seen");

	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	is_int(nl_link_foreach(host, see_link, &s, &err), -1,
	       "a callback error stops foreach");
	is_int(s.count, 1, "... after that call");
	ok(err.code != 0, "... and sets an error: %s", err.msg);
	memset(&err, 0, sizeof(err));
	is_int(nl_link_get(host, HOST_IF, &l, &err), 1,
	       "the socket still works after a stopped dump: %s", err.msg);
}

static void test_del(struct nl *host, struct nl *peer, int ifindex)
{
	struct cni_err err = { 0 };
	struct nl_link l;

	is_int(nl_link_del(host, ifindex, &err), 0, "link_del: %s", err.msg);
	is_int(nl_link_get(host, HOST_IF, &l, &err), 0, "host side gone");
	is_int(nl_link_get(peer, PEER_IF, &l, &err), 0, "peer side gone");
	is_int(nl_link_del(host, ifindex, &err), 0, "link_del again: %s", err.msg);
	is_int(err.code, 0, "... sets no error");
}

int main(void)
{
	struct nl host = { 0 }, peer = { 0 };
	struct nl_link hl = { 0 };
	int peer_ns;

	if (geteuid() != 0)
		skip_all("needs root to create network namespaces");
	if (unshare(CLONE_NEWNET) < 0)
		skip_all("unshare(CLONE_NEWNET): %s", strerror(errno));
	peer_ns = open_peer_netns();
	if (peer_ns < 0)
		skip_all("cannot create a second network namespace: %s",
			 strerror(errno));

	test_open(&host, &peer, peer_ns);
	if (!host.sock || !peer.sock) {
		printf("Bail out! no netlink sockets\n");
		return 255;
	}
	test_veth(&host, &peer, peer_ns, &hl);
	test_veth_errors(&host, peer_ns);
	if (hl.ifindex > 0) {
		test_addrs(&host, hl.ifindex);
		test_routes(&host, hl.ifindex);
		test_foreach(&host);
		test_del(&host, &peer, hl.ifindex);
	}

	nl_close(&host);
	nl_close(&peer);
	nl_close(&peer);	/* closing twice is harmless */
	close(peer_ns);
	return done_testing();
}
