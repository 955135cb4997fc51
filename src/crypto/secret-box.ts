// Encryption at rest for secrets Gatehouse must read back in clear (SigV4 secret keys): AES-256-GCM under a key
// from GATEHOUSE_ENCRYPTION_KEY, or from a key file created once in the data directory with mode 0600. The same key
// seals what Gatehouse hands out and must recognise later without storing it (role credentials' session tokens).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { narrow } from '../storage/data-dir.js';

export class SecretBox {
  /** Keys derived for other purposes, by purpose: each derived once (the purposes are a few fixed strings). */
  private readonly derived = new Map<string, Buffer>();

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the encryption key must be 32 bytes');
  }

  /** A secret as stored: `v1.<iv>.<tag>.<ciphertext>`, each part base64url, sealed as sealBytes seals. */
  seal(plaintext: string): string {
    const sealed = this.sealBytes(Buffer.from(plaintext, 'utf8'));
    const part = (from: number, to?: number) => sealed.subarray(from, to).toString('base64url');
    return `v1.${part(0, 12)}.${part(12, 28)}.${part(28)}`;
  }

  /** AES-256-GCM of bytes as one buffer: 12 bytes of IV, 16 of tag, then the ciphertext. */
  sealBytes(plaintext: Buffer): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = cipher.update(plaintext);
    cipher.final();
    return Buffer.concat([iv, cipher.getAuthTag(), data]);
  }

  /** The bytes sealBytes sealed; undefined for anything it did not seal under this key (or that was altered). */
  openBytes(sealed: Buffer): Buffer | undefined {
    if (sealed.length < 28) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, 12));
      decipher.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
    } catch {
      return undefined;
    }
  }

  /**
   * A key for another purpose, derived from this one (HKDF-SHA256), so one configured key serves every use. The same
   * buffer comes back for a purpose on every call: it is a key to use, never to write to.
   */
  derive(purpose: string): Buffer {
    let key = this.derived.get(purpose);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `gatehouse ${purpose}`, 32));
      this.derived.set(purpose, key);
    }
    return key;
  }

  open(sealed: string): string {
    const [v, ...parts] = sealed.split('.');
    if (v !== 'v1' || parts.length !== 3) throw new Error('unknown sealed secret format');
    const opened = this.openBytes(Buffer.concat(parts.map((p) => Buffer.from(p, 'base64url'))));
    if (!opened) throw new Error('the sealed secret does not open with this encryption key');
    return opened.toString('utf8');
  }
}

/** The key from the environment (hex or base64 of 32 bytes), else the data directory's key file, made on first use. */
export function loadSecretBox(dataDir: string, fromEnv = process.env.GATEHOUSE_ENCRYPTION_KEY): SecretBox {
  if (fromEnv) {
    const key = /^[0-9a-f]{64}$/i.test(fromEnv) ? Buffer.from(fromEnv, 'hex') : Buffer.from(fromEnv, 'base64');
    return new SecretBox(key);
  }
  const file = join(dataDir, 'encryption.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process created it first; use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  // A key file an earlier version wrote under a wider umask is narrowed like the database's files.
  narrow(file);
  return new SecretBox(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
}
