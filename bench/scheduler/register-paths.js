// The @minicloud/* aliases of tsconfig.base.json, resolved to this bench's private build (dist/.bench-scheduler),
// so that building the bench (and the scheduler it runs) never rewrites the dist/ that running services and tests use.
const path = require('path');
const tsconfigPaths = require('tsconfig-paths');
const base = require('../../tsconfig.base.json');

const paths = {};
for (const [alias, targets] of Object.entries(base.compilerOptions.paths)) paths[alias] = targets.map((t) => t.replace(/\.ts$/, '.js'));
tsconfigPaths.register({ baseUrl: path.join(__dirname, '..', '..', 'dist', '.bench-scheduler'), paths });
