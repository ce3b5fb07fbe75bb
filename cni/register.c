/* Endpoint registration from the plugin: one JSON line to bulkhead-policyd's
 * socket, one line back, all within one deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "bulkhead/register.h"
#include "cni/log.h"
#include "cni/register.h"

int register_wait_ms = BH_REG_PLUGIN_WAIT_MS;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline: 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - now_ms();
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(&p, 1, (int)left);
		if (rc >= 0 || errno != EINTR)
			return rc > 0;
	}
}

static int timed_out(const char *path, struct cni_err *err)
{
	return cni_errorf(err, CNI_ERR_TRY_AGAIN,
			  "bulkhead-policyd at %s did not answer within %d ms",
			  path, register_wait_ms);
}

/* -1 with errno when the daemon is not there to take the connection. */
static int connect_daemon(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return errno = ENAMETOOLONG, -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/* A unix connect never pends: it succeeds, or EAGAIN when the
	 * daemon's backlog is full, which is "busy, try again". */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int saved = errno;

		close(fd);
		return errno = saved, -1;
	}
	return fd;
}

static int send_line(int fd, const char *path, const char *line, size_t len,
		     int64_t deadline, struct cni_err *err)
{
	while (len) {
		ssize_t n = send(fd, line, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!wait_fd(fd, POLLOUT, deadline))
				return timed_out(path, err);
			continue;
		}
		/* The daemon closed early: its reason may be waiting to be read. */
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return 0;
		if (n < 0)
			return cni_errorf(err, CNI_ERR_TRY_AGAIN,
					  "send to bulkhead-policyd at %s: %s",
					  path, strerror(errno));
		line += n;
		len -= n;
	}
	return 0;
}

/* Reads the reply line (without its newline) into buf. */
static int recv_line(int fd, const char *path, char *buf, size_t cap,
		     int64_t deadline, struct cni_err *err)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!wait_fd(fd, POLLIN, deadline))
				return timed_out(path, err);
			continue;
		}
		if (n < 0)
			return cni_errorf(err, CNI_ERR_TRY_AGAIN,
					  "read from bulkhead-policyd at %s: %s",
					  path, strerror(errno));
		if (n == 0)
			return cni_errorf(err, CNI_ERR_TRY_AGAIN,
					  "bulkhead-policyd at %s closed the connection without an answer",
					  path);
		nl = memchr(buf + len, '\n', n);
		len += n;
		if (nl) {
			*nl = '\0';
			return 0;
		}
		if (len == cap - 1)
			return cni_errorf(err, BH_ERR_INTERNAL,
					  "bulkhead-policyd at %s: reply longer than %d bytes",
					  path, BH_REG_MAX_LINE);
	}
}

/* One exchange. On 1 the daemon could not be reached and *conn_errno says
 * why (nothing in err yet: the caller decides whether that is an error). */
static int call_daemon(const char *path, const json_t *req, json_t **reply,
		       int *conn_errno, struct cni_err *err)
{
	int64_t deadline = now_ms() + register_wait_ms;
	char *line = json_dumps(req, JSON_COMPACT);
	char buf[BH_REG_MAX_LINE + 2];
	json_error_t jerr;
	int fd = -1, rc = -1;
	size_t len;

	*reply = NULL;
	if (!line)
		return cni_errorf(err, BH_ERR_INTERNAL, "out of memory");
	len = strlen(line);
	/* The request's fields were checked by their sources: this is a bug. */
	if (len >= BH_REG_MAX_LINE) {
		cni_errorf(err, BH_ERR_INTERNAL, "registration request too long");
		goto out;
	}
	line[len++] = '\n';	/* over the NUL: json_dumps left it room */
	fd = connect_daemon(path);
	if (fd < 0) {
		*conn_errno = errno;
		rc = 1;
		goto out;
	}
	if (send_line(fd, path, line, len, deadline, err) < 0 ||
	    recv_line(fd, path, buf, sizeof(buf), deadline, err) < 0)
		goto out;
	*reply = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(*reply)) {
		cni_errorf(err, BH_ERR_INTERNAL,
			   "bulkhead-policyd at %s sent an unreadable reply", path);
		cni_err_details(err, "%s", *reply ? "not a JSON object" : jerr.text);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		json_decref(*reply);
		*reply = NULL;
	}
	free(line);
	return rc;
}

