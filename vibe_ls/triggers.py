"""Where code actions apply, found with tree-sitter: TODO comments, enclosing scopes, imports.

This module owns the server's view of code structure. It knows which languages can be parsed
(one official grammar package per language, parsers cached), which comments are TODO
triggers, which function, method or class encloses a line, what that definition's body and
signature are, and where imports live. Positions are 0-based (line, column) with columns in
code points (Python str indices), never tree-sitter's UTF-8 byte columns.
"""

from __future__ import annotations

import functools
import inspect
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

import tree_sitter
import tree_sitter_c
import tree_sitter_cpp
import tree_sitter_go
import tree_sitter_java
import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_rust
import tree_sitter_typescript

Position = tuple[int, int]
Range = tuple[Position, Position]


@dataclass(frozen=True)
class LanguageSpec:
    """What the lookups below need to know about one tree-sitter grammar."""

    name: str
    load: Callable[[], object]
    extensions: tuple[str, ...]
    comments: frozenset[str]
    functions: frozenset[str]
    classes: frozenset[str]
    imports: frozenset[str]
    # Nodes a new import goes after when the file has none yet.
    preamble: frozenset[str] = frozenset()


_C_COMMENTS = frozenset({"comment"})
_JAVA_COMMENTS = frozenset({"line_comment", "block_comment"})
_JS_FUNCTIONS = frozenset({
    "function_declaration", "generator_function_declaration", "method_definition",
    "function_expression", "arrow_function", "generator_function",
})
_JS_CLASSES = frozenset({"class_declaration", "class"})


def _spec(name: str, load: Callable[[], object], extensions: tuple[str, ...], *,
          comments: frozenset[str] = _C_COMMENTS, functions: frozenset[str],
          classes: frozenset[str] = frozenset(), imports: frozenset[str],
          preamble: frozenset[str] = frozenset()) -> LanguageSpec:
    return LanguageSpec(name, load, extensions, comments, functions, classes, imports, preamble)


LANGUAGES: dict[str, LanguageSpec] = {spec.name: spec for spec in (
    _spec("python", tree_sitter_python.language, (".py", ".pyi", ".pyw"),
          functions=frozenset({"function_definition"}),
          classes=frozenset({"class_definition"}),
          imports=frozenset({"import_statement", "import_from_statement",
                             "future_import_statement"})),
    _spec("c", tree_sitter_c.language, (".c", ".h"),
          functions=frozenset({"function_definition"}),
          imports=frozenset({"preproc_include"})),
    _spec("cpp", tree_sitter_cpp.language,
          (".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp"),
          functions=frozenset({"function_definition"}),
          classes=frozenset({"class_specifier", "struct_specifier"}),
          imports=frozenset({"preproc_include"})),
    _spec("java", tree_sitter_java.language, (".java",), comments=_JAVA_COMMENTS,
          functions=frozenset({"method_declaration", "constructor_declaration",
                               "compact_constructor_declaration"}),
          classes=frozenset({"class_declaration", "interface_declaration",
                             "enum_declaration", "record_declaration"}),
          imports=frozenset({"import_declaration"}),
          preamble=frozenset({"package_declaration"})),
    _spec("javascript", tree_sitter_javascript.language, (".js", ".mjs", ".cjs", ".jsx"),
          functions=_JS_FUNCTIONS, classes=_JS_CLASSES,
          imports=frozenset({"import_statement"})),
    _spec("typescript", tree_sitter_typescript.language_typescript, (".ts", ".mts", ".cts"),
          functions=_JS_FUNCTIONS, classes=_JS_CLASSES | {"abstract_class_declaration"},
          imports=frozenset({"import_statement"})),
    _spec("tsx", tree_sitter_typescript.language_tsx, (".tsx",),
          functions=_JS_FUNCTIONS, classes=_JS_CLASSES | {"abstract_class_declaration"},
          imports=frozenset({"import_statement"})),
    _spec("go", tree_sitter_go.language, (".go",),
          functions=frozenset({"function_declaration", "method_declaration"}),
          imports=frozenset({"import_declaration"}),
          preamble=frozenset({"package_clause"})),
    _spec("rust", tree_sitter_rust.language, (".rs",), comments=_JAVA_COMMENTS,
          functions=frozenset({"function_item"}),
          classes=frozenset({"impl_item", "trait_item"}),
          imports=frozenset({"use_declaration", "extern_crate_declaration"}),
          preamble=frozenset({"inner_attribute_item"})),
)}

