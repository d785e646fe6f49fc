/**
 * A real syslog receiver for the syslog destination's tests: Debian's rsyslogd, run as its
 * own process (never the system's service, never as root) with its own configuration in a
 * temporary folder: imtcp over TLS (gtls driver, mode 1, anonymous client auth, as RFC 5425
 * with server authentication only) on 127.0.0.1, octet-counted frames, and every message
 * written by the template `%jsonmesg%` (rsyslog's own parse of it: PRI, header fields,
 * STRUCTURED-DATA, MSG, the raw message) to one file. The certificate is self-signed and
 * made for the test (openssl); the ledger trusts it through startLedger's
 * `trustedCertificates`.
 *
 * rsyslog and its TLS driver come from apt (scripts/install-rsyslog.mjs) when missing; when
 * they cannot be had the receiver throws, saying how to install them: the tests fail, they
 * never skip.
 *
 * stop() and start() again on the same port make an outage; records() are the MSGs as the
 * JSON records they carry, in arrival order; ndjson() is the second file rsyslog writes, with
 * the template docs/destinations.md gives (the records alone, as NDJSON).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..', '..');
const RSYSLOGD = process.env.STELE_RSYSLOGD ?? '/usr/sbin/rsyslogd';
/** rsyslog runs as nobody when the tests run as root. */
const NOBODY = 65534;
const BOM = '\uFEFF';

/** rsyslog's parse of one message (`%jsonmesg%`), the members the tests read. */
export interface RsyslogMessage {
  readonly msg: string;
  readonly rawmsg: string;
  readonly pri: string;
  readonly syslogfacility: string;
  readonly syslogseverity: string;
  readonly timereported: string;
  readonly hostname: string;
  readonly 'app-name': string;
  readonly procid: string;
  readonly msgid: string;
  readonly 'structured-data': string;
  readonly 'protocol-version': string;
}

