/* Unit tests of the kubeconfig and in-cluster readers on files written to
 * a temporary directory: credentials of every supported kind, context
 * selection, path resolution and the errors a person would meet. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policyd/kube_config.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/bulkhead-kubeconfig-test.XXXXXX";

#define CERT_PEM "-----BEGIN CERTIFICATE-----\nMIIBbulkheadcert\n" \
	"-----END CERTIFICATE-----\n"
#define CERT_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJidWxraGVhZGNlcnQK" \
	"LS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
#define KEY_PEM "-----BEGIN PRIVATE KEY-----\nMIIEbulkheadkey\n" \
	"-----END PRIVATE KEY-----\n"

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to tmpdir/name. */
static void put(const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(255);
	}
}

/* tmpdir/rel, for expected paths. */
static const char *in_tmp(const char *rel)
{
	static char path[4][4096];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, rel);
	return path[i];
}

/* A kubeconfig with two clusters and users of every supported kind; the
 * variable part (current-context and one extra user) comes from tail. */
static void kubeconfig(const char *name, const char *tail)
{
	char text[8192];

	snprintf(text, sizeof(text),
		 "apiVersion: v1\n"
		 "kind: Config\n"
		 "clusters:\n"
		 "- name: main\n"
		 "  cluster:\n"
		 "    server: https://10.0.0.1:6443/\n"
		 "    certificate-authority: certs/ca.pem\n"
		 "- name: inline\n"
		 "  cluster:\n"
		 "    server: https://[fd00::1]:443\n"
		 "    certificate-authority-data: Y2Eh\n"
		 "    insecure-skip-tls-verify: true\n"
		 "- name: noserver\n"
		 "  cluster:\n"
		 "    certificate-authority: /etc/ca.pem\n"
		 "users:\n"
		 "- name: tok\n"
		 "  user:\n"
		 "    token: sekret-token\n"
		 "- name: tokfile\n"
		 "  user:\n"
		 "    tokenFile: sa/token\n"
		 "- name: certs\n"
		 "  user:\n"
		 "    client-certificate-data: " CERT_B64 "\n"
		 "    client-key-data: |\n"
		 "      LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1J\n"
		 "      SUVidWxraGVhZGtleQotLS0tLUVORCBQUklWQVRF\n"
		 "      IEtFWS0tLS0tCg==\n"
		 "- name: certfiles\n"
		 "  user:\n"
		 "    client-certificate: /abs/client.crt\n"
		 "    client-key: keys/client.key\n"
		 "- name: plugin\n"
		 "  user:\n"
		 "    exec:\n"
		 "      command: aws\n"
		 "- name: nofile\n"
		 "  user:\n"
		 "    tokenFile: missing-token\n"
		 "- name: badb64\n"
		 "  user:\n"
		 "    client-certificate-data: 'not*base64'\n"
		 "    client-key-data: Y2Eh\n"
		 "contexts:\n"
		 "- name: main-tok\n"
		 "  context: {cluster: main, user: tok}\n"
		 "- name: main-tokfile\n"
		 "  context: {cluster: main, user: tokfile}\n"
		 "- name: inline-certs\n"
		 "  context: {cluster: inline, user: certs}\n"
		 "- name: main-certfiles\n"
		 "  context: {cluster: main, user: certfiles}\n"
		 "- name: plugin\n"
		 "  context: {cluster: main, user: plugin}\n"
		 "- name: nofile\n"
		 "  context: {cluster: main, user: nofile}\n"
		 "- name: badb64\n"
		 "  context: {cluster: main, user: badb64}\n"
		 "- name: noserver\n"
		 "  context: {cluster: noserver, user: tok}\n"
		 "- name: anonymous\n"
		 "  context: {cluster: main}\n"
		 "%s", tail);
	put(name, text);
}

static int load(const char *path, const char *ctx, struct kube_config *c,
		struct dp_err *err)
{
	memset(err, 0, sizeof(*err));
	return kube_config_load(path, ctx, c, err);
}

/* Loads with context ctx and expects success. */
static int load_ok(const char *path, const char *ctx, struct kube_config *c)
{
	struct dp_err err;

	if (!is_int(load(path, ctx, c, &err), 0, "context %s loads",
		    ctx ? ctx : "(current)")) {
		diag("error: %s", err.msg);
		return 0;
	}
	return 1;
}

/* Loads with context ctx and expects an error mentioning every needle. */
static void load_fails(const char *path, const char *ctx, const char *what,
		       const char *const *needles)
{
	struct kube_config c;
	struct dp_err err;
	int rc = load(path, ctx, &c, &err), found = rc < 0;

	for (; found && *needles; needles++)
		found = strstr(err.msg, *needles) != NULL;
	ok(found, "%s is refused with a clear error", what);
	diag("rc %d, error: '%s'", rc, err.msg);
	if (rc == 0)
		kube_config_free(&c);
	ok(rc < 0 || c.server == NULL, "... and leaves nothing allocated");
}

static void test_token_and_paths(const char *kc)
{
	struct kube_config c;

	if (!load_ok(kc, NULL, &c))
		return;
	is_str(c.server, "https://10.0.0.1:6443", "server without trailing /");
	is_str(c.ca_file, in_tmp("certs/ca.pem"),
	       "a relative CA path resolves against the kubeconfig's directory");
	is_str(c.ca_pem, NULL, "no inline CA");
	is_str(c.token, "sekret-token", "the token");
	is_str(c.token_file, NULL, "no token file");
	is_str(c.cert_file, NULL, "no client certificate");
	ok(!c.insecure, "TLS is verified");
	kube_config_free(&c);
}

