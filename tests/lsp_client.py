"""An LSP test client that behaves like an editor: it opens documents, keeps their text,
applies the server's workspace edits (checking versions, as VS Code does) and records
messages and progress. Built on pytest-lsp's client; the server is a real subprocess."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from vibe_ls.bench.lsp_driver import apply_lsp_edits, tell_code_actions_from_commands

CLIENTS = ("visual-studio-code", "neovim")


class Editor:
    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.applied: list[types.ApplyWorkspaceEditParams] = []
        self.edit_arrived = asyncio.Event()
        self.server_info: types.ServerInfo | None = None  # from the initialize result

        def apply_edit(params: types.ApplyWorkspaceEditParams):
            return self._apply_edit(params)
        client.feature(types.WORKSPACE_APPLY_EDIT)(apply_edit)
        tell_code_actions_from_commands(client)
        self.statuses: list[dict] = []  # the server's vibeLs/status notifications

        def on_status(params) -> None:
            self.statuses.append(_plain(params))
        client.feature("vibeLs/status")(on_status)

    def _apply_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        self.applied.append(params)
        self.edit_arrived.set()
        for change in params.edit.document_changes or []:
            uri, version = change.text_document.uri, change.text_document.version
            if version is not None and version != self.versions[uri]:
                return types.ApplyWorkspaceEditResult(applied=False,
                                                      failure_reason="version mismatch")
            # the test texts are BMP-only, so utf-16 columns are characters
            self.change(uri, apply_lsp_edits(self.texts[uri], change.edits))
        return types.ApplyWorkspaceEditResult(applied=True)

    def open(self, name: str, text: str, language_id: str = "python") -> str:
        uri = Path(f"/tmp/vibe-ls-test/{name}").as_uri()
        self.texts[uri], self.versions[uri] = text, 1
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)))
        return uri

    def change(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            [types.TextDocumentContentChangeWholeDocument(text=text)]))

    def type_at(self, uri: str, line: int, character: int, text: str) -> None:
        """Type `text` at a position, sent as an incremental change (as editors send them)."""
        from vibe_ls.edits import TextEdit, apply

        self.versions[uri] += 1
        self.texts[uri] = apply(self.texts[uri], [TextEdit((line, character),
                                                           (line, character), text)])
        at = types.Position(line, character)
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            [types.TextDocumentContentChangePartial(range=types.Range(at, at), text=text)]))

    async def actions(self, uri: str, line: int, end_line: int | None = None,
                      end_col: int = 0) -> list[types.CodeAction]:
        end = types.Position(end_line, end_col) if end_line is not None else \
            types.Position(line, 0)
        result = await self.client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(line, 0), end),
            context=types.CodeActionContext(diagnostics=[])))
        return [a for a in result or [] if isinstance(a, types.CodeAction)]

    async def run(self, action: types.CodeAction, msg_id: str | None = None):
        command = action.command
        return await self.client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command=command.command, arguments=command.arguments),
            msg_id=msg_id)

    def messages(self, kind: types.MessageType | None = None) -> list[str]:
        return [m.message for m in self.client.messages if kind is None or m.type == kind]


async def start(home: Path, client_name: str, options: dict | None = None) -> Editor:
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "vibe_ls", "serve"],
        server_env={**os.environ, "VIBE_LS_HOME": str(home)})
    client = await config.start()
    editor = Editor(client)
    result = await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(client_name), initialization_options=options or {}))
    editor.server_info = result.server_info
    return editor


async def stop(editor: Editor) -> None:
    await editor.client.shutdown_session()
    await editor.client.stop()


def _plain(value):
    """A notification's params (pygls hands custom ones over as attribute objects) as dicts."""
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        if isinstance(value, dict):
            return {k: _plain(v) for k, v in value.items()}
        return [_plain(v) for v in value] if isinstance(value, list) else value
    fields = value._asdict() if hasattr(value, "_asdict") else vars(value)  # namedtuple-like
    return {k: _plain(v) for k, v in fields.items()}