_LANGUAGE_IDS = {"javascriptreact": "javascript", "typescriptreact": "tsx", "c++": "cpp"}
_EXTENSIONS = {ext: spec.name for spec in LANGUAGES.values() for ext in spec.extensions}


def language_for(path_or_uri: str, language_id: str | None = None) -> str | None:
    """Our language name for a document: its LSP languageId first, else its file extension."""
    if language_id:
        known = _LANGUAGE_IDS.get(language_id, language_id)
        if known in LANGUAGES:
            return known
    path = unquote(urlparse(path_or_uri).path) if "://" in path_or_uri else path_or_uri
    return _EXTENSIONS.get(PurePosixPath(path.replace("\\", "/")).suffix.lower())


def comment_prefix(language: str) -> str:
    return "#" if language == "python" else "//"


@dataclass(frozen=True)
class Todo:
    language: str
    line: int
    description: str
    comment_range: Range
    # What to delete to resolve the TODO: the marker, an optional colon and the spaces after.
    marker_range: Range
    indent: str


@dataclass(frozen=True)
class Scope:
    language: str
    kind: str  # "function" | "method" | "class"
    name: str
    signature: str
    range: Range
    # Python: from the first body statement (or comment) to the end of the block;
    # brace languages: between "{" and "}".
    body_range: Range | None
    is_stub: bool
    body_indent: str
    docstring: str | None
    text: str
    # Lines of a stub's placeholder statements (`pass`, `return 0;`, `todo!()`), from the
    # syntax tree: a docstring line that reads `False` is not one.
    placeholder_rows: tuple[int, ...] = ()
    # The first line that belongs to the definition: its decorators, attributes, `export` or
    # `template <...>`, and the comments right above them.
    lead_row: int = 0
    # The first line of the definition itself, with its decorators, `export`, `template`.
    head_row: int = 0
    # The names of the definitions it is nested in, outermost first.
    owners: tuple[str, ...] = ()


# --- parsing ---------------------------------------------------------------------------------

_UTF8 = "utf-8"
# Lone surrogates can arrive over JSON-RPC; round-trip them instead of failing.
_ERRORS = "surrogatepass"
# A tree_sitter.Parser must not parse two documents at once, and server handlers may run in
# threads.
_PARSE_LOCK = threading.Lock()


@functools.cache
def _parser(language: str) -> tree_sitter.Parser:
    return tree_sitter.Parser(_language(language))


@functools.cache
def _language(language: str) -> tree_sitter.Language:
    return tree_sitter.Language(LANGUAGES[language].load())


@functools.cache
def _query(language: str, node_types: frozenset[str]) -> tree_sitter.Query:
    patterns = " ".join(f"({node_type})" for node_type in sorted(node_types))
    return tree_sitter.Query(_language(language), f"[{patterns}] @node")


