/* Parsing and validating the network configuration. Unknown fields are
 * refused by name, so a typo ("mut": 1400) cannot pass for a default. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cni/conf_field.h"
#include "cni/netconf.h"

static const char *const known_keys[] = {
	/* the spec's */
	"cniVersion", "name", "type", "args", "ipMasq", "networkScaling",
	"ipam", "dns", "prevResult", "runtimeConfig", "capabilities",
	/* ours */
	"mtu", "stateDir", "logFile", "logLevel", "daemonSocket", "bpffsRoot",
	NULL,
};

/* The spec's rule for network names, and a length we can put in paths. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > BH_MAX_NAME || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

/* Plugin names are looked up in CNI_PATH and executed: no '/' or "..". */
static bool valid_plugin_type(const char *s)
{
	return valid_name(s) && !strstr(s, "..");
}

static int parse_version(struct netconf *conf, struct cni_err *err)
{
	const json_t *v = json_object_get(conf->root, "cniVersion");

	if (!v)
		return cni_errorf(err, CNI_ERR_INCOMPATIBLE_VERSION,
				  "netconf has no cniVersion (that means 0.1.0); bulkhead speaks 0.3.0, 0.3.1, 0.4.0, 1.0.0 and 1.1.0");
	if (conf_string(conf->root, "", "cniVersion", true, &conf->version_str,
			err) < 0)
		return -1;
	if (cni_version_parse(conf->version_str, &conf->version) == 0)
		return 0;
	if (!cni_version_is_semver(conf->version_str))
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "invalid netconf: cniVersion \"%.40s\" is not a version number",
				  conf->version_str);
	return cni_errorf(err, CNI_ERR_INCOMPATIBLE_VERSION,
			  "incompatible CNI version %.40s: bulkhead speaks 0.3.0, 0.3.1, 0.4.0, 1.0.0 and 1.1.0",
			  conf->version_str);
}

/* Our top-level fields. Without `own` the top level is another plugin's
 * (bulkhead-ipam under bridge or ptp), whose "mtu" or "logLevel" mean
 * something else: the defaults stand and ipam.dataDir is the way to move
 * the state. */
static int parse_paths(struct netconf *conf, bool own, struct cni_err *err)
{
	const char *level = NULL;
	int n;

	conf->state_dir = BH_DEFAULT_STATE_DIR;
	conf->log_file = BH_DEFAULT_LOG_FILE;
	conf->daemon_socket = BH_DEFAULT_SOCKET;
	conf->bpffs_root = BH_DEFAULT_BPFFS_ROOT;
	conf->log_level = LOG_LVL_INFO;
	if (own &&
	    (conf_uint(conf->root, "", "mtu", 576, 65535, &conf->mtu, err) < 0 ||
	     conf_path(conf->root, "", "stateDir", &conf->state_dir, err) < 0 ||
	     conf_path(conf->root, "", "logFile", &conf->log_file, err) < 0 ||
	     conf_path(conf->root, "", "daemonSocket", &conf->daemon_socket, err) < 0 ||
	     conf_path(conf->root, "", "bpffsRoot", &conf->bpffs_root, err) < 0 ||
	     conf_string(conf->root, "", "logLevel", false, &level, err) < 0))
		return -1;
	conf->daemon_socket_set = own &&
		json_object_get(conf->root, "daemonSocket") != NULL;
	if (level && log_level_parse(level, &conf->log_level) < 0)
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "invalid netconf: logLevel \"%.40s\" is not one of error, warn, info, debug",
				  level);
	n = snprintf(conf->ipam_data_dir, sizeof(conf->ipam_data_dir),
		     "%s/ipam", conf->state_dir);
	if (n < 0 || (size_t)n >= sizeof(conf->ipam_data_dir))
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "invalid netconf: stateDir is too long");
	return 0;
}

