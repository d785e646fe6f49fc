/**
 * The destinations page's reading of a destination (src/console/destination-view.ts): its
 * status from the API's state (paused wins over failures, with its reason and since when),
 * its type members shown generically (any type, no member of the common ones), and the
 * examples the add form loads, each a configuration the ledger's own parser accepts.
 */
import { describe, expect, it } from 'vitest';
import {
  destinationStatus,
  exampleConfig,
  statusText,
  TYPE_EXAMPLES,
  typeMembersText,
} from '../../src/console/destination-view.js';
import { DESTINATION_TYPES, parseDestinationConfig } from '../../src/destination-config.js';
import {
  DESTINATION_COMMON_MEMBERS,
  type DestinationRecord,
  destinationTypeMembers,
} from '../../src/ledger-client.js';

type State = NonNullable<DestinationRecord['state']>;

const state = (over: Partial<State> = {}): State => ({
  paused: false,
  paused_reason: null,
  paused_at: null,
  failures: 0,
  last_error: null,
  delivered_at: null,
  lag: 0,
  streams: [],
  ...over,
});

const webhook = (over: Partial<DestinationRecord> = {}): DestinationRecord => ({
  name: 'siem',
  streams: ['prod-*'],
  type: 'webhook',
  format: 'raw',
  url: 'https://siem.example/stele',
  secret: 'DEST_SIEM_KEY',
  created_at: '2026-12-05T22:00:00.000Z',
  state: state(),
  ...over,
});

describe('destination status', () => {
  it('is ok with no failure', () => {
    const st = destinationStatus(webhook());
    expect(st, 'status').toEqual({ kind: 'ok' });
    expect(statusText(st), 'text').toBe('ok');
  });

  it('is failing with failures in a row, not yet paused', () => {
    const st = destinationStatus(webhook({ state: state({ failures: 3 }) }));
    expect(st, 'status').toEqual({ kind: 'failing', failures: 3 });
    expect(statusText(st), 'text').toBe('failing: 3 in a row');
  });

  it('is paused with its reason and since when, whatever the failures', () => {
    const st = destinationStatus(
      webhook({
        state: state({
          paused: true,
          paused_reason: '10 failures in a row; last: the receiver answered HTTP 500',
          paused_at: '2026-12-05T22:10:00.000Z',
          failures: 10,
        }),
      }),
    );
    expect(st, 'status').toEqual({
      kind: 'paused',
      reason: '10 failures in a row; last: the receiver answered HTTP 500',
      since: '2026-12-05T22:10:00.000Z',
    });
    expect(statusText(st), 'text').toBe(
      'PAUSED: 10 failures in a row; last: the receiver answered HTTP 500',
    );
  });

  it('says a paused destination without a reason has none', () => {
    const st = destinationStatus(webhook({ state: state({ paused: true }) }));
    expect(statusText(st), 'text').toBe('PAUSED: no reason given');
  });

  it('is starting before its object reports', () => {
    expect(destinationStatus(webhook({ state: null })), 'status').toEqual({ kind: 'starting' });
  });
});

describe('type members', () => {
  it("are a webhook's url and secret name", () => {
    expect(typeMembersText(webhook()), 'members').toEqual([
      'url = https://siem.example/stele',
      'secret = DEST_SIEM_KEY',
    ]);
  });

  it('are any members of a type this page does not know, non-strings as JSON', () => {
    const other = {
      name: 'bucket',
      streams: ['*'],
      type: 'r2',
      format: 'ocsf',
      ocsf_rules: [{ prefix: 'x.', class_uid: 6003 }],
      created_at: '2026-12-05T22:00:00.000Z',
      state: null,
      bucket: 'audit-copy',
      prefix: 'stele/',
      security_lake: true,
      access_key: 'DEST_R2_KEY',
    } as DestinationRecord;
    expect(typeMembersText(other), 'members').toEqual([
      'bucket = audit-copy',
      'prefix = stele/',
      'security_lake = true',
      'access_key = DEST_R2_KEY',
    ]);
  });

  it('never include a common member', () => {
    const members = destinationTypeMembers(webhook({ ocsf_rules: [] }));
    for (const [k] of members)
      expect(DESTINATION_COMMON_MEMBERS.has(k), `${k} is a common member`).toBe(false);
    expect(
      members.map(([k]) => k),
      'only its own',
    ).toEqual(['url', 'secret']);
  });
});

describe('examples', () => {
  it('has one for every supported type, each accepted by the ledger parser as it is', () => {
    for (const type of DESTINATION_TYPES) {
      const text = exampleConfig(type);
      const parsed = parseDestinationConfig(text, { allowLocalHttp: false });
      expect(parsed.type, type).toBe(type);
      expect(JSON.parse(text), `${type}: the parser keeps every member`).toEqual(parsed);
    }
  });

  it('names secrets, never holds a key', () => {
    for (const type of Object.keys(TYPE_EXAMPLES))
      expect(exampleConfig(type), type).not.toMatch(/whsec_|[A-Za-z0-9+/]{32,}/);
  });

  it('has no example for an unknown type, nor for a property of objects', () => {
    expect(() => exampleConfig('carrier-pigeon'), 'unknown').toThrow(RangeError);
    expect(() => exampleConfig('toString'), 'inherited').toThrow(RangeError);
  });
});
