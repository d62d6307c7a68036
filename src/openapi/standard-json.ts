/**
 * Stands in for `@standard-community/standard-json` in the Worker bundle (wrangler.toml
 * `[alias]`). hono-openapi converts schemas to JSON Schema through that package, which finds a
 * converter per schema library with `import()`s that esbuild bundles whether used or not: its
 * zod one imports all of `zod/v4/core` as a namespace, and with it every zod locale (which
 * scripts/bundle-report.mjs refuses). Here there are no built-in converters: the document
 * registers zod's own (src/openapi/document.ts, through hono-openapi's `loadVendor`), the same
 * call that package would make. Importing nothing also keeps zod out of the modules esbuild
 * wraps for lazy loading.
 */
type ToJsonSchema = (schema: unknown, options?: Record<string, unknown>) => unknown;

const converters = new Map<string, ToJsonSchema>();

export function loadVendor(vendor: string, fn: ToJsonSchema): void {
  converters.set(vendor, fn);
}

export function toJsonSchema(schema: { "~standard": { vendor: string } }, options?: Record<string, unknown>) {
  const vendor = schema["~standard"].vendor;
  const convert = converters.get(vendor);
  if (!convert) throw new Error(`standard-json: no converter registered for "${vendor}"`);
  return convert(schema, options);
}
