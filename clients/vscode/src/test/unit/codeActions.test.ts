import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { findGenerateTests, isBareCommand, needsResolve } from '../../core/codeActions';

describe('findGenerateTests', () => {
  it('picks the first "Generate tests for" action', () => {
    const actions = [
      { title: 'Organize imports' },
      { title: 'Generate tests for inner' },
      { title: 'Generate tests for outer' },
    ];
    assert.equal(findGenerateTests(actions)?.title, 'Generate tests for inner');
  });

  it('answers undefined when there is none', () => {
    assert.equal(findGenerateTests([{ title: 'Extract method' }]), undefined);
    assert.equal(findGenerateTests(null), undefined);
    assert.equal(findGenerateTests(undefined), undefined);
  });
});

describe('isBareCommand / needsResolve', () => {
  const unresolved = { title: 'Generate tests for f', kind: 'refactor', data: { provider: 'generateTests' } };
  const resolved = { ...unresolved, edit: { changes: {} } };
  const withCommand = { ...unresolved, command: { title: 't', command: 'ghostline.x' } };
  const bare = { title: 'Generate tests for f', command: 'ghostline.generateTests', arguments: [] };

  it('tells a bare Command from a CodeAction', () => {
    assert.equal(isBareCommand(bare), true);
    assert.equal(isBareCommand(withCommand), false);
    assert.equal(isBareCommand(unresolved), false);
  });

  it('resolves only a code action with neither edit nor command', () => {
    assert.equal(needsResolve(unresolved), true);
    assert.equal(needsResolve(resolved), false);
    assert.equal(needsResolve(withCommand), false);
    assert.equal(needsResolve(bare), false);
  });
});
