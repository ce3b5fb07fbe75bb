/* A minimal TAP producer for the C unit tests run by prove. A failing check
 * prints what it expected and what it saw. */
#ifndef BH_TESTS_TAP_H
#define BH_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
	tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) \
	tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

/* Prints one test line and counts it; the caller adds the diagnostics. */
static inline void tap_line(int pass, const char *fmt, va_list ap)
{
	printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
	vprintf(fmt, ap);
	putchar('\n');
	if (!pass)
		tap_failed++;
}

#define TAP_LINE(pass, fmt) do {			\
		va_list ap;				\
		va_start(ap, fmt);			\
		tap_line(pass, fmt, ap);		\
		va_end(ap);				\
	} while (0)

static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	TAP_LINE(pass, fmt);
	if (!pass)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return pass;
}

static inline int tap_is_int(long long got, long long want, const char *file,
			     int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static inline int tap_is_int(long long got, long long want, const char *file,
			     int line, const char *fmt, ...)
{
	int pass = got == want;

	TAP_LINE(pass, fmt);
	if (!pass)
		printf("#   failed at %s:%d\n#   expected: %lld\n#        got: %lld\n",
		       file, line, want, got);
	fflush(stdout);
	return pass;
}

static inline int tap_is_str(const char *got, const char *want, const char *file,
			     int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static inline int tap_is_str(const char *got, const char *want, const char *file,
			     int line, const char *fmt, ...)
{
	int pass = got && want ? strcmp(got, want) == 0 : got == want;

	TAP_LINE(pass, fmt);
	if (!pass)
		printf("#   failed at %s:%d\n#   expected: '%s'\n#        got: '%s'\n",
		       file, line, want ? want : "(null)", got ? got : "(null)");
	fflush(stdout);
	return pass;
}

#define diag(...) do { printf("# "); printf(__VA_ARGS__); putchar('\n'); } while (0)

/* Ends the test: prints the plan and exits non-zero if anything failed. */
static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

/* For tests that cannot run here: a plan of zero with the reason. */
#define skip_all(...) do { printf("1..0 # SKIP "); printf(__VA_ARGS__); \
	putchar('\n'); exit(0); } while (0)

#endif
