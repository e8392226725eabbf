"""Where an Implement's answer lands, and the check the edited file must pass before any
edit is offered.

One placement model for every language, from the syntax tree:
- the TODO is in a function whose body is a stub, or right above one (blank lines,
  decorators, attributes and doc comments between): that body is replaced, its signature,
  docstring and comments kept;
- the TODO is in or right above a function with a real body, and the answer redefines that
  function: the function is replaced whole (and the message says so);
- otherwise the code goes right below the TODO comment.
The answer's pieces land once: its helpers beside the function (not those the file already
has), its imports in the file's header, a `class Solution` wrapper unwrapped.
"""

from __future__ import annotations

import ast
import io
import itertools
import re
import tokenize
from collections import Counter
from dataclasses import dataclass, replace
from textwrap import dedent

from vibe_ls import edits, triggers
from vibe_ls.edits import TextEdit
from vibe_ls.errors import VibeError

LEADING_DOCSTRING = re.compile(r'^\s*[rRuU]?("""|\'\'\')(.*?)\1[ \t]*\n', re.DOTALL)


@dataclass(frozen=True)
class Answer:
    """What is placed: the answer's code (complexity comments already out), its import
    lines and the note that goes above it."""

    code: str
    imports: list[str]
    note: str
    said: tuple[str, ...]  # what the TODO and the note say, not to be repeated in the code


@dataclass(frozen=True)
class Placed:
    edits: list[TextEdit]
    how: str  # "filled" (a stub's body), "replaced" (a whole function), "added" (new code)
    function: str | None  # the function filled or replaced


class PlacementError(VibeError):
    """The edited file would be broken: nothing is applied."""


def place(text: str, language: str, todo: triggers.Todo, answer: Answer,
          marker: str) -> Placed:
    """The edits that put `answer` into `text` for `todo`, checked (PlacementError if the
    edited file would break the invariant)."""
    scope = triggers.todo_scope(text, language, todo)
    prefix = triggers.comment_prefix(language)
    answer = replace(answer, code=edits.fit_indentation(answer.code, text, language))
    if scope is not None and scope.kind != "class" and scope.is_stub and scope.body_range:
        placed = _fill(text, language, todo, scope, answer, prefix, marker)
    elif scope is not None and scope.kind != "class" and \
            _definition_of(answer.code, language, scope.name) is not None:
        placed = _replace(text, language, todo, scope, answer, prefix, marker)
    elif (stub := _stub_answered(text, language, todo, answer)) is not None:
        placed = _fill(text, language, todo, stub, answer, prefix, marker)
    else:
        placed = _add(text, language, todo, answer, prefix, marker)
    edits_ = [e for e in placed.edits if not _covered(e, placed.edits)]
    inserted = "\n".join(e.new_text for e in edits_)
    edits_ += edits.import_edits(text, language, answer.imports, inserted)
    placed = Placed(edits_, placed.how, placed.function)
    problem = check(text, language, todo, placed, marker)
    if problem:
        raise PlacementError(problem)
    return placed


def _fill(text: str, language: str, todo: triggers.Todo, scope: triggers.Scope,
          answer: Answer, prefix: str, marker: str) -> Placed:
    """The stub's body becomes the answer's body; its helpers go right above the stub. A
    plain function filling a method (the model writes `def f(n)` for LeetCode's `class
    Solution`) calls itself through the method's receiver, and its helpers go above the
    class: as methods they could not be called by their bare names. An answer wrapped in
    the class the stub is in is unwrapped first: its other methods are the helpers."""
    answer = replace(answer, code=_unwrapped(answer.code, language, scope.owners))
    body, helpers = split_function(answer.code, language, scope.name)
    if scope.docstring and language == "python":
        body = LEADING_DOCSTRING.sub("", body + "\n", count=1).rstrip("\n")  # keeps its own
    body = drop_echoes(body, prefix, marker, answer.said)
    receiver = _receiver(answer.code, language, scope) or \
        _static_owner(text, answer.code, language, scope)
    if receiver:
        own = _find(answer.code, language, scope.name)
        body = _calls_through(body, {own.name if own else scope.name: scope.name}, receiver)
    placed = [edits.resolve_marker(todo), *edits.body_edits(text, scope, todo, body,
                                                              answer.note)]
    placed += _helpers_for(text, language, scope, helpers, todo, receiver)
    return Placed(placed, "filled", scope.name)


