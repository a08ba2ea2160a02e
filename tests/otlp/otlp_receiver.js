// otlp_receiver.js: a small OTLP/HTTP receiver for the OTLP sink tests. It decodes every request
// with the protobufjs code that @opentelemetry/otlp-transformer@0.52.1 generated from the
// official opentelemetry-proto definitions (an independent decoder: nothing here parses
// protobuf by hand), gunzips gzip bodies, checks OTLP/JSON bodies against the OTLP/JSON rules,
// and answers from a fault script. Tests drive it over a second (admin) port.
//
// Usage: node otlp_receiver.js <node_modules dir> <port file>
// Writes "<data port> <admin port>\n" to the port file once both listen on 127.0.0.1.
//
// Admin API (POST, JSON in and out):
//   /script    {"responses":[{"status":503,"retryAfter":"1","delayMs":0,"rejected":2,
//               "errorMessage":"..."}...]}: answers for the next export requests, in order
//               (afterwards: 200 with an empty response message)
//   /requests  -> [{"path","status","contentType","contentEncoding","bytes","decoded","jsonErrors"}]
//   /down      {"ms":N}: close the data port for N ms (connections refused), then listen again
//              on the same port
//   /clear     forget the recorded requests
"use strict";
const http = require("http");
const zlib = require("zlib");
const fs = require("fs");
const path = require("path");

const modules = process.argv[2];
const portFile = process.argv[3];
const root = require(path.join(modules, "@opentelemetry/otlp-transformer/build/src/generated/root.js"));
const proto = root.opentelemetry.proto;
const types = {
  "/v1/logs": {
    request: proto.collector.logs.v1.ExportLogsServiceRequest,
    response: proto.collector.logs.v1.ExportLogsServiceResponse,
    rejectedField: "rejectedLogRecords",
  },
  "/v1/traces": {
    request: proto.collector.trace.v1.ExportTraceServiceRequest,
    response: proto.collector.trace.v1.ExportTraceServiceResponse,
    rejectedField: "rejectedSpans",
  },
};

let script = [];
let requests = [];

const toObjectOptions = { longs: String, enums: Number, bytes: String, defaults: false };

// base64 ids (protobufjs toObject) -> lowercase hex (the OTLP/JSON form), recursively.
function idsToHex(obj) {
  if (Array.isArray(obj)) return obj.map(idsToHex);
  if (obj === null || typeof obj !== "object") return obj;
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    if ((k === "traceId" || k === "spanId" || k === "parentSpanId") && typeof v === "string") {
      out[k] = Buffer.from(v, "base64").toString("hex");
    } else {
      out[k] = idsToHex(v);
    }
  }
  return out;
}

// hex ids (OTLP/JSON) -> base64, so protobufjs fromObject reads them as bytes.
function idsToBase64(obj) {
  if (Array.isArray(obj)) return obj.map(idsToBase64);
  if (obj === null || typeof obj !== "object") return obj;
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    if ((k === "traceId" || k === "spanId" || k === "parentSpanId") && typeof v === "string") {
      out[k] = Buffer.from(v, "hex").toString("base64");
    } else {
      out[k] = idsToBase64(v);
    }
  }
  return out;
}

// The OTLP/JSON rules: camelCase field names, ids as lowercase hex of the right length, enums
// as integers, 64-bit integers as decimal strings. Returns the violations found.
function checkJsonRules(obj, where, errors) {
  const int64Fields = new Set(["timeUnixNano", "observedTimeUnixNano", "startTimeUnixNano",
    "endTimeUnixNano", "intValue"]);
  const enumFields = new Set(["severityNumber", "kind", "code"]);
  if (Array.isArray(obj)) {
    obj.forEach((v, i) => checkJsonRules(v, where + "[" + i + "]", errors));
    return;
  }
  if (obj === null || typeof obj !== "object") return;
  const isKeyValue = Object.prototype.hasOwnProperty.call(obj, "key") &&
    Object.prototype.hasOwnProperty.call(obj, "value");
  for (const [k, v] of Object.entries(obj)) {
    const here = where + "." + k;
    if (k.includes("_")) errors.push(here + ": field name is not camelCase");
    if (k === "traceId" && !(typeof v === "string" && /^[0-9a-f]{32}$/.test(v)))
      errors.push(here + ": trace id must be 32 lowercase hex chars");
    if ((k === "spanId" || k === "parentSpanId") && !(typeof v === "string" && /^[0-9a-f]{16}$/.test(v)))
      errors.push(here + ": span id must be 16 lowercase hex chars");
    if (int64Fields.has(k) && !(typeof v === "string" && /^-?[0-9]+$/.test(v)))
      errors.push(here + ": 64-bit integer must be a decimal string");
    if (enumFields.has(k) && !Number.isInteger(v)) errors.push(here + ": enum must be an integer");
    if (isKeyValue && k === "key") continue;  // attribute keys are data, not field names
    checkJsonRules(v, here, errors);
  }
}

