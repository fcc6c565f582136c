--
-- vechnsw_basic: the access method on small data sets whose answers are
-- known by hand: plans, ordering, NULLs, the cosine zero vector, duplicates,
-- LIMIT beyond ef_search, options, expression/partial/unlogged/temp indexes.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vecidx;
RESET client_min_messages;

-- pg_temp.knn(table, column op query, k, exact) -> the k smallest distances,
-- in scan order, computed with an index scan (exact = false; raises an error
-- if the plan has no index scan) or with a sequential scan and sort.
CREATE FUNCTION pg_temp.knn(tbl text, col text, op text, q real[], k int, exact bool)
RETURNS float8[] LANGUAGE plpgsql AS $f$
DECLARE
	sql text := format('SELECT %s %s %L::real[] AS d FROM %s ORDER BY %s %s %L::real[] LIMIT %s',
					   col, op, q, tbl, col, op, q, k);
	r float8[];
	line text;
	seen bool := false;
BEGIN
	PERFORM set_config('enable_seqscan', exact::text, true);
	PERFORM set_config('enable_indexscan', (NOT exact)::text, true);
	PERFORM set_config('enable_bitmapscan', 'false', true);
	IF NOT exact THEN
		FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || sql LOOP
			seen := seen OR line LIKE '%Index Scan using%';
		END LOOP;
		IF NOT seen THEN
			RAISE EXCEPTION 'no index scan for %', sql;
		END IF;
	END IF;
	EXECUTE 'SELECT array_agg(d) FROM (' || sql || ') s' INTO r;
	RETURN r;
END
$f$;

-- pg_temp.close(a, b): same number of distances and, sorted, each pair within
-- 1e-6.  Used for cosine, where the index orders by its own float4 distance
-- of normalised vectors and <=> computes from the raw vectors: for directions
-- that tie exactly (e.g. {1,1} and {2,2}) the two differ in the 7th digit.
CREATE FUNCTION pg_temp.close(a float8[], b float8[]) RETURNS bool LANGUAGE sql AS $f$
	SELECT cardinality(a) = cardinality(b)
	   AND NOT EXISTS (SELECT 1
	                   FROM (SELECT x, row_number() OVER (ORDER BY x) AS n FROM unnest(a) x) p
	                   JOIN (SELECT y, row_number() OVER (ORDER BY y) AS n FROM unnest(b) y) r USING (n)
	                   WHERE abs(x - y) > 1e-6)
$f$;

-- The access method and its operator classes.
SELECT amname, amtype, amhandler FROM pg_am WHERE amname = 'vechnsw';
SELECT opcname, opcintype::regtype, opcdefault, amvalidate(oid)
FROM pg_opclass
WHERE opcmethod = (SELECT oid FROM pg_am WHERE amname = 'vechnsw')
ORDER BY opcname;
SELECT prop, pg_indexam_has_property((SELECT oid FROM pg_am WHERE amname = 'vechnsw'), prop)
FROM unnest(ARRAY['can_order', 'can_unique', 'can_multi_col', 'can_exclude', 'can_include']) AS prop;
SHOW vechnsw.ef_search;
SHOW vechnsw.search_mode;
SHOW vechnsw.scan_order;

-- A 10 x 10 grid: id = 10 * x + y, v = {x, y}.
CREATE TABLE grid (id int PRIMARY KEY, v real[]);
INSERT INTO grid SELECT 10 * x + y, ARRAY[x, y]::real[]
FROM generate_series(0, 9) x, generate_series(0, 9) y;
CREATE INDEX grid_l2 ON grid USING vechnsw (v real_l2_ops) WITH (bits = 1);
SELECT prop, pg_index_column_has_property('grid_l2'::regclass, 1, prop)
FROM unnest(ARRAY['orderable', 'distance_orderable', 'returnable', 'search_array', 'search_nulls']) AS prop;
SELECT elements, live_elements, deleted_elements, heap_tids, dimensions, m, ef_construction,
       pages > 1 AS has_pages, max_level >= 0 AS has_levels
FROM vechnsw_index_stats('grid_l2');

SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM grid ORDER BY v <-> '{2.2,3.4}' LIMIT 5;
-- {2.2,3.4}: (2,3) sqrt(.2), (2,4) sqrt(.4), (3,3) sqrt(.8), (3,4) 1, (1,3) sqrt(1.6)
SELECT id, v, round((v <-> '{2.2,3.4}')::numeric, 4) AS dist
FROM grid ORDER BY v <-> '{2.2,3.4}' LIMIT 5;
-- the commuted spelling uses the index as well
EXPLAIN (COSTS OFF) SELECT id FROM grid ORDER BY '{2.2,3.4}' <-> v LIMIT 5;
SELECT id FROM grid ORDER BY '{2.2,3.4}' <-> v LIMIT 3;
-- a query vector from a subquery (a run-time parameter)
EXPLAIN (COSTS OFF) SELECT id FROM grid ORDER BY v <-> (SELECT v FROM grid WHERE id = 77) LIMIT 3;
SELECT id FROM grid ORDER BY v <-> (SELECT v FROM grid WHERE id = 77) LIMIT 1;
-- an index scan with a WHERE clause filters the ordered stream
EXPLAIN (COSTS OFF) SELECT id FROM grid WHERE id % 2 = 1 ORDER BY v <-> '{2.2,3.4}' LIMIT 3;
SELECT id FROM grid WHERE id % 2 = 1 ORDER BY v <-> '{2.2,3.4}' LIMIT 3;
RESET enable_seqscan;

-- No ORDER BY (or the wrong direction, or another metric): no index scan.
EXPLAIN (COSTS OFF) SELECT id FROM grid WHERE v <-> '{1,1}' < 1.5;
EXPLAIN (COSTS OFF) SELECT id FROM grid ORDER BY v <-> '{1,1}' DESC LIMIT 3;
EXPLAIN (COSTS OFF) SELECT id FROM grid ORDER BY v <=> '{1,1}' LIMIT 3;
SELECT id FROM grid WHERE v <-> '{1,1}' < 1.5 ORDER BY id;

-- Index scan results are the exact answer on this small grid, including
-- at grid points with many ties (distances compared, in scan order: which of
-- several tied rows comes first depends on the shape of the graph).
SELECT count(*) AS queries,
       count(*) FILTER (WHERE pg_temp.knn('grid', 'v', '<->', q, 10, false)
                            = pg_temp.knn('grid', 'v', '<->', q, 10, true)) AS equal_to_exact
FROM (SELECT ARRAY[(i * 0.37) % 10, (i * 0.71) % 10]::real[] AS q FROM generate_series(1, 20) i
      UNION ALL SELECT ARRAY[i, 9 - i]::real[] FROM generate_series(0, 9) i) s;

-- Scans return distinct rows in non-decreasing distance order (the order
-- checked is the order in which the index scan returned them), and a LIMIT
-- larger than ef_search still gets rows: the scan searches again with a
-- longer list.  Under the default vechnsw.scan_order = strict a row that only
-- such a longer search finds, nearer than rows already returned, is skipped:
-- a LIMIT equal to the table's size can get a row fewer ({9,9} below: the
-- first search with ef_search 10 misses one of the 100 rows; relaxed, further
-- down, returns all 100 but steps back).
CREATE FUNCTION pg_temp.scan_check(q real[], lim int)
RETURNS TABLE (rows bigint, distinct_ids bigint, ordered bool) LANGUAGE sql AS $f$
	SELECT count(*), count(DISTINCT id), coalesce(bool_and(d >= prev), true)
	FROM (SELECT id, d, lag(d) OVER (ORDER BY n) AS prev
	      FROM (SELECT id, d, row_number() OVER () AS n
	            FROM (SELECT id, v <-> q AS d FROM grid ORDER BY v <-> q LIMIT lim) a) b) c
$f$;
SET enable_seqscan = off;
SELECT * FROM pg_temp.scan_check('{4.5,4.5}', 40);
SELECT * FROM pg_temp.scan_check('{4.5,4.5}', 100);
SELECT * FROM pg_temp.scan_check('{4.5,4.5}', 1000);
SET vechnsw.ef_search = 10;
SELECT * FROM pg_temp.scan_check('{0.3,0.1}', 11);
SELECT * FROM pg_temp.scan_check('{0.3,0.1}', 60);
SELECT * FROM pg_temp.scan_check('{9,9}', 100);
SET vechnsw.ef_search = 1;
SELECT * FROM pg_temp.scan_check('{5,5}', 2);
SELECT * FROM pg_temp.scan_check('{5,5}', 100);
SELECT id FROM grid ORDER BY v <-> '{0.1,0.2}' LIMIT 3;
RESET vechnsw.ef_search;

