/**
 * What /proc says about processes and the machine: process trees, memory, CPU time. Linux only;
 * a process that is gone reads as undefined, never as an error.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {clearInterval, setInterval} from 'node:timers'

export const SAMPLE_INTERVAL_MS = 50
const KIB_PER_MB = 1024
/** /proc reports CPU times in USER_HZ ticks, which Linux fixes at 100 per second for user space. */
const TICKS_PER_SECOND = 100

/** The fields of /proc/PID/stat after the command name (field 2, which may hold spaces and parentheses): state, ppid, ... */
function statFields(pid: number | string): string[] | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined // exited while we looked
  }

  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** pid -> parent pid for every process in /proc. */
function readParentPids(): Map<number, number> {
  const parents = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const fields = statFields(entry)
    if (fields) parents.set(Number(entry), Number(fields[1]))
  }

  return parents
}

/**
 * The roots and all their descendants. Scans /proc for parent pids because
 * /proc/PID/task/TID/children needs CONFIG_PROC_CHILDREN, which this kernel lacks.
 */
export function processTree(rootPids: readonly number[]): number[] {
  const children = new Map<number, number[]>()
  for (const [pid, parent] of readParentPids()) {
    const siblings = children.get(parent) ?? []
    siblings.push(pid)
    children.set(parent, siblings)
  }

  const tree: number[] = []
  const pending = [...rootPids]
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    tree.push(pid)
    pending.push(...(children.get(pid) ?? []))
  }

  return tree
}

export interface ProcessMemory {
  /** VmRSS: resident now. */
  rssKib: number
  /** VmHWM: the process's own peak. */
  hwmKib: number
}

/** VmRSS (now) and VmHWM (the process's own peak) in KiB; undefined once the process is gone or a zombie. */
export function readMemoryKib(pid: number): ProcessMemory | undefined {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return undefined
  }

  const rss = /^VmRSS:\s+(\d+) kB/m.exec(status)
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status)
  if (!rss) return undefined
  return {rssKib: Number(rss[1]), hwmKib: hwm ? Number(hwm[1]) : Number(rss[1])}
}

export interface TreeMemory {
  peakRssMb: number
  /** The sum of every process's own VmHWM: an upper bound on the peak total that no sampling gap can hide. */
  hwmSumMb: number
  samples: number
  processes: number
}

/**
 * Samples the total RSS of the process trees under `rootPids` every `intervalMs` until stopped.
 * Also keeps each process's own VmHWM: their sum is an upper bound on the true peak total that
 * cannot miss a short spike between two samples.
 */
export function startTreeSampler(rootPids: readonly number[], intervalMs = SAMPLE_INTERVAL_MS): {stop(): TreeMemory} {
  const peakHwmKibByPid = new Map<number, number>()
  let peakTotalKib = 0
  let samples = 0
  const sample = () => {
    let totalKib = 0
    for (const pid of processTree(rootPids)) {
      const memory = readMemoryKib(pid)
      if (!memory) continue
      totalKib += memory.rssKib
      peakHwmKibByPid.set(pid, Math.max(peakHwmKibByPid.get(pid) ?? 0, memory.hwmKib))
    }

    peakTotalKib = Math.max(peakTotalKib, totalKib)
    samples += 1
  }

  sample()
  const timer = setInterval(sample, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      let hwmSumKib = 0
      for (const value of peakHwmKibByPid.values()) hwmSumKib += value
      return {peakRssMb: peakTotalKib / KIB_PER_MB, hwmSumMb: hwmSumKib / KIB_PER_MB, samples, processes: peakHwmKibByPid.size}
    },
  }
}

/** User plus system CPU seconds a live process has used so far; undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  // After the command name: state (field 3) ... utime (14), stime (15).
  const fields = statFields(pid)
  if (!fields) return undefined
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
}

/** CPU seconds of a process and all its descendants that are alive now. */
export function treeCpuSeconds(pid: number): number {
  let total = 0
  for (const member of processTree([pid])) total += processCpuSeconds(member) ?? 0
  return total
}

export interface CpuTicks {
  busy: number
  total: number
}

/** Busy and total CPU ticks of the whole machine, all cores together (the first line of /proc/stat). */
export function machineCpuTicks(): CpuTicks {
  const [, ...values] = (readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '').trim().split(/\s+/)
  const ticks = values.slice(0, 8).map(Number) // user nice system idle iowait irq softirq steal
  const total = ticks.reduce((sum, value) => sum + value, 0)
  return {busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total}
}

/** The share of all cores busy between two readings of machineCpuTicks. */
export function busyShare(before: CpuTicks, after: CpuTicks): number {
  return (after.busy - before.busy) / (after.total - before.total)
}
