import { MemoryStore } from '../../src/storage/memory.js';
import { runStoreConformance } from './conformance.js';

runStoreConformance('memory', (opts) => new MemoryStore(opts));
