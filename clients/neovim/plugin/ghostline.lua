-- Ghostline: commands and LSP event hooks. Loads the rest of the plugin lazily.
if vim.g.loaded_ghostline then
  return
end
vim.g.loaded_ghostline = true

if vim.fn.has('nvim-0.11') == 0 then
  vim.notify_once('ghostline needs Neovim 0.11 or newer', vim.log.levels.WARN)
  return
end

local api = vim.api
local group = api.nvim_create_augroup('ghostline', { clear = true })

local function set_hl()
  api.nvim_set_hl(0, 'GhostlineSuggestion', { link = 'Comment', default = true })
end
set_hl()
api.nvim_create_autocmd('ColorScheme', { group = group, callback = set_hl })

api.nvim_create_user_command('Ghostline', function(args)
  require('ghostline.commands').run(args)
end, {
  nargs = '?',
  complete = function(lead)
    return require('ghostline.commands').complete(lead)
  end,
  desc = 'Ghostline: status, restart, log, trace, cancel, generate-tests',
})

---@param args vim.api.keyset.create_autocmd.callback_args
---@return vim.lsp.Client?
local function ghostline_client(args)
  local client = vim.lsp.get_client_by_id(args.data and args.data.client_id or -1)
  if client and client.name == 'ghostline' then
    return client
  end
  return nil
end

api.nvim_create_autocmd('LspAttach', {
  group = group,
  callback = function(args)
    local client = ghostline_client(args)
    if client then
      require('ghostline').attach(args.buf, client)
    end
  end,
})

api.nvim_create_autocmd('LspDetach', {
  group = group,
  callback = function(args)
    if ghostline_client(args) then
      require('ghostline').detach(args.buf)
    end
  end,
})

api.nvim_create_autocmd('LspProgress', {
  group = group,
  callback = function(args)
    if ghostline_client(args) then
      require('ghostline.progress').on_progress(args)
    end
  end,
})

-- Requests, cancels and replies of inline completion go into the trace (`:Ghostline trace`).
api.nvim_create_autocmd('LspRequest', {
  group = group,
  callback = function(args)
    local data = args.data or {}
    local req = data.request or {}
    if req.method == 'textDocument/inlineCompletion' and ghostline_client(args) then
      local event = req.type == 'pending' and 'request' or req.type
      require('ghostline.trace').add(event, { id = data.request_id, buf = req.bufnr })
    end
  end,
})
