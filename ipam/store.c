/* The allocation store: one locked directory per network holding a text file
 * of who has which address, kept in memory with hash indexes while open. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/fsutil.h"
#include "ipam/ipam.h"

#define STORE_HEADER "# bulkhead-ipam v1"
#define MAX_NETWORK_NAME 128
#define NO_SLOT SIZE_MAX

struct entry {
	struct ip_addr ip;
	char *cid;
	char ifname[IPAM_MAX_IFNAME + 1];
	bool drop;			/* marked for remove_marked() */
};

struct ipam_store {
	char dir[PATH_MAX];
	char file[PATH_MAX];
	char tmp[PATH_MAX];
	int lock_fd;
	struct entry *v;
	size_t n, cap;
	/* Open-addressing indexes into v by address and by attachment, so
	 * alloc stays O(1) on a full /16. Entries are only ever appended
	 * between rebuilds; removals rebuild (O(n), rare). */
	size_t *by_ip, *by_att;
	size_t nslots;			/* power of two, > 2 * n */
	struct ip_addr last;		/* family 0: nothing handed out yet */
	bool dirty;
};

/* --- validation ---------------------------------------------------------- */

static bool valid_network(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= MAX_NETWORK_NAME && !strchr(s, '/') &&
	       strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* CNI spec: an alphanumeric, then alphanumerics, '_', '.' or '-'. */
static bool valid_cid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > IPAM_MAX_ID || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

/* The kernel's dev_valid_name(), which also keeps our file format sound. */
static bool valid_ifname(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > IPAM_MAX_IFNAME || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '/' || c == ':' || isspace(c) || iscntrl(c))
			return false;
	}
	return true;
}

static int check_attachment(const struct ipam_attachment *att,
			    struct cni_err *err)
{
	if (!valid_cid(att->container_id))
		return cni_errorf(err, CNI_ERR_INVALID_ENV,
				  "CNI_CONTAINERID \"%.64s\" is invalid: want 1-%d of [A-Za-z0-9_.-], starting with a letter or digit",
				  att->container_id ? att->container_id : "",
				  IPAM_MAX_ID);
	if (!valid_ifname(att->ifname))
		return cni_errorf(err, CNI_ERR_INVALID_ENV,
				  "CNI_IFNAME \"%.32s\" is invalid: want 1-%d characters, no '/', ':' or blanks, not \".\" or \"..\"",
				  att->ifname ? att->ifname : "", IPAM_MAX_IFNAME);
	return 0;
}

/* --- indexes ------------------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

#define FNV_BASIS 0xcbf29ce484222325ULL

static size_t hash_ip(const struct ip_addr *a)
{
	return (size_t)fnv1a(FNV_BASIS, a->b, ip_addr_bytes(a)) ^
	       (size_t)a->family;
}

static size_t hash_att(const char *cid, const char *ifname)
{
	uint64_t h = fnv1a(FNV_BASIS, cid, strlen(cid) + 1);

	return (size_t)fnv1a(h, ifname, strlen(ifname));
}

static size_t find_ip(const struct ipam_store *s, const struct ip_addr *a)
{
	size_t mask = s->nslots - 1;

	if (!s->nslots)
		return NO_SLOT;
	for (size_t i = hash_ip(a) & mask;; i = (i + 1) & mask) {
		size_t e = s->by_ip[i];

		if (e == NO_SLOT || ip_addr_eq(&s->v[e].ip, a))
			return e;
	}
}

static size_t find_att(const struct ipam_store *s, const char *cid,
		       const char *ifname)
{
	size_t mask = s->nslots - 1;

	if (!s->nslots)
		return NO_SLOT;
	for (size_t i = hash_att(cid, ifname) & mask;; i = (i + 1) & mask) {
		size_t e = s->by_att[i];

		if (e == NO_SLOT || (strcmp(s->v[e].cid, cid) == 0 &&
				     strcmp(s->v[e].ifname, ifname) == 0))
			return e;
	}
}

static void index_entry(struct ipam_store *s, size_t e)
{
	size_t mask = s->nslots - 1;
	size_t i;

	for (i = hash_ip(&s->v[e].ip) & mask; s->by_ip[i] != NO_SLOT;
	     i = (i + 1) & mask)
		;
	s->by_ip[i] = e;
	for (i = hash_att(s->v[e].cid, s->v[e].ifname) & mask;
	     s->by_att[i] != NO_SLOT; i = (i + 1) & mask)
		;
	s->by_att[i] = e;
}

/* Rebuilds both indexes with room for at least want entries. */
static int reindex(struct ipam_store *s, size_t want)
{
	/* Never shrinks, so a rebuild after removals cannot fail. */
	size_t nslots = s->nslots > 64 ? s->nslots : 64;
	size_t *ip, *att;

	while (nslots <= 2 * want)
		nslots *= 2;
	if (nslots != s->nslots) {
		ip = calloc(nslots, sizeof(*ip));
		att = calloc(nslots, sizeof(*att));
		if (!ip || !att) {
			free(ip);
			free(att);
			return -1;
		}
		free(s->by_ip);
		free(s->by_att);
		s->by_ip = ip;
		s->by_att = att;
		s->nslots = nslots;
	}
	for (size_t i = 0; i < s->nslots; i++)
		s->by_ip[i] = s->by_att[i] = NO_SLOT;
	for (size_t e = 0; e < s->n; e++)
		index_entry(s, e);
	return 0;
}

