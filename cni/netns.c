/* CNI_NETNS must name a network namespace (a /run/netns bind mount or a
 * /proc/PID/ns/net link); anything else is refused before we touch it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "cni/netns.h"

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
	return fd;
}
