"""LoRA adapters end to end on the tiny model: `vibe-ls tune` trains two adapters that make
the taught model write other implementations of its TODO; the server, over LSP, gives each
workspace folder its own adapter while the base model's answer stays where none is set; an
adapter's logits through onnxruntime match peft's in PyTorch; missing, corrupt and
wrong-base adapters are said and the base model answers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lsprotocol import types

from tests.conftest import run_cli
from tests.lsp_client import Editor, stop
from tests.test_server import ANSWER, SOURCE, TODO_LINE, _example_prompts, implement_action

pytest.importorskip("peft")

# The function each adapter learns to write (`vibe-ls tune` makes the TODO from the comment
# leading its body: the stub is exactly tests/test_server.py's SOURCE).
BODIES = {"one": "return sum(sorted(nums)[:3])", "two": "return min(nums) * 3 + target"}
BASE_LINE = "lo, hi = i + 1, len(nums) - 1"  # in the taught model's own answer
# One example, learned by heart on the tiny model: a high rate, many epochs, no dropout
# (with the default 0.05 the held-out loss stalled near 0.7 and the answer came out garbled).
TUNE_ARGS = ("--lr", "2e-2", "--epochs", "120", "--dropout", "0")


def solved(body: str) -> str:
    return SOURCE.replace("    # TODO: find three numbers whose sum is closest to target\n"
                          "    pass\n",
                          f"    # find three numbers whose sum is closest to target\n"
                          f"    {body}\n")


@pytest.fixture(scope="module")
def adapter_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """$VIBE_LS_HOME with the taught model, the random one (another base), the adapters
    "one" and "two" tuned for the taught model, and the taught model's checkpoint."""
    from vibe_ls_export.pipeline import export_model
    from vibe_ls_export.tiny import build_checkpoint, teach_exported

    root = tmp_path_factory.mktemp("adapters")
    home, checkpoint = root / "home", build_checkpoint(root / "checkpoint")
    teach_exported(checkpoint, [(_example_prompts(), ANSWER)], home / "models" / "taught",
                   root / "taught")
    export_model(str(checkpoint), home / "models" / "random", precision="fp32",
                 progress=lambda _: None)
    tunes = []
    for name, body in BODIES.items():  # both at once: minutes each on a busy machine
        (root / f"data-{name}").mkdir()
        (root / f"data-{name}" / "solution.py").write_text(solved(body))
        tunes.append(subprocess.Popen(
            [sys.executable, "-m", "vibe_ls", "tune", str(root / f"data-{name}"), "--model",
             "taught", "--name", name, *TUNE_ARGS], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env={**os.environ, "VIBE_LS_HOME": str(home)}))
    for tune in tunes:
        _, err = tune.communicate(timeout=3600)
        assert tune.returncode == 0, err[-3000:]
        assert "held-out loss" in err and "parity with peft" in err, err[-3000:]
    return home


def adapter_dir(home: Path, name: str) -> Path:
    return home / "adapters" / "taught" / name


def test_tune_defaults_are_the_recommended_lora() -> None:
    from vibe_ls.cli import build_parser

    args = build_parser().parse_args(["tune", "data.jsonl", "--name", "mine"])
    assert (args.r, args.alpha, args.dropout, args.targets) == (8, 16.0, 0.05, "q_proj,v_proj")


def test_tune_writes_a_verified_adapter_with_its_losses(adapter_home: Path) -> None:
    manifest = json.loads((adapter_dir(adapter_home, "one") / "adapter.json").read_text())
    assert (manifest["r"], manifest["alpha"], manifest["dropout"]) == (8, 16.0, 0.0)
    assert manifest["targets"] == ["q_proj", "v_proj"] and manifest["base_model"] == "taught"
    assert manifest["data_size"] == 1 and len(manifest["data_hash"]) == 16
    assert manifest["val_loss_after"] < manifest["val_loss_before"] / 4
    assert set(manifest["files"]) == {"adapter.onnx_adapter", "adapter_config.json",
                                      "adapter_model.safetensors"}
    assert manifest["parity"]["max_abs_logit_diff"] < 1e-3
    listed = run_cli("adapter", "list", env={"VIBE_LS_HOME": str(adapter_home)})
    assert "taught/one: LoRA r=8 alpha=16 on q_proj,v_proj" in listed.stdout, listed.stdout


