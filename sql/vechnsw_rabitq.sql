--
-- vechnsw_rabitq: the RaBitQ estimator and the two search modes.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vecidx;
RESET client_min_messages;

-- Clustered 64-d data (100 centres, seeded), 6,000 points, 40 queries.
SELECT setseed(0.25);
CREATE TABLE rq_centres AS
SELECT c, ARRAY(SELECT (random() * 4 - 2)::real FROM generate_series(1, 64) WHERE c > 0) AS v
FROM generate_series(1, 100) c;
CREATE TABLE rq_items (id int PRIMARY KEY, v real[]);
INSERT INTO rq_items
SELECT i, ARRAY(SELECT c.v[d] + ((random() - 0.5) * 2)::real FROM generate_series(1, 64) d)
FROM generate_series(1, 6000) i JOIN rq_centres c ON c.c = 1 + (i * 7919) % 100;
CREATE TABLE rq_queries AS
SELECT q, ARRAY(SELECT c.v[d] + ((random() - 0.5) * 2)::real FROM generate_series(1, 64) d) AS v
FROM generate_series(1, 40) q JOIN rq_centres c ON c.c = 1 + (q * 37) % 100;
CREATE TABLE rq_centroid AS
SELECT array_agg(a ORDER BY d)::real[] AS c
FROM (SELECT d, avg(v[d]) AS a FROM rq_items, generate_series(1, 64) d GROUP BY d) s;

-- 1. The estimator on 40 x 200 = 8,000 pairs: the error bound holds for at
--    least 99% of them, the estimate is unbiased (mean relative error within
--    1%), and it is informative (mean absolute relative error under 10%).
CREATE TEMP TABLE est AS
SELECT (r).estimate, (r).exact, (r).bound
FROM (SELECT vecidx_rabitq_debug(i.v, q.v, (SELECT c FROM rq_centroid), 7) AS r
	  FROM rq_queries q, rq_items i WHERE i.id % 30 = 0) s;
SELECT count(*) AS pairs,
	   avg(CASE WHEN abs(estimate - exact) <= bound THEN 1 ELSE 0 END) >= 0.99 AS bound_holds_99pct,
	   abs(avg((estimate - exact) / exact)) < 0.01 AS unbiased,
	   avg(abs(estimate - exact) / exact) < 0.10 AS informative
FROM est;
-- the same vector as query: estimate of distance 0 is within its bound
SELECT abs(estimate) <= bound + 1e-3 AS self_within_bound
FROM vecidx_rabitq_debug((SELECT v FROM rq_items WHERE id = 1), (SELECT v FROM rq_items WHERE id = 1),
						 (SELECT c FROM rq_centroid), 7);
-- different lengths are an error
SELECT * FROM vecidx_rabitq_debug('{1,2}', '{1,2,3}', '{0,0}', 1);

-- 2. Recall of both search modes, each metric, default settings but codes
--    on (bits = 1; the default is 0).
CREATE INDEX rq_l2 ON rq_items USING vechnsw (v real_l2_ops) WITH (bits = 1);
CREATE INDEX rq_cos ON rq_items USING vechnsw (v real_cosine_ops) WITH (bits = 1);
CREATE INDEX rq_ip ON rq_items USING vechnsw (v real_ip_ops) WITH (bits = 1);

SET enable_indexscan = off;
SET enable_bitmapscan = off;
CREATE TEMP TABLE ex AS
SELECT 'l2' AS metric, q.q, r.id FROM rq_queries q
	CROSS JOIN LATERAL (SELECT id FROM rq_items ORDER BY v <-> q.v LIMIT 10) r
UNION ALL
SELECT 'cos', q.q, r.id FROM rq_queries q
	CROSS JOIN LATERAL (SELECT id FROM rq_items ORDER BY v <=> q.v LIMIT 10) r
