/* The endpoint registration socket: one request line per connection from
 * the CNI plugin, checked field by field, handed to the daemon, answered
 * with one line whenever the daemon knows the answer. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>

#include "bulkhead/register.h"
#include "cni/fsutil.h"
#include "policyd/reg_server.h"

#define REG_IDLE_MS	5000	/* to send the request line, from accept */
#define REG_MAX_TEXT	500	/* msg and details each; escaped they fit a line */
#define REG_CODE_INVALID	7	/* CNI: invalid configuration */
#define REG_CODE_TRY_AGAIN	11	/* CNI: try again later */

struct reg_server {
	struct loop *loop;
	int fd;
	char *path;
	dev_t dev;		/* the socket file we made, so close removes */
	ino_t ino;		/* ours and not a successor's */
	reg_handler handler;
	void *arg;
	struct reg_conn *conns;	/* reading or waiting for the daemon */
};

/* One plugin connection. It reads until the first newline, then leaves the
 * loop: from there on it only waits for the daemon's answer, and a peer
 * that hangs up meanwhile is noticed only by the reply's failing send. */
struct reg_conn {
	struct reg_server *srv;
	struct reg_conn *prev, *next;
	int fd;
	uint64_t idle_timer;	/* 0 once the line is in */
	bool handed;		/* the daemon holds it: only a reply frees it */
	json_t *doc;		/* the request; reg_request's strings point in */
	size_t len;
	char buf[BH_REG_MAX_LINE + 1];	/* the line and its newline */
};

/* ---- request fields ---- */

