/**
 * Default loopback ports of the raw frameserver protocol. cosmicstreams keeps COSMIC's own (37013 frames,
 * 37016 reconstructions, in src/model/cosmicstreams.ts); the raw frameserver sits just below them.
 */
export const RAW_FRAMES_PORT = 37010;
export const RAW_CONTROL_PORT = 37011;
export const RAW_MONITOR_PORT = 37012;
