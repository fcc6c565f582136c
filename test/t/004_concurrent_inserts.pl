# 004_concurrent_inserts.pl: several clients insert into a vechnsw index at
# once while others query it (pgbench), then the same with deletes and a
# VACUUM loop running alongside.  No client may see an error; afterwards every
# row is in the index (and found by a search for its own vector, but for at
# most 1 in 10,000), and after VACUUM the index holds exactly one heap TID per
# row.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecidxTest;
use IPC::Run;

my $dim = 16;
my $secs = 12;

sub rand_vec
{
	my ($d, $g) = @_;
	return "ARRAY(SELECT random()::real FROM generate_series(1, $d) WHERE $g > 0)";
}

my $node = PostgreSQL::Test::Cluster->new('concurrent');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\nshared_buffers = 32MB\n");
$node->start;

$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION vecidx;
CREATE TABLE items (id bigserial PRIMARY KEY, v real[]);
INSERT INTO items (v) SELECT @{[ rand_vec($dim, 'g') ]} FROM generate_series(1, 2000) g;
CREATE INDEX items_l2 ON items USING vechnsw (v real_l2_ops);
});

my $dir = $node->basedir;
append_to_file("$dir/insert.sql",
	"INSERT INTO items (v) SELECT " . rand_vec($dim, 'g') . " FROM generate_series(1, 1) g;\n");
append_to_file("$dir/insert_batch.sql",
	"INSERT INTO items (v) SELECT " . rand_vec($dim, 'g') . " FROM generate_series(1, 5) g;\n");
append_to_file("$dir/query.sql",
	"SET enable_seqscan = off;\n"
	  . "SELECT id FROM items ORDER BY v <-> (SELECT ARRAY(SELECT random()::real FROM generate_series(1, $dim))) LIMIT 10;\n");
append_to_file("$dir/delete.sql",
	"DELETE FROM items WHERE id = (SELECT floor(random() * (SELECT max(id) FROM items))::bigint + 1);\n");
append_to_file("$dir/vacuum.sql", "VACUUM items;\n");
append_to_file("$dir/delete_many.sql",
	"DELETE FROM items WHERE id IN (SELECT id FROM items TABLESAMPLE BERNOULLI (2) LIMIT 100);\n");

is( $node->safe_psql(
		'postgres',
		"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> (SELECT ARRAY(SELECT random()::real FROM generate_series(1, $dim))) LIMIT 10"
	  ) =~ /Index Scan using items_l2/ ? 1 : 0,
	1,
	'the query script scans the index');

