/* Tests of endpoint registration end to end: policyd/reg_server.c on a real
 * socket in /tmp, driven by the plugin's cni/register.c (or raw lines) from a
 * client thread while the test's thread runs the daemon's event loop. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <jansson.h>

#include "bulkhead/register.h"
#include "cni/register.h"
#include "policyd/loop.h"
#include "policyd/reg_server.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/bulkhead-reg-test.XXXXXX";
static char sock_path[100];
static struct loop *loop;

/* ---- the daemon's side: a handler that records and answers ---- */

enum answer { ANSWER_NOW, ANSWER_LATER, ANSWER_ERR, ANSWER_NEVER };

static struct {
	enum answer answer;
	int calls;
	struct reg_request req;		/* strings copied below */
	char cid[256], ifname[16], ns[64], pod[254], host_ifname[16];
	struct reg_conn *held;		/* ANSWER_LATER / ANSWER_NEVER */
} seen;

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static void answer_later(struct loop *l, void *arg)
{
	(void)l;
	(void)arg;
	reg_reply_ok(seen.held, 777);
	seen.held = NULL;
}

static void handler(struct reg_conn *c, const struct reg_request *r, void *arg)
{
	(void)arg;
	seen.calls++;
	seen.req = *r;
	copy(seen.cid, sizeof(seen.cid), r->container_id);
	copy(seen.ifname, sizeof(seen.ifname), r->ifname);
	copy(seen.ns, sizeof(seen.ns), r->ns);
	copy(seen.pod, sizeof(seen.pod), r->pod);
	copy(seen.host_ifname, sizeof(seen.host_ifname), r->host_ifname);
	switch (seen.answer) {
	case ANSWER_NOW:
		reg_reply_ok(c, r->add ? 777 : 0);
		break;
	case ANSWER_LATER:
		seen.held = c;
		loop_timer(loop, 100, answer_later, NULL);
		break;
	case ANSWER_ERR:
		reg_reply_err(c, 11, "pod default/web-1 not found yet",
			      "the watch has not seen it");
		break;
	case ANSWER_NEVER:
		seen.held = c;
		break;
	}
}

static void reset_seen(enum answer a)
{
	memset(&seen, 0, sizeof(seen));
	seen.answer = a;
}

/* ---- the plugin's side, in a thread ---- */

struct client {
	pthread_t th;
	atomic_bool done;
	void (*run)(struct client *);
	bool required;
	const char *path;
	int rc;
	__u32 identity;
	struct cni_err err;
	const char *raw;		/* raw mode: bytes to send */
	size_t raw_len;
	char reply[BH_REG_MAX_LINE + 2];	/* raw mode: what came back */
	bool eof;			/* raw mode: closed without a line */
};

static const struct reg_add_args web1 = {
	.container_id = "c0ffee",
	.ifname = "eth0",
	.ns = "default",
	.pod = "web-1",
	.ip = 0,			/* set in main: 10.244.1.7 */
	.host_ifindex = 42,
	.host_ifname = "bh1234abcd",
};
static struct reg_add_args web1_args;

static void run_add(struct client *c)
{
	c->rc = register_add(c->path, c->required, &web1_args, &c->identity,
			     &c->err);
}

static void run_del(struct client *c)
{
	c->rc = register_del(c->path, "c0ffee", "eth0", &c->err);
}

/* Sends c->raw and reads until a newline or EOF, at most 10 s. */
static void run_raw(struct client *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd p;
	size_t len = 0;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c->rc = -1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	/* A refused line may be cut short by the daemon's close: go on. */
	if (c->raw_len)
		(void)send(fd, c->raw, c->raw_len, MSG_NOSIGNAL);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (len < sizeof(c->reply) - 1 && poll(&p, 1, 10000) == 1) {
		ssize_t n = recv(fd, c->reply + len, sizeof(c->reply) - 1 - len, 0);

		if (n <= 0) {
			c->eof = true;
			break;
		}
		len += n;
		if (memchr(c->reply, '\n', len))
			break;
	}
	c->reply[len] = '\0';
	c->rc = 0;
out:
	if (fd >= 0)
		close(fd);
}

