#!/usr/bin/env bash
#
# gate_1m.sh: the 1M regression gate (issue 13).  See test/gate/README.md.
#
#   bash test/gate/gate_1m.sh [--vecbench PATH]
#
# Starts its own throwaway cluster, loads 1,000,000 x 512 synthetic vectors
# with bench/vecbench, builds vechnsw indexes, sweeps ef_search and fails when
# a recall@10 falls under its floor (test/gate/floors).  Build time, index size
# and QPS are printed beside the previous run's (VECIDX_GATE_HISTORY), never
# asserted.  test/run_all.sh runs it as one test unless VECIDX_SKIP_GATE=1.
#
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/common.sh
. "$top/test/lib/common.sh"

VECBENCH=
while [ $# -gt 0 ]; do
	case $1 in
	--vecbench) VECBENCH=$2; shift 2 ;;
	-h|--help) sed -n '5,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	*) echo "gate: unknown argument $1" >&2; exit 2 ;;
	esac
done

HISTORY=${VECIDX_GATE_HISTORY:-/var/tmp/vecidx-gate/history.jsonl}
DATA_DIR=${VECIDX_GATE_DATA_DIR:-$top/bench/data}	# ground-truth cache, kept between runs
FLOORS=$here/floors

# What is measured.  Changing any of it starts a new series in the history
# (CONFIG below) and calls for new floors.
# (VECIDX_GATE_N / VECIDX_GATE_N_L2 only try the plumbing on fewer rows: the
# floors are for the defaults)
N=${VECIDX_GATE_N:-1000000}	# cosine, normalised
N_L2=${VECIDX_GATE_N_L2:-200000}	# l2, not normalised: the first N_L2 of the same generator
DIM=512
NQ=1000
EF_EXACT=10,20,40,80,160
EF_RABITQ=10,40,160	# recall is nearly flat over ef in the RaBitQ walk, and its QPS is low
SPEC_COS='vechnsw;name=cos_f16_b1;with=m=16, ef_construction=64, storage=f16, bits=1'
SPEC_L2='vechnsw;name=l2f32_200k;with=m=16, ef_construction=64, storage=f32, bits=0'
SERVER_CONF=(
	"shared_buffers = 2GB"
	# the 1M f16 graph builds in memory (build backend peak RSS 3.5 GB with the
	# shared buffers it touched); a NOTICE would say otherwise
	"maintenance_work_mem = 6GB"
	# leader + 1 worker: the two cores
	"max_parallel_maintenance_workers = 1"
	"autovacuum = off"
	# no WAL for the indexes built (new relfilenodes): throwaway cluster
	"wal_level = minimal"
	"max_wal_senders = 0"
	"max_wal_size = 8GB"
	"checkpoint_timeout = 30min"
	"synchronous_commit = off"
	"full_page_writes = off"
	# NOTICEs (a build going on disk) reach the server log
	"log_min_messages = notice"
)
CONFIG="gate_1m/2 n=$N n_l2=$N_L2 dim=$DIM nq=$NQ seed=42 ef=$EF_EXACT/$EF_RABITQ [$SPEC_COS] [$SPEC_L2] shared_buffers=2GB mwm=6GB pmw=1 host=$(hostname) cpus=$(nproc)"

START=$SECONDS
fail=0
complete=0

# ---------------------------------------------------------------- vecbench
if [ -z "$VECBENCH" ]; then
	VECBENCH=$top/bench/vecbench
	make -C "$top" -s PG_CONFIG="$PGBIN/pg_config" bench >/dev/null || { echo "gate: make bench failed"; exit 1; }
fi
[ -x "$VECBENCH" ] || { echo "gate: $VECBENCH not found"; exit 1; }
mkdir -p "$DATA_DIR" || { echo "gate: cannot create $DATA_DIR"; exit 1; }

