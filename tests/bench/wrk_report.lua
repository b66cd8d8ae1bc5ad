-- Shared by the wrk scripts of tests/bench, loaded first by each of them with
-- dofile("tests/bench/wrk_report.lua") (bench.sh runs wrk from the repository root).
-- Defines `strict` (BENCH_STRICT=1: each script's response() counts, in the global
-- `not_ok` of its thread, every answer that is not what it expects), setup() that keeps
-- every thread, and done() that prints the line bench.sh reads:
--   bench: requests=N non2xx=N strict_non200=N|- socket_errors=N

strict = os.getenv("BENCH_STRICT") == "1"
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function done(summary, latency, requests_)
    local not_ok_total = 0
    for _, thread in ipairs(threads) do
        not_ok_total = not_ok_total + (thread:get("not_ok") or 0)
    end
    local e = summary.errors
    io.write(string.format("bench: requests=%d non2xx=%d strict_non200=%s socket_errors=%d\n",
        summary.requests, e.status, strict and tostring(not_ok_total) or "-",
        e.connect + e.read + e.write + e.timeout))
end
