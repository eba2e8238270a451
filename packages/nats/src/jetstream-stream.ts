import { MicroError } from "@microts/core";
import type { JetStreamManager, StreamConfig, StreamInfo } from "@nats-io/jetstream";
import { JetStreamApiError, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { errorText } from "./connection.js";
import { subjectCovers } from "./subjects.js";

/** Stream settings of the JetStream broker (see {@link JetStreamBrokerOptions}). */
export interface StreamSettings {
  stream: string;
  subjects: string[] | undefined;
  storage: "file" | "memory";
  retention: "limits" | "interest" | "workqueue";
  maxAgeMs: number;
  duplicateWindowMs: number;
}

const ID = "go.micro.broker";

/**
 * Makes sure the broker's stream exists and captures a topic. With fixed `subjects` a topic outside
 * them is a 400. Without, the stream's subject list is managed: a topic not yet covered is added
 * (a wildcard topic replaces the subjects it covers, since a stream may not list overlapping
 * subjects). Stream updates are read-modify-write, so after each update the list is read back and
 * the update retried if a concurrent writer dropped our subject.
 */
export class StreamManager {
  private covered = new Set<string>();
  private info: StreamInfo | undefined;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly settings: StreamSettings,
  ) {}

  /** Forgets what is known about the stream (after it was deleted or the server restarted empty). */
  reset(): void {
    this.covered.clear();
    this.info = undefined;
  }

  /** True when `topic` is known to be stored by the stream (no `ensure` needed). */
  covers(topic: string): boolean {
    return this.covered.has(topic);
  }

  async ensure(topic: string): Promise<void> {
    if (this.covered.has(topic)) return;
    const fixed = this.settings.subjects;
    if (fixed && !fixed.some((p) => subjectCovers(p, topic))) {
      throw MicroError.badRequest(
        ID,
        `jetstream: topic ${topic} is outside the subjects of stream ${this.settings.stream} (${fixed.join(", ")})`,
      );
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const info = await this.load(topic);
      const subjects = info.config.subjects ?? [];
      if (subjects.some((p) => subjectCovers(p, topic))) {
        this.covered.add(topic);
        return;
      }
      if (fixed) {
        throw MicroError.badRequest(
          ID,
          `jetstream: stream ${this.settings.stream} does not capture ${topic} (subjects ${subjects.join(", ")})`,
        );
      }
      const next = [...subjects.filter((s) => !subjectCovers(topic, s)), topic];
      try {
        this.info = await this.jsm.streams.update(this.settings.stream, { ...info.config, subjects: next });
      } catch (err) {
        throw streamError(`add subject ${topic} to stream ${this.settings.stream}`, err);
      }
      // Read back: a concurrent update from another broker may have replaced the list.
      this.info = undefined;
    }
    throw MicroError.conflict(
      ID,
      `jetstream: could not add ${topic} to stream ${this.settings.stream}: concurrent updates`,
    );
  }

  private async load(topic: string): Promise<StreamInfo> {
    if (this.info) return this.info;
    try {
      this.info = await this.jsm.streams.info(this.settings.stream);
      return this.info;
    } catch (err) {
      if (!isNotFound(err)) throw streamError(`stream ${this.settings.stream}`, err);
    }
    const cfg: Partial<StreamConfig> & { name: string } = {
      name: this.settings.stream,
      subjects: this.settings.subjects ?? [topic],
      storage: this.settings.storage === "memory" ? StorageType.Memory : StorageType.File,
      retention:
        this.settings.retention === "limits"
          ? RetentionPolicy.Limits
          : this.settings.retention === "workqueue"
            ? RetentionPolicy.Workqueue
            : RetentionPolicy.Interest,
      max_age: nanos(this.settings.maxAgeMs),
      duplicate_window: nanos(this.settings.duplicateWindowMs),
    };
    try {
      this.info = await this.jsm.streams.add(cfg);
    } catch (err) {
      // Another broker created it between our lookup and our add: use theirs.
      try {
        this.info = await this.jsm.streams.info(this.settings.stream);
      } catch {
        throw streamError(`create stream ${this.settings.stream}`, err);
      }
    }
    return this.info;
  }
}

/** True for "stream not found" / "consumer not found" API errors. */
export function isNotFound(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.status === 404;
  return /not found/i.test(errorText(err));
}

/** A MicroError for a failed JetStream API call: 409 for overlapping subjects, 503 otherwise. */
export function streamError(what: string, err: unknown): MicroError {
  if (err instanceof MicroError) return err;
  const text = errorText(err);
  if (/overlap/i.test(text)) return MicroError.conflict(ID, `jetstream: ${what}: ${text}`, { cause: err });
  if (/jetstream not enabled/i.test(text)) {
    return MicroError.serviceUnavailable(ID, `jetstream: ${what}: JetStream is not enabled on the server`, {
      cause: err,
    });
  }
  return MicroError.serviceUnavailable(ID, `jetstream: ${what}: ${text}`, { cause: err });
}
