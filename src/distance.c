/*-------------------------------------------------------------------------
 *
 * distance.c
 *	  Distance kernels and the SQL-callable functions on real[].
 *
 * The kernels keep 16 independent partial sums so that GCC/Clang vectorise
 * them at -O3 without -ffast-math: the order of additions is fixed, hence
 * every caller (index build, insert, scan and the SQL operators) gets
 * bit-identical results on one machine.  On x86-64, vec_init_kernels (at
 * _PG_init) points the kernels at AVX2 intrinsics when the CPU has AVX2
 * (with F16C for the half-precision ones), at SSE2 otherwise; elsewhere the
 * portable loops serve.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "vecidx.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define VEC_X86 1
#endif

/*
 * Every kernel keeps 16 lane sums: lane j accumulates the products of
 * elements i with i % 16 == j, the tail (n % 16 elements) goes to a
 * scalar sum, and the lanes are added in order 0..15 at the end.  The SSE2
 * and AVX2 versions therefore compute bit-identical results (no FMA is
 * used), whichever the CPU picks.
 */
static inline float
vec_reduce16(const float *lanes, float tail)
{
	float		s = tail;

	for (int j = 0; j < 16; j++)
		s += lanes[j];
	return s;
}

#ifdef VEC_X86
__attribute__((target("avx2")))
static float
vec_l2sq_avx2(const float *a, const float *b, int n)
{
	__m256		acc0 = _mm256_setzero_ps();
	__m256		acc1 = _mm256_setzero_ps();
	float		lanes[16];
	float		tail = 0;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));

		acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(d0, d0));
		acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(d1, d1));
	}
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		tail += d * d;
	}
	_mm256_storeu_ps(lanes, acc0);
	_mm256_storeu_ps(lanes + 8, acc1);
	return vec_reduce16(lanes, tail);
}

__attribute__((target("avx2")))
static float
vec_dot_avx2(const float *a, const float *b, int n)
{
	__m256		acc0 = _mm256_setzero_ps();
	__m256		acc1 = _mm256_setzero_ps();
	float		lanes[16];
	float		tail = 0;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
		acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)));
	}
	for (; i < n; i++)
		tail += a[i] * b[i];
	_mm256_storeu_ps(lanes, acc0);
	_mm256_storeu_ps(lanes + 8, acc1);
	return vec_reduce16(lanes, tail);
}

static float
vec_l2sq_sse(const float *a, const float *b, int n)
{
	__m128		acc[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
	float		lanes[16];
	float		tail = 0;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		for (int k = 0; k < 4; k++)
		{
			__m128		d = _mm_sub_ps(_mm_loadu_ps(a + i + 4 * k), _mm_loadu_ps(b + i + 4 * k));

			acc[k] = _mm_add_ps(acc[k], _mm_mul_ps(d, d));
		}
	}
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		tail += d * d;
	}
	for (int k = 0; k < 4; k++)
		_mm_storeu_ps(lanes + 4 * k, acc[k]);
	return vec_reduce16(lanes, tail);
}

static float
vec_dot_sse(const float *a, const float *b, int n)
{
	__m128		acc[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
	float		lanes[16];
	float		tail = 0;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		for (int k = 0; k < 4; k++)
			acc[k] = _mm_add_ps(acc[k], _mm_mul_ps(_mm_loadu_ps(a + i + 4 * k),
												   _mm_loadu_ps(b + i + 4 * k)));
	}
	for (; i < n; i++)
		tail += a[i] * b[i];
	for (int k = 0; k < 4; k++)
		_mm_storeu_ps(lanes + 4 * k, acc[k]);
	return vec_reduce16(lanes, tail);
}
#else

/* portable fallback with the same lane structure */
static float
vec_l2sq_portable(const float *a, const float *b, int n)
{
	float		lanes[16] = {0};
	float		tail = 0;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
		for (int j = 0; j < 16; j++)
		{
			float		d = a[i + j] - b[i + j];

			lanes[j] += d * d;
		}
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		tail += d * d;
	}
	return vec_reduce16(lanes, tail);
}

