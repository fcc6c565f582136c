/*
 * vecbench: benchmark tool for vecidx (and any other vector index access
 * method installed in PostgreSQL), written against libpq only.
 *
 *   vecbench load|gt|build|query|write|churn|compare|smoke [options]
 *
 * Data sets: fashion-mnist (Debian package dataset-fashion-mnist) and a
 * deterministic synthetic generator (Gaussian mixture in a low latent space,
 * randomly projected).  Exact ground truth (top 100) is computed by brute
 * force on all cores and cached in the data directory.  Every run prints a
 * table on stdout and appends one JSON object per run to a results file.
 *
 * See docs/BENCHMARKS.md and 'vecbench --help'.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

/* names and paths are bounded on purpose; truncation is checked where it matters */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define FLOAT4ARRAYOID 1021
#define GT_K 100
#define MAXSETS 32
#define MAXLIST 64

/* ------------------------------------------------------------------------
 * small utilities
 * ------------------------------------------------------------------------ */

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "vecbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory allocating %zu bytes", n);
	return p;
}

static void *
xcalloc(size_t n, size_t sz)
{
	void	   *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		die("out of memory allocating %zu bytes", n * sz);
	return p;
}

static char *
xstrdup(const char *s)
{
	char	   *p = strdup(s ? s : "");

	if (!p)
		die("out of memory");
	return p;
}

/* growable string buffer */
typedef struct Buf
{
	char	   *s;
	size_t		len,
				cap;
} Buf;

static void
buf_reserve(Buf *b, size_t extra)
{
	if (b->len + extra + 1 > b->cap)
	{
		size_t		nc = b->cap ? b->cap * 2 : 256;

		while (nc < b->len + extra + 1)
			nc *= 2;
		b->s = realloc(b->s, nc);
		if (!b->s)
			die("out of memory");
		b->cap = nc;
	}
}

