#!/usr/bin/env bash
# test/run_all.sh -- build vecidx and run every test.
#
#   bash test/run_all.sh
#
# Works on a fresh Debian 12 machine as root (installs what is missing), or as
# an ordinary user when PostgreSQL 15, its server headers, libipc-run-perl and
# the installed extension's directories are writable/available.
#
# Steps:
#   1. apt-get install missing packages (postgresql-15, postgresql-server-dev-15,
#      postgresql-contrib, libpq-dev, build-essential, libipc-run-perl)
#   2. copy the source tree to tmp_build/ and build it there with WERROR=1
#      (always a full build, so warnings are caught; the working tree's own
#      objects are left alone), then make install
#   3. start a throwaway cluster (tmp_cluster/, run as OS user postgres)
#   4. pg_regress        (REGRESS list of the Makefile; sql/*.sql, expected/*.out)
#   5. pg_isolation_regress (ISOLATION list; test/isolation/specs, expected)
#   6. TAP tests test/t/*.pl (PostgreSQL::Test::Cluster, run as user postgres)
#   7. benchmark smoke: bench/smoke.sh (or 'bench/vecbench smoke') against the
#      same throwaway cluster, when the benchmark tool's source is present
#   8. fuzz: test/fuzz/fuzz.sh --inputs 1500 (generated statements against every
#      opclass x storage x bits; fails on a crash, hang or internal error) against
#      the same cluster, its server log checked for crashes
#   9. 1M gate: test/gate/gate_1m.sh in its own cluster (shared_buffers 2GB):
#      1,000,000 x 512 synthetic vectors, a cosine f16 index with RaBitQ codes
#      (both search modes) and an l2 f32 index, ef_search 10..160; fails when a
#      recall@10 is under its floor (test/gate/floors), never on timing; prints
#      build time, size and QPS beside the previous run's (22-26 min on 2 cores)
#
# Counting: one unit per pg_regress test, per isolation test, per TAP test FILE
# (a file passes when prove reports all its assertions passed) and, when
# present, one for the benchmark smoke run, one for the fuzz run and one for the
# 1M gate.  If setup fails (packages, build,
# cluster) every test counts as failed.  The last line of output is always
# exactly "N passed, N failed"; the exit status is non-zero if anything failed.
#
# Clean-up: on exit, failure, Ctrl-C or SIGTERM the running step is ended (by
# its process group id), TAP clusters left behind are stopped, and the
# throwaway cluster is stopped and removed.  Failure output (regression.diffs,
# TAP logs) is printed and kept under tmp_regress/, tmp_isolation/, tmp_tap/,
# tmp_logs/ (all ignored by git).
#
# Environment knobs (all optional):
#   VECIDX_KEEP=1          keep tmp_regress/, tmp_isolation/, tmp_tap/ after success
#   VECIDX_SKIP_BUILD=1    do not build/install (use what is installed)
#   VECIDX_ONLY="a b"      only run the named tests (pg_regress / isolation names
#                          or TAP file names such as 001_replica.pl, or "bench",
#                          "fuzz", "gate")
#   VECIDX_SKIP_GATE=1     leave out the 1M gate (step 9) for a quick local run
#   VECIDX_GATE_HISTORY=F  the gate's history of figures (default
#                          /var/tmp/vecidx-gate/history.jsonl, outside the clone)

set -u -o pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP" || exit 2
# shellcheck source=lib/common.sh
. "$TOP/test/lib/common.sh"

passed=0
failed=0
failed_names=()
summary_done=0
CLUSTER_DIR=
TAP_DIR=
START_TIME=$SECONDS

note() { echo "== $*"; }
record_pass() { passed=$((passed + 1)); }
record_fail() { failed=$((failed + 1)); failed_names+=("$1"); }

selected() {
	# selected NAME -> true if NAME should run under VECIDX_ONLY
	[ -z "${VECIDX_ONLY:-}" ] && return 0
	local w
	for w in $VECIDX_ONLY; do [ "$w" = "$1" ] && return 0; done
	return 1
}

# Stop any TAP-test postmaster left behind (e.g. after prove was interrupted):
# only servers whose data directory lies in our own TAP directory.
stop_tap_leftovers() {
	[ -n "$TAP_DIR" ] && [ -d "$TAP_DIR" ] || return 0
	local pidfile datadir
	while IFS= read -r pidfile; do
		datadir=$(dirname "$pidfile")
		vecidx_run_as_pg "$PGBIN/pg_ctl" -D "$datadir" -m immediate -w stop >/dev/null 2>&1 || true
	done < <(find "$TAP_DIR" -name postmaster.pid 2>/dev/null)
}

