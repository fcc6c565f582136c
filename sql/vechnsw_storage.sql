--
-- vechnsw_storage: the reloption storage (f32, the default, or f16) for the
-- copy of each vector the index keeps for exact distances.  With f16 the
-- index ranks rows by lower bounds of their distances and the executor
-- rechecks every row it returns, so results still come in exact order with
-- exact distances.  Recall floors for each metric, both storages and both
-- search modes, against exact answers computed here.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vecidx;
RESET client_min_messages;

-- 3,000 points in 96 dimensions around 60 seeded centres (noise +-0.5),
-- 30 queries drawn the same way; nv is the unit vector for inner product.
SELECT setseed(0.25);
CREATE TABLE st_centres AS
SELECT c, ARRAY(SELECT (random() * 2 - 1)::real FROM generate_series(1, 96) WHERE c > 0) AS v
FROM generate_series(1, 60) c;
CREATE TABLE st_items (id int PRIMARY KEY, v real[], nv real[]);
INSERT INTO st_items (id, v)
SELECT i, ARRAY(SELECT c.v[d] + (random() - 0.5)::real FROM generate_series(1, 96) d)
FROM generate_series(1, 3000) i JOIN st_centres c ON c.c = 1 + (i * 7919) % 60;
UPDATE st_items SET nv = l2_normalize(v);
CREATE TABLE st_queries AS
SELECT q, ARRAY(SELECT c.v[d] + (random() - 0.5)::real FROM generate_series(1, 96) d) AS v
FROM generate_series(1, 30) q JOIN st_centres c ON c.c = 1 + (q * 37) % 60;
VACUUM ANALYZE st_items;
ANALYZE st_queries;

-- 1. The reloption.
CREATE INDEX st_bad ON st_items USING vechnsw (v real_l2_ops) WITH (storage = f64);
CREATE INDEX st_l2_f16 ON st_items USING vechnsw (v real_l2_ops) WITH (storage = f16, bits = 1);
CREATE INDEX st_l2_f32 ON st_items USING vechnsw (v real_l2_ops) WITH (storage = f32, bits = 1);
CREATE INDEX st_cos_f16 ON st_items USING vechnsw (v real_cosine_ops) WITH (storage = f16, bits = 1);
CREATE INDEX st_cos_f32 ON st_items USING vechnsw (v real_cosine_ops) WITH (bits = 1);
CREATE INDEX st_ip_f16 ON st_items USING vechnsw (nv real_ip_ops) WITH (storage = f16, bits = 1);
CREATE INDEX st_ip_f32 ON st_items USING vechnsw (nv real_ip_ops) WITH (bits = 1);
SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'st\_%\_f%' ORDER BY relname;

-- 2. Size: the same graph, half the bytes per vector.  Without codes
--    (bits = 0) an element is 64 + 192 bytes with f16 against 64 + 384 with
--    f32, plus a 392-byte neighbour tuple either way: 12 against 9 level-0
--    elements per page at this small dimension.
CREATE INDEX st_l2_f16_nocodes ON st_items USING vechnsw (v real_l2_ops) WITH (storage = f16);
CREATE INDEX st_l2_f32_nocodes ON st_items USING vechnsw (v real_l2_ops);
SELECT pg_relation_size('st_l2_f16_nocodes') / 8192 AS f16_pages,
       pg_relation_size('st_l2_f32_nocodes') / 8192 AS f32_pages,
       pg_relation_size('st_l2_f16_nocodes') < 0.8 * pg_relation_size('st_l2_f32_nocodes') AS f16_smaller;
SELECT s.elements, s.heap_tids FROM vechnsw_index_stats('st_l2_f16_nocodes') s;
DROP INDEX st_l2_f16_nocodes, st_l2_f32_nocodes;

-- 3. Exact answers (index scans off).
SET enable_indexscan = off;
SET enable_bitmapscan = off;
CREATE TEMP TABLE ex AS
SELECT 'l2' AS metric, q.q, r.id FROM st_queries q
  CROSS JOIN LATERAL (SELECT id FROM st_items ORDER BY v <-> q.v LIMIT 10) r
UNION ALL
SELECT 'cos', q.q, r.id FROM st_queries q
  CROSS JOIN LATERAL (SELECT id FROM st_items ORDER BY v <=> q.v LIMIT 10) r
