#!/usr/bin/env bash
#
# fuzz.sh: replay generated inputs against vecidx and count crashes,
# timeouts and internal errors.  See test/fuzz/README.md.
#
#   bash test/fuzz/fuzz.sh [--inputs N] [--seed S] [--log FILE] [--batch B]
#                          [--timeout 10s] [--db NAME] [--keep] [--verbose]
#
# Uses the server in PGHOST/PGPORT/PGUSER (the caller starts it; the user
# must be able to CREATE DATABASE and the extension must be installed).
# Drops and recreates database NAME (default vecidx_fuzz).
#
set -u

here=$(cd "$(dirname "$0")" && pwd)
N=10000
SEED=1
LOG=
BATCH=200
STMT_TIMEOUT=10s
BATCH_TIMEOUT=${VECIDX_FUZZ_BATCH_TIMEOUT:-300}	# seconds for one psql session before it counts as a hang
DB=vecidx_fuzz
KEEP=0
VERBOSE=0

usage() {
	sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--inputs) N=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--log) LOG=$2; shift 2 ;;
	--batch) BATCH=$2; shift 2 ;;
	--timeout) STMT_TIMEOUT=$2; shift 2 ;;
	--db) DB=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--verbose) VERBOSE=1; shift ;;
	-h|--help) usage ;;
	*) echo "fuzz: unknown argument $1" >&2; usage ;;
	esac
done
case $N in ''|*[!0-9]*) echo "fuzz: --inputs must be a number" >&2; exit 2 ;; esac
case $SEED in ''|*[!0-9]*) echo "fuzz: --seed must be a number" >&2; exit 2 ;; esac
case $BATCH in ''|*[!0-9]*|0) echo "fuzz: --batch must be a positive number" >&2; exit 2 ;; esac
if [ -n "$LOG" ] && [ ! -r "$LOG" ]; then
	echo "fuzz: cannot read server log $LOG" >&2
	exit 2
fi

PSQL=(psql -X -q -v ON_ERROR_STOP=1)
work=$(mktemp -d "${TMPDIR:-/tmp}/vecidx_fuzz.XXXXXX")
chmod 755 "$work"
[ "$KEEP" = 1 ] || trap 'rm -rf "$work"' EXIT

t0=$(date +%s)

# ---------------------------------------------------------------- set up
perl "$here/gen.pl" --setup >"$work/setup.sql" || exit 2
perl "$here/gen.pl" --seed "$SEED" --inputs "$N" >"$work/inputs.sql" || exit 2

if ! "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >"$work/setup.out" 2>&1 ||
	! "${PSQL[@]}" -d "$DB" -f "$work/setup.sql" >>"$work/setup.out" 2>&1; then
	echo "fuzz: setup failed:" >&2
	cat "$work/setup.out" >&2
	exit 2
fi

# one file per BATCH inputs (chunk.0 holds inputs 1..BATCH)
awk -v b="$BATCH" -v dir="$work" 'BEGIN { cur = -1 } /^\\warn @@IN [0-9]+$/ { k = int(($3 - 1) / b); if (k != cur) { if (cur >= 0) close(f); f = dir "/chunk." k; cur = k } } cur >= 0 { print > f }' "$work/inputs.sql"

# byte offset in the server log from which crashes are counted
logpos=0
[ -n "$LOG" ] && logpos=$(stat -c %s "$LOG")

# ---------------------------------------------------------------- counters
crashes=0		# crash events (max of log events and connection losses per batch)
conn_lost=0		# connection losses psql reported
log_sig=0		# "terminated by signal" / abnormal exit lines in the log
log_panic=0		# PANIC lines
log_trap=0		# TRAP (assertion) lines
hangs=0			# psql sessions killed by the outer timeout
searches=0		# index searches (vechnsw_search_counters of each session that ended)
page_reads=0
: >"$work/errors.tsv"	# input <TAB> sqlstate <TAB> message
: >"$work/events.txt"	# crash / hang descriptions

server_alive() {
	"${PSQL[@]}" -d "$DB" -tA -c "SELECT 1" 2>/dev/null | grep -qx 1
}

wait_alive() {
	local i
	for i in $(seq 1 120); do
		server_alive && return 0
		sleep 0.5
	done
	return 1
}