static float
vec_dot_portable(const float *a, const float *b, int n)
{
	float		lanes[16] = {0};
	float		tail = 0;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
		for (int j = 0; j < 16; j++)
			lanes[j] += a[i + j] * b[i + j];
	for (; i < n; i++)
		tail += a[i] * b[i];
	return vec_reduce16(lanes, tail);
}
#endif

/* ----------------------------------------------------- half precision */

/*
 * IEEE binary16 <-> float.  The encoder rounds to nearest, ties to even,
 * like the F16C instruction, so the stored bytes do not depend on the CPU.
 */
float
vec_half_to_float(uint16 h)
{
	uint32		sign = ((uint32) h & 0x8000) << 16;
	uint32		exp = (h >> 10) & 0x1F;
	uint32		mant = h & 0x3FF;
	uint32		bits;
	float		f;

	if (exp == 0)
	{
		/* zero or subnormal: mant * 2^-24, exact in float */
		f = (float) mant * (1.0f / 16777216.0f);
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7F800000 | (mant << 13);
	else
		bits = sign | ((exp + 112) << 23) | (mant << 13);
	memcpy(&f, &bits, sizeof(f));
	return f;
}

uint16
vec_float_to_half(float f)
{
	uint32		x;
	uint32		sign;
	uint32		absx;
	uint32		h;
	uint32		rem;

	memcpy(&x, &f, sizeof(x));
	sign = (x >> 16) & 0x8000;
	absx = x & 0x7FFFFFFF;
	if (absx >= 0x47800000)		/* >= 65536, Inf, NaN */
		return sign | (absx > 0x7F800000 ? 0x7E00 : 0x7C00);
	if (absx < 0x38800000)		/* below 2^-14: subnormal or zero */
	{
		float		a;

		memcpy(&a, &absx, sizeof(a));
		/* a * 2^24 is exact; rintf rounds half to even */
		return sign | (uint32) rintf(a * 16777216.0f);
	}
	h = ((absx >> 23) - 112) << 10 | ((absx >> 13) & 0x3FF);
	rem = absx & 0x1FFF;
	if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
		h++;					/* may carry into the exponent, up to Inf */
	return sign | h;
}

/*
 * Store a prepared vector in the element's format.  f16 rejects values
 * beyond half precision's range (65504) rather than storing infinities.
 */
static void
vec_f16_range_error(float v, int i)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("value %g of vector element %d is out of range for a vechnsw index with storage = f16",
					v, i + 1),
			 errhint("Half precision holds magnitudes up to 65504; use storage = f32.")));
}

void
vec_store_vector(int storage, const float *src, void *dst, int n)
{
	uint16	   *h = (uint16 *) dst;

	if (storage != VEC_STORAGE_F16)
	{
		memcpy(dst, src, sizeof(float) * n);
		return;
	}
	for (int i = 0; i < n; i++)
	{
		h[i] = vec_float_to_half(src[i]);
		if (unlikely((h[i] & 0x7C00) == 0x7C00))
			vec_f16_range_error(src[i], i);
	}
}

/* error out if src cannot be stored with this storage */
void
vec_check_storage(int storage, const float *src, int n)
{
	if (storage != VEC_STORAGE_F16)
		return;
	for (int i = 0; i < n; i++)
		if (unlikely((vec_float_to_half(src[i]) & 0x7C00) == 0x7C00))
			vec_f16_range_error(src[i], i);
}

/* half -> float is exact, so the F16C and portable conversions agree */
static void
vec_halves_to_floats_portable(const uint16 *h, float *dst, int n)
{
	for (int i = 0; i < n; i++)
		dst[i] = vec_half_to_float(h[i]);
}

