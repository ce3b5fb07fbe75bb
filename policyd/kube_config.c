/* Reads where the API server is and which credentials to present: a
 * kubeconfig (the subset client-go reads that a daemon needs) or the
 * in-cluster service account. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/fsutil.h"
#include "policyd/kube_config.h"
#include "policyd/manifest.h"

#define KUBECONFIG_MAX	(16u << 20)	/* embedded CA bundles can be large */
#define CRED_FILE_MAX	(1u << 20)	/* a token, a certificate, a key */
#define SA_DIR_DEFAULT	"/var/run/secrets/kubernetes.io/serviceaccount"

/* --- small helpers --------------------------------------------------------- */

static int nomem(struct dp_err *err)
{
	return dp_errorf(err, -ENOMEM, "out of memory");
}

/* Reads a credential file whole; errors name the field it came from. */
static int read_cred(const char *path, const char *what, char **out,
		     struct dp_err *err)
{
	char *buf = read_file(path, CRED_FILE_MAX, NULL);

	if (!buf)
		return dp_errorf(err, -errno, "%s: read %s: %s", what, path,
				 strerror(errno));
	*out = buf;
	return 0;
}

/* A token file ends with a newline more often than not; the header must
 * not carry it. */
static int read_token(const char *path, const char *what, char **out,
		      struct dp_err *err)
{
	size_t n;
	int rc = read_cred(path, what, out, err);

	if (rc < 0)
		return rc;
	n = strlen(*out);
	while (n && strchr(" \t\r\n", (*out)[n - 1]))
		(*out)[--n] = '\0';
	if (!n || strpbrk(*out, "\r\n")) {
		free(*out);
		*out = NULL;
		return dp_errorf(err, -EINVAL, "%s: %s: %s", what, path,
				 n ? "token spans several lines" : "empty token");
	}
	return 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 (whitespace between groups allowed, padding optional)
 * into a NUL-terminated buffer; NULL when s is not base64. */
static char *b64_decode(const char *s)
{
	size_t cap = strlen(s) / 4 * 3 + 4, n = 0;
	char *out = malloc(cap);
	unsigned int acc = 0;
	int bits = 0, pad = 0;

	if (!out)
		return NULL;
	for (; *s; s++) {
		int v;

		if (strchr(" \t\r\n", *s))
			continue;
		if (*s == '=') {
			pad++;
			continue;
		}
		v = b64_value((unsigned char)*s);
		if (v < 0 || pad)	/* data after padding */
			goto bad;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	/* Leftover bits must be zero padding of a 2- or 3-char last group. */
	if (bits >= 6 || pad > 2 || (acc & ((1u << bits) - 1)))
		goto bad;
	out[n] = '\0';
	return out;
bad:
	free(out);
	errno = EINVAL;
	return NULL;
}

/* dir/path unless path is absolute: client-go resolves kubeconfig paths
 * against the file that names them. */
static char *resolve_path(const char *dir, const char *path)
{
	char *out;

	if (path[0] == '/' || !dir)
		return strdup(path);
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		return NULL;
	return out;
}

/* --- the kubeconfig document ----------------------------------------------- */

/* What errors need to name where they are. */
struct kc_ctx {
	const char *file;
	char *dir;
	json_t *doc;
};

/* An optional string field of obj; where names obj for errors. */
static int get_str(const struct kc_ctx *x, json_t *obj, const char *where,
		   const char *key, const char **out, struct dp_err *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return dp_errorf(err, -EINVAL, "%s: %s.%s: not a string",
				 x->file, where, key);
	*out = json_string_value(v);
	return 0;
}

/* The entry of list `section` (clusters, users, contexts) called name, and
 * its body (the member named `member`: cluster, user, context). */
static int find_named(const struct kc_ctx *x, const char *section,
		      const char *member, const char *name, json_t **out,
		      struct dp_err *err)
{
	json_t *list = json_object_get(x->doc, section), *e;
	size_t i;

	if (list && !json_is_array(list))
		return dp_errorf(err, -EINVAL, "%s: %s: not a list", x->file,
				 section);
	json_array_foreach(list, i, e) {
		json_t *n = json_object_get(e, "name");

		if (!json_is_string(n) || strcmp(json_string_value(n), name))
			continue;
		*out = json_object_get(e, member);
		if (!json_is_object(*out))
			return dp_errorf(err, -EINVAL, "%s: %s[\"%s\"].%s: missing",
					 x->file, section, name, member);
		return 0;
	}
	return dp_errorf(err, -ENOENT, "%s: %s: no entry named \"%s\"",
			 x->file, section, name);
}

/* A credential given as a file path or inline base64 (field "F" or
 * "F-data"); the data wins, as in client-go. */
static int load_file_or_data(const struct kc_ctx *x, json_t *obj,
			     const char *where, const char *field,
			     char **file_out, char **pem_out,
			     struct dp_err *err)
{
	char key[64];
	const char *path, *data;
	int rc;

	snprintf(key, sizeof(key), "%s-data", field);
	if ((rc = get_str(x, obj, where, key, &data, err)) < 0 ||
	    (rc = get_str(x, obj, where, field, &path, err)) < 0)
		return rc;
	if (data) {
		*pem_out = b64_decode(data);
		if (!*pem_out)
			return errno == ENOMEM ? nomem(err) :
			       dp_errorf(err, -EINVAL, "%s: %s.%s: not valid base64",
					 x->file, where, key);
		return 0;
	}
	if (path && *path) {
		*file_out = resolve_path(x->dir, path);
		if (!*file_out)
			return nomem(err);
	}
	return 0;
}

static int load_cluster(const struct kc_ctx *x, const char *name,
			struct kube_config *c, struct dp_err *err)
{
	char where[300];
	json_t *cl, *insecure;
	const char *server;
	size_t n;
	int rc;

	if ((rc = find_named(x, "clusters", "cluster", name, &cl, err)) < 0)
		return rc;
	snprintf(where, sizeof(where), "clusters[\"%s\"].cluster", name);
	if ((rc = get_str(x, cl, where, "server", &server, err)) < 0)
		return rc;
	if (!server || !*server)
		return dp_errorf(err, -EINVAL, "%s: %s.server: missing", x->file,
				 where);
	if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))
		return dp_errorf(err, -EINVAL,
				 "%s: %s.server: \"%s\" is not an http(s) URL",
				 x->file, where, server);
	n = strlen(server);
	while (n && server[n - 1] == '/')
		n--;
	c->server = strndup(server, n);
	if (!c->server)
		return nomem(err);
	insecure = json_object_get(cl, "insecure-skip-tls-verify");
	if (insecure && !json_is_boolean(insecure))
		return dp_errorf(err, -EINVAL,
				 "%s: %s.insecure-skip-tls-verify: not true/false",
				 x->file, where);
	c->insecure = json_is_true(insecure);
	return load_file_or_data(x, cl, where, "certificate-authority",
				 &c->ca_file, &c->ca_pem, err);
}

