"""The language server: LSP handlers only. Each handler fetches the document, calls the
assistant (triggers -> prompts -> engine -> postprocess -> edits) and converts the result.

Model work runs on one worker thread, so the event loop keeps answering code-action and hover
requests while a generation runs. Long work is a command with progress: cancelling the
progress or the request stops the decode loop within one token, and the edit is checked
against the document version before it is applied.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.workspace import TextDocument, Workspace

from vibe_ls import __version__, edits, triggers
from vibe_ls.assist import Assistant, Proposal, Target
from vibe_ls.edits import TextEdit
from vibe_ls.errors import VibeError
from vibe_ls.settings import SECTION, parse_settings

log = logging.getLogger(__name__)

IMPLEMENT, REWRITE, NOTE, EXPLAIN = ("vibe-ls.implement", "vibe-ls.rewrite",
                                     "vibe-ls.complexityNote", "vibe-ls.explain")
REWRITE_ANYWAY = "vibe-ls.rewriteAnyway"
STATUS = "vibe-ls.status"
# Sent when what `vibe-ls.status` returns may have changed (settings pulled or changed):
# VS Code's status bar shows the model, the device and the adapter of the active folder.
STATUS_NOTIFICATION = "vibeLs/status"
PROGRESS_EVERY_S = 0.25
# How long a hover waits for the model before it answers with what is known (editors drop a
# hover when the mouse moves; the explanation then goes on in the background).
HOVER_WAIT_S = 0.8
CONFIGURATION_WAIT_S = 5.0


_LSP_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class LspDocument(TextDocument):
    """A document split into lines where the editor splits them: at "\r\n", "\r" and "\n"
    only. pygls splits with `str.splitlines`, which also breaks at a form feed (a page break
    in a source file), "\x1c"-"\x1e", "\x85", "\u2028" and "\u2029" (in a string literal).
    Below such a character, every incremental change the editor sent landed a line off in
    the server's copy of the document, and every position sent back pointed a line off."""

    _split: tuple[str, tuple[str, ...]] | None = None  # the source last split, its lines

    @property
    def lines(self) -> tuple[str, ...]:
        # pygls splits again on every use, several times per keystroke (the change, then
        # each request's position conversions): split once per version of the text.
        source = self.source
        if self._split is None or self._split[0] is not source:
            self._split = (source, tuple(_LSP_LINE.findall(source)))
        return self._split[1]


class LspWorkspace(Workspace):
    """pygls's workspace, keeping its documents as `LspDocument`s."""

    def _create_text_document(self, *args, **kwargs) -> TextDocument:
        document = super()._create_text_document(*args, **kwargs)
        document.__class__ = LspDocument  # a subclass that only splits lines differently
        return document


class VibeProtocol(LanguageServerProtocol):
    """pygls cancels a request's future only before it starts; tell the server too, so a
    running generation stops. Documents are split into lines as the editor does."""

    def _handle_cancel_notification(self, msg_id):
        self._server.cancel_request(msg_id)
        super()._handle_cancel_notification(msg_id)

    @property
    def workspace(self) -> Workspace:
        workspace = super().workspace
        if type(workspace) is Workspace:  # pygls makes it in `initialize`, before any document
            workspace.__class__ = LspWorkspace
        return workspace


class VibeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("vibe-ls", __version__, protocol_cls=VibeProtocol)
        self.assistant = Assistant()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vibe-ls-model")
        self.cancels: dict[object, threading.Event] = {}  # by progress token and request id
        # Last non-empty selection per document, with the version it was made in: once
        # the text changes, the code under it may have moved, so it is forgotten.
        self.selections: dict[str, tuple[int | None, types.Range]] = {}
        self.pending_warnings: list[str] = []
        # A refused rewrite per document, with the version it was refused in: offered as a
        # code action labelled as not equivalent, until the text changes.
        self.refused: dict[str, tuple[int | None, Proposal]] = {}
        # Explanations being written for a later hover, by (text, range): their cancel
        # events and the futures that end when each is written.
        self.background: dict[tuple, tuple[threading.Event, asyncio.Future]] = {}
        self.explain_s = 0.0  # how long the last background explanation took to write
        # The `adapter` setting of each workspace folder (workspace/configuration with its
        # scopeUri), by folder URI; a document outside them uses the server-wide setting.
        self.folder_adapters: dict[str, str] = {}
        self.configured = asyncio.Event()  # set once `initialized` has pulled the settings

    def cancel_request(self, key: object) -> None:
        if (event := self.cancels.get(key)) is not None:
            event.set()

    def warn(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        log.warning(message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def apply_settings(self, raw: object) -> None:
        settings, warnings = parse_settings(raw, self.assistant.settings)
        self.assistant.configure(settings)
        for warning in warnings:
            self.warn(warning)


server = VibeServer()


def to_lsp(doc: TextDocument, start: tuple[int, int], end: tuple[int, int]) -> types.Range:
    codec, lines = doc.position_codec, doc.lines
    return types.Range(codec.position_to_client_units(lines, types.Position(*start)),
                       codec.position_to_client_units(lines, types.Position(*end)))


def from_lsp(doc: TextDocument, rng: types.Range) -> tuple[tuple[int, int], tuple[int, int]]:
    r = doc.position_codec.range_from_client_units(doc.lines, rng)
    return (r.start.line, r.start.character), (r.end.line, r.end.character)


def target_of(ls: VibeServer, uri: str) -> tuple[TextDocument, Target] | None:
    doc = ls.workspace.get_text_document(uri)
    language = triggers.language_for(uri, doc.language_id)
    if language is None or language not in ls.assistant.settings.languages:
        return None
    return doc, Target(text=lsp_lines(doc.source), language=language,
                       file_name=uri.rsplit("/", 1)[-1])


def lsp_lines(source: str) -> str:
    """The document with its lines as LSP counts them (at "\r\n", "\r" or "\n"), each
    ending in "\n": positions computed on it are the editor's (a stray "\r" is a line
    break to the editor, and would move every edit below it if it were not one here)."""
    return edits.unix_lines(source).replace("\r", "\n")


@server.feature(types.INITIALIZE)
def initialize(ls: VibeServer, params: types.InitializeParams) -> None:
    settings, warnings = parse_settings(params.initialization_options)
    ls.assistant.configure(settings)
    ls.pending_warnings = warnings  # the client may not show messages before `initialized`
    # the initialize result names the model and the device (`:LspInfo`, the output panel)
    ls.protocol.server_info = types.ServerInfo(name="vibe-ls",
                                               version=f"{__version__}, {running(ls)}")


def running(ls: VibeServer) -> str:
    """`qwen2.5-coder-0.5b (int4) on cpu`; before the model is loaded, the device it will
    try (`on cuda, not loaded yet`)."""
    use = ls.assistant.in_use()
    precision = f" ({use['precision']})" if use["precision"] else ""
    device = f" on {use['device']}" if use["device"] else ": not installed"
    return f"{use['model']}{precision}{device}" + (", not loaded yet" if use["loaded"] == "no"
                                                    and use["device"] else "")


@server.feature(types.INITIALIZED)
async def initialized(ls: VibeServer, params: types.InitializedParams) -> None:
    for warning in ls.pending_warnings:
        ls.warn(warning)
    try:
        await pull_configuration(ls)
    finally:
        ls.configured.set()
    problem = ls.assistant.model_problem()
    if problem:
        ls.warn(str(problem), types.MessageType.Error)
    ls.window_log_message(types.LogMessageParams(types.MessageType.Info, status_line(ls)))
    publish_status(ls)


def publish_status(ls: VibeServer) -> None:
    """Tell the client what `vibe-ls.status` now returns (clients that do not know the
    notification ignore it)."""
    ls.protocol.notify(STATUS_NOTIFICATION, status(ls))


def status_line(ls: VibeServer) -> str:
    """The model and the adapter of each workspace folder, for the log and `vibe-ls.status`."""
    settings = ls.assistant.settings
    folders = "; ".join(f"{uri}: {name or 'none'}" for uri, name in ls.folder_adapters.items())
    return (f"vibe-ls {__version__}: model {running(ls)}, adapter "
            f"{settings.adapter or 'none'}" + (f" (by folder: {folders})" if folders else ""))


@server.command(STATUS)
def status(ls: VibeServer) -> dict:
    """What the server runs with: the model, the adapters, whether the model is loaded."""
    use = ls.assistant.in_use()
    return {"model": use["model"], "precision": use["precision"], "device": use["device"],
            "adapter": ls.assistant.settings.adapter,
            "folderAdapters": ls.folder_adapters, "loaded": ls.assistant.engine_ready(),
            "message": status_line(ls)}


async def pull_configuration(ls: VibeServer) -> None:
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return
    items = [types.ConfigurationItem(section=SECTION)]
    try:
        result = await ls.workspace_configuration_async(types.ConfigurationParams(items=items))
    except Exception as exc:  # a client that claims the capability but fails the request
        log.warning("workspace/configuration failed: %s", exc)
        return
    if result and isinstance(result[0], dict):
        ls.apply_settings(result[0])
    await pull_folder_adapters(ls)


async def pull_folder_adapters(ls: VibeServer) -> None:
    """Each workspace folder's `adapter` setting (one LoRA adapter per project)."""
    caps = ls.client_capabilities.workspace
    folders = list(ls.workspace.folders)
    if not folders or not (caps and caps.configuration):
        return
    items = [types.ConfigurationItem(scope_uri=uri, section=SECTION) for uri in folders]
    try:
        result = await ls.workspace_configuration_async(types.ConfigurationParams(items=items))
    except Exception as exc:
        log.warning("workspace/configuration for the folders failed: %s", exc)
        return
    adapters = {}
    for uri, raw in zip(folders, result or [], strict=False):
        settings, warnings = parse_settings(raw, ls.assistant.settings)
        adapters[uri] = settings.adapter
        for warning in warnings:
            ls.warn(f"{warning} (folder {uri})")
    ls.folder_adapters = adapters
    log.info("adapters by folder: %s", adapters)


def adapter_for(ls: VibeServer, uri: str) -> str:
    """The adapter setting that applies to the document `uri`: its folder's, else the
    server-wide one (the innermost folder wins)."""
    inside = [f for f in ls.folder_adapters if uri.startswith(f.rstrip("/") + "/")]
    if not inside:
        return ls.assistant.settings.adapter
    return ls.folder_adapters[max(inside, key=len)]


async def settings_pulled(ls: VibeServer) -> None:
    """Wait (a little) for the settings `initialized` asks for: an action sent right after
    `initialize` must already run with its folder's adapter."""
    try:
        await asyncio.wait_for(ls.configured.wait(), CONFIGURATION_WAIT_S)
    except asyncio.TimeoutError:
        log.warning("no settings from the client after %.0f s; going on", CONFIGURATION_WAIT_S)


def with_adapter(ls: VibeServer, uri: str, work: Callable) -> Callable:
    """`work(...)` on the model thread with the document's adapter made active first; an
    adapter that cannot be used is said, and the base model answers."""
    loop, adapter = asyncio.get_running_loop(), adapter_for(ls, uri)

    def run(*args):
        problem = ls.assistant.use_adapter(adapter)
        if problem is not None:
            loop.call_soon_threadsafe(ls.warn, f"vibe-ls: {problem}", types.MessageType.Error)
        return work(*args)
    return run


@server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
def progress_cancel(ls: VibeServer, params: types.WorkDoneProgressCancelParams) -> None:
    ls.cancel_request(params.token)  # the "x" on the progress notification


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: VibeServer,
                                   params: types.DidChangeConfigurationParams) -> None:
    if isinstance(params.settings, dict) and params.settings:
        ls.apply_settings(params.settings)
        await pull_folder_adapters(ls)
    else:  # pull-model clients send null and expect us to ask
        await pull_configuration(ls)
    publish_status(ls)


def _command(title: str, name: str, *args: object) -> types.Command:
    return types.Command(title=title, command=name, arguments=list(args))


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite]))
def code_action(ls: VibeServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    """Listing is instant: tree-sitter only, the model runs when an action is chosen."""
    found = target_of(ls, params.text_document.uri)
    if found is None:
        return None
    doc, target = found
    uri, version = doc.uri, doc.version
    (start, end) = from_lsp(doc, params.range)
    actions = []
    todo = triggers.todo_at(target.text, target.language, start[0],
                            ls.assistant.settings.todo_marker)
    if todo is not None:
        title = f"Implement TODO: {todo.description[:60]}"
        actions.append(types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix,
                                        command=_command(title, IMPLEMENT, uri, todo.line,
                                                         version)))
    if start != end:
        ls.selections[uri] = (version, params.range)
        sel = [uri, [start, end], version]
        actions += [
            types.CodeAction(title="Rewrite with a better algorithm",
                             kind=types.CodeActionKind.RefactorRewrite,
                             command=_command("Rewrite with a better algorithm", REWRITE, *sel)),
            types.CodeAction(title="Add complexity note", kind=types.CodeActionKind.Refactor,
                             command=_command("Add complexity note", NOTE, *sel)),
            types.CodeAction(title="Explain selection", kind=types.CodeActionKind.Empty,
                             command=_command("Explain selection", EXPLAIN, *sel)),
        ]
    refused_version, offer = ls.refused.get(uri, (None, None))
    if offer is not None and refused_version == version:
        title = offer.label  # "Apply the refused rewrite (NOT equivalent to your code)"
        actions.append(types.CodeAction(title=title, kind=types.CodeActionKind.RefactorRewrite,
                                        command=_command(title, REWRITE_ANYWAY, uri, version)))
    return actions or None


