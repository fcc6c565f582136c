/*-------------------------------------------------------------------------
 *
 * rabitq.c
 *	  RaBitQ: one-bit codes with an unbiased distance estimator and an error
 *	  bound (Gao & Long, SIGMOD 2024).  See docs/RABITQ.md.
 *
 * Per index: a centroid c and a random orthogonal transform P, here three
 * rounds of (random sign flips, normalised fast Walsh-Hadamard transform)
 * on the vector zero-padded to pdim = the next power of two, at least 64
 * (vec_rq_padded_dim).  P is fully
 * determined by a 64-bit seed, so every backend and every standby derive
 * the same one.
 *
 * Per vector o: u = P (o - c) / |o - c|; code bit i = [u_i > 0]; factors
 * norm = |o - c| and ip = <xbar, u> = sum |u_i| / sqrt(pdim).
 *
 * Per query q: w = P (q - c) / |q - c|, quantised to 4-bit unsigned
 * integers with randomised rounding and split into four bit planes, so that
 * sum_{bit i set} w_i is four AND + popcount passes over the code.
 *
 *	<xbar, w> = (2 sum_{b_i = 1} w_i - sum_i w_i) / sqrt(pdim)
 *	<u, w>	 ~= <xbar, w> / <xbar, u>					(unbiased)
 *	|o - q|^2 = |o - c|^2 + |q - c|^2 - 2 |o - c| |q - c| <u, w>
 *
 * with |error of <u, w>| <= eps0 * sqrt((1 - ip^2) / ip^2) / sqrt(pdim - 1)
 * with high probability.  eps0 is VEC_RQ_EPS0 = 3.0 (about three standard
 * deviations), not the paper's 1.9: measured on fashion-mnist pairs, 1.9
 * held for 94.3 % of them and 3.0 for 99.7 % (docs/RABITQ.md).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <stdlib.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "access/htup_details.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "vecidx.h"

#define VEC_RQ_ROUNDS 3

int
vec_rq_padded_dim(int dim)
{
	int			p = 64;

	while (p < dim)
		p <<= 1;
	return p;
}

void
vec_rq_init(VecRabitq *rq, int dim, uint64 seed, const float *centroid)
{
	pg_prng_state prng;

	rq->dim = dim;
	rq->pdim = vec_rq_padded_dim(dim);
	rq->seed = seed;
	rq->signs = palloc(sizeof(float) * VEC_RQ_ROUNDS * rq->pdim);
	pg_prng_seed(&prng, seed);
	for (int i = 0; i < VEC_RQ_ROUNDS * rq->pdim; i++)
		rq->signs[i] = (pg_prng_uint32(&prng) & 1) ? 1.0f : -1.0f;
	rq->centroid = palloc0(sizeof(float) * dim);
	if (centroid)
		memcpy(rq->centroid, centroid, sizeof(float) * dim);
}

/*
 * In-place fast Walsh-Hadamard transform of length n (2^k, at least 64),
 * not normalised (the caller scales once).  The stages with butterflies
 * of width 8 and more run over contiguous runs of floats, which the
 * compiler vectorises; the first three stages are done eight floats at a
 * time in registers.
 */
static void
vec_fwht(float *x, int n)
{
	for (int i = 0; i < n; i += 8)
	{
		float	   *v = x + i;
		float		a0 = v[0] + v[1],
					a1 = v[0] - v[1],
					a2 = v[2] + v[3],
					a3 = v[2] - v[3],
					a4 = v[4] + v[5],
					a5 = v[4] - v[5],
					a6 = v[6] + v[7],
					a7 = v[6] - v[7];
		float		b0 = a0 + a2,
					b1 = a1 + a3,
					b2 = a0 - a2,
					b3 = a1 - a3,
					b4 = a4 + a6,
					b5 = a5 + a7,
					b6 = a4 - a6,
					b7 = a5 - a7;

		v[0] = b0 + b4;
		v[1] = b1 + b5;
		v[2] = b2 + b6;
		v[3] = b3 + b7;
		v[4] = b0 - b4;
		v[5] = b1 - b5;
		v[6] = b2 - b6;
		v[7] = b3 - b7;
	}
	for (int h = 8; h < n; h <<= 1)
	{
		for (int i = 0; i < n; i += h << 1)
		{
			float	   *restrict lo = x + i;
			float	   *restrict hi = x + i + h;

			for (int j = 0; j < h; j++)
			{
				float		a = lo[j];
				float		b = hi[j];

				lo[j] = a + b;
				hi[j] = a - b;
			}
		}
	}
}

