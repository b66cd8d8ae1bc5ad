#!/usr/bin/env bash
# `make bench`: throughput of pvd-api against the two ceilings of this machine,
# measured in one interleaved loop so that the ratios compare like with like.
#
# Lines (wrk -t2 -c32 --latency; pgbench -S -c 8 -j 2 -M prepared):
#   mhd          build/bench/mhd_hello: bare libmicrohttpd, fixed JSON (HTTP ceiling)
#   communes_get GET /api/v1/communes/{code}, random real INSEE codes (communes.lua)
#   list         GET /api/v1/communes?departement=XX&limite=50, random départements (list.lua)
#   maquette     GET /api/v1/territoires/{id_pvd}/maquette-financiere?annee=YYYY on a plan of
#                200 fiches (seeded through the API by maquette_seed.mjs, as the bootstrap
#                administrator of a token from build/bin/test-idp), years 2024-2029
#                (maquette.lua); wrk -t1 -c1: the service time of one maquette (the
#                per-principal rate limit is off: RATE_LIMIT_PER_MINUTE=0)
#   pgbench      pgbench -S on the database "bench" of the same PostgreSQL (DB ceiling)
#   feed         (issue 11) one sync client paging through the event feed: GET
#                /api/v1/evenements?limite=500&apres=<suivant> over the first FEED_EVENTS (20,000)
#                events, again and again (feed.lua, wrk -t1 -c1): events/s = pages/s x 500.
#                The journal is topped up to FEED_EVENTS rows once (kept between runs) by a
#                SQL seed that uses journal_record's INSERT (db/mutation.c: same columns, same
#                filter of "_" members): copies of the maquette fiches' creation rows, as
#                fiche_action.modifiee events carrying the whole fiche (~2.5 KB each)
#   feed_sql     the feed's own page query run by pgbench -c1 -M extended (unnamed statements
#                with parameters, as the server's PQexecParams: the same SELECT of
#                evenement_json with its resource's latest row (migration 0027) in (xid, id) order from a random one of those 40 positions,
#                501 rows, without the perimeter filter: the reader is national): the
#                database's ceiling for the feed (events/s = tps x 500)
#   patch        PATCH /api/v1/fiches-action/{id} {"intitule"} chained on the ETag each answer
#                gives (patch.lua, wrk -t1 -c1): one write with its journal row, the event
#   write        pgbench -c1 -M extended, write.sql with event=0: the PATCH's row SQL (territoire
#                lock, fiche locked and read, update, read again) without the journal row
#   write_event  the same with event=1: plus the journal row (journal_record's INSERT). Both
#                are measured in ONE pgbench run (2 x BENCH_SECONDS, the line `write`) that
#                draws either script at random per transaction: the same disk, load and
#                caches for both; each figure is 1000 / its latency average (ms), the p50
#                column shows that average. Separate runs of a durable commit (fsync) were
#                too noisy to compare (seen 0.9x to 1.3x on a shared machine)
#   (issue 12 §4: the routes that matter, as a préfecture of the Territoire de Belfort, 90,
#   prefecture_instructeur on {"departements":["90"]}, bench-pref90, its token served by the
#   verified-token cache after its first use; territoire pvd-27-90-990 holds CONV_ROWS (10,100)
#   conventions, inserted by SQL once and kept between runs: abandoned adhésions, the only kind
#   a territoire may hold many of. The conv_* lines are routes of the strict read cache
#   (README "The read cache"): after its first request each answer is served from memory once
#   the database's stamp, read for every request and shared by the requests waiting, shows
#   that nothing was written; READ_CACHE_BYTES=0 make bench measures them without it)
#   moi          GET /api/v1/moi as that préfecture (auth_get.lua): its token from the cache and
#                its habilitation read, nothing else (not a cached route): one statement, the
#                floor of an authenticated read that goes to the database
#   conv_get     GET /api/v1/conventions/{id}, 200 random ids of them (auth_get.lua)
#   conv_list    GET /api/v1/conventions?limite=50, the first page (auth_get.lua)
#   conv_p1      the same page, wrk -t1 -c1: its service time
#   conv_deep    GET /api/v1/conventions?limite=50&curseur=… at depth 10,000 (wrk -t1 -c1)
#   feed_p1      GET /api/v1/evenements?limite=50, first page, as the administrator (-t1 -c1)
#   feed_deep    GET /api/v1/evenements?limite=50&apres=… after 10,000 events (-t1 -c1), where the
#                seed put a copy of the feed's first 51 rows (same actions, resources and
#                documents): the same events as feed_p1, checked before measuring, so that the
#                two pages differ by their depth only (see the seed below). A journal seeded
#                before that copy existed gets it appended, deeper (rm -r var/pg: 10,000 again)
#   org_post     POST /api/v1/organisations of a new État organisation (org_post.lua, -t2 -c8):
#                validated, one transaction with its journal row
#   tpcb         pgbench tpcb-like (built-in) -c DB_POOL_SIZE (4) -j 2 -M prepared on the
#                database "bench": the ceiling of a small durable write transaction with as many
#                sessions as pvd-api's pool (org_post cannot have more transactions in flight;
#                a durable commit's throughput grows with them: group commit)
#   After the rounds the server's VmHWM and VmRSS are read from /proc/<pid>/status.
# Each round runs every line once, in that order; the table shows the median over
# rounds of each figure and the ratios of the medians. Targets (issue 2, §6):
#   communes_get >= 0.40 x mhd req/s with p99 <= 5 ms;  list >= 0.15 x mhd req/s.
#   maquette (issue 9 §3): p99 < 50 ms.
#   feed (issue 11): >= 5,000 events/s for one client, and >= 0.50 x feed_sql.
#   event of a write (issue 11): write_event time <= 1.5 x write time (the outbox row
#   costs at most half the row's own SQL), and that extra time <= 25 % of a PATCH's
#   service time. Justified in README "Tests and bench".
#   issue 12 §4: conv_get >= 0.8 x communes_get; conv_list >= 0.5 x communes_get; org_post
#   >= 0.40 x tpcb; p99 <= 5 ms for conv_get and conv_list (32 connections; an idle machine);
#   VmHWM <= 64 MB; conv_deep and feed_deep time <= 1.2 x conv_p1 and feed_p1.
# A miss is printed as BELOW TARGET; the exit status stays 0 (a failure to run is not 0).
# The warm-up checks that the pvd-api lines answer only 200s (wrk response() hook); the
# measured runs count wrk's >= 400 statuses and socket errors. Before each run the CPU use
# of the machine is sampled for 0.5 s: others' load on the same cores is reported, as it
# skews the figures (p99 above all).
#
# Environment:
#   BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2)
#   BENCH_CONNECTIONS (32), BENCH_THREADS (2, wrk threads)
#   HTTP_THREADS, DB_POOL_SIZE    passed to pvd-api (its defaults otherwise: 4 and 4)
#   READ_CACHE_BYTES              passed to pvd-api too (default 8 MiB; 0: the read cache off)
#   READ_CACHE_MAX_STALENESS_MS   passed to pvd-api too (default 0: strict reads; README "The
#                                 read cache")
#   PVD_VAR                       embedded PostgreSQL state (default ./var, as pg.sh)
#   BENCH_LINES                   space-separated lines to run (default, or empty: all), e.g.
#                                 BENCH_LINES="communes_get conv_get" make bench. Each line run
#                                 also runs the lines its target ratio divides by (NEEDS below,
#                                 one level: conv_get adds communes_get, not mhd): communes_get
#                                 and list add mhd, feed adds feed_sql, write and write_event
#                                 (one pgbench run) add each other and patch, conv_get and
#                                 conv_list add communes_get, conv_deep adds conv_p1, feed_deep
#                                 adds feed_p1, org_post adds tpcb. Any other ratio whose line
#                                 did not run prints n/a; a target whose lines did not all run
#                                 is "not run" (not printed, "not run" in the JSON), and the
#                                 memory target is judged only when every line ran. The setup
#                                 (seeds, cursors) is the same whatever the subset.
# Writes tests/bench/results/latest.json and tests/bench/results/YYYY-MM-DD.md; a run of a
# subset writes tests/bench/results/subset-latest.json and subset-YYYY-MM-DD.md instead
# (ignored by git), so that it never overwrites a full run's figures.
# Starts its own pvd-api and mhd_hello on free 127.0.0.1 ports and the embedded
# PostgreSQL when it is not running; stops all of it on exit, Ctrl-C included.
set -euo pipefail
cd "$(dirname "$0")/../.."

readonly ROUNDS=${BENCH_ROUNDS:-3}
readonly SECONDS_PER_RUN=${BENCH_SECONDS:-10}
readonly WARMUP=${BENCH_WARMUP_SECONDS:-2}
readonly CONNS=${BENCH_CONNECTIONS:-32}
readonly WRK_THREADS=${BENCH_THREADS:-2}
readonly PGBIN=/usr/lib/postgresql/15/bin
readonly PG=deploy/local/pg.sh
readonly DATA_DIR=node_modules/@etalab/decoupage-administratif/data
readonly MILLESIME=2026
readonly RESULTS=tests/bench/results
readonly TARGET_GET_RATIO=0.40 TARGET_GET_P99_MS=5 TARGET_LIST_RATIO=0.15 TARGET_MAQUETTE_P99_MS=50
readonly TARGET_FEED_EPS=5000 TARGET_FEED_RATIO=0.50 TARGET_WRITE_COST=1.5 TARGET_EVENT_SHARE=0.25
readonly FEED_EVENTS=20000 FEED_PAGE=500
readonly TARGET_CONV_GET_RATIO=0.8 TARGET_CONV_LIST_RATIO=0.5 TARGET_WRITE_RATIO=0.40
readonly TARGET_READ_P99_MS=5 TARGET_HWM_KB=65536 TARGET_DEPTH_COST=1.2
readonly CONV_ROWS=10100 DEPTH=10000
readonly PERF_ID_PVD=pvd-27-90-990 PERF_SUB=bench-pref90
readonly LINES=(mhd communes_get list maquette pgbench feed feed_sql patch write write_event
	moi conv_get conv_list conv_p1 conv_deep feed_p1 feed_deep org_post tpcb)
