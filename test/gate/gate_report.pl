#!/usr/bin/perl
#
# gate_report.pl: the verdict and the report of test/gate/gate_1m.sh.
#
#   perl gate_report.pl RESULTS FLOORS STEPS HISTORY CONFIG
#
# RESULTS  JSON lines vecbench appended (--results), each with --note
#          "INDEX" (build) or "INDEX MODE" (query)
# FLOORS   "INDEX MODE EF FLOOR" lines (test/gate/floors)
# STEPS    "NAME SECONDS" lines (the gate's own step timings)
# HISTORY  JSON lines, one per finished run; the last one with the same
#          CONFIG is shown beside this run's figures, then this run is appended
# CONFIG   a string naming everything that makes two runs comparable
#
# Prints one line per floor (measured recall@10, floor, ok/FAIL) and the
# figures that are never asserted (build seconds, index size, QPS, step times)
# beside the previous run's with their ratio.  Exit status 1 when a recall is
# under its floor or missing, else 0.
use strict;
use warnings;
use JSON::PP;
use POSIX qw(strftime);
use File::Basename qw(dirname);
use File::Path qw(make_path);

@ARGV == 5 or die "usage: gate_report.pl RESULTS FLOORS STEPS HISTORY CONFIG\n";
my ($results_file, $floors_file, $steps_file, $history_file, $config) = @ARGV;
my $json = JSON::PP->new->canonical(1);

my (%recall, %fig, @figorder, @builds);
sub fig
{
	my ($name, $value) = @_;
	return unless defined $value;
	push @figorder, $name unless exists $fig{$name};
	$fig{$name} = $value + 0;
}

