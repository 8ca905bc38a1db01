#!/usr/bin/env node
// The CLI is TypeScript like the rest of Quarry; tsx's loader runs it as it is, so `npx quarry`
// works straight after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