is_pgbench() { [[ "$1" == pgbench || "$1" == feed_sql || "$1" == write || "$1" == write_event || "$1" == tpcb ]]; }
unit() { is_pgbench "$1" && echo tps || echo req/s; }
# The lines a line's target ratio divides by (BENCH_LINES pulls them in); write and
# write_event are one pgbench run, and the event's target is a share of a PATCH.
declare -A NEEDS=([communes_get]=mhd [list]=mhd [feed]=feed_sql [write]="write_event patch"
	[write_event]="write patch" [moi]=communes_get [conv_get]=communes_get [conv_list]=communes_get
	[conv_deep]=conv_p1 [feed_deep]=feed_p1 [org_post]=tpcb)
readonly BENCH_ISSUER=https://idp.bench.pvd-api.test BENCH_AUDIENCE=pvd-api

die() {
	echo "bench: $*" >&2
	exit 1
}
note() { echo "bench: $*" >&2; }

for v in ROUNDS SECONDS_PER_RUN WARMUP CONNS WRK_THREADS; do
	[[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
# WANT[line]=1 for each line to run; RUN: those lines, in the order of LINES.
declare -A WANT=()
if [[ -z "${BENCH_LINES:-}" ]]; then
	for line in "${LINES[@]}"; do WANT[$line]=1; done
else
	for line in ${BENCH_LINES//,/ }; do
		[[ " ${LINES[*]} " == *" $line "* ]] || die "BENCH_LINES: unknown line '$line' (lines: ${LINES[*]})"
		WANT[$line]=1
	done
	added=""
	for line in "${!WANT[@]}"; do # the keys as they were before this loop: one level
		for need in ${NEEDS[$line]:-}; do
			[[ -n "${WANT[$need]:-}" ]] || added+=" $need"
			WANT[$need]=1
		done
	done
	[[ -z "$added" ]] || note "BENCH_LINES: also running$added (the ratios of the lines asked divide by them)"
fi
RUN=()
for line in "${LINES[@]}"; do [[ -z "${WANT[$line]:-}" ]] || RUN+=("$line"); done
readonly RUN
SUBSET=$([[ ${#RUN[@]} -lt ${#LINES[@]} ]] && echo 1 || echo 0)
readonly SUBSET
ran() { # ran LINE... -> true when every LINE is run
	local l
	for l in "$@"; do [[ -n "${WANT[$l]:-}" ]] || return 1; done
}
for f in build/pvd-api build/bench/mhd_hello build/bin/test-idp; do
	[[ -x "$f" ]] || die "$f missing: run 'make bench' (or make build build/bench/mhd_hello build/bin/test-idp)"
done
for c in wrk node curl "$PGBIN/pgbench" "$PGBIN/psql"; do
	command -v "$c" >/dev/null || die "$c not found (make deps)"
done
[[ -f "$DATA_DIR/communes.json" ]] || die "$DATA_DIR/communes.json missing (make npm)"

# ---------------------------------------------------------------- start / stop

# Load average before anything of ours runs: others' work on the same cores skews figures.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pvd-bench.XXXXXX")
API_PID="" HELLO_PID="" CHILD_PID="" PG_STARTED=0

stop_pid() { # SIGTERM, then SIGKILL after 10 s
	local pid=$1 i
	[[ -n "$pid" ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		# A child of this shell stays a zombie until waited: test the state, not kill -0.
		[[ -r /proc/$pid/stat ]] || break
		[[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$CHILD_PID"
	stop_pid "$API_PID"
	stop_pid "$HELLO_PID"
	if ((PG_STARTED)); then $PG stop >/dev/null 2>&1 || true; fi
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT
trap 'note "terminated"; exit 143' TERM

# Runs a command in the background and waits for it, so that INT/TERM reach the
# trap at once (bash runs traps only between foreground commands).
run_child() { # run_child OUTFILE CMD...
	local out=$1 rc=0
	shift
	"$@" >"$out" 2>&1 &
	CHILD_PID=$!
	wait "$CHILD_PID" || rc=$?
	CHILD_PID=""
	return "$rc"
}

port_busy() {
	if command -v ss >/dev/null; then
		[[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

free_port() { # away from the 18100-18999 range of tests/run.sh
	local p
	for p in $(shuf -i 19100-19999 -n 200); do
		if ! port_busy "$p"; then
			echo "$p"
			return 0
		fi
	done
	die "no free port in 19100-19999"
}

alive() { [[ -r /proc/$1/stat && "$(awk '{print $3}' "/proc/$1/stat")" != Z ]]; }

# wait_http PID URL SECONDS: until URL answers 200 (and PID still runs).
wait_http() {
	local pid=$1 url=$2 tries=$(($3 * 10)) i
	for ((i = 0; i < tries; i++)); do
		alive "$pid" || return 2
		if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url" 2>/dev/null)" == 200 ]]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

note "PostgreSQL: $PG start"
if ! $PG status >/dev/null 2>&1; then PG_STARTED=1; fi
PG_URL=$($PG start)
[[ -n "$PG_URL" ]] || die "pg.sh start printed no URL"

# The maquette line reads as the bootstrap administrator of a key made for this run.
mkdir -p "$TMP/idp" && build/bin/test-idp init "$TMP/idp" >/dev/null || die "test-idp init failed"

API_PORT=$(free_port)
API_LOG=$TMP/pvd-api.log
note "pvd-api on 127.0.0.1:$API_PORT (HTTP_THREADS=${HTTP_THREADS:-default}, DB_POOL_SIZE=${DB_POOL_SIZE:-default}, READ_CACHE_BYTES=${READ_CACHE_BYTES:-default}, READ_CACHE_MAX_STALENESS_MS=${READ_CACHE_MAX_STALENESS_MS:-0})"
# One local client (wrk) opens all BENCH_CONNECTIONS: no cap per address.
DATABASE_URL=$PG_URL HTTP_PORT=$API_PORT HTTP_BIND_ADDRESS=127.0.0.1 LOG_LEVEL=warn \
	HTTP_MAX_CONNECTIONS_PER_ADDRESS=0 AUTH_ISSUER=$BENCH_ISSUER AUTH_AUDIENCE=$BENCH_AUDIENCE \
	AUTH_JWKS_FILE="$TMP/idp/jwks.json" AUTH_BOOTSTRAP_ADMIN_SUB=bench-admin RATE_LIMIT_PER_MINUTE=0 \
	build/pvd-api serve >"$API_LOG" 2>&1 &
API_PID=$!
API=http://127.0.0.1:$API_PORT
if ! wait_http "$API_PID" "$API/healthz" 30; then
	cat "$API_LOG" >&2
	die "pvd-api did not start"
fi
if ! wait_http "$API_PID" "$API/readyz" 3; then
	note "/readyz not ready: importing the referential ($DATA_DIR, $MILLESIME)"
	DATABASE_URL=$PG_URL LOG_LEVEL=warn build/pvd-api import-referentiel "$DATA_DIR" \
		"$MILLESIME" >"$TMP/import.log" 2>&1 || {
		cat "$TMP/import.log" >&2
		die "import-referentiel failed"
	}
	kill -HUP "$API_PID" # reload the in-memory referential now
	if ! wait_http "$API_PID" "$API/readyz" 60; then
		curl -s "$API/readyz" >&2 || true
		cat "$API_LOG" >&2
		die "pvd-api still not ready after the import"
	fi
fi

HELLO_PORT=$(free_port)
build/bench/mhd_hello "$HELLO_PORT" >"$TMP/mhd_hello.log" 2>&1 &
HELLO_PID=$!
HELLO=http://127.0.0.1:$HELLO_PORT
if ! wait_http "$HELLO_PID" "$HELLO/" 10; then
	cat "$TMP/mhd_hello.log" >&2
	die "mhd_hello did not start"
fi

# pgbench database "bench" in the same cluster (unix socket of pg.sh url); later
# conninfo keywords override earlier ones. Initialised once, reused while at scale 10.
PG_ADMIN="$PG_URL dbname=postgres"
PG_BENCH="$PG_URL dbname=bench"
psql_q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
if [[ "$(psql_q "$PG_ADMIN" -c "SELECT 1 FROM pg_database WHERE datname = 'bench'")" != 1 ]]; then
	psql_q "$PG_ADMIN" -c 'CREATE DATABASE bench' >/dev/null
fi
if [[ "$(psql_q "$PG_BENCH" -c 'SELECT count(*) FROM pgbench_branches' 2>/dev/null)" != 10 ]]; then
	note "pgbench -i -s 10 -q (database bench)"
	run_child "$TMP/pgbench-init.log" "$PGBIN/pgbench" -i -s 10 -q "$PG_BENCH" || {
		cat "$TMP/pgbench-init.log" >&2
		die "pgbench -i failed"
	}
fi

# Request lists for the wrk scripts: 2000 random real codes of communes-actuelles and
# every département that has some, as a Lua chunk (not committed: generated here).
CODES=$TMP/codes.lua
# shellcheck disable=SC2016 # JavaScript template literals, not shell
node -e '
const communes = require(process.argv[1]).filter((c) => c.type === "commune-actuelle");
const deps = [...new Set(communes.map((c) => c.departement))];
const codes = Array.from({length: 2000}, () => communes[Math.floor(Math.random() * communes.length)].code);
const lua = (a) => "{" + a.map((s) => JSON.stringify(s)).join(",") + "}";
process.stdout.write(`return {codes = ${lua(codes)}, departements = ${lua(deps)}}\n`);
' "$PWD/$DATA_DIR/communes.json" >"$CODES"

# The plan of the maquette line (kept in the database between runs).
TOKEN=$(build/bin/test-idp token "$TMP/idp" "$BENCH_ISSUER" "$BENCH_AUDIENCE" bench-admin 7200)
note "maquette: seeding a 200-fiche plan through the API (kept between runs)"
MAQUETTE_ID=$(node tests/bench/maquette_seed.mjs "$API" "$TOKEN") || die "maquette_seed.mjs failed"
MAQUETTE_URL="$API/api/v1/territoires/$MAQUETTE_ID/maquette-financiere?annee=2025"

# The event feed (issue 11): the journal topped up to FEED_EVENTS rows (kept between runs).
# Issue 12 §4: feed_deep must read the same events as feed_p1, so that the two pages differ
# by their depth only: the seed puts at depth DEPTH a copy of the feed's first FEED_COPY_ROWS
# rows (a page of 50 reads 51: the last says whether more follow), same actions, resources
# and documents, marked by request_id FEED_COPY_MARK. Without it the deep page held seeded
# fiche modifications and page 1 the plan's creations: the same data, but a modification's
# type reads its avant and apres documents (evenement_nature) where a creation's stops at
# avant IS NULL, and page 1 holds 8 small events: 1.14× the bytes, ~1.2× the time.
# All the rows a seed inserts are one transaction (one xid): their feed order is their id
# order, that of the INSERTs and of their ORDER BY.
readonly FEED_COPY_ROWS=51 FEED_COPY_MARK=bench-depth-copy
PG_PVD="$PG_URL"
JOURNAL_DOC() { # the filter of journal_record's INSERT (db/mutation.c) on the SQL value $1
	echo "CASE WHEN jsonb_typeof($1::jsonb) = 'object' THEN (SELECT coalesce(jsonb_object_agg(e.k, e.v), '{}'::jsonb) FROM jsonb_each($1::jsonb) AS e(k, v) WHERE left(e.k, 1) <> '_') ELSE $1::jsonb END"
}
readonly JOURNAL_COLUMNS="acteur, acteur_issuer, acteur_subject, client_id, role, action, ressource_type,
	ressource_id, avant, apres, request_id, departements, regions, sirens, territoires"
feed_filler() { # feed_filler N FIRST -> the INSERT of N copies (FIRST, FIRST + 1, …) of the fiches' creation rows
	echo "INSERT INTO journal ($JOURNAL_COLUMNS)
		SELECT c.acteur, c.acteur_issuer, c.acteur_subject, c.client_id, c.role, 'fiche_action.modifier',
		'fiche_action', c.ressource_id, $(JOURNAL_DOC c.apres), $(JOURNAL_DOC c.apres), 'bench-feed-seed',
		c.departements, c.regions, c.sirens, c.territoires
		FROM generate_series($2, $2 + $1 - 1) AS g
		JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS n, j.* FROM journal j
		      WHERE action = 'fiche_action.creer') AS c ON c.k = g % c.n ORDER BY g;"
}
# the copy of the feed's first rows, the documents as they are (journal_record filtered them)
readonly FEED_COPY_SQL="INSERT INTO journal ($JOURNAL_COLUMNS)
	SELECT acteur, acteur_issuer, acteur_subject, client_id, role, action, ressource_type,
	ressource_id, avant, apres, '$FEED_COPY_MARK', departements, regions, sirens, territoires
	FROM (SELECT * FROM journal ORDER BY xid, id LIMIT $FEED_COPY_ROWS) AS p ORDER BY xid, id;"
# JOURNAL_ROWS: the rows of the administrator's feed (those whose type is an event's)
read -r JOURNAL_ROWS FEED_COPIES < <(psql_q "$PG_PVD" -F ' ' -c "SELECT count(*),
	count(*) FILTER (WHERE request_id = '$FEED_COPY_MARK') FROM journal JOIN evenement_ressources USING (ressource_type)")
if ((FEED_COPIES == 0)); then
	SEED=""
	if ((JOURNAL_ROWS < DEPTH)); then SEED=$(feed_filler $((DEPTH - JOURNAL_ROWS)) 0); fi
	SEED+=$FEED_COPY_SQL
	AFTER=$((FEED_EVENTS - (JOURNAL_ROWS > DEPTH ? JOURNAL_ROWS : DEPTH) - FEED_COPY_ROWS))
	if ((AFTER > 0)); then SEED+=$(feed_filler "$AFTER" $((DEPTH - JOURNAL_ROWS))); fi
	note "feed: a copy of page 1 after $((JOURNAL_ROWS > DEPTH ? JOURNAL_ROWS : DEPTH)) events, the journal topped up to $FEED_EVENTS (kept between runs)"
	psql_q "$PG_PVD" -c "$SEED" >/dev/null # one transaction
elif ((JOURNAL_ROWS < FEED_EVENTS)); then
	note "feed: topping the journal up to $FEED_EVENTS rows (kept between runs)"
	psql_q "$PG_PVD" -c "$(feed_filler $((FEED_EVENTS - JOURNAL_ROWS)) 0)" >/dev/null
fi
# The depth of that copy: the rows before it in the administrator's feed, in (xid, id) order.
# DEPTH on a journal seeded by this script; a journal seeded before it (without the copy) got
# it appended at its end, deeper (a fresh ./var gives DEPTH again).
FEED_DEPTH=$(psql_q "$PG_PVD" -c "SELECT count(*) FROM journal j JOIN evenement_ressources r USING (ressource_type)
	WHERE (j.xid, j.id) < (SELECT xid, id FROM journal WHERE request_id = '$FEED_COPY_MARK' ORDER BY xid, id LIMIT 1)")
((FEED_DEPTH >= DEPTH)) || die "feed: the copy of page 1 is at depth $FEED_DEPTH (< $DEPTH)"
# feed_sql: the 40 page positions of the first FEED_EVENTS events, as a pgbench CASE.
FEED_SQL=$TMP/feed_sql.sql
{
	printf '\\set p random(0, %d)\n' $((FEED_EVENTS / FEED_PAGE - 1))
	for v in x i; do
		printf '\\set %s case' "$v"
		psql_q "$PG_PVD" -F ' ' -c "SELECT rn / $FEED_PAGE, xid::text, id FROM (SELECT xid, id,
			row_number() OVER (ORDER BY xid, id) AS rn FROM journal) AS s
			WHERE rn % $FEED_PAGE = 0 AND rn < $FEED_EVENTS ORDER BY rn" |
			awk -v v="$v" '{printf " when :p = %s then %s", $1, (v == "x" ? $2 : $3)}'
		echo " else 0 end"
	done
	echo "SELECT j.xid::text || '.' || j.id::text, evenement_json(j, l, false)::text FROM journal j" \
		"JOIN evenement_ressources r ON r.ressource_type = j.ressource_type" \
		"LEFT JOIN LATERAL (SELECT * FROM journal l WHERE l.ressource_type = j.ressource_type" \
		"AND l.ressource_id = j.ressource_id AND l.id >= j.id ORDER BY l.id DESC LIMIT 1) l ON true" \
		"WHERE j.xid < pg_snapshot_xmin(pg_current_snapshot()) AND (j.xid, j.id) > (:x::text::xid8, :i::bigint)" \
		"ORDER BY j.xid, j.id LIMIT $((FEED_PAGE + 1));"
} >"$FEED_SQL"
# patch / write / write_event: two fiches of the maquette plan (the first for HTTP, the
# second for SQL), whose intitulé only changes (the maquette's figures do not).
read -r PATCH_FICHE WRITE_FICHE < <(psql_q "$PG_PVD" -F ' ' -c "SELECT string_agg(id::text, ' ' ORDER BY numero)
	FROM (SELECT id, numero FROM fiches_action WHERE id_pvd = '$MAQUETTE_ID' ORDER BY numero LIMIT 2) AS f")
[[ -n "$WRITE_FICHE" ]] || die "no fiche of $MAQUETTE_ID for the write lines"
# write / write_event: write.sql with event 0 and 1 (one pgbench run draws them at random).
for e in 0 1; do { printf '\\set event %s\n' "$e"; cat tests/bench/write.sql; } >"$TMP/write$e.sql"; done
WRITE_OUT=
fiche_etag() { curl -s -o /dev/null -D - -H "Authorization: Bearer $TOKEN" "$API/api/v1/fiches-action/$PATCH_FICHE" |
	awk 'tolower($1) == "etag:" {sub(/\r$/, "", $2); print $2}'; }

# Issue 12 §4: a préfecture of the 90, a territoire of the 90 and its CONV_ROWS conventions.
api_call() { # api_call TOKEN METHOD PATH [BODY] -> prints the status, body in $TMP/api.json
	curl -s -o "$TMP/api.json" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1" \
		${4:+-H 'Content-Type: application/json' --data "$4"} "$API$3"
}
code=$(api_call "$TOKEN" POST /api/v1/territoires "{\"id_pvd\":\"$PERF_ID_PVD\",\"communes\":[\"90033\"],\"epcis\":[\"249000241\"],\"date_designation\":\"2020-12-15\"}")
[[ "$code" == 201 || "$code" == 409 ]] || die "territoire $PERF_ID_PVD: $code $(cat "$TMP/api.json")"
if [[ "$(psql_q "$PG_PVD" -c "SELECT count(*) FROM habilitations WHERE subject = '$PERF_SUB' AND revoque_le IS NULL")" == 0 ]]; then
	code=$(api_call "$TOKEN" POST /api/v1/habilitations "{\"issuer\":\"$BENCH_ISSUER\",\"subject\":\"$PERF_SUB\",\"role\":\"prefecture_instructeur\",\"perimetre\":{\"departements\":[\"90\"]}}")
	[[ "$code" == 201 ]] || die "habilitation $PERF_SUB: $code $(cat "$TMP/api.json")"
fi
PREF_TOKEN=$(build/bin/test-idp token "$TMP/idp" "$BENCH_ISSUER" "$BENCH_AUDIENCE" "$PERF_SUB" 7200)
MISSING=$(psql_q "$PG_PVD" -c "SELECT greatest(0, $CONV_ROWS - count(*)) FROM conventions WHERE id_pvd = '$PERF_ID_PVD'")
if ((MISSING > 0)); then
	note "conventions: inserting $MISSING abandoned adhésions of $PERF_ID_PVD (kept between runs)"
	psql_q "$PG_PVD" -c "INSERT INTO conventions (type, id_pvd, etat, intitule, cree_par)
		SELECT 'adhesion', '$PERF_ID_PVD', 'abandonnee', 'Convention de banc ' || g, 'bench'
		FROM generate_series(1, $MISSING) AS g" >/dev/null
fi
lua_paths() { # lines on stdin -> a Lua chunk returning them as a list
	awk 'BEGIN {printf "return {"} {printf "%s\"%s\"", (NR > 1 ? "," : ""), $0} END {print "}"}'
}
psql_q "$PG_PVD" -c "SELECT '/api/v1/conventions/' || id FROM conventions WHERE id_pvd = '$PERF_ID_PVD'
	ORDER BY random() LIMIT 200" | lua_paths >"$TMP/conv_get.lua"
echo "/api/v1/conventions?limite=50" | lua_paths >"$TMP/conv_list.lua"
echo "/api/v1/moi" | lua_paths >"$TMP/moi.lua"
# The cursors at depth DEPTH (FEED_DEPTH for the feed): pages of up to 500 followed from the start.
follow() { # follow TOKEN PATH PARAM DEPTH -> the cursor after DEPTH items
	local cursor="" seen=0 n
	while ((seen < $4)); do
		n=$(($4 - seen < 500 ? $4 - seen : 500))
		code=$(api_call "$1" GET "$2?limite=$n${cursor:+&$3=$cursor}")
		[[ "$code" == 200 ]] || die "$2 (after $seen): $code"
		cursor=$(sed -n 's/.*"suivant":"\([^"]*\)".*/\1/p' "$TMP/api.json")
		[[ -n "$cursor" ]] || die "$2: no cursor after $seen"
		seen=$((seen + n))
	done
	echo "$cursor"
}
CONV_CURSOR=$(follow "$PREF_TOKEN" /api/v1/conventions curseur "$DEPTH")
echo "/api/v1/conventions?limite=50&curseur=$CONV_CURSOR" | lua_paths >"$TMP/conv_deep.lua"
echo "/api/v1/evenements?limite=50" | lua_paths >"$TMP/feed_p1.lua"
FEED_CURSOR=$(follow "$TOKEN" /api/v1/evenements apres "$FEED_DEPTH")
echo "/api/v1/evenements?limite=50&apres=$FEED_CURSOR" | lua_paths >"$TMP/feed_deep.lua"
# Like with like: the deep page must carry page 1's events (type, resource with its version,
# data); only their ids and instants differ. Their sizes are printed.
api_call "$TOKEN" GET "/api/v1/evenements?limite=50" >/dev/null && cp "$TMP/api.json" "$TMP/feed_p1.json"
api_call "$TOKEN" GET "/api/v1/evenements?limite=50&apres=$FEED_CURSOR" >/dev/null
FEED_PAGES=$(node -e '
const fs = require("fs");
const [a, b] = process.argv.slice(1).map((f) => fs.readFileSync(f, "utf8"));
const same = (e) => JSON.stringify([e.type, e.ressource, e.donnees]);
const [ea, eb] = [a, b].map((t) => JSON.parse(t).elements);
if (ea.length !== 50 || eb.length !== 50 || ea.some((e, i) => same(e) !== same(eb[i]))) process.exit(1);
console.log(`${Buffer.byteLength(a)} ${Buffer.byteLength(b)}`);
' "$TMP/feed_p1.json" "$TMP/api.json") || die "feed: the page at depth $FEED_DEPTH does not carry page 1's events"
read -r FEED_P1_BYTES FEED_DEEP_BYTES <<<"$FEED_PAGES"
note "feed: page 1 $FEED_P1_BYTES bytes, the same events at depth $FEED_DEPTH $FEED_DEEP_BYTES bytes"

# Sanity: every line answers 200 before we measure.
for url in "$HELLO/" "$API/api/v1/communes/69248" "$API/api/v1/communes?departement=2A&limite=50"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$url")
	[[ "$code" == 200 ]] || die "$url answered $code"
done
code=$(curl -s -o "$TMP/maquette.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$MAQUETTE_URL")
[[ "$code" == 200 ]] || die "$MAQUETTE_URL answered $code"
MAQUETTE_FICHES=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).fiches.length)' \
	"$TMP/maquette.json")
note "maquette of 2025: $MAQUETTE_FICHES fiches planned that year (of 200)"

# ---------------------------------------------------------------- one run of a line

# run_line LINE SECONDS OUTFILE
run_line() {
	local line=$1 secs=$2 out=$3
	local wrk=(wrk "-t$WRK_THREADS" "-c$CONNS" "-d${secs}s" --latency)
	case "$line" in
	mhd) run_child "$out" "${wrk[@]}" "$HELLO/" ;;
	communes_get) run_child "$out" "${wrk[@]}" -s tests/bench/communes.lua "$API" -- "$CODES" ;;
	list) run_child "$out" "${wrk[@]}" -s tests/bench/list.lua "$API" -- "$CODES" ;;
	maquette)
		run_child "$out" wrk -t1 -c1 "-d${secs}s" --latency -s tests/bench/maquette.lua "$API" \
			-- "$MAQUETTE_ID" "$TOKEN"
		;;
	pgbench)
		run_child "$out" "$PGBIN/pgbench" -S -c 8 -j 2 -T "$secs" -n -M prepared "$PG_BENCH"
		;;
	feed)
		run_child "$out" wrk -t1 -c1 "-d${secs}s" --latency -s tests/bench/feed.lua "$API" \
			-- "$TOKEN" "$((FEED_EVENTS / FEED_PAGE))"
		;;
	feed_sql) run_child "$out" "$PGBIN/pgbench" -c 1 -T "$secs" -n -M extended -f "$FEED_SQL" "$PG_PVD" ;;
	patch)
		run_child "$out" wrk -t1 -c1 "-d${secs}s" --latency -s tests/bench/patch.lua "$API" \
			-- "$PATCH_FICHE" "$TOKEN" "$(fiche_etag)"
		;;
	write)
		# Both variants in ONE run, drawn at random per transaction on one connection:
		# the same disk, load and caches for both; each one's latency average is its cost.
		run_child "$out" "$PGBIN/pgbench" -c 1 -T "$((2 * secs))" -n -M extended \
			-f "$TMP/write0.sql@1" -f "$TMP/write1.sql@1" -D fiche="$WRITE_FICHE" \
			-D idpvd="$MAQUETTE_ID" -D acteur="oidc:$BENCH_ISSUER|bench-admin" -D issuer="$BENCH_ISSUER" \
			"$PG_PVD"
		WRITE_OUT=$out
		;;
	write_event) cp "$WRITE_OUT" "$out" ;; # measured in the run of `write`
	moi | conv_get | conv_list)
		run_child "$out" "${wrk[@]}" -s tests/bench/auth_get.lua "$API" -- "$PREF_TOKEN" "$TMP/$line.lua"
		;;
	conv_p1 | conv_deep)
		run_child "$out" wrk -t1 -c1 "-d${secs}s" --latency -s tests/bench/auth_get.lua "$API" \
			-- "$PREF_TOKEN" "$TMP/$([[ $line == conv_p1 ]] && echo conv_list || echo conv_deep).lua"
		;;
	feed_p1 | feed_deep)
		run_child "$out" wrk -t1 -c1 "-d${secs}s" --latency -s tests/bench/auth_get.lua "$API" \
			-- "$TOKEN" "$TMP/$line.lua"
		;;
	org_post)
		run_child "$out" wrk -t2 -c8 "-d${secs}s" --latency -s tests/bench/org_post.lua "$API" -- "$PREF_TOKEN"
		;;
	tpcb) run_child "$out" "$PGBIN/pgbench" -c "${DB_POOL_SIZE:-4}" -j 2 -T "$secs" -n -M prepared "$PG_BENCH" ;;
	esac
}

