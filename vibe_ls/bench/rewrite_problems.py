"""The rewrite benchmark's functions: slow but correct, each with hidden tests.

Each function is what a user might select and ask to rewrite (a membership test on a list,
sorting inside a loop, recursion without a memo, building a string or list by `+` in a
loop...). Its hidden tests are statements run against the file as the action left it; the
server never sees them. They pin the original's behaviour on the edges a rewrite tends to
break: empty input, ties, negative numbers, the order of the result, arguments left as they
were. Written for this benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    name: str  # the function's name
    source: str  # the file the user has open: the function alone
    tests: tuple[str, ...]  # one statement each (`;` joins a few), run against the result
    slow: str  # why the original is slow, for the report


def _problem(name: str, slow: str, source: str, tests: str) -> Problem:
    lines = tuple(t.strip() for t in tests.strip().split("\n") if t.strip())
    return Problem(name, source.strip("\n") + "\n", lines, slow)


PROBLEMS: tuple[Problem, ...] = (
    _problem("dedupe", "membership test on a list", '''
def dedupe(xs: list[int]) -> list[int]:
    """The items of xs without repeats, in the order they first appear."""
    out = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out
''', '''
assert dedupe([]) == []
assert dedupe([3, 1, 3, 2, 1]) == [3, 1, 2]
assert dedupe([-1, -1, 0]) == [-1, 0]
assert dedupe([5, 5, 5, 5]) == [5]
assert dedupe(list(range(300)) * 2) == list(range(300))
xs = [2, 2, 1]; dedupe(xs); assert xs == [2, 2, 1]
'''),
    _problem("common_items", "membership test on a list", '''
def common_items(a: list[int], b: list[int]) -> list[int]:
    """The items of a that also occur in b, in a's order, repeats kept."""
    result = []
    for x in a:
        if x in b:
            result.append(x)
    return result
''', '''
assert common_items([], [1, 2]) == []
assert common_items([1, 2], []) == []
assert common_items([3, 1, 3, 2], [3, 2]) == [3, 3, 2]
assert common_items([-2, 0, 7], [7, -2]) == [-2, 7]
assert common_items([1, 1, 1], [1]) == [1, 1, 1]
'''),
    _problem("has_duplicate", "every pair compared", '''
def has_duplicate(xs: list[int]) -> bool:
    """Whether some value occurs twice in xs."""
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            if xs[i] == xs[j]:
                return True
    return False
''', '''
assert has_duplicate([]) is False
assert has_duplicate([7]) is False
assert has_duplicate([1, 2, 3]) is False
assert has_duplicate([1, 2, 1]) is True
assert has_duplicate([-4, 4, -4]) is True
assert has_duplicate(list(range(500))) is False
'''),
    _problem("count_distinct", "membership test on a list", '''
def count_distinct(xs: list[int]) -> int:
    """How many different values xs holds."""
    seen = []
    for x in xs:
        if x not in seen:
            seen.append(x)
    return len(seen)
''', '''
assert count_distinct([]) == 0
assert count_distinct([4, 4, 4]) == 1
assert count_distinct([1, -1, 0, 1]) == 3
assert count_distinct(list(range(400)) + list(range(200))) == 400
'''),
    _problem("pair_sum_exists", "every pair compared", '''
def pair_sum_exists(xs: list[int], target: int) -> bool:
    """Whether two items at different positions of xs add up to target."""
    for i in range(len(xs)):
        for j in range(len(xs)):
            if i != j and xs[i] + xs[j] == target:
                return True
    return False
''', '''
assert pair_sum_exists([], 0) is False
assert pair_sum_exists([5], 10) is False
assert pair_sum_exists([5, 5], 10) is True
assert pair_sum_exists([1, 2, 3], 6) is False
assert pair_sum_exists([-3, 8, 1], 5) is True
assert pair_sum_exists([0, 0], 0) is True
'''),
    _problem("count_pairs_with_sum", "every pair compared", '''
def count_pairs_with_sum(xs: list[int], target: int) -> int:
    """How many pairs of positions i < j have xs[i] + xs[j] == target."""
    count = 0
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            if xs[i] + xs[j] == target:
                count += 1
    return count
''', '''
assert count_pairs_with_sum([], 3) == 0
assert count_pairs_with_sum([1, 2, 3, 4], 5) == 2
assert count_pairs_with_sum([2, 2, 2], 4) == 3
assert count_pairs_with_sum([-1, 1, 0, 0], 0) == 2
assert count_pairs_with_sum([7], 14) == 0
'''),
    _problem("fib", "recursion without a memo", '''