-- Everything above used search_mode = rabitq (the default: walk the graph
-- on RaBitQ estimates) on an index with codes (bits = 1; the default is 0).
-- The same checks for both search modes, on an index with and one without codes:
--   rows_*: rows returned for LIMIT 1000 (ef_search 40), LIMIT 100 (ef_search
--   10) and LIMIT 100 (ef_search 1), all of which must be the 100 grid rows;
--   ordered: every one of those streams in non-decreasing distance order;
--   top3_ef1: {0.1,0.2} with ef_search 1 is 0, 1, 10;
--   equal_to_exact: of 20 queries, LIMIT 10 equal to the exact answer.
CREATE FUNCTION pg_temp.grid_checks(OUT rows_ef40 bigint, OUT rows_ef10 bigint, OUT rows_ef1 bigint,
                                    OUT ordered bool, OUT top3_ef1 text, OUT equal_to_exact bigint)
LANGUAGE plpgsql AS $f$
DECLARE
	o1 bool;
	o2 bool;
	o3 bool;
BEGIN
	PERFORM set_config('enable_seqscan', 'off', true);
	PERFORM set_config('vechnsw.ef_search', '40', true);
	SELECT s.rows, s.ordered INTO rows_ef40, o1 FROM pg_temp.scan_check('{4.5,4.5}', 1000) s;
	PERFORM set_config('vechnsw.ef_search', '10', true);
	SELECT s.rows, s.ordered INTO rows_ef10, o2 FROM pg_temp.scan_check('{9,9}', 100) s;
	PERFORM set_config('vechnsw.ef_search', '1', true);
	SELECT s.rows, s.ordered INTO rows_ef1, o3 FROM pg_temp.scan_check('{5,5}', 100) s;
	SELECT string_agg(id::text, ',') INTO top3_ef1
	FROM (SELECT id FROM grid ORDER BY v <-> '{0.1,0.2}' LIMIT 3) s;
	PERFORM set_config('vechnsw.ef_search', '40', true);
	ordered := o1 AND o2 AND o3;
	SELECT count(*) FILTER (WHERE pg_temp.knn('grid', 'v', '<->', q, 10, false)
	                            = pg_temp.knn('grid', 'v', '<->', q, 10, true))
	INTO equal_to_exact
	FROM (SELECT ARRAY[(i * 0.53) % 10, (i * 0.29) % 10]::real[] AS q FROM generate_series(1, 20) i) qs;
END
$f$;
SELECT 'rabitq, bits = 1' AS config, * FROM pg_temp.grid_checks();
-- vechnsw.scan_order = relaxed returns a row that only a longer search finds
-- rather than dropping it, so every LIMIT gets its 100 rows, but the stream
-- steps back once (ordered = f: the RaBitQ walk missed a row at ef_search 10).
SET vechnsw.scan_order = relaxed;
SELECT 'rabitq, bits = 1, relaxed' AS config, * FROM pg_temp.grid_checks();
RESET vechnsw.scan_order;
SET vechnsw.search_mode = exact;
SELECT 'exact, bits = 1' AS config, * FROM pg_temp.grid_checks();
DROP INDEX grid_l2;
CREATE INDEX grid_l2 ON grid USING vechnsw (v real_l2_ops) WITH (bits = 0);
SELECT 'exact, bits = 0' AS config, * FROM pg_temp.grid_checks();
RESET vechnsw.search_mode;
SELECT 'rabitq, bits = 0' AS config, * FROM pg_temp.grid_checks();
DROP INDEX grid_l2;
CREATE INDEX grid_l2 ON grid USING vechnsw (v real_l2_ops);