# wrk latency ("574.00us", "4.29ms", "1.02s", "2.00m") to milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		else if (u != "ms") { print "nan"; exit }
		printf "%.3f\n", n }'
}

# parse_run LINE OUTFILE -> "value p50_ms p99_ms bad" (bad: non-2xx + socket errors)
parse_run() {
	local line=$1 out=$2 value p50 p99 bad
	if [[ "$line" == write || "$line" == write_event ]]; then
		# script 1 (event=0) or 2 (event=1) of the same run: rate = 1000 / latency average
		local avg
		avg=$(awk -v n="$([[ $line == write ]] && echo 1 || echo 2)" '$1 == "SQL" && $2 == "script" {s = ($3 == n ":")}
			s && /latency average = / {print $(NF - 1); exit}' "$out")
		value=$(awk -v a="${avg:-nan}" 'BEGIN { if (a == "nan" || a + 0 == 0) print "nan"; else printf "%.3f\n", 1000 / a }')
		bad=$(awk '/number of failed transactions:/ {print $5; exit}' "$out")
		echo "${value:-nan} ${avg:-nan} nan ${bad:-0}"
		return
	fi
	if is_pgbench "$line"; then
		value=$(awk '/^tps = / {print $3; exit}' "$out")
		bad=$(awk '/number of failed transactions:/ {print $5; exit}' "$out")
		echo "${value:-nan} nan nan ${bad:-0}"
		return
	fi
	value=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
	bad=$(awk '/^  Non-2xx or 3xx responses:/ {n += $NF}
		/^  Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
		END {print n + 0}' "$out")
	echo "${value:-nan} $p50 $p99 $bad"
}

# busy_pct: CPU use of the whole machine over 0.5 s, in % of all cores. Called between
# runs, when nothing of ours works: what it sees is other people's load.
cpu_sample() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit}' /proc/stat; }
busy_pct() {
	local b1 i1 b2 i2
	read -r b1 i1 < <(cpu_sample)
	sleep 0.5
	read -r b2 i2 < <(cpu_sample)
	awk -v b="$((b2 - b1))" -v i="$((i2 - i1))" 'BEGIN { printf "%.0f\n", (b + i) ? 100 * b / (b + i) : 0 }'
}
readonly BUSY_WARN=15

# ---------------------------------------------------------------- measure

# The warm-up of the pvd-api lines also checks that every response is a 200: the wrk
# scripts' response() hook is on (BENCH_STRICT=1) only here, as it costs client CPU.
note "warm-up: ${WARMUP} s per line (pvd-api lines: every status checked): ${RUN[*]}"
for line in "${RUN[@]}"; do
	out=$TMP/warmup-$line.txt
	BENCH_STRICT=1 run_line "$line" "$WARMUP" "$out" || {
		cat "$out" >&2
		die "warm-up of $line failed"
	}
	if ! is_pgbench "$line" && [[ "$line" != mhd ]]; then
		bad=$(sed -n 's/.*strict_non200=\([0-9]*\).*/\1/p' "$out")
		[[ "$bad" == 0 ]] || {
			cat "$out" >&2
			die "warm-up of $line: ${bad:-?} responses other than 200"
		}
	fi
done

RUNS=$TMP/runs.tsv # round line value p50 p99 bad busy
: >"$RUNS"
total=$((ROUNDS * ${#RUN[@]} * SECONDS_PER_RUN))
note "$ROUNDS rounds x ${#RUN[@]} lines x ${SECONDS_PER_RUN} s (about $((total / 60)) min $((total % 60)) s)"
for ((round = 1; round <= ROUNDS; round++)); do
	for line in "${RUN[@]}"; do
		out=$TMP/round$round-$line.txt
		busy=$(busy_pct)
		run_line "$line" "$SECONDS_PER_RUN" "$out" || {
			cat "$out" >&2
			die "$line failed in round $round"
		}
		read -r value p50 p99 bad < <(parse_run "$line" "$out")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$line" "$value" "$p50" "$p99" "$bad" \
			"$busy" >>"$RUNS"
		printf 'bench: round %d/%d  %-13s %10.0f %-5s  p50 %s ms  p99 %s ms  (machine busy before: %s %%)%s\n' \
			"$round" "$ROUNDS" "$line" "$value" "$(unit "$line")" \
			"$p50" "$p99" "$busy" "$([[ $bad != 0 ]] && echo "  ERRORS: $bad" || true)" >&2
	done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
alive "$API_PID" || die "pvd-api died during the bench (log: $API_LOG)"
# Issue 12 §4: the server's memory after every line ran (peak and current, kB).
HWM_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$API_PID/status")
RSS_KB=$(awk '/^VmRSS:/ {print $2}' "/proc/$API_PID/status")
# The read cache over the whole run (README "The read cache"): answers and habilitations
# served from memory, and how many requests shared each reading of the database's stamp.
READ_CACHE=$(curl -s "$API/metrics" | awk '/^pvd_read_cache_(hits|misses)_total|^pvd_freshness_(readings|waits)_total/ {v[$1] = $2}
	END { r = v["pvd_freshness_readings_total"]; w = v["pvd_freshness_waits_total"];
	      printf "%d hits, %d misses; %d requests waited for %d readings of the stamp (%.1f per reading)",
	             v["pvd_read_cache_hits_total"], v["pvd_read_cache_misses_total"], w, r, r ? w / r : 0 }')

# ---------------------------------------------------------------- summarise

# col LINE FIELD -> the values of one column for one line, one per round
col() { awk -F'\t' -v l="$1" -v f="$2" '$2 == l {print $f}' "$RUNS"; }
median() { sort -g | awk '$1 != "nan" {a[++n] = $1}
	END { if (n == 0) print "nan"; else if (n % 2) print a[(n + 1) / 2];
	      else printf "%.3f\n", (a[n / 2] + a[n / 2 + 1]) / 2 }'; }
sum() { awk '{s += $1} END {print s + 0}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b == 0) print "nan";
	else printf "%.3f\n", a / b }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "nan" && a + 0 >= b + 0) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "nan" && a + 0 <= b + 0) }'; }

# A line not run has nan figures (its ratios print n/a) and no errors.
declare -A MED P50 P99 BAD RUNLIST P99LIST
for line in "${LINES[@]}"; do
	MED[$line]=nan P50[$line]=nan P99[$line]=nan BAD[$line]=0 RUNLIST[$line]="" P99LIST[$line]=""
done
for line in "${RUN[@]}"; do
	MED[$line]=$(col "$line" 3 | median)
	P50[$line]=$(col "$line" 4 | median)
	P99[$line]=$(col "$line" 5 | median)
	BAD[$line]=$(col "$line" 6 | sum)
	RUNLIST[$line]=$(col "$line" 3 | awk '{printf "%s%.0f", (NR > 1 ? " " : ""), $1}')
	P99LIST[$line]=$(col "$line" 5 | paste -sd' ')
done
BUSY_MAX=$(awk -F'\t' '$7 > m {m = $7} END {print m + 0}' "$RUNS")
BUSY_RUNS=$(awk -F'\t' -v w="$BUSY_WARN" '$7 > w {n++} END {print n + 0}' "$RUNS")
R_GET_MHD=$(div "${MED[communes_get]}" "${MED[mhd]}")
R_LIST_MHD=$(div "${MED[list]}" "${MED[mhd]}")
R_GET_PG=$(div "${MED[communes_get]}" "${MED[pgbench]}")
# Issue 11: events/s of the feed (HTTP and its SQL), the write's cost with its event.
mul() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan") print "nan"; else printf "%.3f\n", a * b }'; }
FEED_EPS=$(mul "${MED[feed]}" "$FEED_PAGE")
FEED_SQL_EPS=$(mul "${MED[feed_sql]}" "$FEED_PAGE")
R_FEED_SQL=$(div "${MED[feed]}" "${MED[feed_sql]}")
# time(write_event) / time(write) = tps(write) / tps(write_event): >= 1
R_WRITE_COST=$(div "${MED[write]}" "${MED[write_event]}")
# the event's own time per write (ms) and its share of a PATCH's service time
EVENT_MS=$(awk -v w="${MED[write]}" -v e="${MED[write_event]}" 'BEGIN { if (w == "nan" || e == "nan" || w == 0 || e == 0) print "nan"; else printf "%.3f\n", 1000 / e - 1000 / w }')
EVENT_SHARE=$(awk -v m="$EVENT_MS" -v p="${MED[patch]}" 'BEGIN { if (m == "nan" || p == "nan" || p == 0) print "nan"; else printf "%.3f\n", m * p / 1000 }')

# Issue 12 §4: the routes that matter.
R_CONV_GET=$(div "${MED[conv_get]}" "${MED[communes_get]}")
R_MOI=$(div "${MED[moi]}" "${MED[communes_get]}")
R_CONV_LIST=$(div "${MED[conv_list]}" "${MED[communes_get]}")
R_CONV_GET_MHD=$(div "${MED[conv_get]}" "${MED[mhd]}")
R_CONV_LIST_MHD=$(div "${MED[conv_list]}" "${MED[mhd]}")
R_ORG_TPCB=$(div "${MED[org_post]}" "${MED[tpcb]}")
R_ORG_PG=$(div "${MED[org_post]}" "${MED[pgbench]}")
R_CONV_DEPTH=$(div "${MED[conv_p1]}" "${MED[conv_deep]}") # time(deep) / time(page 1)
R_FEED_DEPTH=$(div "${MED[feed_p1]}" "${MED[feed_deep]}")
HWM_MB=$(awk -v k="${HWM_KB:-0}" 'BEGIN { printf "%.1f\n", k / 1024 }')
RSS_MB=$(awk -v k="${RSS_KB:-0}" 'BEGIN { printf "%.1f\n", k / 1024 }')

verdict() { # verdict OK... -> PASS or BELOW TARGET
	local ok
	for ok in "$@"; do [[ "$ok" == 1 ]] || {
		echo "BELOW TARGET"
		return
	}; done
	echo PASS
}
b() { "$@" && echo 1 || echo 0; }
GET_RATIO_OK=$(b ge "$R_GET_MHD" "$TARGET_GET_RATIO")
GET_P99_OK=$(b le "${P99[communes_get]}" "$TARGET_GET_P99_MS")
LIST_RATIO_OK=$(b ge "$R_LIST_MHD" "$TARGET_LIST_RATIO")
MAQUETTE_P99_OK=$(b le "${P99[maquette]}" "$TARGET_MAQUETTE_P99_MS")
FEED_EPS_OK=$(b ge "$FEED_EPS" "$TARGET_FEED_EPS")
FEED_RATIO_OK=$(b ge "$R_FEED_SQL" "$TARGET_FEED_RATIO")
WRITE_COST_OK=$(b le "$R_WRITE_COST" "$TARGET_WRITE_COST")
EVENT_SHARE_OK=$(b le "$EVENT_SHARE" "$TARGET_EVENT_SHARE")
CONV_GET_OK=$(b ge "$R_CONV_GET" "$TARGET_CONV_GET_RATIO")
CONV_LIST_OK=$(b ge "$R_CONV_LIST" "$TARGET_CONV_LIST_RATIO")
ORG_OK=$(b ge "$R_ORG_TPCB" "$TARGET_WRITE_RATIO")
# the larger p99 of conv_get and conv_list, of those run (nan when one run has none)
READ_P99_MAX=$(for line in conv_get conv_list; do ! ran "$line" || echo "${P99[$line]}"; done |
	awk '$1 == "nan" {n = 1} $1 != "nan" && (m == "" || $1 + 0 > m + 0) {m = $1} END { print (n || m == "") ? "nan" : m }')
READ_P99_OK=$(b le "$READ_P99_MAX" "$TARGET_READ_P99_MS")
HWM_OK=$(b le "${HWM_KB:-nan}" "$TARGET_HWM_KB")
CONV_DEPTH_OK=$(b le "$R_CONV_DEPTH" "$TARGET_DEPTH_COST")
FEED_DEPTH_OK=$(b le "$R_FEED_DEPTH" "$TARGET_DEPTH_COST")
NO_ERRORS=$(b test "$(printf '%s\n' "${BAD[@]}" | sum)" = 0)
judged() { # judged LINES... -- OK... -> "not run" unless every LINE ran, else verdict OK...
	local lines=()
	while [[ "$1" != -- ]]; do
		lines+=("$1")
		shift
	done
	shift
	if ran "${lines[@]}"; then verdict "$@"; else echo "not run"; fi
}
shown() { [[ "$1" != "not run" ]]; }
GET_VERDICT=$(judged communes_get mhd -- "$GET_RATIO_OK" "$GET_P99_OK" "$NO_ERRORS")
LIST_VERDICT=$(judged list mhd -- "$LIST_RATIO_OK" "$NO_ERRORS")
MAQUETTE_VERDICT=$(judged maquette -- "$MAQUETTE_P99_OK" "$NO_ERRORS")
FEED_VERDICT=$(judged feed feed_sql -- "$FEED_EPS_OK" "$FEED_RATIO_OK" "$NO_ERRORS")
WRITE_VERDICT=$(judged write write_event patch -- "$WRITE_COST_OK" "$EVENT_SHARE_OK" "$NO_ERRORS")
CONV_GET_VERDICT=$(judged conv_get communes_get -- "$CONV_GET_OK" "$NO_ERRORS")
CONV_LIST_VERDICT=$(judged conv_list communes_get -- "$CONV_LIST_OK" "$NO_ERRORS")
ORG_VERDICT=$(judged org_post tpcb -- "$ORG_OK" "$NO_ERRORS")
if ran conv_get || ran conv_list; then READ_P99_VERDICT=$(verdict "$READ_P99_OK"); else READ_P99_VERDICT="not run"; fi
HWM_VERDICT=$(judged "${LINES[@]}" -- "$HWM_OK") # the peak after every line, or not judged
# depth: each pair of lines that ran
DEPTH_OKS=()
! ran conv_p1 conv_deep || DEPTH_OKS+=("$CONV_DEPTH_OK")
! ran feed_p1 feed_deep || DEPTH_OKS+=("$FEED_DEPTH_OK")
if ((${#DEPTH_OKS[@]})); then DEPTH_VERDICT=$(verdict "${DEPTH_OKS[@]}" "$NO_ERRORS"); else DEPTH_VERDICT="not run"; fi
VERDICTS=("$GET_VERDICT" "$LIST_VERDICT" "$MAQUETTE_VERDICT" "$FEED_VERDICT" "$WRITE_VERDICT"
	"$CONV_GET_VERDICT" "$CONV_LIST_VERDICT" "$ORG_VERDICT" "$READ_P99_VERDICT" "$HWM_VERDICT" "$DEPTH_VERDICT")
NOT_RUN=$(printf '%s\n' "${VERDICTS[@]}" | grep -c '^not run$' || true)
# PASS when every target judged passed (the errors count even for lines no target judges)
OVERALL=$(verdict "$(b test "$(printf '%s\n' "${VERDICTS[@]}" | grep -c '^BELOW TARGET$' || true)" = 0)" "$NO_ERRORS")

# ---------------------------------------------------------------- machine

DATE=$(date -u +%Y-%m-%d)
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
NPROC=$(nproc)
CPU=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
KERNEL=$(uname -r)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
V_WRK=$(wrk -v 2>&1 | awk 'NR == 1 {print $2}' || true)
V_PG=$(psql_q "$PG_ADMIN" -c 'SHOW server_version' | awk '{print $1}')
V_MHD=$(pkg-config --modversion libmicrohttpd 2>/dev/null || echo '?')
V_ULFIUS=$(pkg-config --modversion libulfius 2>/dev/null || echo '?')
V_CC=$(${CC:-cc} -dumpfullversion 2>/dev/null || echo '?')
HTTP_THREADS_USED=${HTTP_THREADS:-4}
DB_POOL_USED=${DB_POOL_SIZE:-4}

fmt_n() { [[ "$1" == nan ]] && echo "—" || printf "%.0f" "$1"; }
fmt_ms() { [[ "$1" == nan ]] && echo "-" || printf "%.2f" "$1"; }
fmt_msu() { [[ "$1" == nan ]] && echo "—" || printf "%.2f ms" "$1"; }
fmt_r() { [[ "$1" == nan ]] && echo "n/a" || printf "%.2f×" "$1"; }
ratio_of() {
	case "$1" in
	mhd) echo "1.00× (HTTP ceiling)" ;;
	communes_get) echo "$(fmt_r "$R_GET_MHD") mhd, $(fmt_r "$R_GET_PG") pgbench" ;;
	list) echo "$(fmt_r "$R_LIST_MHD") mhd" ;;
	maquette) echo "one connection (service time)" ;;
	pgbench) echo "1.00× (DB ceiling)" ;;
	feed) echo "$(fmt_n "$FEED_EPS") events/s, $(fmt_r "$R_FEED_SQL") feed_sql" ;;
	feed_sql) echo "$(fmt_n "$FEED_SQL_EPS") events/s (feed's DB ceiling)" ;;
	patch) echo "one connection (service time)" ;;
	write) echo "1.00× (a write without its event)" ;;
	write_event) echo "time $(fmt_r "$R_WRITE_COST") write" ;;
	moi) echo "$(fmt_r "$R_MOI") communes_get (floor of an authenticated read)" ;;
	conv_get) echo "$(fmt_r "$R_CONV_GET") communes_get, $(fmt_r "$R_CONV_GET_MHD") mhd" ;;
	conv_list) echo "$(fmt_r "$R_CONV_LIST") communes_get, $(fmt_r "$R_CONV_LIST_MHD") mhd" ;;
	conv_p1 | feed_p1) echo "one connection (service time)" ;;
	conv_deep) echo "time $(fmt_r "$R_CONV_DEPTH") conv_p1" ;;
	feed_deep) echo "time $(fmt_r "$R_FEED_DEPTH") feed_p1" ;;
	org_post) echo "$(fmt_r "$R_ORG_TPCB") tpcb, $(fmt_r "$R_ORG_PG") pgbench -S" ;;
	tpcb) echo "1.00× (DB write ceiling)" ;;
	esac
}
what() {
	case "$1" in
	mhd) echo "bare libmicrohttpd, fixed JSON" ;;
	communes_get) echo "GET /api/v1/communes/{code}" ;;
	list) echo "GET /api/v1/communes?departement=XX&limite=50" ;;
	maquette) echo "GET /api/v1/territoires/{id_pvd}/maquette-financiere?annee=YYYY, 200 fiches (wrk -t1 -c1)" ;;
	pgbench) echo "pgbench -S -c 8 -j 2 -M prepared" ;;
	feed) echo "GET /api/v1/evenements?limite=$FEED_PAGE&apres=…, first $FEED_EVENTS events (wrk -t1 -c1)" ;;
	feed_sql) echo "the feed's page query, $FEED_PAGE events (pgbench -c1 -M extended)" ;;
	patch) echo "PATCH /api/v1/fiches-action/{id} with If-Match (wrk -t1 -c1)" ;;
	write) echo "a PATCH's row SQL without journal row (pgbench -c1, write.sql event=0; 1000/latency avg)" ;;
	write_event) echo "the same with its journal row (event=1, drawn at random in the same run)" ;;
	moi) echo "GET /api/v1/moi as that préfecture (token cached, habilitation read, nothing else)" ;;
	conv_get) echo "GET /api/v1/conventions/{id} as a préfecture (token cached, habilitation read, perimeter checked)" ;;
	conv_list) echo "GET /api/v1/conventions?limite=50 as that préfecture ($CONV_ROWS visible)" ;;
	conv_p1) echo "the same first page (wrk -t1 -c1)" ;;
	conv_deep) echo "GET /api/v1/conventions?limite=50&curseur=… at depth $DEPTH (wrk -t1 -c1)" ;;
	feed_p1) echo "GET /api/v1/evenements?limite=50, first page (wrk -t1 -c1)" ;;
	feed_deep) echo "GET /api/v1/evenements?limite=50&apres=… after $FEED_DEPTH events: page 1's events again (wrk -t1 -c1)" ;;
	org_post) echo "POST /api/v1/organisations (État, no SIREN) as that préfecture (wrk -t2 -c8)" ;;
	tpcb) echo "pgbench tpcb-like -c ${DB_POOL_SIZE:-4} (pvd-api's pool) -j 2 -M prepared, scale 10" ;;
	esac
}

