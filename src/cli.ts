#!/usr/bin/env node
// The booth-agent command, as package.json's "bin" runs it; the program and its command
// groups are in src/cli/.
import { main } from './cli/program.js';

void main();
