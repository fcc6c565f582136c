-- vecidx pgbench reader: one k-NN search for a random stored query vector.
-- @NAME@ placeholders are filled in by run.sh.
\set q random(0, @NQ1@)
SELECT id FROM @T@ ORDER BY v @OP@ (SELECT v FROM @Q@ WHERE qid = :q) LIMIT @K@;
