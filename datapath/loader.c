/* The node's two TC programs: loaded from the embedded skeletons against the
 * maps pinned under ROOT, pinned there themselves, and attached with tc. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/limits.h>
#include <linux/magic.h>

#include "bulkhead/config.h"
#include "bulkhead/pin.h"
#include "datapath/loader.h"
#include "datapath/maps.h"
#include "datapath/from_container.skel.h"
#include "datapath/to_container.skel.h"

#define BPFFS_MOUNT	"/sys/fs/bpf"
/* bpffs refuses names with dots, so the temporary pin gets a suffix. */
#define PIN_NEW_SUFFIX	"__new"

/* The two attach points, in one order everywhere: [0] is ingress of the
 * host veth (what the pod sends), [1] egress (what it receives). */
enum { DIR_IN, DIR_OUT, N_DIRS };

static const struct {
	enum bpf_tc_attach_point point;
	const char *tc;
	const char *prog;
} dirs[N_DIRS] = {
	[DIR_IN] = { BPF_TC_INGRESS, "ingress", BH_PROG_FROM_CONTAINER },
	[DIR_OUT] = { BPF_TC_EGRESS, "egress", BH_PROG_TO_CONTAINER },
};

/* Every path under one root, spelled once. */
struct root_paths {
	char maps[PATH_MAX];
	char progs[PATH_MAX];
	char prog[N_DIRS][PATH_MAX];
	char config[PATH_MAX];
};

static int root_paths(struct root_paths *p, const char *root,
		      struct dp_err *err)
{
	int rc = 0;

	rc |= dp_pin_path(p->maps, sizeof(p->maps), root, BH_PIN_MAPS_DIR,
			  NULL);
	rc |= dp_pin_path(p->progs, sizeof(p->progs), root, BH_PIN_PROGS_DIR,
			  NULL);
	rc |= dp_pin_path(p->prog[DIR_IN], PATH_MAX, root, BH_PIN_PROGS_DIR,
			  BH_PROG_FROM_CONTAINER);
	rc |= dp_pin_path(p->prog[DIR_OUT], PATH_MAX, root, BH_PIN_PROGS_DIR,
			  BH_PROG_TO_CONTAINER);
	rc |= dp_pin_path(p->config, sizeof(p->config), root, BH_PIN_MAPS_DIR,
			  BH_MAP_CONFIG);
	if (rc)
		return dp_errorf(err, -ENAMETOOLONG,
				 "bpffs root %s: path too long", root);
	return 0;
}

/* libbpf's output while we call it. Verifier logs are long and the reason
 * for a rejection sits at their end, so only the last LOG_TAIL bytes are
 * kept: of the verifier's log when there is one, else of libbpf's other
 * lines (for tc, the kernel's own words on why a request failed). They end
 * up in the dp_err, not on stderr, which the CNI plugin shares with its
 * runtime. The print callback takes no argument, hence the static; the
 * library is not used from several threads at once. */
#define LOG_TAIL 400
#define LOG_BEGIN "-- BEGIN PROG LOAD LOG --"
#define LOG_END "-- END PROG LOAD LOG --"

struct log_tail {
	char buf[LOG_TAIL + 1];
	size_t len;
};

static struct {
	struct log_tail verifier;
	struct log_tail libbpf;
} captured;

static void tail_add(struct log_tail *t, const char *s, size_t n)
{
	if (n >= LOG_TAIL) {
		s += n - LOG_TAIL;
		n = LOG_TAIL;
		t->len = 0;
	}
	if (t->len + n > LOG_TAIL) {
		size_t drop = t->len + n - LOG_TAIL;

		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

/* The verifier ends its log with statistics; they would take the room of
 * the line that says why the program was refused. */
static size_t strip_stats(const char *log, size_t n)
{
	static const char *const stats[] = {
		"processed ", "verification time", "stack depth",
	};
	size_t i, start;

	for (;;) {
		while (n && log[n - 1] == '\n')
			n--;
		start = n;
		while (start && log[start - 1] != '\n')
			start--;
		for (i = 0; i < sizeof(stats) / sizeof(stats[0]); i++)
			if (!strncmp(log + start, stats[i], strlen(stats[i])))
				break;
		if (start == 0 || i == sizeof(stats) / sizeof(stats[0]))
			return n;
		n = start;
	}
}

static const char *skip_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) ? s : s + n;
}

