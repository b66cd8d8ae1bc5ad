#!/usr/bin/env bash
# Embedded PostgreSQL 15 cluster for development and tests, kept under $PVD_VAR/pg.
#
# Usage: deploy/local/pg.sh COMMAND
#   start           initdb on first use, start the server if it is not running, create the
#                   database "pvd" if missing, then print the libpq keyword URL on stdout
#   stop            fast stop (pg_ctl -m fast); no error when not running
#   status          exit 0 when running, 3 when not
#   url [--tcp]     print the connection string: libpq keywords over the unix socket
#                   (default) or a postgresql:// URI over 127.0.0.1 (--tcp)
#   restart-server  stop then start the same cluster, keeping its data
#   kill            immediate stop (pg_ctl -m immediate), as after a crash
#   standby-of DIR [NAME]
#                   (issue #12 §2, tests) on first use, a streaming standby of the cluster whose
#                   PVD_VAR is DIR (pg_basebackup -R; that cluster must run with
#                   PVD_PG_REPLICATION=on), NAME as its application_name (default: standby),
#                   then start it as `start` does; prints its URL
#   promote         promote a standby (pg_ctl promote -w)
#
# Environment:
#   PVD_VAR          state directory (default: $PWD/var). Tests use a separate one, e.g. var/test.
#   PVD_PG_DURABLE   "on" (default): fsync, synchronous_commit and full_page_writes on, as
#                    PostgreSQL ships them; an acknowledged write survives a crash. "off": all
#                    three off, for throw-away test clusters only (tests/run.sh): faster, but a
#                    crash of PostgreSQL or of the machine loses acknowledged writes. Applied on
#                    every start (start, restart-server).
# Layout: $PVD_VAR/pg/{data,sock,port,server.log}. Port: first free one from 55432 up,
# stored in $PVD_VAR/pg/port and reused unless another process took it.
# As root, PostgreSQL refuses to run: initdb/pg_ctl run as the "postgres" system user
# (or a "pvdpg" system user created here when "postgres" does not exist).
# Progress messages go to stderr; stdout only carries URLs.
set -euo pipefail

readonly PGBIN=/usr/lib/postgresql/15/bin
readonly FIRST_PORT=55432
readonly LAST_PORT=55999
readonly DB_NAME=pvd
readonly DB_SUPERUSER=postgres

