/**
 * The question "Run generated tests in <workspace>?" (`window/showMessageRequest`) reaches the
 * user through the real vscode-languageclient 11, loaded against a fake `vscode` module, and
 * the picked action goes back to the server. The server is a stand-in shared with the Neovim
 * test (tests/clients/consent_server.py) that runs the real server's consent logic
 * (`ghostline.lsp.run_consent`) behind one command, so no model loads; the question's text
 * and actions are the server's own.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, pythonSetup } from '../protocol/session';
import { FakeState, createFakeVscode, loadWithFakeVscode, newFakeState } from './fakeVscode';
import { EXTENSION_ROOT } from './packageJson';

const RUN = 'Run tests in this workspace';
const SERVER = path.join(REPO_ROOT, 'tests', 'clients', 'consent_server.py');

interface MessageItem {
  readonly title: string;
}

interface Client {
  start(): Promise<void>;
  stop(timeout?: number): Promise<void>;
  sendRequest<R>(method: string, params: unknown): Promise<R>;
}

type ClientModule = {
  LanguageClient: new (
    id: string,
    name: string,
    serverOptions: unknown,
    clientOptions: unknown,
  ) => Client;
};

interface Decision {
  run: boolean;
  reason: string;
  remembered: boolean | null;
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

/**
 * The fake `vscode` of the unit tests, widened to what starting a LanguageClient touches;
 * `showInformationMessage` records the question and picks the item titled `choice()`.
 */
function clientVscode(
  state: FakeState,
  asked: { message: string; items: string[] }[],
  choice: () => string | undefined,
): unknown {
  const base = createFakeVscode(state) as Record<string, Record<string, unknown>>;
  const window = base.window as { createOutputChannel(name: string): object };
  const namespaces: Record<string, unknown> = {
    version: '1.91.0',
    window: lenient(base.window as object, {
      createOutputChannel: (name: string) => lenient(window.createOutputChannel(name)),
      showInformationMessage: (message: string, ...items: MessageItem[]) => {
        asked.push({ message, items: items.map((item) => item.title) });
        return Promise.resolve(items.find((item) => item.title === choice()));
      },
    }),
    workspace: lenient(base.workspace as object, { textDocuments: [], notebookDocuments: [] }),
    languages: lenient({}),
    notebooks: lenient({}),
    commands: lenient(base.commands as object),
    env: lenient(base.env as object, { appName: 'fake', language: 'en', machineId: 'm', sessionId: 's' }),
  };
  return new Proxy(base, { get: (t, prop) => (prop in namespaces ? namespaces[prop as string] : t[prop as string]) });
}

describe('the "run generated tests?" question (vscode-languageclient, fake VS Code)', { timeout: 60_000 }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostline-consent-'));
  const cache = path.join(tmp, 'cache');
  const shop = path.join(tmp, 'shop');
  const blog = path.join(tmp, 'blog');
  const state = newFakeState();
  const asked: { message: string; items: string[] }[] = [];
  let answer: string | undefined;
  let client: Client;

  const decide = (root: string): Promise<Decision> =>
    client.sendRequest<Decision>('workspace/executeCommand', {
      command: 'test.decideRunTests',
      arguments: [root],
    });

  before(async () => {
    fs.mkdirSync(shop);
    fs.mkdirSync(blog);
    const setup = pythonSetup();
    const languageclient = loadWithFakeVscode(
      require.resolve('vscode-languageclient/node', { paths: [EXTENSION_ROOT] }),
      clientVscode(state, asked, () => answer),
    ) as ClientModule;
    client = new languageclient.LanguageClient(
      'ghostline-consent',
      'Ghostline consent test',
      { command: setup.python, args: [SERVER], options: { env: { ...setup.env, GHOSTLINE_CACHE_DIR: cache } } },
      { documentSelector: [] },
    );
    await client.start();
  });

  after(async () => {
    await client?.stop(5_000).catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the question with its actions and sends the picked one back', async () => {
    answer = RUN;
    const decision = await decide(shop);
    assert.equal(asked.length, 1, state.log.join('\n'));
    assert.match(asked[0]?.message ?? '', /runs the project's code on this machine/);
    assert.match(asked[0]?.message ?? '', /Run generated tests in shop\?$/);
    assert.deepEqual(asked[0]?.items, [RUN, "Don't run"]);
    assert.deepEqual(decision, { run: true, reason: '', remembered: true });
    const file = JSON.parse(fs.readFileSync(path.join(cache, 'run-tests-consent.json'), 'utf8')) as unknown;
    assert.deepEqual(file, { workspaces: { [fs.realpathSync(shop)]: true } });
    assert.deepEqual(await decide(shop), decision);
    assert.equal(asked.length, 1, 'asked again in a workspace that answered');
  });

  it('treats a dismissed question as "not this time", asked again next time', async () => {
    answer = undefined;
    const decision = await decide(blog);
    assert.equal(decision.run, false);
    assert.equal(decision.remembered, null);
    assert.match(decision.reason, /not answered/);
    await decide(blog);
    assert.equal(asked.length, 3);
  });
});
