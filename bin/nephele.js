#!/usr/bin/env node
// Entry point for `npx nephele`: the CLI is TypeScript, run directly by Node 24.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`nephele needs Node.js 24 or newer (this is ${process.version}); run it through npm (npx nephele, npm start), which uses the Node 24 the project installs.`);
  process.exit(1);
}
await import('../src/cli/main.ts');
