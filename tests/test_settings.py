"""The editors' settings mirror the server's: the same keys with the same defaults in VS Code's
package.json and in the Neovim config, and the server accepts every one of them."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

from vibe_ls.settings import _RULES, Settings, as_dict, parse_settings

EDITORS = Path(__file__).resolve().parent.parent / "editors"


def test_vscode_settings_mirror_the_server() -> None:
    manifest = json.loads((EDITORS / "vscode" / "package.json").read_text())
    properties = manifest["contributes"]["configuration"]["properties"]
    client_only = {"serverPath", "serverArgs"}  # how the extension starts the server
    declared = {k.removeprefix("vibeLs."): v["default"] for k, v in properties.items()
                if k.startswith("vibeLs.") and k.removeprefix("vibeLs.") not in client_only}
    defaults = as_dict(Settings())
    assert set(declared) == set(defaults)
    for key, value in declared.items():
        assert value == defaults[key], key


def test_neovim_settings_mirror_the_server() -> None:
    lua = (EDITORS / "nvim" / "lsp" / "vibe_ls.lua").read_text()
    block = lua.split("vibeLs = {", 1)[1].split("\n  },", 1)[0]
    keys = set(re.findall(r"^\s{4}(\w+) = ", block, re.MULTILINE))
    assert keys == set(as_dict(Settings()))


def test_every_setting_has_a_rule_and_round_trips() -> None:
    assert {f.name for f in fields(Settings)} == set(_RULES)
    settings, warnings = parse_settings(as_dict(Settings()))
    assert settings == Settings() and warnings == []
    settings, warnings = parse_settings({"vibeLs": {"verifyBudget": -1, "candidates": 5}})
    assert settings.verify_budget == 0 and settings.candidates == 5
    assert len(warnings) == 1 and "verifyBudget" in warnings[0]