/* Ways to log in this client does not speak: refused by name, so that
 * nobody wonders why the API server says 401. */
static int refuse_unsupported(const struct kc_ctx *x, json_t *u,
			      const char *where, struct dp_err *err)
{
	static const char *const fields[] = {
		"exec", "auth-provider", "username", "password",
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (json_object_get(u, fields[i]))
			return dp_errorf(err, -ENOTSUP,
					 "%s: %s.%s: this authentication is not "
					 "supported (use a token, a token file "
					 "or a client certificate)",
					 x->file, where, fields[i]);
	return 0;
}

static int load_user(const struct kc_ctx *x, const char *name,
		     struct kube_config *c, struct dp_err *err)
{
	char where[300], what[400];
	const char *token, *token_file;
	json_t *u;
	int rc;

	if ((rc = find_named(x, "users", "user", name, &u, err)) < 0)
		return rc;
	snprintf(where, sizeof(where), "users[\"%s\"].user", name);
	if ((rc = refuse_unsupported(x, u, where, err)) < 0 ||
	    (rc = get_str(x, u, where, "token", &token, err)) < 0 ||
	    (rc = get_str(x, u, where, "tokenFile", &token_file, err)) < 0)
		return rc;
	if (token && *token) {
		c->token = strdup(token);
		if (!c->token)
			return nomem(err);
	} else if (token_file && *token_file) {
		c->token_file = resolve_path(x->dir, token_file);
		if (!c->token_file)
			return nomem(err);
		snprintf(what, sizeof(what), "%s: %s.tokenFile", x->file, where);
		if ((rc = read_token(c->token_file, what, &c->token, err)) < 0)
			return rc;
	}
	if ((rc = load_file_or_data(x, u, where, "client-certificate",
				    &c->cert_file, &c->cert_pem, err)) < 0 ||
	    (rc = load_file_or_data(x, u, where, "client-key",
				    &c->key_file, &c->key_pem, err)) < 0)
		return rc;
	if (!(c->cert_file || c->cert_pem) != !(c->key_file || c->key_pem))
		return dp_errorf(err, -EINVAL,
				 "%s: %s: client-certificate and client-key "
				 "go together", x->file, where);
	return 0;
}

/* The one document of the file, which must be a mapping. */
static int parse_doc(struct kc_ctx *x, struct dp_err *err)
{
	size_t len;
	char *buf = read_file(x->file, KUBECONFIG_MAX, &len);
	json_t *arr = NULL;
	int rc;

	if (!buf)
		return dp_errorf(err, -errno, "%s: %s", x->file, strerror(errno));
	arr = json_array();
	if (!arr) {
		rc = nomem(err);
		goto out;
	}
	if ((rc = manifest_parse(buf, len, x->file, arr, err)) < 0)
		goto out;
	if (json_array_size(arr) != 1 ||
	    !json_is_object(json_array_get(arr, 0))) {
		rc = dp_errorf(err, -EINVAL, "%s: expected one YAML mapping, "
			       "found %zu documents", x->file,
			       json_array_size(arr));
		goto out;
	}
	x->doc = json_incref(json_array_get(arr, 0));
	rc = 0;
out:
	json_decref(arr);
	free(buf);
	return rc;
}

int kube_config_load(const char *path, const char *context,
		     struct kube_config *c, struct dp_err *err)
{
	struct kc_ctx x = { .file = path };
	const char *ctx_name = context, *cluster, *user;
	char where[300];
	const char *slash;
	json_t *ctx;
	int rc;

	memset(c, 0, sizeof(*c));
	slash = strrchr(path, '/');
	x.dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path))
		      : strdup(".");
	if (!x.dir)
		return nomem(err);
	if ((rc = parse_doc(&x, err)) < 0)
		goto out;
	if (!ctx_name && (rc = get_str(&x, x.doc, "(top)", "current-context",
				       &ctx_name, err)) < 0)
		goto out;
	if (!ctx_name || !*ctx_name) {
		rc = dp_errorf(err, -EINVAL, "%s: current-context: not set and "
			       "no context given", path);
		goto out;
	}
	if ((rc = find_named(&x, "contexts", "context", ctx_name, &ctx, err)) < 0)
		goto out;
	snprintf(where, sizeof(where), "contexts[\"%s\"].context", ctx_name);
	if ((rc = get_str(&x, ctx, where, "cluster", &cluster, err)) < 0 ||
	    (rc = get_str(&x, ctx, where, "user", &user, err)) < 0)
		goto out;
	if (!cluster || !*cluster) {
		rc = dp_errorf(err, -EINVAL, "%s: %s.cluster: missing", path, where);
		goto out;
	}
	if ((rc = load_cluster(&x, cluster, c, err)) < 0)
		goto out;
	/* A context without a user talks to the server anonymously. */
	if (user && *user && (rc = load_user(&x, user, c, err)) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		kube_config_free(c);
	json_decref(x.doc);
	free(x.dir);
	return rc;
}

