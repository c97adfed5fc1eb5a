// Prints docs/events.md: node -r ./tools/register-paths.js dist/libs/contracts/src/render-events-doc.js > docs/events.md
import 'reflect-metadata';
import { renderEventsDoc } from './catalog';

process.stdout.write(renderEventsDoc());