# scan the log from logpos; sets lsig lpanic ltrap, appends context to events
scan_log() {
	lsig=0 lpanic=0 ltrap=0
	[ -n "$LOG" ] || return 0
	local size
	size=$(stat -c %s "$LOG")
	[ "$size" -gt "$logpos" ] || { logpos=$size; return 0; }
	tail -c +$((logpos + 1)) "$LOG" | head -c $((size - logpos)) >"$work/log.chunk"
	logpos=$size
	lsig=$(grep -cE 'server process .* (was terminated by signal|was terminated by exception|exited with exit code)|terminated by signal' "$work/log.chunk")
	lpanic=$(grep -c 'PANIC: ' "$work/log.chunk")
	ltrap=$(grep -c 'TRAP: ' "$work/log.chunk")
	if [ $((lsig + lpanic + ltrap)) -gt 0 ]; then
		grep -E -A1 'terminated by signal|exited with exit code|PANIC: |TRAP: ' "$work/log.chunk" | head -20 >>"$work/events.txt"
	fi
}

# ---------------------------------------------------------------- batches
next=1
nbatches=0
while [ "$next" -le "$N" ]; do
	bt_first=$next
	chunk=$(((next - 1) / BATCH))
	last=$(((chunk + 1) * BATCH))
	[ "$last" -gt "$N" ] && last=$N
	{
		echo '\set ON_ERROR_STOP off'
		echo '\set VERBOSITY verbose'
		echo "SET statement_timeout = '$STMT_TIMEOUT';"
		echo "SET application_name = 'vecidx_fuzz';"
		echo "SET client_min_messages = warning;"
		# every other chunk starts with sequential scans off, so that
		# queries with large LIMITs or odd ORDER BYs still use the index
		[ $((chunk % 2)) = 1 ] && echo "SET enable_seqscan = off;"
		awk -v a="$next" '/^\\warn @@IN [0-9]+$/ { n = $3 + 0 } n >= a' "$work/chunk.$chunk"
		echo '\warn @@END'
		echo "SELECT searches AS fz_searches, page_reads AS fz_page_reads FROM vechnsw_search_counters() \\gset"
		echo '\warn @@COUNTERS :fz_searches :fz_page_reads'
	} >"$work/batch.sql"
	bt0=$(date +%s.%N)
	timeout -k 10 "$BATCH_TIMEOUT" "${PSQL[@]}" -At -d "$DB" -v ON_ERROR_STOP=0 <"$work/batch.sql" >/dev/null 2>"$work/batch.err"
	rc=$?
	nbatches=$((nbatches + 1))

	# errors per input, where the session stopped, connection losses
	perl -e '
		my ($cur, $end, $lost, $srch, $pr, $pending) = (0, 0, 0, 0, 0, undef);
		open(my $e, ">>", $ARGV[1]) or die;
		open(my $in, "<", $ARGV[0]) or die;
		while (<$in>) {
			chomp;
			if (/^\@\@IN (\d+)$/) { $cur = $1; next; }
			if (/^\@\@END$/) { $end = 1; next; }
			if (/^\@\@COUNTERS (\d+) (\d+)$/) { ($srch, $pr) = ($1, $2); next; }
			if (/\b(ERROR|FATAL|PANIC):\s+([0-9A-Z]{5}):\s*(.*)$/) {
				print $e "$pending\n" if defined $pending;
				my ($lvl, $code, $msg) = ($1, $2, $3);
				$msg =~ s/\t/ /g;
				# an error after the last input: the counters query (an
				# input left its transaction open and failed, or the like)
				$pending = "$cur\t$code\t" . ($end ? "[after the batch] " : "") . "$lvl: $msg";
				next;
			}
			if (defined $pending && /^LOCATION:\s+(.*)$/) { $pending .= " [$1]"; next; }
			$lost = 1 if /server closed the connection unexpectedly|connection to server was lost|no connection to the server/;
		}
		print $e "$pending\n" if defined $pending;
		print "$cur $end $lost $srch $pr\n";
	' "$work/batch.err" "$work/errors.tsv" >"$work/batch.state"
	read -r cur ended lost srch pr <"$work/batch.state"
	if [ "$ended" = 1 ] && [ "$cur" -lt "$last" ]; then
		echo "fuzz: internal error: the session for inputs $next-$last ended after input $cur" >&2
		exit 2
	fi
	searches=$((searches + srch))
	page_reads=$((page_reads + pr))

	if [ "$ended" = 1 ] && [ "$rc" = 0 ]; then
		next=$((last + 1))
	else
		# the session died in input $cur (or before the first one)
		[ "$cur" -lt "$next" ] && cur=$next
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			hangs=$((hangs + 1))
			echo "hang: input $cur ran past ${BATCH_TIMEOUT}s (psql killed)" >>"$work/events.txt"
			"${PSQL[@]}" -d postgres -tA -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'vecidx_fuzz' AND pid <> pg_backend_pid()" >/dev/null 2>&1
		else
			{
				echo "session lost in input $cur (psql exit $rc, connection lost: $lost); its last lines:"
				tail -n 6 "$work/batch.err" | cut -c1-300 | sed 's/^/    /'
			} >>"$work/events.txt"
		fi
		[ "$lost" = 1 ] && conn_lost=$((conn_lost + 1))
		echo "$cur" >>"$work/bad_inputs"
		next=$((cur + 1))
	fi

	# server alive?  (after a crash it restarts; wait for it)
	alive_fail=0
	if ! server_alive; then
		alive_fail=1
		if ! wait_alive; then
			echo "fuzz: server did not come back after input $cur" >&2
			scan_log
			crashes=$((crashes + 1))
			break
		fi
	fi
	scan_log
	log_sig=$((log_sig + lsig))
	log_panic=$((log_panic + lpanic))
	log_trap=$((log_trap + ltrap))
	ev=$lsig
	[ $((lpanic + ltrap)) -gt "$ev" ] && ev=$((lpanic + ltrap))
	[ "$lost" -gt "$ev" ] && ev=$lost
	[ "$alive_fail" -gt "$ev" ] && ev=$alive_fail
	crashes=$((crashes + ev))
	[ "$VERBOSE" = 1 ] && printf 'fuzz: inputs %d-%d: %.1fs, errors so far %d, crashes %d\n' "$bt_first" "$last" \
		"$(awk -v a="$bt0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" "$(wc -l <"$work/errors.tsv")" "$crashes"
