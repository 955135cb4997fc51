// Verifying a trusted token issuer's JWT (CreateTokenWithIAM's JWT bearer grant): the issuer's key set is found by
// OpenID discovery (`<IssuerUrl>/.well-known/openid-configuration` → `jwks_uri`), over https only, each fetch bounded
// in time and size; kept per process for as long as its Cache-Control allows (at most tokenIssuers.maxCacheSeconds),
// and fetched again when a token names a key id the kept set lacks (at most once per unknownKeyRefetchSeconds per
// issuer, so that made-up key ids cannot make Gatehouse fetch without end). jose does the signature and claim checks.
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Config } from '../../config.js';
import type { Logger } from '../../log.js';

/** Why a token was refused, in words safe to show its presenter. */
export class TokenRefused extends Error {}

type KeyLookup = ReturnType<typeof createLocalJWKSet>;

interface KeptSet {
  keys: KeyLookup;
  fetchedAt: number;
  freshUntil: number;
}

/** The asymmetric algorithms an issuer may sign with: never `none`, never an HMAC (its key would be public). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Leeway for clocks that disagree a little, for `exp`, `nbf` and `iat`. */
const CLOCK_TOLERANCE_SECONDS = 60;

export class TrustedIssuerKeys {
  /** Key sets by issuer URL, least recently used first (a Map keeps insertion order). */
  private readonly kept = new Map<string, KeptSet>();
  /** Fetches under way, by issuer URL: requests that need the same set at once share one fetch. */
  private readonly fetching = new Map<string, Promise<KeptSet>>();

  constructor(
    private readonly limits: Config['tokenIssuers'],
    private readonly log: Logger,
  ) {}

