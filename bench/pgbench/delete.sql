-- vecidx pgbench deleter: delete up to @B@ rows with consecutive ids (one transaction).
\set d random(0, @N1@)
DELETE FROM @T@ WHERE id >= :d AND id < :d + @B@;
