import './tracing';
import { bootstrapService } from '@minicloud/service-kit';
import { AppModule } from './app.module';

void bootstrapService(AppModule, { name: 'provisioner', defaultPort: 8082 });
