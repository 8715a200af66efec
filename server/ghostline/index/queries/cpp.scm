; See python.scm and c.scm for the capture conventions.

(function_definition declarator: (_) @declarator) @def.function
(declaration
  declarator: [(function_declarator) (pointer_declarator) (reference_declarator)] @declarator)
  @def.function
(field_declaration
  declarator: [(function_declarator) (pointer_declarator) (reference_declarator)] @declarator)
  @def.function
(class_specifier name: (_) @name body: (_)) @def.class
(struct_specifier name: (_) @name body: (_)) @def.struct
(union_specifier name: (_) @name body: (_)) @def.struct
(enum_specifier name: (_) @name body: (_)) @def.enum
(namespace_definition name: (_) @name) @def.namespace
(type_definition declarator: (type_identifier) @name) @def.type
(alias_declaration name: (_) @name) @def.type
(concept_definition name: (_) @name) @def.type
(field_declaration declarator: (field_identifier) @name) @def.field
(preproc_def name: (identifier) @name) @def.constant
(preproc_function_def name: (identifier) @name) @def.macro

(preproc_include) @import
