import { loadConfig, type FacetConfig } from "../shared/config/config.js";
import { createDb, type Db } from "../shared/db/database.js";
import type { LedgerContext } from "../shared/ledger/run-ledger.js";
import { createLogger, logProcessWarnings, type Logger } from "../shared/logging/logger.js";
import { createDescribeQueue, redisConnection, SUSPECT_QUEUE, type DescribeJob } from "../shared/queue/describe-queue.js";
import type { Queue } from "bullmq";

/**
 * The composition root shared by the CLI's commands: config read once, and the clients a
 * command asks for, created on first use and all closed by `close()` (in a `finally`).
 */
export class Services {
  readonly config: FacetConfig;
  readonly logger: Logger;
  private dbInstance: Db | undefined;
  private queueInstance: Queue<DescribeJob> | undefined;
  private suspectQueueInstance: Queue<DescribeJob> | undefined;

  constructor(role: string, env: NodeJS.ProcessEnv = process.env) {
    this.config = loadConfig(env);
    this.logger = createLogger({ level: this.config.LOG_LEVEL, role });
    // Long-running roles print only JSON lines; the CLI's commands keep Node's own warnings.
    if (role !== "cli") logProcessWarnings(this.logger);
  }

  get db(): Db {
    this.dbInstance ??= createDb(this.config.DATABASE_URL, { logger: this.logger });
    return this.dbInstance;
  }

  get ledger(): LedgerContext {
    return { db: this.db, schema: this.config.DB_SCHEMA, catalogue: this.config.CATALOGUE_RELATION };
  }

  get queue(): Queue<DescribeJob> {
    this.queueInstance ??= createDescribeQueue(redisConnection(this.config.REDIS_URL), this.config.QUEUE_PREFIX);
    return this.queueInstance;
  }

  /** SUSPECT_QUEUE: items that crashed a worker (shared/queue/describe-queue.ts). */
  get suspectQueue(): Queue<DescribeJob> {
    this.suspectQueueInstance ??= createDescribeQueue(redisConnection(this.config.REDIS_URL), this.config.QUEUE_PREFIX, SUSPECT_QUEUE);
    return this.suspectQueueInstance;
  }

  get s3() {
    return { region: this.config.S3_REGION, forcePathStyle: this.config.S3_FORCE_PATH_STYLE, ...(this.config.S3_ENDPOINT ? { endpoint: this.config.S3_ENDPOINT } : {}) };
  }

  async close(): Promise<void> {
    await this.queueInstance?.close();
    await this.suspectQueueInstance?.close();
    await this.dbInstance?.destroy();
    this.logger.flush();
  }
}