export interface SyslogReceiver {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The receiver's self-signed certificate (PEM), for the ledger to trust. */
  readonly certificate: string;
  /** Every message received, as rsyslog parsed it, in arrival order. */
  messages(): RsyslogMessage[];
  /** Each message's MSG (BOM checked and removed) as the JSON record it carries. */
  records(): Record<string, unknown>[];
  /**
   * The file rsyslog writes with docs/destinations.md's template (`%msg:4:$%`, MSG without
   * its BOM): the records as NDJSON, for `stele verify --from`.
   */
  ndjson(): string;
  /** Stops rsyslogd (SIGTERM, waits for it to exit): connections are refused. */
  stop(): Promise<void>;
  /** Starts rsyslogd again on the same port, the same file appended to. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  dispose(): Promise<void>;
}

let installed: string | undefined;

/** Makes sure rsyslogd and its TLS driver are installed (once per process). */
function ensureRsyslog(): void {
  if (installed === 'yes') return;
  const r = spawnSync(process.execPath, [join(root, 'scripts/install-rsyslog.mjs')], {
    stdio: 'inherit',
  });
  if (r.status !== 0 || !existsSync(RSYSLOGD))
    throw new Error(
      'syslog tests: rsyslogd with its TLS driver is missing and could not be installed; ' +
        'run `npm run install:rsyslog` as root (apt-get install -y --no-install-recommends ' +
        'rsyslog rsyslog-gnutls openssl). These tests never skip.',
    );
  installed = 'yes';
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts rsyslogd with TLS on 127.0.0.1 (a free port, or `port`). `names` are the DNS names
 * of its certificate besides localhost (the certificate always holds IP 127.0.0.1 unless
 * `withoutIp`, to test a name mismatch).
 */
export async function startSyslogReceiver(
  opts: { port?: number; names?: string[]; withoutIp?: boolean } = {},
): Promise<SyslogReceiver> {
  ensureRsyslog();
  const dir = mkdtempSync(join(tmpdir(), 'stele-rsyslog-'));
  const port = opts.port ?? (await freePort());
  const names = ['localhost', ...(opts.names ?? [])];
  const san = [...names.map((n) => `DNS:${n}`), ...(opts.withoutIp ? [] : ['IP:127.0.0.1'])];
  const cert = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=stele syslog test receiver',
      '-addext',
      `subjectAltName=${san.join(',')}`,
    ],
    { encoding: 'utf8' },
  );
  if (cert.status !== 0) throw new Error(`syslog tests: openssl failed: ${cert.stderr}`);
  const file = join(dir, 'received.ndjson');
  /** The records alone, as docs/destinations.md configures rsyslog (MSG from byte 4: no BOM). */
  const copy = join(dir, 'records.ndjson');
  // maxMessageSize and maxFrameSize above the largest record (src/syslog-message.ts
  // MAX_SYSLOG_MESSAGE), as docs/destinations.md tells a receiver to configure.
  writeFileSync(
    join(dir, 'rsyslog.conf'),
    `global(workDirectory="${dir}" maxMessageSize="600k"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCertFile="${dir}/cert.pem"
  defaultNetstreamDriverKeyFile="${dir}/key.pem")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="${port}" maxFrameSize="600000")
template(name="stele" type="string" string="%jsonmesg%\\n")
action(type="omfile" file="${file}" template="stele")
template(name="stele-msg" type="string" string="%msg:4:$%\\n")
action(type="omfile" file="${copy}" template="stele-msg")
`,
  );
  const root_ = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root_)
    for (const f of ['', 'key.pem', 'cert.pem', 'rsyslog.conf'])
      chownSync(join(dir, f), NOBODY, NOBODY);
  const certificate = readFileSync(join(dir, 'cert.pem'), 'utf8');

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const log = join(dir, 'rsyslogd.log');
  const logTail = () => (existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '');

  const start = async () => {
    if (child !== undefined) return;
    writeFileSync(log, '', { flag: 'a' });
    const c = spawn(
      RSYSLOGD,
      ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(root_ ? { uid: NOBODY, gid: NOBODY } : {}),
      },
    );
    const chunks: Buffer[] = [];
    c.stdout?.on('data', (d: Buffer) => chunks.push(d));
    c.stderr?.on('data', (d: Buffer) => chunks.push(d));
    exited = new Promise((r) =>
      c.once('exit', () => {
        writeFileSync(log, Buffer.concat(chunks), { flag: 'a' });
        r();
      }),
    );
    child = c;
    const deadline = Date.now() + 30_000;
    while (!(await canConnect(port))) {
      if (c.exitCode !== null || Date.now() > deadline) {
        c.kill('SIGKILL');
        await exited;
        child = undefined;
        throw new Error(`syslog tests: rsyslogd did not listen on ${port}: ${logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const stop = async () => {
    const c = child;
    child = undefined;
    if (c === undefined) return;
    c.kill('SIGTERM');
    await exited;
  };

  const messages = (): RsyslogMessage[] => {
    if (!existsSync(file)) return [];
    const text = readFileSync(file, 'utf8');
    // Only whole lines: rsyslog may be writing the last one.
    return text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter((l) => l !== '')
      .map((l, i) => {
        const m = JSON.parse(l) as RsyslogMessage;
        if (m['protocol-version'] !== '1' || !m.msg.startsWith(BOM))
          throw new Error(
            `syslog receiver: message ${i} is not RFC 5424 with a BOM: ${l.slice(0, 300)}`,
          );
        return m;
      });
  };
  const msgs = () => messages().map((m) => m.msg.slice(BOM.length));

  await start();
  return {
    host: '127.0.0.1',
    port,
    certificate,
    messages,
    records: () => msgs().map((m) => JSON.parse(m) as Record<string, unknown>),
    ndjson: () => {
      if (!existsSync(copy)) return '';
      const text = readFileSync(copy, 'utf8');
      return text.slice(0, text.lastIndexOf('\n') + 1);
    },
    stop,
    start,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
