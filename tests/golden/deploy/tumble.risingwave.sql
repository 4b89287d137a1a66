-- flowc deploy plan: 'demo' on risingwave in schema demo, program sha256:31a3ca8f12fed184
-- 0 to drop, 3 to create, 0 unchanged
-- note: 'bids' reads a local file (connector 'posix_fs'), which RisingWave release builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the [frontend] section of risingwave.toml
-- note: the sink of 'hot_items' writes local files (connector 'fs'), which RisingWave release builds refuse unless `frontend.unsafe_enable_local_fs_connector = true` is set in the [frontend] section of risingwave.toml
-- note: view 'hot_items': RisingWave's watermark moves only with later rows, so the last windows of the file source 'bids' never close there and are missing from the output (flowc closes them at end of input)
-- note: source 'bids': RisingWave advances the watermark once per chunk of rows, so a row late by less than one chunk may be kept where flowc drops it
-- note: source 'bids': RisingWave drops late rows silently; on_late into jsonl(...) receives nothing
-- note: source 'bids': RisingWave skips records it cannot decode (and logs them) instead of on_error fail
-- note: source 'bids': posix_fs reads the file from each compute node's local disk (RisingWave documents it for testing); on a multi-node cluster place the file on every node or use s3/gcs
-- note: sink of 'hot_items': RisingWave writes the rows as several JSON files inside the directory /data/tumble/out/hot_items, not as the single file /data/tumble/out/hot_items.jsonl

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
  posix_fs.root = '/data/tumble',
  match_pattern = 'bids.csv'
) FORMAT PLAIN ENCODE CSV (without_header = 'false', delimiter = ',');

-- [2/3] create materialized view hot_items: new
CREATE MATERIALIZED VIEW hot_items AS
SELECT
  auction,
  window_start,
  window_end,
  COUNT(*) AS bids,
  MAX(price) AS top_price
FROM TUMBLE(bids, date_time, INTERVAL '10 SECOND')
WHERE
  price > 10
GROUP BY
  auction,
  window_start,
  window_end
EMIT ON WINDOW CLOSE;

-- [3/3] create sink hot_items_sink: new
CREATE SINK hot_items_sink FROM hot_items
WITH (
  connector = 'fs',
  fs.path = '/data/tumble/out/hot_items',
  type = 'append-only'
) FORMAT PLAIN ENCODE JSON;
