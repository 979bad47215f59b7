import { vigil } from '@vigil/schemas/gen';

/** The four states every source maps onto, plus PENDING (not checked yet). */
export const ServiceState = vigil.status.v1.ServiceState;
export type ServiceState = vigil.status.v1.ServiceState;
/** Soft or hard, as the source reports it. */
export const StateType = vigil.status.v1.StateType;
export type StateType = vigil.status.v1.StateType;

/** One service as one source reports it at one poll; what every adapter returns. */
export interface ServiceStatus {
  readonly host: string;
  /** Service description; empty for the host check itself. */
  readonly service: string;
  readonly state: ServiceState;
  readonly stateType: StateType;
  /** First line of the plugin output. */
  readonly output: string;
  readonly acknowledged: boolean;
  readonly inDowntime: boolean;
  readonly flapping: boolean;
  /** Milliseconds since the epoch; 0 when the source does not say. */
  readonly lastCheckMs: number;
  /** Milliseconds since the epoch; 0 when the source does not say. */
  readonly lastStateChangeMs: number;
}

/** Nagios-family numeric states (status.dat, Livestatus, Icinga 2, Checkmk REST): 0 OK … 3 UNKNOWN. */
export function stateFromNumber(value: number): ServiceState | undefined {
  switch (value) {
    case 0:
      return ServiceState.SERVICE_STATE_OK;
    case 1:
      return ServiceState.SERVICE_STATE_WARNING;
    case 2:
      return ServiceState.SERVICE_STATE_CRITICAL;
    case 3:
      return ServiceState.SERVICE_STATE_UNKNOWN;
    default:
      return undefined;
  }
}

/** Nagios-family state types: 0 soft, 1 hard. */
export function stateTypeFromNumber(value: unknown): StateType {
  if (value === 1 || value === '1') return StateType.STATE_TYPE_HARD;
  if (value === 0 || value === '0') return StateType.STATE_TYPE_SOFT;
  return StateType.STATE_TYPE_UNSPECIFIED;
}

/** Short names used in logs and tests. */
export function stateName(state: ServiceState): string {
  return (vigil.status.v1.ServiceState[state] ?? 'UNSPECIFIED').replace('SERVICE_STATE_', '');
}

/** The first line of a plugin output, without the performance data after `|`. */
export function firstLine(output: string): string {
  const line = output.split('\n', 1)[0] ?? '';
  const pipe = line.indexOf('|');
  return (pipe >= 0 ? line.slice(0, pipe) : line).trimEnd();
}