static void
buf_append(Buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void
buf_printf(Buf *b, const char *fmt, ...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_reserve(b, n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

static void
buf_free(Buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

/* parse "1,2,4" into ints; returns count */
static int
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
static int
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
		snprintf(out[n++], 64, "%s", tok);
	}
	free(copy);
	return n;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* q in [0,1]; sorts v in place */
static double
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

static double
median_of(double *v, int n)
{
	double		tmp[MAXLIST * 4];
	int			i,
				m = 0;

	for (i = 0; i < n && m < (int) (sizeof(tmp) / sizeof(tmp[0])); i++)
		if (!isnan(v[i]))
			tmp[m++] = v[i];
	if (m == 0)
		return NAN;
	qsort(tmp, m, sizeof(double), cmp_double);
	return (m & 1) ? tmp[m / 2] : 0.5 * (tmp[m / 2 - 1] + tmp[m / 2]);
}

/* run a command and return the first line of its output (malloc'd) or NULL */
static char *
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
 * parallel for
 * ------------------------------------------------------------------------ */

typedef void (*range_fn) (long lo, long hi, void *arg);

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

static int g_threads = 0;

static void
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
 * random numbers: splitmix64 seeding, xoshiro256**, Box-Muller
 * ------------------------------------------------------------------------ */

typedef struct Rng
{
	uint64_t	s[4];
	int			have_gauss;
	double		gauss;
} Rng;

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(Rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
	uint64_t	x = seed * 0x2545F4914F6CDD1DULL ^ (stream + 1) * 0x9E3779B97F4A7C15ULL ^ index * 0xD1B54A32D192ED03ULL;
	int			i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	r->have_gauss = 0;
}

static inline uint64_t
rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
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

static double
rng_uniform(Rng *r)				/* [0,1) */
{
	return (rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double
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
 * distance kernels (GCC vector extensions: vectorised at -O2, portable)
 * ------------------------------------------------------------------------ */

enum
{
	METRIC_L2, METRIC_COSINE, METRIC_IP
};
static const char *metric_names[] = {"l2", "cosine", "ip"};
static const char *metric_ops[] = {"<->", "<=>", "<#>"};

typedef float v4sf __attribute__((vector_size(16)));

static inline v4sf
ld4(const float *p)
{
	v4sf		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline float
dot_f(const float *a, const float *b, int d)
{
	v4sf		s0 = {0, 0, 0, 0},
				s1 = s0,
				s2 = s0,
				s3 = s0;
	int			i = 0;
	float		r;

	for (; i + 16 <= d; i += 16)
	{
		s0 += ld4(a + i) * ld4(b + i);
		s1 += ld4(a + i + 4) * ld4(b + i + 4);
		s2 += ld4(a + i + 8) * ld4(b + i + 8);
		s3 += ld4(a + i + 12) * ld4(b + i + 12);
	}
	for (; i + 4 <= d; i += 4)
		s0 += ld4(a + i) * ld4(b + i);
	s0 = (s0 + s1) + (s2 + s3);
	r = (s0[0] + s0[1]) + (s0[2] + s0[3]);
	for (; i < d; i++)
		r += a[i] * b[i];
	return r;
}

static inline float
l2sq_f(const float *a, const float *b, int d)
{
	v4sf		s0 = {0, 0, 0, 0},
				s1 = s0,
				s2 = s0,
				s3 = s0,
				t;
	int			i = 0;
	float		r;

	for (; i + 16 <= d; i += 16)
	{
		t = ld4(a + i) - ld4(b + i);
		s0 += t * t;
		t = ld4(a + i + 4) - ld4(b + i + 4);
		s1 += t * t;
		t = ld4(a + i + 8) - ld4(b + i + 8);
		s2 += t * t;
		t = ld4(a + i + 12) - ld4(b + i + 12);
		s3 += t * t;
	}
	for (; i + 4 <= d; i += 4)
	{
		t = ld4(a + i) - ld4(b + i);
		s0 += t * t;
	}
	s0 = (s0 + s1) + (s2 + s3);
	r = (s0[0] + s0[1]) + (s0[2] + s0[3]);
	for (; i < d; i++)
		r += (a[i] - b[i]) * (a[i] - b[i]);
	return r;
}

/* ------------------------------------------------------------------------
 * options
 * ------------------------------------------------------------------------ */

typedef struct Opts
{
	char		dataset[32];
	long		n;
	int			dim;
	int			nq;
	int			nextra;
	char		metric[16];
	uint64_t	seed;
	int			clusters;
	int			idim;
	double		noise;
	double		spread;
	int			normalize;		/* -1 = auto (on for cosine) */
	char		datadir[1024];
	char		results[1024];
	char		table[64];
	char		conninfo[512];
	char	   *specstr[8];
	int			nspec;
	char		with[256];
	char	   *sets[MAXSETS];
	int			nsets;
	int			k;
	char		values[512];
	char		clients[128];
	int			repeat;
	int			warmup;
	int			server_side;
	int			exact;
	int			generic;
	int			runs;
	int			insert_rows;
	char		batches[128];
	double		delete_frac;
	int			delete_batch;
	int			cycles;
	double		cycle_frac;
	int			reinsert_batch;
	int			write_nq;
	int			force;
	int			progress;
	int			threads;
	char		storage[16];
	char		note[256];
	int			quiet;
} Opts;

static Opts O;
static char g_exedir[1024] = ".";
static int g_results_written = 0;

/* ------------------------------------------------------------------------
 * data sets
 * ------------------------------------------------------------------------ */

typedef struct Dataset
{
	char		name[32];		/* fashion-mnist | synthetic */
	char		key[256];		/* cache key (file names, table markers) */
	char		tabkey[256];	/* key of the base table contents */
	int			metric;
	long		n;
	int			dim;
	int			nq;
	int			nextra;
	float	   *base;
	float	   *query;
	float	   *extra;
	uint64_t	ck_base,
				ck_query,
				ck_extra;
	double		load_seconds;
} Dataset;

typedef struct GroundTruth
{
	int			nq;
	int			K;
	int64_t    *ids;			/* nq * K */
	float	   *dist;			/* nq * K */
	int			cached;			/* loaded from the cache file */
	double		seconds;
} GroundTruth;

static uint64_t
checksum_floats(const float *v, size_t n)
{
	uint64_t	h = 0xcbf29ce484222325ULL ^ n;
	size_t		i;
	uint32_t	w;

	for (i = 0; i < n; i++)
	{
		memcpy(&w, v + i, 4);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h;
}

static unsigned char *
read_idx_gz(const char *path, long *count, int *dim)
{
	char		cmd[2048];
	FILE	   *f;
	unsigned char hdr[16];
	uint32_t	magic,
				n,
				rows,
				cols;
	unsigned char *data;
	size_t		total;

	if (access(path, R_OK) != 0)
		die("cannot read %s (install the Debian package dataset-fashion-mnist)", path);
	snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", path);
	f = popen(cmd, "r");
	if (!f || fread(hdr, 1, 16, f) != 16)
		die("cannot decompress %s", path);
	magic = (uint32_t) hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
	n = (uint32_t) hdr[4] << 24 | hdr[5] << 16 | hdr[6] << 8 | hdr[7];
	rows = (uint32_t) hdr[8] << 24 | hdr[9] << 16 | hdr[10] << 8 | hdr[11];
	cols = (uint32_t) hdr[12] << 24 | hdr[13] << 16 | hdr[14] << 8 | hdr[15];
	if (magic != 0x803)
		die("%s: not an idx3 ubyte file (magic 0x%x)", path, magic);
	total = (size_t) n * rows * cols;
	data = xmalloc(total);
	if (fread(data, 1, total, f) != total)
		die("%s: short read", path);
	pclose(f);
	*count = n;
	*dim = rows * cols;
	return data;
}

static const char *FMNIST_DIR = "/usr/share/datasets/fashion-mnist";

static void
load_fashion_mnist(Dataset *ds)
{
	char		p[1024];
	long		ntrain,
				ntest,
				i;
	int			d1,
				d2;
	unsigned char *train,
			   *test;
	long		avail;

	snprintf(p, sizeof(p), "%s/train-images-idx3-ubyte.gz", FMNIST_DIR);
	train = read_idx_gz(p, &ntrain, &d1);
	snprintf(p, sizeof(p), "%s/t10k-images-idx3-ubyte.gz", FMNIST_DIR);
	test = read_idx_gz(p, &ntest, &d2);
	if (d1 != d2)
		die("fashion-mnist: dimension mismatch");
	ds->dim = d1;
	ds->n = O.n > 0 ? O.n : ntrain;
	if (ds->n > ntrain)
		die("fashion-mnist has %ld base vectors, --n %ld asked", ntrain, ds->n);
	ds->nq = O.nq;
	if (ds->nq > ntest)
		die("fashion-mnist has %ld query vectors, --nq %d asked", ntest, ds->nq);
	/* extra vectors (for inserts): the test images not used as queries, then
	 * the train images beyond --n */
	avail = (ntest - ds->nq) + (ntrain - ds->n);
	ds->nextra = O.nextra >= 0 ? O.nextra : 1000;
	if (ds->nextra > avail)
		ds->nextra = avail;
	ds->base = xmalloc(sizeof(float) * ds->n * ds->dim);
	ds->query = xmalloc(sizeof(float) * (size_t) ds->nq * ds->dim);
	ds->extra = xmalloc(sizeof(float) * (size_t) (ds->nextra ? ds->nextra : 1) * ds->dim);
	for (i = 0; i < ds->n * ds->dim; i++)
		ds->base[i] = train[i];
	for (i = 0; i < (long) ds->nq * ds->dim; i++)
		ds->query[i] = test[i];
	for (i = 0; i < ds->nextra; i++)
	{
		long		src = ds->nq + i;
		const unsigned char *s = src < ntest ? test + src * ds->dim : train + (ds->n + src - ntest) * ds->dim;
		int			j;

		for (j = 0; j < ds->dim; j++)
			ds->extra[i * ds->dim + j] = s[j];
	}
	free(train);
	free(test);
}

/* synthetic generator model, derived from the seed only */
typedef struct SynModel
{
	int			dim,
				idim,
				clusters,
				normalize;
	double		noise;
	uint64_t	seed;
	float	   *proj;			/* idim x dim */
	float	   *centers;		/* clusters x idim */
	float	   *scales;			/* clusters x idim */
	double	   *cumw;			/* clusters */
	float	   *out;			/* destination */
	int			stream;
} SynModel;

static void
syn_model_init(SynModel *m, int dim, int idim, int clusters, double spread, double noise, int normalize, uint64_t seed)
{
	Rng			r;
	int			i,
				j;
	double		tot = 0;

	m->dim = dim;
	m->idim = idim;
	m->clusters = clusters;
	m->noise = noise;
	m->normalize = normalize;
	m->seed = seed;
	rng_seed(&r, seed, 1000, 0);
	m->proj = xmalloc(sizeof(float) * idim * dim);
	for (i = 0; i < idim * dim; i++)
		m->proj[i] = rng_gauss(&r) / sqrt((double) idim);
	m->centers = xmalloc(sizeof(float) * clusters * idim);
	m->scales = xmalloc(sizeof(float) * clusters * idim);
	m->cumw = xmalloc(sizeof(double) * clusters);
	for (i = 0; i < clusters; i++)
	{
		for (j = 0; j < idim; j++)
		{
			m->centers[i * idim + j] = rng_gauss(&r);
			/* anisotropic clusters: a per-axis spread around 'spread' */
			m->scales[i * idim + j] = spread * (0.5 + rng_uniform(&r));
		}
		/* uneven cluster sizes (log-normal weights) */
		tot += exp(0.8 * rng_gauss(&r));
		m->cumw[i] = tot;
	}
	for (i = 0; i < clusters; i++)
		m->cumw[i] /= tot;
}

static void
syn_gen_range(long lo, long hi, void *arg)
{
	SynModel   *m = arg;
	float	   *z = xmalloc(sizeof(float) * m->idim);
	long		i;

	for (i = lo; i < hi; i++)
	{
		Rng			r;
		double		u;
		int			c = 0,
					l,
					j;
		float	   *x = m->out + (size_t) i * m->dim;

		rng_seed(&r, m->seed, m->stream, i);
		u = rng_uniform(&r);
		while (c < m->clusters - 1 && m->cumw[c] < u)
			c++;
		for (l = 0; l < m->idim; l++)
			z[l] = m->centers[c * m->idim + l] + m->scales[c * m->idim + l] * rng_gauss(&r);
		for (j = 0; j < m->dim; j++)
			x[j] = 0;
		for (l = 0; l < m->idim; l++)
		{
			const float *p = m->proj + (size_t) l * m->dim;
			float		zl = z[l];

			for (j = 0; j < m->dim; j++)
				x[j] += zl * p[j];
		}
		for (j = 0; j < m->dim; j++)
			x[j] += m->noise * rng_gauss(&r);
		if (m->normalize)
		{
			double		s = 0;

			for (j = 0; j < m->dim; j++)
				s += (double) x[j] * x[j];
			s = sqrt(s);
			if (s > 0)
				for (j = 0; j < m->dim; j++)
					x[j] = x[j] / s;
		}
	}
	free(z);
}

static void
load_synthetic(Dataset *ds, int metric)
{
	SynModel	m;
	int			normalize = O.normalize >= 0 ? O.normalize : (metric == METRIC_COSINE);

	ds->n = O.n > 0 ? O.n : 10000;
	ds->dim = O.dim > 0 ? O.dim : 128;
	ds->nq = O.nq;
	ds->nextra = O.nextra >= 0 ? O.nextra : 1000;
	if (O.idim <= 0)
		O.idim = ds->dim < 32 ? ds->dim : 32;	/* default: min(32, dim) */
	if (O.idim > ds->dim)
		die("--idim %d is larger than --dim %d", O.idim, ds->dim);
	syn_model_init(&m, ds->dim, O.idim, O.clusters, O.spread, O.noise, normalize, O.seed);
	ds->base = xmalloc(sizeof(float) * ds->n * ds->dim);
	ds->query = xmalloc(sizeof(float) * (size_t) ds->nq * ds->dim);
	ds->extra = xmalloc(sizeof(float) * (size_t) (ds->nextra ? ds->nextra : 1) * ds->dim);
	m.out = ds->base;
	m.stream = 0;
	parallel_for(ds->n, 2048, syn_gen_range, &m);
	m.out = ds->query;
	m.stream = 1;
	parallel_for(ds->nq, 2048, syn_gen_range, &m);
	m.out = ds->extra;
	m.stream = 2;
	parallel_for(ds->nextra, 2048, syn_gen_range, &m);
	free(m.proj);
	free(m.centers);
	free(m.scales);
	free(m.cumw);
}

static int
metric_from_name(const char *s)
{
	int			i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, metric_names[i]) == 0)
			return i;
	die("unknown metric '%s' (l2, cosine, ip)", s);
	return 0;
}

static void
dataset_load(Dataset *ds)
{
	double		t0 = now_sec();
	int			metric;

	memset(ds, 0, sizeof(*ds));
	snprintf(ds->name, sizeof(ds->name), "%s", O.dataset);
	if (strcmp(O.dataset, "fashion-mnist") == 0)
	{
		metric = metric_from_name(O.metric[0] ? O.metric : "l2");
		load_fashion_mnist(ds);
	}
	else if (strcmp(O.dataset, "synthetic") == 0)
	{
		metric = metric_from_name(O.metric[0] ? O.metric : "l2");
		load_synthetic(ds, metric);
	}
	else
	{
		die("unknown data set '%s' (fashion-mnist, synthetic)", O.dataset);
		return;
	}
	ds->metric = metric;
	ds->ck_base = checksum_floats(ds->base, (size_t) ds->n * ds->dim);
	ds->ck_query = checksum_floats(ds->query, (size_t) ds->nq * ds->dim);
	ds->ck_extra = checksum_floats(ds->extra, (size_t) ds->nextra * ds->dim);
	snprintf(ds->tabkey, sizeof(ds->tabkey), "%s-n%ld-d%d-%016llx", ds->name, ds->n, ds->dim,
			 (unsigned long long) ds->ck_base);
	snprintf(ds->key, sizeof(ds->key), "%s-n%ld-d%d-q%d-%016llx", ds->name, ds->n, ds->dim, ds->nq,
			 (unsigned long long) (ds->ck_base ^ rotl64(ds->ck_query, 17)));
	ds->load_seconds = now_sec() - t0;
	if (!O.quiet)
		fprintf(stderr, "data set %s: %ld base vectors, %d queries, %d extra, dim %d, metric %s (%.1f s)\n",
				ds->name, ds->n, ds->nq, ds->nextra, ds->dim, metric_names[metric], ds->load_seconds);
}

static void
dataset_free(Dataset *ds)
{
	free(ds->base);
	free(ds->query);
	free(ds->extra);
	ds->base = ds->query = ds->extra = NULL;
}

/* ------------------------------------------------------------------------
 * ground truth: exact top-K by brute force, all cores
 * ------------------------------------------------------------------------ */

typedef struct GtJob
{
	const float *base;
	const int64_t *base_ids;	/* NULL: row number */
	long		n;
	const float *q;
	int			nq,
				dim,
				K,
				metric;
	const float *bnorm;			/* cosine */
	int64_t    *ids;
	float	   *dist;
	long		done;			/* progress: query blocks done */
} GtJob;

#define GT_QB 8

typedef struct HeapEnt
{
	float		d;
	int64_t		id;
} HeapEnt;

/* max-heap on (d, id) */
static inline int
he_gt(const HeapEnt *a, const HeapEnt *b)
{
	return a->d > b->d || (a->d == b->d && a->id > b->id);
}

static void
heap_push(HeapEnt *h, int *sz, int K, float d, int64_t id)
{
	int			i;

	if (*sz < K)
	{
		i = (*sz)++;
		h[i].d = d;
		h[i].id = id;
		while (i > 0)
		{
			int			p = (i - 1) / 2;

			if (!he_gt(&h[i], &h[p]))
				break;
			HeapEnt		t = h[i];

			h[i] = h[p];
			h[p] = t;
			i = p;
		}
	}
	else
	{
		HeapEnt		e = {d, id};

		if (!he_gt(&h[0], &e))
			return;
		h[0] = e;
		i = 0;
		for (;;)
		{
			int			l = 2 * i + 1,
						r = l + 1,
						m = i;

			if (l < K && he_gt(&h[l], &h[m]))
				m = l;
			if (r < K && he_gt(&h[r], &h[m]))
				m = r;
			if (m == i)
				break;
			HeapEnt		t = h[i];

			h[i] = h[m];
			h[m] = t;
			i = m;
		}
	}
}

static int
cmp_heapent(const void *a, const void *b)
{
	const HeapEnt *x = a,
			   *y = b;

	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void
gt_range(long lo, long hi, void *arg)
{
	GtJob	   *J = arg;
	long		blk;
	HeapEnt    *heaps = xmalloc(sizeof(HeapEnt) * GT_QB * J->K);

	for (blk = lo; blk < hi; blk++)
	{
		int			q0 = blk * GT_QB,
					nqb = J->nq - q0 < GT_QB ? J->nq - q0 : GT_QB,
					sz[GT_QB] = {0},
					a;
		float		qn[GT_QB];
		long		i;

		for (a = 0; a < nqb; a++)
		{
			const float *qv = J->q + (size_t) (q0 + a) * J->dim;

			qn[a] = sqrtf(dot_f(qv, qv, J->dim));
		}
		for (i = 0; i < J->n; i++)
		{
			const float *x = J->base + (size_t) i * J->dim;
			int64_t		id = J->base_ids ? J->base_ids[i] : i;

			for (a = 0; a < nqb; a++)
			{
				const float *qv = J->q + (size_t) (q0 + a) * J->dim;
				float		d;

				if (J->metric == METRIC_L2)
					d = l2sq_f(qv, x, J->dim);
				else if (J->metric == METRIC_IP)
					d = -dot_f(qv, x, J->dim);
				else
				{
					float		den = qn[a] * J->bnorm[i];

					d = den > 0 ? 1.0f - dot_f(qv, x, J->dim) / den : 1.0f;
				}
				heap_push(heaps + a * J->K, &sz[a], J->K, d, id);
			}
		}
		for (a = 0; a < nqb; a++)
		{
			HeapEnt    *h = heaps + a * J->K;
			int			j;

			qsort(h, sz[a], sizeof(HeapEnt), cmp_heapent);
			for (j = 0; j < J->K; j++)
			{
				size_t		o = (size_t) (q0 + a) * J->K + j;

				J->ids[o] = j < sz[a] ? h[j].id : -1;
				J->dist[o] = j < sz[a] ? (J->metric == METRIC_L2 ? sqrtf(h[j].d) : h[j].d) : INFINITY;
			}
		}
		__atomic_fetch_add(&J->done, 1, __ATOMIC_RELAXED);
	}
	free(heaps);
}

static void
bnorm_range(long lo, long hi, void *arg)
{
	GtJob	   *J = arg;
	long		i;

	for (i = lo; i < hi; i++)
	{
		const float *x = J->base + (size_t) i * J->dim;

		((float *) J->bnorm)[i] = sqrtf(dot_f(x, x, J->dim));
	}
}

/* exact top-K of nq queries over n base vectors */
static void
compute_gt(const float *base, const int64_t *base_ids, long n, const float *q, int nq, int dim,
		   int metric, int K, GroundTruth *gt)
{
	GtJob		J = {base, base_ids, n, q, nq, dim, K, metric, NULL, NULL, NULL, 0};
	double		t0 = now_sec();

	gt->nq = nq;
	gt->K = K;
	gt->ids = xmalloc(sizeof(int64_t) * nq * K);
	gt->dist = xmalloc(sizeof(float) * nq * K);
	J.ids = gt->ids;
	J.dist = gt->dist;
	if (metric == METRIC_COSINE)
	{
		J.bnorm = xmalloc(sizeof(float) * (n ? n : 1));
		parallel_for(n, 4096, bnorm_range, &J);
	}
	parallel_for((nq + GT_QB - 1) / GT_QB, 1, gt_range, &J);
	free((void *) J.bnorm);
	gt->seconds = now_sec() - t0;
	gt->cached = 0;
}

static void
gt_free(GroundTruth *gt)
{
	free(gt->ids);
	free(gt->dist);
	gt->ids = NULL;
	gt->dist = NULL;
}

static void
gt_path(const Dataset *ds, char *path, size_t len)
{
	snprintf(path, len, "%s/%s.%s.k%d.gt", O.datadir, ds->key, metric_names[ds->metric], GT_K);
}

#define GT_MAGIC 0x31544742u	/* "BGT1" */

/* load the cached ground truth of ds, or compute and cache it */
static void
gt_get(const Dataset *ds, GroundTruth *gt)
{
	char		path[2048];
	FILE	   *f;
	uint32_t	hdr[4];

	gt_path(ds, path, sizeof(path));
	memset(gt, 0, sizeof(*gt));
	f = fopen(path, "rb");
	if (f)
	{
		if (fread(hdr, sizeof(hdr), 1, f) == 1 && hdr[0] == GT_MAGIC && (int) hdr[1] == ds->nq &&
			hdr[2] == GT_K && (int) hdr[3] == ds->metric)
		{
			int32_t    *ids32 = xmalloc(sizeof(int32_t) * ds->nq * GT_K);
			double		t0 = now_sec();

			gt->nq = ds->nq;
			gt->K = GT_K;
			gt->ids = xmalloc(sizeof(int64_t) * ds->nq * GT_K);
			gt->dist = xmalloc(sizeof(float) * ds->nq * GT_K);
			if (fread(ids32, sizeof(int32_t), (size_t) ds->nq * GT_K, f) == (size_t) ds->nq * GT_K &&
				fread(gt->dist, sizeof(float), (size_t) ds->nq * GT_K, f) == (size_t) ds->nq * GT_K)
			{
				long		i;

				for (i = 0; i < (long) ds->nq * GT_K; i++)
					gt->ids[i] = ids32[i];
				free(ids32);
				fclose(f);
				gt->cached = 1;
				gt->seconds = now_sec() - t0;
				if (!O.quiet)
					fprintf(stderr, "ground truth: cached %s\n", path);
				return;
			}
			free(ids32);
			gt_free(gt);
		}
		fclose(f);
		fprintf(stderr, "ground truth: ignoring unreadable cache %s\n", path);
	}
	if (!O.quiet)
		fprintf(stderr, "ground truth: computing exact top-%d of %d queries over %ld vectors on %d threads...\n",
				GT_K, ds->nq, ds->n, g_threads);
	compute_gt(ds->base, NULL, ds->n, ds->query, ds->nq, ds->dim, ds->metric, GT_K, gt);
	if (!O.quiet)
		fprintf(stderr, "ground truth: computed in %.1f s\n", gt->seconds);
	{
		char		tmp[2100];
		int32_t    *ids32 = xmalloc(sizeof(int32_t) * ds->nq * GT_K);
		long		i;

		mkdir(O.datadir, 0755);
		for (i = 0; i < (long) ds->nq * GT_K; i++)
			ids32[i] = (int32_t) gt->ids[i];
		snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int) getpid());
		f = fopen(tmp, "wb");
		if (!f)
		{
			fprintf(stderr, "ground truth: cannot write cache %s: %s\n", tmp, strerror(errno));
			free(ids32);
			return;
		}
		hdr[0] = GT_MAGIC;
		hdr[1] = ds->nq;
		hdr[2] = GT_K;
		hdr[3] = ds->metric;
		if (fwrite(hdr, sizeof(hdr), 1, f) != 1 ||
			fwrite(ids32, sizeof(int32_t), (size_t) ds->nq * GT_K, f) != (size_t) ds->nq * GT_K ||
			fwrite(gt->dist, sizeof(float), (size_t) ds->nq * GT_K, f) != (size_t) ds->nq * GT_K ||
			fclose(f) != 0 || rename(tmp, path) != 0)
			fprintf(stderr, "ground truth: cannot write cache %s\n", path);
		else if (!O.quiet)
			fprintf(stderr, "ground truth: cached in %s\n", path);
		free(ids32);
	}
}

/*
 * recall@k of one result list against the exact top-K of its query.
 * Tie tolerant: a returned id counts when it is one of the exact neighbours
 * whose distance is within the k-th exact distance (plus a relative 1e-5
 * for rounding), so any of several equally distant vectors is accepted.
 * Duplicate ids count once; negative ids never count.
 */
static double
recall_at(const int64_t *res, int nres, const int64_t *gtids, const float *gtd, int K, int k)
{
	float		thr;
	int			i,
				j,
				hits = 0;

	if (k > K)
		k = K;
	if (k <= 0)
		return NAN;
	thr = gtd[k - 1];
	thr += fabsf(thr) * 1e-5f + 1e-6f;
	for (i = 0; i < nres && i < k; i++)
	{
		int			dup = 0;

		if (res[i] < 0)
			continue;
		for (j = 0; j < i; j++)
			if (res[j] == res[i])
				dup = 1;
		if (dup)
			continue;
		for (j = 0; j < K && gtd[j] <= thr; j++)
			if (gtids[j] == res[i])
			{
				hits++;
				break;
			}
	}
	return (double) hits / k;
}

/* ------------------------------------------------------------------------
 * database helpers
 * ------------------------------------------------------------------------ */

static void
quiet_notice(void *arg, const char *msg)
{
	(void) arg;
	(void) msg;
}

static PGconn *
db_connect(void)
{
	PGconn	   *c = PQconnectdb(O.conninfo);
	int			i;

	if (PQstatus(c) != CONNECTION_OK)
		die("connection failed: %s", PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet_notice, NULL);
	for (i = 0; i < O.nsets; i++)
	{
		char	   *eq = strchr(O.sets[i], '=');
		char		sql[1024];
		char	   *val;
		PGresult   *r;

		if (!eq)
			die("--set expects NAME=VALUE, got '%s'", O.sets[i]);
		val = PQescapeLiteral(c, eq + 1, strlen(eq + 1));
		snprintf(sql, sizeof(sql), "SET %.*s = %s", (int) (eq - O.sets[i]), O.sets[i], val);
		PQfreemem(val);
		r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			die("%s: %s", sql, PQerrorMessage(c));
		PQclear(r);
	}
	return c;
}

static void
db_exec(PGconn *c, const char *fmt, ...)
{
	va_list		ap;
	Buf			b = {0};
	PGresult   *r;

	va_start(ap, fmt);
	{
		va_list		ap2;
		int			n;

		va_copy(ap2, ap);
		n = vsnprintf(NULL, 0, fmt, ap2);
		va_end(ap2);
		buf_reserve(&b, n);
		vsnprintf(b.s, n + 1, fmt, ap);
		b.len = n;
	}
	va_end(ap);
	r = PQexec(c, b.s);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		die("SQL failed: %s\n  %s", b.s, PQerrorMessage(c));
	PQclear(r);
	buf_free(&b);
}

/* returns 1 on success; prints the error (unless quiet) and returns 0 otherwise */
static int
db_try(PGconn *c, int quiet, const char *sql)
{
	PGresult   *r = PQexec(c, sql);
	int			ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok && !quiet)
		fprintf(stderr, "vecbench: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return ok;
}

/* first column of first row as malloc'd string, NULL for SQL NULL or no row */
static char *
db_value(PGconn *c, const char *fmt, ...)
{
	va_list		ap;
	char		sql[4096];
	PGresult   *r;
	char	   *res = NULL;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("SQL failed: %s\n  %s", sql, PQerrorMessage(c));
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		res = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return res;
}

static long long
db_int(PGconn *c, const char *fmt, ...)
{
	va_list		ap;
	char		sql[4096];
	char	   *v;
	long long	x;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	v = db_value(c, "%s", sql);
	x = v ? atoll(v) : -1;
	free(v);
	return x;
}

/* peak and current resident memory of a local backend, from /proc */
typedef struct Mem
{
	long		hwm_kb;
	long		rss_kb;
	long		anon_kb;
} Mem;

static Mem
proc_mem(int pid)
{
	char		path[64],
				line[256];
	FILE	   *f;
	Mem			m = {-1, -1, -1};

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return m;
	while (fgets(line, sizeof(line), f))
	{
		if (strncmp(line, "VmHWM:", 6) == 0)
			m.hwm_kb = atol(line + 6);
		else if (strncmp(line, "VmRSS:", 6) == 0)
			m.rss_kb = atol(line + 6);
		else if (strncmp(line, "RssAnon:", 8) == 0)
			m.anon_kb = atol(line + 8);
	}
	fclose(f);
	return m;
}

static void
append_be32(Buf *b, uint32_t v)
{
	v = htobe32(v);
	buf_append(b, &v, 4);
}

static void
append_float_array(Buf *b, const float *v, int dim)
{
	int			j;

	append_be32(b, 1);			/* ndim */
	append_be32(b, 0);			/* flags: no nulls */
	append_be32(b, 700);		/* element type float4 */
	append_be32(b, dim);
	append_be32(b, 1);			/* lower bound */
	for (j = 0; j < dim; j++)
	{
		uint32_t	w;

		append_be32(b, 4);
		memcpy(&w, v + j, 4);
		append_be32(b, w);
	}
}

/* ------------------------------------------------------------------------
 * progress bars (stderr)
 * ------------------------------------------------------------------------ */

typedef struct Progress
{
	const char *label;
	double		t0;
	double		last;
	int			last_decile;
	int			active;
} Progress;

static void
progress_start(Progress *p, const char *label)
{
	p->label = label;
	p->t0 = now_sec();
	p->last = 0;
	p->last_decile = -1;
	p->active = 1;
}

/* frac < 0: unknown */
static void
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

		if (dec != p->last_decile && (t - p->last > 5 || dec == 10))
		{
			p->last_decile = dec;
			p->last = t;
			fprintf(stderr, "%s: %5.1f%% %6.1fs %s\n", p->label, frac < 0 ? 0.0 : frac * 100, t - p->t0,
					detail ? detail : "");
		}
	}
}

static void
progress_end(Progress *p)
{
	if (p->active && O.progress && !O.quiet)
		fprintf(stderr, "\n");
	p->active = 0;
}

/* ------------------------------------------------------------------------
 * index specs (access method, opclass, column type, GUC)
 * ------------------------------------------------------------------------ */

typedef struct Spec
{
	char		label[64];
	char		am[64];
	char		ops[96];
	char		type[96];
	char		guc[96];
	char		with[256];
	char		ext[64];
	char		raw[512];
	/* resolved */
	char		table[128];
	char		qtable[128];
	char		index[160];
	char		param[160];
	int			is_real;
} Spec;

static void
base_table_name(const Dataset *ds, char *out, size_t len)
{
	if (O.table[0])
		snprintf(out, len, "%s", O.table);
	else if (strcmp(ds->name, "fashion-mnist") == 0)
	{
		if (ds->n == 60000)
			snprintf(out, len, "vb_fmnist");
		else
			snprintf(out, len, "vb_fmnist_%ld", ds->n);
	}
	else
		snprintf(out, len, "vb_syn_%ld_%d_%s", ds->n, ds->dim, metric_names[ds->metric]);
}

static void
slugify(const char *in, char *out, size_t len)
{
	size_t		o = 0;

	for (; *in && o + 1 < len; in++)
		if (isalnum((unsigned char) *in))
			out[o++] = tolower((unsigned char) *in);
	out[o] = 0;
}

static void
spec_parse(Spec *s, const char *str, const Dataset *ds)
{
	char	   *copy = xstrdup(str),
			   *tok,
			   *save = NULL;
	char		base[128];
	int			first = 1;

	memset(s, 0, sizeof(*s));
	snprintf(s->raw, sizeof(s->raw), "%s", str);
	for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save), first = 0)
	{
		char	   *eq = strchr(tok, '=');

		while (*tok == ' ')
			tok++;
		if (!*tok)
			continue;
		if (first && !eq)
		{
			if (strcmp(tok, "vechnsw") == 0 || strcmp(tok, "vecidx") == 0)
			{
				snprintf(s->label, sizeof(s->label), "vechnsw");
				snprintf(s->am, sizeof(s->am), "vechnsw");
				snprintf(s->type, sizeof(s->type), "real[]");
				snprintf(s->ext, sizeof(s->ext), "vecidx");
			}
			else if (strcmp(tok, "pgvector") == 0 || strcmp(tok, "hnsw") == 0)
			{
				snprintf(s->label, sizeof(s->label), "pgvector");
				snprintf(s->am, sizeof(s->am), "hnsw");
				snprintf(s->type, sizeof(s->type), "vector(%d)", ds->dim);
				snprintf(s->ext, sizeof(s->ext), "vector");
			}
			else if (strcmp(tok, "exact") == 0 || strcmp(tok, "seqscan") == 0)
			{
				snprintf(s->label, sizeof(s->label), "exact");
				snprintf(s->am, sizeof(s->am), "none");
				snprintf(s->type, sizeof(s->type), "real[]");
				snprintf(s->ext, sizeof(s->ext), "vecidx");
			}
			else
				die("unknown spec preset '%s' (vechnsw, pgvector, exact, or key=value;...)", tok);
			continue;
		}
		if (!eq)
			die("spec item '%s' is not key=value", tok);
		*eq = 0;
		if (strcmp(tok, "am") == 0)
			snprintf(s->am, sizeof(s->am), "%s", eq + 1);
		else if (strcmp(tok, "ops") == 0 || strcmp(tok, "opclass") == 0)
			snprintf(s->ops, sizeof(s->ops), "%s", eq + 1);
		else if (strcmp(tok, "type") == 0)
			snprintf(s->type, sizeof(s->type), "%s", eq + 1);
		else if (strcmp(tok, "guc") == 0)
			snprintf(s->guc, sizeof(s->guc), "%s", eq + 1);
		else if (strcmp(tok, "with") == 0)
			snprintf(s->with, sizeof(s->with), "%s", eq + 1);
		else if (strcmp(tok, "ext") == 0)
			snprintf(s->ext, sizeof(s->ext), "%s", eq + 1);
		else if (strcmp(tok, "name") == 0 || strcmp(tok, "label") == 0)
			snprintf(s->label, sizeof(s->label), "%s", eq + 1);
		else
			die("unknown spec key '%s' (am, ops, type, guc, with, ext, name)", tok);
	}
	free(copy);
	if (!s->am[0])
		die("spec '%s' names no access method (am=...)", str);
	if (!s->type[0])
		snprintf(s->type, sizeof(s->type), "real[]");
	{
		char		t[96];

		slugify(s->type, t, sizeof(t));
		s->is_real = strcmp(t, "real") == 0 || strcmp(t, "float4") == 0;
		if (s->is_real && strchr(s->type, '['))
			s->is_real = 1;
		else
			s->is_real = 0;
	}
	if (!s->ops[0] && strcmp(s->am, "none") != 0)
	{
		if (strncmp(s->type, "vector", 6) == 0)
			snprintf(s->ops, sizeof(s->ops), "vector_%s_ops", metric_names[ds->metric]);
		else if (strncmp(s->type, "halfvec", 7) == 0)
			snprintf(s->ops, sizeof(s->ops), "halfvec_%s_ops", metric_names[ds->metric]);
		else if (s->is_real)
			snprintf(s->ops, sizeof(s->ops), "real_%s_ops", metric_names[ds->metric]);
		else
			die("spec '%s': give the operator class (ops=...)", str);
	}
	if (!s->guc[0] && strcmp(s->am, "none") != 0)
		snprintf(s->guc, sizeof(s->guc), "%s.ef_search", s->am);
	if (!s->with[0] && strcmp(s->am, "none") != 0)
		snprintf(s->with, sizeof(s->with), "%s", O.with);
	if (!s->label[0])
		snprintf(s->label, sizeof(s->label), "%s", s->am);

	base_table_name(ds, base, sizeof(base));
	if (s->is_real)
	{
		snprintf(s->table, sizeof(s->table), "%s", base);
		snprintf(s->qtable, sizeof(s->qtable), "%s_q", base);
		snprintf(s->param, sizeof(s->param), "$1");
	}
	else
	{
		char		t[96];

		slugify(s->type, t, sizeof(t));
		snprintf(s->table, sizeof(s->table), "%s_%s", base, t);
		snprintf(s->qtable, sizeof(s->qtable), "%s_q_%s", base, t);
		snprintf(s->param, sizeof(s->param), "$1::real[]::%s", s->type);
	}
	snprintf(s->index, sizeof(s->index), "%.40s_%.16s_idx", s->table, s->am);
}

/* ------------------------------------------------------------------------
 * run metadata and JSON output
 * ------------------------------------------------------------------------ */

