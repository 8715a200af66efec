/**
 * An accepted inline completion is recorded by the server: the real vscode-languageclient 11,
 * loaded against a fake `vscode` module, turns the server's item into a VS Code
 * InlineCompletionItem whose `command` is the server's `ghostline.accepted` (VS Code runs an
 * item's command when the user accepts it), and running that command as VS Code would (the
 * command the client registered for the server's executeCommandProvider) reaches the server,
 * whose `ghostline.status` then counts the acceptance. The server is the real one with a
 * scripted engine (tests/clients/accept_server.py), so no model loads.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ACCEPT_COMMAND, acceptCommandFeature } from '../../core/usage';
import { REPO_ROOT, pythonSetup } from '../protocol/session';
import { FakeState, createFakeVscode, loadWithFakeVscode, newFakeState } from './fakeVscode';
import { EXTENSION_ROOT } from './packageJson';

const SERVER = path.join(REPO_ROOT, 'tests', 'clients', 'accept_server.py');
const SOURCE = 'def add(a, b):\n    return ';

interface Client {
  start(): Promise<void>;
  stop(timeout?: number): Promise<void>;
  registerFeature(feature: unknown): void;
  sendRequest<R>(method: string, params: unknown): Promise<R>;
  sendNotification(method: string, params: unknown): Promise<void>;
}

type ClientModule = {
  LanguageClient: new (id: string, name: string, serverOptions: unknown, clientOptions: unknown) => Client;
};

interface VsCommand {
  title: string;
  command: string;
  arguments?: unknown[];
}

interface Provider {
  provideInlineCompletionItems(
    document: unknown,
    position: unknown,
    context: unknown,
    token: unknown,
  ): Promise<unknown[] | { items: unknown[] } | null>;
}

class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(startLine: number, startCharacter: number, endLine: number, endCharacter: number) {
    this.start = new Position(startLine, startCharacter);
    this.end = new Position(endLine, endCharacter);
  }
}

class InlineCompletionItem {
  constructor(
    readonly insertText: unknown,
    readonly range?: Range,
    readonly command?: VsCommand,
  ) {}
}

class InlineCompletionList {
  constructor(readonly items: InlineCompletionItem[]) {}
}

/** What the client's code action feature builds its kinds from. */
class CodeActionKind {
  static readonly Empty = new CodeActionKind('');
  constructor(readonly value: string) {}
  append(part: string): CodeActionKind {
    return new CodeActionKind(this.value ? `${this.value}.${part}` : part);
  }
}

/** Members of a fake `vscode` namespace that the languageclient only subscribes or registers. */
function lenient<T extends object>(target: T, overrides: Record<string, unknown> = {}): T {
  const merged: Record<string | symbol, unknown> = { ...target, ...overrides };
  const inert = (): { dispose(): void } => ({ dispose: () => undefined });
  return new Proxy(merged, {
    get: (t, prop) => {
      if (prop in t) {
        return t[prop];
      }
      return typeof prop === 'string' && /^(on[A-Z]|register|create)/.test(prop) ? inert : undefined;
    },
  }) as T;
}

/** The unit tests' fake `vscode`, widened to what the client's inline completion touches. */
function clientVscode(state: FakeState, providers: Provider[]): unknown {
  const base = createFakeVscode(state) as Record<string, Record<string, unknown>>;
  const window = base.window as { createOutputChannel(name: string): object };
  const namespaces: Record<string, unknown> = {
    version: '1.91.0',
    Position,
    Range,
    InlineCompletionItem,
    InlineCompletionList,
    CodeActionKind,
    InlineCompletionTriggerKind: { Invoke: 0, Automatic: 1 },
    window: lenient(base.window as object, {
      createOutputChannel: (name: string) => lenient(window.createOutputChannel(name)),
    }),
    workspace: lenient(base.workspace as object, { textDocuments: [], notebookDocuments: [] }),
    languages: lenient(
      {},
      {
        registerInlineCompletionItemProvider: (_selector: unknown, provider: Provider) => {
          providers.push(provider);
          return { dispose: () => undefined };
        },
      },
    ),
    notebooks: lenient({}),
    commands: lenient(base.commands as object),
    env: lenient(base.env as object, { appName: 'fake', language: 'en', machineId: 'm', sessionId: 's' }),
  };
  return new Proxy(base, { get: (t, prop) => (prop in namespaces ? namespaces[prop as string] : t[prop as string]) });
}

const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose: () => undefined }) };

describe('an accepted suggestion (vscode-languageclient, fake VS Code)', { timeout: 60_000 }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostline-accept-'));
  const file = path.join(tmp, 'calc.py');
  const uri = `file://${file}`;
  const state = newFakeState();
  const providers: Provider[] = [];
  let client: Client;

  before(async () => {
    fs.writeFileSync(file, SOURCE);
    const setup = pythonSetup();
    const languageclient = loadWithFakeVscode(
      require.resolve('vscode-languageclient/node', { paths: [EXTENSION_ROOT] }),
      clientVscode(state, providers),
    ) as ClientModule;
    client = new languageclient.LanguageClient(
      'ghostline-accept',
      'Ghostline accept test',
      {
        command: setup.python,
        args: [SERVER],
        options: { env: { ...setup.env, GHOSTLINE_LEDGER: path.join(tmp, 'usage.sqlite') } },
      },
      { documentSelector: [{ language: 'python' }], initializationOptions: { debounceMs: 0 } },
    );
    client.registerFeature(acceptCommandFeature);
    await client.start();
    await client.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'python', version: 1, text: SOURCE },
    });
  });

  after(async () => {
    await client?.stop(5_000).catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('gives the VS Code item the server command, and running it records the acceptance', async () => {
    assert.equal(providers.length, 1, 'no inline completion provider registered');
    const document = { uri: { toString: () => uri }, languageId: 'python', version: 1 };
    const result = await providers[0]?.provideInlineCompletionItems(
      document,
      new Position(1, 11),
      { triggerKind: 1 },
      token,
    );
    const items = Array.isArray(result) ? result : (result?.items ?? []);
    const item = items[0] as InlineCompletionItem | undefined;
    assert.ok(item instanceof InlineCompletionItem, `not a converted item: ${JSON.stringify(result)}`);
    assert.equal(item.insertText, 'a + b');
    assert.equal(item.command?.command, ACCEPT_COMMAND);
    const argument = item.command?.arguments?.[0] as Record<string, unknown>;
    assert.deepEqual(
      { ...argument, id: undefined },
      { id: undefined, feature: 'inlineCompletion', language: 'python', backend: 'local', length: 5 },
    );

    // What VS Code does on accept: run the item's command (registered by the client).
    const run = state.commands.get(ACCEPT_COMMAND);
    assert.ok(run, `the client did not register ${ACCEPT_COMMAND}: ${[...state.commands.keys()].join(', ')}`);
    assert.deepEqual(await run(...(item.command?.arguments ?? [])), { recorded: true });

    const status = await client.sendRequest<{ usageToday: Record<string, unknown> | null }>(
      'workspace/executeCommand',
      { command: 'ghostline.status', arguments: [] },
    );
    // The client announced that it runs the accept command: the rate is known.
    assert.deepEqual(status.usageToday, {
      requests: 1,
      shown: 1,
      accepted: 1,
      acceptanceRate: 1,
      escalations: 0,
      fallbacks: 0,
    });
  });
});
