// `pnpm bench --quick`, sections 2 to 4: propagation, storm and idle cost on every channel (see quick.ts).
import { describeQuickBench } from './quick.js';

await describeQuickBench(['channels']);
