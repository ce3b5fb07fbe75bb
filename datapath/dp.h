/* The datapath library's one error type: what failed, on what, and why,
 * in words a person can act on. */
#ifndef BH_DATAPATH_DP_H
#define BH_DATAPATH_DP_H

#include <stddef.h>

struct dp_err {
	int code;		/* negative errno of the first failure */
	char msg[512];
};

/* Records the first failure only (later ones are consequences); returns
 * code so callers can `return dp_errorf(err, -errno, ...)`. */
int dp_errorf(struct dp_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ROOT/sub/name into buf; -ENAMETOOLONG when it does not fit. */
int dp_pin_path(char *buf, size_t len, const char *root, const char *sub,
		const char *name);

#endif
