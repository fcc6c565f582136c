--
-- input_errors: every rejected input, with its SQLSTATE.
--
-- pg_temp.err(query) runs the query and returns 'SQLSTATE: message (detail)'
-- of the error it raises, or 'no error'.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vecidx;
RESET client_min_messages;

CREATE FUNCTION pg_temp.err(query text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	st text;
	msg text;
	det text;
BEGIN
	EXECUTE query;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
	RETURN st || ': ' || msg || CASE WHEN det <> '' THEN ' (' || det || ')' ELSE '' END;
END
$f$;

-- Shown once the ordinary way, so the statement-level error is visible too.
\set VERBOSITY default
SELECT l2_distance('{1,2}', '{1,2,3}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Bad vectors, for every function (first and second argument).
SELECT q, pg_temp.err(q) AS result FROM (VALUES
	-- dimensions differ: the message names both
	($$SELECT l2_distance('{1,2}', '{1,2,3}')$$),
	($$SELECT '{1,2,3}'::real[] <-> '{1,2}'$$),
	($$SELECT cosine_distance('{1}', '{1,2}')$$),
	($$SELECT '{1,2}'::real[] <=> '{1,2,3,4}'$$),
	($$SELECT inner_product('{1,2}', '{1}')$$),
	($$SELECT negative_inner_product('{1,2,3}', '{1,2}')$$),
	($$SELECT '{1}'::real[] <#> '{1,2}'$$),
	-- NULL elements
	($$SELECT l2_distance('{1,NULL}', '{1,2}')$$),
	($$SELECT l2_distance('{1,2}', '{NULL,2}')$$),
	($$SELECT cosine_distance('{NULL}', '{1}')$$),
	($$SELECT inner_product('{1,2}', '{1,NULL}')$$),
	($$SELECT '{NULL,NULL}'::real[] <#> '{1,2}'$$),
	($$SELECT vector_dims('{1,NULL,3}')$$),
	($$SELECT l2_normalize('{NULL,1}')$$),
	-- multi-dimensional arrays
	($$SELECT l2_distance('{{1,2},{3,4}}', '{1,2,3,4}')$$),
	($$SELECT '{1,2}'::real[] <=> '{{1,2}}'$$),
	($$SELECT inner_product('{{{1}}}', '{{{1}}}')$$),
	($$SELECT vector_dims('{{1,2},{3,4}}')$$),
	($$SELECT l2_normalize('{{3,4}}')$$),
	-- NaN and infinities
	($$SELECT l2_distance('{NaN,1}', '{1,1}')$$),
	($$SELECT l2_distance('{1,1}', '{1,Infinity}')$$),
	($$SELECT cosine_distance('{-Infinity}', '{1}')$$),
	($$SELECT '{1,2}'::real[] <#> '{NaN,NaN}'$$),
	($$SELECT negative_inner_product('{Infinity}', '{1}')$$),
	($$SELECT vector_dims('{1,2,NaN}')$$),
	($$SELECT l2_normalize('{Infinity,0}')$$),
	-- empty arrays
	($$SELECT l2_distance('{}', '{}')$$),
	($$SELECT '{1}'::real[] <-> '{}'$$),
	($$SELECT cosine_distance('{}', '{1}')$$),
	($$SELECT inner_product('{1}', '{}')$$),
	($$SELECT vector_dims('{}')$$),
	($$SELECT l2_normalize('{}')$$),
	-- float8[] needs an explicit cast to real[] (int[] is coerced implicitly,
	-- as int -> real is an implicit cast; see vector_ops)
	($$SELECT l2_distance('{1,2}'::float8[], '{1,2}'::float8[])$$),
	($$SELECT '{1,2}'::float8[] <-> '{1,2}'::float8[]$$)
) AS t(q);

-- An index with storage = f32 (the default) takes vectors of up to 2000
-- dimensions, one with storage = f16 up to 4000.
CREATE TABLE ie_wide (id int, v real[]);
INSERT INTO ie_wide VALUES (1, ARRAY(SELECT 1::real FROM generate_series(1, 2001)));
SELECT pg_temp.err($$CREATE INDEX ie_wide_idx ON ie_wide USING vechnsw (v real_l2_ops)$$) AS build_2001;
TRUNCATE ie_wide;
INSERT INTO ie_wide VALUES (1, ARRAY(SELECT (i % 7)::real FROM generate_series(1, 2000) i));
-- 2000 dimensions work, for build and insert
CREATE INDEX ie_wide_idx ON ie_wide USING vechnsw (v real_l2_ops);
INSERT INTO ie_wide VALUES (2, ARRAY(SELECT (i % 5)::real FROM generate_series(1, 2000) i));
SELECT pg_temp.err($$INSERT INTO ie_wide VALUES (3, ARRAY(SELECT 1::real FROM generate_series(1, 2001)))$$) AS insert_2001;
SET enable_seqscan = off;
SELECT id FROM ie_wide ORDER BY v <-> ARRAY(SELECT (i % 5)::real FROM generate_series(1, 2000) i) LIMIT 2;
RESET enable_seqscan;
SELECT dimensions, heap_tids FROM vechnsw_index_stats('ie_wide_idx');
DROP TABLE ie_wide;
-- f16: 4000 dimensions for build, insert and scan; 4001 refused
CREATE TABLE ie_wide16 (id int, v real[]);
INSERT INTO ie_wide16 SELECT j, ARRAY(SELECT ((i * j) % 7)::real FROM generate_series(1, 4000) i)
FROM generate_series(1, 20) j;
CREATE INDEX ie_wide16_idx ON ie_wide16 USING vechnsw (v real_l2_ops) WITH (storage = f16);
INSERT INTO ie_wide16 VALUES (21, ARRAY(SELECT (i % 3)::real FROM generate_series(1, 4000) i));
SET enable_seqscan = off;
SELECT id FROM ie_wide16 ORDER BY v <-> ARRAY(SELECT (i % 3)::real FROM generate_series(1, 4000) i) LIMIT 1;
RESET enable_seqscan;
SELECT dimensions, heap_tids FROM vechnsw_index_stats('ie_wide16_idx');
SELECT pg_temp.err($$INSERT INTO ie_wide16 VALUES (22, ARRAY(SELECT 1::real FROM generate_series(1, 4001)))$$) AS insert_4001;
DROP INDEX ie_wide16_idx;
TRUNCATE ie_wide16;
INSERT INTO ie_wide16 VALUES (1, ARRAY(SELECT 1::real FROM generate_series(1, 4001)));
SELECT pg_temp.err($$CREATE INDEX ie_wide16_idx2 ON ie_wide16 USING vechnsw (v real_l2_ops) WITH (storage = f16)$$) AS build_4001;
DROP TABLE ie_wide16;

-- Bad vectors in an index build, in an insert into an index, and as the
-- query vector of an index scan.  A plain real[] column accepts anything; the
-- index build fails on the first bad row.
CREATE TABLE ie_build (id int, v real[]);
CREATE FUNCTION pg_temp.build_with(bad text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	r text;
BEGIN
	TRUNCATE ie_build;
	INSERT INTO ie_build VALUES (1, '{1,2,3}'), (2, '{4,5,6}'), (3, NULL);
	EXECUTE format('INSERT INTO ie_build VALUES (4, %L)', bad);
	r := pg_temp.err('CREATE INDEX ie_build_idx ON ie_build USING vechnsw (v real_l2_ops)');
	IF to_regclass('ie_build_idx') IS NOT NULL THEN
		DROP INDEX ie_build_idx;
	END IF;
	RETURN r;
END
$f$;
SELECT bad, pg_temp.build_with(bad) AS build_result
FROM (VALUES ('{1,2}'), ('{1,2,3,4}'), ('{1,NULL,3}'), ('{{1,2,3}}'), ('{1,NaN,3}'),
             ('{1,2,-Infinity}'), ('{}'), ('{7,8,9}')) AS t(bad);
DROP TABLE ie_build;

CREATE TABLE ie_items (id int, v real[]);
INSERT INTO ie_items VALUES (1, '{1,2,3}'), (2, '{4,5,6}'), (3, NULL);
CREATE INDEX ie_items_idx ON ie_items USING vechnsw (v real_l2_ops);
SELECT q, pg_temp.err(q) AS result FROM (VALUES
	($$INSERT INTO ie_items VALUES (10, '{1,2}')$$),
	($$INSERT INTO ie_items VALUES (11, '{1,2,3,4}')$$),
	($$INSERT INTO ie_items VALUES (12, '{1,NULL,3}')$$),
	($$INSERT INTO ie_items VALUES (13, '{{1,2,3}}')$$),
	($$INSERT INTO ie_items VALUES (14, '{1,NaN,3}')$$),
	($$INSERT INTO ie_items VALUES (15, '{Infinity,2,3}')$$),
	($$INSERT INTO ie_items VALUES (16, '{}')$$),
	($$UPDATE ie_items SET v = '{1,2}' WHERE id = 1$$),
	-- a NULL vector is fine (not indexed)
	($$INSERT INTO ie_items VALUES (17, NULL)$$),
	($$INSERT INTO ie_items VALUES (18, '{7,8,9}')$$)
) AS t(q);
SELECT id, v FROM ie_items ORDER BY id;
-- the query vector of an index scan is checked too
SET enable_seqscan = off;
SELECT q, pg_temp.err(q) AS result FROM (VALUES
	($$SELECT id FROM ie_items ORDER BY v <-> '{1,2}' LIMIT 1$$),
	($$SELECT id FROM ie_items ORDER BY v <-> '{1,2,3,4}' LIMIT 1$$),
	($$SELECT id FROM ie_items ORDER BY v <-> '{1,NULL,3}' LIMIT 1$$),
	($$SELECT id FROM ie_items ORDER BY v <-> '{{1,2,3}}' LIMIT 1$$),
	($$SELECT id FROM ie_items ORDER BY v <-> '{NaN,2,3}' LIMIT 1$$),
	($$SELECT id FROM ie_items ORDER BY v <-> '{}' LIMIT 1$$),
	($$SELECT id FROM ie_items ORDER BY v <-> '{1,2,3}' LIMIT 1$$)
) AS t(q);
EXPLAIN (COSTS OFF) SELECT id FROM ie_items ORDER BY v <-> '{1,2}' LIMIT 1;
RESET enable_seqscan;
DROP TABLE ie_items;

-- Reloptions: m in 2..100, ef_construction in 4..1000, bits in 0..1.  (PostgreSQL rounds a
-- fractional value for an integer option: m = 1.4 is m = 1.)
CREATE TABLE ie_opts (id int, v real[]);
INSERT INTO ie_opts SELECT i, ARRAY[i, i % 3]::real[] FROM generate_series(1, 20) i;
SELECT opts, pg_temp.err(format('CREATE INDEX ie_opts_idx ON ie_opts USING vechnsw (v real_l2_ops) WITH (%s)', opts)) AS result
FROM (VALUES ('m = 1'), ('m = 101'), ('m = 0'), ('m = -5'), ('ef_construction = 3'),
             ('ef_construction = 1001'), ('m = ''abc'''), ('m = 1.4'), ('foo = 1'),
             ('m = 16, ef_construction = 0'), ('bits = 2'), ('bits = -1')) AS t(opts);
-- the boundaries are accepted
CREATE INDEX ie_opts_a ON ie_opts USING vechnsw (v real_l2_ops) WITH (m = 2, ef_construction = 4);
CREATE INDEX ie_opts_b ON ie_opts USING vechnsw (v real_l2_ops) WITH (m = 100, ef_construction = 1000, bits = 0);
SELECT m, ef_construction, heap_tids FROM vechnsw_index_stats('ie_opts_a');
SELECT m, ef_construction, heap_tids FROM vechnsw_index_stats('ie_opts_b');
SELECT relname, reloptions FROM pg_class WHERE relname IN ('ie_opts_a', 'ie_opts_b') ORDER BY relname;
SELECT pg_temp.err($$ALTER INDEX ie_opts_a SET (m = 101)$$) AS alter_m_101;

-- Index definitions the access method does not support.
SELECT q, pg_temp.err(q) AS result FROM (VALUES
	($$CREATE INDEX ON ie_opts USING vechnsw ((v::float8[]))$$),
	($$CREATE INDEX ON ie_opts USING vechnsw (id)$$),
	($$CREATE INDEX ON ie_opts USING vechnsw (v real_l2_ops, v real_cosine_ops)$$),
	($$CREATE UNIQUE INDEX ON ie_opts USING vechnsw (v real_l2_ops)$$),
	($$CREATE INDEX ON ie_opts USING vechnsw (v real_l2_ops) INCLUDE (id)$$),
	($$CLUSTER ie_opts USING ie_opts_a$$),
	($$SELECT * FROM vechnsw_index_stats('ie_opts')$$),
	($$SELECT * FROM vechnsw_index_stats('pg_class_oid_index')$$)
) AS t(q);
DROP TABLE ie_opts;

-- An operator class whose support function is not one of the three built-in
-- distance functions is refused when an index is built with it.
CREATE OPERATOR CLASS ie_bad_ops FOR TYPE real[] USING vechnsw AS
	OPERATOR 1 <-> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 inner_product(real[], real[]);
CREATE TABLE ie_bad (v real[]);
INSERT INTO ie_bad VALUES ('{1,2}');
SELECT pg_temp.err($$CREATE INDEX ON ie_bad USING vechnsw (v ie_bad_ops)$$) AS bad_opclass;
DROP TABLE ie_bad;
DROP OPERATOR CLASS ie_bad_ops USING vechnsw;

-- The GUCs: ef_search 1..1000, search_mode rabitq | exact, rabitq_slack 0..1.  (Call a function first so the library is
-- loaded and the GUC defined, whatever test ran before in this session.)
SELECT vector_dims('{1}') AS loaded;
SHOW vechnsw.ef_search;
SELECT q, pg_temp.err(q) AS result FROM (VALUES
	($$SET vechnsw.ef_search = 0$$),
	($$SET vechnsw.ef_search = 1001$$),
	($$SET vechnsw.ef_search = -1$$),
	($$SET vechnsw.ef_search = 'many'$$),
	($$SET vechnsw.no_such_setting = 1$$),
	($$SET vechnsw.ef_search = 1$$),
	($$SET vechnsw.ef_search = 1000$$),
	($$SET vechnsw.search_mode = 'fast'$$),
	($$SET vechnsw.search_mode = 1$$),
	($$SET vechnsw.search_mode = exact$$),
	($$SET vechnsw.rabitq_slack = 1.5$$),
	($$SET vechnsw.rabitq_slack = -0.1$$),
	($$SET vechnsw.rabitq_slack = 'some'$$),
	($$SET vechnsw.rabitq_slack = 0$$),
	($$SET vechnsw.rabitq_slack = 1$$)
) AS t(q);
SHOW vechnsw.ef_search;
SHOW vechnsw.search_mode;
SHOW vechnsw.rabitq_slack;
RESET vechnsw.ef_search;
RESET vechnsw.search_mode;
RESET vechnsw.rabitq_slack;
SHOW vechnsw.ef_search;
SHOW vechnsw.search_mode;
SHOW vechnsw.rabitq_slack;

-- vecidx_rabitq_debug checks its vectors like the distance functions.
SELECT q, pg_temp.err(q) AS result FROM (VALUES
	($$SELECT * FROM vecidx_rabitq_debug('{1,2,3}', '{1,2}', '{0,0,0}', 1)$$),
	($$SELECT * FROM vecidx_rabitq_debug('{1,2,3}', '{1,2,3}', '{0,0}', 1)$$),
	($$SELECT * FROM vecidx_rabitq_debug('{1,NaN,3}', '{1,2,3}', '{0,0,0}', 1)$$),
	($$SELECT * FROM vecidx_rabitq_debug('{1,2,3}', '{1,NULL,3}', '{0,0,0}', 1)$$),
	($$SELECT * FROM vecidx_rabitq_debug('{}', '{}', '{}', 1)$$)
) AS t(q);

-- An element whose tuple cannot fit a page (1,960 f32 dimensions with RaBitQ
-- codes: the vector and the code pass 8,160 bytes) is refused with 54000
-- and the sizes, at insert and at build, before anything is written.
CREATE TEMP TABLE wide (v real[]);
CREATE INDEX wide_idx ON wide USING vechnsw (v real_l2_ops) WITH (bits = 1, m = 8);
INSERT INTO wide SELECT array_fill(1::real, ARRAY[1960]);
\echo :LAST_ERROR_SQLSTATE
SELECT elements FROM vechnsw_index_stats('wide_idx');
-- 1,900 dimensions fit
INSERT INTO wide SELECT array_fill(1::real, ARRAY[1900]);
SELECT elements FROM vechnsw_index_stats('wide_idx');
DROP INDEX wide_idx;
TRUNCATE wide;
INSERT INTO wide SELECT array_fill(1::real, ARRAY[1960]);
CREATE INDEX wide_idx ON wide USING vechnsw (v real_l2_ops) WITH (bits = 1, m = 8);
\echo :LAST_ERROR_SQLSTATE
-- half precision halves the vector: it fits
CREATE INDEX wide_idx ON wide USING vechnsw (v real_l2_ops) WITH (bits = 1, m = 8, storage = f16);
SELECT elements FROM vechnsw_index_stats('wide_idx');
DROP TABLE wide;

-- The codes' centroid (4 bytes per dimension) fits the meta page up to 2,017
-- dimensions; f16 elements with codes fit a page beyond that, where the index
-- stores no codes.  (Up to 0.3.0 the centroid was written past the page: a
-- segmentation fault on the first insert, a corrupt meta page after a build.)
CREATE TEMP TABLE wide16 (id int, v real[]);
CREATE INDEX wide16_idx ON wide16 USING vechnsw (v real_l2_ops) WITH (bits = 1, m = 8, storage = f16);
INSERT INTO wide16 SELECT i, array_fill(i::real, ARRAY[2040]) FROM generate_series(1, 3) i;
SELECT vechnsw_index_check('wide16_idx', true);
SET enable_seqscan = off;
SELECT id FROM wide16 ORDER BY v <-> array_fill(2.2::real, ARRAY[2040]) LIMIT 2;
RESET enable_seqscan;
DROP INDEX wide16_idx;
CREATE INDEX wide16_idx ON wide16 USING vechnsw (v real_l2_ops) WITH (bits = 1, m = 8, storage = f16);
SELECT vechnsw_index_check('wide16_idx', true);
-- (codes: a scan makes RaBitQ estimates; without: none)
SET enable_seqscan = off;
SELECT FROM vechnsw_search_counters(true);
SELECT id FROM wide16 ORDER BY v <-> array_fill(2.2::real, ARRAY[2040]) LIMIT 1;
SELECT estimates > 0 AS codes_at_2040 FROM vechnsw_search_counters(true);
TRUNCATE wide16;
INSERT INTO wide16 SELECT i, array_fill(i::real, ARRAY[2017]) FROM generate_series(1, 3) i;
REINDEX INDEX wide16_idx;
SELECT vechnsw_index_check('wide16_idx', true);
SELECT id FROM wide16 ORDER BY v <-> array_fill(2.2::real, ARRAY[2017]) LIMIT 1;
SELECT estimates > 0 AS codes_at_2017 FROM vechnsw_search_counters(true);
RESET enable_seqscan;
DROP TABLE wide16;

-- The README's recipe: a domain keeps bad vectors out of the table (wrong
-- length, NULL elements, NaN/Infinity, more than one dimension), and an index
-- on a column of that domain works as on real[].
CREATE DOMAIN pg_temp.embedding3 AS real[]
  CHECK (array_ndims(VALUE) = 1 AND cardinality(VALUE) = 3
         AND array_position(VALUE, NULL) IS NULL
         AND NOT (VALUE && ARRAY['NaN', 'Infinity', '-Infinity']::real[]));
CREATE TABLE ie_dom (id int, v pg_temp.embedding3);
CREATE INDEX ie_dom_idx ON ie_dom USING vechnsw (v real_l2_ops);
INSERT INTO ie_dom VALUES (1, '{1,2,3}'), (2, '{3,2,1}');
SELECT bad, pg_temp.err(format('INSERT INTO ie_dom VALUES (9, %L)', bad)) AS result
FROM (VALUES ('{1,2}'), ('{1,NULL,3}'), ('{1,NaN,3}'), ('{{1,2,3}}'), ('{1,2,-Infinity}')) AS t(bad);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ie_dom ORDER BY v <-> '{3,2,0}' LIMIT 1;
SELECT id FROM ie_dom ORDER BY v <-> '{3,2,0}' LIMIT 1;
RESET enable_seqscan;
DROP TABLE ie_dom;
