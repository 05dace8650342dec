import { CapsuleError } from '../../errors/capsule-error.js';
import { STAGE1_INTERFACE_VERSION, type Stage1 } from '../contract.js';

export const flyStage1: Stage1 = {
  flavour: 'fly',
  interfaceVersion: STAGE1_INTERFACE_VERSION,
  run: () => Promise.reject(new CapsuleError('stage1', 'fly run: not implemented yet')),
  enter: () => Promise.reject(new CapsuleError('stage1', 'fly enter: not implemented yet')),
  stop: () => Promise.resolve(),
  gc: () => Promise.resolve(),
};
