#!/usr/bin/perl
#
# gen.pl: deterministic input generator for test/fuzz/fuzz.sh.
#
#   perl gen.pl --setup                     SQL that creates the fuzz schema
#   perl gen.pl --seed S --inputs N         N inputs, each preceded by the
#                                           psql line "\warn @@IN <n>"
#
# An input is one or more SQL statements (a line each, or a few lines for
# COPY and \gset); every input that opens a transaction closes it, so inputs
# do not leak state other than GUCs and the tables' contents.  The same seed
# gives the same text (Perl's rand is its own drand48 on every platform).
# Nothing here depends on results: the generator keeps a rough model of the
# scratch table (its dimensions) and is fine when that model is wrong.
#
use strict;
use warnings;

my ($seed, $ninputs, $setup) = (1, 10000, 0);
while (@ARGV)
{
	my $a = shift @ARGV;
	if ($a eq '--seed') { $seed = shift @ARGV; }
	elsif ($a eq '--inputs') { $ninputs = shift @ARGV; }
	elsif ($a eq '--setup') { $setup = 1; }
	else { die "gen.pl: unknown argument $a\n"; }
}
die "gen.pl: --seed must be an integer\n" unless $seed =~ /^\d+$/;
die "gen.pl: --inputs must be a positive integer\n" unless $ninputs =~ /^\d+$/ && $ninputs > 0;

# ------------------------------------------------------------------ schema

# every opclass x storage x bits, each in its own table with one index so
# the planner has exactly one index to use for the table's operator
my @OPS = (
	{ key => 'l2',  opc => 'real_l2_ops',     op => '<->' },
	{ key => 'cos', opc => 'real_cosine_ops', op => '<=>' },
	{ key => 'ip',  opc => 'real_ip_ops',     op => '<#>' },
);
my %DIM = (
	l2_f32_0 => 16, l2_f32_1 => 64, l2_f16_0 => 3, l2_f16_1 => 100,
	cos_f32_0 => 8, cos_f32_1 => 32, cos_f16_0 => 1, cos_f16_1 => 48,
	ip_f32_0 => 5, ip_f32_1 => 128, ip_f16_0 => 2, ip_f16_1 => 24,
);
my @MS = (4, 16, 2, 8, 24, 48);	# m = 100 is built on the scratch table
my @EFS = (16, 64, 4, 200, 40, 10);

my @T;		# query targets: name, index, opclass, operator, dims
{
	my $i = 0;
	for my $o (@OPS)
	{
		for my $st ('f32', 'f16')
		{
			for my $b (0, 1)
			{
				my $n = "fz_$o->{key}_${st}_$b";
				push @T, { t => $n, idx => "${n}_idx", opc => $o->{opc}, op => $o->{op},
						   dim => $DIM{"$o->{key}_${st}_$b"}, st => $st, bits => $b,
						   m => $MS[$i % @MS], ef => $EFS[$i % @EFS], combo => 1 };
				$i++;
			}
		}
	}
}
my @EXTRA = (
	{ t => 'fz_p', idx => 'fz_p_idx', opc => 'real_l2_ops', op => '<->', dim => 6 },
	{ t => 'fz_e', idx => 'fz_e_idx', opc => 'real_cosine_ops', op => '<=>', dim => 7 },
	{ t => 'fz_u', idx => 'fz_u_idx', opc => 'real_ip_ops', op => '<#>', dim => 10 },
	{ t => 'fz_big', idx => 'fz_big_idx', opc => 'real_l2_ops', op => '<->', dim => 2000 },
	{ t => 'fz_bigh', idx => 'fz_bigh_idx', opc => 'real_cosine_ops', op => '<=>', dim => 2000 },
);
my %SCR = (t => 'fz_s', idx => 'fz_s_idx', opc => 'real_l2_ops', op => '<->', dim => 8);

if ($setup)
{
	print setup_sql();
	exit 0;
}

