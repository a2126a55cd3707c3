import type { Balancer } from '../middleware/balancer.js';

/** The fleet line at the top of the page: how many instances have applied the newest control state. */
export interface FleetView {
  /** Drives the colour (CSS `data-fleet-state`). */
  state: 'local' | 'converged' | 'converging' | 'unavailable';
  text: string;
}

/** From the public API only: `instances()` and `controlStatus()`. */
export function fleetView(balancer: Balancer): FleetView {
  const { shared, available } = balancer.controlStatus();
  const instances = balancer.instances();
  const newest = Math.max(...instances.map((instance) => instance.revision));
  if (!shared) return { state: 'local', text: `control state local to this instance · revision ${newest}` };
  if (!available) return { state: 'unavailable', text: `control store unavailable (STORE_UNAVAILABLE): changes are refused, the last state is served · revision ${balancer.snapshot().revision}` };
  const current = instances.filter((instance) => instance.lag === 0).length;
  const state = current === instances.length ? 'converged' : 'converging';
  return { state, text: `${state} on ${current}/${instances.length} instances · revision ${newest}` };
}