static void *client_main(void *arg)
{
	struct client *c = arg;

	c->run(c);
	atomic_store(&c->done, true);
	return NULL;
}

/* Runs the client against the loop until it is done (at most 20 s). */
static void drive(struct client *c)
{
	uint64_t deadline = loop_now_ms() + 20000;

	if (!c->path)
		c->path = sock_path;
	atomic_store(&c->done, false);
	if (pthread_create(&c->th, NULL, client_main, c) != 0) {
		printf("Bail out! pthread_create failed\n");
		exit(255);
	}
	while (!atomic_load(&c->done) && loop_now_ms() < deadline)
		loop_run_once(loop, 20);
	pthread_join(c->th, NULL);
}

static struct client raw_client(const char *line)
{
	struct client c = { .run = run_raw, .raw = line, .raw_len = strlen(line) };

	drive(&c);
	return c;
}

/* The reply to a refused line: this code and a msg that contains want. */
static void is_refused(const struct client *c, int code, const char *want,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void is_refused(const struct client *c, int code, const char *want,
		       const char *fmt, ...)
{
	json_t *r = json_loads(c->reply, 0, NULL);
	const char *msg = json_string_value(json_object_get(r, "msg"));
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!ok(r && json_is_false(json_object_get(r, "ok")) &&
		json_integer_value(json_object_get(r, "code")) == code &&
		msg && strstr(msg, want), "%s", what))
		diag("want code %d and \"%s\" in msg, got: %s", code, want,
		     c->reply);
	json_decref(r);
}

/* A valid add request with one field replaced (value: a JSON literal, or
 * NULL to leave the field out). */
static char *add_line_with(const char *field, const char *value)
{
	json_t *req = json_pack("{ss ss ss ss ss ss si ss}", "op", "add",
				"containerID", "c0ffee", "ifname", "eth0",
				"namespace", "default", "pod", "web-1",
				"ip", "10.244.1.7", "ifindex", 42,
				"hostIfname", "bh1234abcd");
	char *line, *out;

	if (field && value)
		json_object_set_new(req, field,
				    json_loads(value, JSON_DECODE_ANY, NULL));
	else if (field)
		json_object_del(req, field);
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!line || asprintf(&out, "%s\n", line) < 0) {
		printf("Bail out! out of memory\n");
		exit(255);
	}
	free(line);
	return out;
}

static void open_server(struct reg_server **s)
{
	struct dp_err err = { 0 };

	if (reg_server_open(loop, sock_path, handler, NULL, s, &err) < 0) {
		printf("Bail out! reg_server_open %s: %s\n", sock_path, err.msg);
		exit(255);
	}
}

/* ---- round trips through the plugin's functions ---- */

static void test_round_trips(void)
{
	struct client c = { .run = run_add, .required = true };

	reset_seen(ANSWER_NOW);
	drive(&c);
	is_int(c.rc, 0, "add: register_add succeeds (%s)", c.err.msg);
	is_int(c.identity, 777, "add: the daemon's identity comes back");
	is_int(seen.calls, 1, "add: the handler saw one request");
	is_int(seen.req.add, 1, "add: op add");
	is_str(seen.cid, "c0ffee", "add: containerID");
	is_str(seen.ifname, "eth0", "add: ifname");
	is_str(seen.ns, "default", "add: namespace");
	is_str(seen.pod, "web-1", "add: pod");
	is_int(seen.req.ip, inet_addr("10.244.1.7"), "add: ip");
	is_int(seen.req.ifindex, 42, "add: ifindex");
	is_str(seen.host_ifname, "bh1234abcd", "add: hostIfname");

	c = (struct client){ .run = run_del };
	reset_seen(ANSWER_NOW);
	drive(&c);
	is_int(c.rc, 0, "del: register_del succeeds (%s)", c.err.msg);
	is_int(seen.req.add, 0, "del: op del");
	is_str(seen.cid, "c0ffee", "del: containerID");
	is_str(seen.ifname, "eth0", "del: ifname");
	ok(seen.req.ns == NULL && seen.req.host_ifname == NULL,
	   "del: no add-only fields");

	c = (struct client){ .run = run_add, .required = true };
	reset_seen(ANSWER_LATER);
	drive(&c);
	is_int(c.rc, 0, "deferred add: succeeds (%s)", c.err.msg);
	is_int(c.identity, 777, "deferred add: the later answer arrives");

	c = (struct client){ .run = run_add, .required = true };
	reset_seen(ANSWER_ERR);
	drive(&c);
	is_int(c.rc, -1, "daemon error: register_add fails");
	is_int(c.err.code, 11, "daemon error: its code passes through");
	is_str(c.err.msg, "pod default/web-1 not found yet",
	       "daemon error: its msg passes through");
	is_str(c.err.details, "the watch has not seen it",
	       "daemon error: its details pass through");
}