#ifdef VEC_X86
__attribute__((target("avx2,f16c")))
static void
vec_halves_to_floats_f16c(const uint16 *h, float *dst, int n)
{
	int			i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i,
						 _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (h + i))));
	for (; i < n; i++)
		dst[i] = vec_half_to_float(h[i]);
}
#endif

static void (*vec_halves_to_floats_impl) (const uint16 *h, float *dst, int n) =
	vec_halves_to_floats_portable;

void
vec_load_vector(int storage, const void *src, float *dst, int n)
{
	if (storage != VEC_STORAGE_F16)
	{
		memcpy(dst, src, sizeof(float) * n);
		return;
	}
	vec_halves_to_floats_impl((const uint16 *) src, dst, n);
}

/*
 * Kernels between a float query q and a half-precision vector x, with the
 * same 16-lane structure as the float ones (so the F16C and portable
 * versions agree bit for bit).  Besides the distance term they return
 * *xx = |x|^2 and, for the dot product, *qq = |q|^2: the error bounds of
 * vec_elem_distance need them.
 */
#ifdef VEC_X86
__attribute__((target("avx2,f16c")))
static float
vec_l2sq_f16_avx2(const float *q, const uint16 *x, int n, float *xx)
{
	__m256		acc0 = _mm256_setzero_ps(),
				acc1 = _mm256_setzero_ps(),
				xa0 = _mm256_setzero_ps(),
				xa1 = _mm256_setzero_ps();
	float		lanes[16],
				xl[16];
	float		tail = 0,
				xtail = 0;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m256		x0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (x + i)));
		__m256		x1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (x + i + 8)));
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), x0);
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), x1);

		acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(d0, d0));
		acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(d1, d1));
		xa0 = _mm256_add_ps(xa0, _mm256_mul_ps(x0, x0));
		xa1 = _mm256_add_ps(xa1, _mm256_mul_ps(x1, x1));
	}
	for (; i < n; i++)
	{
		float		v = vec_half_to_float(x[i]);
		float		d = q[i] - v;

		tail += d * d;
		xtail += v * v;
	}
	_mm256_storeu_ps(lanes, acc0);
	_mm256_storeu_ps(lanes + 8, acc1);
	_mm256_storeu_ps(xl, xa0);
	_mm256_storeu_ps(xl + 8, xa1);
	*xx = vec_reduce16(xl, xtail);
	return vec_reduce16(lanes, tail);
}

__attribute__((target("avx2,f16c")))
static float
vec_dot_f16_avx2(const float *q, const uint16 *x, int n, float *xx, float *qq)
{
	__m256		acc0 = _mm256_setzero_ps(),
				acc1 = _mm256_setzero_ps(),
				xa0 = _mm256_setzero_ps(),
				xa1 = _mm256_setzero_ps(),
				qa0 = _mm256_setzero_ps(),
				qa1 = _mm256_setzero_ps();
	float		lanes[16],
				xl[16],
				ql[16];
	float		tail = 0,
				xtail = 0,
				qtail = 0;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m256		x0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (x + i)));
		__m256		x1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (x + i + 8)));
		__m256		q0 = _mm256_loadu_ps(q + i);
		__m256		q1 = _mm256_loadu_ps(q + i + 8);

		acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(q0, x0));
		acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(q1, x1));
		xa0 = _mm256_add_ps(xa0, _mm256_mul_ps(x0, x0));
		xa1 = _mm256_add_ps(xa1, _mm256_mul_ps(x1, x1));
		qa0 = _mm256_add_ps(qa0, _mm256_mul_ps(q0, q0));
		qa1 = _mm256_add_ps(qa1, _mm256_mul_ps(q1, q1));
	}
	for (; i < n; i++)
	{
		float		v = vec_half_to_float(x[i]);

		tail += q[i] * v;
		xtail += v * v;
		qtail += q[i] * q[i];
	}
	_mm256_storeu_ps(lanes, acc0);
	_mm256_storeu_ps(lanes + 8, acc1);
	_mm256_storeu_ps(xl, xa0);
	_mm256_storeu_ps(xl + 8, xa1);
	_mm256_storeu_ps(ql, qa0);
	_mm256_storeu_ps(ql + 8, qa1);
	*xx = vec_reduce16(xl, xtail);
	*qq = vec_reduce16(ql, qtail);
	return vec_reduce16(lanes, tail);
}
#endif

