# 012_fdw_shards.pl: scale-out over postgres_fdw.  Two shard clusters hold
# one vechnsw-indexed table each; a coordinator cluster has a hash-partitioned
# table whose partitions are foreign tables on the shards.  Rows inserted
# through the coordinator are routed to the shards; ORDER BY <distance> LIMIT
# on the coordinator is a Merge Append of the two foreign scans, each sending
# its shard ORDER BY <distance> (pushed down because the foreign server lists
# the vecidx extension as shippable); the coordinator merges and stops.  The
# LIMIT is not pushed down (PostgreSQL does not push a LIMIT through a Merge
# Append of foreign partitions): each shard plans an open-ended cursor, for
# cursor_tuple_fraction of its rows, and sorts unless that setting is
# lowered for the coordinator's role on the shards, when it walks its
# vechnsw index.  Answers must equal the exact answer over all rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 8;
my @shards;
for my $i (0, 1)
{
	my $s = PostgreSQL::Test::Cluster->new("shard$i");
	$s->init;
	$s->append_conf('postgresql.conf', "autovacuum = off\n");
	$s->start;
	$s->safe_psql('postgres', qq{
CREATE EXTENSION vecidx;
CREATE TABLE items (id int PRIMARY KEY, v real[]);
CREATE INDEX items_v ON items USING vechnsw (v);
});
	push @shards, $s;
}

my $coord = PostgreSQL::Test::Cluster->new('coordinator');
$coord->init;
$coord->start;
my $setup = qq{
CREATE EXTENSION vecidx;
CREATE EXTENSION postgres_fdw;
CREATE TABLE items (id int, v real[]) PARTITION BY HASH (id);
};
for my $i (0, 1)
{
	my $port = $shards[$i]->port;
	my $host = $shards[$i]->host;
	$setup .= qq{
CREATE SERVER shard$i FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '$host', port '$port', dbname 'postgres', extensions 'vecidx');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard$i;
CREATE FOREIGN TABLE items_$i PARTITION OF items FOR VALUES WITH (MODULUS 2, REMAINDER $i)
	SERVER shard$i OPTIONS (table_name 'items');
};
}
$coord->safe_psql('postgres', $setup);

# 6,000 rows through the coordinator: routed to the shards
$coord->safe_psql('postgres', qq{
SELECT setseed(0.3);
INSERT INTO items SELECT i, ARRAY(SELECT round(random() * 1000)::real FROM generate_series(1, $dim) WHERE i > 0)
FROM generate_series(1, 6000) i;
});
my @counts = map { $_->safe_psql('postgres', 'ANALYZE items; SELECT count(*) FROM items') } @shards;
is($counts[0] + $counts[1], 6000, "the shards hold all 6,000 rows ($counts[0] + $counts[1])");
ok($counts[0] > 2500 && $counts[1] > 2500, 'both shards hold about half');
$coord->safe_psql('postgres', 'ANALYZE items');

my $q = "'{" . join(',', map { 500 } 1 .. $dim) . "}'";
my $plan = $coord->safe_psql('postgres',
	"EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v <-> $q LIMIT 10");
like($plan, qr/Merge Append/, 'the coordinator merges the shards\' streams');
my @remote = ($plan =~ /Remote SQL: ([^\n]*)/g);
is(scalar(@remote), 2, 'one remote query per shard');
like($_, qr/ORDER BY \(v OPERATOR\(public\.<->\) /, "the distance order is pushed down: $_") for @remote;
unlike($_, qr/LIMIT/, 'the LIMIT is not pushed down') for @remote;
note($plan);

$coord->safe_psql('postgres', 'CREATE TABLE allrows AS SELECT * FROM items');

# 20 queries; returns how many coordinator answers equal the exact answer
# over all rows, and how many index scans each shard made meanwhile
sub run_queries
{
	my @before = map {
		$_->safe_psql('postgres', "SELECT pg_stat_force_next_flush(); SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'items_v'")
	} @shards;
	my $same = 0;
	for my $k (1 .. 20)
	{
		my $qv = "'{" . join(',', map { ($k * 37 + $_ * 53) % 1000 } 1 .. $dim) . "}'::real[]";
		my $fdw = $coord->safe_psql('postgres',
			"SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> $qv LIMIT 10) s");
		my $exact = $coord->safe_psql('postgres',
			"SELECT string_agg(id::text, ',') FROM (SELECT id FROM allrows ORDER BY v <-> $qv LIMIT 10) s");
		$same++ if $fdw eq $exact && $fdw =~ /^\d+(,\d+){9}$/;
	}
	# the shards' backends report their statistics when they exit or at the
	# next flush interval: wait until the counts stop moving
	my @scans;
	for my $i (0, 1)
	{
		my $n = -1;
		for (1 .. 20)
		{
			my $now = $shards[$i]->safe_psql('postgres', "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'items_v'");
			last if $now == $n;
			$n = $now;
			sleep 1;
		}
		push @scans, $n - $before[$i];
	}
	return ($same, @scans);
}

# By default the shards sort: postgres_fdw reads through a cursor, which the
# shard plans for cursor_tuple_fraction (0.1) of its rows, and walking the
# graph through 10 % of the rows costs more than a sequential scan and a sort.
# The answers are exact either way.
my ($same, @scans) = run_queries();
is($same, 20, 'default: all 20 coordinator answers equal the exact answer');
note("default: index scans on the shards: @scans (a sequential scan and a sort when 0)");

# With cursor_tuple_fraction lowered for the role the coordinator connects
# as, each shard walks its vechnsw index and stops when the coordinator has
# its rows.
$_->safe_psql('postgres', 'ALTER ROLE CURRENT_USER SET cursor_tuple_fraction = 0.001') for @shards;
($same, @scans) = run_queries();
is($same, 20, 'cursor_tuple_fraction 0.001 on the shards: all 20 answers equal the exact answer');
cmp_ok($scans[$_], '>=', 20, "shard $_ answered each query with its vechnsw index ($scans[$_] scans)") for (0, 1);

$_->stop for (@shards, $coord);
done_testing();
