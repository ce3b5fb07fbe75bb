/* rrbench: pod-to-pod TCP traffic for `make bench`. `serve` answers on one
 * port; the clients measure a bulk stream (Gbit/s), request/response over
 * one connection (transactions/s with p50/p99 latency) and a new
 * connection per request (connections/s, p50/p99 latency), for a fixed
 * time, and print one line of key=value figures. Libc only. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The first byte a client sends says what the connection is: a stream to
 * swallow, or requests to echo. */
#define MODE_STREAM	'S'
#define MODE_ECHO	'E'

#define STREAM_CHUNK	(128 * 1024)
#define MAX_SECONDS	600
/* A request that gets no answer in this time fails the run (a dropped
 * packet would otherwise stall the benchmark). */
#define IO_TIMEOUT_S	5
/* At most this many latency samples are kept; later ones only count. */
#define MAX_SAMPLES	(16u << 20)

static int usage(void)
{
	fprintf(stderr,
		"usage: rrbench serve PORT [--ready-file F]\n"
		"       rrbench stream|rr|crr IP PORT [--seconds S] [--warmup-ms MS] [--size BYTES]\n"
		"stream: one connection, bulk writes for S seconds; rate in Gbit/s counts\n"
		"        what the server received (the client waits for it to finish).\n"
		"rr:     one connection, a BYTES request and a BYTES answer, back to back.\n"
		"crr:    per request a new connection: connect, request, answer, close.\n"
		"Prints \"MODE rate=R unit=U [p50_us=A p99_us=B] n=N seconds=T\".\n"
		"Exit 2 when the run fails (refused, no answer within %d s).\n",
		IO_TIMEOUT_S);
	return 2;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("rrbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long parse_long(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		die("%s %s: want %ld..%ld", what, s, lo, hi);
	return v;
}

/* ---- server ---------------------------------------------------------- */

/* Per connection: unknown until its first byte, then stream or echo. */
struct conn {
	int fd;
	char mode;
};

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Echoes what arrived (a request is answered with as many bytes); a stream
 * connection's bytes are dropped. Closes on EOF or error. */
static void conn_read(int ep, struct conn *c)
{
	static char buf[STREAM_CHUNK];

	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf)), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(ep, c);
			return;
		}
		if (!c->mode) {
			c->mode = buf[0];
			if (c->mode != MODE_STREAM && c->mode != MODE_ECHO) {
				conn_close(ep, c);
				return;
			}
		}
		if (c->mode == MODE_STREAM)
			continue;
		/* Answers are small and the client waits for each, so the
		 * socket buffer always has room; a write that cannot finish
		 * means the client misbehaves. */
		while (off < n) {
			ssize_t w = write(c->fd, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				conn_close(ep, c);
				return;
			}
			off += w;
		}
	}
}

static int serve(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];
	const char *ready = NULL;
	int one = 1, lfd, ep;

	if (argc < 1)
		return usage();
	sa.sin_port = htons((uint16_t)parse_long(argv[0], 1, 65535, "port"));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ready-file") == 0 && i + 1 < argc)
			ready = argv[++i];
		else
			return usage();
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0)
		die("listen on port %u: %s", ntohs(sa.sin_port), strerror(errno));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	ev.data.ptr = NULL;	/* NULL: the listening socket */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			die("ready file %s: %s", ready, strerror(errno));
		close(fd);
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int fd;

			if (c) {
				conn_read(ep, c);
				continue;
			}
			while ((fd = accept4(lfd, NULL, NULL,
					     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				c = calloc(1, sizeof(*c));
				if (!c)
					die("out of memory");
				c->fd = fd;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
					die("epoll_ctl: %s", strerror(errno));
			}
		}
	}
}

/* ---- clients --------------------------------------------------------- */

struct opts {
	struct sockaddr_in addr;
	long seconds;
	long warmup_ms;
	long size;
};

/* A blocking socket that gives up on connect, send and receive after
 * IO_TIMEOUT_S. */
static int dial(const struct opts *o)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		die("setsockopt: %s", strerror(errno));
	while (connect(fd, (const struct sockaddr *)&o->addr, sizeof(o->addr)) < 0) {
		if (errno == EINTR)
			continue;
		die("connect to %s:%u: %s", inet_ntoa(o->addr.sin_addr),
		    ntohs(o->addr.sin_port),
		    errno == EINPROGRESS ? "no answer" : strerror(errno));
	}
	return fd;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write: %s", n < 0 && errno == EAGAIN ?
			    "no progress" : strerror(errno));
		buf += n;
		len -= (size_t)n;
	}
}

static void read_all(int fd, char *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			die("read: the server closed the connection");
		if (n < 0)
			die("read: %s", errno == EAGAIN ? "no answer" : strerror(errno));
		buf += n;
		len -= (size_t)n;
	}
}