typedef struct Json
{
	Buf			b;
	int			need_comma[64];
	int			depth;
} Json;

static void
j_key(Json *j, const char *key)
{
	if (j->need_comma[j->depth])
		buf_append(&j->b, ",", 1);
	j->need_comma[j->depth] = 1;
	if (key)
	{
		const char *p;

		buf_append(&j->b, "\"", 1);
		for (p = key; *p; p++)
			buf_append(&j->b, p, 1);
		buf_append(&j->b, "\":", 2);
	}
}

static void
j_rawstr(Json *j, const char *s)
{
	const unsigned char *p;

	buf_append(&j->b, "\"", 1);
	for (p = (const unsigned char *) s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
		{
			buf_append(&j->b, "\\", 1);
			buf_append(&j->b, p, 1);
		}
		else if (*p < 0x20)
			buf_printf(&j->b, "\\u%04x", *p);
		else
			buf_append(&j->b, p, 1);
	}
	buf_append(&j->b, "\"", 1);
}

static void
j_obj(Json *j, const char *key)
{
	j_key(j, key);
	buf_append(&j->b, "{", 1);
	j->need_comma[++j->depth] = 0;
}

static void
j_end(Json *j)
{
	buf_append(&j->b, "}", 1);
	j->depth--;
}

static void
j_arr(Json *j, const char *key)
{
	j_key(j, key);
	buf_append(&j->b, "[", 1);
	j->need_comma[++j->depth] = 0;
}

static void
j_endarr(Json *j)
{
	buf_append(&j->b, "]", 1);
	j->depth--;
}

static void
j_str(Json *j, const char *key, const char *v)
{
	j_key(j, key);
	if (v)
		j_rawstr(j, v);
	else
		buf_append(&j->b, "null", 4);
}

static void
j_num(Json *j, const char *key, double v)
{
	j_key(j, key);
	if (isnan(v) || isinf(v))
		buf_append(&j->b, "null", 4);
	else if (v == floor(v) && fabs(v) < 1e15)
		buf_printf(&j->b, "%.0f", v);
	else
		buf_printf(&j->b, "%.6g", v);
}

static void
j_int(Json *j, const char *key, long long v)
{
	j_key(j, key);
	buf_printf(&j->b, "%lld", v);
}

static void
j_bool(Json *j, const char *key, int v)
{
	j_key(j, key);
	buf_append(&j->b, v ? "true" : "false", v ? 4 : 5);
}

typedef struct Meta
{
	char	   *git_commit;
	int			git_dirty;
	char	   *pg_version;
	Buf			extensions;		/* JSON object text */
	Buf			settings;		/* JSON object text */
	char		hostname[256];
	char		kernel[256];
	char		cpu[256];
	int			ncpu;
	long long	mem_bytes;
	int			loaded;
} Meta;

static Meta g_meta;

static void
meta_collect(PGconn *c)
{
	struct utsname u;
	FILE	   *f;
	char		line[512],
				cmd[1200];
	PGresult   *r;
	int			i;
	Json		j = {0};

	if (g_meta.loaded)
		return;
	g_meta.loaded = 1;
	snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse HEAD 2>/dev/null", g_exedir);
	g_meta.git_commit = popen_line(cmd);
	snprintf(cmd, sizeof(cmd), "git -C '%s' status --porcelain --untracked-files=no 2>/dev/null | head -1", g_exedir);
	{
		char	   *d = popen_line(cmd);

		g_meta.git_dirty = d && *d;
		free(d);
	}
	gethostname(g_meta.hostname, sizeof(g_meta.hostname) - 1);
	if (uname(&u) == 0)
		snprintf(g_meta.kernel, sizeof(g_meta.kernel), "%s %s %s", u.sysname, u.release, u.machine);
	g_meta.ncpu = (int) sysconf(_SC_NPROCESSORS_ONLN);
	g_meta.mem_bytes = (long long) sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
	f = fopen("/proc/cpuinfo", "r");
	if (f)
	{
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "model name", 10) == 0)
			{
				char	   *p = strchr(line, ':');

				if (p)
				{
					p++;
					while (*p == ' ')
						p++;
					p[strcspn(p, "\n")] = 0;
					snprintf(g_meta.cpu, sizeof(g_meta.cpu), "%s", p);
				}
				break;
			}
		fclose(f);
	}
	g_meta.pg_version = db_value(c, "SHOW server_version");
	r = PQexec(c, "SELECT extname, extversion FROM pg_extension ORDER BY 1");
	j_obj(&j, NULL);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		for (i = 0; i < PQntuples(r); i++)
			j_str(&j, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	/* modification time of each extension's shared library, when the server is local:
	 * tells which build of the code a run used while the code is being changed */
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
	{
		char	   *libdir = NULL;
		PGresult   *r2 = PQexec(c, "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'");

		if (PQresultStatus(r2) == PGRES_TUPLES_OK && PQntuples(r2) == 1)
			libdir = xstrdup(PQgetvalue(r2, 0, 0));
		PQclear(r2);
		j_obj(&j, "_library_mtime");
		for (i = 0; libdir && i < PQntuples(r); i++)
		{
			char		path[1200],
						ts[64];
			struct stat st;

			snprintf(path, sizeof(path), "%s/%s.so", libdir, PQgetvalue(r, i, 0));
			if (stat(path, &st) == 0)
			{
				strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&st.st_mtime));
				j_str(&j, PQgetvalue(r, i, 0), ts);
			}
		}
		j_end(&j);
		free(libdir);
	}
	j_end(&j);
	PQclear(r);
	g_meta.extensions = j.b;
	memset(&j, 0, sizeof(j));
	r = PQexec(c, "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
			   "('shared_buffers','maintenance_work_mem','work_mem','max_parallel_maintenance_workers',"
			   "'max_parallel_workers_per_gather','max_worker_processes','effective_cache_size','jit',"
			   "'fsync','synchronous_commit','full_page_writes','wal_level','max_wal_size','autovacuum',"
			   "'random_page_cost','huge_pages') ORDER BY 1");
	j_obj(&j, NULL);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		for (i = 0; i < PQntuples(r); i++)
			j_str(&j, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	j_end(&j);
	PQclear(r);
	g_meta.settings = j.b;
}

static void
meta_refresh_extensions(PGconn *c)
{
	g_meta.loaded = 0;
	buf_free(&g_meta.extensions);
	buf_free(&g_meta.settings);
	free(g_meta.git_commit);
	free(g_meta.pg_version);
	meta_collect(c);
}

/* begin one result object; the caller fills "results" and calls json_run_end */
static void
json_run_begin(Json *j, const char *sub, const Dataset *ds, const Spec *s)
{
	time_t		t = time(NULL);
	char		ts[64];
	int			i;

	memset(j, 0, sizeof(*j));
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	j_obj(j, NULL);
	j_str(j, "tool", "vecbench");
	j_int(j, "format", 1);
	j_str(j, "subcommand", sub);
	j_str(j, "time", ts);
	j_str(j, "git_commit", g_meta.git_commit);
	j_bool(j, "git_dirty", g_meta.git_dirty);
	j_str(j, "pg_version", g_meta.pg_version);
	j_key(j, "extensions");
	buf_append(&j->b, g_meta.extensions.s ? g_meta.extensions.s : "{}", g_meta.extensions.s ? g_meta.extensions.len : 2);
	j_key(j, "server_settings");
	buf_append(&j->b, g_meta.settings.s ? g_meta.settings.s : "{}", g_meta.settings.s ? g_meta.settings.len : 2);
	j_obj(j, "machine");
	j_str(j, "hostname", g_meta.hostname);
	j_str(j, "kernel", g_meta.kernel);
	j_str(j, "cpu", g_meta.cpu);
	j_int(j, "cpus", g_meta.ncpu);
	j_int(j, "mem_bytes", g_meta.mem_bytes);
	{
		/* other load on the machine at the end of the run (noise indicator) */
		FILE	   *f = fopen("/proc/loadavg", "r");
		char		la[128] = "";

		if (f)
		{
			if (fgets(la, sizeof(la), f))
				la[strcspn(la, "\n")] = 0;
			fclose(f);
		}
		j_str(j, "loadavg", la);
	}
	j_end(j);
	if (ds)
	{
		j_obj(j, "dataset");
		j_str(j, "name", ds->name);
		j_str(j, "key", ds->key);
		j_int(j, "n", ds->n);
		j_int(j, "dim", ds->dim);
		j_int(j, "nq", ds->nq);
		j_int(j, "nextra", ds->nextra);
		j_str(j, "metric", metric_names[ds->metric]);
		if (strcmp(ds->name, "synthetic") == 0)
		{
			j_int(j, "seed", (long long) O.seed);
			j_int(j, "clusters", O.clusters);
			j_int(j, "intrinsic_dim", O.idim);
			j_num(j, "noise", O.noise);
			j_num(j, "spread", O.spread);
			j_bool(j, "normalize", O.normalize >= 0 ? O.normalize : ds->metric == METRIC_COSINE);
		}
		j_end(j);
	}
	if (s)
	{
		j_obj(j, "spec");
		j_str(j, "label", s->label);
		j_str(j, "am", s->am);
		j_str(j, "opclass", s->ops);
		j_str(j, "column_type", s->type);
		j_str(j, "guc", s->guc);
		j_str(j, "with", s->with);
		j_str(j, "table", s->table);
		j_str(j, "index", s->index);
		j_end(j);
	}
	j_obj(j, "params");
	j_int(j, "k", O.k);
	j_str(j, "values", O.values);
	j_str(j, "clients", O.clients);
	j_int(j, "repeat", O.repeat);
	j_int(j, "warmup", O.warmup);
	j_str(j, "plan", O.generic ? "generic" : "custom");
	j_bool(j, "server_side", O.server_side);
	j_bool(j, "exact", O.exact);
	j_str(j, "storage", O.storage);
	j_int(j, "threads", g_threads);
	j_arr(j, "set");
	for (i = 0; i < O.nsets; i++)
		j_str(j, NULL, O.sets[i]);
	j_endarr(j);
	if (strcmp(sub, "write") == 0)
	{
		j_int(j, "insert_rows", O.insert_rows);
		j_str(j, "batches", O.batches);
		j_num(j, "delete_frac", O.delete_frac);
		j_int(j, "delete_batch", O.delete_batch);
		j_int(j, "cycles", O.cycles);
		j_num(j, "cycle_frac", O.cycle_frac);
		j_int(j, "write_nq", O.write_nq);
	}
	if (strcmp(sub, "churn") == 0)
	{
		j_num(j, "delete_frac", O.delete_frac);
		j_num(j, "cycle_frac", O.cycle_frac);
		j_int(j, "cycles", O.cycles);
		j_int(j, "reinsert_batch", O.reinsert_batch);
		j_int(j, "delete_batch", O.delete_batch);
		j_int(j, "write_nq", O.write_nq);
		j_int(j, "seed", (long long) O.seed);
	}
	if (strcmp(sub, "compare") == 0)
		j_int(j, "runs", O.runs);
	j_end(j);
	if (O.note[0])
		j_str(j, "note", O.note);
	j_obj(j, "results");
}

static void
json_run_end(Json *j)
{
	FILE	   *f;

	j_end(j);					/* results */
	j_end(j);					/* top */
	if (!O.results[0] || strcmp(O.results, "-") == 0)
	{
		buf_free(&j->b);
		return;
	}
	f = fopen(O.results, "a");
	if (!f)
	{
		fprintf(stderr, "vecbench: cannot append to %s: %s\n", O.results, strerror(errno));
		buf_free(&j->b);
		return;
	}
	fprintf(f, "%s\n", j->b.s);
	fclose(f);
	g_results_written++;
	buf_free(&j->b);
}

/* ------------------------------------------------------------------------
 * load: binary COPY of base, query and extra vectors
 * ------------------------------------------------------------------------ */

static void
ensure_meta_table(PGconn *c)
{
	db_exec(c, "CREATE TABLE IF NOT EXISTS vecbench_meta (tbl text PRIMARY KEY, key text NOT NULL, "
			"rows bigint NOT NULL, loaded timestamptz NOT NULL DEFAULT now())");
}

static int
meta_matches(PGconn *c, const char *tbl, const char *key, long rows)
{
	char	   *esc_t = PQescapeLiteral(c, tbl, strlen(tbl));
	char	   *esc_k = PQescapeLiteral(c, key, strlen(key));
	long long	n;

	n = db_int(c, "SELECT count(*) FROM vecbench_meta WHERE tbl = %s AND key = %s AND rows = %ld "
			   "AND to_regclass(%s) IS NOT NULL", esc_t, esc_k, rows, esc_t);
	PQfreemem(esc_t);
	PQfreemem(esc_k);
	return n == 1;
}

static void
meta_set(PGconn *c, const char *tbl, const char *key, long rows)
{
	char	   *esc_t = PQescapeLiteral(c, tbl, strlen(tbl));
	char	   *esc_k = PQescapeLiteral(c, key, strlen(key));

	db_exec(c, "INSERT INTO vecbench_meta (tbl, key, rows) VALUES (%s, %s, %ld) ON CONFLICT (tbl) DO UPDATE "
			"SET key = EXCLUDED.key, rows = EXCLUDED.rows, loaded = now()", esc_t, esc_k, rows);
	PQfreemem(esc_t);
	PQfreemem(esc_k);
}

static void
copy_put(PGconn *c, Buf *b)
{
	if (b->len == 0)
		return;
	if (PQputCopyData(c, b->s, (int) b->len) != 1)
		die("COPY failed: %s", PQerrorMessage(c));
	b->len = 0;
}

/* (re)create TABLE (idcol bigint, v real[]) and fill it with binary COPY */
static double
copy_vectors(PGconn *c, const char *table, const char *idcol, const float *vecs, long n, int dim, long id0)
{
	Buf			b = {0};
	PGresult   *r;
	long		i;
	double		t0 = now_sec();
	Progress	p;
	char		label[64];
	static const char hdr[] = "PGCOPY\n\377\r\n\0";

	db_exec(c, "DROP TABLE IF EXISTS %s CASCADE", table);
	db_exec(c, "CREATE TABLE %s (%s bigint NOT NULL, v real[] NOT NULL)", table, idcol);
	if (strcmp(O.storage, "default") != 0)
		db_exec(c, "ALTER TABLE %s ALTER COLUMN v SET STORAGE %s", table, O.storage);
	r = PQexec(c, "BEGIN");
	PQclear(r);
	{
		char		sql[256];

		snprintf(sql, sizeof(sql), "COPY %s FROM STDIN (FORMAT binary)", table);
		r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_COPY_IN)
			die("%s: %s", sql, PQerrorMessage(c));
		PQclear(r);
	}
	snprintf(label, sizeof(label), "load %s", idcol);
	progress_start(&p, strcmp(idcol, "id") == 0 ? "load" : label);
	buf_append(&b, hdr, 11);
	append_be32(&b, 0);			/* flags */
	append_be32(&b, 0);			/* header extension length */
	for (i = 0; i < n; i++)
	{
		uint16_t	nf = htobe16(2);
		uint64_t	id = htobe64((uint64_t) (id0 + i));

		buf_append(&b, &nf, 2);
		append_be32(&b, 8);
		buf_append(&b, &id, 8);
		append_be32(&b, 20 + 8 * dim);
		append_float_array(&b, vecs + (size_t) i * dim, dim);
		if (b.len > (1 << 20))
		{
			char		det[64];

			copy_put(c, &b);
			snprintf(det, sizeof(det), "%ld / %ld rows into %s", i + 1, n, table);
			progress_show(&p, (double) (i + 1) / n, det);
		}
	}
	{
		uint16_t	trailer = htobe16(0xffff);

		buf_append(&b, &trailer, 2);
	}
	copy_put(c, &b);
	if (PQputCopyEnd(c, NULL) != 1)
		die("COPY end failed: %s", PQerrorMessage(c));
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("COPY into %s failed: %s", table, PQerrorMessage(c));
	PQclear(r);
	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
	db_exec(c, "COMMIT");
	{
		char		det[64];

		snprintf(det, sizeof(det), "%ld rows into %s", n, table);
		progress_show(&p, 1.0, det);
	}
	progress_end(&p);
	buf_free(&b);
	return now_sec() - t0;
}

typedef struct LoadResult
{
	double		seconds;		/* COPY of the base table */
	double		vacuum_seconds;
	long long	table_bytes;
	int			skipped;
} LoadResult;

/* load the base/query/extra tables of ds as real[] (skipped when the marker matches) */
static void
load_base_tables(PGconn *c, const Dataset *ds, LoadResult *lr)
{
	char		base[128],
				tq[160],
				tx[160],
				key[400];

	memset(lr, 0, sizeof(*lr));
	ensure_meta_table(c);
	base_table_name(ds, base, sizeof(base));
	snprintf(tq, sizeof(tq), "%s_q", base);
	snprintf(tx, sizeof(tx), "%s_x", base);
	snprintf(key, sizeof(key), "%s-%s", ds->tabkey, O.storage);
	if (!O.force && meta_matches(c, base, key, ds->n))
	{
		lr->skipped = 1;
		if (!O.quiet)
			fprintf(stderr, "load: %s already holds this data set (use --force to reload)\n", base);
	}
	else
	{
		double		t0;

		db_exec(c, "DELETE FROM vecbench_meta WHERE tbl LIKE '%s%%'", base);
		lr->seconds = copy_vectors(c, base, "id", ds->base, ds->n, ds->dim, 0);
		t0 = now_sec();
		db_exec(c, "VACUUM (ANALYZE) %s", base);
		lr->vacuum_seconds = now_sec() - t0;
		meta_set(c, base, key, ds->n);
	}
	snprintf(key, sizeof(key), "%s-q-%016llx", ds->tabkey, (unsigned long long) ds->ck_query);
	if (O.force || !meta_matches(c, tq, key, ds->nq))
	{
		copy_vectors(c, tq, "qid", ds->query, ds->nq, ds->dim, 0);
		db_exec(c, "ALTER TABLE %s ADD PRIMARY KEY (qid)", tq);
		db_exec(c, "VACUUM (ANALYZE) %s", tq);
		meta_set(c, tq, key, ds->nq);
	}
	snprintf(key, sizeof(key), "%s-x-%016llx", ds->tabkey, (unsigned long long) ds->ck_extra);
	if (O.force || !meta_matches(c, tx, key, ds->nextra))
	{
		copy_vectors(c, tx, "xid", ds->extra, ds->nextra, ds->dim, 0);
		db_exec(c, "ALTER TABLE %s ADD PRIMARY KEY (xid)", tx);
		db_exec(c, "VACUUM (ANALYZE) %s", tx);
		meta_set(c, tx, key, ds->nextra);
	}
	lr->table_bytes = db_int(c, "SELECT pg_table_size('%s')", base);
}

static void
ensure_extension(PGconn *c, const Spec *s)
{
	char		sql[256];

	if (!s->ext[0])
		return;
	snprintf(sql, sizeof(sql), "CREATE EXTENSION IF NOT EXISTS %s", s->ext);
	if (!db_try(c, 0, sql))
		die("extension %s is needed for spec '%s' (is it installed?)", s->ext, s->raw);
}

/* the spec's own copy of the base and query tables when its column type is not real[] */
static void
ensure_spec_tables(PGconn *c, const Dataset *ds, const Spec *s)
{
	char		base[128],
				key[600];
	int			pass;

	ensure_extension(c, s);
	if (s->is_real)
		return;
	base_table_name(ds, base, sizeof(base));
	for (pass = 0; pass < 2; pass++)
	{
		const char *src = pass == 0 ? base : NULL;
		char		srcq[160];
		const char *dst = pass == 0 ? s->table : s->qtable;
		const char *idcol = pass == 0 ? "id" : "qid";
		long		rows = pass == 0 ? ds->n : ds->nq;
		char	   *srckey;

		snprintf(srcq, sizeof(srcq), "%s_q", base);
		if (!src)
			src = srcq;
		srckey = db_value(c, "SELECT key || ':' || loaded FROM vecbench_meta WHERE tbl = '%s'", src);
		snprintf(key, sizeof(key), "%s|%s|%s", srckey ? srckey : "?", s->type, O.storage);
		free(srckey);
		if (!O.force && meta_matches(c, dst, key, rows))
			continue;
		if (!O.quiet)
			fprintf(stderr, "load: creating %s (%s) from %s\n", dst, s->type, src);
		db_exec(c, "DROP TABLE IF EXISTS %s CASCADE", dst);
		db_exec(c, "CREATE TABLE %s (%s bigint NOT NULL, v %s NOT NULL)", dst, idcol, s->type);
		if (strcmp(O.storage, "default") != 0)
			db_exec(c, "ALTER TABLE %s ALTER COLUMN v SET STORAGE %s", dst, O.storage);
		db_exec(c, "INSERT INTO %s SELECT %s, v::%s FROM %s", dst, idcol, s->type, src);
		if (pass == 1)
			db_exec(c, "ALTER TABLE %s ADD PRIMARY KEY (qid)", dst);
		db_exec(c, "VACUUM (ANALYZE) %s", dst);
		meta_set(c, dst, key, rows);
	}
}

