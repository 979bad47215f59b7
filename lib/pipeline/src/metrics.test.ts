import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PermanentError } from './errors.js';
import { startHealthServer } from './health.js';
import { createLogger } from './log.js';
import { createTelemetry } from './metrics.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, logger: createLogger('testworker', { destination, level: 'debug' }) };
}

describe('telemetry', () => {
  it('counts and logs the same events, with the shared metric names and component label', async () => {
    const { lines, logger } = capture();
    let now = 0;
    const telemetry = createTelemetry('testworker', logger, {
      errorLogIntervalMs: 1000,
      now: () => now,
    });
    telemetry.received('t', 3, 300);
    telemetry.sent(2, 200);
    const error = new PermanentError('writing: bad document', { errorType: 'store' });
    telemetry.error({ errorType: 'store', stage: 'write', error }, 'event rejected');
    telemetry.error({ errorType: 'store', stage: 'write', error }, 'event rejected'); // rate-limited log, still counted
    now = 2000;
    telemetry.error({ errorType: 'store', stage: 'write', error }, 'event rejected');
    telemetry.discarded({ count: 1, intentional: false, reason: 'dead-lettered' }, 'sent to dlq');
    telemetry.discarded({ count: 4, intentional: true, reason: 'duplicate' }, 'dropped');
    telemetry.setLag('t', 0, 17);
    telemetry.observeProcessing(0.02);

    const text = await telemetry.registry.metrics();
    expect(text).toContain('component_received_events_total{topic="t",component="testworker"} 3');
    expect(text).toContain(
      'component_received_event_bytes_total{topic="t",component="testworker"} 300',
    );
    expect(text).toContain('component_sent_events_total{component="testworker"} 2');
    expect(text).toContain(
      'component_errors_total{error_type="store",stage="write",component="testworker"} 3',
    );
    expect(text).toContain(
      'component_discarded_events_total{intentional="false",reason="dead-lettered",component="testworker"} 1',
    );
    expect(text).toContain(
      'component_discarded_events_total{intentional="true",reason="duplicate",component="testworker"} 4',
    );
    expect(text).toContain(
      'component_consumer_lag{topic="t",partition="0",component="testworker"} 17',
    );
    expect(text).toContain('component_processing_seconds_count{component="testworker"} 1');

    await new Promise((resolve) => setTimeout(resolve, 50)); // pino flushes asynchronously to the stream
    const errorLines = lines.filter((l) => l.msg === 'event rejected');
    expect(errorLines).toHaveLength(2);
    expect(errorLines[1]).toMatchObject({
      component: 'testworker',
      errorType: 'store',
      stage: 'write',
      suppressed: 1,
      err: 'writing: bad document',
    });
    expect(lines.find((l) => l.msg === 'sent to dlq')).toMatchObject({
      level: 50,
      reason: 'dead-lettered',
      count: 1,
    });
  });
});

describe('health server', () => {
  it('serves /metrics and /healthz, 503 with the reason when unhealthy', async () => {
    const { logger } = capture();
    const telemetry = createTelemetry('testworker', logger);
    telemetry.sent(5, 10);
    let reason: string | undefined = 'consumer not running';
    const server = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: telemetry.registry,
      unhealthyReason: () => reason,
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      let response = await fetch(`${base}/healthz`);
      expect(response.status).toBe(503);
      expect(await response.text()).toBe('consumer not running');
      reason = undefined;
      response = await fetch(`${base}/healthz`);
      expect(response.status).toBe(200);
      response = await fetch(`${base}/metrics`);
      expect(await response.text()).toContain(
        'component_sent_events_total{component="testworker"} 5',
      );
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
