#!/usr/bin/env bash
# Concurrent read/write workloads on a vector index with pgbench.
#
#   bench/pgbench/run.sh PRESET [options]
#
# PRESET (writers : readers):
#   read_heavy   1 : 8
#   write_heavy  8 : 1
#   balanced     4 : 4
#   stress      16 : 16
#   W:R          any other mix, e.g. 2:6
#
# Writers run insert.sql (a batch of rows per transaction) and, with
# --delete-pct, delete.sql; readers run reader.sql.  A third pgbench client,
# the sampler, runs sample.sql at --sample-rate transactions per second: it
# stores the index answer and the exact answer of the same snapshot.  Writers,
# readers and sampler run side by side for --duration seconds, optionally with
# a VACUUM loop.
# Prints tps, latency percentiles, failed and retried transactions per role,
# the VACUUM loop, and the recall of the sampled searches.
#
# Uses the server in PGHOST/PGPORT/PGUSER/PGDATABASE; with --own-cluster (the
# default when PGHOST is unset) starts a throwaway cluster in tmp_pgbench/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../../test/lib/common.sh
. "$top/test/lib/common.sh"
PGBENCH=${PGBENCH:-$PGBIN/pgbench}
PSQL=${PSQL:-$PGBIN/psql}
VB=${VB:-$top/bench/vecbench}

usage() {
	sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
	cat <<'EOF'
Options:
  --duration S          seconds (default 60)
  --batch B             rows per writer transaction (default 1)
  --delete-pct P        percent of writer transactions that delete B rows instead (default 0)
  --vacuum-interval S   VACUUM the table in a loop, S seconds apart, during the run (default 0: off)
  --ef N                ef_search of the readers (default 40)
  --k K                 LIMIT of the searches (default 10)
  --sample-rate R       sampled searches (index + exact answer) per second, by one extra client
                        (default 0.5; 0: none); each costs an exact scan of the table
  --spec vechnsw|pgvector   index to test (default vechnsw)
  --with 'OPTIONS'      index options (default 'm=16, ef_construction=64')
  --data 'ARGS'         vecbench data-set arguments (default '--dataset fashion-mnist --nq 1000')
  --jobs J              pgbench threads per role (default 2)
  --max-tries N         pgbench --max-tries (default 3)
  --own-cluster         start a throwaway cluster in tmp_pgbench/
  --reuse               keep pgb_t and its index from the previous run (default: rebuild)
  --results FILE        append a JSON summary (default bench/results.jsonl; '-': none)
EOF
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
case "$1" in -h | --help) usage; exit 0 ;; esac
PRESET=$1
shift
case "$PRESET" in
read_heavy) W=1 R=8 ;;
write_heavy) W=8 R=1 ;;
balanced) W=4 R=4 ;;
stress) W=16 R=16 ;;
*:*) W=${PRESET%%:*} R=${PRESET##*:} ;;
*) echo "unknown preset '$PRESET'" >&2; usage >&2; exit 2 ;;
esac

DURATION=60 BATCH=1 DELPCT=0 VACINT=0 EF=40 K=10 SAMPLERATE=0.5 SPEC=vechnsw
WITH='m=16, ef_construction=64' DATA='--dataset fashion-mnist --nq 1000' JOBS=2 MAXTRIES=3
OWN=0 REUSE=0 RESULTS=$top/bench/results.jsonl
[ -z "${PGHOST:-}" ] && OWN=1
while [ $# -gt 0 ]; do
	case "$1" in
	--duration) DURATION=$2; shift ;;
	--batch) BATCH=$2; shift ;;
	--delete-pct) DELPCT=$2; shift ;;
	--vacuum-interval) VACINT=$2; shift ;;
	--ef) EF=$2; shift ;;
	--k) K=$2; shift ;;
	--sample-rate) SAMPLERATE=$2; shift ;;
	--spec) SPEC=$2; shift ;;
	--with) WITH=$2; shift ;;
	--data) DATA=$2; shift ;;
	--jobs) JOBS=$2; shift ;;
	--max-tries) MAXTRIES=$2; shift ;;
	--own-cluster) OWN=1 ;;
	--reuse) REUSE=1 ;;
	--results) RESULTS=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

if [ "$OWN" = 1 ]; then
	cdir=$top/tmp_pgbench
	trap 'vecidx_cluster_stop "$cdir"' EXIT
	vecidx_cluster_start "$cdir" "shared_buffers = 2GB" "maintenance_work_mem = 2GB" "autovacuum = off" \
		"max_wal_size = 8GB"
	echo "== throwaway cluster in $cdir (port $PGPORT)"
