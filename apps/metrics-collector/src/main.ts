import './tracing';
import { bootstrapService } from '@minicloud/service-kit';
import { AppModule } from './app.module';

bootstrapService(AppModule, { name: 'metrics-collector', defaultPort: 8083 }).catch((err) => {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'fatal', service: 'metrics-collector', msg: 'start failed', err: String(err?.stack ?? err) }) + '\n');
  process.exit(1);
});
