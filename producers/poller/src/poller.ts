import Long from 'long';
import type { Adapter } from './adapters/adapter.js';
import { SourceError } from './adapters/source-error.js';
import type { PollerConfig, SourceConfig } from './config.js';
import { createAdapter as createRealAdapter } from './create-adapter.js';
import { createMatcher, type Matcher } from './match.js';
import {
  OUTAGE_KEY_PREFIX,
  knownStateBody,
  snapshotBody,
  stateChangeBody,
  type OutRecord,
  type ServiceRef,
  type StatusPublisher,
} from './publish.js';
import { stateName, type ServiceStatus } from './status.js';
import type { Telemetry } from './telemetry.js';
import { diffPoll, serviceKey, type KnownState } from './track.js';

/**
 * The poller: every source on its own timer (interval + jitter), at most `concurrency` polls at
 * once, each bounded by its timeout, so a slow or broken source never holds up another. A poll's
 * snapshots, state changes and new known states go to Kafka together; the in-memory state moves
 * on only once Kafka has them, so a failed send is redone by the next poll (at least once).
 */
export interface Poller {
  /** Starts every source's timer (and event streams). Call once. */
  start(): void;
  /** Applies a new config without a restart: added, removed and changed sources, host lists, intervals. */
  apply(config: PollerConfig): void;
  /** Polls one source now (waiting for a free slot) and resolves with what the poll did. */
  pollNow(source: string): Promise<PollOutcome>;
  /** Stops timers and streams and waits for polls in flight. */
  stop(): Promise<void>;
}

/** What one poll did; for logs, tests and the benchmark. */
export interface PollOutcome {
  readonly source: string;
  readonly ok: boolean;
  readonly services: number;
  readonly changes: number;
  readonly records: number;
  readonly error?: string;
}

/** Dependencies of {@link createPoller}; clocks and randomness are injected for tests. */
export interface PollerDeps {
  readonly publisher: StatusPublisher;
  readonly telemetry: Telemetry;
  /** Known states from the state topic; the poller keeps it up to date. */
  readonly known: Map<string, KnownState>;
  /** Sources already reported unreachable (name → since, ms), from the state topic. */
  readonly outages?: ReadonlyMap<string, number>;
  /** The poller's own host name (envelope host of source reports). */
  readonly hostname: string;
  readonly createAdapter?: (
    source: SourceConfig,
    options: { timeoutMs: number; maxBytes: number; instance: string },
  ) => Adapter;
  readonly nowMs?: () => number;
  readonly random?: () => number;
}

interface Outage {
  readonly sinceMs: number;
  failures: number;
}

interface SourceRuntime {
  config: SourceConfig;
  readonly connection: string;
  readonly adapter: Adapter;
  site: string;
  hosts: Matcher;
  services: Matcher;
  timer: NodeJS.Timeout | undefined;
  running: Promise<PollOutcome> | undefined;
  again: boolean;
  outage: Outage | undefined;
  readonly watch: AbortController;
  stopped: boolean;
}

/** The part of a source's config that needs a new adapter when it changes. */
function connectionOf(source: SourceConfig): string {
  return JSON.stringify([
    source.adapter,
    source.auth,
    source.tls,
    source.encoding,
    source.timeoutMs,
  ]);
}

