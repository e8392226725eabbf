"""Reading a function's signature in another language than Python (tree-sitter), as types the
harness can feed and read back: integers, floats, booleans, strings, characters and lists of
them. Anything else (pointers to structs, maps, user classes, `void`) is not supported, and
such a function is not checked."""

from __future__ import annotations

import re
from dataclasses import dataclass

from vibe_ls import triggers


@dataclass(frozen=True)
class Type:
    kind: str  # "int" | "float" | "bool" | "str" | "char" | "list" | "any" (JavaScript)
    item: Type | None = None  # a list's elements
    low: int | None = None  # an integer type's range
    high: int | None = None

    def python(self) -> str:
        if self.kind == "list":
            return f"list[{self.item.python()}]"
        return {"char": "str", "any": ""}.get(self.kind, self.kind)


@dataclass(frozen=True)
class Param:
    name: str
    type: Type
    native: str  # the value's type as the language spells it, `const` and `&` taken off
    passing: str = "value"  # "value" | "ref" | "mut" (Rust borrows), "length" (C: hidden)


@dataclass(frozen=True)
class Signature:
    language: str
    name: str
    params: tuple[Param, ...]
    returns: Type
    owner: str | None = None  # the class (impl) it is a method of
    static: bool = True  # callable without an instance

    @property
    def visible(self) -> tuple[Param, ...]:
        """The parameters a caller gives (C's array lengths are derived)."""
        return tuple(p for p in self.params if p.passing != "length")


INT = Type("int", low=-(2**31), high=2**31 - 1)
LONG = Type("int", low=-(2**63), high=2**63 - 1)
UNSIGNED = Type("int", low=0, high=2**32 - 1)
SIZE = Type("int", low=0, high=2**64 - 1)
FLOAT, BOOL, STR, CHAR, ANY = Type("float"), Type("bool"), Type("str"), Type("char"), Type("any")
VOID = Type("void")  # C++ `void`, Rust's `()`: read for the rewrite check (`read(void=True)`)


def _list(item: Type | None) -> Type | None:
    return Type("list", item) if item is not None else None


# -- type names per language ------------------------------------------------------------

_CPP_INTS = {"int": INT, "long": LONG, "long long": LONG, "short": INT, "long int": LONG,
             "long long int": LONG, "int64_t": LONG, "int32_t": INT, "unsigned": UNSIGNED,
             "unsigned int": UNSIGNED, "uint32_t": UNSIGNED, "size_t": SIZE, "uint64_t": SIZE,
             "unsigned long": SIZE, "unsigned long long": SIZE}


def _cpp_type(text: str) -> Type | None:
    text = re.sub(r"\b(const|std::|struct)\b|std::|&", " ", text)
    text = " ".join(text.split()).replace("< ", "<").replace(" >", ">")
    if text in _CPP_INTS:
        return _CPP_INTS[text]
    if text in ("double", "float", "long double"):
        return FLOAT
    if text in ("bool", "_Bool"):
        return BOOL
    if text == "string":
        return STR
    if text == "char":
        return CHAR
    inner = re.fullmatch(r"vector<(.+)>", text)
    return _list(_cpp_type(inner.group(1))) if inner else None


_RUST_INTS = {"i8": (-(2**7), 2**7 - 1), "i16": (-(2**15), 2**15 - 1), "i32": (-(2**31), 2**31 - 1),
              "i64": (-(2**63), 2**63 - 1), "isize": (-(2**63), 2**63 - 1),
              "u8": (0, 2**8 - 1), "u16": (0, 2**16 - 1), "u32": (0, 2**32 - 1),
              "u64": (0, 2**64 - 1), "usize": (0, 2**64 - 1)}


def _rust_type(text: str) -> Type | None:
    text = re.sub(r"'\w+|\bmut\b|&|\s", "", text)
    if text in _RUST_INTS:
        return Type("int", low=_RUST_INTS[text][0], high=_RUST_INTS[text][1])
    if text in ("f32", "f64"):
        return FLOAT
    if text == "bool":
        return BOOL
    if text in ("String", "str"):
        return STR
    if text == "char":
        return CHAR
    inner = re.fullmatch(r"Vec<(.+)>|\[([^;]+)\]", text)
    return _list(_rust_type(inner.group(1) or inner.group(2))) if inner else None


_JAVA = {"int": INT, "Integer": INT, "short": INT, "Short": INT, "byte": INT, "Byte": INT,
         "long": LONG, "Long": LONG, "double": FLOAT, "Double": FLOAT, "float": FLOAT,
         "Float": FLOAT, "boolean": BOOL, "Boolean": BOOL, "String": STR, "char": CHAR,
         "Character": CHAR}


def _java_type(text: str) -> Type | None:
    text = re.sub(r"\bfinal\b|\s", "", text)
    if text in _JAVA:
        return _JAVA[text]
    if text.endswith("[]"):
        return _list(_java_type(text[:-2]))
    inner = re.fullmatch(r"(?:java\.util\.)?(?:List|ArrayList)<(.+)>", text)
    return _list(_java_type(inner.group(1))) if inner else None


