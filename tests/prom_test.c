/* Unit tests of the Prometheus text writer: exact output for headers,
 * escaped labels, numbers and histograms; quantiles from buckets. */
#include <math.h>
#include <stdlib.h>

#include "policyd/prom.h"
#include "tests/tap.h"

/* What fn wrote, as a string the caller frees. */
#define CAPTURE(out, stmt) do {						\
		size_t len_;						\
		FILE *f = open_memstream(&(out), &len_);		\
		if (!f) {						\
			printf("Bail out! open_memstream\n");		\
			exit(255);					\
		}							\
		stmt;							\
		fclose(f);						\
	} while (0)

static void test_header(void)
{
	char *s = NULL;

	CAPTURE(s, prom_header(f, "bh_drops_total", "counter",
			       "Drops by reason.\nSee \\docs \"here\""));
	is_str(s, "# HELP bh_drops_total Drops by reason.\\nSee \\\\docs \"here\"\n"
		  "# TYPE bh_drops_total counter\n",
	       "HELP escapes backslash and newline, not quotes");
	free(s);
}

static void test_samples(void)
{
	const char *kv[] = { "reason", "drop_policy_default", "pod", "a\"b\\c\nd" };
	char *s = NULL;

	CAPTURE(s, prom_sample(f, "bh_up", NULL, 0, 1));
	is_str(s, "bh_up 1\n", "no labels, no braces");
	free(s);

	CAPTURE(s, prom_sample(f, "bh_drops_total", kv, 2, 12345678));
	is_str(s, "bh_drops_total{reason=\"drop_policy_default\",pod=\"a\\\"b\\\\c\\nd\"} 12345678\n",
	       "label values escape quote, backslash and newline");
	free(s);

	CAPTURE(s, {
		prom_sample(f, "x", NULL, 0, 0.1);
		prom_sample(f, "x", NULL, 0, 1.0 / 3);
		prom_sample(f, "x", NULL, 0, 0.1 + 0.2);
		prom_sample(f, "x", NULL, 0, 1e-7);
		prom_sample(f, "x", NULL, 0, 9007199254740993.0);
		prom_sample(f, "x", NULL, 0, -2.5);
		prom_sample(f, "x", NULL, 0, INFINITY);
		prom_sample(f, "x", NULL, 0, -INFINITY);
		prom_sample(f, "x", NULL, 0, NAN);
	});
	is_str(s, "x 0.1\n"
		  "x 0.3333333333333333\n"
		  "x 0.30000000000000004\n"
		  "x 1e-07\n"
		  "x 9007199254740992\n"
		  "x -2.5\n"
		  "x +Inf\n"
		  "x -Inf\n"
		  "x NaN\n",
	       "numbers: shortest exact form, Inf and NaN spelled as Prometheus does");
	free(s);
}

static void test_histogram(void)
{
	struct prom_hist h;
	char *s = NULL;

	prom_hist_init(&h, 0.001, 10, 3);
	is_int(h.nbounds, 3, "three bounds");
	ok(h.bounds[0] == 0.001 && h.bounds[1] == 0.01 && h.bounds[2] == 0.1,
	   "exponential bounds 0.001, 0.01, 0.1");
	prom_hist_observe(&h, 0.0005);
	prom_hist_observe(&h, 0.001);	/* on the bound: le counts it */
	prom_hist_observe(&h, 0.05);
	prom_hist_observe(&h, 7);
	CAPTURE(s, prom_hist_write(f, "bh_compile_seconds", "Policy compile time.", &h));
	is_str(s, "# HELP bh_compile_seconds Policy compile time.\n"
		  "# TYPE bh_compile_seconds histogram\n"
		  "bh_compile_seconds_bucket{le=\"0.001\"} 2\n"
		  "bh_compile_seconds_bucket{le=\"0.01\"} 2\n"
		  "bh_compile_seconds_bucket{le=\"0.1\"} 3\n"
		  "bh_compile_seconds_bucket{le=\"+Inf\"} 4\n"
		  "bh_compile_seconds_sum 7.0515\n"
		  "bh_compile_seconds_count 4\n",
	       "cumulative buckets, sum and count");
	free(s);

	prom_hist_init(&h, 1, 2, 100);
	is_int(h.nbounds, PROM_HIST_MAX_BUCKETS, "bounds capped at the maximum");
}

static void is_near(double got, double want, const char *what)
{
	ok(fabs(got - want) < 1e-9, "%s: expected %g, got %g", what, want, got);
}

static void test_quantile(void)
{
	struct prom_hist h;

	prom_hist_init(&h, 10, 2, 3);	/* 10, 20, 40 */
	ok(isnan(prom_hist_quantile(&h, 0.5)), "no observations: NaN");
	for (int i = 0; i < 10; i++)
		prom_hist_observe(&h, 5);	/* (0, 10]: 10 */
	for (int i = 0; i < 10; i++)
		prom_hist_observe(&h, 30);	/* (20, 40]: 10 */
	is_near(prom_hist_quantile(&h, 0.25), 5, "p25 halfway through the first bucket");
	is_near(prom_hist_quantile(&h, 0.5), 10, "p50 at the first bucket's top");
	is_near(prom_hist_quantile(&h, 0.75), 30,
		"p75 halfway through (20, 40], skipping the empty bucket");
	is_near(prom_hist_quantile(&h, 1), 40, "p100 at the top bound");
	is_near(prom_hist_quantile(&h, 0), 0, "p0 at the lower bound 0");
	is_near(prom_hist_quantile(&h, 2), 40, "q above 1 is clamped");

	prom_hist_observe(&h, 1000);	/* +Inf */
	prom_hist_observe(&h, 1000);
	is_near(prom_hist_quantile(&h, 0.99), 40,
		"a rank in the +Inf bucket answers the highest bound");
}

int main(void)
{
	test_header();
	test_samples();
	test_histogram();
	test_quantile();
	return done_testing();
}