static int capture_print(enum libbpf_print_level level, const char *fmt,
			 va_list ap)
{
	char *s, *log, *end;
	const char *line;
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	n = vasprintf(&s, fmt, ap);
	if (n < 0)
		return 0;
	log = strstr(s, LOG_BEGIN);
	if (log && (log = strchr(log, '\n'))) {
		log++;
		end = strstr(log, LOG_END);
		tail_add(&captured.verifier, log,
			 strip_stats(log, end ? (size_t)(end - log)
					      : strlen(log)));
	} else {
		line = skip_prefix(s, "libbpf: ");
		line = skip_prefix(line, "Kernel error message: ");
		tail_add(&captured.libbpf, line, strlen(line));
	}
	free(s);
	return n;
}

static libbpf_print_fn_t capture_start(void)
{
	memset(&captured, 0, sizeof(captured));
	return libbpf_set_print(capture_print);
}

static void capture_stop(libbpf_print_fn_t old)
{
	libbpf_set_print(old);
}

/* The captured tail as one line, "; " between lines; "" when nothing was
 * said. */
static const char *captured_text(char *buf, size_t len)
{
	const struct log_tail *t = captured.verifier.len ? &captured.verifier
							  : &captured.libbpf;
	const char *s = t->buf;
	size_t o = 0;

	/* The tail may start mid-line. */
	if (t->len == LOG_TAIL && strchr(s, '\n'))
		s = strchr(s, '\n') + 1;
	for (; *s && o + 3 < len; s++) {
		if (*s != '\n') {
			buf[o++] = *s;
		} else if (s[1]) {
			buf[o++] = ';';
			buf[o++] = ' ';
		}
	}
	buf[o] = '\0';
	return buf;
}

/* ": what libbpf or the kernel said", or "" when they said nothing. */
static const char *captured_detail(char *buf, size_t len)
{
	if (len < 3 || !*captured_text(buf + 2, len - 2))
		return "";
	buf[0] = ':';
	buf[1] = ' ';
	return buf;
}

/* Filesystem. */

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(path);

	if (n >= sizeof(buf))
		return errno = ENAMETOOLONG, -1;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		buf[i] = path[i];
	}
	return 0;
}

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* Whether path, or the nearest of its ancestors that exists, is on a
 * bpffs: checked before creating anything, so a root given by mistake on
 * another filesystem leaves no directories behind. */
static bool lands_on_bpffs(const char *path)
{
	char buf[PATH_MAX];
	struct statfs st;
	char *slash;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return false;
	while (statfs(buf, &st) < 0) {
		slash = strrchr(buf, '/');
		if (errno != ENOENT || !slash)
			return false;
		slash[slash == buf] = '\0';	/* "/x" becomes "/" */
	}
	return st.f_type == BPF_FS_MAGIC;
}

/* bpffs at /sys/fs/bpf if nothing is there yet, then ROOT/maps and
 * ROOT/progs, which must be on a bpffs for pins to work. */
static int prepare_root(const char *root, const struct root_paths *p,
			struct dp_err *err)
{
	if (!on_bpffs(BPFFS_MOUNT) &&
	    mount("bpf", BPFFS_MOUNT, "bpf", 0, "mode=0700") < 0)
		return dp_errorf(err, -errno, "mount bpffs at %s: %s",
				 BPFFS_MOUNT, strerror(errno));
	if (!lands_on_bpffs(root))
		return dp_errorf(err, -EINVAL,
				 "bpffs root %s is not on a bpf filesystem",
				 root);
	if (mkdir_p(p->maps, 0700) < 0 || mkdir_p(p->progs, 0700) < 0)
		return dp_errorf(err, -errno, "create bpffs root %s: %s", root,
				 strerror(errno));
	return 0;
}

/* One loader at a time per root, and no attach while it swaps programs:
 * an attach that fetched the old pin after the loader's walk of the
 * interfaces would leave the old program behind. Returns the locked fd. */
