#!/usr/bin/env bash
# vecidx quickstart -- the "main job": run as root on a fresh Debian 12 machine.
#
#   bash bench/quickstart.sh
#
# Installs what is missing (PostgreSQL 15, build tools, dataset-fashion-mnist),
# builds and installs the extension and the benchmark tool, starts a throwaway
# PostgreSQL cluster in tmp_quickstart/ (removed on exit), loads fashion-mnist
# (60,000 base vectors, 784 dimensions, L2), builds a vechnsw index
# (m=16, ef_construction=64) with a progress bar, then runs the test queries
# for several ef_search values and prints recall@10 against the exact results
# and queries per second.
#
# Environment knobs: NQ (test queries, default 1000), EF_VALUES (default
# 10,20,40,80,160), CLIENTS (default 1), KEEP=1 (leave the cluster running).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
# shellcheck source=../test/lib/common.sh
. "$top/test/lib/common.sh"

NQ=${NQ:-1000}
EF_VALUES=${EF_VALUES:-10,20,40,80,160}
CLIENTS=${CLIENTS:-1}
dir=$top/tmp_quickstart
t_start=$(date +%s)

vecidx_ensure_packages "${VECIDX_BASE_PACKAGES[@]}" dataset-fashion-mnist gzip

echo "== building and installing vecidx"
vecidx_build_install "$top"
make -C "$top" -s PG_CONFIG="$PGBIN/pg_config" bench >/dev/null

echo "== starting a throwaway PostgreSQL 15 cluster in $dir"
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then
		echo "== cluster left running: PGHOST=$PGHOST PGPORT=$PGPORT (stop: $PGBIN/pg_ctl -D $dir/data stop)"
	else
		vecidx_cluster_stop "$dir"
	fi
}
trap cleanup EXIT
vecidx_cluster_start "$dir" \
	"shared_buffers = 2GB" \
	"maintenance_work_mem = 2GB" \
	"autovacuum = off" \
	"checkpoint_timeout = 30min" \
	"max_wal_size = 8GB"
echo "   PGHOST=$PGHOST PGPORT=$PGPORT"

VB=("$here/vecbench")
common=(--dataset fashion-mnist --nq "$NQ" --note quickstart)

echo "== loading fashion-mnist (60,000 x 784, binary COPY)"
"${VB[@]}" load "${common[@]}"

echo "== exact ground truth (top 100 of $NQ test queries, brute force, cached in bench/data/)"
"${VB[@]}" gt "${common[@]}"

echo "== building the vechnsw index (m=16, ef_construction=64)"
"${VB[@]}" build "${common[@]}" --spec vechnsw --with 'm=16, ef_construction=64'

echo "== $NQ test queries, LIMIT 10, for ef_search in $EF_VALUES ($CLIENTS client(s))"
"${VB[@]}" query "${common[@]}" --spec vechnsw --values "$EF_VALUES" --clients "$CLIENTS" --k 10 |
	tee "$dir/query.txt"

echo
echo "== summary: vechnsw on fashion-mnist (60,000 base, $NQ queries, L2, m=16, ef_construction=64)"
awk '$1 == "vechnsw" && $2 == "vechnsw.ef_search" {
		printf "   ef_search %-5s  recall@10 %s   %8.1f queries/s   p50 %s ms  p99 %s ms\n", $3, $10, $5, $6, $8
	}' "$dir/query.txt"
echo "   results (JSON, one object per run): $here/results.jsonl"
echo "== done in $(($(date +%s) - t_start)) s"