static void test_token_file(const char *kc)
{
	struct kube_config c;

	if (!load_ok(kc, "main-tokfile", &c))
		return;
	is_str(c.token, "file-token", "tokenFile is read, its newline dropped");
	is_str(c.token_file, in_tmp("sa/token"),
	       "tokenFile is kept (relative to the kubeconfig) to re-read");
	kube_config_free(&c);
}

static void test_inline_certs(const char *kc)
{
	struct kube_config c;

	if (!load_ok(kc, "inline-certs", &c))
		return;
	is_str(c.server, "https://[fd00::1]:443", "the explicit context's server");
	is_str(c.ca_pem, "ca!", "certificate-authority-data decoded");
	is_str(c.ca_file, NULL, "no CA file");
	is_str(c.cert_pem, CERT_PEM, "client-certificate-data decoded");
	is_str(c.key_pem, KEY_PEM, "client-key-data decoded across lines");
	is_str(c.cert_file, NULL, "no certificate file");
	is_str(c.token, NULL, "no token");
	ok(c.insecure, "insecure-skip-tls-verify");
	kube_config_free(&c);
}

static void test_cert_files(const char *kc)
{
	struct kube_config c;

	if (!load_ok(kc, "main-certfiles", &c))
		return;
	is_str(c.cert_file, "/abs/client.crt", "an absolute path stays");
	is_str(c.key_file, in_tmp("keys/client.key"), "a relative key path resolves");
	is_str(c.cert_pem, NULL, "no inline certificate");
	kube_config_free(&c);
}

static void test_anonymous(const char *kc)
{
	struct kube_config c;

	if (!load_ok(kc, "anonymous", &c))
		return;
	is_str(c.server, "https://10.0.0.1:6443", "a context without a user");
	ok(!c.token && !c.cert_file && !c.cert_pem, "... has no credentials");
	kube_config_free(&c);
}

static void test_errors(const char *kc, const char *no_current)
{
	load_fails(no_current, NULL, "a missing current-context",
		   (const char *const[]){ no_current, "current-context", NULL });
	load_fails(kc, "nope", "an unknown context",
		   (const char *const[]){ kc, "contexts", "\"nope\"", NULL });
	load_fails(kc, "plugin", "exec authentication",
		   (const char *const[]){ kc, "users[\"plugin\"].user.exec",
					  "not supported", NULL });
	load_fails(kc, "noserver", "a cluster without a server",
		   (const char *const[]){ kc, "clusters[\"noserver\"].cluster.server",
					  "missing", NULL });
	load_fails(kc, "nofile", "a token file that is not there",
		   (const char *const[]){ "tokenFile", in_tmp("missing-token"),
					  "No such file", NULL });
	load_fails(kc, "badb64", "bad base64",
		   (const char *const[]){ "client-certificate-data",
					  "not valid base64", NULL });
	load_fails(in_tmp("absent"), NULL, "a kubeconfig that is not there",
		   (const char *const[]){ in_tmp("absent"), "No such file", NULL });
}

static void in_cluster_ok(const char *host, const char *want_server,
			  const char *sa)
{
	struct kube_config c;
	struct dp_err err = { 0 };

	setenv("KUBERNETES_SERVICE_HOST", host, 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	if (!is_int(kube_config_in_cluster(sa, &c, &err), 0,
		    "in-cluster config with host %s", host)) {
		diag("error: %s", err.msg);
		return;
	}
	is_str(c.server, want_server, "... server");
	is_str(c.token, "sa-token", "... token read, newline dropped");
	is_str(c.token_file, in_tmp("sa/token"), "... token file kept");
	is_str(c.ca_file, in_tmp("sa/ca.crt"), "... CA file");
	kube_config_free(&c);
}

static void test_in_cluster(void)
{
	struct kube_config c;
	struct dp_err err = { 0 };
	const char *sa = in_tmp("sa");

	put("sa/token", "sa-token\n");
	in_cluster_ok("10.96.0.1", "https://10.96.0.1:443", sa);
	in_cluster_ok("fd00::1", "https://[fd00::1]:443", sa);

	unsetenv("KUBERNETES_SERVICE_HOST");
	ok(kube_config_in_cluster(sa, &c, &err) < 0 &&
	   strstr(err.msg, "KUBERNETES_SERVICE_HOST"),
	   "no KUBERNETES_SERVICE_HOST: not in a cluster");
	diag("%s", err.msg);

	memset(&err, 0, sizeof(err));
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	ok(kube_config_in_cluster(in_tmp("nosa"), &c, &err) < 0 &&
	   strstr(err.msg, in_tmp("nosa/token")),
	   "a missing service account token names the file");
	diag("%s", err.msg);
}

int main(void)
{
	static char kc[4096], no_current[4096];

	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 255;
	}
	atexit(cleanup);
	if (mkdir(in_tmp("sa"), 0700) < 0) {
		printf("Bail out! mkdir: %s\n", strerror(errno));
		return 255;
	}
	put("sa/token", "file-token\n");
	kubeconfig("no-current", "");
	kubeconfig("kubeconfig", "current-context: main-tok\n");
	snprintf(no_current, sizeof(no_current), "%s", in_tmp("no-current"));
	snprintf(kc, sizeof(kc), "%s", in_tmp("kubeconfig"));

	test_token_and_paths(kc);
	test_token_file(kc);
	test_inline_certs(kc);
	test_cert_files(kc);
	test_anonymous(kc);
	test_errors(kc, no_current);
	test_in_cluster();
	return done_testing();
}
