--- A small ring buffer of what the plugin did (requests, cancels, responses, shown, accepted).
--- `:Ghostline log` prints it; tests read it through `require('ghostline.trace').events()`.
local M = {}

local MAX = 500
local events = {} ---@type table[]
local start = vim.uv.hrtime()

--- Record an event. `fields` is copied into the event next to `event` and `ms`.
---@param event string
---@param fields table?
function M.add(event, fields)
  local e = vim.tbl_extend('force', fields or {}, {
    event = event,
    ms = math.floor((vim.uv.hrtime() - start) / 1e6),
  })
  events[#events + 1] = e
  if #events > MAX then
    table.remove(events, 1)
  end
end

--- A copy of the events, oldest first; only those named `name` when given.
---@param name string?
---@return table[]
function M.events(name)
  local out = {}
  for _, e in ipairs(events) do
    if name == nil or e.event == name then
      out[#out + 1] = vim.deepcopy(e)
    end
  end
  return out
end

function M.clear()
  events = {}
end

--- One line per event, for `:Ghostline log`.
---@return string[]
function M.lines()
  local out = {}
  for _, e in ipairs(events) do
    local parts = {}
    for k, v in vim.spairs(e) do
      if k ~= 'event' and k ~= 'ms' then
        parts[#parts + 1] = ('%s=%s'):format(k, type(v) == 'table' and vim.inspect(v) or v)
      end
    end
    out[#out + 1] = ('%8d ms  %-10s %s'):format(e.ms, e.event, table.concat(parts, ' '))
  end
  return out
end

return M
