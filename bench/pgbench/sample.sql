-- vecidx pgbench sampled reader: the same search as reader.sql, plus the exact
-- answer on the same snapshot (REPEATABLE READ, index scans off), both kept in
-- @LOG@ with their distances so that run.sh can compute the recall afterwards
-- (tie-aware: writers insert copies of the same extra vectors).
\set q random(0, @NQ1@)
BEGIN ISOLATION LEVEL REPEATABLE READ;
INSERT INTO @LOG@ (qid, ann, ann_d) SELECT :q, array_agg(id ORDER BY d, id), array_agg(d ORDER BY d, id) FROM (SELECT id, v @OP@ (SELECT v FROM @Q@ WHERE qid = :q) AS d FROM @T@ ORDER BY v @OP@ (SELECT v FROM @Q@ WHERE qid = :q) LIMIT @K@) s RETURNING lid \gset
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
SET LOCAL max_parallel_workers_per_gather = 0;
SET LOCAL jit = off;
UPDATE @LOG@ SET (exact, exact_d) = (SELECT array_agg(id ORDER BY d, id), array_agg(d ORDER BY d, id) FROM (SELECT id, v @OP@ (SELECT v FROM @Q@ WHERE qid = :q) AS d FROM @T@ ORDER BY v @OP@ (SELECT v FROM @Q@ WHERE qid = :q) LIMIT @K@) s) WHERE lid = :lid;
COMMIT;
