#!/usr/bin/env bash
# Runs every test of pvd-api (called by `make test` once the binaries are built):
#   1. unit tests (normal, then ASan+UBSan)
#   2. fuzz targets, a short budget each
#   3. clang-format check, OpenAPI lint, route table <-> spec cross-check, source codes
#      and answers <-> spec (check_codes.mjs), a generated TypeScript client compiled
#      with tsc --strict against tests/contract/ts/client.ts; the image and deployment
#      descriptions (tests/manifests/check.mjs: Dockerfile, compose, kustomize renderings,
#      schema check of every Kubernetes and CloudNativePG manifest)
#   4. a test PostgreSQL under var/test, then: db layer tests, the HTTP API
#      suite against the real server (normal build, then ASan+UBSan build),
#      responses validated against the spec's schemas, the same suite through PgBouncer
#      (transaction mode), lists and the event feed from a streaming standby, a failover
#      to a synchronous standby under write load (issue #12 §2), and the resilience
#      suite (pool exhausted, database killed and back, rate limit, slow
#      clients), the real lauréats import in its own database, webhooks end to end
#      (tests/webhooks: deliveries checked with the npm standardwebhooks), graceful drain,
#      `make run` (durable PostgreSQL, stopped on SIGTERM), CORS in Chromium, and the
#      sync client of issue #11 (tests/sync: event feed vs a full re-read).
# Stops what it started, also when a step fails. Exit status: 0 only when all pass.
set -euo pipefail
cd "$(dirname "$0")/.."

B=build
export PVD_VAR=$PWD/var/test
# A throw-away cluster: fsync and synchronous commit off, for speed (never for `make run`).
export PVD_PG_DURABLE=off
PG=deploy/local/pg.sh
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=66}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

# The test identity provider: a key pair made for this run, its JWKS given to
# every server, tokens minted by the tests through build/bin/test-idp.
IDP_DIR=$PWD/$B/tests/idp
export PVD_TEST_ISSUER=https://idp.pvd-api.test PVD_TEST_AUDIENCE=pvd-api
export PVD_TEST_IDP="$PWD/$B/bin/test-idp $IDP_DIR"
AUTH_ENV=(AUTH_ISSUER="$PVD_TEST_ISSUER" AUTH_AUDIENCE="$PVD_TEST_AUDIENCE"
	AUTH_JWKS_FILE="$IDP_DIR/jwks.json" AUTH_BOOTSTRAP_ADMIN_SUB=admin-initial
	AUTH_SIGNING_KEY_FILE="$IDP_DIR/signing.pem")

