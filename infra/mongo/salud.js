// Healthcheck de compose (mongosh --quiet --norc salud.js): como root, inicia la réplica rs0 si
// aún no existe (idempotente) y termina con 0 solo si este nodo es primario y acepta escrituras.
const fs = require("fs");

const clave = fs.readFileSync("/run/secrets/mongo_root_clave", "utf8").replace(/[\r\n]+$/, "");
db.getSiblingDB("admin").auth(process.env.MONGO_INITDB_ROOT_USERNAME, clave);
try {
  rs.status();
} catch (e) {
  rs.initiate({ _id: "rs0", members: [{ _id: 0, host: "mongo:27017" }] });
}
if (!db.hello().isWritablePrimary) {
  quit(1);
}