# ---------------------------------------------------------------- print

{
	echo
	echo "pvd-api bench — $NOW — commit $COMMIT — $NPROC × $CPU"
	echo "$ROUNDS rounds × ${SECONDS_PER_RUN} s, wrk -t$WRK_THREADS -c$CONNS; pvd-api HTTP_THREADS=$HTTP_THREADS_USED DB_POOL_SIZE=$DB_POOL_USED READ_CACHE_BYTES=${READ_CACHE_BYTES:-8388608} READ_CACHE_MAX_STALENESS_MS=${READ_CACHE_MAX_STALENESS_MS:-0}; load before/after: $LOAD_BEFORE / $LOAD_AFTER"
	printf '%-13s %10s %-5s %8s %8s  %-24s %s\n' line median unit "p50 ms" "p99 ms" "runs" "ratio"
	for line in "${RUN[@]}"; do
		printf '%-13s %10s %-5s %8s %8s  %-24s %s\n' "$line" "$(fmt_n "${MED[$line]}")" \
			"$(unit "$line")" "$(fmt_ms "${P50[$line]}")" "$(fmt_ms "${P99[$line]}")" \
			"${RUNLIST[$line]}" "$(ratio_of "$line")"
	done
	echo
	! shown "$GET_VERDICT" || printf 'GET one commune: %s × mhd (target ≥ %s), p99 %s ms (target ≤ %s)  → %s\n' \
		"$(fmt_r "$R_GET_MHD" | tr -d '×')" "$TARGET_GET_RATIO" "$(fmt_ms "${P99[communes_get]}")" \
		"$TARGET_GET_P99_MS" "$GET_VERDICT"
	! shown "$LIST_VERDICT" || printf 'list page:       %s × mhd (target ≥ %s), p99 %s ms                    → %s\n' \
		"$(fmt_r "$R_LIST_MHD" | tr -d '×')" "$TARGET_LIST_RATIO" "$(fmt_ms "${P99[list]}")" \
		"$LIST_VERDICT"
	! shown "$MAQUETTE_VERDICT" || printf 'maquette, 200 fiches: p50 %s ms, p99 %s ms (target p99 < %s ms)         → %s\n' \
		"$(fmt_ms "${P50[maquette]}")" "$(fmt_ms "${P99[maquette]}")" "$TARGET_MAQUETTE_P99_MS" \
		"$MAQUETTE_VERDICT"
	! shown "$FEED_VERDICT" || printf 'event feed, one client: %s events/s (target ≥ %s), %s × feed_sql (target ≥ %s)  → %s\n' \
		"$(fmt_n "$FEED_EPS")" "$TARGET_FEED_EPS" "$(fmt_r "$R_FEED_SQL" | tr -d '×')" "$TARGET_FEED_RATIO" \
		"$FEED_VERDICT"
	! shown "$WRITE_VERDICT" || printf 'write + event: %s × the write alone (target ≤ %s), event %s ms = %s of a PATCH (target ≤ %s)  → %s\n' \
		"$(fmt_r "$R_WRITE_COST" | tr -d '×')" "$TARGET_WRITE_COST" "$(fmt_ms "$EVENT_MS")" \
		"$(awk -v x="$EVENT_SHARE" 'BEGIN { if (x == "nan") print "n/a"; else printf "%.0f %%", 100 * x }')" \
		"$(awk -v x="$TARGET_EVENT_SHARE" 'BEGIN { printf "%.0f %%", 100 * x }')" "$WRITE_VERDICT"
	! shown "$CONV_GET_VERDICT" || printf 'GET one convention (auth): %s × communes_get (target ≥ %s), %s × mhd, p99 %s ms  → %s\n' \
		"$(fmt_r "$R_CONV_GET" | tr -d '×')" "$TARGET_CONV_GET_RATIO" "$(fmt_r "$R_CONV_GET_MHD" | tr -d '×')" \
		"$(fmt_ms "${P99[conv_get]}")" "$CONV_GET_VERDICT"
	! shown "$CONV_LIST_VERDICT" || printf 'list of 50 conventions (auth): %s × communes_get (target ≥ %s), %s × mhd, p99 %s ms  → %s\n' \
		"$(fmt_r "$R_CONV_LIST" | tr -d '×')" "$TARGET_CONV_LIST_RATIO" "$(fmt_r "$R_CONV_LIST_MHD" | tr -d '×')" \
		"$(fmt_ms "${P99[conv_list]}")" "$CONV_LIST_VERDICT"
	! shown "$ORG_VERDICT" || printf 'journaled write (POST organisation): %s × tpcb-like (target ≥ %s)  → %s\n' \
		"$(fmt_r "$R_ORG_TPCB" | tr -d '×')" "$TARGET_WRITE_RATIO" "$ORG_VERDICT"
	! shown "$READ_P99_VERDICT" || printf 'reads at %s connections: p99 conv_get %s ms, conv_list %s ms (target ≤ %s ms, idle machine)  → %s\n' \
		"$CONNS" "$(fmt_ms "${P99[conv_get]}")" "$(fmt_ms "${P99[conv_list]}")" "$TARGET_READ_P99_MS" "$READ_P99_VERDICT"
	echo "read cache over the run: $READ_CACHE"
	printf 'server memory after the run: VmHWM %s MB, VmRSS %s MB (target VmHWM ≤ 64 MB)  → %s\n' \
		"$HWM_MB" "$RSS_MB" "$(shown "$HWM_VERDICT" && echo "$HWM_VERDICT" || echo "not judged: not every line ran")"
	! shown "$DEPTH_VERDICT" || printf 'depth: conventions (%s) %s × page 1, event feed (%s, page 1'"'"'s events) %s × page 1 (target ≤ %s)  → %s\n' \
		"$DEPTH" "$(fmt_r "$R_CONV_DEPTH" | tr -d '×')" "$FEED_DEPTH" "$(fmt_r "$R_FEED_DEPTH" | tr -d '×')" \
		"$TARGET_DEPTH_COST" "$DEPTH_VERDICT"
	if [[ "$NO_ERRORS" != 1 ]]; then
		echo "ERRORS: non-2xx responses or socket errors:" \
			"$(for l in "${RUN[@]}"; do printf '%s=%s ' "$l" "${BAD[$l]}"; done)"
	fi
	if ((BUSY_RUNS > 0)); then
		echo "WARNING: other processes kept the machine busy (> $BUSY_WARN % CPU, up to $BUSY_MAX %) just before" \
			"$BUSY_RUNS of $((ROUNDS * ${#RUN[@]})) runs: figures are skewed, p99 first; rerun on an idle machine."
	fi
	if [[ "$OVERALL" != PASS ]]; then
		echo
		echo "################################################################"
		echo "###  BELOW TARGET: see the lines marked above                ###"
		echo "################################################################"
	elif ((NOT_RUN > 0)); then
		echo "PASS: every target judged met ($NOT_RUN not run: BENCH_LINES=\"${RUN[*]}\")"
	else
		echo "PASS: all targets met"
	fi
}

