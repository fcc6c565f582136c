/*
 * bench_data.c: the vectors and their exact answers.
 *   - data sets: fashion-mnist (idx files of the Debian package
 *     dataset-fashion-mnist) and the deterministic synthetic generator
 *     (Gaussian mixture in a low latent space, randomly projected); a
 *     streamed synthetic set holds no base vector: each pass generates them
 *     in chunks (row i from (seed, stream, i) only), with the same keys;
 *   - exact ground truth: top-K by brute force on all cores (one distance
 *     kernel for L2 and dot products), as running heaps that take the rows
 *     in chunks, cached in the data directory;
 *   - recall@k of a result list against it (tie tolerant);
 *   - the 'gt' and 'key' subcommands.
 */
#include "vecbench.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * FNV-style fold of the float bits, seeded with the count: a sequential fold,
 * so a streamed data set folds its chunks in order into the same value
 */
static uint64_t
checksum_init(size_t n)
{
	return 0xcbf29ce484222325ULL ^ n;
}

static uint64_t
checksum_fold(uint64_t h, const float *v, size_t n)
{
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

static uint64_t
checksum_floats(const float *v, size_t n)
{
	return checksum_fold(checksum_init(n), v, n);
}

/* ------------------------------------------------------------------------
 * fashion-mnist
 * ------------------------------------------------------------------------ */

static const char *FMNIST_DIR = "/usr/share/datasets/fashion-mnist";

static uint32_t
be32_at(const unsigned char *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
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
	magic = be32_at(hdr);
	n = be32_at(hdr + 4);
	rows = be32_at(hdr + 8);
	cols = be32_at(hdr + 12);
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

/* room for the base, query and extra vectors of ds */
static void
dataset_alloc(Dataset *ds)
{
	ds->base = xmalloc(sizeof(float) * ds->n * ds->dim);
	ds->query = xmalloc(sizeof(float) * (size_t) ds->nq * ds->dim);
	ds->extra = xmalloc(sizeof(float) * (size_t) (ds->nextra ? ds->nextra : 1) * ds->dim);
}

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
	dataset_alloc(ds);
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

/* ------------------------------------------------------------------------
 * synthetic generator: the model is derived from the seed only, vector i of
 * stream s from (seed, s, i) only, so any thread count gives the same data
 * ------------------------------------------------------------------------ */

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
} SynModel;

/* rows of one stream into out: row first + i, or ids[i], into out + i * dim */
typedef struct SynJob
{
	const SynModel *m;
	float	   *out;
	long		first;
	const int64_t *ids;
	int			stream;
} SynJob;

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

/* vector i of a stream into x (z: idim floats of scratch) */
static void
syn_gen_row(const SynModel *m, int stream, long i, float *x, float *z)
{
	Rng			r;
	double		u;
	int			c = 0,
				l,
				j;

	rng_seed(&r, m->seed, stream, i);
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

static void
syn_gen_range(long lo, long hi, void *arg)
{
	SynJob	   *J = arg;
	float	   *z = xmalloc(sizeof(float) * J->m->idim);
	long		i;

	for (i = lo; i < hi; i++)
		syn_gen_row(J->m, J->stream, J->ids ? (long) J->ids[i] : J->first + i, J->out + (size_t) i * J->m->dim, z);
	free(z);
}

static void
syn_model_free(SynModel *m)
{
	free(m->proj);
	free(m->centers);
	free(m->scales);
	free(m->cumw);
}

static void
load_synthetic(Dataset *ds, int metric)
{
	SynModel   *m = xmalloc(sizeof(SynModel));
	int			normalize = O.normalize >= 0 ? O.normalize : (metric == METRIC_COSINE);
	float	   *out[3];
	long		count[3];
	int			stream;

	ds->n = O.n > 0 ? O.n : 10000;
	ds->dim = O.dim > 0 ? O.dim : 128;
	ds->nq = O.nq;
	ds->nextra = O.nextra >= 0 ? O.nextra : 1000;
	if (O.idim <= 0)
		O.idim = ds->dim < 32 ? ds->dim : 32;	/* default: min(32, dim) */
	if (O.idim > ds->dim)
		die("--idim %d is larger than --dim %d", O.idim, ds->dim);
	ds->streamed = O.stream > 0 || (O.stream < 0 && (double) ds->n * ds->dim * sizeof(float) > STREAM_AUTO_BYTES);
	syn_model_init(m, ds->dim, O.idim, O.clusters, O.spread, O.noise, normalize, O.seed);
	if (ds->streamed)
	{
		/* the base rows are generated chunk by chunk when a pass needs them */
		ds->query = xmalloc(sizeof(float) * (size_t) ds->nq * ds->dim);
		ds->extra = xmalloc(sizeof(float) * (size_t) (ds->nextra ? ds->nextra : 1) * ds->dim);
	}
	else
		dataset_alloc(ds);
	out[0] = ds->base, count[0] = ds->streamed ? 0 : ds->n;
	out[1] = ds->query, count[1] = ds->nq;
	out[2] = ds->extra, count[2] = ds->nextra;
	for (stream = 0; stream < 3; stream++)
	{
		SynJob		J = {m, out[stream], 0, NULL, stream};

		parallel_for(count[stream], 2048, syn_gen_range, &J);
	}
	if (ds->streamed)
		ds->syn = m;
	else
	{
		syn_model_free(m);
		free(m);
	}
}

/* rows per chunk of a streaming pass */
static long
chunk_rows(void)
{
	return O.chunk_rows > 0 ? O.chunk_rows : STREAM_CHUNK_ROWS;
}

/* base rows [lo, hi) into out (generated when streamed) */
void
dataset_base_rows(const Dataset *ds, long lo, long hi, float *out)
{
	if (!ds->streamed)
		memcpy(out, ds->base + (size_t) lo * ds->dim, sizeof(float) * (hi - lo) * ds->dim);
	else
	{
		SynJob		J = {ds->syn, out, lo, NULL, 0};

		parallel_for(hi - lo, 1024, syn_gen_range, &J);
	}
}

/* base rows ids[0..n) into out */
void
dataset_base_ids(const Dataset *ds, const int64_t *ids, long n, float *out)
{
	long		i;

	for (i = 0; i < n; i++)
		if (ids[i] < 0 || ids[i] >= ds->n)
			die("base row %lld out of range", (long long) ids[i]);
	if (!ds->streamed)
		for (i = 0; i < n; i++)
			memcpy(out + (size_t) i * ds->dim, ds->base + (size_t) ids[i] * ds->dim, sizeof(float) * ds->dim);
	else
	{
		SynJob		J = {ds->syn, out, 0, ids, 0};

		parallel_for(n, 256, syn_gen_range, &J);
	}
}

/* a chunk generated on a thread of its own while the previous one is used */
typedef struct GenAhead
{
	const Dataset *ds;
	long		lo,
				hi;
	float	   *buf;
} GenAhead;

static void *
gen_ahead(void *arg)
{
	GenAhead   *g = arg;

	dataset_base_rows(g->ds, g->lo, g->hi, g->buf);
	return NULL;
}

/*
 * one pass over the base rows [from, n) in chunks: fn gets each chunk in
 * order while the next one is generated (two buffers); a progress line
 * (label; NULL: none) every few seconds.  Returns the seconds.
 */
double
dataset_stream(const Dataset *ds, long from, const char *label, chunk_fn fn, void *arg)
{
	long		cr = chunk_rows(),
				lo;
	float	   *buf[2];
	int			cur = 0,
				ahead = 0;
	pthread_t	th;
	GenAhead	g;
	RateProgress p;
	double		t0 = now_sec();

	buf[0] = xmalloc(sizeof(float) * (size_t) cr * ds->dim);
	buf[1] = xmalloc(sizeof(float) * (size_t) cr * ds->dim);
	if (label)
		rate_start(&p, label, from, ds->n);
	for (lo = from; lo < ds->n; lo += cr)
	{
		long		hi = lo + cr < ds->n ? lo + cr : ds->n;

		if (ahead)
			pthread_join(th, NULL);
		else
			dataset_base_rows(ds, lo, hi, buf[cur]);
		ahead = 0;
		if (hi < ds->n)
		{
			g.ds = ds;
			g.lo = hi;
			g.hi = hi + cr < ds->n ? hi + cr : ds->n;
			g.buf = buf[1 - cur];
			if (pthread_create(&th, NULL, gen_ahead, &g) != 0)
				die("pthread_create failed");
			ahead = 1;
		}
		fn(buf[cur], lo, hi, arg);
		cur = 1 - cur;
		if (label)
			rate_show(&p, hi, hi == ds->n);
	}
	if (label && from >= ds->n)
		rate_show(&p, ds->n, 1);
	free(buf[0]);
	free(buf[1]);
	return now_sec() - t0;
}

typedef struct CkPass
{
	uint64_t	h;
	int			dim;
} CkPass;

static void
checksum_chunk(const float *vecs, long lo, long hi, void *arg)
{
	CkPass	   *ck = arg;

	ck->h = checksum_fold(ck->h, vecs, (size_t) (hi - lo) * ck->dim);
}

/*
 * The base checksum of a streamed data set is kept in the data directory
 * after its first pass (a file per generator parameter set), so that every
 * later subcommand does not generate the whole set again for its key.
 *
 * SYN_GEN_VERSION is among the parameters that name the file: raise it with
 * any change of the generator's output (syn_model_init, syn_gen_row, the
 * PRNG), so that no earlier checksum is taken for the new vectors.  A change
 * nobody meant (another compiler or floating-point build) is caught by the
 * probe: the checksum of the first CK_PROBE_ROWS rows, kept beside the whole
 * set's and folded again from freshly generated rows by every subcommand
 * that takes the cached checksum (a fraction of a second).
 */
#define SYN_GEN_VERSION 1
#define CK_PROBE_ROWS 16384L

static int	g_ck_recompute = 0; /* 'key': always generate */

/* the checksum of the first min(n, CK_PROBE_ROWS) base rows, generated now; *rows: how many */
static uint64_t
ck_probe(const Dataset *ds, long *rows)
{
	long		m = ds->n < CK_PROBE_ROWS ? ds->n : CK_PROBE_ROWS;
	float	   *buf = xmalloc(sizeof(float) * (size_t) (m ? m : 1) * ds->dim);
	uint64_t	h;

	dataset_base_rows(ds, 0, m, buf);
	h = checksum_fold(checksum_init((size_t) m * ds->dim), buf, (size_t) m * ds->dim);
	free(buf);
	*rows = m;
	return h;
}

/* the generator's parameters as text, and the cache file named by their hash */
static void
ck_cache_path(const Dataset *ds, char *params, size_t plen, char *path, size_t len)
{
	int			normalize = O.normalize >= 0 ? O.normalize : (ds->metric == METRIC_COSINE);
	uint64_t	h = 0xcbf29ce484222325ULL;
	const char *p;

	snprintf(params, plen, "gen=%d n=%ld dim=%d seed=%llu clusters=%d idim=%d spread=%.17g noise=%.17g "
			 "normalize=%d", SYN_GEN_VERSION, ds->n, ds->dim, (unsigned long long) O.seed, O.clusters, O.idim,
			 O.spread, O.noise, normalize);
	for (p = params; *p; p++)
		h = (h ^ (unsigned char) *p) * 0x100000001b3ULL;
	snprintf(path, len, "%s/%s-n%ld-d%d-gen%016llx.base.ck", O.datadir, ds->name, ds->n, ds->dim,
			 (unsigned long long) h);
}

/*
 * the cached checksum of ds's base rows into *ck: 1, or 0 when there is none
 * (or an unreadable one, or one of a file without the probe); dies when the
 * probe of the rows generated now differs from the one cached
 */
static int
ck_cache_read(const Dataset *ds, uint64_t *ck)
{
	char		path[1500],
				params[300],
				line[400];
	FILE	   *f;
	unsigned long long v,
				pv;
	long		prows,
				m;
	uint64_t	now;
	int			ok;

	ck_cache_path(ds, params, sizeof(params), path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return 0;
	/* the checksum, the parameters it was generated with, the probe: "probe ROWS CHECKSUM" */
	ok = fscanf(f, "%16llx\n", &v) == 1 && fgets(line, sizeof(line), f) &&
		strncmp(line, params, strlen(params)) == 0 && line[strlen(params)] == '\n' &&
		fscanf(f, "probe %ld %16llx\n", &prows, &pv) == 2;
	fclose(f);
	if (!ok)
		return 0;
	now = ck_probe(ds, &m);
	if (m != prows || now != pv)
		die("data set: the generator gives other vectors than when %s was written (first %ld rows: checksum "
			"%016llx now, %016llx then): the generator's code or the floating-point build (compiler, flags, "
			"machine) changed.  Its tables and ground truth hold the old vectors.  A change meant: raise "
			"SYN_GEN_VERSION in bench/bench_data.c (new checksum, tables reloaded, ground truth computed "
			"again); else rebuild vecbench as before.  Removing the file accepts the new vectors as well",
			path, m, (unsigned long long) now, (unsigned long long) pv);
	*ck = v;
	return 1;
}

static void
ck_cache_write(const Dataset *ds)
{
	char		path[1500],
				params[300],
				tmp[1600];
	FILE	   *f;
	long		prows;
	uint64_t	probe = ck_probe(ds, &prows);

	mkdir(O.datadir, 0755);
	ck_cache_path(ds, params, sizeof(params), path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int) getpid());
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%016llx\n%s\nprobe %ld %016llx\n", (unsigned long long) ds->ck_base, params, prows,
					  (unsigned long long) probe) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
		fprintf(stderr, "data set: cannot write %s\n", path);
}

static int
metric_from_name(const char *s)
{
	int			i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, metric_names[i]) == 0)
			return i;
	die("unknown metric '%s' (l2, cosine, ip)", s);
}

