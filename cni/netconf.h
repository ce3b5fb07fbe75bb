/* The network configuration the runtime hands the plugin on stdin, parsed
 * and validated once; every path the plugin writes comes from here. */
#ifndef BH_CNI_NETCONF_H
#define BH_CNI_NETCONF_H

#include <stdbool.h>
#include <jansson.h>

#include "cni/error.h"
#include "cni/log.h"
#include "cni/version.h"

#define BH_DEFAULT_STATE_DIR "/var/lib/bulkhead"
#define BH_DEFAULT_LOG_FILE "/var/log/bulkhead/cni.log"
#define BH_DEFAULT_SOCKET "/run/bulkhead/policyd.sock"
#define BH_DEFAULT_BPFFS_ROOT "/sys/fs/bpf/bulkhead"
#define BH_IPAM_INPROC "bulkhead-ipam"
#define BH_MAX_NAME 128
#define BH_VXLAN_OVERHEAD 50

struct netconf {
	json_t *root;			/* the document; every pointer below is into it */
	enum cni_version version;
	const char *version_str;
	const char *name;
	const char *type;
	unsigned int mtu;		/* 0: underlay MTU minus BH_VXLAN_OVERHEAD */
	const char *state_dir;		/* result cache and default IPAM data */
	const char *log_file;
	enum log_level log_level;
	const char *daemon_socket;
	bool daemon_socket_set;		/* given explicitly: registration is required */
	const char *bpffs_root;
	const json_t *ipam;		/* the "ipam" object */
	const char *ipam_type;
	char ipam_data_dir[4096];	/* in-process IPAM: ipam.dataDir or stateDir/ipam */
	const json_t *dns;
	const json_t *prev_result;
	const json_t *valid_attachments;	/* GC: cni.dev/valid-attachments */
};

/* Parses buf (len bytes) into conf. Fails with code 6 for bad JSON, 1 for a
 * version we do not speak, 2 for an unknown field (when strict: the
 * standalone IPAM plugin sees its parent plugin's fields and must let them
 * be), 7 for a bad value. */
int netconf_parse(const char *buf, size_t len, bool strict,
		  struct netconf *conf, struct cni_err *err);
/* Reads only cniVersion, for error objects when the full parse failed. */
const char *netconf_peek_version(const char *buf, size_t len, char *out,
				 size_t outlen);
void netconf_free(struct netconf *conf);

bool netconf_ipam_inproc(const struct netconf *conf);

#endif
