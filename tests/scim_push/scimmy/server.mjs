// A SCIM 2.0 server built on SCIMMY (protocol, filters, PATCH, paging by the library) with
// in-memory User and Group handlers; listens on 127.0.0.1:PORT (argv[2]) and prints its URL.
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";
import {randomUUID} from "node:crypto";

const stores = {Users: new Map(), Groups: new Map()};
const uniqueName = {Users: "userName", Groups: "displayName"};

function declare(resource, kind) {
    const store = stores[kind];
    SCIMMY.Resources.declare(resource)
        .egress((request) => {
            if (request.id) {
                if (!store.has(request.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${request.id} not found`);
                return store.get(request.id);
            }
            const all = [...store.values()];
            return request.filter ? request.filter.match(all) : all;
        })
        .ingress((request, instance) => {
            if (request.id && !store.has(request.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${request.id} not found`);
            const attribute = uniqueName[kind];
            const wanted = String(instance[attribute] ?? "").toLowerCase();
            for (const other of store.values()) {
                if (other.id !== request.id && String(other[attribute] ?? "").toLowerCase() === wanted)
                    throw new SCIMMY.Types.Error(409, "uniqueness", `${attribute} ${instance[attribute]} is taken`);
            }
            const now = new Date().toISOString();
            const id = request.id ?? randomUUID();
            const created = store.get(id)?.meta?.created ?? now;
            const stored = {...JSON.parse(JSON.stringify(instance)), id, meta: {created, lastModified: now}};
            store.set(id, stored);
            return stored;
        })
        .degress((request) => {
            if (!store.delete(request.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${request.id} not found`);
        });
}

declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser), "Users");
declare(SCIMMY.Resources.Group, "Groups");
SCIMMY.Config.set({patch: true, filter: {supported: true, maxResults: 500}, sort: true});

const app = express();
let requests = 0;
app.use((request, response, next) => { requests += 1; next(); });
app.get("/_requests", (request, response) => response.json(requests));
app.use("/scim/v2", new SCIMMYRouters({type: "bearer", handler: () => "idaas-tests"}));
const server = app.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
    console.log(`http://127.0.0.1:${server.address().port}/scim/v2`);
});
