// PostGraphile v5 over the hub's own PostgreSQL tables: the peer of `make bench`.
// The Amber preset is PostGraphile's recommended default; nothing is tuned in its favour or against it.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

const port = Number(process.env.PEER_PORT || 8203);

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.PEER_DATABASE_URL,
      // `public` holds the hub's tables; `bench_peer` (bench/peer/peer.sql) the statistics view and
      // the inquiry function that stand for the hub's GROUP BY resolver and submitInquiry.
      schemas: ["public", "bench_peer"],
      // The same pool size per process as the hub (HUB_DB_POOL_SIZE 10 + overflow 10) and the SQL server.
      poolConfig: { max: 20 },
    }),
  ],
  grafserv: { host: "127.0.0.1", port, graphqlPath: "/graphql", graphiql: false, watch: false },
  grafast: { explain: false },
};

export default preset;
