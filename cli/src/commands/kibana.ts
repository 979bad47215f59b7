import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

/** The saved objects shipped in deploy/kibana. */
export const DEFAULT_SAVED_OBJECTS = fileURLToPath(
  new URL('../../../deploy/kibana/saved-objects.ndjson', import.meta.url),
);

export interface KibanaImportOptions {
  readonly url: string;
  readonly file: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly apiKey?: string | undefined;
  /** Kibana space; unset: the default space. */
  readonly space?: string | undefined;
}

/**
 * Imports saved objects (`POST /api/saved_objects/_import?overwrite=true`, multipart field `file`,
 * header `kbn-xsrf`). Resolves to the number of objects imported; throws with Kibana's errors when
 * the import did not fully succeed.
 */
export async function importSavedObjects(options: KibanaImportOptions): Promise<number> {
  const ndjson = await readFile(options.file);
  const form = new FormData();
  form.append('file', new Blob([ndjson], { type: 'application/ndjson' }), 'saved-objects.ndjson');
  const base = options.url.replace(/\/$/, '');
  const space = options.space ? `/s/${encodeURIComponent(options.space)}` : '';
  const headers: Record<string, string> = { 'kbn-xsrf': 'true' };
  if (options.apiKey) headers.authorization = `ApiKey ${options.apiKey}`;
  else if (options.username)
    headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
  const response = await fetch(`${base}${space}/api/saved_objects/_import?overwrite=true`, {
    method: 'POST',
    headers,
    body: form,
  });
  const body = (await response.json().catch(() => ({}))) as {
    success?: boolean;
    successCount?: number;
    errors?: unknown[];
    message?: string;
  };
  if (!response.ok || body.success !== true) {
    throw new Error(
      `importing saved objects into ${base}: HTTP ${response.status} ${body.message ?? ''} ${JSON.stringify(body.errors ?? [])}`.trim(),
    );
  }
  return body.successCount ?? 0;
}

/** `vigil kibana import`: loads deploy/kibana's data views and dashboards into a Kibana. */
export function registerKibanaCommand(program: Command): void {
  const kibana = program
    .command('kibana')
    .description('Kibana saved objects (data views, dashboards) for the Elasticsearch sink');
  kibana
    .command('import')
    .description('import deploy/kibana/saved-objects.ndjson (overwrites objects with the same ids)')
    .requiredOption('--url <url>', 'Kibana URL, e.g. https://kibana.example.org:5601')
    .option('--file <file>', 'NDJSON of saved objects', DEFAULT_SAVED_OBJECTS)
    .option('--space <id>', 'Kibana space (default: the default space)')
    .option('--username <name>', 'basic auth user')
    .option('--api-key <key>', 'API key (or env VIGIL_KIBANA_API_KEY)')
    .action(
      async (opts: {
        url: string;
        file: string;
        space?: string;
        username?: string;
        apiKey?: string;
      }) => {
        const count = await importSavedObjects({
          ...opts,
          apiKey: opts.apiKey ?? process.env.VIGIL_KIBANA_API_KEY,
          password: process.env.VIGIL_KIBANA_PASSWORD, // secrets from the environment, never on the command line
        });
        console.log(`imported ${count} saved objects into ${opts.url}`);
      },
    );
}
