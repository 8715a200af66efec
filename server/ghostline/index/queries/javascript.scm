; JavaScript only; ecmascript.scm holds what JavaScript and TypeScript share.

(field_definition property: (_) @name) @def.field
