import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ServiceState as S, StateType as T, type ServiceStatus } from '../status.js';
import { checkmkRestRequest, parseCheckmkRest } from './checkmk-rest.js';
import { parseCheckmkCsv, parseCheckmkViewJson, splitCsv } from './checkmk-view.js';
import { isServiceEvent, parseIcinga2Services } from './icinga2.js';
import { livestatusQuery, parseLivestatusResponse } from './livestatus.js';
import { parseNagiosStatusDat, parseNagiosStatusJson } from './nagios.js';
import { SourceError } from './source-error.js';
import { decodeText } from './text.js';

const fixture = (path: string) => readFileSync(new URL(`../../testdata/${path}`, import.meta.url));
const text = (path: string) => decodeText(fixture(path), 'utf-8', path);
const pick = (list: ServiceStatus[], host: string, service: string) =>
  list.find((s) => s.host === host && s.service === service);

type Parser = (path: string) => ServiceStatus[];
const parsers: Record<string, Parser> = {
  csv: (p) => parseCheckmkCsv(text(p), p),
  'view-json': (p) => parseCheckmkViewJson(text(p), p),
  rest: (p) => parseCheckmkRest(text(p), p),
  livestatus: (p) => parseLivestatusResponse(fixture(p), 'utf-8', p),
  icinga2: (p) => parseIcinga2Services(text(p), p),
  'status.dat': (p) => parseNagiosStatusDat(text(p), p),
  statusjson: (p) => parseNagiosStatusJson(text(p), p),
};

