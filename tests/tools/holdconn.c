/* holdconn: a connection that stays open, for the tests that must see an
 * established connection cut. `serve` greets every TCP client and echoes
 * what it sends; `hold` opens one connection, exchanges a line every
 * interval and keeps a status file saying how many exchanges succeeded and,
 * once one fails, why; `send-udp` sends datagrams from a chosen source
 * address (an address the pod was given to impersonate another). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS	64
#define GREETING	"holdconn ok\n"

static int usage(void)
{
	fprintf(stderr,
		"usage: holdconn serve PORT [--ready-file F]\n"
		"       holdconn hold IP PORT --status-file F [--from IP]\n"
		"                [--interval-ms N] [--timeout-ms N]\n"
		"       holdconn send-udp IP PORT [--from IP] [--count N]\n");
	return 2;
}

static int parse_port(const char *s)
{
	char *end;
	long p = strtol(s, &end, 10);

	return *end || p < 1 || p > 65535 ? -1 : (int)p;
}

static int parse_ms(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *end || v < 1 || v > 600000 ? -1 : (int)v;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Polls fd for events for at most timeout_ms: >0 ready, 0 timed out. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct pollfd p = { .fd = fd, .events = events };
	int rc;

	for (;;) {
		long long left = deadline - now_ms();

		rc = poll(&p, 1, left > 0 ? (int)left : 0);
		if (rc >= 0 || errno != EINTR)
			return rc;
	}
}

/* ---- serve ---- */

static void serve_accept(int lfd, struct pollfd *c, int *n)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (*n == MAX_CLIENTS ||
	    send(fd, GREETING, sizeof(GREETING) - 1, MSG_NOSIGNAL) < 0) {
		close(fd);
		return;
	}
	c[*n].fd = fd;
	c[*n].events = POLLIN;
	c[*n].revents = 0;
	(*n)++;
}

/* Echoes what arrived; false once the client is gone. */
static int serve_echo(int fd)
{
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (n <= 0)
		return 0;
	return send(fd, buf, (size_t)n, MSG_NOSIGNAL) == n;
}

static int serve(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct pollfd pfd[1 + MAX_CLIENTS];
	const char *ready = NULL;
	int one = 1, port, n = 0;

	if (argc < 1 || (port = parse_port(argv[0])) < 0)
		return usage();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ready-file") == 0 && i + 1 < argc)
			ready = argv[++i];
		else
			return usage();
	}
	sa.sin_port = htons(port);
	pfd[0].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pfd[0].events = POLLIN;
	if (pfd[0].fd < 0)
		return perror("holdconn: socket"), 2;
	setsockopt(pfd[0].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(pfd[0].fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(pfd[0].fd, 128) < 0) {
		fprintf(stderr, "holdconn: bind tcp/%d: %s\n", port, strerror(errno));
		return 2;
	}
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			return perror("holdconn: ready file"), 2;
		close(fd);
	}
	for (;;) {
		if (poll(pfd, 1 + n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return perror("holdconn: poll"), 2;
		}
		for (int i = n; i >= 1; i--) {
			if (!pfd[i].revents || serve_echo(pfd[i].fd))
				continue;
			close(pfd[i].fd);
			pfd[i] = pfd[n--];
		}
		if (pfd[0].revents & POLLIN)
			serve_accept(pfd[0].fd, pfd + 1, &n);
	}
}

/* ---- hold ---- */

/* The status file is replaced whole, so a reader never sees half a line. */
static void status(const char *path, const char *fmt, ...)
{
	char tmp[4096], line[512];
	va_list ap;
	int fd, len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(line) - 1)
		len = (int)sizeof(line) - 2;
	line[len++] = '\n';
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)len) != len) {
		close(fd);
		return;
	}
	close(fd);
	rename(tmp, path);
}

/* Reads one line (up to and without the newline) within timeout_ms. */
static int read_line(int fd, char *buf, size_t len, int timeout_ms,
		     const char **why)
{
	long long deadline = now_ms() + timeout_ms;
	size_t have = 0;

	for (;;) {
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || wait_fd(fd, POLLIN, (int)left) == 0) {
			*why = "no answer in time";
			return -1;
		}
		n = recv(fd, buf + have, 1, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			*why = n == 0 ? "closed by the peer" : strerror(errno);
			return -1;
		}
		if (buf[have] == '\n') {
			buf[have] = '\0';
			return 0;
		}
		if (++have == len) {
			*why = "line too long";
			return -1;
		}
	}
}

