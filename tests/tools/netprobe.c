/* netprobe: the tests' traffic. `serve` answers on TCP and UDP ports;
 * `connect` tries one and says by exit status whether it got an answer
 * (0 reached, 1 blocked or refused, 2 the probe itself failed). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 32

static int usage(void)
{
	fprintf(stderr,
		"usage: netprobe serve [--tcp PORT]... [--udp PORT]... [--ready-file F]\n"
		"       netprobe connect IP PORT [--udp] [--timeout-ms N]\n");
	return 2;
}

static int parse_port(const char *s)
{
	char *end;
	long p = strtol(s, &end, 10);

	return *end || p < 1 || p > 65535 ? -1 : (int)p;
}

static int bind_port(int type, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 128) < 0)) {
		fprintf(stderr, "netprobe: bind %s/%d: %s\n",
			type == SOCK_STREAM ? "tcp" : "udp", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void answer(struct pollfd *p, int is_tcp)
{
	static const char reply[] = "netprobe ok\n";
	char buf[512];

	if (is_tcp) {
		int c = accept4(p->fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			return;
		if (write(c, reply, sizeof(reply) - 1) < 0)
			perror("netprobe: write");
		close(c);
		return;
	}
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(p->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);

	if (n >= 0)
		sendto(p->fd, reply, sizeof(reply) - 1, 0, (struct sockaddr *)&from, flen);
}

static int serve(int argc, char **argv)
{
	struct pollfd pfd[MAX_PORTS];
	int is_tcp[MAX_PORTS];
	const char *ready = NULL;
	int n = 0;

	for (int i = 0; i < argc; i++) {
		int tcp = strcmp(argv[i], "--tcp") == 0;

		if (strcmp(argv[i], "--ready-file") == 0 && i + 1 < argc) {
			ready = argv[++i];
			continue;
		}
		if ((!tcp && strcmp(argv[i], "--udp") != 0) || i + 1 >= argc ||
		    n == MAX_PORTS)
			return usage();
		int port = parse_port(argv[++i]);
		if (port < 0)
			return usage();
		pfd[n].fd = bind_port(tcp ? SOCK_STREAM : SOCK_DGRAM, port);
		if (pfd[n].fd < 0)
			return 2;
		pfd[n].events = POLLIN;
		is_tcp[n++] = tcp;
	}
	if (n == 0)
		return usage();
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			return perror("netprobe: ready file"), 2;
		close(fd);
	}
	for (;;) {
		if (poll(pfd, n, -1) < 0 && errno != EINTR)
			return perror("netprobe: poll"), 2;
		for (int i = 0; i < n; i++)
			if (pfd[i].revents & POLLIN)
				answer(&pfd[i], is_tcp[i]);
	}
}

/* Waits for fd to become ready for events within timeout_ms. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc;

	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	return rc;
}

static int probe(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int udp = 0, timeout_ms = 2000, fd, port, rc = 1;
	char buf[64];

	if (argc < 2 || inet_pton(AF_INET, argv[0], &sa.sin_addr) != 1 ||
	    (port = parse_port(argv[1])) < 0)
		return usage();
	sa.sin_port = htons(port);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--udp") == 0)
			udp = 1;
		else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
			timeout_ms = atoi(argv[++i]);
		else
			return usage();
	}
	fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return perror("netprobe: socket"), 2;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		rc = errno == ENETUNREACH || errno == EHOSTUNREACH ? 1 : 2;
		fprintf(stderr, "netprobe: connect: %s\n", strerror(errno));
		goto out;
	}
	if (udp && send(fd, "ping\n", 5, 0) < 0)
		goto out;
	/* An answer (or a refusal) arrives as readability. */
	if (wait_fd(fd, POLLIN, timeout_ms) <= 0) {
		fprintf(stderr, "netprobe: no answer within %d ms\n", timeout_ms);
		goto out;
	}
	if (recv(fd, buf, sizeof(buf), 0) > 0)
		rc = 0;
	else
		fprintf(stderr, "netprobe: %s\n", strerror(errno));
out:
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "connect") == 0)
		return probe(argc - 2, argv + 2);
	return usage();
}
