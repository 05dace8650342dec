import { CapsuleError } from '../../errors/capsule-error.js';
import { STAGE1_INTERFACE_VERSION, type Stage1 } from '../contract.js';

export const nspawnStage1: Stage1 = {
  flavour: 'nspawn',
  interfaceVersion: STAGE1_INTERFACE_VERSION,
  run: () => Promise.reject(new CapsuleError('stage1', 'nspawn run: not implemented yet')),
  enter: () => Promise.reject(new CapsuleError('stage1', 'nspawn enter: not implemented yet')),
  stop: () => Promise.resolve(),
  gc: () => Promise.resolve(),
};