static int hold_connect(const struct sockaddr_in *to, const char *from,
			int timeout_ms, const char **why)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = 0;
	socklen_t elen = sizeof(err);

	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (from) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		if (inet_pton(AF_INET, from, &src.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			*why = "bind to the source address failed";
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0 &&
	    errno != EINPROGRESS) {
		*why = strerror(errno);
		close(fd);
		return -1;
	}
	if (wait_fd(fd, POLLOUT, timeout_ms) <= 0) {
		*why = "no answer to connect in time";
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
		*why = strerror(err ? err : errno);
		close(fd);
		return -1;
	}
	return fd;
}

/* Exit 1 once an exchange fails (the connection is cut); 2 when the tool
 * could not start. The status file says "connecting", then "up N" after
 * each exchange, then "blocked: WHY" or "cut after N: WHY". */
static int hold(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	const char *path = NULL, *from = NULL, *why = "";
	int interval_ms = 100, timeout_ms = 2000, port, fd;
	unsigned int n = 0;
	char line[128], ping[64];

	if (argc < 2 || inet_pton(AF_INET, argv[0], &to.sin_addr) != 1 ||
	    (port = parse_port(argv[1])) < 0)
		return usage();
	to.sin_port = htons(port);
	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--status-file") == 0)
			path = argv[++i];
		else if (strcmp(argv[i], "--from") == 0)
			from = argv[++i];
		else if (strcmp(argv[i], "--interval-ms") == 0 &&
			 (interval_ms = parse_ms(argv[++i])) > 0)
			continue;
		else if (strcmp(argv[i], "--timeout-ms") == 0 &&
			 (timeout_ms = parse_ms(argv[++i])) > 0)
			continue;
		else
			return usage();
	}
	if (!path)
		return usage();
	status(path, "connecting");
	fd = hold_connect(&to, from, timeout_ms, &why);
	if (fd < 0 || read_line(fd, line, sizeof(line), timeout_ms, &why) < 0) {
		status(path, "blocked: %s", why);
		return 1;
	}
	if (strcmp(line, "holdconn ok") != 0) {
		status(path, "blocked: unexpected greeting '%s'", line);
		return 1;
	}
	for (;;) {
		int len = snprintf(ping, sizeof(ping), "ping %u\n", n);

		if (send(fd, ping, (size_t)len, MSG_NOSIGNAL) != len) {
			why = strerror(errno);
			break;
		}
		if (read_line(fd, line, sizeof(line), timeout_ms, &why) < 0)
			break;
		ping[len - 1] = '\0';
		if (strcmp(line, ping) != 0) {
			why = "the echo differs";
			break;
		}
		status(path, "up %u", ++n);
		/* Idle, but notice a reset or close at once. */
		if (wait_fd(fd, POLLIN, interval_ms) > 0) {
			why = "closed or reset while idle";
			break;
		}
	}
	status(path, "cut after %u: %s", n, why);
	close(fd);
	return 1;
}

/* ---- send-udp ---- */

static int send_udp(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct sockaddr_in src = { .sin_family = AF_INET };
	const char *from = NULL;
	int count = 1, port, fd;

	if (argc < 2 || inet_pton(AF_INET, argv[0], &to.sin_addr) != 1 ||
	    (port = parse_port(argv[1])) < 0)
		return usage();
	to.sin_port = htons(port);
	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--from") == 0)
			from = argv[++i];
		else if (strcmp(argv[i], "--count") == 0 &&
			 (count = parse_ms(argv[++i])) > 0)
			continue;
		else
			return usage();
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return perror("holdconn: socket"), 2;
	if (from && (inet_pton(AF_INET, from, &src.sin_addr) != 1 ||
		     bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)) {
		fprintf(stderr, "holdconn: bind to %s: %s\n", from, strerror(errno));
		close(fd);
		return 2;
	}
	for (int i = 0; i < count; i++) {
		char msg[32];
		int len = snprintf(msg, sizeof(msg), "holdconn %d\n", i);

		if (sendto(fd, msg, (size_t)len, 0, (struct sockaddr *)&to,
			   sizeof(to)) != len) {
			fprintf(stderr, "holdconn: sendto: %s\n", strerror(errno));
			close(fd);
			return 2;
		}
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "hold") == 0)
		return hold(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "send-udp") == 0)
		return send_udp(argc - 2, argv + 2);
	return usage();
}