# run several pgbench invocations at once; each must end cleanly
sub run_pgbench_group
{
	my ($what, @jobs) = @_;
	my @running;
	for my $job (@jobs)
	{
		my ($name, @args) = @$job;
		my ($out, $err) = ('', '');
		my $h = IPC::Run::start(
			[ 'pgbench', '-n', '-T', $secs, @args, $node->connstr('postgres') ],
			'<', \undef, '>', \$out, '2>', \$err);
		push @running, [ $name, $h, \$out, \$err ];
	}
	for my $r (@running)
	{
		my ($name, $h, $out, $err) = @$r;
		my $ok = $h->finish;
		ok($ok, "$what: pgbench $name exited cleanly");
		my ($xacts) = $$out =~ /number of transactions actually processed: (\d+)/;
		$xacts //= 0;
		cmp_ok($xacts, '>', 0, "$what: pgbench $name ran transactions ($xacts)");
		my ($failed) = $$out =~ /number of failed transactions: (\d+)/;
		is($failed // 0, 0, "$what: pgbench $name had no failed transactions");
		unlike($$err, qr/ERROR|FATAL|PANIC/, "$what: pgbench $name saw no errors");
		diag("pgbench $name stdout:\n$$out\nstderr:\n$$err") if !$ok || $$err =~ /ERROR|FATAL|PANIC/;
	}
}

# $sample: check every $sample-th row finds itself (1 = every row)
sub check_index
{
	my ($what, $expect_exact_tids, $sample) = @_;
	my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
	my $tids = $node->safe_psql('postgres', "SELECT heap_tids FROM vechnsw_index_stats('items_l2')");
	if ($expect_exact_tids)
	{
		is($tids, $rows, "$what: one heap TID per row ($rows rows)");
	}
	else
	{
		cmp_ok($tids, '>=', $rows, "$what: at least one heap TID per row ($tids, $rows rows)");
	}
	my ($checked, $missing) = split /\|/, $node->safe_psql(
		'postgres', qq{
SET enable_seqscan = off;
SET vechnsw.ef_search = 200;
SELECT count(*), count(*) FILTER (WHERE o.id NOT IN (SELECT i.id FROM items i ORDER BY i.v <-> o.v LIMIT 5))
FROM items o WHERE o.id % $sample = 0;
});
	if ($missing ne '0')
	{
		# say which rows, and whether a wider search or a second look finds them
		diag("$what: rows not found among their own 5 nearest (id | found with ef_search 1000 | exact rank of itself):\n"
			  . $node->safe_psql(
				'postgres', qq{
SET enable_seqscan = off;
SET vechnsw.ef_search = 200;
CREATE TEMP TABLE miss AS SELECT o.id, o.v FROM items o
  WHERE o.id % $sample = 0 AND o.id NOT IN (SELECT i.id FROM items i ORDER BY i.v <-> o.v LIMIT 5);
SET vechnsw.ef_search = 1000;
SELECT m.id, m.id IN (SELECT i.id FROM items i ORDER BY i.v <-> m.v LIMIT 5),
       (SELECT count(*) FROM items i WHERE (i.v <-> m.v) <= 0)
FROM miss m LIMIT 20;
}));
	}
	# Every row is in the index (heap TIDs above; heapallindexed in
	# check_structure), but a search is approximate: an element can be
	# reachable and still be missed by a search for its own vector (0 in
	# local runs; 1 of 36,947 once in CI).  More than 1 in 10,000 fails.
	my $allowed = int($checked / 10000) + 1;
	cmp_ok($missing, '<=', $allowed,
		$sample == 1
		? "$what: of the $rows rows, $missing not among their own 5 nearest with ef_search 200 (at most $allowed)"
		: "$what: of $checked sampled rows (1 in $sample), $missing not among their own 5 nearest with ef_search 200 (at most $allowed)");
	my $recall = recall_at_10($node, $dim);
	# (measured 1.0 in every phase of every run; floor 0.985: 3 of 200 answers)
	cmp_ok($recall, '>=', 0.985, "$what: recall\@10 against exact scans ($recall, floor 0.985)");
}

# phase 1: 4 inserting clients (one of them in batches of 5), 2 querying
run_pgbench_group(
	'inserts + queries',
	[ 'insert', '-c', '3', '-j', '1', '-f', "$dir/insert.sql" ],
	[ 'insert_batch', '-c', '1', '-j', '1', '-f', "$dir/insert_batch.sql" ],
	[ 'query', '-c', '2', '-j', '1', '-f', "$dir/query.sql" ]);
check_index('after concurrent inserts', 1, 10);

# phase 2: inserts, deletes, queries and a VACUUM loop at once
run_pgbench_group(
	'inserts + deletes + VACUUM',
	[ 'insert+delete', '-c', '3', '-j', '1', '-f', "$dir/insert.sql\@3", '-f', "$dir/delete.sql\@1" ],
	[ 'query', '-c', '1', '-j', '1', '-f', "$dir/query.sql" ],
	[ 'vacuum', '-c', '1', '-j', '1', '-f', "$dir/vacuum.sql" ]);
check_index('after concurrent inserts, deletes and VACUUM', 0, 10);
# (INDEX_CLEANUP on: with very few dead rows VACUUM would skip the index)
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP on) items');
check_index('after a final VACUUM', 1, 1);

# the checker after concurrent churn: no list names a deleted or free
# element, every visible row is in the index
sub check_structure
{
	my ($what) = @_;
	is( $node->safe_psql(
			'postgres',
			"SELECT vechnsw_index_check('items_l2', true), deleted_elements, edges_to_deleted FROM vechnsw_index_stats('items_l2')"
		),
		'|0|0',
		"$what: vechnsw_index_check is clean, no deleted element or edge to one is left");
	my $st = $node->safe_psql('postgres',
		"SELECT elements, live_elements, free_elements, stale_edges, unreachable_elements FROM vechnsw_index_stats('items_l2')");
	note("$what: elements|live|free|stale edges|unreachable = $st");
}
check_structure('after phase 2');

# phase 3: heavy churn: inserts racing VACUUMs that repair and free many
# elements at a time (inserts link to elements VACUUM is repairing around,
# reuse the slots it frees)
run_pgbench_group(
	'inserts + mass deletes + VACUUM',
	[ 'insert', '-c', '3', '-j', '1', '-f', "$dir/insert.sql\@9", '-f', "$dir/insert_batch.sql\@1" ],
	# (throttled: 4 x 100 rows a second; unthrottled it emptied the table)
	[ 'delete_many', '-c', '1', '-j', '1', '-R', '4', '-f', "$dir/delete_many.sql" ],
	[ 'query', '-c', '1', '-j', '1', '-f', "$dir/query.sql" ],
	[ 'vacuum', '-c', '1', '-j', '1', '-f', "$dir/vacuum.sql" ]);
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP on) items');
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM items'), '>', 1000,
	'after phase 3 the table still has rows to check');
check_structure('after phase 3');
check_index('after phase 3', 1, 1);

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|deadlock detected/, 'no PANIC, assertion failure or deadlock in the server log');

$node->stop;
done_testing();
