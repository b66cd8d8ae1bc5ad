-- wrk script: a sync client paging through the event feed, GET /api/v1/evenements?limite=500
-- then &apres=<suivant> of each page, over the first PAGES pages (PAGES × 500 events, all
-- full pages), then again from the start.
--
--   wrk -t1 -c1 -d10s --latency -s tests/bench/feed.lua URL -- TOKEN PAGES
--
-- One connection, as one client reads its feed page after page: events/s = req/s × 500.
-- The cursor of each page is read from the previous answer (one connection: response()
-- runs before the next request()). With BENCH_STRICT=1 every status other than 200, and
-- every page that does not hold 500 events, is counted.

dofile("tests/bench/wrk_report.lua") -- strict, setup(), done()
local token, pages
local cursor, page = nil, 0

function init(args)
    token, pages = args[1], tonumber(args[2])
    if token == nil or pages == nil then
        error("feed.lua: pass TOKEN and PAGES after --")
    end
    not_ok = 0
end

function request()
    local path = "/api/v1/evenements?limite=500"
    if cursor then
        path = path .. "&apres=" .. cursor
    end
    return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end

function response(status, headers, body)
    if status ~= 200 then
        not_ok = not_ok + 1
        cursor, page = nil, 0
        return
    end
    if strict then
        local _, n = body:gsub('"ressource":', "")
        if n ~= 500 then
            not_ok = not_ok + 1
        end
    end
    page = page + 1
    if page >= pages then
        cursor, page = nil, 0
    else
        cursor = body:match('"suivant":"([^"]+)"')
    end
end
