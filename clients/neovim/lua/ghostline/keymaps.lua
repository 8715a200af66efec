--- Buffer-local insert-mode keymaps. Each key does its job only while a suggestion is shown
--- (`trigger` always); otherwise it does what it did before: the mapping it shadows (such as
--- Neovim's own <Tab> for snippet jumps) or the plain key.
local M = {}

--- The keymap options; each names a function of require('ghostline').
local ACTIONS = { 'accept', 'accept_word', 'accept_line', 'next', 'prev', 'dismiss', 'trigger' }

--- Mappings shadowed by ours, by buffer and lhs, for the fallback.
---@type table<integer, table<string, table>>
local shadowed = {}

--- Keys for `lhs` when no suggestion is shown (called inside our expr mapping).
---@param bufnr integer
---@param lhs string
---@return string
local function fallback(bufnr, lhs)
  local m = (shadowed[bufnr] or {})[lhs]
  if not m then
    return lhs
  end
  if m.callback and m.expr == 1 then
    return m.callback() or ''
  end
  if m.expr == 1 and m.rhs then
    return vim.api.nvim_eval(m.rhs)
  end
  -- A non-expr mapping may change the buffer: run it outside our expr mapping's textlock.
  return ('<Cmd>lua require("ghostline.keymaps").run_shadowed(%d, %q)<CR>'):format(bufnr, lhs)
end

--- Run a shadowed non-expr mapping.
---@param bufnr integer
---@param lhs string
function M.run_shadowed(bufnr, lhs)
  local m = (shadowed[bufnr] or {})[lhs]
  if not m then
    return
  end
  if m.callback then
    m.callback()
  elseif m.rhs then
    local keys = vim.api.nvim_replace_termcodes(m.rhs, true, true, true)
    vim.api.nvim_feedkeys(keys, m.noremap == 1 and 'ni' or 'mi', false)
  end
end

---@param bufnr integer
function M.attach(bufnr)
  local maps = require('ghostline.config').options.keymaps
  if not maps then
    return
  end
  shadowed[bufnr] = {}
  for _, fn in ipairs(ACTIONS) do
    local lhs = maps[fn]
    if lhs then
      local old = vim.api.nvim_buf_call(bufnr, function()
        return vim.fn.maparg(lhs, 'i', false, true)
      end)
      if not vim.tbl_isempty(old) and not vim.startswith(old.desc or '', 'Ghostline') then
        shadowed[bufnr][lhs] = old
      end
      vim.keymap.set('i', lhs, function()
        if fn == 'trigger' or require('ghostline').visible() then
          return ('<Cmd>lua require("ghostline").%s()<CR>'):format(fn)
        end
        return fallback(bufnr, lhs)
      end, { buffer = bufnr, expr = true, desc = 'Ghostline: ' .. fn:gsub('_', ' ') })
    end
  end
  vim.b[bufnr].ghostline_keymaps = vim.deepcopy(maps)
end

---@param bufnr integer
function M.detach(bufnr)
  shadowed[bufnr] = nil
  local maps = vim.b[bufnr].ghostline_keymaps
  if type(maps) ~= 'table' then
    return
  end
  for _, fn in ipairs(ACTIONS) do
    if maps[fn] then
      pcall(vim.keymap.del, 'i', maps[fn], { buffer = bufnr })
    end
  end
  vim.b[bufnr].ghostline_keymaps = nil
end

return M
