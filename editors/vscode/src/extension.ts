// The vibe-ls client: starts `vibe-ls serve` over stdio, keeps its settings in sync, and adds
// commands and a status bar item around the server's code actions.
import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  MessageType,
  ServerOptions,
  ShowMessageNotification,
  ShowMessageParams,
} from 'vscode-languageclient/node';
import { Explanations, SCHEME } from './explanations';
import { findExecutable } from './executable';
import { ServerStatus, StatusBar } from './statusBar';

const SECTION = 'vibeLs';
const LANGUAGES = ['python', 'c', 'cpp', 'java', 'javascript', 'javascriptreact', 'typescript',
  'typescriptreact', 'go', 'rust'];
// The keys the server reads (vibe_ls/settings.py); serverPath and serverArgs are the client's.
const SERVER_KEYS = ['model', 'adapter', 'device', 'maxNewTokens', 'reasoningBudget', 'systemPrompt',
  'todoMarker', 'hover', 'languages', 'verify', 'candidates', 'verifyBudget'];
// Sent by the server when its model, device or adapters may have changed.
const STATUS_NOTIFICATION = 'vibeLs/status';
const COMMANDS = {
  implementTodo: 'vibeLs.implementTodo',
  explainSelection: 'vibeLs.explainSelection',
  restart: 'vibeLs.restartServer',
  showLog: 'vibeLs.showLog',
};

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let status: StatusBar;
let explanations: Explanations;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('vibe-ls');
  status = new StatusBar(COMMANDS.showLog);
  explanations = new Explanations();
  context.subscriptions.push(
    output, status, explanations,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, explanations),
    vscode.commands.registerCommand(COMMANDS.implementTodo, implementTodoAtCursor),
    vscode.commands.registerCommand(COMMANDS.explainSelection, explainSelection),
    vscode.commands.registerCommand(COMMANDS.restart, restartServer),
    vscode.commands.registerCommand(COMMANDS.showLog, () => output.show(true)),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChanged),
    vscode.window.onDidChangeActiveTextEditor(() => status.render()),
    { dispose: () => void stopServer() },
  );
  await startServer();
}

export async function deactivate(): Promise<void> {
  await stopServer();
}

function serverSettings(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration(SECTION);
  return Object.fromEntries(SERVER_KEYS.map((key) => [key, config.get(key)]));
}

async function startServer(): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const serverPath = config.get<string>('serverPath', 'vibe-ls');
  const args = config.get<string[]>('serverArgs', ['serve']);
  const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const command = findExecutable(serverPath, cwd);
  if (command === undefined) {
    reportMissingExecutable(serverPath);
    return;
  }
  output.appendLine(`starting ${command} ${args.join(' ')}`);
  const serverOptions: ServerOptions = { command, args, options: { cwd } };
  client = new LanguageClient('vibeLs', 'vibe-ls', serverOptions, clientOptions());
  // Replaces the client's built-in handler (registered first): we also read the speed.
  client.onNotification(ShowMessageNotification.type, showServerMessage);
  client.onNotification(STATUS_NOTIFICATION, (params: ServerStatus) => status.setServer(params));
  try {
    await client.start();
    status.setProblem(undefined);
  } catch (error) {
    status.setProblem('the server did not start');
    output.appendLine(`vibe-ls did not start: ${String(error)}`);
    void vscode.window.showErrorMessage(`vibe-ls: the server did not start (${String(error)}).`,
      'Show log').then((choice) => choice && output.show());
  }
}

function clientOptions(): LanguageClientOptions {
  return {
    documentSelector: LANGUAGES.flatMap((language) => [
      { scheme: 'file', language }, { scheme: 'untitled', language }]),
    initializationOptions: serverSettings,
    // Pushes workspace/didChangeConfiguration and answers workspace/configuration.
    synchronize: { configurationSection: SECTION },
    outputChannel: output,
    middleware: {
      handleWorkDoneProgress: (token, params, next) => {
        status.onProgress(token, params);
        next(token, params);
      },
    },
  };
}

