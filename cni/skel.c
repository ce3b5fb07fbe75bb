/* The CNI calling convention: environment and stdin in, one JSON object out,
 * exit status 0 or 1. Shared by `bulkhead` and `bulkhead-ipam`. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/log.h"
#include "cni/skel.h"
#include "ipam/ipam.h"

static const struct {
	const char *name;
	enum cni_cmd cmd;
} commands[] = {
	{ "ADD", CNI_CMD_ADD },
	{ "DEL", CNI_CMD_DEL },
	{ "CHECK", CNI_CMD_CHECK },
	{ "GC", CNI_CMD_GC },
	{ "STATUS", CNI_CMD_STATUS },
	{ "VERSION", CNI_CMD_VERSION },
};

int cni_check_container_id(const char *what, const char *id,
			   struct cni_err *err)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0)
		return cni_errorf(err, CNI_ERR_INVALID_ENV, "%s is required", what);
	if (n > IPAM_MAX_ID)
		return cni_errorf(err, CNI_ERR_INVALID_ENV,
				  "%s is %zu characters long, at most %d are allowed",
				  what, n, IPAM_MAX_ID);
	if (!isalnum((unsigned char)id[0]))
		goto bad;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("_.-", id[i]))
			goto bad;
	return 0;
bad:
	return cni_errorf(err, CNI_ERR_INVALID_ENV,
			  "%s \"%.80s\" must be letters, digits, '_', '.' or '-', starting with a letter or digit",
			  what, id);
}

int cni_check_ifname(const char *what, const char *name, struct cni_err *err)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0)
		return cni_errorf(err, CNI_ERR_INVALID_ENV, "%s is required", what);
	if (n > 15 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)name[i]) || name[i] == '/' ||
		    name[i] == ':')
			goto bad;
	return 0;
bad:
	return cni_errorf(err, CNI_ERR_INVALID_ENV,
			  "%s \"%.40s\" is not a valid interface name (1-15 printable characters, no '/', ':' or spaces)",
			  what, name);
}

static int check_netns(const char *netns, struct cni_err *err)
{
	if (netns[0] != '/' || strlen(netns) >= PATH_MAX)
		return cni_errorf(err, CNI_ERR_INVALID_ENV,
				  "CNI_NETNS \"%.100s\" must be an absolute path to a network namespace",
				  netns);
	return 0;
}

/* Copies a CNI_ARGS value into out if it fits and looks like a Kubernetes
 * name (lowercase letters, digits, '-', '.'). */
static int k8s_arg(const char *key, const char *val, size_t len, char *out,
		   size_t outlen, struct cni_err *err)
{
	if (len >= outlen)
		return cni_errorf(err, CNI_ERR_INVALID_ENV,
				  "CNI_ARGS: %s is %zu characters long, at most %zu are allowed",
				  key, len, outlen - 1);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)val[i]) && !strchr("-._", val[i]))
			return cni_errorf(err, CNI_ERR_INVALID_ENV,
					  "CNI_ARGS: %s \"%.*s\" is not a Kubernetes name",
					  key, (int)(len > 80 ? 80 : len), val);
	memcpy(out, val, len);
	out[len] = '\0';
	return 0;
}

/* "K=V;K=V", keys in any order; keys we do not use are ignored (runtimes
 * pass IgnoreUnknown and more). */