static int stream(const struct opts *o)
{
	static char buf[STREAM_CHUNK];
	uint64_t t0, t_end, t1, bytes = 0;
	char mode = MODE_STREAM;
	int fd = dial(o);

	memset(buf, 'x', sizeof(buf));
	write_all(fd, &mode, 1);
	/* Warm-up: the window opens, then counting starts. */
	for (t0 = now_ns(), t_end = t0 + (uint64_t)o->warmup_ms * 1000000u;
	     now_ns() < t_end;)
		write_all(fd, buf, sizeof(buf));
	t0 = now_ns();
	t_end = t0 + (uint64_t)o->seconds * 1000000000u;
	while (now_ns() < t_end) {
		write_all(fd, buf, sizeof(buf));
		bytes += sizeof(buf);
	}
	/* Counted only once the server has read it all: it closes after
	 * our end of stream. */
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown: %s", strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("waiting for the server to drain: %s",
			    errno == EAGAIN ? "no answer" : strerror(errno));
		if (n == 0)
			break;
	}
	t1 = now_ns();
	close(fd);
	printf("stream rate=%.2f unit=Gbit/s n=%llu seconds=%.2f\n",
	       (double)bytes * 8 / (double)(t1 - t0), (unsigned long long)bytes,
	       (double)(t1 - t0) / 1e9);
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank. */
static double pct_us(uint32_t *v, size_t n, double q)
{
	size_t r = (size_t)(q * (double)n);

	if ((double)r < q * (double)n)
		r++;
	if (r < 1)
		r = 1;
	return v[r - 1] / 1e3;
}

/* Transactions until the deadline: rr over one connection, crr with a
 * connection each. Latency per transaction in ns. */
static int transact(const struct opts *o, int per_conn)
{
	uint32_t *lat = malloc(MAX_SAMPLES * sizeof(*lat));
	char *req = malloc((size_t)o->size), *ans = malloc((size_t)o->size);
	uint64_t t0, t_end, t1, a, b, count = 0;
	size_t nlat = 0;
	int counting = 0, fd = -1;

	if (!lat || !req || !ans)
		die("out of memory");
	memset(req, MODE_ECHO, (size_t)o->size);
	if (!per_conn)
		fd = dial(o);
	t0 = now_ns();
	t_end = t0 + (uint64_t)o->warmup_ms * 1000000u;
	for (;;) {
		a = now_ns();
		if (a >= t_end) {
			if (counting)
				break;
			counting = 1;
			t0 = a;
			t_end = t0 + (uint64_t)o->seconds * 1000000000u;
		}
		if (per_conn)
			fd = dial(o);
		write_all(fd, req, (size_t)o->size);
		read_all(fd, ans, (size_t)o->size);
		if (per_conn)
			close(fd);
		b = now_ns();
		if (!counting)
			continue;
		count++;
		if (nlat < MAX_SAMPLES)
			lat[nlat++] = b - a > UINT32_MAX ? UINT32_MAX : (uint32_t)(b - a);
	}
	t1 = now_ns();
	if (!per_conn)
		close(fd);
	if (nlat == 0)
		die("no transaction completed");
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	printf("%s rate=%.1f unit=%s p50_us=%.1f p99_us=%.1f n=%llu seconds=%.2f\n",
	       per_conn ? "crr" : "rr", (double)count * 1e9 / (double)(t1 - t0),
	       per_conn ? "conn/s" : "trans/s", pct_us(lat, nlat, 0.50),
	       pct_us(lat, nlat, 0.99), (unsigned long long)count,
	       (double)(t1 - t0) / 1e9);
	free(lat);
	free(req);
	free(ans);
	return 0;
}

static int client(const char *mode, int argc, char **argv)
{
	struct opts o = { .addr.sin_family = AF_INET, .seconds = 3,
			  .warmup_ms = 200, .size = 1 };

	if (argc < 2 || inet_pton(AF_INET, argv[0], &o.addr.sin_addr) != 1)
		return usage();
	o.addr.sin_port = htons((uint16_t)parse_long(argv[1], 1, 65535, "port"));
	for (int i = 2; i < argc; i++) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val)
			return usage();
		if (strcmp(argv[i], "--seconds") == 0)
			o.seconds = parse_long(val, 1, MAX_SECONDS, "--seconds");
		else if (strcmp(argv[i], "--warmup-ms") == 0)
			o.warmup_ms = parse_long(val, 0, 10000, "--warmup-ms");
		else if (strcmp(argv[i], "--size") == 0)
			o.size = parse_long(val, 1, 65536, "--size");
		else
			return usage();
		i++;
	}
	/* A server that went away must fail the run, not kill it silently. */
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "stream") == 0)
		return stream(&o);
	return transact(&o, strcmp(mode, "crr") == 0);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "serve") == 0)
		return serve(argc - 2, argv + 2);
	if (strcmp(argv[1], "stream") == 0 || strcmp(argv[1], "rr") == 0 ||
	    strcmp(argv[1], "crr") == 0)
		return client(argv[1], argc - 2, argv + 2);
	return usage();
}
