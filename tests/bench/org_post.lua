-- wrk script (issue 12 §4): a validated, journaled write, POST /api/v1/organisations of a new
-- association with a random SIREN (a new row, its journal row and event, one transaction),
-- as a préfecture (habilitation read on every request).
--
--   wrk -t2 -c8 -d10s --latency -s tests/bench/org_post.lua URL -- TOKEN
--
-- SIRENs are drawn among 90 million (valid Luhn keys): a repeat (409) is counted by wrk as an
-- error and is rare (about 1 in 4,000 over 50,000 rows). With BENCH_STRICT=1 every status other than
-- 201 is counted.

dofile("tests/bench/wrk_report.lua") -- strict, setup(), done()
local headers

function init(args)
    local token = args[1]
    if token == nil then
        error("org_post.lua: pass TOKEN after --")
    end
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
    headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
    not_ok = 0
end

-- A SIREN of 8 random digits and its Luhn key (R42: a SIREN without a valid key is 422).
local function siren_random()
    local digits, sum = {}, 0
    for i = 1, 8 do
        local d = (i == 1) and math.random(1, 9) or math.random(0, 9)
        digits[i] = d
        if i % 2 == 0 then
            d = d * 2
            if d > 9 then
                d = d - 9
            end
        end
        sum = sum + d
    end
    digits[9] = (10 - sum % 10) % 10
    return table.concat(digits)
end

function request()
    local siren = siren_random()
    return wrk.format("POST", "/api/v1/organisations", headers,
        '{"siren":"' .. siren .. '","nature":"association","nom":"Association de banc ' .. siren .. '"}')
end

if strict then
    function response(status, headers_, body)
        if status ~= 201 then
            not_ok = not_ok + 1
        end
    end
end
