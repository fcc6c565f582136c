/*-------------------------------------------------------------------------
 *
 * distance.c
 *	  Distance kernels and the SQL-callable functions on real[].
 *
 * The kernels keep 16 independent partial sums so that GCC/Clang vectorise
 * them at -O3 without -ffast-math: the order of additions is fixed, hence
 * every caller (index build, insert, scan and the SQL operators) gets
 * bit-identical results on one machine.  On x86-64 an AVX2 clone is picked
 * at load time when the CPU has it (target_clones), SSE2 otherwise.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "vecidx.h"

#define VEC_LANES 16

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define VEC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VEC_CLONES
#endif

/*
 * Extract the float4 values of a one-dimensional real[] and validate them.
 * Returns a pointer into the (detoasted) array; *dim receives the length.
 */
float4 *
vec_array_values(ArrayType *a, int *dim)
{
	int			n;
	float4	   *v;

	if (ARR_ELEMTYPE(a) != FLOAT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("vector must be an array of real")));
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

	v = (float4 *) ARR_DATA_PTR(a);
	for (int i = 0; i < n; i++)
	{
		if (unlikely(isnan(v[i]) || isinf(v[i])))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("vector must not contain NaN or Infinity"),
					 errdetail("Element %d is %s.", i + 1, isnan(v[i]) ? "NaN" : "Infinity")));
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

/* ---------------------------------------------------------------- kernels */

VEC_CLONES float
vec_l2sq(const float *a, const float *b, int n)
{
	float		acc[VEC_LANES] = {0};
	float		s = 0;
	int			i = 0;

	for (; i + VEC_LANES <= n; i += VEC_LANES)
	{
		for (int j = 0; j < VEC_LANES; j++)
		{
			float		d = a[i + j] - b[i + j];

			acc[j] += d * d;
		}
	}
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		s += d * d;
	}
	for (int j = 0; j < VEC_LANES; j++)
		s += acc[j];
	return s;
}

VEC_CLONES float
vec_dot(const float *a, const float *b, int n)
{
	float		acc[VEC_LANES] = {0};
	float		s = 0;
	int			i = 0;

	for (; i + VEC_LANES <= n; i += VEC_LANES)
	{
		for (int j = 0; j < VEC_LANES; j++)
			acc[j] += a[i + j] * b[i + j];
	}
	for (; i < n; i++)
		s += a[i] * b[i];
	for (int j = 0; j < VEC_LANES; j++)
		s += acc[j];
	return s;
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

/* index-internal distance -> the value the SQL operator would report */
double
vec_sql_distance(VecMetric metric, float d)
{
	if (metric == VEC_METRIC_L2)
		return sqrt((double) d);
	return (double) d;
}

/*
 * Prepare a vector for the index: normalise it for cosine.  Returns false if
 * the vector cannot be indexed (zero vector under cosine).
 */
bool
vec_prepare(VecMetric metric, float *v, int n)
{
	if (metric == VEC_METRIC_COSINE)
	{
		double		norm = sqrt((double) vec_dot(v, v, n));

		if (norm == 0)
			return false;
		for (int i = 0; i < n; i++)
			v[i] = (float) (v[i] / norm);
	}
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

	VEC_TWO_ARGS(a, b, n);
	PG_RETURN_FLOAT8(sqrt((double) vec_l2sq(a, b, n)));
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

	/* a zero vector has no direction: the distance is undefined */
	if (na == 0 || nb == 0)
		PG_RETURN_FLOAT8(get_float8_nan());

	sim = dot / sqrt(na * nb);
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

	VEC_TWO_ARGS(a, b, n);
	PG_RETURN_FLOAT8((double) vec_dot(a, b, n));
}

PG_FUNCTION_INFO_V1(vecidx_negative_inner_product);
Datum
vecidx_negative_inner_product(PG_FUNCTION_ARGS)
{
	int			n;

	VEC_TWO_ARGS(a, b, n);
	PG_RETURN_FLOAT8(-(double) vec_dot(a, b, n));
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
	double		norm = sqrt((double) vec_dot(v, v, n));

	for (int i = 0; i < n; i++)
		elems[i] = Float4GetDatum(norm > 0 ? (float4) (v[i] / norm) : 0.0f);

	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, FLOAT4OID, sizeof(float4),
										  true, TYPALIGN_INT));
}
