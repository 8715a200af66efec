--- Ghostline for Neovim: the LSP client config, ghost text, keymaps and commands.
---
--- `require('ghostline').setup(opts)` configures and enables the server; without it,
--- `vim.lsp.enable('ghostline')` uses the defaults of `lsp/ghostline.lua`.
local config = require('ghostline.config')
local ghost = require('ghostline.ghost')
local state = require('ghostline.state')
local trace = require('ghostline.trace')

local M = {}

--- Configure the plugin and the `ghostline` LSP config; see `:h ghostline-setup`.
---@param opts table?
function M.setup(opts)
  local o = config.set(opts)
  vim.lsp.config('ghostline', config.lsp_config(o))
  for _, client in ipairs(state.clients()) do
    -- A running server gets the new settings at once.
    local settings = vim.deepcopy(client.settings or {})
    settings.ghostline = vim.deepcopy(o.settings)
    client.settings = settings
    client:notify('workspace/didChangeConfiguration', { settings = client.settings })
    -- Buffers attached before setup() get the new ghost-text path and keymaps.
    for bufnr in pairs(client.attached_buffers) do
      M.detach(bufnr)
      M.attach(bufnr, client)
    end
  end
  if o.enable then
    vim.lsp.enable('ghostline')
  end
end

--- Called on LspAttach of a ghostline client.
---@param bufnr integer
---@param client vim.lsp.Client
function M.attach(bufnr, client)
  local path = config.ghost_path()
  vim.b[bufnr].ghostline_ghost_text = path
  local impl = ghost.impl(path)
  if impl then
    impl.attach(bufnr, client)
  end
  require('ghostline.keymaps').attach(bufnr)
  require('ghostline.idle').attach(bufnr, client)
  trace.add('attach', { buf = bufnr, client = client.id, ghost_text = path })
end

--- Called on LspDetach of a ghostline client.
---@param bufnr integer
function M.detach(bufnr)
  local impl = ghost.for_buf(bufnr)
  if impl then
    impl.detach(bufnr)
  end
  require('ghostline.keymaps').detach(bufnr)
  require('ghostline.idle').detach(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.b[bufnr].ghostline_ghost_text = nil
  end
  trace.add('detach', { buf = bufnr })
end

---@return integer
local function cur()
  return vim.api.nvim_get_current_buf()
end

--- A function of the current buffer's ghost-text implementation; false without one.
---@param fn fun(impl: ghostline.GhostImpl, bufnr: integer): boolean?
---@return fun(): boolean
local function on_ghost(fn)
  return function()
    local bufnr = cur()
    local impl = ghost.for_buf(bufnr)
    return impl ~= nil and fn(impl, bufnr) == true
  end
end

--- Whether a suggestion is shown in the current buffer.
M.visible = on_ghost(function(impl, bufnr)
  return impl.visible(bufnr)
end)

--- Accept the whole suggestion. Returns false when none is shown (use it for a fallback).
M.accept = on_ghost(function(impl, bufnr)
  return impl.accept(bufnr, 'all')
end)

--- Accept the next word of the suggestion.
M.accept_word = on_ghost(function(impl, bufnr)
  return impl.accept(bufnr, 'word')
end)

--- Accept the rest of the suggestion's current line.
M.accept_line = on_ghost(function(impl, bufnr)
  return impl.accept(bufnr, 'line')
end)

--- Show the next suggestion.
M.next = on_ghost(function(impl, bufnr)
  return impl.cycle(bufnr, 1)
end)

--- Show the previous suggestion.
M.prev = on_ghost(function(impl, bufnr)
  return impl.cycle(bufnr, -1)
end)

--- Hide the suggestion and cancel the request in flight.
M.dismiss = on_ghost(function(impl, bufnr)
  return impl.dismiss(bufnr)
end)

--- Request a suggestion now.
M.trigger = on_ghost(function(impl, bufnr)
  impl.trigger(bufnr)
  return true
end)

--- Short text for a statusline: progress, or the server's name when it is attached.
---@return string
function M.statusline()
  local p = require('ghostline.progress').text()
  if p ~= '' then
    return 'ghostline: ' .. p
  end
  return #state.clients(cur()) > 0 and 'ghostline' or ''
end

--- The lines `:Ghostline status` prints.
---@return string[]
function M.status_lines()
  local lines = {}
  local v = vim.version()
  lines[#lines + 1] = ('Neovim %d.%d.%d, ghost text: %s'):format(
    v.major,
    v.minor,
    v.patch,
    config.ghost_path()
  )
  local clients = state.clients()
  if #clients == 0 then
    lines[#lines + 1] = 'server: not running'
  end
  for _, client in ipairs(clients) do
    local info = client.server_info or {}
    lines[#lines + 1] = ('server: client %d %s %s, root %s, encoding %s, buffers %s'):format(
      client.id,
      info.name or '?',
      info.version or '',
      client.root_dir or '(none)',
      client.offset_encoding,
      table.concat(vim.tbl_keys(client.attached_buffers), ',')
    )
    local status = state.server_status(client, 1000)
    if status then
      lines[#lines + 1] = ('model: %s, %s (%s)'):format(
        tostring(status.state),
        tostring(status.model),
        tostring(status.modelPath)
      )
      lines[#lines + 1] = 'usage: ' .. (state.usage_line(status) or 'ledger off')
    end
  end
  local impl = ghost.for_buf(cur())
  if impl then
    lines[#lines + 1] = 'this buffer: ' .. vim.inspect(impl.info(cur()), { newline = ' ', indent = '' })
  end
  local p = require('ghostline.progress').text()
  if p ~= '' then
    lines[#lines + 1] = 'progress: ' .. p
  end
  local err = state.last_error
  lines[#lines + 1] = 'last error: ' .. (err and (err.time .. ' ' .. err.message) or 'none')
  return lines
end

---@param clients vim.lsp.Client[]
---@param timeout_ms integer
---@return boolean
local function wait_stopped(clients, timeout_ms)
  return vim.wait(timeout_ms, function()
    for _, client in ipairs(clients) do
      if not client:is_stopped() then
        return false
      end
    end
    return true
  end, 20)
end

--- Stop the ghostline clients and start them again for the buffers they served.
function M.restart()
  local clients = state.clients()
  for _, client in ipairs(clients) do
    client:stop()
  end
  if not wait_stopped(clients, 5000) then
    for _, client in ipairs(clients) do
      client:stop(true)
    end
    wait_stopped(clients, 2000)
  end
  trace.add('restart', { stopped = #clients })
  -- Re-run the FileType autocmd of vim.lsp.enable() for every loaded buffer.
  vim.lsp.enable('ghostline')
end

--- Run the server's "Generate tests for NAME" code action at the cursor.
function M.generate_tests()
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return type(action.title) == 'string' and action.title:match('^Generate tests') ~= nil
    end,
  })
end

return M
