/* Where the API server is and how to prove who we are: a kubeconfig file
 * (as client-go reads it) or the in-cluster service account. */
#ifndef BH_POLICYD_KUBE_CONFIG_H
#define BH_POLICYD_KUBE_CONFIG_H

#include <stdbool.h>

#include "datapath/dp.h"

/* Every string malloc'd (NULL when absent). File paths are resolved
 * relative to the kubeconfig's directory; *-data fields are decoded from
 * base64 into the matching *_pem field. */
struct kube_config {
	char *server;		/* https://host:port, no trailing slash */
	char *ca_file;
	char *ca_pem;
	char *cert_file;
	char *cert_pem;
	char *key_file;
	char *key_pem;
	char *token;		/* bearer token (read from tokenFile if given) */
	char *token_file;	/* re-read on 401: service account tokens rotate */
	bool insecure;		/* insecure-skip-tls-verify */
};

/* path: a kubeconfig; the current-context's cluster and user are used, or
 * context when not NULL. Errors name the file and the field. */
int kube_config_load(const char *path, const char *context,
		     struct kube_config *c, struct dp_err *err);
/* In-cluster: KUBERNETES_SERVICE_HOST/PORT and the service account files
 * under dir (NULL: /var/run/secrets/kubernetes.io/serviceaccount). */
int kube_config_in_cluster(const char *dir, struct kube_config *c,
			   struct dp_err *err);
void kube_config_free(struct kube_config *c);

#endif
