"""Where a TODO sits in a file, in every language the assistant serves: the source files of
the placement shape matrix, and the known answer the "polyglot" tiny model was taught to
write for them.

One function with simple checkable semantics, `sum_of_squares` (each language's usual
spelling of the name), asked for by one TODO text. The model is taught on the prompts the
server builds for SHAPES (with `vibe_ls.assist.implement_prompt`, at fixture-build time, so
they follow the code), and must answer by language whatever the shape.

To add a shape: append `shape(name, language, source)` to SHAPES (`taught=False` for one the
model must cope with without having seen it: it is left out of `lessons`). The TODO line and
the function's name are found from the source and the language.
"""

from __future__ import annotations

from dataclasses import dataclass

TODO_TEXT = "TODO: return the sum of the squares of nums"

# The function the TODO asks for, under each language's usual name.
FUNCTIONS = {
    "python": "sum_of_squares", "c": "sum_of_squares", "cpp": "sum_of_squares",
    "java": "sumOfSquares", "javascript": "sumOfSquares", "typescript": "sumOfSquares",
    "go": "SumOfSquares", "rust": "sum_of_squares",
}
LANGUAGES = list(FUNCTIONS)
FILE_NAMES = {
    "python": "squares.py", "c": "squares.c", "cpp": "squares.cpp", "java": "Squares.java",
    "javascript": "squares.js", "typescript": "squares.ts", "go": "squares.go",
    "rust": "squares.rs",
}

# What the model writes: the full function in each language; a stub's signature kept.
CODE = {
    "python": (
        "def sum_of_squares(nums: list[int]) -> int:\n"
        "    total = 0\n"
        "    for x in nums:\n"
        "        total += x * x\n"
        "    return total\n"
    ),
    "c": (
        "int sum_of_squares(const int *nums, int n) {\n"
        "    int total = 0;\n"
        "    for (int i = 0; i < n; i++) {\n"
        "        total += nums[i] * nums[i];\n"
        "    }\n"
        "    return total;\n"
        "}\n"
    ),
    "cpp": (
        "int sum_of_squares(const std::vector<int>& nums) {\n"
        "    int total = 0;\n"
        "    for (int x : nums) {\n"
        "        total += x * x;\n"
        "    }\n"
        "    return total;\n"
        "}\n"
    ),
    "java": (
        "public static int sumOfSquares(int[] nums) {\n"
        "    int total = 0;\n"
        "    for (int x : nums) {\n"
        "        total += x * x;\n"
        "    }\n"
        "    return total;\n"
        "}\n"
    ),
    "javascript": (
        "function sumOfSquares(nums) {\n"
        "    let total = 0;\n"
        "    for (const x of nums) {\n"
        "        total += x * x;\n"
        "    }\n"
        "    return total;\n"
        "}\n"
    ),
    "typescript": (
        "function sumOfSquares(nums: number[]): number {\n"
        "    let total = 0;\n"
        "    for (const x of nums) {\n"
        "        total += x * x;\n"
        "    }\n"
        "    return total;\n"
        "}\n"
    ),
    "go": (
        "func SumOfSquares(nums []int) int {\n"
        "\ttotal := 0\n"
        "\tfor _, x := range nums {\n"
        "\t\ttotal += x * x\n"
        "\t}\n"
        "\treturn total\n"
        "}\n"
    ),
    "rust": (
        "fn sum_of_squares(nums: &[i32]) -> i32 {\n"
        "    let mut total = 0;\n"
        "    for x in nums {\n"
        "        total += x * x;\n"
        "    }\n"
        "    total\n"
        "}\n"
    ),
}
SENTENCE = "Square each number and add it to a running total."
COMPLEXITY = "Complexity: Time O(n), Space O(1). Approach: one pass."


def answer(language: str) -> str:
    """The polyglot model's whole answer to a TODO of SHAPES in `language`, in the form a
    real Qwen model answers: a sentence, the code block, the complexity line."""
    return f"{SENTENCE}\n```{language}\n{CODE[language]}```\n{COMPLEXITY}"


ANSWERS = {language: answer(language) for language in LANGUAGES}


