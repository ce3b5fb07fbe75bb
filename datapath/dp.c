/* The datapath library's shared bits: filling its error type (the first
 * failure is the one reported) and spelling pin paths under a bpffs root. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "datapath/dp.h"

int dp_errorf(struct dp_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	/* A caller that passes -errno after a call that left errno at 0 would
	 * otherwise turn a failure into a success. */
	if (code >= 0)
		code = -EIO;
	if (!err || err->code)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* sub and name may be NULL, for ROOT/sub and ROOT itself. */
int dp_pin_path(char *buf, size_t len, const char *root, const char *sub,
		const char *name)
{
	int n;

	if (sub && name)
		n = snprintf(buf, len, "%s/%s/%s", root, sub, name);
	else if (sub)
		n = snprintf(buf, len, "%s/%s", root, sub);
	else
		n = snprintf(buf, len, "%s", root);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}
