/** Types of scripts/local-edge.mjs (the local stand-in for Cloudflare's edge). */
export function startLocalEdge(opts: {
  host?: string;
  port: number;
  target: number;
}): Promise<{ port: number; close(): Promise<void> }>;
