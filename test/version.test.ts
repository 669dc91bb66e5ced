// The version a shard announces in its User-Agent is the package's own.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_USER_AGENT, VERSION } from '../src/version.js';

describe('version', () => {
  it("is package.json's, and the default User-Agent names it", () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(DEFAULT_USER_AGENT).toBe(`DiscordBot (gloaming, ${pkg.version}) Node.js/${process.version}`);
  });
});
