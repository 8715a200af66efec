--- `:Ghostline {status|restart|log|trace|cancel|generate-tests}`.
local M = {}

---@type table<string, fun()>
M.subcommands = {
  status = function()
    local lines = require('ghostline').status_lines()
    local chunks = {}
    for _, line in ipairs(lines) do
      chunks[#chunks + 1] = { line .. '\n' }
    end
    vim.api.nvim_echo(chunks, true, {})
  end,
  restart = function()
    require('ghostline').restart()
  end,
  log = function()
    local file = vim.lsp.log.get_filename()
    vim.cmd(('botright split %s'):format(vim.fn.fnameescape(file)))
    vim.cmd('normal! G')
  end,
  trace = function()
    local lines = require('ghostline.trace').lines()
    vim.cmd('botright new')
    local buf = vim.api.nvim_get_current_buf()
    vim.bo[buf].buftype = 'nofile'
    vim.bo[buf].bufhidden = 'wipe'
    vim.api.nvim_buf_set_name(buf, 'ghostline://trace')
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
    vim.bo[buf].modifiable = false
  end,
  cancel = function()
    local n = require('ghostline.progress').cancel()
    vim.notify(('Ghostline: asked the server to cancel %d operation(s)'):format(n))
  end,
  ['generate-tests'] = function()
    require('ghostline').generate_tests()
  end,
}

---@param args vim.api.keyset.create_user_command.command_args
function M.run(args)
  local name = args.fargs[1] or 'status'
  local fn = M.subcommands[name]
  if not fn then
    vim.notify(('Ghostline: unknown subcommand %q'):format(name), vim.log.levels.ERROR)
    return
  end
  fn()
end

---@param lead string
---@return string[]
function M.complete(lead)
  local names = vim.tbl_keys(M.subcommands)
  table.sort(names)
  return vim.tbl_filter(function(n)
    return vim.startswith(n, lead)
  end, names)
end

return M
