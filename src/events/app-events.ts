import { Injectable } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import type { NodeTransitionEvent } from './node.events';
import type {
  ParticipantLeftEvent,
  PushChannelRestoredEvent,
  SessionMovedEvent,
  SessionWaitingEvent,
} from './session.events';

/**
 * Every in-process event, by name, with its payload: the path from a node's death to a push, as the
 * compiler sees it. node-health emits the node events, the rebuild and the sessions service the others;
 * the rebuild and the socket push listen.
 */
export interface AppEventMap {
  'node-down': NodeTransitionEvent;
  'node-up': NodeTransitionEvent;
  'node-suspect': NodeTransitionEvent;
  'session-moved': SessionMovedEvent;
  'session-waiting': SessionWaitingEvent;
  'participant-left': ParticipantLeftEvent;
  'push-channel-restored': PushChannelRestoredEvent;
}

export type AppEventName = keyof AppEventMap;

/** The in-process bus with a typed emit. Listeners run synchronously, in the emitter's turn. */
@Injectable()
export class AppEvents {
  constructor(private readonly emitter: EventEmitter2) {}

  emit<K extends AppEventName>(name: K, payload: AppEventMap[K]): void {
    this.emitter.emit(name, payload);
  }

  /** For specs and tools outside Nest's handlers. */
  on<K extends AppEventName>(name: K, listener: (payload: AppEventMap[K]) => unknown): void {
    this.emitter.on(name, listener);
  }
}

/** `@OnEvent` whose handler must take the event's payload: a handler of another shape does not compile. */
export function OnAppEvent<K extends AppEventName>(name: K) {
  return <T extends (payload: AppEventMap[K]) => unknown>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): void => {
    OnEvent(name)(target, key, descriptor);
  };
}
