// Assembles the long-lived parts of a Gatehouse process: configuration, storage, keys and logger.
import { join } from 'node:path';
import { AdminKeys, ensureAdminKey } from './admin-keys.js';
import { bootstrap } from './bootstrap.js';
import type { Config } from './config.js';
import { loadSecretBox } from './crypto/secret-box.js';
import { ProvisioningWorker } from './domain/provisioning.js';
import { Janitor } from './domain/janitor.js';
import { Entitlements } from './domain/entitlements.js';
import { SamlIdp } from './domain/saml-idp.js';
import { IdTokenKey } from './domain/oauth/id-token-key.js';
import { TrustedIssuerKeys } from './domain/oauth/issuer-keys.js';
import { createLogger } from './log.js';
import type { App } from './services/service.js';
import { openPostgres } from './storage/postgres.js';
import { openSqlite } from './storage/sqlite.js';
import type { Storage } from './storage/storage.js';
import { secureDataDir } from './storage/data-dir.js';
import { explainSqliteError } from './storage/open-errors.js';
import { PageTokens } from './wire/pagination.js';
import { describeUsers } from './services/identitystore/user-json.js';

export async function openStorage(config: Config): Promise<Storage> {
  if (config.databaseUrl) {
    if (!/^postgres(ql)?:\/\//.test(config.databaseUrl)) throw new Error('DATABASE_URL must be a postgres:// URL');
    return openPostgres(config.databaseUrl);
  }
  secureDataDir(config.dataDir, config.allowSharedDataDir);
  const file = join(config.dataDir, 'gatehouse.db');
  try {
    return await openSqlite(file, { synchronous: config.sqliteSynchronous });
  } catch (err) {
    // SQLite's own words name neither the file nor what to do about it.
    throw explainSqliteError(err, file) ?? err;
  }
}

export interface OpenedApp {
  app: App;
  /** Set when this start generated the admin key: the caller shows it once. */
  generatedKey?: { accessKeyId: string; secretAccessKey: string };
}

export async function openApp(config: Config, clock: () => number = Date.now): Promise<OpenedApp> {
  // With PostgreSQL the data directory still holds encryption.key, unless the key comes from the environment (with
  // SQLite, openStorage checks it).
  if (config.databaseUrl && !process.env.GATEHOUSE_ENCRYPTION_KEY) secureDataDir(config.dataDir, config.allowSharedDataDir);
  const storage = await openStorage(config);
  const secrets = loadSecretBox(config.dataDir);
  const { pageTokenKey, managementAccountId } = await bootstrap(storage, config);
  const generatedKey = await ensureAdminKey(storage, secrets, config.adminAccessKeys.length, clock());
  // Users stored without the JSON they are shown as (before migration 0009, or changed by an earlier version).
  await describeUsers(storage);
  const log = createLogger(config.logLevel);
  const samlIdp = new SamlIdp(storage, secrets);
  // With federation on, the signing key is made now rather than by the first provisioning job (making it takes a moment).
  if (config.awsFederation.enabled) await samlIdp.signingKey(clock());
  // Loaded only when on: the AWS SDK costs every process time and memory at start.
  const federation = config.awsFederation.enabled
    ? new (await import('./domain/federation.js')).AwsFederation(
        config.awsFederation,
        config.region,
        samlIdp,
        () => `${config.publicUrl ?? `http://${config.host}:${config.port}`}/`,
        clock,
      )
    : undefined;
  // Poll often enough that a request completes close to its delay, but never busier than every 50 ms.
  const worker = new ProvisioningWorker(storage, { region: config.region, federation }, log, Math.max(50, Math.min(500, config.provisioningDelayMs / 4)), clock);
  worker.start();
  const janitor = new Janitor(storage, config.janitor, config.signIn, config.limits, log, clock);
  janitor.start();
  const app: App = {
    config,
    storage,
    secrets,
    adminKeys: new AdminKeys(config.adminAccessKeys, storage, secrets),
    log,
    pageTokens: new PageTokens(pageTokenKey),
    entitlements: new Entitlements(storage.db),
    samlIdp,
    idTokenKey: new IdTokenKey(storage, secrets),
    issuerKeys: new TrustedIssuerKeys(config.tokenIssuers, log),
    federation,
    managementAccountId,
    janitor,
    clock,
    async close() {
      await Promise.all([worker.stop(), janitor.stop()]);
      await storage.close();
    },
  };
  return { app, generatedKey };
}