  /**
   * The token's claims once its signature (a key of the issuer's set), `iss` (the issuer URL), `aud` (one of
   * `audiences`), `exp` and `nbf` are checked at `now`; throws TokenRefused otherwise.
   */
  async verify(issuerUrl: string, token: string, audiences: string[], now: number): Promise<JWTPayload> {
    const lookup = async (header: Parameters<KeyLookup>[0], jws: Parameters<KeyLookup>[1]) => {
      let set = await this.keySet(issuerUrl, now);
      try {
        return await set.keys(header, jws);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey) || now - set.fetchedAt < this.limits.unknownKeyRefetchSeconds * 1000) throw err;
        set = await this.fetchShared(issuerUrl, now);
        return set.keys(header, jws);
      }
    };
    try {
      const { payload } = await jwtVerify(token, lookup, {
        issuer: issuerUrl,
        audience: audiences,
        algorithms: ALGORITHMS,
        currentDate: new Date(now),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (err) {
      throw new TokenRefused(refusal(err));
    }
  }

  private async keySet(issuerUrl: string, now: number): Promise<KeptSet> {
    const set = this.kept.get(issuerUrl);
    if (set && set.freshUntil > now) {
      this.kept.delete(issuerUrl);
      this.kept.set(issuerUrl, set);
      return set;
    }
    return this.fetchShared(issuerUrl, now);
  }

  private fetchShared(issuerUrl: string, now: number): Promise<KeptSet> {
    let pending = this.fetching.get(issuerUrl);
    if (!pending) {
      pending = this.fetchSet(issuerUrl, now).finally(() => this.fetching.delete(issuerUrl));
      this.fetching.set(issuerUrl, pending);
    }
    return pending;
  }

  private async fetchSet(issuerUrl: string, now: number): Promise<KeptSet> {
    try {
      const discovery = await this.fetchJson(`${issuerUrl.replace(/\/+$/, '')}/.well-known/openid-configuration`);
      const doc = discovery.body as { issuer?: unknown; jwks_uri?: unknown };
      // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for, exactly.
      if (doc.issuer !== issuerUrl) throw new TokenRefused(`the issuer's discovery document names the issuer ${String(doc.issuer)}, not ${issuerUrl}`);
      if (typeof doc.jwks_uri !== 'string' || !doc.jwks_uri.startsWith('https://')) throw new TokenRefused("the issuer's discovery document has no https jwks_uri");
      const jwks = await this.fetchJson(doc.jwks_uri);
      if (!Array.isArray((jwks.body as { keys?: unknown })?.keys)) throw new TokenRefused("the issuer's jwks_uri does not hold a JSON Web Key Set");
      const set: KeptSet = {
        keys: createLocalJWKSet(jwks.body as JSONWebKeySet),
        fetchedAt: now,
        freshUntil: now + Math.min(jwks.maxAgeSeconds ?? Number.POSITIVE_INFINITY, this.limits.maxCacheSeconds) * 1000,
      };
      this.kept.delete(issuerUrl);
      this.kept.set(issuerUrl, set);
      while (this.kept.size > this.limits.cachedIssuers) this.kept.delete(this.kept.keys().next().value!);
      return set;
    } catch (err) {
      const reason = err instanceof TokenRefused ? err.message : err instanceof Error ? err.message : String(err);
      this.log.warn({ issuerUrl, reason }, 'trusted token issuer keys could not be fetched: CreateTokenWithIAM refused');
      throw err instanceof TokenRefused ? err : new TokenRefused(`the trusted token issuer's keys could not be fetched: ${reason}`);
    }
  }

  /** GETs a JSON document over https, within the time and size limits; its max-age, if it states one. */
  private async fetchJson(url: string): Promise<{ body: unknown; maxAgeSeconds?: number }> {
    if (!url.startsWith('https://')) throw new TokenRefused(`${url} is not an https URL`);
    const { fetchTimeoutSeconds, maxDocumentBytes } = this.limits;
    const res = await fetch(url, { signal: AbortSignal.timeout(fetchTimeoutSeconds * 1000), redirect: 'error', headers: { accept: 'application/json' } }).catch((err: Error) => {
      throw new TokenRefused(err.name === 'TimeoutError' ? `${url} did not answer within ${fetchTimeoutSeconds} s (tokenIssuers.fetchTimeoutSeconds)` : `${url}: ${causeOf(err)}`);
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new TokenRefused(`${url} answered HTTP ${res.status}`);
    }
    const tooLarge = () => new TokenRefused(`${url} is larger than ${maxDocumentBytes} bytes (tokenIssuers.maxDocumentBytes)`);
    if (Number(res.headers.get('content-length') ?? 0) > maxDocumentBytes) {
      await res.body?.cancel();
      throw tooLarge();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxDocumentBytes) {
          await reader.cancel();
          throw tooLarge();
        }
        chunks.push(value);
      }
    } catch (err) {
      if (err instanceof TokenRefused) throw err;
      throw new TokenRefused(
        (err as Error).name === 'TimeoutError' ? `${url} did not answer within ${fetchTimeoutSeconds} s (tokenIssuers.fetchTimeoutSeconds)` : `${url}: ${causeOf(err)}`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new TokenRefused(`${url} did not answer with JSON`);
    }
    return { body, maxAgeSeconds: maxAge(res.headers.get('cache-control')) };
  }
}

/** Cache-Control's freshness for Gatehouse's private cache: no-store and no-cache mean none, max-age its seconds. */
function maxAge(header: string | null): number | undefined {
  if (!header) return undefined;
  const directives = header
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return 0;
  const m = directives.map((d) => /^max-age=(\d+)$/.exec(d)).find(Boolean);
  return m ? Number(m[1]) : undefined;
}

/** fetch's TypeError hides the reason (a refused connection, an untrusted certificate) in its cause. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

/** jose's refusal in words for the presenter of the token. */
function refusal(err: unknown): string {
  if (err instanceof TokenRefused) return err.message;
  if (err instanceof errors.JWTExpired) return 'The token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'The token is not for an authorized audience of this application';
    if (err.claim === 'iss') return 'The token was not issued by the trusted token issuer';
    if (err.claim === 'nbf') return 'The token is not valid yet';
    return `The token's ${err.claim} claim is invalid`;
  }
  if (err instanceof errors.JWKSNoMatchingKey) return "No key of the trusted token issuer's key set matches the token";
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'The token signature is invalid';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'The token is signed with an algorithm that is not accepted';
  if (err instanceof errors.JOSEError) return 'The token is not a valid signed JWT';
  return 'The token could not be verified';
}
