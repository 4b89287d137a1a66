-- flowc deploy plan: 'demo' on risingwave in schema demo, program sha256:1eb65cb1946f3a5c
-- 0 to drop, 3 to create, 0 unchanged
-- note: 'bids' reads a local file (connector 'posix_fs'), which RisingWave release builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the [frontend] section of risingwave.toml
-- note: the sink of 'per_channel' writes local files (connector 'fs'), which RisingWave release builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the [frontend] section of risingwave.toml
-- note: view 'per_channel': RisingWave's watermark moves only with later rows, so the last windows of the file source 'bids' never close there and are missing from the output (flowc closes them at end of input)
-- note: source 'bids': RisingWave advances the watermark once per chunk of rows, so a row late by less than one chunk may be kept where flowc drops it
-- note: source 'bids': RisingWave skips records it cannot decode (and logs them) instead of on_error fail
-- note: source 'bids': posix_fs reads the file from each compute node's local disk (RisingWave documents it for testing); on a multi-node cluster place the file on every node or use s3/gcs
-- note: sink of 'per_channel': RisingWave writes the rows as several JSON files inside the directory /data/hop/out/per_channel, not as the single file /data/hop/out/per_channel.jsonl

CREATE SCHEMA IF NOT EXISTS "demo";
SET search_path TO "demo";

-- [1/3] create source bids: new
CREATE SOURCE bids (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel VARCHAR,
  date_time TIMESTAMP,
  WATERMARK FOR date_time AS date_time - INTERVAL '5 SECOND'
)
WITH (
  connector = 'posix_fs',
  posix_fs.root = '/data/hop',
  match_pattern = 'bids.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

-- [2/3] create materialized view per_channel: new
CREATE MATERIALIZED VIEW per_channel AS
SELECT
  channel,
  window_start,
  window_end,
  COUNT(*) AS n,
  SUM(price) AS total
FROM HOP(bids, date_time, INTERVAL '5 SECOND', INTERVAL '10 SECOND')
GROUP BY
  channel,
  window_start,
  window_end
EMIT ON WINDOW CLOSE;

-- [3/3] create sink per_channel_sink: new
CREATE SINK per_channel_sink FROM per_channel
WITH (
  connector = 'fs',
  fs.path = '/data/hop/out/per_channel',
  type = 'append-only'
) FORMAT PLAIN ENCODE JSON;
