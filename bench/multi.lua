-- wrk script of bench/multi.sh: getSumeDePlataPePersoana spread over several
-- institutions on one server. Every wrk thread reads its own file of pre-signed requests,
-- one a line: PATH<tab>KIND<tab>ORDER<tab>TOTAL<tab>BODY (make-requests' lines, each
-- prefixed with the path of the institution whose key signed it), and picks lines at
-- random. An answer other than a 200 holding a check is an error and fails the run.
--
-- Arguments (after `--`): PREFIX   request files are PREFIX.<thread>.txt

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

function init(args)
   paths, bodies = {}, {}
   local n = 0
   for line in io.lines(args[1] .. "." .. id .. ".txt") do
      local p, b = line:match("^(%S+)\t%w+\t%d+\t%d+\t(.*)$")
      n = n + 1
      paths[n], bodies[n] = p, b
   end
   count = n
   math.randomseed(id + 1)
   answered, errors, first_error = 0, 0, ""
end

function request()
   local i = math.random(count)
   return wrk.format("POST", paths[i], { ["Content-Type"] = "text/xml; charset=utf-8", ["SOAPAction"] = '""' }, bodies[i])
end

function response(status, headers, body)
   answered = answered + 1
   if status ~= 200 or not body:find("<check>", 1, true) then
      errors = errors + 1
      if first_error == "" then first_error = status .. " " .. body:sub(1, 200) end
   end
end

function done(summary, latency, requests)
   local ans, err, first = 0, 0, ""
   for _, t in ipairs(threads) do
      ans = ans + t:get("answered")
      err = err + t:get("errors")
      if first == "" then first = t:get("first_error") end
   end
   io.write(string.format("RESULT answered=%d errors=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
      ans, err, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
   if err > 0 then io.write("FIRST_ERROR " .. first .. "\n") end
end