def _helpers_for(text: str, language: str, scope: triggers.Scope, helpers: str,
                 todo: triggers.Todo, receiver: str | None) -> list[TextEdit]:
    """Where the answer's helpers go: above the class when plain functions answer a method
    (`receiver`), else beside the function."""
    if receiver:
        above = _module_helper_edits(text, language, scope, helpers)
        if above is not None:
            return above
    return _helper_edits(text, language, scope, helpers, todo)


def _first_parameter(definition: str) -> str | None:
    """The first parameter of a Python `def` (its text from `def` on), None if it has none
    or does not parse."""
    head = definition.lstrip()
    tree = None
    for attempt in (head, head.split("\n", 1)[0] + " pass"):  # whole, or its first line
        try:
            tree = ast.parse(attempt)
            break
        except SyntaxError:
            continue
    if tree is None:
        return None
    node = next((n for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if node is None:
        return None
    given = [*node.args.posonlyargs, *node.args.args]
    return given[0].arg if given else None


def _receiver(code: str, language: str, scope: triggers.Scope) -> str | None:
    """`self` (or `cls`) where the answer's plain function fills Python method `scope`
    that takes one; None otherwise (the answer wrote a method too, or not Python)."""
    if language != "python" or not scope.owners:
        return None
    own = _find(code, language, scope.name)
    stub_first = _first_parameter(scope.text)
    if own is None or stub_first not in ("self", "cls"):
        return None
    return None if _first_parameter(own.text) in ("self", "cls") else stub_first


def _static_owner(text: str, code: str, language: str, scope: triggers.Scope) -> str | None:
    """`Outer.Solution` where the answer's plain function fills a Python `@staticmethod`
    of that class: its calls of itself go through the class (a method body cannot see the
    class's names), and its helpers above the class. None otherwise."""
    if language != "python" or scope.kind != "method" or not scope.owners:
        return None
    head = text.split("\n")[scope.head_row:scope.range[0][0]]
    if not any(re.match(r"\s*@(?:builtins\.)?staticmethod\b", line) for line in head):
        return None
    own = _find(code, language, scope.name)
    if own is None or _first_parameter(own.text) in ("self", "cls"):
        return None
    return ".".join(scope.owners)


def _calls_through(body: str, names: dict[str, str], receiver: str) -> str:
    """`body` with its calls of `names` by their bare names (`f(n - 1)`) made through
    `receiver` (`self.f(n - 1)`), renamed to the method's name; attributes (`x.f(`) and
    text in strings and comments are left alone."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(body + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return body
    lines = body.split("\n")
    significant = [t for t in tokens if t.type not in (
        tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT)]
    found = []
    for before, token, after in zip([None, *significant], significant,
                                    [*significant[1:], None], strict=False):
        if token.type == tokenize.NAME and token.string in names and \
                after is not None and after.string == "(" and \
                (before is None or before.string not in (".", "def", "class")):
            found.append(token)
    for token in reversed(found):  # from the end: earlier positions stay valid
        row, column = token.start[0] - 1, token.start[1]
        line = lines[row]
        lines[row] = (line[:column] + f"{receiver}.{names[token.string]}"
                      + line[column + len(token.string):])
    return "\n".join(lines)


def _module_helper_edits(text: str, language: str, scope: triggers.Scope,
                         helpers: str) -> list[TextEdit] | None:
    """The answer's helpers at the top level, above the class `scope` is in (and what
    leads it: decorators, comments); one the file already defines there is not added. None
    where that class is not found."""
    top = [s for s in triggers.definitions(text, language) if not s.owners]
    outer = next((s for s in top if s.name == scope.owners[0]
                  and s.range[0] <= scope.range[0] and scope.range[1] <= s.range[1]), None)
    if outer is None:
        return None
    known = {_key(s, language) for s in top}
    kept = [s.text for s in triggers.definitions(helpers, language)
            if not s.owners and _key(s, language) not in known]
    if not kept:
        return []
    at = (outer.lead_row, 0)
    return [TextEdit(at, at, edits.block("\n\n\n".join(kept), "", "") + "\n\n")]


def _replace(text: str, language: str, todo: triggers.Todo, scope: triggers.Scope,
             answer: Answer, prefix: str, marker: str) -> Placed:
    """The function (from its first line to its last; decorators and doc comments above it
    kept) becomes the answer's definition of it. A TODO inside it is kept, resolved, above.
    A plain function replacing a Python method takes the method's receiver (`self`) back,
    calls itself through it, and its helpers go above the class."""
    code = _unwrapped(answer.code, language, scope.owners)
    definition, helpers = _definition_of(code, language, scope.name)
    definition = drop_echoes(definition, prefix, marker, answer.said)
    receiver = _receiver(code, language, scope)
    static = None if receiver else _static_owner(text, code, language, scope)
    if receiver or static:
        own = _find(code, language, scope.name)
        definition = _calls_through(_with_receiver(definition, receiver) if receiver
                                    else definition,
                                    {own.name if own else scope.name: scope.name},
                                    receiver or static)
    lines = text.split("\n")
    (first, column), last = scope.range[0], scope.range[1][0]
    indent = triggers.leading_whitespace(lines[first])
    inside = first <= todo.comment_range[0][0] <= last
    head = [edits.resolved_comment(text, todo).strip()] if inside else []
    note = "\n".join(x for x in [*head, answer.note] if x)
    end = (last + 1, 0) if last + 1 < len(lines) else (last, len(lines[last]))
    new = edits.block(definition, "", indent)
    if end[1]:
        new = new.removesuffix("\n")  # the file ends without a line break
    placed = [] if inside else [edits.resolve_marker(todo)]
    if column > len(indent) or scope.head_row < first:
        # `export function f`, `template <...>`, decorators: they stay, the note above them
        if note:
            at = (scope.head_row, 0)
            placed.append(TextEdit(at, at, edits.block(note, "", indent)))
        placed.append(TextEdit((first, column), end, new[column:] if column > len(indent)
                               else new[len(indent):]))
    else:
        placed.append(TextEdit((first, 0), end, edits.block(note, "", indent) + new
                               if note else new))
    placed += _helpers_for(text, language, scope, helpers, todo, receiver or static)
    return Placed(placed, "replaced", scope.name)


def _with_receiver(definition: str, receiver: str) -> str:
    """`def f(n):` as `def f(self, n):`."""
    return re.sub(r"^((?:async\s+)?def\s+\w+\s*\()(\s*\)?)",
                  lambda m: m[1] + receiver + (m[2] if m[2].strip() else ", " + m[2].lstrip()),
                  definition, count=1)


def _add(text: str, language: str, todo: triggers.Todo, answer: Answer, prefix: str,
         marker: str) -> Placed:
    """No function to fill: the code goes right below the TODO comment, without the helpers
    the file already defines there."""
    code = drop_echoes(answer.code, prefix, marker, answer.said[:1])
    code = _unwrapped(code, language, _owners_at(text, language, todo))
    kept = _without_known(code, language, text, todo)
    if code.strip() and not kept.strip():
        names = ", ".join(f"`{s.name}`" for s in triggers.definitions(code, language)
                          if not s.owners)
        raise PlacementError(f"the answer only defines {names} again, which the file already "
                             "has away from this TODO")
    code = kept
    placed = [edits.resolve_marker(todo), *edits.below_edits(text, todo, code, answer.note)]
    return Placed(placed, "added", None)


def _stub_answered(text: str, language: str, todo: triggers.Todo,
                   answer: Answer) -> triggers.Scope | None:
    """A stub beside the TODO (in the same class or module, not right below it) that the
    answer implements: filled rather than defined a second time."""
    owners = _owners_at(text, language, todo)
    answered = {s.name for s in triggers.definitions(answer.code, language)
                if s.owners in ((), owners[-1:])}  # the class around it a wrapper
    stubs = [s for s in triggers.definitions(text, language) if s.owners == owners
             and s.is_stub and s.kind != "class" and s.name in answered]
    return stubs[0] if len(stubs) == 1 else None


def _helper_edits(text: str, language: str, scope: triggers.Scope, helpers: str,
                  todo: triggers.Todo) -> list[TextEdit]:
    """The answer's helpers, above the function, its comments and the TODO about it; one
    the file already defines beside the function is not added again."""
    helpers = _without_known(helpers, language, text, todo, scope.owners)
    if not helpers.strip():
        return []
    line = min(scope.lead_row, todo.comment_range[0][0]) if todo.line < scope.range[0][0] \
        else scope.lead_row
    indent = triggers.leading_whitespace(text.split("\n")[scope.range[0][0]])
    return [TextEdit((line, 0), (line, 0), edits.block(helpers, "", indent) + "\n")]


def _without_known(code: str, language: str, text: str, todo: triggers.Todo,
                   owners: tuple[str, ...] | None = None) -> str:
    """`code` without its top-level definitions that the file already has at that level
    (the model copied a helper the file defines)."""
    if owners is None:
        owners = _owners_at(text, language, todo)
    known = {_key(s, language) for s in triggers.definitions(text, language)
             if s.owners == owners}
    lines = code.split("\n")
    drop = [s for s in triggers.definitions(code, language)
            if not s.owners and _key(s, language) in known]
    if not drop:
        return code
    gone = {row for s in drop for row in range(s.lead_row, s.range[1][0] + 1)}
    kept = [line for i, line in enumerate(lines) if i not in gone]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")


def _unwrapped(code: str, language: str, owners: tuple[str, ...]) -> str:
    """Inside a class, the answer's own copy of that class is only a wrapper: its body."""
    if not owners:
        return code
    wrapper = next((s for s in triggers.definitions(code, language)
                    if not s.owners and s.kind == "class" and s.name == owners[-1]
                    and s.body_range), None)
    if wrapper is None:
        return code
    lines = code.split("\n")
    (sl, sc), end = wrapper.body_range
    if not lines[sl][:sc].strip():
        sc = 0
    return dedent(_span(lines, (sl, sc), end).strip("\n")).strip("\n")


def _owners_at(text: str, language: str, todo: triggers.Todo) -> tuple[str, ...]:
    """The names of the definitions a TODO sits in."""
    scope = triggers.enclosing_scope(text, language, todo.line)
    return (*scope.owners, scope.name) if scope is not None else ()


def _definition_of(code: str, language: str, name: str) -> tuple[str, str] | None:
    """The whole definition of function `name` in the answer (dedented, without decorators),
    and its helpers; None when the answer does not define it."""
    target = _find(code, language, name)
    if target is None:
        return None
    lines = code.split("\n")
    first, last = target.range[0][0], target.range[1][0]
    column = target.range[0][1]
    definition = dedent("\n".join([" " * column + lines[first][column:],
                                   *lines[first + 1:last + 1]]))
    return definition.strip("\n"), _helpers(code, language, target)


def _find(code: str, language: str, name: str) -> triggers.Scope | None:
    """Function `name` in the answer; else the problem's own spelling of it (a model that
    knows the LeetCode problem writes `largestLocal` for the stub's `largest_local`)."""
    functions = [s for s in triggers.definitions(code, language)
                 if s.kind != "class" and s.body_range]
    exact = next((s for s in functions if s.name == name), None)
    return exact or next((s for s in functions if _same_name(s.name, name)), None)


def split_function(code: str, language: str, name: str) -> tuple[str, str]:
    """The body of function `name` in generated code, and the other top-level definitions
    (helpers) it may rely on. Without such a function the whole code is the body."""
    target = _find(code, language, name)
    if target is None:
        return code, ""
    lines = code.split("\n")
    (sl, sc), end = target.body_range
    if not lines[sl][:sc].strip():  # the body starts its line: keep its indentation
        sc = 0
    body = dedent(_span(lines, (sl, sc), end).strip("\n")).strip("\n")
    return body, _helpers(code, language, target)


def _helpers(code: str, language: str, target: triggers.Scope) -> str:
    found = [s.text for s in triggers.definitions(code, language)
             if s.range[0][1] == 0 and _is_helper(s, target)]
    return "\n\n".join(found)


def _span(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    (sl, sc), (el, ec) = start, end
    if sl == el:
        return lines[sl][sc:ec]
    return "\n".join([lines[sl][sc:], *lines[sl + 1:el], lines[el][:ec]])


def _same_name(a: str, b: str) -> bool:
    """`largest_local`, `largestLocal` and `LargestLocal` name the same function."""
    return a.replace("_", "").lower() == b.replace("_", "").lower()


def _is_helper(scope: triggers.Scope, target: triggers.Scope) -> bool:
    """A definition worth inserting beside the function: not the function, not a wrapper
    around it (Java's `class Solution`), not a demo entry point."""
    wraps = scope.range[0] <= target.range[0] and target.range[1] <= scope.range[1]
    inside = target.range[0] <= scope.range[0] and scope.range[1] <= target.range[1]
    return not (wraps or inside) and scope.name not in (target.name, "main")


def drop_echoes(body: str, prefix: str, marker: str, said: tuple[str, ...] | list[str]) -> str:
    """Leading comment lines that only repeat the TODO (or the approach in the note), and
    the TODO comment itself wherever the model copied it: left in, it would bring back the
    TODO the insert resolves (the 0.5B, asked again from an opened code block, often
    begins with it)."""
    known = {x.strip().lower().rstrip(".") for x in said if x}
    todo = re.compile(rf"\s*{re.escape(prefix)}\s*{re.escape(marker)}\b[\s:\uff1a-]*(.*)")

    def said_before(line: str, leading: bool) -> bool:
        if (found := todo.fullmatch(line)) is not None:
            return found[1].strip().lower().rstrip(".") in known
        return leading and line.strip().startswith(prefix) and \
            line.strip()[len(prefix):].strip().lower().rstrip(".") in known
    lines = body.split("\n")
    while lines and said_before(lines[0], leading=True):
        lines.pop(0)
    return "\n".join(x for x in lines if not said_before(x, leading=False))


def _covered(edit: TextEdit, others: list[TextEdit]) -> bool:
    """An edit inside another one's range (the marker inside a rewritten one-line body)."""
    return any(o is not edit and o.start <= edit.start and edit.end <= o.end
               and (o.start, o.end) != (edit.start, edit.end) for o in others)


# --- the invariant ---------------------------------------------------------------------------

def check(text: str, language: str, todo: triggers.Todo, placed: Placed,
          marker: str) -> str | None:
    """Why the edited file must not be offered, or None. The edits do not overlap and cut
    into no comment or string (other than the TODO's marker); the edited file has no syntax
    error the original did not have and no definition twice that it had once; the TODO's
    marker is gone and its words kept."""
    ordered = sorted(placed.edits, key=lambda e: (e.start, e.end))
    if any(a.end > b.start for a, b in itertools.pairwise(ordered)):
        return "its edits overlap"
    cut = _cuts_text(text, language, todo, ordered)
    if cut:
        return cut
    edited = edits.apply(text, placed.edits)
    if triggers.error_count(edited, language) > triggers.error_count(text, language):
        return "the edited file would not parse (the model's code is incomplete or broken)"
    twice = _new_duplicates(text, edited, language)
    if twice:
        return f"the file would define `{twice}` twice"
    before = [t for t in triggers.find_todos(text, language, marker)
              if t.description == todo.description]
    after = [t for t in triggers.find_todos(edited, language, marker)
             if t.description == todo.description]
    if len(after) >= len(before):
        return f"its {marker} comment would stay"
    if _words(todo.description) not in _words(edited):
        return f"the words of its {marker} comment would be lost"
    return None


def _cuts_text(text: str, language: str, todo: triggers.Todo,
               ordered: list[TextEdit]) -> str | None:
    """An edit that starts or ends inside a comment or string (a docstring's line taken for
    a placeholder)."""
    for edit in ordered:
        if (edit.start, edit.end) == todo.marker_range:
            continue  # the marker itself
        for start, end in triggers.text_node_ranges(text, language):
            if start < edit.start < end or start < edit.end < end:
                return f"it would write inside the comment or string on line {start[0] + 1}"
    return None


def _new_duplicates(text: str, edited: str, language: str) -> str | None:
    was = Counter(_key(s, language) for s in triggers.definitions(text, language))
    now = Counter(_key(s, language) for s in triggers.definitions(edited, language))
    return next((key[1] for key, count in now.items() if count > max(was[key], 1)), None)


def _key(scope: triggers.Scope, language: str) -> tuple:
    """What two definitions in one scope may not share: the name; in Java and C++, which
    overload, also the parameters."""
    if language in ("java", "cpp") and scope.kind != "class":
        params = scope.signature.split("(", 1)[-1] if "(" in scope.signature else ""
        return scope.owners, scope.name, re.sub(r"\s+", "", params)
    return scope.owners, scope.name


def _words(text: str) -> str:
    return " ".join(text.split())
