; TypeScript and TSX only; ecmascript.scm holds what JavaScript and TypeScript share.

(function_signature name: (identifier) @name) @def.function
(abstract_class_declaration name: (_) @name) @def.class
(interface_declaration name: (_) @name) @def.interface
(type_alias_declaration name: (_) @name) @def.type
(enum_declaration name: (_) @name) @def.enum
(internal_module name: (_) @name) @def.namespace
(module name: (_) @name) @def.namespace
(method_signature name: (_) @name) @def.method
(abstract_method_signature name: (_) @name) @def.method
(public_field_definition name: (_) @name) @def.field
(interface_body (property_signature name: (_) @name) @def.field)

(ambient_declaration
  (lexical_declaration (variable_declarator name: (identifier) @name) @def.variable))
(ambient_declaration
  (variable_declaration (variable_declarator name: (identifier) @name) @def.variable))