static int root_lock(const char *root, int op, struct dp_err *err)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return dp_errorf(err, -ENOENT,
				 "datapath not loaded under %s: start "
				 "bulkhead-policyd", root);
	if (fd < 0)
		return dp_errorf(err, -errno, "open bpffs root %s: %s", root,
				 strerror(errno));
	while (flock(fd, op) < 0) {
		int rc;

		if (errno == EINTR)
			continue;
		rc = dp_errorf(err, -errno, "lock bpffs root %s: %s", root,
			       strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

static void unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Program identity. */

/* FNV-1a, 32 bits, over the two embedded objects: any change to either
 * program or to a map definition changes it. */
static unsigned int fingerprint(void)
{
	const unsigned char *b;
	unsigned int h = 2166136261u;
	size_t n, i;

	b = from_container_bpf__elf_bytes(&n);
	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	b = to_container_bpf__elf_bytes(&n);
	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return info.id;
}

/* The id of the program pinned at path; 0 when none. */
static __u32 pinned_id(const char *path)
{
	int fd = bpf_obj_get(path);
	__u32 id;

	if (fd < 0)
		return 0;
	id = prog_id(fd);
	close(fd);
	return id;
}

/* Whether ROOT already holds this build: both programs, every map, and a
 * config written by a loader of the same fingerprint. */
static bool pinned_current(const char *root, const struct root_paths *p,
			   unsigned int version)
{
	struct dp_maps m;
	struct bh_config cfg;
	bool same;

	if (!pinned_id(p->prog[DIR_IN]) || !pinned_id(p->prog[DIR_OUT]))
		return false;
	if (dp_maps_open(root, &m, NULL) < 0)
		return false;
	same = dp_config_get(&m, &cfg, NULL) == 0 &&
	       (cfg.flags & BH_CFG_F_LOADED) && cfg.datapath_version == version;
	dp_maps_close(&m);
	return same;
}

static bool any_map_pinned(const char *root)
{
	static const char *const names[] = {
		BH_MAP_ENDPOINTS, BH_MAP_IPCACHE, BH_MAP_POLICY,
		BH_MAP_CONNTRACK, BH_MAP_CONFIG, BH_MAP_COUNTERS,
		BH_MAP_EVENTS, BH_MAP_EVENT_BUDGET,
	};
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (dp_pin_path(path, sizeof(path), root, BH_PIN_MAPS_DIR,
				names[i]) == 0 && access(path, F_OK) == 0)
			return true;
	return false;
}

/* Loading. */

struct progs {
	struct from_container_bpf *from;
	struct to_container_bpf *to;
};

static void progs_destroy(struct progs *pr)
{
	from_container_bpf__destroy(pr->from);
	to_container_bpf__destroy(pr->to);
}

static int load_failed(const char *root, const char *prog, int rc,
		       struct dp_err *err)
{
	char detail[2 * LOG_TAIL];

	return dp_errorf(err, rc, "load %s under %s: %s%s", prog, root,
			 strerror(-rc), captured_detail(detail, sizeof(detail)));
}

/* Whether tc programs may call bpf_ktime_get_coarse_ns (5.11 and later). */
static bool have_coarse_clock(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS,
				       BPF_FUNC_ktime_get_coarse_ns, NULL) == 1;
}

/* Opens and loads both objects; maps declared LIBBPF_PIN_BY_NAME are
 * taken from maps_dir when pinned there and pinned there when not, so
 * to_container, loaded second, shares from_container's maps. */
static int load_objects(const char *root, const char *maps_dir,
			struct progs *pr, struct dp_err *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = maps_dir);
	libbpf_print_fn_t old_print;
	int rc;

	old_print = capture_start();
	pr->from = from_container_bpf__open_opts(&opts);
	if (!pr->from) {
		rc = load_failed(root, BH_PROG_FROM_CONTAINER, -errno, err);
		goto out;
	}
	pr->from->rodata->have_coarse_clock = have_coarse_clock();
	rc = from_container_bpf__load(pr->from);
	if (rc < 0) {
		load_failed(root, BH_PROG_FROM_CONTAINER, rc, err);
		goto out;
	}
	pr->to = to_container_bpf__open_opts(&opts);
	if (!pr->to) {
		rc = load_failed(root, BH_PROG_TO_CONTAINER, -errno, err);
		goto out;
	}
	pr->to->rodata->have_coarse_clock = have_coarse_clock();
	rc = to_container_bpf__load(pr->to);
	if (rc < 0)
		load_failed(root, BH_PROG_TO_CONTAINER, rc, err);
out:
	capture_stop(old_print);
	return rc;
}

/* Pins prog_fd at dir/name without a moment where nothing is pinned
 * there: a temporary pin beside it, renamed over it. */