class _Progress:
    """The `on_text` callback a worker gets: reports tokens so far and tok/s of the current
    generation, at most every PROGRESS_EVERY_S, under the current phase (`phase(...)`:
    writing, writing checks, checking k/n, timing)."""

    def __init__(self, ls: VibeServer, token: str, enabled: bool,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.ls, self.token, self.enabled, self.loop = ls, token, enabled, loop
        self.current, self.started, self.last, self.generated = "", time.monotonic(), 0.0, 0

    def _send(self, message: str) -> None:
        if self.enabled:
            report = types.WorkDoneProgressReport(message=message, cancellable=True)
            self.loop.call_soon_threadsafe(self.ls.work_done_progress.report, self.token, report)

    def phase(self, name: str) -> None:
        self.current, self.started, self.generated = name, time.monotonic(), 0
        self._send(name)

    def __call__(self, _delta: str, generated: int) -> None:
        now = time.monotonic()
        if generated < self.generated:  # a new generation within the same phase
            self.started = now
        self.generated = generated
        if now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            rate = generated / max(now - self.started, 1e-6)
            prefix = f"{self.current}: " if self.current else ""
            self._send(f"{prefix}{generated} tokens, {rate:.0f} tok/s")


async def run_on_worker(ls: VibeServer, title: str, work: Callable, *keys: object):
    """Run `work(progress, cancel)` on the model thread, with cancellable progress;
    `progress` is the on_text callback and has `.phase(name)`."""
    cancel, token = threading.Event(), str(uuid.uuid4())
    for waiting, _ in list(ls.background.values()):  # a hover's explanation waits
        waiting.set()
    for key in (token, ls.protocol.msg_id, *keys):
        ls.cancels[key] = cancel
    enabled = await _begin_progress(ls, token, title)
    loop = asyncio.get_running_loop()
    progress = _Progress(ls, token, enabled, loop)
    try:
        return await loop.run_in_executor(ls.worker, work, progress, cancel), cancel.is_set()
    finally:
        for key in (token, ls.protocol.msg_id, *keys):
            ls.cancels.pop(key, None)
        if enabled:
            message = "cancelled" if cancel.is_set() else "done"
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))


