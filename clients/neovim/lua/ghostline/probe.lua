--- Start the server command outside the LSP client, send `initialize`, then `shutdown` and
--- `exit`: tells `:checkhealth` whether the server starts and what it offers.
local M = {}

---@param msg table
---@return string
local function frame(msg)
  local body = vim.json.encode(msg)
  return ('Content-Length: %d\r\n\r\n%s'):format(#body, body)
end

--- Parse complete messages at the start of `buf`.
---@param buf string
---@return table[] messages
---@return string rest
local function parse(buf)
  local out = {}
  while true do
    local head_end = buf:find('\r\n\r\n', 1, true)
    if not head_end then
      break
    end
    local len = tonumber(buf:sub(1, head_end):match('[Cc]ontent%-[Ll]ength:%s*(%d+)'))
    if not len or #buf < head_end + 3 + len then
      break
    end
    local body = buf:sub(head_end + 4, head_end + 3 + len)
    buf = buf:sub(head_end + 4 + len)
    local ok, msg = pcall(vim.json.decode, body, { luanil = { object = true, array = true } })
    if ok then
      out[#out + 1] = msg
    end
  end
  return out, buf
end

---@class ghostline.ProbeResult
---@field ok boolean
---@field ms integer time to the initialize response
---@field server_info table?
---@field capabilities table?
---@field error string?
---@field stderr string

--- Run the probe; blocks up to `timeout_ms`.
---@param cmd string[]
---@param opts {env: table<string,string>?, init_options: table?, root: string?, timeout_ms: integer?}
---@return ghostline.ProbeResult
function M.run(cmd, opts)
  local timeout = opts.timeout_ms or 15000
  local result = { ok = false, ms = 0, stderr = '' } ---@type ghostline.ProbeResult
  local buf = ''
  local init_response ---@type table?
  local started = vim.uv.hrtime()
  local ok, proc = pcall(vim.system, cmd, {
    stdin = true,
    env = opts.env,
    stdout = function(_, data)
      if data then
        buf = buf .. data
        local msgs
        msgs, buf = parse(buf)
        for _, m in ipairs(msgs) do
          if m.id == 1 then
            init_response = m
          end
        end
      end
    end,
    stderr = function(_, data)
      if data and #result.stderr < 20000 then
        result.stderr = result.stderr .. data
      end
    end,
  })
  if not ok then
    result.error = ('cannot start %s: %s'):format(cmd[1], proc)
    return result
  end
  ---@cast proc vim.SystemObj
  proc:write(frame({
    jsonrpc = '2.0',
    id = 1,
    method = 'initialize',
    params = {
      processId = vim.uv.os_getpid(),
      rootUri = vim.uri_from_fname(opts.root or vim.fn.getcwd()),
      capabilities = vim.empty_dict(),
      initializationOptions = opts.init_options or vim.empty_dict(),
      clientInfo = { name = 'ghostline-checkhealth' },
    },
  }))
  local exited = false
  vim.wait(timeout, function()
    exited = proc:is_closing() or false
    return init_response ~= nil or exited
  end, 20)
  result.ms = math.floor((vim.uv.hrtime() - started) / 1e6)
  if init_response and init_response.result then
    result.ok = true
    result.server_info = init_response.result.serverInfo
    result.capabilities = init_response.result.capabilities
    proc:write(frame({ jsonrpc = '2.0', id = 2, method = 'shutdown' }))
    proc:write(frame({ jsonrpc = '2.0', method = 'exit' }))
  elseif init_response and init_response.error then
    result.error = 'initialize failed: ' .. vim.inspect(init_response.error)
  elseif exited then
    result.error = 'the server exited before answering initialize'
  else
    result.error = ('no answer to initialize within %d ms'):format(timeout)
  end
  pcall(proc.write, proc, nil)
  local done = vim.wait(3000, function()
    return proc:is_closing()
  end, 20)
  if not done then
    proc:kill('sigterm')
  end
  return result
end

return M
