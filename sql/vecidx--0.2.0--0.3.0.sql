/* vecidx--0.2.0--0.3.0.sql: query vectors of other numeric array types, a default operator class */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION vecidx UPDATE TO '0.3.0'" to load this file. \quit

-- Query vectors of other numeric array types.  Drivers send float8[]
-- (double precision[]); array literals such as ARRAY[0.1, 0.2] are
-- numeric[] and ARRAY[1, 2] integer[].  The operators <->, <=> and <#> take
-- them on their right (query) side, converted to real with the element
-- type's own cast errors, and they are in the operator families, so that
-- ORDER BY col <op> query still uses the index.  Every type that casts
-- implicitly to real[] gets its own exact variant: with a float8[] variant
-- alone, ARRAY[0.1, 0.2] (numeric[]) would cast implicitly to both real[]
-- and float8[], and the parser would refuse the operator as not unique.
-- An operator between two untyped literals ('{1,2}' <-> '{3,4}') needs a
-- cast on one side (it did before: the geometric types have <-> too).  The
-- plain functions
-- (l2_distance, ...) keep their one real[] signature, so that calls with
-- untyped literals still resolve; the operators' cross-type variants call
-- the same C functions under the names vecidx_l2_distance,
-- vecidx_cosine_distance and vecidx_negative_inner_product.  The left
-- (indexed) side stays real[].

-- Planner support for the distance functions (src/hnswcost.c): the cost of
-- a call grows with the vector's dimensions and, for a column stored out of
-- line or compressed, includes de-TOASTing it, so that a sequential scan
-- computing the distance of every row is not costed as one comparison a row.
CREATE FUNCTION vecidx_distance_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'vecidx_distance_support'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
ALTER FUNCTION l2_distance(real[], real[]) SUPPORT vecidx_distance_support;
ALTER FUNCTION cosine_distance(real[], real[]) SUPPORT vecidx_distance_support;
ALTER FUNCTION inner_product(real[], real[]) SUPPORT vecidx_distance_support;
ALTER FUNCTION negative_inner_product(real[], real[]) SUPPORT vecidx_distance_support;

