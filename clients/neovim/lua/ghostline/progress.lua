--- Work-done progress from the server (`$/progress`, seen through the LspProgress event):
--- kept for `:Ghostline status` and `statusline()`, echoed when the `progress` option is on.
local state = require('ghostline.state')
local trace = require('ghostline.trace')

local M = {}

---@param p table
---@return string
local function format(p)
  local s = p.title or ''
  if p.message and p.message ~= '' then
    s = s .. ': ' .. p.message
  end
  if p.percentage then
    s = ('%s (%d%%)'):format(s, p.percentage)
  end
  return s
end

--- Active progress as one line ('' when idle).
---@return string
function M.text()
  local parts = {}
  for _, p in vim.spairs(state.progress) do
    parts[#parts + 1] = format(p)
  end
  return table.concat(parts, '; ')
end

---@param args vim.api.keyset.create_autocmd.callback_args
function M.on_progress(args)
  local data = args.data or {}
  local client = vim.lsp.get_client_by_id(data.client_id or -1)
  if not client or client.name ~= 'ghostline' then
    return
  end
  local params = data.params or {}
  local value = params.value
  if type(value) ~= 'table' then
    return
  end
  local token = tostring(params.token)
  local p = state.progress[token] or {}
  p.token = params.token
  p.client_id = data.client_id
  if value.kind == 'begin' then
    p.cancellable = value.cancellable == true
  elseif value.cancellable ~= nil then
    p.cancellable = value.cancellable == true
  end
  p.title = value.title or p.title
  p.message = value.message or p.message
  p.percentage = value.percentage or p.percentage
  trace.add('progress', { kind = value.kind, title = p.title, message = value.message })
  local line
  if value.kind == 'end' then
    state.progress[token] = nil
    line = (p.title or 'done') .. (value.message and (': ' .. value.message) or '')
    table.insert(state.finished, line)
    if #state.finished > 5 then
      table.remove(state.finished, 1)
    end
  else
    state.progress[token] = p
    line = format(p)
  end
  if require('ghostline.config').options.progress and #vim.api.nvim_list_uis() > 0 then
    local width = math.max(vim.o.columns - 15, 10)
    local msg = ('ghostline: %s'):format(line)
    vim.api.nvim_echo({ { msg:sub(1, width), 'Comment' } }, false, {})
  end
  pcall(vim.cmd.redrawstatus)
end

--- Ask the server to cancel its cancellable work in progress (window/workDoneProgress/cancel).
---@return integer how many
function M.cancel()
  local n = 0
  for _, p in pairs(state.progress) do
    local client = p.cancellable and vim.lsp.get_client_by_id(p.client_id)
    if client then
      client:notify('window/workDoneProgress/cancel', { token = p.token })
      trace.add('progress-cancel', { title = p.title })
      n = n + 1
    end
  end
  return n
end

return M
