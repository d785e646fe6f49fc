// Placeholder until the OpenAPI document is written (replaced in the same change).
export const openapi = { openapi: '3.1.0' } as const;
