--
-- vector_ops: values of the distance functions and operators on real[].
-- Every number below is checked by hand; non-exact results are rounded.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vecidx;
RESET client_min_messages;

-- L2 distance: 3-4-5 triangle, sqrt(9+16+25) = sqrt(50), zero distance
SELECT l2_distance('{0,0}', '{3,4}') AS five,
       '{1,2,3}'::real[] <-> '{4,6,8}' AS sqrt50,
       '{1,2,3}'::real[] <-> '{1,2,3}' AS zero,
       '{-1,-1}'::real[] <-> '{2,3}' AS five_again;
-- sqrt(0.3^2 + 0.4^2) = 0.5 (inputs are not exact in float4, so round)
SELECT round(('{0.1,0.2}'::real[] <-> '{0.4,0.6}')::numeric, 6) AS half;
-- one dimension, negative values
SELECT '{-7.5}'::real[] <-> '{2.5}' AS ten;
-- symmetric
SELECT ('{1,5,-2}'::real[] <-> '{4,-1,0}') = ('{4,-1,0}'::real[] <-> '{1,5,-2}') AS symmetric;
-- 17 dimensions (more than one block of the unrolled kernel plus a tail):
-- differences 1..17, sum of squares = 17*18*35/6 = 1785
SELECT round((ARRAY(SELECT i::real FROM generate_series(1, 17) i)
              <-> ARRAY(SELECT 0::real FROM generate_series(1, 17)))::numeric, 6) AS sqrt1785,
       round(sqrt(1785)::numeric, 6) AS expected;
-- 3000 dimensions (no limit outside an index): 3000 * 0.5^2 = 750
SELECT ARRAY(SELECT 0.5::real FROM generate_series(1, 3000))
       <-> ARRAY(SELECT 0::real FROM generate_series(1, 3000)) AS sqrt750,
       sqrt(750::float8) AS expected;
-- int[] is coerced to real[] implicitly (int -> real is an implicit cast)
SELECT '{1,2}'::int[] <-> '{4,6}'::int[] AS five;
-- lower bound other than 1 is fine: only the values count
SELECT '[0:1]={3,4}'::real[] <-> '{0,0}' AS five;

-- cosine distance = 1 - cos(angle)
SELECT cosine_distance('{1,0}', '{0,1}') AS orthogonal,
       '{1,1}'::real[] <=> '{2,2}' AS same_direction,
       '{1,0}'::real[] <=> '{-1,0}' AS opposite,
       '{3,4}'::real[] <=> '{-3,-4}' AS opposite_again;
-- 1 - 32 / sqrt(14 * 77) = 0.0253681538...
SELECT round(('{1,2,3}'::real[] <=> '{4,5,6}')::numeric, 6) AS cos_123_456;
-- 60 degrees: 1 - 0.5
SELECT round(('{1,0}'::real[] <=> '{0.5,0.8660254}')::numeric, 6) AS half;
-- cosine is scale invariant
SELECT round(('{1,2,3}'::real[] <=> '{40,50,60}')::numeric, 6) AS scaled;
-- a zero vector has no direction: NaN, not an error
SELECT cosine_distance('{0,0}', '{1,2}') AS zero_left,
       '{1,2}'::real[] <=> '{0,0}' AS zero_right;