/* portable versions (CPUs without F16C, other architectures) */
static float
vec_l2sq_f16_portable(const float *q, const uint16 *x, int n, float *xx)
{
	float		lanes[16] = {0},
				xl[16] = {0};
	float		tail = 0,
				xtail = 0;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
		for (int j = 0; j < 16; j++)
		{
			float		v = vec_half_to_float(x[i + j]);
			float		d = q[i + j] - v;

			lanes[j] += d * d;
			xl[j] += v * v;
		}
	for (; i < n; i++)
	{
		float		v = vec_half_to_float(x[i]);
		float		d = q[i] - v;

		tail += d * d;
		xtail += v * v;
	}
	*xx = vec_reduce16(xl, xtail);
	return vec_reduce16(lanes, tail);
}

static float
vec_dot_f16_portable(const float *q, const uint16 *x, int n, float *xx, float *qq)
{
	float		lanes[16] = {0},
				xl[16] = {0},
				ql[16] = {0};
	float		tail = 0,
				xtail = 0,
				qtail = 0;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
		for (int j = 0; j < 16; j++)
		{
			float		v = vec_half_to_float(x[i + j]);

			lanes[j] += q[i + j] * v;
			xl[j] += v * v;
			ql[j] += q[i + j] * q[i + j];
		}
	for (; i < n; i++)
	{
		float		v = vec_half_to_float(x[i]);

		tail += q[i] * v;
		xtail += v * v;
		qtail += q[i] * q[i];
	}
	*xx = vec_reduce16(xl, xtail);
	*qq = vec_reduce16(ql, qtail);
	return vec_reduce16(lanes, tail);
}

typedef float (*vec_l2_f16_kernel) (const float *q, const uint16 *x, int n, float *xx);
typedef float (*vec_dot_f16_kernel) (const float *q, const uint16 *x, int n, float *xx, float *qq);

static vec_l2_f16_kernel vec_l2sq_f16_impl = vec_l2sq_f16_portable;
static vec_dot_f16_kernel vec_dot_f16_impl = vec_dot_f16_portable;

typedef float (*vec_kernel) (const float *a, const float *b, int n);

static vec_kernel vec_l2sq_impl;
static vec_kernel vec_dot_impl;

/* pick the kernels for this CPU; called from _PG_init */
void
vec_init_kernels(void)
{
#ifdef VEC_X86
	unsigned int a,
				b,
				c,
				d;

	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
	{
		vec_l2sq_impl = vec_l2sq_avx2;
		vec_dot_impl = vec_dot_avx2;
		/* CPUID leaf 1, ECX bit 29: F16C (every AVX2 CPU has it so far) */
		if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29)) != 0)
		{
			vec_l2sq_f16_impl = vec_l2sq_f16_avx2;
			vec_dot_f16_impl = vec_dot_f16_avx2;
			vec_halves_to_floats_impl = vec_halves_to_floats_f16c;
		}
	}
	else
	{
		vec_l2sq_impl = vec_l2sq_sse;
		vec_dot_impl = vec_dot_sse;
	}
#else
	vec_l2sq_impl = vec_l2sq_portable;
	vec_dot_impl = vec_dot_portable;
#endif
}

float
vec_l2sq(const float *a, const float *b, int n)
{
	return vec_l2sq_impl(a, b, n);
}

float
vec_dot(const float *a, const float *b, int n)
{
	return vec_dot_impl(a, b, n);
}

/*
 * True if any element is NaN or +-Infinity (exponent bits all ones).  A
 * branch-free loop the compiler vectorises: the executor calls the
 * operators on every row an f16 scan returns, so this check is hot.
 */