/* ------------------------------------------------------------------------
 * build: CREATE INDEX with a progress bar from pg_stat_progress_create_index
 * ------------------------------------------------------------------------ */

typedef struct BuildResult
{
	double		seconds;
	long long	index_bytes;
	long long	table_bytes;
	double		bytes_per_vector;
	Mem			mem;
	char		stats[512];		/* vechnsw_index_stats() as JSON, or "" */
	int			pid;
} BuildResult;

static void
drop_vector_indexes(PGconn *c, const char *table)
{
	PGresult   *r;
	int			i;
	char		sql[512];

	snprintf(sql, sizeof(sql),
			 "SELECT format('DROP INDEX %%I.%%I', n.nspname, ci.relname) FROM pg_index i "
			 "JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ci.relnamespace "
			 "WHERE i.indrelid = '%s'::regclass AND NOT EXISTS "
			 "(SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid)", table);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("%s: %s", sql, PQerrorMessage(c));
	for (i = 0; i < PQntuples(r); i++)
		db_exec(c, "%s", PQgetvalue(r, i, 0));
	PQclear(r);
}

static void
build_index(PGconn *c, const Spec *s, const char *table, const char *index, long nrows, BuildResult *br)
{
	PGconn	   *mon = db_connect();
	char		sql[1024];
	double		t0;
	Progress	p;
	PGresult   *r;
	int			sock,
				failed = 0;
	char		err[1024] = "";

	memset(br, 0, sizeof(*br));
	drop_vector_indexes(c, table);
	br->pid = PQbackendPID(c);
	if (s->with[0])
		snprintf(sql, sizeof(sql), "CREATE INDEX %s ON %s USING %s (v %s) WITH (%s)", index, table, s->am,
				 s->ops, s->with);
	else
		snprintf(sql, sizeof(sql), "CREATE INDEX %s ON %s USING %s (v %s)", index, table, s->am, s->ops);
	if (!O.quiet)
		fprintf(stderr, "build: %s\n", sql);
	progress_start(&p, "build");
	t0 = now_sec();
	if (!PQsendQuery(c, sql))
		die("%s: %s", sql, PQerrorMessage(c));
	sock = PQsocket(c);
	for (;;)
	{
		fd_set		fds;
		struct timeval tv = {0, 250000};

		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		select(sock + 1, &fds, NULL, NULL, &tv);
		if (!PQconsumeInput(c))
			die("build: %s", PQerrorMessage(c));
		if (!PQisBusy(c))
			break;
		{
			PGresult   *pr;
			char		q[512];

			snprintf(q, sizeof(q), "SELECT phase, blocks_total, blocks_done, tuples_total, tuples_done "
					 "FROM pg_stat_progress_create_index WHERE pid = %d", br->pid);
			pr = PQexec(mon, q);
			if (PQresultStatus(pr) == PGRES_TUPLES_OK && PQntuples(pr) == 1)
			{
				double		bt = atof(PQgetvalue(pr, 0, 1)),
							bd = atof(PQgetvalue(pr, 0, 2)),
							tt = atof(PQgetvalue(pr, 0, 3)),
							td = atof(PQgetvalue(pr, 0, 4));
				double		frac = -1;
				char		det[160];

				if (tt > 0)
				{
					frac = td / tt;
					snprintf(det, sizeof(det), "%s %.0f/%.0f tuples", PQgetvalue(pr, 0, 0), td, tt);
				}
				else if (bt > 0)
				{
					frac = bd / bt;
					snprintf(det, sizeof(det), "%s %.0f/%.0f blocks", PQgetvalue(pr, 0, 0), bd, bt);
				}
				else
					snprintf(det, sizeof(det), "%s %.0f tuples", PQgetvalue(pr, 0, 0), td);
				if (frac > 1)
					frac = 1;
				progress_show(&p, frac, det);
			}
			PQclear(pr);
		}
	}
	while ((r = PQgetResult(c)) != NULL)
	{
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
		{
			failed = 1;
			snprintf(err, sizeof(err), "%s", PQresultErrorMessage(r));
		}
		PQclear(r);
	}
	br->seconds = now_sec() - t0;
	progress_show(&p, 1.0, "done");
	progress_end(&p);
	if (failed)
		die("CREATE INDEX failed: %s", err);
	br->mem = proc_mem(br->pid);
	br->index_bytes = db_int(c, "SELECT pg_relation_size('%s')", index);
	br->table_bytes = db_int(c, "SELECT pg_table_size('%s')", table);
	br->bytes_per_vector = nrows > 0 ? (double) br->index_bytes / nrows : NAN;
	if (strcmp(s->am, "vechnsw") == 0)
	{
		snprintf(sql, sizeof(sql), "SELECT row_to_json(s)::text FROM vechnsw_index_stats('%s') s", index);
		r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			snprintf(br->stats, sizeof(br->stats), "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	db_exec(c, "ANALYZE %s", table);
	PQfinish(mon);
}

/* pages of the index in shared buffers (pg_buffercache) and in all */
static void
index_buffers(PGconn *c, const char *index, long long *cached, long long *total)
{
	char		sql[512];
	PGresult   *r;

	*cached = -1;
	*total = db_int(c, "SELECT pg_relation_size('%s') / current_setting('block_size')::int", index);
	if (!db_try(c, 1, "CREATE EXTENSION IF NOT EXISTS pg_buffercache"))
		return;
	snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM pg_buffercache WHERE relfilenode = pg_relation_filenode('%s') "
			 "AND reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())", index);
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		*cached = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
}

static int
index_exists(PGconn *c, const char *index)
{
	return db_int(c, "SELECT count(*) FROM pg_class WHERE oid = to_regclass('%s')", index) == 1;
}

/* ------------------------------------------------------------------------
 * query: prepared statements, binary parameters, N connections
 * ------------------------------------------------------------------------ */

typedef struct QueryResult
{
	char		value[64];		/* GUC value */
	int			clients;
	long		queries;
	double		wall;
	double		qps;
	double		p50,
				p95,
				p99,
				mean;			/* ms */
	double		recall1,
				recall10,
				recall100;
	long		min_results;	/* fewest rows returned by a query */
	Mem			mem;			/* max over the backends */
	int			server_side;
} QueryResult;

typedef struct QueryJob
{
	const Spec *s;
	const char *table;
	const char *qtable;
	const char *gucval;
	const float *queries;
	int			nq,
				dim,
				k;
	int			clients;
	long		total;			/* nq * repeat */
	long		next;
	double	   *lat;			/* total */
	int64_t    *res;			/* nq * k, -1 filled */
	int		   *nres;			/* nq */
	PGconn	  **conns;
	char	  **params;			/* per query binary param */
	int		   *paramlen;
	pthread_barrier_t barrier;
	int			server_side;
	const char *op;
	char		errmsg[512];
	int			failed;
} QueryJob;

typedef struct QThread
{
	QueryJob   *J;
	int			idx;
} QThread;

static void
job_fail(QueryJob *J, const char *what, PGconn *c)
{
	if (!__atomic_exchange_n(&J->failed, 1, __ATOMIC_SEQ_CST))
		snprintf(J->errmsg, sizeof(J->errmsg), "%s: %s", what, PQerrorMessage(c));
}

static int
run_one_query(QueryJob *J, PGconn *c, int qi, int store)
{
	const char *vals[1] = {J->params[qi]};
	int			lens[1] = {J->paramlen[qi]};
	int			fmts[1] = {1};
	PGresult   *r = PQexecPrepared(c, "q", 1, vals, lens, fmts, 1);
	int			i,
				n;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		job_fail(J, "query", c);
		PQclear(r);
		return -1;
	}
	n = PQntuples(r);
	if (store)
	{
		for (i = 0; i < n && i < J->k; i++)
		{
			uint64_t	v;

			memcpy(&v, PQgetvalue(r, i, 0), 8);
			J->res[(size_t) qi * J->k + i] = (int64_t) be64toh(v);
		}
		J->nres[qi] = n;
	}
	PQclear(r);
	return n;
}

static void *
query_thread(void *arg)
{
	QThread    *T = arg;
	QueryJob   *J = T->J;
	PGconn	   *c = J->conns[T->idx];

	pthread_barrier_wait(&J->barrier);
	if (J->server_side)
	{
		char		sql[2048];
		PGresult   *r;
		int			i;

		snprintf(sql, sizeof(sql),
				 "SELECT q.qid, ARRAY(SELECT t.id FROM %s t ORDER BY t.v %s q.v LIMIT %d) "
				 "FROM %s q WHERE q.qid < %d AND q.qid %% %d = %d",
				 J->table, J->op, J->k, J->qtable, J->nq, J->clients, T->idx);
		r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
		{
			job_fail(J, "server-side query", c);
			PQclear(r);
			pthread_barrier_wait(&J->barrier);
			return NULL;
		}
		for (i = 0; i < PQntuples(r); i++)
		{
			int			qi = atoi(PQgetvalue(r, i, 0));
			char	   *s = PQgetvalue(r, i, 1),
					   *e;
			int			n = 0;

			if (qi < 0 || qi >= J->nq)
				continue;
			if (*s == '{')
				s++;
			while (*s && *s != '}')
			{
				long long	v = strtoll(s, &e, 10);

				if (e == s)
					break;
				if (n < J->k)
					J->res[(size_t) qi * J->k + n] = v;
				n++;
				s = e;
				if (*s == ',')
					s++;
			}
			J->nres[qi] = n;
		}
		PQclear(r);
		pthread_barrier_wait(&J->barrier);
		return NULL;
	}
	for (;;)
	{
		long		j = __atomic_fetch_add(&J->next, 1, __ATOMIC_RELAXED);
		double		t0;

		if (j >= J->total || J->failed)
			break;
		t0 = now_sec();
		if (run_one_query(J, c, (int) (j % J->nq), j < J->nq) < 0)
			break;
		J->lat[j] = (now_sec() - t0) * 1000.0;
	}
	pthread_barrier_wait(&J->barrier);
	return NULL;
}

/* binary float4[] parameters of the queries (built once per call) */
static void
build_params(const float *queries, int nq, int dim, char ***params, int **lens)
{
	int			i;

	*params = xmalloc(sizeof(char *) * nq);
	*lens = xmalloc(sizeof(int) * nq);
	for (i = 0; i < nq; i++)
	{
		Buf			b = {0};

		append_float_array(&b, queries + (size_t) i * dim, dim);
		(*params)[i] = b.s;
		(*lens)[i] = (int) b.len;
	}
}

/*
 * Run the queries once over 'clients' fresh connections with GUC = value and
 * fill qr.  gt may be NULL (no recall).  record=0: warm-up.
 */
static void
run_queries(const Dataset *ds, const Spec *s, const char *table, const char *qtable,
			const float *queries, int nq, const GroundTruth *gt, const char *value, int clients,
			int repeat, int server_side, QueryResult *qr)
{
	QueryJob	J;
	QThread    *T;
	pthread_t  *th;
	int			i;
	double		t0,
				t1;
	double		r1 = 0,
				r10 = 0,
				r100 = 0;
	char		sql[1024];

	memset(&J, 0, sizeof(J));
	memset(qr, 0, sizeof(*qr));
	snprintf(qr->value, sizeof(qr->value), "%s", value ? value : "");
	J.s = s;
	J.table = table;
	J.qtable = qtable;
	J.queries = queries;
	J.nq = nq;
	J.dim = ds->dim;
	J.k = O.k;
	J.clients = clients;
	J.total = server_side ? nq : (long) nq * (repeat > 0 ? repeat : 1);
	J.server_side = server_side;
	J.lat = xcalloc(J.total, sizeof(double));
	J.res = xmalloc(sizeof(int64_t) * nq * O.k);
	for (i = 0; i < nq * O.k; i++)
		J.res[i] = -1;
	J.nres = xcalloc(nq, sizeof(int));
	J.op = metric_ops[ds->metric];
	build_params(queries, nq, ds->dim, &J.params, &J.paramlen);
	J.conns = xmalloc(sizeof(PGconn *) * clients);
	snprintf(sql, sizeof(sql), "SELECT id FROM %s ORDER BY v %s %s LIMIT %d", table, metric_ops[ds->metric],
			 s->param, O.k);
	for (i = 0; i < clients; i++)
	{
		PGconn	   *c = db_connect();
		Oid			types[1] = {FLOAT4ARRAYOID};
		PGresult   *r;

		J.conns[i] = c;
		if (O.generic)
			db_exec(c, "SET plan_cache_mode = force_generic_plan");
		if (O.exact || strcmp(s->am, "none") == 0)
			db_exec(c, "SET enable_indexscan = off; SET enable_bitmapscan = off");
		if (value && value[0] && s->guc[0])
			db_exec(c, "SET %s = %s", s->guc, value);
		if (!server_side)
		{
			r = PQprepare(c, "q", sql, 1, types);
			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				die("prepare %s: %s", sql, PQerrorMessage(c));
			PQclear(r);
			/* one untimed query per connection: caches, plan */
			if (run_one_query(&J, c, i % nq, 0) < 0)
				die("%s", J.errmsg);
		}
	}
	T = xmalloc(sizeof(QThread) * clients);
	th = xmalloc(sizeof(pthread_t) * clients);
	pthread_barrier_init(&J.barrier, NULL, clients + 1);
	for (i = 0; i < clients; i++)
	{
		T[i].J = &J;
		T[i].idx = i;
		pthread_create(&th[i], NULL, query_thread, &T[i]);
	}
	pthread_barrier_wait(&J.barrier);
	t0 = now_sec();
	pthread_barrier_wait(&J.barrier);
	t1 = now_sec();
	for (i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&J.barrier);
	if (J.failed)
		die("%s", J.errmsg);
	qr->clients = clients;
	qr->server_side = server_side;
	qr->queries = J.total;
	qr->wall = t1 - t0;
	qr->qps = J.total / qr->wall;
	qr->mem.hwm_kb = qr->mem.rss_kb = qr->mem.anon_kb = -1;
	for (i = 0; i < clients; i++)
	{
		Mem			m = proc_mem(PQbackendPID(J.conns[i]));

		if (m.hwm_kb > qr->mem.hwm_kb)
			qr->mem.hwm_kb = m.hwm_kb;
		if (m.rss_kb > qr->mem.rss_kb)
			qr->mem.rss_kb = m.rss_kb;
		if (m.anon_kb > qr->mem.anon_kb)
			qr->mem.anon_kb = m.anon_kb;
		PQfinish(J.conns[i]);
	}
	if (!server_side)
	{
		double		sum = 0;

		for (i = 0; i < J.total; i++)
			sum += J.lat[i];
		qsort(J.lat, J.total, sizeof(double), cmp_double);
		qr->p50 = percentile_sorted(J.lat, J.total, 0.50);
		qr->p95 = percentile_sorted(J.lat, J.total, 0.95);
		qr->p99 = percentile_sorted(J.lat, J.total, 0.99);
		qr->mean = sum / J.total;
	}
	else
		qr->p50 = qr->p95 = qr->p99 = qr->mean = NAN;
	qr->min_results = LONG_MAX;
	for (i = 0; i < nq; i++)
	{
		if (J.nres[i] < qr->min_results)
			qr->min_results = J.nres[i];
		if (gt)
		{
			const int64_t *res = J.res + (size_t) i * O.k;
			int			nr = J.nres[i] < O.k ? J.nres[i] : O.k;

			r1 += recall_at(res, nr, gt->ids + (size_t) i * gt->K, gt->dist + (size_t) i * gt->K, gt->K, 1);
			if (O.k >= 10)
				r10 += recall_at(res, nr, gt->ids + (size_t) i * gt->K, gt->dist + (size_t) i * gt->K, gt->K, 10);
			if (O.k >= 100)
				r100 += recall_at(res, nr, gt->ids + (size_t) i * gt->K, gt->dist + (size_t) i * gt->K, gt->K, 100);
		}
	}
	qr->recall1 = gt ? r1 / nq : NAN;
	qr->recall10 = gt && O.k >= 10 ? r10 / nq : NAN;
	qr->recall100 = gt && O.k >= 100 ? r100 / nq : NAN;
	for (i = 0; i < nq; i++)
		free(J.params[i]);
	free(J.params);
	free(J.paramlen);
	free(J.conns);
	free(J.lat);
	free(J.res);
	free(J.nres);
	free(T);
	free(th);
}

static void
print_query_header(void)
{
	printf("%-10s %-22s %7s %4s %9s %8s %8s %8s %7s %7s %7s %8s\n", "spec", "guc", "value", "cli", "QPS",
		   "p50 ms", "p95 ms", "p99 ms", "R@1", "R@10", "R@100", "HWM MB");
}

static void
print_query_row(const Spec *s, const QueryResult *q)
{
	char		r100[16],
				r10[16];

	if (isnan(q->recall100))
		snprintf(r100, sizeof(r100), "-");
	else
		snprintf(r100, sizeof(r100), "%.4f", q->recall100);
	if (isnan(q->recall10))
		snprintf(r10, sizeof(r10), "-");
	else
		snprintf(r10, sizeof(r10), "%.4f", q->recall10);
	if (q->server_side)
		printf("%-10.10s %-22.22s %7s %4d %9.1f %8s %8s %8s %7.4f %7s %7s %8.1f  (server-side)\n", s->label,
			   O.exact ? "(exact scan)" : (s->guc[0] ? s->guc : "-"), q->value[0] ? q->value : "-", q->clients,
			   q->qps, "-", "-", "-", q->recall1, r10, r100, q->mem.hwm_kb / 1024.0);
	else
		printf("%-10.10s %-22.22s %7s %4d %9.1f %8.3f %8.3f %8.3f %7.4f %7s %7s %8.1f\n", s->label,
			   O.exact ? "(exact scan)" : (s->guc[0] ? s->guc : "-"), q->value[0] ? q->value : "-", q->clients,
			   q->qps, q->p50, q->p95, q->p99, q->recall1, r10, r100, q->mem.hwm_kb / 1024.0);
	fflush(stdout);
}

static void
json_query_result(Json *j, const QueryResult *q)
{
	j_obj(j, NULL);
	j_str(j, "guc_value", q->value);
	j_int(j, "clients", q->clients);
	j_bool(j, "server_side", q->server_side);
	j_int(j, "queries", q->queries);
	j_num(j, "seconds", q->wall);
	j_num(j, "qps", q->qps);
	j_num(j, "p50_ms", q->p50);
	j_num(j, "p95_ms", q->p95);
	j_num(j, "p99_ms", q->p99);
	j_num(j, "mean_ms", q->mean);
	j_num(j, "recall_at_1", q->recall1);
	j_num(j, "recall_at_10", q->recall10);
	j_num(j, "recall_at_100", q->recall100);
	j_int(j, "min_rows_returned", q->min_results == LONG_MAX ? -1 : q->min_results);
	j_int(j, "backend_peak_rss_kb", q->mem.hwm_kb);
	j_int(j, "backend_rss_kb", q->mem.rss_kb);
	j_int(j, "backend_anon_kb", q->mem.anon_kb);
	j_end(j);
}

/* ------------------------------------------------------------------------
 * subcommands
 * ------------------------------------------------------------------------ */

static PGconn *
setup_connection(void)
{
	PGconn	   *c = db_connect();

	meta_collect(c);
	return c;
}