-- inner product and its negation (the <#> operator)
SELECT inner_product('{1,2,3}', '{4,5,6}') AS ip,
       negative_inner_product('{1,2,3}', '{4,5,6}') AS neg_ip,
       '{1,2,3}'::real[] <#> '{4,5,6}' AS op;
SELECT inner_product('{0.5,-1.5}', '{2,4}') AS minus_five,
       '{0.5,-1.5}'::real[] <#> '{2,4}' AS five,
       inner_product('{1,0}', '{0,1}') AS zero;

-- vector_dims
SELECT vector_dims('{1,2,3}') AS three,
       vector_dims('{42}') AS one,
       vector_dims(ARRAY(SELECT 1::real FROM generate_series(1, 2001))) AS d2001;

-- l2_normalize: unit length, same direction; the zero vector stays zero
SELECT l2_normalize('{3,4}') AS three_four,
       l2_normalize('{0,-2}') AS down,
       l2_normalize('{0,0}') AS zero;
SELECT round((l2_normalize('{1,2,3,4,5}') <-> '{0,0,0,0,0}')::numeric, 6) AS unit_norm,
       round((l2_normalize('{1,2,3,4,5}') <=> '{1,2,3,4,5}')::numeric, 6) AS same_direction;

-- STRICT: NULL in, NULL out
SELECT '{1,2}'::real[] <-> NULL IS NULL AS l2_null,
       NULL <=> '{1,2}'::real[] IS NULL AS cos_null,
       inner_product(NULL, '{1}') IS NULL AS ip_null,
       vector_dims(NULL) IS NULL AS dims_null,
       l2_normalize(NULL) IS NULL AS norm_null;

-- operators on table columns; ORDER BY the operators (no index here)
CREATE TABLE vo_items (id int, v real[]);
INSERT INTO vo_items VALUES (1, '{1,0}'), (2, '{0,2}'), (3, '{-3,0}'), (4, '{1,1}'), (5, NULL);
-- (id 2: an inner product of 0 gives <#> = 0, not IEEE -0)
SELECT id, v <-> '{0,0}' AS l2, v <=> '{1,0}' AS cos, v <#> '{1,0}' AS nip
FROM vo_items ORDER BY id;
SELECT id FROM vo_items ORDER BY v <-> '{1,0.9}', id;
SELECT id FROM vo_items ORDER BY v <#> '{1,1}', id;
DROP TABLE vo_items;

-- the functions' properties as declared
SELECT proname, provolatile, proisstrict, proparallel
FROM pg_proc
WHERE proname IN ('l2_distance', 'cosine_distance', 'inner_product',
                  'negative_inner_product', 'vector_dims', 'l2_normalize')
ORDER BY proname;
SELECT oprname, oprcode::regproc, oprcom::regoper
FROM pg_operator WHERE oprname IN ('<->', '<=>', '<#>') AND oprleft = 'real[]'::regtype
	AND oprright = 'real[]'::regtype
ORDER BY oprname;
-- each also takes query vectors of five other numeric array types (0.3.0)
SELECT oprname, string_agg(oprright::regtype::text, ', ' ORDER BY oprright::regtype::text) AS query_types
FROM pg_operator WHERE oprname IN ('<->', '<=>', '<#>') AND oprleft = 'real[]'::regtype
	AND oprright <> 'real[]'::regtype
GROUP BY oprname ORDER BY oprname;

-- vecidx_rabitq_debug(o, q, centroid, seed): the RaBitQ estimate of the
-- squared L2 distance between o and q (o encoded against the centroid with
-- the rotation of the seed), the exact squared distance and the estimate's
-- error bound.  |{1,2,3,4} - {0,1,0,1}|^2 = 1 + 1 + 9 + 9 = 20.
SELECT exact, bound > 0 AS has_bound, abs(estimate - exact) <= bound AS within_bound
FROM vecidx_rabitq_debug('{1,2,3,4}', '{0,1,0,1}', '{0,0,0,0}', 42);
-- o at the centroid: nothing to estimate
SELECT * FROM vecidx_rabitq_debug('{1,2,3}', '{1,2,3}', '{1,2,3}', 1);
-- 500 random pairs of 64-d vectors: the exact value is the squared <->, and
-- the estimate is within its bound for (nearly) all of them
SELECT setseed(0.1);
WITH pairs AS (
	SELECT i, ARRAY(SELECT random()::real FROM generate_series(1, 64) WHERE i > 0) AS o,
	       ARRAY(SELECT random()::real FROM generate_series(1, 64) WHERE i > 0) AS q
	FROM generate_series(1, 500) i)
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE abs(d.exact - (o <-> q) ^ 2) <= 1e-5 * d.exact) AS exact_is_l2_squared,
       count(*) FILTER (WHERE abs(d.estimate - d.exact) <= d.bound) >= 475 AS within_bound_95pct
FROM pairs, vecidx_rabitq_debug(o, q, ARRAY(SELECT 0.5::real FROM generate_series(1, 64)), i) d;

-- Finite values whose single-precision sums overflow or underflow: the
-- functions fall back to double precision and stay right.
SELECT '{1e20}'::real[] <-> '{0}' AS l2_huge,
       inner_product('{1e20}', '{1e20}') AS ip_huge,
       round(cosine_distance('{1e20,1e20}', '{1e20,0}')::numeric, 6) AS cos_huge,
       round(cosine_distance('{1e-30,0}', '{1e-30,1e-30}')::numeric, 6) AS cos_tiny,
       l2_normalize('{1e20,1e20}') AS norm_huge,
       l2_normalize('{1e-30,0}') AS norm_tiny;
-- the index refuses vectors whose norm would overflow its float4 arithmetic
-- (above 9.2e18: squared distances between two such vectors pass FLT_MAX),
-- inserted or queried; below that bound it orders them exactly
CREATE TEMP TABLE huge (id int, v real[]);
CREATE INDEX ON huge USING vechnsw (v real_l2_ops);
INSERT INTO huge VALUES (0, '{1e20,1}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO huge VALUES (0, '{7e18,7e18}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO huge SELECT i, ARRAY[(i % 13 - 6) * 1e18, (i % 7 - 3) * 2e18]::real[]
FROM generate_series(1, 60) i;
-- distances (in units of 1e18) in the order the index scan returns them,
-- then the exact five nearest
SET enable_seqscan = off;
SELECT array_agg(round((d / 1e18)::numeric, 3) ORDER BY n) AS index_order FROM (
  SELECT d, row_number() OVER () AS n FROM (
    SELECT v <-> '{-6e18,6e18}' AS d FROM huge ORDER BY v <-> '{-6e18,6e18}' LIMIT 5) a) b;
SELECT id FROM huge ORDER BY v <-> '{-7e18,7e18}' LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT array_agg(round((d / 1e18)::numeric, 3) ORDER BY d) AS exact_order FROM (
  SELECT v <-> '{-6e18,6e18}' AS d FROM huge ORDER BY d LIMIT 5) a;
RESET enable_indexscan;
DELETE FROM huge;
-- an f16 inner-product index queried with subnormal vectors: the scan's
-- lower bounds are computed in double (in float the slack underflows), so
-- the executor's recheck finds them below the exact distances, and the rows
-- come in exact order (distances as returned, then the exact five)
CREATE TEMP TABLE sub (id int, v real[]);
INSERT INTO sub SELECT i, ARRAY(SELECT (sin(i * 7 + j) * 100)::real FROM generate_series(1, 16) j)
FROM generate_series(1, 500) i;
CREATE INDEX ON sub USING vechnsw (v real_ip_ops) WITH (storage = f16);
SET enable_seqscan = off;
SELECT array_agg(round((d * 1e40)::numeric, 4) ORDER BY n) AS index_order FROM (
  SELECT d, row_number() OVER () AS n FROM (
    SELECT v <#> '{1e-42,-3e-42,2e-41,0,0,0,0,0,0,0,0,0,0,0,0,1e-40}' AS d FROM sub
    ORDER BY v <#> '{1e-42,-3e-42,2e-41,0,0,0,0,0,0,0,0,0,0,0,0,1e-40}' LIMIT 5) a) b;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT array_agg(round((d * 1e40)::numeric, 4) ORDER BY d) AS exact_order FROM (
  SELECT v <#> '{1e-42,-3e-42,2e-41,0,0,0,0,0,0,0,0,0,0,0,0,1e-40}' AS d FROM sub
  ORDER BY d LIMIT 5) a;
RESET enable_indexscan;
DROP TABLE sub;
-- ... but as a cosine index it stores the direction
CREATE INDEX ON huge USING vechnsw (v real_cosine_ops);
DROP INDEX huge_v_idx;
INSERT INTO huge VALUES (0, '{1e20,1}');
SELECT count(*) FROM huge;
