; Shared by javascript, typescript and tsx (see python.scm for the capture conventions).

(function_declaration name: (identifier) @name) @def.function
(generator_function_declaration name: (identifier) @name) @def.function
(class_declaration name: (_) @name) @def.class
(method_definition name: (_) @name) @def.method

(program
  (lexical_declaration (variable_declarator name: (identifier) @name) @def.variable))
(program
  (variable_declaration (variable_declarator name: (identifier) @name) @def.variable))
(export_statement
  declaration: (lexical_declaration
    (variable_declarator name: (identifier) @name) @def.variable))

(import_statement) @import
(export_statement source: (_)) @import
((call_expression
   function: (identifier) @_require
   arguments: (arguments . (string))) @import
 (#eq? @_require "require"))