static void
default_specs(Spec *specs, int *nspec, const Dataset *ds)
{
	int			i;

	if (O.nspec == 0)
	{
		O.specstr[0] = "vechnsw";
		O.nspec = 1;
	}
	for (i = 0; i < O.nspec; i++)
		spec_parse(&specs[i], O.specstr[i], ds);
	*nspec = O.nspec;
}

static int
cmd_load(void)
{
	Dataset		ds;
	PGconn	   *c;
	LoadResult	lr;
	Spec		specs[8];
	int			nspec,
				i;
	Json		j;

	dataset_load(&ds);
	c = setup_connection();
	load_base_tables(c, &ds, &lr);
	if (O.nspec > 0)
	{
		default_specs(specs, &nspec, &ds);
		for (i = 0; i < nspec; i++)
			ensure_spec_tables(c, &ds, &specs[i]);
	}
	{
		char		base[128];

		base_table_name(&ds, base, sizeof(base));
		printf("load: table %s, %ld rows, dim %d, %.1f MB%s", base, ds.n, ds.dim, lr.table_bytes / 1048576.0,
			   lr.skipped ? " (already loaded)\n" : "");
		if (!lr.skipped)
			printf(", COPY %.1f s (%.0f rows/s), VACUUM ANALYZE %.1f s\n", lr.seconds, ds.n / lr.seconds,
				   lr.vacuum_seconds);
	}
	meta_refresh_extensions(c);
	json_run_begin(&j, "load", &ds, NULL);
	j_bool(&j, "skipped", lr.skipped);
	j_num(&j, "copy_seconds", lr.seconds);
	j_num(&j, "rows_per_second", lr.skipped ? NAN : ds.n / lr.seconds);
	j_num(&j, "vacuum_analyze_seconds", lr.vacuum_seconds);
	j_int(&j, "table_bytes", lr.table_bytes);
	j_num(&j, "dataset_seconds", ds.load_seconds);
	json_run_end(&j);
	PQfinish(c);
	dataset_free(&ds);
	return 0;
}

static int
cmd_gt(void)
{
	Dataset		ds;
	GroundTruth gt;
	char		path[2048];

	dataset_load(&ds);
	gt_get(&ds, &gt);
	gt_path(&ds, path, sizeof(path));
	printf("gt: %s: %d queries x top %d, %s (%.1f s)\n", path, gt.nq, gt.K, gt.cached ? "cached" : "computed",
		   gt.seconds);
	if (O.results[0] && strcmp(O.results, "-") != 0)
	{
		PGconn	   *c = PQconnectdb(O.conninfo);
		Json		j;

		/* JSON needs server facts; skip them when no server is reachable */
		if (PQstatus(c) == CONNECTION_OK)
			meta_collect(c);
		PQfinish(c);
		json_run_begin(&j, "gt", &ds, NULL);
		j_str(&j, "file", path);
		j_bool(&j, "cached", gt.cached);
		j_num(&j, "seconds", gt.seconds);
		j_int(&j, "K", gt.K);
		json_run_end(&j);
	}
	gt_free(&gt);
	dataset_free(&ds);
	return 0;
}

static void
print_build(const Spec *s, const char *table, const BuildResult *br)
{
	printf("build: %-10s %s USING %s (%s) WITH (%s): %.2f s, index %.1f MB, %.0f bytes/vector, table %.1f MB, "
		   "backend peak RSS %.1f MB\n", s->label, table, s->am, s->ops, s->with, br->seconds,
		   br->index_bytes / 1048576.0, br->bytes_per_vector, br->table_bytes / 1048576.0, br->mem.hwm_kb / 1024.0);
	if (br->stats[0])
		printf("       %s\n", br->stats);
	fflush(stdout);
}

static void
json_build(Json *j, const BuildResult *br)
{
	j_num(j, "build_seconds", br->seconds);
	j_int(j, "index_bytes", br->index_bytes);
	j_int(j, "table_bytes", br->table_bytes);
	j_num(j, "bytes_per_vector", br->bytes_per_vector);
	j_int(j, "backend_peak_rss_kb", br->mem.hwm_kb);
	j_int(j, "backend_rss_kb", br->mem.rss_kb);
	j_int(j, "backend_anon_kb", br->mem.anon_kb);
	if (br->stats[0])
	{
		j_key(j, "index_stats");
		buf_append(&j->b, br->stats, strlen(br->stats));
	}
}

static void
do_build(PGconn *c, const Dataset *ds, const Spec *s, BuildResult *br)
{
	Json		j;

	if (strcmp(s->am, "none") == 0)
	{
		memset(br, 0, sizeof(*br));
		drop_vector_indexes(c, s->table);
		printf("build: %s: no index (exact scans)\n", s->label);
		return;
	}
	build_index(c, s, s->table, s->index, ds->n, br);
	print_build(s, s->table, br);
	meta_refresh_extensions(c);
	json_run_begin(&j, "build", ds, s);
	json_build(&j, br);
	json_run_end(&j);
}

static int
cmd_build(void)
{
	Dataset		ds;
	PGconn	   *c;
	LoadResult	lr;
	Spec		specs[8];
	int			nspec,
				i;
	BuildResult br;

	dataset_load(&ds);
	c = setup_connection();
	load_base_tables(c, &ds, &lr);
	default_specs(specs, &nspec, &ds);
	for (i = 0; i < nspec; i++)
	{
		ensure_spec_tables(c, &ds, &specs[i]);
		do_build(c, &ds, &specs[i], &br);
	}
	PQfinish(c);
	dataset_free(&ds);
	return 0;
}

/* query sweep for one spec; results in qrs (values x clients), returns count */
static int
query_sweep(PGconn *c, const Dataset *ds, const Spec *s, const GroundTruth *gt, QueryResult *qrs, int maxq,
			int emit_json)
{
	char		values[MAXLIST][64];
	long		clients[MAXLIST];
	int			nv,
				nc,
				vi,
				ci,
				nr = 0,
				maxc = 1;
	long long	cached = -1,
				total = -1;
	Json		j;

	nv = (O.exact || strcmp(s->am, "none") == 0) ? 1 : parse_str_list(O.values, values, MAXLIST);
	if (nv == 1 && (O.exact || strcmp(s->am, "none") == 0))
		values[0][0] = 0;
	nc = parse_int_list(O.clients, clients, MAXLIST);
	for (ci = 0; ci < nc; ci++)
		if (clients[ci] > maxc)
			maxc = clients[ci];
	if (!O.exact && strcmp(s->am, "none") != 0 && !index_exists(c, s->index))
		fprintf(stderr, "vecbench: warning: index %s does not exist (run 'vecbench build' first); "
				"queries will scan\n", s->index);
	if (O.warmup > 0)
	{
		QueryResult w;

		if (!O.quiet)
			fprintf(stderr, "query: warm-up (%d pass%s over %d queries)\n", O.warmup, O.warmup > 1 ? "es" : "",
					ds->nq);
		run_queries(ds, s, s->table, s->qtable, ds->query, ds->nq, NULL, values[nv - 1], maxc, O.warmup, 0, &w);
	}
	for (vi = 0; vi < nv; vi++)
		for (ci = 0; ci < nc && nr < maxq; ci++)
		{
			run_queries(ds, s, s->table, s->qtable, ds->query, ds->nq, gt, values[vi], (int) clients[ci],
						O.repeat, O.server_side, &qrs[nr]);
			print_query_row(s, &qrs[nr]);
			nr++;
		}
	if (!O.exact && strcmp(s->am, "none") != 0 && index_exists(c, s->index))
		index_buffers(c, s->index, &cached, &total);
	if (cached >= 0)
		printf("           index %s: %lld of %lld pages in shared buffers\n", s->index, cached, total);
	if (emit_json)
	{
		meta_refresh_extensions(c);
		json_run_begin(&j, "query", ds, s);
		j_int(&j, "index_pages", total);
		j_int(&j, "index_pages_in_shared_buffers", cached);
		j_arr(&j, "runs");
		for (vi = 0; vi < nr; vi++)
			json_query_result(&j, &qrs[vi]);
		j_endarr(&j);
		json_run_end(&j);
	}
	return nr;
}

static int
cmd_query(void)
{
	Dataset		ds;
	GroundTruth gt;
	PGconn	   *c;
	LoadResult	lr;
	Spec		specs[8];
	int			nspec,
				i;
	QueryResult qrs[MAXLIST * 4];

	dataset_load(&ds);
	gt_get(&ds, &gt);
	c = setup_connection();
	load_base_tables(c, &ds, &lr);
	default_specs(specs, &nspec, &ds);
	print_query_header();
	for (i = 0; i < nspec; i++)
	{
		ensure_spec_tables(c, &ds, &specs[i]);
		query_sweep(c, &ds, &specs[i], &gt, qrs, MAXLIST * 4, 1);
	}
	PQfinish(c);
	gt_free(&gt);
	dataset_free(&ds);
	return 0;
}

/* ---- write paths ---- */

typedef struct LiveSet
{
	long		n;				/* base rows */
	char	   *base_alive;
	/* rows inserted by the benchmark: id and source vector */
	int64_t    *ins_id;
	const float **ins_vec;
	char	   *ins_alive;
	long		nins,
				cap;
} LiveSet;

static void
live_add(LiveSet *L, int64_t id, const float *v)
{
	if (L->nins == L->cap)
	{
		L->cap = L->cap ? L->cap * 2 : 1024;
		L->ins_id = realloc(L->ins_id, sizeof(int64_t) * L->cap);
		L->ins_vec = realloc(L->ins_vec, sizeof(float *) * L->cap);
		L->ins_alive = realloc(L->ins_alive, L->cap);
		if (!L->ins_id || !L->ins_vec || !L->ins_alive)
			die("out of memory");
	}
	L->ins_id[L->nins] = id;
	L->ins_vec[L->nins] = v;
	L->ins_alive[L->nins] = 1;
	L->nins++;
}

static long
live_count(const LiveSet *L)
{
	long		cnt = 0,
				i;

	for (i = 0; i < L->n; i++)
		cnt += L->base_alive[i];
	for (i = 0; i < L->nins; i++)
		cnt += L->ins_alive[i];
	return cnt;
}

/* identity of the live set (ids and vectors alive): a ground truth computed for it can be reused */
static uint64_t
live_hash(const LiveSet *L)
{
	uint64_t	h = 0x9e3779b97f4a7c15ULL,
				x;
	long		i;

	for (i = 0; i < L->n; i++)
		if (L->base_alive[i])
		{
			x = (uint64_t) i;
			h = (h ^ splitmix64(&x)) * 0x100000001b3ULL;
		}
	for (i = 0; i < L->nins; i++)
		if (L->ins_alive[i])
		{
			x = (uint64_t) L->ins_id[i] ^ ((uint64_t) (uintptr_t) L->ins_vec[i] << 17);
			h = (h ^ splitmix64(&x)) * 0x100000001b3ULL;
		}
	return h;
}

static void
live_gt(const Dataset *ds, const LiveSet *L, int nq, GroundTruth *gt)
{
	long		cnt = live_count(L),
				i,
				o = 0;
	float	   *vec;
	int64_t    *ids;

	vec = xmalloc(sizeof(float) * (cnt ? cnt : 1) * ds->dim);
	ids = xmalloc(sizeof(int64_t) * (cnt ? cnt : 1));
	for (i = 0; i < L->n; i++)
		if (L->base_alive[i])
		{
			memcpy(vec + (size_t) o * ds->dim, ds->base + (size_t) i * ds->dim, sizeof(float) * ds->dim);
			ids[o++] = i;
		}
	for (i = 0; i < L->nins; i++)
		if (L->ins_alive[i])
		{
			memcpy(vec + (size_t) o * ds->dim, L->ins_vec[i], sizeof(float) * ds->dim);
			ids[o++] = L->ins_id[i];
		}
	compute_gt(vec, ids, cnt, ds->query, nq, ds->dim, ds->metric, GT_K, gt);
	free(vec);
	free(ids);
}

typedef struct InsJob
{
	const Dataset *ds;
	const char *table;
	const char *param;
	int			batch;
	long		nbatches;
	long		next;
	int64_t		id0;			/* first id */
	long		xoff;			/* first extra vector */
	double	   *lat;			/* per batch */
	int			failed;
	char		err[512];
} InsJob;

static void *
insert_thread(void *arg)
{
	InsJob	   *J = arg;
	PGconn	   *c = db_connect();
	char		sql[512];
	PGresult   *r;
	Oid			types[2] = {20, FLOAT4ARRAYOID};

	/* J->param is "$1" or "$1::real[]::TYPE": reuse its cast for $2 */
	snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v) VALUES ($1, $2%s)", J->table, J->param + 2);
	r = PQprepare(c, "ins", sql, 2, types);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("prepare %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	for (;;)
	{
		long		bi = __atomic_fetch_add(&J->next, 1, __ATOMIC_RELAXED);
		double		t0;
		int			i;

		if (bi >= J->nbatches || J->failed)
			break;
		t0 = now_sec();
		if (J->batch > 1)
			db_exec(c, "BEGIN");
		for (i = 0; i < J->batch; i++)
		{
			long		row = bi * J->batch + i;
			long		xi = (J->xoff + row) % (J->ds->nextra > 0 ? J->ds->nextra : 1);
			uint64_t	idbe = htobe64((uint64_t) (J->id0 + row));
			Buf			b = {0};
			const char *vals[2];
			int			lens[2],
						fmts[2] = {1, 1};

			append_float_array(&b, J->ds->extra + (size_t) xi * J->ds->dim, J->ds->dim);
			vals[0] = (const char *) &idbe;
			lens[0] = 8;
			vals[1] = b.s;
			lens[1] = (int) b.len;
			r = PQexecPrepared(c, "ins", 2, vals, lens, fmts, 0);
			if (PQresultStatus(r) != PGRES_COMMAND_OK)
			{
				if (!__atomic_exchange_n(&J->failed, 1, __ATOMIC_SEQ_CST))
					snprintf(J->err, sizeof(J->err), "insert: %s", PQerrorMessage(c));
				PQclear(r);
				buf_free(&b);
				break;
			}
			PQclear(r);
			buf_free(&b);
		}
		if (J->batch > 1)
			db_exec(c, "COMMIT");
		J->lat[bi] = (now_sec() - t0) * 1000;
	}
	PQfinish(c);
	return NULL;
}

typedef struct InsResult
{
	int			batch;
	long		rows;
	double		seconds,
				rows_per_s,
				commit_p50,
				commit_p99;
} InsResult;

