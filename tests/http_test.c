/* Unit tests of the HTTP endpoint: the loop runs here, plain socket
 * clients in a second thread; exact responses for each status, the
 * connection limit, big responses and the deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "policyd/http.h"
#include "policyd/loop.h"
#include "tests/tap.h"

#define BIG_BODY (8u << 20)	/* more than a socket buffer holds */
#define MANY 64			/* the server's connection limit */

/* --- the server side ------------------------------------------------------ */

struct handled {
	char path[64];
	int calls;
};

static int handler(void *ctx, const char *path, FILE *body, const char **ctype)
{
	struct handled *h = ctx;

	snprintf(h->path, sizeof(h->path), "%s", path);
	h->calls++;
	if (strcmp(path, "/healthz") == 0) {
		fputs("ok\n", body);
		return 200;
	}
	if (strcmp(path, "/metrics") == 0) {
		*ctype = "text/plain; version=0.0.4";
		fputs("bh_up 1\n", body);
		return 200;
	}
	if (strcmp(path, "/big") == 0) {
		for (size_t i = 0; i < BIG_BODY; i++)
			fputc('a' + (int)(i % 26), body);
		return 200;
	}
	if (strcmp(path, "/down") == 0) {
		fputs("not ready\n", body);
		return 503;
	}
	fputs("no such page\n", body);
	return 404;
}

/* --- the client side: plain blocking sockets in a thread ----------------- */

static int client_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 15 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

/* Everything until the server closes; NULL when nothing came at all. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);

	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *p = realloc(buf, 2 * cap + 1);

			if (!p)
				break;
			buf = p;
			cap *= 2;
		}
		r = recv(fd, buf + n, cap - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (!n) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static char *request(int port, const char *raw, size_t *len)
{
	int fd = client_connect(port);
	char *resp = NULL;

	if (fd < 0)
		return NULL;
	if (send_all(fd, raw, strlen(raw)))
		resp = read_all(fd, len);
	close(fd);
	return resp;
}

/* What the client thread did, read by the main thread after the join. */
struct job {
	int port;
	void (*run)(struct job *j);
	atomic_bool done;
	char *resp[MANY + 2];
	size_t len[MANY + 2];
	int count;
	long elapsed_ms;
};

static void *job_thread(void *arg)
{
	struct job *j = arg;

	j->run(j);
	atomic_store(&j->done, true);
	return NULL;
}

/* Runs the loop while the job's client talks to the server. */
static void run_job(struct loop *l, struct job *j)
{
	uint64_t end = loop_now_ms() + 60000;
	pthread_t t;

	if (pthread_create(&t, NULL, job_thread, j) != 0) {
		printf("Bail out! pthread_create\n");
		exit(255);
	}
	while (!atomic_load(&j->done) && loop_now_ms() < end)
		loop_run_once(l, 50);
	pthread_join(t, NULL);
}

static void free_job(struct job *j)
{
	for (size_t i = 0; i < sizeof(j->resp) / sizeof(j->resp[0]); i++)
		free(j->resp[i]);
}

struct server {
	struct loop *l;
	struct http_server *s;
	struct handled h;
};

static bool server_up(struct server *srv, const char *addr)
{
	struct dp_err err = { 0 };

	memset(srv, 0, sizeof(*srv));
	if (loop_new(&srv->l) < 0 ||
	    http_server_open(srv->l, addr, handler, &srv->h, &srv->s, &err) < 0) {
		ok(0, "start the server on %s: %s", addr, err.msg);
		loop_free(srv->l);
		return false;
	}
	return true;
}

static void server_down(struct server *srv)
{
	http_server_close(srv->s);
	loop_free(srv->l);
}

/* --- one request per status ---------------------------------------------- */

static const char *const simple_requests[] = {
	"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /metrics?name[]=bh_up HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
	"GET /nope HTTP/1.0\r\n\r\n",
	"GET /down HTTP/1.1\r\n\r\n",
	"POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
	"HELLO\r\n\r\n",
	"GET healthz HTTP/1.1\r\n\r\n",
	"GET /healthz SPDY/3\r\n\r\n",
};

/* The request line, for a test's name. */
static const char *first_line(const char *s)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(s, "\r"), s);
	return buf;
}

static void simple_job(struct job *j)
{
	for (size_t i = 0; i < sizeof(simple_requests) / sizeof(*simple_requests); i++)
		j->resp[i] = request(j->port, simple_requests[i], NULL);
}

