-- wrk script of the benchmark (bench/run.sh). Every wrk thread reads its own file of
-- pre-signed requests (bench/src/bin/make-requests.rs), sends them and checks every answer
-- against the answer its line expects. Any other answer is an error and fails the run.
--
-- Arguments (after `--`): PREFIX MODE AGAINST
--   PREFIX   request files are PREFIX.<thread>.txt
--   MODE     random: pick lines at random (statements may repeat)
--            once:   send each line once, in order (payments must never repeat)
--   AGAINST  ours: check each answer; ceiling: HTTP 200, and statement lines as ours are
--
-- Run it with as many threads as connections: one connection per thread means each answer
-- belongs to the last request the thread made, so it can be checked against that line.
--
-- Report (stdout): one THREAD line per thread (which lines were sent; `pending` is the one
-- still without an answer when wrk stopped; `skipped` the one given to wrk's dry run) and
-- one RESULT line.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

function init(args)
   prefix, mode, against = args[1], args[2], args[3]
   kinds, totals, bodies = {}, {}, {}
   local n = 0
   for line in io.lines(prefix .. "." .. id .. ".txt") do
      local k, o, t, b = line:match("^(%w+)\t(%d+)\t(%d+)\t(.*)$")
      n = n + 1
      kinds[n], totals[n], bodies[n] = k, tonumber(t), b
   end
   count = n
   math.randomseed(id + 1)
   nexti, pending = 0, 0
   skipped, first_error = "", ""
   answered, errors, exhausted, paid = 0, 0, 0, 0
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
   wrk.headers["SOAPAction"] = '""'
end

function request()
   if pending ~= 0 then
      -- The previous request got no answer: wrk called request() once for its dry run.
      skipped = skipped .. pending .. ","
   end
   local i
   if mode == "random" then
      i = math.random(count)
   else
      nexti = nexti + 1
      if nexti > count then
         -- Out of pre-signed payments: never send one twice. Ask for the WSDL instead and
         -- count it as an error, so the run fails and says so.
         exhausted = exhausted + 1
         pending = 0
         nexti = count
         return wrk.format("GET", wrk.path .. "?wsdl", {}, nil)
      end
      i = nexti
   end
   pending = i
   return wrk.format(nil, nil, nil, bodies[i])
end

local HEX40 = "^" .. string.rep("%x", 40) .. "</check>"

-- A statement: a whole result with a 40-hex-digit check. Plain finds and one anchored
-- match: the client shares the 2 cores with the server, so its checks must be cheap.
local function statement(body)
   if body:find("</getSumeDePlataPePersoanaResult>", 1, true) == nil then return false end
   local at = body:find("<check>", 1, true)
   return at ~= nil and body:find(HEX40, at + 7) ~= nil
end

local function expected(kind, status, body)
   if against == "ceiling" then
      -- The ceiling's fixed body is a statement: statement lines are checked as ours are,
      -- so that both servers are driven by the same client work (the ceiling's share of
      -- the 2 cores is not inflated by a lighter client).
      return status == 200 and (kind ~= "S" or statement(body))
   elseif kind == "S" then
      return status == 200 and statement(body)
   elseif kind == "P" then
      return status == 200
         and body:find("<inregistrareIncasariResult>true</inregistrareIncasariResult>", 1, true) ~= nil
   elseif kind == "F1" then
      return status == 500 and body:find("<faultcode>1</faultcode>", 1, true) ~= nil
   elseif kind == "F2" then
      return status == 500 and body:find("<faultcode>2</faultcode>", 1, true) ~= nil
   end
   return false
end

function response(status, headers, body)
   local i = pending
   pending = 0
   if i == 0 then
      errors = errors + 1
      if first_error == "" then first_error = "answer to no request (requests exhausted)" end
      return
   end
   local kind = kinds[i]
   if expected(kind, status, body) then
      answered = answered + 1
      if kind == "P" then paid = paid + totals[i] end
   else
      errors = errors + 1
      if first_error == "" then
         first_error = kind .. " got HTTP " .. status .. ": " .. body:sub(1, 400)
      end
   end
end

function done(summary, latency, requests)
   local answered, errors, exhausted, paid = 0, 0, 0, 0
   local first_error = ""
   for _, t in ipairs(threads) do
      answered = answered + t:get("answered")
      errors = errors + t:get("errors")
      exhausted = exhausted + t:get("exhausted")
      paid = paid + t:get("paid")
      if first_error == "" then first_error = t:get("first_error") end
      io.write(string.format("THREAD id=%d next=%d pending=%d skipped=%s answered=%d errors=%d\n",
         t:get("id"), t:get("nexti"), t:get("pending"), t:get("skipped"),
         t:get("answered"), t:get("errors")))
   end
   local e = summary.errors
   local socket_errors = e.connect + e.read + e.write + e.timeout
   local secs = summary.duration / 1e6
   io.write(string.format(
      "RESULT requests=%d secs=%.2f rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f answered=%d errors=%d socket_errors=%d exhausted=%d paid_bani=%.0f\n",
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      answered, errors, socket_errors, exhausted, paid))
   if first_error ~= "" then
      io.write("FIRST_ERROR " .. first_error:gsub("\n", " ") .. "\n")
   end
end