static int pin_replace(int prog_fd, const char *dir, const char *name,
		       struct dp_err *err)
{
	char tmp[PATH_MAX], path[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s/%s%s", dir, name, PIN_NEW_SUFFIX) >=
		    (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    (int)sizeof(path))
		return dp_errorf(err, -ENAMETOOLONG, "pin %s under %s: path "
				 "too long", name, dir);
	/* A loader that died between pin and rename left this. */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return dp_errorf(err, -errno, "remove stale pin %s: %s", tmp,
				 strerror(errno));
	if (bpf_obj_pin(prog_fd, tmp) < 0)
		return dp_errorf(err, -errno, "pin %s at %s: %s", name, tmp,
				 strerror(errno));
	if (rename(tmp, path) < 0) {
		int rc = dp_errorf(err, -errno, "pin %s: rename %s to %s: %s",
				   name, tmp, path, strerror(errno));

		unlink(tmp);
		return rc;
	}
	return 0;
}

/* Pins the new programs in place of the old ones, from_container first.
 * When the second pin fails the first has already been replaced; old_id
 * of every direction not pinned is cleared, so that the interfaces are
 * switched to exactly what got pinned and pins and attachments agree. */
static int pin_programs(const struct root_paths *p, const int new_fd[N_DIRS],
			__u32 old_id[N_DIRS], struct dp_err *err)
{
	int d, rc = 0;

	for (d = 0; d < N_DIRS; d++) {
		rc = pin_replace(new_fd[d], p->progs, dirs[d].prog, err);
		if (rc < 0)
			break;
	}
	for (; d < N_DIRS; d++)
		old_id[d] = 0;
	return rc;
}

/* tc. Each call runs under the capture, so that right after a failure
 * captured_detail() has the kernel's explanation of it. */

static int tc_hook_create(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	libbpf_print_fn_t old = capture_start();
	int rc = bpf_tc_hook_create(&hook);

	capture_stop(old);
	return rc;
}

/* *id: the program at our handle and priority on direction d. */
static int tc_query(int ifindex, int d, __u32 *id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = dirs[d].point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BH_TC_HANDLE,
		    .priority = BH_TC_PRIORITY);
	libbpf_print_fn_t old = capture_start();
	int rc = bpf_tc_query(&hook, &opts);

	capture_stop(old);
	if (rc == 0)
		*id = opts.prog_id;
	return rc;
}

/* Installs prog_fd, or replaces what runs there in one step. */
static int tc_attach(int ifindex, int d, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = dirs[d].point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BH_TC_HANDLE,
		    .priority = BH_TC_PRIORITY, .prog_fd = prog_fd,
		    .flags = BPF_TC_F_REPLACE);
	libbpf_print_fn_t old = capture_start();
	int rc = bpf_tc_attach(&hook, &opts);

	capture_stop(old);
	return rc;
}

static int tc_detach(int ifindex, int d)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = dirs[d].point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BH_TC_HANDLE,
		    .priority = BH_TC_PRIORITY);
	libbpf_print_fn_t old = capture_start();
	int rc = bpf_tc_detach(&hook, &opts);

	capture_stop(old);
	return rc;
}

/* After new programs are pinned: every interface of this network
 * namespace whose filter runs an old program gets the new one, in one
 * replace. A failure on one interface does not stop the others. */
static int switch_interfaces(const __u32 old_id[N_DIRS],
			     const int new_fd[N_DIRS], struct dp_err *err)
{
	struct if_nameindex *ifs, *i;
	char detail[2 * LOG_TAIL];
	int d, rc = 0, r;
	__u32 id;

	if (!old_id[DIR_IN] && !old_id[DIR_OUT])
		return 0;
	ifs = if_nameindex();
	if (!ifs)
		return dp_errorf(err, -errno, "list interfaces to switch to "
				 "the new programs: %s", strerror(errno));
	for (i = ifs; i->if_index; i++) {
		for (d = 0; d < N_DIRS; d++) {
			if (!old_id[d] || tc_query(i->if_index, d, &id) < 0 ||
			    id != old_id[d])
				continue;
			r = tc_attach(i->if_index, d, new_fd[d]);
			if (r < 0 && rc == 0)
				rc = dp_errorf(err, r, "switch %s (ifindex "
					       "%u) to the new %s: tc %s: %s%s",
					       i->if_name, i->if_index,
					       dirs[d].prog, dirs[d].tc,
					       strerror(-r),
					       captured_detail(detail,
							       sizeof(detail)));
		}
	}
	if_freenameindex(ifs);
	return rc;
}

/* The last step of a load, so that a config carrying this fingerprint
 * means the programs are pinned. A first load writes the defaults; a
 * reload keeps the live settings and bumps the policy revision, so the
 * new programs decide every connection again. */
static int config_commit(const char *root, unsigned int version,
			 struct dp_err *err)
{
	struct dp_maps m;
	struct bh_config cfg;
	int rc;