class _Document:
    """One parsed source text, with conversions from tree-sitter byte points to positions."""

    def __init__(self, source: str, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}")
        self.language = language
        self.spec = LANGUAGES[language]
        self.lines = source.split("\n")
        with _PARSE_LOCK:
            self.root = _parser(language).parse(source.encode(_UTF8, _ERRORS)).root_node
        self.attached: set[int] | None = None  # rows of lone comments and attributes

    def position(self, point: tree_sitter.Point) -> Position:
        row, byte_column = point
        line = self.lines[row] if row < len(self.lines) else ""
        return row, len(line.encode(_UTF8, _ERRORS)[:byte_column].decode(_UTF8, _ERRORS))

    def start(self, node: tree_sitter.Node) -> Position:
        return self.position(node.start_point)

    def end(self, node: tree_sitter.Node) -> Position:
        return self.position(node.end_point)

    def text(self, node: tree_sitter.Node) -> str:
        return (node.text or b"").decode(_UTF8, _ERRORS)

    def slice(self, start: Position, end: Position) -> str:
        (first, first_column), (last, last_column) = start, end
        if first == last:
            return self.lines[first][first_column:last_column]
        middle = self.lines[first + 1:last]
        return "\n".join([self.lines[first][first_column:], *middle,
                          self.lines[last][:last_column]])

    def nodes(self, node_types: frozenset[str]) -> list[tree_sitter.Node]:
        captures = tree_sitter.QueryCursor(_query(self.language, node_types)).captures(self.root)
        return sorted(captures.get("node", []), key=lambda node: node.start_byte)


@functools.lru_cache(maxsize=8)
def _document(source: str, language: str) -> _Document:
    return _Document(source, language)


def _advance(start: Position, text: str) -> Position:
    """The position just after `text` when it starts at `start`."""
    newlines = text.count("\n")
    if not newlines:
        return start[0], start[1] + len(text)
    return start[0] + newlines, len(text) - text.rfind("\n") - 1