/*
 * out[0..pdim) = P (v - c) / |v - c|; returns |v - c| (0: out is zero)
 */
float
vec_rq_rotate(const VecRabitq *rq, const float *v, float *out)
{
	double		norm = 0;

	for (int i = 0; i < rq->dim; i++)
	{
		out[i] = v[i] - rq->centroid[i];
		norm += (double) out[i] * out[i];
	}
	for (int i = rq->dim; i < rq->pdim; i++)
		out[i] = 0;
	norm = sqrt(norm);
	if (norm == 0)
		return 0;
	for (int i = 0; i < rq->dim; i++)
		out[i] = (float) (out[i] / norm);

	/* each round: random signs, then an orthogonal transform (H / sqrt(n)) */
	for (int r = 0; r < VEC_RQ_ROUNDS; r++)
	{
		const float *s = rq->signs + (size_t) r * rq->pdim;

		for (int i = 0; i < rq->pdim; i++)
			out[i] *= s[i];
		vec_fwht(out, rq->pdim);
	}
	{
		float		scale = powf((float) rq->pdim, -0.5f * VEC_RQ_ROUNDS);

		for (int i = 0; i < rq->pdim; i++)
			out[i] *= scale;
	}
	return (float) norm;
}

/* code: pdim bits (pdim / 8 bytes, as uint64 words) */
void
vec_rq_encode(const VecRabitq *rq, const float *v, uint64 *code, VecRqFactors *f, float *scratch)
{
	float		norm = vec_rq_rotate(rq, v, scratch);
	double		sumabs = 0;

	memset(code, 0, rq->pdim / 8);
	for (int i = 0; i < rq->pdim; i++)
	{
		if (scratch[i] > 0)
			code[i >> 6] |= UINT64CONST(1) << (i & 63);
		sumabs += fabs(scratch[i]);
	}
	f->norm = norm;
	/* a zero residual has no direction; any ip > 0 keeps the math finite */
	f->ip = norm > 0 ? (float) (sumabs / sqrt((double) rq->pdim)) : 1.0f;
}

void
vec_rq_prepare_query(const VecRabitq *rq, const float *q, VecRqQuery *qq, uint64 seed)
{
	vec_rq_prepare_query_ex(rq, q, qq, seed, true);
}

/*
 * center = true: w = P (q - c) / |q - c| (for L2 and cosine).
 * center = false: w = P q / |q|, and qq->cq = <c, q> (for inner product:
 * <o, q> = |o - c| |q| <u, w> + <c, q>).
 */
void
vec_rq_prepare_query_ex(const VecRabitq *rq, const float *q, VecRqQuery *qq, uint64 seed,
						bool center)
{
	float	   *w = palloc(sizeof(float) * rq->pdim);
	float		vl,
				vr;
	int			words = rq->pdim / 64;
	pg_prng_state prng;

	qq->pdim = rq->pdim;
	qq->cq = 0;
	if (center)
		qq->norm = vec_rq_rotate(rq, q, w);
	else
	{
		VecRabitq	nc = *rq;

		nc.centroid = palloc0(sizeof(float) * rq->dim);
		qq->norm = vec_rq_rotate(&nc, q, w);
		qq->cq = vec_dot(rq->centroid, q, rq->dim);
		pfree(nc.centroid);
	}
	vl = vr = w[0];
	for (int i = 1; i < rq->pdim; i++)
	{
		vl = Min(vl, w[i]);
		vr = Max(vr, w[i]);
	}
	qq->vl = vl;
	qq->delta = (vr - vl) / 15.0f;
	if (qq->delta <= 0)
		qq->delta = 1;			/* all equal: every level is 0 */
	qq->planes = palloc(sizeof(uint64) * 4 * words);
	qq->sumq = 0;
	pg_prng_seed(&prng, seed);

	/*
	 * Randomised rounding keeps the quantised sum unbiased: level = floor((w
	 * - vl) / delta + u), u uniform in [0, 1) at 16 bits, four dimensions
	 * per 64-bit draw.  (w - vl) / delta + u is never negative, so the
	 * conversion's truncation is the floor.  Bit planes are built without
	 * branches, a word at a time.
	 */
	{
		float		inv = 1.0f / qq->delta;
		int64		sumq = 0;

		for (int k = 0; k < words; k++)
		{
			const float *wk = w + k * 64;
			uint64		p0 = 0,
						p1 = 0,
						p2 = 0,
						p3 = 0;

			for (int b = 0; b < 64; b += 4)
			{
				uint64		r = pg_prng_uint64(&prng);

				for (int t = 0; t < 4; t++)
				{
					float		u = (float) ((r >> (16 * t)) & 0xFFFF) * (1.0f / 65536.0f);
					int			level = (int) ((wk[b + t] - vl) * inv + u);
					uint64		lv;

					level = Max(0, Min(15, level));
					lv = (uint64) level;
					p0 |= (lv & 1) << (b + t);
					p1 |= ((lv >> 1) & 1) << (b + t);
					p2 |= ((lv >> 2) & 1) << (b + t);
					p3 |= ((lv >> 3) & 1) << (b + t);
					sumq += level;
				}
			}
			qq->planes[k] = p0;
			qq->planes[words + k] = p1;
			qq->planes[2 * words + k] = p2;
			qq->planes[3 * words + k] = p3;
		}
		qq->sumq = sumq;
	}
	pfree(w);
}

