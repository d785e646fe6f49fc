// The local stand-in for Cloudflare's edge in front of `npm start`'s ledger: it takes the
// client's address from the socket and sets CF-Connecting-IP to it, replacing whatever the
// client sent. On Cloudflare the edge does this; under `wrangler dev` a client-sent
// CF-Connecting-IP reaches the Worker as is (Miniflare only fills it in when absent), so a
// client could give every failed authentication a new address and never meet the per-IP
// limit (docs/security.md). It relays plain HTTP (streamed both ways, so Server-Sent Events
// flow) and WebSocket upgrades, and nothing else.
import { Agent, createServer, request } from 'node:http';
import { connect } from 'node:net';

/** Headers a client must not be able to set: the edge's own. */
const EDGE_HEADERS = ['cf-connecting-ip', 'cf-ray', 'x-forwarded-for', 'x-real-ip'];

/** The client's address as the edge gives it: IPv4 without the IPv6 mapping prefix. */
function clientAddress(socket) {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** The request's headers as forwarded: the edge's headers replaced. */
function forwardedHeaders(req) {
  const headers = { ...req.headers };
  for (const h of EDGE_HEADERS) delete headers[h];
  headers['cf-connecting-ip'] = clientAddress(req.socket);
  return headers;
}

/**
 * Starts the edge on host:port, relaying to 127.0.0.1:target. Returns its port and close().
 * @param {{ host?: string, port: number, target: number }} opts
 */
export async function startLocalEdge({ host = '127.0.0.1', port, target }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const server = createServer((req, res) => {
    const upstream = request(
      {
        host: '127.0.0.1',
        port: target,
        method: req.method,
        path: req.url,
        headers: forwardedHeaders(req),
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`the local edge could not reach the ledger: ${e.message}\n`);
    });
    req.pipe(upstream);
  });
  server.on('upgrade', (req, client, head) => {
    const upstream = connect(target, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (const [k, v] of Object.entries(forwardedHeaders(req)))
        for (const value of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${value}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', close);
    client.on('error', close);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: server.address().port,
    close: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
