/*-------------------------------------------------------------------------
 *
 * fastscan_bench.c
 *	  Micro-benchmark: the RaBitQ one-bit estimates of one graph expansion,
 *	  computed either per fresh neighbour with popcounts over the current
 *	  slot layout (src/rabitq.c), or for all 32 slots of the list at once
 *	  with a FastScan layout (codes transposed in 4-bit groups, a per-query
 *	  lookup table and PSHUFB).
 *
 * Standalone: no PostgreSQL headers, x86-64 only; the SIMD kernels are
 * compiled with __attribute__((target(...))) and chosen at run time, so a
 * plain "gcc -O2" builds it.  See README.md for the commands.
 *
 * The estimate needs, per neighbour with code bits b_i (i < pdim) and a
 * query quantised to 4-bit levels l_i:
 *
 *	acc = sum_i b_i l_i = sum_j 2^j popcount(code AND plane_j)
 *	pc	= sum_i b_i		= popcount(code)
 *
 * then the float ops of vec_rq_estimate_l2sq (estimate and error bound).
 *
 * (A) popcount, current layout: a list is 32 slots one after another, a
 *	   slot = {float norm, float ip} + pdim / 8 bytes of code.  Only the
 *	   fresh (not yet visited) slots are estimated.
 *		A1	 scalar POPCNT, 64 bits per instruction
 *		A2	 AVX-512 VPOPCNTDQ, 512 bits per instruction
 *		A2v  A2, with the float part batched over the fresh slots (AVX-512)
 *
 * (B) FastScan layout: a block holds norm[32], ip[32], pc[32] (uint16,
 *	   query independent, only read by B5s) and then, for each nibble
 *	   position p (dimensions 4p .. 4p+3, pdim / 4 positions), 16 bytes:
 *	   byte j has neighbour j's nibble in its low half and neighbour 16+j's
 *	   in its high half.  The query's table holds, for each position p and
 *	   each nibble value t, LUT[p][t] = sum over bits b set in t of
 *	   l_{4p+b} (at most 60).  All 32 neighbours are estimated.
 *		B2	 AVX2 PSHUFB, two positions per instruction
 *		B5	 AVX-512BW PSHUFB, four positions per instruction
 *		B5s  B5, but pc read from the block instead of a popcount table
 *
 * Every kernel is first checked against a plain per-dimension sum on random
 * lists and on the extremes (all code bits set, all levels 15); a mismatch
 * exits with status 1.  Then, per pdim (128, 512, 1024) and number of fresh
 * slots (4, 8, 16, 32), ns per expansion, with the lists
 *		hot		4 lists visited over and over: in L1 with the query
 *		l3		4096 lists (argument 1) in random order, all read just before
 *				each run: L2 / L3 hits
 *		dram	the same, flushed (CLFLUSH) before each run: memory
 * Expansions are chained (the next list's address depends on the previous
 * estimates) as in the walk.  Timing: CLOCK_MONOTONIC, runs of about 0.3
 * ms, the kernels taking turns; the best of 5 (argument 2) runs without an
 * involuntary context switch counts.  The per-query LUT build is timed
 * alone.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#if !defined(__x86_64__) || !defined(__GNUC__)
#error "fastscan_bench needs x86-64 and gcc (or a compatible compiler)"
#endif
#include <immintrin.h>

typedef uint8_t uint8;
typedef uint16_t uint16;
typedef uint32_t uint32;
typedef uint64_t uint64;

#define NSLOT		32			/* slots of a level-0 list (m = 16) */
#define EPS0		3.0f		/* VEC_RQ_EPS0 */
#define BLK_HDR		320			/* norm[32], ip[32], pc[32], padded to 64 */
#define RUN_NS		300000.0	/* aimed length of one timed run */
#define NRUNS		5			/* clean timed runs; the best one counts */
#define MAX_TRIES	200			/* runs tried to get NRUNS clean ones */
#define NHOT		4			/* lists of the hot working set */
#define NSETS		64			/* fresh-slot sets, used in turn */
#define NVERIFY		1024		/* lists checked before timing */
#define DEFAULT_LISTS 4096		/* lists of the cold working set */
#define MAX_PDIM	1024

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* the per-vector factors, as VecRqFactors */
typedef struct Factors
{
	float		norm;			/* |o - c| */
	float		ip;				/* <xbar, u> */
} Factors;

/* a quantised query, as VecRqQuery, with the constants precomputed */
typedef struct Query
{
	int			pdim;
	int			words;			/* pdim / 64 */
	float		norm;
	float		vl;				/* lowest coordinate */
	float		delta;			/* quantisation step */
	uint64		sumq;			/* sum of the levels */
	float		sqrtd;			/* sqrt(pdim) */
	float		sqrtdm1;		/* sqrt(pdim - 1) */
	float		sum_all;		/* delta * sumq + vl * pdim */
	uint8	   *levels;			/* pdim levels, 0 .. 15 */
	uint64	   *planes;			/* 4 bit planes of pdim bits (A) */
	uint8	   *lut;			/* pdim / 4 x 16 entries (B) */
} Query;

/* what one expansion produces, indexed by slot */
typedef struct Out
{
	float		est[NSLOT];
	float		bound[NSLOT];
	uint32		acc[NSLOT];
	uint32		pc[NSLOT];
} __attribute__((aligned(64))) Out;

/*
 * One expansion: estimates for the fresh slots (fresh[0 .. nfresh-1],
 * ascending) of the list at "list" (layout A) or the block at "list"
 * (layout B; those kernels estimate all 32 slots).  Returns the smallest
 * estimate, which the timing loop makes the next list depend on.
 */
typedef float (*ExpandFn) (const Query *q, const uint8 *list, const uint8 *fresh,
						   int nfresh, Out *out);

typedef struct Kernel
{
	const char *name;
	bool		fastscan;		/* layout B */
	ExpandFn	fn;
	bool		ok;				/* the CPU can run it */
} Kernel;

/* the lists of one padded dimension, in both layouts */
typedef struct Bench
{
	int			pdim;
	int			nlists;
	size_t		slot_bytes;		/* layout A slot */
	size_t		list_stride;	/* layout A list, rounded up to 64 */
	size_t		blk_stride;		/* layout B block */
	uint8	   *lists;
	uint8	   *blocks;
	uint32		walk;			/* xorshift32 state: the cold visiting order */
	uint8		fresh[NSETS][NSLOT];
} Bench;

static Out	out;
static volatile float sink;

/* ---------------------------------------------------------------------
 * Utilities
 * ---------------------------------------------------------------------
 */

static uint64 rng_state = 42;

