# 002_crash.pl: crash recovery of vechnsw indexes.
#
#  1. build an index, crash (immediate shutdown) right away, recover;
#  2. crash in the middle of a stream of single-row committed inserts
#     (pgbench, two clients); after recovery every row of the table is found
#     through the index at distance 0, and index scans agree with exact scans;
#  3. crash in the middle of a large uncommitted INSERT; after recovery and
#     VACUUM the index holds exactly one heap TID per row.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecidxTest;
use IPC::Run;
use Time::HiRes qw(usleep);

my $dim = 16;

sub rand_vec
{
	my ($d, $g) = @_;
	return "ARRAY(SELECT random()::real FROM generate_series(1, $d) WHERE $g > 0)";
}

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', "shared_buffers = 16MB\n");
$node->start;

# Every row is its own nearest neighbour at distance 0 through the index.
sub check_all_rows_found
{
	my ($what) = @_;
	my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
	my ($l2_tids, $cos_tids) = split /\|/, $node->safe_psql('postgres',
		"SELECT (SELECT heap_tids FROM vechnsw_index_stats('items_l2')), (SELECT heap_tids FROM vechnsw_index_stats('items_cos'))"
	);
	cmp_ok($l2_tids, '>=', $rows, "$what: l2 index holds at least one TID per row ($l2_tids, $rows rows)");
	cmp_ok($cos_tids, '>=', $rows, "$what: cosine index holds at least one TID per row ($cos_tids, $rows rows)");
	my $plan = $node->safe_psql(
		'postgres', q{
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM items o
WHERE (SELECT i.v <-> o.v FROM items i ORDER BY i.v <-> o.v LIMIT 1) <> 0;
});
	like($plan, qr/Index Scan using items_l2/, "$what: the check uses the index");
	my $bad = $node->safe_psql(
		'postgres', q{
SET enable_seqscan = off;
SET vechnsw.ef_search = 200;
SELECT count(*) FROM items o
WHERE o.id NOT IN (SELECT i.id FROM items i ORDER BY i.v <-> o.v LIMIT 5)
   OR (SELECT i.v <-> o.v FROM items i ORDER BY i.v <-> o.v LIMIT 1) <> 0;
});
	is($bad, '0', "$what: all $rows rows found through the l2 index at distance 0");
	$bad = $node->safe_psql(
		'postgres', q{
SET enable_seqscan = off;
SET vechnsw.ef_search = 200;
SELECT count(*) FROM items o
WHERE o.id NOT IN (SELECT i.id FROM items i ORDER BY i.v <=> o.v LIMIT 5);
});
	is($bad, '0', "$what: all $rows rows found through the cosine index");

	# index answers vs exact answers for 20 queries
	my $recall = recall_at_10($node, $dim);
	# (measured 1.0 after every crash; floor 0.985: 3 of 200 answers)
	cmp_ok($recall, '>=', 0.985, "$what: recall\@10 against exact scans ($recall, floor 0.985)");
}

# 1. crash right after the build
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION vecidx;
CREATE TABLE items (id bigserial PRIMARY KEY, v real[]);
INSERT INTO items (v) SELECT @{[ rand_vec($dim, 'g') ]} FROM generate_series(1, 2000) g;
CREATE INDEX items_l2 ON items USING vechnsw (v real_l2_ops);
CREATE INDEX items_cos ON items USING vechnsw (v real_cosine_ops);
});
$node->stop('immediate');
$node->start;
check_all_rows_found('crash after build');

# 2. crash during committed single-row inserts
my $script = $node->basedir . '/insert.sql';
append_to_file($script, "INSERT INTO items (v) SELECT " . rand_vec($dim, 'g') . " FROM generate_series(1, 1) g;\n");
my ($out, $err) = ('', '');
my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '120', '-f', $script, $node->connstr('postgres') ],
	'<', \undef, '>', \$out, '2>', \$err);
my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
my $target = $before + 1500;
ok( $node->poll_query_until('postgres', "SELECT count(*) >= $target FROM items"),
	"pgbench inserted 1500 rows");
$node->stop('immediate');
$pgbench->finish;    # pgbench fails once the server is gone
note("pgbench stderr (expected to show the lost connection): $err");
$node->start;
my $after = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
cmp_ok($after, '>=', $target, "committed rows survived the crash ($after rows)");
check_all_rows_found('crash during inserts');

# the index takes inserts after recovery
$node->safe_psql('postgres',
	"INSERT INTO items (v) SELECT @{[ rand_vec($dim, 'g') ]} FROM generate_series(1, 300) g");
check_all_rows_found('inserts after recovery');

# 3. crash during a large uncommitted INSERT
my $rows_before = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
my ($bout, $berr) = ('', '');
my $bulk = IPC::Run::start(
	[
		'psql', '-X', '-d', $node->connstr('postgres'), '-c',
		"INSERT INTO items (v) SELECT @{[ rand_vec($dim, 'g') ]} FROM generate_series(1, 200000) g"
	],
	'<', \undef, '>', \$bout, '2>', \$berr);
# wait until the INSERT has put a good number of entries into the index
ok( $node->poll_query_until(
		'postgres',
		"SELECT heap_tids >= $rows_before + 2000 FROM vechnsw_index_stats('items_l2')"),
	'the bulk insert is under way');
$node->stop('immediate');
$bulk->finish;
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*) FROM items'),
	$rows_before, 'the uncommitted rows are gone after recovery');
check_all_rows_found('crash during an uncommitted insert');
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP on) items');
is( $node->safe_psql(
		'postgres',
		"SELECT heap_tids = (SELECT count(*) FROM items) FROM vechnsw_index_stats('items_l2')"),
	't',
	'after VACUUM the index holds exactly one TID per row');
check_all_rows_found('VACUUM after recovery');

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|index .* is not a valid vechnsw index/, 'no PANIC or index corruption in the server log');

$node->stop;
done_testing();
