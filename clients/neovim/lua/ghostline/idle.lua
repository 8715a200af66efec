--- Tell the server where the cursor comes to rest (`ghostline/cursorIdle`), so it can read
--- that place's prompt into the model's cache before a suggestion is asked for there.
--- One notification per rest: the timer restarts on every cursor move, and a rest at the
--- position already reported sends nothing. The server decides whether to use it
--- (its `idlePrefill` setting) and bounds the work.
local config = require('ghostline.config')

local M = {}

local group = vim.api.nvim_create_augroup('ghostline.idle', { clear = false })
---@type table<integer, uv.uv_timer_t>
local timers = {}
---@type table<integer, string>
local last_sent = {}

---@param bufnr integer
---@param client vim.lsp.Client
local function notify(bufnr, client)
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.api.nvim_get_current_buf() ~= bufnr then
    return
  end
  if client:is_stopped() then
    return
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local key = ('%d:%d'):format(params.position.line, params.position.character)
  if last_sent[bufnr] == key then
    return
  end
  last_sent[bufnr] = key
  client:notify('ghostline/cursorIdle', params)
  require('ghostline.trace').add('cursorIdle', { buf = bufnr, at = key })
end

---@param bufnr integer
---@param client vim.lsp.Client
function M.attach(bufnr, client)
  M.detach(bufnr)
  local ms = config.options.idle_ms
  if ms == false then
    return
  end
  local timer = assert(vim.uv.new_timer())
  timers[bufnr] = timer
  vim.api.nvim_create_autocmd({ 'CursorMoved', 'CursorMovedI', 'BufEnter' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      timer:stop()
      timer:start(ms, 0, vim.schedule_wrap(function()
        notify(bufnr, client)
      end))
    end,
  })
end

---@param bufnr integer
function M.detach(bufnr)
  local timer = timers[bufnr]
  if timer then
    timer:stop()
    timer:close()
    timers[bufnr] = nil
  end
  last_sent[bufnr] = nil
  vim.api.nvim_clear_autocmds({ group = group, buffer = bufnr })
end

return M