/* splitmix64 */
static uint64
rng_next(void)
{
	uint64		z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* uniform in [lo, hi) */
static float
rng_float(float lo, float hi)
{
	return lo + (hi - lo) * (float) (rng_next() >> 40) * (1.0f / 16777216.0f);
}

static void *
xalloc(size_t n)
{
	void	   *p;

	if (posix_memalign(&p, 64, n) != 0)
	{
		fprintf(stderr, "out of memory (%zu bytes)\n", n);
		exit(2);
	}
	memset(p, 0, n);
	return p;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

/* ---------------------------------------------------------------------
 * The float part of the estimate (vec_rq_estimate_l2sq): scalar, AVX2,
 * AVX-512
 * ---------------------------------------------------------------------
 */
static ALWAYS_INLINE float
estimate_l2sq(const Query *q, uint32 acc, uint32 pc, const Factors *f, float *bound)
{
	/* sum over set bits of w_i, then <xbar, w>, then <u, w> */
	float		sum_set = q->delta * (float) acc + q->vl * (float) pc;
	float		xw = (2.0f * sum_set - q->sum_all) / q->sqrtd;
	float		ip = xw / f->ip;
	float		ipbound = EPS0 * sqrtf((1.0f - f->ip * f->ip) / (f->ip * f->ip)) /
		q->sqrtdm1;
	float		cross = 2.0f * f->norm * q->norm;

	*bound = cross * ipbound;
	return f->norm * f->norm + q->norm * q->norm - cross * ip;
}

/*
 * The same operations for eight neighbours (AVX2); the bound goes to
 * bound[0 .. 7].
 */
__attribute__((target("avx2")))
static ALWAYS_INLINE __m256
estimate8(const Query *q, __m256i acc, __m256i pc, const float *norm, const float *fip,
		  float *bound)
{
	__m256		fn = _mm256_loadu_ps(norm);
	__m256		fi = _mm256_loadu_ps(fip);
	__m256		two = _mm256_set1_ps(2.0f);
	__m256		sum_set = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(q->delta),
													  _mm256_cvtepi32_ps(acc)),
										_mm256_mul_ps(_mm256_set1_ps(q->vl),
													  _mm256_cvtepi32_ps(pc)));
	__m256		xw = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(two, sum_set),
												 _mm256_set1_ps(q->sum_all)),
								   _mm256_set1_ps(q->sqrtd));
	__m256		ip = _mm256_div_ps(xw, fi);
	__m256		fi2 = _mm256_mul_ps(fi, fi);
	__m256		ipbound = _mm256_div_ps(_mm256_mul_ps(_mm256_set1_ps(EPS0),
													  _mm256_sqrt_ps(_mm256_div_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), fi2),
																				   fi2))),
										_mm256_set1_ps(q->sqrtdm1));
	__m256		qn = _mm256_set1_ps(q->norm);
	__m256		cross = _mm256_mul_ps(_mm256_mul_ps(two, fn), qn);

	_mm256_storeu_ps(bound, _mm256_mul_ps(cross, ipbound));
	return _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(fn, fn), _mm256_mul_ps(qn, qn)),
						 _mm256_mul_ps(cross, ip));
}

/*
 * The same for sixteen neighbours, factors in registers; the bound goes to
 * *bound.
 */
__attribute__((target("avx512f")))
static ALWAYS_INLINE __m512
estimate16(const Query *q, __m512i acc, __m512i pc, __m512 fn, __m512 fi, __m512 *bound)
{
	__m512		two = _mm512_set1_ps(2.0f);
	__m512		sum_set = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(q->delta),
													  _mm512_cvtepi32_ps(acc)),
										_mm512_mul_ps(_mm512_set1_ps(q->vl),
													  _mm512_cvtepi32_ps(pc)));
	__m512		xw = _mm512_div_ps(_mm512_sub_ps(_mm512_mul_ps(two, sum_set),
												 _mm512_set1_ps(q->sum_all)),
								   _mm512_set1_ps(q->sqrtd));
	__m512		ip = _mm512_div_ps(xw, fi);
	__m512		fi2 = _mm512_mul_ps(fi, fi);
	__m512		ipbound = _mm512_div_ps(_mm512_mul_ps(_mm512_set1_ps(EPS0),
													  _mm512_sqrt_ps(_mm512_div_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), fi2),
																				   fi2))),
										_mm512_set1_ps(q->sqrtdm1));
	__m512		qn = _mm512_set1_ps(q->norm);
	__m512		cross = _mm512_mul_ps(_mm512_mul_ps(two, fn), qn);

	*bound = _mm512_mul_ps(cross, ipbound);
	return _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(fn, fn), _mm512_mul_ps(qn, qn)),
						 _mm512_mul_ps(cross, ip));
}

/*
 * Every kernel starts by prefetching what it will read, as the walk does
 * for the fresh slots (vec_search_layer0_codes): the loads of one expansion
 * overlap instead of waiting for each other.
 */
static ALWAYS_INLINE void
prefetch_range(const uint8 *p, size_t len)
{
	uintptr_t	a = (uintptr_t) p & ~(uintptr_t) 63;

	for (; a < (uintptr_t) p + len; a += 64)
		__builtin_prefetch((const void *) a);
}

static ALWAYS_INLINE void
prefetch_fresh(const uint8 *list, size_t slot_bytes, const uint8 *fresh, int nfresh)
{
	for (int k = 0; k < nfresh; k++)
		prefetch_range(list + fresh[k] * slot_bytes, slot_bytes);
}

/* ---------------------------------------------------------------------
 * (A) popcount kernels over the current layout
 * ---------------------------------------------------------------------
 */

/* A1: scalar POPCNT */
__attribute__((target("popcnt")))
static float
expand_popcnt(const Query *q, const uint8 *list, const uint8 *fresh, int nfresh,
			  Out *o)
{
	size_t		slot_bytes = sizeof(Factors) + q->pdim / 8;
	int			words = q->words;
	float		best = INFINITY;

	prefetch_fresh(list, slot_bytes, fresh, nfresh);
	for (int k = 0; k < nfresh; k++)
	{
		int			i = fresh[k];
		const uint8 *slot = list + i * slot_bytes;
		const uint64 *code = (const uint64 *) (slot + sizeof(Factors));
		uint64		acc = 0;
		uint64		pc = 0;
		float		est;

		for (int j = 0; j < 4; j++)
		{
			const uint64 *plane = q->planes + j * words;
			uint64		s = 0;

			for (int w = 0; w < words; w++)
				s += __builtin_popcountll(code[w] & plane[w]);
			acc += s << j;
		}
		for (int w = 0; w < words; w++)
			pc += __builtin_popcountll(code[w]);

		est = estimate_l2sq(q, (uint32) acc, (uint32) pc, (const Factors *) slot,
							&o->bound[i]);
		o->est[i] = est;
		o->acc[i] = (uint32) acc;
		o->pc[i] = (uint32) pc;
		best = est < best ? est : best;
	}
	return best;
}

/*
 * acc and pc (*pc) of one code with AVX-512 VPOPCNTDQ, eight code words per
 * instruction: one accumulator per plane and one for the code's own bits.
 * Codes of fewer than eight words (pdim 128) are read with a masked load.
 */