/* ---- refused requests ---- */

static const struct {
	const char *field, *value, *why;
} bad_fields[] = {
	{ "op", "\"put\"", "\"op\" must be \"add\" or \"del\"" },
	{ "op", "1", "op" },
	{ "containerID", "\"\"", "containerID" },
	{ "containerID", "\"-abc\"", "containerID" },
	{ "containerID", "\"a/b\"", "containerID" },
	{ "containerID", "7", "containerID" },
	{ "ifname", "\"\"", "ifname" },
	{ "ifname", "\".\"", "ifname" },
	{ "ifname", "\"..\"", "ifname" },
	{ "ifname", "\"a/b\"", "ifname" },
	{ "ifname", "\"a:b\"", "ifname" },
	{ "ifname", "\"a b\"", "ifname" },
	{ "ifname", "\"a\\tb\"", "ifname" },
	{ "ifname", "\"abcdefghijklmnop\"", "ifname" },
	{ "namespace", "\"Default\"", "namespace" },
	{ "namespace", "\"-a\"", "namespace" },
	{ "namespace", "\"a-\"", "namespace" },
	{ "namespace", "\"a.b\"", "namespace" },
	{ "namespace", "\"\"", "namespace" },
	{ "pod", "\"Web\"", "pod" },
	{ "pod", "\"a..b\"", "pod" },
	{ "pod", "\"a.\"", "pod" },
	{ "pod", "\"a.-b\"", "pod" },
	{ "pod", "\"a_b\"", "pod" },
	{ "pod", "null", "pod" },
	{ "ip", "\"10.0.0\"", "ip" },
	{ "ip", "\"::1\"", "ip" },
	{ "ip", "\"10.0.0.256\"", "ip" },
	{ "ip", "167772161", "ip" },
	{ "ifindex", "0", "ifindex" },
	{ "ifindex", "-1", "ifindex" },
	{ "ifindex", "2147483648", "ifindex" },
	{ "ifindex", "\"3\"", "ifindex" },
	{ "ifindex", "1.5", "ifindex" },
	{ "hostIfname", "\"a b\"", "hostIfname" },
	{ "hostIfname", "\"..\"", "hostIfname" },
	{ "color", "\"blue\"", "unknown field \"color\"" },
};

static void test_refused(void)
{
	static const char *const required[] = {
		"op", "containerID", "ifname", "namespace", "pod", "ip",
		"ifindex", "hostIfname",
	};
	struct client c;
	char *line;

	reset_seen(ANSWER_NOW);
	c = raw_client("{\"op\": \"add\"\n");
	is_refused(&c, 7, "not JSON", "malformed JSON: code 7");
	c = raw_client("[\"add\"]\n");
	is_refused(&c, 7, "not a JSON object", "an array: code 7");
	c = raw_client("{\"op\":\"del\",\"op\":\"add\"}\n");
	is_refused(&c, 7, "not JSON", "a duplicate key: code 7");
	c = raw_client("{\"op\":\"del\",\"containerID\":\"a\\u0000b\",\"ifname\":\"eth0\"}\n");
	is_refused(&c, 7, "not JSON", "a NUL in a string: code 7");
	for (size_t i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++) {
		line = add_line_with(bad_fields[i].field, bad_fields[i].value);
		c = raw_client(line);
		is_refused(&c, 7, bad_fields[i].why, "%s = %s: code 7 naming it",
			   bad_fields[i].field, bad_fields[i].value);
		free(line);
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		char want[64];

		snprintf(want, sizeof(want), "\"%s\" is required", required[i]);
		line = add_line_with(required[i], NULL);
		c = raw_client(line);
		is_refused(&c, 7, want, "add without %s: code 7", required[i]);
		free(line);
	}
	c = raw_client("{\"op\":\"del\",\"containerID\":\"c0ffee\",\"ifname\":\"eth0\",\"pod\":\"web-1\"}\n");
	is_refused(&c, 7, "\"pod\" is not used by del", "del with pod: code 7");
	is_int(seen.calls, 0, "no refused request reached the handler");
}

