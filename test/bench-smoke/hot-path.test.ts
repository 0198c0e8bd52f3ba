// `pnpm bench --quick`, section 1: hot-path overhead, end to end over HTTP (quick.ts says why one file per part).
import { describeQuickBench } from './quick.js';

await describeQuickBench(['hot-path']);
