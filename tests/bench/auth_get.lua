-- wrk script (issue 12 §4): authenticated GETs, one of PATHS picked at random per request,
-- all with the same bearer token (a real caller's: verified once, then from the
-- verified-token cache; its habilitation and the answer read from the database, or from the
-- strict read cache when the route is one of its and nothing was written since).
--
--   wrk -t2 -c32 -d10s --latency -s tests/bench/auth_get.lua URL -- TOKEN PATHS.lua
--
-- PATHS.lua is a Lua chunk returning a list of paths ("/api/v1/conventions/<id>", ...),
-- written by tests/bench/bench.sh. The requests are formatted once per thread in init().
-- With BENCH_STRICT=1 every status other than 200 is counted.

local requests = {}
dofile("tests/bench/wrk_report.lua") -- strict, setup(), done()

function init(args)
    local token, file = args[1], args[2]
    if token == nil or file == nil then
        error("auth_get.lua: pass TOKEN and PATHS.lua after --")
    end
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
    for i, path in ipairs(dofile(file)) do
        requests[i] = wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
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