static void test_accepted_edges(void)
{
	char long_id[256], long_ns[80], long_pod[300], value[320];
	struct client c;
	char *line;

	memset(long_id, 'a', 255);
	long_id[255] = '\0';
	memset(long_ns, 'n', 63);
	long_ns[63] = '\0';
	/* 253 characters: 31 labels "abcdefg." of 8, then "z0123" (5). */
	for (int i = 0; i < 31; i++)
		memcpy(long_pod + 8 * i, "abcdefg.", 8);
	memcpy(long_pod + 248, "z0123", 6);

	reset_seen(ANSWER_NOW);
	snprintf(value, sizeof(value), "\"%s\"", long_id);
	line = add_line_with("containerID", value);
	c = raw_client(line);
	is_str(c.reply, "{\"ok\":true,\"identity\":777}\n",
	       "containerID of 255 characters is served");
	free(line);
	snprintf(value, sizeof(value), "\"%s\"", long_ns);
	line = add_line_with("namespace", value);
	c = raw_client(line);
	is_str(c.reply, "{\"ok\":true,\"identity\":777}\n",
	       "namespace of 63 characters is served");
	free(line);
	snprintf(value, sizeof(value), "\"%s\"", long_pod);
	line = add_line_with("pod", value);
	c = raw_client(line);
	is_str(c.reply, "{\"ok\":true,\"identity\":777}\n",
	       "pod of 253 characters in labels is served");
	free(line);
	memcpy(long_pod + 253, "4", 2);
	snprintf(value, sizeof(value), "\"%s\"", long_pod);
	line = add_line_with("pod", value);
	c = raw_client(line);
	is_refused(&c, 7, "\"pod\"", "pod of 254 characters: code 7");
	free(line);
	line = add_line_with("ifindex", "2147483647");
	c = raw_client(line);
	is_str(c.reply, "{\"ok\":true,\"identity\":777}\n",
	       "ifindex INT_MAX is served");
	free(line);
	c = raw_client("{\"op\":\"del\",\"containerID\":\"x\",\"ifname\":\"eth0\"}\n");
	is_str(c.reply, "{\"ok\":true}\n", "del: the reply has no identity");
}

/* A line of exactly len bytes before its newline: a del padded with spaces. */
static char *line_of(size_t len)
{
	const char *del = "{\"op\":\"del\",\"containerID\":\"c0ffee\",\"ifname\":\"eth0\"}";
	char *line = malloc(len + 2);

	if (!line) {
		printf("Bail out! out of memory\n");
		exit(255);
	}
	memset(line, ' ', len);
	memcpy(line + len - strlen(del), del, strlen(del));
	line[len] = '\n';
	line[len + 1] = '\0';
	return line;
}

static void test_line_length(void)
{
	char *line = line_of(BH_REG_MAX_LINE);
	struct client c;

	reset_seen(ANSWER_NOW);
	c = raw_client(line);
	is_str(c.reply, "{\"ok\":true}\n", "a line of 4096 bytes is served");
	free(line);
	line = line_of(BH_REG_MAX_LINE + 1);
	c = raw_client(line);
	is_refused(&c, 7, "request too long", "a line of 4097 bytes: code 7");
	free(line);
	line = line_of(3 * BH_REG_MAX_LINE);
	c = raw_client(line);
	is_refused(&c, 7, "request too long", "a line of 12288 bytes: code 7");
	free(line);
	is_int(seen.calls, 1, "only the line that fits reached the handler");
}

