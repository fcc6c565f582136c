#!/usr/bin/env bash
# bench/scale.sh: one scale of the synthetic 512-d cosine plan (issue 13) on an existing
# cluster, step by step, each step resumable:
#
#   load         base, query and extra vectors; the base vectors are streamed (generated in
#                chunks, never held whole), each chunk COPYed in its own transaction, so an
#                interrupted load goes on after the last chunk committed
#   gt           exact top-100 of the queries: one streaming pass, cached in bench/data
#   build-serial (--serial) CREATE INDEX with max_parallel_maintenance_workers = 0 first
#   build        CREATE INDEX as the server's settings allow (parallel): time, size, peak RSS
#   query        recall@10, QPS, p50/p99 at every --values, with 1 and 4 clients (--clients)
#   write        on the built index itself (write --in-place): inserts at 1 and 100 rows per
#                commit over 4 clients, 10 % deleted, VACUUM, recall against the rows alive;
#                each phase is recorded in vecbench_meta once it has committed, so that a write
#                cut short goes on (write --in-place --resume) after the last phase recorded
#
#   bench/scale.sh --n 10000000 [options] [-- extra vecbench options]
#
# options: --n N (required)  --dim D (512)  --nq Q (1000)  --spec SPEC (f16: 'vechnsw;name=f16;
#   with=m=16, ef_construction=64, storage=f16')  --serial  --values LIST (10,20,40,80,160,320)
#   --clients LIST (1,4)  --insert-rows R (2000 per batch size)  --write-nq Q (200)
#   --redo STEP (forget STEP and the steps after it; --redo load reloads from scratch)
#   --show (print the state and stop)  --until STEP (stop after STEP)
#
# State: bench/data/scale-nN-dD.state, a line per step: step, status (running, done,
# cut short ...), start, end, the step's last output line (tab-separated). A re-run skips
# the steps done and runs the others (a load resumes where it stopped). A step still
# "running" in the file was killed with the script. Each step's output is also appended to
# bench/data/scale-nN-dD.STEP.log; the figures go to bench/results.jsonl (JSON lines) as
# for any vecbench run. One run per scale at a time: a second one is refused (flock on
# scale-nN-dD.state.lock, held by vecbench too while a step of a killed script still runs).
# SIGINT / SIGTERM: vecbench cancels its statements (a CREATE INDEX or VACUUM does not go
# on in the server) and the step is recorded "cut short".
# 'write' changes the table and its index: once vecbench_meta marks the table written
# (psql asks; without psql or a server the state file decides), 'query', 'build' and every
# --redo but --redo load refuse it; a write that failed before marking it runs again. A
# write step "cut short" (or "running" in the file: killed with the script) whose table is
# marked written goes on: vecbench write --in-place --resume with the same options skips the
# phases it recorded as done (their figures, in the step's log and JSON line, are the first
# run's, from vecbench_meta), rebuilds the rows alive (the picks are seeded) and runs the rest:
# a phase it had begun is gone on with and said so (the rest of the inserts, the delete list
# again, VACUUM again: their times are those of a resumed phase, "seconds": null and
# "seconds_resumed" in the JSON), then VACUUM, the recall after it, the JSON line. Other
# options than the cut-short write's are refused (change them only with --redo load), and so
# is a vecbench that picks other rows to delete than the one that began it. A written table
# the state file has no write for is refused. The extra vectors it inserts (--nextra) are as
# many as its inserted rows, so that no vector goes in twice.
#
# The cluster: PGHOST/PGPORT/PGUSER/PGDATABASE of a running server with the extension
# installed (this script starts no cluster). Settings it expects for 10M x 512 on 2 cores
# and 24 GiB (smaller scales run with less):
#   shared_buffers = 4GB                   upper graph levels and part of level 0
#   maintenance_work_mem = 12GB            the in-memory build graph (--set can raise it per
#                                          run); a graph that outgrows it continues on disk
#                                          (NOTICE); a parallel build keeps it in /dev/shm,
#                                          which must be at least as large
#   max_parallel_maintenance_workers = 1   leader + 1 worker on 2 cores
#   max_wal_size = 8GB, checkpoint_timeout = 30min   fewer checkpoints during the load
#   wal_level = minimal, max_wal_senders = 0         CREATE INDEX then writes no WAL
#   fsync = off, synchronous_commit = off, full_page_writes = off   allowed: a benchmark cluster
#   autovacuum = off                       'write' measures its own VACUUM
#   max_connections >= 20
# WAL: the load is WAL-logged in full: at 10M about 27 GB of WAL, as much as the table
# itself, so the load writes ~54 GB in all (each chunk's COPY goes into a table an earlier
# transaction created, which wal_level = minimal does not exempt; not avoided, issue 13).
# Checkpoints recycle the segments: the disk holds at most ~max_wal_size of it at a time.
# Disk at 10M: table ~27 GB, f16 index ~16 GB, WAL up to max_wal_size.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VB=${VB:-$here/vecbench}