-- A cursor fetches the ordered stream in pieces.
-- {0.1,0.2}: ids 0, 1, 10, 11, 2, 20, 12 at .22, .81, .92, 1.20, 1.80, 1.91, 2.01
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM grid ORDER BY v <-> '{0.1,0.2}';
FETCH 3 FROM c;
FETCH 3 FROM c;
FETCH 1 FROM c;
CLOSE c;
COMMIT;

-- ORDER BY under default settings with a LIMIT far above ef_search (40): on
-- 4,000 points of an 8-dimensional lattice, LIMIT 1000 must return 1,000
-- distinct rows whose distances, recomputed outside the index from the
-- array elements and taken in the order the index scan returned them, never
-- decrease; for each storage and code layout.
CREATE TABLE deep (id int PRIMARY KEY, v real[]);
INSERT INTO deep SELECT i, ARRAY(SELECT ((i * (2 * j + 1) * 7919) % 1009)::real / 100
                                 FROM generate_series(0, 7) j)
FROM generate_series(1, 4000) i;
CREATE FUNCTION pg_temp.deep_check(q real[], lim int,
                                   OUT rows bigint, OUT distinct_ids bigint, OUT ordered bool)
LANGUAGE sql AS $f$
	SELECT count(*), count(DISTINCT id), coalesce(bool_and(d >= prev - 1e-9), true)
	FROM (SELECT id, d, lag(d) OVER (ORDER BY n) AS prev
	      FROM (SELECT id, n, (SELECT sqrt(sum((a - b)::float8 ^ 2))
	                           FROM unnest(v, q) AS u(a, b)) AS d
	            FROM (SELECT id, v, row_number() OVER () AS n
	                  FROM (SELECT id, v FROM deep ORDER BY v <-> q LIMIT lim) a) b) c) e
$f$;
CREATE INDEX deep_idx ON deep USING vechnsw (v real_l2_ops);
EXPLAIN (COSTS OFF) SELECT id FROM deep ORDER BY v <-> '{5,5,5,5,5,5,5,5}' LIMIT 1000;
SELECT 'bits = 0, f32' AS config, * FROM pg_temp.deep_check('{5,5,5,5,5,5,5,5}', 1000);
SELECT 'bits = 0, f32' AS config, * FROM pg_temp.deep_check('{0,1,2,3,4,5,6,7}', 1000);
DROP INDEX deep_idx;
CREATE INDEX deep_idx ON deep USING vechnsw (v real_l2_ops) WITH (bits = 1);
SELECT 'bits = 1, f32' AS config, * FROM pg_temp.deep_check('{5,5,5,5,5,5,5,5}', 1000);
SELECT 'bits = 1, f32' AS config, * FROM pg_temp.deep_check('{0,1,2,3,4,5,6,7}', 1000);
-- the check can fail: with a one-element list the RaBitQ walk misses rows
-- that later searches find; relaxed order returns them and steps back,
-- strict (the default) skips them
SET vechnsw.ef_search = 1;
SET vechnsw.scan_order = relaxed;
SELECT 'bits = 1, f32, ef_search 1, relaxed' AS config, * FROM pg_temp.deep_check('{0,1,2,3,4,5,6,7}', 1000);
RESET vechnsw.scan_order;
SELECT 'bits = 1, f32, ef_search 1, strict' AS config, * FROM pg_temp.deep_check('{0,1,2,3,4,5,6,7}', 1000);
RESET vechnsw.ef_search;
DROP INDEX deep_idx;
CREATE INDEX deep_idx ON deep USING vechnsw (v real_l2_ops) WITH (storage = f16);
SELECT 'bits = 0, f16' AS config, * FROM pg_temp.deep_check('{5,5,5,5,5,5,5,5}', 1000);
SELECT 'bits = 0, f16' AS config, * FROM pg_temp.deep_check('{0,1,2,3,4,5,6,7}', 1000);
DROP TABLE deep;

-- Prepared statement, generic plan: the query vector is a parameter.
SET plan_cache_mode = force_generic_plan;
PREPARE knn(real[], int) AS SELECT id FROM grid ORDER BY v <-> $1 LIMIT $2;
EXPLAIN (COSTS OFF) EXECUTE knn('{0.1,0.2}', 3);
EXECUTE knn('{0.1,0.2}', 3);
EXECUTE knn('{8.9,0.2}', 2);
-- a NULL query vector: every distance is NULL, so any LIMIT rows are a correct
-- answer (a sequential scan returns 3 rows)
SELECT count(*) AS rows FROM (SELECT 1 FROM grid ORDER BY v <-> NULL::real[] LIMIT 3) s;
CREATE TEMP TABLE null_knn AS EXECUTE knn(NULL, 3);
SELECT count(*) AS rows FROM null_knn;
DEALLOCATE knn;
RESET plan_cache_mode;

