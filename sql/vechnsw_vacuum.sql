--
-- vechnsw_vacuum: the delete lifecycle.  VACUUM removes dead heap TIDs,
-- repairs every list that named an element left without rows, frees those
-- elements (tombstones: no vector kept), and later inserts reuse the freed
-- slots before the index grows.  vechnsw_index_check() must find nothing
-- wrong at every step; vechnsw_index_stats() shows what is left.
--
-- Recall figures under churn are printed and checked by
-- test/t/005_delete_lifecycle.pl; here every answer is exact (small tables,
-- ef_search 1000: an index scan reaches every element of a connected graph).
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vecidx;
RESET client_min_messages;

-- deterministic 8-d vectors, no two alike
CREATE FUNCTION pg_temp.vec(i int) RETURNS real[] LANGUAGE sql IMMUTABLE AS $$
	SELECT ARRAY(SELECT (sin(i * 0.7 + d * 1.3) * 10 + cos(i * 0.11 * d))::real
				 FROM generate_series(1, 8) d)
$$;

-- the index's top-k ids equal an exact scan's for n queries
CREATE FUNCTION pg_temp.agree(tbl text, n int, k int) RETURNS bigint
LANGUAGE plpgsql AS $f$
DECLARE
	good bigint := 0;
	a int[];
	b int[];
BEGIN
	FOR q IN 1..n LOOP
		PERFORM set_config('enable_seqscan', 'off', true);
		PERFORM set_config('enable_indexscan', 'on', true);
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v <-> pg_temp.vec(%s) LIMIT %s) s',
					   tbl, -q, k) INTO a;
		PERFORM set_config('enable_seqscan', 'on', true);
		PERFORM set_config('enable_indexscan', 'off', true);
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v <-> pg_temp.vec(%s) LIMIT %s) s',
					   tbl, -q, k) INTO b;
		IF a = b THEN
			good := good + 1;
		END IF;
	END LOOP;
	PERFORM set_config('enable_seqscan', 'on', true);
	PERFORM set_config('enable_indexscan', 'on', true);
	RETURN good;
END
$f$;

SET vechnsw.ef_search = 1000;

-- 1. Edge cleanup: 1,000 rows, delete 500, VACUUM.
CREATE TABLE vt (id int, v real[]) WITH (autovacuum_enabled = off);
INSERT INTO vt SELECT i, pg_temp.vec(i) FROM generate_series(1, 1000) i;
CREATE INDEX vt_idx ON vt USING vechnsw (v real_l2_ops);
SELECT vechnsw_index_check('vt_idx', true);
DELETE FROM vt WHERE id % 2 = 0;
-- before VACUUM the elements still hold their (dead) rows' TIDs
SELECT live_elements, deleted_elements, free_elements, edges_to_deleted
FROM vechnsw_index_stats('vt_idx');
VACUUM vt;
-- no element without rows is left, no list names one, none lost its way
SELECT elements, live_elements, deleted_elements, free_elements, heap_tids,
	   edges_to_deleted, stale_edges, unreachable_elements
FROM vechnsw_index_stats('vt_idx');
SELECT vechnsw_index_check('vt_idx', true);
SELECT pg_temp.agree('vt', 20, 10) AS agree_of_20;
-- a deleted row is never returned, even when everything is asked for
SET enable_seqscan = off;
SELECT count(*) AS rows, count(*) FILTER (WHERE id % 2 = 0) AS deleted_returned
FROM (SELECT id FROM vt ORDER BY v <-> pg_temp.vec(7) LIMIT 2000) s;
RESET enable_seqscan;

-- 2. Recycling: insert 100, delete all, VACUUM, insert 100 new ones.
CREATE TABLE vr (id int, v real[]) WITH (autovacuum_enabled = off);
CREATE INDEX vr_idx ON vr USING vechnsw (v real_l2_ops);
INSERT INTO vr SELECT i, pg_temp.vec(i) FROM generate_series(1, 100) i;
SELECT pg_relation_size('vr_idx') AS size_100 \gset
DELETE FROM vr;
VACUUM vr;
SELECT elements, live_elements, free_elements FROM vechnsw_index_stats('vr_idx');
SELECT vechnsw_index_check('vr_idx', true);
INSERT INTO vr SELECT i, pg_temp.vec(i) FROM generate_series(101, 200) i;
-- (most new elements take a freed slot; the rest fit on the same pages)
SELECT pg_relation_size('vr_idx') = :size_100 AS did_not_grow, live_elements,
	   free_elements < 100 - 50 AS slots_reused
FROM vechnsw_index_stats('vr_idx');
SELECT vechnsw_index_check('vr_idx', true);
SELECT pg_temp.agree('vr', 10, 10) AS agree_of_10;

-- 3. Tombstones: insert 1,000, delete all, VACUUM: every slot is free and
-- the graph is empty; later inserts go into those pages first.
CREATE TABLE vz (id int, v real[]) WITH (autovacuum_enabled = off);
INSERT INTO vz SELECT i, pg_temp.vec(i) FROM generate_series(1, 1000) i;
CREATE INDEX vz_idx ON vz USING vechnsw (v real_l2_ops);
SELECT pages AS pages_1000 FROM vechnsw_index_stats('vz_idx') \gset
DELETE FROM vz;
VACUUM vz;
SELECT pages = :pages_1000 AS same_pages, elements, live_elements, deleted_elements,
	   free_elements, heap_tids, unreachable_elements