@dataclass(frozen=True)
class Shape:
    name: str  # where the TODO sits: "inside", "above", "bare", ...
    language: str
    file_name: str
    source: str
    todo_line: int  # 0-based
    function: str  # the name the answer defines
    taught: bool = True  # the polyglot model was trained on this shape's prompt
    owner: str = ""  # the class (struct, impl) the function is called through, if any
    real_body: bool = False  # the function has a body of its own (the answer replaces it)

    @property
    def id(self) -> str:
        """A pytest id: "inside-rust"."""
        return f"{self.name}-{self.language}"


def shape(name: str, language: str, source: str, file_name: str | None = None,
          taught: bool = True, owner: str = "", real_body: bool = False) -> Shape:
    """A Shape whose TODO line is the one line of `source` with TODO_TEXT on it."""
    (todo_line,) = [i for i, line in enumerate(source.split("\n")) if TODO_TEXT in line]
    return Shape(name, language, file_name or FILE_NAMES[language], source, todo_line,
                 FUNCTIONS[language], taught, owner, real_body)


# -- the shapes -------------------------------------------------------------------------
# Stubs and doc comments per language, composed into the shapes below.

STUBS = {  # (signature line, placeholder body, closing line or "")
    "python": ("def sum_of_squares(nums: list[int]) -> int:", "pass", ""),
    "c": ("int sum_of_squares(const int *nums, int n) {", "return 0;", "}"),
    "cpp": ("int sum_of_squares(const std::vector<int>& nums) {", "return 0;", "}"),
    "java": ("public static int sumOfSquares(int[] nums) {", "return 0;", "}"),
    "javascript": ("function sumOfSquares(nums) {", "return 0;", "}"),
    "typescript": ("function sumOfSquares(nums: number[]): number {", "return 0;", "}"),
    "go": ("func SumOfSquares(nums []int) int {", "return 0", "}"),
    "rust": ("fn sum_of_squares(nums: &[i32]) -> i32 {", "todo!()", "}"),
}
COMMENTS = {"python": "# "} | {language: "// " for language in LANGUAGES if language != "python"}
HEADERS = {  # what a file in the language starts with
    "python": "", "c": "#include <stddef.h>\n\n", "cpp": "#include <vector>\n\n",
    "java": "", "javascript": "", "typescript": "", "go": "package squares\n\n", "rust": "",
}
DOCS = {  # a doc comment for the function, placed where the language puts it
    "python": '"""Sum of x * x over nums."""',
    "c": "/* Sum of x * x over the n numbers in nums. */",
    "cpp": "/** Sum of x * x over nums. */",
    "java": "/** Sum of x * x over nums. */",
    "javascript": "/** Sum of x * x over nums. */",
    "typescript": "/** Sum of x * x over nums. */",
    "go": "// SumOfSquares is the sum of x * x over nums.",
    "rust": "/// Sum of x * x over nums.",
}
INDENT = {"go": "\t"}


def _todo(language: str) -> str:
    return COMMENTS[language] + TODO_TEXT


def _function(language: str, body_todo: bool, doc: bool) -> list[str]:
    """The stub's lines: a doc comment (inside a Python body, above elsewhere), the TODO in
    the body if `body_todo`, the placeholder."""
    signature, placeholder, closing = STUBS[language]
    indent = INDENT.get(language, "    ")
    above = [DOCS[language]] if doc and language != "python" else []
    body = [DOCS[language]] if doc and language == "python" else []
    body += [_todo(language)] if body_todo else []
    lines = [*above, signature, *(indent + line for line in [*body, placeholder])]
    return lines + ([closing] if closing else [])


def _file(language: str, lines: list[str], file_name: str | None = None) -> str:
    """A whole file around `lines`; Java's inside a class named after the file, as Java
    needs."""
    if language == "java":
        name = (file_name or FILE_NAMES[language]).removesuffix(".java")
        lines = [f"public class {name} {{", *("    " + line if line else "" for line in lines),
                 "}"]
    return HEADERS[language] + "\n".join(lines) + "\n"