__attribute__((target("avx512f,avx512vpopcntdq")))
static ALWAYS_INLINE uint32
vpopcnt_code(const uint64 *code, const uint64 *planes, int words, uint32 *pc)
{
	__m512i		s0 = _mm512_setzero_si512();
	__m512i		s1 = _mm512_setzero_si512();
	__m512i		s2 = _mm512_setzero_si512();
	__m512i		s3 = _mm512_setzero_si512();
	__m512i		sc = _mm512_setzero_si512();
	__m512i		weighted;

	for (int w = 0; w < words; w += 8)
	{
		__mmask8	m = words - w >= 8 ? 0xFF : (__mmask8) ((1u << (words - w)) - 1);
		__m512i		c = _mm512_maskz_loadu_epi64(m, code + w);
		__m512i		p0 = _mm512_maskz_loadu_epi64(m, planes + w);
		__m512i		p1 = _mm512_maskz_loadu_epi64(m, planes + words + w);
		__m512i		p2 = _mm512_maskz_loadu_epi64(m, planes + 2 * words + w);
		__m512i		p3 = _mm512_maskz_loadu_epi64(m, planes + 3 * words + w);

		sc = _mm512_add_epi64(sc, _mm512_popcnt_epi64(c));
		s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(_mm512_and_si512(c, p0)));
		s1 = _mm512_add_epi64(s1, _mm512_popcnt_epi64(_mm512_and_si512(c, p1)));
		s2 = _mm512_add_epi64(s2, _mm512_popcnt_epi64(_mm512_and_si512(c, p2)));
		s3 = _mm512_add_epi64(s3, _mm512_popcnt_epi64(_mm512_and_si512(c, p3)));
	}
	weighted = _mm512_add_epi64(_mm512_add_epi64(s0, _mm512_slli_epi64(s1, 1)),
								_mm512_add_epi64(_mm512_slli_epi64(s2, 2),
												 _mm512_slli_epi64(s3, 3)));
	*pc = (uint32) _mm512_reduce_add_epi64(sc);
	return (uint32) _mm512_reduce_add_epi64(weighted);
}

/* A2: vpopcnt_code, then the scalar float part, per fresh slot */
__attribute__((target("avx512f,avx512vpopcntdq")))
static float
expand_vpopcnt(const Query *q, const uint8 *list, const uint8 *fresh, int nfresh,
			   Out *o)
{
	size_t		slot_bytes = sizeof(Factors) + q->pdim / 8;
	float		best = INFINITY;

	prefetch_fresh(list, slot_bytes, fresh, nfresh);
	for (int k = 0; k < nfresh; k++)
	{
		int			i = fresh[k];
		const uint8 *slot = list + i * slot_bytes;
		uint32		pc;
		uint32		acc = vpopcnt_code((const uint64 *) (slot + sizeof(Factors)),
									   q->planes, q->words, &pc);
		float		est = estimate_l2sq(q, acc, pc, (const Factors *) slot, &o->bound[i]);

		o->est[i] = est;
		o->acc[i] = acc;
		o->pc[i] = pc;
		best = est < best ? est : best;
	}
	return best;
}

/*
 * A2v: vpopcnt_code per fresh slot, then the float part for all fresh
 * slots at once, sixteen per AVX-512 instruction (the batched epilogue of
 * FastScan without its layout).
 */
__attribute__((target("avx512f,avx512vpopcntdq")))
static float
expand_vpopcnt_batch(const Query *q, const uint8 *list, const uint8 *fresh, int nfresh,
					 Out *o)
{
	size_t		slot_bytes = sizeof(Factors) + q->pdim / 8;
	uint32		acc[NSLOT],
				pc[NSLOT];
	float		fn[NSLOT],
				fi[NSLOT],
				est[NSLOT],
				bound[NSLOT];
	__m512		best = _mm512_set1_ps(INFINITY);

	prefetch_fresh(list, slot_bytes, fresh, nfresh);
	for (int k = 0; k < nfresh; k++)
	{
		const uint8 *slot = list + fresh[k] * slot_bytes;
		const Factors *f = (const Factors *) slot;

		acc[k] = vpopcnt_code((const uint64 *) (slot + sizeof(Factors)),
							  q->planes, q->words, &pc[k]);
		fn[k] = f->norm;
		fi[k] = f->ip;
	}
	for (int k = 0; k < nfresh; k += 16)
	{
		__mmask16	m = nfresh - k >= 16 ? 0xFFFF : (__mmask16) ((1u << (nfresh - k)) - 1);
		__m512		one = _mm512_set1_ps(1.0f);
		__m512		e,
					b;

		/* lanes past nfresh compute on ones, and are not used */
		e = estimate16(q, _mm512_maskz_loadu_epi32(m, acc + k),
					   _mm512_maskz_loadu_epi32(m, pc + k),
					   _mm512_mask_loadu_ps(one, m, fn + k),
					   _mm512_mask_loadu_ps(one, m, fi + k), &b);
		_mm512_mask_storeu_ps(est + k, m, e);
		_mm512_mask_storeu_ps(bound + k, m, b);
		best = _mm512_mask_min_ps(best, m, best, e);
	}
	for (int k = 0; k < nfresh; k++)
	{
		int			i = fresh[k];

		o->est[i] = est[k];
		o->bound[i] = bound[k];
		o->acc[i] = acc[k];
		o->pc[i] = pc[k];
	}
	return _mm512_reduce_min_ps(best);
}

/* ---------------------------------------------------------------------
 * (B) FastScan kernels
 * ---------------------------------------------------------------------
 */

/* popcount of each nibble value: the table for pc */
static const uint8 nibble_popcount[16] = {
	0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4
};

