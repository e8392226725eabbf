"""TypeScript run as JavaScript: its types are cut out of the source along tree-sitter's
syntax tree (type annotations and arguments, interfaces, type aliases, `as` casts, `!`),
as TypeScript's own compiler does when it only strips types. What cannot be stripped
without changing what the code does (an `enum`, a constructor's `private x` parameter, a
namespace) is refused, and so is anything that does not then parse as JavaScript: such a
candidate is reported as not built, never run half-translated."""

from __future__ import annotations

from vibe_ls import triggers

# Nodes that are types only: cut out whole.
_TYPES_ONLY = {"type_annotation", "type_arguments", "type_parameters", "interface_declaration",
               "type_alias_declaration", "accessibility_modifier", "override_modifier",
               "omitting_type_annotation", "opting_type_annotation", "asserts_annotation",
               "function_signature",
               "ambient_declaration", "abstract_method_signature", "index_signature"}
# Anonymous keyword tokens that only TypeScript has, where they are modifiers.
_MODIFIERS = {"readonly", "declare", "abstract"}
# Emitting code of their own: no plain stripping keeps their meaning.
_REFUSED = {"enum_declaration", "internal_module", "module", "import_alias",
            "decorator"}


class NotStrippable(ValueError):
    """The TypeScript uses something that is more than types."""


def to_javascript(source: str) -> str:
    """`source` with its types cut out; raises NotStrippable (with the reason) when that
    cannot be done faithfully."""
    document = triggers._document(source, "typescript")
    if document.root.has_error:
        raise NotStrippable("the TypeScript does not parse")
    data = source.encode("utf-8")
    cuts: list[tuple[int, int]] = []
    _collect(document.root, cuts)
    out, at = [], 0
    for start, end in sorted(cuts):
        if start < at:  # inside a cut already made
            continue
        out.append(data[at:start])
        at = end
    out.append(data[at:])
    text = b"".join(out).decode("utf-8")
    if triggers._document(text, "javascript").root.has_error:
        raise NotStrippable("the code left without its types is not JavaScript")
    return text


def _collect(node, cuts: list[tuple[int, int]]) -> None:
    kind = node.type
    if kind in _REFUSED:
        raise NotStrippable(f"`{kind.replace('_', ' ')}` is more than types")
    if kind in _TYPES_ONLY:
        if kind == "accessibility_modifier" and node.parent is not None and \
                node.parent.type in ("required_parameter", "optional_parameter"):
            raise NotStrippable("a constructor parameter that declares a field")
        cuts.append((node.start_byte, node.end_byte))
        return
    if kind == "import_statement" and any(c.type == "type" for c in node.children):
        cuts.append((node.start_byte, node.end_byte))  # `import type …`
        return
    if kind in ("as_expression", "satisfies_expression"):  # keep the value: `x as T` → `x`
        value = node.named_children[0]
        cuts.append((value.end_byte, node.end_byte))
        _collect(value, cuts)
        return
    if kind == "non_null_expression":  # `x!` → `x`
        cuts.append((node.end_byte - 1, node.end_byte))
    for child in node.children:
        if not child.is_named and child.type in _MODIFIERS:
            cuts.append((child.start_byte, child.end_byte))
        elif not child.is_named and child.type in ("?", "!") and kind in (
                "optional_parameter", "public_field_definition", "variable_declarator"):
            cuts.append((child.start_byte, child.end_byte))  # `b?: T`, `let x!: T`
        else:
            _collect(child, cuts)