/* insert rows (extra vectors, ids from id0) with 'batch' rows per commit over 'clients' connections */
static void
insert_rows(const Dataset *ds, const Spec *s, const char *table, int64_t id0, long xoff, long rows, int batch,
			int clients, InsResult *ir)
{
	InsJob		J;
	pthread_t	th[64];
	int			i;
	double		t0;

	memset(&J, 0, sizeof(J));
	J.ds = ds;
	J.table = table;
	J.param = s->param;
	J.batch = batch;
	J.nbatches = (rows + batch - 1) / batch;
	J.id0 = id0;
	J.xoff = xoff;
	J.lat = xcalloc(J.nbatches, sizeof(double));
	if (clients > 64)
		clients = 64;
	t0 = now_sec();
	for (i = 0; i < clients; i++)
		pthread_create(&th[i], NULL, insert_thread, &J);
	for (i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	if (J.failed)
		die("%s", J.err);
	ir->batch = batch;
	ir->rows = J.nbatches * batch;
	ir->seconds = now_sec() - t0;
	ir->rows_per_s = ir->rows / ir->seconds;
	qsort(J.lat, J.nbatches, sizeof(double), cmp_double);
	ir->commit_p50 = percentile_sorted(J.lat, J.nbatches, 0.5);
	ir->commit_p99 = percentile_sorted(J.lat, J.nbatches, 0.99);
	free(J.lat);
}

/* delete the given ids, batch ids per statement (and commit) */
static double
delete_ids(PGconn *c, const char *table, const int64_t *ids, long n, int batch)
{
	double		t0 = now_sec();
	long		i;
	char		sql[256];
	PGresult   *r;
	Oid			types[1] = {1016};	/* int8[] */

	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = ANY($1)", table);
	r = PQprepare(c, "del", sql, 1, types);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("prepare %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	for (i = 0; i < n; i += batch)
	{
		long		m = n - i < batch ? n - i : batch,
					j;
		Buf			b = {0};
		const char *vals[1];
		int			lens[1],
					fmts[1] = {1};

		append_be32(&b, 1);
		append_be32(&b, 0);
		append_be32(&b, 20);	/* int8 */
		append_be32(&b, (uint32_t) m);
		append_be32(&b, 1);
		for (j = 0; j < m; j++)
		{
			uint64_t	v = htobe64((uint64_t) ids[i + j]);

			append_be32(&b, 8);
			buf_append(&b, &v, 8);
		}
		vals[0] = b.s;
		lens[0] = (int) b.len;
		r = PQexecPrepared(c, "del", 1, vals, lens, fmts, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			die("%s: %s", sql, PQerrorMessage(c));
		PQclear(r);
		buf_free(&b);
	}
	r = PQexec(c, "DEALLOCATE del");
	PQclear(r);
	return now_sec() - t0;
}

static double
timed_vacuum(PGconn *c, const char *table)
{
	double		t0 = now_sec();

	db_exec(c, "VACUUM (INDEX_CLEANUP ON) %s", table);
	return now_sec() - t0;
}

/* choose m live rows at random; fills ids and marks them dead; returns count */
static long
pick_live(LiveSet *L, Rng *r, long m, int64_t *ids, const float **vecs, const Dataset *ds)
{
	long		total = L->n + L->nins,
				got = 0,
				tries = 0;

	while (got < m && tries < m * 50)
	{
		long		x = (long) (rng_uniform(r) * total);

		tries++;
		if (x < L->n)
		{
			if (!L->base_alive[x])
				continue;
			L->base_alive[x] = 0;
			ids[got] = x;
			vecs[got] = ds->base + (size_t) x * ds->dim;
		}
		else
		{
			x -= L->n;
			if (!L->ins_alive[x])
				continue;
			L->ins_alive[x] = 0;
			ids[got] = L->ins_id[x];
			vecs[got] = L->ins_vec[x];
		}
		got++;
	}
	return got;
}

/*
 * insert vecs[0..n) again with new ids from *next_id over c (one session),
 * 'batch' rows per commit (1: autocommit), and add them to the live set;
 * returns the seconds.  label: progress bar, or NULL for none.
 */
static double
reinsert_rows(PGconn *c, const Dataset *ds, const Spec *s, const char *table, const float **vecs, long n,
			  int batch, int64_t *next_id, LiveSet *L, const char *label)
{
	PGresult   *res;
	Oid			types[2] = {20, FLOAT4ARRAYOID};
	char		sql[512];
	double		t0,
				secs;
	long		r;
	Progress	p;

	/* s->param is "$1" or "$1::real[]::TYPE": reuse its cast for $2 */
	snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v) VALUES ($1, $2%s)", table, s->param + 2);
	res = PQprepare(c, "reins", sql, 2, types);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		die("prepare %s: %s", sql, PQerrorMessage(c));
	PQclear(res);
	if (batch < 1)
		batch = 1;
	if (label)
		progress_start(&p, label);
	t0 = now_sec();
	if (batch > 1)
		db_exec(c, "BEGIN");
	for (r = 0; r < n; r++)
	{
		uint64_t	idbe = htobe64((uint64_t) *next_id);
		Buf			b = {0};
		const char *vals[2];
		int			lens[2],
					fmts[2] = {1, 1};

		append_float_array(&b, vecs[r], ds->dim);
		vals[0] = (const char *) &idbe;
		lens[0] = 8;
		vals[1] = b.s;
		lens[1] = (int) b.len;
		res = PQexecPrepared(c, "reins", 2, vals, lens, fmts, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			die("reinsert: %s", PQerrorMessage(c));
		PQclear(res);
		buf_free(&b);
		live_add(L, *next_id, vecs[r]);
		(*next_id)++;
		if (batch > 1 && (r + 1) % batch == 0 && r + 1 < n)
		{
			db_exec(c, "COMMIT");
			db_exec(c, "BEGIN");
		}
		if (label && (r & 63) == 0)
		{
			char		det[64];

			snprintf(det, sizeof(det), "%ld/%ld rows", r + 1, n);
			progress_show(&p, (double) (r + 1) / n, det);
		}
	}
	if (batch > 1)
		db_exec(c, "COMMIT");
	secs = now_sec() - t0;
	if (label)
	{
		progress_show(&p, 1.0, "done");
		progress_end(&p);
	}
	db_exec(c, "DEALLOCATE reins");
	return secs;
}

typedef struct WriteRecall
{
	int			n;
	QueryResult q[MAXLIST];
} WriteRecall;

/* recall of the first nq queries at every --values against gt (the exact answer of the rows alive) */
static void
recall_vs_gt(const Dataset *ds, const Spec *s, const char *table, const GroundTruth *gt, int nq, WriteRecall *wr,
			 const char *label)
{
	char		values[MAXLIST][64];
	int			nv,
				i;

	nv = (O.exact || strcmp(s->am, "none") == 0) ? 1 : parse_str_list(O.values, values, MAXLIST);
	if (O.exact || strcmp(s->am, "none") == 0)
		values[0][0] = 0;
	wr->n = nv;
	for (i = 0; i < nv; i++)
	{
		run_queries(ds, s, table, NULL, ds->query, nq, gt, values[i], 1, 1, 0, &wr->q[i]);
		printf("  recall %-20s %s=%-5s R@1 %.4f  R@10 %.4f  QPS %.1f\n", label,
			   O.exact ? "exact" : (s->guc[0] ? s->guc : "-"), values[i][0] ? values[i] : "-",
			   wr->q[i].recall1, wr->q[i].recall10, wr->q[i].qps);
	}
}

static void
write_recall(const Dataset *ds, const Spec *s, const char *table, const LiveSet *L, int nq, WriteRecall *wr,
			 const char *label)
{
	GroundTruth gt;

	live_gt(ds, L, nq, &gt);
	recall_vs_gt(ds, s, table, &gt, nq, wr, label);
	gt_free(&gt);
}

static void
json_write_recall(Json *j, const char *key, const WriteRecall *wr)
{
	int			i;

	j_arr(j, key);
	for (i = 0; i < wr->n; i++)
		json_query_result(j, &wr->q[i]);
	j_endarr(j);
}

typedef struct WriteSummary
{
	double		recall_before,
				recall_after_vacuum,
				recall_after_cycles;	/* at the last GUC value */
} WriteSummary;

static WriteSummary g_last_write;

static int
cmd_write(void)
{
	Dataset		ds;
	PGconn	   *c;
	LoadResult	lr;
	Spec		specs[8];
	int			nspec,
				si;
	long		batches[16];
	int			nb,
				bi;
	long		clients[MAXLIST];
	int			ncl;

	dataset_load(&ds);
	if (ds.nextra < 1)
		die("write needs extra vectors to insert (--nextra; fashion-mnist has 10,000 test images "
			"minus --nq, plus the train images beyond --n)");
	c = setup_connection();
	load_base_tables(c, &ds, &lr);
	default_specs(specs, &nspec, &ds);
	nb = parse_int_list(O.batches, batches, 16);
	ncl = parse_int_list(O.clients, clients, MAXLIST);
	if (ncl < 1)
		clients[0] = 1;
	for (si = 0; si < nspec; si++)
	{
		Spec	   *s = &specs[si];
		char		wt[160],
					widx[200];
		BuildResult br;
		LiveSet		L;
		InsResult	ir[16];
		WriteRecall wr_before,
					wr_after,
					wr_cycles;
		int64_t		next_id = ds.n;
		long		xoff = 0,
					ndel,
					i;
		int64_t    *del_ids;
		const float **del_vecs;
		double		del_s,
					vac_s;
		long long	size_before,
					size_after_del,
					size_after_vac,
					table_after_vac;
		Rng			rng;
		int			nq = O.write_nq < ds.nq ? O.write_nq : ds.nq;
		Json		j;
		struct
		{
			long		deleted,
						reinserted;
			double		vacuum_s;
			long long	index_bytes,
						table_bytes;
		}			cyc[64];
		int			ncyc = O.cycles < 64 ? O.cycles : 64;

		ensure_spec_tables(c, &ds, s);
		snprintf(wt, sizeof(wt), "%s_w", s->table);
		snprintf(widx, sizeof(widx), "%.40s_%.16s_idx", wt, s->am);
		printf("== write: %s on %s (copy of %s)\n", s->label, wt, s->table);
		db_exec(c, "DROP TABLE IF EXISTS %s", wt);
		db_exec(c, "CREATE TABLE %s (LIKE %s INCLUDING ALL)", wt, s->table);
		db_exec(c, "ALTER TABLE %s SET (autovacuum_enabled = off)", wt);
		db_exec(c, "INSERT INTO %s SELECT * FROM %s", wt, s->table);
		drop_vector_indexes(c, wt);
		db_exec(c, "ALTER TABLE %s ADD PRIMARY KEY (id)", wt);
		db_exec(c, "VACUUM (ANALYZE) %s", wt);
		memset(&br, 0, sizeof(br));
		if (strcmp(s->am, "none") != 0)
		{
			build_index(c, s, wt, widx, ds.n, &br);
			print_build(s, wt, &br);
		}
		memset(&L, 0, sizeof(L));
		L.n = ds.n;
		L.base_alive = xmalloc(ds.n);
		memset(L.base_alive, 1, ds.n);
		write_recall(&ds, s, wt, &L, nq, &wr_before, "initial");

		/* inserts, batch sizes */
		for (bi = 0; bi < nb; bi++)
		{
			long		rows = O.insert_rows;

			insert_rows(&ds, s, wt, next_id, xoff, rows, (int) batches[bi], (int) clients[0], &ir[bi]);
			for (i = 0; i < ir[bi].rows; i++)
				live_add(&L, next_id + i, ds.extra + (size_t) ((xoff + i) % (ds.nextra ? ds.nextra : 1)) * ds.dim);
			next_id += ir[bi].rows;
			xoff += ir[bi].rows;
			printf("  insert batch %4d: %6ld rows in %7.2f s = %9.1f rows/s  (commit p50 %.2f ms, p99 %.2f ms, "
				   "%ld client%s)\n", ir[bi].batch, ir[bi].rows, ir[bi].seconds, ir[bi].rows_per_s,
				   ir[bi].commit_p50, ir[bi].commit_p99, clients[0], clients[0] > 1 ? "s" : "");
		}
		/* delete a fraction of the rows */
		rng_seed(&rng, O.seed, 77, si);
		ndel = (long) (O.delete_frac * live_count(&L));
		del_ids = xmalloc(sizeof(int64_t) * (ndel + 1));
		del_vecs = xmalloc(sizeof(float *) * (ndel + 1));
		ndel = pick_live(&L, &rng, ndel, del_ids, del_vecs, &ds);
		size_before = db_int(c, "SELECT pg_relation_size('%s')", widx);
		del_s = delete_ids(c, wt, del_ids, ndel, O.delete_batch);
		size_after_del = db_int(c, "SELECT pg_relation_size('%s')", widx);
		printf("  delete: %ld rows in %.2f s = %.1f rows/s (%d per statement)\n", ndel, del_s,
			   ndel / (del_s > 0 ? del_s : 1e-9), O.delete_batch);
		vac_s = timed_vacuum(c, wt);
		size_after_vac = db_int(c, "SELECT pg_relation_size('%s')", widx);
		table_after_vac = db_int(c, "SELECT pg_table_size('%s')", wt);
		printf("  VACUUM after deleting %.0f%%: %.2f s; index %.1f MB -> %.1f MB\n", O.delete_frac * 100, vac_s,
			   size_before / 1048576.0, size_after_vac / 1048576.0);
		write_recall(&ds, s, wt, &L, nq, &wr_after, "after delete+VACUUM");

		/* delete + reinsert cycles */
		for (i = 0; i < ncyc; i++)
		{
			long		m = (long) (O.cycle_frac * live_count(&L)),
						got;
			int64_t    *ids = xmalloc(sizeof(int64_t) * (m + 1));
			const float **vecs = xmalloc(sizeof(float *) * (m + 1));

			got = pick_live(&L, &rng, m, ids, vecs, &ds);
			delete_ids(c, wt, ids, got, O.delete_batch);
			cyc[i].vacuum_s = timed_vacuum(c, wt);
			cyc[i].deleted = got;
			reinsert_rows(c, &ds, s, wt, vecs, got, 100, &next_id, &L, NULL);
			cyc[i].reinserted = got;
			cyc[i].index_bytes = db_int(c, "SELECT pg_relation_size('%s')", widx);
			cyc[i].table_bytes = db_int(c, "SELECT pg_table_size('%s')", wt);
			printf("  cycle %ld: deleted %ld, VACUUM %.2f s, reinserted %ld: index %.1f MB, table %.1f MB\n",
				   i + 1, got, cyc[i].vacuum_s, got, cyc[i].index_bytes / 1048576.0, cyc[i].table_bytes / 1048576.0);
			free(ids);
			free(vecs);
		}
		if (ncyc > 0)
			write_recall(&ds, s, wt, &L, nq, &wr_cycles, "after cycles");
		else
			wr_cycles.n = 0;
		g_last_write.recall_before = wr_before.q[wr_before.n - 1].recall10;
		g_last_write.recall_after_vacuum = wr_after.q[wr_after.n - 1].recall10;
		g_last_write.recall_after_cycles = wr_cycles.n ? wr_cycles.q[wr_cycles.n - 1].recall10 : NAN;

		meta_refresh_extensions(c);
		json_run_begin(&j, "write", &ds, s);
		j_str(&j, "table", wt);
		j_obj(&j, "build");
		json_build(&j, &br);
		j_end(&j);
		json_write_recall(&j, "recall_initial", &wr_before);
		j_arr(&j, "insert");
		for (bi = 0; bi < nb; bi++)
		{
			j_obj(&j, NULL);
			j_int(&j, "batch", ir[bi].batch);
			j_int(&j, "rows", ir[bi].rows);
			j_int(&j, "clients", clients[0]);
			j_num(&j, "seconds", ir[bi].seconds);
			j_num(&j, "rows_per_second", ir[bi].rows_per_s);
			j_num(&j, "commit_p50_ms", ir[bi].commit_p50);
			j_num(&j, "commit_p99_ms", ir[bi].commit_p99);
			j_end(&j);
		}
		j_endarr(&j);
		j_obj(&j, "delete");
		j_int(&j, "rows", ndel);
		j_num(&j, "fraction", O.delete_frac);
		j_num(&j, "seconds", del_s);
		j_num(&j, "rows_per_second", ndel / (del_s > 0 ? del_s : 1e-9));
		j_int(&j, "index_bytes_before", size_before);
		j_int(&j, "index_bytes_after_delete", size_after_del);
		j_end(&j);
		j_obj(&j, "vacuum");
		j_num(&j, "seconds", vac_s);
		j_int(&j, "index_bytes_after", size_after_vac);
		j_int(&j, "table_bytes_after", table_after_vac);
		j_end(&j);
		json_write_recall(&j, "recall_after_vacuum", &wr_after);
		j_arr(&j, "cycles");
		for (i = 0; i < ncyc; i++)
		{
			j_obj(&j, NULL);
			j_int(&j, "cycle", i + 1);
			j_int(&j, "deleted", cyc[i].deleted);
			j_int(&j, "reinserted", cyc[i].reinserted);
			j_num(&j, "vacuum_seconds", cyc[i].vacuum_s);
			j_int(&j, "index_bytes", cyc[i].index_bytes);
			j_int(&j, "table_bytes", cyc[i].table_bytes);
			j_end(&j);
		}
		j_endarr(&j);
		if (ncyc > 0)
			json_write_recall(&j, "recall_after_cycles", &wr_cycles);
		json_run_end(&j);
		free(del_ids);
		free(del_vecs);
		free(L.base_alive);
		free(L.ins_id);
		free(L.ins_vec);
		free(L.ins_alive);
		if (!O.force)
			db_exec(c, "DROP TABLE IF EXISTS %s", wt);
	}
	PQfinish(c);
	dataset_free(&ds);
	return 0;
}

/* ---- churn: delete a large share + VACUUM + reinsert, then rounds of smaller churn ---- */

typedef struct ChurnStep
{
	int			kind;			/* CHURN_BUILD, CHURN_DELETE (delete + VACUUM), CHURN_REINSERT */
	int			round;			/* 0: the first (large) delete and its reinsert; 1..: cycles */
	char		name[48];
	double		frac;			/* share of the live rows deleted */
	long		rows;			/* deleted or reinserted */
	long		live;			/* rows alive afterwards */
	double		seconds;		/* build, DELETE statements or reinsert */
	double		vacuum_s;
	long long	index_bytes,
				table_bytes;
	WriteRecall wr;
} ChurnStep;

#define CHURN_BUILD 0
#define CHURN_DELETE 1
#define CHURN_REINSERT 2
#define CHURN_MAXCYC 64
#define CHURN_MAXSTEPS (2 + 2 * CHURN_MAXCYC)

/* the exact answers of a step: the live sets are the same for every spec (one seed), computed once */
typedef struct ChurnGt
{
	uint64_t	hash;
	int			have;
	GroundTruth gt;
} ChurnGt;

typedef struct ChurnSummary
{
	double		min_recall10,
				max_recall10;	/* over the steps of the last spec, at every GUC value */
	long		live_end;
} ChurnSummary;

static ChurnSummary g_last_churn;

static const char *churn_kind[] = {"build", "delete_vacuum", "reinsert"};

static double
churn_recall_value(const QueryResult *q)
{
	return O.k >= 10 ? q->recall10 : q->recall1;
}

/* live rows, index and table size after a step */
static void
churn_sizes(PGconn *c, const char *table, const char *index, const LiveSet *L, ChurnStep *st)
{
	st->live = live_count(L);
	st->index_bytes = index_exists(c, index) ? db_int(c, "SELECT pg_relation_size('%s')", index) : 0;
	st->table_bytes = db_int(c, "SELECT pg_table_size('%s')", table);
}

/* recall after a step against the exact answer of the rows alive (computed once per live set) */
static void
churn_recall(const Dataset *ds, const Spec *s, const char *table, const LiveSet *L, int nq, ChurnGt *cg,
			 ChurnStep *st)
{
	uint64_t	h = live_hash(L);

	if (!cg->have || cg->hash != h)
	{
		if (cg->have)
			gt_free(&cg->gt);
		live_gt(ds, L, nq, &cg->gt);
		cg->hash = h;
		cg->have = 1;
		if (!O.quiet)
			fprintf(stderr, "ground truth of %ld live rows, %d queries: %.1f s\n", st->live, nq, cg->gt.seconds);
	}
	recall_vs_gt(ds, s, table, &cg->gt, nq, &st->wr, st->name);
}

static int
cmd_churn(void)
{
	Dataset		ds;
	PGconn	   *c;
	LoadResult	lr;
	Spec		specs[8];
	int			nspec,
				si,
				i,
				v,
				nsteps = 0,
				ncyc = O.cycles < CHURN_MAXCYC ? O.cycles : CHURN_MAXCYC,
				nq;
	ChurnStep  *steps[8];
	ChurnGt    *gtc = xcalloc(CHURN_MAXSTEPS, sizeof(ChurnGt));
	BuildResult brs[8];
	char		rk[8];

	if (O.delete_frac < 0 || O.delete_frac >= 1 || O.cycle_frac < 0 || O.cycle_frac >= 1)
		die("churn: --delete-frac and --cycle-frac must be within [0, 1)");
	if (ncyc < 0)
		ncyc = 0;
	dataset_load(&ds);
	nq = O.write_nq < ds.nq ? O.write_nq : ds.nq;
	if (nq < 1)
		die("churn: --write-nq must be at least 1");
	c = setup_connection();
	load_base_tables(c, &ds, &lr);
	default_specs(specs, &nspec, &ds);
	snprintf(rk, sizeof(rk), "R@%d", O.k >= 10 ? 10 : 1);
	for (si = 0; si < nspec; si++)
	{
		Spec	   *s = &specs[si];
		ChurnStep  *st = xcalloc(CHURN_MAXSTEPS, sizeof(ChurnStep));
		char		wt[160],
					widx[200];
		BuildResult *br = &brs[si];
		LiveSet		L;
		Rng			rng;
		int64_t		next_id = ds.n;
		int			round,
					ns = 0;
		Json		j;

		steps[si] = st;
		ensure_spec_tables(c, &ds, s);
		snprintf(wt, sizeof(wt), "%s_c", s->table);
		snprintf(widx, sizeof(widx), "%.40s_%.16s_idx", wt, s->am);
		printf("== churn: %s on %s (copy of %s): delete %g%% + VACUUM + reinsert, then %d x (delete %g%% + "
			   "VACUUM + reinsert); recall on %d queries against the rows alive\n", s->label, wt, s->table,
			   O.delete_frac * 100, ncyc, O.cycle_frac * 100, nq);
		db_exec(c, "DROP TABLE IF EXISTS %s", wt);
		db_exec(c, "CREATE TABLE %s (LIKE %s INCLUDING ALL)", wt, s->table);
		db_exec(c, "ALTER TABLE %s SET (autovacuum_enabled = off)", wt);
		db_exec(c, "INSERT INTO %s SELECT * FROM %s", wt, s->table);
		drop_vector_indexes(c, wt);
		db_exec(c, "ALTER TABLE %s ADD PRIMARY KEY (id)", wt);
		db_exec(c, "VACUUM (ANALYZE) %s", wt);
		memset(br, 0, sizeof(*br));
		if (strcmp(s->am, "none") != 0)
		{
			build_index(c, s, wt, widx, ds.n, br);
			print_build(s, wt, br);
		}
		memset(&L, 0, sizeof(L));
		L.n = ds.n;
		L.base_alive = xmalloc(ds.n);
		memset(L.base_alive, 1, ds.n);

		st[ns].kind = CHURN_BUILD;
		snprintf(st[ns].name, sizeof(st[ns].name), "build");
		st[ns].seconds = br->seconds;
		churn_sizes(c, wt, widx, &L, &st[ns]);
		printf("  %-24s %ld rows: index %.1f MB, table %.1f MB\n", st[ns].name, st[ns].live,
			   st[ns].index_bytes / 1048576.0, st[ns].table_bytes / 1048576.0);
		churn_recall(&ds, s, wt, &L, nq, &gtc[ns], &st[ns]);
		ns++;

		/* the same seed for every spec: each deletes the same rows, so the results are comparable */
		rng_seed(&rng, O.seed, 78, 0);
		for (round = 0; round <= ncyc; round++)
		{
			double		frac = round == 0 ? O.delete_frac : O.cycle_frac;
			long		m = (long) (frac * live_count(&L)),
						got;
			int64_t    *ids = xmalloc(sizeof(int64_t) * (m + 1));
			const float **vecs = xmalloc(sizeof(float *) * (m + 1));
			ChurnStep  *d = &st[ns],
					   *r = &st[ns + 1];

			/* delete + VACUUM */
			got = pick_live(&L, &rng, m, ids, vecs, &ds);
			d->kind = CHURN_DELETE;
			d->round = round;
			d->frac = frac;
			d->rows = got;
			if (round == 0)
				snprintf(d->name, sizeof(d->name), "delete %g%% + VACUUM", frac * 100);
			else
				snprintf(d->name, sizeof(d->name), "%d: delete %g%% + VACUUM", round, frac * 100);
			d->seconds = delete_ids(c, wt, ids, got, O.delete_batch);
			d->vacuum_s = timed_vacuum(c, wt);
			churn_sizes(c, wt, widx, &L, d);
			printf("  %-24s %ld rows deleted in %.2f s, VACUUM %.2f s: index %.1f MB, table %.1f MB\n", d->name,
				   got, d->seconds, d->vacuum_s, d->index_bytes / 1048576.0, d->table_bytes / 1048576.0);
			churn_recall(&ds, s, wt, &L, nq, &gtc[ns], d);

			/* reinsert the deleted vectors (new ids), one session */
			r->kind = CHURN_REINSERT;
			r->round = round;
			r->frac = frac;
			r->rows = got;
			if (round == 0)
				snprintf(r->name, sizeof(r->name), "reinsert %ld", got);
			else
				snprintf(r->name, sizeof(r->name), "%d: reinsert %ld", round, got);
			r->seconds = reinsert_rows(c, &ds, s, wt, vecs, got, O.reinsert_batch, &next_id, &L, "reinsert");
			churn_sizes(c, wt, widx, &L, r);
			printf("  %-24s %ld rows in %.2f s = %.1f rows/s (%d per commit): index %.1f MB, table %.1f MB\n",
				   r->name, got, r->seconds, got / (r->seconds > 0 ? r->seconds : 1e-9), O.reinsert_batch,
				   r->index_bytes / 1048576.0, r->table_bytes / 1048576.0);
			churn_recall(&ds, s, wt, &L, nq, &gtc[ns + 1], r);
			ns += 2;
			free(ids);
			free(vecs);
		}
		nsteps = ns;

		g_last_churn.min_recall10 = 2;
		g_last_churn.max_recall10 = -1;
		for (i = 0; i < ns; i++)
			for (v = 0; v < st[i].wr.n; v++)
			{
				double		x = st[i].wr.q[v].recall10;

				if (x < g_last_churn.min_recall10)
					g_last_churn.min_recall10 = x;
				if (x > g_last_churn.max_recall10)
					g_last_churn.max_recall10 = x;
			}
		g_last_churn.live_end = st[ns - 1].live;

		meta_refresh_extensions(c);
		json_run_begin(&j, "churn", &ds, s);
		j_str(&j, "table", wt);
		j_int(&j, "queries", nq);
		j_obj(&j, "build");
		json_build(&j, br);
		j_end(&j);
		j_arr(&j, "steps");
		for (i = 0; i < ns; i++)
		{
			j_obj(&j, NULL);
			j_str(&j, "step", st[i].name);
			j_str(&j, "kind", churn_kind[st[i].kind]);
			j_int(&j, "round", st[i].round);
			if (st[i].kind != CHURN_BUILD)
			{
				j_num(&j, "fraction", st[i].frac);
				j_int(&j, "rows", st[i].rows);
			}
			if (st[i].kind == CHURN_BUILD)
				j_num(&j, "build_seconds", st[i].seconds);
			else if (st[i].kind == CHURN_DELETE)
			{
				j_num(&j, "delete_seconds", st[i].seconds);
				j_num(&j, "vacuum_seconds", st[i].vacuum_s);
			}
			else
			{
				j_num(&j, "seconds", st[i].seconds);
				j_num(&j, "rows_per_second", st[i].rows / (st[i].seconds > 0 ? st[i].seconds : 1e-9));
				j_int(&j, "rows_per_commit", O.reinsert_batch);
			}
			j_int(&j, "live_rows", st[i].live);
			j_int(&j, "index_bytes", st[i].index_bytes);
			j_int(&j, "table_bytes", st[i].table_bytes);
			json_write_recall(&j, "recall", &st[i].wr);
			j_end(&j);
		}
		j_endarr(&j);
		json_run_end(&j);
		free(L.base_alive);
		free(L.ins_id);
		free(L.ins_vec);
		free(L.ins_alive);
		if (!O.force)
			db_exec(c, "DROP TABLE IF EXISTS %s", wt);
	}

	/* side by side: one row per step, for each spec its seconds, rows/s, index MB and recall */
	printf("\nchurn: %s, n %ld, dim %d, %s, WITH (%s) unless the spec says otherwise; %s over %d queries "
		   "against the exact answer of the rows alive at each step\n", ds.name, ds.n, ds.dim,
		   metric_names[ds.metric], O.with, rk, nq);
	for (si = 0; si < nspec; si++)
		printf("  %s: USING %s (%s)%s%s, build %.2f s\n", specs[si].label, specs[si].am, specs[si].ops,
			   specs[si].with[0] ? " WITH " : "", specs[si].with, brs[si].seconds);
	printf("\n| step | live rows |");
	for (si = 0; si < nspec; si++)
	{
		printf(" %s s | %s rows/s | %s index MB |", specs[si].label, specs[si].label, specs[si].label);
		for (v = 0; v < steps[si][0].wr.n; v++)
			printf(" %s %s (%s) |", specs[si].label, rk, steps[si][0].wr.q[v].value[0] ?
				   steps[si][0].wr.q[v].value : "exact");
	}
	printf("\n|---|---:|");
	for (si = 0; si < nspec; si++)
	{
		printf("---:|---:|---:|");
		for (v = 0; v < steps[si][0].wr.n; v++)
			printf("---:|");
	}
	printf("\n");
	for (i = 0; i < nsteps; i++)
	{
		printf("| %s | %ld |", steps[0][i].name, steps[0][i].live);
		for (si = 0; si < nspec; si++)
		{
			const ChurnStep *t = &steps[si][i];

			if (t->kind == CHURN_DELETE)
				printf(" %.2f | - |", t->vacuum_s);
			else if (t->kind == CHURN_REINSERT)
				printf(" %.2f | %.1f |", t->seconds, t->rows / (t->seconds > 0 ? t->seconds : 1e-9));
			else
				printf(" %.2f | - |", t->seconds);
			printf(" %.1f |", t->index_bytes / 1048576.0);
			for (v = 0; v < t->wr.n; v++)
				printf(" %.4f |", churn_recall_value(&t->wr.q[v]));
		}
		printf("\n");
	}
	printf("\ns: CREATE INDEX seconds (build), VACUUM seconds (delete + VACUUM; the DELETE statements are in the "
		   "lines above and the JSON), reinsert seconds (reinsert, %d rows per commit, one session)\n",
		   O.reinsert_batch);
	for (si = 0; si < nspec; si++)
		free(steps[si]);
	for (i = 0; i < CHURN_MAXSTEPS; i++)
		if (gtc[i].have)
			gt_free(&gtc[i].gt);
	free(gtc);
	PQfinish(c);
	dataset_free(&ds);
	return 0;
}

/* ---- compare: two specs, alternating build + query runs ---- */

typedef struct CmpRow
{
	char		name[96];
	double		v[2][16];		/* spec x run */
	int			higher_better;
} CmpRow;

static int
cmd_compare(void)
{
	Dataset		ds;
	GroundTruth gt;
	PGconn	   *c;
	LoadResult	lr;
	Spec		specs[8];
	int			nspec,
				run,
				k,
				si,
				nrows = 0,
				i,
				runs = O.runs < 1 ? 1 : (O.runs > 16 ? 16 : O.runs);
	CmpRow	   *rows = xcalloc(512, sizeof(CmpRow));
	QueryResult qrs[MAXLIST * 4];

	dataset_load(&ds);
	gt_get(&ds, &gt);
	c = setup_connection();
	load_base_tables(c, &ds, &lr);
	if (O.nspec < 2)
		die("compare needs two --spec options (for instance --spec vechnsw --spec pgvector)");
	default_specs(specs, &nspec, &ds);
	nspec = 2;
	for (si = 0; si < 2; si++)
		ensure_spec_tables(c, &ds, &specs[si]);
	for (run = 0; run < runs; run++)
		for (k = 0; k < 2; k++)
		{
			/* alternate the order: A B, B A, A B, ... */
			int			s_i = (run % 2 == 0) ? k : 1 - k;
			Spec	   *s = &specs[s_i];
			BuildResult br;
			int			nq,
						r0 = 0;

			printf("== compare run %d/%d: %s\n", run + 1, runs, s->label);
			do_build(c, &ds, s, &br);
			print_query_header();
			nq = query_sweep(c, &ds, s, &gt, qrs, MAXLIST * 4, 1);
#define ROW(nm, hb, val) do { \
				snprintf(rows[r0].name, sizeof(rows[r0].name), "%s", nm); \
				rows[r0].higher_better = hb; rows[r0].v[s_i][run] = (val); r0++; } while (0)
			ROW("build seconds", 0, br.seconds);
			ROW("index MB", 0, br.index_bytes / 1048576.0);
			ROW("bytes/vector", 0, br.bytes_per_vector);
			ROW("build peak RSS MB", 0, br.mem.hwm_kb / 1024.0);
			for (i = 0; i < nq; i++)
			{
				char		nm[96];

				snprintf(nm, sizeof(nm), "ef=%s c=%d QPS", qrs[i].value, qrs[i].clients);
				ROW(nm, 1, qrs[i].qps);
				snprintf(nm, sizeof(nm), "ef=%s c=%d recall@1", qrs[i].value, qrs[i].clients);
				ROW(nm, 1, qrs[i].recall1);
				if (O.k >= 10)
				{
					snprintf(nm, sizeof(nm), "ef=%s c=%d recall@10", qrs[i].value, qrs[i].clients);
					ROW(nm, 1, qrs[i].recall10);
				}
				if (O.k >= 100)
				{
					snprintf(nm, sizeof(nm), "ef=%s c=%d recall@100", qrs[i].value, qrs[i].clients);
					ROW(nm, 1, qrs[i].recall100);
				}
				snprintf(nm, sizeof(nm), "ef=%s c=%d p50 ms", qrs[i].value, qrs[i].clients);
				ROW(nm, 0, qrs[i].p50);
				snprintf(nm, sizeof(nm), "ef=%s c=%d p99 ms", qrs[i].value, qrs[i].clients);
				ROW(nm, 0, qrs[i].p99);
			}
#undef ROW
			if (r0 > nrows)
				nrows = r0;
			/* drop the index after its queries, so that the other spec's run does not
			 * share shared_buffers with it (every run rebuilds anyway) */
			if (strcmp(s->am, "none") != 0 && index_exists(c, s->index))
				db_exec(c, "DROP INDEX %s", s->index);
		}
	printf("\n== compare: A = %s (%s %s %s), B = %s (%s %s %s); median of %d run%s\n",
		   specs[0].label, specs[0].am, specs[0].ops, specs[0].type,
		   specs[1].label, specs[1].am, specs[1].ops, specs[1].type, runs, runs > 1 ? "s" : "");
	printf("%-28s %12s %12s %8s\n", "figure", specs[0].label, specs[1].label, "B/A");
	{
		Json		j;

		meta_refresh_extensions(c);
		json_run_begin(&j, "compare", &ds, NULL);
		j_arr(&j, "specs");
		for (si = 0; si < 2; si++)
		{
			j_obj(&j, NULL);
			j_str(&j, "label", specs[si].label);
			j_str(&j, "am", specs[si].am);
			j_str(&j, "opclass", specs[si].ops);
			j_str(&j, "column_type", specs[si].type);
			j_str(&j, "guc", specs[si].guc);
			j_str(&j, "with", specs[si].with);
			j_end(&j);
		}
		j_endarr(&j);
		j_arr(&j, "figures");
		for (i = 0; i < nrows; i++)
		{
			double		a = median_of(rows[i].v[0], runs),
						b = median_of(rows[i].v[1], runs);
			double		ratio = a != 0 ? b / a : NAN;

			printf("%-28s %12.4g %12.4g %8.3f\n", rows[i].name, a, b, ratio);
			j_obj(&j, NULL);
			j_str(&j, "figure", rows[i].name);
			j_num(&j, "a", a);
			j_num(&j, "b", b);
			j_num(&j, "ratio_b_over_a", ratio);
			j_arr(&j, "a_runs");
			for (run = 0; run < runs; run++)
				j_num(&j, NULL, rows[i].v[0][run]);
			j_endarr(&j);
			j_arr(&j, "b_runs");
			for (run = 0; run < runs; run++)
				j_num(&j, NULL, rows[i].v[1][run]);
			j_endarr(&j);
			j_end(&j);
		}
		j_endarr(&j);
		json_run_end(&j);
	}
	free(rows);
	PQfinish(c);
	gt_free(&gt);
	dataset_free(&ds);
	return 0;
}

/* ------------------------------------------------------------------------
 * smoke: tiny end-to-end run of every subcommand with known-answer checks
 * ------------------------------------------------------------------------ */

static int g_smoke_fail = 0;

static void
check(int cond, const char *fmt, ...)
{
	va_list		ap;

	if (cond)
		return;
	g_smoke_fail++;
	fflush(stdout);
	fprintf(stderr, "vecbench smoke: FAIL ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static void
smoke_recall_unit(void)
{
	int64_t		ids[GT_K],
				res[GT_K];
	float		d[GT_K];
	int			i;
	double		r;

	for (i = 0; i < GT_K; i++)
	{
		ids[i] = 1000 + i;
		d[i] = (float) i;
		res[i] = ids[i];
	}
	r = recall_at(res, 10, ids, d, GT_K, 10);
	check(r == 1.0, "recall of the exact list is %g, expected 1", r);
	r = recall_at(res, 100, ids, d, GT_K, 100);
	check(r == 1.0, "recall@100 of the exact list is %g, expected 1", r);
	res[7] = -1;
	res[8] = 5;
	res[9] = 1000 + 50;			/* in the top 100 but not the top 10 */
	r = recall_at(res, 10, ids, d, GT_K, 10);
	check(fabs(r - 0.7) < 1e-12, "recall with 3 of 10 wrong is %g, expected 0.7", r);
	r = recall_at(res, 10, ids, d, GT_K, 1);
	check(r == 1.0, "recall@1 is %g, expected 1", r);
	for (i = 0; i < 10; i++)
		res[i] = ids[0];
	r = recall_at(res, 10, ids, d, GT_K, 10);
	check(fabs(r - 0.1) < 1e-12, "recall of a list with one id repeated is %g, expected 0.1", r);
	r = recall_at(res, 3, ids, d, GT_K, 10);
	check(fabs(r - 0.1) < 1e-12, "recall of a short list is %g, expected 0.1", r);
	/* ties: 9th and 10th and 11th neighbours equally distant: any of them counts */
	for (i = 0; i < GT_K; i++)
		res[i] = ids[i];
	d[8] = d[9] = d[10] = 8.0f;
	res[9] = ids[10];
	r = recall_at(res, 10, ids, d, GT_K, 10);
	check(r == 1.0, "recall with a tied neighbour is %g, expected 1", r);
	res[9] = ids[11];
	r = recall_at(res, 10, ids, d, GT_K, 10);
	check(fabs(r - 0.9) < 1e-12, "recall with an untied 12th neighbour is %g, expected 0.9", r);
	/* brute force against a hand-made case: 1-D points 0..9, query 2.2 */
	{
		float		base[10],
					q[1] = {2.2f};
		GroundTruth gt;
		int64_t		expect[5] = {2, 3, 1, 4, 0};

		for (i = 0; i < 10; i++)
			base[i] = (float) i;
		compute_gt(base, NULL, 10, q, 1, 1, METRIC_L2, GT_K, &gt);
		for (i = 0; i < 5; i++)
			check(gt.ids[i] == expect[i], "brute force: neighbour %d is %lld, expected %lld", i,
				  (long long) gt.ids[i], (long long) expect[i]);
		check(fabsf(gt.dist[0] - 0.2f) < 1e-6, "brute force: distance %g, expected 0.2", gt.dist[0]);
		check(gt.ids[10] == -1, "brute force: missing neighbours must be -1");
		gt_free(&gt);
	}
}

static int
cmd_smoke(void)
{
	Opts		saved = O;
	Dataset		ds,
				ds2;
	GroundTruth gt,
				gt2;
	PGconn	   *c;
	char		path[2048],
				tmpl[] = "/tmp/vecbench-smoke-XXXXXX";
	char	   *tmpdir;
	int			i,
				have_pgvector;
	QueryResult qrs[MAXLIST * 4];
	Spec		sp;
	char		results_path[1200];
	int			own_results = 0;
	double		t_start = now_sec();

	tmpdir = mkdtemp(tmpl);
	if (!tmpdir)
		die("mkdtemp: %s", strerror(errno));
	snprintf(O.datadir, sizeof(O.datadir), "%s", tmpdir);
	if (!O.results[0] || strstr(O.results, "/results.jsonl"))
	{
		snprintf(results_path, sizeof(results_path), "%s/results.jsonl", tmpdir);
		snprintf(O.results, sizeof(O.results), "%s", results_path);
		own_results = 1;
	}
	snprintf(O.dataset, sizeof(O.dataset), "synthetic");
	O.n = 400;
	O.dim = 24;
	O.nq = 40;
	O.nextra = 200;
	O.idim = 6;
	O.clusters = 5;
	snprintf(O.metric, sizeof(O.metric), "l2");
	snprintf(O.table, sizeof(O.table), "vb_smoke");
	O.force = 1;
	O.k = 10;
	snprintf(O.with, sizeof(O.with), "m=8, ef_construction=32");
	snprintf(O.values, sizeof(O.values), "10,100");
	snprintf(O.clients, sizeof(O.clients), "1,2");
	O.warmup = 1;
	O.repeat = 1;
	O.insert_rows = 30;
	snprintf(O.batches, sizeof(O.batches), "1,10");
	O.delete_frac = 0.1;
	O.delete_batch = 7;
	O.cycles = 2;
	O.cycle_frac = 0.1;
	O.reinsert_batch = 9;
	O.write_nq = 20;
	O.quiet = 1;

	printf("== smoke: recall and brute force known answers\n");
	smoke_recall_unit();

	printf("== smoke: generator is deterministic\n");
	dataset_load(&ds);
	dataset_load(&ds2);
	check(ds.ck_base == ds2.ck_base && ds.ck_query == ds2.ck_query, "synthetic data differs between two runs");
	dataset_free(&ds2);
	O.seed++;
	dataset_load(&ds2);
	check(ds.ck_base != ds2.ck_base, "synthetic data does not depend on the seed");
	dataset_free(&ds2);
	O.seed--;

	printf("== smoke: gt (compute, cache, reuse)\n");
	gt_path(&ds, path, sizeof(path));
	unlink(path);
	gt_get(&ds, &gt);
	check(!gt.cached && access(path, R_OK) == 0, "ground truth was not cached in %s", path);
	gt_get(&ds, &gt2);
	check(gt2.cached, "ground truth cache was not reused");
	check(memcmp(gt.ids, gt2.ids, sizeof(int64_t) * gt.nq * gt.K) == 0 &&
		  memcmp(gt.dist, gt2.dist, sizeof(float) * gt.nq * gt.K) == 0, "cached ground truth differs");
	gt_free(&gt2);
	for (i = 0; i < ds.nq; i++)
	{
		/* first neighbour must be at the minimum distance, rows sorted */
		int			j;

		for (j = 1; j < GT_K; j++)
			if (gt.dist[(size_t) i * GT_K + j] < gt.dist[(size_t) i * GT_K + j - 1])
			{
				check(0, "ground truth of query %d not sorted", i);
				break;
			}
	}

	c = setup_connection();
	printf("== smoke: load (binary COPY) and cmd_load\n");
	check(cmd_load() == 0, "load failed");
	{
		long long	n = db_int(c, "SELECT count(*) FROM vb_smoke");
		char	   *v;

		check(n == ds.n, "vb_smoke has %lld rows, expected %ld", n, ds.n);
		/* a vector read back as text equals the client's floats exactly */
		v = db_value(c, "SELECT v::text FROM vb_smoke WHERE id = 17");
		if (v)
		{
			char	   *p = v + 1,
					   *e;
			int			j,
						ok = 1;

			for (j = 0; j < ds.dim; j++)
			{
				float		f = strtof(p, &e);

				if (e == p || f != ds.base[17 * ds.dim + j])
					ok = 0;
				p = e + 1;
			}
			check(ok, "row 17 read back differs from the data set: %s", v);
			free(v);
		}
		else
			check(0, "row 17 missing");
		n = db_int(c, "SELECT count(*) FROM vb_smoke_q");
		check(n == ds.nq, "vb_smoke_q has %lld rows, expected %d", n, ds.nq);
	}
	O.force = 0;
	check(cmd_gt() == 0, "gt failed");

	/* known answer through the server: exact scans must give recall 1 */
	printf("== smoke: exact scans through the server give recall 1.0\n");
	spec_parse(&sp, "exact", &ds);
	ensure_spec_tables(c, &ds, &sp);
	drop_vector_indexes(c, sp.table);
	run_queries(&ds, &sp, sp.table, sp.qtable, ds.query, ds.nq, &gt, "", 1, 1, 0, &qrs[0]);
	check(qrs[0].recall1 == 1.0 && qrs[0].recall10 == 1.0, "exact scan recall@1 %g recall@10 %g, expected 1",
		  qrs[0].recall1, qrs[0].recall10);
	run_queries(&ds, &sp, sp.table, sp.qtable, ds.query, ds.nq, &gt, "", 2, 1, 1, &qrs[1]);
	check(qrs[1].recall10 == 1.0, "server-side exact recall@10 %g, expected 1", qrs[1].recall10);
	/* a deliberately perturbed answer: LIMIT k but skip the best 3 (OFFSET) */
	{
		double		sum = 0,
					expect = 0;
		int			q;

		for (q = 0; q < ds.nq; q++)
		{
			char	   *r;
			int64_t		res[10];
			int			j;
			char		sql[2048],
					   *p,
					   *e;

			snprintf(sql, sizeof(sql),
					 "SELECT array_to_string(ARRAY(SELECT id FROM vb_smoke ORDER BY v <-> (SELECT v FROM vb_smoke_q "
					 "WHERE qid = %d) OFFSET 3 LIMIT 10), ',')", q);
			r = db_value(c, "%s", sql);
			for (j = 0, p = r; j < 10 && p && *p; j++)
			{
				res[j] = strtoll(p, &e, 10);
				p = *e ? e + 1 : e;
			}
			sum += recall_at(res, j, gt.ids + (size_t) q * GT_K, gt.dist + (size_t) q * GT_K, GT_K, 10);
			expect += 0.7;
			free(r);
		}
		check(fabs(sum / ds.nq - expect / ds.nq) < 1e-9, "recall of results shifted by 3 is %g, expected 0.7",
			  sum / ds.nq);
	}
	O.exact = 0;

	printf("== smoke: cosine and inner product ground truth match exact scans\n");
	{
		Opts		keep = O;
		int			mt;

		for (mt = 1; mt <= 2; mt++)
		{
			Dataset		dm;
			GroundTruth gm;
			Spec		se;

			snprintf(O.metric, sizeof(O.metric), "%s", metric_names[mt]);
			snprintf(O.table, sizeof(O.table), "vb_smoke_%s", metric_names[mt]);
			O.n = 300;
			O.nq = 20;
			O.force = 1;
			dataset_load(&dm);
			gt_get(&dm, &gm);
			{
				LoadResult lr;

				load_base_tables(c, &dm, &lr);
			}
			spec_parse(&se, "exact", &dm);
			run_queries(&dm, &se, se.table, se.qtable, dm.query, dm.nq, &gm, "", 1, 1, 0, &qrs[2]);
			check(qrs[2].recall10 == 1.0, "%s: exact scan recall@10 %g, expected 1", metric_names[mt],
				  qrs[2].recall10);
			db_exec(c, "DROP TABLE vb_smoke_%s, vb_smoke_%s_q, vb_smoke_%s_x", metric_names[mt],
					metric_names[mt], metric_names[mt]);
			gt_free(&gm);
			dataset_free(&dm);
		}
		O = keep;
	}

	printf("== smoke: build\n");
	O.nspec = 1;
	O.specstr[0] = "vechnsw";
	check(cmd_build() == 0, "build failed");
	spec_parse(&sp, "vechnsw", &ds);
	check(index_exists(c, sp.index), "index %s missing after build", sp.index);
	check(db_int(c, "SELECT pg_relation_size('%s')", sp.index) > 0, "index %s is empty", sp.index);

	printf("== smoke: query (1 and 2 clients, 2 ef values, and server-side)\n");
	O.quiet = 0;
	check(cmd_query() == 0, "query failed");
	O.server_side = 1;
	snprintf(O.clients, sizeof(O.clients), "1");
	check(cmd_query() == 0, "server-side query failed");
	O.server_side = 0;
	{
		QueryResult q;

		run_queries(&ds, &sp, sp.table, sp.qtable, ds.query, ds.nq, &gt, "100", 1, 1, 0, &q);
		check(q.recall10 >= 0 && q.recall10 <= 1, "index recall@10 out of range: %g", q.recall10);
		if (q.recall10 < 0.8)
			fprintf(stderr, "vecbench smoke: warning: vechnsw recall@10 at ef_search=100 on %ld vectors is %.3f\n",
					ds.n, q.recall10);
	}

	printf("== smoke: write (inserts, deletes, VACUUM, cycles) with exact scans: recall must stay 1.0\n");
	O.exact = 1;
	O.quiet = 1;
	check(cmd_write() == 0, "write (exact) failed");
	check(g_last_write.recall_before == 1.0 && g_last_write.recall_after_vacuum == 1.0 &&
		  g_last_write.recall_after_cycles == 1.0,
		  "write: exact recall before %g, after VACUUM %g, after cycles %g: the live set is tracked wrongly",
		  g_last_write.recall_before, g_last_write.recall_after_vacuum, g_last_write.recall_after_cycles);
	O.exact = 0;
	O.cycles = 1;
	printf("== smoke: write with the index\n");
	check(cmd_write() == 0, "write failed");

	printf("== smoke: churn (delete 50%%, VACUUM, reinsert, 2 rounds of 10%%) with exact scans: recall stays 1.0\n");
	O.exact = 1;
	O.delete_frac = 0.5;
	O.cycles = 2;
	check(cmd_churn() == 0, "churn (exact) failed");
	check(g_last_churn.min_recall10 == 1.0 && g_last_churn.max_recall10 == 1.0 && g_last_churn.live_end == ds.n,
		  "churn: exact recall between %g and %g, %ld rows alive at the end (expected 1.0 and %ld): the live set "
		  "is tracked wrongly", g_last_churn.min_recall10, g_last_churn.max_recall10, g_last_churn.live_end, ds.n);
	O.exact = 0;
	O.delete_frac = 0.1;
	O.cycles = 1;

	printf("== smoke: compare (vechnsw m=8 against vechnsw m=16%s)\n", "");
	have_pgvector = db_int(c, "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") > 0;
	O.nspec = 2;
	O.specstr[0] = "vechnsw;name=m8";
	O.specstr[1] = "vechnsw;name=m16;with=m=16, ef_construction=32";
	snprintf(O.clients, sizeof(O.clients), "1");
	check(cmd_compare() == 0, "compare failed");
	if (have_pgvector && getenv("VECBENCH_SMOKE_PGVECTOR"))
	{
		O.specstr[1] = "pgvector;with=m=8, ef_construction=32";
		check(cmd_compare() == 0, "compare with pgvector failed");
	}

	printf("== smoke: results file\n");
	{
		FILE	   *f = fopen(O.results, "r");
		char	   *line = NULL;
		size_t		cap = 0;
		int			nl = 0,
					bad = 0;
		ssize_t		len;

		check(f != NULL, "results file %s missing", O.results);
		while (f && (len = getline(&line, &cap, f)) > 0)
		{
			nl++;
			if (line[0] != '{' || line[len - 2] != '}' || !strstr(line, "\"pg_version\"") ||
				!strstr(line, "\"git_commit\"") || !strstr(line, "\"machine\""))
				bad++;
		}
		free(line);
		if (f)
			fclose(f);
		check(nl >= 8 && bad == 0, "results file has %d lines, %d malformed", nl, bad);
	}

	db_exec(c, "DROP TABLE IF EXISTS vb_smoke, vb_smoke_q, vb_smoke_x CASCADE");
	db_exec(c, "DELETE FROM vecbench_meta WHERE tbl LIKE 'vb_smoke%%'");
	PQfinish(c);
	gt_free(&gt);
	dataset_free(&ds);
	if (own_results)
		unlink(results_path);
	unlink(path);
	{
		char		cmd[1200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	O = saved;
	if (g_smoke_fail)
	{
		printf("vecbench smoke: FAIL (%d check%s failed)\n", g_smoke_fail, g_smoke_fail > 1 ? "s" : "");
		return 1;
	}
	printf("vecbench smoke: ok (%.1f s)\n", now_sec() - t_start);
	return 0;
}

/* ------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------ */

static void
usage(FILE *f)
{
	fprintf(f,
			"usage: vecbench SUBCOMMAND [options]\n"
			"\n"
			"subcommands:\n"
			"  load     load base, query and extra vectors into tables with binary COPY\n"
			"  gt       compute (or reuse) the exact top-100 of every query, cached in the data dir\n"
			"  build    CREATE INDEX for each --spec, with progress; size, bytes/vector, backend peak RSS\n"
			"  query    recall@1/10/100, QPS, p50/p95/p99 over --values x --clients\n"
			"  write    insert (batch sizes), delete, VACUUM, recall after VACUUM, delete+reinsert cycles\n"
			"  churn    delete a share + VACUUM + reinsert it, then cycles of the same with a smaller share;\n"
			"           VACUUM s, reinsert rows/s, index size, recall against the live rows after every step\n"
			"  compare  build+query two --spec's in alternating runs and print figures and ratios B/A\n"
			"  smoke    tiny end-to-end run of every subcommand with known-answer checks (for CI)\n"
			"\n"
			"data set:\n"
			"  --dataset fashion-mnist|synthetic   (default fashion-mnist)\n"
			"  --n N --nq Q --nextra X             base, query and extra (insert) vectors\n"
			"  --metric l2|cosine|ip               (fashion-mnist: l2)\n"
			"  synthetic: --dim D --seed S --clusters C --idim L --spread F --noise F --normalize 0|1\n"
			"      (defaults: n 10000, dim 128, seed 42, clusters 64, idim min(32,dim), spread 0.5,\n"
			"      noise 0.05, normalize on for cosine)\n"
			"  --data-dir DIR     ground-truth cache (default: data/ beside the binary)\n"
			"\n"
			"index specs (repeatable; compare takes two):\n"
			"  --spec vechnsw | pgvector | exact | 'KEY=VALUE;...'\n"
			"      keys: am, ops, type, guc, with, ext, name; a preset may come first:\n"
			"      --spec 'pgvector;with=m=32, ef_construction=128'\n"
			"      --spec 'am=hnsw;ops=vector_l2_ops;type=vector(784);guc=hnsw.ef_search;ext=vector'\n"
			"  --with 'm=16, ef_construction=64'   default index options\n"
			"\n"
			"query:\n"
			"  --values 10,20,40  GUC values to sweep (--ef is the same)\n"
			"  --clients 1,2,4    concurrent connections   --k 10|100   LIMIT (recall@k)\n"
			"  --repeat R         passes over the queries  --warmup W   untimed passes first (1)\n"
			"  --server-side      one statement per client: query table + lateral subquery\n"
			"  --exact            disable index scans (recall must be 1)   --plan generic|custom\n"
			"write:\n"
			"  --insert-rows N (1000) --batches 1,10,100 --delete-frac F (0.1) --delete-batch B (100)\n"
			"  --cycles C (2) --cycle-frac F (--delete-frac) --write-nq Q (200)\n"
			"churn (same delete seed for every spec):\n"
			"  --delete-frac F (0.5) first delete   --cycle-frac F (0.1) --cycles C (5) later rounds\n"
			"  --reinsert-batch B (100) rows per commit   --delete-batch B (100)   --write-nq Q (all --nq)\n"
			"compare:\n"
			"  --runs R           runs per spec (alternating A B / B A), medians printed\n"
			"general:\n"
			"  --set NAME=VALUE   SET on every connection (repeatable), e.g. maintenance_work_mem=2GB\n"
			"  --conninfo STR     libpq connection string (default: PGHOST, PGPORT, ... from the environment)\n"
			"  --table NAME       base table name      --storage plain|default|external (plain)\n"
			"  --results FILE     JSON lines appended (default results.jsonl beside the binary; '-' none)\n"
			"  --note TEXT        stored in the JSON   --threads T (ground truth)   --force (reload)\n"
			"  --progress/--no-progress               --quiet\n");
}

int
main(int argc, char **argv)
{
	const char *sub;
	int			opt,
				idx;
	static struct option longopts[] = {
		{"dataset", required_argument, 0, 1}, {"n", required_argument, 0, 2}, {"dim", required_argument, 0, 3},
		{"nq", required_argument, 0, 4}, {"nextra", required_argument, 0, 5}, {"metric", required_argument, 0, 6},
		{"seed", required_argument, 0, 7}, {"clusters", required_argument, 0, 8}, {"idim", required_argument, 0, 9},
		{"noise", required_argument, 0, 10}, {"spread", required_argument, 0, 11},
		{"normalize", required_argument, 0, 12}, {"data-dir", required_argument, 0, 13},
		{"results", required_argument, 0, 14}, {"table", required_argument, 0, 15},
		{"conninfo", required_argument, 0, 16}, {"spec", required_argument, 0, 17},
		{"with", required_argument, 0, 18}, {"set", required_argument, 0, 19}, {"k", required_argument, 0, 20},
		{"values", required_argument, 0, 21}, {"ef", required_argument, 0, 21},
		{"clients", required_argument, 0, 22}, {"repeat", required_argument, 0, 23},
		{"warmup", required_argument, 0, 24}, {"server-side", no_argument, 0, 25}, {"exact", no_argument, 0, 26},
		{"plan", required_argument, 0, 27}, {"runs", required_argument, 0, 28},
		{"insert-rows", required_argument, 0, 29}, {"batches", required_argument, 0, 30},
		{"delete-frac", required_argument, 0, 31}, {"delete-batch", required_argument, 0, 32},
		{"cycles", required_argument, 0, 33}, {"write-nq", required_argument, 0, 34},
		{"force", no_argument, 0, 35}, {"progress", no_argument, 0, 36}, {"no-progress", no_argument, 0, 37},
		{"threads", required_argument, 0, 38}, {"storage", required_argument, 0, 39},
		{"note", required_argument, 0, 40}, {"quiet", no_argument, 0, 41},
		{"cycle-frac", required_argument, 0, 42}, {"reinsert-batch", required_argument, 0, 43},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	{
		char		exe[1024];
		ssize_t		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		if (n > 0)
		{
			char	   *slash;

			exe[n] = 0;
			slash = strrchr(exe, '/');
			if (slash)
				*slash = 0;
			snprintf(g_exedir, sizeof(g_exedir), "%s", exe);
		}
	}
	memset(&O, 0, sizeof(O));
	snprintf(O.dataset, sizeof(O.dataset), "fashion-mnist");
	O.nq = 1000;
	O.nextra = -1;
	O.seed = 42;
	O.clusters = 64;
	O.idim = 0;
	O.noise = 0.05;
	O.spread = 0.5;
	O.normalize = -1;
	snprintf(O.datadir, sizeof(O.datadir), "%s/data", g_exedir);
	snprintf(O.results, sizeof(O.results), "%s/results.jsonl", g_exedir);
	snprintf(O.with, sizeof(O.with), "m=16, ef_construction=64");
	O.k = 10;
	snprintf(O.values, sizeof(O.values), "10,20,40,80,160");
	snprintf(O.clients, sizeof(O.clients), "1");
	O.repeat = 1;
	O.warmup = 1;
	O.generic = 1;
	O.runs = 1;
	O.insert_rows = 1000;
	snprintf(O.batches, sizeof(O.batches), "1,10,100");
	O.delete_frac = -1;			/* defaults depend on the subcommand, set below */
	O.delete_batch = 100;
	O.cycles = -1;
	O.cycle_frac = -1;
	O.reinsert_batch = 100;
	O.write_nq = -1;
	O.progress = isatty(2);
	O.threads = (int) sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(O.storage, sizeof(O.storage), "plain");

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
	{
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "h", longopts, &idx)) != -1)
	{
		switch (opt)
		{
			case 1:
				snprintf(O.dataset, sizeof(O.dataset), "%s", optarg);
				break;
			case 2:
				O.n = atol(optarg);
				break;
			case 3:
				O.dim = atoi(optarg);
				break;
			case 4:
				O.nq = atoi(optarg);
				break;
			case 5:
				O.nextra = atoi(optarg);
				break;
			case 6:
				snprintf(O.metric, sizeof(O.metric), "%s", optarg);
				break;
			case 7:
				O.seed = strtoull(optarg, NULL, 10);
				break;
			case 8:
				O.clusters = atoi(optarg);
				break;
			case 9:
				O.idim = atoi(optarg);
				break;
			case 10:
				O.noise = atof(optarg);
				break;
			case 11:
				O.spread = atof(optarg);
				break;
			case 12:
				O.normalize = atoi(optarg);
				break;
			case 13:
				snprintf(O.datadir, sizeof(O.datadir), "%s", optarg);
				break;
			case 14:
				snprintf(O.results, sizeof(O.results), "%s", optarg);
				break;
			case 15:
				snprintf(O.table, sizeof(O.table), "%s", optarg);
				break;
			case 16:
				snprintf(O.conninfo, sizeof(O.conninfo), "%s", optarg);
				break;
			case 17:
				if (O.nspec >= 8)
					die("too many --spec");
				O.specstr[O.nspec++] = optarg;
				break;
			case 18:
				snprintf(O.with, sizeof(O.with), "%s", optarg);
				break;
			case 19:
				if (O.nsets >= MAXSETS)
					die("too many --set");
				O.sets[O.nsets++] = optarg;
				break;
			case 20:
				O.k = atoi(optarg);
				break;
			case 21:
				snprintf(O.values, sizeof(O.values), "%s", optarg);
				break;
			case 22:
				snprintf(O.clients, sizeof(O.clients), "%s", optarg);
				break;
			case 23:
				O.repeat = atoi(optarg);
				break;
			case 24:
				O.warmup = atoi(optarg);
				break;
			case 25:
				O.server_side = 1;
				break;
			case 26:
				O.exact = 1;
				break;
			case 27:
				O.generic = strcmp(optarg, "custom") != 0;
				break;
			case 28:
				O.runs = atoi(optarg);
				break;
			case 29:
				O.insert_rows = atoi(optarg);
				break;
			case 30:
				snprintf(O.batches, sizeof(O.batches), "%s", optarg);
				break;
			case 31:
				O.delete_frac = atof(optarg);
				break;
			case 32:
				O.delete_batch = atoi(optarg);
				break;
			case 33:
				O.cycles = atoi(optarg);
				break;
			case 34:
				O.write_nq = atoi(optarg);
				break;
			case 35:
				O.force = 1;
				break;
			case 36:
				O.progress = 1;
				break;
			case 37:
				O.progress = 0;
				break;
			case 38:
				O.threads = atoi(optarg);
				break;
			case 39:
				snprintf(O.storage, sizeof(O.storage), "%s", optarg);
				break;
			case 40:
				snprintf(O.note, sizeof(O.note), "%s", optarg);
				break;
			case 41:
				O.quiet = 1;
				break;
			case 42:
				O.cycle_frac = atof(optarg);
				break;
			case 43:
				O.reinsert_batch = atoi(optarg);
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	if (O.k < 1 || O.k > GT_K)
		die("--k must be within 1..%d", GT_K);
	if (O.nq < 1)
		die("--nq must be at least 1");
	if (O.delete_batch < 1)
		O.delete_batch = 1;
	if (O.reinsert_batch < 1)
		O.reinsert_batch = 1;
	if (strcmp(sub, "churn") == 0)
	{
		if (O.delete_frac < 0)
			O.delete_frac = 0.5;
		if (O.cycle_frac < 0)
			O.cycle_frac = 0.1;
		if (O.cycles < 0)
			O.cycles = 5;
		if (O.write_nq < 0)
			O.write_nq = O.nq;
	}
	else
	{
		if (O.delete_frac < 0)
			O.delete_frac = 0.1;
		if (O.cycle_frac < 0)
			O.cycle_frac = O.delete_frac;
		if (O.cycles < 0)
			O.cycles = 2;
		if (O.write_nq < 0)
			O.write_nq = 200;
	}
	if (strcmp(O.storage, "plain") && strcmp(O.storage, "default") && strcmp(O.storage, "external") &&
		strcmp(O.storage, "main") && strcmp(O.storage, "extended"))
		die("--storage: plain, main, external, extended or default");
	g_threads = O.threads > 0 ? O.threads : 1;

	if (strcmp(sub, "load") == 0)
		return cmd_load();
	if (strcmp(sub, "gt") == 0)
		return cmd_gt();
	if (strcmp(sub, "build") == 0)
		return cmd_build();
	if (strcmp(sub, "query") == 0)
		return cmd_query();
	if (strcmp(sub, "write") == 0)
		return cmd_write();
	if (strcmp(sub, "churn") == 0)
		return cmd_churn();
	if (strcmp(sub, "compare") == 0)
		return cmd_compare();
	if (strcmp(sub, "smoke") == 0)
		return cmd_smoke();
	fprintf(stderr, "vecbench: unknown subcommand '%s'\n", sub);
	usage(stderr);
	return 2;
}