/* sum of the two 128-bit lanes, as eight uint16 */
__attribute__((target("avx2")))
static ALWAYS_INLINE __m128i
lanes_add16(__m256i x)
{
	return _mm_add_epi16(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
}

/* smallest of eight floats */
__attribute__((target("avx2")))
static ALWAYS_INLINE float
hmin_ps(__m256 v)
{
	__m128		m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	m = _mm_min_ps(m, _mm_movehl_ps(m, m));
	m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
	return _mm_cvtss_f32(m);
}


/*
 * B2: AVX2.  One 256-bit load covers two positions (one per 128-bit lane,
 * matching PSHUFB's per-lane tables).  The low nibbles index neighbours
 * 0..15, the high nibbles 16..31.  Table values are summed in bytes over
 * four loads (at most 4 x 60 = 240), then widened: even bytes (neighbours
 * 2k) and odd bytes (2k+1) go to separate uint16 accumulators, which hold
 * at most 256 x 60 = 15360.  The popcount sums (at most 4 per position)
 * are widened every 32 loads.
 */
__attribute__((target("avx2")))
static float
expand_fastscan_avx2(const Query *q, const uint8 *blk, const uint8 *fresh, int nfresh,
					 Out *o)
{
	const float *norm = (const float *) blk;
	const float *fip = norm + NSLOT;
	const uint8 *codes = blk + BLK_HDR;
	const uint8 *lut = q->lut;
	int			npos = q->pdim / 4;
	__m256i		m4 = _mm256_set1_epi8(0x0F);
	__m256i		m8 = _mm256_set1_epi16(0x00FF);
	__m256i		pct = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *) nibble_popcount));
	__m256i		ae_lo = _mm256_setzero_si256(),
				ao_lo = _mm256_setzero_si256(),
				ae_hi = _mm256_setzero_si256(),
				ao_hi = _mm256_setzero_si256();
	__m256i		ce_lo = _mm256_setzero_si256(),
				co_lo = _mm256_setzero_si256(),
				ce_hi = _mm256_setzero_si256(),
				co_hi = _mm256_setzero_si256();
	__m256i		c8_lo = _mm256_setzero_si256(),
				c8_hi = _mm256_setzero_si256();
	__m128i		acc16[4],
				pc16[4];
	__m256		best = _mm256_set1_ps(INFINITY);

	(void) fresh;
	(void) nfresh;

	prefetch_range(blk, BLK_HDR + (size_t) npos * 16);
	/* eight positions per round */
	for (int p = 0; p < npos; p += 8)
	{
		__m256i		a8_lo = _mm256_setzero_si256(),
					a8_hi = _mm256_setzero_si256();

#pragma GCC unroll 4
		for (int r = 0; r < 8; r += 2)
		{
			__m256i		c = _mm256_loadu_si256((const __m256i *) (codes + 16 * (p + r)));
			__m256i		t = _mm256_loadu_si256((const __m256i *) (lut + 16 * (p + r)));
			__m256i		lo = _mm256_and_si256(c, m4);
			__m256i		hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), m4);

			a8_lo = _mm256_add_epi8(a8_lo, _mm256_shuffle_epi8(t, lo));
			a8_hi = _mm256_add_epi8(a8_hi, _mm256_shuffle_epi8(t, hi));
			c8_lo = _mm256_add_epi8(c8_lo, _mm256_shuffle_epi8(pct, lo));
			c8_hi = _mm256_add_epi8(c8_hi, _mm256_shuffle_epi8(pct, hi));
		}
		ae_lo = _mm256_add_epi16(ae_lo, _mm256_and_si256(a8_lo, m8));
		ao_lo = _mm256_add_epi16(ao_lo, _mm256_srli_epi16(a8_lo, 8));
		ae_hi = _mm256_add_epi16(ae_hi, _mm256_and_si256(a8_hi, m8));
		ao_hi = _mm256_add_epi16(ao_hi, _mm256_srli_epi16(a8_hi, 8));

		/* every 64 positions (32 loads, bytes <= 128), and at the end */
		if ((p & 63) == 56 || p + 8 >= npos)
		{
			ce_lo = _mm256_add_epi16(ce_lo, _mm256_and_si256(c8_lo, m8));
			co_lo = _mm256_add_epi16(co_lo, _mm256_srli_epi16(c8_lo, 8));
			ce_hi = _mm256_add_epi16(ce_hi, _mm256_and_si256(c8_hi, m8));
			co_hi = _mm256_add_epi16(co_hi, _mm256_srli_epi16(c8_hi, 8));
			c8_lo = _mm256_setzero_si256();
			c8_hi = _mm256_setzero_si256();
		}
	}

	/* fold the lanes and interleave even and odd: neighbours 8g .. 8g+7 */
	{
		__m128i		e_lo = lanes_add16(ae_lo),
					o_lo = lanes_add16(ao_lo),
					e_hi = lanes_add16(ae_hi),
					o_hi = lanes_add16(ao_hi);

		acc16[0] = _mm_unpacklo_epi16(e_lo, o_lo);
		acc16[1] = _mm_unpackhi_epi16(e_lo, o_lo);
		acc16[2] = _mm_unpacklo_epi16(e_hi, o_hi);
		acc16[3] = _mm_unpackhi_epi16(e_hi, o_hi);
		e_lo = lanes_add16(ce_lo);
		o_lo = lanes_add16(co_lo);
		e_hi = lanes_add16(ce_hi);
		o_hi = lanes_add16(co_hi);
		pc16[0] = _mm_unpacklo_epi16(e_lo, o_lo);
		pc16[1] = _mm_unpackhi_epi16(e_lo, o_lo);
		pc16[2] = _mm_unpacklo_epi16(e_hi, o_hi);
		pc16[3] = _mm_unpackhi_epi16(e_hi, o_hi);
	}

	for (int g = 0; g < 4; g++)
	{
		__m256i		acc = _mm256_cvtepu16_epi32(acc16[g]);
		__m256i		pc = _mm256_cvtepu16_epi32(pc16[g]);
		__m256		est;

		_mm256_storeu_si256((__m256i *) (o->acc + 8 * g), acc);
		_mm256_storeu_si256((__m256i *) (o->pc + 8 * g), pc);
		est = estimate8(q, acc, pc, norm + 8 * g, fip + 8 * g, o->bound + 8 * g);
		_mm256_storeu_ps(o->est + 8 * g, est);
		best = _mm256_min_ps(best, est);
	}
	return hmin_ps(best);
}

/* sum of the four 128-bit lanes, as eight uint16 */
__attribute__((target("avx512f,avx512bw")))
static ALWAYS_INLINE __m128i
lanes4_add16(__m512i x)
{
	return lanes_add16(_mm256_add_epi16(_mm512_castsi512_si256(x),
										_mm512_extracti64x4_epi64(x, 1)));
}


/*
 * B5: AVX-512BW, four positions per load (one per 128-bit lane), otherwise
 * as B2: bytes summed over four loads, widened to even / odd uint16
 * accumulators.  With stored_pc the popcounts come from the block header
 * (pc is a property of the code, not of the query) instead of a second
 * table lookup per load.
 */
