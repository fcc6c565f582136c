# Helpers shared by the TAP tests in test/t (test/run_all.sh puts this
# directory on prove's include path).
package VecidxTest;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(recall_at_10);

# recall@10 of the index on items(v) (L2, ef_search 100) against exact scans,
# over 20 fixed queries of $dim dimensions.  $settings (optional) are SET
# commands run before the index scans, after the ef_search 100.  Creates temp
# tables qs, ex, ap in its session.
sub recall_at_10
{
	my ($node, $dim, $settings) = @_;
	$settings //= '';
	return $node->safe_psql(
		'postgres', qq{
CREATE TEMP TABLE qs AS SELECT q, ARRAY(SELECT ((q * 31 + d * 17) % 101) / 101.0 FROM generate_series(1, $dim) d)::real[] AS qv
FROM generate_series(1, 20) q;
SET enable_indexscan = off;
CREATE TEMP TABLE ex AS SELECT q, id FROM qs, LATERAL (SELECT id FROM items ORDER BY v <-> qv LIMIT 10) s;
RESET enable_indexscan;
SET enable_seqscan = off;
SET vechnsw.ef_search = 100;
$settings
CREATE TEMP TABLE ap AS SELECT q, id FROM qs, LATERAL (SELECT id FROM items ORDER BY v <-> qv LIMIT 10) s;
SELECT (SELECT count(*) FROM ex JOIN ap USING (q, id)) / 200.0;
});
}

1;