def fib(n: int) -> int:
    """The n-th Fibonacci number (fib(0) == 0, fib(1) == 1); n itself below 2."""
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
''', '''
assert fib(0) == 0
assert fib(1) == 1
assert fib(2) == 1
assert fib(10) == 55
assert fib(20) == 6765
assert fib(-3) == -3
'''),
    _problem("climb_stairs", "recursion without a memo", '''
def climb_stairs(n: int) -> int:
    """In how many ways n stairs can be climbed one or two at a time."""
    if n <= 1:
        return 1
    return climb_stairs(n - 1) + climb_stairs(n - 2)
''', '''
assert climb_stairs(0) == 1
assert climb_stairs(1) == 1
assert climb_stairs(2) == 2
assert climb_stairs(5) == 8
assert climb_stairs(20) == 10946
assert climb_stairs(-2) == 1
'''),
    _problem("binomial", "recursion without a memo", '''
def binomial(n: int, k: int) -> int:
    """n choose k by Pascal's rule; 0 when k < 0 or k > n."""
    if k < 0 or k > n:
        return 0
    if k == 0 or k == n:
        return 1
    return binomial(n - 1, k - 1) + binomial(n - 1, k)
''', '''
assert binomial(0, 0) == 1
assert binomial(5, 2) == 10
assert binomial(5, -1) == 0
assert binomial(3, 4) == 0
assert binomial(16, 8) == 12870
assert binomial(-1, 0) == 0
'''),
    _problem("subset_sum", "every subset tried", '''
def subset_sum(xs: list[int], target: int) -> bool:
    """Whether some subset of xs (the empty one too) adds up to target."""
    if not xs:
        return target == 0
    return subset_sum(xs[1:], target - xs[0]) or subset_sum(xs[1:], target)
''', '''
assert subset_sum([], 0) is True
assert subset_sum([], 1) is False
assert subset_sum([3, 34, 4, 12, 5, 2], 9) is True
assert subset_sum([3, 34, 4, 12, 5, 2], 30) is False
assert subset_sum([-2, 5], 3) is True
assert subset_sum([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048], 4095) is True
'''),
    _problem("edit_distance", "recursion without a memo", '''
def edit_distance(a: str, b: str) -> int:
    """The fewest inserts, deletes and replacements of one character that turn a into b."""
    if not a:
        return len(b)
    if not b:
        return len(a)
    if a[0] == b[0]:
        return edit_distance(a[1:], b[1:])
    return 1 + min(edit_distance(a[1:], b), edit_distance(a, b[1:]),
                   edit_distance(a[1:], b[1:]))
''', '''
assert edit_distance("", "") == 0
assert edit_distance("", "abc") == 3
assert edit_distance("abc", "") == 3
assert edit_distance("kitten", "sitting") == 3
assert edit_distance("flaw", "lawn") == 2
assert edit_distance("same", "same") == 0
'''),
    _problem("lcs_length", "recursion without a memo", '''
def lcs_length(a: str, b: str) -> int:
    """The length of the longest common subsequence of a and b."""
    if not a or not b:
        return 0
    if a[-1] == b[-1]:
        return 1 + lcs_length(a[:-1], b[:-1])
    return max(lcs_length(a[:-1], b), lcs_length(a, b[:-1]))
''', '''
assert lcs_length("", "abc") == 0
assert lcs_length("abcde", "ace") == 3
assert lcs_length("abc", "def") == 0
assert lcs_length("aaaa", "aa") == 2
assert lcs_length("AGGTAB", "GXTXAYB") == 4
'''),
    _problem("join_words", "a string built by + in a loop", '''
def join_words(words: list[str], sep: str) -> str:
    """The words with sep between each two."""
    out = ""
    for i, word in enumerate(words):
        if i > 0:
            out = out + sep
        out = out + word
    return out
''', '''
assert join_words([], ",") == ""
assert join_words(["a"], ",") == "a"
assert join_words(["a", "b", "c"], ", ") == "a, b, c"
assert join_words(["", ""], "-") == "-"
assert join_words(["x", "y"], "") == "xy"
'''),
    _problem("reverse_text", "a string built by + in a loop", '''
def reverse_text(s: str) -> str:
    """s backwards."""
    out = ""
    for ch in s:
        out = ch + out
    return out
''', '''
assert reverse_text("") == ""
assert reverse_text("a") == "a"
assert reverse_text("abc") == "cba"
assert reverse_text("ab ba!") == "!ab ba"
assert reverse_text("x" * 1000 + "y") == "y" + "x" * 1000
'''),
    _problem("run_length", "a string built by + in a loop", '''
