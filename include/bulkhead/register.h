/* Endpoint registration: what the CNI plugin and bulkhead-policyd say to
 * each other over the daemon's unix stream socket. One JSON object per
 * line, one reply line per request, then the plugin closes. */
#ifndef BH_INCLUDE_REGISTER_H
#define BH_INCLUDE_REGISTER_H

/* A request or reply line longer than this is refused. */
#define BH_REG_MAX_LINE		4096
/* How long the daemon holds an ADD while it waits for the pod object and
 * its identity, and how long the plugin waits for the answer (longer, so
 * the daemon's own error arrives first). */
#define BH_REG_DAEMON_WAIT_MS	5000
#define BH_REG_PLUGIN_WAIT_MS	8000

/* Request fields (strings unless noted):
 *   "op"           "add" | "del"
 *   "containerID"  CNI_CONTAINERID; with "ifname" the endpoint's key
 *   "ifname"       CNI_IFNAME
 *   "namespace"    K8S_POD_NAMESPACE   (add)
 *   "pod"          K8S_POD_NAME        (add)
 *   "ip"           the pod's IPv4 address, dotted (add)
 *   "ifindex"      number: the host-side veth (add)
 *   "hostIfname"   the host-side veth's name (add)
 * Reply:
 *   {"ok": true, "identity": N}                          add
 *   {"ok": true}                                         del (also when unknown)
 *   {"ok": false, "code": C, "msg": "...", "details": "..."}
 * with C a CNI error code the plugin passes on (11: try again later). */
#define BH_REG_OP_ADD	"add"
#define BH_REG_OP_DEL	"del"

#endif
