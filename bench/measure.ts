/** One row, one round: start its proxy, prove it proxies, warm up, measure, read /proc, stop. */
import path from 'node:path';
import { spawnPinned, stop, waitForReady, type Child } from './children.js';
import { runLoad, type LoadGenerator } from './load.js';
import type { LoadResult } from './load-result.js';
import { coreTicks, peakRssBytes, processCpuTicks } from './proc.js';
import { rotatesOneByOne, ROW_LABELS, type ProxyRowName, type RowName } from './settings.js';
import { verifyProxies } from './verify.js';

export interface BenchContext {
  generator: LoadGenerator;
  durationS: number;
  warmupS: number;
  connections: number;
  proxyCore: number | undefined;
  loadCore: number | undefined;
  backendPorts: readonly number[];
  clockTicks: number;
}

export interface Measurement {
  row: RowName;
  round: number;
  load: LoadResult;
  /** The proxy child's VmHWM after the measured run. */
  peakRssBytes: number | undefined;
  /** Share of one core the proxy used while measured (1 = saturated). */
  proxyCpu: number | undefined;
  /**
   * The proxy's CPU time per request answered, in µs. Outside load on a shared VM moves it as
   * much as req/s (both halved and doubled together in one run): a cost, not a noise filter.
   */
  cpuPerRequestUs: number | undefined;
  /** Share of the load core (load generator + backends) busy while measured. */
  loadCoreBusy: number | undefined;
  /** Busy share of the proxy's core not spent by the proxy: other processes, a disturbed run. */
  proxyCoreOther: number | undefined;
}

export interface RunningProxy {
  child: Child;
  port: number;
}

export async function startProxy(row: ProxyRowName, context: BenchContext): Promise<RunningProxy> {
  const entry = path.join(__dirname, 'proxy.js');
  const child = spawnPinned(`proxy ${row}`, context.proxyCore, process.execPath, [entry, row, context.backendPorts.join(',')], { echoStderr: true });
  try {
    return { child, port: Number(await waitForReady(child)) };
  } catch (error) {
    await stop(child);
    throw error;
  }
}

/** A row's proxy, started and proven to proxy; stopped again if it does not. */
export async function startVerifiedProxy(row: ProxyRowName, context: BenchContext): Promise<RunningProxy> {
  const proxy = await startProxy(row, context);
  try {
    await verifyProxies(ROW_LABELS[row], proxy.port, context.backendPorts.length, rotatesOneByOne(row));
    return proxy;
  } catch (error) {
    await stop(proxy.child);
    throw error;
  }
}

export async function measureRow(row: RowName, round: number, context: BenchContext): Promise<Measurement> {
  if (row === 'direct') {
    const port = context.backendPorts[0]!;
    await verifyProxies(ROW_LABELS[row], port, 1);
    return measureAt(row, round, port, undefined, context);
  }
  const proxy = await startVerifiedProxy(row, context);
  try {
    return await measureAt(row, round, proxy.port, proxy.child.pid, context);
  } finally {
    await stop(proxy.child);
  }
}

async function measureAt(row: RowName, round: number, port: number, proxyPid: number | undefined, context: BenchContext): Promise<Measurement> {
  const url = `http://127.0.0.1:${port}/`;
  const shape = { url, connections: context.connections, core: context.loadCore };
  // JIT, keep-alive pools and heap settle before the measured window
  await runLoad(context.generator, { ...shape, durationS: context.warmupS });
  const cpuBefore = proxyPid === undefined ? undefined : processCpuTicks(proxyPid);
  const coreBefore = context.loadCore === undefined ? undefined : coreTicks(context.loadCore);
  const proxyCoreBefore = context.proxyCore === undefined ? undefined : coreTicks(context.proxyCore);
  const startedAt = process.hrtime.bigint();
  const load = await runLoad(context.generator, { ...shape, durationS: context.durationS });
  const wallS = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const cpuAfter = proxyPid === undefined ? undefined : processCpuTicks(proxyPid);
  const coreAfter = context.loadCore === undefined ? undefined : coreTicks(context.loadCore);
  const proxyCoreAfter = context.proxyCore === undefined ? undefined : coreTicks(context.proxyCore);
  const proxyCpuS = cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / context.clockTicks;
  const proxyCpu = proxyCpuS === undefined ? undefined : proxyCpuS / wallS;
  const proxyCoreBusy = busyShare(proxyCoreBefore, proxyCoreAfter);
  return {
    row,
    round,
    load,
    peakRssBytes: proxyPid === undefined ? undefined : peakRssBytes(proxyPid),
    proxyCpu,
    cpuPerRequestUs: proxyCpuS === undefined || load.requests === 0 ? undefined : (proxyCpuS * 1e6) / load.requests,
    loadCoreBusy: busyShare(coreBefore, coreAfter),
    proxyCoreOther: proxyCoreBusy === undefined ? undefined : Math.max(0, proxyCoreBusy - (proxyCpu ?? 0)),
  };
}

type CoreTicks = ReturnType<typeof coreTicks>;

function busyShare(before: CoreTicks, after: CoreTicks): number | undefined {
  if (before === undefined || after === undefined) return undefined;
  return (after.busy - before.busy) / Math.max(1, after.total - before.total);
}
