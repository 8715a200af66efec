/**
 * The extension mirrors the server: every server setting has a `ghostline.*` setting with
 * the same default, and every language the client sends is one the server's index knows.
 * Reads the real server package through the test interpreter.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { LANGUAGE_IDS } from '../../core/languages';
import { SERVER_SETTING_KEYS } from '../../core/settings';
import { contributedDefaults } from '../unit/packageJson';
import { pythonSetup } from './session';

const DUMP = `
import dataclasses, json, re
from ghostline.settings import Settings
from ghostline.index.languages import LANGUAGES

def camel(name):
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)

defaults = {camel(f.name): getattr(Settings(), f.name) for f in dataclasses.fields(Settings)}
ids = sorted({i for spec in LANGUAGES for i in spec.language_ids})
print(json.dumps({"settings": defaults, "languageIds": ids}, default=lambda o: dataclasses.asdict(o)))
`;

interface ServerFacts {
  readonly settings: Record<string, unknown>;
  readonly languageIds: string[];
}

function serverFacts(): ServerFacts {
  const { python, env } = pythonSetup();
  const out = spawnSync(python, ['-c', DUMP], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(out.status, 0, out.stderr);
  return JSON.parse(out.stdout) as ServerFacts;
}

describe('extension ↔ server contract', () => {
  const facts = serverFacts();

  it('mirrors every server setting, and only those', () => {
    assert.deepEqual([...SERVER_SETTING_KEYS].sort(), Object.keys(facts.settings).sort());
  });

  it('declares the server’s default for each mirrored setting', () => {
    const contributed = contributedDefaults();
    for (const key of SERVER_SETTING_KEYS) {
      assert.deepEqual(contributed.get(key), facts.settings[key], `ghostline.${key}`);
    }
  });

  it('sends only languages the server indexes', () => {
    const unknown = LANGUAGE_IDS.filter((id) => !facts.languageIds.includes(id));
    assert.deepEqual(unknown, []);
  });
});
