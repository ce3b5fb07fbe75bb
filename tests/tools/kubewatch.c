/* kubewatch: the policyd API client from the command line, for the tests.
 * `kubewatch KUBECONFIG PATH` lists and watches a collection and prints one
 * line per event as it comes (SIGUSR1 asks for a relist); `--request` sends
 * one request and prints the status and the answer. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "policyd/kube_client.h"
#include "policyd/kube_config.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: kubewatch KUBECONFIG PATH [--timeout-s N]\n"
		"       kubewatch KUBECONFIG --request METHOD PATH [JSON_BODY]\n");
	return 2;
}

static const char *const ev_names[] = {
	[KUBE_EV_SYNC_BEGIN] = "SYNC_BEGIN",
	[KUBE_EV_ADDED] = "ADDED",
	[KUBE_EV_MODIFIED] = "MODIFIED",
	[KUBE_EV_DELETED] = "DELETED",
	[KUBE_EV_SYNC_END] = "SYNC_END",
	[KUBE_EV_DOWN] = "DOWN",
};

static const char *meta(json_t *obj, const char *key)
{
	const char *s = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), key));

	return s ? s : "-";
}

static void print_events(struct kube_event *ev)
{
	for (; ev; ev = ev->next) {
		if (ev->obj)
			printf("%s %s %s\n", ev_names[ev->type],
			       meta(ev->obj, "name"),
			       meta(ev->obj, "resourceVersion"));
		else
			printf("%s\n", ev_names[ev->type]);
	}
	fflush(stdout);
}

/* Blocks SIGINT, SIGTERM and SIGUSR1 (before any thread starts, so all
 * inherit it) and returns a descriptor that reads them. */
static int signals_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Which signal came: 0 when none could be read. */
static int signal_read(int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

/* Prints events until SIGINT or SIGTERM comes; a clean stop shows the
 * watch thread ends when told. */
static int watch(struct kube_client *k, const char *path, int timeout_s)
{
	struct dp_err err = { 0 };
	struct kube_queue *q = NULL;
	struct kube_watch *w = NULL;
	int sfd = signals_fd(), rc = 1;

	if (sfd < 0) {
		perror("kubewatch: signalfd");
		return 1;
	}
	if (kube_queue_new(&q, &err) < 0 ||
	    kube_watch_start(k, path, 0, NULL, timeout_s, q, &w, &err) < 0) {
		fprintf(stderr, "kubewatch: %s\n", err.msg);
		goto out;
	}
	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = kube_queue_fd(q), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		struct kube_event *ev;

		if (poll(fds, 2, -1) < 0 && errno != EINTR) {
			perror("kubewatch: poll");
			goto out;
		}
		if (fds[1].revents) {
			if (signal_read(sfd) != SIGUSR1)
				break;
			kube_watch_relist(w);
		}
		ev = kube_queue_take(q);
		print_events(ev);
		kube_event_free(ev);
	}
	rc = 0;
out:
	kube_watch_stop(w);
	kube_queue_free(q);
	close(sfd);
	return rc;
}

static int request(struct kube_client *k, const char *method, const char *path,
		   const char *body_text)
{
	struct dp_err err = { 0 };
	json_t *body = NULL, *resp = NULL;
	json_error_t jerr;
	char *text;
	int status;

	if (body_text && !(body = json_loads(body_text, 0, &jerr))) {
		fprintf(stderr, "kubewatch: body: %s\n", jerr.text);
		return 2;
	}
	status = kube_request(k, method, path, body, &resp, 0, &err);
	json_decref(body);
	if (status < 0) {
		fprintf(stderr, "kubewatch: %s\n", err.msg);
		return 1;
	}
	text = resp ? json_dumps(resp, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	printf("%d %s\n", status, text ? text : "null");
	free(text);
	json_decref(resp);
	return 0;
}

int main(int argc, char **argv)
{
	struct kube_config cfg;
	struct kube_client *k = NULL;
	struct dp_err err = { 0 };
	int timeout_s = 0, rc;

	if (argc < 3)
		return usage();
	if (!strcmp(argv[2], "--request") && (argc < 5 || argc > 6))
		return usage();
	if (strcmp(argv[2], "--request")) {
		if (argc == 5 && !strcmp(argv[3], "--timeout-s"))
			timeout_s = atoi(argv[4]);
		else if (argc != 3)
			return usage();
		if (timeout_s < 0)
			return usage();
	}
	if (kube_config_load(argv[1], NULL, &cfg, &err) < 0 ||
	    kube_client_new(&cfg, &k, &err) < 0) {
		fprintf(stderr, "kubewatch: %s\n", err.msg);
		kube_config_free(&cfg);
		return 1;
	}
	kube_config_free(&cfg);
	if (!strcmp(argv[2], "--request"))
		rc = request(k, argv[3], argv[4], argc == 6 ? argv[5] : NULL);
	else
		rc = watch(k, argv[2], timeout_s);
	kube_client_free(k);
	return rc;
}
