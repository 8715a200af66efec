--- Picks the ghost-text implementation a buffer was attached with and forwards to it.
local M = {}

---@class ghostline.GhostImpl
---@field attach fun(bufnr: integer, client: vim.lsp.Client)
---@field detach fun(bufnr: integer)
---@field visible fun(bufnr: integer): boolean
---@field accept fun(bufnr: integer, part: 'all'|'word'|'line'): boolean
---@field cycle fun(bufnr: integer, delta: integer): boolean
---@field dismiss fun(bufnr: integer): boolean
---@field trigger fun(bufnr: integer)
---@field info fun(bufnr: integer): table?

---@param path string?
---@return ghostline.GhostImpl?
function M.impl(path)
  if path == 'builtin' then
    return require('ghostline.ghost.builtin')
  elseif path == 'plugin' then
    return require('ghostline.ghost.plugin')
  end
  return nil
end

--- The implementation attached to `bufnr`, if any.
---@param bufnr integer
---@return ghostline.GhostImpl?
function M.for_buf(bufnr)
  local ok, path = pcall(function()
    return vim.b[bufnr].ghostline_ghost_text
  end)
  return ok and M.impl(path) or nil
end

return M