sub setup_sql
{
	my $s = <<'EOS';
SET client_min_messages = warning;
CREATE EXTENSION vecidx;
-- a deterministic pseudo-random vector: components in (-1, 1)
CREATE FUNCTION fz_vec(seed bigint, d int) RETURNS real[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ARRAY(SELECT ((hashint8(seed * 100003 + g) % 100000) / 1e5::float8)::real
   FROM generate_series(1, d) g) $$;
EOS
	for my $t (@T)
	{
		my ($n, $d) = ($t->{t}, $t->{dim});
		$s .= "CREATE TABLE $n (id serial PRIMARY KEY, v real[], tag int);\n";
		$s .= "INSERT INTO $n (v, tag) SELECT fz_vec(i, $d), i % 10 FROM generate_series(1, 220) i;\n";
		$s .= "INSERT INTO $n (v, tag) SELECT fz_vec(i % 5, $d), 100 FROM generate_series(1, 20) i;\n";
		$s .= "INSERT INTO $n (v, tag) VALUES (NULL, -1), (array_fill(0::real, ARRAY[$d]), -2);\n";
		$s .= "CREATE INDEX $t->{idx} ON $n USING vechnsw (v $t->{opc}) WITH (m = $t->{m}, ef_construction = $t->{ef}, storage = $t->{st}, bits = $t->{bits});\n";
	}
	$s .= <<'EOS';
CREATE TABLE fz_s (id serial PRIMARY KEY, v real[], tag int, d float8[], r real);
INSERT INTO fz_s (v, tag, d, r) SELECT fz_vec(i, 8), i % 10, fz_vec(i, 8)::float8[], i FROM generate_series(1, 100) i;
CREATE INDEX fz_s_idx ON fz_s USING vechnsw (v real_l2_ops);
CREATE TABLE fz_heap (id int PRIMARY KEY, v real[], tag int);
INSERT INTO fz_heap SELECT i, fz_vec(i, 4), i % 10 FROM generate_series(1, 50) i;
CREATE INDEX fz_bt ON fz_heap (tag);
CREATE INDEX fz_hash ON fz_heap USING hash (tag);
CREATE INDEX fz_gin ON fz_heap USING gin (v);
CREATE INDEX fz_brin ON fz_heap USING brin (id);
CREATE VIEW fz_view AS SELECT * FROM fz_heap;
CREATE SEQUENCE fz_seq;
CREATE MATERIALIZED VIEW fz_mv AS SELECT * FROM fz_heap;
CREATE TYPE fz_type AS (a int, b real[]);
CREATE TABLE fz_p (id serial, v real[], tag int) PARTITION BY RANGE (tag);
CREATE TABLE fz_p_1 PARTITION OF fz_p FOR VALUES FROM (MINVALUE) TO (5);
CREATE TABLE fz_p_2 PARTITION OF fz_p FOR VALUES FROM (5) TO (MAXVALUE);
INSERT INTO fz_p (v, tag) SELECT fz_vec(i, 6), i % 10 FROM generate_series(1, 200) i;
CREATE INDEX fz_p_id ON fz_p (id);
CREATE INDEX fz_p_idx ON fz_p USING vechnsw (v real_l2_ops) WITH (m = 4, ef_construction = 8);
CREATE TABLE fz_e (id serial PRIMARY KEY, v real[], tag int);
CREATE INDEX fz_e_idx ON fz_e USING vechnsw (v real_cosine_ops) WITH (storage = f16, bits = 1);
CREATE UNLOGGED TABLE fz_u (id serial PRIMARY KEY, v real[], tag int);
INSERT INTO fz_u (v, tag) SELECT fz_vec(i, 10), i % 10 FROM generate_series(1, 100) i;
CREATE INDEX fz_u_idx ON fz_u USING vechnsw (v real_ip_ops) WITH (bits = 1);
CREATE TABLE fz_big (id serial PRIMARY KEY, v real[], tag int);
INSERT INTO fz_big (v, tag) SELECT fz_vec(i, 2000), i % 10 FROM generate_series(1, 30) i;
CREATE INDEX fz_big_idx ON fz_big USING vechnsw (v real_l2_ops) WITH (m = 4, bits = 0);
CREATE TABLE fz_bigh (id serial PRIMARY KEY, v real[], tag int);
INSERT INTO fz_bigh (v, tag) SELECT fz_vec(i, 2000), i % 10 FROM generate_series(1, 30) i;
CREATE INDEX fz_bigh_idx ON fz_bigh USING vechnsw (v real_cosine_ops) WITH (m = 8, storage = f16, bits = 1);
VACUUM ANALYZE;
EOS
	return $s;
}

# ------------------------------------------------------------------ helpers

sub pick { return $_[int(rand(scalar @_))]; }
sub chance { return rand() < $_[0]; }
sub ri { my ($lo, $hi) = @_; return $lo + int(rand($hi - $lo + 1)); }

# weighted choice: list of [weight, value]
sub wpick
{
	my $tot = 0;
	$tot += $_->[0] for @_;
	my $r = rand($tot);
	for (@_)
	{
		return $_->[1] if ($r -= $_->[0]) < 0;
	}
	return $_[-1][1];
}

sub num { return sprintf('%.4g', rand() * 2 - 1); }

# special element values: valid reals at the edges
my @SPECIAL = ('NaN', 'Infinity', '-Infinity', '-0', '0', '1e-42', '-1e-42', '1.4e-45',
			   '1e-38', '1e38', '-1e38', '3.4e38', '-3.4e38', '9e18', '-9e18', '65504',
			   '65520', '-65520', '65519.99', '6e-8', '1e-8', '6.1e-5', '1e20', 'inf', '-inf');
# element values the real input function rejects
my @BADELEM = ('1e39', '-1e39', '1e-46', 'abc', '', '1.2.3', '0x10', '--1', '1e', 'NULLL', '"1"');

sub lit { return "'{" . join(',', @_) . "}'::real[]"; }

sub good_elems { my $d = shift; return map { num() } 1 .. $d; }

# SQL expression for a vector of d dimensions (d may be huge: built in SQL)
sub big_vec
{
	my $d = shift;
	return wpick([$d > 70000 ? 0 : 3, "fz_vec(" . ri(1, 1e6) . ", $d)"],
				 [2, "array_fill(" . pick('0.5', '1', '-0', '1e-42', '65520', '1e38', '0') . "::real, ARRAY[$d])"],
				 [$d > 70000 ? 0 : 1, "ARRAY(SELECT sin(g * " . ri(1, 97) . ")::real FROM generate_series(1, $d) g)"]);
}

# a query or row vector meant for an index of $d dimensions: mostly good
sub qvec
{
	my ($d, $goodw) = @_;
	$goodw //= 60;
	my $k = wpick([$goodw, 'good'], [8, 'special'], [4, 'zero'], [5, 'wrongdim'], [3, 'big'],
				  [3, 'empty'], [3, 'null'], [3, 'nullelem'], [3, 'multidim'], [2, 'lbound'],
				  [2, 'syntax'], [2, 'cast'], [2, 'same'], [2, 'subnormal'], [4, 'sqlgood']);
	if ($k eq 'good') { return lit(good_elems($d)); }
	if ($k eq 'sqlgood') { return "fz_vec(" . ri(1, 100000) . ", $d)"; }
	if ($k eq 'special')
	{
		my @e = good_elems($d);
		for (1 .. ri(1, 2)) { $e[int(rand($d))] = pick(@SPECIAL); }
		return lit(@e);
	}
	if ($k eq 'zero') { return chance(0.5) ? lit(('0') x $d) : lit(('-0') x $d); }
	if ($k eq 'wrongdim')
	{
		my $w = pick($d + 1, $d - 1, 1, 2, $d * 2, 3);
		$w = $d + 1 if $w < 1 || $w == $d;
		return $w > 200 ? big_vec($w) : lit(good_elems($w));
	}
	if ($k eq 'big') { return big_vec(pick(1999, 2000, 2001, 2048, 4000, 4001, 65536, 1000000)); }
	if ($k eq 'empty') { return pick("'{}'::real[]", "ARRAY[]::real[]", "'{}'", "array_fill(1::real, ARRAY[0])"); }
	if ($k eq 'null') { return pick('NULL', 'NULL::real[]', "'{NULL}'::real[]"); }
	if ($k eq 'nullelem')
	{
		my @e = good_elems($d);
		$e[int(rand($d))] = 'NULL';
		return lit(@e);
	}
	if ($k eq 'multidim')
	{
		my $r = ri(1, 3);
		my $c = $d % $r == 0 ? $d / $r : ri(1, 4);
		return pick("'{" . join(',', map { '{' . join(',', good_elems($c)) . '}' } 1 .. $r) . "}'::real[]",
					"'{{{" . join(',', good_elems($d)) . "}}}'::real[]",
					"array_fill(1::real, ARRAY[$r, $c])",
					"'{{}}'::real[]");
	}
	if ($k eq 'lbound')
	{
		my $lb = pick(0, -3, 2, 1000000, -2147483647);
		my $ub = $lb + $d - 1;
		return pick("'[$lb:$ub]={" . join(',', good_elems($d)) . "}'::real[]",
					"array_fill(0.25::real, ARRAY[$d], ARRAY[$lb])");
	}
	if ($k eq 'syntax')
	{
		my @e = good_elems($d);
		return pick("'{" . join(',', @e) . "'::real[]",
					"'{" . join(',,', @e) . "}'::real[]",
					"'" . join(',', @e) . "'::real[]",
					"'{" . join(',', @e[0 .. $#e - 1], pick(@BADELEM)) . "}'::real[]",
					"'[1:2]={1}'::real[]", "'{1}}'::real[]");
	}
	if ($k eq 'cast')
	{
		return pick("ARRAY[" . join(',', map { ri(-5, 5) } 1 .. $d) . "]::real[]",
					"ARRAY[" . join(',', map { ri(-5, 5) } 1 .. $d) . "]::int[]::real[]",
					"'{" . join(',', good_elems($d - 1), pick('1e39', '1e-50', '1e300')) . "}'::float8[]::real[]",
					"'{" . join(',', good_elems($d)) . "}'::numeric[]::real[]",
					"'{" . join(',', good_elems($d)) . "}'::float8[]::real[]");
	}
	if ($k eq 'same') { return lit((pick('1e38', '3.4e38', '9e18', '65520', '65504', '-65504', '1e20', '1e-20')) x $d); }
	if ($k eq 'subnormal') { return lit(map { pick('1e-42', '-1e-42', '1.4e-45', '1e-40', '0') } 1 .. $d); }
	die;
}

sub limit_clause
{
	return wpick([30, 'LIMIT ' . pick(1, 2, 5, 10, 20)],
				 [10, 'LIMIT ' . pick(39, 40, 41, 100, 999, 1000, 1001, 2000, 5000, 100000, 2147483647, '9223372036854775807')],
				 [3, 'LIMIT ' . pick(0, 'ALL', 'NULL', -1, '1.5', "'x'")],
				 [6, 'LIMIT ' . pick(5, 50, 500) . ' OFFSET ' . pick(0, 1, 30, 300, 1000, -1)],
				 [2, 'FETCH FIRST ' . pick(3, 100) . ' ROWS WITH TIES'],
				 [3, '']);
}

sub where_clause
{
	my ($t, $q) = @_;
	return wpick([50, ''],
				 [6, 'WHERE tag % 3 = 0'], [4, 'WHERE id > ' . ri(0, 400)],
				 [2, 'WHERE tag IS NULL'], [2, 'WHERE false'], [3, 'WHERE v IS NOT NULL'],
				 [3, 'WHERE id = -1'], [2, 'WHERE tag = 100'], [2, 'WHERE vector_dims(v) = ' . $t->{dim}],
				 [2, "WHERE v $t->{op} $q < " . pick('0.5', '1', '0', '-1', "'NaN'")],
				 [2, 'WHERE id % ' . ri(2, 50) . ' = 0 AND tag < 5'],
				 [2, "WHERE v = v"], [1, "WHERE random() < 0.5"]);
}

sub any_target { return wpick([14, pick(@T)], [5, pick(@EXTRA)], [2, \%SCR]); }

# ------------------------------------------------------------------ input kinds

sub k_distfn
{
	my $d = pick(1, 2, 3, 4, 8, 16, 100, 1000, 1999);
	my $a = qvec($d, 40);
	my $b = chance(0.85) ? qvec($d, 40) : qvec(pick(1, $d + 1, 3), 40);
	my $f = pick('l2_distance', 'cosine_distance', 'inner_product', 'negative_inner_product');
	my $op = pick('<->', '<=>', '<#>');
	return wpick([5, "SELECT $f($a, $b);"],
				 [4, "SELECT $a $op $b;"],
				 [2, "SELECT vector_dims($a);"],
				 [2, $d > 100 ? "SELECT vector_dims(l2_normalize($a));" : "SELECT l2_normalize($a);"],
				 [1, "SELECT l2_distance(l2_normalize($a), $b), cosine_distance(l2_normalize($a), l2_normalize($b));"],
				 [1, "SELECT $f(x, y) FROM (VALUES ($a, $b), ($b, $a)) s(x, y);"],
				 [1, "SELECT sum($f(v, v)) FROM fz_heap;"],
				 [1, "SELECT $f(v, " . qvec(4, 40) . ") FROM fz_heap ORDER BY 1 LIMIT 3;"]);
}

sub knn_query
{
	my ($t, $q, $lim, $sel) = @_;
	$q //= qvec($t->{dim});
	$lim //= limit_clause();
	my $op = chance(0.9) ? $t->{op} : pick('<->', '<=>', '<#>');
	my $w = where_clause($t, $q);
	my $ord = wpick([70, "v $op $q"], [6, "v $op $q, id"], [4, "v $op $q DESC"],
					[4, "$q $op v"], [2, "(v $op $q) + 0"], [3, "v $op v"], [3, "v $op $q NULLS FIRST"],
					[4, "v $op $q, v $op " . qvec($t->{dim}, 50)], [1, "v $op $q, v " . pick('<->', '<=>', '<#>') . " $q"]);
	$sel //= wpick([40, 'id'], [30, "id, v $op $q AS dist"], [5, '*'], [5, 'id, tag'],
					[3, "id, vector_dims(v)"]);
	return "SELECT $sel FROM $t->{t} $w ORDER BY $ord $lim";
}

sub k_knn
{
	my $t = any_target();
	my $q = knn_query($t, undef, undef, chance(0.1) ? 'id' : undef);
	return wpick([80, "$q;"],
				 [6, "SELECT count(*), min(id), max(id) FROM ($q) s;"],
				 [5, "EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off, BUFFERS) $q;"],
				 [4, "WITH c AS MATERIALIZED ($q) SELECT count(*) FROM c;"],
				 [3, "(" . knn_query($t, undef, undef, 'id') . ") UNION ALL (" . knn_query($t, undef, undef, 'id') . ");"],
				 [2, "SELECT EXISTS ($q);"]);
}

sub k_lateral
{
	my $t = any_target();
	my $op = $t->{op};
	my $lim = pick(1, 3, 10, 50, 1001);
	my @qs = map { qvec($t->{dim}, 70) } 1 .. ri(2, 5);
	my $vals = join(', ', map { "($_, ($qs[$_])::real[])" } 0 .. $#qs);
	return wpick(
		[4, "SELECT q.i, s.id FROM (VALUES $vals) q(i, qv) CROSS JOIN LATERAL (SELECT id FROM $t->{t} ORDER BY v $op q.qv LIMIT $lim) s;"],
		[3, "SELECT a.id, s.id FROM $t->{t} a CROSS JOIN LATERAL (SELECT b.id FROM $t->{t} b ORDER BY b.v $op a.v LIMIT " . pick(1, 3, 10) . ") s WHERE a.id % " . ri(15, 80) . " = 0;"],
		[2, "SELECT a.id, (SELECT b.id FROM $t->{t} b ORDER BY b.v $op a.v LIMIT 1 OFFSET 1) FROM $t->{t} a WHERE a.id % " . ri(15, 80) . " = 1;"],
		[1, "SELECT a.id, s.id FROM fz_heap a CROSS JOIN LATERAL (SELECT id FROM $t->{t} ORDER BY v $op a.v LIMIT 2) s WHERE a.id < 5;"]);
}

sub k_prepared
{
	my $t = any_target();
	my ($op, $d) = ($t->{op}, $t->{dim});
	my @s;
	push @s, 'SET plan_cache_mode = ' . pick('force_generic_plan', 'force_custom_plan', 'auto') . ';' if chance(0.6);
	my $form = pick(1, 2, 3, 4);
	if ($form == 1)
	{
		push @s, "PREPARE fzp(real[], bigint) AS SELECT id FROM $t->{t} ORDER BY v $op \$1 LIMIT \$2;";
		for (1 .. ri(2, 8))
		{
			push @s, "EXECUTE fzp(" . wpick([3, 'NULL'], [5, qvec($d, 60)]) . ", " . pick('NULL', 1, 5, 41, 1000, 0) . ");";
		}
	}
	elsif ($form == 2)
	{
		push @s, "PREPARE fzp(real[]) AS SELECT id, v $op \$1 FROM $t->{t} WHERE tag < 7 ORDER BY v $op \$1 LIMIT 7;";
		push @s, "EXECUTE fzp(" . wpick([3, 'NULL'], [5, qvec($d, 60)]) . ");" for 1 .. ri(2, 8);
	}
	elsif ($form == 3)
	{
		push @s, "PREPARE fzp(real[], real[]) AS SELECT id FROM $t->{t} ORDER BY v $op coalesce(\$1, \$2) LIMIT 3;";
		push @s, "EXECUTE fzp(" . pick('NULL', qvec($d)) . ", " . pick('NULL', qvec($d)) . ");" for 1 .. ri(2, 7);
	}
	else
	{
		push @s, "PREPARE fzp(real[], int) AS INSERT INTO $t->{t} (v, tag) VALUES (\$1, \$2);";
		push @s, "EXECUTE fzp(" . pick('NULL', qvec($d, 70)) . ", " . pick('NULL', 1, 2) . ");" for 1 .. ri(1, 6);
	}
	push @s, 'DEALLOCATE ALL;';
	push @s, 'RESET plan_cache_mode;' if $s[0] =~ /plan_cache_mode/;
	return join("\n", @s);
}

# ROLLBACK TO a savepoint the input set, or set one
sub savepoint_back
{
	my $s = shift;
	return (grep { $_ eq 'SAVEPOINT s1;' } @$s) ? pick('ROLLBACK TO SAVEPOINT s1;', 'RELEASE SAVEPOINT s1;') : 'SAVEPOINT s1;';
}

sub k_cursor
{
	my $t = any_target();
	my ($op, $d) = ($t->{op}, $t->{dim});
	my $scroll = pick('', 'SCROLL ', 'NO SCROLL ', 'BINARY ', 'INSENSITIVE ');
	my $hold = chance(0.2) ? 'WITH HOLD ' : '';
	my @s = ('BEGIN' . (chance(0.3) ? ' ISOLATION LEVEL ' . pick('REPEATABLE READ', 'SERIALIZABLE') : '') . ';');
	push @s, "DECLARE fzc ${scroll}CURSOR ${hold}FOR " . knn_query($t, undef, pick('', 'LIMIT 50', 'LIMIT 500', limit_clause())) . ';';
	for (1 .. ri(1, 6))
	{
		push @s, wpick([10, 'FETCH ' . pick(1, 5, 20, 100, 'NEXT', 'ALL', 'FORWARD 3') . ' fzc;'],
					   [4, 'FETCH ' . pick('BACKWARD 2', 'PRIOR', 'FIRST', 'LAST', 'ABSOLUTE 3', 'RELATIVE -1', 'ABSOLUTE -1') . ' fzc;'],
					   [3, 'MOVE ' . pick('LAST', 'FORWARD 10', 'BACKWARD ALL', 'ABSOLUTE 0') . ' fzc;'],
					   [4, dml_stmt($t)],
					   [1, "SELECT vechnsw_index_check('$t->{idx}');"],
					   [1, 'SAVEPOINT s1;'], [1, savepoint_back(\@s)]);
	}
	push @s, 'FETCH ALL fzc;' if chance(0.5);
	push @s, chance(0.5) ? 'COMMIT;' : 'ROLLBACK;';
	push @s, 'FETCH 3 fzc;' if $hold;
	push @s, 'CLOSE ALL;';
	return join("\n", @s);
}

sub sql_rows
{
	my ($d, $n) = @_;
	my $s = ri(1, 1000000);
	$n = 20 if $d >= 1000 && $n > 20;
	return wpick([5, "SELECT fz_vec($s + i, $d), i % 10 FROM generate_series(1, $n) i"],
				 [2, "SELECT fz_vec(($s + i) % 7, $d), 100 FROM generate_series(1, $n) i"],
				 [1, "SELECT l2_normalize(fz_vec($s + i, $d)), i % 10 FROM generate_series(1, $n) i"],
				 [1, "SELECT array_fill((i % 3)::real, ARRAY[$d]), i FROM generate_series(1, $n) i"]);
}

sub dml_stmt
{
	my $t = shift;
	my ($n, $d, $op) = ($t->{t}, $t->{dim}, $t->{op});
	return wpick(
		[10, "INSERT INTO $n (v, tag) VALUES " . join(', ', map { '(' . qvec($d, 50) . ', ' . ri(0, 9) . ')' } 1 .. ri(1, 4)) . ';'],
		[8, "INSERT INTO $n (v, tag) " . sql_rows($d, pick(1, 10, 50, 150)) . ';'],
		[2, "INSERT INTO $n (v, tag) SELECT v, tag FROM $n WHERE id % " . ri(5, 40) . " = 0;"],
		[6, "UPDATE $n SET v = " . qvec($d, 60) . " WHERE id = (SELECT min(id) + " . ri(0, 200) . " FROM $n);"],
		[3, "UPDATE $n SET v = fz_vec(id + " . ri(1, 99999) . ", $d) WHERE id % " . ri(5, 50) . " = " . ri(0, 4) . ";"],
		[3, "UPDATE $n SET tag = tag + 1 WHERE id % " . ri(3, 30) . " = 0;"],
		[2, "UPDATE $n SET v = v WHERE id % " . ri(3, 30) . " = 1;"],
		[1, "UPDATE $n SET v = NULL WHERE id = (SELECT max(id) FROM $n);"],
		[6, "DELETE FROM $n WHERE id % " . ri(3, 40) . " = " . ri(0, 2) . ";"],
		[3, "DELETE FROM $n WHERE id IN (SELECT id FROM $n ORDER BY v $op " . qvec($d, 80) . " LIMIT " . pick(1, 5, 30) . ");"],
		[4, "DELETE FROM $n WHERE id <= (SELECT max(id) FROM $n) - " . pick(300, 600, 900) . ";"],
		[2, "INSERT INTO $n (id, v, tag) SELECT id, " . qvec($d, 70) . ", 7 FROM $n WHERE id % 50 = 3 ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v;"],
		[1, "UPDATE $n SET v = array_append(v, 1) WHERE id = (SELECT min(id) FROM $n);"],
		[1, "UPDATE $n SET v = v[1:1] WHERE id = (SELECT max(id) FROM $n);"]);
}

sub k_dml
{
	my $t = wpick([10, pick(@T)], [3, pick(@EXTRA)], [2, \%SCR]);
	return dml_stmt($t);
}

sub k_txn
{
	my $t = any_target();
	my ($n, $d, $op) = ($t->{t}, $t->{dim}, $t->{op});
	my @s = ('BEGIN' . (chance(0.3) ? ' ISOLATION LEVEL ' . pick('REPEATABLE READ', 'SERIALIZABLE', 'READ COMMITTED') : '') . ';');
	for (1 .. ri(2, 6))
	{
		push @s, wpick([4, dml_stmt($t)], [4, knn_query($t) . ';'], [1, 'SAVEPOINT s1;'], [1, savepoint_back(\@s)],
					   [1, 'SET LOCAL vechnsw.ef_search = ' . pick(1, 1000, 10) . ';'],
					   [1, "SELECT vechnsw_index_check('$t->{idx}', " . pick('true', 'false') . ");"],
					   [1, "SELECT * FROM vechnsw_index_stats('$t->{idx}');"],
					   [2, "DO \$\$ DECLARE r record; BEGIN FOR r IN SELECT id, v FROM $n ORDER BY v $op " . qvec($d, 80) .
							" LIMIT " . pick(5, 10, 30) . " LOOP " .
							pick("UPDATE $n SET tag = tag + 1 WHERE id = r.id;",
								 "DELETE FROM $n WHERE id = r.id;",
								 "INSERT INTO $n (v, tag) VALUES (r.v, 3);",
								 "UPDATE $n SET v = fz_vec(r.id + 7, $d) WHERE id = r.id;") .
							" END LOOP; END \$\$;"]);
	}
	push @s, pick('COMMIT;', 'ROLLBACK;', 'END;', 'PREPARE TRANSACTION \'fz\';');
	push @s, "ROLLBACK PREPARED 'fz';" if $s[-1] =~ /PREPARE/;	# max_prepared_transactions = 0: fails, fine
	return join("\n", @s);
}

sub reloptions
{
	my @o;
	push @o, 'm = ' . wpick([6, pick(2, 3, 4, 8, 16, 32, 64, 100)], [1, pick(0, 1, 101, -1, 1000, "'x'", '2.5', '2147483648')]) if chance(0.6);
	push @o, 'ef_construction = ' . wpick([6, pick(4, 5, 8, 40, 64, 200, 1000)], [1, pick(0, 3, 1001, -5, 100000, "''")]) if chance(0.5);
	push @o, 'bits = ' . wpick([6, pick(0, 1)], [1, pick(-1, 2, 8, 32, 'true', "'1'")]) if chance(0.6);
	push @o, 'storage = ' . wpick([6, pick('f32', 'f16', "'f16'")], [1, pick('F16', 'f64', 'bf16', "''", '1', 'fp16', 'int8')]) if chance(0.6);
	push @o, pick('foo = 1', 'ef_search = 10', 'fillfactor = 50', 'm', 'storage', 'deduplicate_items = off') if chance(0.06);
	push @o, 'm = 8' if chance(0.03);	# duplicate option
	return @o ? ' WITH (' . join(', ', @o) . ')' : '';
}

sub k_ddl
{
	my $opc = pick('real_l2_ops', 'real_cosine_ops', 'real_ip_ops');
	my $k = wpick([8, 'rebuild'], [6, 'refill'], [6, 'shape'], [3, 'conc'], [5, 'alter'], [2, 'temp'],
				  [2, 'storage'], [2, 'retype'], [1, 'partition']);
	if ($k eq 'rebuild')
	{
		$SCR{opc} = $opc;
		$SCR{op} = { real_l2_ops => '<->', real_cosine_ops => '<=>', real_ip_ops => '<#>' }->{$opc};
		return "DROP INDEX IF EXISTS fz_s_idx;\nCREATE INDEX fz_s_idx ON fz_s USING vechnsw (v $opc)" . reloptions() . ';';
	}
	if ($k eq 'refill')
	{
		my $d = wpick([5, pick(1, 2, 3, 7, 17, 64)], [3, pick(256, 1000, 1500)], [3, pick(1999, 2000, 2001, 4000)]);
		my $rows = ri(1, $d > 500 ? 20 : 150);
		$SCR{dim} = $d;
		my @s = ('DROP INDEX IF EXISTS fz_s_idx;', 'TRUNCATE fz_s;',
				 "INSERT INTO fz_s (v, tag) " . sql_rows($d, $rows) . ';');
		push @s, "INSERT INTO fz_s (v, tag) VALUES (" . qvec($d, 10) . ", 1);" if chance(0.3);
		push @s, "CREATE INDEX fz_s_idx ON fz_s USING vechnsw (v $opc)" . reloptions() . ';' if chance(0.8);
		$SCR{opc} = $opc;
		$SCR{op} = { real_l2_ops => '<->', real_cosine_ops => '<=>', real_ip_ops => '<#>' }->{$opc};
		return join("\n", @s);
	}
	if ($k eq 'shape')
	{
		my $name = 'fz_s_x';
		my ($cr, $tail) = @{pick(
			["CREATE INDEX $name ON fz_s USING vechnsw (v $opc, v $opc)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw (v $opc, tag)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw ((l2_normalize(v)) $opc)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw ((v || v) $opc)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw ((v[1:2]) $opc)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw (v $opc)", ' WHERE tag > 3'],
			["CREATE INDEX $name ON fz_s USING vechnsw (v $opc)", " WHERE v IS NOT NULL AND vector_dims(v) = $SCR{dim}"],
			["CREATE INDEX $name ON fz_s USING vechnsw (v $opc) INCLUDE (tag)", ''],
			["CREATE UNIQUE INDEX $name ON fz_s USING vechnsw (v $opc)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw (v $opc DESC)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw (v $opc NULLS FIRST)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw (v)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw (d $opc)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw (r $opc)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw (tag $opc)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw (v array_ops)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw (v COLLATE \"C\" $opc)", ''],
			["CREATE INDEX $name ON fz_s USING btree (v $opc)", ''],
			["CREATE INDEX $name ON fz_s USING vechnsw ((d::real[]) $opc)", ''],
			["CREATE INDEX $name ON ONLY fz_p USING vechnsw (v $opc)", ''],
			["CREATE INDEX $name ON fz_heap USING vechnsw (v $opc)", ''],
			["CREATE INDEX $name ON fz_mv USING vechnsw (v $opc)", ''],
			["CREATE INDEX $name ON fz_view USING vechnsw (v $opc)", ''])};
		my @s = ("DROP INDEX IF EXISTS $name;", $cr . reloptions() . $tail . ';');
		my $q = qvec($SCR{dim}, 80);
		my $o = { real_l2_ops => '<->', real_cosine_ops => '<=>', real_ip_ops => '<#>' }->{$opc};
		push @s, pick("SELECT id FROM fz_s ORDER BY v $o $q LIMIT 5;",
					  "SELECT id FROM fz_s WHERE tag > 3 ORDER BY v $o $q LIMIT 5;",
					  "SELECT id FROM fz_s ORDER BY l2_normalize(v) $o $q LIMIT 5;",
					  "INSERT INTO fz_s (v, tag) VALUES ($q, 5);",
					  "SELECT vechnsw_index_check('$name', true);",
					  "SELECT * FROM vechnsw_index_stats('$name');",
					  "VACUUM fz_s;") if chance(0.7);
		push @s, "DROP INDEX IF EXISTS $name;" if chance(0.7);
		return join("\n", @s);
	}
	if ($k eq 'conc')
	{
		return pick("DROP INDEX CONCURRENTLY IF EXISTS fz_s_cidx;\nCREATE INDEX CONCURRENTLY fz_s_cidx ON fz_s USING vechnsw (v $opc)" . reloptions() . ';',
					"REINDEX INDEX CONCURRENTLY fz_s_cidx;",
					"REINDEX INDEX CONCURRENTLY " . pick(@T)->{idx} . ';',
					"SELECT vechnsw_index_check('fz_s_cidx', true);",
					"SELECT * FROM vechnsw_index_stats('fz_s_cidx');",
					"INSERT INTO fz_s (v, tag) VALUES (" . qvec($SCR{dim}, 60) . ", 2);",
					"DROP INDEX CONCURRENTLY IF EXISTS fz_s_cidx;");
	}
	if ($k eq 'alter')
	{
		my $t = wpick([3, pick(@T)], [1, \%SCR], [1, pick(@EXTRA)]);
		my $r = reloptions();
		$r = ' WITH (bits = 1)' if $r eq '';
		$r =~ s/^ WITH/ SET/;
		my @s = (pick("ALTER INDEX $t->{idx}$r;",
					  "ALTER INDEX $t->{idx} RESET (" . pick('m', 'bits', 'storage', 'ef_construction', 'm, bits, storage', 'foo') . ');'));
		push @s, wpick([3, knn_query($t) . ';'], [2, dml_stmt($t)], [2, "REINDEX INDEX $t->{idx};"],
					   [1, "SELECT vechnsw_index_check('$t->{idx}', true);"], [1, "VACUUM $t->{t};"]);
		return join("\n", @s);
	}
	if ($k eq 'temp')
	{
		my $d = pick(2, 5, 9);
		my @s = ('CREATE TEMP TABLE IF NOT EXISTS fz_tt (id serial PRIMARY KEY, v real[], tag int);',
				 "INSERT INTO fz_tt (v, tag) " . sql_rows($d, ri(1, 80)) . ';',
				 "CREATE INDEX IF NOT EXISTS fz_tt_idx ON fz_tt USING vechnsw (v $opc)" . reloptions() . ';');
		my $o = { real_l2_ops => '<->', real_cosine_ops => '<=>', real_ip_ops => '<#>' }->{$opc};
		push @s, "SELECT id FROM fz_tt ORDER BY v $o " . qvec($d) . ' ' . limit_clause() . ';';
		push @s, pick("SELECT vechnsw_index_check('fz_tt_idx', true);", "VACUUM fz_tt;", "DELETE FROM fz_tt WHERE id % 2 = 0;",
					  "DROP TABLE fz_tt;", "TRUNCATE fz_tt;");
		return join("\n", @s);
	}
	if ($k eq 'storage')
	{
		return "ALTER TABLE fz_s ALTER COLUMN v SET STORAGE " . pick('PLAIN', 'MAIN', 'EXTERNAL', 'EXTENDED') . ";\n" .
			"INSERT INTO fz_s (v, tag) VALUES (" . pick(big_vec($SCR{dim}), qvec($SCR{dim})) . ", 9);";
	}
	if ($k eq 'retype')
	{
		my $r = pick('v', 'v[1:2]', 'array_cat(v, v)', 'l2_normalize(v)', 'v::float8[]::real[]');
		$SCR{dim} = 2 if $r eq 'v[1:2]';
		$SCR{dim} *= 2 if $r =~ /array_cat/;
		return "ALTER TABLE fz_s ALTER COLUMN v TYPE real[] USING $r;";
	}
	# partition
	return pick("INSERT INTO fz_p (v, tag) SELECT fz_vec(i + " . ri(1, 9999) . ", 6), i % 10 FROM generate_series(1, " . ri(1, 50) . ") i;",
				"CREATE TABLE IF NOT EXISTS fz_p_3 (id int, v real[], tag int);\nALTER TABLE fz_p ATTACH PARTITION fz_p_3 FOR VALUES FROM (-100) TO (-50);",
				"ALTER TABLE fz_p DETACH PARTITION fz_p_3;\nDROP TABLE IF EXISTS fz_p_3;",
				"SELECT id FROM fz_p WHERE tag < 5 ORDER BY v <-> " . qvec(6) . " LIMIT " . pick(3, 300) . ';',
				"SELECT vechnsw_index_check(indexrelid) FROM pg_index WHERE indrelid IN ('fz_p_1'::regclass, 'fz_p_2'::regclass);");
}

sub k_maint
{
	my $t = wpick([10, pick(@T)], [3, pick(@EXTRA)], [2, \%SCR]);
	my ($n, $i, $d) = ($t->{t}, $t->{idx}, $t->{dim});
	return wpick(
		[8, "VACUUM $n;"],
		[3, "VACUUM (" . join(', ', pick('INDEX_CLEANUP ON', 'INDEX_CLEANUP OFF', 'INDEX_CLEANUP AUTO'),
							 pick('FREEZE', 'DISABLE_PAGE_SKIPPING', 'TRUNCATE off', 'VERBOSE', 'PARALLEL 2', 'SKIP_LOCKED')) . ") $n;"],
		[2, "VACUUM FULL $n;"],
		[2, "VACUUM ANALYZE $n;"],
		[2, "ANALYZE $n;"],
		[3, "REINDEX INDEX $i;"],
		[1, "REINDEX TABLE $n;"],
		[6, "SELECT vechnsw_index_check('$i'" . pick('', ', true', ', false', ', NULL') . ');'],
		[4, "SELECT * FROM vechnsw_index_stats('$i');"],
		[2, "TRUNCATE $n;\nINSERT INTO $n (v, tag) " . sql_rows($d, pick(0, 1, 2, 100, 300)) . ';'],
		[1, "CLUSTER $n USING $i;"],
		[1, "SELECT * FROM vechnsw_search_counters(" . pick('true', 'false', 'NULL', '') . ');'],
		[1, "CHECKPOINT;"],
		[2, "BEGIN;\n" . dml_stmt($t) . "\nSELECT vechnsw_index_check('$i', true);\nROLLBACK;"],
		[2, "DELETE FROM $n WHERE id % " . pick(2, 3) . " = 0;\nVACUUM $n;\n" . knn_query($t) . ";"],
		[1, "DELETE FROM $n;\nVACUUM $n;\n" . knn_query($t) . ";\nINSERT INTO $n (v, tag) " . sql_rows($d, 200) . ";"]);
}

sub k_guc
{
	my @s;
	for (1 .. ri(1, 3))
	{
		push @s, wpick(
			[5, 'SET vechnsw.ef_search = ' . wpick([5, pick(1, 2, 10, 40, 999, 1000)], [2, pick(0, -1, 1001, 2147483647, "'abc'", '1.5', "''")]) . ';'],
			[3, 'SET vechnsw.search_mode = ' . wpick([5, pick('rabitq', 'exact')], [1, pick('bogus', "''", 'RABITQ', '1')]) . ';'],
			[3, 'SET vechnsw.rabitq_slack = ' . wpick([5, pick(0, 1, 0.5, '1e-300', '0.999999')], [2, pick('-0.0001', '1.0001', "'NaN'", "'inf'", "'-inf'", '-0')]) . ';'],
			[3, 'SET vechnsw.scan_order = ' . wpick([5, pick('strict', 'relaxed')], [1, pick('x', "''", 'STRICT')]) . ';'],
			[1, 'RESET vechnsw.' . pick('ef_search', 'search_mode', 'rabitq_slack', 'scan_order') . ';'],
			[1, "SELECT set_config('vechnsw.ef_search', '" . pick(1, 1000, 50) . "', " . pick('true', 'false') . ');'],
			[1, 'SET vechnsw.' . pick('ef_search', 'search_mode') . ' TO DEFAULT;'],
			[1, 'SET vechnsw.nonexistent = 1;'],
			[1, 'SHOW vechnsw.' . pick('ef_search', 'search_mode', 'rabitq_slack', 'scan_order', 'foo') . ';'],
			[3, 'SET ' . pick('enable_seqscan', 'enable_indexscan', 'enable_bitmapscan', 'enable_sort', 'enable_material') . ' = ' . pick('on', 'off') . ';'],
			[1, 'SET work_mem = ' . pick("'64kB'", "'4MB'") . ';'],
			[1, 'SET maintenance_work_mem = ' . pick("'1MB'", "'64MB'", "'1023kB'") . ';'],
			[1, 'SET max_parallel_workers_per_gather = ' . pick(0, 2) . ';'],
			[1, 'SET LOCAL vechnsw.ef_search = 5;']);
	}
	my $t = pick(@T);
	push @s, knn_query($t) . ';' if chance(0.5);
	return join("\n", @s);
}

my $dropped = 0;
sub k_wrongrel
{
	my $rel = pick("'fz_heap'", "'fz_heap_pkey'", "'fz_bt'", "'fz_hash'", "'fz_gin'", "'fz_brin'", "'fz_view'",
				   "'fz_seq'", "'fz_mv'", "'fz_type'", "'fz_p'", "'fz_p_idx'", "'fz_s_cidx'", "'fz_s_x'", '0', '1', "'-1'",
				   '4294967295', "'pg_class'", "'pg_class_oid_index'", "'fz_nonexistent'", "'pg_am'",
				   "(SELECT reltoastrelid FROM pg_class WHERE relname = 'fz_s')",
				   "(SELECT indexrelid FROM pg_index WHERE indrelid = (SELECT reltoastrelid FROM pg_class WHERE relname = 'fz_s'))",
				   "(SELECT max(oid) FROM pg_class)", 'NULL', "'fz_tt_idx'", "'pg_toast.pg_toast_2619_index'",
				   "'fz_e'", "'fz_u'");
	my $fn = pick("vechnsw_index_check(${rel}::regclass)", "vechnsw_index_check(${rel}::regclass, true)",
				  "vechnsw_index_stats(${rel}::regclass)", "vechnsw_index_check(${rel}::oid::regclass, false)");
	return wpick(
		[10, "SELECT * FROM $fn;"],
		[2, "DO \$\$ DECLARE o oid; BEGIN CREATE INDEX fz_drop_idx ON fz_heap USING vechnsw (v real_l2_ops); "
			. "o := 'fz_drop_idx'::regclass; DROP INDEX fz_drop_idx; PERFORM " .
			pick('vechnsw_index_check(o)', 'vechnsw_index_stats(o)', 'vechnsw_index_check(o, true)') . "; END \$\$;"],
		[3, "DROP INDEX IF EXISTS fz_drop_idx;\nCREATE INDEX fz_drop_idx ON fz_heap USING vechnsw (v real_cosine_ops)" . reloptions() . ";\n"
			. "SELECT 'fz_drop_idx'::regclass::oid AS fz_dropped_oid \\gset\nDROP INDEX fz_drop_idx;\n"
			. "SELECT * FROM " . pick('vechnsw_index_check(:fz_dropped_oid)', 'vechnsw_index_stats(:fz_dropped_oid)', 'vechnsw_index_check(:fz_dropped_oid, true)') . ";"],
		[1, "BEGIN;\nCREATE INDEX fz_drop_idx2 ON fz_heap USING vechnsw (v real_ip_ops);\nSELECT * FROM vechnsw_index_stats('fz_drop_idx2');\n"
			. "DROP INDEX fz_drop_idx2;\nSELECT * FROM vechnsw_index_stats(" . pick("'fz_drop_idx2'", '(SELECT max(oid) FROM pg_class)') . ");\nROLLBACK;"],
		[1, "SELECT c.relname, (SELECT count(*) FROM vechnsw_index_stats(c.oid)) FROM pg_class c WHERE c.relname LIKE 'fz\\_%' ORDER BY 1;"],
		[1, "SELECT vechnsw_index_check(c.oid) FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'vechnsw' ORDER BY c.oid;"]);
}

sub k_misc
{
	my $d = pick(1, 2, 3, 8, 64, 129);
	return wpick(
		[4, "SELECT * FROM vecidx_rabitq_debug(" . qvec($d, 40) . ", " . qvec($d, 40) . ", " .
			qvec($d, 40) . ", " . pick(0, 1, 42, -1, '9223372036854775807', '-9223372036854775808', 'NULL') . ");"],
		[2, "COPY fz_s (v, tag) FROM STDIN;\n" .
			join('', map { (pick('{' . join(',', good_elems($SCR{dim})) . '}', '\N', '{NaN}', '{}', '{1,2}', '{{1}}', '{1e39}')) . "\t" . ri(0, 9) . "\n" } 1 .. ri(1, 4)) . "\\."],
		[2, "SELECT " . pick('l2_distance', 'cosine_distance', 'inner_product') . "(" . big_vec(pick(100000, 1000000, 4001)) . ", " . big_vec(pick(100000, 1000000, 4001)) . ");"],
		[2, "SELECT l2_normalize(" . pick(lit(('1e-42') x $d), lit(('3.4e38') x $d), lit(('1e38') x $d), lit(('-0') x $d), lit(('1.4e-45') x $d)) . ");"],
		[1, "SELECT vector_dims(v), count(*) FROM fz_s GROUP BY 1 ORDER BY 1;"],
		[1, "SELECT '" . pick('{1,2,3}', '{}', '[0:1]={1,2}') . "'::real[] <-> v FROM fz_heap LIMIT 3;"],
		[1, "SELECT id FROM fz_heap ORDER BY v <-> " . qvec(4) . " LIMIT 3;"],
		[1, "SELECT (ROW(1, " . qvec(4) . ")::fz_type).b <=> " . qvec(4) . ";"]);
}

# ------------------------------------------------------------------ main

my @KINDS = ([10, \&k_distfn], [24, \&k_knn], [5, \&k_lateral], [5, \&k_prepared], [5, \&k_cursor],
			 [16, \&k_dml], [7, \&k_maint], [8, \&k_ddl], [7, \&k_guc], [5, \&k_wrongrel],
			 [4, \&k_txn], [4, \&k_misc]);

srand($seed);
for my $n (1 .. $ninputs)
{
	my $f = wpick(@KINDS);
	my $in = $f->();
	print "\\warn \@\@IN $n\n$in\n";
}
