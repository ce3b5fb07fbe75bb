/* Unit tests of cni/netconf.c: parsing and validating the network
 * configuration (strict as `bulkhead` reads it, lax as `bulkhead-ipam` does). */
#include <stdbool.h>

#include "cni/conf_field.h"
#include "cni/netconf.h"
#include "tests/tap.h"
#include "tests/test_util.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The smallest netconf `bulkhead` accepts. */
#define MINIMAL "{\"cniVersion\":\"1.0.0\",\"name\":\"pods\",\"type\":\"bulkhead\"," \
	"\"ipam\":{\"type\":\"bulkhead-ipam\",\"subnet\":\"10.244.1.0/24\"}}"

#define A16 "aaaaaaaaaaaaaaaa"
#define A128 A16 A16 A16 A16 A16 A16 A16 A16

/* Parses len bytes of text; err is cleared first. */
static int parse_n(const char *text, size_t len, bool strict,
		   struct netconf *conf, struct cni_err *err)
{
	*err = (struct cni_err){ 0 };
	return netconf_parse(text, len, strict, conf, err);
}

static int parse(const char *text, bool strict, struct netconf *conf,
		 struct cni_err *err)
{
	return parse_n(text, strlen(text), strict, conf, err);
}

/* Checks the outcome of a parse named label: want_code 0 means it must
 * succeed, else it must fail with that code and a message containing
 * want_substr. */
static void check_outcome(const char *label, int rc, const struct cni_err *err,
			  int want_code, const char *want_substr)
{
	if (want_code == 0) {
		if (!is_int(rc, 0, "%s: accepted", label))
			diag("code %d: %s", err->code, err->msg);
		return;
	}
	is_int(rc, -1, "%s: rejected", label);
	is_int(err->code, want_code, "  code %d", want_code);
	if (want_substr && !ok(strstr(err->msg, want_substr),
			       "  message mentions '%s'", printable(want_substr)))
		diag("message: %s", err->msg);
}

/* --- good netconfs ------------------------------------------------------- */

static void test_minimal(void)
{
	struct netconf c;
	struct cni_err err;

	diag("minimal netconf, defaults");
	if (!is_int(parse(MINIMAL, true, &c, &err), 0, "minimal netconf parses"))
		diag("code %d: %s", err.code, err.msg);
	is_int(c.version, CNI_V100, "version 1.0.0");
	is_str(c.version_str, "1.0.0", "version string");
	is_str(c.name, "pods", "name");
	is_str(c.type, "bulkhead", "type");
	is_int(c.mtu, 0, "mtu defaults to 0 (underlay MTU minus overhead)");
	is_str(c.state_dir, BH_DEFAULT_STATE_DIR, "stateDir defaults to %s",
	       BH_DEFAULT_STATE_DIR);
	is_str(c.state_dir, "/var/lib/bulkhead", "  which is /var/lib/bulkhead");
	is_str(c.log_file, BH_DEFAULT_LOG_FILE, "logFile default");
	is_int(c.log_level, LOG_LVL_INFO, "logLevel defaults to info");
	is_str(c.daemon_socket, BH_DEFAULT_SOCKET, "daemonSocket default");
	is_str(c.bpffs_root, BH_DEFAULT_BPFFS_ROOT, "bpffsRoot default");
	is_str(c.ipam_type, "bulkhead-ipam", "ipam.type");
	ok(netconf_ipam_inproc(&c), "bulkhead-ipam is run in process");
	is_str(json_string_value(json_object_get(c.ipam, "subnet")),
	       "10.244.1.0/24", "ipam object kept whole (subnet)");
	is_str(c.ipam_data_dir, "/var/lib/bulkhead/ipam",
	       "ipam data dir defaults to <stateDir>/ipam");
	ok(!c.dns, "no dns");
	ok(!c.prev_result, "no prevResult");
	ok(!c.valid_attachments, "no valid-attachments");
	netconf_free(&c);
	ok(!c.root, "netconf_free clears root");
	netconf_free(&c);
	ok(1, "netconf_free twice is harmless");
}

