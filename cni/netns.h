/* Opening the pod's network namespace from CNI_NETNS. */
#ifndef BH_CNI_NETNS_H
#define BH_CNI_NETNS_H

#include "cni/error.h"

/* Opens path and makes sure it is a network namespace. Returns the fd, or -1
 * with err: CNI_ERR_INVALID_ENV when path is not one. */
int netns_open(const char *path, struct cni_err *err);

#endif
