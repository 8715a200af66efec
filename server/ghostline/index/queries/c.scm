; See python.scm for the capture conventions. Function names are found in Python by
; walking the declarator chain (pointers, parentheses, qualified names).

(function_definition declarator: (_) @declarator) @def.function
(declaration declarator: [(function_declarator) (pointer_declarator)] @declarator) @def.function
(struct_specifier name: (_) @name body: (_)) @def.struct
(union_specifier name: (_) @name body: (_)) @def.struct
(enum_specifier name: (_) @name body: (_)) @def.enum
(type_definition declarator: (type_identifier) @name) @def.type
(field_declaration declarator: (field_identifier) @name) @def.field
(preproc_def name: (identifier) @name) @def.constant
(preproc_function_def name: (identifier) @name) @def.macro

(preproc_include) @import
