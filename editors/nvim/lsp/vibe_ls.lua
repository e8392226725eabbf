-- vibe-ls for Neovim >= 0.11: an offline coding assistant (a local model on onnxruntime).
--
-- Put this directory on 'runtimepath' (or copy this file to ~/.config/nvim/lsp/vibe_ls.lua)
-- and call vim.lsp.enable("vibe_ls"). Override anything with vim.lsp.config("vibe_ls", {...}).
-- See editors/nvim/README.md.

-- The server's defaults (vibe_ls/settings.py). Every key is optional; a bad value falls back
-- to its default and the server shows a warning.
local settings = {
  vibeLs = {
    model = "qwen2.5-coder-0.5b", -- an installed model name (`vibe-ls setup`) or a model directory
    device = "auto", -- "auto" | "cuda" | "cpu"
    maxNewTokens = 768, -- 16..8192: the answer's token budget
    reasoningBudget = 384, -- 0..8192: tokens a reasoning model may think before answering
    systemPrompt = "", -- empty: the built-in prompt
    todoMarker = "TODO", -- the word that makes a comment an "Implement TODO" code action
    hover = true, -- explain the function under the cursor on hover (K)
    verify = true, -- run Python implementations in a sandbox (examples, reference, timing)
    candidates = 0, -- most candidates to try when one fails its checks (0: by device)
    verifyBudget = 0, -- seconds verification may add (0: twice the first answer's time)
    languages = { "python", "c", "cpp", "java", "javascript", "typescript", "tsx", "go", "rust" },
  },
}

---@type vim.lsp.Config
return {
  cmd = { "vibe-ls", "serve" },
  filetypes = {
    "python",
    "c",
    "cpp",
    "java",
    "javascript",
    "javascriptreact",
    "typescript",
    "typescriptreact",
    "go",
    "rust",
  },
  root_markers = {
    ".git",
    "pyproject.toml",
    "setup.py",
    "package.json",
    "go.mod",
    "Cargo.toml",
    "compile_commands.json",
    "pom.xml",
    "build.gradle",
  },
  -- Answered to the server's workspace/configuration request (section "vibeLs") ...
  settings = settings,
  -- ... and sent with initialize, so the first request already uses them.
  init_options = settings,
}
