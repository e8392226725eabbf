"""postprocess: realistic raw answers from small local models turned into insertable code."""
# Chinese model output uses full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import textwrap

from vibe_ls.postprocess import (
    Answer,
    Complexity,
    checked_approach,
    complexity_note,
    extract_code,
    indent_block,
    parse_answer,
    parse_complexity,
    split_reasoning,
    strip_complexity_comments,
    strip_special_tokens,
)

THREE_SUM_CODE = """def three_sum_closest(nums: List[int], target: int) -> int:
    nums.sort()
    best = nums[0] + nums[1] + nums[2]
    for i in range(len(nums) - 2):
        lo, hi = i + 1, len(nums) - 1
        while lo < hi:
            s = nums[i] + nums[lo] + nums[hi]
            if abs(s - target) < abs(best - target):
                best = s
            if s < target:
                lo += 1
            elif s > target:
                hi -= 1
            else:
                return s
    return best"""

THINKER_PYTHON = f"""<think>
好的，用户要求实现 three_sum_closest。暴力枚举三元组是 O(n^3)，太慢了。
The brute force checks every triple, which we must avoid here.
先排序，然后固定一个数，用双指针逼近 target。
</think>
排序后用双指针。

```python
from typing import List

{THREE_SUM_CODE}
```
Complexity: Time O(n^2), Space O(1). Approach: sort, then two pointers.<|im_end|>"""


def test_python_with_think_block_and_chinese_reasoning():
    answer = parse_answer(THINKER_PYTHON, "python")
    assert answer.code == THREE_SUM_CODE
    assert answer.imports == ["from typing import List"]
    assert answer.complexity == Complexity("O(n^2)", "O(1)", "sort, then two pointers")
    assert "The brute force checks every triple" in answer.reasoning
    assert "排序后用双指针。" in answer.reasoning


def test_reasoning_never_lands_in_code():
    answer = parse_answer(THINKER_PYTHON, "python")
    for leak in ("The brute force checks every triple", "双指针", "<think>", "</think>",
                 "```", "Complexity:", "<|im_end|>"):
        assert leak not in answer.code


def test_complexity_comes_from_the_answer_not_the_discarded_brute_force():
    # The think block mentions O(n^3); the final line after the code wins.
    assert parse_answer(THINKER_PYTHON, "python").complexity.time == "O(n^2)"


def test_cpp_includes_move_to_imports():
    text = """To find the closest sum we sort and sweep with two pointers.
```cpp
#include <vector>
#include <algorithm>
#include <cstdlib>
using namespace std;

int threeSumClosest(vector<int>& nums, int target) {
    sort(nums.begin(), nums.end());
    int best = nums[0] + nums[1] + nums[2];
    return best;
}
```
Time: O(n log n), Space: O(1)"""
    answer = parse_answer(text, "cpp")
    assert answer.imports == ["#include <vector>", "#include <algorithm>", "#include <cstdlib>"]
    assert answer.code == (
        "using namespace std;\n\n"
        "int threeSumClosest(vector<int>& nums, int target) {\n"
        "    sort(nums.begin(), nums.end());\n"
        "    int best = nums[0] + nums[1] + nums[2];\n"
        "    return best;\n"
        "}")
    assert answer.complexity == Complexity("O(n log n)", "O(1)", "")
    assert answer.reasoning == "To find the closest sum we sort and sweep with two pointers.\n\n" \
        "Time: O(n log n), Space: O(1)"


def test_go_import_block_becomes_one_import_per_package():
    text = (
        "Here is the Go version.\n\n```golang\npackage main\n\nimport (\n\t\"fmt\"\n"
        "\t\"sort\"\n)\n\nfunc closest(nums []int, target int) int {\n\tsort.Ints(nums)\n"
        "\tfmt.Println(nums)\n\treturn nums[0]\n}\n```\n"
        "Complexity: Time O(nlogn), Space O(1). Approach: sort.")
    answer = parse_answer(text, "go")
    assert answer.imports == ['import "fmt"', 'import "sort"']
    assert answer.code == ("func closest(nums []int, target int) int {\n\tsort.Ints(nums)\n"
                           "\tfmt.Println(nums)\n\treturn nums[0]\n}")
    assert answer.complexity == Complexity("O(n log n)", "O(1)", "sort")


def test_go_single_import_with_alias():
    text = '```go\nimport str "strings"\n\nfunc up(s string) string { return str.ToUpper(s) }\n```'
    answer = parse_answer(text, "go")
    assert answer.imports == ['import str "strings"']
    assert answer.code == "func up(s string) string { return str.ToUpper(s) }"


