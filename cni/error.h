/* CNI error objects: the spec's well-known codes and a message a person can act on.
 * Every failing function fills one of these and returns -1; main prints it. */
#ifndef BH_CNI_ERROR_H
#define BH_CNI_ERROR_H

#include <stdarg.h>

/* Well-known codes from the CNI spec (0-99), then ours (100+). */
enum cni_code {
	CNI_ERR_INCOMPATIBLE_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_NETCONF = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	CNI_ERR_NOT_AVAILABLE_LIMITED = 51,
	/* plugin-specific */
	BH_ERR_INTERNAL = 100,
	BH_ERR_IPAM = 101,		/* allocation store unreadable or corrupt */
	BH_ERR_NETLINK = 102,		/* the kernel refused a link, address or route */
	BH_ERR_NETNS = 103,		/* cannot enter or use CNI_NETNS */
	BH_ERR_CHECK = 104,		/* CHECK found the pod's network not as cached */
	BH_ERR_DELEGATE = 105,		/* the delegated IPAM plugin failed */
	BH_ERR_EXISTS = 106,		/* the interface already exists */
	BH_ERR_DATAPATH = 107,		/* the datapath refused an attach or a map access */
};

struct cni_err {
	int code;
	char msg[512];
	char details[512];
};

/* Fills err (if it is empty) and returns -1, so callers can write
 * `return cni_errorf(err, CODE, "...")`. The first error wins: a cleanup
 * failure never hides the failure that caused the cleanup. */
int cni_errorf(struct cni_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int cni_verrorf(struct cni_err *err, int code, const char *fmt, va_list ap);

/* Adds an optional longer explanation to an already-set error. */
void cni_err_details(struct cni_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
