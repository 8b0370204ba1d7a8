/**
 * Bearer-token authentication with two roles. Tokens come from the configuration
 * (dashboard.tokens.viewer / .operator, or TAPLINE__dashboard__tokens__operator='[...]').
 * Each presented token is hashed and compared against every configured token's hash with
 * timingSafeEqual, so neither the comparison nor an early exit leaks how much of a token matched.
 */
import crypto from 'node:crypto';
import { HttpError } from './http-error';

export type Role = 'viewer' | 'operator';

export interface Principal {
  role: Role;
  /** Stable, non-secret name of the token (role + first hex digits of its hash), recorded with acks. */
  name: string;
}

interface Entry { hash: Buffer; principal: Principal }

const sha256 = (s: string): Buffer => crypto.createHash('sha256').update(s, 'utf8').digest();

export class TokenAuth {
  private readonly entries: Entry[];

  constructor(tokens: { viewer: string[]; operator: string[] }) {
    const entry = (role: Role) => (t: string): Entry => {
      const hash = sha256(t);
      return { hash, principal: { role, name: `${role}:${hash.toString('hex').slice(0, 8)}` } };
    };
    this.entries = [...tokens.operator.map(entry('operator')), ...tokens.viewer.map(entry('viewer'))];
  }

  get configured(): boolean { return this.entries.length > 0; }

  /** The principal for a request: `Authorization: Bearer <t>`, or `?token=` only when allowed (EventSource cannot set headers). */
  authenticate(authorization: string | undefined, queryToken: string | undefined, allowQueryToken: boolean): Principal {
    let token: string | undefined;
    if (authorization !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m) throw new HttpError(401, 'unauthorized', 'the Authorization header must be "Bearer <token>"');
      token = m[1];
    } else if (queryToken !== undefined && allowQueryToken) {
      token = queryToken;
    }
    if (token === undefined) throw new HttpError(401, 'unauthorized', 'a bearer token is required (Authorization: Bearer <token>)');
    const h = sha256(token);
    let found: Principal | null = null;
    for (const e of this.entries) if (crypto.timingSafeEqual(e.hash, h) && found === null) found = e.principal; // no early exit
    if (!found) throw new HttpError(401, 'unauthorized', 'unknown token');
    return found;
  }
}

export function requireRole(p: Principal, role: Role): void {
  if (role === 'operator' && p.role !== 'operator') {
    throw new HttpError(403, 'forbidden', `this action needs the operator role; token ${p.name} has the ${p.role} role`);
  }
}