def run_length(s: str) -> str:
    """Each run of one character as the character then the run's length: "aab" -> "a2b1"."""
    out = ""
    i = 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        out = out + s[i] + str(j - i)
        i = j
    return out
''', '''
assert run_length("") == ""
assert run_length("a") == "a1"
assert run_length("aab") == "a2b1"
assert run_length("abba") == "a1b2a1"
assert run_length("zzzzzzzzzzzz") == "z12"
'''),
    _problem("flatten", "a list built by + in a loop", '''
def flatten(rows: list[list[int]]) -> list[int]:
    """The items of every row, row after row."""
    out = []
    for row in rows:
        out = out + row
    return out
''', '''
assert flatten([]) == []
assert flatten([[], []]) == []
assert flatten([[1, 2], [3], [], [4, 5]]) == [1, 2, 3, 4, 5]
assert flatten([[-1], [-1]]) == [-1, -1]
rows = [[1], [2]]; flatten(rows); assert rows == [[1], [2]]
'''),
    _problem("prefix_sums", "each sum taken again from the start", '''
def prefix_sums(xs: list[int]) -> list[int]:
    """The running totals of xs: the i-th is the sum of xs[0..i]."""
    return [sum(xs[:i + 1]) for i in range(len(xs))]
''', '''
assert prefix_sums([]) == []
assert prefix_sums([5]) == [5]
assert prefix_sums([1, 2, 3]) == [1, 3, 6]
assert prefix_sums([3, -3, 3]) == [3, 0, 3]
assert prefix_sums([1] * 500) == list(range(1, 501))
'''),
    _problem("window_sums", "each window summed again", '''
def window_sums(xs: list[int], k: int) -> list[int]:
    """The sum of each run of k consecutive items of xs; [] when k < 1 or k > len(xs)."""
    if k < 1 or k > len(xs):
        return []
    return [sum(xs[i:i + k]) for i in range(len(xs) - k + 1)]
''', '''
assert window_sums([], 1) == []
assert window_sums([1, 2, 3], 0) == []
assert window_sums([1, 2, 3], 4) == []
assert window_sums([1, 2, 3], 3) == [6]
assert window_sums([1, -2, 3, 4], 2) == [-1, 1, 7]
assert window_sums([4, 5], -1) == []
'''),
    _problem("bubble_sort", "bubble sort", '''
def bubble_sort(xs: list[int]) -> list[int]:
    """A sorted copy of xs, ascending."""
    out = list(xs)
    for i in range(len(out)):
        for j in range(len(out) - 1 - i):
            if out[j] > out[j + 1]:
                out[j], out[j + 1] = out[j + 1], out[j]
    return out
''', '''
assert bubble_sort([]) == []
assert bubble_sort([2, 1]) == [1, 2]
assert bubble_sort([3, -1, 3, 0]) == [-1, 0, 3, 3]
assert bubble_sort(list(range(300, 0, -1))) == list(range(1, 301))
xs = [3, 1, 2]; bubble_sort(xs); assert xs == [3, 1, 2]
'''),
    _problem("insertion_sort_desc", "insertion sort", '''
def insertion_sort_desc(xs: list[int]) -> list[int]:
    """A copy of xs sorted from largest to smallest."""
    out = []
    for x in xs:
        i = 0
        while i < len(out) and out[i] >= x:
            i += 1
        out.insert(i, x)
    return out
''', '''
assert insertion_sort_desc([]) == []
assert insertion_sort_desc([1, 3, 2]) == [3, 2, 1]
assert insertion_sort_desc([-5, 0, -5, 9]) == [9, 0, -5, -5]
xs = [1, 2]; insertion_sort_desc(xs); assert xs == [1, 2]
'''),
    _problem("merge_sorted", "the smallest found again and again", '''
def merge_sorted(a: list[int], b: list[int]) -> list[int]:
    """All items of a and b in ascending order (a and b need not be sorted)."""
    rest = a + b
    out = []
    while rest:
        smallest = min(rest)
        rest.remove(smallest)
        out.append(smallest)
    return out
''', '''
assert merge_sorted([], []) == []
assert merge_sorted([1, 4], [2, 3]) == [1, 2, 3, 4]
assert merge_sorted([5, 1], [1]) == [1, 1, 5]
assert merge_sorted([-2], []) == [-2]
a = [2, 1]; merge_sorted(a, [0]); assert a == [2, 1]
'''),
    _problem("top_k", "sorting inside a loop", '''
def top_k(xs: list[int], k: int) -> list[int]:
    """The k largest items of xs, largest first (all of them when k >= len(xs))."""
    rest = list(xs)
    out = []
    for _ in range(k):
        if not rest:
            break
        rest = sorted(rest)
        out.append(rest.pop())
    return out
