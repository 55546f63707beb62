/**
 * The kernel protocol over ZeroMQ between a coordinator (ROUTER, binds) and worker processes (DEALER, connect):
 * the worker-thread protocol of src/kernel/protocol.ts carried across processes and hosts. A message is
 * `[type, json header, ...binary parts]`; the ROUTER side also sees the worker's routing id in front.
 *
 *   coordinator -> worker   plan  {id}  + the packed KernelPlan (src/distributed/wire.ts)   once per plan and worker
 *                           drop  {id}                                                       no job names it again
 *                           run   {job, plan, dtype, exposures, windowLength} + packed raw window bytes
 *   worker -> coordinator   alive {host, pid}     every heartbeat, and first thing: a worker joins by speaking
 *                           done  {job}  + rows x cols float32 data then rows x cols uint8 weights
 *                           failed {job, message}
 */
import * as t from "io-ts";
import { decodeOrThrow, NonNegativeInteger, PositiveInteger } from "../model/codec";
import { Dtype } from "../model/dtype";

export const PlanHeader = t.type({ id: NonNegativeInteger });
export const RunHeader = t.type({ job: NonNegativeInteger, plan: NonNegativeInteger, dtype: Dtype, exposures: PositiveInteger, windowLength: PositiveInteger });
export type RunHeader = t.TypeOf<typeof RunHeader>;
export const AliveHeader = t.type({ host: t.string, pid: NonNegativeInteger });
export type AliveHeader = t.TypeOf<typeof AliveHeader>;
export const DoneHeader = t.type({ job: NonNegativeInteger });
export const FailedHeader = t.type({ job: t.number, message: t.string });

export type ToWorker = "plan" | "drop" | "run";
export type ToCoordinator = "alive" | "done" | "failed";

export function message(type: ToWorker | ToCoordinator, header: unknown, ...binary: Buffer[]): Buffer[] {
  return [Buffer.from(type), Buffer.from(JSON.stringify(header)), ...binary];
}

/** The JSON header of `parts` (after the type) decoded with `codec`; throws a readable error. */
export function headerOf<A>(codec: t.Decoder<unknown, A>, parts: readonly Buffer[], what: string): A {
  if (parts.length < 2) throw new Error(`${what}: message without a header`);
  return decodeOrThrow(codec, JSON.parse(parts[1].toString("utf8")), what);
}

/** How often a worker says it is alive, and how long a silent worker is given before it counts as dead. */
export const HEARTBEAT_MS = 250;
export const DEFAULT_DEAD_AFTER_MS = 3000;
