/* The CNI spec versions the plugins speak, and what each one changed. */
#ifndef BH_CNI_VERSION_H
#define BH_CNI_VERSION_H

#include <stdbool.h>

enum cni_version {
	CNI_V030,
	CNI_V031,
	CNI_V040,
	CNI_V100,
	CNI_V110,
	CNI_V_COUNT,
};

#define CNI_VERSION_LATEST CNI_V110

/* Returns 0 and sets *out for a supported version string, -1 otherwise. */
int cni_version_parse(const char *s, enum cni_version *out);
const char *cni_version_str(enum cni_version v);
/* True when s looks like a semantic version at all ("1.2.3"). */
bool cni_version_is_semver(const char *s);

/* Spec history the code branches on, in one place. */
static inline bool cni_version_has_check(enum cni_version v) { return v >= CNI_V040; }
static inline bool cni_version_has_gc(enum cni_version v) { return v >= CNI_V110; }
/* Before 1.0.0 each entry of "ips" carried "version": "4"|"6". */
static inline bool cni_version_ips_versioned(enum cni_version v) { return v < CNI_V100; }
/* 1.1.0 added "mtu" to result interfaces. */
static inline bool cni_version_has_if_mtu(enum cni_version v) { return v >= CNI_V110; }

#endif
