# 009_corruption_table.pl: single-field corruptions of index pages, written
# in a stopped cluster, one at a time.  For each, a fixed set of statements
# (the checker, the statistics, index scans, inserts, a delete of 30 rows +
# VACUUM, so that every case's VACUUM repairs lists) must
# each either succeed or fail with XX001/XX002 (index corrupted): never crash
# a backend, hang (a statement_timeout would cancel it: 57014 fails the
# case), extend the index from a read-only scan, or answer a scan with fewer
# rows than it asked for without an error.  After each case REINDEX restores
# the index.
#
# Field offsets follow src/vecidx.h (little-endian): element tuple type 0,
# state 1, level 2, ntids 3, version 4, dim 6, heaptids 8 (6 bytes each),
# neighbortid 56, codebytes 62; neighbour tuple type 0, level 1, version 2,
# m 4, codesize 6, entries 8 (12 bytes: tid, version, distance); meta page
# (after the 24-byte page header) magic 24, dimensions 32, m 36, entry_blkno
# 44, entry_offno 48, entry_level 50, entry_version 52, code_bytes 66.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('corrupt');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\nstatement_timeout = '20s'\n");
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION vecidx;
CREATE EXTENSION pageinspect;
CREATE TABLE items (id int PRIMARY KEY, v real[]);
INSERT INTO items SELECT i, ARRAY(SELECT ((i * (2 * j + 1) * 7919) % 1009)::real / 100
                                  FROM generate_series(0, 7) j)
FROM generate_series(1, 3000) i;
CREATE TABLE q (i int, qv real[]);
INSERT INTO q SELECT i, ARRAY(SELECT ((i * 31 + j * 17) % 101)::real / 10 FROM generate_series(0, 7) j)
FROM generate_series(1, 10) i;
CREATE INDEX items_idx ON items USING vechnsw (v real_l2_ops) WITH (m = 8, bits = 1);
CREATE SEQUENCE extra START 100000;
});

# the fullest page (most live tuples), and the offsets (in the page) of its
# first element tuple and first neighbour tuple
# (or of block $_[0], when given)
sub locate
{
	my $block = $_[0] // $node->safe_psql(
		'postgres', q{
SELECT b FROM generate_series(1, (pg_relation_size('items_idx') / 8192)::int - 1) b
ORDER BY (SELECT upper - lower FROM page_header(get_raw_page('items_idx', b))), b LIMIT 1;
});
	my ($elem, $nbr) = split /\|/, $node->safe_psql(
		'postgres', qq{
SELECT (SELECT lp_off FROM heap_page_items(get_raw_page('items_idx', $block))
        WHERE get_byte(get_raw_page('items_idx', $block), lp_off) = 1 ORDER BY lp LIMIT 1),
       (SELECT lp_off FROM heap_page_items(get_raw_page('items_idx', $block))
        WHERE get_byte(get_raw_page('items_idx', $block), lp_off) = 2 ORDER BY lp LIMIT 1);
});
	return ($block, $elem, $nbr);
}

# overwrite bytes of block $block at page offset $off with $bytes (packed),
# in items_idx or the index $rel
sub poke
{
	my ($block, $off, $bytes, $rel) = @_;
	$rel //= 'items_idx';
	my $path = $node->safe_psql('postgres', "SELECT pg_relation_filepath('$rel')");
	$node->stop;
	open(my $fh, '+<', $node->data_dir . "/$path") or die "open: $!";
	binmode $fh;
	seek($fh, $block * 8192 + $off, 0) or die "seek: $!";
	print $fh $bytes;
	close $fh;
	$node->start;
}