# ---------------------------------------------------------------- write results

mkdir -p "$RESULTS"
# A subset of the lines never overwrites a full run's files (subset-* are ignored by git).
PREFIX=$( ((SUBSET)) && echo subset- || true)
OUT_JSON=$RESULTS/${PREFIX}latest.json OUT_MD=$RESULTS/$PREFIX$DATE.md
json_str() { # JSON string literal
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}
json_num() { [[ "$1" == nan ]] && echo null || echo "$1"; }
json_list() { # space-separated numbers -> [a, b]
	awk -v s="$1" 'BEGIN { n = split(s, a, " "); printf "[";
		for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? ", " : ""), (a[i] == "nan" ? "null" : a[i]);
		printf "]" }'
}
bool() { [[ "$1" == 1 ]] && echo true || echo false; }
{
	echo "{"
	echo "  \"date\": $(json_str "$NOW"),"
	echo "  \"commit\": $(json_str "$COMMIT"),"
	echo "  \"machine\": {\"nproc\": $NPROC, \"cpu\": $(json_str "$CPU"), \"memory\": $(json_str "$MEM"), \"kernel\": $(json_str "$KERNEL"), \"load_before\": $(json_str "$LOAD_BEFORE"), \"load_after\": $(json_str "$LOAD_AFTER")},"
	echo "  \"versions\": {\"wrk\": $(json_str "$V_WRK"), \"postgresql\": $(json_str "$V_PG"), \"libmicrohttpd\": $(json_str "$V_MHD"), \"ulfius\": $(json_str "$V_ULFIUS"), \"cc\": $(json_str "$V_CC")},"
	echo "  \"lines_run\": [$(for l in "${RUN[@]}"; do json_str "$l"; echo; done | paste -sd, | sed 's/,/, /g')],"
	echo "  \"subset\": $(bool "$SUBSET"),"
	echo "  \"config\": {\"rounds\": $ROUNDS, \"seconds\": $SECONDS_PER_RUN, \"warmup_seconds\": $WARMUP, \"wrk_threads\": $WRK_THREADS, \"connections\": $CONNS, \"http_threads\": $HTTP_THREADS_USED, \"db_pool_size\": $DB_POOL_USED, \"pgbench\": \"-S -c 8 -j 2 -n -M prepared, scale 10\"},"
	echo "  \"lines\": {"
	n=0
	for line in "${RUN[@]}"; do
		n=$((n + 1))
		printf '    "%s": {"what": %s, "unit": "%s", "median": %s, "runs": %s, "p50_ms": %s, "p99_ms": %s, "p99_ms_runs": %s, "errors": %s}%s\n' \
			"$line" "$(json_str "$(what "$line")")" "$(unit "$line")" "$(json_num "${MED[$line]}")" \
			"$(json_list "$(col "$line" 3 | paste -sd' ')")" "$(json_num "${P50[$line]}")" \
			"$(json_num "${P99[$line]}")" "$(json_list "${P99LIST[$line]}")" "${BAD[$line]}" \
			"$([[ $n -lt ${#RUN[@]} ]] && echo , || true)"
	done
	echo "  },"
	echo "  \"ratios\": {\"communes_get_over_mhd\": $(json_num "$R_GET_MHD"), \"list_over_mhd\": $(json_num "$R_LIST_MHD"), \"communes_get_over_pgbench\": $(json_num "$R_GET_PG"), \"feed_over_feed_sql\": $(json_num "$R_FEED_SQL"), \"write_event_time_over_write\": $(json_num "$R_WRITE_COST"), \"event_share_of_patch\": $(json_num "$EVENT_SHARE")},"
	echo "  \"feed\": {\"events\": $FEED_EVENTS, \"page\": $FEED_PAGE, \"events_per_s\": $(json_num "$FEED_EPS"), \"sql_events_per_s\": $(json_num "$FEED_SQL_EPS")},"
	echo "  \"issue12\": {\"moi_over_communes_get\": $(json_num "$R_MOI"), \"conv_get_over_communes_get\": $(json_num "$R_CONV_GET"), \"conv_list_over_communes_get\": $(json_num "$R_CONV_LIST"), \"conv_get_over_mhd\": $(json_num "$R_CONV_GET_MHD"), \"conv_list_over_mhd\": $(json_num "$R_CONV_LIST_MHD"), \"org_post_over_tpcb\": $(json_num "$R_ORG_TPCB"), \"conv_depth_cost\": $(json_num "$R_CONV_DEPTH"), \"feed_depth_cost\": $(json_num "$R_FEED_DEPTH"), \"feed_depth\": $FEED_DEPTH, \"feed_page_bytes\": [$FEED_P1_BYTES, $FEED_DEEP_BYTES], \"vm_hwm_kb\": ${HWM_KB:-null}, \"vm_rss_kb\": ${RSS_KB:-null}, \"verdicts\": {\"conv_get\": $(json_str "$CONV_GET_VERDICT"), \"conv_list\": $(json_str "$CONV_LIST_VERDICT"), \"write\": $(json_str "$ORG_VERDICT"), \"read_p99\": $(json_str "$READ_P99_VERDICT"), \"memory\": $(json_str "$HWM_VERDICT"), \"depth\": $(json_str "$DEPTH_VERDICT")}},"
	echo "  \"write_event\": {\"event_ms\": $(json_num "$EVENT_MS"), \"write_ms\": $(json_num "$(div 1000 "${MED[write]}")"), \"patch_ms\": $(json_num "$(div 1000 "${MED[patch]}")")},"
	echo "  \"targets\": {"
	echo "    \"communes_get\": {\"ratio_min\": $TARGET_GET_RATIO, \"p99_max_ms\": $TARGET_GET_P99_MS, \"ratio_ok\": $(bool "$GET_RATIO_OK"), \"p99_ok\": $(bool "$GET_P99_OK"), \"verdict\": $(json_str "$GET_VERDICT")},"
	echo "    \"list\": {\"ratio_min\": $TARGET_LIST_RATIO, \"ratio_ok\": $(bool "$LIST_RATIO_OK"), \"verdict\": $(json_str "$LIST_VERDICT")},"
	echo "    \"maquette\": {\"p99_max_ms\": $TARGET_MAQUETTE_P99_MS, \"fiches\": 200, \"fiches_in_year_2025\": $MAQUETTE_FICHES, \"p99_ok\": $(bool "$MAQUETTE_P99_OK"), \"verdict\": $(json_str "$MAQUETTE_VERDICT")},"
	echo "    \"feed\": {\"events_per_s_min\": $TARGET_FEED_EPS, \"ratio_min\": $TARGET_FEED_RATIO, \"events_per_s_ok\": $(bool "$FEED_EPS_OK"), \"ratio_ok\": $(bool "$FEED_RATIO_OK"), \"verdict\": $(json_str "$FEED_VERDICT")},"
	echo "    \"write_event\": {\"time_ratio_max\": $TARGET_WRITE_COST, \"share_of_patch_max\": $TARGET_EVENT_SHARE, \"time_ratio_ok\": $(bool "$WRITE_COST_OK"), \"share_ok\": $(bool "$EVENT_SHARE_OK"), \"verdict\": $(json_str "$WRITE_VERDICT")}"
	echo "  },"
	echo "  \"machine_busy_before_runs_pct\": $(json_list "$(cut -f7 "$RUNS" | paste -sd' ')"),"
	echo "  \"no_errors\": $(bool "$NO_ERRORS"),"
	echo "  \"verdict\": $(json_str "$OVERALL")"
	echo "}"
} >"$OUT_JSON.tmp"
node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$OUT_JSON.tmp" ||
	die "internal error: invalid JSON in $OUT_JSON.tmp"
