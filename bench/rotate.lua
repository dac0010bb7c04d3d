-- Requests as many signed-in customers (python -m bench --customers-in-load N): each line of
-- the file named after `--` is one customer's request, "path<TAB>header: value<TAB>...";
-- every thread takes them in turn from its own starting point, so consecutive requests come
-- from different customers with their own data. Counts non-2xx with count_non2xx.lua.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "count_non2xx.lua")  -- setup, response and done: the non-2xx count
local count_init = init

function init(args)
  count_init(args)
  requests = {}
  for line in io.lines(args[1]) do
    local fields = {}
    for field in string.gmatch(line, "[^\t]+") do
      table.insert(fields, field)
    end
    local headers = {}
    for i = 2, #fields do
      local name, value = string.match(fields[i], "^([^:]+): (.*)$")
      headers[name] = value
    end
    table.insert(requests, wrk.format("GET", fields[1], headers))
  end
  turn = math.random(#requests)
end

function request()
  turn = turn % #requests + 1
  return requests[turn]
end
