import { runService } from '@armature/platform/kit/index';
import { service } from './index.ts';

await runService(service);
