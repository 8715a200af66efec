--- `:checkhealth ghostline`: Neovim version and ghost-text path, the server command and
--- whether it starts, the model, and the last error.
local config = require('ghostline.config')
local state = require('ghostline.state')

local M = {}

--- Names the server resolves to its packaged models (`ghostline model` lists them).
local PACKAGED_MODELS = {
  ['qwen2.5-coder-0.5b'] = true,
  ['qwen2.5-coder-1.5b'] = true,
  ['gemma-3-270m'] = true,
}
local DEFAULT_MODEL = 'auto (per feature, the biggest packaged Qwen2.5-Coder model fast enough on this machine)'

---@return vim.lsp.Config?
local function lsp_config()
  local ok, cfg = pcall(function()
    return vim.lsp.config.ghostline
  end)
  return ok and cfg or nil
end

local function check_neovim()
  vim.health.start('ghostline: Neovim')
  local v = vim.version()
  local version = ('%d.%d.%d%s'):format(v.major, v.minor, v.patch, v.prerelease and '-dev' or '')
  if vim.fn.has('nvim-0.11') == 1 then
    vim.health.ok('Neovim ' .. version)
  else
    vim.health.error('Neovim ' .. version .. ': ghostline needs 0.11 or newer')
  end
  local path = config.ghost_path()
  if path == 'builtin' then
    vim.health.ok('ghost text: built-in vim.lsp.inline_completion (Neovim 0.12+)')
  elseif path == 'plugin' then
    vim.health.ok('ghost text: the plugin renderer (extmarks)')
  else
    vim.health.warn('ghost text: off (ghost_text = false)')
  end
  if not config.did_setup and not vim.lsp.is_enabled('ghostline') then
    vim.health.warn('ghostline is not enabled', {
      "call require('ghostline').setup() or vim.lsp.enable('ghostline')",
    })
  else
    vim.health.ok(config.did_setup and 'setup() called' or "enabled with vim.lsp.enable('ghostline')")
  end
end

---@param cfg vim.lsp.Config
---@return table? settings
local function check_server(cfg)
  vim.health.start('ghostline: server')
  local cmd = cfg.cmd
  if type(cmd) ~= 'table' then
    vim.health.info('cmd is a function; it cannot be checked here')
    return nil
  end
  vim.health.info('command: ' .. table.concat(cmd, ' '))
  if vim.fn.executable(cmd[1]) == 0 then
    vim.health.error(cmd[1] .. ' is not executable', {
      'install the server: pip install ghostline',
      "or point setup({ cmd = { ... } }) at it, e.g. { 'python3', '-m', 'ghostline', 'serve' }",
    })
    return nil
  end
  vim.health.ok('executable: ' .. vim.fn.exepath(cmd[1]))

  local clients = state.clients()
  for _, client in ipairs(clients) do
    local info = client.server_info or {}
    vim.health.ok(('running: client %d, %s %s, root %s, position encoding %s'):format(
      client.id,
      info.name or '?',
      info.version or '',
      client.root_dir or '(none)',
      client.offset_encoding
    ))
  end
  local caps = clients[1] and clients[1].server_capabilities
  if not caps then
    local result = require('ghostline.probe').run(cmd, {
      env = cfg.cmd_env,
      init_options = cfg.init_options,
      timeout_ms = 15000,
    })
    if result.ok then
      local info = result.server_info or {}
      vim.health.ok(('the server starts: %s %s answered initialize in %d ms'):format(
        info.name or '?',
        info.version or '',
        result.ms
      ))
      caps = result.capabilities
    else
      local stderr = vim.trim(result.stderr)
      local tail = vim.split(stderr, '\n')
      vim.health.error(result.error or 'the server did not start', {
        stderr ~= '' and ('stderr: ' .. table.concat(vim.list_slice(tail, #tail - 4), ' | '))
          or 'run the command in a terminal to see why',
      })
    end
  end
  if caps then
    local wanted = {
      { 'inlineCompletionProvider', 'ghost text' },
      { 'hoverProvider', 'hover docstrings' },
      { 'codeActionProvider', '"Generate tests" code action' },
    }
    for _, w in ipairs(wanted) do
      if caps[w[1]] then
        vim.health.ok(('%s (%s)'):format(w[2], w[1]))
      else
        vim.health.warn(('the server does not offer %s (%s)'):format(w[2], w[1]))
      end
    end
  end
  return caps
end

---@param cfg vim.lsp.Config
local function check_model(cfg)
  vim.health.start('ghostline: model')
  local settings = (cfg.settings or {}).ghostline or cfg.init_options or {}
  local model = settings.model
  if model == nil or model == '' or model == 'auto' then
    vim.health.ok('model setting: ' .. DEFAULT_MODEL)
  elseif PACKAGED_MODELS[model] then
    vim.health.ok('model setting: ' .. model .. ' (a packaged model)')
  elseif vim.uv.fs_stat(vim.fs.normalize(model)) then
    vim.health.ok('model setting: ' .. model)
  else
    vim.health.error('model file not found: ' .. model, { 'fix the `model` setting' })
  end
  local client = state.clients()[1]
  local status = client and state.server_status(client, 3000)
  if status then
    local desc = ('%s (%s), prompt template %s, backend %s'):format(
      tostring(status.model),
      tostring(status.modelPath),
      tostring(status.template),
      tostring(status.backend)
    )
    if status.state == 'ready' then
      vim.health.ok('model loaded: ' .. desc)
    elseif status.state == 'error' then
      vim.health.error('the model failed to load: ' .. tostring(status.error))
    else
      vim.health.info('model state: ' .. tostring(status.state))
    end
    local usage = state.usage_line(status)
    vim.health.info(usage and ('usage ledger ' .. usage) or 'usage ledger: off')
  end
  for _, line in ipairs(state.finished) do
    vim.health.info('server reported: ' .. line)
  end
  for _, line in ipairs(vim.split(require('ghostline.progress').text(), '; ')) do
    if line ~= '' then
      vim.health.info('in progress: ' .. line)
    end
  end
end

function M.check()
  check_neovim()
  local cfg = lsp_config()
  if not cfg then
    vim.health.start('ghostline: server')
    vim.health.error("no LSP config 'ghostline': is the plugin on 'runtimepath'?")
  else
    check_server(cfg)
    check_model(cfg)
  end
  vim.health.start('ghostline: last error')
  local err = state.last_error
  if err then
    vim.health.warn(('%s  %s'):format(err.time, err.message), { ':Ghostline log shows the server log' })
  else
    vim.health.ok('none')
  end
end

return M
