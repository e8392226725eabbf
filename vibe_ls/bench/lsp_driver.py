"""A minimal editor over LSP, for benchmarks that must go through the real server:
open a document, list code actions, run one, apply the server's edit, keep the text."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Union

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from vibe_ls.edits import TextEdit, apply


def tell_code_actions_from_commands(client: LanguageClient) -> None:
    """pygls' client-side converter reads a CodeAction whose `command` is an object as a
    Command (whose `command` is a string); editors tell them apart by that field's type."""
    converter = client.protocol._converter

    def structure(obj: dict, _type: object) -> types.Command | types.CodeAction:
        is_command = isinstance(obj.get("command"), str)
        return converter.structure(obj, types.Command if is_command else types.CodeAction)
    # lsprotocol declares the result with typing.Union, and hooks match the exact type.
    converter.register_structure_hook(Union[types.Command, types.CodeAction],  # noqa: UP007
                                      structure)


def apply_lsp_edits(text: str, lsp_edits: list[types.TextEdit]) -> str:
    """`text` after an editor applies these edits (positions taken as characters)."""
    return apply(text, [TextEdit((e.range.start.line, e.range.start.character),
                                 (e.range.end.line, e.range.end.character), e.new_text)
                        for e in lsp_edits])


class Driver:
    def __init__(self) -> None:
        self.client = LanguageClient("vibe-ls-bench", "1")
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        tell_code_actions_from_commands(self.client)

        def apply_edit(params: types.ApplyWorkspaceEditParams):
            for change in params.edit.document_changes or []:
                uri = change.text_document.uri
                self.texts[uri] = apply_lsp_edits(self.texts[uri], change.edits)
            return types.ApplyWorkspaceEditResult(applied=True)
        self.client.feature(types.WORKSPACE_APPLY_EDIT)(apply_edit)
        self.messages: list[str] = []  # what the server showed the user

        def show_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)
        self.client.feature(types.WINDOW_SHOW_MESSAGE)(show_message)

        def ignored(_params) -> None:
            """The server's log lines and status: nothing the benchmark reads."""
        self.client.feature(types.WINDOW_LOG_MESSAGE)(ignored)
        self.client.feature("vibeLs/status")(ignored)

    async def start(self, options: dict) -> None:
        await self.client.start_io(sys.executable, "-m", "vibe_ls", "serve")
        # pygls pipes the server's stderr and never reads it: once its log fills the pipe
        # (about 60 problems of a quality run), the server blocks on a log line forever.
        self._drain = asyncio.create_task(_drain(self.client._server.stderr))
        caps = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(apply_edit=True),
            window=types.WindowClientCapabilities(work_done_progress=False))
        await self.client.initialize_async(types.InitializeParams(
            capabilities=caps, initialization_options=options))
        self.client.initialized(types.InitializedParams())

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()
        self._drain.cancel()

    def open(self, path: Path, text: str, language_id: str) -> str:
        uri = path.as_uri()
        self.texts[uri], self.versions[uri] = text, 1
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)))
        return uri

    async def code_actions(self, uri: str, line: int) -> tuple[list[types.CodeAction], float]:
        """The actions on `line`, and how long the server took to list them."""
        start = time.perf_counter()
        result = await self.client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(line, 0), types.Position(line, 0)),
            context=types.CodeActionContext(diagnostics=[])))
        took = time.perf_counter() - start
        return [a for a in result or [] if isinstance(a, types.CodeAction)], took

    async def execute(self, action: types.CodeAction) -> object:
        command = action.command
        return await self.client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=command.command, arguments=command.arguments))

    async def hover(self, uri: str, line: int, column: int) -> tuple[object, float]:
        start = time.perf_counter()
        result = await self.client.text_document_hover_async(types.HoverParams(
            types.TextDocumentIdentifier(uri=uri), types.Position(line, column)))
        return result, time.perf_counter() - start


def run(coro) -> object:
    return asyncio.run(coro)


async def _drain(stream: asyncio.StreamReader | None) -> None:
    """Read and drop a stream (the server's log also goes to $VIBE_LS_HOME/vibe-ls.log)."""
    while stream is not None and await stream.read(1 << 16):
        pass