static void test_full(void)
{
	static const char full[] =
		"{\"cniVersion\":\"1.1.0\",\"name\":\"k8s-pod.net_1\",\"type\":\"bulkhead\","
		"\"mtu\":1450,\"stateDir\":\"/run/bh/state\",\"logFile\":\"/tmp/bh.log\","
		"\"logLevel\":\"DEBUG\",\"daemonSocket\":\"/run/bh/d.sock\","
		"\"bpffsRoot\":\"/sys/fs/bpf/bh\","
		"\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.244.1.0/24\","
		"\"dataDir\":\"/var/lib/cni/networks\"},"
		"\"dns\":{\"nameservers\":[\"10.96.0.10\"]},"
		"\"prevResult\":{\"cniVersion\":\"1.1.0\",\"interfaces\":[],\"ips\":[]},"
		"\"runtimeConfig\":{\"portMappings\":[]},"
		"\"capabilities\":{\"portMappings\":true},"
		"\"args\":{\"cni\":{\"ips\":[\"10.244.1.9\"]}},"
		"\"ipMasq\":false,\"networkScaling\":false,"
		"\"cni.dev/valid-attachments\":[{\"containerID\":\"abc\",\"ifname\":\"eth0\"}],"
		"\"cni.dev/other\":1}";
	static const char state_only[] =
		"{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"type\":\"bulkhead\","
		"\"stateDir\":\"/srv/bh\",\"logLevel\":\"warn\","
		"\"ipam\":{\"type\":\"bulkhead-ipam\"}}";
	struct netconf c;
	struct cni_err err;

	diag("full netconf, every field");
	if (!is_int(parse(full, true, &c, &err), 0, "full netconf parses"))
		diag("code %d: %s", err.code, err.msg);
	is_int(c.version, CNI_V110, "version 1.1.0");
	is_str(c.version_str, "1.1.0", "version string");
	is_str(c.name, "k8s-pod.net_1", "name");
	is_str(c.type, "bulkhead", "type");
	is_int(c.mtu, 1450, "mtu");
	is_str(c.state_dir, "/run/bh/state", "stateDir");
	is_str(c.log_file, "/tmp/bh.log", "logFile");
	is_int(c.log_level, LOG_LVL_DEBUG, "logLevel (case-insensitive)");
	is_str(c.daemon_socket, "/run/bh/d.sock", "daemonSocket");
	is_str(c.bpffs_root, "/sys/fs/bpf/bh", "bpffsRoot");
	is_str(c.ipam_type, "host-local", "ipam.type");
	ok(!netconf_ipam_inproc(&c), "host-local is delegated");
	is_str(json_string_value(json_object_get(c.ipam, "subnet")),
	       "10.244.1.0/24", "ipam.subnet");
	is_str(c.ipam_data_dir, "/var/lib/cni/networks", "ipam.dataDir wins");
	is_str(json_string_value(json_array_get(json_object_get(c.dns, "nameservers"), 0)),
	       "10.96.0.10", "dns");
	is_str(json_string_value(json_object_get(c.prev_result, "cniVersion")),
	       "1.1.0", "prevResult");
	is_int(json_array_size(c.valid_attachments), 1, "valid-attachments");
	is_str(json_string_value(json_object_get(json_array_get(c.valid_attachments, 0),
						 "containerID")),
	       "abc", "  containerID");
	netconf_free(&c);

	if (!is_int(parse(state_only, true, &c, &err), 0, "stateDir without ipam.dataDir"))
		diag("code %d: %s", err.code, err.msg);
	is_int(c.version, CNI_V040, "version 0.4.0");
	is_str(c.ipam_data_dir, "/srv/bh/ipam", "ipam data dir is <stateDir>/ipam");
	is_int(c.log_level, LOG_LVL_WARN, "logLevel warn");
	netconf_free(&c);
}

/* netconf_parse reads len bytes, not up to a NUL. */
static void test_len(void)
{
	static const char text[] = MINIMAL "garbage";
	struct netconf c;
	struct cni_err err;

	diag("input length");
	is_int(parse_n(text, strlen(MINIMAL), true, &c, &err), 0,
	       "trailing bytes past len are not read");
	netconf_free(&c);
	is_int(parse_n(text, sizeof(text) - 1, true, &c, &err), -1,
	       "with them it is bad JSON");
	is_int(err.code, CNI_ERR_DECODE, "  code 6");
	netconf_free(&c);
}