PVD_VAR=${PVD_VAR:-$PWD/var}
case "$PVD_VAR" in
/*) ;;
*) PVD_VAR=$PWD/$PVD_VAR ;;
esac
PVD_VAR=${PVD_VAR%/}
readonly PVD_VAR
readonly PG_ROOT=$PVD_VAR/pg
readonly DATA=$PG_ROOT/data
readonly PORT_FILE=$PG_ROOT/port
readonly LOG_FILE=$PG_ROOT/server.log
readonly LOCK_FILE=$PG_ROOT/lock
readonly CONF_FILE=$DATA/pvd-local.conf
PVD_PG_DURABLE=${PVD_PG_DURABLE:-on}
readonly PVD_PG_DURABLE
PVD_PG_REPLICATION=${PVD_PG_REPLICATION:-off}
readonly PVD_PG_REPLICATION

die() {
	echo "pg.sh: $*" >&2
	exit 1
}
note() { echo "pg.sh: $*" >&2; }

usage() {
	# The header comment of this file, up to its first non-comment line.
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

# The unix socket path (dir + "/.s.PGSQL.NNNNN") must fit in sun_path (107 bytes).
# When $PG_ROOT/sock is too long, fall back to a per-cluster directory under /tmp.
sock_dir() {
	local dir=$PG_ROOT/sock
	if ((${#dir} + 18 > 103)); then
		local sum
		sum=$(printf '%s' "$PG_ROOT" | cksum | cut -d' ' -f1)
		dir=${TMPDIR:-/tmp}/pvd-pg-$sum
	fi
	printf '%s\n' "$dir"
}
SOCK=$(sock_dir)
readonly SOCK

# ---------------------------------------------------------------- who runs PostgreSQL

RUN_USER="" # empty: the current (non-root) user
if ((EUID == 0)); then
	if [[ -e "$DATA" ]] && [[ "$(stat -c %U "$DATA")" != root ]]; then
		RUN_USER=$(stat -c %U "$DATA") # keep the owner of an existing cluster
	elif getent passwd postgres >/dev/null; then
		RUN_USER=postgres
	else
		RUN_USER=pvdpg
	fi
fi
readonly RUN_USER

# Runs a command as the cluster owner, from / (the caller's cwd may not be readable by it).
as_owner() {
	if [[ -n "$RUN_USER" ]]; then
		(cd / && runuser -u "$RUN_USER" -- "$@")
	else
		"$@"
	fi
}

ensure_run_user() {
	[[ -n "$RUN_USER" ]] || return 0
	getent passwd "$RUN_USER" >/dev/null && return 0
	note "creating system user $RUN_USER"
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$RUN_USER"
}

# Makes sure $RUN_USER can reach $PG_ROOT: adds o+x to the parents that block it.
ensure_traversable() {
	[[ -n "$RUN_USER" ]] || return 0
	as_owner test -w "$PG_ROOT" -a -x "$PG_ROOT" && return 0
	local dir=$PG_ROOT
	local parents=()
	while [[ "$dir" != / && -n "$dir" ]]; do
		dir=$(dirname "$dir")
		parents+=("$dir")
	done
	# Top-down, so that only the directories that really block get o+x.
	local i p
	for ((i = ${#parents[@]} - 1; i >= 0; i--)); do
		p=${parents[i]}
		if ! as_owner test -x "$p"; then
			note "making $p traversable (o+x) for user $RUN_USER"
			chmod o+x "$p"
		fi
	done
	as_owner test -w "$PG_ROOT" -a -x "$PG_ROOT" ||
		die "user $RUN_USER cannot write $PG_ROOT"
}

ensure_dirs() {
	mkdir -p "$PG_ROOT"
	mkdir -p "$DATA"
	mkdir -p "$SOCK"
	chmod 755 "$SOCK"
	if [[ -n "$RUN_USER" ]]; then
		chown "$RUN_USER:" "$PG_ROOT" "$SOCK"
		chown "$RUN_USER:" "$DATA"
		chmod 755 "$PG_ROOT"
		if [[ -e "$LOG_FILE" ]]; then chown "$RUN_USER:" "$LOG_FILE"; fi
		ensure_traversable
	fi
	chmod 700 "$DATA"
}

# ---------------------------------------------------------------- helpers

check_binaries() {
	local b
	for b in initdb pg_ctl postgres psql; do
		[[ -x "$PGBIN/$b" ]] ||
			die "$PGBIN/$b not found: install postgresql-15 (deploy/local/deps.sh)"
	done
}

is_initialized() { [[ -f "$DATA/PG_VERSION" ]]; }

is_running() {
	is_initialized || return 1
	as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

stored_port() {
	local p=""
	if [[ -f "$PORT_FILE" ]]; then
		read -r p <"$PORT_FILE" || true
	fi
	if [[ "$p" =~ ^[0-9]+$ ]] && ((p > 0 && p < 65536)); then
		printf '%s\n' "$p"
	fi
}

# True when something listens on 127.0.0.1:PORT (or on all addresses).
port_busy() {
	local port=$1
	if command -v ss >/dev/null 2>&1; then
		[[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
	fi
}

choose_port() {
	local p=$1
	while ((p <= LAST_PORT)); do
		if ! port_busy "$p"; then
			printf '%s\n' "$p"
			return 0
		fi
		p=$((p + 1))
	done
	die "no free port in $FIRST_PORT-$LAST_PORT"
}

# Quotes a value for a libpq keyword/value connection string when needed.
conninfo_value() {
	local v=$1
	if [[ "$v" =~ ^[A-Za-z0-9_./:@-]+$ ]]; then
		printf '%s' "$v"
	else
		v=${v//\\/\\\\}
		v=${v//\'/\\\'}
		printf "'%s'" "$v"
	fi
}

print_url() {
	local mode=${1:-} port
	port=$(stored_port)
	[[ -n "$port" ]] || die "cluster in $PG_ROOT has no port yet: run '$0 start' first"
	if [[ "$mode" == --tcp ]]; then
		printf 'postgresql://%s@127.0.0.1:%s/%s\n' "$DB_SUPERUSER" "$port" "$DB_NAME"
	else
		printf 'host=%s port=%s user=%s dbname=%s\n' "$(conninfo_value "$SOCK")" "$port" \
			"$DB_SUPERUSER" "$DB_NAME"
	fi
}

# Quotes a value for postgresql.conf.
conf_quote() {
	local v=${1//\'/\'\'}
	printf "'%s'" "$v"
}

init_cluster() {
	local locale=C
	if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
		locale=C.UTF-8
	fi
	local sync=()
	if [[ "$PVD_PG_DURABLE" == off ]]; then sync=(--no-sync); fi
	note "initdb in $DATA (UTF8, locale $locale)"
	as_owner "$PGBIN/initdb" -D "$DATA" -U "$DB_SUPERUSER" -E UTF8 --locale="$locale" \
		-A trust "${sync[@]}" --no-instructions >>"$PG_ROOT/initdb.log" 2>&1 ||
		{
			tail -n 20 "$PG_ROOT/initdb.log" >&2
			die "initdb failed (log: $PG_ROOT/initdb.log)"
		}
	# Trust only the local socket and 127.0.0.1 (no ::1, no other host).
	cat >"$DATA/pg_hba.conf" <<'EOF'
# pvd-api local development cluster: written by deploy/local/pg.sh
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  trust
host    all          all   127.0.0.1/32   trust
local   replication  all                  trust
host    replication  all   127.0.0.1/32   trust
EOF
	cat >>"$DATA/postgresql.conf" <<'EOF'

# pvd-api local development cluster (deploy/local/pg.sh): port and socket directory
# are rewritten on every start.
include_if_exists = 'pvd-local.conf'
EOF
	if [[ -n "$RUN_USER" ]]; then
		chown "$RUN_USER:" "$DATA/pg_hba.conf" "$DATA/postgresql.conf"
	fi
}

write_server_conf() {
	local port=$1
	cat >"$CONF_FILE" <<EOF
# Written by deploy/local/pg.sh on every start: do not edit.
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = $(conf_quote "$SOCK")
max_connections = 200
shared_buffers = 128MB
# PVD_PG_DURABLE=$PVD_PG_DURABLE (off: throw-away test cluster, a crash loses acknowledged writes)
fsync = $PVD_PG_DURABLE
synchronous_commit = $PVD_PG_DURABLE
full_page_writes = $PVD_PG_DURABLE
EOF
	if [[ "$PVD_PG_REPLICATION" == on ]]; then
		printf '%s\n' "wal_level = replica" "max_wal_senders = 10" "hot_standby = on" >>"$CONF_FILE"
	else
		printf '%s\n' "wal_level = minimal" "max_wal_senders = 0" >>"$CONF_FILE"
	fi
	cat >>"$CONF_FILE" <<EOF
log_line_prefix = '%m [%p] %q%u@%d '
EOF
	if [[ -n "$RUN_USER" ]]; then chown "$RUN_USER:" "$CONF_FILE"; fi
}

ensure_database() {
	local port=$1
	local sql="SELECT 'CREATE DATABASE $DB_NAME' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME')"
	printf '%s\n\\gexec\n' "$sql" |
		"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$port" -U "$DB_SUPERUSER" \
			-d postgres >/dev/null ||
		die "could not create database $DB_NAME"
}

# ---------------------------------------------------------------- commands

cmd_start() {
	check_binaries
	ensure_run_user
	ensure_dirs
	if ! is_initialized; then
		init_cluster
	fi
	if is_running; then
		print_url
		return 0
	fi

	local port tries=0 log_size out
	port=$(stored_port)
	if [[ -z "$port" ]] || port_busy "$port"; then
		if [[ -n "$port" ]]; then note "port $port is taken by another process: choosing another"; fi
		port=$(choose_port "$FIRST_PORT")
	fi
	while :; do
		printf '%s\n' "$port" >"$PORT_FILE"
		write_server_conf "$port"
		log_size=0
		if [[ -f "$LOG_FILE" ]]; then log_size=$(stat -c %s "$LOG_FILE"); fi
		# 9>&-: the server must not inherit the lock held by this script. pg_ctl sends the
		# server's own output to $LOG_FILE, so capturing pg_ctl's output cannot block.
		if out=$(as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG_FILE" -w -t 60 start 2>&1 9>&-); then
			break
		fi
		tries=$((tries + 1))
		# Lost a race for the port with another process: take the next free one.
		if ((tries < 5)) && tail -c "+$((log_size + 1))" "$LOG_FILE" 2>/dev/null |
			grep -q 'Address already in use'; then
			note "port $port was taken while starting: retrying on another port"
			port=$(choose_port "$((port + 1))")
			continue
		fi
		printf '%s\n' "$out" >&2
		tail -n 20 "$LOG_FILE" >&2 || true
		die "PostgreSQL failed to start (log: $LOG_FILE)"
	done
	note "PostgreSQL started on 127.0.0.1:$port and $SOCK (data: $DATA)"
	ensure_database "$port"
	print_url
}

cmd_stop() {
	local mode=$1
	if ! is_running; then
		note "not running ($PG_ROOT)"
		return 0
	fi
	as_owner "$PGBIN/pg_ctl" -D "$DATA" -m "$mode" -w -t 60 stop >/dev/null
	note "stopped ($mode) $PG_ROOT"
}

cmd_status() {
	if is_running; then
		echo "running: $(print_url)"
		return 0
	fi
	if is_initialized; then echo "stopped ($PG_ROOT)"; else echo "not initialized ($PG_ROOT)"; fi
	return 3
}

# Issue #12 §2: a streaming standby of the cluster under PVD_VAR=$1, named $2.
cmd_standby_of() {
	local primary_var=$1 name=$2 primary_url
	check_binaries
	ensure_run_user
	if ! is_initialized; then
		primary_url=$(env PVD_VAR="$primary_var" "$0" url) || die "no primary under $primary_var"
		ensure_dirs
		note "pg_basebackup of $primary_var into $DATA (standby $name)"
		as_owner "$PGBIN/pg_basebackup" -D "$DATA" -R -X stream -c fast \
			-d "$primary_url application_name=$name" >>"$PG_ROOT/initdb.log" 2>&1 ||
			{
				tail -n 20 "$PG_ROOT/initdb.log" >&2
				die "pg_basebackup failed (log: $PG_ROOT/initdb.log)"
			}
		rm -f "$PORT_FILE"
	fi
	cmd_start
}

cmd_promote() {
	is_running || die "not running ($PG_ROOT)"
	as_owner "$PGBIN/pg_ctl" -D "$DATA" -w -t 60 promote >/dev/null
	note "promoted $PG_ROOT"
}

with_lock() {
	if [[ "$1" == cmd_stop && ! -d "$PG_ROOT" ]]; then
		note "not running ($PG_ROOT)"
		return 0
	fi
	mkdir -p "$PG_ROOT"
	exec 9>>"$LOCK_FILE"
	flock -w 120 9 || die "timed out waiting for the lock $LOCK_FILE"
	"$@"
}

main() {
	local cmd=${1:-}
	case "$PVD_PG_DURABLE" in
	on | off) ;;
	*) die "PVD_PG_DURABLE: on or off expected (got '$PVD_PG_DURABLE')" ;;
	esac
	case "$PVD_PG_REPLICATION" in
	on | off) ;;
	*) die "PVD_PG_REPLICATION: on or off expected (got '$PVD_PG_REPLICATION')" ;;
	esac
	case "$cmd" in
	start) with_lock cmd_start ;;
	stop) with_lock cmd_stop fast ;;
	kill) with_lock cmd_stop immediate ;;
	restart-server) with_lock cmd_stop fast && with_lock cmd_start ;;
	standby-of)
		[[ -n "${2:-}" ]] || die "usage: $0 standby-of PRIMARY_PVD_VAR [NAME]"
		with_lock cmd_standby_of "$2" "${3:-standby}"
		;;
	promote) with_lock cmd_promote ;;
	status) cmd_status ;;
	url)
		case "${2:-}" in
		"" | --tcp) print_url "${2:-}" ;;
		*) die "usage: $0 url [--tcp]" ;;
		esac
		;;
	-h | --help | help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
