"""Turning a model's raw answer into code that is safe to insert into the user's file.

This module owns everything between the model's text and the edits: special tokens,
reasoning (`<think>` blocks and prose), markdown fences, the imports at the top of the code,
the complexity claim and the comment line we write for it. Small models often ignore the
requested format, so every step is tolerant: missing fences, a fence cut off by the token
limit, Chinese reasoning, and many phrasings of big-O.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Complexity:
    time: str  # normalized big-O, e.g. "O(n^2)", "O(n log n)", "O(1)"
    space: str  # "" when the model did not state it
    approach: str  # a few words, may be ""
    measured: str = ""  # what timing the code showed, e.g. "measured ≈ n^1.07"; "" if not timed


@dataclass(frozen=True)
class Answer:
    reasoning: str  # everything that is not code: think block, prose before and after
    code: str  # fences, special tokens and common indentation removed; no trailing blank lines
    complexity: Complexity | None
    imports: list[str]  # import lines taken from the top of the code, for the file's header


# -- special tokens and reasoning ---------------------------------------------------------

# Qwen's <|im_end|>, <|endoftext|>, <|fim_middle|>...; DeepSeek-style models use full-width
# bars.
_SPECIAL = re.compile(r"<\|[^|<>\s]{1,64}\|>|<\uff5c[^\uff5c<>]{1,64}\uff5c>")
_FENCE_LINE = re.compile(r"^[ \t]*(```|~~~)", re.M)


def strip_special_tokens(text: str) -> str:
    return _SPECIAL.sub("", text)


def split_reasoning(text: str) -> tuple[str, str]:
    """(reasoning, rest). Handles closed `<think>` blocks, a `</think>` whose opening tag was
    in the prompt, and an unclosed `<think>` (the reasoning then ends at the first fence)."""
    if "<think>" not in text and "</think>" not in text:
        return "", text
    parts = [m.group(1) for m in re.finditer(r"<think>(.*?)</think>", text, re.S)]
    rest = re.sub(r"<think>.*?</think>", "", text, flags=re.S)
    if "</think>" in rest:
        head, _, rest = rest.partition("</think>")
        parts.append(head)
    if "<think>" in rest:
        before, _, after = rest.partition("<think>")
        fence = _FENCE_LINE.search(after)
        cut = fence.start() if fence else len(after)
        parts.append(after[:cut])
        rest = before + after[cut:]
    reasoning = "\n\n".join(p.strip() for p in parts if p.strip())
    return reasoning, rest.strip()


# -- code ------------------------------------------------------------------------------

_CANONICAL = {"tsx": "typescript", "typescriptreact": "typescript",
              "javascriptreact": "javascript", "c++": "cpp", "golang": "go"}
_FENCE_TAGS = {
    "python": {"python", "py", "python3", "py3"},
    "c": {"c", "h"},
    "cpp": {"cpp", "c++", "cc", "cxx", "hpp"},
    "java": {"java"},
    "javascript": {"javascript", "js", "jsx", "node", "mjs"},
    "typescript": {"typescript", "ts", "tsx"},
    "go": {"go", "golang"},
    "rust": {"rust", "rs"},
}


def _canonical(language: str) -> str:
    language = language.lower()
    return _CANONICAL.get(language, language)


@dataclass(frozen=True)
class _Block:
    tag: str
    body: str
    start: int  # character span of the whole block, fences included, in the searched text
    end: int


def _fenced_blocks(text: str) -> list[_Block]:
    """Every fenced block; a last one the token limit cut off runs to the end of the text."""
    blocks: list[_Block] = []
    opener = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n]*$", re.M)
    pos = 0
    while (m := opener.search(text, pos)) is not None:
        mark, tag = m.group(1), m.group(2).strip("{}.").lower()
        closer = re.compile(rf"^[ \t]*{re.escape(mark[0])}{{{len(mark)},}}[ \t]*$|{mark}[ \t]*$",
                            re.M)
        body_start = min(m.end() + 1, len(text))
        close = closer.search(text, body_start)
        if close is None:
            blocks.append(_Block(tag, text[body_start:], m.start(), len(text)))
            break
        blocks.append(_Block(tag, text[body_start:close.start()], m.start(), close.end()))
        pos = close.end()
    return blocks


def _pick_block(blocks: list[_Block], language: str) -> _Block | None:
    tags = _FENCE_TAGS.get(_canonical(language), {_canonical(language)})
    tagged = [b for b in blocks if b.tag in tags]
    candidates = [b for b in tagged or blocks if b.body.strip()]
    return max(candidates, key=lambda b: len(b.body.strip()), default=None)


_CODE_START = re.compile(
    r"^(def|class|async|await|return|import|from|if|elif|else|for|while|try|except|finally|"
    r"with|raise|yield|lambda|pass|#include|#define|using|namespace|template|struct|enum|"
    r"typedef|int|long|short|double|float|char|bool|void|auto|unsigned|size_t|std::|const|"
    r"static|public|private|protected|final|func|package|fn|let|mut|impl|use|pub|match|var|"
    r"function|export|interface|type|switch|case|default|break|continue|do|new|throw|"
    r"vector<|string|self\.|this\.)\b")
_ASSIGN_OR_CALL = re.compile(r"^[A-Za-z_][\w.\[\]]*\s*(=|\+=|-=|\*=|/=|:=|\(.*\)\s*;?$)")
_PROSE = re.compile(r"^([-*+] |\d+[.)] |#{2,} |>|Complexity\b|Time\b|Space\b|时间|空间)")


def _line_kind(line: str) -> str:
    """For answers without fences: "code", "neutral" (blank or a comment) or "prose"."""
    s = line.strip()
    if not s or s.startswith(("# ", "//", "/*", "*/")):
        return "neutral"
    if _PROSE.match(s):
        return "prose"
    if line[0] in " \t" or _CODE_START.match(s) or _ASSIGN_OR_CALL.match(s):
        return "code"
    if s[0] in "{}()[]@" or s.endswith(("{", "}", ";", "):", ",")):
        return "code"
    return "prose"


def _code_lines_span(text: str) -> tuple[int, int] | None:
    """The character span of the longest run of code-looking lines (comments and blank lines
    may sit inside it), or None when no line looks like code."""
    best, best_score, run, score, offset = None, 0, None, 0, 0
    for line in text.splitlines(keepends=True):
        kind = _line_kind(line)
        if kind == "prose":
            run, score = None, 0
        else:
            run = (run[0] if run else offset, offset + len(line))
            score += kind == "code"
            if score > best_score:
                best, best_score = run, score
        offset += len(line)
    return best


def _locate_code(text: str, language: str, fenced_only: bool = False,
                 ) -> tuple[str, int, int] | None:
    block = _pick_block(_fenced_blocks(text), language)
    if block is not None:
        return block.body, block.start, block.end
    span = None if fenced_only or _FENCE_LINE.search(text) else _code_lines_span(text)
    return (text[span[0]:span[1]], *span) if span else None


def _tidy(code: str) -> str:
    lines = [line.rstrip() for line in textwrap.dedent(code).split("\n")]
    return "\n".join(lines).strip("\n")


def extract_code(text: str, language: str) -> str:
    """The answer's code: the longest block fenced with the language's tag, else the longest
    fenced block, else (no fences at all) the longest run of lines that look like code."""
    found = _locate_code(text, language)
    return _tidy(found[0]) if found else ""


# -- imports ---------------------------------------------------------------------------

_IMPORT_START = {
    "python": re.compile(r"^(import\s+\w|from\s+[\w.]+\s+import\b)"),
    "c": re.compile(r"^#\s*include\s*[<\"]"),
    "java": re.compile(r"^import\s+(static\s+)?[\w.*]+\s*;"),
    "javascript": re.compile(r"^(import\b|(const|let|var)\s+[^=]+=\s*require\s*\()"),
    "go": re.compile(r"^import\b"),
    "rust": re.compile(r"^use\s+[\w:{]"),
}
_IMPORT_START.update(cpp=_IMPORT_START["c"], typescript=_IMPORT_START["javascript"])
# Lines a model writes above a snippet that must not be inserted into the user's file.
_DROP_AT_TOP = {"go": re.compile(r"^package\s+\w+\s*$"), "java": re.compile(r"^package\s+")}


def _import_complete(text: str, language: str) -> bool:
    """Whether `text`, the lines of one import statement so far, is a whole statement."""
    if language == "python":
        return text.count("(") <= text.count(")") and not text.endswith("\\")
    if language in ("java", "rust"):
        return text.rstrip().endswith(";")
    if language in ("javascript", "typescript"):
        return text.count("{") <= text.count("}") and not text.rstrip().endswith(",")
    if language == "go":
        return "(" not in text or ")" in text
    return True


def _go_imports(statement: str) -> list[str]:
    """`import "x"` lines for a Go import declaration, one per package, so each can be
    inserted on its own."""
    specs = re.findall(r"((?:[\w.]+\s+)?\"[^\"]+\")", statement)
    return [f"import {spec}" for spec in specs]


def _take_imports(code: str, language: str) -> tuple[list[str], str]:
    """The import statements at the top of `code`, and the code without them."""
    start = _IMPORT_START.get(language)
    if start is None:
        return [], code
    comment = "#" if language == "python" else "//"
    lines, imports, comments, i = code.split("\n"), [], [], 0
    while i < len(lines):
        s = lines[i].strip()
        if not s or (language in _DROP_AT_TOP and _DROP_AT_TOP[language].match(s)):
            i += 1
            continue
        if s.startswith(comment) and not start.match(s):
            comments.append(lines[i])
            i += 1
            continue
        if not start.match(s):
            break
        j = i
        while not _import_complete("\n".join(lines[i:j + 1]), language) and j + 1 < len(lines):
            j += 1
        statement = "\n".join(lines[i:j + 1])
        imports += _go_imports(statement) if language == "go" else [statement]
        i = j + 1
    return imports, "\n".join(comments + lines[i:]).strip("\n")


# -- complexity ------------------------------------------------------------------------

_BIG_O = re.compile(r"(?<![A-Za-z])(?:\\mathcal\{O\}|[OΘ])\s*\(")
_LABEL = re.compile(r"(?i)(?<![a-z])(?:run\s*)?time|(?<![a-z])(?:space|memory)|时间|空间|内存")
_LABEL_AFTER = re.compile(r"(?i)^[\s*`$]*(?:extra\s+|auxiliary\s+|additional\s+)?"
                          r"(time|space|memory)\b")
_APPROACH = re.compile(r"(?i)(?:approach|思路|方法)\s*\**\s*[:\uff1a]\s*\**\s*(.+)")


def _balanced(text: str, open_at: int) -> int | None:
    """The index just past the parenthesis matching the one at `open_at`, on the same line."""
    depth = 0
    for i in range(open_at, min(len(text), open_at + 80)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if text[i] == "\n":
            return None
        if depth == 0:
            return i + 1
    return None


def _normalize_big_o(inner: str) -> str:
    """`n²`, `n**2`, `N^2` -> `n^2`; `nlogn`, `n*log(n)`, `N log_2 N` -> `n log n`."""
    s = inner.strip().strip("$`*").strip()
    s = s.translate({ord("²"): "^2", ord("³"): "^3", ord("·"): "*", ord("\u00d7"): "*",
                     ord("⋅"): "*", ord("₂"): "", ord("\u2009"): " "})
    s = re.sub(r"\\(?:cdot|times)", "*", s)
    s = re.sub(r"\\(log|sqrt)\b", r"\1", s).replace("**", "^")
    s = re.sub(r"\^\{([^{}]*)\}", r"^\1", s)
    s = re.sub(r"\s*\^\s*", "^", s)
    s = re.sub(r"(?i)log(?:_\{?\d+\}?|2(?=\s*\())?", "log", s)
    s = re.sub(r"log\s*\(\s*([^()]+?)\s*\)", r"log \1", s)
    s = re.sub(r"(?<=[\w)])\s*\*?\s*(?=log)", " ", s)
    s = re.sub(r"log\s*(?=\w)", "log ", s)
    s = re.sub(r"\b([NMK])\b", lambda m: m.group(1).lower(), s)
    s = re.sub(r"\s*([+-])\s*", r" \1 ", s)
    s = re.sub(r"\s*([*/,])\s*", lambda m: m.group(1) + (" " if m.group(1) == "," else ""), s)
    return "O(" + re.sub(r"\s+", " ", s).strip() + ")"


def _claims(text: str) -> list[tuple[str, str]]:
    """(kind, big-O) for every big-O in `text` that a time or space label goes with: a label
    before it on its line ("Time: O(n)", "时间复杂度 O(n)"), or right after ("O(n) time")."""
    claims: list[tuple[str, str]] = []
    floor = 0  # labels before this point belong to an earlier big-O
    for m in _BIG_O.finditer(text):
        end = _balanced(text, m.end() - 1)
        if end is None or m.start() < floor:
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        window = text[max(floor, line_start, m.start() - 60):m.start()]
        labels = _LABEL.findall(window)
        after = _LABEL_AFTER.match(text[end:end + 30])
        floor = end
        if labels:
            label = labels[-1]
        elif after:
            label, floor = after.group(1), end + after.end()
        else:
            continue
        kind = "time" if "time" in label.lower() or label == "时间" else "space"
        claims.append((kind, _normalize_big_o(text[m.end():end - 1])))
    return claims


def _approach(text: str) -> str:
    found = _APPROACH.findall(text)
    if not found:
        return ""
    words = re.split(r"(?<=[^.])\.(?:\s|$)|。", found[-1].strip())[0]
    words = words.strip(" *`_.").removesuffix("*/").strip()
    if len(words) > 80:  # a sentence, not a few words: cut at a word and say so
        words = words[:80].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return words


def parse_complexity(text: str) -> Complexity | None:
    """The last time and space claims in `text`; None when it states no time complexity."""
    text = text.translate({ord("\uff08"): "(", ord("\uff09"): ")"})
    claims = _claims(text)
    times = [o for kind, o in claims if kind == "time"]
    if not times:
        return None
    spaces = [o for kind, o in claims if kind == "space"]
    return Complexity(time=times[-1], space=spaces[-1] if spaces else "",
                      approach=_approach(text))


def complexity_note(c: Complexity, comment_prefix: str, code: str | None = None) -> str:
    """The note comment; with the `code` it describes, approach words the code does not
    show are left out (`checked_approach`)."""
    if code is not None:
        c = replace(c, approach=checked_approach(c.approach, code))
    note = f"{comment_prefix} Time: {c.time}"
    if c.measured:
        note += f" ({c.measured})"
    if c.space:
        note += f", Space: {c.space}"
    if c.approach and not c.approach.lstrip().startswith("O("):  # a bound is no approach
        note += f" — {c.approach}"
    return note


# Approach words that say nothing the note does not already say, or retell the question
# (the 0.5B once gave "The function `max_of` is implemented in C++ as its TODO comment asks",
# which would have put the TODO back into the file).
_EMPTY_APPROACH = re.compile(
    r"(?i)\b(?:time|space)\s+complexity\b|\bcomplexity\s+is\b|^\W*(?:linear|constant|"
    r"logarithmic|quadratic|cubic)\s+(?:time|space)\b|\bsimple approach\b|"
    r"\bsolve this problem\b|\btodo\b|\bcomment asks\b")
# What code that follows an approach shows of it: (words in the approach, a pattern its code
# matches). Only clear signatures: an approach whose code lacks its own is the model's guess.
_APPROACH_SIGNS = [
    (r"binary search|bisect", r"bisect|//\s*2|>>\s*1|/\s*2|\bmid"),
    (r"\bsort", r"(?i)sort"),
    (r"\bheap|priority queue", r"(?i)heap|priority"),
    (r"\bhash|dictionary|\bhash ?map|\bcounter\b", r"(?i)\{|dict|map|counter|hash|set"),
    (r"dynamic programming|\bdp\b|memoi", r"(?i)\bdp|memo|cache|table"),
    (r"brute[- ]force", None),  # nested loops or itertools, see below
    (r"two[- ]pointer", None),  # two indexes stepping, see below
    (r"\bdfs\b|depth[- ]first|recursi|backtrack", None),  # calls itself, or a stack
]
_LOOP = re.compile(r"\b(?:for|while)\b")
_STEP = re.compile(r"\b(\w+)\s*(?:\+=|-=)\s*1\b|\b(\w+)(?:\+\+|--)|(?:\+\+|--)(\w+)")


def _two_indexes_step(code: str) -> bool:
    return len({next(filter(None, m)) for m in _STEP.findall(code)}) >= 2


def _tries_every_choice(code: str) -> bool:
    """Brute force shows as itertools, or as nested loops that are not a sweep: a `for`
    around a `while` that steps two indexes is sort-and-two-pointers (the zh seed's answer,
    which the 0.5B called brute force)."""
    if re.search(r"itertools|combinations|permutations|product\(", code):
        return True
    loops = _LOOP.findall(code)
    return len(loops) >= 2 and not ("while" in loops and _two_indexes_step(code))


def checked_approach(approach: str, code: str) -> str:
    """The approach words of a note, or "" where they say nothing (\"linear time
    complexity\") or name an approach the code does not show (the 0.5B called `goal in s + s`
    brute force, and a counting loop DFS)."""
    text = approach.lower()
    if not text.strip() or _EMPTY_APPROACH.search(text):
        return ""
    for words, sign in _APPROACH_SIGNS:
        if not re.search(words, text):
            continue
        if words.startswith("brute"):
            shown = _tries_every_choice(code)
        elif words.startswith("two"):
            shown = _two_indexes_step(code)
        elif sign is None:  # where no definition can be told apart, it cannot be checked
            names = re.findall(r"\b(?:def|fn|func|function)\s+(\w+)", code)
            shown = not names or "stack" in code.lower() or any(
                len(re.findall(rf"\b{n}\s*\(", code)) >= 2 for n in names)
        else:
            shown = bool(re.search(sign, code))
        if not shown:
            return ""
    return approach


_COMPLEXITY_TEXT = re.compile(
    r"(?i)complexity|复杂度|^\W*approach\s*:|^\W*(?:time|space|runtime|memory)\b[^\n]*\bO\s*\(|"
    r"\bO\s*\([^\n]*\b(?:time|space|memory)\b")


def _is_comment(stripped: str, comment_prefix: str) -> bool:
    if stripped.startswith(comment_prefix):
        return True
    # A one-line block comment, or a line inside a /** … */ block.
    return comment_prefix == "//" and ((stripped.startswith("/*") and stripped.endswith("*/"))
                                       or stripped.startswith("* "))


def strip_complexity_comments(code: str, comment_prefix: str) -> str:
    """`code` without the comment lines that state a complexity (we write our own note)."""
    kept = []
    for line in code.split("\n"):
        s = line.strip()
        if _is_comment(s, comment_prefix):
            body = s.lstrip("/#*-! ")
            if _COMPLEXITY_TEXT.search(body):
                continue
        kept.append(line)
    return "\n".join(kept).strip("\n")


def _is_demo(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":`, or a top-level statement that prints."""
    if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test):
        return True
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
               for n in ast.walk(node))


