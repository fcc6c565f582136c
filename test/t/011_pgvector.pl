# 011_pgvector.pl: vecidx next to pgvector (extension "vector") in one
# database, created in either order (database "vf": vecidx first, "pf":
# pgvector first).  In each: the README's SQL examples (the quick example,
# the domain recipe, the default operator class, query vectors of other
# array types) return the exact answers with the vechnsw index in the plan;
# pgvector's typed calls (an hnsw index on vector(3) and ORDER BY <->, its
# distance functions, vector_dims, l2_normalize, casts) return theirs with
# the hnsw index in the plan; the untyped calls the README says need a cast
# are refused as not unique.  Skips when pgvector is not installed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('pgvector');
my $sharedir = $node->config_data('--sharedir');
plan skip_all => "pgvector is not installed (no $sharedir/extension/vector.control)"
  unless -f "$sharedir/extension/vector.control";

$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;

# 1,000 3-dimensional rows, the same in the real[] and the vector tables
my $rows = "SELECT i, ARRAY[sin(i), cos(i * 1.3), sin(i * 0.7)]::real[] FROM generate_series(1, 1000) i";
my $q = '{0.1,0.2,0.3}';    # the README's query vector

# ids of a query's rows in its order
sub ids
{
	my ($db, $settings, $query) = @_;
	return $node->safe_psql($db, "$settings\nSELECT array_agg(id) FROM ($query) q;");
}

# $query must give the exact answer through index $index: its plan (with
# sequential scans disabled) scans $index, and its rows are those of the same
# query without index scans, in the same order.  Returns the ids.
sub index_exact
{
	my ($db, $query, $index, $what, $settings) = @_;
	$settings //= '';
	my $plan = $node->safe_psql($db, "$settings\nSET enable_seqscan = off;\nEXPLAIN (COSTS OFF) $query;");
	like($plan, qr/Index Scan using $index\b/, "$db: $what: the plan scans $index")
	  or diag($plan);
	my $got = ids($db, "$settings\nSET enable_seqscan = off;", $query);
	my $exact = ids($db, "$settings\nSET enable_indexscan = off;\nSET enable_bitmapscan = off;", $query);
	like($got, qr/^\{\d+(,\d+){9}\}$/, "$db: $what: 10 rows");
	is($got, $exact, "$db: $what: the rows of the exact answer, in its order");
	return $got;
}

# the call fails as not unique (42725)
sub not_unique
{
	my ($db, $sql) = @_;
	my ($ret, $out, $err) = $node->psql($db, "\\set VERBOSITY verbose\n$sql");
	isnt($ret, 0, "$db: $sql fails");
	like($err, qr/ERROR:\s+42725: (function|operator) .*is not unique/, "$db: $sql: not unique (42725)");
}

