"""Text edits that put a model's answer into the document, computed against one snapshot of
its text, plus the re-anchoring that recomputes them when the document changed meanwhile.

Positions are (line, column) in Python characters; the server converts them to the
client's encoding. Edits never overlap and are all relative to the same snapshot.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from vibe_ls import triggers
from vibe_ls.postprocess import indent_block

Pos = tuple[int, int]

# A body that only holds one of these (and comments) is a placeholder we replace.
# The same values tree-sitter finds stubs by (`return False` and `return ''` were missing here:
# the body was written above them, and the stub's `return False` stayed below it).
_VALUE = "(" + "|".join(re.escape(v) for v in sorted(triggers.PLACEHOLDER_VALUES, key=len,
                                                     reverse=True)) + r"|new \w+\[0\])"
PLACEHOLDER = re.compile(
    rf"^\s*(pass|\.\.\.|raise NotImplementedError\b.*|return\s*{_VALUE}?\s*;?|{_VALUE}|"
    r"todo!\(.*\);?|unimplemented!\(.*\);?|panic\(.*\)|throw (?:new )?[\w:.]+\(.*\);)\s*$")


@dataclass(frozen=True)
class TextEdit:
    start: Pos
    end: Pos
    new_text: str


def line_ending(text: str) -> str:
    """The document's line ending: "\r\n" where its first line ends so (Windows files), "\r"
    where every line ends in a lone "\r" (classic Mac OS files: no "\n" at all)."""
    first = text.find("\n")
    if first < 0:
        return "\r" if "\r" in text else "\n"
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def unix_lines(text: str) -> str:
    """The text with "\n" line endings, as everything between reading a document and
    writing an edit works on it. Positions do not move: a "\r" only ever ends a line."""
    return text.replace("\r\n", "\n")


def with_line_ending(edits: list[TextEdit], ending: str) -> list[TextEdit]:
    """`edits` whose inserted text ends its lines as the document does."""
    if ending == "\n":
        return edits
    return [TextEdit(e.start, e.end, e.new_text.replace("\n", ending)) for e in edits]


def _offset(lines: list[str], pos: Pos) -> int:
    line, col = pos
    return sum(len(x) + 1 for x in lines[:line]) + col  # + 1: the "\n"


def apply(text: str, edits: list[TextEdit]) -> str:
    """The text after `edits` (used by the CLI and tests; editors apply them themselves)."""
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        # Lines as positions count them, split at "\n" only: str.splitlines also splits at
        # form feeds and other separators, and moved every edit below one.
        lines = text.split("\n")
        a, b = _offset(lines, edit.start), _offset(lines, edit.end)
        text = text[:a] + edit.new_text + text[b:]
    return text


def _lines(text: str) -> list[str]:
    return text.split("\n")


def block(code: str, note: str, indent: str) -> str:
    """The note comment and the code, indented, as whole lines ending in a newline."""
    body = "\n".join([note, code.rstrip("\n")]) if note else code.rstrip("\n")
    return indent_block(body, indent) + "\n"


# Where whitespace carries no meaning, the answer takes the file's indentation unit (the
# 0.5B writes JavaScript with 2 spaces into files indented with 4, and spaces into Go's tabs).
_FREE_INDENT = frozenset({"c", "cpp", "java", "javascript", "typescript", "tsx", "rust", "go"})


def indent_unit(text: str) -> str | None:
    """The file's indentation step: a tab, or the commonest rise in leading spaces from one
    line to the next (None: nothing is indented)."""
    rises: Counter[str] = Counter()
    before = ""
    for line in text.split("\n"):
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("*"):  # block-comment rows align by one
            continue
        lead = line[:len(line) - len(stripped)]
        if lead.startswith("\t"):
            rises["\t"] += 1
        elif len(lead) > len(before) and lead.strip(" ") == "":
            rises[" " * (len(lead) - len(before))] += 1
        before = lead
    return rises.most_common(1)[0][0] if rises else None


def fit_indentation(code: str, text: str, language: str) -> str:
    """`code` re-indented with the file's unit where the language lets whitespace vary."""
    want, have = indent_unit(text), indent_unit(code)
    if language not in _FREE_INDENT or not want or not have or want == have or "\t" in have:
        return code
    lines = []
    for line in code.split("\n"):
        stripped = line.lstrip(" ")
        steps, rest = divmod(len(line) - len(stripped), len(have))
        lines.append(want * steps + " " * rest + stripped)
    return "\n".join(lines)