my @statements = (
	"SELECT vechnsw_index_check('items_idx')",
	"SELECT count(*) FROM vechnsw_index_stats('items_idx')",
	(
		map {
			"SET enable_seqscan = off; SET vechnsw.ef_search = 200; "
			  . "SELECT count(*) = 200 AS all_rows FROM (SELECT id FROM items ORDER BY v <-> (SELECT qv FROM q WHERE i = $_) LIMIT 200) s"
		} 1 .. 6
	),
	"SET enable_seqscan = off; SET vechnsw.search_mode = exact; "
	  . "SELECT count(*) = 200 AS all_rows FROM (SELECT id FROM items ORDER BY v <-> (SELECT qv FROM q WHERE i = 3) LIMIT 200) s",
	"INSERT INTO items SELECT n, ARRAY(SELECT ((n * (2 * j + 1) * 7919) % 1013)::real / 100 FROM generate_series(0, 7) j) "
	  . "FROM (SELECT nextval('extra') n FROM generate_series(1, 5)) s",
	# (30 rows each time, so that every case's VACUUM repairs lists: it
	# reads every live element's neighbour tuple)
	"DELETE FROM items WHERE id IN (SELECT id FROM items WHERE id % 3 = 0 ORDER BY id LIMIT 30); VACUUM (INDEX_CLEANUP ON) items");

my $crashes_before = 0;

sub run_case
{
	my ($what, $block, $off, $bytes, $self_query) = @_;
	poke($block, $off, $bytes);
	my $size = $node->safe_psql('postgres', "SELECT pg_relation_size('items_idx')");
	my $heapsize = $node->safe_psql('postgres', "SELECT pg_relation_size('items')");
	my ($failed, $bad, $short) = (0, 0, 0);
	# (element and neighbour cases: also a scan for the damaged element's own
	# vector, which reaches it first)
	my @sqls = @statements;
	splice(@sqls, -2, 0, $self_query) if defined $self_query;	# before the writes
	for my $sql (@sqls)
	{
		my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
		if ($ret != 0)
		{
			$failed++;
			if ($err !~ /ERROR:\s+XX00[12]:/)
			{
				$bad++;
				diag("$what: $sql: $err");
			}
			# an invalid block number must be refused before any buffer is
			# read for it: a "corrupted page" at that block means a page was
			# read through an invalid buffer
			elsif ($err =~ /corrupted page at block 4294967295/)
			{
				$bad++;
				diag("$what: $sql: read a page for block 0xFFFFFFFF: $err");
			}
		}
		elsif ($out eq 'f')
		{
			$short++;
			diag("$what: a scan returned fewer rows than it asked for, without an error: $sql");
		}
		# the read-only statements must not extend the index or the table
		# (a heap TID of block 0xFFFFFFFF handed to the heap fetch is P_NEW)
		if ($sql !~ /^(INSERT|DELETE)/)
		{
			my ($now, $heapnow) = split /\|/,
			  $node->safe_psql('postgres', "SELECT pg_relation_size('items_idx'), pg_relation_size('items')");
			if ($now != $size || $heapnow != $heapsize)
			{
				$bad++;
				diag("$what: '$sql' changed the index size from $size to $now, the table's from $heapsize to $heapnow");
			}
		}
	}
	my $log = slurp_file($node->logfile);
	my $crashes = () = $log =~ /terminated by signal|PANIC|TRAP:/g;
	is($crashes - $crashes_before, 0, "$what: no backend crashed");
	$crashes_before = $crashes;
	is($bad, 0, "$what: every failing statement ($failed of " . scalar(@sqls) . ") fails with XX001/XX002");
	is($short, 0, "$what: no scan answered short without an error");
	$node->safe_psql('postgres', 'REINDEX INDEX items_idx');
	is($node->safe_psql('postgres', "SELECT vechnsw_index_check('items_idx', true)"), '', "$what: REINDEX restores the index");
	return $failed;
}

my $u8 = sub { pack('C', $_[0]) };
my $u16 = sub { pack('v', $_[0]) };
my $u32 = sub { pack('V', $_[0]) };
# an ItemPointer: block (hi, lo halves), offset
my $tid = sub { pack('vvv', $_[0] >> 16, $_[0] & 0xFFFF, $_[1]) };