static bool
vec_has_nonfinite(const float *v, int n)
{
	uint32		bad = 0;

	for (int i = 0; i < n; i++)
	{
		uint32		bits;

		memcpy(&bits, &v[i], sizeof(bits));
		bad |= ((bits & 0x7F800000) == 0x7F800000);
	}
	return bad != 0;
}

/*
 * Convert the elements of a query-side array of another numeric type to
 * float4, with the same errors as the element type's cast to real (22003
 * when a value is out of range for real).  Drivers send float8[]; array
 * literals are numeric[] or integer[] (their exact operators keep the
 * parser from finding two equally good candidates, see the install script).
 */
static float4 *
vec_array_to_float4(ArrayType *a, int n)
{
	Oid			elemtype = ARR_ELEMTYPE(a);
	float4	   *v = palloc(sizeof(float4) * n);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	char	   *p = ARR_DATA_PTR(a);

	/*
	 * The element types' layouts (pg_type), known here rather than looked up:
	 * the operators convert their query argument on every call.
	 */
	switch (elemtype)
	{
		case FLOAT8OID:
		case INT8OID:
			typlen = 8;
			typbyval = FLOAT8PASSBYVAL;
			typalign = TYPALIGN_DOUBLE;
			break;
		case INT4OID:
			typlen = 4;
			typbyval = true;
			typalign = TYPALIGN_INT;
			break;
		case INT2OID:
			typlen = 2;
			typbyval = true;
			typalign = TYPALIGN_SHORT;
			break;
		default:				/* NUMERICOID */
			typlen = -1;
			typbyval = false;
			typalign = TYPALIGN_INT;
			break;
	}
	for (int i = 0; i < n; i++)
	{
		Datum		d = fetch_att(p, typbyval, typlen);

		switch (elemtype)
		{
			case FLOAT8OID:
				{
					float8		x = DatumGetFloat8(d);
					float4		f = (float4) x;

					/* float8 -> real: as dtof, NaN and Infinity are caught later */
					if (unlikely(isinf(f)) && !isinf(x))
						float_overflow_error();
					if (unlikely(f == 0.0f) && x != 0.0)
						float_underflow_error();
					v[i] = f;
					break;
				}
			case NUMERICOID:
				v[i] = DatumGetFloat4(DirectFunctionCall1(numeric_float4, d));
				break;
			case INT2OID:
				v[i] = (float4) DatumGetInt16(d);
				break;
			case INT4OID:
				v[i] = (float4) DatumGetInt32(d);
				break;
			case INT8OID:
				v[i] = (float4) DatumGetInt64(d);
				break;
		}
		p = att_addlength_pointer(p, typlen, p);
		p = (char *) att_align_nominal(p, typalign);
	}
	return v;
}

/*
 * Extract the float4 values of a one-dimensional array and validate them.
 * For real[] returns a pointer into the (detoasted) array; the query side
 * of the operators also takes float8[], numeric[], smallint[], integer[] and
 * bigint[], whose values are converted into a palloc'd copy.  *dim receives
 * the length.
 */
float4 *
vec_array_values(ArrayType *a, int *dim)
{
	int			n;
	float4	   *v;
	Oid			elemtype = ARR_ELEMTYPE(a);

	if (elemtype != FLOAT4OID && elemtype != FLOAT8OID && elemtype != NUMERICOID &&
		elemtype != INT2OID && elemtype != INT4OID && elemtype != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("vector must be an array of real"),
				 errdetail("Query vectors may also be arrays of double precision, numeric, smallint, integer or bigint; this one holds %s.",
						   format_type_be(elemtype))));
	if (ARR_NDIM(a) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));
	if (ARR_NDIM(a) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("vector must be a one-dimensional array, not %d-dimensional",
						ARR_NDIM(a))));
	if (ARR_HASNULL(a) && array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("vector must not contain NULL elements")));

	n = ARR_DIMS(a)[0];
	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));

	if (elemtype == FLOAT4OID)
		v = (float4 *) ARR_DATA_PTR(a);
	else
		v = vec_array_to_float4(a, n);
	if (unlikely(vec_has_nonfinite(v, n)))
	{
		for (int i = 0; i < n; i++)
		{
			if (isnan(v[i]) || isinf(v[i]))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("vector must not contain NaN or Infinity"),
						 errdetail("Element %d is %s.", i + 1, isnan(v[i]) ? "NaN" : "Infinity")));
		}
	}
	*dim = n;
	return v;
}

