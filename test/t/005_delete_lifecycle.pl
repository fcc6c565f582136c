# 005_delete_lifecycle.pl: what VACUUM does for a vechnsw index under churn.
#
# - 20 rounds of delete 50 % / VACUUM / reinsert keep the index within 1.1x
#   of its size after round 1, and recall@10 (default ef_search) within 0.01
#   of a fresh build's on the same rows;
# - after deleting 75 % and VACUUM, recall@10 at default settings is at least
#   a fresh index's on the surviving rows minus 0.01;
# - VACUUM VERBOSE reports what it did for the index;
# - a page overwritten with garbage in a stopped cluster makes the checker
#   raise XX002 and scans fail cleanly (no crash); also a whole garbage page
#   (PostgreSQL's own header check: XX001) and garbage tuples under an
#   intact page header and special space.
# Figures are printed (note) as well as checked.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 24;
my $n = 3000;

my $node = PostgreSQL::Test::Cluster->new('lifecycle');
$node->init;
$node->append_conf('postgresql.conf', "shared_buffers = 64MB\nautovacuum = off\n");
$node->start;

# Clustered data: 40 centres, points = centre + noise; vectors are a pure
# function of their key (deterministic), queries come from the same mix.
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION vecidx;
CREATE FUNCTION vec(k bigint) RETURNS real[] LANGUAGE sql IMMUTABLE AS \$\$
	SELECT ARRAY(SELECT (sin((k % 40) * 12.9898 + d * 78.233) * 4
						 + sin(k * 0.7139 + d * 3.17) * 0.6
						 + cos(k * 1.3311 * d) * 0.4)::real
				 FROM generate_series(1, $dim) d)
\$\$;
CREATE TABLE q AS SELECT i, vec(-i * 7919) AS qv FROM generate_series(1, 60) i;
CREATE TABLE items (id bigint PRIMARY KEY, v real[]) WITH (autovacuum_enabled = off);
INSERT INTO items SELECT k, vec(k) FROM generate_series(1, $n) k;
CREATE INDEX items_idx ON items USING vechnsw (v real_l2_ops);
});

# recall@10 of the index on $tbl at the default ef_search, over 60 queries
sub recall
{
	my ($tbl) = @_;
	return $node->safe_psql(
		'postgres', qq{
SET enable_indexscan = off;
CREATE TEMP TABLE ex AS SELECT i, id FROM q, LATERAL (SELECT id FROM $tbl ORDER BY v <-> qv LIMIT 10) s;
RESET enable_indexscan;
SET enable_seqscan = off;
CREATE TEMP TABLE ap AS SELECT i, id FROM q, LATERAL (SELECT id FROM $tbl ORDER BY v <-> qv LIMIT 10) s;
SELECT round((SELECT count(*) FROM ex JOIN ap USING (i, id)) / 600.0, 4);
});
}

# recall of a fresh index on a copy of the rows of items
sub fresh_recall
{
	$node->safe_psql(
		'postgres', qq{
DROP TABLE IF EXISTS fresh;
CREATE TABLE fresh AS SELECT * FROM items;
CREATE INDEX fresh_idx ON fresh USING vechnsw (v real_l2_ops);
});
	return recall('fresh');
}

sub index_size
{
	return $node->safe_psql('postgres', "SELECT pg_relation_size('items_idx')");
}

# 1. bounded churn
my $next = $n + 1;
my ($size1, $maxsize, $minrecall) = (0, 0, 1);
for my $round (1 .. 20)
{
	my $half = int($n / 2);
	$node->safe_psql(
		'postgres', qq{
DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY md5(id::text || '$round') LIMIT $half);
VACUUM items;
INSERT INTO items SELECT k, vec(k) FROM generate_series($next, $next + $half - 1) k;
});
	$next += $half;
	my $size = index_size();
	$size1 = $size if $round == 1;
	$maxsize = $size if $size > $maxsize;
	my $r = recall('items');
	$minrecall = $r if $r < $minrecall;
	my $st = $node->safe_psql('postgres',
		"SELECT live_elements, free_elements, edges_to_deleted, stale_edges, unreachable_elements FROM vechnsw_index_stats('items_idx')");
	note("churn round $round: index $size bytes, recall\@10 $r; live|free|to deleted|stale|unreachable $st");
}
my $fresh = fresh_recall();
my $final = recall('items');
note("churn: size after round 1 $size1, largest $maxsize ("
	  . sprintf('%.3f', $maxsize / $size1)
	  . "x); recall after 20 rounds $final (lowest $minrecall), fresh build $fresh");