# Long steps run in their own process group (setsid) in the background while
# the script waits, so that a signal to this script is handled at once: the
# trap then ends that process group (by its id) and stops the clusters.
CHILD_PID=
run_child() {
	setsid "$@" &
	CHILD_PID=$!
	wait "$CHILD_PID"
	local rc=$?
	CHILD_PID=
	return $rc
}

stop_child() {
	[ -n "$CHILD_PID" ] || return 0
	kill -TERM -- "-$CHILD_PID" 2>/dev/null || kill -TERM "$CHILD_PID" 2>/dev/null
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$CHILD_PID" 2>/dev/null || break
		sleep 0.5
	done
	kill -0 "$CHILD_PID" 2>/dev/null && kill -KILL -- "-$CHILD_PID" 2>/dev/null
	wait "$CHILD_PID" 2>/dev/null
	CHILD_PID=
}

# the script's own stdout/stderr: a trap may fire inside a redirected step
exec 3>&1 4>&2

finish() {
	local rc=$?
	[ "$summary_done" = 1 ] && return
	summary_done=1
	trap - INT TERM
	exec 1>&3 2>&4
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		# interrupted, or an unexpected error before anything was counted
		record_fail "run_all.sh (exit status $rc)"
	fi
	stop_child
	stop_tap_leftovers
	if [ -n "$CLUSTER_DIR" ]; then
		if [ "$failed" -gt 0 ] && [ -f "$CLUSTER_DIR/server.log" ]; then
			mkdir -p "$TOP/tmp_logs" && cp "$CLUSTER_DIR/server.log" "$TOP/tmp_logs/regress_server.log" 2>/dev/null &&
				echo "(server log of the pg_regress/isolation cluster kept in tmp_logs/regress_server.log)"
		fi
		vecidx_cluster_stop "$CLUSTER_DIR"
	fi
	if [ "$failed" -eq 0 ] && [ "${VECIDX_KEEP:-0}" != 1 ]; then
		rm -rf "$TOP/tmp_regress" "$TOP/tmp_isolation" "$TOP/tmp_logs" "$TAP_DIR" 2>/dev/null
	fi
	echo
	echo "== finished in $((SECONDS - START_TIME)) s"
	if [ ${#failed_names[@]} -gt 0 ]; then
		echo "== failed: ${failed_names[*]}"
	fi
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && exit 0
	exit 1
}
trap finish EXIT
trap 'echo "interrupted" >&4; exit 130' INT
trap 'echo "terminated" >&4; exit 143' TERM

rm -rf "$TOP/tmp_logs"
mkdir -p "$TOP/tmp_logs"

# ---------------------------------------------------------------- test lists
make_var() { sed -n "s/^$1[[:space:]]*=[[:space:]]*//p" "$TOP/Makefile" | head -1; }
REGRESS_TESTS=()
for t in $(make_var REGRESS); do selected "$t" && REGRESS_TESTS+=("$t"); done
ISOLATION_TESTS=()
for t in $(make_var ISOLATION); do selected "$t" && ISOLATION_TESTS+=("$t"); done
TAP_TESTS=()
for f in "$TOP"/test/t/*.pl; do
	[ -e "$f" ] || continue
	selected "$(basename "$f")" && TAP_TESTS+=("$(basename "$f")")
done

# Every test that cannot run because setup failed counts as failed.
fail_all() {
	echo "== setup failed: $*" >&2
	local t
	for t in "${REGRESS_TESTS[@]}" "${ISOLATION_TESTS[@]}" "${TAP_TESTS[@]}"; do
		record_fail "$t"
	done
	[ ${#REGRESS_TESTS[@]} -eq 0 ] && [ ${#ISOLATION_TESTS[@]} -eq 0 ] && [ ${#TAP_TESTS[@]} -eq 0 ] &&
		record_fail "setup"
	exit 1
}

# ---------------------------------------------------------------- 1. packages
note "checking packages"
vecidx_ensure_packages "${VECIDX_BASE_PACKAGES[@]}" libipc-run-perl || fail_all "package installation"
[ -x "$PGBIN/pg_config" ] || fail_all "$PGBIN/pg_config not found"
PGXS_TOP=$(cd "$(dirname "$("$PGBIN/pg_config" --pgxs)")/../.." && pwd)
PG_REGRESS=$PGXS_TOP/src/test/regress/pg_regress
PG_ISOLATION_REGRESS=$PGXS_TOP/src/test/isolation/pg_isolation_regress
PG_PERL=$PGXS_TOP/src/test/perl
for f in "$PG_REGRESS" "$PG_ISOLATION_REGRESS" "$PG_PERL/PostgreSQL/Test/Cluster.pm"; do
	[ -e "$f" ] || fail_all "$f not found (postgresql-server-dev-15)"
done
if [ ${#TAP_TESTS[@]} -gt 0 ]; then
	command -v prove >/dev/null || fail_all "prove (perl) not found"
	perl -MIPC::Run -e 1 2>/dev/null || fail_all "perl module IPC::Run not found (libipc-run-perl)"
fi

# ---------------------------------------------------------------- 2. build
BUILD_DIR=$TOP/tmp_build
if [ "${VECIDX_SKIP_BUILD:-0}" != 1 ]; then
	note "building with WERROR=1 in tmp_build/ and installing"
	rm -rf "$BUILD_DIR"
	mkdir -p "$BUILD_DIR"
	tar -C "$TOP" --exclude=./.git --exclude='./tmp_*' --exclude=./results --exclude=./bench/data \
		--exclude=./bench/pgbench/runs --exclude=./bench/vecbench \
		--exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . | tar -C "$BUILD_DIR" -xf - ||
		fail_all "could not copy the source tree"
	WERROR=1 vecidx_build_install "$BUILD_DIR" || fail_all "build (WERROR=1) or install failed"
fi

# Benchmark tool: built only when its source exists.  bench/smoke.sh (the
# benchmark's own CI smoke: builds vecbench, runs 'vecbench smoke' and a short
# pgbench mix against the server in PGHOST/PGPORT) counts as one test; without
# it, 'vecbench smoke' alone does, if the tool has that subcommand.
SRC_DIR=$BUILD_DIR
[ "${VECIDX_SKIP_BUILD:-0}" = 1 ] && SRC_DIR=$TOP
BENCH_CMD=()
BENCH_BUILD_FAILED=0
if selected bench && [ -f "$SRC_DIR/bench/vecbench.c" ]; then
	if make -C "$SRC_DIR" -s PG_CONFIG="$PGBIN/pg_config" bench >"$TOP/tmp_logs/bench_build.log" 2>&1; then
		if [ -f "$SRC_DIR/bench/smoke.sh" ]; then
			BENCH_CMD=(bash "$SRC_DIR/bench/smoke.sh")
		elif "$SRC_DIR/bench/vecbench" --help 2>&1 | grep -q '^ *smoke ' &&
			"$SRC_DIR/bench/vecbench" smoke --help >/dev/null 2>&1; then
			BENCH_CMD=("$SRC_DIR/bench/vecbench" smoke)
		fi
	else
		cat "$TOP/tmp_logs/bench_build.log"
		BENCH_BUILD_FAILED=1
	fi
fi

# ---------------------------------------------------------------- 3. cluster
# The cluster (and its socket) lives under the repository when the server's
# OS user can reach it and the socket path stays short; otherwise under /tmp.
FUZZ=0
selected fuzz && [ -f "$SRC_DIR/test/fuzz/fuzz.sh" ] && FUZZ=1
if [ ${#REGRESS_TESTS[@]} -gt 0 ] || [ ${#ISOLATION_TESTS[@]} -gt 0 ] || [ ${#BENCH_CMD[@]} -gt 0 ] ||
	[ "$FUZZ" = 1 ]; then
	CLUSTER_DIR=$TOP/tmp_cluster
	if [ ${#CLUSTER_DIR} -gt 80 ] || ! vecidx_run_as_pg test -x "$TOP"; then
		CLUSTER_DIR=$(mktemp -d /tmp/vecidx_cluster.XXXXXX)
	fi
	note "starting throwaway cluster in $CLUSTER_DIR"
	vecidx_cluster_start "$CLUSTER_DIR" "max_prepared_transactions = 10" ||
		{ CLUSTER_DIR=; fail_all "could not start the test cluster"; }
fi

# Parse pg_regress output ("test NAME ... ok|FAILED") and count each test.
count_regress_output() {
	local out=$1 kind=$2
	shift 2
	local t status
	for t in "$@"; do
		status=$(grep -E "^(test |     )?[[:space:]]*$t[[:space:]]+\.\.\. " "$out" | head -1)
		# only "ok" passes: "failed (ignored)" is a failure too
		if echo "$status" | grep -qE '\.\.\. ok'; then
			record_pass
		else
			record_fail "$kind/$t"
		fi
	done
}

# ---------------------------------------------------------------- 4. pg_regress
if [ ${#REGRESS_TESTS[@]} -gt 0 ]; then
	note "pg_regress: ${REGRESS_TESTS[*]}"
	rm -rf "$TOP/tmp_regress"
	mkdir -p "$TOP/tmp_regress"
	run_child "$PG_REGRESS" --inputdir="$TOP" --outputdir="$TOP/tmp_regress" --bindir="$PGBIN" \
		--host="$PGHOST" --port="$PGPORT" --user="$PGUSER" --dbname=contrib_regression \
		"${REGRESS_TESTS[@]}" >"$TOP/tmp_regress/pg_regress.out" 2>&1
	grep -E '^(test |     |=| All | [0-9]+ of )' "$TOP/tmp_regress/pg_regress.out"
	count_regress_output "$TOP/tmp_regress/pg_regress.out" regress "${REGRESS_TESTS[@]}"
	if [ -s "$TOP/tmp_regress/regression.diffs" ]; then
		note "pg_regress differences (tmp_regress/regression.diffs):"
		cat "$TOP/tmp_regress/regression.diffs"
	fi
fi

# ---------------------------------------------------------------- 5. isolation
if [ ${#ISOLATION_TESTS[@]} -gt 0 ]; then
	note "pg_isolation_regress: ${ISOLATION_TESTS[*]}"
	rm -rf "$TOP/tmp_isolation"
	mkdir -p "$TOP/tmp_isolation"
	run_child "$PG_ISOLATION_REGRESS" --inputdir="$TOP/test/isolation" --outputdir="$TOP/tmp_isolation" \
		--bindir="$PGBIN" --host="$PGHOST" --port="$PGPORT" --user="$PGUSER" \
		--dbname=isolation_regression "${ISOLATION_TESTS[@]}" >"$TOP/tmp_isolation/pg_isolation_regress.out" 2>&1
	grep -E '^(test |     |=| All | [0-9]+ of )' "$TOP/tmp_isolation/pg_isolation_regress.out"
	count_regress_output "$TOP/tmp_isolation/pg_isolation_regress.out" isolation "${ISOLATION_TESTS[@]}"
	if [ -s "$TOP/tmp_isolation/regression.diffs" ]; then
		note "isolation differences (tmp_isolation/regression.diffs):"
		cat "$TOP/tmp_isolation/regression.diffs"
	fi
fi

# ---------------------------------------------------------------- 6. TAP
if [ ${#TAP_TESTS[@]} -gt 0 ]; then
	# A directory the server's OS user owns; the test files are copied there so
	# that user can read them wherever the repository lives.
	TAP_DIR=$TOP/tmp_tap
	if [ ${#TAP_DIR} -gt 60 ] || ! vecidx_run_as_pg test -x "$TOP"; then
		TAP_DIR=$(mktemp -d /tmp/vecidx_tap.XXXXXX)
	fi
	rm -rf "$TAP_DIR"
	mkdir -p "$TAP_DIR/t"
	cp "$TOP"/test/t/*.pl "$TAP_DIR/t/"
	mkdir -p "$TAP_DIR/perl"
	cp "$TOP"/test/perl/*.pm "$TAP_DIR/perl/"
	[ "$(id -u)" = 0 ] && chown -R "$VECIDX_PGUSER_OS" "$TAP_DIR"
	for f in "${TAP_TESTS[@]}"; do
		name=${f%.pl}
		note "TAP $f"
		t0=$SECONDS
		mkdir -p "$TAP_DIR/$name"
		[ "$(id -u)" = 0 ] && chown "$VECIDX_PGUSER_OS" "$TAP_DIR/$name"
		if run_child bash -c 'cd "$1" && . "$2" && shift 2 && vecidx_run_as_pg "$@"' _ "$TAP_DIR" "$TOP/test/lib/common.sh" \
			env HOME="$TAP_DIR" PATH="$PGBIN:$PATH" \
			TESTDIR="$TAP_DIR/$name" PG_REGRESS="$PG_REGRESS" PG_TEST_TIMEOUT_DEFAULT=180 \
			prove -v -I "$PG_PERL" -I "$TAP_DIR/perl" "t/$f" </dev/null >"$TAP_DIR/$name.prove.log" 2>&1; then
			record_pass
			grep -E '^(ok|not ok) ' "$TAP_DIR/$name.prove.log" | sed 's/^/    /'
			echo "   $f ok ($((SECONDS - t0)) s)"
		else
			record_fail "tap/$f"
			echo "   $f FAILED ($((SECONDS - t0)) s); prove output:"
			sed 's/^/    /' "$TAP_DIR/$name.prove.log"
			log=$TAP_DIR/$name/tmp_check/log/regress_log_$name
			if [ -f "$log" ]; then
				echo "   --- last 80 lines of $log:"
				tail -n 80 "$log" | sed 's/^/    /'
			fi
			echo "   (all logs under $TAP_DIR/$name/tmp_check/log)"
		fi
	done
	stop_tap_leftovers
fi

# ---------------------------------------------------------------- 7. bench smoke
if [ "$BENCH_BUILD_FAILED" = 1 ]; then
	record_fail "bench (make bench failed)"
elif [ ${#BENCH_CMD[@]} -gt 0 ]; then
	note "bench smoke: ${BENCH_CMD[*]}"
	t0=$SECONDS
	if run_child "${BENCH_CMD[@]}" </dev/null >"$TOP/tmp_logs/bench_smoke.log" 2>&1; then
		record_pass
		tail -n 3 "$TOP/tmp_logs/bench_smoke.log" | sed 's/^/    /'
		echo "   bench smoke ok ($((SECONDS - t0)) s)"
	else
		record_fail "bench smoke"
		sed 's/^/    /' "$TOP/tmp_logs/bench_smoke.log"
		echo "   bench smoke FAILED ($((SECONDS - t0)) s)"
	fi
fi

# ---------------------------------------------------------------- 8. fuzz
if [ "$FUZZ" = 1 ] && [ -n "$CLUSTER_DIR" ]; then
	note "fuzz: test/fuzz/fuzz.sh --inputs 1500"
	t0=$SECONDS
	if run_child bash "$SRC_DIR/test/fuzz/fuzz.sh" --inputs 1500 --log "$CLUSTER_DIR/server.log" \
		</dev/null >"$TOP/tmp_logs/fuzz.log" 2>&1; then
		record_pass
		tail -n 1 "$TOP/tmp_logs/fuzz.log" | sed 's/^/    /'
		echo "   fuzz ok ($((SECONDS - t0)) s)"
	else
		record_fail "fuzz"
		tail -n 60 "$TOP/tmp_logs/fuzz.log" | sed 's/^/    /'
		echo "   fuzz FAILED ($((SECONDS - t0)) s)"
	fi
fi

# ---------------------------------------------------------------- 9. 1M gate
# Its own cluster (the one above stays up, idle); vecbench as built in step 2
# when the bench step ran, else the gate builds it.  The ground truth is cached
# in bench/data/ of the working tree.
if selected gate && [ -f "$TOP/test/gate/gate_1m.sh" ]; then
	if [ "${VECIDX_SKIP_GATE:-0}" = 1 ]; then
		note "1M gate: skipped (VECIDX_SKIP_GATE=1)"
	else
		note "1M gate: test/gate/gate_1m.sh"
		t0=$SECONDS
		GATE_ARGS=()
		[ -x "$SRC_DIR/bench/vecbench" ] && GATE_ARGS=(--vecbench "$SRC_DIR/bench/vecbench")
		if run_child bash "$TOP/test/gate/gate_1m.sh" "${GATE_ARGS[@]}" </dev/null >"$TOP/tmp_logs/gate.log" 2>&1; then
			record_pass
			sed 's/^/    /' "$TOP/tmp_logs/gate.log"
			echo "   1M gate ok ($((SECONDS - t0)) s)"
		else
			record_fail "gate_1m"
			sed 's/^/    /' "$TOP/tmp_logs/gate.log"
			echo "   1M gate FAILED ($((SECONDS - t0)) s)"
		fi
	fi
fi

exit 0