/** Each fixture: how many services, and some of them field by field. */
const cases: Array<{
  parser: string;
  file: string;
  count: number;
  expect: Array<Partial<ServiceStatus> & { host: string; service: string }>;
}> = [
  {
    parser: 'csv',
    file: 'checkmk/view-1.6-allservices.csv',
    count: 3,
    expect: [
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.ARC-JobSubmit',
        state: S.SERVICE_STATE_OK,
        output: 'OK - job submitted',
        lastStateChangeMs: 0,
      },
      {
        host: 'se01.example-grid.ro',
        service: 'org.sam.SRM-Put',
        state: S.SERVICE_STATE_CRITICAL,
        output: 'CRITICAL - put failed; "timeout" after 60 s',
      },
      { host: 'squid01.example-grid.ro', service: 'squid-ping', state: S.SERVICE_STATE_PENDING },
    ],
  },
  {
    parser: 'csv',
    file: 'checkmk/view-2.2-allservices.csv',
    count: 3,
    expect: [
      {
        host: 'se01.example-grid.ro',
        service: 'org.sam.SRM-Put',
        state: S.SERVICE_STATE_WARNING,
        output: 'WARNING - slow; 12.3 s',
      },
      {
        host: 'se01.example-grid.ro',
        service: 'org.sam.SRM-Get',
        state: S.SERVICE_STATE_UNKNOWN,
        output: 'UNKNOWN - no proxy',
      },
    ],
  },
  {
    parser: 'csv',
    file: 'checkmk/view-2.3-svcproblems.csv',
    count: 3,
    expect: [
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.CONDOR-JobSubmit',
        state: S.SERVICE_STATE_CRITICAL,
        flapping: true,
        acknowledged: false,
      },
      {
        host: 'se01.example-grid.ro',
        service: 'org.sam.SRM-Put',
        state: S.SERVICE_STATE_WARNING,
        acknowledged: true,
        inDowntime: false,
      },
      {
        host: 'squid01.example-grid.ro',
        service: 'squid-ping',
        inDowntime: true,
        output: 'CRITICAL - ü unreachable',
      },
    ],
  },
  {
    parser: 'view-json',
    file: 'checkmk/view-2.3-allservices.json',
    count: 3,
    expect: [
      {
        host: 'se01.example-grid.ro',
        service: 'org.sam.SRM-Put',
        state: S.SERVICE_STATE_CRITICAL,
        stateType: T.STATE_TYPE_UNSPECIFIED,
      },
      { host: 'squid01.example-grid.ro', service: 'squid-ping', state: S.SERVICE_STATE_PENDING },
    ],
  },
  {
    parser: 'rest',
    file: 'checkmk/rest-2.3-services.json',
    count: 3,
    expect: [
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.ARC-JobSubmit',
        state: S.SERVICE_STATE_OK,
        stateType: T.STATE_TYPE_HARD,
        lastCheckMs: 1700000000000,
        lastStateChangeMs: 1699990000000,
      },
      {
        host: 'se01.example-grid.ro',
        service: 'org.sam.SRM-Put',
        state: S.SERVICE_STATE_CRITICAL,
        stateType: T.STATE_TYPE_SOFT,
        acknowledged: true,
        output: 'CRITICAL - put failed',
      },
      {
        host: 'squid01.example-grid.ro',
        service: 'squid-ping',
        state: S.SERVICE_STATE_PENDING,
        lastCheckMs: 0,
      },
    ],
  },
  {
    parser: 'rest',
    file: 'checkmk/rest-2.4-services.json',
    count: 1,
    expect: [
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.CONDOR-JobSubmit',
        state: S.SERVICE_STATE_WARNING,
        inDowntime: true,
        flapping: true,
      },
    ],
  },
  {
    parser: 'livestatus',
    file: 'checkmk/livestatus-2.3-services-fixed16.txt',
    count: 3,
    expect: [
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.ARC-JobSubmit',
        state: S.SERVICE_STATE_CRITICAL,
        acknowledged: true,
        lastStateChangeMs: 1699999000000,
      },
      {
        host: 'se01.example-grid.ro',
        service: 'org.sam.SRM-Put',
        state: S.SERVICE_STATE_OK,
        inDowntime: true,
      },
      { host: 'squid01.example-grid.ro', service: 'squid-ping', state: S.SERVICE_STATE_PENDING },
    ],
  },
  {
    parser: 'livestatus',
    file: 'icinga2/icinga2-livestatus-services-fixed16.txt',
    count: 6,
    expect: [
      {
        host: 'se01.example-grid.ro',
        service: 'org.sam.SRM-Put',
        state: S.SERVICE_STATE_WARNING,
        output: 'WARNING - slow; "quoted" text',
        acknowledged: false,
      },
      {
        host: 'squid01.example-grid.ro',
        service: 'squid-ping',
        state: S.SERVICE_STATE_OK,
        inDowntime: true,
        output: 'PING OK - ü latency 1 ms',
      },
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.CONDOR-JobSubmit',
        state: S.SERVICE_STATE_CRITICAL,
        flapping: true,
      },
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.ARC-JobSubmit',
        state: S.SERVICE_STATE_CRITICAL,
        acknowledged: true,
      },
    ],
  },
  {
    parser: 'icinga2',
    file: 'icinga2/icinga2-objects-services.json',
    count: 6,
    expect: [
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.ARC-JobSubmit',
        state: S.SERVICE_STATE_CRITICAL,
        stateType: T.STATE_TYPE_HARD,
        acknowledged: true,
        output: 'CRITICAL - job submission failed',
      },
      {
        host: 'se01.example-grid.ro',
        service: 'org.sam.SRM-Put',
        state: S.SERVICE_STATE_WARNING,
        output: 'WARNING - slow; "quoted" text',
      },
      { host: 'ce01.example-grid.ro', service: 'org.sam.CONDOR-JobSubmit', flapping: true },
      { host: 'squid01.example-grid.ro', service: 'squid-ping', inDowntime: true },
    ],
  },
  {
    parser: 'status.dat',
    file: 'nagios4/nagios4-status.dat',
    count: 4,
    expect: [
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.ARC-JobSubmit',
        state: S.SERVICE_STATE_CRITICAL,
        stateType: T.STATE_TYPE_HARD,
        acknowledged: true,
        output: 'CRITICAL - job submission failed',
        lastStateChangeMs: 1795316505000,
      },
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.CONDOR-JobSubmit',
        state: S.SERVICE_STATE_PENDING,
      },
      {
        host: 'se01.example-grid.ro',
        service: 'org.sam.SRM-Put',
        state: S.SERVICE_STATE_OK,
        inDowntime: true,
        output: 'OK - put ok ü',
      },
    ],
  },
  {
    parser: 'status.dat',
    file: 'icinga2/icinga2-status.dat',
    count: 6,
    expect: [
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.CONDOR-JobSubmit',
        state: S.SERVICE_STATE_CRITICAL,
        flapping: true,
      },
    ],
  },
  {
    parser: 'statusjson',
    file: 'nagios4/nagios4-statusjson-servicelist.json',
    count: 4,
    expect: [
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.ARC-JobSubmit',
        state: S.SERVICE_STATE_CRITICAL,
        acknowledged: true,
        lastStateChangeMs: 1795316505000,
      },
      {
        host: 'ce01.example-grid.ro',
        service: 'org.sam.CONDOR-JobSubmit',
        state: S.SERVICE_STATE_PENDING,
      },
      {
        host: 'se01.example-grid.ro',
        service: 'org.sam.SRM-Put',
        state: S.SERVICE_STATE_OK,
        inDowntime: true,
      },
    ],
  },
];