mv "$OUT_JSON.tmp" "$OUT_JSON"

{
	echo "# pvd-api bench — $DATE"
	echo
	echo "Run $NOW on commit \`$COMMIT\` by \`make bench\` (tests/bench/bench.sh)."
	echo "$ROUNDS interleaved rounds × ${SECONDS_PER_RUN} s per line after a ${WARMUP} s warm-up;"
	echo "wrk -t$WRK_THREADS -c$CONNS --latency; pvd-api HTTP_THREADS=$HTTP_THREADS_USED, DB_POOL_SIZE=$DB_POOL_USED,"
	echo "LOG_LEVEL=warn. Figures are medians over the rounds; ratios are ratios of the medians."
	if ((SUBSET)); then
		echo
		echo "Lines run (BENCH_LINES and the lines their ratios divide by): ${RUN[*]}. A ratio over a"
		echo "line not run is n/a; targets whose lines did not all run are left out; memory is not judged."
	fi
	echo
	echo "| line | what | median | p50 | p99 | runs | ratio |"
	echo "|---|---|---|---|---|---|---|"
	for line in "${RUN[@]}"; do
		echo "| $line | \`$(what "$line")\` | **$(fmt_n "${MED[$line]}") $(unit "$line")** | $(fmt_msu "${P50[$line]}") | $(fmt_msu "${P99[$line]}") | ${RUNLIST[$line]} | $(ratio_of "$line") |"
	done
	echo
	echo "| target (issue 2 §6, issue 9 §3, issue 11) | measured | verdict |"
	echo "|---|---|---|"
	! shown "$GET_VERDICT" || echo "| GET one commune ≥ ${TARGET_GET_RATIO}× mhd, p99 ≤ ${TARGET_GET_P99_MS} ms | $(fmt_r "$R_GET_MHD"), p99 $(fmt_ms "${P99[communes_get]}") ms | $GET_VERDICT |"
	! shown "$LIST_VERDICT" || echo "| list page ≥ ${TARGET_LIST_RATIO}× mhd | $(fmt_r "$R_LIST_MHD") | $LIST_VERDICT |"
	! shown "$MAQUETTE_VERDICT" || echo "| maquette of a 200-fiche plan p99 < ${TARGET_MAQUETTE_P99_MS} ms (issue 9 §3) | p50 $(fmt_ms "${P50[maquette]}") ms, p99 $(fmt_ms "${P99[maquette]}") ms | $MAQUETTE_VERDICT |"
	! shown "$FEED_VERDICT" || echo "| event feed, one client ≥ ${TARGET_FEED_EPS} events/s and ≥ ${TARGET_FEED_RATIO}× feed_sql (issue 11) | $(fmt_n "$FEED_EPS") events/s, $(fmt_r "$R_FEED_SQL") feed_sql ($(fmt_n "$FEED_SQL_EPS") events/s) | $FEED_VERDICT |"
	! shown "$WRITE_VERDICT" || echo "| write + event ≤ ${TARGET_WRITE_COST}× the write's time, event ≤ $(awk -v x="$TARGET_EVENT_SHARE" 'BEGIN { printf "%.0f %%", 100 * x }') of a PATCH (issue 11) | $(fmt_r "$R_WRITE_COST"), event $(fmt_ms "$EVENT_MS") ms = $(awk -v x="$EVENT_SHARE" 'BEGIN { if (x == "nan") print "n/a"; else printf "%.0f %%", 100 * x }') of a PATCH ($(fmt_ms "$(div 1000 "${MED[patch]}")") ms) | $WRITE_VERDICT |"
	! shown "$CONV_GET_VERDICT" || echo "| authenticated GET of a convention ≥ ${TARGET_CONV_GET_RATIO}× the public GET of a commune (issue 12) | $(fmt_r "$R_CONV_GET") communes_get, $(fmt_r "$R_CONV_GET_MHD") mhd | $CONV_GET_VERDICT |"
	! shown "$CONV_LIST_VERDICT" || echo "| authenticated list of 50 conventions ≥ ${TARGET_CONV_LIST_RATIO}× the public GET (issue 12) | $(fmt_r "$R_CONV_LIST") communes_get, $(fmt_r "$R_CONV_LIST_MHD") mhd | $CONV_LIST_VERDICT |"
	! shown "$ORG_VERDICT" || echo "| validated, journaled write (POST organisation) ≥ ${TARGET_WRITE_RATIO}× pgbench tpcb-like (issue 12) | $(fmt_r "$R_ORG_TPCB") tpcb | $ORG_VERDICT |"
	! shown "$READ_P99_VERDICT" || echo "| reads at $CONNS connections p99 ≤ ${TARGET_READ_P99_MS} ms, idle machine (issue 12) | conv_get $(fmt_ms "${P99[conv_get]}") ms, conv_list $(fmt_ms "${P99[conv_list]}") ms | $READ_P99_VERDICT |"
	echo "| server VmHWM ≤ 64 MB after the run (issue 12) | VmHWM $HWM_MB MB, VmRSS $RSS_MB MB | $(shown "$HWM_VERDICT" && echo "$HWM_VERDICT" || echo "not judged: not every line ran") |"
	! shown "$DEPTH_VERDICT" || echo "| page at depth $DEPTH ≤ ${TARGET_DEPTH_COST}× page 1 (issue 12) | conventions $(fmt_r "$R_CONV_DEPTH"), event feed $(fmt_r "$R_FEED_DEPTH") (depth $FEED_DEPTH, page 1's events: $FEED_P1_BYTES and $FEED_DEEP_BYTES bytes) | $DEPTH_VERDICT |"
	echo
	echo "Errors (non-2xx responses + socket errors, all runs):" \
		"$(for l in "${RUN[@]}"; do printf '%s %s, ' "$l" "${BAD[$l]}"; done | sed 's/, $/./')"
	echo "CPU use of the machine by other processes, sampled 0.5 s before each run (%, in run order):" \
		"$(cut -f7 "$RUNS" | paste -sd' ')$( ((BUSY_RUNS > 0)) && echo " — **skewed: $BUSY_RUNS runs above $BUSY_WARN %**" || true)."
	echo
	echo "## Machine"
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| CPU | $NPROC × $CPU |"
	echo "| memory | $MEM |"
	echo "| kernel | $KERNEL |"
	echo "| load average at start / at end (end includes the bench itself) | $LOAD_BEFORE / $LOAD_AFTER |"
	echo "| wrk | $V_WRK |"
	echo "| PostgreSQL | $V_PG |"
	echo "| libmicrohttpd / ulfius | $V_MHD / $V_ULFIUS |"
	echo "| cc | $V_CC |"
	echo
	echo "wrk, pvd-api, mhd_hello and PostgreSQL share the same $NPROC cores: compare ratios"
	echo "taken in one run, not absolute figures across runs."
} >"$OUT_MD.tmp"
mv "$OUT_MD.tmp" "$OUT_MD"
note "wrote $OUT_JSON and $OUT_MD"