# Other code in the file, before the TODO: a shape the model was not taught still gets the
# language's answer.
NEIGHBOURS = {
    "python": ["def cube(x: int) -> int:", "    return x * x * x"],
    "c": ["int cube(int x) {", "    return x * x * x;", "}"],
    "cpp": ["int cube(int x) {", "    return x * x * x;", "}"],
    "java": ["static int cube(int x) {", "    return x * x * x;", "}"],
    "javascript": ["const cube = (x) => x * x * x;"],
    "typescript": ["const cube = (x: number): number => x * x * x;"],
    "go": ["func cube(x int) int {", "\treturn x * x * x", "}"],
    "rust": ["fn cube(x: i32) -> i32 {", "    x * x * x", "}"],
}
ELSEWHERE = {  # a file name the model was not taught
    "python": "math_utils.py", "c": "math_utils.c", "cpp": "math_utils.cc",
    "java": "MathUtils.java", "javascript": "mathUtils.mjs", "typescript": "mathUtils.ts",
    "go": "math_utils.go", "rust": "math_utils.rs",
}


def _shapes_of(language: str) -> list[Shape]:
    todo = _todo(language)
    gap = [""] * (2 if language == "python" else 1)
    return [
        # the TODO in the stub's body, before its placeholder
        shape("inside", language, _file(language, _function(language, True, False))),
        # the TODO on the line above the stub
        shape("above", language, _file(language, [todo, *_function(language, False, False)])),
        # the TODO alone at file level (Java: class level): no stub, a new function
        shape("bare", language, _file(language, [todo])),
        # a doc comment (Python: a docstring) and the TODO in the body
        shape("doc-inside", language, _file(language, _function(language, True, True))),
        # the TODO, then the stub's doc comment, then the stub (Python: docstring in the body)
        shape("doc-above", language, _file(language, [todo, *_function(language, False, True)])),
        # "above" after other code, in a file of another name: not taught
        shape("above-elsewhere", language,
              _file(language, [*NEIGHBOURS[language], *gap, todo,
                               *_function(language, False, False)], ELSEWHERE[language]),
              ELSEWHERE[language], taught=False),
    ]


# What stands between a TODO and the function below it, per language: decorators,
# attributes, annotations, `export`, `static`, directives.
MODIFIED = {
    "python": (["def traced(f):", "    return f", "", ""], ["@traced"], ""),
    "c": ([], [], "static "),
    "cpp": ([], [], "[[nodiscard]] inline "),
    "java": ([], ['@SuppressWarnings("unused")'], ""),
    "javascript": ([], [], "export "),
    "typescript": ([], [], "export "),
    "go": ([], ["//go:noinline"], ""),
    "rust": ([], ["#[inline]"], "pub "),
}
# A placeholder that throws, where the language has one.
THROWS = {
    "python": "raise NotImplementedError",
    "cpp": 'throw std::logic_error("not implemented");',
    "java": 'throw new UnsupportedOperationException("not implemented");',
    "javascript": 'throw new Error("not implemented");',
    "typescript": 'throw new Error("not implemented");',
    "go": 'panic("not implemented")',
    "rust": "unimplemented!()",
}
# A body that does something else: the TODO asks for what the answer replaces it with.
REAL_BODIES = {
    "python": ["return len(nums)"], "c": ["return n;"], "cpp": ["return (int) nums.size();"],
    "java": ["return nums.length;"], "javascript": ["return nums.length;"],
    "typescript": ["return nums.length;"], "go": ["return len(nums)"],
    "rust": ["nums.len() as i32"],
}
# The function as a member: (lines before it, its signature, lines after it, the owner).
MEMBERS = {
    "python": (["class Squares:"], "def sum_of_squares(self, nums: list[int]) -> int:", [],
               "Squares"),
    "cpp": (["struct Squares {"], "int sum_of_squares(const std::vector<int>& nums) {",
            ["};"], "Squares"),
    "javascript": (["class Squares {"], "sumOfSquares(nums) {", ["}"], "Squares"),
    "typescript": (["class Squares {"], "sumOfSquares(nums: number[]): number {", ["}"],
                   "Squares"),
    "rust": (["struct Squares;", "", "impl Squares {"], "fn sum_of_squares(nums: &[i32]) -> i32 {",
             ["}"], "Squares"),
    "go": (["type Squares struct{}", ""], "func (s Squares) SumOfSquares(nums []int) int {", [],
           ""),
}