n='' dim=512 nq=1000 serial=0 values=10,20,40,80,160,320 clients=1,4 insert_rows=2000 write_nq=200
batches=1,100
spec='vechnsw;name=f16;with=m=16, ef_construction=64, storage=f16'
redo='' show=0 until=''
extra=()
while [ $# -gt 0 ]; do
	case $1 in
		--n) n=$2; shift 2 ;;
		--dim) dim=$2; shift 2 ;;
		--nq) nq=$2; shift 2 ;;
		--spec) spec=$2; shift 2 ;;
		--serial) serial=1; shift ;;
		--values) values=$2; shift 2 ;;
		--clients) clients=$2; shift 2 ;;
		--insert-rows) insert_rows=$2; shift 2 ;;
		--write-nq) write_nq=$2; shift 2 ;;
		--redo) redo=$2; shift 2 ;;
		--show) show=1; shift ;;
		--until) until=$2; shift 2 ;;
		--) shift; extra=("$@"); break ;;
		-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
		*) echo "scale.sh: unknown option $1 (--help)" >&2; exit 2 ;;
	esac
done
[ -n "$n" ] || { echo "scale.sh: --n N is required (--help)" >&2; exit 2; }

steps=(load gt)
[ "$serial" = 1 ] && steps+=(build-serial)
steps+=(build query write)

datadir=$here/data
mkdir -p "$datadir"
base=$datadir/scale-n$n-d$dim
state=$base.state
touch "$state"

# extra vectors: one per row 'write' inserts (each batch size inserts insert_rows rounded up to
# whole batches), at least vecbench's default 1000
nextra=0
IFS=, read -r -a blist <<<"$batches"
for b in "${blist[@]}"; do
	nextra=$((nextra + (insert_rows + b - 1) / b * b))
done
[ "$nextra" -ge 1000 ] || nextra=1000

D=(--dataset synthetic --n "$n" --dim "$dim" --metric cosine --nq "$nq" --nextra "$nextra" --stream --no-progress)

# the base table and the server as vecbench sees them (--table / --conninfo among the extra options)
btab=vb_syn_${n}_${dim}_cosine conninfo=
for ((i = 0; i < ${#extra[@]}; i++)); do
	case ${extra[i]} in
		--table) btab=${extra[i + 1]:-$btab} ;;
		--table=*) btab=${extra[i]#--table=} ;;
		--conninfo) conninfo=${extra[i + 1]:-} ;;
		--conninfo=*) conninfo=${extra[i]#--conninfo=} ;;
	esac
done

# does vecbench_meta mark the table (or a spec's copy of it) written by 'write --in-place'?
# 0 yes, 1 no, 2 unknown (no psql, no server)
db_written() {
	local q out
	command -v psql >/dev/null 2>&1 || return 2
	q="SELECT to_regclass('vecbench_meta') IS NOT NULL"
	out=$(psql -XAtq -v ON_ERROR_STOP=1 ${conninfo:+-d "$conninfo"} -c "$q" 2>/dev/null) || return 2
	[ "$out" = t ] || return 1
	q="SELECT count(*) FROM vecbench_meta WHERE key LIKE 'written:%'
		AND (tbl = '$btab' OR left(tbl, length('$btab') + 1) = '${btab}_')"
	out=$(psql -XAtq -v ON_ERROR_STOP=1 ${conninfo:+-d "$conninfo"} -c "$q" 2>/dev/null) || return 2
	[ "${out:-0}" -gt 0 ] && return 0
	return 1
}

# the table changed by write: from the database, or when it cannot say, from the state file
# (a write begun counts as written)
table_written() {
	db_written
	case $? in
		0) return 0 ;;
		1) return 1 ;;
	esac
	[ -n "$(state_get write 2)" ]
}