__attribute__((target("avx512f,avx512bw")))
static ALWAYS_INLINE float
fastscan_avx512_body(const Query *q, const uint8 *blk, Out *o, bool stored_pc)
{
	const float *norm = (const float *) blk;
	const float *fip = norm + NSLOT;
	const uint16 *spc = (const uint16 *) (fip + NSLOT);
	const uint8 *codes = blk + BLK_HDR;
	const uint8 *lut = q->lut;
	int			npos = q->pdim / 4;
	__m512i		m4 = _mm512_set1_epi8(0x0F);
	__m512i		m8 = _mm512_set1_epi16(0x00FF);
	__m512i		pct = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) nibble_popcount));
	__m512i		ae_lo = _mm512_setzero_si512(),
				ao_lo = _mm512_setzero_si512(),
				ae_hi = _mm512_setzero_si512(),
				ao_hi = _mm512_setzero_si512();
	__m512i		ce_lo = _mm512_setzero_si512(),
				co_lo = _mm512_setzero_si512(),
				ce_hi = _mm512_setzero_si512(),
				co_hi = _mm512_setzero_si512();
	__m512i		c8_lo = _mm512_setzero_si512(),
				c8_hi = _mm512_setzero_si512();
	__m512i		acc[2],
				pc[2];
	__m512		best;

	prefetch_range(blk, BLK_HDR + (size_t) npos * 16);
	/* sixteen positions per round */
	for (int p = 0; p < npos; p += 16)
	{
		__m512i		a8_lo = _mm512_setzero_si512(),
					a8_hi = _mm512_setzero_si512();

#pragma GCC unroll 4
		for (int r = 0; r < 16; r += 4)
		{
			__m512i		c = _mm512_loadu_si512((const void *) (codes + 16 * (p + r)));
			__m512i		t = _mm512_loadu_si512((const void *) (lut + 16 * (p + r)));
			__m512i		lo = _mm512_and_si512(c, m4);
			__m512i		hi = _mm512_and_si512(_mm512_srli_epi16(c, 4), m4);

			a8_lo = _mm512_add_epi8(a8_lo, _mm512_shuffle_epi8(t, lo));
			a8_hi = _mm512_add_epi8(a8_hi, _mm512_shuffle_epi8(t, hi));
			if (!stored_pc)
			{
				c8_lo = _mm512_add_epi8(c8_lo, _mm512_shuffle_epi8(pct, lo));
				c8_hi = _mm512_add_epi8(c8_hi, _mm512_shuffle_epi8(pct, hi));
			}
		}
		ae_lo = _mm512_add_epi16(ae_lo, _mm512_and_si512(a8_lo, m8));
		ao_lo = _mm512_add_epi16(ao_lo, _mm512_srli_epi16(a8_lo, 8));
		ae_hi = _mm512_add_epi16(ae_hi, _mm512_and_si512(a8_hi, m8));
		ao_hi = _mm512_add_epi16(ao_hi, _mm512_srli_epi16(a8_hi, 8));

		/* every 128 positions (32 loads, bytes <= 128), and at the end */
		if (!stored_pc && ((p & 127) == 112 || p + 16 >= npos))
		{
			ce_lo = _mm512_add_epi16(ce_lo, _mm512_and_si512(c8_lo, m8));
			co_lo = _mm512_add_epi16(co_lo, _mm512_srli_epi16(c8_lo, 8));
			ce_hi = _mm512_add_epi16(ce_hi, _mm512_and_si512(c8_hi, m8));
			co_hi = _mm512_add_epi16(co_hi, _mm512_srli_epi16(c8_hi, 8));
			c8_lo = _mm512_setzero_si512();
			c8_hi = _mm512_setzero_si512();
		}
	}

	/* fold the lanes, interleave even and odd, widen to 32 bits */
	{
		__m128i		e_lo = lanes4_add16(ae_lo),
					o_lo = lanes4_add16(ao_lo),
					e_hi = lanes4_add16(ae_hi),
					o_hi = lanes4_add16(ao_hi);

		acc[0] = _mm512_cvtepu16_epi32(_mm256_set_m128i(_mm_unpackhi_epi16(e_lo, o_lo),
														_mm_unpacklo_epi16(e_lo, o_lo)));
		acc[1] = _mm512_cvtepu16_epi32(_mm256_set_m128i(_mm_unpackhi_epi16(e_hi, o_hi),
														_mm_unpacklo_epi16(e_hi, o_hi)));
		if (stored_pc)
		{
			pc[0] = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) spc));
			pc[1] = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) (spc + 16)));
		}
		else
		{
			e_lo = lanes4_add16(ce_lo);
			o_lo = lanes4_add16(co_lo);
			e_hi = lanes4_add16(ce_hi);
			o_hi = lanes4_add16(co_hi);
			pc[0] = _mm512_cvtepu16_epi32(_mm256_set_m128i(_mm_unpackhi_epi16(e_lo, o_lo),
														   _mm_unpacklo_epi16(e_lo, o_lo)));
			pc[1] = _mm512_cvtepu16_epi32(_mm256_set_m128i(_mm_unpackhi_epi16(e_hi, o_hi),
														   _mm_unpacklo_epi16(e_hi, o_hi)));
		}
	}

	best = _mm512_set1_ps(INFINITY);
	for (int g = 0; g < 2; g++)
	{
		__m512		est,
					bound;

		_mm512_storeu_si512((void *) (o->acc + 16 * g), acc[g]);
		_mm512_storeu_si512((void *) (o->pc + 16 * g), pc[g]);
		est = estimate16(q, acc[g], pc[g], _mm512_loadu_ps(norm + 16 * g),
						 _mm512_loadu_ps(fip + 16 * g), &bound);
		_mm512_storeu_ps(o->bound + 16 * g, bound);
		_mm512_storeu_ps(o->est + 16 * g, est);
		best = _mm512_min_ps(best, est);
	}
	return _mm512_reduce_min_ps(best);
}

__attribute__((target("avx512f,avx512bw")))
static float
expand_fastscan_avx512(const Query *q, const uint8 *blk, const uint8 *fresh, int nfresh,
					   Out *o)
{
	(void) fresh;
	(void) nfresh;
	return fastscan_avx512_body(q, blk, o, false);
}

__attribute__((target("avx512f,avx512bw")))
static float
expand_fastscan_avx512_spc(const Query *q, const uint8 *blk, const uint8 *fresh, int nfresh,
						   Out *o)
{
	(void) fresh;
	(void) nfresh;
	return fastscan_avx512_body(q, blk, o, true);
}

/* indexes into kernels[] */
enum
{
	K_A1, K_A2, K_A2V, K_B2, K_B5, K_B5S
};

static Kernel kernels[] = {
	{"A1", false, expand_popcnt, false},
	{"A2", false, expand_vpopcnt, false},
	{"A2v", false, expand_vpopcnt_batch, false},
	{"B2", true, expand_fastscan_avx2, false},
	{"B5", true, expand_fastscan_avx512, false},
	{"B5s", true, expand_fastscan_avx512_spc, false},
};

#define NKERNELS ((int) (sizeof(kernels) / sizeof(kernels[0])))

/* ---------------------------------------------------------------------
 * The per-query table of layout B
 * ---------------------------------------------------------------------
 */

/*
 * scalar: entry 4h + k = (sum of the levels of bits 2, 3 set in h) + (sum
 * of the levels of bits 0, 1 set in k)
 */
static void
lut_build_scalar(const uint8 *levels, int pdim, uint8 *lut)
{
	for (int p = 0; p < pdim / 4; p++)
	{
		const uint8 *l = levels + 4 * p;
		uint8	   *t = lut + 16 * p;
		uint8		low[4] = {0, l[0], l[1], (uint8) (l[0] + l[1])};
		uint8		high[4] = {0, l[2], l[3], (uint8) (l[2] + l[3])};

		for (int h = 0; h < 4; h++)
			for (int k = 0; k < 4; k++)
				t[4 * h + k] = (uint8) (high[h] + low[k]);
	}
}

