# 008_crash_rounds.pl: 21 crashes, three kinds in turn, each followed by
# crash recovery (restart_after_crash) and the same checks:
#   a. kill -9 of a backend in the middle of a large uncommitted INSERT batch;
#   b. kill -9 of a backend in the middle of a VACUUM that repairs and frees
#      elements (30 % of the rows deleted just before);
#   c. immediate shutdown while two pgbench clients insert rows one by one.
# After each: every row committed before the crash (a batch committed and
# acknowledged first) is there, no row of the killed uncommitted batch is
# visible, vechnsw_index_check(heapallindexed) is clean (every visible row
# is in the index), every row is found at distance 0 by a search for its
# own vector, and after a VACUUM no deleted element or edge to one is left.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);

my $dim = 8;
my $vec = "ARRAY(SELECT random()::real FROM generate_series(1, $dim) WHERE g > 0)";

my $node = PostgreSQL::Test::Cluster->new('crashes');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_buffers = 16MB\nrestart_after_crash = on\nautovacuum = off\nmax_connections = 20\n");
$node->start;
$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION vecidx;
CREATE TABLE items (id bigint PRIMARY KEY, v real[]);
CREATE SEQUENCE ids;
INSERT INTO items SELECT nextval('ids'), $vec FROM generate_series(1, 5000) g;
CREATE INDEX items_idx ON items USING vechnsw (v real_l2_ops) WITH (m = 8);
});

my $dir = $node->basedir;
append_to_file("$dir/insert.sql", "INSERT INTO items SELECT nextval('ids'), $vec FROM generate_series(1, 1) g;\n");

# the pid of the backend running a statement that matches $pattern, waiting
# up to 10 s for it to start
sub backend_pid
{
	my ($pattern) = @_;
	for (1 .. 1000)
	{
		my $pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '$pattern' LIMIT 1"
		);
		return $pid if $pid ne '';
		usleep(10_000);
	}
	return undef;
}

# wait until the server accepts connections again after a crash
sub wait_up
{
	for (1 .. 600)
	{
		my ($ret) = $node->psql('postgres', 'SELECT 1');
		return 1 if $ret == 0;
		usleep(100_000);
	}
	return 0;
}

sub check_after
{
	my ($what, $committed_from, $committed_to, $uncommitted_from) = @_;
	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM items WHERE id BETWEEN $committed_from AND $committed_to"),
		$committed_to - $committed_from + 1,
		"$what: the batch committed before the crash is there");
	if (defined $uncommitted_from)
	{
		is($node->safe_psql('postgres', "SELECT count(*) FROM items WHERE id >= $uncommitted_from"),
			0, "$what: no row of the killed uncommitted batch is visible");
	}
	is($node->safe_psql('postgres', "SELECT vechnsw_index_check('items_idx', true)"),
		'', "$what: the checker (heapallindexed) is clean");
	my $missed = $node->safe_psql(
		'postgres', q{
SET enable_seqscan = off;
SET vechnsw.ef_search = 100;
SELECT count(*) FROM items o
WHERE (SELECT i.v <-> o.v FROM items i ORDER BY i.v <-> o.v LIMIT 1) <> 0;
});
	is($missed, 0, "$what: every row is found at distance 0 through the index");
	$node->safe_psql('postgres', 'VACUUM items');
	is( $node->safe_psql('postgres',
			"SELECT deleted_elements, edges_to_deleted FROM vechnsw_index_stats('items_idx')"),
		'0|0', "$what: after VACUUM no deleted element or edge to one is left");
}

# a committed batch of $n rows; returns its id range
sub committed_batch
{
	my ($n) = @_;
	my ($from, $to) = split /\|/, $node->safe_psql(
		'postgres', qq{
WITH ins AS (INSERT INTO items SELECT nextval('ids'), $vec FROM generate_series(1, $n) g RETURNING id)
SELECT min(id), max(id) FROM ins;
});
	return ($from, $to);
}

my $rounds = 0;
for my $round (1 .. 7)
{
	# a. kill -9 mid-batch
	{
		my $what = "round $round, kill -9 mid-INSERT";
		my ($from, $to) = committed_batch(200);
		my $start = $node->safe_psql('postgres', "SELECT nextval('ids') + 1000000");
		my ($out, $err) = ('', '');
		my $h = IPC::Run::start(
			[
				'psql', '-X', '-d', $node->connstr('postgres'), '-c',
				"BEGIN; INSERT INTO items SELECT $start + g, $vec FROM generate_series(1, 200000) g; COMMIT;"
			],
			'<', \undef, '>', \$out, '2>', \$err);
		my $pid = backend_pid('%generate_series(1, 200000)%');
		usleep(300_000);
		ok(defined $pid && kill('KILL', $pid), "$what: backend $pid killed");
		$h->finish;
		ok(wait_up(), "$what: the server recovered");
		check_after($what, $from, $to, $start);
		$rounds++;
	}

	# b. kill -9 mid-VACUUM
	{
		my $what = "round $round, kill -9 mid-VACUUM";
		my ($from, $to) = committed_batch(2000);
		$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 10 < 3 AND id NOT BETWEEN ' . "$from AND $to");
		my ($out, $err) = ('', '');
		# (throttled, so that it is still running when killed at different points)
		my $h = IPC::Run::start(
			[
				'psql', '-X', '-d', $node->connstr('postgres'),
				'-c', 'SET vacuum_cost_delay = 2', '-c', 'SET vacuum_cost_limit = 20',
				'-c', 'VACUUM items'
			],
			'<', \undef, '>', \$out, '2>', \$err);
		my $pid = backend_pid('VACUUM items%');
		usleep(100_000 * $round);
		ok(defined $pid && kill('KILL', $pid), "$what: backend $pid killed");
		$h->finish;
		ok(wait_up(), "$what: the server recovered");
		check_after($what, $from, $to, undef);
		$rounds++;
	}

	# c. immediate shutdown under insert load
	{
		my $what = "round $round, immediate shutdown under load";
		my ($from, $to) = committed_batch(200);
		my ($out, $err) = ('', '');
		my $h = IPC::Run::start(
			[ 'pgbench', '-n', '-T', '30', '-c', '2', '-j', '1', '-f', "$dir/insert.sql", $node->connstr('postgres') ],
			'<', \undef, '>', \$out, '2>', \$err);
		usleep(1_000_000);
		$node->stop('immediate');
		$h->finish;
		$node->start;
		ok(wait_up(), "$what: the server recovered");
		check_after($what, $from, $to, undef);
		$rounds++;
	}
}
is($rounds, 21, '21 crashes in all');

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:/, 'no PANIC or assertion failure in the server log');
like($log, qr/terminated by signal 9/, 'the killed backends were seen by the postmaster');

$node->stop;
done_testing();