# field F (2 status, 3 start, 4 end, 5 last line) of STEP's line
state_get() {
	awk -F'\t' -v s="$1" -v f="$2" '$1 == s { v = $f } END { print v }' "$state"
}

# STEP STATUS START END LAST: replace STEP's line
state_set() {
	local tmp=$state.tmp$$
	awk -F'\t' -v s="$1" '$1 != s' "$state" >"$tmp"
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(printf '%s' "$5" | tr '\t\r' '  ' | cut -c1-300)" >>"$tmp"
	mv "$tmp" "$state"
}

show_state() {
	local s
	for s in "${steps[@]}"; do
		printf '%-13s %-24s %-25s %-25s %s\n' "$s" "$(state_get "$s" 2)" "$(state_get "$s" 3)" \
			"$(state_get "$s" 4)" "$(state_get "$s" 5)"
	done
}

if [ "$show" = 1 ]; then
	show_state
	exit 0
fi

# one run per scale: the state file, the logs and the tables are this run's
exec 9>"$state.lock"
if ! flock -n 9; then
	echo "scale.sh: another bench/scale.sh --n $n run (or its vecbench) holds $state.lock; wait for it" \
		"or stop it first" >&2
	exit 1
fi

force_load=()
if [ -n "$redo" ]; then
	case " ${steps[*]} " in
		*" $redo "*) ;;
		*) echo "scale.sh: --redo: no step '$redo' (${steps[*]})" >&2; exit 2 ;;
	esac
	if [ "$redo" != load ] && table_written; then
		echo "scale.sh: --redo $redo: the table $btab was changed by 'write' (rows inserted and deleted," \
			"its index too), so steps on it cannot be redone; only --redo load (reload from scratch; the" \
			"ground truth stays cached) starts again" >&2
		exit 2
	fi
	found=0
	for s in "${steps[@]}"; do
		[ "$s" = "$redo" ] && found=1
		if [ $found = 1 ]; then
			awk -F'\t' -v s="$s" '$1 != s' "$state" >"$state.tmp$$" && mv "$state.tmp$$" "$state"
		fi
	done
	[ $found = 1 ] || { echo "scale.sh: --redo: no step '$redo' (${steps[*]})" >&2; exit 2; }
	[ "$redo" = load ] && force_load=(--force)
fi

last_line() {
	grep -v -e '^[[:space:]]*$' -e '^[[:space:]]*{' -e '^ *index ' -e '^vecbench: signal:' "$1" 2>/dev/null | tail -n 1
}