static bool valid_container_id(const char *s)
{
	size_t n = strlen(s);

	/* CNI spec: alphanumeric first, then alphanumerics, '_', '.', '-'. */
	if (n == 0 || n > 255 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]) || s[i] == '/' || s[i] == ':')
			return false;
	return true;
}

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* n bytes of s: lowercase alphanumerics and '-', alphanumeric at both ends. */
static bool dns_label(const char *s, size_t n)
{
	if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool valid_namespace(const char *s)
{
	size_t n = strlen(s);

	return n <= 63 && dns_label(s, n);
}

/* Kubernetes' DNS-1123 subdomain: labels joined by dots. */
static bool valid_pod(const char *s)
{
	if (strlen(s) > 253)
		return false;
	for (;;) {
		const char *dot = strchrnul(s, '.');

		if (!dns_label(s, dot - s))
			return false;
		if (!*dot)
			return true;
		s = dot + 1;
	}
}

static bool take_string(const json_t *v, bool (*valid)(const char *),
			const char **out)
{
	const char *s = json_string_value(v);

	/* An embedded NUL would hide the rest from the checks. */
	if (!s || strlen(s) != json_string_length(v) || !valid(s))
		return false;
	*out = s;
	return true;
}

static bool take_container_id(const json_t *v, struct reg_request *r)
{
	return take_string(v, valid_container_id, &r->container_id);
}

static bool take_ifname(const json_t *v, struct reg_request *r)
{
	return take_string(v, valid_ifname, &r->ifname);
}

static bool take_namespace(const json_t *v, struct reg_request *r)
{
	return take_string(v, valid_namespace, &r->ns);
}

static bool take_pod(const json_t *v, struct reg_request *r)
{
	return take_string(v, valid_pod, &r->pod);
}

static bool take_host_ifname(const json_t *v, struct reg_request *r)
{
	return take_string(v, valid_ifname, &r->host_ifname);
}

static bool take_ip(const json_t *v, struct reg_request *r)
{
	const char *s = json_string_value(v);
	struct in_addr a;

	if (!s || strlen(s) != json_string_length(v) ||
	    inet_pton(AF_INET, s, &a) != 1)
		return false;
	r->ip = a.s_addr;
	return true;
}

static bool take_ifindex(const json_t *v, struct reg_request *r)
{
	json_int_t i;

	if (!json_is_integer(v))
		return false;
	i = json_integer_value(v);
	if (i < 1 || i > INT_MAX)
		return false;
	r->ifindex = (__u32)i;
	return true;
}

/* Every field but "op", which decides which of these belong. */
static const struct reg_field {
	const char *name;
	bool add_only;
	const char *rule;	/* what take wants, for the error reply */
	bool (*take)(const json_t *v, struct reg_request *r);
} reg_fields[] = {
	{ "containerID", false,
	  "be 1-255 letters, digits, '_', '.' or '-', starting with a letter or digit",
	  take_container_id },
	{ "ifname", false,
	  "be an interface name (1-15 printable characters, no '/', ':', not \".\" or \"..\")",
	  take_ifname },
	{ "namespace", true,
	  "be a DNS-1123 label (at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit)",
	  take_namespace },
	{ "pod", true,
	  "be a DNS-1123 subdomain (at most 253 characters, dot-separated labels of lowercase letters, digits or '-')",
	  take_pod },
	{ "ip", true, "be a dotted IPv4 address", take_ip },
	{ "ifindex", true, "be an integer from 1 to 2147483647", take_ifindex },
	{ "hostIfname", true,
	  "be an interface name (1-15 printable characters, no '/', ':', not \".\" or \"..\")",
	  take_host_ifname },
};
#define N_REG_FIELDS (sizeof(reg_fields) / sizeof(reg_fields[0]))

static int take_op(const json_t *doc, struct reg_request *r, char *why,
		   size_t len)
{
	const char *op = json_string_value(json_object_get(doc, "op"));

	if (!json_object_get(doc, "op")) {
		snprintf(why, len, "field \"op\" is required");
		return -1;
	}
	if (op && strcmp(op, BH_REG_OP_ADD) == 0)
		r->add = 1;
	else if (op && strcmp(op, BH_REG_OP_DEL) == 0)
		r->add = 0;
	else {
		snprintf(why, len, "field \"op\" must be \"add\" or \"del\"");
		return -1;
	}
	return 0;
}

static const struct reg_field *find_field(const char *name)
{
	for (size_t i = 0; i < N_REG_FIELDS; i++)
		if (strcmp(reg_fields[i].name, name) == 0)
			return &reg_fields[i];
	return NULL;
}

/* Fills r from doc, or says in why what is wrong, naming the field. A DEL
 * carries only the endpoint's key: the add-only fields are refused there,
 * like unknown ones, so a confused client is told rather than half-heard. */
static int parse_fields(const json_t *doc, struct reg_request *r, char *why,
			size_t len)
{
	const char *key;
	json_t *v;

	if (take_op(doc, r, why, len) < 0)
		return -1;
	json_object_foreach((json_t *)doc, key, v) {
		const struct reg_field *f = find_field(key);

		if (strcmp(key, "op") == 0)
			continue;
		if (!f) {
			snprintf(why, len, "unknown field \"%.40s\"", key);
			return -1;
		}
		if (f->add_only && !r->add) {
			snprintf(why, len, "field \"%s\" is not used by del", key);
			return -1;
		}
		if (!f->take(v, r)) {
			snprintf(why, len, "field \"%s\" must %s", key, f->rule);
			return -1;
		}
	}
	for (size_t i = 0; i < N_REG_FIELDS; i++) {
		const struct reg_field *f = &reg_fields[i];

		if ((r->add || !f->add_only) && !json_object_get(doc, f->name)) {
			snprintf(why, len, "field \"%s\" is required", f->name);
			return -1;
		}
	}
	return 0;
}

/* ---- replies ---- */

static void conn_free(struct reg_conn *c)
{
	struct reg_server *s = c->srv;

	if (c->idle_timer)
		loop_timer_cancel(s->loop, c->idle_timer);
	if (!c->handed)
		loop_del(s->loop, c->fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	json_decref(c->doc);
	free(c);
}

/* A JSON string of at most REG_MAX_TEXT printable ASCII characters: what
 * the daemon says may quote anything, and the line must stay short and
 * valid UTF-8. */
static json_t *reply_text(const char *s)
{
	char buf[REG_MAX_TEXT + 1];
	size_t n = 0;

	for (; s && s[n] && n < REG_MAX_TEXT; n++)
		buf[n] = s[n] >= 0x20 && s[n] < 0x7f ? s[n] : '?';
	buf[n] = '\0';
	return json_string(buf);
}

/* One line, then close. The reply is far smaller than a fresh socket's
 * buffer, so one non-blocking send either takes it whole or the peer is
 * gone (EPIPE, no SIGPIPE): either way there is nothing more to do. */
static void reply(struct reg_conn *c, json_t *obj)
{
	char *line = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	if (line) {
		size_t n = strlen(line);
		char *nl = realloc(line, n + 2);

		if (nl) {
			line = nl;
			memcpy(line + n, "\n", 2);
			/* A failure means the plugin gave up or died:
			 * nobody is left to tell. */
			(void)send(c->fd, line, n + 1,
				   MSG_NOSIGNAL | MSG_DONTWAIT);
		}
	}
	free(line);
	json_decref(obj);
	conn_free(c);
}

void reg_reply_ok(struct reg_conn *c, __u32 identity)
{
	json_t *obj = json_pack("{sb}", "ok", 1);

	if (obj && identity)
		json_object_set_new(obj, "identity", json_integer(identity));
	reply(c, obj);
}

void reg_reply_err(struct reg_conn *c, int code, const char *msg,
		   const char *details)
{
	json_t *obj = json_pack("{sbsIso}", "ok", 0, "code", (json_int_t)code,
				"msg", reply_text(msg));

	if (obj && details && *details)
		json_object_set_new(obj, "details", reply_text(details));
	reply(c, obj);
}

/* ---- connections ---- */

static void serve_line(struct reg_conn *c, size_t line_len)
{
	struct reg_request r = { 0 };
	json_error_t jerr;
	char why[256], msg[320];

	loop_timer_cancel(c->srv->loop, c->idle_timer);
	c->idle_timer = 0;
	loop_del(c->srv->loop, c->fd);
	c->handed = true;
	c->doc = json_loadb(c->buf, line_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!c->doc) {
		snprintf(why, sizeof(why), "not JSON: %s", jerr.text);
		goto bad;
	}
	if (!json_is_object(c->doc)) {
		snprintf(why, sizeof(why), "not a JSON object");
		goto bad;
	}
	if (parse_fields(c->doc, &r, why, sizeof(why)) < 0)
		goto bad;
	/* From here the daemon answers, now or later; c may be gone on return. */
	c->srv->handler(c, &r, c->srv->arg);
	return;
bad:
	snprintf(msg, sizeof(msg), "invalid registration request: %s", why);
	reg_reply_err(c, REG_CODE_INVALID, msg, NULL);
}

static void on_idle(struct loop *l, void *arg)
{
	struct reg_conn *c = arg;

	(void)l;
	c->idle_timer = 0;
	conn_free(c);
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct reg_conn *c = arg;
	const char *nl;
	ssize_t n;

	(void)l;
	(void)events;
	for (;;) {
		n = recv(fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* Gone before a whole line: nothing to answer. */
			conn_free(c);
			return;
		}
		nl = memchr(c->buf + c->len, '\n', n);
		c->len += n;
		if (nl) {
			serve_line(c, nl - c->buf);
			return;
		}
		if (c->len == sizeof(c->buf)) {
			c->handed = true;
			loop_del(c->srv->loop, c->fd);
			reg_reply_err(c, REG_CODE_INVALID, "request too long",
				      "a request line has at most 4096 bytes before its newline");
			return;
		}
	}
}

static bool peer_is_root(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	       len == sizeof(cred) && cred.uid == 0;
}

static void conn_start(struct reg_server *s, int fd)
{
	struct reg_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->idle_timer = loop_timer(s->loop, REG_IDLE_MS, on_idle, c);
	if (!c->idle_timer || loop_add(s->loop, fd, EPOLLIN, on_readable, c) < 0) {
		if (c->idle_timer)
			loop_timer_cancel(s->loop, c->idle_timer);
		close(fd);
		free(c);
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
}

static void on_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct reg_server *s = arg;

	(void)l;
	(void)events;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0 && errno == EINTR)
			continue;
		/* EAGAIN: all taken; EMFILE and the like: next time. */
		if (cfd < 0)
			return;
		if (!peer_is_root(cfd)) {
			close(cfd);
			continue;
		}
		conn_start(s, cfd);
	}
}