/*
 * sum_j 2^j popcount(code AND plane_j), and popcount(code) in *pc.  The body
 * is compiled twice: with the POPCNT instruction where the CPU has it, and
 * portably otherwise.
 */
static inline __attribute__((always_inline)) uint64
vec_rq_masked_popcnt_body(const uint64 *code, const uint64 *planes, int words, uint64 *pc)
{
	uint64		acc = 0;
	uint64		bits = 0;

	for (int j = 0; j < 4; j++)
	{
		const uint64 *p = planes + j * words;
		uint64		s = 0;

		for (int k = 0; k < words; k++)
			s += __builtin_popcountll(code[k] & p[k]);
		acc += s << j;
	}
	for (int k = 0; k < words; k++)
		bits += __builtin_popcountll(code[k]);
	*pc = bits;
	return acc;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt")))
static uint64
vec_rq_masked_popcnt_hw(const uint64 *code, const uint64 *planes, int words, uint64 *pc)
{
	return vec_rq_masked_popcnt_body(code, planes, words, pc);
}

/*
 * AVX-512 with VPOPCNTDQ: eight words per instruction for each plane and
 * the code itself; a masked load covers codes shorter than eight words
 * (pdim 64..256).
 */
__attribute__((target("avx512f,avx512vpopcntdq")))
static uint64
vec_rq_masked_popcnt_avx512(const uint64 *code, const uint64 *planes, int words, uint64 *pc)
{
	__m512i		a0 = _mm512_setzero_si512(),
				a1 = _mm512_setzero_si512(),
				a2 = _mm512_setzero_si512(),
				a3 = _mm512_setzero_si512(),
				ab = _mm512_setzero_si512();

	for (int k = 0; k < words; k += 8)
	{
		__mmask8	m = (words - k >= 8) ? 0xFF : (__mmask8) ((1u << (words - k)) - 1);
		__m512i		c = _mm512_maskz_loadu_epi64(m, code + k);

		ab = _mm512_add_epi64(ab, _mm512_popcnt_epi64(c));
		a0 = _mm512_add_epi64(a0, _mm512_popcnt_epi64(
							_mm512_and_si512(c, _mm512_maskz_loadu_epi64(m, planes + k))));
		a1 = _mm512_add_epi64(a1, _mm512_popcnt_epi64(
							_mm512_and_si512(c, _mm512_maskz_loadu_epi64(m, planes + words + k))));
		a2 = _mm512_add_epi64(a2, _mm512_popcnt_epi64(
							_mm512_and_si512(c, _mm512_maskz_loadu_epi64(m, planes + 2 * words + k))));
		a3 = _mm512_add_epi64(a3, _mm512_popcnt_epi64(
							_mm512_and_si512(c, _mm512_maskz_loadu_epi64(m, planes + 3 * words + k))));
	}
	*pc = (uint64) _mm512_reduce_add_epi64(ab);
	return (uint64) _mm512_reduce_add_epi64(
		_mm512_add_epi64(_mm512_add_epi64(a0, _mm512_slli_epi64(a1, 1)),
						 _mm512_add_epi64(_mm512_slli_epi64(a2, 2), _mm512_slli_epi64(a3, 3))));
}
#endif

static uint64
vec_rq_masked_popcnt_sw(const uint64 *code, const uint64 *planes, int words, uint64 *pc)
{
	return vec_rq_masked_popcnt_body(code, planes, words, pc);
}

static uint64 (*vec_rq_masked_popcnt) (const uint64 *code, const uint64 *planes, int words, uint64 *pc);

void
vec_rq_init_kernels(void)
{
	vec_rq_masked_popcnt = vec_rq_masked_popcnt_sw;
#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("popcnt"))
		vec_rq_masked_popcnt = vec_rq_masked_popcnt_hw;
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq") &&
		getenv("VECIDX_NO_AVX512") == NULL)
		vec_rq_masked_popcnt = vec_rq_masked_popcnt_avx512;
#endif
}

