--- Pure string helpers for suggestions (no editor state), so they are easy to test.
local M = {}

--- The next word of a suggestion: leading blanks plus one run of word characters or one run of
--- other non-blank characters. A suggestion that starts with a line break yields the break and
--- the next line's indentation.
---@param s string
---@return string
function M.next_word(s)
  local nl = s:match('^\r?\n[ \t]*')
  if nl then
    return nl
  end
  local piece = s:match('^[ \t]*[%w_]+') or s:match('^[ \t]*[^%w_%s]+') or s:match('^[ \t]+')
  return piece or s
end

--- The rest of the current line of a suggestion; if it starts with a line break, the break and
--- the whole next line.
---@param s string
---@return string
function M.next_line(s)
  local first = s:match('^[^\n]+')
  if first then
    return first
  end
  local nl_line = s:match('^\n[^\n]*')
  return nl_line or s
end

--- The text of an insertText that may be a snippet StringValue: placeholders become their
--- default text, tab stops disappear.
---@param insert_text string|{kind: string, value: string}
---@return string
function M.plain(insert_text)
  if type(insert_text) == 'string' then
    return insert_text
  end
  local value = insert_text.value or ''
  if insert_text.kind ~= 'snippet' then
    return value
  end
  local ok, grammar = pcall(require, 'vim.lsp._snippet_grammar')
  if ok then
    local parsed_ok, parsed = pcall(grammar.parse, value)
    if parsed_ok then
      return tostring(parsed)
    end
  end
  value = value:gsub('%${%d+:([^}]*)}', '%1'):gsub('%${%d+}', ''):gsub('%$%d+', '')
  return value
end

--- What is left of `full` once `typed` has been typed, or nil when `typed` diverges from it or
--- has consumed it.
---@param full string
---@param typed string
---@return string?
function M.remainder(full, typed)
  if #typed >= #full or full:sub(1, #typed) ~= typed then
    return nil
  end
  return full:sub(#typed + 1)
end

--- Replace tabs so virtual text lines up (Neovim draws virtual text tabs verbatim).
---@param s string
---@param tabstop integer
---@return string
function M.expand_tabs(s, tabstop)
  return (s:gsub('\t', string.rep(' ', tabstop)))
end

return M
