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

return M
