import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import Long from 'long';
import { vigil } from '@vigil/schemas/gen';
import { newEventId, formatUuid } from '@vigil/pipeline/events';
import { sampleEvents } from '@vigil/pipeline/testing';
import { classifyPath } from './classify.js';
import { DEFAULT_PATH_RULES } from './config.js';
import { createFileDirectory, parseIdFile } from './directory.js';
import { endDocument, startDocument, type EcsContext } from './ecs.js';
import { createJoinCache } from './join.js';
import { parseModule } from './modules.js';

const testdata = (name: string) => fileURLToPath(new URL(`../testdata/${name}`, import.meta.url));

describe('parseModule', () => {
  it.each([
    ['gcc/12.2.0', 'gcc', '12.2.0'],
    ['openmpi/4.1.6', 'openmpi', '4.1.6'],
    ['Python/3.11.3-GCCcore-12.3.0', 'Python', '3.11.3-GCCcore-12.3.0'],
    ['Core/gcc/12.2.0', 'Core/gcc', '12.2.0'],
    ['netcdf', 'netcdf', ''],
    ['cuda/', 'cuda', ''],
    [' intel/2024.1 ', 'intel', '2024.1'],
  ])('%j → %s %s', (input, name, version) => expect(parseModule(input)).toEqual({ name, version }));
});

describe('classifyPath', () => {
  it.each([
    ['/usr/bin/python3', 'system'],
    ['/bin/bash', 'system'],
    ['/usr/local/bin/tool', 'site'],
    ['/opt/site/openmpi/4.1.6/bin/mpirun', 'site'],
    ['/cvmfs/sft.cern.ch/lcg/bin/root', 'site'],
    ['/home/alice/a.out', 'home'],
    ['/scratch/alice/run-17/sim', 'scratch'],
    ['/dev/shm/x', 'scratch'],
    ['/srv/thing', 'other'],
    ['relative/path', 'other'],
  ])('%s is %s', (path, expected) => expect(classifyPath(path, DEFAULT_PATH_RULES)).toBe(expected));
});

describe('passwd and group files', () => {
  it('parses ids to names, skipping comments and malformed lines; the first entry of an id wins', () => {
    const users = parseIdFile(
      'root:x:0:0::/root:/bin/sh\n#c\nbad\nalice:x:1001:100\nnot:x:abc:1\nalice2:x:1001:1\n',
    );
    expect([...users]).toEqual([
      [0, 'root'],
      [1001, 'alice'],
    ]);
  });

  it('reads the files adapter', async () => {
    const directory = await createFileDirectory({
      passwdFile: testdata('passwd'),
      groupFile: testdata('group'),
      reloadMs: 0,
      onError: () => undefined,
    });
    expect(directory.userName(1001)).toBe('alice');
    expect(directory.userName(4242)).toBeUndefined();
    expect(directory.groupName(100)).toBe('users');
    directory.close();
  });
});

const directory = {
  userName: (uid: number) => ({ 1001: 'alice', 0: 'root' })[uid],
  groupName: (gid: number) => ({ 100: 'users' })[gid],
};
const ctx: EcsContext = {
  directory,
  pathRules: DEFAULT_PATH_RULES,
  verify: { signature: 'valid', keyId: 'site-2026' },
};

function endOf(start: vigil.process.v1.ProcessEvent) {
  return vigil.process.v1.ProcessEvent.create({
    envelope: {
      ...start.envelope!,
      eventId: newEventId(),
      timeUnixNano: Long.fromString('1790000005000000000', true),
    },
    end: {
      pid: 4242,
      startEventId: start.envelope!.eventId,
      exitStatus: 3,
      durationNs: Long.fromNumber(5_000_000_000, true),
      maxRssKib: Long.fromNumber(1024, true),
    },
  });
}

describe('ECS documents and the start/end join', () => {
  const start = sampleEvents()[0]!.message as vigil.process.v1.ProcessEvent;
  const startId = formatUuid(start.envelope!.eventId!);

  it('prepares a start document with ECS names, user and group names, job, modules and class', () => {
    const { document } = startDocument(start.envelope!, start.start!, ctx);
    expect(document).toMatchObject({
      event: { id: startId, kind: 'event', category: ['process'], type: ['start'] },
      host: { name: 'node001.cluster' },
      process: {
        entity_id: startId,
        pid: 4242,
        parent: { pid: 1 },
        executable: '/opt/site/openmpi/4.1.6/bin/mpirun',
        name: 'mpirun',
        args_count: 4,
        working_directory: '/scratch/alice/run-17',
        env_vars: ['OMP_NUM_THREADS=8', 'GITHUB_TOKEN=[redacted]'],
      },
      user: {
        id: '1001',
        name: 'alice',
        effective: { id: '1001', name: 'alice' },
        group: { id: '100', name: 'users' },
      },
      group: { id: '100', name: 'users' },
      vigil: {
        classification: 'site',
        job: { scheduler: 'slurm', id: '123456', step: '0', array_index: '7' },
        modules: [
          { name: 'gcc', version: '12.2.0', file: '/etc/modulefiles/gcc/12.2.0' },
          { name: 'openmpi', version: '4.1.6', file: '/etc/modulefiles/openmpi/4.1.6' },
        ],
        signature: { status: 'valid', key_id: 'site-2026' },
        join: { status: 'no-end-yet' },
      },
    });
    expect((document.process as { args: string[] }).args[3]).toBe('.\ufffd\ufffd/a'); // non-UTF-8 bytes survive as U+FFFD
    expect(document['@timestamp']).toMatch(/^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  it('joins an end to the start seen before it', () => {
    const join = createJoinCache<
      ReturnType<typeof startDocument>['summary'],
      ReturnType<typeof endDocument>['summary']
    >(10);
    join.rememberStart(startId, startDocument(start.envelope!, start.start!, ctx).summary);
    const end = endOf(start);
    const { document } = endDocument(end.envelope!, end.end!, ctx, join.startOf(startId));
    expect(document).toMatchObject({
      event: { type: ['end'], duration: '5000000000' },
      process: {
        entity_id: startId,
        executable: '/opt/site/openmpi/4.1.6/bin/mpirun',
        exit_code: 3,
        end: '2026-09-21T14:13:25.000000000Z',
        memory: { max_rss_kib: '1024' },
      },
      user: { name: 'alice' },
      vigil: { join: { status: 'joined', start_event_id: startId }, job: { id: '123456' } },
    });
  });

  it('handles an end before its start: the end says start-not-seen, the later start carries the end', () => {
    const end = endOf(start);
    const early = endDocument(end.envelope!, end.end!, ctx, undefined);
    expect(early.document).toMatchObject({
      process: { entity_id: startId, exit_code: 3, start: '2026-09-21T14:13:20.000000000Z' },
      vigil: { join: { status: 'start-not-seen' } },
    });
    expect(early.document).not.toHaveProperty('user');
    const late = startDocument(start.envelope!, start.start!, ctx, early.summary);
    expect(late.document).toMatchObject({
      process: { end: '2026-09-21T14:13:25.000000000Z', exit_code: 3 },
      event: { duration: '5000000000' },
      vigil: { join: { status: 'end-seen-first' } },
    });
  });

  it('forgets the oldest entries first', () => {
    const join = createJoinCache<number, number>(2);
    join.rememberStart('a', 1);
    join.rememberStart('b', 2);
    join.rememberStart('c', 3);
    expect([join.startOf('a'), join.startOf('b'), join.startOf('c')]).toEqual([undefined, 2, 3]);
  });
});
