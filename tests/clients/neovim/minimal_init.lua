-- Minimal config for the Neovim client tests: only the plugin from this checkout on the
-- runtimepath, no user config, no plugin manager.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local root = vim.fs.normalize(here .. '/../../..')
vim.opt.runtimepath:prepend(root .. '/clients/neovim')
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
vim.opt.expandtab = true
vim.opt.shiftwidth = 4
vim.opt.tabstop = 4
vim.lsp.log.set_level(vim.env.GHOSTLINE_TEST_LSP_LOG or 'warn')
