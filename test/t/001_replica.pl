# 001_replica.pl: vechnsw indexes on a streaming standby.
#
# The primary runs with wal_consistency_checking = 'generic', so the standby
# compares every page it rebuilds from a generic WAL record with the full
# page image the primary logged ("inconsistent page found" otherwise).  The
# index is built (in memory and spilling to disk), inserted into, vacuumed,
# truncated and reindexed; after each catch-up the standby must answer
# index scans exactly like the primary.  Finally the standby is promoted and
# its index is written to.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $dim = 16;

# random vector for the row numbered by column $g of the enclosing query
sub rand_vec
{
	my ($d, $g) = @_;
	return "ARRAY(SELECT random()::real FROM generate_series(1, $d) WHERE $g > 0)";
}

# 12 fixed query vectors; top-10 ids of each, one line per query
sub top10_sql
{
	my ($tbl, $op) = @_;
	return qq{
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT q, (SELECT string_agg(id::text, ',')
           FROM (SELECT id FROM $tbl ORDER BY v $op qv LIMIT 10) s)
FROM (SELECT q, ARRAY(SELECT ((q * 31 + d * 17) % 101) / 101.0 FROM generate_series(1, $dim) d)::real[] AS qv
      FROM generate_series(1, 12) q) qs
ORDER BY q;
};
}

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', qq{
wal_consistency_checking = 'generic'
shared_buffers = 16MB
# keep WAL for a standby that drops its connection during a burst (the
# parallel build with full-page images): CI once lost it to a recycled segment
wal_keep_size = '2GB'
});
$primary->start;
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# Compare both servers: identical top-10 answers (through the index on both)
# and identical index statistics.
sub compare_servers
{
	my ($what) = @_;
	$primary->wait_for_catchup($standby);
	for my $idx (['items_l2', '<->'], ['items_cos', '<=>'])
	{
		my ($name, $op) = @$idx;
		my $sql = top10_sql('items', $op);
		my $p = $primary->safe_psql('postgres', $sql);
		my $s = $standby->safe_psql('postgres', $sql);
		is($s, $p, "$what: standby answers $op queries like the primary");
		my $stats_sql =
		  "SELECT pages, elements, live_elements, deleted_elements, heap_tids, max_level, dimensions, free_elements, edges_to_deleted FROM vechnsw_index_stats('$name')";
		is( $standby->safe_psql('postgres', $stats_sql),
			$primary->safe_psql('postgres', $stats_sql),
			"$what: $name statistics equal on both");
	}
	my $plan = $standby->safe_psql('postgres',
		"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> '{1}' LIMIT 3");
	like($plan, qr/Index Scan using items_l2/, "$what: the standby scans the index");
}

$primary->safe_psql(
	'postgres', qq{
CREATE EXTENSION vecidx;
CREATE TABLE items (id int PRIMARY KEY, v real[]);
INSERT INTO items SELECT g, @{[ rand_vec($dim, 'g') ]} FROM generate_series(1, 3000) g;
CREATE INDEX items_l2 ON items USING vechnsw (v real_l2_ops);
SET maintenance_work_mem = '1MB';
CREATE INDEX items_cos ON items USING vechnsw (v real_cosine_ops) WITH (m = 8);
});
compare_servers('after build');

# single-row inserts (the insert path), an update, deletes and VACUUM
$primary->safe_psql(
	'postgres', qq{
INSERT INTO items SELECT g, @{[ rand_vec($dim, 'g') ]} FROM generate_series(3001, 4000) g;
UPDATE items SET v = @{[ rand_vec($dim, 'id') ]} WHERE id % 10 = 0;
DELETE FROM items WHERE id % 3 = 0;
INSERT INTO items SELECT g, '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}'
FROM generate_series(5001, 5020) g;
});
compare_servers('after inserts and deletes');

$primary->safe_psql('postgres', 'VACUUM items');
compare_servers('after VACUUM');