def drop_demo_code(code: str) -> str:
    """Python code without the example usage a model appends after its definitions
    (`# Example usage` / `print(f(...))` / a `__main__` block): it would run on import."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    if not defs:
        return code
    tail = [n for n in tree.body if n.lineno > defs[-1].end_lineno]
    mains = [n for n in tree.body if isinstance(n, ast.If) and _is_demo(n)]
    drop = mains + (tail if any(_is_demo(n) for n in tail) else [])
    if not drop:
        return code
    lines = code.split("\n")
    gone: set[int] = set()
    for node in drop:
        first = node.lineno - 1
        while first > 0 and lines[first - 1].lstrip().startswith("#"):
            first -= 1  # the "# Example usage" comment above it
        gone.update(range(first, node.end_lineno))
    return "\n".join(x for i, x in enumerate(lines) if i not in gone).strip("\n")


def indent_block(code: str, indent: str) -> str:
    return "\n".join(indent + line if line.strip() else "" for line in code.split("\n"))


# -- the whole answer ------------------------------------------------------------------

def parse_answer(text: str, language: str) -> Answer:
    """Reasoning, code, imports and complexity from a model's raw answer. Reasoning never
    reaches `code`: code comes from the text outside the think block, or, when the model left
    none there, from a fenced block inside it."""
    language = _canonical(language)
    think, rest = split_reasoning(strip_special_tokens(text))
    before, after, raw = rest, "", ""
    found = _locate_code(rest, language)
    if found is not None:
        raw, start, end = found
        before, after = rest[:start], rest[end:]
    elif (drafted := _locate_code(think, language, fenced_only=True)) is not None:
        raw = drafted[0]
    imports, code = _take_imports(_tidy(raw), language)
    complexity = next((c for part in (after, before, raw, think)
                       if (c := parse_complexity(part)) is not None), None)
    reasoning = "\n\n".join(p.strip() for p in (think, before, after) if p.strip())
    return Answer(reasoning=reasoning, code=code, complexity=complexity, imports=imports)
