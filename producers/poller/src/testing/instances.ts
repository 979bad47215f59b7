import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '@vigil/pipeline/testing';

export { freePort };

/**
 * Real Icinga 2 and Nagios 4 instances for the integration tests (Debian packages icinga2,
 * nagios4-core, nagios4-cgi, monitoring-plugins-basic), each in a throwaway directory on free
 * ports, started and stopped with the scripts in testdata/instances (copied from
 * shared/reference/scripts, ports made configurable).
 */

const run = promisify(execFile);
const scripts = fileURLToPath(new URL('../../testdata/instances/', import.meta.url));

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755); // Nagios started as root drops to the nagios user, which must reach it
  return dir;
}

export interface Icinga2Instance {
  readonly dir: string;
  readonly apiUrl: string;
  readonly livestatus: string;
  readonly caFile: string;
  /** POSTs to the API as the "poller" user; resolves with the parsed answer. Throws on non-2xx. */
  api(path: string, body: unknown): Promise<unknown>;
  /** A passive check result for one service. */
  setState(host: string, service: string, exitStatus: number, output: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startIcinga2(): Promise<Icinga2Instance> {
  const dir = tempDir('vigil-poller-icinga2-');
  const apiPort = await freePort();
  const lsPort = await freePort();
  const env = {
    ...process.env,
    ICINGA2_API_PORT: String(apiPort),
    ICINGA2_LIVESTATUS_PORT: String(lsPort),
  };
  await run(join(scripts, 'icinga2-test-instance.sh'), ['start', dir], { env });
  const caFile = join(dir, 'var/lib/certs/ca.crt');
  const apiUrl = `https://localhost:${apiPort}`;
  const { readFileSync } = await import('node:fs');
  const https = await import('node:https');
  const ca = readFileSync(caFile);
  const api = (path: string, body: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const req = https.request(
        `${apiUrl}${path}`,
        {
          method: 'POST',
          ca,
          auth: 'poller:pollerpw',
          headers: { accept: 'application/json', 'content-type': 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 0) >= 300)
              reject(new Error(`icinga2 ${path}: HTTP ${res.statusCode}: ${text}`));
            else resolve(JSON.parse(text));
          });
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  return {
    dir,
    apiUrl,
    livestatus: `tcp:127.0.0.1:${lsPort}`,
    caFile,
    api,
    async setState(host, service, exitStatus, output) {
      await api('/v1/actions/process-check-result', {
        type: 'Service',
        filter: `host.name=="${host}" && service.name=="${service}"`,
        exit_status: exitStatus,
        plugin_output: output,
      });
    },
    async stop() {
      await run(join(scripts, 'icinga2-test-instance.sh'), ['stop', dir], { env });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Nagios4Instance {
  readonly dir: string;
  readonly statusFile: string;
  /** statusjson.cgi served over HTTP (the CGI executed per request, as a web server would). */
  readonly statusJsonUrl: string;
  /** Writes one external command to the command pipe. */
  command(line: string): Promise<void>;
  setState(host: string, service: string, exitStatus: number, output: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startNagios4(): Promise<Nagios4Instance> {
  const dir = tempDir('vigil-poller-nagios4-');
  const env = { ...process.env, NAGIOS_TEST_DIR: dir };
  const script = join(scripts, 'nagios4-test-instance.sh');
  await run(script, ['start'], { env });
  const cgi = createCgiServer('/usr/lib/cgi-bin/nagios4/statusjson.cgi', join(dir, 'etc/cgi.cfg'));
  const port = await new Promise<number>((resolve) =>
    cgi.listen(0, '127.0.0.1', () => resolve((cgi.address() as net.AddressInfo).port)),
  );
  const command = async (line: string) => {
    await run(script, ['cmd', line], { env });
  };
  return {
    dir,
    statusFile: join(dir, 'var/status.dat'),
    statusJsonUrl: `http://127.0.0.1:${port}/cgi-bin/statusjson.cgi`,
    command,
    setState: (host, service, exitStatus, output) =>
      command(`PROCESS_SERVICE_CHECK_RESULT;${host};${service};${exitStatus};${output}`),
    async stop() {
      cgi.close();
      await run(script, ['stop'], { env });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A minimal CGI/1.1 server for one program: headers until the blank line, then the body. */
function createCgiServer(program: string, cgiConfig: string): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const child = spawn(program, [], {
      env: {
        NAGIOS_CGI_CONFIG: cgiConfig,
        REQUEST_METHOD: 'GET',
        REMOTE_USER: 'poller',
        QUERY_STRING: url.search.slice(1),
        PATH: process.env.PATH ?? '',
      },
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('close', () => {
      const out = Buffer.concat(chunks);
      const split =
        out.indexOf('\r\n\r\n') >= 0 ? out.indexOf('\r\n\r\n') + 4 : out.indexOf('\n\n') + 2;
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(out.subarray(Math.max(split, 0)));
    });
  });
}