FROM vechnsw_index_stats('vz_idx');
SELECT vechnsw_index_check('vz_idx', true);
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM vz ORDER BY v <-> pg_temp.vec(1) LIMIT 5) s;
RESET enable_seqscan;
INSERT INTO vz SELECT i, pg_temp.vec(i) FROM generate_series(2001, 2010) i;
SELECT pages = :pages_1000 AS same_pages, live_elements, free_elements
FROM vechnsw_index_stats('vz_idx');
SELECT vechnsw_index_check('vz_idx', true);
SELECT pg_temp.agree('vz', 5, 5) AS agree_of_5;

-- 4. Almost everything deleted: the entry point moves to a live element.
CREATE TABLE ve (id int, v real[]) WITH (autovacuum_enabled = off);
INSERT INTO ve SELECT i, pg_temp.vec(i) FROM generate_series(1, 2000) i;
CREATE INDEX ve_idx ON ve USING vechnsw (v real_l2_ops) WITH (m = 4);
DELETE FROM ve WHERE id > 20;
VACUUM ve;
SELECT live_elements, free_elements, edges_to_deleted, unreachable_elements
FROM vechnsw_index_stats('ve_idx');
SELECT vechnsw_index_check('ve_idx', true);
SELECT pg_temp.agree('ve', 10, 10) AS agree_of_10;

-- 5. Codes (bits = 1) and half-precision storage go through the same
-- lifecycle: codes travel with repaired edges, slots are reused.
CREATE TABLE vc (id int, v real[]) WITH (autovacuum_enabled = off);
INSERT INTO vc SELECT i, pg_temp.vec(i) || pg_temp.vec(i + 5000) || pg_temp.vec(i + 9000)
	|| pg_temp.vec(i + 13000) FROM generate_series(1, 600) i;
CREATE INDEX vc_codes ON vc USING vechnsw (v real_l2_ops) WITH (bits = 1);
CREATE INDEX vc_f16 ON vc USING vechnsw (v real_l2_ops) WITH (storage = f16);
DELETE FROM vc WHERE id % 3 <> 0;
VACUUM vc;
INSERT INTO vc SELECT i, pg_temp.vec(i) || pg_temp.vec(i + 5000) || pg_temp.vec(i + 9000)
	|| pg_temp.vec(i + 13000) FROM generate_series(601, 800) i;
SELECT 'vc_codes' AS idx, live_elements, edges_to_deleted, stale_edges, unreachable_elements
FROM vechnsw_index_stats('vc_codes')
UNION ALL
SELECT 'vc_f16', live_elements, edges_to_deleted, stale_edges, unreachable_elements
FROM vechnsw_index_stats('vc_f16');
SELECT vechnsw_index_check('vc_codes', true), vechnsw_index_check('vc_f16', true);
-- both indexes answer like an exact scan (top 10 of 10 queries, each mode)
CREATE FUNCTION pg_temp.agree_vc(idx text) RETURNS bigint LANGUAGE plpgsql AS $f$
DECLARE
	good bigint := 0;
	a int[];
	b int[];
	q real[];
BEGIN
	FOR i IN 1..10 LOOP
		q := pg_temp.vec(-i) || pg_temp.vec(-i - 1) || pg_temp.vec(-i - 2) || pg_temp.vec(-i - 3);
		PERFORM set_config('enable_seqscan', 'off', true);
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM vc ORDER BY v <-> %L::real[] LIMIT 10) s', q) INTO a;
		PERFORM set_config('enable_seqscan', 'on', true);
		PERFORM set_config('enable_indexscan', 'off', true);
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM vc ORDER BY v <-> %L::real[] LIMIT 10) s', q) INTO b;
		PERFORM set_config('enable_indexscan', 'on', true);
		IF a = b THEN
			good := good + 1;
		END IF;
	END LOOP;
	RETURN good;
END
$f$;
BEGIN;
DROP INDEX vc_f16;
SET LOCAL vechnsw.search_mode = rabitq;
SELECT pg_temp.agree_vc('vc_codes') AS codes_rabitq_agree;
SET LOCAL vechnsw.search_mode = exact;
SELECT pg_temp.agree_vc('vc_codes') AS codes_exact_agree;
ROLLBACK;
BEGIN;
DROP INDEX vc_codes;
SELECT pg_temp.agree_vc('vc_f16') AS f16_agree;
ROLLBACK;

-- 6. Errors: the checker and the statistics on things that are not vechnsw
-- indexes.
\set VERBOSITY terse
SELECT vechnsw_index_check('vt');
SELECT vechnsw_index_check(0);
SELECT * FROM vechnsw_index_stats(0);
\set VERBOSITY default

DROP TABLE vt, vr, vz, ve, vc;

-- 7. The upgrade from 0.1.0 (what CREATE EXTENSION runs too): the checker
-- and the new statistics columns arrive.
SET client_min_messages = warning;
DROP EXTENSION vecidx CASCADE;
CREATE EXTENSION vecidx VERSION '0.1.0';
RESET client_min_messages;
SELECT to_regprocedure('vechnsw_index_check(regclass,boolean)') IS NULL AS no_checker_in_010;
ALTER EXTENSION vecidx UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'vecidx';
SELECT to_regprocedure('vechnsw_index_check(regclass,boolean)') IS NOT NULL AS checker,
	   (SELECT count(*) FROM unnest((SELECT proargnames FROM pg_proc WHERE proname = 'vechnsw_index_stats'))) AS stats_arguments;
