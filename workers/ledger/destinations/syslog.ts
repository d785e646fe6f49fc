/**
 * The syslog type (docs/destinations.md §The syslog type): each batch is one TLS connection
 * (RFC 5425) to host:port carrying one octet-counted RFC 5424 message per record
 * (src/syslog.ts), closed after the batch.
 *
 * RFC 5425 has no acknowledgement, and a completed write only means the bytes left for the
 * kernel. So a batch counts as sent only when, after our close (TLS close_notify, then FIN),
 * the receiver closes its side too: it has then read the stream to our close. A reset, a
 * timeout or an error before that fails the batch, which is sent again (at least once; the
 * receiver's copy is de-duplicated by (stream, seq)). What the receiver did with what it
 * read (queued in memory, written to disk) no TCP peer can tell us.
 */
import { connect } from 'cloudflare:sockets';
import { concat, type SyslogDestination, syslogFrame } from '../../../src/index.js';
import { failure, type Transport } from './transport.js';

/** Bytes the receiver may send us before we give up on it (RFC 5425 is one-way). */
const MAX_UNEXPECTED = 64 * 1024;

export const syslog: Transport<SyslogDestination> = {
  envelope: 0,
  frame: (r, config) => syslogFrame(config, r), // octet-counted: nothing between frames
  limits: (s) => ({ maxRecords: s.maxRecords, maxBytes: s.maxBytes }),
  credentials: () => undefined, // TLS server authentication only: no secret (docs)

  async send(config, batch, _vars, settings) {
    const bytes = concat(...batch.records.map((r) => r.frame));
    // 'starttls' then startTls() at once: TLS from the first byte, as RFC 5425 wants, and
    // the only way to name the certificate's expected host (TlsOptions).
    const plain = connect(
      { hostname: config.host, port: config.port },
      { secureTransport: 'starttls', allowHalfOpen: true },
    );
    const socket = plain.startTls(
      config.tls_server_name === undefined
        ? undefined
        : { expectedServerHostname: config.tls_server_name },
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no clean close within ${settings.timeoutMs} ms`)),
        settings.timeoutMs,
      );
    });
    try {
      await Promise.race([exchange(socket, bytes), timeout]);
      return { ok: true };
    } catch (e) {
      return failure(e);
    } finally {
      clearTimeout(timer);
      socket.close().catch(() => {});
      plain.close().catch(() => {});
    }
  },
};

/** Writes `bytes`, closes our side, and waits for the receiver to close its side. */
async function exchange(socket: Socket, bytes: Uint8Array): Promise<void> {
  await socket.opened;
  const writer = socket.writable.getWriter();
  await writer.write(bytes);
  await writer.close();
  const reader = socket.readable.getReader();
  let unexpected = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    unexpected += value.byteLength;
    if (unexpected > MAX_UNEXPECTED)
      throw new Error('the receiver sends data instead of closing (is it a syslog receiver?)');
  }
}