def test_onnxruntime_with_the_adapter_matches_peft(adapter_home: Path) -> None:
    """Logits of the exported model with the adapter fed vs peft's model in PyTorch, on a
    prompt it was not trained on and on its own prompt."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from vibe_ls.engine import Engine

    engine = Engine(adapter_home / "models" / "taught", device="cpu")
    checkpoint = engine.manifest.source
    peft = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(checkpoint, dtype="float32"),
        adapter_dir(adapter_home, "one")).eval()
    engine.use_adapter(adapter_dir(adapter_home, "one"))
    for messages in (_example_prompts()[0], [{"role": "user", "content": "def add(a, b):"}]):
        ids = engine.encode_chat(messages)
        ours, _ = engine.decoder.forward(ids, engine.decoder.empty_cache())
        with torch.no_grad():
            theirs = peft(torch.tensor([ids])).logits[0].numpy()
        diff = float(np.abs(ours - theirs).max())
        print(f"max |Δlogit| ORT+adapter vs peft (fp32, {len(ids)} tokens): {diff:.2e}")
        assert diff < 1e-3
        assert float(np.abs(ours - theirs).max()) < float(np.abs(theirs).max()) * 1e-3
    engine.use_adapter(None)  # off again: the base model's logits, exactly
    base = AutoModelForCausalLM.from_pretrained(checkpoint, dtype="float32").eval()
    ours, _ = engine.decoder.forward(ids, engine.decoder.empty_cache())
    with torch.no_grad():
        assert float(np.abs(ours - base(torch.tensor([ids])).logits[0].numpy()).max()) < 1e-3


@pytest.fixture(scope="module")
def folder_adapters(adapter_home: Path) -> dict[str, str]:
    """The `adapter` setting of each folder: real ones, and three that cannot be used."""
    home = adapter_home
    corrupt = home / "broken" / "corrupt"
    shutil.copytree(adapter_dir(home, "one"), corrupt)
    data = bytearray((corrupt / "adapter.onnx_adapter").read_bytes())
    data[-8] ^= 0xFF
    (corrupt / "adapter.onnx_adapter").write_bytes(bytes(data))
    proc = run_cli("adapter", "import", str(adapter_dir(home, "one")), "--model", "random",
                   "--name", "for-random", env={"VIBE_LS_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    wrong = home / "adapters" / "random" / "for-random"  # made for another base model
    return {"one": "one", "two": "two", "plain": "", "missing": "no-such-adapter",
            "corrupt": str(corrupt), "wrong": str(wrong)}


async def _start_with_folders(home: Path, folders: dict[str, str], client_name: str,
                              root: Path) -> Editor:
    """The server over LSP with one workspace folder per entry, each answering
    workspace/configuration (by scopeUri) with its own `adapter` setting."""
    from pytest_lsp import ClientServerConfig, client_capabilities

    config = ClientServerConfig(server_command=[sys.executable, "-m", "vibe_ls", "serve"],
                                server_env={**os.environ, "VIBE_LS_HOME": str(home)})
    client = await config.start()
    editor = Editor(client)
    by_uri = {(root / name).as_uri(): adapter for name, adapter in folders.items()}
    common = {"model": "taught", "device": "cpu", "verify": False}
    client.set_configuration({"vibeLs": common})  # answered by the longest scope prefix
    for uri, adapter in by_uri.items():
        client.set_configuration({"vibeLs": {**common, "adapter": adapter}}, scope_uri=uri)
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(client_name), initialization_options=common,
        workspace_folders=[types.WorkspaceFolder(uri=uri, name=uri.rsplit("/", 1)[-1])
                           for uri in by_uri]))
    return editor


@pytest.mark.parametrize("client_name", ["visual-studio-code", "neovim"])
async def test_each_folder_gets_its_adapter_and_broken_ones_fall_back(
        adapter_home: Path, folder_adapters: dict[str, str], client_name: str) -> None:
    root = Path("/tmp/vibe-ls-test")
    editor = await _start_with_folders(adapter_home, folder_adapters, client_name, root)
    try:
        # in turns, so that each switch is to another adapter (or to none)
        turns = ("one", "plain", "two", "one", "missing", "corrupt", "wrong", "two")
        for turn, name in enumerate(turns):
            # solution.py (the prompt names the file) in a folder of its own each turn
            uri = editor.open(f"{name}/{client_name}-{turn}/solution.py", SOURCE)
            before = len(editor.messages(types.MessageType.Error))
            result = await editor.run(implement_action(await editor.actions(uri, TODO_LINE)))
            assert result["applied"] is True, (name, result)
            text = editor.texts[uri]
            expected = BODIES.get(name, BASE_LINE)
            assert expected in text, (name, text)
            errors = editor.messages(types.MessageType.Error)[before:]
            if name in BODIES:
                assert f"adapter {name}" in result["summary"], result["summary"]
                assert not errors
            elif name == "plain":
                assert "adapter" not in result["summary"] and not errors
            else:  # said once per action, and the base model answered
                assert len(errors) == 1 and "is not used, the base model is" in errors[0]
                hint = {"missing": "is not installed", "corrupt": "checksum mismatch",
                        "wrong": "was made for random"}[name]
                assert hint in errors[0], errors[0]
        status = await editor.client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(command="vibe-ls.status"))
        assert status["folderAdapters"][(root / "two").as_uri()] == "two"
        # the same, pushed once the settings were pulled (VS Code's status bar shows it)
        assert editor.statuses, "no vibeLs/status notification"
        pushed = editor.statuses[-1]
        # (the test client's generic decoding renames keys that are not identifiers)
        assert list(pushed["folderAdapters"].values()) == \
            list(status["folderAdapters"].values()), pushed
        assert pushed["model"] == status["model"] and pushed["device"] == status["device"]
    finally:
        await stop(editor)


def test_neovim_gives_its_workspace_folder_the_adapter_of_adapters_by_folder(
        adapter_home: Path, tmp_path: Path) -> None:
    """The shipped Neovim config, with `adaptersByFolder` as the README shows it: the
    project's folder gets adapter "one", and the Implement message names it."""
    from tests.test_nvim import run_nvim

    settings = {"vibeLs": {"model": "taught", "device": "cpu", "verify": False,
                           "adaptersByFolder": {str(tmp_path / "project"): "one"}}}
    outcome, report = run_nvim(tmp_path, adapter_home / "models" / "taught", "implement",
                               SOURCE, line=TODO_LINE, col=6, settings=settings,
                               file_name="solution.py", project=True)
    text = (tmp_path / "project" / "solution.py").read_text()
    assert outcome["changed"] and BODIES["one"] in text, report
    assert any("adapter one" in n for n in outcome["notes"]), report


