/**
 * What a route of the ledger's API is: the one declaration (route-table.ts) that routing,
 * authorization, the `_access` record, /v1/openapi.json, docs/api.md's tables and the tests'
 * lists of endpoints are all read from. A handler receives only what its declaration checked
 * (router.ts), so it cannot read a parameter the declaration does not name.
 */
import type { Context } from 'hono';
import type { Permission } from '../../src/index.js';
import type { AppEnv } from './auth.js';
import type { Infer, Params, ParamValues, PathValues, Schema } from './schema.js';

export type Method = 'GET' | 'POST' | 'DELETE';

/** The actions of `_access` records (docs/api.md §Access records). */
export type AccessAction =
  | 'streams.list'
  | 'entries.read'
  | 'tail.open'
  | 'verify.read'
  | 'verify.check'
  | 'search'
  | 'tokens.list'
  | 'tokens.create'
  | 'tokens.revoke'
  | 'destinations.list'
  | 'destinations.read'
  | 'destinations.create'
  | 'destinations.delete'
  | 'destinations.resume'
  | 'config.erase'
  | 'config.rotate-keys';

/** Actions recorded for requests no route records: refused, or served by no route. */
export type RefusalAction = 'auth.refused' | 'request.forbidden' | 'request.unrouted';

/**
 * Who may call a route.
 *   permission  what the caller's role must grant (src/token.ts)
 *   stream      where the stream it acts on is named: its scope must cover it, and a
 *               system stream (`_access`) needs an admin
 *   everyStream the caller's scope must hold "*" itself (it acts on all streams)
 *   system      the rule that refuses every caller on a system stream, admins included
 */
export type Auth =
  | 'public'
  | {
      readonly permission: Permission;
      readonly stream?: 'path' | 'query' | 'body';
      readonly everyStream?: string;
      readonly system?: string;
      /**
       * The setting (a list of stream globs) under which the route is public for the path's
       * stream: a request without credentials is served, and not recorded.
       */
      readonly publicWith?: 'PUBLIC_TILES';
    };

/**
 * What the request leaves in `_access`. `recordedBy: 'handler'`: the handler records it
 * before it acts (an erasure is never done unrecorded) and the router records only what the
 * handler refused before that.
 */
export type Access =
  | { readonly action: AccessAction; readonly recordedBy?: 'handler' }
  | { readonly unrecorded: string };

export type Tag =
  | 'meta'
  | 'events'
  | 'streams'
  | 'proofs'
  | 'verify'
  | 'search'
  | 'tokens'
  | 'destinations'
  | 'admin';

/** An OpenAPI response, by status. */
export type Responses = Readonly<Record<number, object>>;

/** A request body. `schema`: checked and handed over parsed; `raw`: the handler reads it. */
export type Body =
  | {
      readonly kind: 'json';
      readonly maxBytes: number;
      readonly name: string;
      readonly schema: Schema;
    }
  | {
      readonly kind: 'raw';
      readonly maxBytes: number;
      /** OpenAPI request content, by media type. */
      readonly content: Readonly<Record<string, object>>;
    };

export interface RouteSpec {
  readonly method: Method;
  /**
   * Hono syntax: `/v1/streams/:stream/entries/:seq`; a parameter that spans segments names
   * its pattern, `:tile{[0-9]+/.+}` (router.ts and Hono read the same).
   */
  readonly path: string;
  readonly tag: Tag;
  readonly summary: string;
  /** docs/api.md and OpenAPI: what it does, beyond what the fields below say. */
  readonly description: string;
  readonly auth: Auth;
  readonly access: Access;
  readonly params?: Params;
  readonly query?: Params;
  readonly headers?: Params;
  readonly body?: Body;
  readonly responses: Responses;
}

/** What a handler gets: every declared input, checked. */
export interface Input<R extends RouteSpec> {
  readonly params: PathValues<NonNullable<R['params']>>;
  readonly query: ParamValues<NonNullable<R['query']>>;
  readonly headers: ParamValues<NonNullable<R['headers']>>;
  readonly body: R['body'] extends { kind: 'json'; schema: infer S } ? Infer<S> : undefined;
}

export type Handler<R extends RouteSpec> = (
  c: Context<AppEnv>,
  input: Input<R>,
) => Response | Promise<Response>;

/** Declares a route (keeps its literal types, for `Input`). */
export function defineRoute<const R extends RouteSpec>(r: R): R {
  return r;
}

/** A path parameter: `:name`, or `:name{pattern}` for one that spans segments. */
export const PATH_PARAM = /:([a-z]+)(?:\{([^}]+)\})?/g;

/** `/v1/streams/:stream` -> `/v1/streams/{stream}` (OpenAPI and docs). */
export function docPath(path: string): string {
  return path.replace(PATH_PARAM, '{$1}');
}
