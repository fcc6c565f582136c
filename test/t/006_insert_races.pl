# Races inside concurrent inserts, made to happen and seen to happen:
#  - back-links: many clients insert near-identical vectors into a graph
#    with short lists (m = 4), so the optimistic neighbour-list update finds
#    the list changed under it and starts over (src/hnswutils.c,
#    vec_dg_update_list);
#  - the entry lock: inserts into an empty index, and inserts whose level is
#    above the entry point's, retake the entry lock in exclusive mode;
#  - an insert that finds only deleted elements (every row deleted, no
#    VACUUM yet) starts over to become the entry point.
# Each path reports itself at DEBUG1; the test counts those reports in the
# server log (the race was really run), then checks that nothing was lost:
# the checker is clean, every row is in the index once and, after VACUUM
# (which links elements nothing leads to), every element is reachable from
# the entry point.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('races');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\nautovacuum = off\n");
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION vecidx;
-- only this database's sessions log at DEBUG1
ALTER DATABASE postgres SET log_min_messages = debug1;
CREATE TABLE items (id bigserial PRIMARY KEY, v real[]);
CREATE INDEX items_idx ON items USING vechnsw (v real_l2_ops) WITH (m = 4, ef_construction = 16);
});

my $dir = $node->basedir;
# one tight cluster of 4-dimensional points, 50 rows a statement: every
# insert links to the same few elements, whose lists are full (m = 4: 8 on
# level 0) and pruned each time, so concurrent inserts often change a list
# between another's copy and install.  (Not several clusters far apart: the
# heuristic prunes the few edges between clusters, and while none is left
# every insert into the cut-off cluster is unreachable, with or without
# races -- seen in 2 of 25 runs of one client inserting three clusters 2,000
# times farther apart than their spread, 26 and 53 elements, and in one CI
# run, 245 of 69,800.  That is the heuristic's doing, not lost back-links,
# and VACUUM links such elements again; phases 2 and 3 check that.)
append_to_file("$dir/insert.sql",
	"INSERT INTO items (v) SELECT ARRAY(SELECT (random() * 0.001)::real FROM generate_series(1, 4) WHERE g > 0) FROM generate_series(1, 50) g;\n"
);
append_to_file("$dir/insert1.sql",
	"INSERT INTO items (v) SELECT ARRAY(SELECT (random() * 0.001 + g % 3)::real FROM generate_series(1, 4) WHERE g > 0) FROM generate_series(1, 1) g;\n"
);

# run pgbench with the given script for $secs, in $clients clients (@extra: more options)
sub start_pgbench
{
	my ($script, $clients, $secs, @extra) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'pgbench', '-n', '-T', $secs, '-c', $clients, '-j', '2', @extra, '-f', $script,
			$node->connstr('postgres')
		],
		'<', \undef, '>', \$out, '2>', \$err);
	return [ $h, \$out, \$err ];
}