# [ name, where (element | neighbour | meta | line pointer), offset in the tuple, bytes ]
my @cases = (
	[ 'element ntids 200',                      'e', 3,  $u8->(200) ],
	[ 'element level 99',                       'e', 2,  $u8->(99) ],
	[ 'element state 7',                        'e', 1,  $u8->(7) ],
	[ 'element dim 3',                          'e', 6,  $u16->(3) ],
	[ 'element type 99',                        'e', 0,  $u8->(99) ],
	[ 'element neighbour tuple block 0xFFFFFFFF', 'e', 56, $tid->(0xFFFFFFFF, 1) ],
	# (the first element VACUUM's list repair reads, with no page pinned yet)
	[ 'first element of block 1: neighbour tuple block 0xFFFFFFFF', 'e1', 56, $tid->(0xFFFFFFFF, 1) ],
	[ 'element neighbour tuple offset 999',     'e', 56, $tid->(1, 999) ],
	[ 'element heap TID block 0xFFFFFFFF',      'e', 8,  $tid->(0xFFFFFFFF, 1) ],
	[ 'element code size 7',                    'e', 62, $u16->(7) ],
	[ 'neighbour m 99',                         'n', 4,  $u16->(99) ],
	[ 'neighbour level 99',                     'n', 1,  $u8->(99) ],
	[ 'neighbour code size 77',                 'n', 6,  $u16->(77) ],
	[ 'neighbour type 99',                      'n', 0,  $u8->(99) ],
	[ 'neighbour edge block 0xFFFFFFFF',        'n', 8,  $tid->(0xFFFFFFFF, 1) ],
	[ 'neighbour edge block past the end',      'n', 8,  $tid->(999999, 1) ],
	[ 'neighbour edge offset 999',              'n', 8,  $tid->(1, 999) ],
	[ 'neighbour edge to the meta page',        'n', 8,  $tid->(0, 1) ],
	[ 'meta m 1',                               'm', 36, $u16->(1) ],
	[ 'meta dimensions 5000',                   'm', 32, $u32->(5000) ],
	[ 'meta entry block 0xFFFFFFFF',            'm', 44, $u32->(0xFFFFFFFF) ],
	[ 'meta entry block past the end',          'm', 44, $u32->(999999) ],
	[ 'meta entry offset 999',                  'm', 48, $u16->(999) ],
	[ 'meta entry level 15',                    'm', 50, $u16->(15) ],
	[ 'meta entry version + 7',                 'm', 52, undef ],
	[ 'meta code size 13',                      'm', 66, $u16->(13) ],
	[ 'first line pointer past the page',       'l', 0,  pack('V', 9000 | (1 << 15) | (64 << 17)) ]);

for my $c (@cases)
{
	my ($what, $where, $off, $bytes) = @$c;
	my ($block, $elem, $nbr) = locate($where eq 'e1' ? 1 : undef);
	$where = 'e' if $where eq 'e1';
	if ($where eq 'm')
	{
		if (!defined $bytes)
		{
			my $v = $node->safe_psql('postgres',
				"SELECT get_byte(get_raw_page('items_idx', 0), 52) + 256 * get_byte(get_raw_page('items_idx', 0), 53)");
			$bytes = $u16->(($v + 7) & 0xFFFF);
		}
		run_case($what, 0, $off, $bytes);
	}
	elsif ($where eq 'l')
	{
		run_case($what, $block, 24, $bytes);
	}
	else
	{
		# the element's vector, read through its first heap TID before the damage
		my $ctid = $node->safe_psql(
			'postgres', qq{
SELECT format('(%s,%s)', (get_byte(p, $elem + 9) * 256 + get_byte(p, $elem + 8)) * 65536
                        + get_byte(p, $elem + 11) * 256 + get_byte(p, $elem + 10),
              get_byte(p, $elem + 12) + 256 * get_byte(p, $elem + 13))
FROM (SELECT get_raw_page('items_idx', $block) AS p) s;
});
		# element cases: a scan for the element's own vector reaches it
		# first; neighbour cases: an exact-mode scan for it expands it first,
		# so its damaged list is the first batch the walk visits
		my $self = "SET enable_seqscan = off; "
		  . ($where eq 'n' ? "SET vechnsw.search_mode = exact; " : "")
		  . "SELECT count(*) = 50 AS all_rows FROM (SELECT id FROM items "
		  . "ORDER BY v <-> (SELECT v FROM items WHERE ctid = '$ctid') LIMIT 50) s";
		run_case($what, $block, ($where eq 'e' ? $elem : $nbr) + $off, $bytes, $self);
	}
}

