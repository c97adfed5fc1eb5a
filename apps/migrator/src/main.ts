import './tracing';
import { bootstrapService } from '@minicloud/service-kit';
import { AppModule } from './app.module';

bootstrapService(AppModule, { name: 'migrator', defaultPort: 8084 }).catch((err) => {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'fatal', service: 'migrator', msg: 'start failed', err: String(err?.stack ?? err) }) + '\n');
  process.exit(1);
});