def _stub(language: str, placeholder: list[str], head: str = "") -> list[str]:
    signature, _, closing = STUBS[language]
    indent = INDENT.get(language, "    ")
    return [head + signature, *(indent + line for line in placeholder),
            *([closing] if closing else [])]


def _more_shapes(language: str) -> list[Shape]:
    """Further shapes people write: blank lines, modifiers and one-line or empty bodies
    between the TODO and its stub, throwing placeholders, members, a real body."""
    todo, signature, (_, placeholder, closing) = _todo(language), STUBS[language][0], \
        STUBS[language]
    before, between, head = MODIFIED[language]
    one_line = f"{signature} {placeholder}" + (f" {closing}" if closing else "")
    empty = [f"{signature}", "    ..."] if language == "python" else [f"{signature}", closing]
    found = [
        shape("blank-above", language, _file(language, [todo, "", *_stub(language,
                                                                       [placeholder])])),
        shape("modified-above", language,
              _file(language, [*before, todo, *between, *_stub(language, [placeholder], head)])),
        shape("one-line", language, _file(language, [todo, one_line])),
        shape("empty-body", language, _file(language, [todo, *empty])),
        shape("real-body", language,
              _file(language, _stub(language, [todo, *REAL_BODIES[language]])),
              real_body=True),
    ]
    if language in THROWS:
        found.append(shape("throws", language,
                           _file(language, [todo, *_stub(language, [THROWS[language]])])))
    if language in MEMBERS:
        opening, member, after, owner = MEMBERS[language]
        indent = "" if language == "go" else "    "
        inner = INDENT.get(language, "    ")
        body = [f"{indent}{inner}{placeholder}", *([f"{indent}{closing}"] if closing else [])]
        found.append(shape("member-above", language, _file(language, [
            *opening, f"{indent}{todo}", f"{indent}{member}", *body, *after]), owner=owner))
    if language == "python":
        found.append(shape("doctest", language, DOCTEST))
    return found


DOCTEST = (
    "from typing import List\n\n\n"
    "def sum_of_squares(nums: List[int]) -> int:\n"
    '    """ Add up the square of every number in nums.\n'
    "    >>> sum_of_squares([1, 2, 3])\n    14\n    >>> sum_of_squares([])\n    0\n"
    '    """\n'
    f"    # {TODO_TEXT}\n"
    "    pass\n"
)

SHAPES: list[Shape] = [s for language in LANGUAGES
                       for s in [*_shapes_of(language), *_more_shapes(language)]]


def lessons(shapes: list[Shape] | None = None) -> list[tuple[list[list[dict[str, str]]], str]]:
    """What the polyglot model is taught: per language, the Implement prompts the server
    builds today for the taught `shapes`, and that language's answer."""
    taught = [s for s in (SHAPES if shapes is None else shapes) if s.taught]
    return [([prompt(s) for s in taught if s.language == language], ANSWERS[language])
            for language in LANGUAGES if any(s.language == language for s in taught)]


def prompt(s: Shape) -> list[dict[str, str]]:
    """The messages the server sends to Implement the TODO of `s`."""
    from vibe_ls.assist import Target, implement_prompt

    def count(text: str) -> int:
        return len(text) // 3
    return implement_prompt(Target(s.source, s.language, s.file_name), s.todo_line, count)


# The issue's doctest shape (#21): a docstring with doctests, then the TODO and `pass`, after
# the file's imports and two blank lines.
PAIR_DOCTEST = '''from typing import List


def has_pair_with_sum(numbers: List[int], target: int) -> bool:
    """ Check whether any two different positions of numbers add up to
    target.
    >>> has_pair_with_sum([1, 2, 3], 7)
    False
    >>> has_pair_with_sum([4, 1, 6, 3], 7)
    True
    """
    # TODO: implement this function as the docstring describes
    pass
'''
