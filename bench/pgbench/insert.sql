-- vecidx pgbench writer: insert @B@ vectors (one transaction) taken from the
-- extra vectors of the data set, with new ids.
\set x random(0, @NXB@)
INSERT INTO @T@ (id, v) SELECT nextval('@SEQ@'), v FROM @X@ WHERE xid >= :x AND xid < :x + @B@;
