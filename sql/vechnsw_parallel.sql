--
-- vechnsw_parallel: CREATE INDEX with parallel workers inserting into one
-- graph in shared memory.  The planner's rules decide the worker count
-- (max_parallel_maintenance_workers, min_parallel_table_scan_size,
-- maintenance_work_mem); a DEBUG1 message names it.  Levels come from one
-- seeded stream per participant, so the graph differs from a serial build:
-- only counts and recall floors are checked.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vecidx;
RESET client_min_messages;

-- 6,000 rows of 48-d points around 40 seeded centres; 60 of them repeat
-- another row's vector (they share its element); 30 queries.
SELECT setseed(0.75);
CREATE TABLE pb_centres AS
SELECT c, ARRAY(SELECT (random() * 2 - 1)::real FROM generate_series(1, 48) WHERE c > 0) AS v
FROM generate_series(1, 40) c;
CREATE TABLE pb_items (id int PRIMARY KEY, v real[]);
INSERT INTO pb_items
SELECT i, ARRAY(SELECT c.v[d] + (random() - 0.5)::real FROM generate_series(1, 48) d)
FROM generate_series(1, 5940) i JOIN pb_centres c ON c.c = 1 + (i * 7919) % 40;
INSERT INTO pb_items SELECT 10000 + id, v FROM pb_items WHERE id <= 60;
CREATE TABLE pb_queries AS
SELECT q, ARRAY(SELECT c.v[d] + (random() - 0.5)::real FROM generate_series(1, 48) d) AS v
FROM generate_series(1, 30) q JOIN pb_centres c ON c.c = 1 + (q * 11) % 40;

SET enable_indexscan = off;
SET enable_bitmapscan = off;
CREATE TEMP TABLE ex_l2 AS
SELECT q.q, r.id FROM pb_queries q
  CROSS JOIN LATERAL (SELECT id FROM pb_items ORDER BY v <-> q.v LIMIT 10) r;
CREATE TEMP TABLE ex_cos AS
SELECT q.q, r.id FROM pb_queries q
  CROSS JOIN LATERAL (SELECT id FROM pb_items ORDER BY v <=> q.v LIMIT 10) r;
RESET enable_indexscan;
RESET enable_bitmapscan;

-- 1. Two workers (and the leader) build the index.
SET min_parallel_table_scan_size = 0;
SET max_parallel_maintenance_workers = 2;
SET maintenance_work_mem = '128MB';
SET client_min_messages = debug1;
CREATE INDEX pb_l2 ON pb_items USING vechnsw (v real_l2_ops);
CREATE INDEX pb_cos ON pb_items USING vechnsw (v real_cosine_ops) WITH (bits = 1, storage = f16);
RESET client_min_messages;
-- every row is in the index once; identical vectors share an element when
-- the second finds the first (participants inserting both at the same
-- time may each make one)
SELECT relname, s.elements BETWEEN 5940 AND 6000 AS elements_ok, s.heap_tids, s.dimensions
FROM pg_class, vechnsw_index_stats(pg_class.oid) s
WHERE relname IN ('pb_l2', 'pb_cos') ORDER BY relname;

SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM pb_items ORDER BY v <-> (SELECT v FROM pb_queries WHERE q = 1) LIMIT 10;
SELECT count(*) / 300.0 >= 0.95 AS l2_recall_ok
FROM ex_l2 JOIN (SELECT q.q, r.id FROM pb_queries q
  CROSS JOIN LATERAL (SELECT id FROM pb_items ORDER BY v <-> q.v LIMIT 10) r) ap USING (q, id);
SELECT count(*) / 300.0 >= 0.95 AS cos_recall_ok
FROM ex_cos JOIN (SELECT q.q, r.id FROM pb_queries q
  CROSS JOIN LATERAL (SELECT id FROM pb_items ORDER BY v <=> q.v LIMIT 10) r) ap USING (q, id);
-- rows find themselves (the duplicated ones among their two nearest)
SELECT count(*) / 260.0 >= 0.95 AS rows_find_themselves
FROM pb_items i
WHERE i.id IN (SELECT id FROM pb_items ORDER BY v <-> i.v LIMIT 2)
  AND (i.id <= 200 OR i.id > 10000);
RESET enable_seqscan;

-- 2. The index takes inserts and VACUUM like a serially built one.
INSERT INTO pb_items
SELECT 20000 + i, ARRAY(SELECT c.v[d] + (random() - 0.5)::real FROM generate_series(1, 48) d)
FROM generate_series(1, 200) i JOIN pb_centres c ON c.c = 1 + i % 40;
DELETE FROM pb_items WHERE id % 10 = 0;
VACUUM pb_items;
SELECT s.elements >= 6000, s.heap_tids FROM vechnsw_index_stats('pb_l2') s;
DROP INDEX pb_l2, pb_cos;

-- 3. Statistics that promise far fewer rows than the table holds: the
--    shared graph fills up, the participants stop and the leader builds
--    the index serially instead (DEBUG1 says so); nothing is lost.
CREATE TABLE pb_skew (id int, v real[], pad text);
ALTER TABLE pb_skew ALTER COLUMN pad SET STORAGE PLAIN;
INSERT INTO pb_skew SELECT id, v, repeat('x', 3000) FROM pb_items WHERE id <= 100;
VACUUM ANALYZE pb_skew;
INSERT INTO pb_skew SELECT id, v, NULL FROM pb_items WHERE id > 100;
SET client_min_messages = debug1;
CREATE INDEX pb_skew_l2 ON pb_skew USING vechnsw (v real_l2_ops);
RESET client_min_messages;
SELECT (SELECT count(*) FROM pb_skew) AS rows, s.heap_tids FROM vechnsw_index_stats('pb_skew_l2') s;

-- 4. No parallel build when the settings allow none.
SET max_parallel_maintenance_workers = 0;
SET client_min_messages = debug1;
CREATE INDEX pb_serial ON pb_items USING vechnsw (v real_l2_ops);
RESET client_min_messages;

DROP TABLE pb_items, pb_centres, pb_queries, pb_skew;
