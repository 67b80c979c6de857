/** The internal (default) provider against the same contract as the external ones. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { InternalKms } from '../../../server/src/keys/providers/internal.ts';
import { providerContract } from './contract.ts';

describe('internal provider', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiseki-internal-kms-'));
  const kms = new InternalKms(dir);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  providerContract(() => kms);
});