static void test_versions(void)
{
	static const struct {
		const char *s;
		enum cni_version v;
	} good[] = {
		{ "0.3.0", CNI_V030 }, { "0.3.1", CNI_V031 }, { "0.4.0", CNI_V040 },
		{ "1.0.0", CNI_V100 }, { "1.1.0", CNI_V110 },
	};
	char text[512];
	struct netconf c;
	struct cni_err err;

	diag("supported versions");
	for (size_t i = 0; i < NITEMS(good); i++) {
		snprintf(text, sizeof(text),
			 "{\"cniVersion\":\"%s\",\"name\":\"pods\",\"type\":\"bulkhead\","
			 "\"ipam\":{\"type\":\"bulkhead-ipam\"}}", good[i].s);
		for (int strict = 1; strict >= 0; strict--) {
			if (!is_int(parse(text, strict, &c, &err), 0, "%s accepted (%s)",
				    good[i].s, strict ? "strict" : "lax"))
				diag("code %d: %s", err.code, err.msg);
			is_int(c.version, good[i].v, "  enum");
			is_str(c.version_str, good[i].s, "  string");
			is_str(cni_version_str(c.version), good[i].s, "  cni_version_str");
			netconf_free(&c);
		}
	}
}

/* --- one field changed from MINIMAL ------------------------------------- */

/* MINIMAL as a jansson object with key set to the JSON text value (NULL:
 * removed). "ipam.X" is X inside ipam. */
static char *minimal_with(const char *key, const char *value)
{
	json_t *root = json_loads(MINIMAL, 0, NULL);
	json_t *obj = root;
	char *text;

	if (strncmp(key, "ipam.", 5) == 0) {
		obj = json_object_get(root, "ipam");
		key += 5;
	}
	if (value) {
		json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);

		if (!v)
			diag("test bug: bad value %s", value);
		json_object_set_new(obj, key, v);
	} else {
		json_object_del(obj, key);
	}
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

struct field_case {
	const char *desc;
	const char *key;		/* "ipam.x" for a key inside ipam */
	const char *value;		/* JSON text; NULL removes key */
	bool strict;
	int want_code;			/* 0: accepted */
	const char *want_substr;	/* in the message */
};

static void run_field_cases(const struct field_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct field_case *t = &cases[i];
		char *text = minimal_with(t->key, t->value);
		struct netconf c;
		struct cni_err err;
		char label[256];
		int rc;

		snprintf(label, sizeof(label), "%s: %s = %s (%s)", t->desc, t->key,
			 t->value ? printable(t->value) : "(absent)",
			 t->strict ? "strict" : "lax");
		rc = parse(text, t->strict, &c, &err);
		check_outcome(label, rc, &err, t->want_code, t->want_substr);
		netconf_free(&c);
		free(text);
	}
}

/* Every known field with every JSON type it must not have. */
static void test_wrong_types(void)
{
	enum { T_STR = 1, T_INT = 2, T_REAL = 4, T_BOOL = 8, T_OBJ = 16,
	       T_ARR = 32, T_NULL = 64 };
	static const struct {
		const char *key;
		int accepts;
	} fields[] = {
		{ "cniVersion", T_STR },
		{ "name", T_STR },
		{ "type", T_STR },
		{ "mtu", T_INT },
		{ "stateDir", T_STR },
		{ "logFile", T_STR },
		{ "logLevel", T_STR },
		{ "daemonSocket", T_STR },
		{ "bpffsRoot", T_STR },
		{ "ipam", T_OBJ },
		{ "ipam.type", T_STR },
		{ "ipam.dataDir", T_STR },
		/* null is how a runtime may say "none" for these */
		{ "dns", T_OBJ | T_NULL },
		{ "prevResult", T_OBJ | T_NULL },
		{ "runtimeConfig", T_OBJ | T_NULL },
		{ "capabilities", T_OBJ | T_NULL },
		{ "args", T_OBJ | T_NULL },
		{ "cni.dev/valid-attachments", T_ARR | T_NULL },
		{ "ipMasq", T_BOOL },
		{ "networkScaling", T_BOOL },
	};
	static const struct {
		int type;
		const char *json;
	} values[] = {
		{ T_STR, "\"x\"" }, { T_INT, "1400" }, { T_REAL, "1.5" },
		{ T_BOOL, "true" }, { T_OBJ, "{}" }, { T_ARR, "[]" },
		{ T_NULL, "null" },
	};

	diag("every field with every wrong JSON type");
	for (size_t f = 0; f < NITEMS(fields); f++) {
		for (size_t v = 0; v < NITEMS(values); v++) {
			struct field_case t = {
				.desc = "wrong type", .key = fields[f].key,
				.value = values[v].json, .strict = true,
				.want_code = CNI_ERR_INVALID_NETCONF,
				.want_substr = fields[f].key,
			};

			if (fields[f].accepts & values[v].type)
				continue;
			run_field_cases(&t, 1);
		}
	}
}

