/* Security identities: the numbers policy is written in. Cluster identities
 * travel in the 24-bit VXLAN VNI, so they must fit in 24 bits. */
#ifndef BH_INCLUDE_IDENTITY_H
#define BH_INCLUDE_IDENTITY_H

/* Reserved identities name what is not a pod. 0 doubles as "any identity" in
 * policy keys (see policy.h); no endpoint or ipcache entry ever carries 0
 * except to say "inside the cluster, labels not known yet". */
#define BH_ID_UNKNOWN		0u	/* in the cluster, not resolved */
#define BH_ID_HOST		1u	/* this node */
#define BH_ID_WORLD		2u	/* outside the cluster (ipcache miss) */
#define BH_ID_REMOTE_NODE	3u	/* another node of the cluster */
#define BH_ID_HEALTH		4u	/* health-check endpoints */
#define BH_ID_INIT		5u	/* endpoint wired, identity not yet known */
#define BH_ID_RESERVED_MAX	255u

/* Cluster-wide identities: 256 .. 2^24-1, about 16.7 million. */
#define BH_ID_CLUSTER_MIN	256u
#define BH_ID_CLUSTER_MAX	0xffffffu
/* Node-local identities (CIDR peers of ipBlock rules) sit above the VNI
 * space, so they can never be put on the wire by mistake. */
#define BH_ID_LOCAL_MIN		0x1000000u

#endif
