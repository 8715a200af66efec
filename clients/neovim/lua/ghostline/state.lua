--- What the plugin knows about the server beyond the client object: last error, progress.
local M = {}

---@type {message: string, time: string}?
M.last_error = nil

--- Progress reports in flight, by token: {title, message, percentage}.
---@type table<string, table>
M.progress = {}

--- The last finished progress reports, newest last (e.g. "Ghostline: <model> ready").
---@type string[]
M.finished = {}

--- Remember an error for `:Ghostline status` and `:checkhealth ghostline`.
---@param message string
function M.set_error(message)
  M.last_error = { message = message, time = os.date('%H:%M:%S') --[[@as string]] }
  require('ghostline.trace').add('error', { message = message })
end

--- The ghostline clients, optionally only those attached to `bufnr`.
---@param bufnr integer?
---@return vim.lsp.Client[]
function M.clients(bufnr)
  return vim.lsp.get_clients({ name = 'ghostline', bufnr = bufnr })
end

--- The server's own status (`workspace/executeCommand` "ghostline.status"): state, model,
--- modelPath, template, backend, error, ... Nil when the server does not offer it.
---@param client vim.lsp.Client
---@param timeout_ms integer
---@return table?
function M.server_status(client, timeout_ms)
  local commands = vim.tbl_get(client.server_capabilities or {}, 'executeCommandProvider', 'commands')
  if type(commands) ~= 'table' or not vim.list_contains(commands, 'ghostline.status') then
    return nil
  end
  local resp = client:request_sync(
    'workspace/executeCommand',
    { command = 'ghostline.status', arguments = {} },
    timeout_ms
  )
  return resp and type(resp.result) == 'table' and resp.result or nil
end

--- Today's totals of the server's usage ledger from a `ghostline.status` answer, as one line
--- (nil when the server has none: the ledger is off, or an older server).
---@param status table?
---@return string?
function M.usage_line(status)
  local usage = status and status.usageToday
  if type(usage) ~= 'table' or type(usage.shown) ~= 'number' then
    return nil
  end
  local rate = usage.acceptanceRate
  local accepted = ('%d accepted'):format(usage.accepted or 0)
  if type(rate) == 'number' then
    accepted = ('%s (%d%%)'):format(accepted, math.floor(rate * 100 + 0.5))
  elseif usage.shown > 0 then
    accepted = accepted .. ' (rate unknown)'
  end
  return ('today: %d shown, %s, %d escalations'):format(usage.shown, accepted, usage.escalations or 0)
end

return M
