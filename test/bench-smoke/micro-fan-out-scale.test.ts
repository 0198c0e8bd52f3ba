// `pnpm bench --quick`, sections 1b, 5 and 6: the in-process cost per request, scale, fan-out and tenants (see quick.ts).
import { describeQuickBench } from './quick.js';

await describeQuickBench(['micro', 'fan-out', 'scale']);