void
dataset_load(Dataset *ds)
{
	double		t0 = now_sec();

	memset(ds, 0, sizeof(*ds));
	snprintf(ds->name, sizeof(ds->name), "%s", O.dataset);
	if (strcmp(O.dataset, "fashion-mnist") != 0 && strcmp(O.dataset, "synthetic") != 0)
		die("unknown data set '%s' (fashion-mnist, synthetic)", O.dataset);
	ds->metric = metric_from_name(O.metric[0] ? O.metric : "l2");
	if (strcmp(O.dataset, "fashion-mnist") == 0)
	{
		if (O.stream > 0)
			die("--stream: only synthetic data sets are generated in chunks");
		load_fashion_mnist(ds);
	}
	else
		load_synthetic(ds, ds->metric);
	if (ds->streamed && !g_ck_recompute && ck_cache_read(ds, &ds->ck_base))
	{
		if (!O.quiet)
			fprintf(stderr, "data set: %ld base vectors are streamed (generated in chunks of %ld rows when needed); "
					"their checksum from an earlier pass (its first rows generated again agree; 'vecbench key' "
					"recomputes it all)\n", ds->n, chunk_rows());
	}
	else if (ds->streamed)
	{
		CkPass		ck = {checksum_init((size_t) ds->n * ds->dim), ds->dim};

		if (!O.quiet)
			fprintf(stderr, "data set: %ld base vectors are streamed (generated in chunks of %ld rows when needed); "
					"checksum pass...\n", ds->n, chunk_rows());
		ds->pass_seconds = dataset_stream(ds, 0, "generate", checksum_chunk, &ck);
		ds->ck_base = ck.h;
		if (!O.quiet)
			fprintf(stderr, "data set: one generation pass over %ld rows: %.1f s (%.0f rows/s on %d threads)\n",
					ds->n, ds->pass_seconds, ds->n / (ds->pass_seconds > 0 ? ds->pass_seconds : 1e-9), g_threads);
		ck_cache_write(ds);
	}
	else
		ds->ck_base = checksum_floats(ds->base, (size_t) ds->n * ds->dim);
	ds->ck_query = checksum_floats(ds->query, (size_t) ds->nq * ds->dim);
	ds->ck_extra = checksum_floats(ds->extra, (size_t) ds->nextra * ds->dim);
	snprintf(ds->tabkey, sizeof(ds->tabkey), "%s-n%ld-d%d-%016llx", ds->name, ds->n, ds->dim,
			 (unsigned long long) ds->ck_base);
	snprintf(ds->key, sizeof(ds->key), "%s-n%ld-d%d-q%d-%016llx", ds->name, ds->n, ds->dim, ds->nq,
			 (unsigned long long) (ds->ck_base ^ rotl64(ds->ck_query, 17)));
	ds->load_seconds = now_sec() - t0;
	if (!O.quiet)
		fprintf(stderr, "data set %s: %ld base vectors%s, %d queries, %d extra, dim %d, metric %s (%.1f s)\n",
				ds->name, ds->n, ds->streamed ? " (streamed)" : "", ds->nq, ds->nextra, ds->dim,
				metric_names[ds->metric], ds->load_seconds);
}