static void test_values(void)
{
	const int NC = CNI_ERR_INVALID_NETCONF;
	const int VER = CNI_ERR_INCOMPATIBLE_VERSION;
	const int UNS = CNI_ERR_UNSUPPORTED_FIELD;
	static const char *const unsupported_versions[] = {
		"0.2.0", "0.1.0", "2.0.0", "1.1.1", "1.0.1", "0.4.1",
	};
	char quoted[32];

	const struct field_case cases[] = {
		/* versions */
		{ "not a version", "cniVersion", "\"abc\"", true, NC, "\"abc\" is not a version" },
		{ "empty version", "cniVersion", "\"\"", true, NC, "cniVersion" },
		{ "two-part version", "cniVersion", "\"1.0\"", true, NC, "cniVersion" },
		{ "no cniVersion means 0.1.0", "cniVersion", NULL, true, VER, "cniVersion" },
		{ "no cniVersion (lax)", "cniVersion", NULL, false, VER, "cniVersion" },

		/* unknown fields */
		{ "unknown field", "mut", "1400", true, UNS, "\"mut\": 1400" },
		{ "unknown field, object value", "bridge", "{\"name\":\"cni0\"}", true, UNS,
		  "\"bridge\": {\"name\":\"cni0\"}" },
		{ "unknown field (lax)", "mut", "1400", false, 0, NULL },
		{ "parent's field (lax)", "isGateway", "true", false, 0, NULL },
		{ "parent's mtu 0 is not ours (lax)", "mtu", "0", false, 0, NULL },
		{ "parent's logLevel is not ours (lax)", "logLevel", "\"verbose\"", false, 0, NULL },
		{ "parent's relative logFile is not ours (lax)", "logFile", "\"x.log\"", false, 0, NULL },
		{ "cni.dev/ key", "cni.dev/anything", "{\"x\":1}", true, 0, NULL },
		{ "cni.dev prefix needs the slash", "cni.devx", "1", true, UNS, "cni.devx" },
		{ "spec field ipMasq false", "ipMasq", "false", true, 0, NULL },
		{ "ipMasq true", "ipMasq", "true", true, UNS, "ipMasq" },
		{ "ipMasq true is the parent's (lax)", "ipMasq", "true", false, 0, NULL },
		{ "networkScaling true is not ipMasq", "networkScaling", "true", true, 0, NULL },

		/* name */
		{ "empty name", "name", "\"\"", true, NC, "name" },
		{ "name with leading '-'", "name", "\"-pods\"", true, NC, "name \"-pods\"" },
		{ "name with leading '.'", "name", "\".pods\"", true, NC, "name" },
		{ "name with '/'", "name", "\"a/b\"", true, NC, "name \"a/b\"" },
		{ "name with a space", "name", "\"a b\"", true, NC, "name" },
		{ "name 129 characters", "name", "\"" A128 "a\"", true, NC, "1-128 characters" },
		{ "name 128 characters", "name", "\"" A128 "\"", true, 0, NULL },
		{ "name 1 character", "name", "\"a\"", true, 0, NULL },
		{ "name with _ . -", "name", "\"a_b.c-d\"", true, 0, NULL },
		{ "bad name (lax too)", "name", "\"a/b\"", false, NC, "name" },
		{ "name missing", "name", NULL, true, NC, "name is required" },
		{ "type missing", "type", NULL, true, NC, "type is required" },

		/* mtu */
		{ "mtu below 576", "mtu", "575", true, NC, "mtu: 575 is out of range 576-65535" },
		{ "mtu above 65535", "mtu", "65536", true, NC, "mtu: 65536 is out of range" },
		{ "mtu 0", "mtu", "0", true, NC, "mtu" },
		{ "mtu negative", "mtu", "-1500", true, NC, "mtu" },
		{ "mtu huge", "mtu", "4294968796", true, NC, "mtu" },
		{ "mtu 576", "mtu", "576", true, 0, NULL },
		{ "mtu 65535", "mtu", "65535", true, 0, NULL },
		{ "mtu as string", "mtu", "\"1450\"", true, NC, "mtu: expected an integer, got string" },

		/* paths */
		{ "relative stateDir", "stateDir", "\"var/lib/bh\"", true, NC, "stateDir" },
		{ "stateDir with ..", "stateDir", "\"/a/../b\"", true, NC, "stateDir: \"/a/../b\"" },
		{ "stateDir ending in ..", "stateDir", "\"/a/..\"", true, NC, "stateDir" },
		{ "stateDir \"/..\"", "stateDir", "\"/..\"", true, NC, "stateDir" },
		{ "stateDir empty", "stateDir", "\"\"", true, NC, "stateDir" },
		{ "stateDir with ..b (a name)", "stateDir", "\"/a/..b\"", true, 0, NULL },
		{ "relative logFile", "logFile", "\"bh.log\"", true, NC, "logFile" },
		{ "daemonSocket with ..", "daemonSocket", "\"/run/../x\"", true, NC, "daemonSocket" },
		{ "relative bpffsRoot", "bpffsRoot", "\"./bpf\"", true, NC, "bpffsRoot" },
		{ "relative ipam.dataDir", "ipam.dataDir", "\"ipam\"", true, NC, "ipam.dataDir" },

		/* logLevel */
		{ "logLevel loud", "logLevel", "\"loud\"", true, NC, "logLevel \"loud\"" },
		{ "logLevel error", "logLevel", "\"error\"", true, 0, NULL },

		/* ipam */
		{ "ipam missing", "ipam", NULL, true, NC, "ipam is required" },
		{ "ipam null", "ipam", "null", true, NC, "ipam is required" },
		{ "ipam missing (lax)", "ipam", NULL, false, NC, "ipam is required" },
		{ "ipam.type missing", "ipam.type", NULL, true, NC, "ipam.type is required" },
		{ "ipam.type ../x", "ipam.type", "\"../x\"", true, NC, "ipam.type \"../x\"" },
		{ "ipam.type a/b", "ipam.type", "\"a/b\"", true, NC, "ipam.type \"a/b\"" },
		{ "ipam.type a..b", "ipam.type", "\"a..b\"", true, NC, "ipam.type" },
		{ "ipam.type empty", "ipam.type", "\"\"", true, NC, "ipam.type" },
		{ "ipam.type host-local", "ipam.type", "\"host-local\"", true, 0, NULL },
		{ "unknown ipam keys are the IPAM's", "ipam.rangeStart", "\"10.244.1.10\"", true, 0, NULL },
	};

	diag("field values");
	run_field_cases(cases, NITEMS(cases));

	diag("unsupported versions");
	for (size_t i = 0; i < NITEMS(unsupported_versions); i++) {
		struct field_case t = {
			"unsupported version", "cniVersion", quoted, true,
			VER, unsupported_versions[i],
		};

		snprintf(quoted, sizeof(quoted), "\"%s\"", unsupported_versions[i]);
		run_field_cases(&t, 1);
	}
}

