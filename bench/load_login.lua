-- wrk script for bench/load.sh: POST <base>/log_in with a wrong password, rotating over
-- known accounts, and counting the answers by status.
--
--   wrk -t2 -c32 -d10s -s bench/load_login.lua http://127.0.0.1:PORT/users/log_in -- CONFIG
--
-- CONFIG is a file written by bench/load_client.py: line 1 the Cookie header (the
-- pre-session `sigra_csrf` cookie), line 2 the matching `_csrf` form value, then one email
-- per line. The CSRF token is an HMAC of that cookie, so one pair serves every request.
-- `done` prints one line `STATUS <code> <count>` per status, read back by load_client.py.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("offset", #threads * 7)
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  local cookie = file:read("*l")
  local token = file:read("*l")
  bodies = {}
  for email in file:lines() do
    if email ~= "" then
      table.insert(bodies, "_csrf=" .. urlencode(token) .. "&email=" .. urlencode(email)
        .. "&password=" .. urlencode("definitely the wrong password 7"))
    end
  end
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Cookie"] = cookie
  -- Each thread starts at a different account.
  next_body = (offset or 0) % #bodies
  counts = {}
end

function request()
  next_body = next_body % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[next_body])
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for status, n in pairs(c) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("STATUS %d %d\n", status, n))
  end
end