-- Visibility: a rolled-back insert, a deleted row and an updated row.
BEGIN;
INSERT INTO grid VALUES (500, '{2.2,3.4}');
SELECT id FROM grid ORDER BY v <-> '{2.2,3.4}' LIMIT 1;
ROLLBACK;
SELECT id FROM grid ORDER BY v <-> '{2.2,3.4}' LIMIT 1;
DELETE FROM grid WHERE id = 23;
SELECT id FROM grid ORDER BY v <-> '{2.2,3.4}' LIMIT 1;
INSERT INTO grid VALUES (23, '{2,3}');
SELECT id FROM grid ORDER BY v <-> '{2.2,3.4}' LIMIT 1;
-- {5.1,5.2}: (5,5) .22, then (5,6) .81 and (6,5) .92
UPDATE grid SET v = '{100,100}' WHERE id = 55;
SELECT id FROM grid ORDER BY v <-> '{5.1,5.2}' LIMIT 2;
SELECT id FROM grid ORDER BY v <-> '{99,99}' LIMIT 1;
UPDATE grid SET v = '{5,5}' WHERE id = 55;
SELECT id FROM grid ORDER BY v <-> '{5.1,5.2}' LIMIT 2;
SELECT id FROM grid ORDER BY v <-> '{99,99}' LIMIT 1;

-- NULL vectors are not in the index: an index scan does not return them
-- (a sequential scan sorts them last).
INSERT INTO grid VALUES (1000, NULL), (1001, NULL);
SELECT count(*) AS rows, count(*) FILTER (WHERE v IS NULL) AS null_rows
FROM (SELECT id, v FROM grid ORDER BY v <-> '{1,1}' LIMIT 200) s;
SET enable_seqscan = on;
SET enable_indexscan = off;
SELECT count(*) AS rows, count(*) FILTER (WHERE v IS NULL) AS null_rows
FROM (SELECT id, v FROM grid ORDER BY v <-> '{1,1}' LIMIT 200) s;
RESET enable_indexscan;
SET enable_seqscan = off;

-- Cosine.  The zero vector (id 0) has no direction: it is not indexed, so
-- only an exact scan finds it (its distance is NaN, sorted after numbers).
CREATE INDEX grid_cos ON grid USING vechnsw (v real_cosine_ops);
SELECT heap_tids, dimensions FROM vechnsw_index_stats('grid_cos');
EXPLAIN (COSTS OFF) SELECT id FROM grid ORDER BY v <=> '{1,0.5}' LIMIT 4;
-- {1,0.5}: (2,1), (4,2), (6,3), (8,4) at distance 0 (tied: shown by id)
SELECT id, dist FROM (SELECT id, v <=> '{1,0.5}' AS dist FROM grid ORDER BY v <=> '{1,0.5}' LIMIT 4) s
ORDER BY id;
-- next: (9,5) at 1 - 11.5 / sqrt(106 * 1.25) = 0.0009438
SELECT id, round((v <=> '{1,0.5}')::numeric, 7) AS dist
FROM (SELECT id, v FROM grid ORDER BY v <=> '{1,0.5}' LIMIT 5) s ORDER BY dist DESC, id LIMIT 1;
SELECT count(*) AS rows, count(*) FILTER (WHERE id = 0) AS zero_vector
FROM (SELECT id FROM grid ORDER BY v <=> '{1,1}' LIMIT 200) s;
SET enable_seqscan = on;
SET enable_indexscan = off;
SELECT count(*) AS rows, count(*) FILTER (WHERE id = 0) AS zero_vector
FROM (SELECT id FROM grid ORDER BY v <=> '{1,1}' LIMIT 200) s;
SELECT id, v <=> '{1,1}' AS dist FROM grid WHERE v IS NOT NULL ORDER BY v <=> '{1,1}' DESC LIMIT 1;
RESET enable_indexscan;
SET enable_seqscan = off;
-- a zero query vector: all distances are NaN; the scan must not fail
SELECT count(*) AS rows FROM (SELECT id FROM grid ORDER BY v <=> '{0,0}' LIMIT 5) s;
SELECT count(*) AS queries,
       count(*) FILTER (WHERE pg_temp.close(pg_temp.knn('grid', 'v', '<=>', q, 10, false),
                                            pg_temp.knn('grid', 'v', '<=>', q, 10, true))) AS equal_to_exact
