#!/usr/bin/env python3
# bench/recall_after.py GT_FILE N NQ EFS
#
# Recall@10 of a synthetic 512-d cosine table's vechnsw index after rows were inserted
# and deleted in place (scale.sh's 'write' step), for the first NQ queries at each
# ef_search in EFS (comma-separated), when the write step's own recall pass did not run.
# The exact top-10 of the rows alive: of the rows in GT_FILE's cached top-100 (bench/data)
# that are still in the table, plus every inserted row (id >= N), the 10 nearest by <=>
# in SQL. Right while at least 10 of a query's top-100 are alive (a 10 % delete leaves
# about 90). Connects with psql as PGHOST/PGPORT/PGUSER/PGDATABASE say; leaves two tables
# (gt_after, exact_after) behind.
import struct, subprocess, sys
gtpath, n, nq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
efs = sys.argv[4].split(',')
t = 'vb_syn_%d_512_cosine' % n
with open(gtpath, 'rb') as f:
    magic, gnq, K, metric = struct.unpack('<4I', f.read(16))
    ids = struct.unpack('<%di' % (gnq * K), f.read(4 * gnq * K))
rows = '\n'.join('%d\t%d\t%d' % (q, r, ids[q * K + r]) for q in range(nq) for r in range(K))
def psql(sql, inp=None):
    return subprocess.run(['psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql] if inp is None else
                          ['psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-f', '-'],
                          input=inp, capture_output=True, text=True, check=True).stdout
psql(None, "DROP TABLE IF EXISTS gt_after; CREATE TABLE gt_after (qid int, rnk int, id bigint);\n"
     "COPY gt_after FROM STDIN;\n" + rows + "\n\\.\n")
psql("""DROP TABLE IF EXISTS exact_after; CREATE TABLE exact_after AS
  SELECT q.qid, s.id FROM %s_q q, LATERAL (
    SELECT c.id FROM (SELECT b.id, b.v <=> q.v AS d FROM %s b
                      WHERE b.id = ANY (ARRAY(SELECT g.id FROM gt_after g WHERE g.qid = q.qid))
                         OR b.id >= %d) c
    ORDER BY c.d LIMIT 10) s WHERE q.qid < %d""" % (t, t, n, nq))
for ef in efs:
    out = psql(None, """SET enable_seqscan = off; SET vechnsw.ef_search = %s;
      SELECT round(avg(hit)::numeric, 4) FROM (
        SELECT q.qid, (SELECT count(*) FROM exact_after e WHERE e.qid = q.qid AND e.id = ANY (r.ids))::float / 10 AS hit
        FROM %s_q q, LATERAL (SELECT array_agg(id) AS ids FROM (SELECT id FROM %s ORDER BY v <=> q.v LIMIT 10) x) r
        WHERE q.qid < %d) z;""" % (ef, t, t, nq))
    print('ef_search', ef, 'recall@10 after', out.strip().splitlines()[-1])