void
dataset_free(Dataset *ds)
{
	if (ds->syn)
	{
		syn_model_free(ds->syn);
		free(ds->syn);
		ds->syn = NULL;
	}
	free(ds->base);
	free(ds->query);
	free(ds->extra);
	ds->base = ds->query = ds->extra = NULL;
}

/* ------------------------------------------------------------------------
 * distance kernel (GCC vector extensions: vectorised at -O2, portable).
 * One loop for both sums; 'l2' is a constant at every call, so each use
 * compiles to its own loop with the same order of additions as before.
 * ------------------------------------------------------------------------ */

typedef float v4sf __attribute__((vector_size(16)));

static inline v4sf
ld4(const float *p)
{
	v4sf		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* l2 = 0: x * y; l2 = 1: (x - y)^2 -- of 4 lanes, and of one float */
static inline v4sf
term4(const float *a, const float *b, int l2)
{
	v4sf		x = ld4(a),
				y = ld4(b);

	if (l2)
		x = y = x - y;
	return x * y;
}

static inline float
term1(float x, float y, int l2)
{
	if (l2)
		x = y = x - y;
	return x * y;
}

/* sum of term(a[i], b[i]) in 4 x 4 lanes, then the tail */
static inline __attribute__((always_inline)) float
sum_terms(const float *a, const float *b, int d, int l2)
{
	v4sf		s0 = {0, 0, 0, 0},
				s1 = s0,
				s2 = s0,
				s3 = s0;
	int			i = 0;
	float		r;

	for (; i + 16 <= d; i += 16)
	{
		s0 += term4(a + i, b + i, l2);
		s1 += term4(a + i + 4, b + i + 4, l2);
		s2 += term4(a + i + 8, b + i + 8, l2);
		s3 += term4(a + i + 12, b + i + 12, l2);
	}
	for (; i + 4 <= d; i += 4)
		s0 += term4(a + i, b + i, l2);
	s0 = (s0 + s1) + (s2 + s3);
	r = (s0[0] + s0[1]) + (s0[2] + s0[3]);
	for (; i < d; i++)
		r += term1(a[i], b[i], l2);
	return r;
}

static float
dot_f(const float *a, const float *b, int d)
{
	return sum_terms(a, b, d, 0);
}

static float
l2sq_f(const float *a, const float *b, int d)
{
	return sum_terms(a, b, d, 1);
}

/* ------------------------------------------------------------------------
 * ground truth: exact top-K by brute force, all cores
 * ------------------------------------------------------------------------ */

#define GT_QB 8					/* queries per pass over the base vectors */

typedef struct HeapEnt
{
	float		d;
	int64_t		id;
} HeapEnt;

/*
 * The running top-K of nq queries: a max-heap per query on (distance, id),
 * so rows may come in any order and in any number of calls (a streaming
 * pass, or the rows alive) and give the same K smallest (distance, id).
 */
struct GtAcc
{
	const float *q;
	int			nq,
				dim,
				K,
				metric;
	float	   *qn;				/* query norms (cosine) */
	HeapEnt    *heaps;			/* nq * K */
	int		   *sz;				/* nq */
	/* the rows of the current gt_acc_add */
	const float *base;
	const int64_t *base_ids;	/* NULL: id0 + row */
	int64_t		id0;
	const char *alive;			/* NULL: all */
	long		n;
	float	   *bnorm;			/* cosine */
};

/* max-heap on (d, id) */
static inline int
he_gt(const HeapEnt *a, const HeapEnt *b)
{
	return a->d > b->d || (a->d == b->d && a->id > b->id);
}

static inline void
he_swap(HeapEnt *h, int i, int j)
{
	HeapEnt		t = h[i];

	h[i] = h[j];
	h[j] = t;
}

/* keep the K smallest (d, id) */
static void
heap_push(HeapEnt *h, int *sz, int K, float d, int64_t id)
{
	HeapEnt		e = {d, id};
	int			i;

	if (*sz < K)
	{
		i = (*sz)++;
		h[i] = e;
		while (i > 0 && he_gt(&h[i], &h[(i - 1) / 2]))
		{
			he_swap(h, i, (i - 1) / 2);
			i = (i - 1) / 2;
		}
		return;
	}
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
		he_swap(h, i, m);
		i = m;
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

/* the rows of the current add into the heaps of query blocks [lo, hi) */
static void
gt_range(long lo, long hi, void *arg)
{
	GtAcc	   *J = arg;
	long		blk;

	for (blk = lo; blk < hi; blk++)
	{
		int			q0 = blk * GT_QB,
					nqb = J->nq - q0 < GT_QB ? J->nq - q0 : GT_QB,
					a;
		long		i;

		for (i = 0; i < J->n; i++)
		{
			const float *x = J->base + (size_t) i * J->dim;
			int64_t		id = J->base_ids ? J->base_ids[i] : J->id0 + i;

			if (J->alive && !J->alive[i])
				continue;
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
					float		den = J->qn[q0 + a] * J->bnorm[i];

					d = den > 0 ? 1.0f - dot_f(qv, x, J->dim) / den : 1.0f;
				}
				heap_push(J->heaps + (size_t) (q0 + a) * J->K, &J->sz[q0 + a], J->K, d, id);
			}
		}
	}
}