/* --- whole documents ---------------------------------------------------- */

struct text_case {
	const char *desc;
	const char *text;
	bool strict;
	int want_code;
	const char *want_substr;
};

static void test_documents(void)
{
	const int DEC = CNI_ERR_DECODE;
	const struct text_case cases[] = {
		{ "empty input", "", true, DEC, "cannot decode netconf" },
		{ "whitespace only", " \n\t", true, DEC, "cannot decode netconf" },
		{ "truncated object", "{\"cniVersion\":\"1.0.0\"", true, DEC, "cannot decode" },
		{ "not JSON", "cniVersion=1.0.0", true, DEC, "cannot decode" },
		{ "trailing garbage", MINIMAL "}", true, DEC, "cannot decode" },
		{ "array", "[" MINIMAL "]", true, DEC, "expected a JSON object, got array" },
		/* jansson itself refuses a top level that is not an array or object */
		{ "string", "\"1.0.0\"", true, DEC, "cannot decode netconf" },
		{ "number", "42", true, DEC, "cannot decode netconf" },
		{ "null", "null", true, DEC, "cannot decode netconf" },
		{ "array (lax)", "[]", false, DEC, "got array" },
		{ "duplicate key", "{\"cniVersion\":\"1.0.0\",\"name\":\"a\",\"name\":\"b\","
		  "\"type\":\"bulkhead\",\"ipam\":{\"type\":\"bulkhead-ipam\"}}", true, DEC,
		  "duplicate" },
		{ "duplicate key inside ipam", "{\"cniVersion\":\"1.0.0\",\"name\":\"a\","
		  "\"type\":\"bulkhead\",\"ipam\":{\"type\":\"x\",\"type\":\"bulkhead-ipam\"}}",
		  true, DEC, "duplicate" },
		{ "duplicate key (lax)", "{\"cniVersion\":\"1.0.0\",\"cniVersion\":\"1.0.0\"}",
		  false, DEC, "duplicate" },
		/* jansson refuses \u0000 unless asked (JSON_ALLOW_NUL), before any
		 * field is read: a decode error, not 7 */
		{ "NUL escape in name", "{\"cniVersion\":\"1.0.0\",\"name\":\"na\\u0000me\","
		  "\"type\":\"bulkhead\",\"ipam\":{\"type\":\"bulkhead-ipam\"}}", true, DEC,
		  "\\u0000" },
		{ "NUL escape in an unknown field (lax)", "{\"cniVersion\":\"1.0.0\","
		  "\"name\":\"n\",\"type\":\"bulkhead\",\"x\":\"a\\u0000\","
		  "\"ipam\":{\"type\":\"bulkhead-ipam\"}}", false, DEC, "\\u0000" },
		/* the version is checked before the unknown fields */
		{ "bad version and unknown field", "{\"cniVersion\":\"9.9.9\",\"mut\":1}",
		  true, CNI_ERR_INCOMPATIBLE_VERSION, "9.9.9" },
	};

	diag("whole documents");
	for (size_t i = 0; i < NITEMS(cases); i++) {
		const struct text_case *t = &cases[i];
		struct netconf c;
		struct cni_err err;
		char label[256];
		int rc = parse(t->text, t->strict, &c, &err);

		snprintf(label, sizeof(label), "%s: %s (%s)", t->desc,
			 printable(t->text), t->strict ? "strict" : "lax");
		check_outcome(label, rc, &err, t->want_code, t->want_substr);
		netconf_free(&c);
	}
}