done
ran=$((next - 1))
[ "$ran" -gt "$N" ] && ran=$N

# ---------------------------------------------------------------- report
elapsed=$(($(date +%s) - t0))
timeouts=$(awk -F'\t' '$2 == "57014" && /statement timeout/' "$work/errors.tsv" | wc -l)
timeouts=$((timeouts + hangs))
internal=$(awk -F'\t' '$2 == "XX000"' "$work/errors.tsv" | wc -l)
corrupt=$(awk -F'\t' '$2 == "XX001" || $2 == "XX002"' "$work/errors.tsv" | wc -l)
expected=$(awk -F'\t' '!($2 == "57014" && /statement timeout/) && $2 !~ /^XX00[012]$/' "$work/errors.tsv" | wc -l)
failing=$(cut -f1 "$work/errors.tsv" | sort -u | wc -l)

echo "fuzz: seed $SEED, $nbatches sessions, ${elapsed}s; $((ran - failing)) inputs ran without error, $failing raised errors;" \
	"$searches index searches reading $page_reads pages"
echo "fuzz: connection losses $conn_lost;" \
	"log: $log_sig signal/abnormal exits, $log_panic PANIC, $log_trap TRAP${LOG:+ (in $LOG)}"
echo "fuzz: errors by SQLSTATE: $(cut -f2 "$work/errors.tsv" | sort | uniq -c | sort -rn | awk '{printf "%s=%s ", $2, $1}')"

show_input() {
	awk -v n="$1" '/^\\warn @@IN [0-9]+$/ { k = $3 + 0; next } k == n' "$work/inputs.sql" | cut -c1-600 | head -12 | sed 's/^/      /'
}

if [ -s "$work/events.txt" ]; then
	echo "fuzz: crash / hang events:"
	sed 's/^/    /' "$work/events.txt" | head -40
	if [ -s "$work/bad_inputs" ]; then
		for i in $(sort -un "$work/bad_inputs" | head -5); do
			echo "    input $i:"
			show_input "$i"
		done
	fi
fi
if [ "$internal" -gt 0 ] || [ "$corrupt" -gt 0 ]; then
	echo "fuzz: first internal (XX000) / corruption (XX001, XX002) errors:"
	awk -F'\t' '$2 ~ /^XX00[012]$/' "$work/errors.tsv" | head -5 | while IFS=$'\t' read -r i code msg; do
		echo "    input $i: $code $msg"
		show_input "$i"
	done
fi
if [ "$timeouts" -gt 0 ]; then
	echo "fuzz: first statement timeouts:"
	awk -F'\t' '$2 == "57014" && /statement timeout/' "$work/errors.tsv" | head -3 | while IFS=$'\t' read -r i code msg; do
		echo "    input $i: $code $msg"
		show_input "$i"
	done
fi
[ "$corrupt" -gt 0 ] && echo "fuzz: $corrupt corruption errors (XX001/XX002): the fuzzer creates no corruption"
if [ "$KEEP" = 1 ]; then
	echo "fuzz: inputs, errors and logs kept in $work; database $DB kept"
else
	"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
fi

echo "fuzz: $ran inputs, $crashes crashes, $timeouts timeouts, $internal internal errors (XX000), $expected expected errors"
[ "$crashes" -eq 0 ] && [ "$timeouts" -eq 0 ] && [ "$internal" -eq 0 ] && [ "$corrupt" -eq 0 ] && [ "$ran" -eq "$N" ]