sub finish_pgbench
{
	my ($what, $r) = @_;
	my ($h, $out, $err) = @$r;
	ok($h->finish, "$what: pgbench exited cleanly");
	my ($failed) = $$out =~ /number of failed transactions: (\d+)/;
	is($failed // 0, 0, "$what: no failed transactions");
	unlike($$err, qr/ERROR|FATAL|PANIC/, "$what: no errors");
}

# log lines matching $re since byte offset $from of the server log
sub count_log
{
	my ($re, $from) = @_;
	my $log = slurp_file($node->logfile, $from);
	my @hits = $log =~ /$re/g;
	return scalar @hits;
}

# the index holds every row once and, after VACUUM, everything is reachable
sub check_index
{
	my ($what) = @_;
	# (a VACUUM only works on the index when there are dead rows)
	$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 97 = 0; VACUUM (INDEX_CLEANUP on) items');
	is($node->safe_psql('postgres', "SELECT vechnsw_index_check('items_idx', true)"),
		'', "$what: vechnsw_index_check(heapallindexed) is clean");
	my ($rows, $tids, $unreachable) = split /\|/,
	  $node->safe_psql('postgres',
		"SELECT (SELECT count(*) FROM items), heap_tids, unreachable_elements FROM vechnsw_index_stats('items_idx')"
	  );
	is($tids, $rows, "$what: one heap TID per row ($rows rows)");
	is($unreachable, 0, "$what: after VACUUM every element is reachable from the entry point");
	return $rows;
}

# 1. concurrent inserts into an empty index, then into a growing small
#    graph: run (up to 5 times) until list updates have been seen to start
#    over, so the optimistic path is known to have been raced
my ($pos, $retries, $upgrades) = (-s $node->logfile, 0, 0);
for my $attempt (1 .. 5)
{
	finish_pgbench('racing inserts', start_pgbench("$dir/insert.sql", 4, 4));
	$retries = count_log(qr/neighbour list updates started over after concurrent changes/, $pos);
	$upgrades = count_log(qr/above the entry point's -?\d+: taking the entry lock in exclusive mode/, $pos);
	last if $retries > 0;
}
cmp_ok($retries, '>', 0, "inserts raced on neighbour lists: $retries inserts had list updates start over");
cmp_ok($upgrades, '>', 0, "inserts retook the entry lock in exclusive mode ($upgrades times)");
# racing, these rows leave almost no element unreachable (measured: 1 of
# about 60,000 in 3 of 25 runs of 4 clients for 3 s, 0 in the others: the
# heuristic can prune every back-link of an element).  This catches inserts
# that lose all their back-links (an element no list names); it does not
# catch one lost back-link among an element's several: a list update
# installed without checking that the list is unchanged since it was
# copied (a lost update) was tried and still passes
my ($unreachable, $elements) = split /\|/,
  $node->safe_psql('postgres', "SELECT unreachable_elements, elements FROM vechnsw_index_stats('items_idx')");
cmp_ok($unreachable, '<=', int($elements / 1000),
	"after racing inserts (before any VACUUM) at most 1 in 1,000 elements is unreachable ($unreachable of $elements)");
check_index('after racing inserts');

# 2. every row deleted, then a VACUUM with inserts running beside it: between
#    VACUUM's marking the elements deleted and its moving the entry point,
#    inserts find only deleted elements and start over to become the entry
#    point (repeated until seen, at most twice; the window is short, so
#    that it was seen is reported, not asserted), or find an empty graph and
#    take the entry lock exclusively
my $restarts = 0;
$pos = -s $node->logfile;
for my $attempt (1 .. 2)
{
	$node->safe_psql('postgres',
		"DELETE FROM items; INSERT INTO items (v) SELECT ARRAY(SELECT (random() * 0.001 + g % 3)::real FROM generate_series(1, 4) WHERE g > 0) FROM generate_series(1, 20000) g; DELETE FROM items;"
	);
	my $ins = start_pgbench("$dir/insert1.sql", 2, 3);
	$node->safe_psql('postgres', 'VACUUM items');
	finish_pgbench('inserts beside a VACUUM of a deleted table', $ins);
	$restarts = count_log(qr/found no live element: starting over to become the entry point/, $pos);
	last if $restarts > 0;
}
note("inserts that found only deleted elements and started over: $restarts");
my $rows = check_index('after inserts over deleted elements');
cmp_ok($rows, '>', 0, 'rows inserted beside the VACUUM are in the table');

# 3. inserts, deletes and a VACUUM loop at once: VACUUM's repairs race the
#    inserts' back-links on the same lists (how often they met is reported:
#    it varies from run to run).  A repair lost to the race would leave an
#    edge to an element VACUUM then frees (a stale edge) or keep the element
#    deleted; after each VACUUM neither may exist.
append_to_file("$dir/delete.sql",
	"DELETE FROM items WHERE id IN (SELECT id FROM items TABLESAMPLE BERNOULLI (1) LIMIT 200);\n");
append_to_file("$dir/vacuum.sql", "VACUUM items;\n");
$node->safe_psql('postgres',
	"INSERT INTO items (v) SELECT ARRAY(SELECT (random() * 0.001 + g % 3)::real FROM generate_series(1, 4) WHERE g > 0) FROM generate_series(1, 20000) g"
);
my $vretries = 0;
$pos = -s $node->logfile;
my @jobs = (
	start_pgbench("$dir/insert.sql", 2, 6),
	start_pgbench("$dir/delete.sql", 1, 6, '-R', '5'),	# (about 1,000 rows a second)
	start_pgbench("$dir/vacuum.sql", 1, 6));
finish_pgbench('inserts, deletes and VACUUM', $_) for @jobs;
$vretries = count_log(qr/vechnsw VACUUM of "items_idx": \d+ neighbour list updates started over/, $pos);
my ($deleted, $to_deleted, $stale) = split /\|/,
  $node->safe_psql('postgres',
	"SELECT deleted_elements, edges_to_deleted, stale_edges FROM vechnsw_index_stats('items_idx')");
note("after the VACUUM loop: deleted elements $deleted, edges to them $to_deleted, stale edges $stale");
note("VACUUMs whose list updates started over: $vretries");
is($stale, 0, 'after VACUUMs racing inserts no edge names a freed element (no list update was lost)');
check_index('after inserts, deletes and VACUUM');
is( $node->safe_psql(
		'postgres',
		"SELECT deleted_elements, edges_to_deleted, stale_edges FROM vechnsw_index_stats('items_idx')"),
	'0|0|0',
	'after a final VACUUM no element is deleted and no edge names a deleted or freed one');

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|deadlock detected/, 'no PANIC, assertion failure or deadlock in the server log');

$node->stop;
done_testing();
