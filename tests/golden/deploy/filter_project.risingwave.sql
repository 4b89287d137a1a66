-- flowc deploy plan: 'demo' on risingwave in schema demo, program sha256:d0f9c3389f72a9ed
-- 0 to drop, 3 to create, 0 unchanged
-- note: 'bids' reads a local file (connector 'posix_fs'), which RisingWave release builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the [frontend] section of risingwave.toml
-- note: the sink of 'big' writes local files (connector 'fs'), which RisingWave release builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the [frontend] section of risingwave.toml
-- note: source 'bids': RisingWave skips records it cannot decode (and logs them) instead of on_error fail
-- note: source 'bids': posix_fs reads the file from each compute node's local disk (RisingWave documents it for testing); on a multi-node cluster place the file on every node or use s3/gcs
-- note: sink of 'big': RisingWave writes the rows as several JSON files inside the directory /data/filter_project/out/big, not as the single file /data/filter_project/out/big.jsonl

CREATE SCHEMA IF NOT EXISTS "demo";
SET search_path TO "demo";

-- [1/3] create source bids: new
CREATE SOURCE bids (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel VARCHAR,
  date_time TIMESTAMP
)
WITH (
  connector = 'posix_fs',
  posix_fs.root = '/data/filter_project',
  match_pattern = 'bids.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

-- [2/3] create materialized view big: new
CREATE MATERIALIZED VIEW big AS
SELECT
  auction,
  bidder,
  price * 100 AS price_cents,
  date_time
FROM bids
WHERE
  price > 30 AND channel <> 'partner';

-- [3/3] create sink big_sink: new
CREATE SINK big_sink FROM big
WITH (
  connector = 'fs',
  fs.path = '/data/filter_project/out/big',
  type = 'append-only'
) FORMAT PLAIN ENCODE JSON;
