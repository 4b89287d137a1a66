-- flowc deploy plan: 'demo' on risingwave in schema demo, program sha256:c9b5c7153134995d
-- 0 to drop, 3 to create, 0 unchanged
-- note: 'bids' reads a local file (connector 'posix_fs'), which RisingWave release builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the [frontend] section of risingwave.toml
-- note: source 'bids': RisingWave advances the watermark once per chunk of rows, so a row late by less than one chunk may be kept where flowc drops it
-- note: source 'bids': RisingWave skips records it cannot decode (and logs them) instead of on_error fail
-- note: source 'bids': posix_fs reads the file from each compute node's local disk (RisingWave documents it for testing); on a multi-node cluster place the file on every node or use s3/gcs
-- note: sink of 'by_channel': the changelog is written as Debezium JSON (before/after), not as _op rows

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
  posix_fs.root = '/data/changes',
  match_pattern = 'bids.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

-- [2/3] create materialized view by_channel: new
CREATE MATERIALIZED VIEW by_channel AS
SELECT
  channel,
  COUNT(*) AS bids,
  MAX(price) AS top,
  MIN(price) AS low
FROM bids
GROUP BY
  channel;

-- [3/3] create sink by_channel_sink: new
CREATE SINK by_channel_sink FROM by_channel
WITH (
  connector = 'kafka',
  topic = 'flowc',
  properties.bootstrap.server = 'kafka:9092',
  primary_key = 'channel'
) FORMAT DEBEZIUM ENCODE JSON;
