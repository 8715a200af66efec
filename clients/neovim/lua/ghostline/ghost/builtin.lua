--- Ghost text through Neovim 0.12's built-in `vim.lsp.inline_completion`, plus what it lacks:
--- `$/cancelRequest` for a request that typing made stale, word / line accepts, dismiss.
local api = vim.api
local edit = require('ghostline.ghost.edit')
local state = require('ghostline.state')
local text = require('ghostline.text')
local trace = require('ghostline.trace')

local M = {}

local METHOD = 'textDocument/inlineCompletion'
--- The extmark namespace of the built-in renderer.
M.ns_name = 'nvim.lsp.inline_completion'

local group = api.nvim_create_augroup('ghostline.builtin_ghost', { clear = true })

---@return vim.lsp.inline_completion|nil
local function ic()
  return vim.lsp.inline_completion
end

--- Cancel every inline completion request of ghostline clients still pending for `bufnr`.
---@param bufnr integer
---@return integer cancelled
function M.cancel_pending(bufnr)
  local n = 0
  for _, client in ipairs(state.clients(bufnr)) do
    for id, req in pairs(client.requests) do
      if req.type == 'pending' and req.method == METHOD and req.bufnr == bufnr then
        client:cancel_request(id)
        n = n + 1
      end
    end
  end
  return n
end

---@param bufnr integer
---@param _client vim.lsp.Client
function M.attach(bufnr, _client)
  local mod = ic()
  if not mod then
    return
  end
  mod.enable(true, { bufnr = bufnr })
  pcall(api.nvim_clear_autocmds, { group = group, buffer = bufnr })
  -- The built-in requests again after its own debounce but leaves the old request running.
  api.nvim_create_autocmd('TextChangedI', {
    group = group,
    buffer = bufnr,
    callback = function()
      M.cancel_pending(bufnr)
    end,
  })
end

---@param bufnr integer
function M.detach(bufnr)
  pcall(api.nvim_clear_autocmds, { group = group, buffer = bufnr })
  if #state.clients(bufnr) <= 1 and ic() and api.nvim_buf_is_valid(bufnr) then
    ic().enable(false, { bufnr = bufnr })
  end
end

---@param bufnr integer
---@return boolean
function M.visible(bufnr)
  local ns = api.nvim_get_namespaces()[M.ns_name]
  if not ns or not api.nvim_buf_is_valid(bufnr) then
    return false
  end
  return #api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { limit = 1 }) > 0
end

--- Insert part of an item at the cursor (the built-in only accepts whole items).
---@param bufnr integer
---@param item vim.lsp.inline_completion.Item
---@param part 'word'|'line'
local function insert_part(bufnr, item, part)
  local full = text.plain(item.insert_text)
  local pos = api.nvim_win_get_cursor(0)
  local row, col = pos[1] - 1, pos[2]
  local typed = ''
  if item.range and item.range.start.row == row and item.range.start.col <= col then
    local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    typed = line:sub(item.range.start.col + 1, col)
  end
  local rest = text.remainder(full, typed)
  if not rest then
    return
  end
  local piece = part == 'word' and text.next_word(rest) or text.next_line(rest)
  edit.put(bufnr, row, col, row, col, piece)
  trace.add('accept', { buf = bufnr, part = part, text = piece })
  -- The built-in asks again after this edit: the next part comes with an item of its own.
  edit.run_partial_command(item.client_id, item.command, bufnr, vim.fn.strchars(piece))
end

---@param bufnr integer
---@param part 'all'|'word'|'line'
---@return boolean
function M.accept(bufnr, part)
  local mod = ic()
  if not mod or not M.visible(bufnr) then
    return false
  end
  if part == 'all' then
    return mod.get({
      bufnr = bufnr,
      on_accept = function(item)
        trace.add('accept', { buf = bufnr, part = 'all', text = text.plain(item.insert_text) })
        M._apply(bufnr, item)
      end,
    })
  end
  return mod.get({
    bufnr = bufnr,
    on_accept = function(item)
      insert_part(bufnr, item, part)
    end,
  })
end

--- Apply a whole item like the built-in's default handler: replace its range (or insert at the
--- cursor), put the cursor after the text, expand a snippet, run the item's command.
---@param bufnr integer
---@param item vim.lsp.inline_completion.Item
function M._apply(bufnr, item)
  local insert = item.insert_text
  if type(insert) == 'table' and insert.kind == 'snippet' then
    vim.snippet.expand(insert.value)
  else
    local full = text.plain(insert)
    local pos = api.nvim_win_get_cursor(0)
    local cur_row, cur_col = pos[1] - 1, pos[2]
    local row, col, end_row, end_col = cur_row, cur_col, cur_row, cur_col
    local range = item.range
    if range then
      row, col, end_row, end_col = range.start.row, range.start.col, range.end_.row, range.end_.col
      -- Text typed since the response that matches the item is part of it, not extra.
      if end_row == cur_row and row == cur_row and cur_col > end_col then
        local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
        local typed = line:sub(col + 1, cur_col)
        if full:sub(1, #typed) == typed then
          end_col = cur_col
        end
      end
    end
    edit.put(bufnr, row, col, end_row, end_col, full)
  end
  edit.run_command(item.client_id, item.command, bufnr)
end

---@param bufnr integer
---@param delta integer
---@return boolean
function M.cycle(bufnr, delta)
  local mod = ic()
  if not mod or not M.visible(bufnr) then
    return false
  end
  mod.select({ bufnr = bufnr, count = delta })
  return true
end

---@param bufnr integer
---@return boolean
function M.dismiss(bufnr)
  local mod = ic()
  M.cancel_pending(bufnr)
  if not mod or not M.visible(bufnr) then
    return false
  end
  -- get() with a no-op accept handler is the public way to hide the current item.
  mod.get({ bufnr = bufnr, on_accept = function() end })
  trace.add('dismiss', { buf = bufnr })
  return true
end

--- Ask now: the built-in has no public request function; its own autocmd does it.
---@param bufnr integer
function M.trigger(bufnr)
  local augroup = ('nvim.lsp.%s:%s'):format('inline_completion', bufnr)
  pcall(api.nvim_exec_autocmds, 'CursorMovedI', { group = augroup, buffer = bufnr })
end

---@param bufnr integer
---@return table
function M.info(bufnr)
  local pending = 0
  for _, client in ipairs(state.clients(bufnr)) do
    for _, req in pairs(client.requests) do
      if req.type == 'pending' and req.method == METHOD then
        pending = pending + 1
      end
    end
  end
  return { pending = pending, visible = M.visible(bufnr) }
end

return M
