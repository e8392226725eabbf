"""Slow functions in Python, C++ and Rust, and the rewrite the "rewriter" tiny model was
taught to write for each language: faster, and equivalent to one original ("slow") but not
to the other ("other": the rewrite changes what it returns or what it leaves in its
arguments). The model is taught on the prompts the server builds for both (with
`vibe_ls.assist.rewrite_prompt`, at fixture-build time, so they follow the code), and
writes the same rewrite for either: the check, not the model, must tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

# The dedupe (O(n^2): `x not in out` scans a list), and one that keeps the last of
# equal values instead of the first: the rewrite keeps the first.
PYTHON_SLOW = '''def dedupe(xs):
    out = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out


print(dedupe([3, 1, 3]))
'''
PYTHON_OTHER = '''def dedupe(xs):
    out = []
    for i, x in enumerate(xs):
        if x not in xs[i + 1:]:
            out.append(x)
    return out


print(dedupe([3, 1, 3]))
'''
PYTHON_REWRITE = '''def dedupe(xs):
    seen = set()
    out = []
    for x in xs:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out
'''

# A quadratic dedupe, and one that returns the values sorted: the rewrite keeps their order.
CPP_SLOW = '''#include <vector>
using namespace std;

vector<int> dedupe(const vector<int>& xs) {
    vector<int> out;
    for (int x : xs) {
        bool seen = false;
        for (int y : out) {
            if (y == x) seen = true;
        }
        if (!seen) out.push_back(x);
    }
    return out;
}

int main() {
    return dedupe({3, 1, 3}).size();
}
'''
CPP_OTHER = '''#include <algorithm>
#include <vector>
using namespace std;

vector<int> dedupe(vector<int> xs) {
    sort(xs.begin(), xs.end());
    xs.erase(unique(xs.begin(), xs.end()), xs.end());
    return xs;
}

int main() {
    return dedupe({3, 1, 3}).size();
}
'''
CPP_REWRITE = '''vector<int> dedupe(const vector<int>& xs) {
    unordered_set<int> seen;
    vector<int> out;
    for (int x : xs) {
        if (seen.insert(x).second) out.push_back(x);
    }
    return out;
}
'''

# Sorts its vector in place (bubble sort), drops repeats and counts what is left; and one
# that counts the distinct values without touching the vector: the rewrite sorts it.
RUST_SLOW = '''fn count_distinct(xs: &mut Vec<i32>) -> usize {
    for i in 0..xs.len() {
        for j in 0..xs.len() - 1 - i {
            if xs[j] > xs[j + 1] {
                xs.swap(j, j + 1);
            }
        }
    }
    xs.dedup();
    xs.len()
}

fn main() {
    let mut v = vec![3, 1, 3];
    println!("{}", count_distinct(&mut v));
}
'''
RUST_OTHER = '''fn count_distinct(xs: &mut Vec<i32>) -> usize {
    let mut count = 0;
    for i in 0..xs.len() {
        if !xs[..i].contains(&xs[i]) {
            count += 1;
        }
    }
    count
}

fn main() {
    let mut v = vec![3, 1, 3];
    println!("{}", count_distinct(&mut v));
}
'''
RUST_REWRITE = '''fn count_distinct(xs: &mut Vec<i32>) -> usize {
    xs.sort_unstable();
    xs.dedup();
    xs.len()
}
'''

REWRITES = {"python": PYTHON_REWRITE, "cpp": CPP_REWRITE, "rust": RUST_REWRITE}
COMPLEXITY = {"python": "Complexity: Time O(n), Space O(n). Approach: a set.",
              "cpp": "Complexity: Time O(n), Space O(n). Approach: a hash set.",
              "rust": "Complexity: Time O(n log n), Space O(1). Approach: sort."}
FILE_NAMES = {"python": "dedupe.py", "cpp": "dedupe.cpp", "rust": "distinct.rs"}


HEADERS = {"cpp": "#include <unordered_set>\n\n"}  # what the C++ rewrite needs


def answer(language: str) -> str:
    """The rewriter's whole answer in `language`: the code block (with the headers it
    needs), then the complexity line."""
    code = HEADERS.get(language, "") + REWRITES[language]
    return f"```{language}\n{code}```\n{COMPLEXITY[language]}"


@dataclass(frozen=True)
class Case:
    language: str
    source: str
    equivalent: bool  # the taught rewrite does what this original does

    @property
    def function(self) -> str:
        return "count_distinct" if self.language == "rust" else "dedupe"

    @property
    def span(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """The whole function, selected as an editor selects lines: to the start of the line
        after it."""
        lines = self.source.split("\n")
        start = next(i for i, line in enumerate(lines) if f"{self.function}(" in line)
        end = next(i for i in range(start, len(lines)) if lines[i] in ("}", "    return out"))
        return (start, 0), (end + 1, 0)

    @property
    def file_name(self) -> str:
        return FILE_NAMES[self.language]


CASES = {f"{language}-{'slow' if equivalent else 'other'}": Case(language, source, equivalent)
         for language, source, equivalent in [
             ("python", PYTHON_SLOW, True), ("python", PYTHON_OTHER, False),
             ("cpp", CPP_SLOW, True), ("cpp", CPP_OTHER, False),
             ("rust", RUST_SLOW, True), ("rust", RUST_OTHER, False)]}


def prompt(case: Case) -> list[dict[str, str]]:
    """The messages the server sends to rewrite the function of `case`."""
    from vibe_ls.assist import Target, rewrite_prompt

    def count(text: str) -> int:
        return len(text) // 3
    _, messages = rewrite_prompt(Target(case.source, case.language, case.file_name),
                                 case.span, count)
    return messages


def lessons() -> list[tuple[list[list[dict[str, str]]], str]]:
    """What the rewriter model is taught: per language, the rewrite prompts of both cases,
    and that language's rewrite."""
    return [([prompt(c) for c in CASES.values() if c.language == language], answer(language))
            for language in REWRITES]
