/* Unit tests of the IPAM pool (netconf parsing, capacity) and store
 * (allocation, persistence, corruption, locking) on real files in /tmp. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipam/ipam.h"
#include "tests/tap.h"
#include "tests/test_util.h"

static char tmpdir[] = "/tmp/bulkhead-ipam-test.XXXXXX";
static pid_t main_pid;

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/* Runs in the main process only: forked children leave with _exit(). */
static void cleanup(void)
{
	if (getpid() == main_pid)
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- pool ---------------------------------------------------------------- */

static int pool_from(const char *text, struct ipam_pool *pool,
		     struct cni_err *err)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	int rc;

	if (!j) {
		diag("test bug: bad JSON %s: %s", text, jerr.text);
		return -2;
	}
	rc = ipam_pool_from_json(j, pool, err);
	json_decref(j);
	return rc;
}

static void pool_ok(const char *text, const char *start, const char *end,
		    const char *gw, uint64_t cap)
{
	struct cni_err err = { 0 };
	struct ipam_pool p;

	if (!is_int(pool_from(text, &p, &err), 0, "accepted: %s", text)) {
		diag("error %d: %s", err.code, err.msg);
		return;
	}
	is_str(fmt_addr(&p.start), start, "  start %s", start);
	is_str(fmt_addr(&p.end), end, "  end %s", end);
	is_str(fmt_addr(&p.gateway), gw, "  gateway %s", gw);
	ok(ipam_pool_capacity(&p) == cap, "  capacity %llu (got %llu)",
	   (unsigned long long)cap,
	   (unsigned long long)ipam_pool_capacity(&p));
}

/* want_msg: a substring of the message, or the whole of it with a leading '='. */
static void pool_bad(const char *text, int code, const char *want_msg)
{
	struct cni_err err = { 0 };
	struct ipam_pool p;

	is_int(pool_from(text, &p, &err), -1, "rejected: %s", text);
	is_int(err.code, code, "  code %d", code);
	if (want_msg[0] == '=')
		is_str(err.msg, want_msg + 1, "  message");
	else if (!ok(strstr(err.msg, want_msg), "  message mentions '%s'", want_msg))
		diag("message: %s", err.msg);
}