/*
 * AVX2: sixteen levels (four positions) per load, broadcast to both lanes.
 * For each of the four bits b, PSHUFB spreads the level of dimension
 * 4p + b over the lane and a mask keeps it in the entries t with bit b
 * set; the four are added.  Two positions per 256-bit result.
 */
__attribute__((target("avx2")))
static void
lut_build_avx2(const uint8 *levels, int pdim, uint8 *lut)
{
	__m256i		mask[4],
				sel[2][4];

	for (int b = 0; b < 4; b++)
	{
		uint8		m[16];

		for (int t = 0; t < 16; t++)
			m[t] = (t >> b) & 1 ? 0xFF : 0;
		mask[b] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *) m));
		/* positions 4s and 4s+1, then 4s+2 and 4s+3 */
		sel[0][b] = _mm256_setr_m128i(_mm_set1_epi8((char) b), _mm_set1_epi8((char) (4 + b)));
		sel[1][b] = _mm256_setr_m128i(_mm_set1_epi8((char) (8 + b)), _mm_set1_epi8((char) (12 + b)));
	}

	for (int d = 0; d < pdim; d += 16)
	{
		__m256i		l = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *) (levels + d)));

		for (int h = 0; h < 2; h++)
		{
			__m256i		t = _mm256_and_si256(_mm256_shuffle_epi8(l, sel[h][0]), mask[0]);

			for (int b = 1; b < 4; b++)
				t = _mm256_add_epi8(t, _mm256_and_si256(_mm256_shuffle_epi8(l, sel[h][b]),
														mask[b]));
			_mm256_storeu_si256((__m256i *) (lut + 4 * d + 32 * h), t);
		}
	}
}

/* ---------------------------------------------------------------------
 * Data
 * ---------------------------------------------------------------------
 */

/*
 * A query with the given levels (random when level < 0): bit planes,
 * table and the constants of the estimate.
 */
static void
query_make(Query *q, int pdim, int level)
{
	q->pdim = pdim;
	q->words = pdim / 64;
	q->levels = xalloc(pdim);
	q->planes = xalloc(4 * q->words * sizeof(uint64));
	q->lut = xalloc(pdim / 4 * 16);
	q->norm = rng_float(0.5f, 1.5f);
	q->delta = 6.0f / sqrtf((float) pdim) / 15.0f;
	q->vl = -3.0f / sqrtf((float) pdim);
	q->sumq = 0;
	for (int d = 0; d < pdim; d++)
	{
		int			l = level >= 0 ? level : (int) (rng_next() & 15);

		q->levels[d] = (uint8) l;
		q->sumq += l;
		for (int j = 0; j < 4; j++)
			q->planes[j * q->words + d / 64] |= (uint64) ((l >> j) & 1) << (d % 64);
	}
	q->sqrtd = sqrtf((float) pdim);
	q->sqrtdm1 = sqrtf((float) (pdim - 1));
	q->sum_all = q->delta * (float) q->sumq + q->vl * (float) pdim;
	lut_build_scalar(q->levels, pdim, q->lut);
}

static void
query_free(Query *q)
{
	free(q->levels);
	free(q->planes);
	free(q->lut);
}

static const uint64 *
list_code(const Bench *b, int l, int i)
{
	return (const uint64 *) (b->lists + l * b->list_stride + i * b->slot_bytes +
							 sizeof(Factors));
}

static const Factors *
list_factors(const Bench *b, int l, int i)
{
	return (const Factors *) (b->lists + l * b->list_stride + i * b->slot_bytes);
}

/*
 * nlists random lists in layout A (list 0: all code bits set, list 1: none,
 * the extremes of the accumulators) and the same lists in layout B.
 */
static void
bench_make(Bench *b, int pdim, int nlists)
{
	int			words = pdim / 64;
	int			npos = pdim / 4;

	b->pdim = pdim;
	b->nlists = nlists;
	b->slot_bytes = sizeof(Factors) + pdim / 8;
	b->list_stride = (NSLOT * b->slot_bytes + 63) & ~(size_t) 63;
	b->blk_stride = BLK_HDR + (size_t) npos * 16;
	b->lists = xalloc((size_t) nlists * b->list_stride);
	b->blocks = xalloc((size_t) nlists * b->blk_stride);
	b->walk = 2463534242u;

	for (int l = 0; l < nlists; l++)
	{
		uint8	   *blk = b->blocks + l * b->blk_stride;
		float	   *norm = (float *) blk;
		float	   *fip = norm + NSLOT;
		uint16	   *pc = (uint16 *) (fip + NSLOT);
		uint8	   *codes = blk + BLK_HDR;

		for (int i = 0; i < NSLOT; i++)
		{
			Factors    *f = (Factors *) list_factors(b, l, i);
			uint64	   *code = (uint64 *) list_code(b, l, i);
			int			bits = 0;

			f->norm = rng_float(0.5f, 1.5f);
			f->ip = rng_float(0.7f, 0.85f);
			for (int w = 0; w < words; w++)
			{
				code[w] = l == 0 ? ~(uint64) 0 : l == 1 ? 0 : rng_next();
				bits += __builtin_popcountll(code[w]);
			}

			/* the transposed copy */
			norm[i] = f->norm;
			fip[i] = f->ip;
			pc[i] = (uint16) bits;
			for (int p = 0; p < npos; p++)
			{
				uint8		nib = (uint8) ((code[p / 16] >> (4 * (p % 16))) & 15);

				codes[16 * p + (i & 15)] |= (uint8) (i < 16 ? nib : nib << 4);
			}
		}
	}
}

static void
bench_free(Bench *b)
{
	free(b->lists);
	free(b->blocks);
}

/* NSETS sets of nfresh distinct slots each, ascending */
static void
fresh_make(Bench *b, int nfresh)
{
	for (int s = 0; s < NSETS; s++)
	{
		uint32		taken = 0;
		int			k = 0;

		for (int n = 0; n < nfresh; n++)
		{
			int			i;

			do
				i = (int) (rng_next() % NSLOT);
			while (taken & (1u << i));
			taken |= 1u << i;
		}
		for (int i = 0; i < NSLOT; i++)
			if (taken & (1u << i))
				b->fresh[s][k++] = (uint8) i;
	}
}

static const uint8 *
kernel_list(const Bench *b, const Kernel *k, int l)
{
	return k->fastscan ? b->blocks + l * b->blk_stride : b->lists + l * b->list_stride;
}

/* ---------------------------------------------------------------------
 * Verification: every kernel against a plain per-dimension reference
 * ---------------------------------------------------------------------
 */
