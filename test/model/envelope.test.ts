import { envelope, joinEnvelopes, mapEnvelope, shareAck } from "../../src/model/envelope";

describe("envelopes", () => {
  it("acks once however often ack() is called", () => {
    let acks = 0;
    const env = envelope("frame", () => (acks += 1));
    env.ack();
    env.ack();
    expect(acks).toBe(1);
  });

  it("mapEnvelope carries the original acknowledgement", () => {
    let acked = false;
    const mapped = mapEnvelope(envelope(2, () => (acked = true)), (n) => n * 10);
    expect(mapped.value).toBe(20);
    expect(acked).toBe(false);
    mapped.ack();
    expect(acked).toBe(true);
  });

  it("joinEnvelopes acks every part", () => {
    const acked: string[] = [];
    const parts = ["short", "long"].map((name) => envelope(name, () => acked.push(name)));
    joinEnvelopes({ point: 3 }, parts).ack();
    expect(acked).toEqual(["short", "long"]);
  });

  it("shareAck acks the original only when every holder has let go", () => {
    let acked = 0;
    const [storage, reconstruction] = shareAck(envelope("chunk", () => (acked += 1)), 2);
    storage.ack();
    storage.ack();
    expect(acked).toBe(0);
    reconstruction.ack();
    expect(acked).toBe(1);
    shareAck(envelope("unused", () => (acked += 1)), 0);
    expect(acked).toBe(2);
  });
});