# VACUUM must not carry a damaged element level into the meta page.  With
# m = 48 and codes at 128 dimensions the highest level a neighbour tuple
# fits is below VECHNSW_MAX_LEVEL; a live element claiming one level more
# would, when VACUUM moves the entry point off a deleted element, become the
# entry level, and the meta page every scan reads would then be rejected
# (XX002) until a REINDEX.  Damage it, delete the entry point's row, VACUUM
# (it may fail with XX002), undo the damage: the index must be as good as
# before.
{
	$node->safe_psql(
		'postgres', q{
CREATE TABLE lv (id int PRIMARY KEY, v real[]);
INSERT INTO lv SELECT i, ARRAY(SELECT CASE WHEN j = 0 THEN i::real / 100
                                           ELSE ((i::bigint * (2 * j + 1) * 7919) % 1009)::real / 100 END
                               FROM generate_series(0, 127) j)
FROM generate_series(1, 2000) i;
CREATE INDEX lv_idx ON lv USING vechnsw (v real_l2_ops) WITH (m = 48, bits = 1);
});
	my ($maxlevel, $eblk, $eoff) = split /\|/, $node->safe_psql(
		'postgres', q{
SELECT get_byte(p, 54) + 256 * get_byte(p, 55),
       (get_byte(p, 47) << 24) + (get_byte(p, 46) << 16) + (get_byte(p, 45) << 8) + get_byte(p, 44),
       get_byte(p, 48) + 256 * get_byte(p, 49)
FROM (SELECT get_raw_page('lv_idx', 0) AS p) s;
});
	ok($maxlevel < 16, "m = 48 at 128 dimensions caps levels at $maxlevel, below 16");
	# the entry point's row (its first heap TID)
	my $ectid = $node->safe_psql(
		'postgres', qq{
SELECT format('(%s,%s)', (get_byte(p, o + 9) * 256 + get_byte(p, o + 8)) * 65536
                        + get_byte(p, o + 11) * 256 + get_byte(p, o + 10),
              get_byte(p, o + 12) + 256 * get_byte(p, o + 13))
FROM (SELECT get_raw_page('lv_idx', $eblk) AS p,
             (SELECT lp_off FROM heap_page_items(get_raw_page('lv_idx', $eblk)) WHERE lp = $eoff) AS o) s;
});
	# a live element other than the entry point: the first element tuple of
	# the last page
	my $blk = $node->safe_psql('postgres', "SELECT pg_relation_size('lv_idx') / 8192 - 1");
	my ($off, $level) = split /\|/, $node->safe_psql(
		'postgres', qq{
SELECT lp_off, get_byte(get_raw_page('lv_idx', $blk), lp_off + 2)
FROM heap_page_items(get_raw_page('lv_idx', $blk))
WHERE get_byte(get_raw_page('lv_idx', $blk), lp_off) = 1
  AND get_byte(get_raw_page('lv_idx', $blk), lp_off + 1) = 0
  AND ($blk <> $eblk OR lp <> $eoff)
ORDER BY lp LIMIT 1;
});
	poke($blk, $off + 2, pack('C', $maxlevel + 1), 'lv_idx');
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nDELETE FROM lv WHERE ctid = '$ectid'; VACUUM (INDEX_CLEANUP ON) lv");
	ok($ret == 0 || $err =~ /ERROR:\s+XX002:/, 'VACUUM beside a level above the maximum succeeds or fails with XX002')
	  or diag($err);
	poke($blk, $off + 2, pack('C', $level), 'lv_idx');
	my ($cret, $cout, $cerr) = $node->psql('postgres', "SELECT vechnsw_index_check('lv_idx')");
	is($cret . $cerr, '0', 'that VACUUM left the meta page intact (the element damage undone, the index checks clean)');
	($cret, $cout, $cerr) = $node->psql('postgres',
		"SET enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM lv ORDER BY v <-> (SELECT v FROM lv WHERE id = 7) LIMIT 20) s");
	is($cret . $cerr . ':' . $cout, '0:20', 'and a scan still answers');
}