UNION ALL
SELECT 'ip', q.q, r.id FROM rq_queries q
	CROSS JOIN LATERAL (SELECT id FROM rq_items ORDER BY v <#> q.v LIMIT 10) r;
RESET enable_indexscan;
RESET enable_bitmapscan;
SET enable_seqscan = off;

CREATE FUNCTION rq_recall(mode text) RETURNS TABLE (metric text, recall numeric)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SET vechnsw.search_mode = %s', mode);
	RETURN QUERY
	WITH got AS (
		SELECT 'l2' AS metric, q.q, r.id FROM rq_queries q
			CROSS JOIN LATERAL (SELECT id FROM rq_items ORDER BY v <-> q.v LIMIT 10) r
		UNION ALL
		SELECT 'cos', q.q, r.id FROM rq_queries q
			CROSS JOIN LATERAL (SELECT id FROM rq_items ORDER BY v <=> q.v LIMIT 10) r
		UNION ALL
		SELECT 'ip', q.q, r.id FROM rq_queries q
			CROSS JOIN LATERAL (SELECT id FROM rq_items ORDER BY v <#> q.v LIMIT 10) r)
	SELECT e.metric, count(g.id)::numeric / count(*)
	FROM ex e LEFT JOIN got g USING (metric, q, id)
	GROUP BY e.metric;
	RESET vechnsw.search_mode;
END $$;

SELECT metric, recall >= 0.95 AS recall_ok FROM rq_recall('rabitq') ORDER BY metric;
SELECT metric, recall >= 0.95 AS recall_ok FROM rq_recall('exact') ORDER BY metric;

-- The work counters: on the same index and queries, the RaBitQ walk computes
-- far fewer exact distances and reads fewer pages than the exact walk (it
-- estimates the rest from codes), and the exact walk estimates nothing.
CREATE FUNCTION rq_work(mode text) RETURNS TABLE (searches bigint, page_reads bigint,
	exact_distances bigint, estimates bigint)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SET vechnsw.search_mode = %s', mode);
	PERFORM vechnsw_search_counters(true);
	PERFORM count(*) FROM rq_queries q
		CROSS JOIN LATERAL (SELECT id FROM rq_items ORDER BY v <-> q.v LIMIT 10) r;
	RETURN QUERY SELECT c.searches, c.page_reads, c.exact_distances, c.estimates
		FROM vechnsw_search_counters(true) c;
	RESET vechnsw.search_mode;
END $$;
SELECT r.searches AS searches_rabitq, e.searches AS searches_exact,
	   r.exact_distances * 2 < e.exact_distances AS rabitq_halves_exact_distances,
	   r.page_reads < e.page_reads AS rabitq_reads_fewer_pages,
	   r.estimates > 0 AS rabitq_estimates, e.estimates AS exact_estimates
FROM rq_work('rabitq') r, rq_work('exact') e;

-- 3. Both modes return rows in exact distance order with exact distances.
SET vechnsw.search_mode = rabitq;
SELECT bool_and(d >= lag_d) AS ordered, bool_and(d = l2_distance(v, (SELECT v FROM rq_queries WHERE q = 3))) AS exact
FROM (SELECT v, v <-> (SELECT v FROM rq_queries WHERE q = 3) AS d,
			 lag(v <-> (SELECT v FROM rq_queries WHERE q = 3), 1, 0) OVER (ORDER BY v <-> (SELECT v FROM rq_queries WHERE q = 3)) AS lag_d
	  FROM (SELECT v FROM rq_items ORDER BY v <-> (SELECT v FROM rq_queries WHERE q = 3) LIMIT 100) s) t;

-- 4. An index without codes (bits = 0) is smaller and still answers in
--    rabitq mode (it walks with exact distances).
CREATE INDEX rq_l2_nocodes ON rq_items USING vechnsw (v real_l2_ops) WITH (bits = 0);
SELECT pg_relation_size('rq_l2_nocodes') < pg_relation_size('rq_l2') AS smaller_without_codes;
DROP INDEX rq_l2;
SELECT metric, recall >= 0.95 AS recall_ok FROM rq_recall('rabitq') WHERE metric = 'l2';

CREATE INDEX ON rq_items USING vechnsw (v real_l2_ops) WITH (bits = 2);

-- 5. Inserts into an index created empty carry codes too.
CREATE TABLE rq_items2 (id int, v real[]);
CREATE INDEX rq_items2_idx ON rq_items2 USING vechnsw (v real_l2_ops) WITH (bits = 1);
INSERT INTO rq_items2 SELECT id, v FROM rq_items;
SELECT elements, heap_tids, dimensions FROM vechnsw_index_stats('rq_items2_idx');
SET vechnsw.search_mode = rabitq;
SELECT avg(hit) >= 0.95 AS recall_ok FROM (
	SELECT (SELECT count(*) FROM (SELECT id FROM rq_items2 ORDER BY v <-> q.v LIMIT 10) g
			WHERE g.id IN (SELECT id FROM ex WHERE ex.metric = 'l2' AND ex.q = q.q)) / 10.0 AS hit
	FROM rq_queries q) s;

RESET enable_seqscan;
RESET vechnsw.search_mode;
DROP TABLE rq_items, rq_items2, rq_queries, rq_centres, rq_centroid;
DROP FUNCTION rq_recall(text);
DROP FUNCTION rq_work(text);