def imported_names(line: str, language: str) -> list[str]:
    """The names an import line brings into scope (empty: cannot tell, keep the import)."""
    if language in ("c", "cpp"):
        return []
    line = re.sub(r"\s+as\s+", " as ", line.strip().rstrip(";"))
    if language == "python":
        names = line.split(" import ", 1)[-1] if line.startswith("from ") else line[7:]
        return [n.split(" as ")[-1].strip(" ()").split(".")[0] for n in names.split(",")]
    if language == "go":
        parts = line.replace("import", "", 1).split()
        return [parts[0]] if len(parts) == 2 else [parts[-1].strip('"').split("/")[-1]]
    if language in ("javascript", "typescript", "tsx"):
        found = re.findall(r"[A-Za-z_$][\w$]*", line.split(" from ")[0].replace("import", ""))
        return [n for n in found if n not in ("as", "type")]
    last = re.split(r"::|\.", line.split()[-1])[-1]  # java, rust
    return [] if last in ("*", "") else re.findall(r"\w+", last)


# The standard header of `std::` names that models use without writing the #include (the
# 0.5B's `std::max_element` did not build in a file that included only <vector>).
_STD_HEADERS = {
    "algorithm": "sort stable_sort partial_sort nth_element max_element min_element "
                 "minmax_element reverse find find_if count count_if binary_search lower_bound "
                 "upper_bound equal_range unique fill max min minmax next_permutation "
                 "prev_permutation all_of any_of none_of rotate remove remove_if transform "
                 "copy copy_if replace merge is_sorted clamp",
    "numeric": "accumulate iota partial_sum adjacent_difference inner_product gcd lcm reduce",
    "vector": "vector", "string": "string to_string stoi stol stoll", "map": "map multimap",
    "set": "set multiset", "unordered_map": "unordered_map", "unordered_set": "unordered_set",
    "queue": "queue priority_queue", "stack": "stack", "deque": "deque", "list": "list",
    "utility": "pair make_pair swap move", "tuple": "tuple make_tuple tie", "array": "array",
    "bitset": "bitset", "limits": "numeric_limits", "cmath": "sqrt pow floor ceil log log2",
    "cstdlib": "abs", "functional": "function greater less hash", "string_view": "string_view",
    "iostream": "cout cin cerr endl", "sstream": "stringstream istringstream ostringstream",
}
_STD_HEADER_OF = {name: header for header, names in _STD_HEADERS.items()
                  for name in names.split()}


_LIMITS = re.compile(r"\b(?:U?INT|U?LONG|LLONG|ULLONG|SHRT|CHAR)_M(?:AX|IN)\b")
# C: the header of library calls and macros (`INT_MIN` undeclared is an error; gcc 14 also
# refuses an undeclared `malloc`).
_C_HEADERS = {
    "stdlib.h": "malloc calloc realloc free qsort abs llabs atoi atol strtol exit bsearch",
    "string.h": "memset memcpy memmove memcmp strlen strcmp strncmp strcpy strncpy strcat "
                "strchr strrchr strstr strdup",
    "math.h": "sqrt pow fabs floor ceil log log2 fmax fmin",
    "ctype.h": "isdigit isalpha isalnum isspace isupper islower toupper tolower",
    "stdio.h": "printf scanf sprintf snprintf puts",
}
_C_HEADER_OF = {name: header for header, names in _C_HEADERS.items() for name in names.split()}


def std_includes(code: str, language: str) -> list[str]:
    """#include lines for the standard library `code` uses: in C++ the names it writes as
    `std::name`, in C the functions it calls; both the integer limits."""
    if language == "cpp":
        headers = {_STD_HEADER_OF[n] for n in re.findall(r"\bstd::(\w+)", code)
                   if n in _STD_HEADER_OF}
        limits = "climits"
    else:
        headers = {_C_HEADER_OF[n] for n in re.findall(r"\b(\w+)\s*\(", code)
                   if n in _C_HEADER_OF}
        if re.search(r"\bbool\b|\btrue\b|\bfalse\b", code):
            headers.add("stdbool.h")
        limits = "limits.h"
    if _LIMITS.search(code):
        headers.add(limits)
    return [f"#include <{h}>" for h in sorted(headers)]