async def _begin_progress(ls: VibeServer, token: str, title: str) -> bool:
    window = ls.client_capabilities.window
    if not (window and window.work_done_progress):
        return False
    try:
        await ls.work_done_progress.create_async(token)
    except Exception as exc:
        log.warning("window/workDoneProgress/create failed: %s", exc)
        return False
    ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
        title=f"vibe-ls: {title}", cancellable=True, message="starting"))
    return True


async def apply_proposal(ls: VibeServer, uri: str, version: int, proposal: Proposal) -> bool:
    """Apply the edit to the document as it is now: re-anchored if it changed meanwhile,
    dropped (with a message) if its anchor is gone. Never applied to the wrong place."""
    doc = ls.workspace.get_text_document(uri)
    placed: list[TextEdit] | None = proposal.edits
    if doc.version != version:
        try:
            placed = proposal.reanchor(lsp_lines(doc.source))
        except VibeError as exc:  # it no longer fits the edited text
            ls.warn(f"vibe-ls: the document changed while the model was writing and nothing was "
                    f"inserted: {exc}")
            return False
        if placed is None:
            ls.warn(f"vibe-ls: the document changed while the model was writing and "
                    f"{proposal.anchor} is gone; nothing was inserted")
            return False
    lsp_edits = [types.TextEdit(range=to_lsp(doc, e.start, e.end), new_text=e.new_text)
                 for e in edits.with_line_ending(placed, edits.line_ending(doc.source))]
    change = types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri,
                                                                   version=doc.version),
        edits=lsp_edits)
    result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(
        edit=types.WorkspaceEdit(document_changes=[change]), label=proposal.label))
    if not result.applied:
        ls.warn(f"vibe-ls: the editor refused the edit ({result.failure_reason or 'no reason'})")
    return bool(result.applied)