void
vec_check_same_dims(int a, int b)
{
	if (a != b)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d", a, b)));
}

/*
 * Index-internal distance.  L2 is squared (monotone in the true distance);
 * cosine assumes both vectors are already L2-normalised.
 */
float
vec_distance(VecMetric metric, const float *a, const float *b, int n)
{
	switch (metric)
	{
		case VEC_METRIC_L2:
			return vec_l2sq(a, b, n);
		case VEC_METRIC_COSINE:
			return 1.0f - vec_dot(a, b, n);
		case VEC_METRIC_IP:
			return -vec_dot(a, b, n);
	}
	return 0;					/* keep compiler quiet */
}

/*
 * Distance from query q to an element's stored vector x, in index units.
 *
 * f32: the exact index distance (vec_distance).
 *
 * f16: a lower bound of the distance to the vector the row holds, so that
 * the executor, which rechecks the ORDER BY value of every row the scan
 * returns (xs_recheckorderby), can put rows in exact order.  Half precision
 * rounds each element to within 2^-11 of its magnitude (normal range) or
 * 2^-25 (subnormal range), so the stored x16 and the row's x differ by
 *		|x - x16| <= delta = 2^-11 * 1.001 * |x16| + sqrt(n) * 2^-25.
 * Hence |q - x| >= |q - x16| - delta (L2), 1 - <q,x> >= 1 - <q,x16> - delta
 * for unit vectors (cosine) and -<q,x> >= -<q,x16> - |q| * delta (inner
 * product).  VEC_FLOAT_SLACK covers float rounding in both this kernel and
 * the SQL operator the executor runs (at most a few 1e-6 relative).
 */
static double vec_dot_double(const float *a, const float *b, int n);

#define VEC_F16_REL		(1.001f / 2048.0f)
#define VEC_F16_ABS		(1.0f / 33554432.0f)
#define VEC_FLOAT_SLACK	1e-4f

/*
 * The inner-product bound for a tiny query (|q|^2 below 1e-36): in float the
 * products q[i] * x[i] and the slack |q| * delta lose their precision or
 * underflow to 0 (a subnormal query made the bound exceed the exact
 * distance: "index returned tuples in wrong order").  Everything in double,
 * then rounded down to a float.
 */
static float
vec_ip_f16_bound_double(const float *q, const uint16 *x, int n)
{
	double		dot = 0,
				xx = 0,
				qq = 0,
				b;
	float		f;

	for (int i = 0; i < n; i++)
	{
		double		xi = vec_half_to_float(x[i]);

		dot += (double) q[i] * xi;
		xx += xi * xi;
		qq += (double) q[i] * q[i];
	}
	/*
	 * The executor compares with the SQL operator's value, summed in float:
	 * each product of subnormals may be off by half the smallest subnormal,
	 * hence 2 n FLT_TRUE_MIN more.
	 */
	b = -dot - sqrt(qq) * (VEC_F16_REL * sqrt(xx) + sqrt((double) n) * VEC_F16_ABS +
						   VEC_FLOAT_SLACK * sqrt(xx)) - 2.0 * n * FLT_TRUE_MIN;
	f = (float) b;
	if ((double) f > b)
		f = nextafterf(f, -get_float4_infinity());
	return f;
}