cmp_ok($maxsize, '<=', 1.1 * $size1,
	"20 churn rounds keep the index within 1.1x of its size after round 1 ($maxsize <= 1.1 * $size1)");
cmp_ok($final, '>=', $fresh - 0.01,
	"recall\@10 after 20 churn rounds ($final) is within 0.01 of a fresh build's ($fresh)");
is($node->safe_psql('postgres', "SELECT vechnsw_index_check('items_idx', true)"),
	'', 'after the churn the checker finds nothing wrong');

# 2. delete 75 %, VACUUM, compare with a fresh index on the survivors
$node->safe_psql(
	'postgres', qq{
DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY md5(id::text) LIMIT ($n * 3 / 4));
VACUUM items;
});
my $after75 = recall('items');
my $fresh75 = fresh_recall();
note("after deleting 75 %: recall\@10 $after75, fresh index on the survivors $fresh75");
cmp_ok($after75, '>=', $fresh75 - 0.01,
	"recall\@10 after deleting 75 % and VACUUM ($after75) >= fresh index's ($fresh75) - 0.01");
is( $node->safe_psql(
		'postgres',
		"SELECT vechnsw_index_check('items_idx', true), deleted_elements, edges_to_deleted FROM vechnsw_index_stats('items_idx')"
	),
	'|0|0',
	'after deleting 75 % the checker is clean and no edge names a deleted element');

# 3. VACUUM VERBOSE says what it did for the index
$node->safe_psql('postgres', "DELETE FROM items WHERE id % 4 = 0");
my ($ret, $out, $err) = $node->psql('postgres', 'VACUUM (VERBOSE) items');
is($ret, 0, 'VACUUM VERBOSE succeeds');
like(
	$err,
	qr/index "items_idx": (\d+) heap TIDs removed, (\d+) elements deleted, (\d+) lists repaired, (\d+) edges replaced, (\d+) back-links added, (\d+) slots freed/,
	'VACUUM VERBOSE reports TIDs removed, elements deleted, lists repaired, edges replaced and slots freed');
like($err, qr/index "items_idx": pages: \d+ in total, \d+ newly deleted, \d+ currently deleted, [1-9]\d* reusable/,
	'VACUUM VERBOSE counts the pages with freed slots as reusable');
note($err =~ /(index "items_idx": \d+ heap TIDs removed[^\n]*)/ ? $1 : 'no summary line');

# 4. garbage on a page, written in a stopped cluster.  Three cases: the
# whole page (PostgreSQL's own page header check may refuse it first:
# XX001), everything after the page header (our page checks: XX002), and the
# line pointers and tuples only (special space intact: the checker's tuple
# checks).  Every statement either answers or fails with one of those
# codes; no backend crashes.
# returns the block it wrote to: the fullest page (least free space: live
# elements, which scans reach; after the churn some pages hold only free
# slots, which no scan visits)
sub corrupt
{
	my ($from, $to, $seed) = @_;
	my $block = $node->safe_psql(
		'postgres', q{
CREATE EXTENSION IF NOT EXISTS pageinspect;
SELECT b FROM generate_series(1, (pg_relation_size('items_idx') / 8192)::int - 1) b
ORDER BY (SELECT upper - lower FROM page_header(get_raw_page('items_idx', b))), b LIMIT 1;
});
	# (REINDEX gives the index a new file)
	my $path = $node->safe_psql('postgres', "SELECT pg_relation_filepath('items_idx')");
	$node->stop;
	srand($seed);
	my $garbage = join('', map { chr(int(rand(256))) } 1 .. ($to - $from));
	open(my $fh, '+<', $node->data_dir . "/$path") or die "open: $!";
	binmode $fh;
	seek($fh, $block * 8192 + $from, 0) or die "seek: $!";
	print $fh $garbage;
	close $fh;
	$node->start;
	return $block;
}

my $extra_id = 900000;

