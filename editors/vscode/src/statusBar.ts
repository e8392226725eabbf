// The status bar item: model, adapter and device when idle (as the server reports them in
// its vibeLs/status notification: the adapter is the active editor's folder's), a spinner with
// the server's progress message ("57 tokens, 31 tok/s") while a generation runs, and the
// speed of the last one.
import * as vscode from 'vscode';
import type { WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport } from 'vscode-languageclient/node';

type Progress = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

// The server's summary after an edit: "...; 87 tokens at 31 tok/s". It comes after the
// progress ends and is the engine's own measure, so it replaces the last progress report's.
// It also names the device the engine runs on ("... tok/s on cuda"), which the status bar
// then shows instead of the `device` setting (which may say "auto").
const FINAL_RATE = /(\d+) tokens at (\d+(?:\.\d+)?) tok\/s(?: on (\w+))?/;
const PROGRESS_RATE = /(\d+) tokens, (\d+(?:\.\d+)?) tok\/s/;

/** The server's vibeLs/status notification (what the `vibe-ls.status` command returns). */
export interface ServerStatus {
  model: string;
  device: string;
  adapter: string;
  folderAdapters: Record<string, string>;
}

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  private readonly active = new Map<string, { title: string; message: string }>();
  private lastRate: string | undefined;
  private lastDevice: string | undefined;
  private problem: string | undefined;
  private server: ServerStatus | undefined;

  constructor(showLogCommand: string) {
    this.item.name = 'vibe-ls';
    this.item.command = showLogCommand;
    this.render();
    this.item.show();
  }

  /** Called for every $/progress of a work-done token (client middleware). */
  onProgress(token: string | number, params: Progress): void {
    const key = String(token);
    if (params.kind === 'end') {
      const match = PROGRESS_RATE.exec(this.active.get(key)?.message ?? '');
      if (match) {
        this.lastRate = `${Math.round(Number(match[2]))} tok/s`;
      }
      this.active.delete(key);
    } else {
      const previous = this.active.get(key);
      const title = params.kind === 'begin' ? params.title : previous?.title ?? '';
      this.active.set(key, { title, message: params.message ?? previous?.message ?? '' });
    }
    this.render();
  }

  /** Called for every window/showMessage: picks up the rate of the last generation. */
  onMessage(message: string): void {
    const match = FINAL_RATE.exec(message);
    if (match) {
      this.lastRate = `${Math.round(Number(match[2]))} tok/s`;
      this.lastDevice = match[3] ?? this.lastDevice;
      this.render();
    }
  }

  /** The server's model, device and adapters (sent when its settings change). */
  setServer(server: ServerStatus): void {
    this.server = server;
    this.render();
  }

  /** The adapter the server uses for the active editor: its folder's, else the server-wide. */
  private adapter(): string {
    const server = this.server;
    const uri = vscode.window.activeTextEditor?.document.uri;
    if (server === undefined) {
      return '';
    }
    const folder = uri && vscode.workspace.getWorkspaceFolder(uri)?.uri.toString();
    const byFolder = server.folderAdapters ?? {};
    return folder !== undefined && folder in byFolder ? byFolder[folder] : server.adapter ?? '';
  }

  /** The server is running (problem undefined) or cannot run (a short reason). */
  setProblem(problem: string | undefined): void {
    this.problem = problem;
    this.active.clear();
    this.render();
  }

  render(): void {
    const config = vscode.workspace.getConfiguration('vibeLs');
    const model = this.server?.model || config.get<string>('model', '');
    const device = this.lastDevice ?? (this.server?.device || config.get<string>('device', 'auto'));
    const adapter = this.adapter();
    const shown = adapter ? `${model} + ${adapter.split('/').pop()}` : model;
    const running = [...this.active.values()].pop();
    if (this.problem !== undefined) {
      this.item.text = '$(error) vibe-ls';
      this.item.tooltip = `vibe-ls: ${this.problem} (click to show the log)`;
    } else if (running !== undefined) {
      this.item.text = `$(sync~spin) vibe-ls ${running.message}`.trimEnd();
      this.item.tooltip = `${running.title}: ${running.message}`;
    } else {
      this.item.text = `$(sparkle) vibe-ls: ${shown} (${device})`
        + (this.lastRate ? ` · ${this.lastRate}` : '');
      this.item.tooltip = `vibe-ls: model ${model} on ${device}`
        + (adapter ? `, LoRA adapter ${adapter}` : ', no adapter')
        + (this.lastRate ? `; last generation ${this.lastRate}` : '') + ' (click to show the log)';
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
