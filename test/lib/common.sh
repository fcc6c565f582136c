#!/usr/bin/env bash
# Shared helpers for the two top-level commands (bench/quickstart.sh and
# test/run_all.sh).  Source it; it defines functions and sets nothing else.
#
#   vecidx_ensure_packages PKG...  apt-get install what is missing (root only)
#   vecidx_build_install           make && make install (warnings as errors if WERROR=1)
#   vecidx_cluster_start DIR       initdb + start a throwaway cluster in DIR as an
#                                  unprivileged user on a free port; exports PGHOST,
#                                  PGPORT, PGUSER, PGDATABASE for the caller
#   vecidx_cluster_stop DIR        stop it (immediate) and remove DIR
#   vecidx_run_as_pg CMD...        run a command as the unprivileged user

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
VECIDX_PGUSER_OS=${VECIDX_PGUSER_OS:-postgres}

vecidx_ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing Debian packages: ${missing[*]} (run as root to install them)" >&2
		return 1
	fi
	echo "== installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Packages every command needs.
VECIDX_BASE_PACKAGES=(build-essential postgresql-15 postgresql-server-dev-15 postgresql-contrib libpq-dev)

vecidx_build_install() {
	local top=$1
	local extra=()
	[ "${WERROR:-0}" = 1 ] && extra+=(WERROR=1)
	make -C "$top" -s -j2 PG_CONFIG=$PGBIN/pg_config "${extra[@]}" all >/dev/null || return 1
	make -C "$top" -s PG_CONFIG=$PGBIN/pg_config install >/dev/null || return 1
}

vecidx_free_port() {
	local p
	for p in $(seq 54320 54420); do
		if ! (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null && [ ! -e /tmp/.s.PGSQL.$p ]; then
			echo $p
			return 0
		fi
	done
	return 1
}

vecidx_run_as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$VECIDX_PGUSER_OS" -- "$@"
	else
		"$@"
	fi
}

# vecidx_cluster_start DIR [extra postgresql.conf lines...]
vecidx_cluster_start() {
	local dir=$1
	shift
	rm -rf "$dir"
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown "$VECIDX_PGUSER_OS" "$dir"
	local port
	port=$(vecidx_free_port) || { echo "no free port" >&2; return 1; }
	vecidx_run_as_pg $PGBIN/initdb -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; return 1; }
	{
		echo "port = $port"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir'"
		echo "fsync = off"
		echo "max_connections = 60"
		local line
		for line in "$@"; do echo "$line"; done
	} | vecidx_run_as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
	vecidx_run_as_pg $PGBIN/pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
		{ cat "$dir/server.log" >&2; return 1; }
	export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
}

vecidx_cluster_stop() {
	local dir=$1
	[ -d "$dir/data" ] && vecidx_run_as_pg $PGBIN/pg_ctl -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$dir"
}
