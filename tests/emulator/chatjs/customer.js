// Drives the official JavaScript client (amazon-connect-chatjs) as a customer against the
// emulator. Usage: node customer.js <endpoint_url> <contactId> <participantId> <participantToken>
// Prints one JSON line with what it observed; exit code 0 on success.
"use strict";
global.window = global;
global.self = global;
global.navigator = { userAgent: "node", onLine: true };
global.addEventListener = global.addEventListener || (() => {});
global.WebSocket = global.WebSocket || require("ws");
require("amazon-connect-chatjs");

const [endpoint, contactId, participantId, participantToken] = process.argv.slice(2);
const seen = { messages: [], events: [], typing: 0, ended: false };

function waitFor(predicate, label, ms = 10000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const value = predicate();
      if (value) { clearInterval(timer); resolve(value); }
      else if (Date.now() - started > ms) { clearInterval(timer); reject(new Error("timeout: " + label)); }
    }, 20);
  });
}

async function main() {
  connect.ChatSession.setGlobalConfig({
    region: "us-west-2",
    endpoint,
    loggerConfig: { useDefaultLogger: true, level: connect.LogLevel[process.env.CHATJS_LOG || "ERROR"] },
  });
  const session = connect.ChatSession.create({
    chatDetails: { contactId, participantId, participantToken },
    options: { region: "us-west-2" },
    type: connect.ChatSession.SessionTypes.CUSTOMER,
    disableCSM: true,
  });
  session.onMessage((event) => seen.messages.push(event.data));
  session.onTyping(() => { seen.typing += 1; });
  session.onEnded(() => { seen.ended = true; });
  await session.connect();
  // connect() resolves before the WebSocket is subscribed, and nothing is delivered before
  // the subscription: wait for the customer's own "joined" event, pushed on subscription.
  await waitFor(() => seen.messages.find((m) => m.ParticipantRole === "CUSTOMER"
    && m.ContentType === "application/vnd.amazonaws.connect.event.participant.joined"), "subscribed");
  const sent = await session.sendMessage({ contentType: "text/plain", message: "hello from chatjs" });
  seen.sentId = sent.data.Id;
  await waitFor(() => seen.messages.find((m) => m.ParticipantRole === "AGENT" && m.Type === "MESSAGE"),
    "agent echo");
  await session.sendEvent({ contentType: "application/vnd.amazonaws.connect.event.typing" });
  await waitFor(() => seen.typing > 0, "typing echo");
  // The test drops the socket now; ChatJS reconnects and gets the agent's next message.
  console.log(JSON.stringify({ phase: "ready" }));
  await waitFor(() => seen.messages.find((m) => m.Content === "after reconnect"), "message after reconnect", 20000);
  const transcript = await session.getTranscript({ scanDirection: "BACKWARD", sortOrder: "ASCENDING", maxResults: 15 });
  seen.transcript = transcript.data.Transcript.map((i) => i.Content).filter(Boolean);
  await session.disconnectParticipant();
  await waitFor(() => seen.ended, "chat ended");
  console.log(JSON.stringify({
    sentId: seen.sentId,
    echoed: seen.messages.some((m) => m.Id === seen.sentId),
    agentReply: seen.messages.filter((m) => m.ParticipantRole === "AGENT" && m.Type === "MESSAGE").map((m) => m.Content),
    typing: seen.typing,
    transcript: seen.transcript,
    ended: seen.ended,
  }));
  setTimeout(() => process.exit(0), 100);
}

main().catch((err) => { console.error(err && (err.stack || JSON.stringify(err))); process.exit(1); });
