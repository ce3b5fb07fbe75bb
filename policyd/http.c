/* A minimal HTTP/1.1 server on the daemon's loop: one GET per connection,
 * the response built whole by the handler, written without blocking; or,
 * for a subscriber, a close-delimited body of the lines published. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "policyd/http.h"

#define HTTP_MAX_REQUEST 8192
#define HTTP_MAX_CONNS 64
/* A connection gets this long to send its request, and again to take its
 * response: counted from the start of each, not reset by every byte, so a
 * client trickling bytes cannot hold one of the few slots for long. */
#define HTTP_DEADLINE_MS 5000
/* How far a subscriber may fall behind, in bytes queued (some hundreds of
 * flow events); beyond it, lines are lost rather than the daemon held. */
#define HTTP_STREAM_QUEUE (256u << 10)
#define HTTP_STREAM_KERNEL (64 << 10)	/* and in the socket's buffer */

enum conn_state {
	CONN_READING,		/* request head not complete yet */
	CONN_WRITING,		/* response partly sent */
	CONN_DRAINING,		/* sent; reading what the client still sends */
	CONN_STREAMING,		/* a subscriber: lines as they are published */
};

struct http_conn {
	struct http_server *srv;
	struct http_conn *prev, *next;
	int fd;
	enum conn_state state;
	uint64_t timer;
	size_t req_len;
	char req[HTTP_MAX_REQUEST];
	char *resp;		/* the response; a subscriber's queue */
	size_t resp_len, sent;
	size_t resp_cap;	/* a subscriber's queue only */
	uint64_t lost;		/* lines a subscriber has not been told of */
	bool want_out;		/* a subscriber's EPOLLOUT is on */
};

struct http_server {
	struct loop *l;
	int fd;
	http_handler handler;
	void *ctx;
	struct http_conn *conns;
	int nconns;
	int nsubs;		/* of them, CONN_STREAMING */
};