function reportMissingExecutable(serverPath: string): void {
  const message = `vibe-ls: the server executable "${serverPath}" was not found. Install it `
    + 'with `pip install vibe-ls` and run `vibe-ls setup`, then set vibeLs.serverPath to the '
    + 'vibe-ls in that environment (e.g. ~/.venv/bin/vibe-ls) and restart the server.';
  status.setProblem(`"${serverPath}" not found`);
  output.appendLine(message);
  void vscode.window.showErrorMessage(message, 'Open settings', 'Show log').then((choice) => {
    if (choice === 'Open settings') {
      void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.serverPath`);
    } else if (choice === 'Show log') {
      output.show();
    }
  });
}

async function stopServer(): Promise<void> {
  const running = client;
  client = undefined;
  if (running !== undefined) {
    try {
      await running.stop();
    } catch (error) {
      output.appendLine(`stopping vibe-ls: ${String(error)}`);
    }
  }
}

async function restartServer(): Promise<void> {
  await stopServer();
  await startServer();
}

function onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
  if (!event.affectsConfiguration(SECTION)) {
    return;
  }
  status.render();
  // The client forwards other keys to the running server; these two need a new process.
  if (event.affectsConfiguration(`${SECTION}.serverPath`)
    || event.affectsConfiguration(`${SECTION}.serverArgs`)) {
    void restartServer();
  }
}

function showServerMessage(params: ShowMessageParams): void {
  status.onMessage(params.message);
  switch (params.type) {
    case MessageType.Error:
      void vscode.window.showErrorMessage(params.message, 'Show log')
        .then((choice) => choice && output.show());
      break;
    case MessageType.Warning:
      void vscode.window.showWarningMessage(params.message);
      break;
    default:
      // Every message of the server's own starts with "vibe-ls"; the rest is an explanation.
      if (params.message.startsWith('vibe-ls')) {
        void vscode.window.showInformationMessage(params.message);
      } else {
        void explanations.show(params.message);
      }
  }
}

type Action = vscode.CodeAction | vscode.Command;

/** The server's code actions at a range, as the lightbulb would list them. */
async function actionsAt(editor: vscode.TextEditor, range: vscode.Range): Promise<Action[]> {
  const actions = await vscode.commands.executeCommand<Action[] | undefined>(
    'vscode.executeCodeActionProvider', editor.document.uri, range);
  return actions ?? [];
}

async function runAction(action: Action): Promise<unknown> {
  if (typeof action.command === 'string') {
    const command = action as vscode.Command;
    return vscode.commands.executeCommand(command.command, ...(command.arguments ?? []));
  }
  const codeAction = action as vscode.CodeAction;
  if (codeAction.edit) {
    await vscode.workspace.applyEdit(codeAction.edit);
  }
  const command = codeAction.command;
  return command && vscode.commands.executeCommand(command.command, ...(command.arguments ?? []));
}

function serverReady(): boolean {
  if (client?.isRunning()) {
    return true;
  }
  void vscode.window.showWarningMessage('vibe-ls: the server is not running.', 'Restart server',
    'Show log').then((choice) => {
    if (choice === 'Restart server') {
      void restartServer();
    } else if (choice === 'Show log') {
      output.show();
    }
  });
  return false;
}

async function implementTodoAtCursor(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined || !serverReady()) {
    return;
  }
  const cursor = editor.selection.active;
  const actions = await actionsAt(editor, new vscode.Range(cursor, cursor));
  const implement = actions.find((action) => action.title.startsWith('Implement TODO'));
  if (implement === undefined) {
    const marker = vscode.workspace.getConfiguration(SECTION).get<string>('todoMarker', 'TODO');
    void vscode.window.showInformationMessage(
      `vibe-ls: no ${marker} comment at the cursor (put the cursor on a "${marker}: ..." line).`);
    return;
  }
  await runAction(implement);
}

async function explainSelection(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined || !serverReady()) {
    return;
  }
  if (editor.selection.isEmpty) {
    void vscode.window.showInformationMessage('vibe-ls: select the code to explain first.');
    return;
  }
  const actions = await actionsAt(editor, editor.selection);
  const explain = actions.find((action) => action.title === 'Explain selection');
  if (explain === undefined) {
    void vscode.window.showInformationMessage(
      `vibe-ls: nothing to explain here (is ${editor.document.languageId} enabled in vibeLs.languages?).`);
    return;
  }
  // The server answers with window/showMessage, which opens the explanation (showServerMessage).
  await runAction(explain);
}