static void
bnorm_range(long lo, long hi, void *arg)
{
	GtAcc	   *J = arg;
	long		i;

	for (i = lo; i < hi; i++)
	{
		const float *x = J->base + (size_t) i * J->dim;

		J->bnorm[i] = sqrtf(dot_f(x, x, J->dim));
	}
}

GtAcc *
gt_acc_begin(const float *q, int nq, int dim, int metric, int K)
{
	GtAcc	   *a = xcalloc(1, sizeof(GtAcc));
	int			i;

	a->q = q;
	a->nq = nq;
	a->dim = dim;
	a->K = K;
	a->metric = metric;
	a->heaps = xmalloc(sizeof(HeapEnt) * (size_t) nq * K);
	a->sz = xcalloc(nq, sizeof(int));
	a->qn = xmalloc(sizeof(float) * (nq ? nq : 1));
	for (i = 0; i < nq; i++)
	{
		const float *qv = q + (size_t) i * dim;

		a->qn[i] = sqrtf(dot_f(qv, qv, dim));
	}
	return a;
}

/* rows vecs[0..n) with ids ids[i] (NULL: id0 + i), those with alive[i] (NULL: all) */
void
gt_acc_add(GtAcc *a, const float *vecs, const int64_t *ids, int64_t id0, long n, const char *alive)
{
	a->base = vecs;
	a->base_ids = ids;
	a->id0 = id0;
	a->alive = alive;
	a->n = n;
	a->bnorm = NULL;
	if (a->metric == METRIC_COSINE)
	{
		a->bnorm = xmalloc(sizeof(float) * (n ? n : 1));
		parallel_for(n, 4096, bnorm_range, a);
	}
	parallel_for((a->nq + GT_QB - 1) / GT_QB, 1, gt_range, a);
	free(a->bnorm);
	a->bnorm = NULL;
}

