import { describe, expect, it } from '@jest/globals';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { ResilientRoomProvider, useResilientRoom } from './resilient-room-provider';

// The provider's bad input, rendered as React renders it (on the server: the same render, no DOM).
describe(ResilientRoomProvider.name, () => {
  it('without a session says which prop is missing', () => {
    expect(() => renderToString(createElement(ResilientRoomProvider, {}))).toThrow(
      /ResilientRoomProvider: missing prop `session` \(the session id to join\), or `room`/,
    );
  });

  it('with a session and no name says `name` is missing', () => {
    expect(() => renderToString(createElement(ResilientRoomProvider, { session: 'standup' }))).toThrow(
      /ResilientRoomProvider: missing prop `name`/,
    );
  });

  it('renders the fallback until the first Room exists (no join happens on the server)', () => {
    const html = renderToString(
      createElement(ResilientRoomProvider, { session: 'standup', name: 'Ada', fallback: 'joining…' }, 'the call'),
    );
    expect(html).toBe('joining…');
  });

  it('useResilientRoom() outside the provider says where it belongs', () => {
    const Orphan = () => {
      useResilientRoom();
      return null;
    };
    expect(() => renderToString(createElement(Orphan))).toThrow(/inside <ResilientRoomProvider>/);
  });
});
