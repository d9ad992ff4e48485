// Regenerates the configuration table in README.md from the settings schema (src/config/).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigTable } from '../src/config/describe-config.js';

const start = '<!-- config-table:start -->';
const end = '<!-- config-table:end -->';
const readme = readFileSync('README.md', 'utf8');
const from = readme.indexOf(start);
const to = readme.indexOf(end);
if (from < 0 || to < 0) throw new Error('README.md has no config-table markers');
writeFileSync('README.md', `${readme.slice(0, from + start.length)}\n${renderConfigTable()}\n${readme.slice(to)}`);
console.log('README.md configuration table updated');