''', '''
assert top_k([], 3) == []
assert top_k([1, 2, 3], 0) == []
assert top_k([5, 1, 5, 3], 2) == [5, 5]
assert top_k([4, -1, 7], 5) == [7, 4, -1]
assert top_k([2, 9, 4], -1) == []
xs = [3, 1]; top_k(xs, 1); assert xs == [3, 1]
'''),
    _problem("prefix_medians", "sorting inside a loop", '''
def prefix_medians(xs: list[int]) -> list[float]:
    """The median of xs[:1], xs[:2], ... (the mean of the middle two for an even count)."""
    out = []
    for i in range(1, len(xs) + 1):
        ordered = sorted(xs[:i])
        mid = i // 2
        if i % 2:
            out.append(float(ordered[mid]))
        else:
            out.append((ordered[mid - 1] + ordered[mid]) / 2)
    return out
''', '''
assert prefix_medians([]) == []
assert prefix_medians([4]) == [4.0]
assert prefix_medians([1, 3]) == [1.0, 2.0]
assert prefix_medians([5, 1, 3, 2]) == [5.0, 3.0, 3.0, 2.5]
assert prefix_medians([-1, -1, -1]) == [-1.0, -1.0, -1.0]
'''),
    _problem("ranks", "every pair compared", '''
def ranks(xs: list[int]) -> list[int]:
    """For each item, how many items of xs are strictly smaller."""
    out = []
    for x in xs:
        count = 0
        for y in xs:
            if y < x:
                count += 1
        out.append(count)
    return out
''', '''
assert ranks([]) == []
assert ranks([7]) == [0]
assert ranks([3, 1, 2]) == [2, 0, 1]
assert ranks([2, 2, 1]) == [1, 1, 0]
assert ranks([-1, -5, 10, -5]) == [2, 0, 3, 0]
'''),
    _problem("count_inversions", "every pair compared", '''
def count_inversions(xs: list[int]) -> int:
    """How many pairs of positions i < j have xs[i] > xs[j]."""
    count = 0
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            if xs[i] > xs[j]:
                count += 1
    return count
''', '''
assert count_inversions([]) == 0
assert count_inversions([1, 2, 3]) == 0
assert count_inversions([3, 2, 1]) == 3
assert count_inversions([2, 2, 1]) == 2
assert count_inversions([1, -1, 0]) == 2
'''),
    _problem("primes_up_to", "trial division by every smaller number", '''
def primes_up_to(n: int) -> list[int]:
    """The primes p with 2 <= p <= n, ascending."""
    primes = []
    for p in range(2, n + 1):
        if all(p % d != 0 for d in range(2, p)):
            primes.append(p)
    return primes
''', '''
assert primes_up_to(-5) == []
assert primes_up_to(1) == []
assert primes_up_to(2) == [2]
assert primes_up_to(30) == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
assert len(primes_up_to(1000)) == 168
'''),
    _problem("is_prime", "trial division by every smaller number", '''
def is_prime(n: int) -> bool:
    """Whether n is a prime number."""
    if n < 2:
        return False
    for d in range(2, n):
        if n % d == 0:
            return False
    return True
''', '''
assert is_prime(-7) is False
assert is_prime(0) is False
assert is_prime(1) is False
assert is_prime(2) is True
assert is_prime(49) is False
assert is_prime(104729) is True
'''),
    _problem("sum_of_divisors", "every smaller number tried", '''
def sum_of_divisors(n: int) -> int:
    """The sum of the positive divisors of n (n itself included); 0 for n < 1."""
    total = 0
    for d in range(1, n + 1):
        if n % d == 0:
            total += d
    return total
''', '''
assert sum_of_divisors(0) == 0
assert sum_of_divisors(-6) == 0
assert sum_of_divisors(1) == 1
assert sum_of_divisors(12) == 28
assert sum_of_divisors(97) == 98
assert sum_of_divisors(36) == 91
'''),
    _problem("max_subarray", "every subarray summed", '''
def max_subarray(xs: list[int]) -> int:
    """The largest sum of a non-empty run of consecutive items; 0 for an empty list."""
    if not xs:
        return 0
    best = xs[0]
    for i in range(len(xs)):
        for j in range(i, len(xs)):
            best = max(best, sum(xs[i:j + 1]))
    return best
''', '''
assert max_subarray([]) == 0
assert max_subarray([-3]) == -3
assert max_subarray([-2, -1, -5]) == -1
assert max_subarray([-2, 1, -3, 4, -1, 2, 1, -5, 4]) == 6
assert max_subarray([1, 2, 3]) == 6
'''),
    _problem("count_occurrences", "list.count for every item", '''