/* ---- the daemon that never answers, and shutdown ---- */

static void test_no_answer(struct reg_server **s)
{
	struct client c = { .run = run_add, .required = true };
	uint64_t t0;

	reset_seen(ANSWER_NEVER);
	register_wait_ms = 300;
	t0 = loop_now_ms();
	drive(&c);
	register_wait_ms = BH_REG_PLUGIN_WAIT_MS;
	is_int(c.rc, -1, "silent daemon: register_add fails");
	is_int(c.err.code, 11, "silent daemon: code 11");
	ok(strstr(c.err.msg, "did not answer within 300 ms") != NULL,
	   "silent daemon: msg says so (%s)", c.err.msg);
	ok(loop_now_ms() - t0 < 5000, "silent daemon: gave up on time");
	ok(seen.held != NULL, "silent daemon: the request is still held");
	/* The plugin is gone: the late answer fails quietly and frees. */
	reg_reply_ok(seen.held, 777);
	seen.held = NULL;

	/* A held request with its plugin still there gets 11 on close. */
	reset_seen(ANSWER_NEVER);
	{
		struct client r = { .run = run_raw, .path = sock_path };
		char *line = add_line_with(NULL, NULL);
		uint64_t deadline = loop_now_ms() + 10000;

		r.raw = line;
		r.raw_len = strlen(line);
		pthread_create(&r.th, NULL, client_main, &r);
		while (!seen.held && loop_now_ms() < deadline)
			loop_run_once(loop, 20);
		ok(seen.held != NULL, "close: a request is held");
		reg_server_close(*s);
		*s = NULL;
		pthread_join(r.th, NULL);
		is_refused(&r, 11, "shutting down", "close: the held request gets 11");
		free(line);
	}
	ok(access(sock_path, F_OK) < 0 && errno == ENOENT,
	   "close: the socket file is removed");
}

static void test_missing_socket(void)
{
	struct client c = { .run = run_add, .required = false };

	c.identity = 5;
	drive(&c);
	is_int(c.rc, 0, "no socket, not required: register_add returns 0");
	is_int(c.identity, 0, "no socket, not required: no identity");
	c = (struct client){ .run = run_add, .required = true };
	drive(&c);
	is_int(c.rc, -1, "no socket, required: register_add fails");
	is_int(c.err.code, 11, "no socket, required: code 11");
	ok(strstr(c.err.msg, "cannot reach bulkhead-policyd") != NULL,
	   "no socket, required: msg says so (%s)", c.err.msg);
	c = (struct client){ .run = run_del };
	drive(&c);
	is_int(c.rc, 0, "no socket: register_del returns 0");
}

/* ---- the socket file ---- */