/* conf_string's own NUL check, for strings that did get into a document. */
static void test_conf_string_nul(void)
{
	json_t *o = json_object();
	struct cni_err err = { 0 };
	const char *out = "unchanged";

	diag("conf_string and embedded NULs");
	json_object_set_new(o, "name", json_stringn("na\0me", 5));
	is_int(conf_string(o, "", "name", true, &out, &err), -1,
	       "string with a NUL byte rejected");
	is_int(err.code, CNI_ERR_INVALID_NETCONF, "  code 7");
	is_str(err.msg, "invalid netconf: name contains a NUL byte", "  message");
	is_str(out, "unchanged", "  *out untouched");
	err = (struct cni_err){ 0 };
	json_object_set_new(o, "name", json_string("name"));
	is_int(conf_string(o, "ipam", "name", true, &out, &err), 0, "plain string read");
	is_str(out, "name", "  value");
	json_decref(o);
}

/* --- netconf_peek_version ----------------------------------------------- */

static void test_peek_version(void)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "{\"cniVersion\":\"0.3.0\"}", "0.3.0" },
		{ "{\"cniVersion\":\"0.3.1\"}", "0.3.1" },
		{ "{\"cniVersion\":\"0.4.0\",\"name\":\"x\"}", "0.4.0" },
		{ "{\"cniVersion\":\"1.0.0\",\"mut\":1}", "1.0.0" },
		{ MINIMAL, "1.0.0" },
		{ "{\"cniVersion\":\"1.1.0\"}", "1.1.0" },
		{ "{\"cniVersion\":\"0.2.0\"}", "1.1.0" },
		{ "{\"cniVersion\":\"abc\"}", "1.1.0" },
		{ "{\"cniVersion\":1}", "1.1.0" },
		{ "{\"name\":\"x\"}", "1.1.0" },
		{ "[\"0.4.0\"]", "1.1.0" },
		{ "\"0.4.0\"", "1.1.0" },
		{ "{\"cniVersion\":\"0.4.0\"", "1.1.0" },
		{ "", "1.1.0" },
	};
	char out[16];
	char small[4];

	diag("netconf_peek_version");
	for (size_t i = 0; i < NITEMS(cases); i++) {
		const char *got;

		memset(out, 'x', sizeof(out));
		got = netconf_peek_version(cases[i].text, strlen(cases[i].text),
					   out, sizeof(out));
		ok(got == out, "returns its buffer: %s", printable(cases[i].text));
		is_str(out, cases[i].want, "  version %s", cases[i].want);
	}
	netconf_peek_version("{\"cniVersion\":\"0.4.0\"}", 22, small, sizeof(small));
	is_str(small, "0.4", "a short buffer truncates, NUL-terminated");
}

int main(void)
{
	test_minimal();
	test_full();
	test_len();
	test_versions();
	test_wrong_types();
	test_values();
	test_documents();
	test_conf_string_nul();
	test_peek_version();
	return done_testing();
}
