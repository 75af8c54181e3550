#!/usr/bin/env node
// The CLI runs the compiled entry point; `npm run build` (run by `npm start` and `npm ci`) makes it.
import '../dist/src/main.js';