fi
[ -x "$VB" ] || make -C "$top" -s PG_CONFIG="$PGBIN/pg_config" bench >/dev/null

psqlq() { PGOPTIONS="-c client_min_messages=warning" "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

# --- data: base, query and extra vectors through vecbench (binary COPY, cached) ---
# shellcheck disable=SC2086
"$VB" load $DATA --table pgb_base --results - --no-progress --quiet
METRIC=$(sed -n 's/.*--metric[ =]\([a-z0-9]*\).*/\1/p' <<<"$DATA")
METRIC=${METRIC:-l2}
case "$METRIC" in l2) OP='<->' ;; cosine) OP='<=>' ;; ip) OP='<#>' ;; *) echo "bad metric $METRIC" >&2; exit 2 ;; esac
DIM=$(psqlq -c "SELECT array_length(v, 1) FROM pgb_base LIMIT 1")
N=$(psqlq -c "SELECT count(*) FROM pgb_base")
NQ=$(psqlq -c "SELECT count(*) FROM pgb_base_q")
NX=$(psqlq -c "SELECT count(*) FROM pgb_base_x")
case "$SPEC" in
vechnsw) EXT=vecidx AM=vechnsw TYPE='real[]' OPS=real_${METRIC}_ops GUC=vechnsw.ef_search ;;
pgvector) EXT=vector AM=hnsw TYPE="vector($DIM)" OPS=vector_${METRIC}_ops GUC=hnsw.ef_search ;;
*) echo "unknown spec $SPEC (vechnsw, pgvector)" >&2; exit 2 ;;
esac
[ "$BATCH" -le "$NX" ] || { echo "--batch $BATCH exceeds the $NX extra vectors" >&2; exit 2; }

run=$top/bench/pgbench/runs/$(date +%Y%m%d-%H%M%S)-$PRESET
mkdir -p "$run"
echo "== $PRESET: $W writer(s) : $R reader(s), ${DURATION}s, batch $BATCH, delete $DELPCT%," \
	"vacuum every ${VACINT}s, $SPEC ($AM $OPS $TYPE, $WITH), $GUC=$EF; run dir $run"

# --- tables and index ---
build_s=0
if [ "$REUSE" = 1 ] && [ "$(psqlq -c "SELECT to_regclass('pgb_t') IS NOT NULL")" = t ]; then
	echo "== reusing pgb_t"
else
	t0=$(date +%s.%N)
	psqlq <<SQL
CREATE EXTENSION IF NOT EXISTS $EXT;
DROP TABLE IF EXISTS pgb_t, pgb_q, pgb_x, pgb_log;
DROP SEQUENCE IF EXISTS pgb_seq;
CREATE TABLE pgb_t (id bigint PRIMARY KEY, v $TYPE NOT NULL);
ALTER TABLE pgb_t ALTER COLUMN v SET STORAGE PLAIN;
ALTER TABLE pgb_t SET (autovacuum_enabled = off);
INSERT INTO pgb_t SELECT id, v::$TYPE FROM pgb_base;
CREATE TABLE pgb_q (qid bigint PRIMARY KEY, v $TYPE NOT NULL);
INSERT INTO pgb_q SELECT qid, v::$TYPE FROM pgb_base_q;
CREATE TABLE pgb_x (xid bigint PRIMARY KEY, v $TYPE NOT NULL);
INSERT INTO pgb_x SELECT xid, v::$TYPE FROM pgb_base_x;
CREATE SEQUENCE pgb_seq START $((N + 1000000));
VACUUM ANALYZE pgb_t;
VACUUM ANALYZE pgb_q;
VACUUM ANALYZE pgb_x;
SQL
	t1=$(date +%s.%N)
	echo "== building $AM index on pgb_t ($N rows)"
	psqlq -c "CREATE INDEX pgb_t_idx ON pgb_t USING $AM (v $OPS) WITH ($WITH)"
	t2=$(date +%s.%N)
	build_s=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f", b - a }')
	printf '   copy %.1f s, index build %.1f s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$build_s"
fi
psqlq <<SQL
DROP TABLE IF EXISTS pgb_log;
CREATE TABLE pgb_log (lid bigserial PRIMARY KEY, qid bigint, t timestamptz DEFAULT clock_timestamp(),
                      ann bigint[], ann_d float8[], exact bigint[], exact_d float8[]);
SQL
rows_before=$(psqlq -c "SELECT count(*) FROM pgb_t")
idx_before=$(psqlq -c "SELECT pg_relation_size('pgb_t_idx')")

