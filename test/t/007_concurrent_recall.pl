# Recall after concurrent inserts, for every operator class, with and
# without RaBitQ codes: 10 pgbench clients insert 10,000 3-dimensional rows
# (each coordinate a product of two uniform randoms: many small vectors, a
# few large ones, which strains inner-product graphs) into an empty index;
# recall@20 of 200 fixed queries at the default ef_search against exact
# answers must reach a floor set just under the figures measured.  The rows
# are drawn once from a fixed seed into a source table; one session inserts
# them in order for the reference figure, and the clients take them one by
# one from a sequence, so that runs differ only in how the inserts
# interleave.  Each configuration runs three times and every run must pass,
# so a failure one run in three cannot hide.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('recall');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\nautovacuum = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecidx');

my $dir = $node->basedir;
append_to_file("$dir/insert.sql",
	"INSERT INTO items (v) SELECT v FROM src WHERE id = (SELECT nextval('src_seq'));\n");

# the rows, the same in every run (pg_prng is deterministic for a seed)
$node->safe_psql(
	'postgres', q{
SELECT setseed(0.42);
CREATE TABLE src AS SELECT g AS id,
	ARRAY[(random() * random())::real, (random() * random())::real, (random() * random())::real] AS v
FROM generate_series(1, 10000) g;
CREATE UNIQUE INDEX ON src (id);
CREATE SEQUENCE src_seq;
});

# operator class, its operator, index options, floor.  Floors about 0.02
# under the lowest figure measured with these rows (200 queries; one
# session and 7-11 concurrent runs each, on a busy machine and in a CI run):
# l2 0.985-0.988, with codes 0.990-1.000; cosine 0.989-0.994, with codes
# 1.000; inner product 0.979-0.983, with codes 0.998-1.000.  Floors 0.01
# under the busy machine's figures alone failed in CI (l2 with codes 0.9898
# against 0.99: a quiet machine interleaves the inserts differently).
# (With rows drawn afresh in every run, 50 queries, the spread was
# 0.976-0.994 for l2 alone, and one CI run measured 0.964 against a floor of
# 0.965: the data, not the interleaving, made most of it.  Before
# inner-product graphs were linked by L2 distance, 92 % of their elements
# were unreachable and recall was 0.56-0.75.)
my @configs = (
	[ 'real_l2_ops',     '<->', '',                0.965 ],
	[ 'real_l2_ops',     '<->', 'WITH (bits = 1)', 0.97 ],
	[ 'real_cosine_ops', '<=>', '',                0.97 ],
	[ 'real_cosine_ops', '<=>', 'WITH (bits = 1)', 0.98 ],
	[ 'real_ip_ops',     '<#>', '',                0.96 ],
	[ 'real_ip_ops',     '<#>', 'WITH (bits = 1)', 0.98 ]);

sub recall
{
	my ($op) = @_;
	return $node->safe_psql(
		'postgres', qq{
CREATE TEMP TABLE qs AS SELECT q, ARRAY[sin(q)::real, cos(q)::real, ((q % 7) / 7.0)::real] AS qv
FROM generate_series(1, 200) q;
SET enable_indexscan = off;
CREATE TEMP TABLE ex AS SELECT q, id FROM qs, LATERAL (SELECT id FROM items ORDER BY v $op qv LIMIT 20) s;
RESET enable_indexscan;
SET enable_seqscan = off;
CREATE TEMP TABLE ap AS SELECT q, id FROM qs, LATERAL (SELECT id FROM items ORDER BY v $op qv LIMIT 20) s;
SELECT round((SELECT count(*) FROM ex JOIN ap USING (q, id)) / 4000.0, 4);
});
}

for my $c (@configs)
{
	my ($opc, $op, $with, $floor) = @$c;
	my $what = "$opc" . ($with ? " $with" : '');

	# one session, for reference
	$node->safe_psql(
		'postgres', qq{
DROP TABLE IF EXISTS items;
CREATE TABLE items (id bigserial PRIMARY KEY, v real[]);
CREATE INDEX items_idx ON items USING vechnsw (v $opc) $with;
INSERT INTO items (v) SELECT v FROM src ORDER BY id;
});
	my $single = recall($op);
	note("$what: one session recall\@20 $single");

	for my $run (1 .. 3)
	{
		$node->safe_psql(
			'postgres', qq{
DROP TABLE IF EXISTS items;
CREATE TABLE items (id bigserial PRIMARY KEY, v real[]);
CREATE INDEX items_idx ON items USING vechnsw (v $opc) $with;
SELECT setval('src_seq', 1, false);
});
		my ($out, $err) = run_command(
			[ 'pgbench', '-n', '-c', '10', '-j', '2', '-t', '1000', '-f', "$dir/insert.sql", $node->connstr('postgres') ]);
		my ($done) = $out =~ /number of transactions actually processed: (\d+)/;
		my ($failed) = $out =~ /number of failed transactions: (\d+)/;
		is($done // 0, 10000, "$what, run $run: 10 clients ran their 10,000 inserts");
		is($failed // 0, 0, "$what, run $run: no failed transaction");
		unlike($err, qr/ERROR|FATAL|PANIC/, "$what, run $run: pgbench saw no errors");
		my ($rows, $covered, $unreachable) = split /\|/,
		  $node->safe_psql('postgres',
			"SELECT (SELECT count(*) FROM items), (SELECT count(DISTINCT s.id) FROM items JOIN src s USING (v)), unreachable_elements FROM vechnsw_index_stats('items_idx')"
		  );
		is("$rows|$covered", "10000|10000", "$what, run $run: 10,000 rows, every source row once");
		my $r = recall($op);
		cmp_ok($r, '>=', $floor,
			"$what, run $run: recall\@20 after concurrent inserts $r >= $floor (one session: $single; $unreachable unreachable)");
	}
}

$node->stop;
done_testing();