describe('adapter parsers over testdata fixtures', () => {
  it.each(cases)('$parser $file', ({ parser, file, count, expect: expected }) => {
    const statuses = parsers[parser]!(file);
    expect(statuses).toHaveLength(count);
    for (const want of expected)
      expect(pick(statuses, want.host, want.service), `${want.host}/${want.service}`).toMatchObject(
        want,
      );
  });
});

/** Bad input: a SourceError with a reason and a message naming the source, never another exception. */
const badCases: Array<{ name: string; run: () => unknown; reason: string; message: RegExp }> = [
  {
    name: 'HTML login page instead of CSV',
    run: () => decodeText(fixture('bad/login-page.html'), 'utf-8', 'etf (checkmk-view csv)'),
    reason: 'login-page',
    message: /etf .*HTML page/,
  },
  {
    name: 'unterminated quote',
    run: () => parseCheckmkCsv(text('bad/unterminated.csv'), 'etf'),
    reason: 'malformed',
    message: /etf: line 2: unterminated/,
  },
  {
    name: 'row shorter than header',
    run: () => parseCheckmkCsv(text('bad/short-row.csv'), 'etf'),
    reason: 'malformed',
    message: /row 1 has 3 fields, the header 4/,
  },
  {
    name: 'missing columns',
    run: () => parseCheckmkCsv(text('bad/missing-columns.csv'), 'etf'),
    reason: 'malformed',
    message: /no service_description, service_state column/,
  },
  {
    name: 'unknown state text',
    run: () => parseCheckmkCsv(text('bad/bad-state.csv'), 'etf'),
    reason: 'malformed',
    message: /unknown service state "GREEN"/,
  },
  {
    name: 'Latin-1 bytes declared UTF-8',
    run: () => decodeText(fixture('bad/latin1.csv'), 'utf-8', 'etf'),
    reason: 'encoding',
    message: /etf: not valid UTF-8/,
  },
  {
    name: 'truncated Icinga JSON',
    run: () => parseIcinga2Services(text('bad/truncated.json'), 'ic (icinga2)'),
    reason: 'malformed',
    message: /ic \(icinga2\): invalid JSON \(truncated\?\)/,
  },
  {
    name: 'JSON error body instead of results',
    run: () => parseIcinga2Services(text('bad/http-500.json'), 'ic'),
    reason: 'malformed',
    message: /expected \{"results"/,
  },
  {
    name: 'REST error body',
    run: () => parseCheckmkRest(text('checkmk/rest-error-401.json'), 'cmk'),
    reason: 'malformed',
    message: /You need to be authenticated/,
  },
  {
    name: 'view JSON that is an object',
    run: () => parseCheckmkViewJson('{"a":1}', 'cmk'),
    reason: 'malformed',
    message: /list of rows, got an object/,
  },
  {
    name: 'livestatus error 452',
    run: () =>
      parseLivestatusResponse(
        fixture('icinga2/icinga2-livestatus-error-fixed16.txt'),
        'utf-8',
        'ls',
      ),
    reason: 'http-status',
    message: /ls: livestatus answered 452: Error: Column 'nonexistent'/,
  },
  {
    name: 'livestatus empty answer',
    run: () => parseLivestatusResponse(Buffer.alloc(0), 'utf-8', 'ls'),
    reason: 'malformed',
    message: /empty answer/,
  },
  {
    name: 'livestatus truncated body',
    run: () =>
      parseLivestatusResponse(
        fixture('checkmk/livestatus-2.3-services-fixed16.txt').subarray(0, 100),
        'utf-8',
        'ls',
      ),
    reason: 'malformed',
    message: /truncated/,
  },
  {
    name: 'status.dat cut in a block',
    run: () => parseNagiosStatusDat(text('nagios4/nagios4-status.dat').slice(0, 3000), 'ng'),
    reason: 'malformed',
    message: /not closed \(truncated\?\)/,
  },
  {
    name: 'not a status.dat',
    run: () => parseNagiosStatusDat('hello world\n', 'ng'),
    reason: 'malformed',
    message: /not a Nagios status file/,
  },
  {
    name: 'statusjson error result',
    run: () =>
      parseNagiosStatusJson(
        '{"result":{"type_code":1,"type_text":"Unauthorized","message":"no"}}',
        'nj',
      ),
    reason: 'http-status',
    message: /Unauthorized/,
  },
];

describe('bad input gives a SourceError naming the source', () => {
  it.each(badCases)('$name', ({ run, reason, message }) => {
    let thrown: unknown;
    try {
      run();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SourceError);
    expect((thrown as SourceError).reason).toBe(reason);
    expect((thrown as SourceError).message).toMatch(message);
  });

  it('Latin-1 decodes when the source declares it', () => {
    expect(
      parseCheckmkCsv(decodeText(fixture('bad/latin1.csv'), 'latin1', 'etf'), 'etf')[0]!.output,
    ).toBe('café au lait');
  });
});

describe('CSV splitting', () => {
  it.each([
    {
      csv: '"a";"b"\n"1";"2"\n',
      rows: [
        ['a', 'b'],
        ['1', '2'],
      ],
    },
    {
      csv: '"a";"b"\r\n"x""y";""\r\n',
      rows: [
        ['a', 'b'],
        ['x"y', ''],
      ],
    },
    {
      csv: '"a";"b"\n"semi;colon";"new\nline"',
      rows: [
        ['a', 'b'],
        ['semi;colon', 'new\nline'],
      ],
    },
    {
      csv: 'a;b\n1;2\n',
      rows: [
        ['a', 'b'],
        ['1', '2'],
      ],
    },
  ])('$csv', ({ csv, rows }) => expect(splitCsv(csv, 't')).toEqual(rows));
});

describe('requests', () => {
  it('Checkmk REST: GET with columns= up to 2.3, POST with a JSON body from 2.4', () => {
    const get = checkmkRestRequest('https://cmk/etf/check_mk/api/1.0/', '2.3');
    expect(get.method).toBe('GET');
    expect(get.url).toMatch(
      /^https:\/\/cmk\/etf\/check_mk\/api\/1\.0\/domain-types\/service\/collections\/all\?columns=host_name&columns=description&columns=state/,
    );
    const post = checkmkRestRequest('https://cmk/etf/check_mk/api/1.0', '2.4');
    expect(post).toMatchObject({
      method: 'POST',
      url: 'https://cmk/etf/check_mk/api/1.0/domain-types/service/collections/all',
    });
    expect(JSON.parse(post.body!).columns).toContain('is_flapping');
  });

  it('Livestatus query asks for JSON with a fixed16 header', () => {
    expect(livestatusQuery()).toMatch(
      /^GET services\nColumns: host_name description state .*\nOutputFormat: json\nColumnHeaders: on\nResponseHeader: fixed16\n\n$/,
    );
  });

  it('Icinga event stream: service events count, host events and junk do not', () => {
    expect(isServiceEvent('{"type":"StateChange","host":"h","service":"s","state":2}')).toBe(true);
    expect(isServiceEvent('{"type":"StateChange","host":"h","state":1}')).toBe(false);
    expect(
      isServiceEvent('{"type":"DowntimeStarted","downtime":{"host_name":"h","service_name":"s"}}'),
    ).toBe(true);
    expect(
      isServiceEvent('{"type":"DowntimeStarted","downtime":{"host_name":"h","service_name":""}}'),
    ).toBe(false);
    expect(isServiceEvent('{"type":"StateCh')).toBe(false);
  });
});
