import { createCheckmkRestAdapter } from './adapters/checkmk-rest.js';
import { createCheckmkViewAdapter } from './adapters/checkmk-view.js';
import { createIcinga2Adapter } from './adapters/icinga2.js';
import { createLivestatusAdapter } from './adapters/livestatus.js';
import { createNagiosJsonAdapter, createNagiosStatusAdapter } from './adapters/nagios.js';
import type { Adapter } from './adapters/adapter.js';
import type { SourceConfig } from './config.js';
import { createHttpClient } from './http.js';

/** The adapter of one configured source, with its HTTP client (auth and TLS applied). */
export function createAdapter(
  source: SourceConfig,
  options: { readonly timeoutMs: number; readonly maxBytes: number; readonly instance: string },
): Adapter {
  const common = { source: source.name, encoding: source.encoding };
  const http = () =>
    createHttpClient({
      source: source.name,
      auth: source.auth,
      tls: source.tls,
      timeoutMs: options.timeoutMs,
      maxBytes: options.maxBytes,
    });
  const a = source.adapter;
  switch (a.type) {
    case 'checkmk-view':
      return createCheckmkViewAdapter({ ...common, url: a.url, format: a.format }, http());
    case 'checkmk-rest':
      return createCheckmkRestAdapter({ ...common, url: a.url, version: a.version }, http());
    case 'livestatus':
      return createLivestatusAdapter({ ...common, address: a.address });
    case 'icinga2':
      return createIcinga2Adapter(
        {
          ...common,
          url: a.url,
          eventStream: a.eventStream,
          queue: `vigil-poller-${options.instance}-${source.name}`,
        },
        http(),
      );
    case 'nagios-status':
      return createNagiosStatusAdapter({ ...common, path: a.path });
    case 'nagios-json':
      return createNagiosJsonAdapter({ ...common, url: a.url }, http());
  }
}