-- right side double precision[]
CREATE FUNCTION vecidx_l2_distance(real[], double precision[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_l2_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE FUNCTION vecidx_cosine_distance(real[], double precision[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_cosine_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE FUNCTION vecidx_negative_inner_product(real[], double precision[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_negative_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE OPERATOR <-> (LEFTARG = real[], RIGHTARG = double precision[], PROCEDURE = vecidx_l2_distance);
CREATE OPERATOR <=> (LEFTARG = real[], RIGHTARG = double precision[], PROCEDURE = vecidx_cosine_distance);
CREATE OPERATOR <#> (LEFTARG = real[], RIGHTARG = double precision[], PROCEDURE = vecidx_negative_inner_product);

-- right side numeric[]
CREATE FUNCTION vecidx_l2_distance(real[], numeric[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_l2_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE FUNCTION vecidx_cosine_distance(real[], numeric[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_cosine_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE FUNCTION vecidx_negative_inner_product(real[], numeric[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_negative_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE OPERATOR <-> (LEFTARG = real[], RIGHTARG = numeric[], PROCEDURE = vecidx_l2_distance);
CREATE OPERATOR <=> (LEFTARG = real[], RIGHTARG = numeric[], PROCEDURE = vecidx_cosine_distance);
CREATE OPERATOR <#> (LEFTARG = real[], RIGHTARG = numeric[], PROCEDURE = vecidx_negative_inner_product);

-- right side smallint[]
CREATE FUNCTION vecidx_l2_distance(real[], smallint[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_l2_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE FUNCTION vecidx_cosine_distance(real[], smallint[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_cosine_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE FUNCTION vecidx_negative_inner_product(real[], smallint[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_negative_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE OPERATOR <-> (LEFTARG = real[], RIGHTARG = smallint[], PROCEDURE = vecidx_l2_distance);
CREATE OPERATOR <=> (LEFTARG = real[], RIGHTARG = smallint[], PROCEDURE = vecidx_cosine_distance);
CREATE OPERATOR <#> (LEFTARG = real[], RIGHTARG = smallint[], PROCEDURE = vecidx_negative_inner_product);

-- right side integer[]
CREATE FUNCTION vecidx_l2_distance(real[], integer[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_l2_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE FUNCTION vecidx_cosine_distance(real[], integer[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_cosine_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE FUNCTION vecidx_negative_inner_product(real[], integer[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_negative_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE OPERATOR <-> (LEFTARG = real[], RIGHTARG = integer[], PROCEDURE = vecidx_l2_distance);
CREATE OPERATOR <=> (LEFTARG = real[], RIGHTARG = integer[], PROCEDURE = vecidx_cosine_distance);
CREATE OPERATOR <#> (LEFTARG = real[], RIGHTARG = integer[], PROCEDURE = vecidx_negative_inner_product);

-- right side bigint[]
CREATE FUNCTION vecidx_l2_distance(real[], bigint[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_l2_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE FUNCTION vecidx_cosine_distance(real[], bigint[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_cosine_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE FUNCTION vecidx_negative_inner_product(real[], bigint[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_negative_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SUPPORT vecidx_distance_support;
CREATE OPERATOR <-> (LEFTARG = real[], RIGHTARG = bigint[], PROCEDURE = vecidx_l2_distance);
CREATE OPERATOR <=> (LEFTARG = real[], RIGHTARG = bigint[], PROCEDURE = vecidx_cosine_distance);
CREATE OPERATOR <#> (LEFTARG = real[], RIGHTARG = bigint[], PROCEDURE = vecidx_negative_inner_product);

-- the cross-type operators in the operator families: the index serves them
ALTER OPERATOR FAMILY real_l2_ops USING vechnsw ADD
	OPERATOR 1 <-> (real[], double precision[]) FOR ORDER BY float_ops,
	OPERATOR 1 <-> (real[], numeric[]) FOR ORDER BY float_ops,
	OPERATOR 1 <-> (real[], smallint[]) FOR ORDER BY float_ops,
	OPERATOR 1 <-> (real[], integer[]) FOR ORDER BY float_ops,
	OPERATOR 1 <-> (real[], bigint[]) FOR ORDER BY float_ops;
ALTER OPERATOR FAMILY real_cosine_ops USING vechnsw ADD
	OPERATOR 1 <=> (real[], double precision[]) FOR ORDER BY float_ops,
	OPERATOR 1 <=> (real[], numeric[]) FOR ORDER BY float_ops,
	OPERATOR 1 <=> (real[], smallint[]) FOR ORDER BY float_ops,
	OPERATOR 1 <=> (real[], integer[]) FOR ORDER BY float_ops,
	OPERATOR 1 <=> (real[], bigint[]) FOR ORDER BY float_ops;
ALTER OPERATOR FAMILY real_ip_ops USING vechnsw ADD
	OPERATOR 1 <#> (real[], double precision[]) FOR ORDER BY float_ops,
	OPERATOR 1 <#> (real[], numeric[]) FOR ORDER BY float_ops,
	OPERATOR 1 <#> (real[], smallint[]) FOR ORDER BY float_ops,
	OPERATOR 1 <#> (real[], integer[]) FOR ORDER BY float_ops,
	OPERATOR 1 <#> (real[], bigint[]) FOR ORDER BY float_ops;

-- real_l2_ops becomes the default operator class for real[], so that
-- CREATE INDEX ... USING vechnsw (embedding) works without naming one.
-- CREATE OPERATOR CLASS cannot change an existing class into the default and
-- the class cannot be dropped while indexes use it, so the catalog row is
-- updated in place (the script runs as the superuser who updates the
-- extension; the update invalidates the cached row like any catalog update).
UPDATE pg_catalog.pg_opclass SET opcdefault = true
WHERE opcname = 'real_l2_ops'
	AND opcnamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n
						JOIN pg_catalog.pg_extension e ON e.extnamespace = n.oid
						WHERE e.extname = 'vecidx')
	AND opcmethod = (SELECT oid FROM pg_catalog.pg_am WHERE amname = 'vechnsw');
