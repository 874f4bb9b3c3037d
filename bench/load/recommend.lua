-- wrk script: POST /api/v1/recommendations with 15 ratings per request, cycling through the request
-- bodies in the file named by $CINEFACTOR_BODIES (one JSON body per line, written by run_load.sh).
local bodies = {}
local counter = 0

function init(args)
  local path = os.getenv("CINEFACTOR_BODIES")
  local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  for line in file:lines() do
    if #line > 0 then bodies[#bodies + 1] = line end
  end
  file:close()
  assert(#bodies > 0, "no request bodies in " .. path)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])
end

local non_200 = 0
function response(status, headers, body)
  if status ~= 200 then
    non_200 = non_200 + 1
    if non_200 <= 3 then io.stderr:write("non-200 answer " .. status .. ": " .. body .. "\n") end
  end
end