static int
verify(const Bench *b, const Query *q)
{
	uint8		all[NSLOT];
	uint8		lut2[MAX_PDIM / 4 * 16];
	int			bad = 0;

	for (int i = 0; i < NSLOT; i++)
		all[i] = (uint8) i;

	/* the two table builders agree */
	if (kernels[K_B2].ok)
	{
		lut_build_avx2(q->levels, q->pdim, lut2);
		if (memcmp(lut2, q->lut, q->pdim / 4 * 16) != 0)
		{
			fprintf(stderr, "pdim %d: lut_build_avx2 differs from lut_build_scalar\n", q->pdim);
			bad++;
		}
	}

	for (int l = 0; l < b->nlists && l < NVERIFY; l++)
	{
		uint32		racc[NSLOT],
					rpc[NSLOT];
		float		rest[NSLOT],
					rbound[NSLOT];

		for (int i = 0; i < NSLOT; i++)
		{
			const uint64 *code = list_code(b, l, i);

			racc[i] = rpc[i] = 0;
			for (int d = 0; d < q->pdim; d++)
			{
				uint32		bit = (uint32) (code[d / 64] >> (d % 64)) & 1;

				racc[i] += bit * q->levels[d];
				rpc[i] += bit;
			}
			rest[i] = estimate_l2sq(q, racc[i], rpc[i], list_factors(b, l, i), &rbound[i]);
		}

		for (int k = 0; k < NKERNELS; k++)
		{
			const Kernel *kn = &kernels[k];
			const uint8 *set = l % 2 ? b->fresh[l % NSETS] : all;
			int			nset = l % 2 ? 8 : NSLOT;

			if (!kn->ok)
				continue;
			/* odd lists: only 8 fresh slots, the others must stay untouched */
			memset(&out, 0xFF, sizeof(out));
			kn->fn(q, kernel_list(b, kn, l), set, nset, &out);
			for (int s = 0; s < nset; s++)
			{
				int			i = set[s];
				float		tol = 1e-4f * (1.0f + fabsf(rest[i]));
				float		btol = 1e-4f * (1.0f + fabsf(rbound[i]));

				if (out.acc[i] != racc[i] || out.pc[i] != rpc[i] ||
					fabsf(out.est[i] - rest[i]) > tol || fabsf(out.bound[i] - rbound[i]) > btol)
				{
					if (bad < 10)
						fprintf(stderr,
								"MISMATCH %s pdim %d list %d slot %d: acc %u/%u pc %u/%u est %g/%g bound %g/%g\n",
								kn->name, q->pdim, l, i, out.acc[i], racc[i], out.pc[i], rpc[i],
								out.est[i], rest[i], out.bound[i], rbound[i]);
					bad++;
				}
			}
			if (!kn->fastscan && nset < NSLOT)
			{
				for (int i = 0; i < NSLOT; i++)
				{
					bool		isfresh = false;

					for (int s = 0; s < nset; s++)
						isfresh |= set[s] == i;
					if (!isfresh && out.acc[i] != 0xFFFFFFFFu)
					{
						fprintf(stderr, "%s pdim %d list %d: wrote non-fresh slot %d\n",
								kn->name, q->pdim, l, i);
						bad++;
					}
				}
			}
		}
	}
	return bad;
}

/* ---------------------------------------------------------------------
 * Timing
 * ---------------------------------------------------------------------
 */

static long
involuntary_switches(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_nivcsw;
}

/*
 * Times count measured things (args[i], each run by "run") by the best of
 * nruns clean runs each.  A run is n calls; it returns their time in ns and
 * sets *clean when no involuntary context switch happened in its timed part
 * (another process may share the CPU).  The things take turns, one run
 * each per round, so that a slow period of the machine hits them all
 * alike; rounds go on until each has nruns clean runs, at most MAX_TRIES.
 * best[i] gets the best ns per call of the clean runs of args[i] (of all
 * its runs, with noisy[i] set, when it had too few clean ones).  The n of
 * each is set from a first, untimed run so that a run takes about RUN_NS.
 */
typedef double (*RunFn) (void *arg, int n, bool *clean);

static int	nruns = NRUNS;

static void
best_of_runs(RunFn run, void **args, int count, double *best, bool *noisy)
{
	double		best_any[NKERNELS];
	int			clean[NKERNELS];
	int			n[NKERNELS];
	bool		more = true;

	for (int i = 0; i < count; i++)
	{
		bool		ok;
		double		t = run(args[i], 64, &ok) / 64;

		n[i] = (int) (RUN_NS / t);
		n[i] = n[i] < 64 ? 64 : n[i] > 65536 ? 65536 : n[i];
		best[i] = best_any[i] = INFINITY;
		clean[i] = 0;
	}
	for (int tries = 0; tries < MAX_TRIES && more; tries++)
	{
		more = false;
		for (int i = 0; i < count; i++)
		{
			bool		ok;
			double		t;

			if (clean[i] >= nruns)
				continue;
			t = run(args[i], n[i], &ok) / n[i];
			if (t < best_any[i])
				best_any[i] = t;
			if (ok)
			{
				clean[i]++;
				if (t < best[i])
					best[i] = t;
			}
			more |= clean[i] < nruns;
		}
	}
	for (int i = 0; i < count; i++)
	{
		noisy[i] = clean[i] < nruns;
		if (noisy[i])
			best[i] = best_any[i];
	}
}

/* where the lists are when a run starts */
typedef enum Cache
{
	HOT,						/* NHOT lists, in L1 with the query */
	L3,							/* all lists, just read: in L2 / L3 */
	DRAM						/* all lists, flushed from the caches */
} Cache;

static const char *const cache_names[] = {"hot", "l3", "dram"};

typedef struct KernelRun
{
	Bench	   *b;
	const Query *q;
	const Kernel *k;
	int			nfresh;
	Cache		cache;
} KernelRun;

/*
 * n expansions, in ns.  HOT: the same NHOT lists over and over.  L3 and
 * DRAM: random lists of all b->nlists (xorshift32, continued from run to
 * run), after reading or flushing all of them.  The next list's address
 * depends on the previous expansion's result (dep is always 0, but the CPU
 * cannot know), as in the walk, where the next expansion is popped from the
 * heap the estimates went to: expansions do not overlap.
 */
static double
run_kernel(void *arg, int n, bool *clean)
{
	KernelRun  *r = arg;
	Bench	   *b = r->b;
	const uint8 *base = r->k->fastscan ? b->blocks : b->lists;
	size_t		stride = r->k->fastscan ? b->blk_stride : b->list_stride;
	size_t		bytes = stride * b->nlists;
	ExpandFn	fn = r->k->fn;
	uint32		walk = b->walk;
	uint32		dep = 0;
	long		cs;
	double		t0;

	if (r->cache == L3)
	{
		uint64		sum = 0;

		for (size_t i = 0; i < bytes; i += 64)
			sum += base[i];
		sink += (float) sum;
	}
	else if (r->cache == DRAM)
	{
		for (size_t i = 0; i < bytes; i += 64)
			_mm_clflush(base + i);
		_mm_mfence();
	}

	cs = involuntary_switches();
	t0 = now_ns();
	for (int e = 0; e < n; e++)
	{
		uint32		l;
		float		m;

		if (r->cache == HOT)
			l = 2 + (uint32) (e & (NHOT - 1));
		else
		{
			walk ^= walk << 13;
			walk ^= walk >> 17;
			walk ^= walk << 5;
			l = (uint32) (((uint64) walk * (uint64) b->nlists) >> 32);
		}
		m = fn(r->q, base + (l + dep) * stride, b->fresh[e & (NSETS - 1)], r->nfresh, &out);
		dep = m != m;			/* NaN: never */
	}
	t0 = now_ns() - t0;
	*clean = involuntary_switches() == cs;
	b->walk = walk;
	sink += out.est[0];
	return t0;
}