static int parse_cni_args(const char *s, struct cni_args *a, struct cni_err *err)
{
	while (s && *s) {
		const char *end = strchrnul(s, ';');
		const char *eq = memchr(s, '=', end - s);
		size_t klen, vlen;

		if (!eq || eq == s)
			return cni_errorf(err, CNI_ERR_INVALID_ENV,
					  "CNI_ARGS: \"%.*s\" is not KEY=VALUE",
					  (int)(end - s > 80 ? 80 : end - s), s);
		klen = eq - s;
		vlen = end - eq - 1;
		if (klen == 17 && strncmp(s, "K8S_POD_NAMESPACE", klen) == 0) {
			if (k8s_arg("K8S_POD_NAMESPACE", eq + 1, vlen, a->k8s_namespace,
				    sizeof(a->k8s_namespace), err) < 0)
				return -1;
		} else if (klen == 12 && strncmp(s, "K8S_POD_NAME", klen) == 0) {
			if (k8s_arg("K8S_POD_NAME", eq + 1, vlen, a->k8s_pod_name,
				    sizeof(a->k8s_pod_name), err) < 0)
				return -1;
		}
		s = *end ? end + 1 : end;
	}
	return 0;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* The spec's required variables per command: ADD and CHECK need the
 * container, its namespace and the interface name; DEL may come without a
 * namespace (containerd's second DEL); GC and STATUS need none. */
static int args_from_env(struct cni_args *a, struct cni_err *err)
{
	a->container_id = env("CNI_CONTAINERID");
	a->netns = env("CNI_NETNS");
	a->ifname = env("CNI_IFNAME");
	a->path = env("CNI_PATH");
	if (a->cmd == CNI_CMD_GC || a->cmd == CNI_CMD_STATUS)
		return 0;
	if (cni_check_container_id("CNI_CONTAINERID", a->container_id, err) < 0 ||
	    cni_check_ifname("CNI_IFNAME", a->ifname, err) < 0)
		return -1;
	if (!a->netns && a->cmd != CNI_CMD_DEL)
		return cni_errorf(err, CNI_ERR_INVALID_ENV,
				  "CNI_NETNS is required for %s", a->cmd_name);
	if (a->netns && check_netns(a->netns, err) < 0)
		return -1;
	return parse_cni_args(getenv("CNI_ARGS"), a, err);
}

static int parse_command(struct cni_args *a, struct cni_err *err)
{
	const char *c = getenv("CNI_COMMAND");

	for (size_t i = 0; c && i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(c, commands[i].name) == 0) {
			a->cmd = commands[i].cmd;
			a->cmd_name = commands[i].name;
			return 0;
		}
	}
	if (!c)
		return cni_errorf(err, CNI_ERR_INVALID_ENV,
				  "CNI_COMMAND is not set: this is a CNI plugin, run by the container runtime");
	return cni_errorf(err, CNI_ERR_INVALID_ENV,
			  "CNI_COMMAND \"%.20s\" is not one of ADD, DEL, CHECK, GC, STATUS, VERSION",
			  c);
}

static int read_stdin(struct cni_ctx *ctx)
{
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return cni_errorf(&ctx->err, CNI_ERR_IO, "out of memory");
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			/* One byte past the maximum tells "too large" from
			 * "exactly the maximum". */
			if (cap > CNI_MAX_STDIN) {
				free(buf);
				return cni_errorf(&ctx->err, CNI_ERR_IO,
						  "netconf on stdin is larger than %u bytes",
						  CNI_MAX_STDIN);
			}
			cap = cap * 2 > CNI_MAX_STDIN ? CNI_MAX_STDIN + 1 : cap * 2;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return cni_errorf(&ctx->err, CNI_ERR_IO, "out of memory");
			}
			buf = nb;
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return cni_errorf(&ctx->err, CNI_ERR_IO,
					  "read netconf from stdin: %s", strerror(errno));
		}
		if (n == 0)
			break;
		len += n;
	}
	ctx->stdin_buf = buf;
	ctx->stdin_len = len;
	return 0;
}

static void print_json(json_t *obj)
{
	if (json_dumpf(obj, stdout, JSON_INDENT(2)) == 0)
		putchar('\n');
	fflush(stdout);
}

static void print_error(struct cni_ctx *ctx)
{
	char ver[16];
	json_t *o;

	netconf_peek_version(ctx->stdin_buf ? ctx->stdin_buf : "",
			     ctx->stdin_buf ? ctx->stdin_len : 0, ver, sizeof(ver));
	o = json_pack("{s:s, s:i, s:s}", "cniVersion", ver, "code", ctx->err.code,
		      "msg", ctx->err.msg);
	if (o && ctx->err.details[0])
		json_object_set_new(o, "details", json_string(ctx->err.details));
	if (o)
		print_json(o);
	json_decref(o);
	log_error("%s (code %d)", ctx->err.msg, ctx->err.code);
}

/* VERSION answers in the version it was asked in (when we speak it), and
 * works with an empty stdin too. */
