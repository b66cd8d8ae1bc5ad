-- wrk script: PATCH /api/v1/fiches-action/{id} {"intitule": …} with If-Match, each
-- request carrying the ETag the previous answer gave (one connection: response() runs
-- before the next request()). Every PATCH is a real write: one transaction, the fiche's
-- rules read back, one journal row (the event of the feed, the webhooks' outbox).
--
--   wrk -t1 -c1 -d10s --latency -s tests/bench/patch.lua URL -- FICHE_ID TOKEN ETAG
--
-- With BENCH_STRICT=1 every status other than 200 is counted (wrk counts non-2xx anyway).

dofile("tests/bench/wrk_report.lua") -- strict, setup(), done()
local id, token, etag
local n = 0

function init(args)
    id, token, etag = args[1], args[2], args[3]
    if id == nil or token == nil or etag == nil then
        error("patch.lua: pass FICHE_ID, TOKEN and ETAG after --")
    end
    not_ok = 0
end

function request()
    n = n + 1
    return wrk.format("PATCH", "/api/v1/fiches-action/" .. id, {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/merge-patch+json",
        ["If-Match"] = etag,
    }, '{"intitule":"Fiche du bench ' .. n .. '"}')
end

function response(status, headers, body)
    if status == 200 then
        etag = headers["ETag"] or headers["etag"] or headers["Etag"] or etag
    elseif strict then
        not_ok = not_ok + 1
    end
end
