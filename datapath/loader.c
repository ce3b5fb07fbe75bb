/* The node's TC programs: loaded from the embedded skeletons against the
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
#include "datapath/overlay.skel.h"
#include "datapath/to_container.skel.h"

#define BPFFS_MOUNT	"/sys/fs/bpf"
/* bpffs refuses names with dots, so the temporary pin gets a suffix. */
#define PIN_NEW_SUFFIX	"__new"

/* The programs and where each runs, in one order everywhere: a host veth
 * gets the first two (ingress: what the pod sends; egress: what it
 * receives), the node's VXLAN device the third on its ingress. */
enum { PROG_FROM, PROG_TO, PROG_OVERLAY, N_PROGS };
#define N_VETH_PROGS	2

static const struct {
	enum bpf_tc_attach_point point;
	const char *tc;
	const char *name;
} programs[N_PROGS] = {
	[PROG_FROM] = { BPF_TC_INGRESS, "ingress", BH_PROG_FROM_CONTAINER },
	[PROG_TO] = { BPF_TC_EGRESS, "egress", BH_PROG_TO_CONTAINER },
	[PROG_OVERLAY] = { BPF_TC_INGRESS, "ingress", BH_PROG_OVERLAY },
};

/* Both hooks, for removing whatever of ours runs on a device. */
static const struct {
	enum bpf_tc_attach_point point;
	const char *tc;
} hooks[] = {
	{ BPF_TC_INGRESS, "ingress" },
	{ BPF_TC_EGRESS, "egress" },
};

/* Every path under one root, spelled once. */
struct root_paths {
	char maps[PATH_MAX];
	char progs[PATH_MAX];
	char prog[N_PROGS][PATH_MAX];
	char config[PATH_MAX];
};

static int root_paths(struct root_paths *p, const char *root,
		      struct dp_err *err)
{
	int rc = 0, i;