# -- reading signatures ------------------------------------------------------------------

def _text(source: bytes, node) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8", "replace")


def _definition(source: str, language: str, function: str):
    document = triggers._document(source, language)
    for definition in triggers._definitions(document):
        if definition.kind != "class" and document.text(definition.name) == function:
            return definition
    return None


def _owner(node, language: str, source: bytes) -> str | None:
    """The class (Rust: the impl's type) a function is defined in."""
    classes = {"cpp": ("class_specifier", "struct_specifier"), "java": ("class_declaration",),
               "rust": ("impl_item",), "javascript": ("class_declaration", "class"),
               "typescript": ("class_declaration", "class", "abstract_class_declaration"),
               }[language]
    parent = node.parent
    while parent is not None:
        if parent.type in classes:
            name = parent.child_by_field_name("type" if language == "rust" else "name")
            return _text(source, name) if name is not None else None
        parent = parent.parent
    return None


def read(language: str, source: str, function: str, void: bool = False) -> Signature | None:
    """The signature of `function` in `source`, or None when it is missing or has a type
    the harness cannot feed or read back. `void`: a C++ or Rust function that returns
    nothing too (what it does is what it leaves in its references)."""
    definition = _definition(source, language, function)
    if definition is None:
        return None
    reader = {"cpp": _read_c, "c": _read_c, "rust": _read_rust, "java": _read_java,
              "javascript": _read_js, "typescript": _read_ts}.get(language)
    found = reader(language, source.encode("utf-8"), definition.node, function) if reader \
        else None
    return None if found is not None and found.returns.kind == "void" and not void else found


def _c_declarator(node) -> tuple[str, str] | None:
    """(name, shape) of a C/C++ parameter declarator: shape "" plain, "*" pointer, "[]"
    array, "&" reference."""
    shape = ""
    while node is not None and node.type != "identifier":
        kind = {"pointer_declarator": "*", "array_declarator": "[]",
                "reference_declarator": "&"}.get(node.type)
        if kind is None:
            return None
        if shape and shape != "&":
            return None  # pointer to pointer, array of pointers: not supported
        shape = kind
        node = node.child_by_field_name("declarator") or next(
            (c for c in node.named_children if c.type.endswith(("declarator", "identifier"))),
            None)
    return (node.text.decode(), shape) if node is not None else None


def _read_c(language: str, source: bytes, node, function: str) -> Signature | None:
    declarator = node.child_by_field_name("declarator")
    if declarator is None or declarator.type != "function_declarator":
        return None  # returns a pointer or a reference
    returned = _text(source, node.child_by_field_name("type")).strip()
    returns = VOID if returned == "void" and language == "cpp" else _cpp_type(returned)
    if returns is None or (language == "c" and returns.kind == "list"):
        return None
    raw = []
    for child in declarator.child_by_field_name("parameters").named_children:
        if child.type != "parameter_declaration":
            return None
        type_node, decl = child.child_by_field_name("type"), child.child_by_field_name(
            "declarator")
        if type_node is None or decl is None:
            return None  # `void`, or an unnamed parameter
        found = _c_declarator(decl)
        if found is None:
            return None
        raw.append((found[0], _text(source, type_node), found[1]))
    params: list[Param] = []
    lengths: set[int] = set()  # C: the parameters that give the array before them its length
    for i, (name, native, shape) in enumerate(raw):
        base = _cpp_type(native)
        if base is None:
            return None
        if i in lengths:
            params.append(Param(name, base, native, "length"))
        elif shape in ("*", "[]") and base.kind == "char" and shape == "*":
            params.append(Param(name, STR, "char*"))
        elif shape in ("*", "[]"):
            following = raw[i + 1] if i + 1 < len(raw) else None
            length = _cpp_type(following[1]) if following and not following[2] else None
            if base.kind in ("list", "str") or length is None or length.kind != "int":
                return None  # an array needs its length right after it
            params.append(Param(name, _list(base), native))
            lengths.add(i + 1)
        else:
            params.append(Param(name, base, native, "ref" if shape == "&" else "value"))
    owner = _owner(node, language, source) if language == "cpp" else None
    static = owner is None or any(c.type == "storage_class_specifier" and
                                  _text(source, c) == "static" for c in node.children)
    return Signature(language, function, tuple(params), returns, owner, static)