# --- scripts from the templates ---
subst() {
	sed -e "s/@T@/pgb_t/g; s/@Q@/pgb_q/g; s/@X@/pgb_x/g; s/@LOG@/pgb_log/g; s/@SEQ@/pgb_seq/g" \
		-e "s/@OP@/$OP/g; s/@K@/$K/g; s/@B@/$BATCH/g; s/@NQ1@/$((NQ - 1))/g" \
		-e "s/@NXB@/$((NX - BATCH))/g; s/@N1@/$((N - 1))/g" "$here/$1" >"$run/$1"
}
for f in reader.sql sample.sql insert.sql delete.sql; do subst $f; done

# weights: pgbench picks a script per transaction in proportion to its weight
rscripts=(-f "$run/reader.sql")
SAMPLING=$(awk -v r="$SAMPLERATE" 'BEGIN { print (r > 0) ? 1 : 0 }')
wscripts=()
[ "$DELPCT" -lt 100 ] && wscripts+=(-f "$run/insert.sql@$((100 - DELPCT))")
[ "$DELPCT" -gt 0 ] && wscripts+=(-f "$run/delete.sql@$DELPCT")

jobs_for() { local c=$1; [ "$c" -lt "$JOBS" ] && echo "$c" || echo "$JOBS"; }
pids=()
if [ "$R" -gt 0 ]; then
	PGOPTIONS="-c $GUC=$EF" "$PGBENCH" -n -M prepared -c "$R" -j "$(jobs_for "$R")" -T "$DURATION" \
		--max-tries "$MAXTRIES" -l --log-prefix "$run/readers" "${rscripts[@]}" \
		>"$run/readers.out" 2>"$run/readers.err" &
	pids+=($!)
fi
if [ "$W" -gt 0 ]; then
	PGOPTIONS="-c $GUC=$EF" "$PGBENCH" -n -M prepared -c "$W" -j "$(jobs_for "$W")" -T "$DURATION" \
		--max-tries "$MAXTRIES" -l --log-prefix "$run/writers" "${wscripts[@]}" \
		>"$run/writers.out" 2>"$run/writers.err" &
	pids+=($!)
fi
if [ "$SAMPLING" = 1 ]; then
	PGOPTIONS="-c $GUC=$EF" "$PGBENCH" -n -M prepared -c 1 -j 1 -T "$DURATION" -R "$SAMPLERATE" \
		--max-tries "$MAXTRIES" -l --log-prefix "$run/sampler" -f "$run/sample.sql" \
		>"$run/sampler.out" 2>"$run/sampler.err" &
	pids+=($!)
fi
vpid=
if [ "$VACINT" != 0 ]; then
	(
		end=$((SECONDS + DURATION))
		while [ $SECONDS -lt "$end" ]; do
			t0=$(date +%s.%N)
			"$PSQL" -X -q -c "VACUUM pgb_t" >/dev/null 2>>"$run/vacuum.err" || true
			t1=$(date +%s.%N)
			echo "$t0 $t1" >>"$run/vacuum.log"
			sleep "$VACINT"
		done
	) &
	vpid=$!
