import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { Bus } from '@minicloud/messaging';
import { JsonLogger } from '@minicloud/telemetry';

export const SERVICE_NAME = Symbol('SERVICE_NAME');

@Injectable()
class BusCloser implements OnApplicationShutdown {
  constructor(@Inject(Bus) private readonly bus: Bus) {}
  async onApplicationShutdown() {
    await this.bus.close();
  }
}

/** Provides the connected `Bus` to a service; closes it (after in-flight handlers) on shutdown. */
@Global()
@Module({})
export class BusModule {
  static forRoot(serviceName: string): DynamicModule {
    const logger = new JsonLogger(serviceName);
    return {
      module: BusModule,
      providers: [
        { provide: SERVICE_NAME, useValue: serviceName },
        {
          provide: Bus,
          useFactory: () =>
            Bus.connect({
              name: serviceName,
              log: (level, msg, extra) => (level === 'info' ? logger.log({ msg, ...extra }, 'Bus') : logger[level]({ msg, ...extra }, 'Bus')),
            }),
        },
        BusCloser,
      ],
      exports: [Bus, SERVICE_NAME],
    };
  }
}