	rc |= dp_pin_path(p->maps, sizeof(p->maps), root, BH_PIN_MAPS_DIR,
			  NULL);
	rc |= dp_pin_path(p->progs, sizeof(p->progs), root, BH_PIN_PROGS_DIR,
			  NULL);
	for (i = 0; i < N_PROGS; i++)
		rc |= dp_pin_path(p->prog[i], PATH_MAX, root, BH_PIN_PROGS_DIR,
				  programs[i].name);
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

static unsigned int fnv1a(unsigned int h, const unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* FNV-1a, 32 bits, over the embedded objects: any change to a program or
 * to a map definition changes it. */
static unsigned int fingerprint(void)
{
	const unsigned char *b;
	unsigned int h = 2166136261u;
	size_t n;

	b = from_container_bpf__elf_bytes(&n);
	h = fnv1a(h, b, n);
	b = to_container_bpf__elf_bytes(&n);
	h = fnv1a(h, b, n);
	b = overlay_bpf__elf_bytes(&n);
	return fnv1a(h, b, n);
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

/* Whether ROOT already holds this build: every program, every map, and a
 * config written by a loader of the same fingerprint. */
static bool pinned_current(const char *root, const struct root_paths *p,
			   unsigned int version)
{
	struct dp_maps m;
	struct bh_config cfg;
	bool same;
	int i;

	for (i = 0; i < N_PROGS; i++)
		if (!pinned_id(p->prog[i]))
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
		BH_MAP_EVENTS, BH_MAP_EVENT_BUDGET, BH_MAP_TUNNEL,
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

struct skels {
	struct from_container_bpf *from;
	struct to_container_bpf *to;
	struct overlay_bpf *overlay;
};

static void skels_destroy(struct skels *sk)
{
	from_container_bpf__destroy(sk->from);
	to_container_bpf__destroy(sk->to);
	overlay_bpf__destroy(sk->overlay);
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

/* Opens and loads skeleton NAME_bpf into *skel (freed by skels_destroy
 * whatever happens); 0 or the error, recorded. A macro: each skeleton has
 * functions and a .rodata of its own type. */
#define SKEL_LOAD(NAME, skel, opts, coarse, root, err)			\
	({								\
		int rc_ = 0;						\
									\
		(skel) = NAME##_bpf__open_opts(opts);			\
		if (!(skel))						\
			rc_ = load_failed(root, #NAME, -errno, err);	\
		else {							\
			(skel)->rodata->have_coarse_clock = (coarse);	\
			rc_ = NAME##_bpf__load(skel);			\
			if (rc_ < 0)					\
				load_failed(root, #NAME, rc_, err);	\
		}							\
		rc_;							\
	})

/* Opens and loads every object; maps declared LIBBPF_PIN_BY_NAME are
 * taken from maps_dir when pinned there and pinned there when not, so
 * the objects loaded after from_container share its maps. */
static int load_objects(const char *root, const char *maps_dir,
			struct skels *sk, struct dp_err *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = maps_dir);
	libbpf_print_fn_t old_print;
	bool coarse = have_coarse_clock();
	int rc;

	old_print = capture_start();
	rc = SKEL_LOAD(from_container, sk->from, &opts, coarse, root, err);
	if (rc == 0)
		rc = SKEL_LOAD(to_container, sk->to, &opts, coarse, root, err);
	if (rc == 0)
		rc = SKEL_LOAD(overlay, sk->overlay, &opts, coarse, root, err);
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

/* Pins the new programs in place of the old ones, in order. When a pin
 * fails the ones before it have already been replaced; old_id of every
 * program not pinned is cleared, so that the interfaces are switched to
 * exactly what got pinned and pins and attachments agree. */
static int pin_programs(const struct root_paths *p, const int new_fd[N_PROGS],
			__u32 old_id[N_PROGS], struct dp_err *err)
{
	int i, rc = 0;

	for (i = 0; i < N_PROGS; i++) {
		rc = pin_replace(new_fd[i], p->progs, programs[i].name, err);
		if (rc < 0)
			break;
	}
	for (; i < N_PROGS; i++)
		old_id[i] = 0;
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

/* *id: the program at our handle and priority on hook point. */
static int tc_query(int ifindex, enum bpf_tc_attach_point point, __u32 *id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BH_TC_HANDLE,
		    .priority = BH_TC_PRIORITY);
	libbpf_print_fn_t old = capture_start();
	int rc = bpf_tc_query(&hook, &opts);

	capture_stop(old);
	if (rc == 0)
		*id = opts.prog_id;
	return rc;
}

/* Installs prog_fd where program i runs, or replaces what runs there in
 * one step. */
static int tc_attach(int ifindex, int i, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = programs[i].point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BH_TC_HANDLE,
		    .priority = BH_TC_PRIORITY, .prog_fd = prog_fd,
		    .flags = BPF_TC_F_REPLACE);
	libbpf_print_fn_t old = capture_start();
	int rc = bpf_tc_attach(&hook, &opts);

	capture_stop(old);
	return rc;
}

static int tc_detach(int ifindex, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BH_TC_HANDLE,
		    .priority = BH_TC_PRIORITY);
	libbpf_print_fn_t old = capture_start();
	int rc = bpf_tc_detach(&hook, &opts);

	capture_stop(old);
	return rc;
}

/* After new programs are pinned: every interface of this network
 * namespace whose filter runs an old program (host veths, the VXLAN
 * device) gets the new one, in one replace. A failure on one interface
 * does not stop the others. */
static int switch_interfaces(const __u32 old_id[N_PROGS],
			     const int new_fd[N_PROGS], struct dp_err *err)
{
	struct if_nameindex *ifs, *n;
	char detail[2 * LOG_TAIL];
	int i, rc = 0, r;
	bool any = false;
	__u32 id;

	for (i = 0; i < N_PROGS; i++)
		any |= old_id[i] != 0;
	if (!any)
		return 0;
	ifs = if_nameindex();
	if (!ifs)
		return dp_errorf(err, -errno, "list interfaces to switch to "
				 "the new programs: %s", strerror(errno));
	for (n = ifs; n->if_index; n++) {
		for (i = 0; i < N_PROGS; i++) {
			if (!old_id[i] ||
			    tc_query(n->if_index, programs[i].point, &id) < 0 ||
			    id != old_id[i])
				continue;
			r = tc_attach(n->if_index, i, new_fd[i]);
			if (r < 0 && rc == 0)
				rc = dp_errorf(err, r, "switch %s (ifindex "
					       "%u) to the new %s: tc %s: %s%s",
					       n->if_name, n->if_index,
					       programs[i].name, programs[i].tc,
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
	struct skels sk = { 0 };
	struct dp_maps m;
	__u32 old_id[N_PROGS];
	int new_fd[N_PROGS];
	int lock = -1, rc, switched, i;

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
	for (i = 0; i < N_PROGS; i++)
		old_id[i] = pinned_id(p.prog[i]);
	rc = load_objects(root, p.maps, &sk, err);
	if (rc < 0)
		goto out;
	/* Checks the maps against the ABI in include/ before anything
	 * starts using the new programs. */
	rc = dp_maps_open(root, &m, err);
	if (rc < 0)
		goto out;
	dp_maps_close(&m);
	new_fd[PROG_FROM] = bpf_program__fd(sk.from->progs.from_container);
	new_fd[PROG_TO] = bpf_program__fd(sk.to->progs.to_container);
	new_fd[PROG_OVERLAY] = bpf_program__fd(sk.overlay->progs.overlay);
	rc = pin_programs(&p, new_fd, old_id, err);
	switched = switch_interfaces(old_id, new_fd, err);
	/* An interface that could not be switched does not make the pins
	 * any less this build's: the config says so all the same. */
	if (rc == 0)
		rc = config_commit(root, res->version, err);
	if (rc == 0)
		rc = switched;
out:
	skels_destroy(&sk);
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

/* Attaching. */

bool dp_loaded(const char *root)
{
	struct root_paths p;
	int i;

	if (root_paths(&p, root, NULL) < 0)
		return false;
	for (i = 0; i < N_PROGS; i++)
		if (access(p.prog[i], F_OK) < 0)
			return false;
	return access(p.config, F_OK) == 0;
}

/* fds[i] gets the pinned program first + i, for n programs. */
static int open_pinned(const char *root, const struct root_paths *p,
		       int first, int n, int *fds, struct dp_err *err)
{
	int i;

	for (i = 0; i < n; i++) {
		const char *path = p->prog[first + i];

		fds[i] = bpf_obj_get(path);
		if (fds[i] < 0 && errno == ENOENT)
			return dp_errorf(err, -ENOENT,
					 "datapath not loaded under %s: start "
					 "bulkhead-policyd", root);
		if (fds[i] < 0)
			return dp_errorf(err, -errno, "open pinned %s: %s",
					 path, strerror(errno));
	}
	return 0;
}

static void close_fds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Attaches the pinned programs first .. first + n - 1 to ifindex, each
 * where it runs. */
static int attach_programs(const char *root, int ifindex, int first, int n,
			   struct dp_err *err)
{
	struct root_paths p;
	char detail[2 * LOG_TAIL];
	int fds[N_PROGS] = { -1, -1, -1 };
	int lock = -1, rc, i;

	rc = root_paths(&p, root, err);
	if (rc < 0)
		return rc;
	lock = root_lock(root, LOCK_SH, err);
	if (lock < 0)
		return lock;
	rc = open_pinned(root, &p, first, n, fds, err);
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
	for (i = 0; i < n; i++) {
		rc = tc_attach(ifindex, first + i, fds[i]);
		if (rc < 0) {
			dp_errorf(err, rc, "attach %s to ifindex %d: tc %s: "
				  "%s%s", programs[first + i].name, ifindex,
				  programs[first + i].tc, strerror(-rc),
				  captured_detail(detail, sizeof(detail)));
			goto out;
		}
	}
out:
	close_fds(fds, n);
	unlock(lock);
	return rc;
}

int dp_attach(const char *root, int ifindex, struct dp_err *err)
{
	return attach_programs(root, ifindex, PROG_FROM, N_VETH_PROGS, err);
}

int dp_attach_overlay(const char *root, int ifindex, struct dp_err *err)
{
	return attach_programs(root, ifindex, PROG_OVERLAY, 1, err);
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
	size_t h;
	__u32 id;
	int rc;

	for (h = 0; h < sizeof(hooks) / sizeof(hooks[0]); h++) {
		rc = tc_detach(ifindex, hooks[h].point);
		if (rc == 0 || rc == -ENOENT || rc == -ENODEV)
			continue;
		captured_detail(detail, sizeof(detail));
		/* EINVAL is also tc's answer to real misuse: success only
		 * when a query confirms nothing is there. */
		if (rc == -EINVAL &&
		    tc_absent(tc_query(ifindex, hooks[h].point, &id)))
			continue;
		return dp_errorf(err, rc, "detach from ifindex %d: tc %s: %s%s",
				 ifindex, hooks[h].tc, strerror(-rc), detail);
	}
	return 0;
}

/* 0 when the pinned programs first .. first + n - 1 run on ifindex. */
static int check_attached(const char *root, int ifindex, int first, int n,
			  struct dp_err *err)
{
	struct root_paths p;
	char detail[2 * LOG_TAIL];
	__u32 want, id;
	int i, rc;

	rc = root_paths(&p, root, err);
	if (rc < 0)
		return rc;
	for (i = first; i < first + n; i++) {
		want = pinned_id(p.prog[i]);
		if (!want)
			return dp_errorf(err, -ENOENT,
					 "datapath not loaded under %s: no "
					 "pinned %s", root, programs[i].name);
		rc = tc_query(ifindex, programs[i].point, &id);
		if (tc_absent(rc))
			return dp_errorf(err, -ENOENT,
					 "ifindex %d: tc %s: %s is not "
					 "attached (%s%s)", ifindex,
					 programs[i].tc, programs[i].name,
					 strerror(-rc),
					 captured_detail(detail,
							 sizeof(detail)));
		if (rc < 0)
			return dp_errorf(err, rc, "ifindex %d: tc %s: query: "
					 "%s%s", ifindex, programs[i].tc,
					 strerror(-rc),
					 captured_detail(detail,
							 sizeof(detail)));
		if (id != want)
			return dp_errorf(err, -ENOENT,
					 "ifindex %d: tc %s runs program %u, "
					 "not the pinned %s (program %u)",
					 ifindex, programs[i].tc, id,
					 programs[i].name, want);
	}
	return 0;
}

int dp_check_attached(const char *root, int ifindex, struct dp_err *err)
{
	return check_attached(root, ifindex, PROG_FROM, N_VETH_PROGS, err);
}

int dp_check_overlay(const char *root, int ifindex, struct dp_err *err)
{
	return check_attached(root, ifindex, PROG_OVERLAY, 1, err);
}