def _last_row(node: tree_sitter.Node) -> int:
    """The last line a node covers; some nodes (Rust doc comments, #include) end at the next
    line's column 0 because they own their newline."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point.row else row


def leading_whitespace(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


# --- TODO comments ---------------------------------------------------------------------------

_COMMENT_OPENER = re.compile(r"#+|//[/!]?|/\*[*!]?")


@functools.cache
def _marker_pattern(marker: str) -> re.Pattern[str]:
    # An ASCII word boundary, so that "TODO找出…" (no separator) still triggers in Chinese text.
    return re.compile(re.escape(marker) + r"(?![A-Za-z0-9_])[ \t]*[:\uff1a]?[ \t]*")


def _todo_from_comment(document: _Document, comment: tree_sitter.Node, marker: str,
                       ) -> Todo | None:
    text = document.text(comment).rstrip()
    opener = _COMMENT_OPENER.match(text)
    if opener is None:
        return None
    is_block = opener.group().startswith("/*")
    # A block comment's text may begin on its second line, after a " * " decoration.
    padding = re.compile(r"[\s*]*" if is_block else r"[ \t]*").match(text, opener.end())
    found = _marker_pattern(marker).match(text, padding.end())
    if found is None:
        return None
    start = document.start(comment)
    return Todo(
        language=document.language,
        line=start[0],
        description=_todo_description(text[found.end():], is_block),
        comment_range=(start, _advance(start, text)),
        marker_range=(_advance(start, text[:found.start()]), _advance(start, text[:found.end()])),
        indent=leading_whitespace(document.lines[start[0]]),
    )


def _todo_description(rest: str, is_block: bool) -> str:
    if is_block:
        rest = rest.removesuffix("*/")
    first, *more = rest.split("\n")
    parts = [first.strip(), *(line.strip().lstrip("*").strip() for line in more)]
    return " ".join(part for part in parts if part)


def find_todos(source: str, language: str, marker: str = "TODO") -> list[Todo]:
    """TODO triggers: comments whose text starts with `marker` as a word (case-sensitive)."""
    document = _document(source, language)
    found = (_todo_from_comment(document, comment, marker)
             for comment in document.nodes(document.spec.comments))
    return [todo for todo in found if todo is not None]


def todo_at(source: str, language: str, line: int, marker: str = "TODO") -> Todo | None:
    """The TODO whose comment covers `line`, if any."""
    for todo in find_todos(source, language, marker):
        (first, _), (last, _) = todo.comment_range
        if first <= line <= last:
            return todo
    return None


# --- scopes ----------------------------------------------------------------------------------

_METHOD_TYPES = frozenset({"method_definition", "method_declaration", "constructor_declaration",
                           "compact_constructor_declaration"})
# Function and class expressions are named by what they are assigned to.
_EXPRESSION_DEFINITIONS = frozenset({"function_expression", "arrow_function",
                                     "generator_function", "class"})
_NAMING_FIELDS = {"variable_declarator": "name", "pair": "key", "assignment_expression": "left",
                  "public_field_definition": "name", "field_definition": "property"}
# Nodes that wrap a definition without being it; its doc comment sits before them.
_WRAPPERS = frozenset({"export_statement", "template_declaration", "decorated_definition"})


@dataclass(frozen=True)
class _Definition:
    node: tree_sitter.Node  # the function/class node itself, which has the body field
    anchor: tree_sitter.Node  # what range, text and signature start from
    name: tree_sitter.Node
    body: tree_sitter.Node
    kind: str
    end: Position


def _definitions(document: _Document) -> list[_Definition]:
    spec = document.spec
    found = []
    for node in document.nodes(spec.functions | spec.classes):
        body = node.child_by_field_name("body")
        name = _name_node(node)
        if body is None or name is None or not _has_body_block(document, body):
            continue
        anchor = _anchor(node)
        found.append(_Definition(node, anchor, name, body, _kind(spec, node),
                                 _definition_end(document, anchor, body)))
    return found


def _has_body_block(document: _Document, body: tree_sitter.Node) -> bool:
    """Python bodies are blocks; elsewhere a body needs braces (not `=> expr`, not `;`)."""
    return document.language == "python" or any(child.type == "{" for child in body.children)


def _name_node(node: tree_sitter.Node) -> tree_sitter.Node | None:
    if node.type == "function_definition" and node.child_by_field_name("declarator"):
        return _declarator_name(node)
    if node.type == "impl_item":
        return node.child_by_field_name("type")
    parent = node.parent
    if node.type in _EXPRESSION_DEFINITIONS and parent and parent.type in _NAMING_FIELDS:
        return parent.child_by_field_name(_NAMING_FIELDS[parent.type])
    return node.child_by_field_name("name")


def _declarator_name(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """C/C++ bury the name in nested declarators: `int *(*f)(int)`, `S::m`, `int& g()`."""
    declarator = node.child_by_field_name("declarator")
    while declarator is not None and declarator.type.endswith("declarator"):
        inner = declarator.child_by_field_name("declarator")
        if inner is None and not declarator.named_children:
            return None
        declarator = inner if inner is not None else declarator.named_children[-1]
    return declarator


def _anchor(node: tree_sitter.Node) -> tree_sitter.Node:
    parent = node.parent
    if node.type not in _EXPRESSION_DEFINITIONS or parent is None:
        return node
    if parent.type == "variable_declarator" and parent.parent is not None:
        return parent.parent
    return parent if parent.type in _NAMING_FIELDS else node


def _kind(spec: LanguageSpec, node: tree_sitter.Node) -> str:
    if node.type in spec.classes:
        return "class"
    if node.type in _METHOD_TYPES:
        return "method"
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.type in spec.classes:
            return "method"
        if ancestor.type in spec.functions:
            return "function"
        ancestor = ancestor.parent
    return "function"


def _definition_end(document: _Document, anchor: tree_sitter.Node,
                    body: tree_sitter.Node) -> Position:
    """Where a definition ends. A Python def whose body is only comments parses with an empty
    block and the comments outside it; those deeper-indented comments are its body."""
    end = document.end(anchor)
    if document.language != "python" or body.start_byte != body.end_byte:
        return end
    def_indent = len(leading_whitespace(document.lines[anchor.start_point.row]))
    for row in range(end[0] + 1, len(document.lines)):
        line = document.lines[row]
        if not line.strip():
            continue
        if not line.lstrip().startswith("#") or len(leading_whitespace(line)) <= def_indent:
            break
        end = row, len(line.rstrip())
    return end


def _scope(document: _Document, definition: _Definition) -> Scope:
    start = document.start(definition.anchor)
    header_end = _header_end(document, definition)
    body_range = _body_range(document, definition, header_end)
    return Scope(
        language=document.language,
        kind=definition.kind,
        name=document.text(definition.name),
        signature=_signature(document, definition, start, header_end),
        range=(start, definition.end),
        body_range=body_range,
        is_stub=_is_stub(document, definition.body),
        body_indent=_body_indent(document, definition, header_end, body_range),
        docstring=_docstring(document, definition),
        text=document.slice(start, definition.end),
        placeholder_rows=_placeholder_rows(document, definition.body),
        lead_row=_lead_row(document, definition),
        head_row=_head(definition).start_point.row,
        owners=_owners(document, definition),
    )


def _head(definition: _Definition) -> tree_sitter.Node:
    """The outermost node of a definition: with its decorators, `export`, `template <...>`."""
    node = definition.anchor
    while node.parent is not None and node.parent.type in _WRAPPERS:
        node = node.parent
    return node


def _lead_row(document: _Document, definition: _Definition) -> int:
    """The definition's first row, going up over the comments and attributes right above."""
    row = _head(definition).start_point.row
    attached = _attached_rows(document)
    while row > 0 and row - 1 in attached:
        row -= 1
    return row