float
vec_elem_distance(VecMetric metric, int storage, const float *q, const void *x, int n)
{
	float		xx,
				qq,
				qn,
				d,
				delta;

	if (storage != VEC_STORAGE_F16)
		return vec_distance(metric, q, (const float *) x, n);

	switch (metric)
	{
		case VEC_METRIC_L2:
			d = vec_l2sq_f16_impl(q, (const uint16 *) x, n, &xx);
			delta = VEC_F16_REL * sqrtf(xx) + sqrtf((float) n) * VEC_F16_ABS;
			d = sqrtf(d) * (1.0f - VEC_FLOAT_SLACK) - delta;
			return d > 0 ? d * d : 0;
		case VEC_METRIC_COSINE:
			d = 1.0f - vec_dot_f16_impl(q, (const uint16 *) x, n, &xx, &qq);
			delta = VEC_F16_REL * sqrtf(xx) + sqrtf((float) n) * VEC_F16_ABS;
			return d - delta - VEC_FLOAT_SLACK;
		case VEC_METRIC_IP:
			d = -vec_dot_f16_impl(q, (const uint16 *) x, n, &xx, &qq);
			if (qq < 1e-36f)
				return vec_ip_f16_bound_double(q, (const uint16 *) x, n);
			delta = VEC_F16_REL * sqrtf(xx) + sqrtf((float) n) * VEC_F16_ABS;
			qn = sqrtf(qq);
			return d - qn * (delta + VEC_FLOAT_SLACK * sqrtf(xx));
	}
	return 0;					/* keep compiler quiet */
}

/* index-internal distance -> the value the SQL operator would report */
double
vec_sql_distance(VecMetric metric, float d)
{
	if (metric == VEC_METRIC_L2)
		return sqrt((double) d);
	return (double) d;
}

/* double-precision versions for values whose float sums overflow/underflow */
static double
vec_l2sq_double(const float *a, const float *b, int n)
{
	double		s = 0;

	for (int i = 0; i < n; i++)
	{
		double		d = (double) a[i] - b[i];

		s += d * d;
	}
	return s;
}

static double
vec_dot_double(const float *a, const float *b, int n)
{
	double		s = 0;

	for (int i = 0; i < n; i++)
		s += (double) a[i] * b[i];
	return s;
}

/*
 * Prepare a vector for the index: normalise it for cosine.  Returns false if
 * the vector cannot be indexed (zero vector under cosine).  Under L2 and
 * inner product the index computes in float: for vectors a, b of norm at
 * most VEC_MAX_NORM = sqrt(FLT_MAX) / 2, |a - b|^2 <= (|a| + |b|)^2 and
 * |<a, b>| <= |a| |b| stay below FLT_MAX, and so does every partial sum of
 * the kernels.  Larger vectors (inserted, built or queried) are refused
 * rather than ordered by overflowed distances.
 */
#define VEC_MAX_NORM	9.2e18
bool
vec_prepare(VecMetric metric, float *v, int n)
{
	double		norm = sqrt(vec_dot_double(v, v, n));

	if (metric == VEC_METRIC_COSINE)
	{
		if (norm == 0)
			return false;
		for (int i = 0; i < n; i++)
			v[i] = (float) (v[i] / norm);
	}
	else if (!(norm <= VEC_MAX_NORM))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("vector is too large to be indexed"),
				 errdetail("Its L2 norm %g exceeds %g: squared distances and inner products between such vectors overflow single-precision arithmetic.",
						   norm, VEC_MAX_NORM)));
	return true;
}

/* ----------------------------------------------------- SQL-callable */

