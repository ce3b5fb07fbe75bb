/* A tiny HTTP/1.0 GET client for the daemon's loopback endpoint: one
 * request per connection, a bounded body, a deadline on every step; or
 * the open socket of a stream (/events). */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"

#define DAEMON_TIMEOUT_MS	3000
#define DAEMON_MAX_RESPONSE	(8u << 20)	/* /metrics of a big node fits */
#define DAEMON_MAX_HEAD		4096

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events before the deadline. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left = deadline - now_ms();
	int rc;

	if (left <= 0)
		return -ETIMEDOUT;
	rc = poll(&p, 1, (int)left);
	if (rc < 0)
		return -errno;
	return rc == 0 ? -ETIMEDOUT : 0;
}

/* "host:port" into a non-blocking connected socket. */
static int dial(const char *addr, long long deadline)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char host[256];
	const char *colon = strrchr(addr, ':');
	size_t hlen = colon ? (size_t)(colon - addr) : 0;
	int fd = -1, rc, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (!colon || hlen == 0 || hlen >= sizeof(host) || !colon[1])
		return -EINVAL;
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
		return -EHOSTUNREACH;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (rc < 0 && errno != EINPROGRESS) {
		rc = -errno;
		goto out;
	}
	if (rc < 0 && (rc = wait_fd(fd, POLLOUT, deadline)) < 0)
		goto out;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		rc = -(soerr ? soerr : errno);
		goto out;
	}
	rc = 0;
out:
	freeaddrinfo(ai);
	if (rc < 0 && fd >= 0)
		close(fd);
	return rc < 0 ? rc : fd;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			int rc = wait_fd(fd, POLLOUT, deadline);

			if (rc < 0)
				return rc;
			continue;
		}
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the server closes (HTTP/1.0), at most the bound. */
static int recv_all(int fd, char **out, size_t *outlen, long long deadline)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *p;

			if (cap >= DAEMON_MAX_RESPONSE) {
				rc = -EFBIG;
				break;
			}
			cap *= 2;
			p = realloc(buf, cap + 1);
			if (!p) {
				rc = -ENOMEM;
				break;
			}
			buf = p;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n == 0)
			break;
		if (n < 0 && errno == EAGAIN) {
			if ((rc = wait_fd(fd, POLLIN, deadline)) < 0)
				break;
			continue;
		}
		if (n < 0) {
			rc = -errno;
			break;
		}
		len += (size_t)n;
	}
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Splits a response into its status and body (moved to the front). */
static int parse_response(char *resp, size_t len, char **body, size_t *blen)
{
	char *end = strstr(resp, "\r\n\r\n");
	int status;

	if (strncmp(resp, "HTTP/1.", 7) != 0 || len < 12 || !end)
		return -EPROTO;
	status = atoi(resp + 9);
	*blen = len - (size_t)(end + 4 - resp);
	memmove(resp, end + 4, *blen + 1);
	*body = resp;
	return status;
}

/* Connects and sends GET path: the socket, or -errno. */
static int request(const struct ctl *c, const char *path, long long deadline)
{
	char req[512];
	int fd, rc, n;

	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n",
		     path, c->daemon);
	if (n < 0 || (size_t)n >= sizeof(req))
		return -ENAMETOOLONG;
	fd = dial(c->daemon, deadline);
	if (fd < 0)
		return fd;
	rc = send_all(fd, req, (size_t)n, deadline);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int daemon_get(const struct ctl *c, const char *path, char **body, size_t *len)
{
	long long deadline = now_ms() + DAEMON_TIMEOUT_MS;
	char *resp = NULL;
	size_t rlen = 0;
	int fd, rc;

	fd = request(c, path, deadline);
	if (fd < 0)
		return fd;
	rc = recv_all(fd, &resp, &rlen, deadline);
	close(fd);
	if (rc < 0)
		return rc;
	rc = parse_response(resp, rlen, body, len);
	if (rc == 200)
		return 0;
	free(resp);
	return rc < 0 ? rc : -EPROTO;
}

json_t *daemon_get_json(const struct ctl *c, const char *path)
{
	char *body = NULL;
	size_t len = 0;
	json_t *j;

	if (daemon_get(c, path, &body, &len) < 0)
		return NULL;
	j = json_loadb(body, len, 0, NULL);
	free(body);
	return j;
}

/* Reads the response head a byte at a time, so not one byte of the body
 * is taken from the socket: the head is small and read once. */
static int recv_head(int fd, char *head, size_t cap, long long deadline)
{
	size_t len = 0;

	while (len < 4 || memcmp(head + len - 4, "\r\n\r\n", 4) != 0) {
		ssize_t n;

		if (len + 1 == cap)
			return -EPROTO;
		n = recv(fd, head + len, 1, 0);
		if (n < 0 && errno == EAGAIN) {
			int rc = wait_fd(fd, POLLIN, deadline);

			if (rc < 0)
				return rc;
			continue;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPROTO;
		len++;
	}
	head[len] = '\0';
	return 0;
}

int daemon_stream(const struct ctl *c, const char *path)
{
	long long deadline = now_ms() + DAEMON_TIMEOUT_MS;
	char head[DAEMON_MAX_HEAD];
	int fd, rc;

	fd = request(c, path, deadline);
	if (fd < 0)
		return fd;
	rc = recv_head(fd, head, sizeof(head), deadline);
	if (rc == 0 && (strncmp(head, "HTTP/1.", 7) != 0 || atoi(head + 9) != 200))
		rc = -EPROTO;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}
