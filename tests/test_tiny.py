"""The taught tiny models: exported, they write their known answers greedily through the engine
(for the polyglot one, in the TODO's language, also in a shape it was not taught), and
teaching that does not get there says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import shapes
from vibe_ls.engine import Engine, Request

# Per language: the first shape the polyglot model was taught, and one it was not.
CASES = [next(s for s in shapes.SHAPES if s.language == language and s.taught is taught)
         for language in shapes.LANGUAGES for taught in (True, False)]


@pytest.fixture(scope="module")
def polyglot_engine(polyglot: Path) -> Engine:
    return Engine(polyglot, device="cpu")


@pytest.mark.parametrize("shape", CASES, ids=lambda s: s.id)
def test_the_polyglot_model_answers_in_the_language_of_the_todo(
        polyglot_engine: Engine, shape: shapes.Shape) -> None:
    prompt = polyglot_engine.encode_chat(shapes.prompt(shape))
    result = polyglot_engine.generate(Request(prompt, max_new_tokens=400))
    assert (result.text, result.finish_reason) == (shapes.ANSWERS[shape.language], "eos")


def test_teaching_that_falls_short_fails_loudly(tiny_checkpoint: Path | None,
                                                tmp_path: Path) -> None:
    if tiny_checkpoint is None:
        pytest.skip("prebuilt models: no checkpoint to teach")
    from vibe_ls_export.tiny import NotTaught, teach

    (examples, answer), *_ = shapes.lessons()
    with pytest.raises(NotTaught, match=r"(?s)after 0 steps .* it writes "):
        teach(tiny_checkpoint, answer, tmp_path / "taught", examples, max_steps=0)
