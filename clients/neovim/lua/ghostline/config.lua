--- Options of the plugin: defaults, validation, and the LSP client config they produce.
local M = {}

--- Language ids the server indexes (server/ghostline/index/languages.py).
M.default_filetypes = {
  'python',
  'javascript',
  'javascriptreact',
  'typescript',
  'typescriptreact',
  'go',
  'rust',
  'java',
  'c',
  'cpp',
}

M.default_root_markers = {
  '.git',
  'pyproject.toml',
  'setup.py',
  'package.json',
  'go.mod',
  'Cargo.toml',
  'pom.xml',
  'build.gradle',
  'Makefile',
}

---@class ghostline.Keymaps
---@field accept string|false
---@field accept_word string|false
---@field accept_line string|false
---@field next string|false
---@field prev string|false
---@field dismiss string|false
---@field trigger string|false

---@class ghostline.Options
---@field cmd string[] Server command (stdio).
---@field cmd_env table<string,string>? Extra environment for the server.
---@field filetypes string[]
---@field root_markers string[]
---@field settings table<string,any> Server settings (camelCase), section "ghostline".
---@field ghost_text 'auto'|'builtin'|'plugin'|false Which ghost-text path to use.
---@field debounce_ms integer Delay before a request (plugin renderer only).
---@field idle_ms integer|false Rest of the cursor before the server hears of it (ghostline/cursorIdle), or false.
---@field keymaps ghostline.Keymaps|false
---@field progress boolean Echo server progress in the command line.
---@field enable boolean Call vim.lsp.enable('ghostline') from setup().

---@type ghostline.Options
M.defaults = {
  cmd = { 'ghostline', 'serve' },
  cmd_env = nil,
  filetypes = M.default_filetypes,
  root_markers = M.default_root_markers,
  settings = {},
  ghost_text = 'auto',
  debounce_ms = 120,
  idle_ms = 300,
  keymaps = {
    accept = '<Tab>',
    accept_word = '<M-Right>',
    accept_line = '<M-C-Right>',
    next = '<M-]>',
    prev = '<M-[>',
    dismiss = '<C-]>',
    trigger = '<M-\\>',
  },
  progress = true,
  enable = true,
}

---@type ghostline.Options
M.options = vim.deepcopy(M.defaults)

--- Whether setup() ran (health reports it).
M.did_setup = false

local function check(opts)
  vim.validate('cmd', opts.cmd, 'table')
  vim.validate('cmd_env', opts.cmd_env, 'table', true)
  vim.validate('filetypes', opts.filetypes, 'table')
  vim.validate('root_markers', opts.root_markers, 'table')
  vim.validate('settings', opts.settings, 'table')
  vim.validate('debounce_ms', opts.debounce_ms, 'number')
  if opts.idle_ms ~= false then
    vim.validate('idle_ms', opts.idle_ms, 'number')
  end
  vim.validate('progress', opts.progress, 'boolean')
  vim.validate('enable', opts.enable, 'boolean')
  local modes = { auto = true, builtin = true, plugin = true }
  if opts.ghost_text ~= false and not modes[opts.ghost_text] then
    error(("ghostline: ghost_text must be 'auto', 'builtin', 'plugin' or false, got %s"):format(
      vim.inspect(opts.ghost_text)
    ))
  end
  if opts.keymaps ~= false then
    vim.validate('keymaps', opts.keymaps, 'table')
  end
end

--- Merge user options over the defaults. Lists (cmd, filetypes, ...) replace, not extend.
---@param user table?
---@return ghostline.Options
function M.set(user)
  user = user or {}
  local opts = vim.deepcopy(M.defaults)
  for key, value in pairs(user) do
    if M.defaults[key] == nil and key ~= 'cmd_env' then
      error(('ghostline: unknown option %q'):format(key))
    end
    if key == 'keymaps' and type(value) == 'table' then
      opts.keymaps = vim.tbl_extend('force', M.defaults.keymaps, value)
    else
      opts[key] = value
    end
  end
  check(opts)
  M.options = opts
  M.did_setup = true
  return opts
end

--- The part of a vim.lsp.Config that comes from the options.
---@param opts ghostline.Options
---@return vim.lsp.Config
function M.lsp_config(opts)
  return {
    cmd = opts.cmd,
    cmd_env = opts.cmd_env,
    filetypes = opts.filetypes,
    root_markers = opts.root_markers,
    init_options = opts.settings,
    settings = { ghostline = opts.settings },
  }
end

--- Which ghost-text path this Neovim uses with these options.
---@return 'builtin'|'plugin'|'off'
function M.ghost_path()
  local mode = M.options.ghost_text
  if mode == false then
    return 'off'
  end
  local has_builtin = vim.lsp.inline_completion ~= nil
  if mode == 'builtin' or (mode == 'auto' and has_builtin) then
    return has_builtin and 'builtin' or 'plugin'
  end
  return 'plugin'
end

return M