/*
 * Estimate of <u, w> (cosine of the angle between the two residuals) and,
 * in *bound, its error bound.
 */
float
vec_rq_estimate_ip(const VecRqQuery *qq, const uint64 *code, const VecRqFactors *f, float *bound)
{
	int			words = qq->pdim / 64;
	uint64		pc;
	uint64		acc = vec_rq_masked_popcnt(code, qq->planes, words, &pc);
	float		sqrtd = sqrtf((float) qq->pdim);
	/* sum over set bits of w_i, and over all bits, from the quantised levels */
	float		sum_set = qq->delta * (float) acc + qq->vl * (float) pc;
	float		sum_all = qq->delta * (float) qq->sumq + qq->vl * (float) qq->pdim;
	float		xw = (2.0f * sum_set - sum_all) / sqrtd;

	if (bound)
		*bound = VEC_RQ_EPS0 * sqrtf((1.0f - f->ip * f->ip) / (f->ip * f->ip)) /
			sqrtf((float) (qq->pdim - 1));
	return xw / f->ip;
}

/* estimated squared L2 distance between o and q, with its error bound */
float
vec_rq_estimate_l2sq(const VecRqQuery *qq, const uint64 *code, const VecRqFactors *f, float *bound)
{
	float		ipbound;
	float		ip = vec_rq_estimate_ip(qq, code, f, &ipbound);
	float		cross = 2.0f * f->norm * qq->norm;

	if (bound)
		*bound = cross * ipbound;
	return f->norm * f->norm + qq->norm * qq->norm - cross * ip;
}

/*
 * Estimated index distance (see vec_distance) for the metric, with its
 * error bound in the same units.  qq must have been prepared with
 * center = (metric != VEC_METRIC_IP).
 */
float
vec_rq_estimate_dist(VecMetric metric, const VecRqQuery *qq, const uint64 *code,
					 const VecRqFactors *f, float *bound)
{
	float		ipbound;
	float		ip;

	switch (metric)
	{
		case VEC_METRIC_L2:
			return vec_rq_estimate_l2sq(qq, code, f, bound);
		case VEC_METRIC_COSINE:
			/* unit vectors: 1 - <o, q> = |o - q|^2 / 2 */
			ip = vec_rq_estimate_l2sq(qq, code, f, &ipbound);
			*bound = ipbound / 2;
			return ip / 2;
		case VEC_METRIC_IP:
			ip = vec_rq_estimate_ip(qq, code, f, &ipbound);
			*bound = f->norm * qq->norm * ipbound;
			return -(f->norm * qq->norm * ip + qq->cq);
	}
	return 0;
}

/*
 * vecidx_rabitq_debug(o real[], q real[], centroid real[], seed bigint)
 *	  -> (estimate float8, exact float8, bound float8)
 *
 * Encodes o, prepares q, and returns the estimated and exact squared L2
 * distance and the estimate's error bound: the function the estimator
 * tests use.
 */
PG_FUNCTION_INFO_V1(vecidx_rabitq_debug);
Datum
vecidx_rabitq_debug(PG_FUNCTION_ARGS)
{
	int			n,
				nq,
				nc;
	float4	   *o = vec_array_values(PG_GETARG_ARRAYTYPE_P(0), &n);
	float4	   *q = vec_array_values(PG_GETARG_ARRAYTYPE_P(1), &nq);
	float4	   *c = vec_array_values(PG_GETARG_ARRAYTYPE_P(2), &nc);
	int64		seed = PG_GETARG_INT64(3);
	VecRabitq	rq;
	VecRqQuery	qq;
	VecRqFactors f;
	uint64	   *code;
	float	   *scratch;
	float		est,
				bound;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {0};

	vec_check_same_dims(n, nq);
	vec_check_same_dims(n, nc);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	vec_rq_init(&rq, n, (uint64) seed, c);
	scratch = palloc(sizeof(float) * rq.pdim);
	code = palloc(rq.pdim / 8);
	vec_rq_encode(&rq, o, code, &f, scratch);
	vec_rq_prepare_query(&rq, q, &qq, (uint64) seed ^ UINT64CONST(0x5DEECE66D));
	est = vec_rq_estimate_l2sq(&qq, code, &f, &bound);

	values[0] = Float8GetDatum((double) est);
	values[1] = Float8GetDatum((double) vec_l2sq(o, q, n));
	values[2] = Float8GetDatum((double) bound);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