static const char *status_words(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/* --- connections --------------------------------------------------------- */

static void conn_close(struct http_conn *c)
{
	struct http_server *s = c->srv;

	loop_timer_cancel(s->l, c->timer);
	loop_del(s->l, c->fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	if (c->state == CONN_STREAMING)
		s->nsubs--;
	free(c->resp);
	free(c);
}

static void on_deadline(struct loop *l, void *arg)
{
	struct http_conn *c = arg;

	(void)l;
	c->timer = 0;		/* fired: nothing left to cancel */
	conn_close(c);
}

static void restart_deadline(struct http_conn *c)
{
	loop_timer_cancel(c->srv->l, c->timer);
	c->timer = loop_timer(c->srv->l, HTTP_DEADLINE_MS, on_deadline, c);
}

/* Reads and drops what the client still sends after the response, until
 * it closes or the deadline: closing with unread data would reset the
 * connection and could destroy the response before the client read it. */
static void conn_drain(struct http_conn *c)
{
	char scratch[1024];

	for (;;) {
		ssize_t n = read(c->fd, scratch, sizeof(scratch));

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(c);
		return;
	}
}

/* Sends what is queued, as far as the socket takes it; false when the
 * connection failed (it is closed then). */
static bool send_queued(struct http_conn *c)
{
	while (c->sent < c->resp_len) {
		ssize_t n = send(c->fd, c->resp + c->sent, c->resp_len - c->sent,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;	/* EPOLLOUT brings us back */
		if (n < 0) {
			conn_close(c);
			return false;
		}
		c->sent += (size_t)n;
	}
	return true;
}

static void conn_write(struct http_conn *c)
{
	if (!send_queued(c) || c->sent < c->resp_len)
		return;
	shutdown(c->fd, SHUT_WR);
	c->state = CONN_DRAINING;
	if (loop_mod(c->srv->l, c->fd, EPOLLIN) < 0) {
		conn_close(c);
		return;
	}
	conn_drain(c);
}

/* Queues the whole response and starts writing it. */
static void respond(struct http_conn *c, int status, const char *ctype,
		    const char *body, size_t body_len)
{
	FILE *f = open_memstream(&c->resp, &c->resp_len);

	if (!f) {
		conn_close(c);
		return;
	}
	fprintf(f, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		"%sConnection: close\r\n\r\n", status, status_words(status),
		ctype, body_len, status == 405 ? "Allow: GET\r\n" : "");
	fwrite(body, 1, body_len, f);
	if (fclose(f) != 0) {
		conn_close(c);
		return;
	}
	c->state = CONN_WRITING;
	restart_deadline(c);
	if (loop_mod(c->srv->l, c->fd, EPOLLOUT) < 0) {
		conn_close(c);
		return;
	}
	conn_write(c);
}

static void respond_error(struct http_conn *c, int status)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", status_words(status));

	respond(c, status, "text/plain", body, (size_t)n);
}

/* --- subscribers --------------------------------------------------------- */

/* Room for len more bytes at the end of a subscriber's queue, or NULL
 * when that would put it more than HTTP_STREAM_QUEUE behind. */
static char *queue_reserve(struct http_conn *c, size_t len)
{
	size_t pending = c->resp_len - c->sent;
	char *at;

	if (len > HTTP_STREAM_QUEUE - pending)
		return NULL;
	if (c->sent && c->resp_len + len > c->resp_cap) {
		memmove(c->resp, c->resp + c->sent, pending);
		c->resp_len = pending;
		c->sent = 0;
	}
	if (c->resp_len + len > c->resp_cap) {
		size_t cap = c->resp_cap ? c->resp_cap : 4096;
		char *p;

		while (cap < c->resp_len + len)
			cap *= 2;
		p = realloc(c->resp, cap);
		if (!p)
			return NULL;
		c->resp = p;
		c->resp_cap = cap;
	}
	at = c->resp + c->resp_len;
	c->resp_len += len;
	return at;
}

/* Once its queue is empty, a subscriber that lost lines hears how many. */
static bool queue_lost(struct http_conn *c)
{
	char line[48];
	int n = snprintf(line, sizeof(line), "{\"lost\":%llu}\n",
			 (unsigned long long)c->lost);
	char *at = queue_reserve(c, (size_t)n);

	if (!at)
		return false;
	memcpy(at, line, (size_t)n);
	c->lost = 0;
	return true;
}

/* Sends what the subscriber takes; watches for EPOLLOUT only while
 * something waits, and for EPOLLIN always (to see it leave). */
static void stream_write(struct http_conn *c)
{
	bool want_out;

	for (;;) {
		if (!send_queued(c))
			return;
		if (c->sent < c->resp_len || !c->lost || !queue_lost(c))
			break;
	}
	want_out = c->sent < c->resp_len;
	if (want_out == c->want_out)
		return;
	if (loop_mod(c->srv->l, c->fd, EPOLLIN | (want_out ? EPOLLOUT : 0)) < 0) {
		conn_close(c);
		return;
	}
	c->want_out = want_out;
}

/* Makes c a subscriber: the head now, then lines as they are published,
 * with no deadline (a quiet node may have nothing to say for hours). */
static void stream_start(struct http_conn *c, const char *ctype)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
			 "Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
			 ctype);
	char *at;

	if (c->srv->nsubs >= HTTP_MAX_SUBSCRIBERS) {
		respond_error(c, 503);
		return;
	}
	at = n > 0 && (size_t)n < sizeof(head) ? queue_reserve(c, (size_t)n) : NULL;
	if (!at) {
		respond_error(c, 500);
		return;
	}
	memcpy(at, head, (size_t)n);
	/* The queue above is the bound that counts: without this, the
	 * kernel would grow the socket's buffer to megabytes for a
	 * subscriber that does not read. */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &(int){ HTTP_STREAM_KERNEL },
		   sizeof(int));
	loop_timer_cancel(c->srv->l, c->timer);
	c->timer = 0;
	c->state = CONN_STREAMING;
	c->srv->nsubs++;
	stream_write(c);
}

bool http_server_has_subscribers(const struct http_server *s)
{
	return s && s->nsubs > 0;
}

