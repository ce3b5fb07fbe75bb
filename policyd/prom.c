/* Prometheus text format 0.0.4: headers, samples with escaped labels,
 * numbers in their shortest exact form, and cumulative histograms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "policyd/prom.h"

/* "-1.2345678901234567e-308" and its NUL fit. */
#define PROM_NUMBER_LEN 32

/* Escapes backslash and newline, and the double quote too when quote is
 * set: HELP text takes the first two, label values all three. */
static void put_escaped(FILE *f, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && quote)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

/* The shortest of %.15g..%.17g that reads back as v, so 0.1 stays "0.1"
 * and no value loses a bit. */
static const char *format_number(char buf[PROM_NUMBER_LEN], double v)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, PROM_NUMBER_LEN, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

static void put_number(FILE *f, double v)
{
	char buf[PROM_NUMBER_LEN];

	fputs(format_number(buf, v), f);
}

void prom_header(FILE *f, const char *name, const char *type,
		 const char *help)
{
	fprintf(f, "# HELP %s ", name);
	put_escaped(f, help, 0);
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

void prom_sample(FILE *f, const char *name, const char *const *kv,
		 size_t nlabels, double value)
{
	fputs(name, f);
	for (size_t i = 0; i < nlabels; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "{", kv[2 * i]);
		put_escaped(f, kv[2 * i + 1], 1);
		fputc('"', f);
	}
	if (nlabels)
		fputc('}', f);
	fputc(' ', f);
	put_number(f, value);
	fputc('\n', f);
}

void prom_hist_init(struct prom_hist *h, double start, double factor, size_t n)
{
	double b = start;

	memset(h, 0, sizeof(*h));
	if (n > PROM_HIST_MAX_BUCKETS)
		n = PROM_HIST_MAX_BUCKETS;
	for (size_t i = 0; i < n; i++, b *= factor)
		h->bounds[i] = b;
	h->nbounds = n;
}

/* A bucket counts the observations at most its bound ("le"). */
void prom_hist_observe(struct prom_hist *h, double v)
{
	size_t i = 0;

	while (i < h->nbounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}

/* As Prometheus' histogram_quantile: find the bucket holding the rank
 * q * count and interpolate linearly inside it (the first bucket starts at
 * 0); a rank in the +Inf bucket answers the highest finite bound. */
double prom_hist_quantile(const struct prom_hist *h, double q)
{
	double rank, below = 0;

	if (!h->count || isnan(q))
		return NAN;
	q = q < 0 ? 0 : q > 1 ? 1 : q;
	rank = q * (double)h->count;
	for (size_t i = 0; i <= h->nbounds; i++) {
		double lower = i ? h->bounds[i - 1] : 0;
		double n = (double)h->counts[i];

		if (!h->counts[i] || below + n < rank) {
			below += n;
			continue;
		}
		if (i == h->nbounds)
			return lower;
		return lower + (h->bounds[i] - lower) * (rank - below) / n;
	}
	return h->nbounds ? h->bounds[h->nbounds - 1] : 0;
}

/* Bucket counts are written as integers: a double would round counts
 * past 2^53. */
void prom_hist_write(FILE *f, const char *name, const char *help,
		     const struct prom_hist *h)
{
	uint64_t cumulative = 0;
	char buf[PROM_NUMBER_LEN];

	prom_header(f, name, "histogram", help);
	for (size_t i = 0; i <= h->nbounds; i++) {
		cumulative += h->counts[i];
		fprintf(f, "%s_bucket{le=\"%s\"} %llu\n", name,
			i < h->nbounds ? format_number(buf, h->bounds[i]) : "+Inf",
			(unsigned long long)cumulative);
	}
	fprintf(f, "%s_sum %s\n", name, format_number(buf, h->sum));
	fprintf(f, "%s_count %llu\n", name, (unsigned long long)h->count);
}