/* fetch two arguments and check they are comparable */
#define VEC_TWO_ARGS(a, b, n) \
	int			n##_b; \
	ArrayType  *a##_arr = PG_GETARG_ARRAYTYPE_P(0); \
	ArrayType  *b##_arr = PG_GETARG_ARRAYTYPE_P(1); \
	float4	   *a = vec_array_values(a##_arr, &n); \
	float4	   *b = vec_array_values(b##_arr, &n##_b); \
	vec_check_same_dims(n, n##_b)

PG_FUNCTION_INFO_V1(vecidx_l2_distance);
Datum
vecidx_l2_distance(PG_FUNCTION_ARGS)
{
	int			n;

	double		d;

	VEC_TWO_ARGS(a, b, n);
	/* the index's kernel (bit-identical ordering); double if it overflows */
	d = vec_l2sq(a, b, n);
	if (isinf(d))
		d = vec_l2sq_double(a, b, n);
	PG_RETURN_FLOAT8(sqrt(d));
}

PG_FUNCTION_INFO_V1(vecidx_cosine_distance);
Datum
vecidx_cosine_distance(PG_FUNCTION_ARGS)
{
	int			n;
	double		dot,
				na,
				nb,
				sim;

	VEC_TWO_ARGS(a, b, n);
	dot = vec_dot(a, b, n);
	na = vec_dot(a, a, n);
	nb = vec_dot(b, b, n);
	/*
	 * Float sums out of range (huge or tiny values, whose squares overflow or
	 * underflow): redo them in double.
	 */
	if (isinf(dot) || isinf(na) || isinf(nb) || na < 1e-30 || nb < 1e-30)
	{
		dot = vec_dot_double(a, b, n);
		na = vec_dot_double(a, a, n);
		nb = vec_dot_double(b, b, n);
		if (isinf(na * nb))
		{
			/* scale to keep the product finite */
			na = sqrt(na);
			nb = sqrt(nb);
			sim = (dot / na) / nb;
			goto clamp;
		}
	}

	/* a zero vector has no direction: the distance is undefined */
	if (na == 0 || nb == 0)
		PG_RETURN_FLOAT8(get_float8_nan());

	sim = dot / sqrt(na * nb);
clamp:
	/* keep rounding from leaving [-1, 1] */
	if (sim > 1)
		sim = 1;
	else if (sim < -1)
		sim = -1;
	PG_RETURN_FLOAT8(1.0 - sim);
}

PG_FUNCTION_INFO_V1(vecidx_inner_product);
Datum
vecidx_inner_product(PG_FUNCTION_ARGS)
{
	int			n;

	double		d;

	VEC_TWO_ARGS(a, b, n);
	d = vec_dot(a, b, n);
	if (isinf(d))
		d = vec_dot_double(a, b, n);
	PG_RETURN_FLOAT8(d);
}

PG_FUNCTION_INFO_V1(vecidx_negative_inner_product);
Datum
vecidx_negative_inner_product(PG_FUNCTION_ARGS)
{
	int			n;

	double		d;

	VEC_TWO_ARGS(a, b, n);
	d = vec_dot(a, b, n);
	if (isinf(d))
		d = vec_dot_double(a, b, n);
	/* 0 - d, not -d: an inner product of 0 is distance 0, not -0 */
	PG_RETURN_FLOAT8(0.0 - d);
}

PG_FUNCTION_INFO_V1(vecidx_vector_dims);
Datum
vecidx_vector_dims(PG_FUNCTION_ARGS)
{
	int			n;

	(void) vec_array_values(PG_GETARG_ARRAYTYPE_P(0), &n);
	PG_RETURN_INT32(n);
}

PG_FUNCTION_INFO_V1(vecidx_l2_normalize);
Datum
vecidx_l2_normalize(PG_FUNCTION_ARGS)
{
	int			n;
	float4	   *v = vec_array_values(PG_GETARG_ARRAYTYPE_P(0), &n);
	Datum	   *elems = palloc(n * sizeof(Datum));
	double		norm = sqrt(vec_dot_double(v, v, n));

	for (int i = 0; i < n; i++)
		elems[i] = Float4GetDatum(norm > 0 ? (float4) (v[i] / norm) : 0.0f);

	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, FLOAT4OID, sizeof(float4),
										  true, TYPALIGN_INT));
}