void http_server_publish(struct http_server *s, const char *line, size_t len)
{
	struct http_conn *c, *next;

	if (!s)
		return;
	for (c = s->conns; c; c = next) {
		char *at;

		next = c->next;		/* stream_write may close c */
		if (c->state != CONN_STREAMING)
			continue;
		/* Once behind, a subscriber skips every line until it has
		 * caught up and been told how many it missed: what it reads
		 * stays in order. */
		at = c->lost || len >= HTTP_STREAM_QUEUE ? NULL :
			queue_reserve(c, len + 1);
		if (!at) {
			c->lost++;
			continue;
		}
		memcpy(at, line, len);
		at[len] = '\n';
		stream_write(c);
	}
}

/* The handler's answer for path, its body gathered in memory first so the
 * Content-Length is known. */
static void respond_from_handler(struct http_conn *c, const char *path)
{
	const char *ctype = "text/plain";
	char *body = NULL;
	size_t body_len = 0;
	FILE *f = open_memstream(&body, &body_len);
	int status;

	if (!f) {
		respond_error(c, 500);
		return;
	}
	status = c->srv->handler(c->srv->ctx, path, f, &ctype);
	if (fclose(f) != 0) {
		free(body);
		respond_error(c, 500);
		return;
	}
	if (status != HTTP_STREAM && (status < 100 || status > 999))
		status = 0;
	if (!status || !ctype || strpbrk(ctype, "\r\n"))
		respond_error(c, 500);
	else if (status == HTTP_STREAM)
		stream_start(c, ctype);
	else
		respond(c, status, ctype, body, body_len);
	free(body);
}

/* "GET /path?query HTTP/1.1": the method, the path before any '?', and an
 * HTTP/1.x version; anything else is a bad request. */
static void handle_request(struct http_conn *c)
{
	char *eol = memmem(c->req, c->req_len, "\r\n", 2);
	char *method, *target, *version, *sp1, *sp2, *path;

	if (!eol || memchr(c->req, '\0', c->req_len)) {
		respond_error(c, 400);
		return;
	}
	*eol = '\0';
	method = c->req;
	sp1 = strchr(method, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strchr(sp2 + 1, ' ')) {
		respond_error(c, 400);
		return;
	}
	*sp1 = *sp2 = '\0';
	target = sp1 + 1;
	version = sp2 + 1;
	if (strncmp(version, "HTTP/1.", 7) != 0 || target[0] != '/') {
		respond_error(c, 400);
		return;
	}
	if (strcmp(method, "GET") != 0) {
		respond_error(c, 405);
		return;
	}
	path = strndup(target, strcspn(target, "?"));
	if (!path) {
		respond_error(c, 500);
		return;
	}
	respond_from_handler(c, path);
	free(path);
}

static bool request_complete(const struct http_conn *c)
{
	return memmem(c->req, c->req_len, "\r\n\r\n", 4) != NULL;
}

static void conn_read(struct http_conn *c)
{
	for (;;) {
		size_t room = sizeof(c->req) - c->req_len;
		ssize_t n;

		if (!room) {
			respond_error(c, 431);
			return;
		}
		n = read(c->fd, c->req + c->req_len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(c);	/* gone before asking anything */
			return;
		}
		c->req_len += (size_t)n;
		if (request_complete(c)) {
			handle_request(c);
			return;
		}
	}
}

static void on_conn(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct http_conn *c = arg;

	(void)l;
	(void)fd;
	switch (c->state) {
	case CONN_READING:
		conn_read(c);
		break;
	case CONN_WRITING:
		conn_write(c);
		break;
	case CONN_DRAINING:
		conn_drain(c);
		break;
	case CONN_STREAMING:
		/* Write first: a client that closed fails the send, or shows
		 * up as readable once nothing waits to be sent. */
		if (events & EPOLLOUT)
			stream_write(c);
		else
			conn_drain(c);
		break;
	}
}

