/* CNI_NETNS must name a network namespace (a /run/netns bind mount or a
 * /proc/PID/ns/net link); anything else is refused before we touch it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "cni/netns.h"

static bool is_own_netns(int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat("/proc/thread-self/ns/net", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int netns_open(const char *path, struct cni_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int type;

	if (fd < 0)
		return cni_errorf(err, CNI_ERR_INVALID_ENV,
				  "CNI_NETNS %.200s: %s", path, strerror(errno));
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		close(fd);
		return cni_errorf(err, CNI_ERR_INVALID_ENV,
				  "CNI_NETNS %.200s is not a network namespace", path);
	}
	/* Wiring the host's own namespace as a pod would put a pod's default
	 * route on the node: a runtime bug we must not act on. */
	if (is_own_netns(fd)) {
		close(fd);
		return cni_errorf(err, CNI_ERR_INVALID_ENV,
				  "CNI_NETNS %.200s is the node's own network namespace, not a pod's",
				  path);
	}
	return fd;
}