/* Appends an allocation the caller has checked is not a duplicate. */
static int add_entry(struct ipam_store *s, const struct ip_addr *ip,
		     const char *cid, const char *ifname)
{
	struct entry *e;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;

		e = reallocarray(s->v, cap, sizeof(*e));
		if (!e)
			return -1;
		s->v = e;
		s->cap = cap;
	}
	if (2 * (s->n + 1) >= s->nslots && reindex(s, s->n + 1) < 0)
		return -1;
	e = &s->v[s->n];
	e->cid = strdup(cid);
	if (!e->cid)
		return -1;
	e->ip = *ip;
	e->drop = false;
	snprintf(e->ifname, sizeof(e->ifname), "%s", ifname);
	index_entry(s, s->n++);
	s->dirty = true;
	return 0;
}

/* Drops the entries marked drop; returns how many. Allocates nothing, so
 * release and GC cannot fail. */
static size_t remove_marked(struct ipam_store *s)
{
	size_t kept = 0, removed = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].drop) {
			free(s->v[i].cid);
			removed++;
			continue;
		}
		s->v[kept++] = s->v[i];
	}
	s->n = kept;
	if (removed) {
		s->dirty = true;
		(void)reindex(s, s->n);	/* fewer entries: cannot fail */
	}
	return removed;
}

static void remove_one(struct ipam_store *s, size_t e)
{
	s->v[e].drop = true;
	remove_marked(s);
}

/* --- the file ------------------------------------------------------------ */

/* Parses one "<ip> <container_id> <ifname>" line into the store. */
static int load_allocation(struct ipam_store *s, char *line, unsigned lineno,
			   struct cni_err *err)
{
	char *ip_s, *cid, *ifname, *extra, *save = NULL;
	struct ip_addr ip;

	ip_s = strtok_r(line, " ", &save);
	cid = strtok_r(NULL, " ", &save);
	ifname = strtok_r(NULL, " ", &save);
	extra = strtok_r(NULL, " ", &save);
	if (!ifname || extra || ip_addr_parse(ip_s, &ip) < 0 ||
	    !valid_cid(cid) || !valid_ifname(ifname))
		return cni_errorf(err, BH_ERR_IPAM,
				  "ipam: %s line %u: corrupt allocation (want \"<ip> <container_id> <ifname>\")",
				  s->file, lineno);
	if (find_ip(s, &ip) != NO_SLOT)
		return cni_errorf(err, BH_ERR_IPAM,
				  "ipam: %s line %u: address %s is allocated twice",
				  s->file, lineno, ip_s);
	if (find_att(s, cid, ifname) != NO_SLOT)
		return cni_errorf(err, BH_ERR_IPAM,
				  "ipam: %s line %u: %s/%s holds two addresses",
				  s->file, lineno, cid, ifname);
	if (add_entry(s, &ip, cid, ifname) < 0)
		return cni_errorf(err, BH_ERR_INTERNAL, "ipam: out of memory");
	return 0;
}

