-- wrk script: GET /api/v1/communes?departement=XX&limite=50 (first page) over real
-- département codes (those having communes-actuelles).
--
--   wrk -t2 -c32 -d10s --latency -s tests/bench/list.lua URL -- CODES.lua
--
-- CODES.lua is a Lua chunk returning {codes = {"01001", ...}, departements = {...}},
-- written by tests/bench/bench.sh from @etalab/decoupage-administratif's communes.json.
-- The requests are formatted once per thread in init() and picked at random in
-- request(), so the client spends little CPU per request (it shares the cores with
-- the server). Responses other than 2xx are counted by wrk itself (status > 399,
-- summary.errors.status) and printed by done(); with BENCH_STRICT=1 a response()
-- hook also counts every status other than 200 (costs client CPU: not for figures).

local requests = {}
dofile("tests/bench/wrk_report.lua") -- strict, setup(), done()

function init(args)
    local path = args[1]
    if path == nil then
        error("list.lua: pass the codes file after --")
    end
    local data = dofile(path)
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
    for i, dep in ipairs(data.departements) do
        requests[i] = wrk.format("GET", "/api/v1/communes?departement=" .. dep .. "&limite=50")
    end
    not_ok = 0
end

function request()
    return requests[math.random(#requests)]
end

if strict then
    function response(status, headers, body)
        if status ~= 200 then
            not_ok = not_ok + 1
        end
    end
end
