/* eslint-disable @typescript-eslint/no-explicit-any -- free-form JSON saved objects */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAVED_OBJECTS, importSavedObjects } from './kibana.js';

interface SavedObject {
  type: string;
  id: string;
  attributes: Record<string, any>;
  references: Array<{ name: string; type: string; id: string }>;
}

const objects = readFileSync(DEFAULT_SAVED_OBJECTS, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as SavedObject);
const byKey = new Map(objects.map((o) => [`${o.type}/${o.id}`, o]));

describe('deploy/kibana/saved-objects.ndjson', () => {
  it('has unique ids, a title on everything, and a data view per family index', () => {
    expect(byKey.size).toBe(objects.length);
    for (const o of objects) expect(o.attributes.title, o.id).toBeTruthy();
    const views = objects.filter((o) => o.type === 'index-pattern');
    expect(views.map((v) => v.attributes.title).sort()).toEqual([
      'vigil-alert-*',
      'vigil-process-*',
      'vigil-session-*',
      'vigil-status-*',
      'vigil-trace-*',
    ]);
    for (const v of views) expect(v.attributes.timeFieldName).toBe('@timestamp');
  });

  it('resolves every reference inside the file', () => {
    for (const o of objects)
      for (const ref of o.references)
        expect(byKey.has(`${ref.type}/${ref.id}`), `${o.id} → ${ref.type}/${ref.id}`).toBe(true);
  });

  it('gives searches and visualizations a data view and valid JSON', () => {
    for (const o of objects.filter((x) => x.type === 'search' || x.type === 'visualization')) {
      const source = JSON.parse(o.attributes.kibanaSavedObjectMeta.searchSourceJSON);
      const ref = o.references.find((r) => r.name === source.indexRefName);
      expect(ref?.type, o.id).toBe('index-pattern');
      if (o.type === 'visualization')
        expect(JSON.parse(o.attributes.visState).aggs.length).toBeGreaterThan(0);
    }
  });

  it('has the four dashboards, each panel naming one of its references', () => {
    const dashboards = objects.filter((o) => o.type === 'dashboard');
    expect(dashboards.map((d) => d.attributes.title)).toEqual([
      'Vigil: processes by user, job and binary',
      'Vigil: unsigned and unknown binaries',
      'Vigil: terminal sessions and commands',
      'Vigil: service states over time',
    ]);
    for (const d of dashboards) {
      const panels = JSON.parse(d.attributes.panelsJSON) as Array<{
        panelRefName: string;
        type: string;
      }>;
      expect(panels.length).toBeGreaterThan(1);
      for (const p of panels)
        expect(d.references.find((r) => r.name === p.panelRefName)?.type).toBe(p.type);
    }
  });
});

describe('importSavedObjects', () => {
  it('posts the NDJSON as multipart to the import API with kbn-xsrf and auth, and reports Kibana errors', async () => {
    const seen: Array<{ url: string; headers: Record<string, unknown>; body: string }> = [];
    let fail = false;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            fail
              ? {
                  success: false,
                  successCount: 0,
                  errors: [{ id: 'x', error: { type: 'conflict' } }],
                }
              : { success: true, successCount: objects.length },
          ),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      expect(
        await importSavedObjects({
          url,
          file: DEFAULT_SAVED_OBJECTS,
          apiKey: 'k3y',
          space: 'grid',
        }),
      ).toBe(objects.length);
      const request = seen[0]!;
      expect(request.url).toBe('/s/grid/api/saved_objects/_import?overwrite=true');
      expect(request.headers['kbn-xsrf']).toBe('true');
      expect(request.headers.authorization).toBe('ApiKey k3y');
      expect(request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
      expect(request.body).toContain('name="file"; filename="saved-objects.ndjson"');
      expect(request.body).toContain(readFileSync(DEFAULT_SAVED_OBJECTS, 'utf8'));
      fail = true;
      await expect(importSavedObjects({ url, file: DEFAULT_SAVED_OBJECTS })).rejects.toThrow(
        /conflict/,
      );
    } finally {
      server.close();
    }
  });
});