# ---------------------------------------------------------------- cluster
dir=$top/tmp_gate
if [ ${#dir} -gt 80 ] || ! vecidx_run_as_pg test -x "$top"; then
	dir=$(mktemp -d /tmp/vecidx_gate.XXXXXX)
fi
MON_PID=
cleanup() {
	local rc=$?
	trap - INT TERM
	[ -n "$MON_PID" ] && kill "$MON_PID" 2>/dev/null && wait "$MON_PID" 2>/dev/null
	if [ "$rc" -ne 0 ] && [ -d "$dir" ]; then
		mkdir -p "$top/tmp_logs/gate" &&
			cp "$dir"/*.log "$dir"/results.jsonl "$top/tmp_logs/gate/" 2>/dev/null &&
			echo "gate: logs kept in tmp_logs/gate/"
	fi
	vecidx_cluster_stop "$dir"
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "gate: interrupted"; exit 130' INT
trap 'echo "gate: terminated"; exit 143' TERM

conf=$(printf '%s, ' "${SERVER_CONF[@]}")
echo "gate: cluster in $dir: ${conf%, }"
vecidx_cluster_start "$dir" "${SERVER_CONF[@]}" || { echo "gate: could not start the cluster"; exit 1; }
PSQL=("$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c "CREATE EXTENSION vecidx" || { echo "gate: CREATE EXTENSION failed"; exit 1; }
: >"$dir/steps"

COMMON=(--dataset synthetic --dim "$DIM" --nq "$NQ" --data-dir "$DATA_DIR"
	--results "$dir/results.jsonl" --no-progress)
COS=(--n "$N" --metric cosine --table gate_1m)
L2=(--n "$N_L2" --metric l2 --table gate_200k_l2)

# step NAME CMD...: run, time, keep the output in $dir/NAME.log
step() {
	local name=$1 t0 t
	shift
	t0=$(date +%s.%N)
	if "$@" </dev/null >"$dir/$name.log" 2>&1; then
		t=$(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }')
		echo "step_$name $t" >>"$dir/steps"
		printf '  %-22s %7.1f s\n' "$name" "$t"
		return 0
	fi
	echo "gate: step $name FAILED; its output:"
	tail -n 40 "$dir/$name.log" | sed 's/^/    /'
	return 1
}

# build NAME SPEC DATA...: vecbench build, watching for parallel workers and
# for the NOTICE of a build that ran out of maintenance_work_mem
build() {
	local name=$1 spec=$2 logpos workers
	shift 2
	logpos=$(stat -c %s "$dir/server.log")
	echo 0 >"$dir/workers"
	(
		max=0
		while sleep 2; do
			n=$("${PSQL[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'" 2>/dev/null) ||
				continue
			[ "${n:-0}" -gt "$max" ] && max=$n && echo "$max" >"$dir/workers"
		done
	) &
	MON_PID=$!
	step "build_$name" "$VECBENCH" build "${COMMON[@]}" "$@" --spec "$spec" --note "$name"
	local rc=$?
	kill "$MON_PID" 2>/dev/null
	wait "$MON_PID" 2>/dev/null
	MON_PID=
	[ $rc -eq 0 ] || return 1
	grep -E '^build: [a-z]' "$dir/build_$name.log" | sed 's/^/    /'
	workers=$(cat "$dir/workers")
	echo "    parallel workers seen during the build: $workers (not asserted; 0 means a serial build)"
	if tail -c +"$((logpos + 1))" "$dir/server.log" | grep -q 'no longer fits into maintenance_work_mem'; then
		echo "gate: FAIL $name: the build ran out of maintenance_work_mem and went on disk:"
		tail -c +"$((logpos + 1))" "$dir/server.log" | grep -A2 'no longer fits' | sed 's/^/    /'
		fail=1
	else
		echo "    build stayed in memory (no 'no longer fits into maintenance_work_mem' NOTICE)"
	fi
}

# mode_check TABLE OP MODE MIN_EST MAX_EST: one index scan in MODE; its
# searches must be > 0 (the index answered) and its RaBitQ estimates in range
mode_check() {
	local table=$1 op=$2 mode=$3 lo=$4 hi=$5 out searches est
	out=$("${PSQL[@]}" -F ' ' \
		-c "SELECT count(*) FROM vechnsw_search_counters(true)" \
		-c "SET enable_seqscan = off" -c "SET vechnsw.search_mode = $mode" \
		-c "SELECT count(*) FROM (SELECT id FROM $table ORDER BY v $op (SELECT v FROM ${table}_q WHERE qid = 1) LIMIT 10) s" \
		-c "SELECT searches, estimates FROM vechnsw_search_counters(true)" 2>&1 | tail -n 1)
	read -r searches est <<<"$out"
	if [ -n "${est:-}" ] && [ "$searches" -gt 0 ] 2>/dev/null && [ "$est" -ge "$lo" ] && [ "$est" -le "$hi" ]; then
		echo "    $table $mode walk: $searches search(es), $est RaBitQ estimates: ok"
	else
		echo "gate: FAIL $table $mode walk: expected an index search with $lo..$hi RaBitQ estimates, got: $out"
		fail=1
	fi
}

query() {
	local name=$1 spec=$2 mode=$3 values=$4
	shift 4
	step "query_${name}_$mode" "$VECBENCH" query "${COMMON[@]}" "$@" --spec "$spec" --values "$values" \
		--clients 1 --set "vechnsw.search_mode=$mode" --note "$name $mode" || return 1
	grep -E '^(spec|[a-z0-9_]+ +vechnsw\.| +index )' "$dir/query_${name}_$mode.log" | sed 's/^/    /'
}

run_gate() {
	echo "gate: cosine, storage = f16, bits = 1: RaBitQ walk and exact walk"
	step load_cos "$VECBENCH" load "${COMMON[@]}" "${COS[@]}" || return 1
	step gt_cos "$VECBENCH" gt "${COMMON[@]}" "${COS[@]}" || return 1
	build cos_f16_b1 "$SPEC_COS" "${COS[@]}" || return 1
	mode_check gate_1m '<=>' rabitq 1 1000000000
	mode_check gate_1m '<=>' exact 0 0
	query cos_f16_b1 "$SPEC_COS" rabitq "$EF_RABITQ" "${COS[@]}" || return 1
	query cos_f16_b1 "$SPEC_COS" exact "$EF_EXACT" "${COS[@]}" || return 1
	# room on disk and in the page cache for the next part
	"${PSQL[@]}" -c "DROP TABLE gate_1m" || return 1

	echo "gate: l2, storage = f32, bits = 0: $N_L2 rows, not normalised"
	step load_l2 "$VECBENCH" load "${COMMON[@]}" "${L2[@]}" || return 1
	step gt_l2 "$VECBENCH" gt "${COMMON[@]}" "${L2[@]}" || return 1
	build l2f32_200k "$SPEC_L2" "${L2[@]}" || return 1
	mode_check gate_200k_l2 '<->' exact 0 0
	query l2f32_200k "$SPEC_L2" exact "$EF_EXACT" "${L2[@]}" || return 1
	return 0
}

if run_gate; then
	complete=1
else
	fail=1
fi
echo "gate_wall $((SECONDS - START))" >>"$dir/steps"

echo
GATE_COMPLETE=$complete \
	GATE_GIT_COMMIT=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown) \
	perl "$here/gate_report.pl" "$dir/results.jsonl" "$FLOORS" "$dir/steps" "$HISTORY" "$CONFIG" || fail=1
echo "gate: finished in $((SECONDS - START)) s"
[ "$fail" -eq 0 ] || exit 1
exit 0