	rc = dp_maps_open(root, &m, err);
	if (rc < 0)
		return rc;
	rc = dp_config_get(&m, &cfg, err);
	if (rc < 0)
		goto out;
	if (cfg.flags & BH_CFG_F_LOADED)
		cfg.policy_rev++;
	else
		dp_config_defaults(&cfg);
	cfg.datapath_version = version;
	rc = dp_config_put(&m, &cfg, err);
out:
	dp_maps_close(&m);
	return rc;
}

int dp_load(const char *root, struct dp_load_result *res, struct dp_err *err)
{
	struct root_paths p;
	struct progs pr = { 0 };
	struct dp_maps m;
	__u32 old_id[N_DIRS];
	int new_fd[N_DIRS];
	int lock = -1, rc, switched, d;

	memset(res, 0, sizeof(*res));
	res->version = fingerprint();
	rc = root_paths(&p, root, err);
	if (rc < 0)
		return rc;
	rc = prepare_root(root, &p, err);
	if (rc < 0)
		return rc;
	lock = root_lock(root, LOCK_EX, err);
	if (lock < 0)
		return lock;
	if (pinned_current(root, &p, res->version)) {
		res->reused = res->maps_reused = true;
		goto out;
	}
	res->maps_reused = any_map_pinned(root);
	for (d = 0; d < N_DIRS; d++)
		old_id[d] = pinned_id(p.prog[d]);
	rc = load_objects(root, p.maps, &pr, err);
	if (rc < 0)
		goto out;
	/* Checks the maps against the ABI in include/ before anything
	 * starts using the new programs. */
	rc = dp_maps_open(root, &m, err);
	if (rc < 0)
		goto out;
	dp_maps_close(&m);
	new_fd[DIR_IN] = bpf_program__fd(pr.from->progs.from_container);
	new_fd[DIR_OUT] = bpf_program__fd(pr.to->progs.to_container);
	rc = pin_programs(&p, new_fd, old_id, err);
	switched = switch_interfaces(old_id, new_fd, err);
	/* An interface that could not be switched does not make the pins
	 * any less this build's: the config says so all the same. */
	if (rc == 0)
		rc = config_commit(root, res->version, err);
	if (rc == 0)
		rc = switched;
out:
	progs_destroy(&pr);
	unlock(lock);
	return rc;
}

/* Unloading. */

/* Unlinks every entry of dir (pins only: bpffs holds nothing else). */
static int remove_pins(const char *dir, struct dp_err *err)
{
	struct dirent *e;
	DIR *dp = opendir(dir);
	int rc = 0;

	if (!dp && errno == ENOENT)
		return 0;
	if (!dp)
		return dp_errorf(err, -errno, "open %s: %s", dir,
				 strerror(errno));
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd(dp), e->d_name, 0) < 0 && errno != ENOENT) {
			rc = dp_errorf(err, -errno, "unpin %s/%s: %s", dir,
				       e->d_name, strerror(errno));
			break;
		}
	}
	closedir(dp);
	return rc;
}

static int remove_dir(const char *dir, struct dp_err *err)
{
	if (rmdir(dir) == 0 || errno == ENOENT)
		return 0;
	return dp_errorf(err, -errno, "remove %s: %s", dir, strerror(errno));
}

int dp_unload(const char *root, struct dp_err *err)
{
	struct root_paths p;
	int lock, rc;

	rc = root_paths(&p, root, err);
	if (rc < 0)
		return rc;
	if (access(root, F_OK) < 0 && errno == ENOENT)
		return 0;
	lock = root_lock(root, LOCK_EX, NULL);
	rc = remove_pins(p.progs, err);
	if (rc == 0)
		rc = remove_pins(p.maps, err);
	if (rc == 0)
		rc = remove_dir(p.progs, err);
	if (rc == 0)
		rc = remove_dir(p.maps, err);
	if (rc == 0)
		rc = remove_dir(root, err);
	unlock(lock);
	return rc;
}

bool dp_loaded(const char *root)
{
	struct root_paths p;

	if (root_paths(&p, root, NULL) < 0)
		return false;
	return access(p.prog[DIR_IN], F_OK) == 0 &&
	       access(p.prog[DIR_OUT], F_OK) == 0 &&
	       access(p.config, F_OK) == 0;
}

/* Attaching. */