async def run_edit_command(ls: VibeServer, title: str, uri: str, version: int,
                           make: Callable[[Target], Callable]) -> dict | None:
    found = target_of(ls, uri)
    if found is None:
        ls.warn(f"vibe-ls: {uri} is not a supported language")
        return None
    doc, target = found
    version = doc.version if version is None else version
    await settings_pulled(ls)
    try:
        proposal, cancelled = await run_on_worker(ls, title,
                                                  with_adapter(ls, uri, make(target)))
    except VibeError as exc:
        ls.warn(f"vibe-ls: {exc}", types.MessageType.Error)
        return {"applied": False, "error": exc.message}
    if cancelled or proposal is None:
        return {"applied": False, "cancelled": True}
    if proposal.refused:
        return refuse(ls, uri, doc.version, proposal)
    applied = await apply_proposal(ls, uri, doc.version if version is None else version, proposal)
    if applied and proposal.summary:
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info,
                                                       message=proposal.summary))
    return {"applied": applied, "summary": proposal.summary, **proposal.details}


def refuse(ls: VibeServer, uri: str, version: int | None, proposal: Proposal) -> dict:
    """Nothing applied: say why, and keep what can still be applied for a second action."""
    ls.warn(proposal.summary)
    if proposal.alternative is not None:
        ls.refused[uri] = (version, proposal.alternative)
    return {"applied": False, "refused": True, "summary": proposal.summary,
            "alternative": proposal.alternative is not None, **proposal.details}


@server.command(REWRITE_ANYWAY)
async def rewrite_anyway(ls: VibeServer, uri: str, version: int | None = None):
    """Apply the rewrite a check refused, at the user's word (its message says it differs)."""
    refused_version, proposal = ls.refused.pop(uri, (None, None))
    if proposal is None or (version is not None and refused_version != version):
        ls.warn("vibe-ls: no refused rewrite for this version of the document")
        return {"applied": False}
    applied = await apply_proposal(ls, uri, refused_version, proposal)
    if applied:
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning,
                                                       message=proposal.summary))
    return {"applied": applied, "summary": proposal.summary, **proposal.details}


@server.command(IMPLEMENT)
async def implement(ls: VibeServer, uri: str, line: int, version: int | None = None):
    assistant = ls.assistant
    return await run_edit_command(
        ls, "Implement TODO", uri, version,
        lambda t: lambda progress, cancel: assistant.implement(t, line, progress, cancel,
                                                               progress.phase))


def _selection(rng: list) -> tuple[tuple[int, int], tuple[int, int]]:
    (a, b), (c, d) = rng
    return (a, b), (c, d)


async def selection_command(ls: VibeServer, title: str, method: str, uri: str, rng: list,
                            version: int | None) -> dict | None:
    """Run an Assistant method that edits around a selection (rewrite, complexity note)."""
    action, sel = getattr(ls.assistant, method), _selection(rng)
    return await run_edit_command(
        ls, title, uri, version, lambda t: lambda progress, cancel: action(t, sel, progress,
                                                                           cancel, progress.phase))


@server.command(REWRITE)
async def rewrite(ls: VibeServer, uri: str, rng: list, version: int | None = None):
    return await selection_command(ls, "Rewrite with a better algorithm", "rewrite", uri, rng,
                                   version)


@server.command(NOTE)
async def complexity_note(ls: VibeServer, uri: str, rng: list, version: int | None = None):
    return await selection_command(ls, "Add complexity note", "complexity_note", uri, rng,
                                   version)


@server.command(EXPLAIN)
async def explain_selection(ls: VibeServer, uri: str, rng: list, version: int | None = None):
    found = target_of(ls, uri)
    if found is None:
        return None
    _, target = found
    markdown = await explanation(ls, target, _selection(rng), uri)
    if markdown:
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info,
                                                       message=markdown))
    return markdown


