/* Endpoint flags, MACs and conntrack states as bhdp and bulkhead-ctl
 * print them, so the two tools never disagree on a word. */
#include <stdio.h>
#include <string.h>

#include "bulkhead/conntrack.h"
#include "bulkhead/endpoint.h"
#include "datapath/format.h"

static const struct {
	__u32 bit;
	const char *name;
} ep_flag_names[] = {
	{ BH_EP_F_ENFORCE_EGRESS, "egress" },
	{ BH_EP_F_ENFORCE_INGRESS, "ingress" },
	{ BH_EP_F_AUDIT, "audit" },
};

#define N_EP_FLAGS (sizeof(ep_flag_names) / sizeof(ep_flag_names[0]))

const char *dp_ep_flags_str(__u32 flags, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_EP_FLAGS; i++) {
		if (!(flags & ep_flag_names[i].bit))
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					off ? "," : "", ep_flag_names[i].name);
		flags &= ~ep_flag_names[i].bit;
		if (off >= len)
			return buf;
	}
	if (flags)
		snprintf(buf + off, len - off, "%s0x%x", off ? "," : "", flags);
	else if (off == 0)
		snprintf(buf, len, "none");
	return buf;
}

int dp_ep_flags_parse(const char *s, __u32 *out)
{
	const char *p = s;

	*out = 0;
	if (strcmp(s, "none") == 0)
		return 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		size_t i;

		for (i = 0; i < N_EP_FLAGS; i++)
			if (strlen(ep_flag_names[i].name) == n &&
			    strncmp(ep_flag_names[i].name, p, n) == 0)
				break;
		if (i == N_EP_FLAGS)
			return -1;
		*out |= ep_flag_names[i].bit;
		p += n;
		if (*p == ',' && *++p == '\0')
			return -1;
	}
	return 0;
}

const char *dp_mac_str(const __u8 *mac, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

const char *dp_ct_state_name(unsigned int state)
{
	static const char *const names[] = {
		[BH_CT_NEW] = "new",
		[BH_CT_ESTABLISHED] = "established",
		[BH_CT_CLOSING] = "closing",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : NULL;
}

const char *dp_word(const char *name, unsigned int v, char *buf, size_t len)
{
	if (name)
		return name;
	snprintf(buf, len, "%u", v);
	return buf;
}
