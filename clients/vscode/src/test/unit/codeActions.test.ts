import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { findGenerateTests } from '../../core/codeActions';

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
