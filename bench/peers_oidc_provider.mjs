// node oidc-provider as a peer for bench/peers.py: client credentials, introspection, userinfo,
// discovery and JWKS in memory. Started by peers.py, never by the tests.
//
// Environment: PORT, WORKERS (1 = one process; 2+ = node:cluster, token/discovery/JWKS only,
// because each process has its own in-memory store), CLIENT_ID, CLIENT_SECRET.
// The store is an unbounded Map per process (see MemoryStore).
// Prints one JSON line {"ready": true, "user_token": "..."} on stdout when listening.
import cluster from "node:cluster";
import { generateKeyPairSync } from "node:crypto";

const port = Number(process.env.PORT);
const workers = Number(process.env.WORKERS || "1");

function keys() {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });
  return [{ ...rsa, kid: "rs", use: "sig", alg: "RS256" }, { ...ec, kid: "es", use: "sig", alg: "ES256" }];
}

// An unbounded in-memory store: oidc-provider's own development adapter is an LRU of 1,000
// entries, which evicts the user's grant after the token scenario and fails the later ones.
const stores = new Map();
class MemoryStore {
  constructor(name) {
    if (!stores.has(name)) stores.set(name, new Map());
    this.items = stores.get(name);
  }
  async upsert(id, payload, expiresIn) {
    this.items.set(id, { payload, expires: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
  }
  async find(id) {
    const item = this.items.get(id);
    if (!item || item.expires < Date.now()) return undefined;
    return item.payload;
  }
  async findByUid(uid) {
    for (const [id, item] of this.items) if (item.payload.uid === uid) return this.find(id);
    return undefined;
  }
  async findByUserCode(code) {
    for (const [id, item] of this.items) if (item.payload.userCode === code) return this.find(id);
    return undefined;
  }
  async consume(id) {
    const item = this.items.get(id);
    if (item) item.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    this.items.delete(id);
  }
  async revokeByGrantId(grantId) {
    for (const [id, item] of this.items) if (item.payload.grantId === grantId) this.items.delete(id);
  }
}

async function serve(jwks) {
  const { default: Provider } = await import("oidc-provider");
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    adapter: MemoryStore,
    clients: [
      {
        client_id: process.env.CLIENT_ID,
        client_secret: process.env.CLIENT_SECRET,
        grant_types: ["client_credentials", "authorization_code"],
        redirect_uris: ["https://rp.bench.invalid/callback"],
        response_types: ["code"],
        scope: "openid profile email api",
      },
    ],
    jwks: { keys: jwks },
    scopes: ["openid", "profile", "email", "api"],
    ttl: { AccessToken: 3600, ClientCredentials: 600, Grant: 3600 },
    claims: { openid: ["sub"], profile: ["name"], email: ["email", "email_verified"] },
    findAccount: async (ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, name: "Alice Wang", email: "alice@example.com", email_verified: true }),
    }),
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      devInteractions: { enabled: false },
    },
  });
  let userToken = "";
  if (workers === 1) {
    const grant = new provider.Grant({ accountId: "alice", clientId: process.env.CLIENT_ID });
    grant.addOIDCScope("openid profile email");
    const grantId = await grant.save();
    const client = await provider.Client.find(process.env.CLIENT_ID);
    const token = new provider.AccessToken({ accountId: "alice", client, grantId, scope: "openid profile email" });
    userToken = await token.save();
  }
  provider.listen(port, "127.0.0.1", () => {
    if (!cluster.isWorker || cluster.worker.id === 1) {
      process.stdout.write(JSON.stringify({ ready: true, user_token: userToken }) + "\n");
    }
  });
}

if (cluster.isPrimary && workers > 1) {
  const jwks = keys();
  for (let i = 0; i < workers; i += 1) cluster.fork({ BENCH_JWKS: JSON.stringify(jwks) });
} else {
  await serve(process.env.BENCH_JWKS ? JSON.parse(process.env.BENCH_JWKS) : keys());
}