def count_occurrences(xs: list[int]) -> dict[int, int]:
    """How many times each value occurs in xs."""
    return {x: xs.count(x) for x in xs}
''', '''
assert count_occurrences([]) == {}
assert count_occurrences([1, 1, 2]) == {1: 2, 2: 1}
assert count_occurrences([-1, 0, -1, -1]) == {-1: 3, 0: 1}
assert list(count_occurrences([3, 1, 3])) == [3, 1]
'''),
    _problem("most_frequent", "list.count for every item", '''
def most_frequent(xs: list[int]) -> int | None:
    """The value that occurs most often (the first of them to appear, on a tie); None if
    xs is empty."""
    best, best_count = None, 0
    for x in xs:
        c = xs.count(x)
        if c > best_count:
            best, best_count = x, c
    return best
''', '''
assert most_frequent([]) is None
assert most_frequent([4]) == 4
assert most_frequent([1, 2, 2, 1]) == 1
assert most_frequent([3, 5, 5, 3, 5]) == 5
assert most_frequent([-2, 7, -2]) == -2
'''),
    _problem("first_positions", "list.index for every item", '''
def first_positions(xs: list[int]) -> list[int]:
    """For each item, the position where its value first occurs in xs."""
    return [xs.index(x) for x in xs]
''', '''
assert first_positions([]) == []
assert first_positions([9]) == [0]
assert first_positions([5, 6, 5, 6, 7]) == [0, 1, 0, 1, 4]
assert first_positions([-1, -1, -1]) == [0, 0, 0]
'''),
    _problem("is_anagram", "str.count for every character", '''
def is_anagram(a: str, b: str) -> bool:
    """Whether b is a rearrangement of the characters of a."""
    if len(a) != len(b):
        return False
    for ch in a:
        if a.count(ch) != b.count(ch):
            return False
    return True
''', '''
assert is_anagram("", "") is True
assert is_anagram("listen", "silent") is True
assert is_anagram("aab", "abb") is False
assert is_anagram("ab", "abc") is False
assert is_anagram("Ab", "ab") is False
'''),
    _problem("remove_all", "list.remove in a loop", '''
def remove_all(xs: list[int], value: int) -> list[int]:
    """A copy of xs without any item equal to value, the others in order."""
    out = list(xs)
    while value in out:
        out.remove(value)
    return out
''', '''
assert remove_all([], 1) == []
assert remove_all([1, 2, 1, 3], 1) == [2, 3]
assert remove_all([4, 4], 4) == []
assert remove_all([0, -1], 5) == [0, -1]
xs = [1, 1]; remove_all(xs, 1); assert xs == [1, 1]
'''),
    _problem("longest_unique_run", "every substring checked", '''
def longest_unique_run(s: str) -> int:
    """The length of the longest run of consecutive characters of s with no repeat."""
    best = 0
    for i in range(len(s)):
        for j in range(i + 1, len(s) + 1):
            if len(set(s[i:j])) == j - i:
                best = max(best, j - i)
    return best
''', '''
assert longest_unique_run("") == 0
assert longest_unique_run("a") == 1
assert longest_unique_run("abcabcbb") == 3
assert longest_unique_run("bbbb") == 1
assert longest_unique_run("pwwkew") == 3
assert longest_unique_run("abba") == 2
'''),
    _problem("two_sum_indices", "every pair compared", '''
def two_sum_indices(nums: list[int], target: int) -> list[int]:
    """The first pair of positions [i, j], i < j, with nums[i] + nums[j] == target (the
    smallest i, then the smallest j); [] if there is none."""
    for i in range(len(nums)):
        for j in range(i + 1, len(nums)):
            if nums[i] + nums[j] == target:
                return [i, j]
    return []
''', '''
assert two_sum_indices([], 0) == []
assert two_sum_indices([2, 7, 11, 15], 9) == [0, 1]
assert two_sum_indices([2, 1, 3, 2], 4) == [0, 3]
assert two_sum_indices([3, 3], 6) == [0, 1]
assert two_sum_indices([1, 2], 7) == []
'''),
    _problem("power", "one multiplication per unit of the exponent", '''
def power(base: int, exp: int) -> int:
    """base ** exp for exp >= 0, by repeated multiplication; 1 when exp < 0."""
    result = 1
    for _ in range(exp):
        result *= base
    return result
''', '''
assert power(2, 0) == 1
assert power(2, 10) == 1024
assert power(-3, 3) == -27
assert power(0, 0) == 1
assert power(5, -2) == 1
'''),
)
