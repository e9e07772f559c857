// How busy the machine was while a figure was measured: printed beside every benchmark table, so a
// reader can tell a regression from a loaded machine.
import { cpus, loadavg } from 'node:os';

export interface MachineLoad {
  /** 1-minute load average when the measurement started. */
  load1: number;
  /** Share of all cores' time spent idle during the measurement, in percent. */
  idlePct: number;
}

function cpuTimes(): { idle: number; total: number } {
  return cpus().reduce(
    (sum, cpu) => {
      const total = Object.values(cpu.times).reduce((a, b) => a + b, 0);
      return { idle: sum.idle + cpu.times.idle, total: sum.total + total };
    },
    { idle: 0, total: 0 },
  );
}

/** Starts measuring; the returned function answers the load over the time since. */
export function measureMachineLoad(): () => MachineLoad {
  const load1 = loadavg()[0]!;
  const start = cpuTimes();
  return () => {
    const end = cpuTimes();
    const total = end.total - start.total;
    return {
      load1: Math.round(load1 * 100) / 100,
      idlePct: total > 0 ? Math.round(((end.idle - start.idle) / total) * 1000) / 10 : NaN,
    };
  };
}