static void test_statuses(void)
{
	struct server srv;
	struct job j = { .run = simple_job };

	if (!server_up(&srv, "127.0.0.1:0"))
		return;
	j.port = http_server_port(srv.s);
	ok(j.port > 0, "port 0 binds a port the kernel chose (%d)", j.port);
	run_job(srv.l, &j);
	is_str(j.resp[0], "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		"Content-Length: 3\r\nConnection: close\r\n\r\nok\n", "GET /healthz");
	is_str(j.resp[1], "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
		"Content-Length: 8\r\nConnection: close\r\n\r\nbh_up 1\n",
		"GET /metrics with the handler's content type");
	is_str(j.resp[2], "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
		"Content-Length: 13\r\nConnection: close\r\n\r\nno such page\n",
		"an unknown path: the handler's 404");
	is_str(j.resp[3], "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
		"Content-Length: 10\r\nConnection: close\r\n\r\nnot ready\n",
		"the handler's 503");
	is_str(j.resp[4], "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\n"
		"Content-Length: 19\r\nAllow: GET\r\nConnection: close\r\n\r\n"
		"Method Not Allowed\n", "POST: 405 with Allow");
	for (int i = 5; i < 8; i++)
		is_str(j.resp[i], "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
			"Content-Length: 12\r\nConnection: close\r\n\r\nBad Request\n",
			"400 for %s", first_line(simple_requests[i]));
	is_int(srv.h.calls, 4, "the handler saw only the four good GETs");
	free_job(&j);
	server_down(&srv);
}

/* --- limits -------------------------------------------------------------- */

/* 9000 bytes without an end of head: more than the server reads. */
static void oversized_job(struct job *j)
{
	char *raw = malloc(9001);

	memcpy(raw, "GET /", 5);
	memset(raw + 5, 'a', 9000 - 5);
	raw[9000] = '\0';
	j->resp[0] = request(j->port, raw, NULL);
	free(raw);
	/* Just under the limit is fine. */
	raw = malloc(8192);
	snprintf(raw, 8192, "GET /healthz HTTP/1.1\r\nX-Pad: %0*d\r\n\r\n",
		 8192 - 1 - (int)strlen("GET /healthz HTTP/1.1\r\nX-Pad: \r\n\r\n"), 0);
	j->resp[1] = request(j->port, raw, NULL);
	free(raw);
}

static void test_oversized(void)
{
	struct server srv;
	struct job j = { .run = oversized_job };

	if (!server_up(&srv, "127.0.0.1:0"))
		return;
	j.port = http_server_port(srv.s);
	run_job(srv.l, &j);
	is_str(j.resp[0], "HTTP/1.1 431 Request Header Fields Too Large\r\n"
		"Content-Type: text/plain\r\nContent-Length: 32\r\nConnection: close\r\n\r\n"
		"Request Header Fields Too Large\n",
		"a request over 8 KiB: 431, delivered though the rest went unread");
	ok(j.resp[1] && strncmp(j.resp[1], "HTTP/1.1 200 OK\r\n", 17) == 0,
	   "a request of 8191 bytes is served");
	free_job(&j);
	server_down(&srv);
}

/* Read slowly enough that the server meets a full socket buffer. */
static void big_job(struct job *j)
{
	j->resp[0] = request(j->port, "GET /big HTTP/1.1\r\n\r\n", &j->len[0]);
}

static void test_big_response(void)
{
	struct server srv;
	struct job j = { .run = big_job };
	char head[128];
	const char *body;
	bool pattern = true;

	if (!server_up(&srv, "127.0.0.1:0"))
		return;
	j.port = http_server_port(srv.s);
	run_job(srv.l, &j);
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		 "Content-Length: %u\r\nConnection: close\r\n\r\n", BIG_BODY);
	ok(j.resp[0] && strncmp(j.resp[0], head, strlen(head)) == 0,
	   "an 8 MiB response has the right head");
	is_int(j.len[0], strlen(head) + BIG_BODY, "and all of its body");
	body = j.resp[0] ? j.resp[0] + strlen(head) : "";
	for (size_t i = 0; j.resp[0] && i < BIG_BODY && pattern; i++)
		pattern = body[i] == 'a' + (int)(i % 26);
	ok(j.resp[0] && pattern, "byte for byte");
	free_job(&j);
	server_down(&srv);
}

/* MANY connections with half a request each fill the server; one more is
 * closed at once; then the MANY finish and are served, and a new one is
 * served again. */