for my $case ([ 'vf', 'vecidx', 'vector' ], [ 'pf', 'vector', 'vecidx' ])
{
	my ($db, $first, $second) = @$case;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION $first");
	$node->safe_psql($db, "CREATE EXTENSION $second");
	is( $node->safe_psql($db,
			"SELECT string_agg(extname, ',' ORDER BY oid) FROM pg_extension WHERE extname IN ('vecidx', 'vector')"),
		"$first,$second",
		"$db: CREATE EXTENSION $first, then $second");

	# ---- README: the quick example at the top
	$node->safe_psql(
		$db, qq{
CREATE TABLE items (id bigint PRIMARY KEY, embedding real[]);
CREATE INDEX ON items USING vechnsw (embedding real_l2_ops) WITH (m = 16, ef_construction = 64);
INSERT INTO items $rows;
ANALYZE items;
});
	my $quick = index_exact($db, "SELECT id FROM items ORDER BY embedding <-> '$q' LIMIT 10",
		'items_embedding_idx', 'quick example', 'SET vechnsw.ef_search = 40;');

	# ---- README: the default operator class and query vectors of other types
	$node->safe_psql(
		$db, q{
DROP INDEX items_embedding_idx;
CREATE INDEX ON items USING vechnsw (embedding);
});
	is( $node->safe_psql($db,
			"SELECT opcname FROM pg_index i JOIN pg_opclass o ON o.oid = i.indclass[0] WHERE i.indexrelid = 'items_embedding_idx'::regclass"
		),
		'real_l2_ops',
		"$db: USING vechnsw (embedding) gets real_l2_ops");
	for my $t ([ "'$q'", 'untyped literal' ],
		[ 'ARRAY[0.1, 0.2, 0.3]',         'numeric[]' ],
		[ "'$q'::double precision[]",     'double precision[]' ],
		[ "'$q'::real[]::float8[]",       'double precision[] from real[]' ])
	{
		my ($query, $type) = @$t;
		my $got = index_exact($db, "SELECT id FROM items ORDER BY embedding <-> $query LIMIT 10",
			'items_embedding_idx', "default opclass, query $type");
		is($got, $quick, "$db: query $type: the quick example's answer");
	}
	# a driver's parameter: double precision[]
	my $plan = $node->safe_psql(
		$db, qq{
SET enable_seqscan = off;
PREPARE near(double precision[]) AS SELECT id FROM items ORDER BY embedding <-> \$1 LIMIT 10;
EXPLAIN (COSTS OFF) EXECUTE near('$q');
});
	like($plan, qr/Index Scan using items_embedding_idx\b/, "$db: a double precision[] parameter: the plan scans the index");
	is( $node->safe_psql(
			$db, qq{
SET enable_seqscan = off;
PREPARE near(double precision[]) AS SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY embedding <-> \$1 LIMIT 10) s;
EXECUTE near('$q');
}),
		$quick,
		"$db: a double precision[] parameter: the quick example's answer");
	# integer[] query: its own answer
	index_exact($db, 'SELECT id FROM items ORDER BY embedding <-> ARRAY[1, 0, -1] LIMIT 10',
		'items_embedding_idx', 'query integer[]');

	# ---- pgvector: a vector(3) column with an hnsw index, the same rows
	$node->safe_psql(
		$db, qq{
CREATE TABLE pv (id bigint PRIMARY KEY, embedding vector(3));
INSERT INTO pv SELECT i, v::vector FROM ($rows) s(i, v);
CREATE INDEX pv_embedding_idx ON pv USING hnsw (embedding vector_l2_ops);
ANALYZE pv;
});
	my $pq = '[0.1,0.2,0.3]';
	my $pg = index_exact($db, "SELECT id FROM pv ORDER BY embedding <-> '$pq' LIMIT 10",
		'pv_embedding_idx', "pgvector: ORDER BY embedding <-> '$pq'");
	is($pg, $quick, "$db: pgvector's hnsw index and vechnsw give the same nearest rows");
	index_exact($db, "SELECT id FROM pv ORDER BY embedding <-> '$pq'::vector LIMIT 10",
		'pv_embedding_idx', 'pgvector: typed query vector');

	# pgvector's functions on constants: exact values
	is( $node->safe_psql(
			$db, q{
SELECT l2_distance('[1,2,3]'::vector, '[1,2,4]'), cosine_distance('[1,0,0]'::vector, '[0,1,0]'),
  inner_product('[1,2,3]'::vector, '[4,5,6]'), vector_dims('[1,2,3]'::vector),
  l2_normalize('[3,4]'::vector), pg_typeof(l2_normalize('[3,4]'::vector)),
  '{1,2,3}'::real[]::vector, pg_typeof('{1,2,3}'::real[]::vector), '[1,2,3]'::vector::real[],
  '[1,2,3]'::vector <-> '[1,2,4]', '[1,0,0]'::vector <=> '[0,1,0]', '[1,2,3]'::vector <#> '[4,5,6]'
}),
		'1|1|32|3|[0.6,0.8]|vector|[1,2,3]|vector|{1,2,3}|1|1|-32',
		"$db: pgvector's functions, operators and casts on vector values");
	# pgvector's functions on the column agree with vecidx's on the same values
	is( $node->safe_psql(
			$db, qq{
SELECT count(*),
  count(*) FILTER (WHERE abs(l2_distance(embedding, '[1,2,3]') - l2_distance(embedding::real[], '{1,2,3}'::real[])) < 1e-5),
  count(*) FILTER (WHERE abs(cosine_distance(embedding, '[1,2,3]') - cosine_distance(embedding::real[], '{1,2,3}'::real[])) < 1e-5),
  count(*) FILTER (WHERE abs(inner_product(embedding, '[1,2,3]') - inner_product(embedding::real[], '{1,2,3}'::real[])) < 1e-5),
  count(*) FILTER (WHERE vector_dims(embedding) = 3),
  count(*) FILTER (WHERE abs(vector_norm(l2_normalize(embedding)) - 1) < 1e-6),
  count(*) FILTER (WHERE pg_typeof(l2_normalize(embedding)) = 'vector'::regtype)
FROM pv
}),
		'1000|1000|1000|1000|1000|1000|1000',
		"$db: l2_distance, cosine_distance, inner_product, vector_dims, l2_normalize on the vector column");

	# vecidx's functions on real[] values: exact values
	is( $node->safe_psql(
			$db, q{
SELECT vector_dims('{1,2,3}'::real[]), l2_normalize('{3,4}'::real[]), pg_typeof(l2_normalize('{3,4}'::real[])),
  l2_distance('{1,2,3}'::real[], '{1,2,4}'::real[]), cosine_distance('{1,0,0}'::real[], '{0,1,0}'::real[]),
  inner_product('{1,2,3}'::real[], '{4,5,6}'::real[]), negative_inner_product('{1,2,3}'::real[], '{4,5,6}'::real[]),
  '{1,2,3}'::real[] <-> '{1,2,4}', '{1,0,0}'::real[] <=> '{0,1,0}', '{1,2,3}'::real[] <#> '{4,5,6}',
  '{1,2,3}'::real[] <-> '{1,2,4}'::float8[], '{1,2,3}'::real[] <#> ARRAY[4,5,6]
}),
		'3|{0.6,0.8}|real[]|1|1|32|-32|1|1|-32|1|-32',
		"$db: vecidx's functions and operators on real[] values");
	# one typed argument is enough (README): a real[] column and an untyped literal
	is( $node->safe_psql(
			$db, qq{
SELECT count(*) FILTER (WHERE l2_distance(embedding, '$q') = embedding <-> '$q'::real[]),
  count(*) FILTER (WHERE cosine_distance(embedding, '$q') = embedding <=> '$q'::real[]),
  count(*) FILTER (WHERE inner_product(embedding, '$q') = -(embedding <#> '$q'::real[])),
  count(*) FILTER (WHERE negative_inner_product(embedding, '$q') = embedding <#> '$q'::real[])
FROM items
}),
		'1000|1000|1000|1000',
		"$db: vecidx's distance functions on the real[] column with an untyped literal");

	# README (coexistence): an untyped literal argument needs a cast
	not_unique($db, "SELECT vector_dims('[1,2,3]')");
	not_unique($db, "SELECT vector_dims('{1,2,3}')");
	not_unique($db, "SELECT l2_normalize('[3,4]')");
	not_unique($db, "SELECT l2_normalize('{3,4}')");
	not_unique($db, "SELECT l2_distance('{1,2,3}', '{1,2,4}')");
	not_unique($db, "SELECT l2_distance('[1,2,3]', '[1,2,4]')");
	not_unique($db, "SELECT cosine_distance('{1,2,3}', '{1,2,4}')");
	not_unique($db, "SELECT inner_product('{1,2,3}', '{1,2,4}')");
	# (pgvector has no negative_inner_product)
	is($node->safe_psql($db, "SELECT negative_inner_product('{1,2,3}', '{1,2,4}')"),
		'-17', "$db: negative_inner_product of untyped literals is vecidx's");

	# README (coexistence): a vector column compared with an array runs
	# vecidx's operator through pgvector's implicit vector -> real[] cast:
	# right rows, sequential scan (pgvector alone refuses the operator)
	$plan = $node->safe_psql($db,
		"SET enable_seqscan = off;\nEXPLAIN (COSTS OFF) SELECT id FROM pv ORDER BY embedding <-> ARRAY[0.1, 0.2, 0.3] LIMIT 10;");
	like($plan, qr/Seq Scan on pv/, "$db: vector column <-> ARRAY[...]: a sequential scan");
	is(ids($db, '', 'SELECT id FROM pv ORDER BY embedding <-> ARRAY[0.1, 0.2, 0.3] LIMIT 10'),
		$quick, "$db: vector column <-> ARRAY[...]: the right rows");
	index_exact($db, 'SELECT id FROM pv ORDER BY embedding <-> ARRAY[0.1, 0.2, 0.3]::vector LIMIT 10',
		'pv_embedding_idx', 'vector column <-> ARRAY[...]::vector');

	# ---- README: the domain recipe (its own table items)
	$node->safe_psql($db, 'DROP TABLE items');
	$node->safe_psql(
		$db, q{
CREATE DOMAIN embedding AS real[]
  CHECK (array_ndims(VALUE) = 1 AND cardinality(VALUE) = 784
         AND array_position(VALUE, NULL) IS NULL
         AND NOT (VALUE && ARRAY['NaN', 'Infinity', '-Infinity']::real[]));
CREATE TABLE items (id bigint PRIMARY KEY, embedding embedding);
});
	$node->safe_psql(
		$db, q{
INSERT INTO items SELECT i, ARRAY(SELECT sin(i * d + i) FROM generate_series(1, 784) d)::real[]
FROM generate_series(1, 300) i;
CREATE INDEX ON items USING vechnsw (embedding);
ANALYZE items;
});
	my $dq = '(SELECT ARRAY(SELECT cos(d) FROM generate_series(1, 784) d)::real[])';
	index_exact($db, "SELECT id FROM items ORDER BY embedding <-> $dq LIMIT 10",
		'items_embedding_idx', 'domain recipe, index on the domain column');
	for my $bad ([ 'NaN', q{array_fill(1::real, ARRAY[783]) || 'NaN'::real} ],
		[ 'NULL element', q{array_fill(1::real, ARRAY[783]) || NULL::real} ],
		[ '783 elements', q{array_fill(1::real, ARRAY[783])} ],
		[ 'two dimensions', q{array_fill(1::real, ARRAY[2, 392])} ])
	{
		my ($what, $expr) = @$bad;
		my ($ret, $out, $err) = $node->psql($db, "\\set VERBOSITY verbose\nINSERT INTO items VALUES (1000, $expr)");
		like($err, qr/ERROR:\s+23514: value for domain embedding violates check constraint/,
			"$db: domain recipe: a vector with $what is refused (23514)");
	}
	is($node->safe_psql($db, "SELECT count(*) FROM items"), '300', "$db: domain recipe: nothing bad got in");
	is($node->safe_psql($db, "SELECT vechnsw_index_check('items_embedding_idx', true)"),
		'', "$db: domain recipe: the checker (heapallindexed) is clean");
}

$node->stop;
done_testing();
