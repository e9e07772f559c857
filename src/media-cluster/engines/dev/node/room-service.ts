import {
  CreateRoomRequest,
  DataPacket,
  DeleteRoomRequest,
  DeleteRoomResponse,
  DisconnectReason,
  ListParticipantsRequest,
  ListParticipantsResponse,
  ListRoomsRequest,
  ListRoomsResponse,
  MuteRoomTrackRequest,
  MuteRoomTrackResponse,
  RemoveParticipantResponse,
  RoomParticipantIdentity,
  SendDataRequest,
  SendDataResponse,
  UpdateParticipantRequest,
  UpdateRoomMetadataRequest,
  UserPacket,
} from '@livekit/protocol';
import type { AnyMessage, JsonValue, Message, MessageType } from '@bufbuild/protobuf';
import type { VideoGrant } from 'livekit-server-sdk';
import type { Access } from './access';
import type { Participant } from './participant';
import type { Room } from './room';
import type { RoomRegistry } from './room-registry';

export const TWIRP_PREFIX = '/twirp/livekit.RoomService/';

/** A Twirp error: HTTP status, Twirp code, message. */
export class TwirpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = TwirpError.name;
  }
}

interface Method<Req extends Message<Req>> {
  request: MessageType<Req>;
  allowed(grant: VideoGrant, request: Req): boolean;
  run(request: Req): Message;
}

const roomCreate = (grant: VideoGrant) => grant.roomCreate === true;
const roomAdmin = (grant: VideoGrant, request: { room: string }) =>
  grant.roomAdmin === true && grant.room === request.room;

/** The RoomService subset a session-rebuilding backend uses, over this node's rooms. */
export class RoomService {
  private readonly methods: Record<string, Method<AnyMessage>>;

  constructor(
    private readonly rooms: RoomRegistry,
    private readonly access: Access,
  ) {
    this.methods = {
      CreateRoom: method(CreateRoomRequest, roomCreate, (request) =>
        this.rooms
          .getOrCreate({
            name: request.name,
            emptyTimeout: request.emptyTimeout,
            departureTimeout: request.departureTimeout,
            maxParticipants: request.maxParticipants,
            metadata: request.metadata,
          })
          .info(),
      ),
      ListRooms: method(
        ListRoomsRequest,
        (grant) => grant.roomList === true,
        (request) => new ListRoomsResponse({ rooms: this.rooms.list(request.names).map((room) => room.info()) }),
      ),
      DeleteRoom: method(DeleteRoomRequest, roomCreate, (request) => {
        this.room(request.room).close(DisconnectReason.ROOM_DELETED);
        return new DeleteRoomResponse();
      }),
      UpdateRoomMetadata: method(UpdateRoomMetadataRequest, roomAdmin, (request) => {
        const room = this.room(request.room);
        room.updateMetadata(request.metadata);
        return room.info();
      }),
      ListParticipants: method(
        ListParticipantsRequest,
        roomAdmin,
        (request) =>
          // As LiveKit: a room that does not exist (any more) simply has nobody in it.
          new ListParticipantsResponse({
            participants: (this.rooms.get(request.room)?.list() ?? []).map((participant) => participant.info()),
          }),
      ),
      GetParticipant: method(RoomParticipantIdentity, roomAdmin, (request) =>
        this.participant(request.room, request.identity).info(),
      ),
      RemoveParticipant: method(RoomParticipantIdentity, roomAdmin, (request) => {
        const participant = this.participant(request.room, request.identity);
        this.room(request.room).remove(participant, DisconnectReason.PARTICIPANT_REMOVED, true);
        return new RemoveParticipantResponse();
      }),
      UpdateParticipant: method(UpdateParticipantRequest, roomAdmin, (request) => {
        const participant = this.participant(request.room, request.identity);
        if (request.name) participant.name = request.name;
        if (request.metadata) participant.metadata = request.metadata;
        if (request.permission) participant.permission = request.permission;
        Object.assign(participant.attributes, request.attributes);
        participant.touch();
        this.room(request.room).participantUpdated(participant);
        return participant.info();
      }),
      SendData: method(SendDataRequest, roomAdmin, (request) => {
        const packet = new DataPacket({
          kind: request.kind,
          destinationIdentities: request.destinationIdentities,
          value: {
            case: 'user',
            value: new UserPacket({
              payload: request.data,
              topic: request.topic,
              destinationSids: request.destinationSids,
              destinationIdentities: request.destinationIdentities,
              nonce: request.nonce,
            }),
          },
        });
        this.room(request.room).relayData(undefined, packet);
        return new SendDataResponse();
      }),
      MutePublishedTrack: method(MuteRoomTrackRequest, roomAdmin, (request) => {
        const track = this.participant(request.room, request.identity).muteFromServer(request.trackSid, request.muted);
        if (!track) throw new TwirpError(404, 'not_found', `track ${request.trackSid} not found`);
        return new MuteRoomTrackResponse({ track });
      }),
    };
  }

  /** Answers one call; `body` is JSON or protobuf as `contentType` says, and so is the answer. */
  async call(
    name: string,
    body: Buffer,
    contentType: string,
    authorization: string | undefined,
  ): Promise<{ body: Buffer | string; contentType: string }> {
    // The method name comes from the URL: `constructor` or `__proto__` must be an unknown method, not Object's.
    const method = Object.hasOwn(this.methods, name) ? this.methods[name] : undefined;
    if (!method) throw new TwirpError(404, 'bad_route', `no RoomService method ${name} on this dev node`);
    const binary = contentType.startsWith('application/protobuf');
    let request: Message;
    try {
      request = binary
        ? method.request.fromBinary(body)
        : method.request.fromJson(JSON.parse(body.toString('utf8') || '{}') as JsonValue, {
            ignoreUnknownFields: true,
          });
    } catch (error) {
      throw new TwirpError(400, 'malformed', `bad ${name} request: ${(error as Error).message}`);
    }
    await this.access.verifyApi(authorization, (grant) => method.allowed(grant, request));
    const response = method.run(request);
    return binary
      ? { body: Buffer.from(response.toBinary()), contentType: 'application/protobuf' }
      : { body: response.toJsonString({ emitDefaultValues: true }), contentType: 'application/json' };
  }

  private room(name: string): Room {
    const room = this.rooms.get(name);
    if (!room) throw new TwirpError(404, 'not_found', `requested room does not exist`);
    return room;
  }

  private participant(roomName: string, identity: string): Participant {
    const participant = this.room(roomName).participant(identity);
    if (!participant) throw new TwirpError(404, 'not_found', `participant ${identity} is not in ${roomName}`);
    return participant;
  }
}

function method<Req extends Message<Req>>(
  request: MessageType<Req>,
  allowed: (grant: VideoGrant, request: Req) => boolean,
  run: (request: Req) => Message,
): Method<Req> {
  return { request, allowed, run };
}
