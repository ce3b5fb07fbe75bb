/* Supported CNI spec versions and their names. */
#include <ctype.h>
#include <string.h>

#include "cni/version.h"

static const char *const version_names[CNI_V_COUNT] = {
	[CNI_V030] = "0.3.0",
	[CNI_V031] = "0.3.1",
	[CNI_V040] = "0.4.0",
	[CNI_V100] = "1.0.0",
	[CNI_V110] = "1.1.0",
};

int cni_version_parse(const char *s, enum cni_version *out)
{
	for (int v = 0; v < CNI_V_COUNT; v++) {
		if (strcmp(s, version_names[v]) == 0) {
			*out = (enum cni_version)v;
			return 0;
		}
	}
	return -1;
}

const char *cni_version_str(enum cni_version v)
{
	return v < CNI_V_COUNT ? version_names[v] : "?";
}

bool cni_version_is_semver(const char *s)
{
	int parts = 0;

	while (*s) {
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
		parts++;
		if (*s == '.')
			s++;
		else
			break;
	}
	return *s == '\0' && parts == 3;
}
