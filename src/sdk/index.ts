/** The client SDK for services and tools (docs/sdk.md). */
export * from './audit-middleware.js';
export * from './tail.js';
export * from './verify.js';
export * from './writer.js';
