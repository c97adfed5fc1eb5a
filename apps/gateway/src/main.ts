import './tracing';
import { bootstrapService } from '@minicloud/service-kit';
import { AppModule } from './app.module';
import { configureGateway } from './configure';

bootstrapService(AppModule, { name: 'gateway', defaultPort: 8080, configure: configureGateway }).catch((err) => {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'fatal', service: 'gateway', msg: 'start failed', err: String(err?.stack ?? err) }) + '\n');
  process.exit(1);
});