def import_edits(text: str, language: str, wanted: list[str], code: str = "") -> list[TextEdit]:
    """Imports the inserted `code` needs that the file lacks (unused ones are left out); in
    C and C++ also the standard headers of what it uses, unless the file takes them all at
    once."""
    existing, line = triggers.imports(text, language)
    have = {re.sub(r"\s+", "", x) for x in existing}  # `#include<vector>` is <vector> too
    if language in ("c", "cpp") and not any("bits/stdc++.h" in x for x in [*have, *wanted]):
        # only for what is new to the file: what it already uses it has already provided
        # for (its own `typedef enum { false, true } bool;` clashes with <stdbool.h>)
        provided = std_includes(text, language)
        wanted = [*wanted, *(h for h in std_includes(code, language) if h not in provided)]
    used = [w for w in wanted if not code or not (names := imported_names(w, language))
            or any(re.search(rf"\b{re.escape(n)}\b", code) for n in names)]
    missing = [w for w in dict.fromkeys(x.strip() for x in used)
               if w and re.sub(r"\s+", "", w) not in have]
    if not missing:
        return []
    lines = text.split("\n")
    # the file's first imports: a blank line parts them from the code below
    apart = "\n" if not existing and line < len(lines) and lines[line].strip() else ""
    return [TextEdit((line, 0), (line, 0), "".join(f"{m}\n" for m in missing) + apart)]


def resolve_marker(todo: triggers.Todo) -> TextEdit:
    """Drop the marker ("TODO: ") and keep the description as a plain comment."""
    return TextEdit(todo.marker_range[0], todo.marker_range[1], "")


def resolved_comment(text: str, todo: triggers.Todo) -> str:
    """The TODO comment's text with its marker removed."""
    lines = _lines(text)
    (cl, cc), (_, ce) = todo.comment_range
    (_, ms), (_, me) = todo.marker_range
    return lines[cl][cc:ms] + lines[cl][me:ce]


def body_edits(text: str, scope: triggers.Scope, todo: triggers.Todo, code: str,
               note: str) -> list[TextEdit]:
    """Replace a stub body's placeholder statements with `code`, keeping its comments and
    docstring; a one-line body (`{}`, `{ return 0; }`, Python's `def f(): pass`) is opened
    up over several lines (with the TODO comment, if it sat inside, kept as the first
    line)."""
    (sl, sc), (el, ec) = scope.body_range
    lines, todo_line = _lines(text), todo.line
    if sl == el and scope.language == "python" and lines[sl][:sc].strip():  # def f(): pass
        return [TextEdit(_before_space(lines, sl, sc), (el, ec),
                         "\n" + block(code, note, scope.body_indent)[:-1])]
    if sl == el and scope.language != "python":  # braces on one line
        outer = re.match(r"\s*", lines[scope.range[0][0]]).group(0)
        inside = todo.line == sl and sc <= todo.comment_range[0][1] < ec
        head = resolved_comment(text, todo) if inside else ""
        return [TextEdit((sl, sc), (el, ec),
                         "\n" + block(code, "\n".join(filter(None, [head, note])),
                                      scope.body_indent) + outer)]
    # The placeholder statements, from the syntax tree (a docstring line that reads `False`
    # is none), where each is alone on its line.
    holders = [i for i in scope.placeholder_rows if i != todo_line
               and PLACEHOLDER.match(lines[i]) and not _is_brace_only(lines[i])]
    first = sl if not lines[sl][:sc].strip() else sl + 1  # the line after a `{`
    at = holders[0] if holders else max(todo_line + 1, first)
    edits = [TextEdit((i, 0), (i + 1, 0), "") for i in holders if i != at]
    end = (at + 1, 0) if holders else (at, 0)
    edits.append(TextEdit((at, 0), end, block(code, note, scope.body_indent)))
    return edits


def _before_space(lines: list[str], row: int, column: int) -> Pos:
    """Where the spaces before `column` begin (`def f(): pass` loses the space too)."""
    return row, len(lines[row][:column].rstrip())


def _is_brace_only(line: str) -> bool:
    return line.strip() in ("{", "}", "};")


def below_edits(text: str, todo: triggers.Todo, code: str, note: str) -> list[TextEdit]:
    """No stub to fill: the code goes right below the TODO comment, at its indentation."""
    lines = _lines(text)
    line = todo.comment_range[1][0]
    if line + 1 < len(lines):
        return [TextEdit((line + 1, 0), (line + 1, 0), block(code, note, todo.indent))]
    # The comment ends the file, with no line break after it: break the line first (the
    # editor would put the note at the end of the comment itself).
    end = (line, len(lines[line]))
    return [TextEdit(end, end, "\n" + block(code, note, todo.indent))]