FROM (SELECT ARRAY[1 + (i * 0.37) % 9, (i * 0.71) % 10]::real[] AS q FROM generate_series(1, 20) i) s;
DROP INDEX grid_cos;

-- Inner product.  {1,0.3}: x + 0.3 y is largest at (9,9) 11.7, (9,8) 11.4,
-- (9,7) 11.1, (9,6) 10.8, (8,9) 10.7.
CREATE INDEX grid_ip ON grid USING vechnsw (v real_ip_ops);
EXPLAIN (COSTS OFF) SELECT id FROM grid ORDER BY v <#> '{1,0.3}' LIMIT 5;
SELECT id, round((v <#> '{1,0.3}')::numeric, 4) AS neg_ip FROM grid ORDER BY v <#> '{1,0.3}' LIMIT 5;
-- {-1,-1}: (0,0) 0, then (0,1) and (1,0) at 1
-- (an inner product of 0 is reported as distance 0, never IEEE -0)
SELECT id, v <#> '{-1,-1}' AS neg_ip FROM grid ORDER BY v <#> '{-1,-1}' LIMIT 1;
SELECT count(*) AS queries,
       count(*) FILTER (WHERE pg_temp.knn('grid', 'v', '<#>', q, 10, false)
                            = pg_temp.knn('grid', 'v', '<#>', q, 10, true)) AS equal_to_exact
FROM (SELECT ARRAY[(i * 0.37) % 10 - 5, (i * 0.71) % 10 - 5]::real[] AS q FROM generate_series(1, 20) i) s;
DROP INDEX grid_ip;
RESET enable_seqscan;

-- Duplicates: 100 identical vectors (more than ef_search) are all found.
CREATE TABLE dup (id int PRIMARY KEY, v real[]);
INSERT INTO dup SELECT i, '{1,2,3}' FROM generate_series(1, 50) i;
INSERT INTO dup SELECT 1000 + i, ARRAY[i, i % 7, -i]::real[] FROM generate_series(1, 200) i;
CREATE INDEX dup_idx ON dup USING vechnsw (v real_l2_ops);
INSERT INTO dup SELECT i, '{1,2,3}' FROM generate_series(51, 100) i;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM dup ORDER BY v <-> '{1,2,3}' LIMIT 100;
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_ids, count(*) FILTER (WHERE d = 0) AS at_zero
FROM (SELECT id, v <-> '{1,2,3}' AS d FROM dup ORDER BY v <-> '{1,2,3}' LIMIT 100) s;
-- the 101st row is the nearest other vector: {1,1,-1} (id 1001) at sqrt(17)
SELECT id, round(d::numeric, 4) AS d
FROM (SELECT id, v <-> '{1,2,3}' AS d FROM dup ORDER BY v <-> '{1,2,3}' LIMIT 101) s
ORDER BY d DESC LIMIT 1;
SET vechnsw.ef_search = 5;
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_ids, count(*) FILTER (WHERE d = 0) AS at_zero
FROM (SELECT id, v <-> '{1,2,3}' AS d FROM dup ORDER BY v <-> '{1,2,3}' LIMIT 100) s;
-- from a query vector a little away from the duplicates
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_ids
FROM (SELECT id FROM dup ORDER BY v <-> '{1.1,2,3}' LIMIT 150) s;
RESET vechnsw.ef_search;
SELECT heap_tids, live_elements <= heap_tids AS shared FROM vechnsw_index_stats('dup_idx');
RESET enable_seqscan;
DROP TABLE dup;

-- An index built on an empty table, then filled row by row.
CREATE TABLE growing (id int, v real[]);
CREATE INDEX growing_idx ON growing USING vechnsw (v real_l2_ops) WITH (m = 4, ef_construction = 16);
SELECT elements, heap_tids, dimensions, max_level, m, ef_construction FROM vechnsw_index_stats('growing_idx');
SELECT relname, reloptions FROM pg_class WHERE relname = 'growing_idx';
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM growing ORDER BY v <-> '{1,1,1}' LIMIT 5) s;
INSERT INTO growing VALUES (1, '{1,1,1}');
SELECT id FROM growing ORDER BY v <-> '{0,0,0}' LIMIT 5;
DO $$
BEGIN
	FOR i IN 2 .. 300 LOOP
		INSERT INTO growing VALUES (i, ARRAY[i % 17, (i * 7) % 13, (i * 3) % 11]::real[]);
	END LOOP;
END
$$;
SELECT elements, heap_tids, dimensions, m, ef_construction FROM vechnsw_index_stats('growing_idx');
-- (m = 4 is a sparse graph: search with a wide list to get the exact answer)
SET vechnsw.ef_search = 300;
SELECT count(*) AS queries,
       count(*) FILTER (WHERE pg_temp.knn('growing', 'v', '<->', q, 10, false)
                            = pg_temp.knn('growing', 'v', '<->', q, 10, true)) AS equal_to_exact
FROM (SELECT ARRAY[(i * 1.37) % 17, (i * 0.71) % 13, (i * 2.3) % 11]::real[] AS q FROM generate_series(1, 20) i) s;
RESET vechnsw.ef_search;
RESET enable_seqscan;
DROP TABLE growing;

-- Expression and partial indexes.
CREATE INDEX grid_norm ON grid USING vechnsw (l2_normalize(v) real_ip_ops) WHERE id % 2 = 0;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM grid WHERE id % 2 = 0 ORDER BY l2_normalize(v) <#> '{0,1}' LIMIT 3;
-- even ids on the y axis: (0,2) .. (0,8) ids 2, 4, 6, 8 at -1
SELECT id FROM (SELECT id FROM grid WHERE id % 2 = 0 ORDER BY l2_normalize(v) <#> '{0,1}' LIMIT 4) s ORDER BY id;
RESET enable_seqscan;
DROP INDEX grid_norm;
DROP TABLE grid;

-- Unlogged and temporary tables.
CREATE UNLOGGED TABLE ulog (id int, v real[]);
INSERT INTO ulog SELECT i, ARRAY[i % 10, i / 10]::real[] FROM generate_series(0, 99) i;
CREATE INDEX ulog_idx ON ulog USING vechnsw (v real_l2_ops);
SELECT relpersistence, pg_relation_size('ulog_idx', 'init') > 0 AS has_init_fork
FROM pg_class WHERE relname = 'ulog_idx';
SET enable_seqscan = off;
SELECT id FROM ulog ORDER BY v <-> '{2.2,3.4}' LIMIT 3;
INSERT INTO ulog VALUES (1000, '{2.2,3.4}');
SELECT id FROM ulog ORDER BY v <-> '{2.2,3.4}' LIMIT 2;
RESET enable_seqscan;
-- an unlogged table's index created empty
CREATE UNLOGGED TABLE ulog_empty (id int, v real[]);
CREATE INDEX ulog_empty_idx ON ulog_empty USING vechnsw (v real_cosine_ops);
INSERT INTO ulog_empty VALUES (1, '{1,0}'), (2, '{0,1}');
SET enable_seqscan = off;
SELECT id FROM ulog_empty ORDER BY v <=> '{1,0.1}' LIMIT 1;
RESET enable_seqscan;
DROP TABLE ulog, ulog_empty;

CREATE TEMP TABLE tmp_items (id int, v real[]);
INSERT INTO tmp_items SELECT i, ARRAY[i % 10, i / 10]::real[] FROM generate_series(0, 99) i;
CREATE INDEX tmp_items_idx ON tmp_items USING vechnsw (v real_l2_ops);
SET enable_seqscan = off;
SELECT id FROM tmp_items ORDER BY v <-> '{2.2,3.4}' LIMIT 3;
RESET enable_seqscan;
DROP TABLE tmp_items;
