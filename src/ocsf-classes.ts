/**
 * The four OCSF 1.8.0 event classes Stele's records map to, with their categories and the
 * activities Stele uses (schema.ocsf.io/1.8.0; `events/application/api_activity.json`,
 * `events/iam/{authentication,account_change,entity_management}.json`). Only these numbers
 * and captions are copied here, the way a producer must name them; test/unit/ocsf.test.ts
 * reads the schema itself and checks every one.
 *
 *   type_uid = class_uid * 100 + activity_id     (OCSF 1.8.0 dictionary, `type_uid`)
 */

/** An OCSF event class: its uid, name and caption, its category's, and its activities. */
export interface OcsfClass {
  readonly uid: number;
  /** The class's schema name, e.g. `api_activity`. */
  readonly name: string;
  readonly caption: string;
  readonly category_uid: number;
  readonly category_name: string;
  /** activity_id → caption (0 Unknown and 99 Other come from the base event). */
  readonly activities: Readonly<Record<number, string>>;
}

const BASE_ACTIVITIES = { 0: 'Unknown', 99: 'Other' } as const;

/** API Activity (6003): CRUD calls to an API; Stele's reads and writes. */
export const API_ACTIVITY: OcsfClass = {
  uid: 6003,
  name: 'api_activity',
  caption: 'API Activity',
  category_uid: 6,
  category_name: 'Application Activity',
  activities: { ...BASE_ACTIVITIES, 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete' },
};

/** Authentication (3002): sign-ins, refused ones included. */
export const AUTHENTICATION: OcsfClass = {
  uid: 3002,
  name: 'authentication',
  caption: 'Authentication',
  category_uid: 3,
  category_name: 'Identity & Access Management',
  activities: {
    ...BASE_ACTIVITIES,
    1: 'Logon',
    2: 'Logoff',
    3: 'Authentication Ticket',
    4: 'Service Ticket Request',
    5: 'Service Ticket Renew',
    6: 'Preauth',
    7: 'Account Switch',
  },
};

/** Account Change (3001): an account (for Stele, an API token) created, disabled, deleted... */
export const ACCOUNT_CHANGE: OcsfClass = {
  uid: 3001,
  name: 'account_change',
  caption: 'Account Change',
  category_uid: 3,
  category_name: 'Identity & Access Management',
  activities: {
    ...BASE_ACTIVITIES,
    1: 'Create',
    2: 'Enable',
    3: 'Password Change',
    4: 'Password Reset',
    5: 'Disable',
    6: 'Delete',
    7: 'Attach Policy',
    8: 'Detach Policy',
    9: 'Lock',
    10: 'MFA Factor Enable',
    11: 'MFA Factor Disable',
    12: 'Unlock',
  },
};

/** Entity Management (3004): a managed entity (a stream's contents, keys) changed. */
export const ENTITY_MANAGEMENT: OcsfClass = {
  uid: 3004,
  name: 'entity_management',
  caption: 'Entity Management',
  category_uid: 3,
  category_name: 'Identity & Access Management',
  activities: {
    ...BASE_ACTIVITIES,
    1: 'Create',
    2: 'Read',
    3: 'Update',
    4: 'Delete',
    5: 'Move',
    6: 'Enroll',
    7: 'Unenroll',
    8: 'Enable',
    9: 'Disable',
    10: 'Activate',
    11: 'Deactivate',
    12: 'Suspend',
    13: 'Resume',
  },
};

/** Every class Stele emits, by uid. */
export const OCSF_CLASSES: ReadonlyMap<number, OcsfClass> = new Map(
  [API_ACTIVITY, AUTHENTICATION, ACCOUNT_CHANGE, ENTITY_MANAGEMENT].map((c) => [c.uid, c]),
);

/** The OCSF schema version every record names in `metadata.version`. */
export const OCSF_VERSION = '1.8.0';
