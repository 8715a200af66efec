--- The plugin's own ghost text (Neovim 0.11, or any version with ghost_text = 'plugin'):
--- debounced `textDocument/inlineCompletion` requests in insert mode, `$/cancelRequest` for a
--- request that typing or leaving insert mode made stale, type-through of a shown suggestion,
--- and full / word / line accepts.
local api = vim.api
local config = require('ghostline.config')
local edit = require('ghostline.ghost.edit')
local render = require('ghostline.ghost.render')
local state = require('ghostline.state')
local text = require('ghostline.text')
local trace = require('ghostline.trace')

local M = {}

local METHOD = 'textDocument/inlineCompletion'
local TRIGGER_INVOKED = 1
local TRIGGER_AUTOMATIC = 2
--- RequestCancelled, ContentModified, ServerCancelled: expected, not user-facing errors.
local QUIET_ERRORS = { [-32800] = true, [-32801] = true, [-32802] = true }

---@class ghostline.Suggestion
---@field client_id integer
---@field row integer 0-based row where the item's range starts
---@field col integer byte column where the item's range starts
---@field text string the text to insert at (row, col)
---@field tail string buffer text after the request position that the item's range replaces
---@field command lsp.Command?
---@field accepted_len integer? characters taken by word / line accepts so far

---@class ghostline.Request
---@field client vim.lsp.Client
---@field id integer?
---@field tick integer
---@field row integer
---@field col integer

---@class ghostline.BufState
---@field timer uv.uv_timer_t?
---@field inflight ghostline.Request?
---@field items ghostline.Suggestion[]
---@field index integer
---@field shown string?
---@field seen {tick: integer, row: integer, col: integer}?

---@type table<integer, ghostline.BufState>
local buffers = {}

local group = api.nvim_create_augroup('ghostline.plugin_ghost', { clear = true })

---@return integer row 0-based
---@return integer col bytes
local function cursor()
  local pos = api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local function in_insert()
  return api.nvim_get_mode().mode:sub(1, 1) == 'i'
end

---@param s ghostline.BufState
local function stop_timer(s)
  local t = s.timer
  s.timer = nil
  if t and not t:is_closing() then
    t:stop()
    t:close()
  end
end

--- Send `$/cancelRequest` for the request in flight, if any.
---@param s ghostline.BufState
local function cancel(s)
  local req = s.inflight
  s.inflight = nil
  if req and req.id and not req.client:is_stopped() then
    req.client:cancel_request(req.id)
  end
end

---@param bufnr integer
---@param s ghostline.BufState
local function clear(bufnr, s)
  render.clear(bufnr)
  s.items = {}
  s.index = 1
  s.shown = nil
end

--- The part of `sug` not yet in the buffer at the cursor, or nil if the cursor is not inside it.
---@param bufnr integer
---@param sug ghostline.Suggestion
---@return string?
local function remainder(bufnr, sug)
  local row, col = cursor()
  if row < sug.row or (row == sug.row and col < sug.col) then
    return nil
  end
  local ok, typed = pcall(api.nvim_buf_get_text, bufnr, sug.row, sug.col, row, col, {})
  if not ok then
    return nil
  end
  return text.remainder(sug.text, table.concat(typed, '\n'))
end