def test_rust_use_lines():
    text = """```rs
use std::collections::HashMap;
use std::cmp::{max,
    min};

fn two_sum(nums: &[i32], target: i32) -> Option<(usize, usize)> {
    let mut seen: HashMap<i32, usize> = HashMap::new();
    for (i, &x) in nums.iter().enumerate() {
        if let Some(&j) = seen.get(&(target - x)) {
            return Some((j, i));
        }
        seen.insert(x, i);
    }
    None
}
```
The time complexity is O(n) and the space complexity is O(n)."""
    answer = parse_answer(text, "rust")
    assert answer.imports == ["use std::collections::HashMap;", "use std::cmp::{max,\n    min};"]
    assert answer.code.startswith("fn two_sum(nums: &[i32], target: i32)")
    assert answer.code.endswith("    None\n}")
    assert answer.complexity == Complexity("O(n)", "O(n)", "")


def test_java_answer():
    text = """I'll use a HashSet to remember what we've seen.

```java
import java.util.HashSet;
import java.util.Set;

class Solution {
    public boolean containsDuplicate(int[] nums) {
        Set<Integer> seen = new HashSet<>();
        for (int x : nums) {
            if (!seen.add(x)) return true;
        }
        return false;
    }
}
```

```text
containsDuplicate([1, 2, 1]) -> true
```
Complexity: Time O(N), Space O(N). Approach: hash set of seen values."""
    answer = parse_answer(text, "java")
    assert answer.imports == ["import java.util.HashSet;", "import java.util.Set;"]
    assert answer.code.split("\n")[0] == "class Solution {"
    assert answer.code.split("\n")[-1] == "}"
    assert "containsDuplicate([1, 2, 1])" not in answer.code
    assert answer.complexity == Complexity("O(n)", "O(n)", "hash set of seen values")


def test_typescript_and_javascript_imports():
    ts = ("```ts\nimport { sum } from './math';\nimport {\n  max,\n  min,\n} from 'lodash';\n\n"
          "export function spread(xs: number[]): number {\n  return max(xs) - min(xs);\n}\n```")
    answer = parse_answer(ts, "typescript")
    assert answer.imports == ["import { sum } from './math';",
                              "import {\n  max,\n  min,\n} from 'lodash';"]
    assert answer.code == ("export function spread(xs: number[]): number {\n"
                           "  return max(xs) - min(xs);\n}")
    js = ("```js\nconst fs = require('fs');\n\nfunction read(p) {\n"
          "  return fs.readFileSync(p);\n}\n```")
    answer = parse_answer(js, "javascript")
    assert answer.imports == ["const fs = require('fs');"]
    assert answer.code == "function read(p) {\n  return fs.readFileSync(p);\n}"


def test_answer_without_fences():
    text = """Use a running maximum.
def max_profit(prices):
    best, low = 0, float("inf")
    for p in prices:
        low = min(low, p)
        best = max(best, p - low)
    return best

This keeps the lowest price seen so far.
Complexity: Time O(n), Space O(1). Approach: one pass."""
    answer = parse_answer(text, "python")
    assert answer.code == (
        "def max_profit(prices):\n"
        "    best, low = 0, float(\"inf\")\n"
        "    for p in prices:\n"
        "        low = min(low, p)\n"
        "        best = max(best, p - low)\n"
        "    return best")
    assert "Use a running maximum." not in answer.code
    assert "This keeps the lowest price" in answer.reasoning
    assert answer.complexity == Complexity("O(n)", "O(1)", "one pass")


def test_answer_truncated_inside_fence():
    text = ("<think>\nWe need binary search.\n</think>\n```python\ndef search(a, x):\n"
            "    lo, hi = 0, len(a)\n    while lo < hi:\n        mid = (lo + hi) // 2\n")
    answer = parse_answer(text, "python")
    assert answer.code == ("def search(a, x):\n    lo, hi = 0, len(a)\n    while lo < hi:\n"
                           "        mid = (lo + hi) // 2")
    assert answer.reasoning == "We need binary search."
    assert answer.complexity is None


def test_unclosed_think_block_reasoning_stops_at_first_fence():
    text = ("<think>\nLet me think. A stack matches the brackets.\n```python\n"
            "def valid(s):\n    return not s\n```\nComplexity: Time O(n), Space O(n).")
    reasoning, rest = split_reasoning(text)
    assert reasoning == "Let me think. A stack matches the brackets."
    assert rest.startswith("```python\ndef valid(s):")
    answer = parse_answer(text, "python")
    assert answer.code == "def valid(s):\n    return not s"
    assert "A stack matches" not in answer.code
    assert answer.complexity == Complexity("O(n)", "O(n)", "")


def test_unclosed_think_without_code_gives_no_code():
    answer = parse_answer("<think>\nLet me think about this. First we", "python")
    assert answer.code == ""
    assert answer.reasoning == "Let me think about this. First we"
    assert answer.imports == []


