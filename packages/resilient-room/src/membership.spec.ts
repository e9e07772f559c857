import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { RemoteParticipant, Room } from 'livekit-client';
import { DEPARTURE_GRACE_MS, Membership, RETURN_WAIT_MS } from './membership';

// What an app hears through a move: LiveKit's Rooms come and go, the session's people do not.
const person = (identity: string) => ({ identity, name: identity.toUpperCase() }) as unknown as RemoteParticipant;
const roomWith = (...people: RemoteParticipant[]) =>
  ({ remoteParticipants: new Map(people.map((p) => [p.identity, p])) }) as unknown as Room;

describe(Membership.name, () => {
  let heard: string[];
  let membership: Membership;

  beforeEach(() => {
    jest.useFakeTimers();
    heard = [];
    membership = new Membership({
      arrived: (p) => heard.push(`arrived ${p.identity}`),
      departed: (p) => heard.push(`departed ${p.identity}`),
      changed: () => undefined,
    });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('the first Room announces nobody already there; a later arrival once', () => {
    membership.roomConnected(roomWith(person('grace')), true);
    membership.seen(person('alan'));
    expect(heard).toEqual(['arrived alan']);
  });

  it('a move keeps everyone who is back on the new node: no departure, no second arrival', () => {
    membership.roomConnected(roomWith(person('grace'), person('alan')), true);
    membership.dropped('grace'); // the old node's last words, before our own loss was noticed
    membership.moveStarted();
    membership.dropped('alan');
    membership.roomConnected(roomWith(person('grace')), false);
    jest.advanceTimersByTime(RETURN_WAIT_MS - 1);
    membership.seen(person('alan')); // back late, within the wait
    jest.advanceTimersByTime(RETURN_WAIT_MS * 2);
    expect(heard).toEqual([]);
    expect(membership.identities.sort()).toEqual(['alan', 'grace']);
  });

  it('someone who drops off a healthy node and is back within the grace was moving, not leaving', () => {
    membership.roomConnected(roomWith(person('grace')), true);
    membership.dropped('grace');
    jest.advanceTimersByTime(DEPARTURE_GRACE_MS - 1);
    membership.seen(person('grace'));
    jest.advanceTimersByTime(DEPARTURE_GRACE_MS * 2);
    expect(heard).toEqual([]);
  });

  it('a real departure is heard once: after the grace, after a move they never came back from, or at once after a bye', () => {
    membership.roomConnected(roomWith(person('grace'), person('alan'), person('ada')), true);
    membership.dropped('grace');
    jest.advanceTimersByTime(DEPARTURE_GRACE_MS);
    expect(heard).toEqual(['departed grace']);

    membership.moveStarted();
    membership.roomConnected(roomWith(person('ada')), false);
    jest.advanceTimersByTime(RETURN_WAIT_MS);
    expect(heard).toEqual(['departed grace', 'departed alan']);

    membership.bye('ada');
    membership.dropped('ada');
    membership.dropped('ada');
    jest.advanceTimersByTime(RETURN_WAIT_MS);
    expect(heard).toEqual(['departed grace', 'departed alan', 'departed ada']);
  });

  it('a newcomer found on the new node after a move is announced once', () => {
    membership.roomConnected(roomWith(person('grace')), true);
    membership.moveStarted();
    membership.roomConnected(roomWith(person('grace'), person('alan')), false);
    membership.seen(person('alan')); // LiveKit's ParticipantConnected for the same person on the same Room
    expect(heard).toEqual(['arrived alan']);
  });
});
