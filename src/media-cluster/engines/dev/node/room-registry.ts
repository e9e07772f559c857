import { Room, type RoomHost, type RoomSettings } from './room';
import type { WebhookNotifier } from './webhook-notifier';

/** The rooms this node hosts. A join for an unknown room creates it, as on LiveKit. */
/** LiveKit's room.departure_timeout default: how long a room lives after its last participant left. */
export const DEFAULT_DEPARTURE_TIMEOUT_SEC = 20;

export class RoomRegistry implements RoomHost {
  private readonly rooms = new Map<string, Room>();

  constructor(
    readonly nodeId: string,
    readonly webhooks: WebhookNotifier,
    private readonly defaultEmptyTimeoutSec: number,
    readonly log: (line: string) => void,
  ) {}

  get(name: string): Room | undefined {
    return this.rooms.get(name);
  }

  list(names: string[] = []): Room[] {
    const all = [...this.rooms.values()];
    return names.length > 0 ? all.filter((room) => names.includes(room.name)) : all;
  }

  /** Returns the room named `settings.name`, creating it with these settings when it is new. */
  getOrCreate(settings: Partial<RoomSettings> & { name: string }): Room {
    const existing = this.rooms.get(settings.name);
    if (existing) return existing;
    const room = new Room(
      {
        name: settings.name,
        emptyTimeout: settings.emptyTimeout || this.defaultEmptyTimeoutSec,
        // As on LiveKit: 0 or unset means the default departure timeout (20 s), not the empty timeout.
        departureTimeout:
          settings.departureTimeout || Math.min(DEFAULT_DEPARTURE_TIMEOUT_SEC, this.defaultEmptyTimeoutSec),
        maxParticipants: settings.maxParticipants ?? 0,
        metadata: settings.metadata ?? '',
      },
      this,
    );
    this.rooms.set(room.name, room);
    return room;
  }

  roomClosed(room: Room): void {
    if (this.rooms.get(room.name) === room) this.rooms.delete(room.name);
  }
}
