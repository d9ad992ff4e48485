import type { Config } from '../../config/config-schema.js';
import { startMllpListener } from './mllp-listener.js';
import type { MllpListener } from './mllp-listener.js';
import { receiveOru } from './receive-oru.js';
import type { ReceiveOruDeps } from './receive-oru.js';

/** The HL7 v2 settings the listener reads. */
type Hl7Settings = Pick<
  Config,
  | 'HOST'
  | 'HL7_MLLP_PORT'
  | 'HL7_MAX_MESSAGE_BYTES'
  | 'HL7_FRAME_TIMEOUT_MS'
  | 'HL7_IDLE_TIMEOUT_MS'
  | 'HL7_MAX_CONNECTIONS'
  | 'HL7_ASSIGNING_AUTHORITIES'
  | 'HL7_MLLP_ALLOWED_ADDRESSES'
>;

/**
 * Starts the HL7 v2 door when `HL7_MLLP_PORT` is set: an MLLP listener whose messages go through
 * {@link receiveOru} (inbox + per-patient job, then ACK). Returns undefined when the port is unset.
 */
export async function startHl7v2Intake(
  config: Hl7Settings,
  deps: Omit<ReceiveOruDeps, 'assigningAuthorities'>,
): Promise<MllpListener | undefined> {
  if (config.HL7_MLLP_PORT === undefined) return undefined;
  const receive: ReceiveOruDeps = { ...deps, assigningAuthorities: config.HL7_ASSIGNING_AUTHORITIES };
  return startMllpListener({
    host: config.HOST,
    port: config.HL7_MLLP_PORT,
    maxMessageBytes: config.HL7_MAX_MESSAGE_BYTES,
    frameTimeoutMs: config.HL7_FRAME_TIMEOUT_MS,
    idleTimeoutMs: config.HL7_IDLE_TIMEOUT_MS,
    maxConnections: config.HL7_MAX_CONNECTIONS,
    allowedAddresses: config.HL7_MLLP_ALLOWED_ADDRESSES,
    logger: deps.logger,
    handle: (payload) => receiveOru(payload, receive),
    onDrop: (reason) => deps.metrics.notificationsRejected.inc({ reason: `hl7v2-${reason}` }),
  });
}
