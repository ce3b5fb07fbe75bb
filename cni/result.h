/* The ADD result: what the plugin made, rendered in the asked CNI version,
 * and read back from prevResult or a delegated IPAM plugin's output. */
#ifndef BH_CNI_RESULT_H
#define BH_CNI_RESULT_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <jansson.h>

#include "cni/error.h"
#include "cni/version.h"
#include "ipam/addr.h"

#define RESULT_MAX_IPS 4
#define RESULT_MAX_ROUTES 32

struct result_ip {
	struct ip_prefix addr;		/* pod address, with its subnet's length */
	struct ip_addr gw;		/* the host side answers for it */
};

struct result_route {
	struct ip_prefix dst;
	struct ip_addr gw;		/* family 0: the IP's gateway */
};

/* What an IPAM plugin (ours or a delegate) hands back. */
struct ipam_result {
	struct result_ip ips[RESULT_MAX_IPS];
	size_t n_ips;
	struct result_route routes[RESULT_MAX_ROUTES];	/* besides the default */
	size_t n_routes;
	json_t *dns;			/* owned reference, NULL if none */
};

struct pod_result {
	char host_ifname[IF_NAMESIZE];
	int host_ifindex;		/* in the node's namespace; 0 until wired */
	uint8_t host_mac[6];
	char pod_ifname[IF_NAMESIZE];
	uint8_t pod_mac[6];
	const char *sandbox;		/* CNI_NETNS */
	unsigned int mtu;
	struct ipam_result ipam;
};

/* Renders r in version v. A prevResult (chained after another plugin) is
 * kept and ours appended after it, as the spec asks. NULL on no memory. */
json_t *result_render(const struct pod_result *r, enum cni_version v,
		      const json_t *prev);
/* Renders an IPAM-only result (the standalone IPAM plugin's answer). */
json_t *result_render_ipam(const struct ipam_result *r, enum cni_version v);

/* Reads "ips", "routes" and "dns" of any version's result. Only IPv4 is
 * accepted for now (the datapath is IPv4). A missing gateway defaults to
 * the first address of the IP's subnet. */
int ipam_result_parse(const json_t *res, const char *who,
		      struct ipam_result *out, struct cni_err *err);
void ipam_result_free(struct ipam_result *r);

/* From a prevResult, the interface named ifname inside sandbox and the IPs
 * that point at it. Fails with BH_ERR_CHECK when there is none. */
int result_find_pod(const json_t *prev, const char *ifname,
		    const char *sandbox, struct pod_result *out,
		    struct cni_err *err);

void mac_format(const uint8_t mac[6], char *buf, size_t len);

#endif