--- Draw the current suggestion (or the next one that still fits); clear when none does.
---@param bufnr integer
---@param s ghostline.BufState
local function show(bufnr, s)
  for step = 0, #s.items - 1 do
    local i = (s.index - 1 + step) % #s.items + 1
    local sug = s.items[i]
    local rest = remainder(bufnr, sug)
    if rest then
      s.index = i
      local row, col = cursor()
      local shown = rest
      -- A range that replaces text after the cursor (e.g. a closing bracket): do not draw that
      -- text twice.
      if sug.tail ~= '' and not rest:find('\n', 1, true) and vim.endswith(rest, sug.tail) then
        shown = rest:sub(1, #rest - #sug.tail)
      end
      render.show(bufnr, row, col, shown)
      if s.shown ~= rest then
        trace.add('show', { buf = bufnr, index = i, count = #s.items, text = rest })
      end
      s.shown = rest
      return
    end
  end
  clear(bufnr, s)
end

--- Byte column of an LSP position on `line`.
---@param line string
---@param character integer
---@param encoding string
---@return integer
local function byte_col(line, character, encoding)
  if encoding == 'utf-8' then
    return math.min(character, #line)
  end
  local ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  return ok and col or #line
end

--- Turn the items of a response into suggestions anchored in the buffer.
---@param bufnr integer
---@param client vim.lsp.Client
---@param req ghostline.Request
---@param result lsp.InlineCompletionList|lsp.InlineCompletionItem[]
---@return ghostline.Suggestion[]
local function suggestions(bufnr, client, req, result)
  local items = result.items or result
  local out = {} ---@type ghostline.Suggestion[]
  local line = api.nvim_buf_get_lines(bufnr, req.row, req.row + 1, false)[1] or ''
  for _, item in ipairs(items) do
    local insert = text.plain(item.insertText or '')
    local row, col, tail = req.row, req.col, ''
    local range = item.range
    if range then
      -- Ghost text is only drawn for same-line ranges that start at or before the cursor.
      if range.start.line ~= req.row or range['end'].line ~= req.row then
        insert = ''
      else
        col = byte_col(line, range.start.character, client.offset_encoding)
        local end_col = byte_col(line, range['end'].character, client.offset_encoding)
        if col > req.col then
          insert = ''
        elseif end_col > req.col then
          tail = line:sub(req.col + 1, end_col)
        end
      end
    end
    if insert ~= '' then
      out[#out + 1] = {
        client_id = client.id,
        row = row,
        col = col,
        text = insert,
        tail = tail,
        command = item.command,
      }
    end
  end
  return out
end

---@param bufnr integer
---@param req ghostline.Request
---@param err lsp.ResponseError?
---@param result any
local function on_response(bufnr, req, err, result)
  local items = result and (result.items or result) or {}
  trace.add('response', {
    buf = bufnr,
    id = req.id,
    items = type(items) == 'table' and #items or 0,
    error = err and err.code or nil,
  })
  local s = buffers[bufnr]
  if not s or s.inflight ~= req then
    return -- superseded or cancelled; the server answered anyway
  end
  s.inflight = nil
  if err then
    if not QUIET_ERRORS[err.code] then
      state.set_error(('inline completion failed: %s'):format(err.message or vim.inspect(err)))
    end
    return
  end
  local row, col = cursor()
  if
    not result
    or not in_insert()
    or api.nvim_get_current_buf() ~= bufnr
    or api.nvim_buf_get_changedtick(bufnr) ~= req.tick
    or row ~= req.row
    or col ~= req.col
  then
    return
  end
  s.items = suggestions(bufnr, req.client, req, result)
  s.index = 1
  show(bufnr, s)
end

--- Send a request now for the cursor position in `bufnr`.
---@param bufnr integer
---@param kind integer InlineCompletionTriggerKind
local function request(bufnr, kind)
  local s = buffers[bufnr]
  if not s or api.nvim_get_current_buf() ~= bufnr or not in_insert() then
    return
  end
  local client = state.clients(bufnr)[1]
  if not client then
    return
  end
  cancel(s)
  local row, col = cursor()
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  ---@cast params lsp.InlineCompletionParams
  params.context = { triggerKind = kind }
  ---@type ghostline.Request
  local req = {
    client = client,
    tick = api.nvim_buf_get_changedtick(bufnr),
    row = row,
    col = col,
  }
  s.inflight = req
  local ok, id = client:request(METHOD, params, function(err, result)
    on_response(bufnr, req, err, result)
  end, bufnr)
  if not ok then
    s.inflight = nil
    state.set_error('inline completion request failed: the server is not running')
    return
  end
  req.id = id
end

---@param bufnr integer
---@param s ghostline.BufState
local function schedule(bufnr, s)
  stop_timer(s)
  s.timer = vim.defer_fn(function()
    s.timer = nil
    request(bufnr, TRIGGER_AUTOMATIC)
  end, config.options.debounce_ms)
end

--- TextChangedI / CursorMovedI: cancel what is stale, keep a suggestion the user types through.
---@param bufnr integer
local function on_change(bufnr)
  local s = buffers[bufnr]
  if not s then
    return
  end
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local row, col = cursor()
  local seen = s.seen
  if seen and seen.tick == tick and seen.row == row and seen.col == col then
    return
  end
  s.seen = { tick = tick, row = row, col = col }
  if s.inflight then
    cancel(s)
  end
  local sug = s.items[s.index]
  if sug and remainder(bufnr, sug) then
    show(bufnr, s)
    return
  end
  clear(bufnr, s)
  schedule(bufnr, s)
end

---@param bufnr integer
local function on_leave(bufnr)
  local s = buffers[bufnr]
  if not s then
    return
  end
  stop_timer(s)
  cancel(s)
  clear(bufnr, s)
  s.seen = nil
end

---@param bufnr integer
---@param _client vim.lsp.Client
function M.attach(bufnr, _client)
  if buffers[bufnr] then
    return
  end
  buffers[bufnr] = { items = {}, index = 1 }
  api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      on_change(bufnr)
    end,
  })
  api.nvim_create_autocmd('InsertEnter', {
    group = group,
    buffer = bufnr,
    callback = function()
      local s = buffers[bufnr]
      if s then
        s.seen = nil
        -- Cursor is not final yet inside InsertEnter (e.g. `A`): look after it settles.
        vim.schedule(function()
          on_change(bufnr)
        end)
      end
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      on_leave(bufnr)
    end,
  })
  if api.nvim_get_current_buf() == bufnr and in_insert() then
    on_change(bufnr)
  end
end

---@param bufnr integer
function M.detach(bufnr)
  if not buffers[bufnr] then
    return
  end
  on_leave(bufnr)
  buffers[bufnr] = nil
  pcall(api.nvim_clear_autocmds, { group = group, buffer = bufnr })
end

---@param bufnr integer
---@return boolean
function M.visible(bufnr)
  local s = buffers[bufnr]
  return s ~= nil and s.shown ~= nil
end

--- Insert the whole suggestion, its next word or its next line.
---@param bufnr integer
---@param part 'all'|'word'|'line'
---@return boolean accepted
function M.accept(bufnr, part)
  local s = buffers[bufnr]
  local sug = s and s.items[s.index]
  local rest = sug and remainder(bufnr, sug)
  if not s or not sug or not rest then
    return false
  end
  local piece = part == 'word' and text.next_word(rest)
    or part == 'line' and text.next_line(rest)
    or rest
  local whole = piece == rest
  local row, col = cursor()
  local end_col = col
  if whole and sug.tail ~= '' and row == sug.row then
    local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    if line:sub(col + 1, col + #sug.tail) == sug.tail then
      end_col = col + #sug.tail
    end
  end
  edit.put(bufnr, row, col, row, end_col, piece)
  trace.add('accept', { buf = bufnr, part = part, text = piece })
  if whole then
    clear(bufnr, s)
    edit.run_command(sug.client_id, sug.command, bufnr)
  else
    sug.accepted_len = (sug.accepted_len or 0) + vim.fn.strchars(piece)
    edit.run_partial_command(sug.client_id, sug.command, bufnr, sug.accepted_len)
    show(bufnr, s)
  end
  return true
end

--- Show the next (delta 1) or previous (delta -1) suggestion of the last response.
---@param bufnr integer
---@param delta integer
---@return boolean
function M.cycle(bufnr, delta)
  local s = buffers[bufnr]
  if not s or not s.shown or #s.items < 2 then
    return false
  end
  local n = #s.items
  for step = 1, n - 1 do
    local i = (s.index - 1 + delta * step) % n + 1
    if remainder(bufnr, s.items[i]) then
      s.index = i
      show(bufnr, s)
      return true
    end
  end
  return false
end

--- Hide the suggestion and cancel the request in flight.
---@param bufnr integer
---@return boolean whether something was shown
function M.dismiss(bufnr)
  local s = buffers[bufnr]
  if not s then
    return false
  end
  local was = s.shown ~= nil
  stop_timer(s)
  cancel(s)
  clear(bufnr, s)
  trace.add('dismiss', { buf = bufnr })
  return was
end

--- Ask for a suggestion now, without the debounce.
---@param bufnr integer
function M.trigger(bufnr)
  local s = buffers[bufnr]
  if s then
    stop_timer(s)
    request(bufnr, TRIGGER_INVOKED)
  end
end

--- Internal state, for `:Ghostline status` and tests.
---@param bufnr integer
---@return table?
function M.info(bufnr)
  local s = buffers[bufnr]
  if not s then
    return nil
  end
  return {
    inflight = s.inflight and s.inflight.id or nil,
    items = #s.items,
    index = s.index,
    shown = s.shown,
  }
end

return M
