-- wrk script: GET /api/v1/territoires/{id_pvd}/maquette-financiere?annee=YYYY
-- over the years 2024–2029 of the plan seeded by tests/bench/maquette_seed.mjs.
--
--   wrk -t1 -c1 -d10s --latency -s tests/bench/maquette.lua URL -- ID_PVD TOKEN
--
-- One connection: the figure is the service time of one maquette (issue 9
-- §3: under 50 ms for a 200-fiche plan), not a throughput under queueing.
-- With BENCH_STRICT=1 a response() hook counts every status other than 200.

local requests = {}
dofile("tests/bench/wrk_report.lua") -- strict, setup(), done()

function init(args)
    local id_pvd, token = args[1], args[2]
    if id_pvd == nil or token == nil then
        error("maquette.lua: pass ID_PVD and TOKEN after --")
    end
    local headers = {["Authorization"] = "Bearer " .. token}
    for annee = 2024, 2029 do
        table.insert(requests, wrk.format("GET", "/api/v1/territoires/" .. id_pvd ..
            "/maquette-financiere?annee=" .. annee, headers))
    end
    not_ok = 0
    n = 0
end

function request()
    n = n + 1
    return requests[(n % #requests) + 1]
end

if strict then
    function response(status, headers, body)
        if status ~= 200 then
            not_ok = not_ok + 1
        end
    end
end
