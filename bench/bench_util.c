/*
 * bench_util.c: the small pieces every part of vecbench uses -- fatal errors
 * and checked allocation, the monotonic clock, comma lists, percentiles and
 * medians, parallel_for (the CPU-bound work: synthetic data, brute-force
 * ground truth), the deterministic PRNG of the synthetic data (splitmix64
 * seeding, xoshiro256**, Box-Muller) and the progress bars on stderr.
 */
#include "vecbench.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void
die(const char *fmt,...)
{
	va_list		ap;

	fflush(stdout);
	fprintf(stderr, "vecbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory allocating %zu bytes", n);
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void	   *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		die("out of memory allocating %zu bytes", n * sz);
	return p;
}

char *
xstrdup(const char *s)
{
	char	   *p = strdup(s ? s : "");

	if (!p)
		die("out of memory");
	return p;
}

/* the formatted string, malloc'd */
char *
xvasprintf(const char *fmt, va_list ap)
{
	char	   *s;

	if (vasprintf(&s, fmt, ap) < 0)
		die("out of memory");
	return s;
}

/* a PQExpBuffer that ran out of memory is "broken" (its appends were dropped) */
void
buf_check(PQExpBuffer b)
{
	if (PQExpBufferBroken(b))
		die("out of memory");
}

/* parse "1,2,4" into ints; returns count */
int
parse_int_list(const char *s, long *out, int max)
{
	int			n = 0;
	char	   *copy = xstrdup(s),
			   *tok,
			   *save = NULL;

	for (tok = strtok_r(copy, ", ", &save); tok && n < max; tok = strtok_r(NULL, ", ", &save))
	{
		char	   *end;
		long		v = strtol(tok, &end, 10);

		if (*end || end == tok)
			die("not an integer in list '%s': '%s'", s, tok);
		out[n++] = v;
	}
	free(copy);
	return n;
}