static int parse_ipam(struct netconf *conf, struct cni_err *err)
{
	const char *data_dir = NULL;

	if (conf_object(conf->root, "", "ipam", &conf->ipam, err) < 0)
		return -1;
	if (!conf->ipam)
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "invalid netconf: ipam is required (for example {\"type\": \"bulkhead-ipam\", \"subnet\": \"10.244.1.0/24\"})");
	if (conf_string(conf->ipam, "ipam", "type", true, &conf->ipam_type, err) < 0)
		return -1;
	if (!valid_plugin_type(conf->ipam_type))
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "invalid netconf: ipam.type \"%.60s\" is not a plugin name",
				  conf->ipam_type);
	if (conf_path(conf->ipam, "ipam", "dataDir", &data_dir, err) < 0)
		return -1;
	if (data_dir)
		snprintf(conf->ipam_data_dir, sizeof(conf->ipam_data_dir), "%s",
			 data_dir);
	return 0;
}

/* Fields the runtime fills in: only their types are ours to check here. */
static int parse_runtime_fields(struct netconf *conf, bool strict,
				struct cni_err *err)
{
	const json_t *unused = NULL;
	bool masq = false, scaling = false;

	if (conf_object(conf->root, "", "prevResult", &conf->prev_result, err) < 0 ||
	    conf_array(conf->root, "", "cni.dev/valid-attachments",
		       &conf->valid_attachments, err) < 0 ||
	    conf_object(conf->root, "", "dns", &conf->dns, err) < 0 ||
	    conf_object(conf->root, "", "args", &unused, err) < 0 ||
	    conf_object(conf->root, "", "runtimeConfig", &unused, err) < 0 ||
	    conf_object(conf->root, "", "capabilities", &unused, err) < 0 ||
	    conf_bool(conf->root, "", "networkScaling", &scaling, err) < 0 ||
	    conf_bool(conf->root, "", "ipMasq", &masq, err) < 0)
		return -1;
	/* Masquerading is the interface plugin's job: the standalone IPAM
	 * plugin (not strict) lets its parent's ipMasq be. */
	if (masq && strict)
		return cni_errorf(err, CNI_ERR_UNSUPPORTED_FIELD,
				  "unsupported netconf field \"ipMasq\": true (pod addresses are routed; masquerade on the node if they must leave the cluster)");
	return 0;
}

int netconf_parse(const char *buf, size_t len, bool strict,
		  struct netconf *conf, struct cni_err *err)
{
	json_error_t jerr;

	memset(conf, 0, sizeof(*conf));
	conf->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!conf->root)
		return cni_errorf(err, CNI_ERR_DECODE,
				  "cannot decode netconf: %s (line %d, column %d)",
				  jerr.text, jerr.line, jerr.column);
	if (!json_is_object(conf->root))
		return cni_errorf(err, CNI_ERR_DECODE,
				  "cannot decode netconf: expected a JSON object, got %s",
				  conf_type_name(conf->root));
	if (parse_version(conf, err) < 0 ||
	    (strict &&
	     conf_known_keys(conf->root, "", known_keys, "cni.dev/", err) < 0) ||
	    conf_string(conf->root, "", "name", true, &conf->name, err) < 0 ||
	    conf_string(conf->root, "", "type", true, &conf->type, err) < 0)
		return -1;
	if (!valid_name(conf->name))
		return cni_errorf(err, CNI_ERR_INVALID_NETCONF,
				  "invalid netconf: name \"%.60s\" must be 1-%d characters of letters, digits, '_', '.', '-', starting with a letter or digit",
				  conf->name, BH_MAX_NAME);
	if (parse_paths(conf, strict, err) < 0 || parse_ipam(conf, err) < 0 ||
	    parse_runtime_fields(conf, strict, err) < 0)
		return -1;
	return 0;
}

const char *netconf_peek_version(const char *buf, size_t len, char *out,
				 size_t outlen)
{
	json_t *root = json_loadb(buf, len, 0, NULL);
	const char *v = json_string_value(json_object_get(root, "cniVersion"));
	enum cni_version ver;

	/* Answer in the asked version only if we speak it. */
	if (v && cni_version_parse(v, &ver) == 0)
		snprintf(out, outlen, "%s", v);
	else
		snprintf(out, outlen, "%s", cni_version_str(CNI_VERSION_LATEST));
	json_decref(root);
	return out;
}

void netconf_free(struct netconf *conf)
{
	json_decref(conf->root);
	conf->root = NULL;
}

bool netconf_ipam_inproc(const struct netconf *conf)
{
	return strcmp(conf->ipam_type, BH_IPAM_INPROC) == 0;
}
