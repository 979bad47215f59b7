import { randomBytes } from 'node:crypto';

export { sampleEvents, sampleInnerMessages, type SampleEvent } from './sample-events.js';
export { freePort, waitFor } from './wait.js';

/** A name no other test run uses: for topics, consumer groups and indices of one test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export {
  createMemorySink,
  describeSinkConformance,
  describeTransformConformance,
  pipelineEvent,
  type MemorySink,
  type SinkConformanceOptions,
  type TransformConformanceOptions,
} from './conformance.js';