$primary->safe_psql(
	'postgres', qq{
INSERT INTO items SELECT g, @{[ rand_vec($dim, 'g') ]} FROM generate_series(6001, 6500) g;
DELETE FROM items WHERE id BETWEEN 5001 AND 5010;
DELETE FROM items WHERE id % 7 = 0;
VACUUM items;
INSERT INTO items SELECT g, @{[ rand_vec($dim, 'g') ]} FROM generate_series(7001, 7300) g;
});
compare_servers('after a second round of deletes, VACUUM and inserts');

# the delete lifecycle under wal_consistency_checking, 10 cycles under
# concurrent load (two pgbench clients inserting and querying while each
# cycle deletes, VACUUMs and reinserts): VACUUM repairs lists, frees
# elements (tuples shrink in place), inserts reuse the freed slots; after
# each cycle the standby catches up and answers like the primary
# (no autovacuum: the statistics are compared while no VACUUM runs)
$primary->safe_psql('postgres', 'CREATE SEQUENCE extra START 1000000; ALTER TABLE items SET (autovacuum_enabled = off)');
my $loaddir = $primary->basedir;
append_to_file("$loaddir/load.sql",
	"INSERT INTO items SELECT nextval('extra'), @{[ rand_vec($dim, 'g') ]} FROM generate_series(1, 2) g;\n"
	  . "SET enable_seqscan = off;\n"
	  . "SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id >= (SELECT 1 + (random() * 2999)::int) ORDER BY id LIMIT 1) LIMIT 10;\n");
