--- Buffer edits shared by both ghost-text paths.
local api = vim.api

local M = {}

--- Replace (row, col)-(end_row, end_col) (0-based, bytes) with `s`; cursor after it.
---@param bufnr integer
---@param row integer
---@param col integer
---@param end_row integer
---@param end_col integer
---@param s string
function M.put(bufnr, row, col, end_row, end_col, s)
  local lines = vim.split(s, '\n', { plain = true })
  api.nvim_buf_set_text(bufnr, row, col, end_row, end_col, lines)
  api.nvim_win_set_cursor(0, { row + #lines, (#lines == 1 and col or 0) + #lines[#lines] })
end

--- Run an accepted item's command, as the spec asks, after its text is inserted.
---@param client_id integer
---@param command lsp.Command?
---@param bufnr integer
function M.run_command(client_id, command, bufnr)
  local client = command and vim.lsp.get_client_by_id(client_id)
  if client and command then
    client:exec_cmd(command, { bufnr = bufnr })
  end
end

--- Report a partly accepted item (a word, a line): its command with `acceptedLength`, the
--- characters taken so far, in the first argument (the server records the characters).
---@param client_id integer
---@param command lsp.Command?
---@param bufnr integer
---@param accepted_len integer characters
function M.run_partial_command(client_id, command, bufnr, accepted_len)
  if not command or type((command.arguments or {})[1]) ~= 'table' then
    return
  end
  local partial = vim.deepcopy(command)
  partial.arguments[1].acceptedLength = accepted_len
  M.run_command(client_id, partial, bufnr)
end

return M