static void test_pool(void)
{
	const int NC = CNI_ERR_INVALID_NETCONF;

	pool_ok("{\"type\":\"bulkhead-ipam\",\"subnet\":\"10.0.0.0/24\"}",
		"10.0.0.1", "10.0.0.254", "10.0.0.1", 253);
	pool_ok("{\"subnet\":\"10.0.0.0/24\",\"dataDir\":\"/tmp/x\","
		"\"rangeStart\":\"10.0.0.10\",\"rangeEnd\":\"10.0.0.20\"}",
		"10.0.0.10", "10.0.0.20", "10.0.0.1", 11);
	pool_ok("{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.10\","
		"\"rangeStart\":\"10.0.0.10\",\"rangeEnd\":\"10.0.0.20\"}",
		"10.0.0.10", "10.0.0.20", "10.0.0.10", 10);
	pool_ok("{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.254\"}",
		"10.0.0.1", "10.0.0.254", "10.0.0.254", 253);
	pool_ok("{\"subnet\":\"10.0.0.0/30\"}", "10.0.0.1", "10.0.0.2",
		"10.0.0.1", 1);
	pool_ok("{\"subnet\":\"10.0.0.0/16\"}", "10.0.0.1", "10.0.255.254",
		"10.0.0.1", 65533);
	pool_ok("{\"subnet\":\"fd00::/120\"}", "fd00::1", "fd00::ff",
		"fd00::1", 254);
	pool_ok("{\"subnet\":\"fd00::/126\"}", "fd00::1", "fd00::3",
		"fd00::1", 2);
	pool_ok("{\"subnet\":\"fd00::/64\"}", "fd00::1",
		"fd00::ffff:ffff:ffff:ffff", "fd00::1", UINT64_MAX - 1);
	pool_ok("{\"subnet\":\"fd00::/48\"}", "fd00::1",
		"fd00::ffff:ffff:ffff:ffff:ffff", "fd00::1", UINT64_MAX);
	pool_ok("{\"subnet\":\"fd00::/64\",\"rangeStart\":\"fd00::100\","
		"\"rangeEnd\":\"fd00::1ff\",\"gateway\":\"fd00::1\"}",
		"fd00::100", "fd00::1ff", "fd00::1", 256);

	/* Every field with a wrong type. */
	pool_bad("{\"subnet\":24}", NC, "=ipam.subnet: expected a string, got number");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":1}", NC,
		 "=ipam.rangeStart: expected a string, got number");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"rangeEnd\":true}", NC,
		 "=ipam.rangeEnd: expected a string, got boolean");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"gateway\":null}", NC,
		 "=ipam.gateway: expected a string, got null");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"type\":[]}", NC,
		 "=ipam.type: expected a string, got array");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"dataDir\":{}}", NC,
		 "=ipam.dataDir: expected a string, got object");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"gateway\":1.5}", NC,
		 "=ipam.gateway: expected a string, got number");
	pool_bad("[\"10.0.0.0/24\"]", NC, "ipam: expected an object, got array");

	/* Bad values. */
	pool_bad("{\"type\":\"bulkhead-ipam\"}", NC, "ipam.subnet is required");
	pool_bad("{\"subnet\":\"10.0.0.0\"}", NC, "ipam.subnet \"10.0.0.0\" is not a CIDR");
	pool_bad("{\"subnet\":\"banana\"}", NC, "is not a CIDR");
	pool_bad("{\"subnet\":\"10.0.0.0/33\"}", NC, "is not a CIDR");
	pool_bad("{\"subnet\":\"10.0.0.5/24\"}", NC,
		 "=ipam.subnet \"10.0.0.5/24\" is not a network address (did you mean 10.0.0.0/24?)");
	pool_bad("{\"subnet\":\"fd00::1/64\"}", NC, "(did you mean fd00::/64?)");
	pool_bad("{\"subnet\":\"10.0.0.0/31\"}", NC, "at most /30");
	pool_bad("{\"subnet\":\"10.0.0.0/32\"}", NC, "at most /30");
	pool_bad("{\"subnet\":\"fd00::/127\"}", NC, "at most /126");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.1.5\"}", NC,
		 "=ipam.rangeStart 10.0.1.5 is outside ipam.subnet 10.0.0.0/24");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"rangeEnd\":\"9.0.0.5\"}", NC,
		 "ipam.rangeEnd 9.0.0.5 is outside");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.x\"}", NC,
		 "ipam.rangeStart \"10.0.0.x\" is not an IP address");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.20\","
		 "\"rangeEnd\":\"10.0.0.10\"}", NC,
		 "=ipam.rangeStart 10.0.0.20 is after ipam.rangeEnd 10.0.0.10");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.1.1\"}", NC,
		 "ipam.gateway 10.0.1.1 is outside ipam.subnet 10.0.0.0/24");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"fd00::1\"}", NC,
		 "ipam.gateway fd00::1 is IPv6 but ipam.subnet 10.0.0.0/24 is IPv4");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.255\"}", NC,
		 "broadcast address");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.0\"}", NC,
		 "network address");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.1\","
		 "\"rangeEnd\":\"10.0.0.1\"}", NC, "no address but the gateway");
	pool_bad("{\"subnet\":\"10.0.0.0/24\",\"routes\":[]}",
		 CNI_ERR_UNSUPPORTED_FIELD, "ipam.routes: unknown field");
}

/* --- store --------------------------------------------------------------- */

static struct ipam_pool mkpool(const char *text)
{
	struct cni_err err = { 0 };
	struct ipam_pool p = { 0 };

	if (pool_from(text, &p, &err) < 0)
		diag("test bug: pool %s: %s", text, err.msg);
	return p;
}

static struct ipam_store *open_net(const char *net)
{
	struct cni_err err = { 0 };
	struct ipam_store *s = NULL;

	if (ipam_store_open(tmpdir, net, &s, &err) < 0)
		diag("open %s: %d %s", net, err.code, err.msg);
	return s;
}

static int close_net(struct ipam_store *s)
{
	struct cni_err err = { 0 };

	if (ipam_store_close(s, &err) < 0) {
		diag("close: %d %s", err.code, err.msg);
		return -1;
	}
	return 0;
}