int kube_config_in_cluster(const char *dir, struct kube_config *c,
			   struct dp_err *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	int rc;

	memset(c, 0, sizeof(*c));
	if (!dir)
		dir = SA_DIR_DEFAULT;
	if (!host || !*host || !port || !*port)
		return dp_errorf(err, -ENOENT, "not in a cluster: "
				 "KUBERNETES_SERVICE_HOST and "
				 "KUBERNETES_SERVICE_PORT must be set");
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5)
		return dp_errorf(err, -EINVAL, "KUBERNETES_SERVICE_PORT: "
				 "\"%s\" is not a port", port);
	/* An IPv6 address needs brackets to be told from the port. */
	if (asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%s" :
		     "https://%s:%s", host, port) < 0) {
		c->server = NULL;
		return nomem(err);
	}
	if (asprintf(&c->token_file, "%s/token", dir) < 0) {
		c->token_file = NULL;
		rc = nomem(err);
		goto out;
	}
	if (asprintf(&c->ca_file, "%s/ca.crt", dir) < 0) {
		c->ca_file = NULL;
		rc = nomem(err);
		goto out;
	}
	rc = read_token(c->token_file, "service account token", &c->token, err);
out:
	if (rc < 0)
		kube_config_free(c);
	return rc;
}

void kube_config_free(struct kube_config *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->ca_file);
	free(c->ca_pem);
	free(c->cert_file);
	free(c->cert_pem);
	free(c->key_file);
	free(c->key_pem);
	free(c->token);
	free(c->token_file);
	memset(c, 0, sizeof(*c));
}
