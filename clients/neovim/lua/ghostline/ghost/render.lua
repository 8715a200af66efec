--- Draws a suggestion with extmarks: the first line inline at the cursor, the others as
--- virtual lines below it.
local api = vim.api
local text = require('ghostline.text')

local M = {}

M.ns = api.nvim_create_namespace('ghostline')
M.hl = 'GhostlineSuggestion'

---@param bufnr integer
function M.clear(bufnr)
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

--- Show `suggestion` at (row, col), 0-based, col in bytes.
---@param bufnr integer
---@param row integer
---@param col integer
---@param suggestion string
function M.show(bufnr, row, col, suggestion)
  M.clear(bufnr)
  local ts = vim.bo[bufnr].tabstop
  local lines = vim.split(suggestion, '\n', { plain = true })
  ---@type vim.api.keyset.set_extmark
  local opts = { hl_mode = 'combine', priority = 4096 }
  local first = text.expand_tabs(lines[1], ts)
  if first ~= '' then
    opts.virt_text = { { first, M.hl } }
    opts.virt_text_pos = 'inline'
  end
  if #lines > 1 then
    opts.virt_lines = {}
    for i = 2, #lines do
      opts.virt_lines[#opts.virt_lines + 1] = { { text.expand_tabs(lines[i], ts), M.hl } }
    end
  end
  api.nvim_buf_set_extmark(bufnr, M.ns, row, col, opts)
end

--- The text currently drawn in `bufnr` (first line, then the virtual lines), or nil.
---@param bufnr integer
---@return string?
function M.shown(bufnr)
  local marks = api.nvim_buf_get_extmarks(bufnr, M.ns, 0, -1, { details = true })
  if #marks == 0 then
    return nil
  end
  local d = marks[1][4]
  local out = { d.virt_text and d.virt_text[1][1] or '' }
  for _, vl in ipairs(d.virt_lines or {}) do
    out[#out + 1] = vl[1] and vl[1][1] or ''
  end
  return table.concat(out, '\n')
end

return M
