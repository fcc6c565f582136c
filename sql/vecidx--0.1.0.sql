/* vecidx--0.1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION vecidx" to load this file. \quit

-- Distance functions on real[] (float4[]).  All are STRICT, IMMUTABLE and
-- PARALLEL SAFE; they reject multi-dimensional arrays, NULL elements, empty
-- arrays, NaN/Infinity and arrays of different lengths with an ERROR.

CREATE FUNCTION l2_distance(real[], real[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_l2_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION cosine_distance(real[], real[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_cosine_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION inner_product(real[], real[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION negative_inner_product(real[], real[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'vecidx_negative_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vector_dims(real[]) RETURNS integer
	AS 'MODULE_PATHNAME', 'vecidx_vector_dims'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION l2_normalize(real[]) RETURNS real[]
	AS 'MODULE_PATHNAME', 'vecidx_l2_normalize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR <-> (
	LEFTARG = real[], RIGHTARG = real[], PROCEDURE = l2_distance,
	COMMUTATOR = '<->'
);

CREATE OPERATOR <=> (
	LEFTARG = real[], RIGHTARG = real[], PROCEDURE = cosine_distance,
	COMMUTATOR = '<=>'
);

CREATE OPERATOR <#> (
	LEFTARG = real[], RIGHTARG = real[], PROCEDURE = negative_inner_product,
	COMMUTATOR = '<#>'
);

-- The access method

CREATE FUNCTION vechnsw_handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME', 'vechnsw_handler'
	LANGUAGE C;

CREATE ACCESS METHOD vechnsw TYPE INDEX HANDLER vechnsw_handler;

COMMENT ON ACCESS METHOD vechnsw IS 'HNSW graph index for approximate nearest neighbour search on real[]';

-- Debugging / inspection: one row for the whole index (counts over all its
-- element tuples).  ALTER EXTENSION ... UPDATE TO '0.2.0' replaces it with
-- the version that has four more columns.
CREATE FUNCTION vechnsw_index_stats(regclass,
	OUT pages bigint, OUT elements bigint, OUT live_elements bigint,
	OUT deleted_elements bigint, OUT heap_tids bigint, OUT max_level integer,
	OUT dimensions integer, OUT m integer, OUT ef_construction integer)
	RETURNS record
	AS 'MODULE_PATHNAME', 'vechnsw_index_stats'
	LANGUAGE C STRICT PARALLEL SAFE;

-- This backend's graph-search work since the last reset (reset => true
-- zeroes the counters after reading them).
CREATE FUNCTION vechnsw_search_counters(reset boolean DEFAULT false,
	OUT searches bigint, OUT page_reads bigint, OUT exact_distances bigint,
	OUT estimates bigint, OUT expansions bigint)
	RETURNS record
	AS 'MODULE_PATHNAME', 'vechnsw_search_counters'
	LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- RaBitQ estimator, for tests and inspection: encodes o against centroid
-- with the rotation of the given seed, prepares q, and returns the estimated
-- and exact squared L2 distance and the estimate's error bound.
CREATE FUNCTION vecidx_rabitq_debug(o real[], q real[], centroid real[], seed bigint,
	OUT estimate float8, OUT exact float8, OUT bound float8)
	RETURNS record
	AS 'MODULE_PATHNAME', 'vecidx_rabitq_debug'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Operator classes.  Support function 1 is the distance function; the index
-- recognises the three built-in ones and runs the same C kernel inline (it
-- never calls a distance function through fmgr).  Any other function is
-- refused: amvalidate reports it, and using such an opclass raises an ERROR
-- (vec_metric_for_proc).

CREATE OPERATOR CLASS real_l2_ops
	FOR TYPE real[] USING vechnsw AS
	OPERATOR 1 <-> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 l2_distance(real[], real[]);

CREATE OPERATOR CLASS real_cosine_ops
	FOR TYPE real[] USING vechnsw AS
	OPERATOR 1 <=> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 cosine_distance(real[], real[]);

CREATE OPERATOR CLASS real_ip_ops
	FOR TYPE real[] USING vechnsw AS
	OPERATOR 1 <#> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 negative_inner_product(real[], real[]);