static void test_socket_file(void)
{
	struct reg_server *s = NULL, *s2 = NULL;
	struct dp_err err = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[128], want[160];
	struct client c;
	struct stat st;
	int fd;

	snprintf(sock_path, sizeof(sock_path), "%s/run/bh/reg.sock", tmpdir);
	open_server(&s);
	snprintf(dir, sizeof(dir), "%s/run/bh", tmpdir);
	ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700,
	   "parent directory made 0700 (%o)", st.st_mode & 07777);
	snprintf(dir, sizeof(dir), "%s/run", tmpdir);
	ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700,
	   "grandparent directory made 0700");
	ok(stat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	   (st.st_mode & 07777) == 0600, "socket mode 0600 (%o)",
	   st.st_mode & 07777);

	is_int(reg_server_open(loop, sock_path, handler, NULL, &s2, &err),
	       -EADDRINUSE, "a live socket is refused");
	snprintf(want, sizeof(want), "another daemon serves %s", sock_path);
	is_str(err.msg, want, "the refusal names the path");
	reset_seen(ANSWER_NOW);
	c = raw_client("{\"op\":\"del\",\"containerID\":\"x\",\"ifname\":\"eth0\"}\n");
	is_str(c.reply, "{\"ok\":true}\n", "the first daemon still serves");
	reg_server_close(s);

	/* A stale socket: bound, then its owner gone without unlinking. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ok(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	   "stale socket made");
	close(fd);
	s = NULL;
	err = (struct dp_err){ 0 };
	is_int(reg_server_open(loop, sock_path, handler, NULL, &s, &err), 0,
	       "a stale socket is replaced (%s)", err.msg);
	c = raw_client("{\"op\":\"del\",\"containerID\":\"x\",\"ifname\":\"eth0\"}\n");
	is_str(c.reply, "{\"ok\":true}\n", "the new daemon serves");
	reg_server_close(s);

	/* Not a socket: never removed. */
	fd = open(sock_path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	s = NULL;
	err = (struct dp_err){ 0 };
	ok(reg_server_open(loop, sock_path, handler, NULL, &s, &err) < 0 &&
	   strstr(err.msg, "not a socket"), "a regular file is refused (%s)",
	   err.msg);
	ok(access(sock_path, F_OK) == 0, "the regular file is left alone");
	unlink(sock_path);
}

/* Only root is served: a uid 65534 peer is closed on without an answer. */
static void test_peer_uid(void)
{
	struct reg_server *s = NULL;
	char dir[128];
	pid_t pid;
	int status = -1;
	uint64_t deadline;

	open_server(&s);
	/* Let the other user reach the socket, so SO_PEERCRED decides. */
	chmod(tmpdir, 0711);
	snprintf(dir, sizeof(dir), "%s/run", tmpdir);
	chmod(dir, 0711);
	snprintf(dir, sizeof(dir), "%s/run/bh", tmpdir);
	chmod(dir, 0711);
	chmod(sock_path, 0666);
	reset_seen(ANSWER_NOW);
	pid = fork();
	if (pid == 0) {
		struct client c = { .run = run_raw, .path = sock_path };
		char *line = add_line_with(NULL, NULL);

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		c.raw = line;
		c.raw_len = strlen(line);
		run_raw(&c);
		/* 0: connected, closed on, no reply. */
		_exit(c.rc == 0 && c.eof && !c.reply[0] ? 0 : 1);
	}
	deadline = loop_now_ms() + 15000;
	while (loop_now_ms() < deadline) {
		loop_run_once(loop, 20);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "uid 65534: closed without an answer (status %d)", status);
	is_int(seen.calls, 0, "uid 65534: the handler never saw it");
	reg_server_close(s);
}

/* A connection that sends nothing is closed after 5 s. */
static void test_idle(void)
{
	struct reg_server *s = NULL;
	struct client c = { .run = run_raw, .raw = "", .raw_len = 0 };
	uint64_t t0;

	open_server(&s);
	t0 = loop_now_ms();
	drive(&c);
	ok(c.eof && !c.reply[0], "idle connection closed without an answer");
	ok(loop_now_ms() - t0 >= 4900, "after the 5 s idle timeout (%llu ms)",
	   (unsigned long long)(loop_now_ms() - t0));
	reg_server_close(s);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static pid_t main_pid;

static void cleanup(void)
{
	if (getpid() == main_pid)
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	struct reg_server *s = NULL;

	main_pid = getpid();
	if (geteuid() != 0)
		skip_all("the registration socket serves uid 0 only");
	if (!mkdtemp(tmpdir) || loop_new(&loop) < 0) {
		printf("Bail out! cannot set up: %s\n", strerror(errno));
		return 255;
	}
	atexit(cleanup);
	web1_args = web1;
	web1_args.ip = inet_addr("10.244.1.7");

	test_socket_file();
	open_server(&s);
	test_round_trips();
	test_refused();
	test_accepted_edges();
	test_line_length();
	test_no_answer(&s);
	test_missing_socket();
	test_peer_uid();
	test_idle();
	loop_free(loop);
	return done_testing();
}