static void many_job(struct job *j)
{
	int fds[MANY + 1];
	char c;
	const char *half = "GET /healthz HTTP/1.1\r\n";

	for (int i = 0; i < MANY; i++) {
		fds[i] = client_connect(j->port);
		if (fds[i] >= 0)
			send_all(fds[i], half, strlen(half));
	}
	fds[MANY] = client_connect(j->port);
	/* The server closes it: EOF (or a reset), not the receive timeout. */
	errno = 0;
	j->count = fds[MANY] >= 0 && recv(fds[MANY], &c, 1, 0) <= 0 &&
		   errno != EAGAIN && errno != EWOULDBLOCK;
	if (fds[MANY] >= 0)
		close(fds[MANY]);
	for (int i = 0; i < MANY; i++) {
		if (fds[i] < 0)
			continue;
		if (send_all(fds[i], "\r\n", 2))
			j->resp[i] = read_all(fds[i], NULL);
		close(fds[i]);
	}
	j->resp[MANY] = request(j->port, "GET /healthz HTTP/1.1\r\n\r\n", NULL);
}

static void test_many(void)
{
	struct server srv;
	struct job j = { .run = many_job };
	int served = 0;

	if (!server_up(&srv, "127.0.0.1:0"))
		return;
	j.port = http_server_port(srv.s);
	run_job(srv.l, &j);
	ok(j.count, "connection %d is closed while %d are open", MANY + 1, MANY);
	for (int i = 0; i < MANY; i++)
		served += j.resp[i] && strstr(j.resp[i], "\r\n\r\nok\n") != NULL;
	is_int(served, MANY, "the %d open ones are all served", MANY);
	ok(j.resp[MANY] && strstr(j.resp[MANY], "\r\n\r\nok\n"),
	   "and after them a new connection is served");
	free_job(&j);
	server_down(&srv);
}

/* A client that connects and says nothing is closed after the deadline. */
static void silent_job(struct job *j)
{
	int fd = client_connect(j->port);
	uint64_t start = loop_now_ms();
	char c;

	if (fd < 0)
		return;
	errno = 0;
	j->count = recv(fd, &c, 1, 0) == 0;
	j->elapsed_ms = (long)(loop_now_ms() - start);
	close(fd);
}

static void test_deadline(void)
{
	struct server srv;
	struct job j = { .run = silent_job };

	if (!server_up(&srv, "127.0.0.1:0"))
		return;
	j.port = http_server_port(srv.s);
	run_job(srv.l, &j);
	ok(j.count, "a silent connection is closed");
	ok(j.elapsed_ms >= 4900 && j.elapsed_ms < 14000,
	   "after about 5 s (%ld ms)", j.elapsed_ms);
	free_job(&j);
	server_down(&srv);
}

/* --- addresses ----------------------------------------------------------- */

static void test_addresses(void)
{
	static const char *const bad[] = {
		"bogus", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000",
		"127.0.0.1:9x", "localhost:80", "[::1:80", "::1:80", "[]:80",
	};
	struct dp_err err = { 0 };
	struct http_server *s = NULL;
	struct loop *l;
	int port;

	if (loop_new(&l) < 0) {
		ok(0, "loop_new");
		return;
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		memset(&err, 0, sizeof(err));
		is_int(http_server_open(l, bad[i], handler, NULL, &s, &err), -EINVAL,
		       "%s is refused", bad[i]);
	}
	ok(strstr(err.msg, "[]:80") != NULL, "the error names the address: %s",
	   err.msg);

	memset(&err, 0, sizeof(err));
	if (ok(http_server_open(l, ":0", handler, NULL, &s, &err) == 0,
	       ":0 listens on every address: %s", err.msg[0] ? err.msg : "yes")) {
		port = http_server_port(s);
		ok(port > 0, "on port %d", port);
		http_server_close(s);
	}
	memset(&err, 0, sizeof(err));
	if (http_server_open(l, "[::1]:0", handler, NULL, &s, &err) == 0) {
		ok(http_server_port(s) > 0, "[::1]:0 listens");
		http_server_close(s);
	} else {
		ok(err.code == -EADDRNOTAVAIL || err.code == -EAFNOSUPPORT,
		   "[::1]:0: no IPv6 here (%s)", err.msg);
	}
	loop_free(l);
}

int main(void)
{
	test_addresses();
	test_statuses();
	test_oversized();
	test_big_response();
	test_many();
	test_deadline();
	return done_testing();
}
