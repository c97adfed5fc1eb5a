// Resolves the @minicloud/* aliases of tsconfig.base.json to the compiled libraries in dist/ at run time:
//   node -r ./tools/register-paths.js dist/apps/<service>/src/main.js
const path = require('path');
const tsconfigPaths = require('tsconfig-paths');
const base = require('../tsconfig.base.json');

const paths = {};
for (const [alias, targets] of Object.entries(base.compilerOptions.paths)) {
  paths[alias] = targets.map((t) => t.replace(/\.ts$/, '.js'));
}
tsconfigPaths.register({ baseUrl: path.join(__dirname, '..', 'dist'), paths });