UNION ALL
SELECT 'ip', q.q, r.id FROM st_queries q
  CROSS JOIN LATERAL (SELECT id FROM st_items ORDER BY nv <#> q.v LIMIT 10) r;
RESET enable_indexscan;
RESET enable_bitmapscan;
SET enable_seqscan = off;

-- 4. Index answers in the current search mode, from whichever indexes the
--    caller left (each block below drops the other storage's indexes in a
--    transaction it rolls back): recall@10 against ex (30 queries x 10 =
--    300 pairs per metric), and whether every query's rows came in exact
--    distance order.  The order checked is the one the index scan returned
--    the rows in (row_number() OVER () over the scan's output, nothing
--    re-sorts it), against distances recomputed by st_dist in
--    double-precision SQL arithmetic over unnest(), not by the operators the
--    index and the executor's recheck evaluate.  A step counts as out of
--    order when the next row is nearer by more than float rounding (1e-5
--    relative); f16 bounds are up to ~1e-3 below the distance, so rows
--    ranked by bounds without the recheck would show up here.
CREATE FUNCTION st_dist(metric text, a real[], b real[]) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT CASE metric
		WHEN 'l2' THEN sqrt(sum((x::float8 - y::float8) ^ 2))
		WHEN 'cos' THEN 1 - sum(x::float8 * y::float8) / sqrt(sum(x::float8 ^ 2) * sum(y::float8 ^ 2))
		WHEN 'ip' THEN -sum(x::float8 * y::float8) END
	FROM unnest(a, b) u(x, y)
$$;
-- rows of the index scans for each metric: query, position in the scan's
-- output, id, recomputed distance
CREATE FUNCTION pg_temp.scan_rows(lim int)
RETURNS TABLE (metric text, q int, rn bigint, id int, d float8)
LANGUAGE sql AS $$
	SELECT 'l2', q.q, r.rn, r.id, st_dist('l2', r.v, q.v) FROM st_queries q
	  CROSS JOIN LATERAL (SELECT s.id, s.v, row_number() OVER () AS rn FROM
		(SELECT id, v FROM st_items ORDER BY v <-> q.v LIMIT lim) s) r
	UNION ALL
	SELECT 'cos', q.q, r.rn, r.id, st_dist('cos', r.v, q.v) FROM st_queries q
	  CROSS JOIN LATERAL (SELECT s.id, s.v, row_number() OVER () AS rn FROM
		(SELECT id, v FROM st_items ORDER BY v <=> q.v LIMIT lim) s) r
	UNION ALL
	SELECT 'ip', q.q, r.rn, r.id, st_dist('ip', r.v, q.v) FROM st_queries q
	  CROSS JOIN LATERAL (SELECT s.id, s.v, row_number() OVER () AS rn FROM
		(SELECT id, nv AS v FROM st_items ORDER BY nv <#> q.v LIMIT lim) s) r
$$;
CREATE FUNCTION pg_temp.answers(lim int)
RETURNS TABLE (metric text, recall numeric, in_order boolean, nrows bigint)
LANGUAGE plpgsql AS $$
BEGIN
	CREATE TEMP TABLE ap AS SELECT * FROM pg_temp.scan_rows(lim);
	RETURN QUERY
	SELECT m.metric,
		   (SELECT count(*) FROM ex JOIN ap USING (metric, q, id) WHERE ex.metric = m.metric) / 300.0,
		   NOT EXISTS (SELECT FROM ap a JOIN ap b ON a.metric = b.metric AND a.q = b.q AND b.rn = a.rn + 1
					   WHERE a.metric = m.metric AND b.d < a.d - 1e-5 * greatest(abs(a.d), 1)),
		   (SELECT count(*) FROM ap WHERE ap.metric = m.metric)
	FROM (VALUES ('l2'), ('cos'), ('ip')) m(metric);
	DROP TABLE ap;
END;
$$;

-- The plans use the indexes left in place (here the f16 ones), also under
-- the row_number() of scan_rows.
BEGIN;
DROP INDEX st_l2_f32, st_cos_f32, st_ip_f32;
EXPLAIN (COSTS OFF) SELECT id FROM st_items ORDER BY v <-> (SELECT v FROM st_queries WHERE q = 1) LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM st_items ORDER BY nv <#> (SELECT v FROM st_queries WHERE q = 1) LIMIT 10;
EXPLAIN (COSTS OFF)
SELECT q.q, r.rn, st_dist('l2', r.v, q.v) FROM st_queries q
  CROSS JOIN LATERAL (SELECT s.id, s.v, row_number() OVER () AS rn FROM
	(SELECT id, v FROM st_items ORDER BY v <-> q.v LIMIT 10) s) r;
ROLLBACK;

-- recall: the figure is shown (serial builds with the fixed seed give the
-- same graphs every run).  Measured 1.000 for every metric, storage and
-- search mode (3 runs, identical); floor 0.99 = margin 0.01 (3 of the 300
-- pairs).
SET vechnsw.search_mode = exact;
BEGIN;
DROP INDEX st_l2_f16, st_cos_f16, st_ip_f16;
SELECT 'f32, exact' AS config, metric, round(recall, 3) AS recall, recall >= 0.99 AS above_floor,
	   in_order, nrows FROM pg_temp.answers(10) ORDER BY metric;
ROLLBACK;
BEGIN;
DROP INDEX st_l2_f32, st_cos_f32, st_ip_f32;
SELECT 'f16, exact' AS config, metric, round(recall, 3) AS recall, recall >= 0.99 AS above_floor,
	   in_order, nrows FROM pg_temp.answers(10) ORDER BY metric;
ROLLBACK;
SET vechnsw.search_mode = rabitq;
BEGIN;
DROP INDEX st_l2_f16, st_cos_f16, st_ip_f16;
SELECT 'f32, rabitq' AS config, metric, round(recall, 3) AS recall, recall >= 0.99 AS above_floor,
	   in_order, nrows FROM pg_temp.answers(10) ORDER BY metric;
ROLLBACK;
BEGIN;
DROP INDEX st_l2_f32, st_cos_f32, st_ip_f32;
SELECT 'f16, rabitq' AS config, metric, round(recall, 3) AS recall, recall >= 0.99 AS above_floor,
	   in_order, nrows FROM pg_temp.answers(10) ORDER BY metric;
ROLLBACK;
RESET vechnsw.search_mode;

-- 5. Order beyond the first search, with f16: the index ranks rows by lower
--    bounds of their distances and the executor rechecks each row
--    (xs_recheckorderby), so rows come in exact distance order also at
--    LIMIT 100, past ef_search (40), where the scan continues with longer
--    searches.  Same check as in 4: the scan's own output order against
--    recomputed distances (30 queries x 100 rows per metric).
SET vechnsw.search_mode = exact;
BEGIN;
DROP INDEX st_l2_f32, st_cos_f32, st_ip_f32;
SELECT 'f16, exact' AS config, metric, in_order, nrows FROM pg_temp.answers(100) ORDER BY metric;
ROLLBACK;
SET vechnsw.search_mode = rabitq;
BEGIN;
DROP INDEX st_l2_f32, st_cos_f32, st_ip_f32;
SELECT 'f16, rabitq' AS config, metric, in_order, nrows FROM pg_temp.answers(100) ORDER BY metric;
ROLLBACK;
RESET vechnsw.search_mode;

-- 6. Inserts into an f16 index: new rows are found, an identical vector
--    shares its element, and values beyond half precision are refused.
DROP INDEX st_l2_f32, st_cos_f32, st_ip_f32, st_cos_f16, st_ip_f16;
INSERT INTO st_items (id, v)
SELECT 3000 + i, ARRAY(SELECT c.v[d] + (random() - 0.5)::real FROM generate_series(1, 96) d)
FROM generate_series(1, 500) i JOIN st_centres c ON c.c = 1 + (i * 13) % 60;
INSERT INTO st_items (id, v) SELECT 4000 + i, v FROM st_items, generate_series(1, 2) i WHERE id = 3001;
SELECT array_agg(id ORDER BY id) AS same_vector
FROM (SELECT id FROM st_items ORDER BY v <-> (SELECT v FROM st_items WHERE id = 3001) LIMIT 3) s;
SELECT s.elements, s.heap_tids FROM vechnsw_index_stats('st_l2_f16') s;
SET enable_seqscan = on;
SET enable_indexscan = off;
CREATE TEMP TABLE ex_new AS
SELECT i.id AS q, r.id FROM st_items i
  CROSS JOIN LATERAL (SELECT id FROM st_items ORDER BY v <-> i.v LIMIT 5) r
WHERE i.id BETWEEN 3001 AND 3050;
SET enable_seqscan = off;
RESET enable_indexscan;
-- recall@5 of 50 new rows (250 pairs): measured 1.000 (3 runs, identical);
-- floor 0.99 = margin 0.01 (2 of the 250 pairs)
SELECT round(count(*) / 250.0, 3) AS new_rows_recall, count(*) / 250.0 >= 0.99 AS above_floor
FROM ex_new JOIN (SELECT i.id AS q, r.id FROM st_items i
  CROSS JOIN LATERAL (SELECT id FROM st_items ORDER BY v <-> i.v LIMIT 5) r
  WHERE i.id BETWEEN 3001 AND 3050) ap USING (q, id);
INSERT INTO st_items (id, v) SELECT 5000, array_fill(65504, ARRAY[96])::real[];
INSERT INTO st_items (id, v) SELECT 5001, array_fill(0, ARRAY[95])::real[] || ARRAY[-70000]::real[];
-- the largest half-precision magnitude is kept: the row is found at
-- distance 0.  The query is far from every other row (all ~6.4e5 away, with
-- relative differences below the f16 bounds' slack), so the graph walk has
-- no gradient towards row 5000: at ef_search 40 only a continuation search
-- finds it, and vechnsw.scan_order = strict (the default) skips a row nearer
-- than one already returned.  This tests storage, not search, so the first
-- search is made wide enough to find it (measured: from ef_search = 120 on;
-- 1000 is the maximum).
SET vechnsw.ef_search = 1000;
SELECT id, v <-> array_fill(65504, ARRAY[96])::real[] AS distance
FROM st_items ORDER BY v <-> array_fill(65504, ARRAY[96])::real[] LIMIT 1;
RESET vechnsw.ef_search;
RESET enable_seqscan;

-- 7. CREATE INDEX refuses such a value too; cosine normalises first, so
--    there the magnitude does not matter.
CREATE TABLE st_big (id int, v real[]);
INSERT INTO st_big SELECT id, v FROM st_items WHERE id <= 100;
INSERT INTO st_big SELECT 5001, array_fill(0, ARRAY[95])::real[] || ARRAY[-70000]::real[];
CREATE INDEX st_big_l2 ON st_big USING vechnsw (v real_l2_ops) WITH (storage = f16);
CREATE INDEX st_big_l2 ON st_big USING vechnsw (v real_l2_ops) WITH (storage = f32);
CREATE INDEX st_big_cos ON st_big USING vechnsw (v real_cosine_ops) WITH (storage = f16);
SELECT s.elements FROM vechnsw_index_stats('st_big_cos') s;
SET enable_seqscan = off;
SELECT id FROM st_big ORDER BY v <=> (array_fill(0, ARRAY[95])::real[] || ARRAY[-1]::real[]) LIMIT 1;
RESET enable_seqscan;

-- 8. Subnormal, zero and negative values survive the round trip: the
--    nearest row to each stored vector is itself at distance 0.
CREATE TABLE st_small (id int, v real[]);
INSERT INTO st_small VALUES (1, '{1e-7,-1e-6,0,3e-5}'), (2, '{-2e-7,1e-6,0,-3e-5}'),
	(3, '{0.5,-0.25,1e-3,-1e-8}'), (4, '{65504,-65504,0.1,-0.1}');
CREATE INDEX ON st_small USING vechnsw (v real_l2_ops) WITH (storage = f16);
SET enable_seqscan = off;
SELECT a.id, (SELECT b.id FROM st_small b ORDER BY b.v <-> a.v LIMIT 1) AS nearest,
	   (SELECT b.v <-> a.v FROM st_small b ORDER BY b.v <-> a.v LIMIT 1) AS distance
FROM st_small a ORDER BY a.id;
RESET enable_seqscan;

-- 9. Extreme magnitudes do not break the bound the executor relies on: a
--    query whose squared norm underflows float (inner product), and a row
--    whose squared norm does (cosine; the operator itself redoes such sums
--    in double).
CREATE TABLE st_tiny (id int, v real[]);
INSERT INTO st_tiny VALUES (1, '{1.00044,1.00044}'), (2, '{1e-22,1e-22}'), (3, '{-1,0.5}'),
	(4, '{0.25,2}'), (5, '{3,-3}');
CREATE INDEX st_tiny_ip ON st_tiny USING vechnsw (v real_ip_ops) WITH (storage = f16);
CREATE INDEX st_tiny_cos ON st_tiny USING vechnsw (v real_cosine_ops) WITH (storage = f16);
SELECT round(('{1,0}'::real[] <=> '{1e-22,1e-22}'::real[])::numeric, 6) AS cos_tiny_row;
SET enable_seqscan = off;
SELECT id FROM st_tiny ORDER BY v <#> '{1e-24,1e-24}' LIMIT 5;
-- three rows tie at the same distance: their order among themselves is not
-- defined, so the outer query breaks the tie by id
SELECT id, d FROM (SELECT id, round((v <=> '{1,0}')::numeric, 6) AS d FROM st_tiny
	ORDER BY v <=> '{1,0}' LIMIT 5) s ORDER BY d, id;
RESET enable_seqscan;

DROP TABLE st_items, st_queries, st_centres, st_small, st_big, st_tiny;
DROP FUNCTION st_dist(text, real[], real[]);
