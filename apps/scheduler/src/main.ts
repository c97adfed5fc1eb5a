import './tracing';
import { bootstrapService } from '@minicloud/service-kit';
import { AppModule } from './app.module';

bootstrapService(AppModule, { name: 'scheduler', defaultPort: 8081 }).catch((err) => {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'fatal', service: 'scheduler', msg: 'start failed', err: String(err?.stack ?? err) }) + '\n');
  process.exit(1);
});
