/* Prometheus text exposition: metric headers, samples and histograms, with
 * label values escaped as the format requires. */
#ifndef BH_POLICYD_PROM_H
#define BH_POLICYD_PROM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* # HELP and # TYPE lines; type "counter", "gauge" or "histogram". */
void prom_header(FILE *f, const char *name, const char *type,
		 const char *help);
/* name{k1="v1",...} value, with nlabels pairs in kv (k1, v1, k2, v2...). */
void prom_sample(FILE *f, const char *name, const char *const *kv,
		 size_t nlabels, double value);

#define PROM_HIST_MAX_BUCKETS 24
struct prom_hist {
	double bounds[PROM_HIST_MAX_BUCKETS];	/* upper bounds, increasing */
	size_t nbounds;
	uint64_t counts[PROM_HIST_MAX_BUCKETS + 1];	/* last: +Inf */
	double sum;
	uint64_t count;
};
/* Exponential bounds start, start*factor, ... (n of them). */
void prom_hist_init(struct prom_hist *h, double start, double factor, size_t n);
void prom_hist_observe(struct prom_hist *h, double v);
/* The value below which q (0..1) of the observations fall, interpolated
 * within its bucket; for p50/p99 in benchmarks. */
double prom_hist_quantile(const struct prom_hist *h, double q);
void prom_hist_write(FILE *f, const char *name, const char *help,
		     const struct prom_hist *h);

#endif