/* ---- the socket file ---- */

static int fill_addr(struct sockaddr_un *sa, const char *path,
		     struct dp_err *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return dp_errorf(err, -ENAMETOOLONG,
				 "registration socket %.200s: path longer than %zu bytes",
				 path, sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Makes way for our socket: a stale one (its daemon died) goes, a live one
 * means another daemon serves this node and we must not take its place. */
static int clear_path(const struct sockaddr_un *sa, struct dp_err *err)
{
	const char *path = sa->sun_path;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return dp_errorf(err, -errno, "registration socket %s: %s",
				 path, strerror(errno));
	}
	/* connect() says ECONNREFUSED for any non-socket too: never unlink one. */
	if (!S_ISSOCK(st.st_mode))
		return dp_errorf(err, -EEXIST,
				 "registration socket %s: exists and is not a socket",
				 path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return dp_errorf(err, -errno, "registration socket: %s",
				 strerror(errno));
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	/* EAGAIN: its backlog is full, so very much alive. */
	if (rc == 0 || errno == EAGAIN)
		return dp_errorf(err, -EADDRINUSE, "another daemon serves %s", path);
	if (errno != ECONNREFUSED)
		return dp_errorf(err, -errno, "registration socket %s: %s",
				 path, strerror(errno));
	if (unlink(path) < 0 && errno != ENOENT)
		return dp_errorf(err, -errno, "remove stale socket %s: %s",
				 path, strerror(errno));
	return 0;
}

/* Bound, then narrowed to 0600: the window between is covered by the
 * peer check (and by the parent directory when we made it, 0700). */
static int listen_on(struct reg_server *s, const struct sockaddr_un *sa,
		     struct dp_err *err)
{
	const char *path = sa->sun_path;
	struct stat st;

	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return dp_errorf(err, -errno, "registration socket: %s",
				 strerror(errno));
	if (bind(s->fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		return dp_errorf(err, -errno, "bind %s: %s", path, strerror(errno));
	if (chmod(path, 0600) < 0 || stat(path, &st) < 0) {
		dp_errorf(err, -errno, "chmod %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (listen(s->fd, SOMAXCONN) < 0) {
		dp_errorf(err, -errno, "listen %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

static void remove_own_socket(const struct reg_server *s)
{
	struct stat st;

	if (s->ino && lstat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		unlink(s->path);
}

int reg_server_open(struct loop *l, const char *path, reg_handler h, void *arg,
		    struct reg_server **out, struct dp_err *err)
{
	struct reg_server *s = calloc(1, sizeof(*s));
	struct sockaddr_un sa;
	int rc;

	*out = NULL;
	if (!s)
		return dp_errorf(err, -ENOMEM, "registration socket: out of memory");
	s->loop = l;
	s->fd = -1;
	s->handler = h;
	s->arg = arg;
	s->path = strdup(path);
	if (!s->path) {
		rc = dp_errorf(err, -ENOMEM, "registration socket: out of memory");
		goto fail;
	}
	if (fill_addr(&sa, path, err) < 0)
		goto fail;
	if (mkdir_parent(path, 0700) < 0) {
		dp_errorf(err, -errno, "create the directory of %s: %s", path,
			  strerror(errno));
		goto fail;
	}
	if (clear_path(&sa, err) < 0 || listen_on(s, &sa, err) < 0)
		goto fail;
	rc = loop_add(l, s->fd, EPOLLIN, on_accept, s);
	if (rc < 0) {
		dp_errorf(err, rc, "registration socket %s: event loop: %s",
			  path, strerror(-rc));
		remove_own_socket(s);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s);
	return err->code ? err->code : -EINVAL;
}

void reg_server_close(struct reg_server *s)
{
	if (!s)
		return;
	while (s->conns) {
		struct reg_conn *c = s->conns;

		if (c->handed)
			reg_reply_err(c, REG_CODE_TRY_AGAIN,
				      "bulkhead-policyd is shutting down", NULL);
		else
			conn_free(c);
	}
	loop_del(s->loop, s->fd);
	close(s->fd);
	remove_own_socket(s);
	free(s->path);
	free(s);
}
