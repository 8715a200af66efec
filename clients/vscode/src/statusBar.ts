/** Renders the status model into a status bar item that opens the log on click. */
import * as vscode from 'vscode';
import { StatusModel } from './core/status';

export const SHOW_LOG_COMMAND = 'ghostline.showLog';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor(private readonly model: StatusModel) {
    this.item = vscode.window.createStatusBarItem('ghostline.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Ghostline';
    this.item.command = SHOW_LOG_COMMAND;
    this.render();
    this.item.show();
  }

  render(): void {
    const view = this.model.view();
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor =
      view.severity === 'normal'
        ? undefined
        : new vscode.ThemeColor(
            view.severity === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground',
          );
  }

  dispose(): void {
    this.item.dispose();
  }
}
