// The status bar item: model and device when idle, a spinner with the server's progress
// message ("57 tokens, 31 tok/s") while a generation runs, and the speed of the last one.
import * as vscode from 'vscode';
import type { WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport } from 'vscode-languageclient/node';

type Progress = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

// The server's summary after an edit: "...; 87 tokens at 31 tok/s". It comes after the
// progress ends and is the engine's own measure, so it replaces the last progress report's.
// It also names the device the engine runs on ("... tok/s on cuda"), which the status bar
// then shows instead of the `device` setting (which may say "auto").
const FINAL_RATE = /(\d+) tokens at (\d+(?:\.\d+)?) tok\/s(?: on (\w+))?/;
const PROGRESS_RATE = /(\d+) tokens, (\d+(?:\.\d+)?) tok\/s/;

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  private readonly active = new Map<string, { title: string; message: string }>();
  private lastRate: string | undefined;
  private lastDevice: string | undefined;
  private problem: string | undefined;

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

  /** The server is running (problem undefined) or cannot run (a short reason). */
  setProblem(problem: string | undefined): void {
    this.problem = problem;
    this.active.clear();
    this.render();
  }

  render(): void {
    const config = vscode.workspace.getConfiguration('vibeLs');
    const model = config.get<string>('model', '');
    const device = this.lastDevice ?? config.get<string>('device', 'auto');
    const running = [...this.active.values()].pop();
    if (this.problem !== undefined) {
      this.item.text = '$(error) vibe-ls';
      this.item.tooltip = `vibe-ls: ${this.problem} (click to show the log)`;
    } else if (running !== undefined) {
      this.item.text = `$(sync~spin) vibe-ls ${running.message}`.trimEnd();
      this.item.tooltip = `${running.title}: ${running.message}`;
    } else {
      this.item.text = `$(sparkle) vibe-ls: ${model} (${device})`
        + (this.lastRate ? ` · ${this.lastRate}` : '');
      this.item.tooltip = `vibe-ls: model ${model} on ${device}`
        + (this.lastRate ? `; last generation ${this.lastRate}` : '') + ' (click to show the log)';
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