static void conn_open(struct http_server *s, int fd)
{
	struct http_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->state = CONN_READING;
	if (loop_add(s->l, fd, EPOLLIN, on_conn, c) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->timer = loop_timer(s->l, HTTP_DEADLINE_MS, on_deadline, c);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (!c->timer)
		conn_close(c);	/* no deadline, no connection */
}

/* Takes every pending connection; beyond the limit they are closed at
 * once, so a flood costs the daemon no memory. */
static void on_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct http_server *s = arg;

	(void)l;
	(void)events;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0 && errno == EINTR)
			continue;
		if (cfd < 0)
			return;	/* EAGAIN, or out of fds: retried next time */
		if (s->nconns >= HTTP_MAX_CONNS) {
			close(cfd);
			continue;
		}
		conn_open(s, cfd);
	}
}

/* --- the listening socket ------------------------------------------------ */

/* host: "" (every address, IPv6 and IPv4), "[v6]" or an IPv4 address. */
static int parse_host(char *host, unsigned int port,
		      struct sockaddr_storage *ss, socklen_t *len)
{
	size_t hlen = strlen(host);
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (host[0] && host[0] != '[') {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return inet_pton(AF_INET, host, &in4->sin_addr) == 1 ? 0 : -EINVAL;
	}
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)port);
	*len = sizeof(*in6);
	if (!hlen)
		return 0;	/* in6addr_any is all zeroes */
	if (hlen < 2 || host[hlen - 1] != ']')
		return -EINVAL;
	host[hlen - 1] = '\0';
	return inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
}

/* "host:port", "[v6]:port" or ":port"; port 0 lets the kernel choose. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	const char *colon = strrchr(addr, ':');
	char host[INET6_ADDRSTRLEN + 2];
	size_t hlen;
	unsigned long port;

	if (!colon || !colon[1] || colon[strspn(colon + 1, "0123456789") + 1])
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, NULL, 10);
	if (errno || port > 65535)
		return -EINVAL;
	hlen = (size_t)(colon - addr);
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	return parse_host(host, (unsigned int)port, ss, len);
}

/* For ":port" on a host without IPv6, the IPv4 wildcard instead. */
static void any_to_ipv4(struct sockaddr_storage *ss, socklen_t *len)
{
	in_port_t port = ((struct sockaddr_in6 *)ss)->sin6_port;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in4->sin_family = AF_INET;
	in4->sin_port = port;
	in4->sin_addr.s_addr = htonl(INADDR_ANY);
	*len = sizeof(*in4);
}

static int listen_on(const char *addr, struct dp_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool any = addr[0] == ':';
	int fd, one = 1, zero = 0, r;

	if (parse_addr(addr, &ss, &len) < 0)
		return dp_errorf(err, -EINVAL, "http: address %s: want ip:port, "
				 "[ipv6]:port or :port", addr);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && any && errno == EAFNOSUPPORT) {
		any_to_ipv4(&ss, &len);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return dp_errorf(err, -errno, "http: socket for %s: %s", addr,
				 strerror(errno));
	/* A restarted daemon must not wait out TIME_WAIT to bind again. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (any && ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)) {
		r = dp_errorf(err, -errno, "http: socket options for %s: %s",
			      addr, strerror(errno));
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		r = dp_errorf(err, -errno, "http: bind %s: %s", addr,
			      strerror(errno));
		goto fail;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		r = dp_errorf(err, -errno, "http: listen on %s: %s", addr,
			      strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

int http_server_open(struct loop *l, const char *addr, http_handler h,
		     void *ctx, struct http_server **out, struct dp_err *err)
{
	struct http_server *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return dp_errorf(err, -ENOMEM, "http: out of memory");
	s->l = l;
	s->handler = h;
	s->ctx = ctx;
	s->fd = listen_on(addr, err);
	if (s->fd < 0) {
		r = s->fd;
		free(s);
		return r;
	}
	r = loop_add(l, s->fd, EPOLLIN, on_accept, s);
	if (r < 0) {
		dp_errorf(err, r, "http: watch %s: %s", addr, strerror(-r));
		close(s->fd);
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

int http_server_port(const struct http_server *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void http_server_close(struct http_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns);
	loop_del(s->l, s->fd);
	close(s->fd);
	free(s);
}