/* fds[d] gets the pinned program of direction d. */
static int open_pinned(const char *root, const struct root_paths *p,
		       int fds[N_DIRS], struct dp_err *err)
{
	int d;

	for (d = 0; d < N_DIRS; d++) {
		fds[d] = bpf_obj_get(p->prog[d]);
		if (fds[d] < 0 && errno == ENOENT)
			return dp_errorf(err, -ENOENT,
					 "datapath not loaded under %s: start "
					 "bulkhead-policyd", root);
		if (fds[d] < 0)
			return dp_errorf(err, -errno, "open pinned %s: %s",
					 p->prog[d], strerror(errno));
	}
	return 0;
}

static void close_fds(int fds[N_DIRS])
{
	int d;

	for (d = 0; d < N_DIRS; d++)
		if (fds[d] >= 0)
			close(fds[d]);
}

int dp_attach(const char *root, int ifindex, struct dp_err *err)
{
	struct root_paths p;
	char detail[2 * LOG_TAIL];
	int fds[N_DIRS] = { -1, -1 };
	int lock = -1, rc, d;

	rc = root_paths(&p, root, err);
	if (rc < 0)
		return rc;
	lock = root_lock(root, LOCK_SH, err);
	if (lock < 0)
		return lock;
	rc = open_pinned(root, &p, fds, err);
	if (rc < 0)
		goto out;
	/* The clsact qdisc; another plugin of the chain may have made it. */
	rc = tc_hook_create(ifindex);
	if (rc == -EEXIST)
		rc = 0;
	if (rc < 0) {
		dp_errorf(err, rc, "attach to ifindex %d: clsact qdisc: %s%s",
			  ifindex, strerror(-rc),
			  captured_detail(detail, sizeof(detail)));
		goto out;
	}
	for (d = 0; d < N_DIRS; d++) {
		rc = tc_attach(ifindex, d, fds[d]);
		if (rc < 0) {
			dp_errorf(err, rc, "attach to ifindex %d: tc %s: %s%s",
				  ifindex, dirs[d].tc, strerror(-rc),
				  captured_detail(detail, sizeof(detail)));
			goto out;
		}
	}
out:
	close_fds(fds);
	unlock(lock);
	return rc;
}

/* Whether a tc_query error means nothing of ours is there: tc answers
 * EINVAL both for a missing qdisc and for a missing filter chain. */
static bool tc_absent(int rc)
{
	return rc == -ENOENT || rc == -EINVAL || rc == -ENODEV;
}

/* The clsact qdisc stays: plugins chained after us may have filters on it. */
int dp_detach(int ifindex, struct dp_err *err)
{
	char detail[2 * LOG_TAIL];
	__u32 id;
	int d, rc;

	for (d = 0; d < N_DIRS; d++) {
		rc = tc_detach(ifindex, d);
		if (rc == 0 || rc == -ENOENT || rc == -ENODEV)
			continue;
		captured_detail(detail, sizeof(detail));
		/* EINVAL is also tc's answer to real misuse: success only
		 * when a query confirms nothing is there. */
		if (rc == -EINVAL && tc_absent(tc_query(ifindex, d, &id)))
			continue;
		return dp_errorf(err, rc, "detach from ifindex %d: tc %s: %s%s",
				 ifindex, dirs[d].tc, strerror(-rc), detail);
	}
	return 0;
}

int dp_check_attached(const char *root, int ifindex, struct dp_err *err)
{
	struct root_paths p;
	char detail[2 * LOG_TAIL];
	__u32 want, id;
	int d, rc;

	rc = root_paths(&p, root, err);
	if (rc < 0)
		return rc;
	for (d = 0; d < N_DIRS; d++) {
		want = pinned_id(p.prog[d]);
		if (!want)
			return dp_errorf(err, -ENOENT,
					 "datapath not loaded under %s: no "
					 "pinned %s", root, dirs[d].prog);
		rc = tc_query(ifindex, d, &id);
		if (tc_absent(rc))
			return dp_errorf(err, -ENOENT,
					 "ifindex %d: tc %s: %s is not "
					 "attached (%s%s)", ifindex,
					 dirs[d].tc, dirs[d].prog,
					 strerror(-rc),
					 captured_detail(detail,
							 sizeof(detail)));
		if (rc < 0)
			return dp_errorf(err, rc, "ifindex %d: tc %s: query: "
					 "%s%s", ifindex, dirs[d].tc,
					 strerror(-rc),
					 captured_detail(detail,
							 sizeof(detail)));
		if (id != want)
			return dp_errorf(err, -ENOENT,
					 "ifindex %d: tc %s runs program %u, "
					 "not the pinned %s (program %u)",
					 ifindex, dirs[d].tc, id, dirs[d].prog,
					 want);
	}
	return 0;
}
