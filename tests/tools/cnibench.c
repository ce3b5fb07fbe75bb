/* cnibench: times CNI plugin invocations (spawn to exit) for `make bench`,
 * interleaving up to four plugins pod by pod; prints "LABEL POD MICROSECONDS". */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SUBJECTS 4
#define MAX_COUNT 100000
#define OUT_MAX 65536
#define CALL_TIMEOUT_S 30

/* The call in flight, killed by SIGALRM when it overruns. */
static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	if (child_pid > 0) {
		timed_out = 1;
		kill((pid_t)child_pid, SIGKILL);
	}
}

struct subject {
	const char *label;
	const char *plugin;
	const char *netconf;
	const char *netns_prefix;
};

static int usage(void)
{
	fprintf(stderr,
		"usage: cnibench --command ADD|DEL --count N --cni-path PATH [--id-prefix P]\n"
		"                (--plugin PATH --netconf FILE --netns-prefix P [--label L])...\n"
		"Runs, for pod i = 0..N-1, the command with every plugin in turn (the\n"
		"order flips on odd pods), pod i of a plugin being CNI_NETNS=<prefix>i,\n"
		"CNI_CONTAINERID=<id-prefix>-<label>-i. Prints \"LABEL i MICROSECONDS\"\n"
		"per call on stdout. Exit 2 if a call fails or runs over %d s, with its\n"
		"output on stderr.\n", CALL_TIMEOUT_S);
	return 2;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("cnibench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static double elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e6 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e3;
}

/* One invocation: stdin from the netconf file, stdout drained from a pipe,
 * stderr inherited. Returns the wall time in microseconds; dies on failure. */
static double run_one(const struct subject *s, const char *command,
		      const char *cni_path, const char *id_prefix, long pod)
{
	char netns[PATH_MAX], id[256], cni_args[512];
	char e_cmd[64], e_id[300], e_netns[PATH_MAX + 16], e_args[600];
	char e_path[PATH_MAX + 16];
	char *env[9], *argv[2];
	static char out[OUT_MAX + 1];
	posix_spawn_file_actions_t fa;
	struct timespec t0, t1;
	size_t outlen = 0;
	int pfd[2], status, rc;
	pid_t pid;
	ssize_t n;

	snprintf(netns, sizeof(netns), "%s%ld", s->netns_prefix, pod);
	snprintf(id, sizeof(id), "%s-%s-%ld", id_prefix, s->label, pod);
	snprintf(cni_args, sizeof(cni_args),
		 "IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=%s", id);
	snprintf(e_cmd, sizeof(e_cmd), "CNI_COMMAND=%s", command);
	snprintf(e_id, sizeof(e_id), "CNI_CONTAINERID=%s", id);
	snprintf(e_netns, sizeof(e_netns), "CNI_NETNS=%s", netns);
	snprintf(e_args, sizeof(e_args), "CNI_ARGS=%s", cni_args);
	snprintf(e_path, sizeof(e_path), "CNI_PATH=%s", cni_path);
	env[0] = e_cmd;
	env[1] = e_id;
	env[2] = e_netns;
	env[3] = (char *)"CNI_IFNAME=eth0";
	env[4] = e_path;
	env[5] = e_args;
	env[6] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	env[7] = NULL;
	argv[0] = (char *)s->plugin;
	argv[1] = NULL;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	if (posix_spawn_file_actions_init(&fa) ||
	    posix_spawn_file_actions_addopen(&fa, 0, s->netconf, O_RDONLY, 0) ||
	    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1))
		die("posix_spawn_file_actions: out of memory");

	timed_out = 0;
	alarm(CALL_TIMEOUT_S);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = posix_spawn(&pid, s->plugin, &fa, NULL, argv, env);
	if (rc)
		die("spawn %s: %s", s->plugin, strerror(rc));
	child_pid = pid;
	close(pfd[1]);
	for (;;) {
		char sink[4096];
		char *buf = outlen < OUT_MAX ? out + outlen : sink;
		size_t room = outlen < OUT_MAX ? OUT_MAX - outlen : sizeof(sink);

		n = read(pfd[0], buf, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf != sink)
			outlen += (size_t)n;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	child_pid = 0;
	alarm(0);

	close(pfd[0]);
	posix_spawn_file_actions_destroy(&fa);
	out[outlen] = '\0';
	if (timed_out)
		die("%s %s %s (CNI_NETNS=%s) took over %d s: killed", s->label,
		    command, id, netns, CALL_TIMEOUT_S);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "cnibench: %s %s %s (CNI_NETNS=%s) %s %d; stdout:\n%s\n",
			s->label, command, id, netns,
			WIFEXITED(status) ? "exited with" : "killed by signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			out);
		exit(2);
	}
	return elapsed_us(&t0, &t1);
}

static long parse_count(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v < 1 || v > MAX_COUNT ? -1 : v;
}

int main(int argc, char **argv)
{
	static const char *const default_labels[MAX_SUBJECTS] = { "a", "b", "c", "d" };
	struct subject subj[MAX_SUBJECTS] = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	const char *command = NULL, *cni_path = NULL, *id_prefix = "cnibench";
	long count = -1;
	int ns = 0;

	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val)
			return usage();
		i++;
		if (strcmp(opt, "--plugin") == 0) {
			if (ns == MAX_SUBJECTS)
				die("at most %d plugins", MAX_SUBJECTS);
			subj[ns].plugin = val;
			subj[ns].label = default_labels[ns];
			ns++;
		} else if (strcmp(opt, "--command") == 0) {
			command = val;
		} else if (strcmp(opt, "--count") == 0) {
			if ((count = parse_count(val)) < 0)
				die("--count %s: want 1..%d", val, MAX_COUNT);
		} else if (strcmp(opt, "--cni-path") == 0) {
			cni_path = val;
		} else if (strcmp(opt, "--id-prefix") == 0) {
			id_prefix = val;
		} else if (ns == 0) {
			return usage();	/* the per-plugin options follow a --plugin */
		} else if (strcmp(opt, "--netconf") == 0) {
			subj[ns - 1].netconf = val;
		} else if (strcmp(opt, "--netns-prefix") == 0) {
			subj[ns - 1].netns_prefix = val;
		} else if (strcmp(opt, "--label") == 0) {
			subj[ns - 1].label = val;
		} else {
			return usage();
		}
	}
	if (!command || !cni_path || count < 0 || ns == 0)
		return usage();
	/* No SA_RESTART: read and waitpid return EINTR and are retried. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		die("sigaction: %s", strerror(errno));
	for (int s = 0; s < ns; s++) {
		if (!subj[s].netconf || !subj[s].netns_prefix)
			die("plugin %s: --netconf and --netns-prefix are required",
			    subj[s].plugin);
		if (access(subj[s].plugin, X_OK) < 0)
			die("%s: %s", subj[s].plugin, strerror(errno));
		if (access(subj[s].netconf, R_OK) < 0)
			die("%s: %s", subj[s].netconf, strerror(errno));
	}

	for (long pod = 0; pod < count; pod++) {
		/* A B, B A, A B, ...: neither plugin always runs right after
		 * the other, so order effects (caches, kernel work the previous
		 * call left behind) fall on both alike. */
		for (int k = 0; k < ns; k++) {
			int s = pod % 2 ? ns - 1 - k : k;
			double us = run_one(&subj[s], command, cni_path, id_prefix, pod);

			printf("%s %ld %.1f\n", subj[s].label, pod, us);
		}
	}
	if (fflush(stdout) == EOF)
		die("stdout: %s", strerror(errno));
	return 0;
}