def _attached_rows(document: _Document) -> set[int]:
    """Rows that hold only a comment or an attribute (`#[test]`): what may sit between a
    definition and a TODO comment about it. Found once per document: every scope asks."""
    if document.attached is None:
        document.attached = _find_attached_rows(document)
    return document.attached


def _find_attached_rows(document: _Document) -> set[int]:
    rows: set[int] = set()
    for node in document.nodes(document.spec.comments | {"attribute_item"}
                               if document.language == "rust" else document.spec.comments):
        first, last = node.start_point.row, _last_row(node)
        if _starts_line(document, node):
            rows.update(range(first, last + 1))
    return rows


def _owners(document: _Document, definition: _Definition) -> tuple[str, ...]:
    names = []
    node = definition.node.parent
    spec = document.spec
    while node is not None:
        if node.type in spec.functions | spec.classes and (name := _name_node(node)):
            names.insert(0, document.text(name))
        node = node.parent
    return tuple(names)


def _placeholder_rows(document: _Document, body: tree_sitter.Node) -> tuple[int, ...]:
    statements = _statements(document, body)
    return tuple(s.start_point.row for s in statements if _is_placeholder(document, s))


def _header_end(document: _Document, definition: _Definition) -> Position:
    """Just after the token that opens the body: Python's ":" or the body's "{"."""
    if document.language == "python":
        colons = [child for child in definition.node.children
                  if child.type == ":" and child.start_byte < definition.body.start_byte]
        return document.end(colons[-1]) if colons else document.start(definition.body)
    brace = next(child for child in definition.body.children if child.type == "{")
    return document.end(brace)


def _signature(document: _Document, definition: _Definition, start: Position,
               header_end: Position) -> str:
    """The header up to the body: through Python's ":", or up to (not including) "{"."""
    if document.language == "python":
        return document.slice(start, header_end)
    return document.slice(start, document.start(definition.body)).rstrip()


def _body_range(document: _Document, definition: _Definition, header_end: Position) -> Range:
    if document.language == "python":
        return _python_body_start(document, header_end, definition.end), definition.end
    closing = definition.body.children[-1]
    if closing.type != "}" or closing.is_missing:
        return header_end, document.end(definition.body)
    return header_end, document.start(closing)


