--
-- vechnsw_usability: what a user meets in the first hour (issue 11):
-- query vectors of other numeric array types, the default operator class,
-- the upgrade that brings both, the scan's work limit for filters that
-- reject most rows, and a cost estimate that weighs a filter's selectivity.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vecidx;
RESET client_min_messages;

-- pg_temp.uses_index(query): does the plan of the query scan a vechnsw index?
CREATE FUNCTION pg_temp.plan_scan(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		IF line ~ 'Index Scan using' THEN
			RETURN 'index scan on ' || substring(line from 'using (\S+)');
		ELSIF line ~ 'Seq Scan' THEN
			RETURN 'seq scan';
		END IF;
	END LOOP;
	RETURN 'neither';
END $f$;

-- 1. Query vectors of other numeric array types: double precision[] (what
-- drivers send), numeric[] and integer[] (array literals), smallint[] and
-- bigint[], on every operator and distance function, with the index used.
CREATE TABLE q (id int, v real[]);
INSERT INTO q SELECT i, ARRAY[i % 17, i % 5, (i * 7) % 11]::real[] FROM generate_series(1, 3000) i;
CREATE INDEX q_l2 ON q USING vechnsw (v real_l2_ops);
CREATE INDEX q_cos ON q USING vechnsw (v real_cosine_ops);
CREATE INDEX q_ip ON q USING vechnsw (v real_ip_ops);
ANALYZE q;
-- (3,000 rows of 3 dimensions: a sequential scan is as cheap; the point
-- here is that the index serves these operators)
SET enable_seqscan = off;
-- every (operator, query type): the plan scans the operator's index, and
-- the rows and distances equal those of the same query as real[]
CREATE FUNCTION pg_temp.same_as_real(op text, qtype text, qv text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	typed text := format('SELECT id, v %s %L::%s AS d FROM q ORDER BY v %s %L::%s LIMIT 25',
						 op, qv, qtype, op, qv, qtype);
	asreal text := format('SELECT id, v %s %L::real[] AS d FROM q ORDER BY v %s %L::real[] LIMIT 25',
						  op, qv, op, qv);
	differ bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) x', typed, asreal) INTO differ;
	RETURN pg_temp.plan_scan(typed) || ', ' || differ || ' rows differ';
END $f$;
SELECT op, qtype, pg_temp.same_as_real(op, qtype, '{3,2,5}')
FROM (VALUES ('<->'), ('<=>'), ('<#>')) o(op),
	 (VALUES ('float8[]'), ('numeric[]'), ('int2[]'), ('int4[]'), ('int8[]')) t(qtype)
ORDER BY 1, 2;
-- array literals and untyped literals resolve without casts
SELECT pg_temp.plan_scan('SELECT id FROM q ORDER BY v <-> ARRAY[0.5, 1.5, 2] LIMIT 3') AS numeric_literal,
	   pg_temp.plan_scan('SELECT id FROM q ORDER BY v <=> ARRAY[1, 2, 3] LIMIT 3') AS integer_literal,
	   pg_temp.plan_scan('SELECT id FROM q ORDER BY v <#> ''{1,2,3}'' LIMIT 3') AS untyped_literal;
SELECT id, round((v <-> ARRAY[0.5, 1.5, 2])::numeric, 6) AS d FROM q ORDER BY v <-> ARRAY[0.5, 1.5, 2], id LIMIT 3;
-- a prepared statement with a float8[] parameter (what a driver binding a
-- list of floats does) uses the index with its generic plan too
SET plan_cache_mode = force_generic_plan;
PREPARE knn(float8[]) AS SELECT id FROM q ORDER BY v <-> $1 LIMIT 3;
EXPLAIN (COSTS OFF) EXECUTE knn('{3,2,5}');
EXECUTE knn('{3,2,5}');
DEALLOCATE knn;
RESET plan_cache_mode;
-- the operators compute the same values as the real[] functions
SELECT '{1,2}'::real[] <-> '{4,6}'::float8[] AS l2,
	   '{1,0}'::real[] <=> ARRAY[0, 1] AS cos,
	   '{1,2}'::real[] <#> '{3,4}'::int8[] AS nip,
	   '{1,2}'::real[] <-> '{4,6}'::int2[] = l2_distance('{1,2}', '{4,6}') AS same;
-- the plain functions keep their one signature, so that untyped literals
-- resolve; an operator between two untyped literals needs a cast
SELECT l2_distance('{1,2}', '{4,6}') AS l2_untyped, '{1,2}'::real[] <-> '{4,6}' AS op_one_typed;
\set VERBOSITY terse
SELECT '{1,2}' <-> '{4,6}';
SELECT l2_distance('{1,2}'::real[], '{4,6}'::float8[]);
\set VERBOSITY default
-- conversion errors are those of the cast to real; the other checks apply
\set VERBOSITY terse
SELECT '{1,2}'::real[] <-> ARRAY[1e300, 1]::float8[];
SELECT '{1,2}'::real[] <-> ARRAY[1e-300, 1]::float8[];
SELECT '{1,2}'::real[] <-> ARRAY[1e39, 1];
SELECT '{1,2}'::real[] <-> ARRAY['NaN', 1]::float8[];
SELECT '{1,2}'::real[] <-> ARRAY['Infinity', 1]::float8[];
SELECT '{1,2}'::real[] <-> ARRAY[1, NULL]::float8[];
SELECT '{1,2}'::real[] <-> ARRAY[1, 2, 3]::float8[];
SELECT '{1,2}'::real[] <-> '{{1,2}}'::float8[];
SELECT id FROM q ORDER BY v <-> ARRAY[1, 2]::float8[] LIMIT 1;
SELECT id FROM q ORDER BY v <-> ARRAY[1e300, 1, 1]::float8[] LIMIT 1;
SELECT '{1,2}'::real[] <-> '{1,2}'::text[];
\set VERBOSITY default
-- the validator accepts the families with their cross-type operators
SELECT opcname, amvalidate(oid) FROM pg_opclass
WHERE opcmethod = (SELECT oid FROM pg_am WHERE amname = 'vechnsw') ORDER BY 1;

-- index scans are counted in pg_stat_user_indexes (idx_scan), as for
-- PostgreSQL's own index methods: a vechnsw index in use does not look unused
SELECT pg_stat_force_next_flush();
SELECT idx_scan AS scans_before FROM pg_stat_user_indexes WHERE indexrelname = 'q_l2' \gset
SELECT id FROM q ORDER BY v <-> '{3,2,5}'::real[] LIMIT 1;
SELECT id FROM q ORDER BY v <-> '{3,2,6}'::real[] LIMIT 1;
SELECT pg_stat_force_next_flush();
SELECT idx_scan - :scans_before AS scans_counted FROM pg_stat_user_indexes WHERE indexrelname = 'q_l2';

-- 2. real_l2_ops is the default operator class for real[]
CREATE INDEX q_default ON q USING vechnsw (v);
SELECT c.relname, o.opcname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	JOIN pg_opclass o ON o.oid = i.indclass[0] WHERE c.relname = 'q_default';
DROP INDEX q_default;
DROP TABLE q;
RESET enable_seqscan;

-- 3. The upgrade from 0.2.0: an index built before it serves float8[]
-- queries after it, and real_l2_ops becomes the default.
SET client_min_messages = warning;
DROP EXTENSION vecidx CASCADE;
CREATE EXTENSION vecidx VERSION '0.2.0';
RESET client_min_messages;
CREATE TABLE u (id int, v real[]);
INSERT INTO u SELECT i, ARRAY[i, i % 3]::real[] FROM generate_series(1, 500) i;
CREATE INDEX u_v ON u USING vechnsw (v real_l2_ops);
\set VERBOSITY terse
CREATE INDEX ON u USING vechnsw (v);
SELECT id FROM u ORDER BY v <-> ARRAY[1, 2]::float8[] LIMIT 1;
\set VERBOSITY default
ALTER EXTENSION vecidx UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'vecidx';
SET enable_seqscan = off;
SELECT pg_temp.plan_scan('SELECT id FROM u ORDER BY v <-> ARRAY[10.2, 1]::float8[] LIMIT 3') AS plan;
SELECT id FROM u ORDER BY v <-> ARRAY[10.2, 1]::float8[] LIMIT 3;
RESET enable_seqscan;
CREATE INDEX u_default ON u USING vechnsw (v);
SELECT o.opcname FROM pg_index i JOIN pg_opclass o ON o.oid = i.indclass[0]
WHERE i.indexrelid = 'u_default'::regclass;
DROP TABLE u;

-- 4. The work limit: a filter that matches nothing walks at most
-- vechnsw.max_scan_tuples index elements (here 500 of 20,000), then the
-- scan ends; with the limit above the table's size it walks everything
-- and finds the rows a very selective filter keeps.
CREATE TABLE f (id int PRIMARY KEY, cat int, v real[]);
SELECT setseed(0.25);
INSERT INTO f SELECT i, i % 100,
	(SELECT array_agg(round(random() * 100)::real) FROM generate_series(1, 16) WHERE i > 0)
FROM generate_series(1, 20000) i;
CREATE INDEX f_v ON f USING vechnsw (v);
ANALYZE f;
-- pg_temp.index_rows(query): rows the index scan node handed up (returned
-- plus removed by its filter), from EXPLAIN ANALYZE
CREATE FUNCTION pg_temp.index_rows(q text) RETURNS bigint LANGUAGE plpgsql AS $f$
DECLARE
	plan json;
	node json;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || q INTO plan;
	node := plan -> 0 -> 'Plan';
	WHILE node ->> 'Node Type' <> 'Index Scan' LOOP
		node := node -> 'Plans' -> 0;
	END LOOP;
	RETURN (node ->> 'Actual Rows')::bigint + coalesce((node ->> 'Rows Removed by Filter')::bigint, 0);
END $f$;
SET enable_seqscan = off;
SHOW vechnsw.max_scan_tuples;
SET vechnsw.max_scan_tuples = 500;
SELECT pg_temp.index_rows('SELECT id FROM f WHERE cat = 1000 ORDER BY v <-> ''{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}'' LIMIT 10') BETWEEN 250 AND 500 AS walked_up_to_the_limit;
SELECT searches FROM vechnsw_search_counters(true) \gset
SELECT count(*) FROM (SELECT id FROM f WHERE cat = 1000 ORDER BY v <-> '{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}' LIMIT 10) s;
SELECT searches AS searches_within_limit FROM vechnsw_search_counters(true);
-- the filter keeps 2 rows; the scan returns those found within the limit
SET vechnsw.max_scan_tuples = 1000000;
SELECT pg_temp.index_rows('SELECT id FROM f WHERE cat = 1000 ORDER BY v <-> ''{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}'' LIMIT 10') >= 19900 AS walked_nearly_all;
SELECT count(*) AS found FROM (SELECT id FROM f WHERE id + 0 IN (4242, 17001) ORDER BY v <-> '{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}' LIMIT 10) s;
-- ef_search above the limit wins: the first search always runs in full
SET vechnsw.max_scan_tuples = 1;
SET vechnsw.ef_search = 100;
SELECT pg_temp.index_rows('SELECT id FROM f WHERE cat = 1000 ORDER BY v <-> ''{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}'' LIMIT 10') AS first_search_only;
RESET vechnsw.ef_search;
RESET vechnsw.max_scan_tuples;
RESET enable_seqscan;

-- 5. The planner weighs the filter: a 1 % filter gets a sequential scan
-- (walking the graph through about 1,000 rows to find 10 that pass costs
-- more than reading 20,000), no filter and a 50 % filter get the index.
SELECT pg_temp.plan_scan('SELECT id FROM f WHERE cat = 7 ORDER BY v <-> ''{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}'' LIMIT 10') AS one_percent,
	   pg_temp.plan_scan('SELECT id FROM f ORDER BY v <-> ''{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}'' LIMIT 10') AS unfiltered,
	   pg_temp.plan_scan('SELECT id FROM f WHERE cat < 50 ORDER BY v <-> ''{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}'' LIMIT 10') AS half;
DROP TABLE f;
-- The distance functions tell the planner their cost (a support function):
-- it grows with the dimensions and, for a column that is not PLAIN, with the
-- de-TOASTing of each row's vector.  2,000 out-of-line 2,100-d vectors take a
-- few heap pages: costed as one comparison a row, a sequential scan that
-- de-TOASTs and compares every row looked cheaper than the index.
CREATE TABLE w (id int, cat int, v real[]);
ALTER TABLE w ALTER COLUMN v SET STORAGE EXTERNAL;
INSERT INTO w SELECT i, i % 100, array_fill((i % 97)::real, ARRAY[2100]) FROM generate_series(1, 2000) i;
CREATE INDEX w_v ON w USING vechnsw (v) WITH (storage = f16);
ANALYZE w;
SELECT count(*) AS functions_with_support FROM pg_proc WHERE prosupport = 'vecidx_distance_support'::regproc;
SELECT pg_temp.plan_scan('SELECT id FROM w ORDER BY v <-> array_fill(3::real, ARRAY[2100]) LIMIT 10') AS out_of_line,
	   pg_temp.plan_scan('SELECT id FROM w WHERE cat = 7 ORDER BY v <-> array_fill(3::real, ARRAY[2100]) LIMIT 10') AS one_percent;
-- with a parameter instead of a constant, the dimensions come from the index
PREPARE wq(real[]) AS SELECT id FROM w ORDER BY v <-> $1 LIMIT 10;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE wq(array_fill(3::real, ARRAY[2100]));
RESET plan_cache_mode;
DEALLOCATE wq;
DROP TABLE w;