static int load_line(struct ipam_store *s, char *line, unsigned lineno,
		     struct cni_err *err)
{
	if (lineno == 1) {
		if (strcmp(line, STORE_HEADER) != 0)
			return cni_errorf(err, BH_ERR_IPAM,
					  "ipam: %s line 1: not a bulkhead-ipam v1 file (want \"%s\")",
					  s->file, STORE_HEADER);
		return 0;
	}
	if (line[0] == '\0')
		return 0;
	if (strncmp(line, "last ", 5) != 0)
		return load_allocation(s, line, lineno, err);
	if (s->last.family || ip_addr_parse(line + 5, &s->last) < 0)
		return cni_errorf(err, BH_ERR_IPAM,
				  "ipam: %s line %u: bad or repeated \"last <ip>\" line",
				  s->file, lineno);
	return 0;
}

/* A missing file is an empty store, and so is an empty one: without fsync a
 * machine crash can leave one, and after a reboot no pod holds an address. */
static int load(struct ipam_store *s, struct cni_err *err)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t len;
	int rc = -1;
	FILE *f;

	f = fopen(s->file, "re");
	if (!f && errno == ENOENT)
		return 0;
	if (!f)
		return cni_errorf(err, BH_ERR_IPAM, "ipam: cannot open %s: %s",
				  s->file, strerror(errno));
	errno = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (strlen(line) != (size_t)len) {
			cni_errorf(err, BH_ERR_IPAM, "ipam: %s line %u: NUL byte",
				   s->file, lineno);
			goto out;
		}
		if (load_line(s, line, lineno, err) < 0)
			goto out;
	}
	if (ferror(f)) {
		cni_errorf(err, BH_ERR_IPAM, "ipam: cannot read %s: %s",
			   s->file, strerror(errno));
		goto out;
	}
	s->dirty = false;
	rc = 0;
out:
	free(line);
	fclose(f);
	return rc;
}

static int cmp_entry(const void *a, const void *b)
{
	return ip_addr_cmp(&((const struct entry *)a)->ip,
			   &((const struct entry *)b)->ip);
}

/* Writes the store to <dir>/allocations.tmp and renames it over the file:
 * a crash of the process leaves the old or the new state, never a mix.
 * No fsync: pods do not survive a reboot; the runtime re-ADDs them and GC
 * reclaims the rest, so losing the newest writes to power loss is harmless. */
static int save(struct ipam_store *s, struct cni_err *err)
{
	char ip[IP_ADDR_STRLEN];
	FILE *f = NULL;
	int fd, rc = -1;

	fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		cni_errorf(err, BH_ERR_IPAM, "ipam: cannot write %s: %s",
			   s->tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	/* Sorted by address, for whoever reads the file. */
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
	fprintf(f, "%s\n", STORE_HEADER);
	if (s->last.family) {
		ip_addr_format(&s->last, ip, sizeof(ip));
		fprintf(f, "last %s\n", ip);
	}
	for (size_t i = 0; i < s->n; i++) {
		ip_addr_format(&s->v[i].ip, ip, sizeof(ip));
		fprintf(f, "%s %s %s\n", ip, s->v[i].cid, s->v[i].ifname);
	}
	/* "|", not "||": the file is closed either way. */
	if (ferror(f) | fclose(f)) {
		f = NULL;
		cni_errorf(err, BH_ERR_IPAM, "ipam: cannot write %s: %s",
			   s->tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(s->tmp, s->file) < 0) {
		cni_errorf(err, BH_ERR_IPAM, "ipam: cannot rename %s to %s: %s",
			   s->tmp, s->file, strerror(errno));
		goto out;
	}
	/* The sort moved entries; the indexes follow (same size: no fail). */
	(void)reindex(s, s->n);
	s->dirty = false;
	rc = 0;
out:
	if (rc < 0 && fd >= 0)
		unlink(s->tmp);
	return rc;
}

/* --- the API ------------------------------------------------------------- */

static void store_free(struct ipam_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].cid);
	free(s->v);
	free(s->by_ip);
	free(s->by_att);
	/* Closing the lock file releases the flock. */
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s);
}

static int set_paths(struct ipam_store *s, const char *data_dir,
		     const char *network)
{
	int a = snprintf(s->dir, sizeof(s->dir), "%s/%s", data_dir, network);
	int b = snprintf(s->file, sizeof(s->file), "%s/allocations", s->dir);
	int c = snprintf(s->tmp, sizeof(s->tmp), "%s/allocations.tmp", s->dir);

	if (a < 0 || b < 0 || c < 0 || (size_t)a >= sizeof(s->dir) ||
	    (size_t)b >= sizeof(s->file) || (size_t)c >= sizeof(s->tmp))
		return -1;
	return 0;
}