def _python_body_start(document: _Document, colon_end: Position, end: Position) -> Position:
    """The first statement or comment after the colon; a comment on the `def` line itself is
    part of the header line, not of the body."""
    row, column = colon_end
    rest = document.lines[row][column:]
    if rest.strip() and not rest.lstrip().startswith("#"):
        return row, column + len(rest) - len(rest.lstrip())
    for body_row in range(row + 1, end[0] + 1):
        line = document.lines[body_row]
        if line.strip():
            return body_row, len(leading_whitespace(line))
    return colon_end


def _body_indent(document: _Document, definition: _Definition, header_end: Position,
                 body_range: Range) -> str:
    """The indentation of the first body line that starts on its own line, else the
    definition's indentation plus the file's indent unit."""
    body_end = body_range[1]
    for row in range(header_end[0] + 1, body_end[0] + 1):
        line = document.lines[row]
        if row == body_end[0]:
            line = line[:body_end[1]]
        if line.strip():
            return leading_whitespace(line)
    header_line = document.lines[definition.anchor.start_point.row]
    return leading_whitespace(header_line) + _indent_unit(document)


def _indent_unit(document: _Document) -> str:
    if document.language == "go":
        return "\t"  # gofmt
    indented = [line for line in document.lines if line[:1] in (" ", "\t") and line.strip()]
    tabbed = sum(line.startswith("\t") for line in indented)
    # " * " continuation lines of block comments are not indentation.
    widths = [len(line) - len(line.lstrip(" ")) for line in indented
              if line.startswith(" ") and not line.lstrip().startswith("*")]
    if tabbed > len(widths):
        return "\t"
    width = min(widths, default=4)
    return " " * (width if 2 <= width <= 4 else 4)


# --- stubs and docstrings --------------------------------------------------------------------

_NOT_IMPLEMENTED = re.compile(
    r"NotImplemented|UnsupportedOperation|Unimplemented|(?i:not\s+(?:yet\s+)?implemented|\btodo\b)")
# Values a stub returns (or is) in place of an implementation; `edits.PLACEHOLDER` too.
PLACEHOLDER_VALUES = frozenset({
    "0", "-1", "0.0", "0L", "0.0f", "null", "NULL", "nullptr", "nil", "None", "false", "False",
    "undefined", '""', "''", "[]", "{}", "()", "Default::default()", "String::new()",
    "Vec::new()", "vec![]",
})
_PLACEHOLDER_MACROS = frozenset({"todo", "unimplemented", "panic"})


def _statements(document: _Document, body: tree_sitter.Node) -> list[tree_sitter.Node]:
    """A body's statements without comments; Go wraps them in a statement_list."""
    found = []
    for child in body.named_children:
        if child.type == "statement_list":
            found.extend(_statements(document, child))
        elif child.type not in document.spec.comments:
            found.append(child)
    if document.language == "python" and found and _string_statement(found[0]):
        found = found[1:]  # the docstring
    return found


def _string_statement(node: tree_sitter.Node) -> tree_sitter.Node | None:
    if node.type == "expression_statement" and node.named_child_count == 1:
        value = node.named_children[0]
        return value if value.type == "string" else None
    return None


def _is_stub(document: _Document, body: tree_sitter.Node) -> bool:
    statements = _statements(document, body)
    return not statements or (len(statements) == 1 and _is_placeholder(document, statements[0]))


def _is_placeholder(document: _Document, statement: tree_sitter.Node) -> bool:
    node = statement
    if node.type == "expression_statement" and node.named_child_count == 1:
        node = node.named_children[0]
    if node.type in ("pass_statement", "ellipsis"):
        return True
    if node.type == "return_statement":
        return all(_is_placeholder_value(document, value) for value in _return_values(node))
    if node.type in ("raise_statement", "throw_statement", "throw_expression"):
        return bool(_NOT_IMPLEMENTED.search(document.text(node)))
    if node.type == "macro_invocation":
        macro = node.child_by_field_name("macro")
        return macro is not None and document.text(macro) in _PLACEHOLDER_MACROS
    if node.type == "call_expression":
        function = node.child_by_field_name("function")
        return function is not None and document.text(function) == "panic"
    return _is_placeholder_value(document, node)


