/**
 * A middleware that records every request a service handles as an audit event: who (the
 * caller you identify), what (method and route), when, from where (IP, user agent, request
 * id), and with which outcome (from the response status). It is written against Hono's
 * middleware shape, structurally, so this module needs no Hono import (docs/sdk.md):
 *
 * @example
 *   const log = new StreamWriter({ url, token, stream: 'admin-api', lingerMs: 50 });
 *   app.use('*', auditMiddleware(log, { actor: (c) => c.req.header('x-user') ?? 'anonymous' }));
 */
import type { Appended } from './writer.js';

/** What the middleware reads of a Hono context. */
export interface AuditContext {
  readonly req: {
    readonly method: string;
    readonly path: string;
    readonly routePath?: string;
    header(name: string): string | undefined;
  };
  readonly res: { readonly status: number };
  readonly executionCtx?: { waitUntil(p: Promise<unknown>): void };
}

export interface AuditMiddlewareOptions<C extends AuditContext> {
  /** Who is calling: an id string, or { id, type?, name? }. */
  actor(c: C): string | { id: string; type?: string; name?: string };
  /** What was done (default: "<METHOD> <route>"). */
  action?(c: C): string;
  /** On what (default: none). */
  targets?(c: C): { id: string; type?: string; name?: string }[];
  /** Called when an event could not be recorded after the writer's retries. */
  onError?(e: unknown): void;
}

export function auditMiddleware<C extends AuditContext>(
  writer: { append(e: Record<string, unknown>): Promise<Appended> },
  o: AuditMiddlewareOptions<C>,
): (c: C, next: () => Promise<void>) => Promise<void> {
  return async (c, next) => {
    const occurred = new Date().toISOString();
    let thrown: unknown;
    try {
      await next();
    } catch (e) {
      thrown = e;
    }
    const status = thrown === undefined ? c.res.status : 500;
    const ip =
      c.req.header('cf-connecting-ip') ?? c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    const ua = c.req.header('user-agent');
    const rid = c.req.header('cf-ray') ?? c.req.header('x-request-id');
    const targets = o.targets?.(c);
    const event: Record<string, unknown> = {
      action: (o.action?.(c) ?? `${c.req.method} ${c.req.routePath ?? c.req.path}`).slice(0, 128),
      actor: o.actor(c),
      outcome: status < 400 ? 'success' : 'failure',
      occurred_at: occurred,
      context: {
        ...(ip && /^[0-9a-fA-F:.]{2,45}$/.test(ip) ? { ip } : {}),
        ...(ua ? { user_agent: ua.slice(0, 1024) } : {}),
        ...(rid ? { request_id: rid.slice(0, 256) } : {}),
      },
      metadata: { status, path: c.req.path.slice(0, 1024) },
      ...(targets && targets.length > 0 ? { targets } : {}),
    };
    const recorded = writer.append(event).catch((e) => o.onError?.(e));
    // In Workers the response need not wait: waitUntil keeps the request alive until the
    // event is committed. Elsewhere, wait, so that no request goes unrecorded.
    let ctx: AuditContext['executionCtx'];
    try {
      ctx = c.executionCtx; // Hono's getter throws where there is no execution context
    } catch {}
    if (ctx?.waitUntil) ctx.waitUntil(recorded);
    else await recorded;
    if (thrown !== undefined) throw thrown;
  };
}