async def explanation(ls: VibeServer, target: Target,
                      sel: tuple[tuple[int, int], tuple[int, int]], uri: str) -> str | None:
    await settings_pulled(ls)
    adapter = adapter_for(ls, uri)
    cached = ls.assistant.cached_explanation(target, sel, adapter)
    if cached is not None:
        return cached
    try:
        markdown, cancelled = await run_on_worker(
            ls, "Explain", with_adapter(ls, uri, lambda on_text, cancel: ls.assistant.explain(
                target, sel, on_text, cancel, adapter)))
    except VibeError as exc:
        ls.warn(f"vibe-ls: {exc}", types.MessageType.Error)
        return None
    return None if cancelled else markdown


@server.feature(types.TEXT_DOCUMENT_HOVER)
async def hover(ls: VibeServer, params: types.HoverParams) -> types.Hover | None:
    """Over a function name, or inside the last selection: what the code computes, its
    algorithm and its cost. Cached by content; cancellable; model work off the loop."""
    if not ls.assistant.settings.hover:
        return None
    found = target_of(ls, params.text_document.uri)
    if found is None:
        return None
    doc, target = found
    sel = hover_range(ls, doc, target, params.position)
    if sel is None:
        return None
    adapter = adapter_for(ls, doc.uri)
    known = ls.assistant.hover_now(target, sel, adapter)
    if not known.complete:
        try:  # a fast model (or a short queue) answers in time: then the hover has it all
            await wait_for_explanation(ls, explain_later(ls, target, sel, doc.uri))
            known = ls.assistant.hover_now(target, sel, adapter)
        except asyncio.TimeoutError:
            pass  # what is known now; the explanation goes on for the next hover
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                    value=known.markdown))


async def wait_for_explanation(ls: VibeServer, written: asyncio.Future) -> None:
    """Wait up to HOVER_WAIT_S for the explanation where the model may write one that fast;
    TimeoutError at once while it is still loading (the first request loads it: seconds)
    or once an explanation took longer (10-20 s on a CPU): the hover then answers with what
    is known; also while a command or another explanation keeps the model busy. Waiting
    for the load made the first hover of a session take 3.6 s, and every cold one 0.8 s."""
    queued = any(f is not written and not f.done() for _, f in ls.background.values())
    if not ls.assistant.engine_ready() or ls.explain_s > HOVER_WAIT_S or ls.cancels or \
            queued:
        raise asyncio.TimeoutError
    await asyncio.wait_for(asyncio.shield(written), HOVER_WAIT_S)


def explain_later(ls: VibeServer, target: Target,
                  sel: tuple[tuple[int, int], tuple[int, int]], uri: str) -> asyncio.Future:
    """The explanation, queued on the model thread once per selection (then the function
    is timed), for this hover if it is quick and for the next one if not. A command started
    meanwhile cancels it: the user's action comes first."""
    adapter = adapter_for(ls, uri)
    key = (target.text, sel, adapter)
    if key in ls.background:
        return ls.background[key][1]
    cancel = threading.Event()

    def explain() -> None:
        try:
            if not cancel.is_set():
                started = time.monotonic()
                ls.assistant.explain(target, sel, None, cancel, adapter)
                if not cancel.is_set():
                    ls.explain_s = time.monotonic() - started
        except Exception:  # a background hover must never take the server down
            log.exception("the background explanation failed")

    def time_it() -> None:
        try:
            if not cancel.is_set():
                ls.assistant.time_for_hover(target, sel)
        except Exception:
            log.exception("timing for the hover failed")
        finally:
            ls.background.pop(key, None)
    written = asyncio.wrap_future(ls.worker.submit(with_adapter(ls, uri, explain)))
    ls.worker.submit(time_it)
    ls.background[key] = (cancel, written)
    return written


def hover_range(ls: VibeServer, doc: TextDocument, target: Target,
                position: types.Position) -> tuple[tuple[int, int], tuple[int, int]] | None:
    pos = doc.position_codec.position_from_client_units(doc.lines, position)
    here = (pos.line, pos.character)
    version, remembered = ls.selections.get(doc.uri, (None, None))
    if remembered is not None and version == doc.version:
        start, end = from_lsp(doc, remembered)
        if start <= here <= end and start != end:
            return start, end
    scope = triggers.scope_named_at(target.text, target.language, *here)
    return (scope.range[0], scope.range[1]) if scope else None


def serve() -> None:
    server.start_io()