def _return_values(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    values = [child for child in node.named_children if "comment" not in child.type]
    if len(values) == 1 and values[0].type == "expression_list":
        return values[0].named_children
    return values


def _is_placeholder_value(document: _Document, node: tree_sitter.Node) -> bool:
    return "".join(document.text(node).split()) in PLACEHOLDER_VALUES


def _docstring(document: _Document, definition: _Definition) -> str | None:
    if document.language == "python":
        statements = definition.body.named_children
        first = next((node for node in statements if node.type != "comment"), None)
        string = _string_statement(first) if first is not None else None
        return _python_string_value(document, string) if string is not None else None
    return _doc_comment(document, definition.anchor)


def _python_string_value(document: _Document, string: tree_sitter.Node) -> str:
    opening, closing = string.children[0], string.children[-1]
    inner = document.slice(document.end(opening), document.start(closing))
    return inspect.cleandoc(inner)


def _doc_comment(document: _Document, anchor: tree_sitter.Node) -> str | None:
    """The comment lines directly above a definition (and its attributes), syntax removed."""
    node = anchor
    while node.parent is not None and node.parent.type in _WRAPPERS:
        node = node.parent
    comments: list[tree_sitter.Node] = []
    below = node.start_point.row
    sibling = node.prev_named_sibling
    while sibling is not None and _last_row(sibling) >= below - 1 and _starts_line(document,
                                                                                   sibling):
        if sibling.type in document.spec.comments:
            comments.insert(0, sibling)
        elif sibling.type != "attribute_item":
            break
        below = sibling.start_point.row
        sibling = sibling.prev_named_sibling
    lines = [_strip_comment_syntax(line) for comment in comments
             for line in document.text(comment).strip().split("\n")]
    return "\n".join(lines).strip() or None


def _starts_line(document: _Document, node: tree_sitter.Node) -> bool:
    row, column = document.start(node)
    return not document.lines[row][:column].strip()


def _strip_comment_syntax(line: str) -> str:
    line = re.sub(r"^\s*(?:/\*+!?|//[/!]?|\*+(?!/))", "", line)
    return re.sub(r"\*+/\s*$", "", line).strip()


def _containing(document: _Document, line: int) -> list[_Definition]:
    return [definition for definition in _definitions(document)
            if definition.anchor.start_point.row <= line <= definition.end[0]]


def enclosing_scope(source: str, language: str, line: int) -> Scope | None:
    """The innermost function or method containing `line`, else the innermost class."""
    document = _document(source, language)
    containing = _containing(document, line)
    functions = [definition for definition in containing if definition.kind != "class"]
    innermost = max(functions or containing, key=lambda d: d.node.start_byte, default=None)
    return _scope(document, innermost) if innermost is not None else None


def definition_below(source: str, language: str, todo: Todo) -> Scope | None:
    """The definition right below a TODO comment that starts its line: at the comment's
    indentation, with only blank lines, comments, decorators or attributes between."""
    document = _document(source, language)
    if todo.comment_range[0][1] != len(todo.indent):
        return None  # a comment after code on its line is about that line
    last = todo.comment_range[1][0]
    attached = _attached_rows(document)
    for definition in _definitions(document):
        head = _head(definition).start_point.row
        if head <= last < definition.anchor.start_point.row:
            return _scope(document, definition)  # among its decorators or attributes
        if head <= last:
            continue
        between = range(last + 1, head)
        if any(document.lines[row].strip() and row not in attached for row in between) or \
                leading_whitespace(document.lines[head]) != todo.indent:
            return None
        return _scope(document, definition)
    return None


def todo_scope(source: str, language: str, todo: Todo) -> Scope | None:
    """The definition a TODO is about: the function it is in, else the one right below it,
    else the class it is in."""
    enclosing = enclosing_scope(source, language, todo.line)
    if enclosing is not None and enclosing.kind != "class":
        return enclosing
    return definition_below(source, language, todo) or enclosing


def definitions(source: str, language: str) -> list[Scope]:
    """Every function, method and class in `source`, in order."""
    document = _document(source, language)
    return [_scope(document, definition) for definition in _definitions(document)]


def error_count(source: str, language: str) -> int:
    """Syntax errors in `source`: tree-sitter's ERROR and MISSING nodes."""
    document = _document(source, language)
    count, stack = 0, [document.root]
    while stack:
        node = stack.pop()
        if node.is_missing or node.type == "ERROR":
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count


def text_node_ranges(source: str, language: str) -> list[Range]:
    """Where the comments and multi-line strings of `source` are: text an edit may not cut
    into."""
    document = _document(source, language)
    strings = {"string", "string_literal", "raw_string_literal", "template_string",
               "interpreted_string_literal", "text_block", "concatenated_string"}
    grammar = _language(language)
    kinds = document.spec.comments | {kind for kind in strings
                                      if grammar.id_for_node_kind(kind, True)}
    return [(document.start(node), document.end(node)) for node in document.nodes(kinds)]


def scope_named_at(source: str, language: str, line: int, column: int) -> Scope | None:
    """The function or method whose name is at (line, column), for hover."""
    document = _document(source, language)
    for definition in _definitions(document):
        name_range = document.start(definition.name), document.end(definition.name)
        if definition.kind != "class" and name_range[0] <= (line, column) < name_range[1]:
            return _scope(document, definition)
    return None


# --- imports ---------------------------------------------------------------------------------


def imports(source: str, language: str) -> tuple[list[str], int]:
    """Existing top-level imports' text, and the line a new import should be inserted at."""
    document = _document(source, language)
    top_level = _top_level(document)
    found = [node for node in top_level if node.type in document.spec.imports]
    if found:
        return [document.text(node).rstrip() for node in found], _last_row(found[-1]) + 1
    return [], _preamble_end(document, top_level)


def _top_level(document: _Document) -> list[tree_sitter.Node]:
    """Top-level nodes, looking inside a C/C++ include guard, which wraps a whole header."""
    children = document.root.named_children
    code = [node for node in children if node.type not in document.spec.comments]
    if len(code) == 1 and code[0].type == "preproc_ifdef":
        return code[0].named_children
    return children


def _preamble_end(document: _Document, top_level: list[tree_sitter.Node]) -> int:
    """The line after a module docstring, package clause or leading comments, else 0."""
    line = 0
    code_seen = False
    for index, node in enumerate(top_level):
        if node.type in document.spec.comments:
            if not _comment_block_stands_alone(document, top_level, index):
                break
        elif not _is_preamble(document, node, code_seen):
            break
        else:
            code_seen = True
        line = _last_row(node) + 1
    return line


def _is_preamble(document: _Document, node: tree_sitter.Node, code_seen: bool) -> bool:
    """A package clause, or a leading string statement: a Python docstring, "use strict"."""
    docstring = not code_seen and _string_statement(node) is not None
    return node.type in document.spec.preamble or docstring


def _comment_block_stands_alone(document: _Document, top_level: list[tree_sitter.Node],
                                index: int) -> bool:
    """Whether the run of adjacent comments from `index` is a file header rather than the
    doc comment of the node right below it. Shebangs and inner doc comments (`//!`) always
    belong to the file."""
    if document.text(top_level[index]).startswith(("#!", "//!", "/*!")):
        return True
    comments = document.spec.comments
    following = index + 1
    while (following < len(top_level) and top_level[following].type in comments
           and top_level[following].start_point.row <= _last_row(top_level[following - 1]) + 1):
        following += 1
    if following == len(top_level):
        return True
    below = top_level[following]
    return (_is_preamble(document, below, code_seen=False)
            or below.start_point.row > _last_row(top_level[following - 1]) + 1)