def test_think_closing_tag_only():
    # The chat template opened <think> in the prompt, so the answer only closes it.
    reasoning, rest = split_reasoning("Reason first.\n</think>\n\nDone.")
    assert (reasoning, rest) == ("Reason first.", "Done.")


def test_split_reasoning_without_tags():
    assert split_reasoning("just text\n") == ("", "just text\n")


def test_code_drafted_only_inside_think_block():
    text = "<think>\nDraft:\n```python\ndef f(x):\n    return x * 2\n```\n</think>\nDone."
    answer = parse_answer(text, "python")
    assert answer.code == "def f(x):\n    return x * 2"


def test_special_tokens_are_stripped():
    assert strip_special_tokens("<|im_start|>assistant\nx = 1<|im_end|><|endoftext|>") == \
        "assistant\nx = 1"
    assert strip_special_tokens("a<|fim_middle|>b<|fim_suffix|>c<|repo_name|>") == "abc"
    assert strip_special_tokens("a <| b |> c") == "a <| b |> c"
    text = "```python\ndef f():\n    return 1<|endoftext|>\n```<|im_end|>"
    assert parse_answer(text, "python").code == "def f():\n    return 1"


def test_extract_code_prefers_language_tag_over_longer_block():
    text = ("```text\nexample input and output that happens to be much longer than the code\n"
            "more lines here\n```\n```py\nx = 1\n```")
    assert extract_code(text, "python") == "x = 1"
    assert extract_code(text, "rust") == ("example input and output that happens to be much "
                                          "longer than the code\nmore lines here")


def test_extract_code_aliases_and_dedent():
    assert extract_code("```c++\n    int x = 1;\n    int y = 2;\n```", "cpp") == \
        "int x = 1;\nint y = 2;"
    assert extract_code("```cxx\nint a;\n```", "cpp") == "int a;"
    assert extract_code("```tsx\nconst a = 1;\n```\n```js\nlet b;\n```", "tsx") == "const a = 1;"
    assert extract_code("```golang\nfunc f() {}\n```", "go") == "func f() {}"


def test_extract_code_picks_longest_of_several_tagged_blocks():
    text = ("```python\ndef f(a):\n    return sorted(a)[0]\n```\nUsage:\n```python\nf([3])\n```")
    assert extract_code(text, "python") == "def f(a):\n    return sorted(a)[0]"


def test_extract_code_closing_fence_glued_to_last_line():
    assert extract_code("```python\ndef f():\n    return 2```\nDone.", "python") == \
        "def f():\n    return 2"


def test_extract_code_no_trailing_blank_lines():
    assert extract_code("```python\n\nx = 1\n\n\n```", "python") == "x = 1"


# -- complexity ------------------------------------------------------------------------

def test_complexity_standard_line():
    assert parse_complexity(
        "Complexity: Time O(n^2), Space O(1). Approach: sort, then two pointers.") == \
        Complexity("O(n^2)", "O(1)", "sort, then two pointers")


def test_complexity_time_space_labels():
    assert parse_complexity("Time: O(n log n), Space: O(n)") == \
        Complexity("O(n log n)", "O(n)", "")


def test_complexity_prose_with_superscript():
    assert parse_complexity("The time complexity is O(n²) because of the nested loops.") == \
        Complexity("O(n^2)", "", "")


def test_complexity_chinese():
    assert parse_complexity("时间复杂度：O(n^2)，空间复杂度：O(1)") == \
        Complexity("O(n^2)", "O(1)", "")
    assert parse_complexity("时间复杂度为 O（nlogn），空间复杂度为 O（n）。") == \
        Complexity("O(n log n)", "O(n)", "")


def test_complexity_in_code_comments():
    assert parse_complexity("# Time: O(n)\n# Space: O(1)\ndef f(): ...") == \
        Complexity("O(n)", "O(1)", "")
    assert parse_complexity("// Time complexity: O(N^2), space: O(N)") == \
        Complexity("O(n^2)", "O(n)", "")


def test_complexity_label_after_big_o():
    assert parse_complexity("It runs in O(n*log(n)) time and uses O(1) extra space.") == \
        Complexity("O(n log n)", "O(1)", "")


def test_complexity_normalization():
    def time(text: str) -> str:
        return parse_complexity(f"Time: {text}").time

    assert time("O(n**2)") == "O(n^2)"
    assert time("O(N^2)") == "O(n^2)"
    assert time("O(n ^ 2)") == "O(n^2)"
    assert time("O(nlogn)") == "O(n log n)"
    assert time("O(N log N)") == "O(n log n)"
    assert time("$O(n \\log n)$") == "O(n log n)"
    assert time("O(log2(n))") == "O(log n)"
    assert time("O(n+m)") == "O(n + m)"
    assert time("O(V + E)") == "O(V + E)"
    assert time("O(1)") == "O(1)"
    assert time("**O(n^{2})**") == "O(n^2)"


