import { DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { ensureDatabaseAndSchema, serviceDataSourceOptions, ServiceDataSourceOptions } from '@minicloud/database';

/** TypeORM for one service: creates its schema if needed and runs its migrations at start. */
export function serviceDatabaseModule(o: ServiceDataSourceOptions): DynamicModule {
  return TypeOrmModule.forRootAsync({
    useFactory: () => serviceDataSourceOptions(o),
    dataSourceFactory: async (opts?: DataSourceOptions) => {
      const options = opts as DataSourceOptions & { url: string };
      await ensureDatabaseAndSchema(options.url, o.schema);
      return new DataSource(options).initialize();
    },
  });
}