# ---------------------------------------------------------------- this run
if (open my $fh, '<', $results_file)
{
	while (my $line = <$fh>)
	{
		my $r = eval { $json->decode($line) } or next;
		my $note = $r->{note} // next;
		my $res = $r->{results} // {};
		if ($r->{subcommand} eq 'build')
		{
			push @builds, [$note, $res->{index_stats}, $r->{dataset}{n}];
			fig("$note build s", $res->{build_seconds});
			fig("$note index MB", $res->{index_bytes} / 1048576) if defined $res->{index_bytes};
			fig("$note build peak RSS MB", $res->{backend_peak_rss_kb} / 1024)
			  if defined $res->{backend_peak_rss_kb};
			fig("$note unreachable elements", $res->{index_stats}{unreachable_elements}) if $res->{index_stats};
		}
		elsif ($r->{subcommand} eq 'query')
		{
			for my $q (@{ $res->{runs} // [] })
			{
				my $k = "$note ef=$q->{guc_value}";
				$recall{$k} = $q->{recall_at_10} if defined $q->{recall_at_10};
				fig("$k QPS", $q->{qps});
			}
		}
	}
	close $fh;
}
if (open my $fh, '<', $steps_file)
{
	while (<$fh>)
	{
		my ($name, $s) = split;
		fig("$name s", $s) if defined $s;
	}
	close $fh;
}

# ---------------------------------------------------------------- checks
my ($failed, $checked) = (0, 0);
for my $b (@builds)
{
	my ($name, $st, $rows) = @$b;
	$rows //= -1;
	my $tids = $st ? $st->{heap_tids} : undef;
	$checked++;
	if (defined $tids && $tids == $rows)
	{
		printf "index %s holds %d heap TIDs of %d rows (%s unreachable elements, not asserted): ok\n", $name, $tids,
		  $rows, $st->{unreachable_elements} // '?';
	}
	else
	{
		printf "index %s holds %s heap TIDs of %d rows: FAIL\n", $name, $tids // '?', $rows;
		$failed++;
	}
}

# ---------------------------------------------------------------- floors
my %floored;
print "recall\@10 floors (measured on this set minus a margin, test/gate/floors); a recall under its floor fails\n";
open my $ff, '<', $floors_file or die "gate_report: cannot read $floors_file: $!\n";
while (<$ff>)
{
	s/#.*//;
	my ($index, $mode, $ef, $floor) = split;
	next unless defined $floor;
	my $k = "$index $mode ef=$ef";
	$floored{$k} = 1;
	$checked++;
	my $got = $recall{$k};
	if (!defined $got)
	{
		printf "  %-28s recall\@10    -    floor %.4f  FAIL (not measured)\n", $k, $floor;
		$failed++;
	}
	elsif ($got + 1e-9 < $floor)
	{
		printf "  %-28s recall\@10 %.4f floor %.4f  FAIL (%.4f under)\n", $k, $got, $floor, $floor - $got;
		$failed++;
	}
	else
	{
		printf "  %-28s recall\@10 %.4f floor %.4f  ok\n", $k, $got, $floor;
	}
}
close $ff;
for my $k (sort keys %recall)
{
	printf "  %-28s recall\@10 %.4f (no floor)\n", $k, $recall{$k} unless $floored{$k};
}

# ---------------------------------------------------------------- previous run
my $prev;
if (open my $hf, '<', $history_file)
{
	while (my $line = <$hf>)
	{
		my $h = eval { $json->decode($line) } or next;
		$prev = $h if ($h->{config} // '') eq $config;
	}
	close $hf;
}
my $pf = $prev ? $prev->{figures} // {} : {};
if ($prev)
{
	printf "figures beside the previous run (%s, commit %s, load average %s); not asserted, > 10 %% slower marked\n",
	  $prev->{time} // '?', $prev->{git_commit} // '?', $prev->{loadavg} // '?';
}
else
{
	print "figures (no previous run with this configuration in $history_file); not asserted\n";
}
for my $name (@figorder)
{
	my $v = $fig{$name};
	my $p = $pf->{$name};
	my $line = sprintf "  %-34s %10.1f", $name, $v;
	if (defined $p && $p > 0 && $v > 0)
	{
		my $ratio = $v / $p;
		$line .= sprintf "   previous %10.1f   x%.2f", $p, $ratio;
		# times grow when slower, QPS falls
		my $slower = $name =~ / QPS$/ ? $ratio < 1 / 1.10 : ($name =~ / s$/ && $ratio > 1.10);
		$line .= "  <- slower" if $slower;
	}
	elsif (defined $p)
	{
		$line .= sprintf "   previous %10.1f", $p;
	}
	elsif (!$prev)
	{
		$line .= "   (no previous run)";
	}
	else
	{
		$line .= "   (not in the previous run)";
	}
	print "$line\n";
}

# ---------------------------------------------------------------- history
my $loadavg = '';
if (open my $la, '<', '/proc/loadavg')
{
	$loadavg = join ' ', (split ' ', scalar <$la>)[0 .. 2];
	close $la;
}
my $entry = {
	time       => strftime('%Y-%m-%dT%H:%M:%SZ', gmtime),
	git_commit => $ENV{GATE_GIT_COMMIT} // '',
	host       => $ENV{GATE_HOST} // '',
	loadavg    => $loadavg,
	config     => $config,
	passed     => ($failed == 0 ? JSON::PP::true : JSON::PP::false),
	recall_at_10 => \%recall,
	figures    => \%fig,
};
# only a run that went through every step is kept: a partial one would be
# compared with next time
if (!$ENV{GATE_COMPLETE})
{
	print "(run incomplete: not appended to $history_file)\n";
}
else
{
	eval {
		make_path(dirname($history_file));
		open my $out, '>>', $history_file or die "$!\n";
		print $out $json->encode($entry), "\n";
		close $out or die "$!\n";
		1;
	} or print "(could not append to $history_file: $@)";
}

printf "gate: %d of %d checks met (recall floors, rows indexed)%s\n", $checked - $failed, $checked,
  $failed ? ", $failed FAILED" : '';
exit($failed ? 1 : 0);
