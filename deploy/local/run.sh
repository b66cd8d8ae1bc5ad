#!/usr/bin/env bash
# `make run`: serves pvd-api on HTTP_PORT (default 8080). When DATABASE_URL is
# unset, starts the embedded PostgreSQL under ./var/ (kept between runs, with
# PostgreSQL's durability defaults: fsync, synchronous_commit, full_page_writes)
# and stops it again when the service stops or this script is signalled. Migrates, loads the referential
# (unchanged data is not reloaded), then serves until SIGINT/SIGTERM — sent to
# this script or to the make that started it.
set -euo pipefail
cd "$(dirname "$0")/../.."

PG=deploy/local/pg.sh
BIN=build/pvd-api
REFERENTIEL_DIR=node_modules/@etalab/decoupage-administratif/data
REFERENTIEL_MILLESIME=2026
REFERENTIEL_SOURCE="@etalab/decoupage-administratif@6.0.0"

started_pg=0
server=
parent=$PPID

# Stops the service (SIGTERM: it drains for up to SHUTDOWN_GRACE_SECONDS, then exits),
# then the embedded PostgreSQL if this script started it. Runs once, from the signal
# traps or at exit; further INT/TERM/HUP are ignored meanwhile, so that a second Ctrl-C,
# make's forwarded SIGTERM or a closing terminal cannot cut it half-way and leave
# PostgreSQL running. Its messages may fail (terminal gone): they never stop it.
stop_all() {
	trap '' INT TERM HUP PIPE
	trap - EXIT
	if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
		kill -TERM "$server" 2>/dev/null || true
		local limit=$((${SHUTDOWN_GRACE_SECONDS:-20} + 10)) waited=0
		while kill -0 "$server" 2>/dev/null && [ "$waited" -lt $((limit * 10)) ]; do
			sleep 0.1
			waited=$((waited + 1))
		done
		if kill -0 "$server" 2>/dev/null; then
			echo "run: pvd-api still running after ${limit} s: SIGKILL" >&2 || true
			kill -KILL "$server" 2>/dev/null || true
		fi
		wait "$server" 2>/dev/null || true
	fi
	if [ "$started_pg" = 1 ]; then
		$PG stop 2>/dev/null || $PG kill 2>/dev/null || true
		echo "run: embedded PostgreSQL stopped" >&2 || true
	fi
}
trap 'stop_all; exit 0' INT TERM HUP
trap stop_all EXIT

if [ -z "${DATABASE_URL:-}" ]; then
	started_pg=1 # before the start: a signal during it still stops the cluster
	$PG start >/dev/null
	DATABASE_URL=$($PG url)
	export DATABASE_URL
	echo "run: embedded PostgreSQL under ./var ($DATABASE_URL)"
fi

# pvd-api's own token signing key (client credentials), kept under ./var.
if [ -z "${AUTH_SIGNING_KEY_FILE:-}" ]; then
	var=${PVD_VAR:-$PWD/var} # the state directory of pg.sh (tests use their own)
	mkdir -p "$var"
	AUTH_SIGNING_KEY_FILE=$var/signing-key.pem
	export AUTH_SIGNING_KEY_FILE
	$BIN gen-key "$AUTH_SIGNING_KEY_FILE"
fi
# The key sealing the webhook subscriptions' secrets (issue 11 §2), kept under ./var.
if [ -z "${WEBHOOK_KEY_FILE:-}" ]; then
	var=${PVD_VAR:-$PWD/var}
	mkdir -p "$var"
	WEBHOOK_KEY_FILE=$var/webhook-key
	export WEBHOOK_KEY_FILE
	$BIN gen-webhook-key "$WEBHOOK_KEY_FILE"
fi

$BIN migrate
$BIN import-referentiel "$REFERENTIEL_DIR" "$REFERENTIEL_MILLESIME" "$REFERENTIEL_SOURCE"

echo "run: pvd-api on http://localhost:${HTTP_PORT:-8080} (Ctrl-C to stop)"
$BIN serve &
server=$!
# Wait for the service; also stop when the make that started us is gone
# (make does not forward SIGTERM to its children).
while kill -0 "$server" 2>/dev/null; do
	if ! kill -0 "$parent" 2>/dev/null; then
		stop_all
		exit 0
	fi
	sleep 1 &
	wait $! || true
done
wait "$server"
