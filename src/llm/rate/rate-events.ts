/**
 * Where `provider.throttled` / `provider.resumed` go: the run event log, through a sink the
 * composition root (src/quarry.ts) builds from db/provider-events.repository.ts, so src/llm never
 * imports db/. Fire and forget: a failed write is logged, never thrown into a teacher call.
 */
export interface ProviderEvent {
  type: 'provider.throttled' | 'provider.resumed';
  data: Record<string, unknown>;
}

export type ProviderEventSink = (runIds: string[], event: ProviderEvent) => Promise<void>;
