#!/usr/bin/env bash
# bench/memlimit/pgq.sh TABLE SECONDS EFS CLIENTS
#
# Timed k-NN queries with pgbench against a vecbench table (TABLE and TABLE_q, its 1,000
# stored queries): each transaction takes a random stored query, LIMIT 10, by index scan.
# Per ef_search in EFS and client count in CLIENTS (comma-separated): queries run, QPS
# (pgbench's tps), p50 / p99 latency from pgbench's per-transaction log, MB read from the
# disk meanwhile (/proc/diskstats, device $DISK, default vda: every process's reads) and
# the page cache charged to the memory cgroup $CG (bench/memlimit/start.sh) at the end.
# Connects as PGHOST/PGPORT/PGUSER/PGDATABASE say; $EXTRA: more '-c name=value' settings.
# Recall is not measured here (the answers do not depend on memory): vecbench query or
# bench/recall_after.py.
set -euo pipefail
t=$1 secs=$2 efs=$3 cls=$4
disk=${DISK:-vda}
dir=$(mktemp -d /tmp/pgq.XXXXXX)
chmod 755 "$dir"
trap 'rm -rf "$dir"' EXIT
cat > "$dir/q.sql" <<SQL
\set qid random(0, 999)
SELECT id FROM $t ORDER BY v <=> (SELECT v FROM ${t}_q WHERE qid = :qid) LIMIT 10;
SQL
cg=/sys/fs/cgroup/memory$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)/${CG:-vecidx_pg}
rd() { awk -v d="$disk" '$3==d{print $6}' /proc/diskstats; }
for ef in ${efs//,/ }; do
	for c in ${cls//,/ }; do
		r0=$(rd)
		(cd "$dir" && PGOPTIONS="-c vechnsw.ef_search=$ef -c enable_seqscan=off ${EXTRA:-}" \
			pgbench -n -f q.sql -c "$c" -j "$c" -T "$secs" -l --log-prefix="l$ef.$c" > "out.$ef.$c" 2>&1)
		r1=$(rd)
		tps=$(awk '/^tps/{print $3; exit}' "$dir/out.$ef.$c")
		cat "$dir"/l"$ef.$c".* | awk '{print $3}' | sort -n > "$dir/lat"
		nn=$(wc -l < "$dir/lat")
		p50=$(awk -v n="$nn" 'NR==int(n*0.5)+1{printf "%.1f", $1/1000}' "$dir/lat")
		p99=$(awk -v n="$nn" 'NR==int(n*0.99)+1{printf "%.1f", $1/1000}' "$dir/lat")
		cache=$(awk '$1=="total_cache"||$1=="cache"{print int($2/1048576); exit}' "$cg/memory.stat" 2>/dev/null || true)
		printf "ef %4s clients %s: %6d queries in %ss, QPS %7.1f, p50 %6s ms, p99 %6s ms, disk read %7.1f MB (%d KB/query), cgroup cache %s MB\n" \
			"$ef" "$c" "$nn" "$secs" "$tps" "$p50" "$p99" "$(( (r1 - r0) / 2048 ))" "$(( (r1 - r0) / 2 / (nn > 0 ? nn : 1) ))" "${cache:--}"
	done
done
