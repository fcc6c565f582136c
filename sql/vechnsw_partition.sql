--
-- vechnsw_partition: scale-out on PostgreSQL's own partitioning.  A
-- hash-partitioned table with one vechnsw index per partition (created
-- through the partitioned index) answers ORDER BY <distance> LIMIT k with a
-- Merge Append of per-partition index scans, and its answers equal those of
-- the same rows in one table and of an exact scan.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vecidx;
RESET client_min_messages;

CREATE TABLE pv (id int, v real[]) PARTITION BY HASH (id);
CREATE TABLE pv0 PARTITION OF pv FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE pv1 PARTITION OF pv FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE pv2 PARTITION OF pv FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE pv3 PARTITION OF pv FOR VALUES WITH (MODULUS 4, REMAINDER 3);
CREATE TABLE uv (id int, v real[]);
SELECT setseed(0.42);
INSERT INTO uv SELECT i, (SELECT array_agg(round(random() * 1000)::real) FROM generate_series(1, 8) WHERE i > 0)
FROM generate_series(1, 4000) i;
INSERT INTO pv SELECT * FROM uv;
-- one statement indexes every partition (and partitions attached later)
CREATE INDEX pv_v ON pv USING vechnsw (v);
CREATE INDEX uv_v ON uv USING vechnsw (v);
SELECT c.relname, am.amname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	JOIN pg_class p ON p.oid = i.inhparent JOIN pg_am am ON am.oid = c.relam
WHERE p.relname = 'pv_v' ORDER BY 1;
ANALYZE pv, uv;

SET enable_seqscan = off;
SET vechnsw.ef_search = 100;
EXPLAIN (COSTS OFF) SELECT id FROM pv ORDER BY v <-> '{500,500,500,500,500,500,500,500}' LIMIT 10;

-- 25 queries: partitioned (merge of four index scans), one table (one index
-- scan) and exact (no index) give the same ids in the same order
CREATE FUNCTION pg_temp.top(tbl text, q real[], use_index bool) RETURNS int[] LANGUAGE plpgsql AS $f$
DECLARE
	r int[];
BEGIN
	PERFORM set_config('enable_indexscan', CASE WHEN use_index THEN 'on' ELSE 'off' END, true);
	PERFORM set_config('enable_seqscan', CASE WHEN use_index THEN 'off' ELSE 'on' END, true);
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %I ORDER BY v <-> $1, id LIMIT 10) s', tbl)
		INTO r USING q;
	RETURN r;
END $f$;
CREATE TEMP TABLE qs AS
SELECT g AS qid, (SELECT array_agg(round(random() * 1000)::real) FROM generate_series(1, 8) WHERE g > 0) AS q
FROM generate_series(1, 25) g;
SELECT count(*) AS queries,
	   count(*) FILTER (WHERE pg_temp.top('pv', q, true) = pg_temp.top('uv', q, true)) AS partitioned_equals_one_table,
	   count(*) FILTER (WHERE pg_temp.top('pv', q, true) = pg_temp.top('uv', q, false)) AS partitioned_equals_exact
FROM qs;
-- the merged stream is in distance order, also past ef_search
SELECT bool_and(d >= prev) AS ordered, count(*) AS rows
FROM (SELECT d, lag(d, 1, 0::float8) OVER (ORDER BY n) AS prev
	  FROM (SELECT v <-> '{1,2,3,4,5,6,7,8}' AS d, row_number() OVER () AS n
			FROM (SELECT v FROM pv ORDER BY v <-> '{1,2,3,4,5,6,7,8}' LIMIT 300) s) t) u;
-- a partition attached later gets its own index from the partitioned one
ALTER TABLE pv DETACH PARTITION pv3;
DROP INDEX pv3_v_idx;
UPDATE pv3 SET v = '{500,500,500,500,500,500,500,500}' WHERE id = (SELECT min(id) FROM pv3);
ALTER TABLE pv ATTACH PARTITION pv3 FOR VALUES WITH (MODULUS 4, REMAINDER 3);
SELECT c.relname, am.amname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	JOIN pg_class p ON p.oid = i.inhparent JOIN pg_am am ON am.oid = c.relam
WHERE p.relname = 'pv_v' ORDER BY 1;
SELECT (SELECT id FROM pv ORDER BY v <-> '{500,500,500,500,500,500,500,500}' LIMIT 1) =
	   (SELECT min(id) FROM pv3) AS found_in_attached_partition;
RESET enable_seqscan;
RESET vechnsw.ef_search;
DROP TABLE pv, uv;
