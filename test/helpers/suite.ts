// One server for the enclosing describe block: started before its tests, stopped after them, with the clients and
// whatever else `setup` makes for it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startGatehouse, type TestServer } from './gatehouse.js';

export interface SuiteOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to a gatehouse.json of its own that GATEHOUSE_CONFIG points at (for the settings without a variable). */
  config?: Record<string, unknown>;
}

/**
 * Fills the returned object in before the block's tests run: `server`, and what `setup` gives (SDK clients, a
 * person…). Every member with a destroy() is destroyed after the tests, then the server stops.
 */
export function useGatehouse<C extends object>(opts: SuiteOptions, setup: (server: TestServer) => C | Promise<C>): { server: TestServer } & C {
  const ctx = {} as { server: TestServer } & C;
  let env = opts.env ?? {};
  if (opts.config) {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
    writeFileSync(join(dir, 'gatehouse.json'), JSON.stringify(opts.config));
    env = { GATEHOUSE_CONFIG: join(dir, 'gatehouse.json'), ...env };
    after(() => rmSync(dir, { recursive: true, force: true }));
  }
  before(async () => {
    ctx.server = await startGatehouse({ env });
    Object.assign(ctx, await setup(ctx.server));
  });
  after(async () => {
    for (const v of Object.values(ctx) as unknown[]) if (v !== ctx.server && typeof (v as { destroy?: unknown })?.destroy === 'function') (v as { destroy(): void }).destroy();
    await ctx.server?.stop();
  });
  return ctx;
}