fi
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ -n "$vpid" ] && wait "$vpid"
if [ $rc != 0 ]; then
	echo "pgbench failed:" >&2
	cat "$run"/*.err >&2
	exit 1
fi

# --- report ---
# latency percentiles (ms) of one script of a role from the per-transaction logs
pct() {
	local prefix=$1 script=$2
	cat "$prefix".* 2>/dev/null | awk -v s="$script" '$4 == s && $3 ~ /^[0-9]+$/ { print $3 / 1000.0 }' |
		sort -n | awk '{ v[NR] = $1; s += $1 } END {
			if (NR == 0) { print "- - - - 0"; exit }
			i50 = int(NR * 0.50 + 0.999); i95 = int(NR * 0.95 + 0.999); i99 = int(NR * 0.99 + 0.999)
			printf "%.3f %.3f %.3f %.3f %d\n", s / NR, v[i50], v[i95], v[i99], NR }'
}
json_parts=()
printf '\n%-16s %4s %9s %9s %9s %9s %9s %8s %8s\n' role clients tps "avg ms" "p50 ms" "p95 ms" "p99 ms" failed retried
report() {
	local role=$1 clients=$2 out=$run/$1.out script=$3 name=$4
	[ -f "$out" ] || return 0
	local tps avg failed retried p50 p95 p99 n stps
	tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -1)
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
	retried=$(sed -n 's/^number of transactions retried: \([0-9]*\).*/\1/p' "$out")
	read -r avg p50 p95 p99 n < <(pct "$run/$role" "$script")
	# per-script tps when the role ran several scripts
	stps=$(awk -v s="$((script + 1))" '/^SQL script [0-9]+:/ { cur = $3 + 0 } cur == s && /transactions \(/ {
		match($0, /tps = [0-9.]+/); print substr($0, RSTART + 6, RLENGTH - 6); exit }' "$out")
	[ -n "$stps" ] || stps=$tps
	stps=$(printf '%.1f' "$stps")
	printf '%-16s %4s %9s %9s %9s %9s %9s %8s %8s\n' "$name" "$clients" "$stps" "${avg:--}" "$p50" "$p95" "$p99" \
		"${failed:-0}" "${retried:-0}"
	json_parts+=("\"$name\":{\"clients\":$clients,\"tps\":${stps:-null},\"role_tps\":${tps:-null},\"latency_avg_ms\":${avg/-/null},\"p50_ms\":${p50/-/null},\"p95_ms\":${p95/-/null},\"p99_ms\":${p99/-/null},\"logged\":$n,\"failed\":${failed:-0},\"retried\":${retried:-0}}")
}
[ "$R" -gt 0 ] && report readers "$R" 0 search
[ "$SAMPLING" = 1 ] && report sampler 1 0 search+exact
if [ "$W" -gt 0 ]; then
	if [ "$DELPCT" -lt 100 ]; then
		report writers "$W" 0 "insert x$BATCH"
		[ "$DELPCT" -gt 0 ] && report writers "$W" 1 "delete x$BATCH"
	else
		report writers "$W" 0 "delete x$BATCH"
	fi
fi
vac_n=0 vac_avg=null
if [ -f "$run/vacuum.log" ]; then
	read -r vac_n vac_avg vac_max < <(awk '{ d = $2 - $1; s += d; if (d > m) m = d } END { printf "%d %.3f %.3f\n", NR, s / NR, m }' "$run/vacuum.log")
	echo "VACUUM loop: $vac_n runs, avg ${vac_avg}s, max ${vac_max}s"
fi
read -r samples recall < <(psqlq -F ' ' -c "
	SELECT count(*), coalesce(round(avg(r)::numeric, 4)::text, 'null') FROM (
		SELECT (SELECT count(*) FROM unnest(ann_d) d
		        WHERE d <= exact_d[cardinality(exact_d)] + abs(exact_d[cardinality(exact_d)]) * 1e-6 + 1e-9)::float8
		       / greatest(cardinality(exact_d), 1) AS r
		FROM pgb_log WHERE exact_d IS NOT NULL) s")
rows_after=$(psqlq -c "SELECT count(*) FROM pgb_t")
idx_after=$(psqlq -c "SELECT pg_relation_size('pgb_t_idx')")
echo "recall@$K of $samples sampled searches against exact answers of the same snapshot (ties count): $recall"
echo "rows $rows_before -> $rows_after, index $((idx_before / 1048576)) MB -> $((idx_after / 1048576)) MB"

if [ "$RESULTS" != - ]; then
	commit=$(git -C "$top" rev-parse HEAD 2>/dev/null || echo unknown)
	pgver=$(psqlq -c "SHOW server_version")
	parts=$(IFS=,; echo "${json_parts[*]}")
	printf '{"tool":"pgbench-run","format":1,"time":"%s","git_commit":"%s","pg_version":"%s","machine":{"hostname":"%s","cpus":%d,"cpu":"%s"},"preset":"%s","writers":%d,"readers":%d,"duration":%d,"batch":%d,"delete_pct":%d,"vacuum_interval":%s,"spec":"%s","am":"%s","opclass":"%s","column_type":"%s","with":"%s","guc":"%s","ef":%s,"k":%d,"sample_rate":%s,"data":"%s","rows":%d,"build_seconds":%s,"results":{%s,"vacuum_runs":%d,"vacuum_avg_s":%s,"sampled_searches":%d,"recall":%s,"rows_before":%d,"rows_after":%d,"index_bytes_before":%d,"index_bytes_after":%d}}\n' \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$commit" "$pgver" "$(hostname)" "$(nproc)" \
		"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" "$PRESET" "$W" "$R" "$DURATION" "$BATCH" \
		"$DELPCT" "$VACINT" "$SPEC" "$AM" "$OPS" "$TYPE" "$WITH" "$GUC" "$EF" "$K" "$SAMPLERATE" "$DATA" "$N" "$build_s" \
		"$parts" "$vac_n" "$vac_avg" "$samples" "$recall" "$rows_before" "$rows_after" "$idx_before" "$idx_after" \
		>>"$RESULTS"
fi
