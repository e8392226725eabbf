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
    adapter = "", -- a LoRA adapter of the model (`vibe-ls adapter list`), or "" for none
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

-- A LoRA adapter per project: { ["/path/to/project"] = "adapter-name" }, here or as
-- settings.vibeLs.adaptersByFolder in vim.lsp.config("vibe_ls", {...}). The server asks for
-- each workspace folder's settings (workspace/configuration with its scopeUri); a folder listed
-- gets its adapter, the others the `adapter` above.
local adapters_by_folder = {}

local function folder_adapter(by_folder, folder)
  for path, adapter in pairs(by_folder or {}) do
    if vim.fs.normalize(path) == vim.fs.normalize(folder) then
      return adapter
    end
  end
  return nil
end

local function configuration(_, params, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  local base = (client and client.settings.vibeLs) or settings.vibeLs
  local result = {}
  for _, item in ipairs(params.items) do
    local scoped = vim.deepcopy(base)
    scoped.adaptersByFolder = nil -- the client's own key: the server reads `adapter`
    local folder = item.scopeUri and vim.uri_to_fname(item.scopeUri)
    local adapter = folder
      and (folder_adapter(base.adaptersByFolder, folder) or folder_adapter(adapters_by_folder, folder))
    if adapter then
      scoped.adapter = adapter
    end
    table.insert(result, scoped)
  end
  return result
end

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
  handlers = { ["workspace/configuration"] = configuration },
  -- ... and sent with initialize, so the first request already uses them.
  init_options = settings,
}