def test_complexity_last_statement_wins_and_unlabelled_big_o_is_ignored():
    text = ("The brute force is O(n^3). Sorting costs O(n log n) time.\n"
            "Complexity: Time O(n^2), Space O(log n).")
    assert parse_complexity(text) == Complexity("O(n^2)", "O(log n)", "")


def test_complexity_needs_a_time():
    assert parse_complexity("Space: O(1)") is None
    assert parse_complexity("It is O(n).") is None
    assert parse_complexity("no complexity here") is None


def test_complexity_note_formats():
    c = Complexity("O(n^2)", "O(1)", "sort, then two pointers")
    assert complexity_note(c, "#") == "# Time: O(n^2), Space: O(1) — sort, then two pointers"
    assert complexity_note(c, "//") == "// Time: O(n^2), Space: O(1) — sort, then two pointers"
    assert complexity_note(Complexity("O(n)", "O(n)", ""), "//") == "// Time: O(n), Space: O(n)"
    assert complexity_note(Complexity("O(n)", "", ""), "#") == "# Time: O(n)"
    assert complexity_note(Complexity("O(n)", "", "one pass"), "#") == "# Time: O(n) — one pass"


def test_strip_complexity_comments_python():
    code = ("def f(a):\n    # Time complexity: O(n), space: O(1)\n"
            "    # walk once, keeping the best so far\n    best = 0\n"
            "    # O(n) time\n    return best\n# Time: O(n)")
    assert strip_complexity_comments(code, "#") == (
        "def f(a):\n    # walk once, keeping the best so far\n    best = 0\n    return best")


def test_strip_complexity_comments_c_family():
    code = ("// Complexity: Time O(n^2), Space O(1). Approach: two pointers.\n"
            "int f(int n) {\n    /* Time: O(n) */\n    // loop over n\n"
            "    int s = 0;  // O(1) space\n    return s;\n}")
    assert strip_complexity_comments(code, "//") == (
        "int f(int n) {\n    // loop over n\n    int s = 0;  // O(1) space\n    return s;\n}")


def test_indent_block():
    assert indent_block("if x:\n    y()\n\nz()", "    ") == "    if x:\n        y()\n\n    z()"
    assert indent_block("a\n   \nb", "\t") == "\ta\n\n\tb"


def test_answer_is_frozen_dataclass():
    answer = Answer("r", "c", None, [])
    try:
        answer.code = "x"  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("Answer must be frozen")


def test_a_long_approach_is_cut_at_a_word_and_marked():
    c = parse_complexity("Complexity: Time O(n), Space O(n). Approach: We can solve this problem "
                         "using a simple approach where we iterate through the trust pairs "
                         "and count how often each person is trusted.")
    assert c is not None and c.approach.endswith("through the…")
    assert len(c.approach) <= 81
    short = parse_complexity("Complexity: Time O(n), Space O(1). Approach: one pass.")
    assert short is not None and short.approach == "one pass"


def test_approach_words_the_code_does_not_show_are_left_out() -> None:
    two = ("def f(nums, target):\n    left, right = 0, len(nums) - 1\n    while left < right:\n"
           "        if nums[left] + nums[right] < target:\n            left += 1\n"
           "        else:\n            right -= 1\n    return left\n")
    assert checked_approach("Two-pointer technique", two) == "Two-pointer technique"
    assert checked_approach("Binary search on the answer", two) == ""
    assert checked_approach("Sort the scores by ID", "return sorted(xs)") == "Sort the scores by ID"
    assert checked_approach("Sort first", "return max(xs)") == ""
    # the 0.5B's words for `goal in s + s`, and for a counting loop
    assert checked_approach("Brute Force", "return len(s) == len(goal) and goal in s + s") == ""
    assert checked_approach("DFS", "def judge(n, trust):\n    for a, b in trust:\n"
                                   "        count[b] += 1\n") == ""
    assert checked_approach("DFS", "def dfs(v):\n    for w in g[v]:\n        dfs(w)\n") == "DFS"
    assert checked_approach("Brute force", "for i in r:\n    for j in r:\n        t += 1") \
        == "Brute force"
    sweep = "nums.sort()\nfor i in range(len(nums)):\n" + textwrap.indent(two, "    ")
    assert checked_approach("Brute force", sweep) == ""  # the zh seed's answer
    assert checked_approach("Sort, then two pointers", sweep) == "Sort, then two pointers"
    # words that only restate the complexity say nothing
    assert checked_approach("Linear time complexity", two) == ""
    assert checked_approach("We can solve this problem using a simple approach", two) == ""
    # words that retell the question would put the TODO back into the file
    assert checked_approach("The function `max_of` is implemented in C++ as its TODO comment "
                            "asks: return…", two) == ""
    assert checked_approach("Hash map of seen values", "seen = {}\nfor x in xs: seen[x] = 1") \
        == "Hash map of seen values"
