-- Default config for `vim.lsp.enable('ghostline')`. `require('ghostline').setup(opts)` and
-- `vim.lsp.config('ghostline', {...})` override these fields.
local config = require('ghostline.config')

---@type vim.lsp.Config
local cfg = config.lsp_config(config.defaults)

cfg.capabilities = {
  textDocument = {
    -- Neovim 0.11 does not announce it; the plugin renderer handles it.
    inlineCompletion = { dynamicRegistration = false },
  },
  -- Both ghost-text paths run an accepted item's command (`ghostline.accepted`): the
  -- server's usage ledger can then tell an acceptance rate from "unknown".
  experimental = { ghostlineAcceptCommand = true },
}

cfg.handlers = {
  ---@type lsp.Handler
  ['window/showMessage'] = function(err, result, ctx)
    if result and result.type == vim.lsp.protocol.MessageType.Error then
      require('ghostline.state').set_error(result.message)
    end
    return vim.lsp.handlers['window/showMessage'](err, result, ctx)
  end,
}

cfg.on_exit = function(code, signal)
  if code ~= 0 then
    require('ghostline.state').set_error(
      ('the server exited (code %d, signal %d); :Ghostline log shows why'):format(code, signal)
    )
  end
end

return cfg