for my $round (1 .. 10)
{
	my $base = 10000 * ($round + 1);
	my ($out, $err) = ('', '');
	my $load = IPC::Run::start(
		[ 'pgbench', '-n', '-T', '4', '-c', '2', '-j', '1', '-f', "$loaddir/load.sql", $primary->connstr('postgres') ],
		'<', \undef, '>', \$out, '2>', \$err);
	$primary->safe_psql(
		'postgres', qq{
DELETE FROM items WHERE (id * 7 + $round) % 2 = 0 AND id < 1000000;
VACUUM items;
INSERT INTO items SELECT g, @{[ rand_vec($dim, 'g') ]} FROM generate_series($base, $base + 1999) g;
});
	$load->finish;
	my ($failed) = $out =~ /number of failed transactions: (\d+)/;
	ok($out =~ /number of transactions actually processed: [1-9]/ && ($failed // 0) == 0 && $err !~ /ERROR|FATAL/,
		"churn round $round: the concurrent load ran without errors")
	  or diag("pgbench stdout:\n$out\nstderr:\n$err");
	compare_servers("churn round $round (delete half, VACUUM, reinsert, under load)");
	is( $primary->safe_psql(
			'postgres',
			"SELECT vechnsw_index_check('items_l2', true), vechnsw_index_check('items_cos', true)"),
		'|',
		"churn round $round: the checker finds nothing wrong on the primary");
	is( $standby->safe_psql(
			'postgres', "SELECT vechnsw_index_check('items_l2'), vechnsw_index_check('items_cos')"),
		'|',
		"churn round $round: the checker finds nothing wrong on the standby");
}
cmp_ok(
	$primary->safe_psql(
		'postgres',
		"SELECT free_elements < elements / 2 FROM vechnsw_index_stats('items_l2')"),
	'eq', 't', 'churn: reinserts took freed slots');

# an unlogged table's index (only its init fork reaches the standby)
$primary->safe_psql(
	'postgres', qq{
CREATE UNLOGGED TABLE ulog (id int, v real[]);
CREATE INDEX ulog_idx ON ulog USING vechnsw (v real_l2_ops);
INSERT INTO ulog SELECT g, @{[ rand_vec($dim, 'g') ]} FROM generate_series(1, 200) g;
});

$primary->safe_psql('postgres', 'REINDEX INDEX items_l2');
$primary->safe_psql('postgres', 'REINDEX INDEX CONCURRENTLY items_cos');
compare_servers('after REINDEX');

# parallel builds (workers insert into one shared graph; the leader writes
# and WAL-logs the pages), plain and CONCURRENTLY (MVCC snapshot)
my $parallel_settings = qq{
SET min_parallel_table_scan_size = 0;
SET max_parallel_maintenance_workers = 2;
SET maintenance_work_mem = '128MB';
SET client_min_messages = debug1;
};
my ($ret, $out, $err) = $primary->psql('postgres', $parallel_settings . 'REINDEX INDEX items_l2;');
is($ret, 0, 'parallel REINDEX succeeds');
like($err, qr/building index "items_l2" with [12] parallel workers/, 'REINDEX ran with parallel workers');
($ret, $out, $err) =
  $primary->psql('postgres', $parallel_settings . 'REINDEX INDEX CONCURRENTLY items_cos;');
is($ret, 0, 'parallel REINDEX CONCURRENTLY succeeds');
like($err, qr/with [12] parallel workers/, 'REINDEX CONCURRENTLY ran with parallel workers');
compare_servers('after parallel REINDEX');
is( $primary->safe_psql(
		'postgres',
		"SET enable_seqscan = off; SET vechnsw.ef_search = 200; SELECT count(*) FROM items i WHERE (SELECT v <-> i.v FROM items ORDER BY v <-> i.v LIMIT 1) > 0"
	),
	'0',
	'after the parallel build every row finds its own vector (distance 0) through the index');

$primary->safe_psql(
	'postgres', qq{
TRUNCATE items;
INSERT INTO items SELECT g, @{[ rand_vec($dim, 'g') ]} FROM generate_series(1, 1500) g;
});
compare_servers('after TRUNCATE and inserts');

# the index works on the primary: recall against the exact answer
my $recall = $primary->safe_psql(
	'postgres', qq{
CREATE TEMP TABLE qs AS SELECT q, ARRAY(SELECT ((q * 31 + d * 17) % 101) / 101.0 FROM generate_series(1, $dim) d)::real[] AS qv
FROM generate_series(1, 12) q;
SET enable_indexscan = off;
CREATE TEMP TABLE ex AS SELECT q, id FROM qs, LATERAL (SELECT id FROM items ORDER BY v <-> qv LIMIT 10) s;
RESET enable_indexscan;
SET enable_seqscan = off;
CREATE TEMP TABLE ap AS SELECT q, id FROM qs, LATERAL (SELECT id FROM items ORDER BY v <-> qv LIMIT 10) s;
SELECT (SELECT count(*) FROM ex JOIN ap USING (q, id)) / 120.0;
});
# (measured 1.0 in every run; floor 0.975: 3 of 120 answers)
cmp_ok($recall, '>=', 0.975, "recall\@10 on the primary ($recall, floor 0.975)");

# the standby survived every record, and logged no inconsistency
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby is up and in recovery');
my $log = slurp_file($standby->logfile);
unlike($log, qr/inconsistent page found/, 'no inconsistent page found on the standby');
unlike($log, qr/PANIC|TRAP:/, 'no PANIC or assertion failure on the standby');

# promote: the standby's copy of the index takes writes
$standby->promote;
$standby->safe_psql(
	'postgres', qq{
INSERT INTO items SELECT g, @{[ rand_vec($dim, 'g') ]} FROM generate_series(20001, 20200) g;
DELETE FROM items WHERE id % 5 = 0;
VACUUM (INDEX_CLEANUP on) items;
});
my $missing = $standby->safe_psql(
	'postgres', q{
SET enable_seqscan = off;
SET vechnsw.ef_search = 200;
SELECT count(*) FROM items o
WHERE o.id NOT IN (SELECT i.id FROM items i ORDER BY i.v <-> o.v LIMIT 5);
});
is($missing, '0', 'after promotion every row is found through the index');
is( $standby->safe_psql(
		'postgres',
		"SELECT heap_tids = (SELECT count(*) FROM items) FROM vechnsw_index_stats('items_l2')"),
	't',
	'after promotion and VACUUM the index has one TID per row');
is( $standby->safe_psql(
		'postgres',
		"SELECT vechnsw_index_check('items_l2', true), deleted_elements, edges_to_deleted FROM vechnsw_index_stats('items_l2')"),
	'|0|0',
	'after promotion VACUUM repairs and frees on the new primary, and the checker is clean');

$standby->stop;
$primary->stop;
done_testing();
