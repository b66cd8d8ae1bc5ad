#!/usr/bin/env bash
# Runs every test of pvd-api (called by `make test` once the binaries are built):
#   1. unit tests (normal, then ASan+UBSan)
#   2. fuzz targets, a short budget each
#   3. clang-format check, OpenAPI lint, route table <-> spec cross-check, source codes
#      and answers <-> spec (check_codes.mjs), a generated TypeScript client compiled
#      with tsc --strict against tests/contract/ts/client.ts
#   4. a test PostgreSQL under var/test, then: db layer tests, the HTTP API
#      suite against the real server (normal build, then ASan+UBSan build),
#      responses validated against the spec's schemas, and the resilience
#      suite (pool exhausted, database killed and back, rate limit, slow
#      clients), the real lauréats import in its own database, graceful drain,
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

api_suite() { # api_suite LABEL SERVER_BIN
	local label=$1 bin=$2 url port capture log
	url=$(fresh_db "pvd_it_$label")
	DATABASE_URL=$url "$bin" import-referentiel node_modules/@etalab/decoupage-administratif/data 2026 \
		"@etalab/decoupage-administratif@6.0.0" 2>&1 | tail -1 | cut -c1-400
	port=$(free_port)
	capture=$B/tests/capture-$label.jsonl
	log=$B/tests/server-$label.log
	: >"$capture"
	# DB_STATEMENT_TIMEOUT_MS: tests that hold a row lock in another session while the
	# server waits on it must not see the 5 s default cancel the wait on a loaded machine
	# (the default itself is tested by the resilience step).
	start_server "$bin" "$port" "$log" DATABASE_URL="$url" DB_POOL_SIZE=4 "${AUTH_ENV[@]}" \
		RATE_LIMIT_PER_MINUTE=0 DB_STATEMENT_TIMEOUT_MS=30000
	PVD_TEST_BASE_URL=http://127.0.0.1:$port PVD_TEST_CAPTURE=$capture PVD_TEST_DATABASE_URL=$url \
		PVD_TEST_SERVER_BIN=$PWD/$B/pvd-api $B/bin/integration --jobs 2 ${IT_ARGS:-} || { stop_server || true; return 1; }
	stop_server
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
	PVD_TEST_BASE_URL=http://127.0.0.1:$port PVD_TEST_DATABASE_URL=$url PVD_TEST_PG="$PWD/$PG" \
		PVD_TEST_MAX_CONNECTIONS=$max_conns PVD_TEST_PER_ADDRESS=$per_address \
		PVD_TEST_HEADERS_TIMEOUT=$headers_timeout PVD_TEST_BODY_TIMEOUT=$body_timeout \
		$B/bin/resilience --jobs 1 ${RES_ARGS:-} || { stop_server || true; return 1; }
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
		timeout 240 node $B/tests/sync/sync.mjs || { stop_server || true; return 1; }
	stop_server
	node tests/contract/validate_responses.mjs $B/openapi.json "$capture"
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

step "unit tests"
run unit $B/bin/unit --jobs 2
step "unit tests (ASan+UBSan)"
run unit-asan $B/bin/unit-asan --jobs 2

step "rate limiter and verified-token cache under ThreadSanitizer"
run tsan-rate-limit env TSAN_OPTIONS=halt_on_error=1:exitcode=66 $B/bin/tsan-rate-limit
run tsan-rate-limit env TSAN_OPTIONS=halt_on_error=1:exitcode=66 $B/bin/tsan-token-cache

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

step "test PostgreSQL (var/test)"
$PG start >/dev/null

step "database layer tests"
run db env PVD_TEST_DATABASE_URL="$($PG url)" $B/bin/db --jobs 2
step "database layer tests (ASan+UBSan)"
run db-asan env PVD_TEST_DATABASE_URL="$($PG url)" $B/bin/db-asan --jobs 2

step "HTTP API suite, real server and PostgreSQL"
run api api_suite normal $B/pvd-api
step "HTTP API suite, server under ASan+UBSan"
run api-asan api_suite asan $B/bin/pvd-api-asan

step "bulk import of the real lauréats file (own database)"
run import import_suite $B/pvd-api

step "sync client (Node, generated TS client): full read, then the event feed only, vs a re-read after 1,000 concurrent writes"
run sync sync_suite

step "resilience: pool exhausted, PostgreSQL killed and restarted, rate limit, slow clients (ASan+UBSan server)"
run resilience resilience_suite $B/bin/pvd-api-asan

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