def _read_rust(language: str, source: bytes, node, function: str) -> Signature | None:
    returned = node.child_by_field_name("return_type")
    returns = _rust_type(_text(source, returned)) if returned is not None else VOID
    if returns is None:
        return None
    params = []
    for child in node.child_by_field_name("parameters").named_children:
        if child.type != "parameter":
            return None  # self: a method on an instance we cannot build
        pattern, type_node = child.child_by_field_name("pattern"), child.child_by_field_name(
            "type")
        native = _text(source, type_node)
        kind = _rust_type(native)
        if kind is None:
            return None
        passing = "mut" if native.startswith("&mut") else "ref" if native.startswith("&") \
            else "value"
        name = _text(source, pattern).replace("mut ", "").strip()
        params.append(Param(name, kind, _rust_owned(native), passing))
    return Signature(language, function, tuple(params), returns, _owner(node, language, source))


def _rust_owned(native: str) -> str:
    """The owned type a borrowed parameter is made from: `&[i32]` -> `Vec<i32>`."""
    text = re.sub(r"^&\s*('\w+\s*)?(mut\s+)?", "", native.strip())
    if text == "str":
        return "String"
    inner = re.fullmatch(r"\[(.+)\]", text)
    return f"Vec<{inner.group(1)}>" if inner else text


def _read_java(language: str, source: bytes, node, function: str) -> Signature | None:
    if node.type != "method_declaration":
        return None
    returns = _java_type(_text(source, node.child_by_field_name("type")))
    if returns is None:
        return None
    params = []
    for child in node.child_by_field_name("parameters").named_children:
        if child.type != "formal_parameter":
            return None  # varargs, receiver parameters
        native = re.sub(r"\bfinal\s+", "", _text(source, child.child_by_field_name("type")))
        kind = _java_type(native)
        if kind is None:
            return None
        params.append(Param(_text(source, child.child_by_field_name("name")), kind, native))
    modifiers = next((c for c in node.children if c.type == "modifiers"), None)
    static = modifiers is not None and "static" in _text(source, modifiers).split()
    return Signature(language, function, tuple(params), returns,
                     _owner(node, language, source), static)


def _read_js(language: str, source: bytes, node, function: str) -> Signature | None:
    parameters = node.child_by_field_name("parameters") or node.child_by_field_name("parameter")
    if parameters is None:
        return None
    names = []
    for child in ([parameters] if parameters.type == "identifier"
                  else parameters.named_children):
        if child.type == "identifier":
            names.append(_text(source, child))
        elif child.type == "assignment_pattern":
            names.append(_text(source, child.child_by_field_name("left")))
        else:
            return None  # destructuring, rest parameters
    owner = _owner(node, language, source) if node.type == "method_definition" else None
    static = owner is None or any(c.type == "static" for c in node.children)
    return Signature(language, function, tuple(Param(n, ANY, "") for n in names), ANY, owner,
                     static)


# A JavaScript number holds integers exactly up to 2^53.
NUMBER = Type("int", low=-(2**53 - 1), high=2**53 - 1)


def _ts_type(source: bytes, node) -> Type:
    """A TypeScript type (the node inside a `: T` annotation) as a harness type: numbers,
    booleans, strings and arrays of them; anything else is taken as it comes (as
    JavaScript's values are)."""
    if node is None:
        return ANY
    if node.type in ("type_annotation", "readonly_type", "parenthesized_type"):
        return _ts_type(source, node.named_children[-1] if node.named_children else None)
    if node.type == "predefined_type":
        return {"number": NUMBER, "boolean": BOOL, "string": STR}.get(_text(source, node), ANY)
    item = None
    if node.type == "array_type":
        item = node.named_children[0]
    elif node.type == "generic_type" and _text(source, node.named_children[0]) in (
            "Array", "ReadonlyArray") and len(node.named_children[1].named_children) == 1:
        item = node.named_children[1].named_children[0]
    inner = _ts_type(source, item) if item is not None else ANY
    return Type("list", inner) if inner is not ANY else ANY


def _read_ts(language: str, source: bytes, node, function: str) -> Signature | None:
    parameters = node.child_by_field_name("parameters")
    if parameters is None:
        return None
    params = []
    for child in parameters.named_children:
        if child.type not in ("required_parameter", "optional_parameter"):
            return None
        pattern = child.child_by_field_name("pattern")
        if pattern is None or pattern.type != "identifier" or \
                child.child_by_field_name("value") is not None:
            return None  # destructuring, rest parameters, defaults
        annotation = next((c for c in child.named_children if c.type == "type_annotation"),
                          None)
        params.append(Param(_text(source, pattern), _ts_type(source, annotation), ""))
    returns = _ts_type(source, node.child_by_field_name("return_type"))
    owner = _owner(node, language, source) if node.type == "method_definition" else None
    static = owner is None or any(c.type == "static" for c in node.children)
    return Signature(language, function, tuple(params), returns, owner, static)


def python_signature(signature: Signature) -> str:
    """The same function as a Python `def` line (what a Python reference implements)."""
    params = []
    for p in signature.visible:
        hint = p.type.python()
        params.append(f"{p.name}: {hint}" if hint else p.name)
    returns = signature.returns.python()
    arrow = f" -> {returns}" if returns else ""
    return f"def {signature.name}({', '.join(params)}){arrow}:"
