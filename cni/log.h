/* Plugin logging: to a file named in netconf, never to stdout (stdout carries
 * the CNI result). Until a file is configured, warnings go to stderr. */
#ifndef BH_CNI_LOG_H
#define BH_CNI_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

int log_level_parse(const char *s, enum log_level *out);
/* Opens path for append (creating its directory). Returns -1 with errno set. */
int log_open(const char *path, enum log_level level);
void log_set_tag(const char *tag);
void log_close(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