export function createPoller(initial: PollerConfig, deps: PollerDeps): Poller {
  let config = initial;
  const nowMs = deps.nowMs ?? Date.now;
  const random = deps.random ?? Math.random;
  const makeAdapter = deps.createAdapter ?? createRealAdapter;
  const { telemetry, publisher, known } = deps;
  const sources = new Map<string, SourceRuntime>();
  let started = false;

  // A counting semaphore: at most `config.concurrency` polls at once.
  let active = 0;
  const waiting: Array<() => void> = [];
  const acquire = () =>
    new Promise<void>((resolve) => {
      if (active < config.concurrency) {
        active++;
        resolve();
      } else waiting.push(resolve);
    });
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };

  const timeoutOf = (s: SourceConfig) => s.timeoutMs ?? config.timeoutMs;
  const intervalOf = (s: SourceConfig) => s.intervalMs ?? config.intervalMs;

  function createRuntime(source: SourceConfig): SourceRuntime {
    return {
      config: source,
      connection: connectionOf(source),
      adapter: makeAdapter(source, {
        timeoutMs: timeoutOf(source),
        maxBytes: config.maxResponseBytes,
        instance: config.instance,
      }),
      site: source.site ?? source.name,
      hosts: createMatcher(source.hosts),
      services: createMatcher(source.services),
      timer: undefined,
      running: undefined,
      again: false,
      outage: deps.outages?.has(source.name)
        ? { sinceMs: deps.outages.get(source.name)!, failures: 1 }
        : undefined,
      watch: new AbortController(),
      stopped: false,
    };
  }

  function schedule(rt: SourceRuntime, delayMs: number): void {
    if (rt.stopped || !started) return;
    clearTimeout(rt.timer);
    rt.timer = setTimeout(() => void poll(rt), delayMs);
    rt.timer.unref?.();
  }

  function startRuntime(rt: SourceRuntime): void {
    schedule(rt, random() * config.jitterMs);
    if (rt.adapter.watch) void watchLoop(rt);
  }

  async function watchLoop(rt: SourceRuntime): Promise<void> {
    let backoffMs = 1000;
    while (!rt.stopped) {
      const opened = nowMs();
      try {
        await rt.adapter.watch!(() => void poll(rt), rt.watch.signal);
        if (rt.stopped) return;
        telemetry.log.info({ source: rt.config.name }, 'event stream ended; reopening');
      } catch (error) {
        if (rt.stopped) return;
        const message = error instanceof Error ? error.message : String(error);
        telemetry.error(
          'watch',
          error instanceof SourceError ? error.errorType : 'network',
          `event stream of ${rt.config.name}: ${message}`,
          { source: rt.config.name },
        );
      }
      if (nowMs() - opened > 60_000) backoffMs = 1000;
      await new Promise((resolve) =>
        setTimeout(resolve, backoffMs * (0.5 + random() / 2)).unref?.(),
      );
      backoffMs = Math.min(backoffMs * 2, 30_000);
    }
  }

  function poll(rt: SourceRuntime): Promise<PollOutcome> {
    if (rt.running) {
      rt.again = true; // coalesce: one more poll after this one
      return rt.running;
    }
    rt.running = (async () => {
      await acquire();
      try {
        return await pollOnce(rt);
      } finally {
        release();
      }
    })().finally(() => {
      rt.running = undefined;
      if (rt.again) {
        rt.again = false;
        schedule(rt, 0);
      } else {
        schedule(rt, intervalOf(rt.config) + random() * config.jitterMs);
      }
    });
    return rt.running;
  }

  async function fetchWithTimeout(rt: SourceRuntime): Promise<ServiceStatus[]> {
    const timeoutMs = timeoutOf(rt.config);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(
          new SourceError(
            'timeout',
            `${rt.config.name}: poll did not finish within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([rt.adapter.poll(controller.signal), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function pollOnce(rt: SourceRuntime): Promise<PollOutcome> {
    const source = rt.config.name;
    const started = performance.now();
    let statuses: ServiceStatus[];
    try {
      statuses = await fetchWithTimeout(rt);
    } catch (error) {
      return failed(rt, error);
    }
    telemetry.polled(source, statuses.length, (performance.now() - started) / 1000);

    const now = nowMs();
    const records: OutRecord[] = [];
    const polled: Array<{ key: string; status: ServiceStatus; ref: ServiceRef }> = [];
    for (const status of statuses) {
      if (!rt.hosts(status.host) || !rt.services(status.service)) continue;
      const ref = { site: rt.site, source, host: status.host, service: status.service };
      polled.push({ key: serviceKey(rt.site, status.host, status.service), status, ref });
    }
    telemetry.filtered(source, statuses.length - polled.length);

    if (rt.outage) {
      records.push({
        topic: config.topic,
        key: source,
        value: publisher.encode(
          { sourceRecovered: { source, unreachableNs: nsLong(now - rt.outage.sinceMs) } },
          deps.hostname,
        ),
      });
      records.push({ topic: config.stateTopic, key: `${OUTAGE_KEY_PREFIX}${source}`, value: null });
    }
    const diff = diffPoll(known, polled, now);
    const refs = new Map(polled.map((p) => [p.key, p.ref]));
    for (const p of polled)
      records.push({
        topic: config.topic,
        key: p.key,
        value: publisher.encode(snapshotBody(p.ref, p.status), p.status.host),
      });
    for (const change of diff.changes) {
      records.push({
        topic: config.topic,
        key: change.key,
        value: publisher.encode(stateChangeBody(refs.get(change.key)!, change), change.status.host),
      });
    }
    for (const [key, state] of diff.updates) {
      records.push({
        topic: config.stateTopic,
        key,
        value: publisher.encode(knownStateBody(refs.get(key)!, state), refs.get(key)!.host),
      });
    }

    try {
      await publisher.send(records);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      telemetry.error(
        'publish',
        'kafka',
        `sending ${records.length} records of ${source} to Kafka: ${message}; the next poll sends them again`,
        { source },
      );
      return { source, ok: false, services: polled.length, changes: 0, records: 0, error: message };
    }
    for (const [key, state] of diff.updates) known.set(key, state);
    if (rt.outage) {
      telemetry.log.info(
        { source, unreachableMs: now - rt.outage.sinceMs, failures: rt.outage.failures },
        `source ${source} answers again`,
      );
      telemetry.sent('source_recovered', 1);
      rt.outage = undefined;
    }
    telemetry.sent('snapshot', polled.length);
    telemetry.sent('state_change', diff.changes.length);
    telemetry.sent('state', diff.updates.size);
    for (const change of diff.changes) {
      telemetry.log.info(
        {
          source,
          host: change.status.host,
          service: change.status.service,
          previous: stateName(change.previous.state),
          state: stateName(change.status.state),
        },
        'state change',
      );
    }
    return {
      source,
      ok: true,
      services: polled.length,
      changes: diff.changes.length,
      records: records.length,
    };
  }

  async function failed(rt: SourceRuntime, error: unknown): Promise<PollOutcome> {
    const source = rt.config.name;
    const known = error instanceof SourceError;
    const message = error instanceof Error ? error.message : String(error);
    const reason = known ? error.reason : 'malformed';
    const errorType = known ? error.errorType : 'codec';
    const first = rt.outage === undefined;
    const failures = (rt.outage?.failures ?? 0) + 1;
    // Log the first failure of an outage and then every 10th, so a long outage does not flood the log.
    if (first || failures % 10 === 0) {
      telemetry.error('poll', errorType, `polling ${source} (${rt.adapter.type}): ${message}`, {
        source,
        reason,
        failures,
        ...(known ? {} : { stack: (error as Error)?.stack }),
      });
    } else {
      telemetry.error('poll', errorType, `polling ${source} failed again`, {
        source,
        reason,
        failures,
      });
    }
    if (!first) {
      rt.outage!.failures = failures;
      return { source, ok: false, services: 0, changes: 0, records: 0, error: message };
    }
    const adapter = rt.adapter.type;
    const value = publisher.encode(
      {
        sourceUnreachable: {
          source,
          adapter,
          error: message.split('\n', 1)[0]!.slice(0, 500),
          consecutiveFailures: 1,
        },
      },
      deps.hostname,
    );
    try {
      await publisher.send([
        { topic: config.topic, key: source, value },
        { topic: config.stateTopic, key: `${OUTAGE_KEY_PREFIX}${source}`, value },
      ]);
    } catch (sendError) {
      telemetry.error(
        'publish',
        'kafka',
        `sending source_unreachable of ${source}: ${(sendError as Error).message}; sent again at the next failed poll`,
        { source },
      );
      return { source, ok: false, services: 0, changes: 0, records: 0, error: message };
    }
    rt.outage = { sinceMs: nowMs(), failures };
    telemetry.sent('source_unreachable', 1);
    return { source, ok: false, services: 0, changes: 0, records: 1, error: message };
  }

  function stopRuntime(rt: SourceRuntime): Promise<unknown> {
    rt.stopped = true;
    clearTimeout(rt.timer);
    rt.watch.abort();
    return rt.running ?? Promise.resolve();
  }

  function apply(next: PollerConfig): void {
    config = next;
    const names = new Set(next.sources.map((s) => s.name));
    for (const [name, rt] of sources) {
      if (!names.has(name)) {
        void stopRuntime(rt);
        sources.delete(name);
        telemetry.log.info({ source: name }, `source ${name} removed`);
      }
    }
    for (const source of next.sources) {
      const rt = sources.get(source.name);
      if (rt && rt.connection === connectionOf(source)) {
        // Host and service lists, site and interval change in place: the next poll uses them.
        rt.config = source;
        rt.site = source.site ?? source.name;
        rt.hosts = createMatcher(source.hosts);
        rt.services = createMatcher(source.services);
        continue;
      }
      if (rt) void stopRuntime(rt);
      const fresh = createRuntime(source);
      sources.set(source.name, fresh);
      if (started) startRuntime(fresh);
      if (rt) telemetry.log.info({ source: source.name }, `source ${source.name} reconfigured`);
    }
  }

  apply(initial);

  return {
    start() {
      started = true;
      for (const rt of sources.values()) startRuntime(rt);
    },
    apply,
    pollNow(name) {
      const rt = sources.get(name);
      if (!rt) return Promise.reject(new TypeError(`no source named ${name}`));
      return poll(rt);
    },
    async stop() {
      started = false;
      await Promise.allSettled([...sources.values()].map(stopRuntime));
    },
  };
}

function nsLong(ms: number): Long {
  return Long.fromString((BigInt(Math.max(0, Math.round(ms))) * 1_000_000n).toString(), true);
}
