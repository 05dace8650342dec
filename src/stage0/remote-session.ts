import type { GlobalOptions } from '../config/global-options.js';
import type { HttpClient } from '../fetch/http-client.js';
import { insecureTlsWarning, makeHttpClient } from '../fetch/http-setup.js';
import type { FetchHooks } from './fetch-types.js';

/** One HTTP client per capsule process, made on first remote use (loading node:https costs start-up time). */
export class RemoteSession {
  private client: HttpClient | undefined;

  constructor(
    readonly g: GlobalOptions,
    private readonly hooks: FetchHooks,
  ) {}

  get http(): HttpClient {
    if (!this.client) {
      const w = insecureTlsWarning(this.g);
      if (w) this.hooks.warn(w);
      this.client = makeHttpClient(this.g);
    }
    return this.client;
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}
