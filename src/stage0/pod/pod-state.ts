/**
 * rkt's pod lifecycle (docs/stage1-contract.md, "Pod directory" and "The pod lock"): a pod's
 * state is the directory it sits in plus whether its lock is held. Pure: names and rules only.
 */

/** The directories under `<dataDir>/pods/`, in lifecycle order. */
export const POD_DIRS = ['embryo', 'prepare', 'prepared', 'run', 'exited-garbage', 'garbage'] as const;
export type PodDir = (typeof POD_DIRS)[number];

/** The state names `status` and `list` print (rkt's). */
export type PodStateName =
  | 'embryo'
  | 'preparing'
  | 'aborted prepare'
  | 'prepared'
  | 'running'
  | 'deleting'
  | 'exited deleting'
  | 'exited'
  | 'exited garbage'
  | 'garbage';

/**
 * | dir | locked | unlocked |
 * |---|---|---|
 * | embryo | embryo | embryo |
 * | prepare | preparing | aborted prepare |
 * | prepared | prepared | prepared |
 * | run | running | exited |
 * | exited-garbage | exited deleting | exited garbage |
 * | garbage | deleting | garbage |
 */
export function stateName(dir: PodDir, locked: boolean): PodStateName {
  switch (dir) {
    case 'embryo':
      return 'embryo';
    case 'prepare':
      return locked ? 'preparing' : 'aborted prepare';
    case 'prepared':
      return 'prepared';
    case 'run':
      return locked ? 'running' : 'exited';
    case 'exited-garbage':
      return locked ? 'exited deleting' : 'exited garbage';
    case 'garbage':
      return locked ? 'deleting' : 'garbage';
  }
}

/** Whether the state name depends on the lock, i.e. whether a reader must test it. */
export function lockMatters(dir: PodDir): boolean {
  return dir !== 'embryo' && dir !== 'prepared';
}

/** rkt's AfterRun: the pod ran (or was thrown away) and will not run again. */
export function isAfterRun(s: PodStateName): boolean {
  return s === 'exited' || s === 'exited garbage' || s === 'exited deleting' || s === 'garbage' || s === 'deleting';
}

/** The pod has ended: its apps' exit codes are final. */
export function hasExited(s: PodStateName): boolean {
  return s === 'exited' || s === 'exited garbage' || s === 'exited deleting';
}

/** Which transitions exist (each an atomic rename); anything else is a bug. */
export const TRANSITIONS: Readonly<Record<PodDir, readonly PodDir[]>> = {
  embryo: ['prepare', 'garbage'],
  prepare: ['prepared', 'run', 'garbage'],
  prepared: ['run', 'garbage'],
  run: ['exited-garbage'],
  'exited-garbage': [],
  garbage: [],
};
