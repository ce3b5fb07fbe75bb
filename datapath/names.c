/* Names for verdicts, reasons, directions and protocols, built from the
 * X-macro in bulkhead/reason.h so a new reason needs no change here. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bulkhead/reason.h"
#include "datapath/names.h"

/* The longest reason name plus its terminator; checked below. */
#define REASON_NAME_MAX 32

#define REASON_CHECK_LEN(name, val, words, audit)			\
	_Static_assert(sizeof(#name) <= REASON_NAME_MAX, "reason name too long"); \
	_Static_assert((val) < BH_REASON_MAX, "reason value out of range");
BH_REASONS(REASON_CHECK_LEN)
#undef REASON_CHECK_LEN

static const char *const reason_upper[BH_REASON_MAX] = {
#define REASON_UPPER(name, val, words, audit) [val] = #name,
	BH_REASONS(REASON_UPPER)
#undef REASON_UPPER
};

static const char *const reason_words[BH_REASON_MAX] = {
#define REASON_WORDS(name, val, words, audit) [val] = words,
	BH_REASONS(REASON_WORDS)
#undef REASON_WORDS
};

/* The preprocessor cannot lowercase, so the table is filled once before
 * main runs; after that it is only read, from any thread. */
static char reason_lower[BH_REASON_MAX][REASON_NAME_MAX];

__attribute__((constructor))
static void reason_names_init(void)
{
	for (unsigned int r = 0; r < BH_REASON_MAX; r++) {
		const char *u = reason_upper[r];
		size_t i;

		if (!u)
			continue;
		for (i = 0; u[i] && i < REASON_NAME_MAX - 1; i++)
			reason_lower[r][i] = (char)tolower((unsigned char)u[i]);
		reason_lower[r][i] = '\0';
	}
}

const char *dp_reason_name(unsigned int reason)
{
	if (reason >= BH_REASON_MAX || !reason_upper[reason])
		return NULL;
	return reason_lower[reason];
}

const char *dp_reason_words(unsigned int reason)
{
	return reason < BH_REASON_MAX ? reason_words[reason] : NULL;
}

const char *dp_verdict_name(unsigned int verdict)
{
	static const char *const names[BH_VERDICT_MAX] = {
		[BH_VERDICT_ALLOW] = "allow",
		[BH_VERDICT_DROP] = "drop",
		[BH_VERDICT_AUDIT] = "audit",
	};

	return verdict < BH_VERDICT_MAX ? names[verdict] : NULL;
}

static const char *const dir_names[BH_DIR_MAX] = {
	[BH_DIR_EGRESS] = "egress",
	[BH_DIR_INGRESS] = "ingress",
};

const char *dp_dir_name(unsigned int dir)
{
	return dir < BH_DIR_MAX ? dir_names[dir] : NULL;
}

int dp_dir_parse(const char *s)
{
	for (int d = 0; d < BH_DIR_MAX; d++)
		if (strcmp(s, dir_names[d]) == 0)
			return d;
	return -1;
}

/* Only the protocols policy can name; others print as numbers. */
static const struct {
	unsigned int num;
	const char *name;
} protos[] = {
	{ 0, "any" },
	{ 1, "icmp" },
	{ 6, "tcp" },
	{ 17, "udp" },
	{ 132, "sctp" },
};

const char *dp_proto_name(unsigned int proto)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].num == proto)
			return protos[i].name;
	return NULL;
}

int dp_proto_parse(const char *s)
{
	char *end;
	unsigned long n;

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strcmp(s, protos[i].name) == 0)
			return (int)protos[i].num;
	if (!isdigit((unsigned char)s[0]))
		return -1;
	n = strtoul(s, &end, 10);
	return *end || n > 255 ? -1 : (int)n;
}