function decode(pathName, contentType, body) {
  const t = types[pathName];
  if (contentType.startsWith("application/x-protobuf")) {
    const msg = t.request.decode(body);
    return { decoded: idsToHex(t.request.toObject(msg, toObjectOptions)), jsonErrors: [] };
  }
  if (contentType.startsWith("application/json")) {
    const json = JSON.parse(body.toString("utf8"));
    const errors = [];
    checkJsonRules(json, "$", errors);
    const msg = t.request.fromObject(idsToBase64(json));
    // Round trip through the binary form so both encodings are compared in one shape.
    const again = t.request.decode(t.request.encode(msg).finish());
    return { decoded: idsToHex(t.request.toObject(again, toObjectOptions)), jsonErrors: errors };
  }
  throw new Error("unsupported content-type " + contentType);
}

function answer(res, pathName, contentType, step) {
  const t = types[pathName];
  const headers = {};
  if (step.retryAfter !== undefined) headers["Retry-After"] = String(step.retryAfter);
  let payload = Buffer.alloc(0);
  if (step.body !== undefined) {
    payload = Buffer.from(step.body);
    headers["Content-Type"] = "text/plain";
  } else if (step.status >= 200 && step.status < 300) {
    const partial = {};
    if (step.rejected !== undefined) partial[t.rejectedField] = step.rejected;
    if (step.errorMessage !== undefined) partial.errorMessage = step.errorMessage;
    const obj = Object.keys(partial).length ? { partialSuccess: partial } : {};
    if (contentType.startsWith("application/json")) {
      payload = Buffer.from(JSON.stringify(obj));
      headers["Content-Type"] = "application/json";
    } else {
      payload = Buffer.from(t.response.encode(t.response.fromObject(obj)).finish());
      headers["Content-Type"] = "application/x-protobuf";
    }
  }
  headers["Content-Length"] = payload.length;
  res.writeHead(step.status, headers);
  res.end(payload);
}

function onData(req, res) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks);
    const pathName = req.url;
    const contentType = req.headers["content-type"] || "";
    const contentEncoding = req.headers["content-encoding"] || "";
    const step = script.length ? script.shift() : { status: 200 };
    const record = { path: pathName, status: step.status, contentType, contentEncoding,
                     bytes: raw.length, userAgent: req.headers["user-agent"] || "",
                     custom: req.headers["x-custom"] || "", at: Date.now() };
    try {
      if (!types[pathName]) throw new Error("unknown path " + pathName);
      const body = contentEncoding === "gzip" ? zlib.gunzipSync(raw) : raw;
      const d = decode(pathName, contentType, body);
      record.decoded = d.decoded;
      record.jsonErrors = d.jsonErrors;
    } catch (e) {
      record.decodeError = String(e && e.message ? e.message : e);
      if (step.status >= 200 && step.status < 300) step.status = 400;  // an undecodable request
      record.status = step.status;
    }
    requests.push(record);
    setTimeout(() => answer(res, pathName, contentType, step), step.delayMs || 0);
  });
}

const dataServer = http.createServer(onData);
dataServer.keepAliveTimeout = 60000;
let dataPort = 0;
const sockets = new Set();
dataServer.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });

function onAdmin(req, res) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let input = {};
    try { input = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : {}; } catch (e) { input = {}; }
    let out = { ok: true };
    if (req.url === "/script") {
      script = script.concat(input.responses || []);
    } else if (req.url === "/requests") {
      out = requests;
    } else if (req.url === "/clear") {
      requests = [];
      script = [];
    } else if (req.url === "/down") {
      dataServer.close();
      for (const s of sockets) s.destroy();
      setTimeout(() => dataServer.listen(dataPort, "127.0.0.1"), input.ms || 0);
    } else {
      out = { ok: false, error: "unknown admin route " + req.url };
    }
    const payload = Buffer.from(JSON.stringify(out));
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": payload.length });
    res.end(payload);
  });
}
const adminServer = http.createServer(onAdmin);

dataServer.listen(0, "127.0.0.1", () => {
  dataPort = dataServer.address().port;
  adminServer.listen(0, "127.0.0.1", () => {
    const tmp = portFile + ".tmp";
    fs.writeFileSync(tmp, dataPort + " " + adminServer.address().port + "\n");
    fs.renameSync(tmp, portFile);
  });
});

// Exit with the test process that started us, even if it could not stop us.
const parent = process.ppid;
setInterval(() => {
  try { process.kill(parent, 0); } catch (e) { process.exit(0); }
}, 500);