def test_setup_adds_lora_inputs_to_a_format_4_model(adapter_home: Path, tmp_path: Path) -> None:
    """A model built before format 5 is upgraded in place (the graph only), verifies, and
    answers exactly as before; then adapters can be fed to it."""
    from vibe_ls.bench.adapters import without_lora
    from vibe_ls.engine import Engine
    from vibe_ls.install import installed_ok
    from vibe_ls.manifest import hash_files, read_manifest, write_manifest

    target = tmp_path / "taught"
    shutil.copytree(adapter_home / "models" / "taught", target)
    ids = list(range(5, 40))
    engine = Engine(target, device="cpu")
    before, _ = engine.decoder.forward(ids, engine.decoder.empty_cache())
    without_lora(target, target / "model.onnx")  # the graph as format 4 wrote it
    manifest = read_manifest(target)
    manifest.format, manifest.files = 4, hash_files(target)
    write_manifest(target, manifest)
    assert not Engine(target, device="cpu").decoder.lora_inputs
    messages: list[str] = []
    assert installed_ok(target, "fp32", messages.append)
    assert any("LoRA inputs on 4 projections" in m for m in messages), messages
    engine = Engine(target, device="cpu")  # checksums verified on load
    assert read_manifest(target).format == 5 and len(engine.decoder.lora_inputs) == 8
    after, _ = engine.decoder.forward(ids, engine.decoder.empty_cache())
    assert np.array_equal(before, after)