cur_step='' cur_start='' cur_log='' child='' teepid='' fifo=''
on_signal() {
	trap - INT TERM
	if [ -n "$child" ]; then
		# vecbench cancels its running statements on SIGTERM, then ends
		kill -TERM "$child" 2>/dev/null
		wait "$child" 2>/dev/null
	fi
	[ -n "$teepid" ] && wait "$teepid" 2>/dev/null
	[ -n "$fifo" ] && rm -f "$fifo"
	if [ -n "$cur_step" ]; then
		state_set "$cur_step" "cut short (signal $1)" "$cur_start" "$(date -Is)" "$(last_line "$cur_log")"
		echo "scale: $cur_step cut short by SIG$1; run bench/scale.sh --n $n again (without --redo) to go on" >&2
	fi
	exit 130
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

# run_step STEP COMMAND...: skipped when done; else run, log, record
run_step() {
	local step=$1 st rc
	shift
	st=$(state_get "$step" 2)
	if [ "$st" = "done" ]; then
		echo "scale: $step done ($(state_get "$step" 3) .. $(state_get "$step" 4)), skipped"
		return 0
	fi
	if [ "$step" = write ]; then
		if table_written; then
			if [ -z "$st" ]; then
				echo "scale: write: the table $btab is marked written (its rows and index are changed) by a" \
					"write this state file has no record of; start again with 'bench/scale.sh --n $n --redo" \
					"load' (reload, gt cached, build, query, write)" >&2
				exit 1
			fi
			# the run of a killed script has ended: this one holds the lock it held
			echo "scale: write was '$st' ($(state_get "$step" 3)) and changed the table $btab: going on with" \
				"it (write --in-place --resume: the phases recorded as done in vecbench_meta are skipped, their" \
				"figures are the first run's, from that record)"
			set -- "$@" --resume
			st=
		elif [ -n "$st" ]; then
			echo "scale: write was '$st' but did not change the table (vecbench_meta): running it again"
			st=
		fi
	fi
	[ -n "$st" ] && echo "scale: $step was '$st' ($(state_get "$step" 3)): running it again"
	cur_step=$step
	cur_start=$(date -Is)
	cur_log=$base.$step.log
	state_set "$step" running "$cur_start" "" ""
	echo "== scale n=$n: $step ($cur_start): $*" | tee -a "$cur_log"
	# output to the terminal and the log through a FIFO: tee's pid, to wait for its last lines
	fifo=$(mktemp -u "${TMPDIR:-/tmp}/scale-n$n.XXXXXX.fifo")
	mkfifo "$fifo" || exit 1
	tee -a "$cur_log" <"$fifo" &
	teepid=$!
	"$@" >"$fifo" 2>&1 &
	child=$!
	wait "$child"
	rc=$?
	child=
	wait "$teepid"
	teepid=
	rm -f "$fifo"
	fifo=
	if [ $rc = 0 ]; then
		state_set "$step" "done" "$cur_start" "$(date -Is)" "$(last_line "$cur_log")"
	else
		state_set "$step" "cut short (exit $rc)" "$cur_start" "$(date -Is)" "$(last_line "$cur_log")"
		echo "scale: $step failed (exit $rc); see $cur_log; run bench/scale.sh --n $n again (without --redo) to retry" >&2
		exit $rc
	fi
	cur_step=
}

note=(--note "scale.sh n=$n")
for s in "${steps[@]}"; do
	case $s in
		load) run_step load "$VB" load "${D[@]}" "${force_load[@]}" "${note[@]}" "${extra[@]}" ;;
		gt) run_step gt "$VB" gt "${D[@]}" "${note[@]}" "${extra[@]}" ;;
		build-serial)
			run_step build-serial "$VB" build "${D[@]}" --spec "$spec" --set max_parallel_maintenance_workers=0 \
				--note "scale.sh n=$n serial build" "${extra[@]}" ;;
		build) run_step build "$VB" build "${D[@]}" --spec "$spec" "${note[@]}" "${extra[@]}" ;;
		query)
			run_step query "$VB" query "${D[@]}" --spec "$spec" --values "$values" --clients "$clients" \
				"${note[@]}" "${extra[@]}" ;;
		write)
			run_step write "$VB" write "${D[@]}" --spec "$spec" --in-place --batches "$batches" --clients 4 \
				--insert-rows "$insert_rows" --delete-frac 0.1 --cycles 0 --write-nq "$write_nq" --values "$values" \
				"${note[@]}" "${extra[@]}" ;;
	esac
	if [ "$s" = "$until" ]; then
		echo "== scale n=$n: stopped after $s (--until; $state)"
		show_state
		exit 0
	fi
done
echo "== scale n=$n: all steps done ($state)"
show_state