static int cmd_version(struct cni_ctx *ctx)
{
	char ver[16];
	json_t *list = json_array();

	for (int v = 0; v < CNI_V_COUNT; v++)
		json_array_append_new(list, json_string(cni_version_str(v)));
	netconf_peek_version(ctx->stdin_buf, ctx->stdin_len, ver, sizeof(ver));
	ctx->result = json_pack("{s:s, s:o}", "cniVersion", ver,
				"supportedVersions", list);
	if (!ctx->result)
		return cni_errorf(&ctx->err, BH_ERR_INTERNAL, "out of memory");
	return 0;
}

static int check_version_has(struct cni_ctx *ctx)
{
	enum cni_version v = ctx->conf.version;
	bool ok = true;

	if (ctx->args.cmd == CNI_CMD_CHECK)
		ok = cni_version_has_check(v);
	else if (ctx->args.cmd == CNI_CMD_GC || ctx->args.cmd == CNI_CMD_STATUS)
		ok = cni_version_has_gc(v);
	if (ok)
		return 0;
	return cni_errorf(&ctx->err, CNI_ERR_INCOMPATIBLE_VERSION,
			  "%s is not part of CNI %s (it came with %s)",
			  ctx->args.cmd_name, ctx->conf.version_str,
			  ctx->args.cmd == CNI_CMD_CHECK ? "0.4.0" : "1.1.0");
}

static void open_log(struct cni_ctx *ctx)
{
	char tag[96];

	snprintf(tag, sizeof(tag), "%s %.24s/%s", ctx->args.cmd_name,
		 ctx->args.container_id ? ctx->args.container_id : "-",
		 ctx->args.ifname ? ctx->args.ifname : "-");
	log_set_tag(tag);
	/* A log we cannot write must not fail the pod: note it on stderr. */
	if (log_open(ctx->conf.log_file, ctx->conf.log_level) < 0)
		fprintf(stderr, "bulkhead: cannot open log %s: %s\n",
			ctx->conf.log_file, strerror(errno));
}

static int dispatch(const struct cni_plugin *p, struct cni_ctx *ctx)
{
	int (*fn)(struct cni_ctx *) = NULL;

	switch (ctx->args.cmd) {
	case CNI_CMD_ADD: fn = p->add; break;
	case CNI_CMD_DEL: fn = p->del; break;
	case CNI_CMD_CHECK: fn = p->check; break;
	case CNI_CMD_GC: fn = p->gc; break;
	case CNI_CMD_STATUS: fn = p->status; break;
	default: break;
	}
	if (!fn)
		return cni_errorf(&ctx->err, CNI_ERR_INVALID_ENV,
				  "%s does not implement %s", p->name,
				  ctx->args.cmd_name);
	return fn(ctx);
}

static int run(const struct cni_plugin *p, struct cni_ctx *ctx)
{
	if (parse_command(&ctx->args, &ctx->err) < 0 || read_stdin(ctx) < 0)
		return -1;
	if (ctx->args.cmd == CNI_CMD_VERSION)
		return cmd_version(ctx);
	if (args_from_env(&ctx->args, &ctx->err) < 0 ||
	    netconf_parse(ctx->stdin_buf, ctx->stdin_len, p->strict_netconf,
			  &ctx->conf, &ctx->err) < 0 ||
	    check_version_has(ctx) < 0)
		return -1;
	open_log(ctx);
	log_debug("netns=%s k8s=%s/%s", ctx->args.netns ? ctx->args.netns : "-",
		  ctx->args.k8s_namespace, ctx->args.k8s_pod_name);
	return dispatch(p, ctx);
}

int cni_skel_run(const struct cni_plugin *plugin)
{
	struct cni_ctx ctx = { 0 };
	int rc = run(plugin, &ctx);

	if (rc < 0) {
		if (!ctx.err.code)
			cni_errorf(&ctx.err, BH_ERR_INTERNAL, "internal error");
		print_error(&ctx);
	} else if (ctx.result) {
		print_json(ctx.result);
	}
	json_decref(ctx.result);
	netconf_free(&ctx.conf);
	free(ctx.stdin_buf);
	log_close();
	return rc < 0 ? 1 : 0;
}
