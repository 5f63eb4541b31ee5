import { createApp } from "../../src/app";
import worker from "../../src/index";
import { ROOM_KINDS } from "../../src/rooms";
import { TestRoom, testKind } from "./test-room";

export { BusChannel, PersonRoom, PokerRoom, ThreadRoom } from "../../src/index";
export { TestRoom };

const app = createApp({ ...ROOM_KINDS, test: testKind });

export default { ...worker, fetch: app.fetch } satisfies ExportedHandler<Env>;
