// Corre una sola vez, al iniciar un volumen vacío (docker-entrypoint-initdb.d de la imagen mongo),
// como root. Crea el usuario con el que se conectan los servicios y el gateway: lee y escribe
// solo sus propias bases, no administra nada. Su clave es el secreto mongo_app_clave.
const fs = require("fs");

const clave = fs.readFileSync("/run/secrets/mongo_app_clave", "utf8").replace(/[\r\n]+$/, "");
if (!clave) {
  throw new Error("El secreto mongo_app_clave está vacío");
}
const bases = ["registro", "derivacion", "plazos", "notificaciones", "encuestas", "gateway"];
db.getSiblingDB("admin").createUser({
  user: process.env.MONGO_USUARIO_PLATAFORMA || "plataforma",
  pwd: clave,
  roles: bases.map((base) => ({ role: "readWrite", db: base })),
});
