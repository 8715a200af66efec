; Capture conventions (shared by every language, read by index/parser.py):
;   @def.<kind>  the definition node      @name      its name
;   @scope       a named container that is not a definition itself, @scope.name its name
;   @import      an import statement      @package   the file's package / namespace name

(class_definition name: (identifier) @name) @def.class
(function_definition name: (identifier) @name) @def.function

(module
  (expression_statement
    (assignment left: (identifier) @name) @def.variable))

(class_definition
  body: (block
    (expression_statement
      (assignment left: (identifier) @name) @def.field)))

(import_statement) @import
(import_from_statement) @import
(future_import_statement) @import