/* The daemon's answer: success with an identity, or its error passed on. */
static int read_reply(const char *path, const json_t *reply, __u32 *identity,
		      struct cni_err *err)
{
	const json_t *ok = json_object_get(reply, "ok");
	const json_t *id = json_object_get(reply, "identity");
	const json_t *code = json_object_get(reply, "code");
	const char *msg = json_string_value(json_object_get(reply, "msg"));
	const char *details = json_string_value(json_object_get(reply, "details"));

	if (json_is_true(ok)) {
		if (id && (!json_is_integer(id) || json_integer_value(id) < 0 ||
			   json_integer_value(id) > UINT32_MAX))
			goto bad;
		if (identity)
			*identity = id ? (__u32)json_integer_value(id) : 0;
		return 0;
	}
	if (!json_is_false(ok) || !json_is_integer(code) ||
	    json_integer_value(code) < 1 || json_integer_value(code) > 999)
		goto bad;
	cni_errorf(err, (int)json_integer_value(code), "%s",
		   msg ? msg : "bulkhead-policyd refused the registration");
	if (details && *details)
		cni_err_details(err, "%s", details);
	return -1;
bad:
	return cni_errorf(err, BH_ERR_INTERNAL,
			  "bulkhead-policyd at %s sent an unreadable reply", path);
}

int register_add(const char *sock_path, bool required,
		 const struct reg_add_args *a, __u32 *identity,
		 struct cni_err *err)
{
	struct in_addr ip = { .s_addr = a->ip };
	char ip_str[INET_ADDRSTRLEN];
	json_t *req, *reply = NULL;
	int conn_errno = 0, rc;

	*identity = 0;
	inet_ntop(AF_INET, &ip, ip_str, sizeof(ip_str));
	req = json_pack("{ss ss ss ss ss ss si ss}", "op", BH_REG_OP_ADD,
			"containerID", a->container_id, "ifname", a->ifname,
			"namespace", a->ns, "pod", a->pod, "ip", ip_str,
			"ifindex", a->host_ifindex, "hostIfname", a->host_ifname);
	if (!req)
		return cni_errorf(err, BH_ERR_INTERNAL,
				  "cannot build the registration request");
	rc = call_daemon(sock_path, req, &reply, &conn_errno, err);
	json_decref(req);
	if (rc == 1 && conn_errno == ENOENT && !required) {
		log_warn("no bulkhead-policyd socket at %s: %s/%s not registered, it keeps identity init and its traffic is dropped",
			 sock_path, a->ns, a->pod);
		return 0;
	}
	if (rc == 1)
		return cni_errorf(err, CNI_ERR_TRY_AGAIN,
				  "cannot reach bulkhead-policyd at %s: %s",
				  sock_path, strerror(conn_errno));
	if (rc < 0)
		return -1;
	rc = read_reply(sock_path, reply, identity, err);
	json_decref(reply);
	if (rc == 0)
		log_debug("registered %s/%s: identity %u", a->ns, a->pod, *identity);
	return rc;
}

int register_del(const char *sock_path, const char *container_id,
		 const char *ifname, struct cni_err *err)
{
	json_t *req, *reply = NULL;
	int conn_errno = 0, rc;

	req = json_pack("{ss ss ss}", "op", BH_REG_OP_DEL,
			"containerID", container_id, "ifname", ifname);
	if (!req)
		return cni_errorf(err, BH_ERR_INTERNAL,
				  "cannot build the registration request");
	rc = call_daemon(sock_path, req, &reply, &conn_errno, err);
	json_decref(req);
	if (rc == 1) {
		log_warn("cannot reach bulkhead-policyd at %s (%s): left for its resync to unregister",
			 sock_path, strerror(conn_errno));
		return 0;
	}
	if (rc < 0)
		return -1;
	rc = read_reply(sock_path, reply, NULL, err);
	json_decref(reply);
	return rc;
}
