-- wrk script (issue 12 §4): a validated, journaled write, POST /api/v1/organisations of a new
-- État organisation (no SIREN: the only nature without one, so no repeat can be refused 409
-- however many runs the database has seen), as a préfecture (habilitation read on every
-- request): the body validated, the row, its journal row and event in one transaction.
--
--   wrk -t2 -c8 -d10s --latency -s tests/bench/org_post.lua URL -- TOKEN
--
-- With BENCH_STRICT=1 every status other than 201 is counted.

dofile("tests/bench/wrk_report.lua") -- strict, setup(), done()
local request_text

function init(args)
    local token = args[1]
    if token == nil then
        error("org_post.lua: pass TOKEN after --")
    end
    request_text = wrk.format("POST", "/api/v1/organisations",
        {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"},
        '{"nature":"etat","nom":"État — organisation de banc"}')
    not_ok = 0
end

function request()
    return request_text
end

if strict then
    function response(status, headers, body)
        if status ~= 201 then
            not_ok = not_ok + 1
        end
    end
end
