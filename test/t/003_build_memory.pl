# 003_build_memory.pl: an index build that does not fit into
# maintenance_work_mem (1MB for 20,000 64-d vectors = 5 MB of vectors alone)
# says so with a NOTICE, goes on inserting on disk, and gives an index as good
# as an in-memory build: every row indexed, recall@10 >= 0.9 against exact
# scans.  The same build with plenty of memory gives no NOTICE.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 64;
my $n = 20000;

my $node = PostgreSQL::Test::Cluster->new('buildmem');
$node->init;
$node->append_conf('postgresql.conf', "shared_buffers = 64MB\n");
$node->start;

# clustered data: 100 centres uniform in [-1,1]^64, points = centre + uniform
# noise in +-0.5 per coordinate
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION vecidx;
SELECT setseed(0.75);
CREATE TABLE centres AS
SELECT c, ARRAY(SELECT (random() * 2 - 1)::real FROM generate_series(1, $dim) WHERE c >= 0) AS v
FROM generate_series(0, 99) c;
CREATE TABLE items (id int PRIMARY KEY, v real[]);
INSERT INTO items
SELECT i, ARRAY(SELECT c.v[d] + (random() - 0.5)::real FROM generate_series(1, $dim) d)
FROM generate_series(1, $n) i JOIN centres c ON c.c = (i * 7919) % 100;
CREATE TABLE queries AS
SELECT q, ARRAY(SELECT c.v[d] + (random() - 0.5)::real FROM generate_series(1, $dim) d) AS qv
FROM generate_series(1, 30) q JOIN centres c ON c.c = (q * 37) % 100;
VACUUM ANALYZE items;
SET enable_indexscan = off;
CREATE TABLE exact AS SELECT q, id FROM queries, LATERAL (SELECT id FROM items ORDER BY v <-> qv LIMIT 10) s;
});

sub recall
{
	my ($mode) = @_;
	return $node->safe_psql(
		'postgres', qq{
SET enable_seqscan = off;
SET vechnsw.search_mode = $mode;
CREATE TEMP TABLE approx AS SELECT q, id FROM queries, LATERAL (SELECT id FROM items ORDER BY v <-> qv LIMIT 10) s;
SELECT (SELECT count(*) FROM exact JOIN approx USING (q, id)) / 300.0;
});
}

sub check_index
{
	my ($what) = @_;
	is( $node->safe_psql('postgres', "SELECT elements, heap_tids, dimensions FROM vechnsw_index_stats('items_v_idx')"),
		"$n|$n|$dim", "$what: every row indexed once");
	for my $mode ('rabitq', 'exact')
	{
		my $r = recall($mode);
		cmp_ok($r, '>=', 0.9, "$what: recall\@10 against exact scans, search_mode $mode ($r)");
	}
	my $missing = $node->safe_psql(
		'postgres', q{
SET enable_seqscan = off;
SET vechnsw.ef_search = 100;
SELECT count(*) FROM items o
WHERE o.id % 50 = 0 AND o.id NOT IN (SELECT i.id FROM items i ORDER BY i.v <-> o.v LIMIT 5);
});
	is($missing, '0', "$what: a sample of 400 rows each finds itself through the index");
}

my ($ret, $stdout, $stderr);

# in memory
($ret, $stdout, $stderr) = $node->psql(
	'postgres', q{
SET maintenance_work_mem = '512MB';
SET client_min_messages = notice;
CREATE INDEX items_v_idx ON items USING vechnsw (v real_l2_ops);
});
is($ret, 0, 'in-memory build succeeds');
unlike($stderr, qr/maintenance_work_mem/, 'in-memory build: no NOTICE about memory');
check_index('in-memory build');
$node->safe_psql('postgres', 'DROP INDEX items_v_idx');

# 1MB: continues on disk
($ret, $stdout, $stderr) = $node->psql(
	'postgres', q{
SET maintenance_work_mem = '1MB';
SET client_min_messages = notice;
CREATE INDEX items_v_idx ON items USING vechnsw (v real_l2_ops);
});
is($ret, 0, 'build with maintenance_work_mem = 1MB succeeds');
like(
	$stderr,
	qr/NOTICE:  vechnsw graph no longer fits into maintenance_work_mem after \d+ elements/,
	'1MB build: NOTICE that the build continues on disk');
note("build stderr: $stderr");
check_index('1MB build');

# the spilled index keeps working for inserts, deletes and VACUUM
$node->safe_psql(
	'postgres', qq{
DELETE FROM items WHERE id % 4 = 0;
VACUUM (INDEX_CLEANUP on) items;
INSERT INTO items SELECT $n + i, ARRAY(SELECT c.v[d] + (random() - 0.5)::real FROM generate_series(1, $dim) d)
FROM generate_series(1, $n / 4) i JOIN centres c ON c.c = (i * 13) % 100;
});
is( $node->safe_psql(
		'postgres', "SELECT heap_tids = (SELECT count(*) FROM items) FROM vechnsw_index_stats('items_v_idx')"),
	't',
	'after delete, VACUUM and insert: one TID per row');

$node->stop;
done_testing();