server_pids=()
failed=()
ha_clusters=()     # PVD_VAR of the clusters of the issue #12 §2 steps, killed by cleanup
pgbouncer_pidfile= # the PgBouncer of the pgbouncer step, while it runs
makerun_pid= # process group of the `make run` of makerun_suite, while it runs
MAKERUN_VAR=$PWD/var/test-makerun
cleanup() {
	local pid
	for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [ -n "$makerun_pid" ]; then
		kill -KILL -- "-$makerun_pid" 2>/dev/null || true
		PVD_VAR=$MAKERUN_VAR $PG kill >/dev/null 2>&1 || true
	fi
	if [ -n "$pgbouncer_pidfile" ] && [ -s "$pgbouncer_pidfile" ]; then
		kill "$(cat "$pgbouncer_pidfile")" 2>/dev/null || true
	fi
	for pid in "${ha_clusters[@]}"; do PVD_VAR=$pid $PG kill >/dev/null 2>&1 || true; done
	$PG stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
# TEST_STEPS="unit api …" runs only those steps (names as in `run NAME`), for
# development; unset (as in CI) runs them all. IT_ARGS: extra arguments of the
# HTTP suite's binary, word-split without quotes (e.g. IT_ARGS=--filter=conventions/*);
# RES_ARGS: the same for the resilience suite's binary.
want() { [ -z "${TEST_STEPS:-}" ] || [[ " $TEST_STEPS " == *" $1 "* ]]; }
run() { # run NAME COMMAND...: records a failure instead of stopping
	local name=$1
	shift
	want "$name" || return 0
	if ! "$@"; then
		failed+=("$name")
		echo "FAILED: $name"
	fi
}

# free_port [FROM]: a port nobody listens on. Without FROM, the search starts at a
# random place so that test runs sharing a machine rarely race for the same port
# (start_server also checks that the port is really its server's).
free_port() {
	local port
	for port in $(seq "${1:-$((18100 + RANDOM % 700))}" 18999); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	return 1
}

# start_server BIN PORT LOGFILE [VAR=VALUE...]: starts and waits for /healthz.
start_server() {
	local bin=$1 port=$2 log=$3
	shift 3
	env HTTP_PORT="$port" HTTP_BIND_ADDRESS=127.0.0.1 LOG_LEVEL=warn "$@" "$bin" serve >"$log" 2>&1 &
	server_pids+=($!)
	local i
	for i in $(seq 1 100); do
		if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
			# Another run's server may hold the port (ours then failed to bind).
			if ss -Htlnp "sport = :$port" 2>/dev/null | grep -q "pid=${server_pids[-1]},"; then
				return 0
			fi
			echo "port $port answered by another process than our server"; return 1
		fi
		if ! kill -0 "${server_pids[-1]}" 2>/dev/null; then
			echo "server exited at start:"; cat "$log"; return 1
		fi
		sleep 0.1
	done
	echo "server not up after 10 s"; cat "$log"; return 1
}

# stop_server: SIGTERM the last server, wait, and fail on a non-zero exit
# (under ASan, LeakSanitizer findings make the exit status non-zero).
stop_server() {
	local pid=${server_pids[-1]} rc=0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	unset 'server_pids[-1]'
	if [ "$rc" -ne 0 ]; then
		echo "server exited with status $rc"
		return 1
	fi
}

# fresh_db NAME: drops and creates a database, prints its URL.
fresh_db() {
	local base
	base=$($PG url)
	PGOPTIONS=--client-min-messages=warning psql "$base" -qAt -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
	echo "${base% dbname=*} dbname=$1"
}

api_suite() { # api_suite LABEL SERVER_BIN [REPLICAS [VAR=VALUE...]]
	# REPLICAS (default 1) servers on one database, the suite's requests alternating
	# between them (issue #12 §1: several replicas are correct). VAR=VALUE: extra (or
	# overriding) server environment (issue #12 §2: the pgbouncer step).
	local label=$1 bin=$2 replicas=${3:-1} url port capture log urls="" base i rc=0
	shift $(($# < 3 ? $# : 3))
	url=$(fresh_db "pvd_it_$label")
	DATABASE_URL=$url "$bin" import-referentiel node_modules/@etalab/decoupage-administratif/data 2026 \
		"@etalab/decoupage-administratif@6.0.0" 2>&1 | tail -1 | cut -c1-400
	capture=$B/tests/capture-$label.jsonl
	: >"$capture"
	for i in $(seq 1 "$replicas"); do
		port=$(free_port)
		log=$B/tests/server-$label-$i.log
		# DB_STATEMENT_TIMEOUT_MS: tests that hold a row lock in another session while the
		# server waits on it must not see the 5 s default cancel the wait on a loaded machine
		# (the default itself is tested by the resilience step).
		start_server "$bin" "$port" "$log" DATABASE_URL="$url" DB_POOL_SIZE=4 "${AUTH_ENV[@]}" \
			RATE_LIMIT_PER_MINUTE=0 DB_STATEMENT_TIMEOUT_MS=30000 WEBHOOK_KEY_FILE="$IDP_DIR/webhook-key" \
			WEBHOOK_ALLOW_HTTP_LOCALHOST=1 WEBHOOK_RETRY_SCHEDULE_SECONDS=1,1 WEBHOOK_TIMEOUT_SECONDS=2 \
			WEBHOOK_LEASE_SECONDS=3 "$@" || return 1
		urls+="${urls:+,}http://127.0.0.1:$port"
	done
	PVD_TEST_BASE_URL=$urls PVD_TEST_ALTERNATE=1 PVD_TEST_CAPTURE=$capture PVD_TEST_DATABASE_URL=$url \
		PVD_TEST_SERVER_BIN=$PWD/$B/pvd-api $B/bin/integration --jobs 2 ${IT_ARGS:-} || rc=1
	# What the read cache did for the suite (issue 12 §4), replica by replica.
	for base in ${urls//,/ }; do
		curl -s "$base/metrics" | awk -v u="$base" '/^pvd_(read_cache_(hits|misses|stores)|freshness_(readings|waits|failures))_total/ \
			{ sub(/^pvd_/, "", $1); sub(/_total$/, "", $1); line = line " " $1 "=" $2 } END { print "read cache " u ":" line }'
	done
	for i in $(seq 1 "$replicas"); do stop_server || rc=1; done
	[ "$rc" -eq 0 ] || return 1
	node tests/contract/validate_responses.mjs $B/openapi.json "$capture"
}

resilience_suite() { # resilience_suite SERVER_BIN
	local bin=$1 url port log
	# Slow clients: small limits and deadlines, so that the attack of the slowloris test
	# (100 connections) could fill the server without the cap per address.
	local max_conns=64 per_address=16 headers_timeout=3 body_timeout=3
	url=$(fresh_db pvd_it_resilience)
	DATABASE_URL=$url "$bin" import-referentiel node_modules/@etalab/decoupage-administratif/data 2026 >/dev/null 2>&1
	port=$(free_port)
	log=$B/tests/server-resilience.log
	start_server "$bin" "$port" "$log" DATABASE_URL="$url" DB_POOL_SIZE=1 DB_ACQUIRE_TIMEOUT_MS=300 \
		DB_STATEMENT_TIMEOUT_MS=5000 "${AUTH_ENV[@]}" RATE_LIMIT_PER_MINUTE=5 \
		HTTP_MAX_CONNECTIONS=$max_conns HTTP_MAX_CONNECTIONS_PER_ADDRESS=$per_address \
		HTTP_REQUEST_HEADERS_TIMEOUT_SECONDS=$headers_timeout \
		HTTP_REQUEST_BODY_TIMEOUT_SECONDS=$body_timeout
	# A second replica of the same database, for the rate limit's scope (per replica).
	local port2
	port2=$(free_port)
	start_server "$bin" "$port2" "$B/tests/server-resilience-2.log" DATABASE_URL="$url" \
		"${AUTH_ENV[@]}" RATE_LIMIT_PER_MINUTE=5
	PVD_TEST_BASE_URL=http://127.0.0.1:$port,http://127.0.0.1:$port2 PVD_TEST_DATABASE_URL=$url PVD_TEST_PG="$PWD/$PG" \
		PVD_TEST_MAX_CONNECTIONS=$max_conns PVD_TEST_PER_ADDRESS=$per_address \
		PVD_TEST_HEADERS_TIMEOUT=$headers_timeout PVD_TEST_BODY_TIMEOUT=$body_timeout \
		$B/bin/resilience --jobs 1 ${RES_ARGS:-} || { stop_server || true; stop_server || true; return 1; }
	stop_server
	stop_server
}

import_suite() { # import_suite SERVER_BIN: the real lauréats file, in its own database
	local bin=$1 url port log capture
	url=$(fresh_db pvd_it_import)
	DATABASE_URL=$url "$bin" import-referentiel node_modules/@etalab/decoupage-administratif/data 2026 >/dev/null 2>&1
	port=$(free_port)
	log=$B/tests/server-import.log
	capture=$B/tests/capture-import.jsonl
	: >"$capture"
	start_server "$bin" "$port" "$log" DATABASE_URL="$url" "${AUTH_ENV[@]}" RATE_LIMIT_PER_MINUTE=0
	PVD_TEST_BASE_URL=http://127.0.0.1:$port PVD_TEST_CAPTURE=$capture PVD_TEST_DATABASE_URL=$url \
		PVD_TEST_LAUREATS_CSV=$PWD/tests/data/laureats-pvd-2021.csv PVD_TEST_SERVER_PID="${server_pids[-1]}" \
		$B/bin/import-reel --jobs 1 || { stop_server || true; return 1; }
	stop_server
	node tests/contract/validate_responses.mjs $B/openapi.json "$capture"
}

# Issue #12 §1: a referential import reaches every replica. Two servers on one database,
# each checking for a new import every second (PVD_REFERENTIEL_RELOAD_SECONDS=1): a copy of
# the dataset with one commune renamed is imported as millésime 2027, and both replicas then
# answer the new name and millésime — each from a whole snapshot: /readyz stays 200 and no
# answer mixes the old name with the new millésime. SIGHUP reloads at once.
refreload_suite() { # refreload_suite SERVER_BIN
	local bin=$1 url dir p1 p2 rc=0 i
	url=$(fresh_db pvd_it_refreload)
	DATABASE_URL=$url "$bin" import-referentiel node_modules/@etalab/decoupage-administratif/data 2026 \
		>/dev/null 2>&1 || { echo "refreload: first import failed"; return 1; }
	p1=$(free_port)
	start_server "$bin" "$p1" "$B/tests/server-refreload-1.log" DATABASE_URL="$url" "${AUTH_ENV[@]}" \
		PVD_REFERENTIEL_RELOAD_SECONDS=1 || return 1
	p2=$(free_port)
	start_server "$bin" "$p2" "$B/tests/server-refreload-2.log" DATABASE_URL="$url" "${AUTH_ENV[@]}" \
		PVD_REFERENTIEL_RELOAD_SECONDS=3600 || { stop_server; return 1; }
	commune() { curl -fsS "http://127.0.0.1:$1/api/v1/communes/01001"; }
	renamed() { commune "$1" | grep -q '"nom":"Commune renommée par le test".*"millesime":2027'; }
	for i in $p1 $p2; do
		commune "$i" | grep -q '"millesime":2026' || { echo "refreload: $i does not serve 2026"; rc=1; }
	done
	dir=$B/tests/refreload-data
	rm -rf "$dir" && cp -r node_modules/@etalab/decoupage-administratif/data "$dir"
	node -e '
		const fs = require("fs"), f = process.argv[1], all = JSON.parse(fs.readFileSync(f));
		const c = all.find((x) => x.code === "01001" && x.type === "commune-actuelle");
		c.nom = "Commune renommée par le test";
		fs.writeFileSync(f, JSON.stringify(all));' "$dir/communes.json"
	DATABASE_URL=$url "$bin" import-referentiel "$dir" 2027 >/dev/null 2>&1 ||
		{ echo "refreload: second import failed"; rc=1; }
	# The first replica reloads on its tick; the second (an hour's period) on SIGHUP.
	wait_for 15 renamed "$p1" || { echo "refreload: replica 1 never served the new import"; rc=1; }
	if renamed "$p2"; then echo "refreload: replica 2 reloaded before its period or SIGHUP"; rc=1; fi
	commune "$p2" | grep -q '"millesime":2026' || { echo "refreload: replica 2 lost its snapshot"; rc=1; }
	kill -HUP "${server_pids[-1]}"
	wait_for 15 renamed "$p2" || { echo "refreload: replica 2 never served the new import after SIGHUP"; rc=1; }
	for i in $p1 $p2; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$i/readyz")" = 200 ] ||
			{ echo "refreload: $i not ready after its reload"; rc=1; }
	done
	stop_server || rc=1
	stop_server || rc=1
	rm -rf "$dir"
	[ "$rc" -ne 0 ] || echo "refreload: replica 1 served the new import on its tick, replica 2 on SIGHUP, both ready"
	return $rc
}

# Webhooks end to end (issue #11 §2): tests/webhooks/e2e.mjs starts its own servers (it
# kills one with kill -9 and runs two replicas on one database) and a receiver that checks
# every signature with the npm standardwebhooks package. Short schedule, lease and poll.
webhooks_suite() { # webhooks_suite SERVER_BIN
	local bin=$1 url port_a port_b
	url=$(fresh_db pvd_it_webhooks)
	DATABASE_URL=$url $B/pvd-api import-referentiel node_modules/@etalab/decoupage-administratif/data 2026 >/dev/null 2>&1
	port_a=$(free_port)
	port_b=$(free_port $((port_a + 1)))
	env "${AUTH_ENV[@]}" DATABASE_URL="$url" RATE_LIMIT_PER_MINUTE=0 \
		WEBHOOK_KEY_FILE="$IDP_DIR/webhook-key" WEBHOOK_ALLOW_HTTP_LOCALHOST=1 \
		WEBHOOK_RETRY_SCHEDULE_SECONDS=1,1 WEBHOOK_TIMEOUT_SECONDS=2 WEBHOOK_LEASE_SECONDS=5 \
		WEBHOOK_POLL_MILLISECONDS=100 SHUTDOWN_GRACE_SECONDS=5 \
		PVD_TEST_SERVER_BIN=$bin PVD_TEST_PORTS="$port_a $port_b" PVD_TEST_LOG_DIR=$B/tests \
		PVD_TEST_BEARER="$($B/bin/test-idp token "$IDP_DIR" "$PVD_TEST_ISSUER" "$PVD_TEST_AUDIENCE" admin-initial)" \
		timeout 120 node tests/webhooks/e2e.mjs
}

# A request in flight when SIGTERM arrives is finished; new connections are
# refused at once; the server exits 0.
drain_suite() {
	local url port log pid status_file rc=0
	url=$(fresh_db pvd_it_drain)
	DATABASE_URL=$url $B/pvd-api migrate >/dev/null 2>&1
	port=$(free_port)
	log=$B/tests/server-drain.log
	status_file=$B/tests/drain-status
	start_server $B/pvd-api "$port" "$log" DATABASE_URL="$url" SHUTDOWN_GRACE_SECONDS=10
	pid=${server_pids[-1]}
	# Hold a lock that /readyz's query waits for, so that the request stays in flight.
	psql "$url" -qAt -c "BEGIN; LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT;" >/dev/null &
	local locker=$!
	sleep 0.5
	curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" >"$status_file" &
	local client=$!
	sleep 0.5
	kill -TERM "$pid"
	sleep 0.3
	if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz"; then
		echo "drain: a new connection was accepted after SIGTERM"; rc=1
	fi
	wait "$client" || true
	wait "$locker" || true
	# /readyz ran before the drain began: it completes (503: not ready, since draining).
	if ! grep -qE '^(200|503)$' "$status_file"; then
		echo "drain: in-flight request lost (status '$(cat "$status_file")')"; rc=1
	fi
	local exit_status=0
	wait "$pid" || exit_status=$?
	unset 'server_pids[-1]'
	if [ "$exit_status" -ne 0 ]; then
		echo "drain: server exited with $exit_status"; cat "$log"; rc=1
	fi
	[ "$rc" -eq 0 ] && echo "drain: in-flight request answered $(cat "$status_file"), new connections refused, exit 0"
	return $rc
}

# The CORS policy seen from a real browser: headless Chromium (playwright-core) loads a page
# from an allowed origin and one from another origin, both calling the API with a bearer token;
# then the documentation page, every request outside 127.0.0.1 aborted (screenshot
# build/tests/docs.png).
browser_suite() { # browser_suite SERVER_BIN
	local bin=$1 url port origin_port log
	url=$(fresh_db pvd_it_browser)
	DATABASE_URL=$url $B/pvd-api import-referentiel node_modules/@etalab/decoupage-administratif/data 2026 \
		>/dev/null 2>&1
	origin_port=$(free_port)
	port=$(free_port $((origin_port + 1)))
	log=$B/tests/server-browser.log
	start_server "$bin" "$port" "$log" DATABASE_URL="$url" "${AUTH_ENV[@]}" \
		CORS_ALLOWED_ORIGINS="http://localhost:$origin_port,https://pvd.example.gouv.fr"
	PVD_TEST_BASE_URL=http://127.0.0.1:$port PVD_TEST_ORIGIN_PORT=$origin_port \
		PVD_TEST_BEARER="$($B/bin/test-idp token "$IDP_DIR" "$PVD_TEST_ISSUER" "$PVD_TEST_AUDIENCE" navigateur)" \
		PVD_TEST_ADMIN_BEARER="$($B/bin/test-idp token "$IDP_DIR" "$PVD_TEST_ISSUER" "$PVD_TEST_AUDIENCE" admin-initial)" \
		timeout 120 node tests/browser/cors.mjs ||
		{ stop_server || true; return 1; }
	# The documentation page rendered offline; its screenshot is kept as an artefact.
	PVD_TEST_BASE_URL=http://127.0.0.1:$port PVD_TEST_SCREENSHOT=$B/tests/docs.png \
		timeout 120 node tests/browser/docs.mjs ||
		{ stop_server || true; return 1; }
	stop_server
}

# Issue 11: the sync client of aides-territoires (tests/sync, TypeScript compiled with the
# pinned tsc against the types openapi-typescript generates from the served spec), on its
# own database and server: full read once, then the event feed only, while 4 writers make
# 1,000 random writes; its copy must equal a full re-read. Every response it received is
# then validated against the spec, as in the api step.
sync_suite() {
	local url port log capture mint
	url=$(fresh_db pvd_it_sync)
	DATABASE_URL=$url $B/pvd-api import-referentiel node_modules/@etalab/decoupage-administratif/data 2026 \
		>/dev/null 2>&1
	mkdir -p $B/tests/contract
	node_modules/.bin/openapi-typescript $B/openapi.json -o $B/tests/contract/api.d.ts --silent &&
		node_modules/.bin/tsc -p tests/sync/tsconfig.json || return 1
	port=$(free_port)
	log=$B/tests/server-sync.log
	capture=$B/tests/capture-sync.jsonl
	: >"$capture"
	start_server $B/pvd-api "$port" "$log" DATABASE_URL="$url" DB_POOL_SIZE=8 "${AUTH_ENV[@]}" \
		RATE_LIMIT_PER_MINUTE=0
	mint=("$B/bin/test-idp" token "$IDP_DIR" "$PVD_TEST_ISSUER" "$PVD_TEST_AUDIENCE")
	PVD_TEST_BASE_URL=http://127.0.0.1:$port PVD_SYNC_CAPTURE=$capture \
		PVD_SYNC_ADMIN_TOKEN="$("${mint[@]}" admin-initial)" \
		PVD_SYNC_AGENT_TOKENS="sync-agent=$("${mint[@]}" sync-agent),sync-elu=$("${mint[@]}" sync-elu)" \
		NODE_OPTIONS="--require $PWD/deploy/build/webcrypto.cjs" timeout 240 node $B/tests/sync/sync.mjs || { stop_server || true; return 1; }
	stop_server
	node tests/contract/validate_responses.mjs $B/openapi.json "$capture"
}

# ---- Issue 12 §2: PostgreSQL behind a pooler, with a read replica, and failover -----------

# The owner of the test clusters' files (pg.sh runs PostgreSQL as a non-root user).
cluster_owner() { stat -c %U "$PVD_VAR/pg/data"; }

# The HTTP suite with the service behind PgBouncer (Debian's, pool_mode=transaction) and
# DB_POOLER=transaction: 2 server connections for the service's 4, so that consecutive
# transactions of one service connection run on different server sessions. The migrations
# (run by import-referentiel in api_suite) and the tests' own fixtures go to PostgreSQL
# directly; every request of the service goes through PgBouncer (checked in SHOW STATS).
pgbouncer_suite() {
	local dir=$PVD_VAR/pgbouncer port pgport owner db=pvd_it_pgbouncer xacts rc=0
	command -v pgbouncer >/dev/null || { echo "pgbouncer not installed (deploy/local/deps.sh)"; return 1; }
	owner=$(cluster_owner)
	pgport=$(cat "$PVD_VAR/pg/port")
	port=$(free_port)
	rm -rf "$dir" && mkdir -p "$dir"
	printf '"postgres" ""\n' >"$dir/users.txt"
	cat >"$dir/pgbouncer.ini" <<EOF
; Written by tests/run.sh (pgbouncer step)
[databases]
* = host=127.0.0.1 port=$pgport
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = 2
max_client_conn = 50
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
	chown -R "$owner:" "$dir"
	pgbouncer_pidfile=$dir/pgbouncer.pid
	runuser -u "$owner" -- pgbouncer -d -q "$dir/pgbouncer.ini" || { cat "$dir/pgbouncer.log"; return 1; }
	# DATABASE_READ_URL: the same database through PgBouncer, so that the read pool's
	# connections are pooled too (no lag here: the replica step tests a real standby).
	api_suite pgbouncer $B/pvd-api 1 DB_POOLER=transaction \
		DATABASE_URL="host=127.0.0.1 port=$port user=postgres dbname=$db" \
		DATABASE_READ_URL="host=127.0.0.1 port=$port user=postgres dbname=$db" || rc=1
	xacts=$(psql "host=127.0.0.1 port=$port user=postgres dbname=pgbouncer" -qAtX -F' ' -c 'SHOW STATS' |
		awk -v db=$db '$1 == db { print $2 }')
	echo "pgbouncer: ${xacts:-0} transactions of the service went through PgBouncer (pool_mode=transaction)"
	if [ "${xacts:-0}" -lt 1000 ]; then echo "pgbouncer: too few transactions through PgBouncer"; rc=1; fi
	kill "$(cat "$pgbouncer_pidfile")" 2>/dev/null || true
	pgbouncer_pidfile=
	return $rc
}

# Admin bearer token of the test identity provider.
admin_token() { $B/bin/test-idp token "$IDP_DIR" "$PVD_TEST_ISSUER" "$PVD_TEST_AUDIENCE" admin-initial; }

# siren_of 8DIGITS: the SIREN with these 8 digits and their Luhn key.
siren_of() {
	local key sum i d s
	for key in 0 1 2 3 4 5 6 7 8 9; do
		s=$1$key sum=0
		for i in 0 1 2 3 4 5 6 7 8; do
			d=${s:8-i:1}
			if ((i % 2 == 1)); then
				d=$((d * 2))
				if ((d > 9)); then d=$((d - 9)); fi
			fi
			sum=$((sum + d))
		done
		if ((sum % 10 == 0)); then
			echo "$s"
			return
		fi
	done
}

# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds.
wait_for() {
	local n=$(($1 * 10)) i
	shift
	for i in $(seq 1 $n); do
		if "$@"; then return 0; fi
		sleep 0.1
	done
	return 1
}

# Lists and the event feed read from DATABASE_READ_URL: a streaming standby (pg_basebackup
# -R) of a primary started for this step. Proof: with the standby's replay paused, an
# organisation written through the service is read back by id (primary) but absent from the
# list and the feed (standby); once replay resumes, both show it. The standby has sessions
# of application_name pvd-api-lecture, the primary none. With the standby stopped, a list
# answers 503 + Retry-After and a read by id still 200.
replica_suite() {
	local h=$PVD_VAR/ha-replica purl surl port log token base id_a id_b siren_a siren_b out d rc=0
	for d in primary standby; do PVD_VAR=$h/$d $PG kill >/dev/null 2>&1 || true; done
	rm -rf "$h"
	ha_clusters+=("$h/standby" "$h/primary")
	purl=$(PVD_VAR=$h/primary PVD_PG_REPLICATION=on $PG start 2>/dev/null) || return 1
	DATABASE_URL=$purl $B/pvd-api import-referentiel node_modules/@etalab/decoupage-administratif/data 2026 \
		>/dev/null 2>&1 || { echo "replica: import failed"; return 1; }
	surl=$(PVD_VAR=$h/standby PVD_PG_REPLICATION=on $PG standby-of "$h/primary" replica1 2>/dev/null) || return 1
	port=$(free_port)
	log=$B/tests/server-replica.log
	start_server $B/pvd-api "$port" "$log" DATABASE_URL="$purl" DATABASE_READ_URL="$surl" \
		"${AUTH_ENV[@]}" RATE_LIMIT_PER_MINUTE=0 || return 1
	token=$(admin_token)
	base=http://127.0.0.1:$port/api/v1
	post_org() { # post_org SIREN: prints the new organisation's id
		curl -fsS -X POST "$base/organisations" -H "Authorization: Bearer $token" \
			-H 'Content-Type: application/json' \
			-d "{\"siren\":\"$1\",\"nature\":\"association\",\"nom\":\"Réplique $1\"}" |
			node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))'
	}
	get() { curl -fsS -H "Authorization: Bearer $token" "$base/$1"; }
	on_standby() { [ "$(psql "$surl" -qAtX -c "$1")" = "$2" ]; }
	feed_has() { get "evenements?types=organisation&limite=200" | grep -q "$1"; }
	siren_a=$(siren_of 81000001)
	siren_b=$(siren_of 81000002)
	id_a=$(post_org "$siren_a") || { stop_server; return 1; }
	wait_for 10 on_standby "select count(*) from organisations where id = '$id_a'" 1 ||
		{ echo "replica: the standby does not replay"; rc=1; }
	get "organisations?siren=$siren_a" | grep -q "$id_a" || { echo "replica: list misses a replayed write"; rc=1; }
	wait_for 10 feed_has "$id_a" || { echo "replica: the feed misses a replayed write"; rc=1; }
	psql "$surl" -qAtX -c "select pg_wal_replay_pause()" >/dev/null
	id_b=$(post_org "$siren_b") || { echo "replica: write refused while the standby is paused"; rc=1; }
	get "organisations/$id_b" | grep -q "$id_b" || { echo "replica: the read by id is not on the primary"; rc=1; }
	out=$(get "organisations?siren=$siren_b")
	if grep -q "$id_b" <<<"$out"; then echo "replica: the list did not come from the standby"; rc=1; fi
	if feed_has "$id_b"; then echo "replica: the feed did not come from the standby"; rc=1; fi
	on_standby "select count(*) > 0 from pg_stat_activity where application_name = 'pvd-api-lecture'" t ||
		{ echo "replica: no pvd-api-lecture session on the standby"; rc=1; }
	[ "$(psql "$purl" -qAtX -c "select count(*) from pg_stat_activity where application_name = 'pvd-api-lecture'")" = 0 ] ||
		{ echo "replica: pvd-api-lecture sessions on the primary"; rc=1; }
	psql "$surl" -qAtX -c "select pg_wal_replay_resume()" >/dev/null
	wait_for 10 on_standby "select count(*) from organisations where id = '$id_b'" 1 ||
		{ echo "replica: no replay after resume"; rc=1; }
	get "organisations?siren=$siren_b" | grep -q "$id_b" || { echo "replica: the list misses the write after resume"; rc=1; }
	# The feed's horizon is the standby's own snapshot (pg_current_snapshot works in recovery).
	wait_for 10 feed_has "$id_b" || { echo "replica: the feed misses the write after resume"; rc=1; }
	# The standby down: its lists answer 503 + Retry-After, the primary's reads still 200.
	PVD_VAR=$h/standby $PG stop >/dev/null 2>&1
	out=$(curl -s -o /dev/null -D - -w '%{http_code}' -H "Authorization: Bearer $token" "$base/organisations?siren=$siren_b")
	if [[ "$out" != *503 ]] || ! grep -qi '^retry-after:' <<<"$out"; then
		echo "replica: a list with the standby down answered $(tail -c 3 <<<"$out") (503 + Retry-After expected)"
		rc=1
	fi
	get "organisations/$id_b" | grep -q "$id_b" || { echo "replica: the primary's read failed with the standby down"; rc=1; }
	stop_server || rc=1
	for d in standby primary; do PVD_VAR=$h/$d $PG stop >/dev/null 2>&1 || true; done
	if [ "$rc" -eq 0 ]; then
		echo "replica: lists and the event feed read from the standby (replay paused: absent; resumed: present); writes and reads by id on the primary"
	fi
	return $rc
}

# Failover under write load: a primary with a synchronous standby (synchronous_commit=on,
# durable clusters), the service's DATABASE_URL naming both hosts with
# target_session_attrs=read-write. tests/ha/load.mjs writes organisations for 14 s with 4
# clients; after 4 s the primary is stopped (-m immediate) and the standby promoted. Every
# acknowledged (201) write must be on the new primary, every other answer a 503 with
# Retry-After, and the service must write again without a restart.
failover_suite() {
	local h=$PVD_VAR/ha-failover purl surl pport sport port log token load loadpid count total d rc=0
	local t0 t1
	for d in primary standby; do PVD_VAR=$h/$d $PG kill >/dev/null 2>&1 || true; done
	rm -rf "$h"
	ha_clusters+=("$h/standby" "$h/primary")
	purl=$(PVD_VAR=$h/primary PVD_PG_REPLICATION=on PVD_PG_DURABLE=on $PG start 2>/dev/null) || return 1
	DATABASE_URL=$purl $B/pvd-api import-referentiel node_modules/@etalab/decoupage-administratif/data 2026 \
		>/dev/null 2>&1 || { echo "failover: import failed"; return 1; }
	surl=$(PVD_VAR=$h/standby PVD_PG_REPLICATION=on PVD_PG_DURABLE=on $PG standby-of "$h/primary" sync1 2>/dev/null) ||
		return 1
	psql "$purl" -qAtX -c "ALTER SYSTEM SET synchronous_standby_names = 'sync1'" \
		-c "ALTER SYSTEM SET synchronous_commit = on" -c "select pg_reload_conf()" >/dev/null
	sync_state() { [ "$(psql "$purl" -qAtX -c "select sync_state from pg_stat_replication where application_name = 'sync1'")" = sync ]; }
	wait_for 10 sync_state || { echo "failover: the standby is not synchronous"; return 1; }
	pport=$(cat "$h/primary/pg/port")
	sport=$(cat "$h/standby/pg/port")
	port=$(free_port)
	log=$B/tests/server-failover.log
	start_server $B/pvd-api "$port" "$log" \
		DATABASE_URL="host=127.0.0.1,127.0.0.1 port=$pport,$sport user=postgres dbname=pvd target_session_attrs=read-write" \
		DB_POOL_SIZE=4 "${AUTH_ENV[@]}" RATE_LIMIT_PER_MINUTE=0 || return 1
	token=$(admin_token)
	load=$PWD/$B/tests/failover-load.json
	rm -f "$load"
	timeout 60 node tests/ha/load.mjs "http://127.0.0.1:$port" "$token" 14 4 "$load" &
	loadpid=$!
	sleep 4
	t0=$(date +%s%N)
	PVD_VAR=$h/primary $PG kill >/dev/null 2>&1
	PVD_VAR=$h/standby $PG promote >/dev/null 2>&1 || { echo "failover: promote failed"; rc=1; }
	t1=$(date +%s%N)
	echo "failover: primary stopped (-m immediate) and the standby promoted in $(((t1 - t0) / 1000000)) ms"
	wait "$loadpid" || rc=1
	# Every acknowledged id is a row of the new primary, read there directly.
	if [ -s "$load" ]; then
		node -e 'for (const i of require(process.argv[1]).acked) console.log(i)' "$load" >"$load.ids"
		total=$(wc -l <"$load.ids")
		count=$(psql "$surl" -qAtX -v ON_ERROR_STOP=1 -c "create temp table acked (id uuid)" \
			-c "\\copy acked from '$load.ids'" \
			-c "select count(distinct id) from acked join organisations using (id)") || count=error
		echo "failover: $count of $total acknowledged writes present on the new primary"
		if [ "$total" -eq 0 ] || [ "$count" != "$total" ]; then rc=1; fi
	else
		echo "failover: the load client wrote no result"
		rc=1
	fi
	curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { echo "failover: /readyz not 200 after the switch"; rc=1; }
	stop_server || rc=1
	PVD_VAR=$h/standby $PG stop >/dev/null 2>&1 || true
	return $rc
}

# `make run` as a user starts it (its own state directory, no DATABASE_URL): its embedded
# PostgreSQL is durable, and stops with it. The stop is the hard case: SIGTERM to make
# while a request is in flight (make forwards it to run.sh, which waits for the drain),
# then a second SIGTERM to run.sh; PostgreSQL must still be stopped. Bounded: ~2 min at
# the first run (initdb, referential), ~15 s after.
makerun_suite() {
	local port log url setting value run_pid locker i rc=0
	port=$(free_port)
	log=$B/tests/makerun.log
	env -u PVD_PG_DURABLE -u DATABASE_URL -u MAKEFLAGS -u MAKELEVEL PVD_VAR="$MAKERUN_VAR" HTTP_PORT="$port" \
		HTTP_BIND_ADDRESS=127.0.0.1 SHUTDOWN_GRACE_SECONDS=10 \
		setsid make --no-print-directory run >"$log" 2>&1 &
	makerun_pid=$!
	for i in $(seq 1 600); do
		if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
		if ! kill -0 "$makerun_pid" 2>/dev/null || [ "$i" -eq 600 ]; then
			echo "makerun: the service did not come up"; tail -20 "$log"; return 1
		fi
		sleep 0.2
	done
	url=$(PVD_VAR=$MAKERUN_VAR $PG url)
	for setting in fsync synchronous_commit full_page_writes; do
		value=$(psql "$url" -qAtX -c "SHOW $setting")
		if [ "$value" != on ]; then
			echo "makerun: $setting is '$value', 'on' expected"; rc=1
		fi
	done
	# A request in flight: /readyz waits for a lock held 3 s.
	psql "$url" -qAtX -c "BEGIN; LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" >/dev/null 2>&1 &
	locker=$!
	sleep 0.5
	curl -s -o /dev/null --max-time 20 "http://127.0.0.1:$port/readyz" &
	local client=$!
	sleep 0.5
	run_pid=$(pgrep -P "$makerun_pid" -f deploy/local/run.sh || true)
	kill -TERM "$makerun_pid"
	sleep 1
	if [ -n "$run_pid" ]; then kill -TERM "$run_pid" 2>/dev/null || true; fi
	for i in $(seq 1 300); do
		kill -0 "$makerun_pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$makerun_pid" 2>/dev/null || true
	wait "$client" "$locker" 2>/dev/null || true
	sleep 0.5
	if PVD_VAR=$MAKERUN_VAR $PG status >/dev/null 2>&1; then
		echo "makerun: PostgreSQL of make run still running after SIGTERM"; tail -5 "$log"; rc=1
		PVD_VAR=$MAKERUN_VAR $PG stop >/dev/null 2>&1 || true
	fi
	makerun_pid=
	[ "$rc" -eq 0 ] && echo "makerun: fsync, synchronous_commit and full_page_writes on; PostgreSQL stopped after SIGTERM (make, then run.sh, during a request)"
	return $rc
}

mkdir -p $B/tests
rm -rf "$IDP_DIR" && mkdir -p "$IDP_DIR" && $B/bin/test-idp init "$IDP_DIR"
$B/pvd-api gen-key "$IDP_DIR/signing.pem" 2>/dev/null
$B/pvd-api gen-webhook-key "$IDP_DIR/webhook-key" 2>/dev/null

step "unit tests"
run unit $B/bin/unit --jobs 2
step "unit tests (ASan+UBSan)"
run unit-asan $B/bin/unit-asan --jobs 2

step "rate limiter, verified-token cache and read cache under ThreadSanitizer"
run tsan-rate-limit env TSAN_OPTIONS=halt_on_error=1:exitcode=66 $B/bin/tsan-rate-limit
run tsan-rate-limit env TSAN_OPTIONS=halt_on_error=1:exitcode=66 $B/bin/tsan-token-cache
run tsan-rate-limit env TSAN_OPTIONS=halt_on_error=1:exitcode=66 $B/bin/tsan-read-cache

step "fuzzing (${FUZZ_SECONDS}s per target)"
run fuzz tests/fuzz/run.sh "$FUZZ_SECONDS" $B/fuzz/*

step "formatting: clang-format (the committed .clang-format)"
run format make -s --no-print-directory fmt-check

step "money: no floating point in the financing domain (integer cents only)"
# Any floating type or conversion in domain/financement.[ch] fails the step (the
# module's comments avoid these words).
# Every money path (issue #9 §2): the financing domain, the fiches and their
# CSV, their repositories and the maquette — no binary floating point in C
# (nor jansson reals), none in the SQL of the fiches' migrations.
no_float() {
	local c sql
	c=$(ls domain/fiche.[ch] domain/financement.[ch] domain/chef_projet.[ch] domain/demande.[ch] domain/parametres.[ch] api/csv_export.[ch] api/handlers/fiches*.[ch] \
		api/handlers/maquette*.[ch] api/handlers/plan_action*.[ch] db/fiche*.[ch] db/maquette*.[ch] \
		db/plan_action*.[ch] db/parametres*.[ch] api/parametres_json.[ch] api/handlers/parametres*.[ch] \
		db/poste*.[ch] api/handlers/postes*.[ch] \
		db/demande*.[ch] api/handlers/demandes*.[ch] 2>/dev/null)
	sql=$(ls db/migrations/001[2-9]_*.sql 2>/dev/null)
	! grep -nwE 'float|double|_Float[0-9]+x?|__float128|strtod|strtof|strtold|atof|math\.h|json_real|json_real_value|json_number_value|JSON_REAL' $c &&
		! grep -niwE 'float[48]?|double precision|real' $sql
}
run no-float no_float

step "OpenAPI: lint, and route table <-> spec"
run openapi-lint node_modules/.bin/redocly lint --config openapi/redocly.yaml openapi/openapi.yaml
$B/pvd-api routes >$B/tests/routes.txt
run routes node tests/contract/check_routes.mjs $B/openapi.json $B/tests/routes.txt

step "contract: every source code in the spec's enums, every answer declared; a strict TS client compiles"
run contract-codes node tests/contract/check_codes.mjs $B/openapi.json
# The client is generated from the spec the server embeds and serves (build/openapi.json) by
# the pinned openapi-typescript, then tests/contract/ts/client.ts compiles with tsc --strict.
contract_ts() {
	mkdir -p $B/tests/contract
	node_modules/.bin/openapi-typescript $B/openapi.json -o $B/tests/contract/api.d.ts --silent &&
		node_modules/.bin/tsc -p tests/contract/ts/tsconfig.json
}
run contract-ts contract_ts

step "image and manifests: Dockerfile, compose, kustomize (deploy/k8s), schemas of every manifest (Kubernetes 1.30, CloudNativePG 1.30.0)"
run manifests node tests/manifests/check.mjs

step "test PostgreSQL (var/test)"
$PG start >/dev/null

step "database layer tests"
run db env PVD_TEST_DATABASE_URL="$($PG url)" $B/bin/db --jobs 2
step "database layer tests (ASan+UBSan)"
run db-asan env PVD_TEST_DATABASE_URL="$($PG url)" $B/bin/db-asan --jobs 2

step "HTTP API suite, two servers on one PostgreSQL, requests alternating between them"
run api api_suite normal $B/pvd-api 2
step "referential import reaching two replicas: on their reload tick, on SIGHUP"
run refreload refreload_suite $B/pvd-api
step "HTTP API suite, server under ASan+UBSan"
run api-asan api_suite asan $B/bin/pvd-api-asan

step "HTTP API suite behind PgBouncer (pool_mode=transaction, DB_POOLER=transaction)"
run pgbouncer pgbouncer_suite
step "read replica: lists and the event feed from a streaming standby (DATABASE_READ_URL)"
run replica replica_suite
step "failover: primary stopped under write load, synchronous standby promoted"
run failover failover_suite

step "bulk import of the real lauréats file (own database)"
run import import_suite $B/pvd-api

step "sync client (Node, generated TS client): full read, then the event feed only, vs a re-read after 1,000 concurrent writes"
run sync sync_suite

step "resilience: pool exhausted, PostgreSQL killed and restarted, rate limit, slow clients (ASan+UBSan server)"
run resilience resilience_suite $B/bin/pvd-api-asan

step "webhooks end to end: signed deliveries verified by standardwebhooks, perimeter, retries, kill -9, dead letter and replay, two replicas (ASan+UBSan servers)"
run webhooks webhooks_suite $B/bin/pvd-api-asan

step "graceful shutdown: in-flight request finished, exit 0"
run drain drain_suite

step "make run: durable embedded PostgreSQL, stopped with the service"
run makerun makerun_suite

step "CORS and the documentation page in a real browser: headless Chromium (ASan+UBSan server)"
run browser browser_suite $B/bin/pvd-api-asan

echo
if [ ${#failed[@]} -gt 0 ]; then
	echo "make test: FAILED steps: ${failed[*]}"
	exit 1
fi
echo "make test: all steps passed"
