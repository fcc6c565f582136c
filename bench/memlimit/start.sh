#!/usr/bin/env bash
# bench/memlimit/start.sh DATADIR LIMIT_MB|none [CGROUP]
#
# (Re)starts the cluster in DATADIR (as the user postgres) with its postmaster, and so
# every backend, in a cgroup-v1 memory cgroup (default vecidx_pg, under the caller's own
# memory cgroup) limited to LIMIT_MB: the page cache that its reads bring in is charged to
# the cgroup, so an index larger than shared_buffers plus that limit cannot stay cached
# (shared_buffers in huge pages is not charged; in 4 kB pages it is). The page cache is
# dropped first, so that no page of the index is cached outside the limit. The limit of a
# running cluster changes with: echo BYTES > /sys/fs/cgroup/memory/.../CGROUP/memory.limit_in_bytes
# Needs root and cgroup v1 (/sys/fs/cgroup/memory); the server log goes to DATADIR/../server.log.
set -euo pipefail
D=$1 lim=$2 name=${3:-vecidx_pg}
base=/sys/fs/cgroup/memory$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)
[ -d "$base" ] || { echo "memlimit: no cgroup-v1 memory controller at $base" >&2; exit 1; }
cg=$base/$name
pgbin=$(${PG_CONFIG:-pg_config} --bindir)
su postgres -c "$pgbin/pg_ctl -D $D -m fast -w stop" > /dev/null 2>&1 || true
sync; echo 3 > /proc/sys/vm/drop_caches
[ -d "$cg" ] || mkdir "$cg"
if [ "$lim" = none ]; then echo -1 > "$cg/memory.limit_in_bytes"; else echo $((lim * 1048576)) > "$cg/memory.limit_in_bytes"; fi
sh -c "echo \$\$ > $cg/tasks; exec su postgres -c '$pgbin/pg_ctl -D $D -l $D/../server.log -w start'" > /dev/null
echo "memlimit: $D started in $cg: limit $(cat "$cg/memory.limit_in_bytes") bytes, usage $(cat "$cg/memory.usage_in_bytes")"