/* Allocates for cid/ifname; returns the address text or an error code. */
static const char *alloc(struct ipam_store *s, const struct ipam_pool *p,
			 const char *cid, const char *ifname, bool *fresh,
			 struct cni_err *err)
{
	struct ipam_attachment att = { cid, ifname };
	struct ip_addr ip;
	bool f = false;

	memset(err, 0, sizeof(*err));
	if (ipam_alloc(s, p, &att, &ip, &f, err) < 0)
		return "error";
	if (fresh)
		*fresh = f;
	return fmt_addr(&ip);
}

static const char *alloc1(struct ipam_store *s, const struct ipam_pool *p,
			  const char *cid, const char *ifname)
{
	struct cni_err err;
	const char *r = alloc(s, p, cid, ifname, NULL, &err);

	if (err.code)
		diag("alloc %s/%s: %d %s", cid, ifname, err.code, err.msg);
	return r;
}

static const char *lookup(struct ipam_store *s, const char *cid,
			  const char *ifname)
{
	struct ipam_attachment att = { cid, ifname };
	struct ip_addr ip;

	return ipam_lookup(s, &att, &ip) == 1 ? fmt_addr(&ip) : "none";
}

static int release(struct ipam_store *s, const char *cid, const char *ifname)
{
	struct ipam_attachment att = { cid, ifname };

	return ipam_release(s, &att);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int spit(const char *net, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, net);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/%s/allocations", tmpdir, net);
	f = fopen(path, "we");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void test_alloc_basics(void)
{
	struct ipam_pool p = mkpool("{\"subnet\":\"10.0.0.0/24\"}");
	struct ipam_store *s = open_net("basic");
	char path[512];
	struct cni_err err;
	struct stat st;
	bool fresh;

	if (!ok(s, "store opens"))
		return;
	snprintf(path, sizeof(path), "%s/basic", tmpdir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700,
	   "store directory has mode 0700");
	is_int(ipam_count(s), 0, "new store is empty");
	is_str(alloc(s, &p, "c1", "eth0", &fresh, &err), "10.0.0.2",
	       "first address skips network and gateway");
	ok(fresh, "  and is fresh");
	is_str(alloc(s, &p, "c1", "eth0", &fresh, &err), "10.0.0.2",
	       "same attachment gets the same address");
	ok(!fresh, "  not fresh");
	is_str(alloc(s, &p, "c1", "net1", &fresh, &err), "10.0.0.3",
	       "same container, other ifname: another address");
	ok(fresh, "  fresh");
	is_str(alloc1(s, &p, "c2", "eth0"), "10.0.0.4", "c2 gets .4");
	is_str(lookup(s, "c1", "net1"), "10.0.0.3", "lookup finds c1/net1");
	is_str(lookup(s, "c9", "eth0"), "none", "lookup misses c9");
	is_int(release(s, "c1", "eth0"), 0, "release c1/eth0");
	is_int(release(s, "c1", "eth0"), 0, "release again is fine");
	is_int(release(s, "nobody", "eth0"), 0, "release of unknown is fine");
	is_str(lookup(s, "c1", "eth0"), "none", "released one is gone");
	is_str(alloc1(s, &p, "c3", "eth0"), "10.0.0.5",
	       "round-robin: released .2 is not reused at once");
	is_int(ipam_count(s), 3, "three held");
	is_int(close_net(s), 0, "close writes");
	snprintf(path, sizeof(path), "%s/basic/allocations", tmpdir);
	is_str(slurp(path),
	       "# bulkhead-ipam v1\nlast 10.0.0.5\n10.0.0.3 c1 net1\n"
	       "10.0.0.4 c2 eth0\n10.0.0.5 c3 eth0\n", "state file contents");
	snprintf(path, sizeof(path), "%s/basic/allocations.tmp", tmpdir);
	ok(access(path, F_OK) < 0, "no temp file left");

	/* Persistence, round-robin state included. */
	s = open_net("basic");
	if (!ok(s, "store reopens"))
		return;
	is_int(ipam_count(s), 3, "three still held");
	is_str(lookup(s, "c2", "eth0"), "10.0.0.4", "c2 still has .4");
	is_str(alloc(s, &p, "c3", "eth0", &fresh, &err), "10.0.0.5",
	       "c3 still gets .5");
	ok(!fresh, "  not fresh");
	is_str(alloc1(s, &p, "c4", "eth0"), "10.0.0.6",
	       "round-robin continues after reopen");
	is_int(close_net(s), 0, "close");

	/* No change, no write: the file keeps its inode. */
	snprintf(path, sizeof(path), "%s/basic/allocations", tmpdir);
	ino_t ino = stat(path, &st) == 0 ? st.st_ino : 0;
	s = open_net("basic");
	is_str(lookup(s, "c4", "eth0"), "10.0.0.6", "c4 has .6");
	is_int(close_net(s), 0, "close");
	ok(stat(path, &st) == 0 && st.st_ino == ino, "unchanged store not rewritten");
}

static void test_wrap_and_exhaust(void)
{
	struct ipam_pool p = mkpool("{\"subnet\":\"10.0.1.0/29\"}");
	struct ipam_store *s = open_net("small");
	struct cni_err err;
	char cid[32];

	if (!ok(s, "store opens"))
		return;
	is_int(ipam_pool_capacity(&p), 5, "/29 holds 5");
	for (int i = 0; i < 5; i++) {
		snprintf(cid, sizeof(cid), "c%d", i);
		alloc1(s, &p, cid, "eth0");
	}
	is_str(lookup(s, "c4", "eth0"), "10.0.1.6", "fifth gets .6 (not .7, the broadcast)");
	is_str(alloc(s, &p, "c5", "eth0", NULL, &err), "error", "sixth fails");
	is_int(err.code, CNI_ERR_TRY_AGAIN, "  with CNI_ERR_TRY_AGAIN");
	is_str(err.msg, "ipam: no free address in 10.0.1.0/29 (range 10.0.1.1-10.0.1.6, 5 allocated)",
	       "  saying so");
	is_str(alloc1(s, &p, "c4", "eth0"), "10.0.1.6",
	       "a full pool still answers a held attachment");
	release(s, "c1", "eth0");
	release(s, "c3", "eth0");
	is_str(alloc1(s, &p, "c6", "eth0"), "10.0.1.3",
	       "wraps around to the first free after the last");
	is_str(alloc1(s, &p, "c7", "eth0"), "10.0.1.5", "then the next free");

	/* The pool shrank under an attachment: it trades its address. */
	struct ipam_pool q = mkpool("{\"subnet\":\"10.0.1.0/29\","
				    "\"rangeStart\":\"10.0.1.2\",\"rangeEnd\":\"10.0.1.5\"}");
	bool fresh;
	release(s, "c2", "eth0");
	is_str(alloc(s, &q, "c4", "eth0", &fresh, &err), "10.0.1.4",
	       "an address outside the new range is traded for a new one");
	ok(fresh, "  fresh");
	is_int(ipam_count(s), 4, "  and the old one is released");
	is_int(close_net(s), 0, "close");
}

static void test_gc(void)
{
	struct ipam_pool p = mkpool("{\"subnet\":\"10.0.2.0/24\"}");
	struct ipam_attachment valid[] = {
		{ "c1", "eth0" }, { "c3", "eth0" }, { "gone", "eth0" },
		{ "bad/id", "eth0" },
	};
	struct ipam_store *s = open_net("gc");

	if (!ok(s, "store opens"))
		return;
	is_int(ipam_gc(s, valid, 2), 0, "gc of an empty store releases nothing");
	alloc1(s, &p, "c1", "eth0");
	alloc1(s, &p, "c2", "eth0");
	alloc1(s, &p, "c3", "eth0");
	alloc1(s, &p, "c3", "net1");
	is_int(ipam_gc(s, valid, 4), 2, "gc releases two");
	is_str(lookup(s, "c1", "eth0"), "10.0.2.2", "c1/eth0 kept");
	is_str(lookup(s, "c3", "eth0"), "10.0.2.4", "c3/eth0 kept");
	is_str(lookup(s, "c2", "eth0"), "none", "c2/eth0 released");
	is_str(lookup(s, "c3", "net1"), "none", "c3/net1 released");
	is_int(ipam_gc(s, valid, 4), 0, "second gc releases nothing");
	is_int(ipam_gc(s, NULL, 0), 2, "gc with no valid attachments releases all");
	is_int(ipam_count(s), 0, "store empty");
	is_int(close_net(s), 0, "close");
}

static void corrupt(const char *net, const char *text, const char *want)
{
	struct cni_err err = { 0 };
	struct ipam_store *s = NULL;

	if (spit(net, text) < 0) {
		ok(0, "write %s", net);
		return;
	}
	is_int(ipam_store_open(tmpdir, net, &s, &err), -1, "corrupt %s: open fails", net);
	ok(!s, "  no store");
	is_int(err.code, BH_ERR_IPAM, "  BH_ERR_IPAM");
	if (!ok(strstr(err.msg, want) && strstr(err.msg, "/allocations"),
		"  message names the file and '%s'", want))
		diag("message: %s", err.msg);
}

static void test_corrupt(void)
{
	struct ipam_store *s;

	corrupt("c-line", "# bulkhead-ipam v1\nlast 10.0.0.2\n10.0.0.2 c1 eth0\nbogus\n",
		"line 4: corrupt allocation");
	corrupt("c-ip", "# bulkhead-ipam v1\n10.0.0.300 c1 eth0\n", "line 2:");
	corrupt("c-dupip", "# bulkhead-ipam v1\n10.0.0.2 c1 eth0\n10.0.0.3 c2 eth0\n"
		"10.0.0.2 c3 eth0\n", "line 4: address 10.0.0.2 is allocated twice");
	corrupt("c-dupatt", "# bulkhead-ipam v1\n10.0.0.2 c1 eth0\n10.0.0.3 c1 eth0\n",
		"line 3: c1/eth0 holds two addresses");
	corrupt("c-header", "10.0.0.2 c1 eth0\n", "line 1: not a bulkhead-ipam v1 file");
	corrupt("c-cid", "# bulkhead-ipam v1\n10.0.0.2 -c1 eth0\n", "line 2:");
	corrupt("c-ifname", "# bulkhead-ipam v1\n10.0.0.2 c1 eth0:1\n", "line 2:");
	corrupt("c-extra", "# bulkhead-ipam v1\n10.0.0.2 c1 eth0 x\n", "line 2:");
	corrupt("c-short", "# bulkhead-ipam v1\n10.0.0.2 c1\n", "line 2:");
	corrupt("c-last", "# bulkhead-ipam v1\nlast nowhere\n", "line 2: bad or repeated");
	corrupt("c-last2", "# bulkhead-ipam v1\nlast 10.0.0.2\nlast 10.0.0.3\n", "line 3:");

	if (spit("c-empty", "") == 0 && (s = open_net("c-empty"))) {
		is_int(ipam_count(s), 0, "an empty file is an empty store");
		close_net(s);
	} else {
		ok(0, "an empty file is an empty store");
	}
	/* A file left by a crash before rename is ignored and overwritten. */
	s = open_net("basic");
	ok(s && ipam_count(s) == 4, "a good store still opens after the others failed");
	close_net(s);
}

static void test_validation(void)
{
	static const char *const bad_nets[] = { "", ".", "..", "a/b", "../x", NULL };
	static const char *const bad_cids[] = {
		"", "-c1", ".c1", "c 1", "c/1", "c1\n", "c:1",
	};
	static const char *const bad_ifnames[] = {
		"", ".", "..", "eth/0", "eth 0", "eth0:1", "abcdefghijklmnop",
	};
	struct ipam_pool p = mkpool("{\"subnet\":\"10.0.3.0/24\"}");
	char longname[200], longcid[IPAM_MAX_ID + 2];
	struct cni_err err;
	struct ipam_store *s;

	for (size_t i = 0; i < sizeof(bad_nets) / sizeof(bad_nets[0]); i++) {
		memset(&err, 0, sizeof(err));
		s = NULL;
		is_int(ipam_store_open(tmpdir, bad_nets[i], &s, &err), -1,
		       "network name \"%s\" rejected", bad_nets[i] ? bad_nets[i] : "(null)");
		is_int(err.code, CNI_ERR_INVALID_NETCONF, "  CNI_ERR_INVALID_NETCONF");
	}
	memset(longname, 'n', 129);
	longname[129] = '\0';
	memset(&err, 0, sizeof(err));
	is_int(ipam_store_open(tmpdir, longname, &s, &err), -1, "129-char network name rejected");
	longname[128] = '\0';
	s = open_net(longname);
	ok(s, "128-char network name accepted");
	close_net(s);

	s = open_net("valid");
	if (!ok(s, "store opens"))
		return;
	for (size_t i = 0; i < sizeof(bad_cids) / sizeof(bad_cids[0]); i++) {
		is_str(alloc(s, &p, bad_cids[i], "eth0", NULL, &err), "error",
		       "container id \"%s\" rejected", printable(bad_cids[i]));
		is_int(err.code, CNI_ERR_INVALID_ENV, "  CNI_ERR_INVALID_ENV");
		ok(strstr(err.msg, "CNI_CONTAINERID"), "  naming CNI_CONTAINERID");
	}
	memset(longcid, 'a', IPAM_MAX_ID + 1);
	longcid[IPAM_MAX_ID + 1] = '\0';
	is_str(alloc(s, &p, longcid, "eth0", NULL, &err), "error",
	       "%d-char container id rejected", IPAM_MAX_ID + 1);
	longcid[IPAM_MAX_ID] = '\0';
	is_str(alloc1(s, &p, longcid, "eth0"), "10.0.3.2",
	       "%d-char container id accepted", IPAM_MAX_ID);
	is_str(alloc1(s, &p, "K8s_pod.1-x", "eth0"), "10.0.3.3",
	       "container id with _ . - accepted");
	for (size_t i = 0; i < sizeof(bad_ifnames) / sizeof(bad_ifnames[0]); i++) {
		is_str(alloc(s, &p, "c1", bad_ifnames[i], NULL, &err), "error",
		       "ifname \"%s\" rejected", bad_ifnames[i]);
		is_int(err.code, CNI_ERR_INVALID_ENV, "  CNI_ERR_INVALID_ENV");
		ok(strstr(err.msg, "CNI_IFNAME"), "  naming CNI_IFNAME");
	}
	is_str(alloc1(s, &p, "c1", "abcdefghijklmno"), "10.0.3.4",
	       "15-char ifname accepted");
	is_int(release(s, "c 1", "eth0"), 0, "release of an invalid id holds nothing");
	is_int(ipam_count(s), 3, "nothing invalid was stored");
	is_int(close_net(s), 0, "close");
}

static void test_ipv6(void)
{
	struct ipam_pool p = mkpool("{\"subnet\":\"fd00::/120\"}");
	struct ipam_store *s = open_net("v6");
	char path[512];

	if (!ok(s, "store opens"))
		return;
	is_str(alloc1(s, &p, "c1", "eth0"), "fd00::2", "IPv6: first is fd00::2");
	is_str(alloc1(s, &p, "c2", "eth0"), "fd00::3", "IPv6: then fd00::3");
	is_str(alloc1(s, &p, "c3", "eth0"), "fd00::4", "IPv6: then fd00::4");
	release(s, "c2", "eth0");
	is_int(close_net(s), 0, "close");
	snprintf(path, sizeof(path), "%s/v6/allocations", tmpdir);
	is_str(slurp(path), "# bulkhead-ipam v1\nlast fd00::4\nfd00::2 c1 eth0\n"
	       "fd00::4 c3 eth0\n", "IPv6 state file");
	s = open_net("v6");
	if (!ok(s, "IPv6 store reopens"))
		return;
	is_str(alloc1(s, &p, "c4", "eth0"), "fd00::5", "IPv6: round-robin after reopen");
	is_int(close_net(s), 0, "close");

	/* The last address of an IPv6 subnet is a pod's, and the range wraps. */
	p = mkpool("{\"subnet\":\"fd00:1::/64\",\"rangeStart\":\"fd00:1::ffff:ffff:ffff:fffe\"}");
	s = open_net("v6-top");
	is_str(alloc1(s, &p, "c1", "eth0"), "fd00:1::ffff:ffff:ffff:fffe", "top of a /64");
	is_str(alloc1(s, &p, "c2", "eth0"), "fd00:1::ffff:ffff:ffff:ffff",
	       "last address of a /64 is handed out");
	release(s, "c1", "eth0");
	is_str(alloc1(s, &p, "c3", "eth0"), "fd00:1::ffff:ffff:ffff:fffe", "wraps to the start");
	close_net(s);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_big(void)
{
	struct ipam_pool p = mkpool("{\"subnet\":\"10.128.0.0/16\"}");
	struct ipam_store *s = open_net("big");
	struct ipam_attachment att = { NULL, "eth0" };
	struct cni_err err = { 0 };
	struct ip_addr ip;
	char cid[32];
	bool fresh;
	int fails = 0;
	double t;

	if (!ok(s, "store opens"))
		return;
	t = now();
	for (int i = 0; i < 65533; i++) {
		snprintf(cid, sizeof(cid), "c%d", i);
		att.container_id = cid;
		fails += ipam_alloc(s, &p, &att, &ip, &fresh, &err) < 0;
	}
	t = now() - t;
	is_int(fails, 0, "a /16 hands out 65533 addresses");
	diag("65533 allocations in %.3f s", t);
	ok(t < 2.0, "  quickly (%.3f s)", t);
	is_str(fmt_addr(&ip), "10.128.255.254", "  the last is 10.128.255.254");
	is_str(alloc(s, &p, "one-more", "eth0", NULL, &err), "error", "then one more fails");
	is_int(err.code, CNI_ERR_TRY_AGAIN, "  with CNI_ERR_TRY_AGAIN");
	is_int(close_net(s), 0, "close writes 65533 lines");
	t = now();
	s = open_net("big");
	ok(s && ipam_count(s) == 65533, "reopen loads them all");
	is_str(lookup(s, "c40000", "eth0"), "10.128.156.66", "c40000 has 10.128.156.66");
	release(s, "c40000", "eth0");
	is_str(alloc1(s, &p, "again", "eth0"), "10.128.156.66", "the one released is found");
	close_net(s);
	diag("reload, release, alloc and save in %.3f s", now() - t);
}

static void test_concurrency(void)
{
	enum { N = 20 };
	struct ipam_pool p = mkpool("{\"subnet\":\"10.0.4.0/24\"}");
	struct ip_addr seen[N];
	struct ipam_store *s;
	pid_t pids[N];
	int bad = 0, n = 0;

	fflush(stdout);
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			ok(0, "fork: %s", strerror(errno));
			return;
		}
		if (pids[i] == 0) {
			struct ipam_attachment att = { NULL, "eth0" };
			struct cni_err err = { 0 };
			struct ipam_store *cs;
			struct ip_addr ip;
			char cid[32];
			bool fresh;

			snprintf(cid, sizeof(cid), "racer%d", i);
			att.container_id = cid;
			if (ipam_store_open(tmpdir, "race", &cs, &err) < 0)
				_exit(2);
			if (ipam_alloc(cs, &p, &att, &ip, &fresh, &err) < 0) {
				ipam_store_close(cs, &err);
				_exit(3);
			}
			_exit(ipam_store_close(cs, &err) < 0 ? 4 : 0);
		}
	}
	for (int i = 0; i < N; i++) {
		int st;

		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	is_int(bad, 0, "%d processes allocated at once", N);
	s = open_net("race");
	if (!ok(s, "store opens"))
		return;
	is_int(ipam_count(s), N, "the store holds %d allocations", N);
	for (int i = 0; i < N; i++) {
		char cid[32];
		struct ipam_attachment att = { cid, "eth0" };

		snprintf(cid, sizeof(cid), "racer%d", i);
		if (ipam_lookup(s, &att, &seen[n]) == 1)
			n++;
	}
	is_int(n, N, "every process's allocation is there");
	bad = 0;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			bad += ip_addr_eq(&seen[i], &seen[j]);
	is_int(bad, 0, "all %d addresses distinct", n);
	close_net(s);
}

static void count_cb(const struct ip_addr *ip, const struct ipam_attachment *att,
		     void *arg)
{
	(void)ip;
	if (strcmp(att->ifname, "eth0") == 0)
		(*(int *)arg)++;
}

static void test_foreach(void)
{
	struct ipam_store *s = open_net("basic");
	int n = 0;

	if (!ok(s, "store opens"))
		return;
	ipam_foreach(s, count_cb, &n);
	is_int(n, 3, "foreach visits the three eth0 allocations");
	close_net(s);
}

int main(void)
{
	main_pid = getpid();
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	atexit(cleanup);
	test_pool();
	test_alloc_basics();
	test_wrap_and_exhaust();
	test_gc();
	test_corrupt();
	test_validation();
	test_ipv6();
	test_big();
	test_concurrency();
	test_foreach();
	return done_testing();
}