# Two elements naming one neighbour tuple: a deleted element's pointer
# damaged to name a live element's tuple (same level, and every version is
# 0 after a build, so the tuple "matches" either).  The checker must report
# it; VACUUM, freeing the deleted element, must refuse (XX002) rather than
# turn the live element's lists into a tombstone: with the damage undone,
# the index checks clean.
{
	$node->safe_psql('postgres', 'REINDEX INDEX items_idx');
	my ($block) = locate();
	# two live level-0 elements on that page, and their neighbour tuple pointers
	my @e = map { [ split /\|/ ] } split /\n/, $node->safe_psql(
		'postgres', qq{
SELECT lp_off, encode(substring(get_raw_page('items_idx', $block) FROM lp_off + 57 FOR 6), 'hex')
FROM heap_page_items(get_raw_page('items_idx', $block))
WHERE get_byte(get_raw_page('items_idx', $block), lp_off) = 1
  AND get_byte(get_raw_page('items_idx', $block), lp_off + 1) = 0
  AND get_byte(get_raw_page('items_idx', $block), lp_off + 2) = 0
ORDER BY lp LIMIT 2;
});
	my ($d, $l) = @e;
	my $ctid = $node->safe_psql(
		'postgres', qq{
SELECT format('(%s,%s)', (get_byte(p, $d->[0] + 9) * 256 + get_byte(p, $d->[0] + 8)) * 65536
                        + get_byte(p, $d->[0] + 11) * 256 + get_byte(p, $d->[0] + 10),
              get_byte(p, $d->[0] + 12) + 256 * get_byte(p, $d->[0] + 13))
FROM (SELECT get_raw_page('items_idx', $block) AS p) s;
});
	poke($block, $d->[0] + 56, pack('H*', $l->[1]));
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT vechnsw_index_check('items_idx')");
	like($err, qr/ERROR:\s+XX002:.*two elements name this neighbour tuple/, 'the checker reports two elements naming one neighbour tuple');
	($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nDELETE FROM items WHERE v = (SELECT v FROM items WHERE ctid = '$ctid'); VACUUM (INDEX_CLEANUP ON) items");
	like($err, qr/ERROR:\s+XX002:/, 'VACUUM refuses to free an element whose neighbour tuple a live element names');
	poke($block, $d->[0] + 56, pack('H*', $d->[1]));
	my ($cret, $cout, $cerr) = $node->psql('postgres', "SELECT vechnsw_index_check('items_idx')");
	is($cret . $cerr, '0', 'with the damage undone the live element kept its lists (the index checks clean)');
	$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) items; REINDEX INDEX items_idx');
}

# the spin a corrupted visited set once caused is gone; a statement_timeout
# still cancels a long scan
my ($ret, $out, $err) = $node->psql('postgres',
	"SET statement_timeout = '1ms'; SET enable_seqscan = off; SET vechnsw.ef_search = 1000; SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> (SELECT qv FROM q WHERE i = 1) LIMIT 3000) s");
like($err, qr/canceling statement due to statement timeout/, 'a statement_timeout cancels a scan');

$node->stop;
done_testing();