typedef struct GtPass
{
	GtAcc	   *a;
	const char *alive;
} GtPass;

static void
gt_chunk(const float *vecs, long lo, long hi, void *arg)
{
	GtPass	   *P = arg;

	gt_acc_add(P->a, vecs, NULL, lo, hi - lo, P->alive ? P->alive + lo : NULL);
}

/* every base row of ds (ids: the row numbers) with alive[row] (NULL: all), streamed when ds is */
void
gt_acc_base(GtAcc *a, const Dataset *ds, const char *alive, const char *label)
{
	GtPass		P = {a, alive};

	if (!ds->streamed)
		gt_acc_add(a, ds->base, NULL, 0, ds->n, alive);
	else
		dataset_stream(ds, 0, label, gt_chunk, &P);
}

/* the sorted top-K of every query into gt (missing neighbours: id -1, distance infinity); frees a */
void
gt_acc_end(GtAcc *a, GroundTruth *gt)
{
	int			q,
				j;

	gt->nq = a->nq;
	gt->K = a->K;
	gt->ids = xmalloc(sizeof(int64_t) * (size_t) a->nq * a->K);
	gt->dist = xmalloc(sizeof(float) * (size_t) a->nq * a->K);
	for (q = 0; q < a->nq; q++)
	{
		HeapEnt    *h = a->heaps + (size_t) q * a->K;

		qsort(h, a->sz[q], sizeof(HeapEnt), cmp_heapent);
		for (j = 0; j < a->K; j++)
		{
			size_t		o = (size_t) q * a->K + j;

			gt->ids[o] = j < a->sz[q] ? h[j].id : -1;
			gt->dist[o] = j < a->sz[q] ? (a->metric == METRIC_L2 ? sqrtf(h[j].d) : h[j].d) : INFINITY;
		}
	}
	free(a->heaps);
	free(a->sz);
	free(a->qn);
	free(a);
	gt->cached = 0;
}