sub scans_after_corruption
{
	my ($what) = @_;
	my ($failed, $bad) = (0, 0);
	for my $i (1 .. 20)
	{
		my ($r, $o, $e) = $node->psql('postgres',
			"\\set VERBOSITY verbose\nSET enable_seqscan = off; SET vechnsw.ef_search = 400; SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> (SELECT qv FROM q WHERE i = $i) LIMIT 400) s"
		);
		next if $r == 0;
		$failed++;
		$bad++ if $e !~ /ERROR:\s+XX00[12]:/;
		diag("$what: scan $i: $e") if $e !~ /ERROR:\s+XX00[12]:/;
	}
	is($bad, 0, "$what: every failing scan ($failed of 20) fails with XX001 or XX002");
	my ($r, $o, $e) = $node->psql('postgres',
		"INSERT INTO items SELECT k, vec(k) FROM generate_series($extra_id + 1, $extra_id + 20) k");
	$extra_id += 100;
	note("$what: insert into the corrupted index: " . ($r == 0 ? 'succeeded' : $e));
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "$what: the server is still up");
	return $failed;
}

# (a) the whole page
my $victim = corrupt(0, 8192, 42);
my ($r, $o, $e) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT vechnsw_index_check('items_idx')");
like($e, qr/ERROR:\s+XX00[12]:/, "whole page garbage: the checker fails with XX001 or XX002");
cmp_ok(scans_after_corruption('whole page garbage'), '>', 0,
	'whole page garbage: scans that reach the page fail cleanly');
$node->safe_psql('postgres', 'REINDEX INDEX items_idx');

# (b) everything after the page header
$victim = corrupt(24, 8192, 43);
($r, $o, $e) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT vechnsw_index_check('items_idx')");
like($e, qr/ERROR:\s+XX002: index "items_idx" is corrupted at block $victim/,
	"garbage after the page header: the checker raises XX002 naming block $victim");
($r, $o, $e) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT * FROM vechnsw_index_stats('items_idx')");
like($e, qr/ERROR:\s+XX002:/, 'garbage after the page header: the statistics raise XX002');
cmp_ok(scans_after_corruption('garbage after the page header'), '>', 0,
	'garbage after the page header: scans that reach the page fail cleanly');
$node->safe_psql('postgres', 'REINDEX INDEX items_idx');

# (c) line pointers and tuples only: special space and header intact
$victim = corrupt(24, 8192 - 8, 44);
($r, $o, $e) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT vechnsw_index_check('items_idx')");
like($e, qr/ERROR:\s+XX002: index "items_idx" is corrupted at block $victim/,
	"garbage tuples: the checker raises XX002 naming block $victim");
cmp_ok(scans_after_corruption('garbage tuples'), '>', 0, 'garbage tuples: scans that reach the page fail cleanly');

$node->safe_psql('postgres', 'REINDEX INDEX items_idx');

# (d) the meta page's m overwritten with 0 (it sizes arrays): every reader
# refuses the index with XX002
{
	my $path = $node->safe_psql('postgres', "SELECT pg_relation_filepath('items_idx')");
	$node->stop;
	open(my $fh, '+<', $node->data_dir . "/$path") or die "open: $!";
	binmode $fh;
	seek($fh, 24 + 12, 0) or die "seek: $!";    # page header, then VecMetaPageData.m
	print $fh pack('v', 0);
	close $fh;
	$node->start;
}
for my $stmt (
	"SELECT vechnsw_index_check('items_idx')",
	"SET enable_seqscan = off; SELECT id FROM items ORDER BY v <-> (SELECT qv FROM q WHERE i = 1) LIMIT 5",
	"INSERT INTO items SELECT k, vec(k) FROM generate_series(990001, 990005) k",
	"DELETE FROM items WHERE id % 50 = 0; VACUUM items")
{
	($r, $o, $e) = $node->psql('postgres', "\\set VERBOSITY verbose\n$stmt");
	like($e, qr/ERROR:\s+XX002: index "items_idx" has a corrupted meta page \(m\)/,
		"meta page m = 0: '$stmt' fails with XX002");
}

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no backend crashed');

# REINDEX repairs it
$node->safe_psql('postgres', 'REINDEX INDEX items_idx');
is($node->safe_psql('postgres', "SELECT vechnsw_index_check('items_idx', true)"),
	'', 'after REINDEX the checker is clean');

$node->stop;
done_testing();
