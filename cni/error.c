/* Filling CNI error objects; the first error set is the one reported. */
#include <stdio.h>

#include "cni/error.h"

int cni_verrorf(struct cni_err *err, int code, const char *fmt, va_list ap)
{
	if (!err || err->code)
		return -1;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return -1;
}

int cni_errorf(struct cni_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cni_verrorf(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

void cni_err_details(struct cni_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->details[0])
		return;
	va_start(ap, fmt);
	vsnprintf(err->details, sizeof(err->details), fmt, ap);
	va_end(ap);
}
