/** JWT HS256 with jose: the token orghub issues and chat checks. Claims: sub/user_id, tenant_id, role. */
import { SignJWT, jwtVerify } from 'jose';

export type Role = 'admin' | 'manager' | 'user';
export interface Principal {
  userId: string;
  tenantId: string;
  role: Role;
  /** Expiry, seconds since epoch. */
  exp: number;
}

export class Jwt {
  private readonly key: Uint8Array;
  constructor(
    secret: string,
    private readonly ttlSeconds = 24 * 3600,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async sign(p: { userId: string; tenantId: string; role: Role }): Promise<string> {
    return new SignJWT({ user_id: p.userId, tenant_id: p.tenantId, role: p.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(p.userId)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** Tokens already verified (HMAC costs ~80 µs per request in Node); bounded, entries honour `exp`. */
  private readonly verified = new Map<string, Principal>();

  /** The principal, or null when the token is bad or expired. */
  async verify(token: string): Promise<Principal | null> {
    const hit = this.verified.get(token);
    if (hit) {
      if (hit.exp * 1000 > Date.now()) return hit;
      this.verified.delete(token);
      return null;
    }
    const p = await this.verifyUncached(token);
    if (p) {
      if (this.verified.size >= 20_000) this.verified.clear();
      this.verified.set(token, p);
    }
    return p;
  }

  private async verifyUncached(token: string): Promise<Principal | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      const userId = payload['user_id'];
      const tenantId = payload['tenant_id'];
      const role = payload['role'];
      if (typeof userId !== 'string' || typeof tenantId !== 'string') return null;
      if (role !== 'admin' && role !== 'manager' && role !== 'user') return null;
      return { userId, tenantId, role, exp: payload.exp ?? 0 };
    } catch {
      return null;
    }
  }
}

/** The token from `Authorization: Bearer <t>`, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
