/* Delegation to another CNI plugin: fork, exec from CNI_PATH, feed the
 * netconf, collect stdout, translate its error object. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni/delegate.h"
#include "cni/log.h"

extern char **environ;

/* First CNI_PATH entry holding an executable named type. */
static int find_plugin(const char *cni_path, const char *type, char *out,
		       size_t outlen, struct cni_err *err)
{
	const char *p = cni_path;

	if (!p)
		return cni_errorf(err, CNI_ERR_INVALID_ENV,
				  "CNI_PATH is required to run ipam plugin %s", type);
	while (*p) {
		const char *end = strchrnul(p, ':');
		int n = snprintf(out, outlen, "%.*s/%s", (int)(end - p), p, type);

		if (n > 0 && (size_t)n < outlen && end > p && access(out, X_OK) == 0)
			return 0;
		p = *end ? end + 1 : end;
	}
	return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
			  "ipam plugin %s not found in CNI_PATH %.200s", type,
			  cni_path);
}

/* The environment we were given, with CNI_COMMAND replaced. */
static char **child_env(const char *command, char *cmd_var, size_t len)
{
	size_t n = 0, j = 0;
	char **envp;

	while (environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	snprintf(cmd_var, len, "CNI_COMMAND=%s", command);
	envp[j++] = cmd_var;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CNI_COMMAND=", 12) != 0)
			envp[j++] = environ[i];
	return envp;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Reads fd to EOF into a NUL-terminated buffer of at most max bytes. */
static char *read_all(int fd, size_t max, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);

	while (buf) {
		ssize_t r;

		if (n == cap) {
			char *nb = cap >= max ? NULL : realloc(buf, cap * 2 + 1);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		n += r;
	}
	free(buf);
	return NULL;
}

static int spawn(const char *path, char **envp, int *in_fd, int *out_fd,
		 pid_t *pid, struct cni_err *err)
{
	posix_spawn_file_actions_t fa;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char *argv[] = { (char *)path, NULL };
	int rc = -1;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		cni_errorf(err, BH_ERR_DELEGATE, "pipe: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	errno = posix_spawn(pid, path, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (errno) {
		cni_errorf(err, BH_ERR_DELEGATE, "run %s: %s", path, strerror(errno));
		goto out;
	}
	*in_fd = in[1];
	*out_fd = out[0];
	in[1] = out[0] = -1;
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return rc;
}

/* A failing plugin's error object becomes ours, keeping its code. */
static int plugin_failed(const char *type, const char *command, int status,
			 json_t *res, struct cni_err *err)
{
	const char *msg = json_string_value(json_object_get(res, "msg"));
	json_int_t code = json_integer_value(json_object_get(res, "code"));

	if (!msg)
		return cni_errorf(err, BH_ERR_DELEGATE,
				  "ipam plugin %s %s failed (exit status %d) without an error object",
				  type, command, status);
	return cni_errorf(err, code > 0 && code < 1000 ? (int)code : BH_ERR_DELEGATE,
			  "ipam plugin %s %s: %s", type, command, msg);
}

int delegate_run(const struct cni_ctx *ctx, const char *type,
		 const char *command, json_t **out, struct cni_err *err)
{
	char path[PATH_MAX], cmd_var[32];
	char **envp = NULL, *buf = NULL;
	int in_fd = -1, out_fd = -1, status = 0, rc = -1;
	json_t *res = NULL;
	size_t len = 0;
	pid_t pid = -1;
	void (*old_pipe)(int);

	*out = NULL;
	if (find_plugin(ctx->args.path, type, path, sizeof(path), err) < 0)
		return -1;
	envp = child_env(command, cmd_var, sizeof(cmd_var));
	if (!envp)
		return cni_errorf(err, BH_ERR_INTERNAL, "out of memory");
	if (spawn(path, envp, &in_fd, &out_fd, &pid, err) < 0)
		goto out;
	/* A plugin that exits without reading stdin must not kill us. */
	old_pipe = signal(SIGPIPE, SIG_IGN);
	if (write_all(in_fd, ctx->stdin_buf, ctx->stdin_len) < 0)
		log_warn("write netconf to %s: %s", type, strerror(errno));
	signal(SIGPIPE, old_pipe);
	close(in_fd);
	in_fd = -1;
	buf = read_all(out_fd, CNI_MAX_STDIN, &len);
	/* It may still be writing what we no longer read. */
	if (!buf)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (!buf) {
		cni_errorf(err, BH_ERR_DELEGATE, "ipam plugin %s: output too large", type);
		goto out;
	}
	if (len)
		res = json_loadb(buf, len, 0, NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		plugin_failed(type, command, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			      res, err);
		goto out;
	}
	if (len && !res) {
		cni_errorf(err, BH_ERR_DELEGATE, "ipam plugin %s %s printed no JSON",
			   type, command);
		goto out;
	}
	*out = res;
	res = NULL;
	rc = 0;
out:
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	json_decref(res);
	free(buf);
	free(envp);
	return rc;
}