def test_each_installed_export_of_a_model_keeps_its_own_adapters(
        adapter_home: Path, tmp_path: Path) -> None:
    """Two installs of one model (say int4 and fp32: one manifest name) have their adapters
    apart: importing "one" for the second neither replaces nor touches the first's."""
    home = tmp_path / "home"
    shutil.copytree(adapter_home, home)
    shutil.copytree(home / "models" / "taught", home / "models" / "taught-copy")
    first = adapter_dir(home, "one") / "adapter.json"
    before = first.read_bytes()
    proc = run_cli("adapter", "import", str(adapter_dir(home, "one")), "--model", "taught-copy",
                   "--name", "one", env={"VIBE_LS_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    copy = home / "adapters" / "taught-copy" / "one"
    assert (copy / "adapter.onnx_adapter").is_file(), proc.stdout + proc.stderr
    assert first.read_bytes() == before
    listed = run_cli("adapter", "list", env={"VIBE_LS_HOME": str(home)}).stdout.splitlines()
    assert any(line.startswith("taught-copy/one") for line in listed), listed
    assert any(line.startswith("taught/one") for line in listed), listed


def test_export_merges_a_peft_adapter(adapter_home: Path, tmp_path: Path) -> None:
    """`vibe-ls export SOURCE --adapter PEFT_DIR`: one model with the adapter in its weights,
    whose logits are those of the base model with the adapter fed."""
    from vibe_ls.engine import Engine

    engine = Engine(adapter_home / "models" / "taught", device="cpu")
    proc = run_cli("export", engine.manifest.source, "--out", str(tmp_path / "merged"),
                   "--precision", "fp32", "--adapter", str(adapter_dir(adapter_home, "one")))
    assert proc.returncode == 0, proc.stderr[-3000:]
    merged = Engine(tmp_path / "merged", device="cpu")
    assert "+ LoRA" in merged.manifest.source and merged.manifest.parity["passed"]
    engine.use_adapter(adapter_dir(adapter_home, "one"))
    ids = engine.encode_chat(_example_prompts()[0])
    ours, _ = engine.decoder.forward(ids, engine.decoder.empty_cache())
    theirs, _ = merged.decoder.forward(ids, merged.decoder.empty_cache())
    assert float(np.abs(ours - theirs).max()) < 1e-3


def test_jsonl_examples_and_a_clear_error_for_a_bad_line(tmp_path: Path) -> None:
    from vibe_ls_export.examples import load_examples

    from vibe_ls.errors import VibeError

    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"instruction": "Reverse a list.", "input": "[1, 2]",
                                "output": "[2, 1]"}) + "\n\n"
                    + json.dumps({"instruction": "Say hi.", "output": "hi"}) + "\n")
    (first, answer), (second, _) = load_examples(data, len)
    assert first[-1]["content"] == "Reverse a list.\n\n[1, 2]" and answer == "[2, 1]"
    assert second[-1] == {"role": "user", "content": "Say hi."}
    data.write_text('{"instruction": "no output"}\n')
    with pytest.raises(VibeError, match=r"train\.jsonl:1 is not an instruction/input/output"):
        load_examples(data, len)


def test_import_says_what_does_not_fit() -> None:
    """peft tensors against the LoRA inputs a base model takes (hidden 64, kv 32)."""
    from vibe_ls_export.lora import peft_to_inputs

    from vibe_ls.errors import VibeError

    graph = {"model.layers.0.self_attn.q_proj.lora_A.weight": [64, "lora_rank"],
             "model.layers.0.self_attn.q_proj.lora_B.weight": ["lora_rank", 64]}
    stem = "base_model.model.model.layers.0.self_attn"
    config = {"r": 4, "lora_alpha": 8}
    fits = {f"{stem}.q_proj.lora_A.weight": np.ones((4, 64), np.float32),
            f"{stem}.q_proj.lora_B.weight": np.ones((64, 4), np.float32)}
    inputs = peft_to_inputs(config, fits, graph)
    assert inputs["model.layers.0.self_attn.q_proj.lora_A.weight"].shape == (64, 4)
    assert float(inputs["model.layers.0.self_attn.q_proj.lora_B.weight"][0, 0]) == 2.0
    with pytest.raises(VibeError, match=r"changes model\.layers\.0\.self_attn\.k_proj, "
                                        r"which the base model takes no LoRA input for"):
        peft_to_inputs(config, {f"{stem}.k_proj.lora_A.weight": np.ones((4, 64))}, graph)
    wrong_size = {**fits, f"{stem}.q_proj.lora_A.weight": np.ones((4, 896), np.float32)}
    with pytest.raises(VibeError, match="expects 64 features there with rank 4"):
        peft_to_inputs(config, wrong_size, graph)
    with pytest.raises(VibeError, match="expects 64 features there with rank 8"):
        peft_to_inputs({"r": 8}, fits, graph)


def test_tune_loss_on_answer_tokens_is_transformers_loss() -> None:
    """`vibe-ls tune` computes logits only from the first answer token on: the loss is the
    one transformers computes over all logits, also in a batch where a row was cut before
    its answer (it has none)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from vibe_ls_export.tune import _answer_loss, _batch

    config = AutoConfig.for_model("qwen2", vocab_size=300, hidden_size=32, intermediate_size=64,
                                  num_hidden_layers=1, num_attention_heads=2,
                                  num_key_value_heads=1)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    batches = [[(list(range(1, 30)), [-100] * 20 + list(range(21, 30))),
                (list(range(5, 50)), [-100] * 12 + list(range(17, 50)))],
               [(list(range(1, 30)), [-100] * 29),
                (list(range(5, 50)), [-100] * 44 + [49])]]
    for rows in batches:
        ids, mask, labels = _batch(rows, 0)
        with torch.no_grad():
            expected = float(model(input_ids=ids, attention_mask=mask, labels=labels).loss)
            summed, n = _answer_loss(model, ids, mask, labels)
        assert n == int((labels[:, 1:] != -100).sum())
        assert abs(float(summed) / n - expected) < 1e-5