typedef struct LutRun
{
	int			pdim;
	void		(*build) (const uint8 *, int, uint8 *);
	uint8	   *levels;			/* 16 queries' levels, used in turn */
	uint8	   *lut;
} LutRun;

/* n table builds, in ns */
static double
run_lut(void *arg, int n, bool *clean)
{
	LutRun	   *r = arg;
	long		cs = involuntary_switches();
	double		t0 = now_ns();

	for (int i = 0; i < n; i++)
		r->build(r->levels + (i & 15) * r->pdim, r->pdim, r->lut);
	t0 = now_ns() - t0;
	*clean = involuntary_switches() == cs;
	sink += r->lut[r->pdim / 8];
	return t0;
}

/* ns per table build: ns[0] scalar, ns[1] AVX2 (if avx2) */
static void
time_lut(int pdim, bool avx2, double *ns, bool *noisy)
{
	uint8	   *levels = xalloc(16 * pdim);
	LutRun		r[2] = {
		{pdim, lut_build_scalar, levels, xalloc(pdim / 4 * 16)},
		{pdim, lut_build_avx2, levels, xalloc(pdim / 4 * 16)}
	};
	void	   *args[2] = {&r[0], &r[1]};

	for (int i = 0; i < 16 * pdim; i++)
		levels[i] = (uint8) (rng_next() & 15);
	best_of_runs(run_lut, args, avx2 ? 2 : 1, ns, noisy);
	free(levels);
	free(r[0].lut);
	free(r[1].lut);
}

int
main(int argc, char **argv)
{
	static const int pdims[] = {128, 512, 1024};
	static const int nfreshes[] = {4, 8, 16, 32};
	int			nlists = DEFAULT_LISTS;

	if (argc > 1)
		nlists = atoi(argv[1]);
	if (argc > 2)
		nruns = atoi(argv[2]);
	if (argc > 3 || nlists < NHOT + 2 || nruns < 1)
	{
		fprintf(stderr, "usage: %s [lists (>= %d, default %d) [runs (default %d)]]\n",
				argv[0], NHOT + 2, DEFAULT_LISTS, NRUNS);
		return 2;
	}

	__builtin_cpu_init();
	kernels[K_A1].ok = __builtin_cpu_supports("popcnt");
	kernels[K_A2].ok = __builtin_cpu_supports("avx512f") &&
		__builtin_cpu_supports("avx512vpopcntdq");
	kernels[K_A2V].ok = kernels[K_A2].ok;
	kernels[K_B2].ok = __builtin_cpu_supports("avx2");
	kernels[K_B5].ok = __builtin_cpu_supports("avx512f") &&
		__builtin_cpu_supports("avx512bw");
	kernels[K_B5S].ok = kernels[K_B5].ok;

	printf("fastscan_bench: ns per expansion (one list of %d slots), best of %d clean runs of ~%.1f ms\n"
		   "(* = fewer clean runs, best of all); l3 / dram: %d lists in random order, hot: %d lists\n",
		   NSLOT, nruns, RUN_NS / 1e6, nlists, NHOT);
	printf("kernels:");
	for (int k = 0; k < NKERNELS; k++)
		printf(" %s%s", kernels[k].name, kernels[k].ok ? "" : "(n/a)");
	printf("\n");
	printf("  A1 scalar popcnt, A2 avx512 vpopcntdq, A2v A2 + batched float part: fresh slots only\n");
	printf("  B2 avx2 pshufb, B5 avx512bw pshufb, B5s B5 with stored popcounts: all 32 slots\n\n");

	for (int pi = 0; pi < 3; pi++)
	{
		int			pdim = pdims[pi];
		Bench		b;
		Query		q,
					qmax;
		int			bad;
		double		ns[NKERNELS];
		bool		noisy[NKERNELS];

		bench_make(&b, pdim, nlists);
		query_make(&q, pdim, -1);
		query_make(&qmax, pdim, 15);
		fresh_make(&b, 8);
		bad = verify(&b, &q) + verify(&b, &qmax);
		if (bad)
		{
			fprintf(stderr, "pdim %d: %d mismatches\n", pdim, bad);
			return 1;
		}
		printf("pdim %d: verified acc, pc, estimate and bound of all kernels on %d lists x 2 queries: OK\n",
			   pdim, nlists < NVERIFY ? nlists : NVERIFY);
		printf("  list bytes: A %zu, B %zu; cold working set A %.1f MB, B %.1f MB\n",
			   b.list_stride, b.blk_stride,
			   nlists * (double) b.list_stride / 1048576, nlists * (double) b.blk_stride / 1048576);
		time_lut(pdim, kernels[K_B2].ok, ns, noisy);
		printf("  LUT build per query: scalar %.0f ns%s", ns[0], noisy[0] ? "*" : "");
		if (kernels[K_B2].ok)
			printf(", avx2 %.0f ns%s", ns[1], noisy[1] ? "*" : "");
		printf("\n");

		printf("  %-5s %6s", "cache", "nfresh");
		for (int k = 0; k < NKERNELS; k++)
			printf(" %8s ", kernels[k].name);
		printf(" %6s %7s\n", "B5/A2", "B5s/A2v");

		for (int c = HOT; c <= DRAM; c++)
		{
			for (int fi = 0; fi < 4; fi++)
			{
				KernelRun	r[NKERNELS];
				void	   *args[NKERNELS];
				double		t[NKERNELS];
				bool		tn[NKERNELS];
				int			nk = 0;

				fresh_make(&b, nfreshes[fi]);
				for (int k = 0; k < NKERNELS; k++)
				{
					if (!kernels[k].ok)
						continue;
					r[nk] = (KernelRun) {&b, &q, &kernels[k], nfreshes[fi], (Cache) c};
					args[nk] = &r[nk];
					nk++;
				}
				best_of_runs(run_kernel, args, nk, t, tn);
				printf("  %-5s %6d", cache_names[c], nfreshes[fi]);
				for (int k = 0, j = 0; k < NKERNELS; k++)
				{
					ns[k] = kernels[k].ok ? t[j] : NAN;
					noisy[k] = kernels[k].ok ? tn[j++] : false;
					printf(" %8.1f%c", ns[k], noisy[k] ? '*' : ' ');
				}
				printf(" %6.2f %7.2f\n", ns[K_B5] / ns[K_A2], ns[K_B5S] / ns[K_A2V]);
				fflush(stdout);
			}
		}
		printf("\n");
		query_free(&q);
		query_free(&qmax);
		bench_free(&b);
	}
	return 0;
}