/* exact top-K of nq queries over n base vectors (ids: base_ids, or the row numbers) */
void
compute_gt(const float *base, const int64_t *base_ids, long n, const float *q, int nq, int dim,
		   int metric, int K, GroundTruth *gt)
{
	double		t0 = now_sec();
	GtAcc	   *a = gt_acc_begin(q, nq, dim, metric, K);

	gt_acc_add(a, base, base_ids, 0, n, NULL);
	gt_acc_end(a, gt);
	gt->seconds = now_sec() - t0;
}

void
gt_free(GroundTruth *gt)
{
	free(gt->ids);
	free(gt->dist);
	gt->ids = NULL;
	gt->dist = NULL;
}

void
gt_path(const Dataset *ds, char *path, size_t len)
{
	snprintf(path, len, "%s/%s.%s.k%d.gt", O.datadir, ds->key, metric_names[ds->metric], GT_K);
}

/*
 * cache file: header {magic, nq, K, metric} (uint32), then nq * K int32 ids
 * and nq * K float distances, native byte order
 */
#define GT_MAGIC 0x31544742u	/* "BGT1" */

static int
gt_read_cache(const Dataset *ds, const char *path, GroundTruth *gt)
{
	FILE	   *f = fopen(path, "rb");
	uint32_t	hdr[4];
	size_t		cnt = (size_t) ds->nq * GT_K;
	int32_t    *ids32;
	int			ok = 0;
	double		t0 = now_sec();

	if (!f)
		return 0;
	if (fread(hdr, sizeof(hdr), 1, f) == 1 && hdr[0] == GT_MAGIC && (int) hdr[1] == ds->nq &&
		hdr[2] == GT_K && (int) hdr[3] == ds->metric)
	{
		size_t		i;

		ids32 = xmalloc(sizeof(int32_t) * cnt);
		gt->nq = ds->nq;
		gt->K = GT_K;
		gt->ids = xmalloc(sizeof(int64_t) * cnt);
		gt->dist = xmalloc(sizeof(float) * cnt);
		ok = fread(ids32, sizeof(int32_t), cnt, f) == cnt && fread(gt->dist, sizeof(float), cnt, f) == cnt;
		for (i = 0; ok && i < cnt; i++)
			gt->ids[i] = ids32[i];
		free(ids32);
		if (!ok)
			gt_free(gt);
	}
	fclose(f);
	if (!ok)
	{
		fprintf(stderr, "ground truth: ignoring unreadable cache %s\n", path);
		return 0;
	}
	gt->cached = 1;
	gt->seconds = now_sec() - t0;
	if (!O.quiet)
		fprintf(stderr, "ground truth: cached %s\n", path);
	return 1;
}

