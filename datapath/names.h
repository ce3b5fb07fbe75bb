/* The words for the datapath's numbers (verdicts, reasons, directions,
 * protocols), taken from the one list in include/, for every tool that
 * prints or parses them. */
#ifndef BH_DATAPATH_NAMES_H
#define BH_DATAPATH_NAMES_H

/* "drop_policy_default": the BH_REASONS name, lowercased; NULL for a
 * number the list does not name. */
const char *dp_reason_name(unsigned int reason);
/* "no policy allows it": the list's words; NULL when unnamed. */
const char *dp_reason_words(unsigned int reason);
/* "allow", "drop", "audit"; NULL otherwise. */
const char *dp_verdict_name(unsigned int verdict);
/* "egress", "ingress"; NULL otherwise. */
const char *dp_dir_name(unsigned int dir);
/* The enum bh_dir for "egress"/"ingress"; -1 otherwise. */
int dp_dir_parse(const char *s);
/* "tcp", "udp", "sctp", "icmp"; "any" for 0; NULL for other numbers. */
const char *dp_proto_name(unsigned int proto);
/* The IP protocol number for a name above (0 for "any") or a decimal
 * number 0..255; -1 otherwise. */
int dp_proto_parse(const char *s);

#endif
