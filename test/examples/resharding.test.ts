// examples/resharding.ts runs offline as a bot author would run it, and does what it says.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const EXAMPLE = fileURLToPath(new URL('../../examples/resharding.ts', import.meta.url));

describe('examples/resharding.ts', () => {
  it('moves its fleet from 2 to 4 shards against the in-process FakeGateway and exits', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.DISCORD_TOKEN;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', EXAMPLE], { env, timeout: 60_000 });
    expect(stdout).toMatch(/^running 2 shards$/m);
    expect(stdout).toMatch(/^resharded 2 → 4: switched after \d+ ms/m);
    expect(stdout).toMatch(/the fleet ran 4 shards at the end$/m);
  }, 70_000);
});