static void
gt_write_cache(const Dataset *ds, const char *path, const GroundTruth *gt)
{
	char		tmp[2100];
	size_t		cnt = (size_t) ds->nq * GT_K,
				i;
	int32_t    *ids32 = xmalloc(sizeof(int32_t) * cnt);
	uint32_t	hdr[4] = {GT_MAGIC, ds->nq, GT_K, ds->metric};
	FILE	   *f;

	mkdir(O.datadir, 0755);
	for (i = 0; i < cnt; i++)
		ids32[i] = (int32_t) gt->ids[i];
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int) getpid());
	f = fopen(tmp, "wb");
	if (!f)
		fprintf(stderr, "ground truth: cannot write cache %s: %s\n", tmp, strerror(errno));
	else if (fwrite(hdr, sizeof(hdr), 1, f) != 1 || fwrite(ids32, sizeof(int32_t), cnt, f) != cnt ||
			 fwrite(gt->dist, sizeof(float), cnt, f) != cnt || fclose(f) != 0 || rename(tmp, path) != 0)
		fprintf(stderr, "ground truth: cannot write cache %s\n", path);
	else if (!O.quiet)
		fprintf(stderr, "ground truth: cached in %s\n", path);
	free(ids32);
}

/* load the cached ground truth of ds, or compute and cache it */
void
gt_get(const Dataset *ds, GroundTruth *gt)
{
	char		path[2048];

	gt_path(ds, path, sizeof(path));
	memset(gt, 0, sizeof(*gt));
	if (gt_read_cache(ds, path, gt))
		return;
	if (!O.quiet)
		fprintf(stderr, "ground truth: computing exact top-%d of %d queries over %ld vectors on %d threads%s...\n",
				GT_K, ds->nq, ds->n, g_threads, ds->streamed ? " (one streaming pass)" : "");
	if (ds->streamed)
	{
		double		t0 = now_sec();
		GtAcc	   *a = gt_acc_begin(ds->query, ds->nq, ds->dim, ds->metric, GT_K);

		gt_acc_base(a, ds, NULL, "ground truth");
		gt_acc_end(a, gt);
		gt->seconds = now_sec() - t0;
	}
	else
		compute_gt(ds->base, NULL, ds->n, ds->query, ds->nq, ds->dim, ds->metric, GT_K, gt);
	if (!O.quiet)
		fprintf(stderr, "ground truth: computed in %.1f s\n", gt->seconds);
	gt_write_cache(ds, path, gt);
}

/*
 * recall@k of one result list against the exact top-K of its query.
 * Tie tolerant: a returned id counts when it is one of the exact neighbours
 * whose distance is within the k-th exact distance (plus a relative 1e-5
 * for rounding), so any of several equally distant vectors is accepted.
 * Duplicate ids count once; negative ids never count.
 */
double
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

/* gt: compute (or reuse) the exact answers; JSON when a results file is named */
int
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

/* key: the data set's keys (ground-truth file, base table) and how long generating it took */
int
cmd_key(void)
{
	Dataset		ds;
	char		path[2048];

	g_ck_recompute = 1;
	dataset_load(&ds);
	g_ck_recompute = 0;
	gt_path(&ds, path, sizeof(path));
	printf("key %s\ntabkey %s\nbase_checksum %016llx\nstreamed %d\nseconds %.1f\nrows_per_second %.0f\ngt_file %s%s\n",
		   ds.key, ds.tabkey, (unsigned long long) ds.ck_base, ds.streamed, ds.load_seconds,
		   ds.n / (ds.load_seconds > 0 ? ds.load_seconds : 1e-9), path,
		   access(path, R_OK) == 0 ? " (exists)" : "");
	dataset_free(&ds);
	return 0;
}