/* parse "10,20,abc" into strings; returns count */
int
parse_str_list(const char *s, char out[][64], int max)
{
	int			n = 0;
	char	   *copy = xstrdup(s),
			   *tok,
			   *save = NULL;

	for (tok = strtok_r(copy, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
	{
		while (*tok == ' ')
			tok++;
		snprintf(out[n++], 64, "%.63s", tok);
	}
	free(copy);
	return n;
}

int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* q in [0,1] of v sorted ascending */
double
percentile_sorted(const double *v, long n, double q)
{
	long		i;

	if (n <= 0)
		return NAN;
	i = (long) ceil(q * n) - 1;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

/* median of the values that are not NaN */
double
median_of(const double *v, int n)
{
	double		tmp[MAXRUNS];
	int			i,
				m = 0;

	for (i = 0; i < n && m < MAXRUNS; i++)
		if (!isnan(v[i]))
			tmp[m++] = v[i];
	if (m == 0)
		return NAN;
	qsort(tmp, m, sizeof(double), cmp_double);
	return (m & 1) ? tmp[m / 2] : 0.5 * (tmp[m / 2 - 1] + tmp[m / 2]);
}

/* run a command and return the first line of its output (malloc'd) or NULL */
char *
popen_line(const char *cmd)
{
	FILE	   *f = popen(cmd, "r");
	char		line[512];
	char	   *res = NULL;

	if (!f)
		return NULL;
	if (fgets(line, sizeof(line), f))
	{
		line[strcspn(line, "\r\n")] = 0;
		res = xstrdup(line);
	}
	pclose(f);
	return res;
}

/* ------------------------------------------------------------------------
 * parallel_for: fn over [0, n) in chunks, on g_threads threads
 * ------------------------------------------------------------------------ */

typedef struct PFor
{
	long		n,
				chunk,
				next;
	range_fn	fn;
	void	   *arg;
} PFor;

static void *
pfor_worker(void *p)
{
	PFor	   *pf = p;

	for (;;)
	{
		long		lo = __atomic_fetch_add(&pf->next, pf->chunk, __ATOMIC_RELAXED);

		if (lo >= pf->n)
			break;
		pf->fn(lo, lo + pf->chunk < pf->n ? lo + pf->chunk : pf->n, pf->arg);
	}
	return NULL;
}

void
parallel_for(long n, long chunk, range_fn fn, void *arg)
{
	PFor		pf = {n, chunk < 1 ? 1 : chunk, 0, fn, arg};
	int			t,
				nt = g_threads > 0 ? g_threads : 1;
	pthread_t	th[256];

	if (nt > 256)
		nt = 256;
	for (t = 1; t < nt; t++)
		pthread_create(&th[t], NULL, pfor_worker, &pf);
	pfor_worker(&pf);
	for (t = 1; t < nt; t++)
		pthread_join(th[t], NULL);
}

/* ------------------------------------------------------------------------
 * random numbers: splitmix64 seeding, xoshiro256**, Box-Muller.
 * The synthetic data sets (and so their ground-truth cache keys and the
 * recorded figures) are defined by this exact sequence: do not swap it.
 * ------------------------------------------------------------------------ */

uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t
rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
rng_seed(Rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
	uint64_t	x = seed * 0x2545F4914F6CDD1DULL ^ (stream + 1) * 0x9E3779B97F4A7C15ULL ^ index * 0xD1B54A32D192ED03ULL;
	int			i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	r->have_gauss = 0;
}

static uint64_t
rng_next(Rng *r)
{
	uint64_t   *s = r->s;
	uint64_t	result = rotl64(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

double
rng_uniform(Rng *r)				/* [0,1) */
{
	return (rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double
rng_gauss(Rng *r)
{
	double		u,
				v,
				m;

	if (r->have_gauss)
	{
		r->have_gauss = 0;
		return r->gauss;
	}
	do
	{
		u = rng_uniform(r);
	} while (u <= 1e-300);
	v = rng_uniform(r);
	m = sqrt(-2.0 * log(u));
	r->gauss = m * sin(2 * M_PI * v);
	r->have_gauss = 1;
	return m * cos(2 * M_PI * v);
}

/* ------------------------------------------------------------------------
 * progress bars (stderr): a bar on a terminal (--progress), else a line per
 * tenth done at most every 5 s, and one a minute in between
 * ------------------------------------------------------------------------ */

void
progress_start(Progress *p, const char *label)
{
	p->label = label;
	p->t0 = now_sec();
	p->last = 0;
	p->last_decile = -1;
	p->active = 1;
}

/* frac < 0: unknown */
void
progress_show(Progress *p, double frac, const char *detail)
{
	double		t = now_sec();
	char		bar[41];
	int			i,
				w;

	if (O.quiet)
		return;
	if (O.progress)
	{
		if (t - p->last < 0.2 && frac < 1.0)
			return;
		p->last = t;
		w = frac < 0 ? 0 : (int) (frac * 30 + 0.5);
		for (i = 0; i < 30; i++)
			bar[i] = i < w ? '#' : (frac < 0 ? '?' : '.');
		bar[30] = 0;
		fprintf(stderr, "\r%-10s [%s] %5.1f%%  %6.1fs  %-50.50s", p->label, bar,
				frac < 0 ? 0.0 : frac * 100, t - p->t0, detail ? detail : "");
		fflush(stderr);
	}
	else
	{
		int			dec = frac < 0 ? -1 : (int) (frac * 10);

		/* and a line a minute through a long phase (a build of hours) */
		if ((dec != p->last_decile && (t - p->last > 5 || dec == 10)) || t - p->last >= 60)
		{
			p->last_decile = dec;
			p->last = t;
			fprintf(stderr, "%s: %5.1f%% %6.1fs %s\n", p->label, frac < 0 ? 0.0 : frac * 100, t - p->t0,
					detail ? detail : "");
		}
	}
}

void
progress_end(Progress *p)
{
	if (p->active && O.progress && !O.quiet)
		fprintf(stderr, "\n");
	p->active = 0;
}

/* ------------------------------------------------------------------------
 * rate progress (stderr) of the long streaming passes: a line every few
 * seconds with the rows done, rows/s since the start of this run and the ETA
 * ------------------------------------------------------------------------ */

void
rate_start(RateProgress *p, const char *label, long first, long total)
{
	p->label = label;
	p->t0 = now_sec();
	p->last = p->t0;
	p->first = first;
	p->total = total;
}

static void
fmt_duration(double s, char *out, size_t len)
{
	long		t = (long) (s + 0.5);

	if (t >= 3600)
		snprintf(out, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
	else if (t >= 60)
		snprintf(out, len, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(out, len, "%lds", t);
}

/* "LABEL: DONE / TOTAL rows (P%), R rows/s, ETA E" (elapsed instead of the ETA when done) */
void
rate_line(const RateProgress *p, long done, char *out, size_t len)
{
	double		el = now_sec() - p->t0,
				rate = el > 0 ? (done - p->first) / el : 0;
	char		tm[32];

	if (done >= p->total)
		fmt_duration(el, tm, sizeof(tm));
	else
		fmt_duration(rate > 0 ? (p->total - done) / rate : 0, tm, sizeof(tm));
	snprintf(out, len, "%s: %ld / %ld rows (%.1f%%), %.0f rows/s, %s %s", p->label, done, p->total,
			 p->total > 0 ? 100.0 * done / p->total : 100.0, rate, done >= p->total ? "took" : "ETA",
			 rate > 0 || done >= p->total ? tm : "?");
}

/* print the line when 5 s have passed since the last one, or when final */
void
rate_show(RateProgress *p, long done, int final)
{
	double		t = now_sec();
	char		line[256];

	if (O.quiet || (!final && t - p->last < 5))
		return;
	p->last = t;
	rate_line(p, done, line, sizeof(line));
	fprintf(stderr, "%s\n", line);
}