static int lock_dir(struct ipam_store *s, struct cni_err *err)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/lock", s->dir);

	if (n < 0 || (size_t)n >= sizeof(path))
		return cni_errorf(err, BH_ERR_IPAM, "ipam: path too long: %s",
				  s->dir);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return cni_errorf(err, BH_ERR_IPAM, "ipam: cannot open %s: %s",
				  path, strerror(errno));
	while (flock(s->lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return cni_errorf(err, BH_ERR_IPAM,
					  "ipam: cannot lock %s: %s", path,
					  strerror(errno));
	}
	return 0;
}

int ipam_store_open(const char *data_dir, const char *network,
		    struct ipam_store **out, struct cni_err *err)
{
	struct ipam_store *s;

	*out = NULL;
	if (!valid_network(network))
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "network name \"%.64s\" is invalid for the IPAM store: want 1-%d characters, no '/', not \".\" or \"..\"",
				  network ? network : "", MAX_NETWORK_NAME);
	if (!data_dir || !data_dir[0])
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "ipam.dataDir is empty");
	s = calloc(1, sizeof(*s));
	if (!s)
		return cni_errorf(err, BH_ERR_INTERNAL, "ipam: out of memory");
	s->lock_fd = -1;
	if (set_paths(s, data_dir, network) < 0) {
		cni_errorf(err, CNI_ERR_INVALID_NETCONF,
			   "ipam.dataDir \"%.64s...\" is too long", data_dir);
		goto fail;
	}
	if (mkdir_p(s->dir, 0700) < 0) {
		cni_errorf(err, BH_ERR_IPAM, "ipam: cannot create %s: %s",
			   s->dir, strerror(errno));
		goto fail;
	}
	if (reindex(s, 0) < 0) {
		cni_errorf(err, BH_ERR_INTERNAL, "ipam: out of memory");
		goto fail;
	}
	if (lock_dir(s, err) < 0 || load(s, err) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	store_free(s);
	return -1;
}

int ipam_store_close(struct ipam_store *s, struct cni_err *err)
{
	int rc = 0;

	if (!s)
		return 0;
	if (s->dirty)
		rc = save(s, err);
	store_free(s);
	return rc;
}

/* An address the pool may hand out, used or not. */
static bool pool_usable(const struct ipam_pool *p, const struct ip_addr *a)
{
	struct ip_addr x;

	if (a->family != p->subnet.addr.family ||
	    ip_addr_cmp(a, &p->start) < 0 || ip_addr_cmp(a, &p->end) > 0 ||
	    ip_addr_eq(a, &p->gateway))
		return false;
	ip_prefix_first(&p->subnet, &x);
	if (ip_addr_eq(a, &x))
		return false;
	ip_prefix_last(&p->subnet, &x);
	return !(a->family == AF_INET && ip_addr_eq(a, &x));
}

static void next_in_range(const struct ipam_pool *p, struct ip_addr *a)
{
	if (ip_addr_cmp(a, &p->end) >= 0 || ip_addr_add(a, 1) < 0)
		*a = p->start;
}

static int exhausted(const struct ipam_store *s, const struct ipam_pool *p,
		     struct cni_err *err)
{
	char net[IP_PREFIX_STRLEN], a[IP_ADDR_STRLEN], b[IP_ADDR_STRLEN];
	size_t used = 0;

	for (size_t i = 0; i < s->n; i++)
		used += pool_usable(p, &s->v[i].ip);
	ip_prefix_format(&p->subnet, net, sizeof(net));
	ip_addr_format(&p->start, a, sizeof(a));
	ip_addr_format(&p->end, b, sizeof(b));
	return cni_errorf(err, CNI_ERR_TRY_AGAIN,
			  "ipam: no free address in %s (range %s-%s, %zu allocated)",
			  net, a, b, used);
}

/* Round-robin from the address after the last one handed out, so a released
 * address rests as long as possible before it is reused. */
static int find_free(const struct ipam_store *s, const struct ipam_pool *p,
		     struct ip_addr *out, struct cni_err *err)
{
	struct ip_addr first, c;

	if (s->last.family == p->start.family &&
	    ip_addr_cmp(&s->last, &p->start) >= 0 &&
	    ip_addr_cmp(&s->last, &p->end) <= 0) {
		first = s->last;
		next_in_range(p, &first);
	} else {
		first = p->start;
	}
	/* Stops after one lap at most; with a free address it stops within
	 * n + 4 steps, which bounds the loop on huge IPv6 ranges too. */
	c = first;
	do {
		if (pool_usable(p, &c) && find_ip(s, &c) == NO_SLOT) {
			*out = c;
			return 0;
		}
		next_in_range(p, &c);
	} while (!ip_addr_eq(&c, &first));
	return exhausted(s, p, err);
}

static int check_pool(const struct ipam_pool *p, struct cni_err *err)
{
	int f = p->subnet.addr.family;

	if ((f != AF_INET && f != AF_INET6) || p->start.family != f ||
	    p->end.family != f || ip_addr_cmp(&p->start, &p->end) > 0)
		return cni_errorf(err, BH_ERR_INTERNAL,
				  "ipam: invalid pool (not from ipam_pool_from_json?)");
	return 0;
}

int ipam_alloc(struct ipam_store *s, const struct ipam_pool *pool,
	       const struct ipam_attachment *att, struct ip_addr *out,
	       bool *fresh, struct cni_err *err)
{
	struct ip_addr ip;
	size_t e;

	*fresh = false;
	if (check_attachment(att, err) < 0 || check_pool(pool, err) < 0)
		return -1;
	e = find_att(s, att->container_id, att->ifname);
	if (e != NO_SLOT && pool_usable(pool, &s->v[e].ip)) {
		*out = s->v[e].ip;
		return 0;
	}
	if (find_free(s, pool, &ip, err) < 0)
		return -1;
	/* Held from a pool since changed: the old address is no longer ours
	 * to give, so trade it for one of the new pool. */
	if (e != NO_SLOT)
		remove_one(s, e);
	if (add_entry(s, &ip, att->container_id, att->ifname) < 0)
		return cni_errorf(err, BH_ERR_INTERNAL, "ipam: out of memory");
	s->last = ip;
	*out = ip;
	*fresh = true;
	return 0;
}

int ipam_lookup(struct ipam_store *s, const struct ipam_attachment *att,
		struct ip_addr *out)
{
	size_t e;

	if (!valid_cid(att->container_id) || !valid_ifname(att->ifname))
		return 0;
	e = find_att(s, att->container_id, att->ifname);
	if (e == NO_SLOT)
		return 0;
	*out = s->v[e].ip;
	return 1;
}

int ipam_release(struct ipam_store *s, const struct ipam_attachment *att)
{
	size_t e;

	/* Nothing to report a bad attachment with (no cni_err); it cannot
	 * hold an address either, as load() and alloc validate. */
	if (!valid_cid(att->container_id) || !valid_ifname(att->ifname))
		return 0;
	e = find_att(s, att->container_id, att->ifname);
	if (e != NO_SLOT)
		remove_one(s, e);
	return 0;
}

int ipam_gc(struct ipam_store *s, const struct ipam_attachment *valid,
	    size_t n)
{
	size_t removed;

	for (size_t i = 0; i < s->n; i++)
		s->v[i].drop = true;
	for (size_t i = 0; i < n; i++) {
		size_t e;

		if (!valid_cid(valid[i].container_id) ||
		    !valid_ifname(valid[i].ifname))
			continue;
		e = find_att(s, valid[i].container_id, valid[i].ifname);
		if (e != NO_SLOT)
			s->v[e].drop = false;
	}
	removed = remove_marked(s);
	return removed > INT_MAX ? INT_MAX : (int)removed;
}

size_t ipam_count(const struct ipam_store *s)
{
	return s->n;
}

void ipam_foreach(const struct ipam_store *s,
		  void (*fn)(const struct ip_addr *ip,
			     const struct ipam_attachment *att, void *arg),
		  void *arg)
{
	for (size_t i = 0; i < s->n; i++) {
		struct ipam_attachment att = {
			.container_id = s->v[i].cid,
			.ifname = s->v[i].ifname,
		};

		fn(&s->v[i].ip, &att, arg);
	}
}
